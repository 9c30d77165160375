"""The details of one alarm in a side panel: what, where, when, who acknowledged or shelved it, its journal,
and the buttons of the actions that apply to it."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from auth.policy import Perm
from engine.clock import DATE_TIME, format_local
from i18n import t
from plant import Plant
from store.alarm_views import AlarmView, alarm_trail, get_alarm
from store.db import session_scope
from webapp import context as web
from webapp.gate import current_user
from webapp.live.alarms import alarm_text, condition_text, source_text, value_text
from webapp.panels import panel_callback
from webapp.panels.alarms.ids import ids
from webapp.panels.alarms.places import plant_names, where
from webapp.shell import ids as shell_ids


def detail_panel(lang: str) -> dbc.Offcanvas:
    return dbc.Offcanvas(
        [
            html.Div(id=ids.DETAIL_INFO),
            html.Div(
                [
                    dbc.Button(t("alarm.action.ack", lang), id=ids.DETAIL_ACK, color="warning", size="sm"),
                    dbc.Button(t("alarm.action.shelve", lang), id=ids.DETAIL_SHELVE, color="secondary", size="sm"),
                    dbc.Button(t("alarm.action.unshelve", lang), id=ids.DETAIL_UNSHELVE, color="secondary", size="sm"),
                    dbc.Button(t("alarm.action.out_of_service", lang), id=ids.DETAIL_OOS, color="secondary", size="sm"),
                    dbc.Button(
                        t("alarm.action.in_service", lang), id=ids.DETAIL_IN_SERVICE, color="secondary", size="sm"
                    ),
                    dbc.Button(t("alarm.action.comment", lang), id=ids.DETAIL_COMMENT, color="info", size="sm"),
                ],
                className="d-flex flex-wrap gap-2 my-2",
            ),
            html.H3(t("alarm.detail.trail", lang), className="sw-panel-h mt-3"),
            html.Div(id=ids.DETAIL_TRAIL),
        ],
        id=ids.DETAIL,
        title="",
        placement="end",
        is_open=False,
        scrollable=True,
        class_name="sw-al-detail",
    )


@panel_callback(
    Output(ids.SELECTED, "data"),
    Output(ids.DETAIL, "is_open"),
    Input({"type": ids.ROW_OPEN, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def open_detail(clicks: list[int | None]) -> tuple[Any, Any]:
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(c for c in clicks or []) or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # rows re-rendered, nobody clicked
    return {"id": str(trig["index"])}, True


def _trail(rows: list[Any], plant: Plant, lang: str) -> Any:
    if not rows:
        return html.Div(t("alarm.detail.no_trail", lang), className="sw-muted")
    items = []
    for r in rows:
        who = "" if not r.user else " · " + r.user + (f" @ {r.address}" if r.address else "")
        items.append(
            html.Li(
                [
                    html.Span(format_local(r.ts, plant.tz(), DATE_TIME), className="sw-al-time me-2"),
                    html.Span(t(f"alarm.kind.{r.kind}", lang), className="sw-al-kind"),
                    html.Span(who, className="sw-al-who"),
                    html.Div(r.comment, className="sw-al-comment") if r.comment else None,
                ]
            )
        )
    return html.Ul(items, className="sw-al-trail")


def _info(a: AlarmView, plant: Plant, lang: str) -> html.Div:
    names = plant_names(plant, lang)
    rows: list[tuple[str, str]] = [
        (t("alarm.col.condition", lang), condition_text(a.condition, lang)),
        (t("alarm.col.value", lang), value_text(a, plant) or "-"),
        (t("alarm.col.source_type", lang), t(f"alarm.source.{a.source_type}", lang)),
        (t("alarm.col.area", lang), where(a, names)),
    ]
    text = alarm_text(a, plant, lang)
    if text:
        rows.insert(1, (t("alarm.col.message", lang), text))
    linked = _linked(a)
    if linked is not None:
        rows.insert(2, (t("alarm.col.linked", lang), linked))
    if a.equipment:
        rows.append((t("alarm.col.equipment", lang), names["equipment"].get(a.equipment, a.equipment)))
    for key, value in (("badge", a.badge), ("camera", a.camera)):
        if value:
            rows.append((t(f"alarm.col.{key}", lang), value))
    rows.append((t("alarm.col.activated", lang), format_local(a.activated_at, plant.tz(), DATE_TIME)))
    if a.returned_at:
        rows.append((t("alarm.col.returned", lang), format_local(a.returned_at, plant.tz(), DATE_TIME)))
    if a.acked_at:
        rows.append(
            (t("alarm.col.acked", lang), f"{format_local(a.acked_at, plant.tz(), DATE_TIME)} · {a.acked_by or '-'}")
        )
    if a.state == "shelved":
        rows.append(
            (
                t("alarm.col.shelved_until", lang),
                f"{format_local(a.shelved_until, plant.tz(), DATE_TIME)} · {a.shelved_by or '-'}",
            )
        )
        if a.shelve_reason:
            rows.append((t("alarm.col.reason", lang), a.shelve_reason))
    rows.append((t("alarm.col.id", lang), a.id))
    return html.Div(
        [
            html.Div(
                [
                    html.Span(t(f"alarm.priority.{a.priority}", lang), className=f"sw-al-prio sw-prio-{a.priority}"),
                    html.Span(t(f"alarm.state.{a.state}", lang), className=f"sw-al-state sw-al-state-{a.state}"),
                ],
                className="d-flex gap-2 mb-2",
            ),
            html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))], className="sw-dl"),
        ]
    )


def _linked(a: AlarmView) -> Any:
    """The other alarm of a man-down seen by a badge and a camera (``engine.mandown``): the camera's alarm with
    a link to its detection on ``/video`` (for users who may see video), or the badge's alarm id."""
    data = a.data if isinstance(a.data, dict) else {}
    if data.get("video_alarm"):
        event, shown = data.get("video_event"), f"{data['video_alarm']} · {data.get('seen_by') or '-'}"
        user = current_user()
        if isinstance(event, int) and user is not None and user.can(Perm.VIDEO):
            return html.A(shown, href=f"/video?event={event}", className="sw-al-linked")
        return shown
    if data.get("badge_alarm"):
        return f"{data['badge_alarm']} · {data.get('badge') or '-'}"
    return None


@panel_callback(
    Output(ids.DETAIL, "title"),
    Output(ids.DETAIL_INFO, "children"),
    Output(ids.DETAIL_TRAIL, "children"),
    Output(ids.DETAIL_ACK, "disabled"),
    Output(ids.DETAIL_SHELVE, "disabled"),
    Output(ids.DETAIL_UNSHELVE, "disabled"),
    Output(ids.DETAIL_OOS, "disabled"),
    Output(ids.DETAIL_IN_SERVICE, "disabled"),
    Input(ids.SELECTED, "data"),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.DETAIL, "is_open"),
    prevent_initial_call=True,
)
def refresh_detail(selected: dict[str, Any] | None, _n: int | None, is_open: bool) -> tuple[Any, ...]:
    if not selected or not isinstance(selected, dict) or (ctx.triggered_id == shell_ids.TICK and not is_open):
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    alarm_id = str(selected.get("id"))
    with session_scope(web.engine()) as session:
        a = get_alarm(session, alarm_id, web.now_ms())
        trail = alarm_trail(session, alarm_id, limit=100)
    if a is None:
        return (
            alarm_id,
            html.Div(t("alarm.detail.unknown", lang), className="text-danger"),
            _trail(trail, plant, lang),
            True,
            True,
            True,
            True,
            True,
        )
    title = f"{source_text(a, plant, lang)} · {condition_text(a.condition, lang)}"
    oos = a.state == "out_of_service"
    shelved = a.state == "shelved"
    return title, _info(a, plant, lang), _trail(trail, plant, lang), a.acked, shelved or oos, not shelved, oos, not oos
