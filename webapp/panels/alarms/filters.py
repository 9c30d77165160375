"""The filters of the alarm list (area, priority, state, source, time range) and the filter built from
them, shared by the live list and the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html

from i18n import label, t
from plant import Plant
from store.alarm_views import PRIORITIES, SOURCE_TYPES, STATES, AlarmFilter
from webapp.panels import panel_callback
from webapp.panels.alarms.ids import ids

TIME_PRESETS = {"any": None, "1h": 3600_000, "8h": 8 * 3600_000, "24h": 24 * 3600_000, "7d": 7 * 86400_000}
TIME_PRESETS |= {"30d": 30 * 86400_000, "custom": None}


def filter_inputs() -> list[Input]:
    """The tab and the filters, in the order ``build_filter``'s callers take them (live list and history)."""
    return [
        Input(ids.VIEW, "active_tab"),
        Input(ids.AREA, "value"),
        Input(ids.PRIORITY, "value"),
        Input(ids.STATE, "value"),
        Input(ids.SOURCE, "value"),
        Input(ids.TIME, "value"),
        Input(ids.FROM, "value"),
        Input(ids.TO, "value"),
    ]


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


def filters_panel(plant: Plant, lang: str) -> dbc.Collapse:
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


@panel_callback(
    Output(ids.FILTERS, "is_open"),
    Input(ids.FILTERS_TOGGLE, "n_clicks"),
    State(ids.FILTERS, "is_open"),
    prevent_initial_call=True,
)
def toggle_filters(_n: int | None, is_open: bool) -> bool:
    return not is_open
