"""The emergency muster of the personnel page: the banner while one runs, arrivals per muster point, the
people missing with where they were last seen, and the declaration and end by the logged-in user (checked
for ``Perm.MUSTER``, audited)."""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from auth import Perm
from auth.auditlog import MUSTER_DECLARED, MUSTER_ENDED
from engine.clock import format_local
from i18n import t
from plant import Plant
from store import people
from store.db import session_scope
from webapp import context as web
from webapp.audit import audit
from webapp.gate import current_user
from webapp.live import personnel as data
from webapp.live.snapshot import format_age
from webapp.panels import panel_callback
from webapp.panels.personnel.common import names_of, person_name
from webapp.panels.personnel.ids import ids

logger = logging.getLogger(__name__)

MISSING_ROWS = 60


def banner(live: dict[str, Any], lang: str) -> Any:
    """The banner over the page while a muster runs (None otherwise)."""
    m = live.get("muster")
    if not m:
        return None
    return html.Div(
        [
            html.Span(t("personnel.muster.active", lang), className="sw-mb-title"),
            html.Span(
                t("personnel.muster.counts", lang, arrived=m["arrived"], roll=m["on_roll"], missing=m["missing_count"]),
                className="sw-mb-counts",
            ),
        ],
        className="sw-muster-banner",
        role="alert",
    )


def body(live: dict[str, Any], plant: Plant, lang: str) -> html.Div:
    """The muster as it stands: arrivals, points, people missing and where they were last seen."""
    m = live.get("muster")
    if not m:
        return html.Div(t("personnel.muster.none", lang), className="sw-muted mb-2")
    points = names_of(plant.muster_points, lang)
    zones = names_of(plant.zones, lang)
    who = people.identities(plant, data.current_viewer())
    declared = t(
        "personnel.muster.declared",
        lang,
        time=format_local(m["declared_ms"], plant.tz()),
        who=m["declared_by"] or "-",
    )
    big = html.Div(
        [
            html.Div(
                [html.Div(str(m["arrived"]), className="sw-kpi-md sw-st-ok"), t("personnel.muster.arrived", lang)],
                className="sw-mu-k",
            ),
            html.Div(
                [html.Div(str(m["on_roll"]), className="sw-kpi-md"), t("personnel.muster.roll", lang)],
                className="sw-mu-k",
            ),
            html.Div(
                [
                    html.Div(
                        str(m["missing_count"]),
                        className="sw-kpi-md " + ("sw-st-bad" if m["missing_count"] else "sw-st-ok"),
                        id="personnel-muster-missing-count",
                    ),
                    t("personnel.muster.missing", lang),
                ],
                className="sw-mu-k",
            ),
        ],
        className="sw-mu-kpis",
    )
    point_rows = [
        html.Tr(
            [
                html.Td(points.get(p["id"], p["id"])),
                html.Td(str(p["arrived"]), className="sw-num"),
                html.Td(str(p["assigned"]), className="sw-num sw-muted"),
                html.Td(
                    t("personnel.muster.from_other", lang, n=p["from_other"]) if p["from_other"] else "",
                    className="sw-muted small",
                ),
            ]
        )
        for p in m["points"]
    ]
    point_table = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(t("personnel.muster.point", lang)),
                        html.Th(t("personnel.muster.here", lang), className="sw-num"),
                        html.Th(t("personnel.muster.assigned", lang), className="sw-num"),
                        html.Th(""),
                    ]
                )
            ),
            html.Tbody(point_rows),
        ],
        className="table table-sm sw-table mb-2",
    )
    missing_items = [
        html.Li(
            [
                html.Span(person_name(who, x["badge"], lang), className="fw-semibold"),
                html.Span(x["badge"], className="font-monospace sw-muted ms-2 small"),
                html.Div(
                    t(
                        "personnel.muster.last_seen",
                        lang,
                        zone=zones.get(x["zone"] or "", t("personnel.tip.outside", lang)),
                        x=f"{x['x']:.0f}",
                        y=f"{x['y']:.0f}",
                        age=format_age(x["age_s"], lang),
                    ),
                    className="sw-muted small",
                ),
            ],
            className="sw-mu-missing",
        )
        for x in m["missing"][:MISSING_ROWS]
    ]
    if len(m["missing"]) > MISSING_ROWS:
        missing_items.append(
            html.Li(t("personnel.more", lang, n=len(m["missing"]) - MISSING_ROWS), className="sw-muted")
        )
    at_other = m.get("at_other") or {}
    notes = []
    if at_other:
        notes.append(
            html.Div(
                t("personnel.muster.at_other", lang, n=len(at_other))
                + ": "
                + ", ".join(
                    f"{person_name(who, b, lang)} → {points.get(p, p)}" for b, p in sorted(at_other.items())[:20]
                ),
                className="sw-muted small mb-1",
            )
        )
    if m.get("extra"):
        notes.append(html.Div(t("personnel.muster.extra", lang, n=m["extra"]), className="sw-muted small mb-1"))
    principal = current_user()
    replay = (
        dcc.Link(
            t("replay.link", lang),
            href=f"/replay?muster={int(m['id'])}",
            title=t("replay.open", lang),
            className="ms-2 sw-mu-replay",
        )
        if principal is not None and principal.can(Perm.REPLAY) and m.get("id") is not None
        else None
    )
    return html.Div(
        [
            html.Div([declared, replay], className="sw-muted small mb-1"),
            html.Div(m["note"], className="sw-mu-note mb-1") if m.get("note") else None,
            big,
            point_table,
            *notes,
            html.H3(t("personnel.muster.missing_list", lang), className="sw-panel-h mt-2"),
            html.Ul(missing_items, className="sw-mu-list", id="personnel-muster-missing")
            if missing_items
            else html.Div(t("personnel.muster.all_in", lang), className="sw-st-ok"),
        ]
    )


def panel(live: dict[str, Any], plant: Plant, user: str, lang: str) -> html.Div:
    """The muster card's body: the muster as it stands and the form that declares or ends it as ``user``, the
    logged-in user."""
    form = html.Div(
        [
            dcc.Input(  # who acts: the logged-in user, shown, never typed
                id=ids.MUSTER_NAME,
                type="text",
                value=user,
                disabled=True,
                placeholder=t("personnel.muster.your_name", lang),
                className="form-control form-control-sm",
                maxLength=64,
            ),
            dcc.Input(
                id=ids.MUSTER_NOTE,
                type="text",
                placeholder=t("personnel.muster.note", lang),
                className="form-control form-control-sm",
                maxLength=200,
            ),
            dcc.ConfirmDialogProvider(
                dbc.Button(t("personnel.muster.declare", lang), id=ids.DECLARE, color="danger", size="sm"),
                id=ids.DECLARE_CONFIRM,
                message=t("personnel.muster.confirm", lang),
            ),
            dbc.Button(t("personnel.muster.end", lang), id=ids.END_MUSTER, color="secondary", outline=True, size="sm"),
            html.Div(id=ids.MUSTER_MSG, className="sw-pm-msg w-100", role="status"),
        ],
        className="sw-mu-form",
    )
    return html.Div([html.Div(body(live, plant, lang), id=ids.MUSTER_BODY), form])


@panel_callback(
    Output(ids.MUSTER_MSG, "children"),
    Output(ids.LIVE, "data", allow_duplicate=True),
    Input(ids.DECLARE_CONFIRM, "submit_n_clicks"),
    Input(ids.END_MUSTER, "n_clicks"),
    State(ids.MUSTER_NOTE, "value"),
    prevent_initial_call=True,
)
def muster_action(_declare: int | None, _end: int | None, note: str | None) -> tuple[Any, Any]:
    action = "declare" if dash.ctx.triggered_id == ids.DECLARE_CONFIRM else "end"
    msg, changed = do_muster(action, note, web.lang())
    return msg, data.live(data.current_viewer()) if changed else dash.no_update


def do_muster(action: str, note: str | None, lang: str) -> tuple[str, bool]:
    """Declare or end the muster as the logged-in user; the message to show and whether anything changed.
    Nobody logged in, or a role without ``Perm.MUSTER``: refused, nothing done."""
    principal = current_user()
    if principal is None:
        logger.warning("personnel: muster %s refused: nobody is logged in", action)
        return t("login.required", lang), False
    if not principal.can(Perm.MUSTER):
        logger.warning("personnel: muster %s refused to %s (%s)", action, principal.username, principal.role)
        return t("personnel.not_allowed", lang), False
    name = principal.username
    now = web.now_ms()
    try:
        with session_scope(web.engine()) as session:
            if action == "declare":
                people.declare_muster(session, name, now, note=note or "")
                msg, changed = t("personnel.muster.declared_ok", lang), True
            elif people.end_muster(session, name, now):
                msg, changed = t("personnel.muster.ended_ok", lang), True
            else:
                msg, changed = t("personnel.muster.no_active", lang), False
            if changed:  # the security audit log: the logged-in user, time and address
                event = MUSTER_DECLARED if action == "declare" else MUSTER_ENDED
                audit(event, target=name, detail=note or None, session=session)
    except (ValueError, TypeError) as exc:
        logger.info("personnel: muster action refused: %s", exc)
        return t("personnel.muster.bad_note", lang), False
    if changed:
        data.expire_live()
    return msg, changed
