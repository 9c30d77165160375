"""Playback and heatmap of the personnel page: the window of history (end, duration, zone), the trips of
people and vehicles replayed on the map, the heatmap of person-hours and the path of the person followed,
each read once per window and cached briefly (:mod:`webapp.live.personnel`)."""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from i18n import t
from plant import Plant
from store import people
from webapp import context as web
from webapp.live import personnel as data
from webapp.panels import panel_callback
from webapp.panels.personnel.common import names_of
from webapp.panels.personnel.ids import ids

logger = logging.getLogger(__name__)


def history_bar(plant: Plant, lang: str) -> html.Div:
    """The window of playback and heatmap: its end, duration and zone, reload and the path of the person
    followed."""
    zones = names_of(plant.zones, lang)
    return html.Div(
        [
            html.Label(
                [
                    html.Span(t("personnel.window.end", lang), className="sw-muted"),
                    dcc.Input(
                        id=ids.END,
                        type="text",
                        debounce=True,
                        placeholder=t("personnel.window.end_placeholder", lang),
                        className="form-control form-control-sm sw-pm-end",
                        maxLength=20,
                    ),
                ],
                className="sw-pm-field",
            ),
            html.Label(
                [
                    html.Span(t("personnel.window.duration", lang), className="sw-muted"),
                    dcc.Dropdown(
                        id=ids.DURATION,
                        options=[
                            {
                                "label": t("personnel.window.minutes", lang, n=m)
                                if m < 60
                                else t("personnel.window.hours", lang, n=m // 60),
                                "value": m,
                            }
                            for m in data.DURATIONS_MIN
                        ],
                        value=60,
                        clearable=False,
                        searchable=False,
                        className="sw-pm-dd",
                    ),
                ],
                className="sw-pm-field",
            ),
            html.Label(
                [
                    html.Span(t("personnel.window.zone", lang), className="sw-muted"),
                    dcc.Dropdown(
                        id=ids.ZONE,
                        options=[{"label": t("personnel.window.all_zones", lang), "value": ""}]
                        + [{"label": zones[z.id], "value": z.id} for z in plant.zones],
                        value="",
                        clearable=False,
                        className="sw-pm-dd sw-pm-dd-wide",
                    ),
                ],
                className="sw-pm-field",
            ),
            dbc.Button(t("personnel.window.reload", lang), id=ids.RELOAD, size="sm", color="secondary", outline=True),
            dbc.Button(t("personnel.window.path", lang), id=ids.PATH_BTN, size="sm", color="info", outline=True),
            html.Span(id=ids.HISTORY_MSG, className="sw-pm-msg", role="status"),
        ],
        id=ids.HISTORY,
        className="sw-pm-history",
    )


@panel_callback(
    Output(ids.TRIPS, "data"),
    Output(ids.HEAT, "data"),
    Output(ids.HISTORY_MSG, "children"),
    Input(ids.MODE, "value"),
    Input(ids.END, "value"),
    Input(ids.DURATION, "value"),
    Input(ids.ZONE, "value"),
    Input(ids.RELOAD, "n_clicks"),
    prevent_initial_call=True,
)
def load_history(mode: str, end: str | None, minutes: Any, zone: str | None, _n: int | None) -> tuple[Any, Any, Any]:
    if mode not in ("playback", "heatmap"):
        return dash.no_update, dash.no_update, ""
    lang = web.lang()
    plant = web.plant()
    try:
        t0, t1 = data.parse_window(end, minutes, plant, web.now_ms())
    except data.WindowError as exc:
        return dash.no_update, dash.no_update, t(exc.key, lang)
    viewer = data.current_viewer()
    zone = zone or None
    try:
        if mode == "playback":
            trips = data.playback(t0, t1, zone, viewer)
            msg = t("personnel.playback.loaded", lang, n=len(trips["badges"]), points=trips["points"])
            return trips, dash.no_update, msg
        hm = data.heat(t0, t1, zone, viewer)
        return dash.no_update, hm, t("personnel.heat.loaded", lang, hours=f"{hm['total_s'] / 3600:.1f}")
    except (ValueError, KeyError) as exc:
        logger.info("personnel: history window refused: %s", exc)
        return dash.no_update, dash.no_update, t("personnel.window.bad", lang)


@panel_callback(
    Output(ids.PATH, "data"),
    Output(ids.HISTORY_MSG, "children", allow_duplicate=True),
    Input(ids.PATH_BTN, "n_clicks"),
    State(ids.FOLLOW, "value"),
    State(ids.END, "value"),
    State(ids.DURATION, "value"),
    prevent_initial_call=True,
)
def load_path(_n: int | None, badge: str | None, end: str | None, minutes: Any) -> tuple[Any, Any]:
    lang = web.lang()
    if not badge:
        return None, t("personnel.path.no_badge", lang)
    plant = web.plant()
    try:
        t0, t1 = data.parse_window(end, minutes, plant, web.now_ms())
        tr = data.path(badge, t0, t1, data.current_viewer())
    except data.WindowError as exc:
        return dash.no_update, t(exc.key, lang)
    except people.UnknownBadgeError:
        return None, t("personnel.follow.unknown", lang)
    except people.NotAllowedError:
        return None, t("personnel.not_allowed", lang)
    if not tr["points"]:
        return tr, t("personnel.path.empty", lang)
    return tr, t("personnel.path.loaded", lang, points=tr["points"], km=f"{tr['distance_m'] / 1000:.2f}")
