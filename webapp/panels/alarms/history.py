"""The history tab: the alarm journal with the live list's filters, newest first, a page at a time."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from engine.clock import DATE_TIME, DAY_TIME, format_local
from i18n import t
from plant import Plant
from store.alarm_views import AlarmFilter, alarm_history
from store.db import session_scope
from webapp import context as web
from webapp.live.alarms import condition_text, digest
from webapp.live.summary import fmt_number
from webapp.panels import panel_callback
from webapp.panels.alarms.filters import build_filter, filter_inputs
from webapp.panels.alarms.ids import ids
from webapp.panels.alarms.places import plant_names
from webapp.shell import ids as shell_ids

PAGE_SIZE = 50
HISTORY_EVERY = 5  # ticks between refreshes of history page 1


def history_panel() -> html.Div:
    """The journal's summary, table and pager (hidden until the history tab is chosen)."""
    return html.Div(
        [
            html.Div(id=ids.HIST_SUMMARY, className="sw-al-summary mb-1"),
            html.Div(id=ids.HIST_TABLE),
            html.Div(
                dbc.Pagination(id=ids.PAGER, max_value=1, active_page=1, fully_expanded=False, previous_next=True),
                className="sw-al-pager",
            ),
        ],
        id=ids.HISTORY,
        hidden=True,
    )


def _history_table(rows: list[Any], plant: Plant, names: dict[str, dict[str, str]], lang: str) -> Any:
    if not rows:
        return html.Div(t("alarm.history.empty", lang), className="sw-al-empty")
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("alarm.col.time", lang)),
                html.Th(t("alarm.col.event", lang)),
                html.Th(t("alarm.col.priority", lang), className="sw-al-hide-sm"),
                html.Th(t("alarm.col.source", lang)),
                html.Th(t("alarm.col.condition", lang), className="sw-al-hide-sm"),
                html.Th(t("alarm.col.area", lang), className="sw-al-hide-sm"),
                html.Th(t("alarm.col.reading", lang), className="sw-al-hide-sm"),
                html.Th(t("alarm.col.user", lang)),
                html.Th(t("alarm.col.comment", lang)),
                html.Th(""),
            ]
        )
    )
    body = []
    for r in rows:
        who = "" if not r.user else r.user + (f" @ {r.address}" if r.address else "")
        body.append(
            html.Tr(
                [
                    html.Td(
                        format_local(r.ts, plant.tz(), DAY_TIME),
                        className="text-nowrap",
                        title=format_local(r.ts, plant.tz(), DATE_TIME),
                    ),
                    html.Td(t(f"alarm.kind.{r.kind}", lang), className="sw-al-kind"),
                    html.Td(
                        html.Span(t(f"alarm.priority.{r.priority}", lang), className="sw-al-prio"),
                        className="sw-al-hide-sm",
                    ),
                    html.Td(
                        [r.source or r.alarm_id]
                        + (
                            [html.Div(f"{t('alarm.col.linked', lang)}: {r.linked}", className="sw-al-linked small")]
                            if r.linked
                            else []
                        ),
                        className="sw-al-mono",
                        title=r.alarm_id,
                    ),
                    html.Td(condition_text(r.condition or "", lang), className="sw-al-hide-sm"),
                    html.Td(names["area"].get(r.area or "", r.area or "-"), className="sw-al-hide-sm"),
                    html.Td("" if r.value is None else fmt_number(r.value), className="sw-al-hide-sm text-end"),
                    html.Td(who),
                    html.Td(r.comment or ""),
                    html.Td(
                        dcc.Link(
                            t("replay.link", lang),
                            href=f"/replay?alarm={quote(r.alarm_id, safe='')}&at={r.ts}",
                            className="sw-al-replay",
                            title=t("replay.open", lang),
                        )
                    ),
                ],
                className=f"sw-prio-{r.priority}",
            )
        )
    return dbc.Table([head, html.Tbody(body)], className="sw-al-hist sw-table", size="sm", hover=True, responsive=True)


@panel_callback(
    Output(ids.HIST_TABLE, "children"),
    Output(ids.HIST_SUMMARY, "children"),
    Output(ids.PAGER, "max_value"),
    Output(ids.PAGER, "active_page"),
    Output(ids.HIST_SHOWN, "data"),
    Output(ids.FILTER_ERROR, "children", allow_duplicate=True),
    *filter_inputs(),
    Input(ids.PAGER, "active_page"),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.HIST_SHOWN, "data"),
    prevent_initial_call=True,
)
def refresh_history(
    view: str | None,
    area: Any,
    priority: Any,
    state: Any,
    source: Any,
    preset: Any,
    start: Any,
    end: Any,
    page: int | None,
    n: int | None,
    shown: dict[str, Any] | None,
) -> tuple[Any, ...]:
    if view != "history":
        raise PreventUpdate
    trigger = ctx.triggered_id
    page = page if isinstance(page, int) and page >= 1 else 1
    if trigger == shell_ids.TICK and (page != 1 or (n or 0) % HISTORY_EVERY):
        raise PreventUpdate  # history follows new entries only on its first page, every few ticks
    if trigger not in (ids.PAGER, shell_ids.TICK):
        page = 1  # new filters start on the newest page
    lang = web.lang()
    plant = web.plant()
    now = web.now_ms()
    try:
        flt = build_filter(area, priority, state, source, preset, start, end, now, plant)
        if state in (None, "", "open"):  # history's default is every transition, not only the annunciated states
            flt = AlarmFilter(flt.areas, flt.priorities, (), flt.source_types, flt.start_ms, flt.end_ms)
    except ValueError as exc:
        err = t("alarm.filter.bad", lang, error=str(exc))
        return no_update, no_update, no_update, no_update, no_update, err
    with session_scope(web.engine()) as session:
        hist = alarm_history(session, flt, page=page, page_size=PAGE_SIZE)
    key = digest([[r.as_dict() for r in hist.rows], hist.total, hist.page, lang])
    if shown and shown.get("key") == key:
        raise PreventUpdate
    table = _history_table(hist.rows, plant, plant_names(plant, lang), lang)
    summary = t("alarm.history.summary", lang, n=hist.total, page=hist.page, pages=hist.pages)
    return table, summary, hist.pages, hist.page, {"key": key}, ""
