"""The alarm list (``/alarms``): live and historical views, filters, acknowledge, shelve, comment.

* **Live**: the open alarms of the shared alarm snapshot (``webapp.live.alarms``), filtered here with
  the same rules as the SQL (``store.alarm_views.matches``), most urgent then newest first. It refreshes
  every shell tick and sends the list only when what it shows changed.
* **History**: the alarm journal with the same filters, newest first, a page at a time.
* **Actions**: acknowledge one alarm (its row) or every unacknowledged alarm shown, shelve for a chosen time
  with a reason, unshelve, take out of service and return to service with a reason, comment. Each asks for
  confirmation, then becomes operator commands
  (``store.alarms.submit_command``) carrying the user, time, browser address and comment; the alarm service
  applies and journals them, and the page reports what it answered. The web app never changes alarm state
  itself. Acknowledging needs ``Perm.ACK``; shelving, unshelving and the service actions need
  ``Perm.SHELVE`` (``ACTION_PERMS``), checked here on the server as well as by the policy's action output.

Alarm, plant and journal texts are Dash children (text nodes), never markup.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth.policy import NotLoggedInError, Perm
from engine.alarms import MAX_SHELVE_S
from i18n import label, t
from plant import Plant
from store.alarm_views import (
    PRIORITIES,
    SOURCE_TYPES,
    STATES,
    AlarmFilter,
    AlarmView,
    alarm_history,
    alarm_trail,
    command_results,
    get_alarm,
    matches,
    sort_key,
)
from store.db import session_scope
from webapp import context as web
from webapp.commands import NotAllowedError, alarm_command, operator_session, who_line
from webapp.gate import current_user
from webapp.live.alarms import (
    alarm_banner,
    alarm_snapshot,
    alarm_text,
    condition_text,
    digest,
    full_time,
    local_time,
    short_time,
    snapshot_alarms,
    source_text,
    value_text,
)
from webapp.live.summary import fmt_number
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/alarms", name="nav.alarms", order=20, title=web.page_title("nav.alarms"))

MAX_ROWS = 300  # rows drawn in the live list; beyond, the user narrows the filters
PAGE_SIZE = 50
HISTORY_EVERY = 5  # ticks between refreshes of history page 1
RESULT_WAIT_MS = 15_000  # after this, a command nobody answered is reported as such
# Shelving choices, up to the engine's maximum (a longer shelve would be refused by the alarm service).
SHELVE_DURATIONS = tuple(d for d in (900, 3600, 2 * 3600, 4 * 3600, 8 * 3600) if d <= MAX_SHELVE_S)
TIME_PRESETS = {"any": None, "1h": 3600_000, "8h": 8 * 3600_000, "24h": 24 * 3600_000, "7d": 7 * 86400_000}
TIME_PRESETS |= {"30d": 30 * 86400_000, "custom": None}
ACTIONS = ("ack", "shelve", "unshelve", "comment", "out_of_service", "in_service")
REASON_ACTIONS = ("shelve", "comment", "out_of_service", "in_service")  # these need a text
# The permission each action needs (a comment: either); the policy's "alarms-sent" line lets in users with
# any of them, ``submit`` checks the action's own.
ACTION_PERMS: dict[str, tuple[Perm, ...]] = {
    "ack": (Perm.ACK,),
    "shelve": (Perm.SHELVE,),
    "unshelve": (Perm.SHELVE,),
    "out_of_service": (Perm.SHELVE,),
    "in_service": (Perm.SHELVE,),
    "comment": (Perm.ACK, Perm.SHELVE),
}
MAX_COMMENT = 500


class ids:  # noqa: N801 - a namespace of this page's component ids
    VIEW = "alarms-view"
    LIVE = "alarms-live"
    HISTORY = "alarms-history"
    AREA = "alarms-area"
    PRIORITY = "alarms-priority"
    STATE = "alarms-state"
    SOURCE = "alarms-source"
    TIME = "alarms-time"
    FROM = "alarms-from"
    TO = "alarms-to"
    RANGE = "alarms-range"
    FILTERS = "alarms-filters"
    FILTERS_TOGGLE = "alarms-filters-toggle"
    FILTER_ERROR = "alarms-filter-error"
    SUMMARY = "alarms-summary"
    ACK_VISIBLE = "alarms-ack-visible"
    LIST = "alarms-list"
    SHOWN = "alarms-shown"  # digest of the live list the browser shows, and its unacknowledged ids
    RESULT = "alarms-result"
    SENT = "alarms-sent"  # command ids waiting for the alarm service's answer
    HIST_TABLE = "alarms-hist-table"
    HIST_SUMMARY = "alarms-hist-summary"
    HIST_SHOWN = "alarms-hist-shown"
    PAGER = "alarms-pager"
    DETAIL = "alarms-detail"
    DETAIL_INFO = "alarms-detail-info"
    DETAIL_TRAIL = "alarms-detail-trail"
    DETAIL_ACK = "alarms-detail-ack"
    DETAIL_SHELVE = "alarms-detail-shelve"
    DETAIL_UNSHELVE = "alarms-detail-unshelve"
    DETAIL_OOS = "alarms-detail-oos"
    DETAIL_IN_SERVICE = "alarms-detail-in-service"
    DETAIL_COMMENT = "alarms-detail-comment"
    SELECTED = "alarms-selected"
    MODAL = "alarms-modal"
    MODAL_TITLE = "alarms-modal-title"
    MODAL_BODY = "alarms-modal-body"
    MODAL_DURATION_ROW = "alarms-modal-duration-row"
    MODAL_DURATION = "alarms-modal-duration"
    MODAL_COMMENT = "alarms-modal-comment"
    MODAL_COMMENT_LABEL = "alarms-modal-comment-label"
    MODAL_ERROR = "alarms-modal-error"
    MODAL_CONFIRM = "alarms-modal-confirm"
    MODAL_CANCEL = "alarms-modal-cancel"
    PENDING = "alarms-pending"  # the action waiting for confirmation
    ROW_ACK = "alarms-row-ack"
    ROW_OPEN = "alarms-row-open"

    @staticmethod
    def row_ack(alarm_id: str) -> dict[str, str]:
        return {"type": ids.ROW_ACK, "index": alarm_id}

    @staticmethod
    def row_open(alarm_id: str) -> dict[str, str]:
        return {"type": ids.ROW_OPEN, "index": alarm_id}


# --- names -------------------------------------------------------------------------------------------


def _names(plant: Plant, lang: str) -> dict[str, dict[str, str]]:
    return {
        "area": {a.id: label(a.name, a.name_zh, lang) for a in plant.areas},
        "zone": {z.id: label(z.name, z.name_zh, lang) for z in plant.zones},
        "equipment": {e.id: label(e.name, e.name_zh, lang) for e in plant.equipment},
    }


def _place(a: AlarmView, names: dict[str, dict[str, str]]) -> str:
    """Where, in a few words: the zone, else the area."""
    if a.zone:
        return names["zone"].get(a.zone, a.zone)
    if a.area:
        return names["area"].get(a.area, a.area)
    return "-"


def _where(a: AlarmView, names: dict[str, dict[str, str]]) -> str:
    parts = []
    if a.area:
        parts.append(names["area"].get(a.area, a.area))
    if a.zone:
        parts.append(names["zone"].get(a.zone, a.zone))
    return " · ".join(parts) or "-"


# --- filters -----------------------------------------------------------------------------------------


def _one(value: Any) -> tuple[str, ...]:
    return () if value in (None, "", "all") else (str(value),)


def _parse_local(value: Any, plant: Plant) -> int | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"not a date and time: {value!r}") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=plant.tz())
    return int(at.timestamp() * 1000)


def build_filter(
    area: Any, priority: Any, state: Any, source: Any, preset: Any, start: Any, end: Any, now_ms: int, plant: Plant
) -> AlarmFilter:
    """The page's filter controls as an :class:`AlarmFilter`; bad values raise ``ValueError``."""
    states: tuple[str, ...] = STATES if state == "any" else () if state in (None, "", "open") else (str(state),)
    preset = preset or "any"
    if preset not in TIME_PRESETS:
        raise ValueError(f"unknown time range {preset!r}")
    start_ms = end_ms = None
    if preset == "custom":
        start_ms, end_ms = _parse_local(start, plant), _parse_local(end, plant)
    elif TIME_PRESETS[preset] is not None:
        start_ms = now_ms - int(TIME_PRESETS[preset] or 0)
    return AlarmFilter(
        areas=_one(area),
        priorities=_one(priority),
        states=states,
        source_types=_one(source),
        start_ms=start_ms,
        end_ms=end_ms,
    )


def _select(sid: str, options: list[tuple[str, str]], value: str, text: str) -> html.Div:
    return html.Div(
        [
            dbc.Label(text, html_for=sid),
            dbc.Select(id=sid, options=[{"label": lab, "value": v} for v, lab in options], value=value, size="sm"),
        ]
    )


def state_options(view: str | None, lang: str) -> list[dict[str, str]]:
    """The state choices; the default means "needs attention" live and "every entry" in history."""
    first = "alarm.filter.all_entries" if view == "history" else "alarm.filter.annunciated"
    options = [("open", t(first, lang)), ("any", t("alarm.filter.all_states", lang))]
    options += [(s, t(f"alarm.state.{s}", lang)) for s in STATES]
    return [{"label": lab, "value": v} for v, lab in options]


def _filters(plant: Plant, lang: str) -> html.Div:
    areas = [("all", t("alarm.filter.all_areas", lang))] + [(a.id, label(a.name, a.name_zh, lang)) for a in plant.areas]
    prios = [("all", t("alarm.filter.all_priorities", lang))] + [
        (p, t(f"alarm.priority.{p}", lang)) for p in PRIORITIES
    ]
    states = [(o["value"], o["label"]) for o in state_options("live", lang)]
    sources = [("all", t("alarm.filter.all_sources", lang))] + [(s, t(f"alarm.source.{s}", lang)) for s in SOURCE_TYPES]
    times = [(k, t(f"alarm.time.{k}", lang)) for k in TIME_PRESETS]
    return dbc.Collapse(
        [
            html.Div(
                [
                    _select(ids.AREA, areas, "all", t("alarm.filter.area", lang)),
                    _select(ids.PRIORITY, prios, "all", t("alarm.filter.priority", lang)),
                    _select(ids.STATE, states, "open", t("alarm.filter.state", lang)),
                    _select(ids.SOURCE, sources, "all", t("alarm.filter.source", lang)),
                    _select(ids.TIME, times, "any", t("alarm.filter.time", lang)),
                ],
                className="sw-al-filters",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            dbc.Label(t("alarm.filter.from", lang), html_for=ids.FROM),
                            dbc.Input(id=ids.FROM, type="datetime-local", size="sm", debounce=True),
                        ]
                    ),
                    html.Div(
                        [
                            dbc.Label(t("alarm.filter.to", lang), html_for=ids.TO),
                            dbc.Input(id=ids.TO, type="datetime-local", size="sm", debounce=True),
                        ]
                    ),
                ],
                id=ids.RANGE,
                className="sw-al-filters",
                hidden=True,
            ),
            html.Div(id=ids.FILTER_ERROR, className="text-danger small", role="alert"),
        ],
        id=ids.FILTERS,
        is_open=False,
        className="sw-al-collapse",
    )


# --- layout ------------------------------------------------------------------------------------------


def _modal(lang: str) -> dbc.Modal:
    durations = [{"label": t(f"alarm.duration.{s}", lang), "value": str(s)} for s in SHELVE_DURATIONS]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id=ids.MODAL_TITLE)),
            dbc.ModalBody(
                [
                    html.Div(id=ids.MODAL_BODY, className="mb-2"),
                    html.Div(
                        [
                            dbc.Label(t("alarm.shelve.duration", lang), html_for=ids.MODAL_DURATION),
                            dbc.Select(id=ids.MODAL_DURATION, options=durations, value=str(SHELVE_DURATIONS[1])),
                        ],
                        id=ids.MODAL_DURATION_ROW,
                        className="mb-2",
                        hidden=True,
                    ),
                    dbc.Label(id=ids.MODAL_COMMENT_LABEL, html_for=ids.MODAL_COMMENT),
                    dbc.Textarea(id=ids.MODAL_COMMENT, rows=2, maxLength=MAX_COMMENT),
                    html.Div(who_line("alarm.confirm.who", lang), className="sw-muted mt-1"),
                    html.Div(id=ids.MODAL_ERROR, className="text-danger mt-2", role="alert"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button(t("alarm.confirm.cancel", lang), id=ids.MODAL_CANCEL, color="secondary", outline=True),
                    dbc.Button(t("alarm.confirm.ok", lang), id=ids.MODAL_CONFIRM, color="warning"),
                ]
            ),
        ],
        id=ids.MODAL,
        is_open=False,
        centered=True,
        class_name="sw-al-modal",
    )


def _detail(lang: str) -> dbc.Offcanvas:
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


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("alarm.title", lang), className="sw-page-title"),
                    dbc.Tabs(
                        [
                            dbc.Tab(label=t("alarm.view.live", lang), tab_id="live"),
                            dbc.Tab(label=t("alarm.view.history", lang), tab_id="history"),
                        ],
                        id=ids.VIEW,
                        active_tab="live",
                        class_name="sw-al-tabs",
                    ),
                    dbc.Button(
                        t("alarm.filter.toggle", lang),
                        id=ids.FILTERS_TOGGLE,
                        size="sm",
                        color="secondary",
                        outline=True,
                        className="d-md-none",
                    ),
                    dcc.Link(t("alarm.kpi.link", lang), href="/alarms/kpi", className="ms-auto"),
                ],
                className="sw-al-head",
            ),
            _filters(plant, lang),
            html.Div(id=ids.RESULT, className="sw-al-result", role="status", **{"aria-live": "polite"}),
            html.Div(
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
            ),
            html.Div(
                [
                    html.Div(id=ids.HIST_SUMMARY, className="sw-al-summary mb-1"),
                    html.Div(id=ids.HIST_TABLE),
                    html.Div(
                        dbc.Pagination(
                            id=ids.PAGER, max_value=1, active_page=1, fully_expanded=False, previous_next=True
                        ),
                        className="sw-al-pager",
                    ),
                ],
                id=ids.HISTORY,
                hidden=True,
            ),
            dcc.Store(id=ids.SHOWN),
            dcc.Store(id=ids.HIST_SHOWN),
            dcc.Store(id=ids.SENT),
            dcc.Store(id=ids.PENDING),
            dcc.Store(id=ids.SELECTED),
            _modal(lang),
            _detail(lang),
        ]
    )


# --- live list ---------------------------------------------------------------------------------------


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
                local_time(a.activated_at, plant, now), className="sw-al-time", title=full_time(a.activated_at, plant)
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
            html.Span(_place(a, names), className="sw-al-where", title=_where(a, names)),
            html.Span(t(f"alarm.state.{a.state}", lang), className=f"sw-al-state sw-al-state-{a.state}"),
            html.Div(actions, className="sw-al-actions"),
        ],
        className=f"sw-al-row sw-prio-{a.priority}" + (" sw-al-unacked" if unacked else ""),
        **{"data-alarm": a.id},
    )


def live_rows(snap: dict[str, Any], flt: AlarmFilter) -> list[AlarmView]:
    return sorted((a for a in snapshot_alarms(snap) if matches(a, flt)), key=sort_key)


@callback(
    Output(ids.RANGE, "hidden"),
    Output(ids.LIVE, "hidden"),
    Output(ids.HISTORY, "hidden"),
    Output(ids.STATE, "options"),
    Input(ids.TIME, "value"),
    Input(ids.VIEW, "active_tab"),
)
def show_parts(preset: str | None, view: str | None) -> tuple[bool, bool, bool, list[dict[str, str]]]:
    history = view == "history"
    return preset != "custom", history, not history, state_options(view, web.lang())


@callback(
    Output(ids.FILTERS, "is_open"),
    Input(ids.FILTERS_TOGGLE, "n_clicks"),
    State(ids.FILTERS, "is_open"),
    prevent_initial_call=True,
)
def toggle_filters(_n: int | None, is_open: bool) -> bool:
    return not is_open


@callback(
    Output(ids.LIST, "children"),
    Output(ids.SUMMARY, "children"),
    Output(ids.ACK_VISIBLE, "children"),
    Output(ids.ACK_VISIBLE, "disabled"),
    Output(ids.SHOWN, "data"),
    Output(ids.FILTER_ERROR, "children"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.VIEW, "active_tab"),
    Input(ids.AREA, "value"),
    Input(ids.PRIORITY, "value"),
    Input(ids.STATE, "value"),
    Input(ids.SOURCE, "value"),
    Input(ids.TIME, "value"),
    Input(ids.FROM, "value"),
    Input(ids.TO, "value"),
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
    names = _names(plant, lang)
    children: list[Any] = [_row(a, plant, names, now, lang) for a in drawn]
    if not rows:
        children = [html.Div(t("alarm.list.empty", lang), className="sw-al-empty")]
    elif len(rows) > MAX_ROWS or snap.get("truncated"):
        children.append(html.Div(t("alarm.list.more", lang, n=len(rows) - len(drawn)), className="sw-al-more"))
    summary = t("alarm.list.summary", lang, n=len(rows), unacked=sum(1 for a in rows if not a.acked))
    ack_text = t("alarm.action.ack_visible", lang, n=len(unacked))
    return children, summary, ack_text, not unacked, {"key": key, "unacked": unacked}, ""


# --- history -----------------------------------------------------------------------------------------


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
            ]
        )
    )
    body = []
    for r in rows:
        who = "" if not r.user else r.user + (f" @ {r.address}" if r.address else "")
        body.append(
            html.Tr(
                [
                    html.Td(short_time(r.ts, plant), className="text-nowrap", title=full_time(r.ts, plant)),
                    html.Td(t(f"alarm.kind.{r.kind}", lang), className="sw-al-kind"),
                    html.Td(
                        html.Span(t(f"alarm.priority.{r.priority}", lang), className="sw-al-prio"),
                        className="sw-al-hide-sm",
                    ),
                    html.Td(r.source or r.alarm_id, className="sw-al-mono", title=r.alarm_id),
                    html.Td(condition_text(r.condition or "", lang), className="sw-al-hide-sm"),
                    html.Td(names["area"].get(r.area or "", r.area or "-"), className="sw-al-hide-sm"),
                    html.Td("" if r.value is None else fmt_number(r.value), className="sw-al-hide-sm text-end"),
                    html.Td(who),
                    html.Td(r.comment or ""),
                ],
                className=f"sw-prio-{r.priority}",
            )
        )
    return dbc.Table([head, html.Tbody(body)], className="sw-al-hist sw-table", size="sm", hover=True, responsive=True)


@callback(
    Output(ids.HIST_TABLE, "children"),
    Output(ids.HIST_SUMMARY, "children"),
    Output(ids.PAGER, "max_value"),
    Output(ids.PAGER, "active_page"),
    Output(ids.HIST_SHOWN, "data"),
    Output(ids.FILTER_ERROR, "children", allow_duplicate=True),
    Input(ids.VIEW, "active_tab"),
    Input(ids.AREA, "value"),
    Input(ids.PRIORITY, "value"),
    Input(ids.STATE, "value"),
    Input(ids.SOURCE, "value"),
    Input(ids.TIME, "value"),
    Input(ids.FROM, "value"),
    Input(ids.TO, "value"),
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
    table = _history_table(hist.rows, plant, _names(plant, lang), lang)
    summary = t("alarm.history.summary", lang, n=hist.total, page=hist.page, pages=hist.pages)
    return table, summary, hist.pages, hist.page, {"key": key}, ""


# --- detail panel --------------------------------------------------------------------------------------


@callback(
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
                    html.Span(full_time(r.ts, plant), className="sw-al-time me-2"),
                    html.Span(t(f"alarm.kind.{r.kind}", lang), className="sw-al-kind"),
                    html.Span(who, className="sw-al-who"),
                    html.Div(r.comment, className="sw-al-comment") if r.comment else None,
                ]
            )
        )
    return html.Ul(items, className="sw-al-trail")


def _info(a: AlarmView, plant: Plant, lang: str) -> html.Div:
    names = _names(plant, lang)
    rows: list[tuple[str, str]] = [
        (t("alarm.col.condition", lang), condition_text(a.condition, lang)),
        (t("alarm.col.value", lang), value_text(a, plant) or "-"),
        (t("alarm.col.source_type", lang), t(f"alarm.source.{a.source_type}", lang)),
        (t("alarm.col.area", lang), _where(a, names)),
    ]
    text = alarm_text(a, plant, lang)
    if text:
        rows.insert(1, (t("alarm.col.message", lang), text))
    if a.equipment:
        rows.append((t("alarm.col.equipment", lang), names["equipment"].get(a.equipment, a.equipment)))
    for key, value in (("badge", a.badge), ("camera", a.camera)):
        if value:
            rows.append((t(f"alarm.col.{key}", lang), value))
    rows.append((t("alarm.col.activated", lang), full_time(a.activated_at, plant)))
    if a.returned_at:
        rows.append((t("alarm.col.returned", lang), full_time(a.returned_at, plant)))
    if a.acked_at:
        rows.append((t("alarm.col.acked", lang), f"{full_time(a.acked_at, plant)} · {a.acked_by or '-'}"))
    if a.state == "shelved":
        rows.append(
            (t("alarm.col.shelved_until", lang), f"{full_time(a.shelved_until, plant)} · {a.shelved_by or '-'}")
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


@callback(
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


# --- actions: ask, confirm, send, report ----------------------------------------------------------------


@callback(
    Output(ids.PENDING, "data"),
    Output(ids.MODAL, "is_open"),
    Output(ids.MODAL_TITLE, "children"),
    Output(ids.MODAL_BODY, "children"),
    Output(ids.MODAL_DURATION_ROW, "hidden"),
    Output(ids.MODAL_COMMENT_LABEL, "children"),
    Output(ids.MODAL_COMMENT, "value"),
    Output(ids.MODAL_ERROR, "children"),
    Input({"type": ids.ROW_ACK, "index": ALL}, "n_clicks"),
    Input(ids.ACK_VISIBLE, "n_clicks"),
    Input(ids.DETAIL_ACK, "n_clicks"),
    Input(ids.DETAIL_SHELVE, "n_clicks"),
    Input(ids.DETAIL_UNSHELVE, "n_clicks"),
    Input(ids.DETAIL_OOS, "n_clicks"),
    Input(ids.DETAIL_IN_SERVICE, "n_clicks"),
    Input(ids.DETAIL_COMMENT, "n_clicks"),
    State(ids.SHOWN, "data"),
    State(ids.SELECTED, "data"),
    prevent_initial_call=True,
)
def ask(
    _rows: list[int | None],
    _all: int | None,
    _ack: int | None,
    _shelve: int | None,
    _unshelve: int | None,
    _oos: int | None,
    _in_service: int | None,
    _comment: int | None,
    shown: dict[str, Any] | None,
    selected: dict[str, Any] | None,
) -> tuple[Any, ...]:
    trig = ctx.triggered_id
    if trig is None or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # a row re-rendered, nobody clicked
    chosen = str((selected or {}).get("id") or "")
    if isinstance(trig, dict) and trig.get("type") == ids.ROW_ACK:
        action, targets = "ack", [str(trig["index"])]
    elif trig == ids.ACK_VISIBLE:
        action, targets = "ack", [str(i) for i in (shown or {}).get("unacked") or []]
    else:
        action = {
            ids.DETAIL_ACK: "ack",
            ids.DETAIL_SHELVE: "shelve",
            ids.DETAIL_UNSHELVE: "unshelve",
            ids.DETAIL_OOS: "out_of_service",
            ids.DETAIL_IN_SERVICE: "in_service",
        }.get(str(trig), "comment")
        targets = [chosen] if chosen else []
    if not targets:
        raise PreventUpdate
    lang = web.lang()
    title = t(f"alarm.confirm.{action}", lang, n=len(targets))
    listed = html.Ul([html.Li(i) for i in targets[:20]], className="sw-al-modal-list")
    more = (
        html.Div(t("alarm.list.more", lang, n=len(targets) - 20), className="sw-muted") if len(targets) > 20 else None
    )
    comment_label = t("alarm.confirm.reason_label" if action in REASON_ACTIONS else "alarm.confirm.comment_label", lang)
    pending = {"action": action, "ids": targets}
    return pending, True, title, [listed, more], action != "shelve", comment_label, "", ""


@callback(
    Output(ids.MODAL, "is_open", allow_duplicate=True),
    Input(ids.MODAL_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def cancel(_n: int | None) -> bool:
    return False


class ReasonMissingError(ValueError):
    """Shelving, the service actions and comments need a text."""


def submit(pending: dict[str, Any], comment: str | None, duration: Any, now_ms: int) -> list[int]:
    """Send the confirmed action as operator commands; ``ValueError`` when it is not acceptable."""
    action = pending.get("action")
    targets = [str(i) for i in pending.get("ids") or []]
    if action not in ACTIONS or not targets:
        raise ValueError("nothing to do")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValueError(f"the comment is longer than {MAX_COMMENT} characters")
    duration_s = None
    if action == "shelve":
        try:
            duration_s = int(duration)
        except (TypeError, ValueError) as exc:
            raise ValueError("choose how long to shelve") from exc
        if duration_s not in SHELVE_DURATIONS:
            raise ValueError("choose how long to shelve")
    if action in REASON_ACTIONS and not text:
        raise ReasonMissingError("a reason is required")
    with operator_session(ACTION_PERMS.get(str(action), ())) as (session, op):  # refused: nobody or the role
        return alarm_command(
            session,
            op,
            targets,
            str(action),
            now_ms=now_ms,
            audit_event=f"alarm_{action}",  # the security audit log too: who, when, from where
            comment=text or None,
            duration_s=duration_s,
            data={"alarms": targets, "duration_s": duration_s},
        )


def _may(action: str) -> bool:
    """Whether the logged-in user holds a permission of ``action`` (nobody logged in: refused)."""
    principal = current_user()
    return principal is not None and any(principal.can(p) for p in ACTION_PERMS.get(action, ()))


@callback(
    Output(ids.MODAL, "is_open", allow_duplicate=True),
    Output(ids.MODAL_ERROR, "children", allow_duplicate=True),
    Output(ids.SENT, "data"),
    Output(ids.RESULT, "children"),
    Input(ids.MODAL_CONFIRM, "n_clicks"),
    State(ids.PENDING, "data"),
    State(ids.MODAL_COMMENT, "value"),
    State(ids.MODAL_DURATION, "value"),
    prevent_initial_call=True,
)
def confirm(_n: int | None, pending: dict[str, Any] | None, comment: str | None, duration: Any) -> tuple[Any, ...]:
    if not _n or not pending:
        raise PreventUpdate
    lang = web.lang()
    now = web.now_ms()
    try:
        command_ids = submit(pending, comment, duration, now)
    except ReasonMissingError:
        return True, t("alarm.confirm.need_reason", lang), no_update, no_update
    except NotLoggedInError:
        logger.warning("alarm %s refused: nobody is logged in", pending.get("action"))
        return True, t("login.required", lang), no_update, no_update
    except NotAllowedError:
        return True, t("alarm.result.not_allowed", lang), no_update, no_update
    except ValueError as exc:
        return True, t("alarm.result.refused", lang, error=str(exc)), no_update, no_update
    except Exception:
        logger.exception("alarm commands could not be stored")
        return True, t("alarm.result.failed", lang), no_update, no_update
    action = str(pending["action"])
    sent = {"ids": command_ids, "at": now, "action": action}
    note = dbc.Alert(
        t("alarm.result.sent", lang, action=t(f"alarm.action.{action}", lang), n=len(command_ids)), color="info"
    )
    return False, "", sent, note


@callback(
    Output(ids.RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data", allow_duplicate=True),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def report(_n: int | None, sent: dict[str, Any] | None) -> tuple[Any, Any]:
    if not sent or not sent.get("ids"):
        raise PreventUpdate
    lang = web.lang()
    with session_scope(web.engine()) as session:
        done = command_results(session, list(sent["ids"]))
    finished = [c for c in done if c.done_at is not None]
    action = t(f"alarm.action.{sent.get('action')}", lang)
    if len(finished) < len(sent["ids"]):
        if web.now_ms() - int(sent.get("at") or 0) < RESULT_WAIT_MS:
            raise PreventUpdate
        alert = dbc.Alert(
            t("alarm.result.no_answer", lang, action=action, n=len(sent["ids"]) - len(finished)), color="warning"
        )
        return alert, None
    ok = [c for c in finished if c.ok]
    refused = [c for c in finished if not c.ok]
    alarm_snapshot.expire()  # the next refresh shows the new states at once
    alarm_banner.expire()
    parts: list[Any] = [html.Div(t("alarm.result.done", lang, action=action, n=len(ok)))]
    for c in refused[:10]:
        parts.append(html.Div(t("alarm.result.rejected", lang, alarm=c.alarm_id, reason=c.result or "")))
    color = "success" if not refused else "warning" if ok else "danger"
    return dbc.Alert(parts, color=color, dismissable=True), None
