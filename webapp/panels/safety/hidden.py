"""The safety page's hidden-danger register (隐患排查治理): figures (open by grade and by age, overdue, on-time
closure rate), the list (most escalated first) with each danger's place on the 3D map and its photo, and the
workflow form of ``engine.hidden_dangers`` for ``Perm.HD_MANAGE`` (assess, assign, plan, rectify, verify, reject):
the form shows the fields of the chosen action only, the use case (``webapp.commands.hidden_danger_move``) checks,
moves and audits in one transaction, and a refused move says why. Readers that may not see names (executives)
read no reporter, owner or actor. Every text is a Dash child (a text node), never markup."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, html

from auth.policy import Perm
from engine.hidden_dangers import (
    ACTIONS,
    ASSESS,
    ASSIGN,
    GRADES,
    OPEN_STATES,
    PLAN,
    RECTIFY,
    REJECT,
    IllegalMoveError,
    escalation,
    overdue,
)
from i18n import label, t
from plant import Plant
from store.hidden_dangers import as_danger
from store.models import HiddenDanger
from webapp import commands
from webapp import context as web
from webapp.gate import current_user
from webapp.live.hidden_dangers import current, local_text, parse_local
from webapp.live.personnel import names_visible
from webapp.panels import panel_callback


class ids:  # noqa: N801 - a namespace of this panel's component ids
    FIGURES = "safety-hd-figures"
    LIST = "safety-hd-list"
    PICK = "safety-hd-pick"
    ACTION = "safety-hd-action"
    GRADE = "safety-hd-grade"
    OWNER = "safety-hd-owner"
    DEADLINE = "safety-hd-deadline"
    MEASURES = "safety-hd-measures"
    FUNDS = "safety-hd-funds"
    INTERIM = "safety-hd-interim"
    NOTE = "safety-hd-note"
    GO = "safety-hd-go"
    MSG = "safety-hd-msg"  # the action's answer (its line in auth.policy.ACTION_OUTPUTS)
    FIELDS = "safety-hd-fields"  # one wrapper per field, shown for the actions that take it


# Which fields each action takes (the others are hidden).
FIELDS: dict[str, tuple[str, ...]] = {
    ASSESS: ("grade",),
    ASSIGN: ("owner", "deadline"),
    PLAN: ("measures", "funds", "owner", "deadline", "interim"),
    RECTIFY: ("note",),
    "verify": ("note",),
    REJECT: ("note",),
}
FIELD_NAMES: tuple[str, ...] = ("grade", "owner", "deadline", "measures", "funds", "interim", "note")


def _zone_name(plant: Plant, zone: str | None, lang: str) -> str:
    z = next((z for z in plant.zones if z.id == zone), None)
    return label(z.name, z.name_zh, lang) if z is not None else (zone or "-")


def figures_block(lang: str) -> tuple[html.Div, list[HiddenDanger]]:
    reg = current()
    f = reg.figures
    rate = "-" if f.on_time_rate is None else f"{f.on_time_rate * 100:.0f} %"
    tiles = [
        (t("hd.fig.general", lang), f.open_by_grade["general"], ""),
        (t("hd.fig.major", lang), f.open_by_grade["major"], "sw-hd-major" if f.open_by_grade["major"] else ""),
        (t("hd.fig.unassessed", lang), f.open_by_grade["unassessed"], ""),
        (t("hd.fig.overdue", lang), f.overdue, "sw-hd-late" if f.overdue else ""),
        (t("hd.fig.age", lang), " / ".join(str(f.open_by_age[k]) for k in ("lt7", "d7_30", "gt30")), ""),
        (t("hd.fig.on_time", lang, n=f.closed), rate, ""),
    ]
    block = html.Div(
        [
            html.Div([html.Div(str(v), className=f"sw-hd-fig-v {cls}"), html.Div(k, className="sw-hd-fig-k")])
            for k, v, cls in tiles
        ],
        className="sw-hd-figs",
    )
    return block, reg.rows


def _row(r: HiddenDanger, plant: Plant, lang: str, names: bool, now: int) -> html.Tr:
    d = as_danger(r)
    level = escalation(d, now)
    late = overdue(d, now)
    state = [html.Span(t(f"hd.state.{r.state}", lang))]
    if late:
        state.append(html.Span(t(f"hd.escalation.{level}", lang), className="badge sw-hd-esc ms-1"))
    place = []
    if r.x is not None and r.y is not None:
        place.append(html.A(t("hd.on_map", lang), href=f"/scene?at={r.x:.0f},{r.y:.0f}", className="ms-1 small"))
    if r.has_photo:
        place.append(
            html.A(
                t("hd.photo", lang), href=f"/safety/hidden-danger/{r.id}/photo", target="_blank", className="ms-1 small"
            )
        )
    who = r.owner if names and r.owner else ("-" if not r.owner else t("hd.hidden_name", lang))
    return html.Tr(
        [
            html.Td(f"#{r.id}"),
            html.Td([html.Div(r.title), html.Div(r.description, className="sw-muted small sw-hd-desc")]),
            html.Td([_zone_name(plant, r.zone, lang), *place]),
            html.Td(
                t(f"hd.grade.{r.grade}", lang) if r.grade else "-",
                className="sw-hd-major" if r.grade == "major" else "",
            ),
            html.Td(state, className="sw-hd-late" if late else ""),
            html.Td(who),
            html.Td(local_text(plant, r.deadline_ms)),
            html.Td(local_text(plant, r.reported_at)),
        ]
    )


def list_block(rows: list[HiddenDanger], lang: str) -> html.Div | dbc.Table:
    if not rows:
        return html.Div(t("hd.none", lang), className="sw-muted")
    plant = web.plant()
    names = names_visible()
    now = web.now_ms()
    cols = ("id", "what", "where", "grade", "state", "owner", "deadline", "reported")
    head = html.Thead(html.Tr([html.Th(t(f"hd.col.{c}", lang)) for c in cols]))
    body = html.Tbody([_row(r, plant, lang, names, now) for r in rows])
    return dbc.Table([head, body], size="sm", className="sw-table sw-hd-table", responsive=True)


def _field(name: str, control: Any, lang: str) -> html.Div:
    return html.Div(
        [dbc.Label(t(f"hd.field.{name}", lang), html_for=f"safety-hd-{name}", className="small mb-0"), control],
        id={"type": ids.FIELDS, "name": name},
        className="sw-hd-field",
    )


def action_form(rows: list[HiddenDanger], lang: str) -> html.Div:
    user = current_user()
    if user is None or not user.can(Perm.HD_MANAGE):
        return html.Div()
    picks = _picks(rows)
    fields = [
        _field(
            "grade",
            dbc.RadioItems(
                id=ids.GRADE, options=[{"label": t(f"hd.grade.{g}", lang), "value": g} for g in GRADES], inline=True
            ),
            lang,
        ),
        _field("owner", dbc.Input(id=ids.OWNER, maxLength=120, size="sm"), lang),
        _field("deadline", dbc.Input(id=ids.DEADLINE, type="datetime-local", size="sm"), lang),
        _field("measures", dbc.Textarea(id=ids.MEASURES, maxLength=2000, rows=2), lang),
        _field("funds", dbc.Input(id=ids.FUNDS, type="number", min=0, size="sm"), lang),
        _field("interim", dbc.Textarea(id=ids.INTERIM, maxLength=2000, rows=2), lang),
        _field("note", dbc.Textarea(id=ids.NOTE, maxLength=2000, rows=2), lang),
    ]
    return html.Div(
        [
            html.H6(t("hd.act.title", lang)),
            html.Div(
                [
                    dbc.Select(id=ids.PICK, options=picks, placeholder=t("hd.act.pick", lang), size="sm"),
                    dbc.Select(
                        id=ids.ACTION,
                        options=[{"label": t(f"hd.action.{a}", lang), "value": a} for a in ACTIONS],
                        value=ASSESS,
                        size="sm",
                    ),
                ],
                className="sw-hd-act-row",
            ),
            html.Div(fields, className="sw-hd-fields"),
            html.Div(t("hd.act.who", lang, user=user.username), className="sw-muted small"),
            dbc.Button(t("hd.act.go", lang), id=ids.GO, size="sm", color="warning", className="mt-1"),
            html.Div(id=ids.MSG, className="small mt-1", role="status"),
        ],
        className="sw-hd-act",
    )


def layout(lang: str) -> html.Div:
    figs, rows = figures_block(lang)
    user = current_user()
    report = (
        html.A(t("hd.report_link", lang), href="/safety/report", className="btn btn-sm btn-outline-warning")
        if user is not None and user.can(Perm.HD_REPORT)
        else None
    )
    return html.Div(
        [
            html.Div([html.H5(t("hd.title", lang), className="me-auto mb-0"), report], className="d-flex mb-2"),
            html.Div(figs, id=ids.FIGURES),
            html.Div(list_block(rows, lang), id=ids.LIST),
            action_form(rows, lang),
        ],
        className="sw-hd",
    )


def _picks(rows: list[HiddenDanger]) -> list[dict[str, Any]]:
    return [{"label": f"#{r.id} {r.title[:60]}", "value": r.id} for r in rows if r.state in OPEN_STATES]


@panel_callback(
    Output({"type": ids.FIELDS, "name": ALL}, "style"),
    Input(ids.ACTION, "value"),
    State({"type": ids.FIELDS, "name": ALL}, "id"),
)
def show_fields(action: str | None, field_ids: list[dict[str, str]]) -> list[dict[str, str]]:
    """The fields the chosen action takes; the others hidden."""
    wanted = FIELDS.get(action or "", ())
    return [{} if f.get("name") in wanted else {"display": "none"} for f in field_ids]


def _number(v: Any) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@panel_callback(
    Output(ids.MSG, "children"),
    Output(ids.LIST, "children"),
    Output(ids.FIGURES, "children"),
    Output(ids.PICK, "options"),
    Input(ids.GO, "n_clicks"),
    State(ids.PICK, "value"),
    State(ids.ACTION, "value"),
    State(ids.GRADE, "value"),
    State(ids.OWNER, "value"),
    State(ids.DEADLINE, "value"),
    State(ids.MEASURES, "value"),
    State(ids.FUNDS, "value"),
    State(ids.INTERIM, "value"),
    State(ids.NOTE, "value"),
    prevent_initial_call=True,
)
def move_danger(
    _n: int | None,
    pick: Any,
    action: str | None,
    grade: str | None,
    owner: str | None,
    deadline: str | None,
    measures: str | None,
    funds: Any,
    interim: str | None,
    note: str | None,
) -> tuple[Any, ...]:
    """Move the picked hidden danger with the chosen action (checked, moved and audited in one transaction)."""
    lang = web.lang()
    plant = web.plant()
    nothing = (dash.no_update,) * 3
    try:
        danger_id = int(pick)
    except (TypeError, ValueError):
        return (t("hd.act.need_pick", lang), *nothing)
    if action not in ACTIONS:
        return (t("hd.err.unknown_action", lang), *nothing)
    try:
        when = parse_local(plant, deadline)
    except ValueError:
        return (t("hd.err.need_deadline", lang), *nothing)
    given: dict[str, Any] = {"note": note or ""}
    if action == ASSESS:
        given["grade"] = grade
    elif action == ASSIGN:
        given.update(owner=owner, deadline_ms=when)
    elif action == PLAN:
        given["plan"] = {
            "measures": measures,
            "funds": _number(funds),
            "owner": owner,
            "deadline_ms": when,
            "interim": interim,
        }
    try:
        with commands.operator_session((Perm.HD_MANAGE,)) as (session, op):
            state = commands.hidden_danger_move(session, op, danger_id, action, now_ms=web.now_ms(), **given)
    except IllegalMoveError as exc:
        return (t(f"hd.err.{exc.key}", lang), *nothing)
    except commands.REFUSALS as exc:
        return (commands.refusal_message(exc, lang, what="hidden danger", refused_key="hd.refused"), *nothing)
    figs, rows = figures_block(lang)
    done = t("hd.act.done", lang, id=danger_id, state=t(f"hd.state.{state}", lang))
    return done, list_block(rows, lang), figs, _picks(rows)
