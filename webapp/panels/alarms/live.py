"""The live list: the open alarms of the shared alarm snapshot (``webapp.live.alarms``), filtered with the
same rules as the SQL (``store.alarm_views.matches``), most urgent then newest first. It refreshes every
shell tick and sends the list only when what it shows changed."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from engine.clock import DATE_TIME, format_local
from i18n import t
from plant import Plant
from store.alarm_views import AlarmFilter, AlarmView, matches, sort_key
from webapp import context as web
from webapp.attrs import wildcard
from webapp.live.alarms import (
    alarm_snapshot,
    alarm_text,
    condition_text,
    digest,
    snapshot_alarms,
    source_text,
    value_text,
)
from webapp.panels import panel_callback
from webapp.panels.alarms.filters import build_filter, filter_inputs
from webapp.panels.alarms.ids import ids
from webapp.panels.alarms.places import place, plant_names, where
from webapp.shell import ids as shell_ids

MAX_ROWS = 300  # rows drawn in the live list; beyond, the user narrows the filters


def live_panel(lang: str) -> html.Div:
    """The toolbar (counts, acknowledge what is shown) and the list."""
    return html.Div(
        [
            html.Div(
                [
                    html.Span(id=ids.SUMMARY, className="sw-al-summary"),
                    dbc.Button(
                        t("alarm.action.ack_visible", lang, n=0),
                        id=ids.ACK_VISIBLE,
                        color="warning",
                        size="sm",
                        disabled=True,
                        className="ms-auto",
                    ),
                ],
                className="sw-al-toolbar",
            ),
            html.Div(id=ids.LIST, className="sw-al-list"),
        ],
        id=ids.LIVE,
    )


def _row(a: AlarmView, plant: Plant, names: dict[str, dict[str, str]], now: int, lang: str) -> html.Div:
    unacked = not a.acked
    actions = []
    if unacked:
        actions.append(
            dbc.Button(
                t("alarm.action.ack", lang),
                id=ids.row_ack(a.id),
                color="warning",
                size="sm",
                title=t("alarm.action.ack_title", lang),
            )
        )
    return html.Div(
        [
            html.Span(t(f"alarm.priority.{a.priority}", lang), className="sw-al-prio"),
            html.Span(
                format_local(a.activated_at, plant.tz(), now_ms=now),
                className="sw-al-time",
                title=format_local(a.activated_at, plant.tz(), DATE_TIME),
            ),
            html.Button(
                source_text(a, plant, lang), id=ids.row_open(a.id), className="sw-al-source", type="button", title=a.id
            ),
            html.Div(
                [
                    html.Span(condition_text(a.condition, lang), className="sw-al-cond"),
                    html.Span(alarm_text(a, plant, lang), className="sw-al-text"),
                ],
                className="sw-al-what",
            ),
            html.Span(value_text(a, plant), className="sw-al-value"),
            html.Span(place(a, names), className="sw-al-where", title=where(a, names)),
            html.Span(t(f"alarm.state.{a.state}", lang), className=f"sw-al-state sw-al-state-{a.state}"),
            html.Div(actions, className="sw-al-actions"),
        ],
        className=f"sw-al-row sw-prio-{a.priority}" + (" sw-al-unacked" if unacked else ""),
        **wildcard({"data-alarm": a.id}),
    )


def live_rows(snap: dict[str, Any], flt: AlarmFilter) -> list[AlarmView]:
    return sorted((a for a in snapshot_alarms(snap) if matches(a, flt)), key=sort_key)


@panel_callback(
    Output(ids.LIST, "children"),
    Output(ids.SUMMARY, "children"),
    Output(ids.ACK_VISIBLE, "children"),
    Output(ids.ACK_VISIBLE, "disabled"),
    Output(ids.SHOWN, "data"),
    Output(ids.FILTER_ERROR, "children"),
    Input(shell_ids.TICK, "n_intervals"),
    *filter_inputs(),
    Input(ids.SENT, "data"),  # the alarm service answered: show the new states at once
    State(ids.SHOWN, "data"),
)
def refresh_live(
    _n: int | None,
    view: str | None,
    area: Any,
    priority: Any,
    state: Any,
    source: Any,
    preset: Any,
    start: Any,
    end: Any,
    _sent: Any,
    shown: dict[str, Any] | None,
) -> tuple[Any, ...]:
    if view == "history":
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    snap = alarm_snapshot()
    now = snap["now_ms"]
    try:
        flt = build_filter(area, priority, state, source, preset, start, end, now, plant)
    except ValueError as exc:
        return no_update, no_update, no_update, no_update, no_update, t("alarm.filter.bad", lang, error=str(exc))
    rows = live_rows(snap, flt)
    drawn = rows[:MAX_ROWS]
    unacked = [a.id for a in drawn if not a.acked]
    key = digest([[a.as_dict() for a in drawn], len(rows), lang, snap.get("truncated")])
    if shown and shown.get("key") == key:
        raise PreventUpdate  # the browser already shows this list
    names = plant_names(plant, lang)
    children: list[Any] = [_row(a, plant, names, now, lang) for a in drawn]
    if not rows:
        children = [html.Div(t("alarm.list.empty", lang), className="sw-al-empty")]
    elif len(rows) > MAX_ROWS or snap.get("truncated"):
        children.append(html.Div(t("alarm.list.more", lang, n=len(rows) - len(drawn)), className="sw-al-more"))
    summary = t("alarm.list.summary", lang, n=len(rows), unacked=sum(1 for a in rows if not a.acked))
    ack_text = t("alarm.action.ack_visible", lang, n=len(unacked))
    return children, summary, ack_text, not unacked, {"key": key, "unacked": unacked}, ""
