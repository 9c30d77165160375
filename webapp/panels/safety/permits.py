"""The safety page's special-work permits (GB 30871-2022): the permits open now and those ended in the last day, each
with its kind and grade, work, validity, state (a suspension says why), guardian and crew (badges; names only for
readers allowed them), approvals, the last gas analysis with each reading against its limit, and its place on the
3D map; for ``Perm.PERMIT`` an application form (the work area is the square of ``AREA_HALF_M`` around the work
point) and the lifecycle form (approve by sign-off, gas analysis, isolations confirmed, activate, suspend, resume,
close). Each action goes through ``webapp.commands`` (checked against ``engine.permits``, stored, audited); a
refused one says why. Every text is a Dash child (a text node), never markup."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from auth.policy import Perm
from engine import permits as rules
from engine.permits import PermitRefusedError
from i18n import label, t
from plant import Plant
from store.models import WorkPermit
from store.permits import ACTIONS as PERMIT_ACTIONS
from webapp import commands
from webapp import context as web
from webapp.gate import current_user
from webapp.live.hidden_dangers import local_text, parse_local
from webapp.live.permits import current
from webapp.live.personnel import names_visible
from webapp.panels import panel_callback

AREA_HALF_M = 10.0
STATE_CLASS = {rules.ACTIVE: "sw-pt-active", rules.SUSPENDED: "sw-pt-suspended", rules.EXPIRED: "sw-muted"}


class ids:  # noqa: N801 - a namespace of this panel's component ids
    LIST = "safety-pt-list"
    KIND = "safety-pt-kind"
    GRADE = "safety-pt-grade"
    TITLE = "safety-pt-title"
    ZONE = "safety-pt-zone"
    X = "safety-pt-x"
    Y = "safety-pt-y"
    GUARDIAN = "safety-pt-guardian"
    CREW = "safety-pt-crew"
    FROM = "safety-pt-from"
    TO = "safety-pt-to"
    ISOLATIONS = "safety-pt-isolations"
    APPLY = "safety-pt-apply"
    PICK = "safety-pt-pick"
    ACTION = "safety-pt-action"
    SIGNOFF = "safety-pt-signoff"
    GAS = "safety-pt-gas"
    GO = "safety-pt-go"
    MSG = "safety-pt-msg"  # the actions' answer (its line in auth.policy.ACTION_OUTPUTS)


def _who(plant: Plant, badge: str | None, lang: str, names: bool) -> str:
    if not badge:
        return "-"
    b = next((b for b in plant.badges if b.id == badge), None)
    return f"{label(b.name, b.name_zh, lang)} ({badge})" if names and b is not None else badge


def _gas_lines(row: WorkPermit, lang: str) -> list[Any]:
    test = rules.gas_test_from(row.gas_test)
    if test is None:
        return [t("permit.gas.none", lang)] if row.kind in rules.GAS_KINDS else ["-"]
    head = t("permit.gas.passed" if test.passed else "permit.gas.failed", lang, when=local_text(web.plant(), test.ts))
    items = [
        html.Li(f"{f.gas} {f.value:g} {f.unit} ({f.limit})", className="" if f.ok else "sw-pt-bad")
        for f in test.findings
    ]
    return [html.Div(head, className="" if test.passed else "sw-pt-bad"), html.Ul(items, className="sw-pt-gas")]


def _row(row: WorkPermit, plant: Plant, lang: str, names: bool) -> html.Tr:
    kind = t(f"permit.kind.{row.kind}", lang)
    grade = t(f"permit.grade.{row.grade}", lang) if row.grade else ""
    state: list[Any] = [html.Span(t(f"permit.state.{row.state}", lang), className=STATE_CLASS.get(row.state, ""))]
    if row.state == rules.SUSPENDED and row.suspend_reason:
        reason = row.suspend_reason
        known = reason in (rules.GUARDIAN_AWAY, rules.GAS_OVER)
        state.append(html.Div(t(f"permit.reason.{reason}", lang) if known else reason, className="small sw-pt-bad"))
    signed = ", ".join(
        f"{t(f'permit.signoff.{s}', lang)} ({u})" if names else t(f"permit.signoff.{s}", lang)
        for s, u in (row.approvals or [])
    )
    needed = rules.approvers(row.kind, row.grade)
    crew = ", ".join(_who(plant, b, lang, names) for b in row.crew or [])
    zone = next((z for z in plant.zones if z.id == row.zone), None)
    return html.Tr(
        [
            html.Td(f"#{row.id}"),
            html.Td([html.Div(f"{kind} {grade}".strip(), className="fw-semibold"), html.Div(row.title)]),
            html.Td(
                [
                    label(zone.name, zone.name_zh, lang) if zone else (row.zone or "-"),
                    html.A(t("hd.on_map", lang), href=f"/scene?at={row.x:.0f},{row.y:.0f}", className="ms-1 small"),
                ]
            ),
            html.Td([local_text(plant, row.valid_from), html.Br(), local_text(plant, row.valid_to)]),
            html.Td(state),
            html.Td([html.Div(t("permit.guardian", lang, who=_who(plant, row.guardian, lang, names))), html.Div(crew)]),
            html.Td(f"{signed or '-'} ({len(row.approvals or [])}/{len(needed)})"),
            html.Td(_gas_lines(row, lang)),
        ]
    )


def list_block(rows: list[WorkPermit], lang: str) -> html.Div | dbc.Table:
    if not rows:
        return html.Div(t("permit.none", lang), className="sw-muted")
    plant = web.plant()
    names = names_visible()
    cols = ("id", "work", "where", "validity", "state", "people", "approvals", "gas")
    head = html.Thead(html.Tr([html.Th(t(f"permit.col.{c}", lang)) for c in cols]))
    return dbc.Table(
        [head, html.Tbody([_row(r, plant, lang, names) for r in rows])],
        size="sm",
        className="sw-table sw-pt-table",
        responsive=True,
    )


def _picks(rows: list[WorkPermit], lang: str) -> list[dict[str, Any]]:
    return [
        {"label": f"#{r.id} {t(f'permit.kind.{r.kind}', lang)} {r.title[:50]}", "value": r.id}
        for r in rows
        if r.state not in rules.DONE_STATES
    ]


def _forms(rows: list[WorkPermit], plant: Plant, lang: str) -> html.Div:
    user = current_user()
    if user is None or not user.can(Perm.PERMIT):
        return html.Div()
    kinds = [{"label": t(f"permit.kind.{k}", lang), "value": k} for k in rules.KINDS]
    grades = [{"label": "-", "value": ""}] + [
        {"label": t(f"permit.grade.{g}", lang), "value": g}
        for g in dict.fromkeys(g for gs in rules.GRADES.values() for g in gs)
    ]
    zones = [{"label": label(z.name, z.name_zh, lang), "value": z.id} for z in plant.zones]
    signoffs = [
        {"label": t(f"permit.signoff.{s}", lang), "value": s} for s in (rules.UNIT, rules.SAFETY, rules.PRINCIPAL)
    ]
    actions = [{"label": t(f"permit.action.{a}", lang), "value": a} for a in PERMIT_ACTIONS]

    def field(key: str, control: Any) -> html.Div:
        return html.Div([dbc.Label(t(f"permit.field.{key}", lang), className="small mb-0"), control])

    apply = html.Div(
        [
            html.H6(t("permit.apply.title", lang)),
            html.Div(
                [
                    field("kind", dbc.Select(id=ids.KIND, options=kinds, value=rules.HOT_WORK, size="sm")),
                    field("grade", dbc.Select(id=ids.GRADE, options=grades, value="second", size="sm")),
                    field("title", dbc.Input(id=ids.TITLE, maxLength=200, size="sm")),
                    field("zone", dbc.Select(id=ids.ZONE, options=zones, size="sm")),
                    field("x", dbc.Input(id=ids.X, type="number", size="sm")),
                    field("y", dbc.Input(id=ids.Y, type="number", size="sm")),
                    field("guardian", dbc.Input(id=ids.GUARDIAN, maxLength=64, size="sm")),
                    field("crew", dbc.Input(id=ids.CREW, maxLength=400, size="sm")),
                    field("from", dbc.Input(id=ids.FROM, type="datetime-local", size="sm")),
                    field("to", dbc.Input(id=ids.TO, type="datetime-local", size="sm")),
                    field("isolations", dbc.Input(id=ids.ISOLATIONS, maxLength=400, size="sm")),
                ],
                className="sw-pt-grid",
            ),
            dbc.Button(t("permit.apply.go", lang), id=ids.APPLY, size="sm", color="warning", className="mt-2"),
        ],
        className="sw-hd-act",
    )
    act = html.Div(
        [
            html.H6(t("permit.act.title", lang)),
            html.Div(
                [
                    field("pick", dbc.Select(id=ids.PICK, options=_picks(rows, lang), size="sm")),
                    field("action", dbc.Select(id=ids.ACTION, options=actions, value="approve", size="sm")),
                    field("signoff", dbc.Select(id=ids.SIGNOFF, options=signoffs, value=rules.UNIT, size="sm")),
                    field("gas", dbc.Input(id=ids.GAS, placeholder="CH4 0.1 %vol; O2 20.9 %vol", size="sm")),
                ],
                className="sw-pt-grid",
            ),
            html.Div(t("hd.act.who", lang, user=user.username), className="sw-muted small"),
            dbc.Button(t("hd.act.go", lang), id=ids.GO, size="sm", color="warning", className="mt-1"),
        ],
        className="sw-hd-act",
    )
    return html.Div([apply, act, html.Div(id=ids.MSG, className="mt-2", role="status")], className="sw-pt-forms")


def layout(lang: str) -> html.Div:
    rows = current()
    plant = web.plant()
    return html.Div(
        [
            html.H5(t("permit.title", lang)),
            html.Div(t("permit.standard", lang), className="sw-muted small mb-2"),
            html.Div(list_block(rows, lang), id=ids.LIST),
            _forms(rows, plant, lang),
        ],
        className="sw-pt",
    )


def parse_gas(text: str | None) -> list[tuple[str, float, str]]:
    """``CH4 0.1 %vol; O2 20.9 %vol; H2S 2 ppm`` as (gas, value, unit) readings; ``ValueError`` for a bad one."""
    out = []
    for part in (text or "").replace("；", ";").split(";"):
        bits = part.split()
        if not bits:
            continue
        if len(bits) not in (2, 3):
            raise PermitRefusedError("bad_gas", part.strip()[:40])
        unit = bits[2] if len(bits) == 3 else "%vol"
        try:
            value = float(bits[1])
        except ValueError:
            raise PermitRefusedError("bad_gas", part.strip()[:40]) from None
        out.append((bits[0][:8], value, unit))
    return out


def _refresh(lang: str, message: Any) -> tuple[Any, ...]:
    rows = current()
    return message, list_block(rows, lang), _picks(rows, lang)


@panel_callback(
    Output(ids.MSG, "children"),
    Output(ids.LIST, "children"),
    Output(ids.PICK, "options"),
    Input(ids.APPLY, "n_clicks"),
    Input(ids.GO, "n_clicks"),
    State(ids.KIND, "value"),
    State(ids.GRADE, "value"),
    State(ids.TITLE, "value"),
    State(ids.ZONE, "value"),
    State(ids.X, "value"),
    State(ids.Y, "value"),
    State(ids.GUARDIAN, "value"),
    State(ids.CREW, "value"),
    State(ids.FROM, "value"),
    State(ids.TO, "value"),
    State(ids.ISOLATIONS, "value"),
    State(ids.PICK, "value"),
    State(ids.ACTION, "value"),
    State(ids.SIGNOFF, "value"),
    State(ids.GAS, "value"),
    prevent_initial_call=True,
)
def permit_action(
    _apply: int | None,
    _go: int | None,
    kind: str | None,
    grade: str | None,
    title: str | None,
    zone: str | None,
    x: Any,
    y: Any,
    guardian: str | None,
    crew: str | None,
    valid_from: str | None,
    valid_to: str | None,
    isolations: str | None,
    pick: Any,
    action: str | None,
    signoff: str | None,
    gas: str | None,
) -> tuple[Any, ...]:
    """Apply for a permit, or move the picked one (checked, stored and audited in one transaction)."""
    lang = web.lang()
    plant = web.plant()
    now = web.now_ms()
    try:
        with commands.operator_session((Perm.PERMIT,)) as (session, op):
            if dash.ctx.triggered_id == ids.APPLY:
                px, py = float(x), float(y)
                start = parse_local(plant, valid_from) or now
                end = parse_local(plant, valid_to)
                if end is None:
                    raise PermitRefusedError("bad_validity")
                h = AREA_HALF_M
                new_id = commands.permit_apply(
                    session,
                    op,
                    plant=plant,
                    now_ms=now,
                    kind=str(kind or ""),
                    grade=grade or None,
                    title=title or "",
                    zone=zone or None,
                    point=(px, py),
                    area=[(px - h, py - h), (px + h, py - h), (px + h, py + h), (px - h, py + h)],
                    guardian=(guardian or "").strip() or None,
                    crew=[c.strip() for c in (crew or "").replace("，", ",").split(",") if c.strip()],
                    valid_from=start,
                    valid_to=end,
                    isolations=[i for i in (isolations or "").replace("；", ";").split(";")],
                )
                msg = t("permit.applied", lang, id=new_id)
            else:
                state = commands.permit_move(
                    session,
                    op,
                    int(pick),
                    str(action or ""),
                    now_ms=now,
                    signoff=signoff,
                    readings=parse_gas(gas) if action == "gas_test" else None,
                )
                msg = t("permit.moved", lang, id=int(pick), state=t(f"permit.state.{state}", lang))
    except PermitRefusedError as exc:
        return (html.Span(t(f"permit.err.{exc.key}", lang), className="text-danger"), dash.no_update, dash.no_update)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, commands.NotAllowedError):
            return (t("alarm.result.not_allowed", lang), dash.no_update, dash.no_update)
        return (html.Span(t("permit.refused", lang, error=str(exc)[:200]), className="text-danger"),
                dash.no_update, dash.no_update)  # fmt: skip
    except commands.REFUSALS as exc:
        return (commands.refusal_message(exc, lang, what="permit"), dash.no_update, dash.no_update)
    return _refresh(lang, html.Span(msg, className="text-success"))
