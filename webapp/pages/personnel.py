"""Personnel and vehicles (``/personnel``): live map, headcount, violations, follow, playback, heatmap,
muster and exposure (P1-P6).

The map (``assets/60_personnel.js``) draws with the scene's offline deck.gl in plant metres, in a top view
(OrthographicView) or in 3D (OrbitView), and is created once per visit: live refreshes, playback windows,
heatmaps and trajectories only replace layers. Every refresh reads one shared live build per access level
(:func:`webapp.live.personnel.live`), so any number of screens cost one set of queries. Every read of
positions and identities goes through :mod:`store.people` with the viewer.

This module assembles the page from its panels (``webapp.panels.personnel``: live map, headcount, violation
feed, follow, playback and heatmap, muster, exposure) and holds the page-wide refresh on the shell's tick.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, callback, clientside_callback, dcc, html

from i18n import t
from store import people
from webapp import context as web
from webapp.live import personnel as data
from webapp.panels import register_panels
from webapp.panels.personnel import exposure as exposure_panel
from webapp.panels.personnel import follow as following
from webapp.panels.personnel import headcount, live_map, muster, playback, violations
from webapp.panels.personnel.common import card
from webapp.panels.personnel.ids import ids
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/personnel", name="nav.personnel", order=20, title=web.page_title("nav.personnel"))

register_panels(following, playback, muster, exposure_panel)

# the map draws in the browser (assets/60_personnel.js) whenever its data or the choices change
clientside_callback(
    ClientsideFunction(namespace="swpersonnel", function_name="render"),
    Output(ids.RENDERED, "data"),
    Input(ids.STATIC, "data"),
    Input(ids.LIVE, "data"),
    Input(ids.MODE, "value"),
    Input(ids.VIEW, "value"),
    Input(ids.FOLLOW, "value"),
    Input(ids.TRIPS, "data"),
    Input(ids.HEAT, "data"),
    Input(ids.PATH, "data"),
)

# the panels' callbacks and use cases, by the names the page has always had
follow_panel = following.follow_panel
load_history = playback.load_history
load_path = playback.load_path
muster_action = muster.muster_action
do_muster = muster.do_muster
exposure = exposure_panel.exposure

__all__ = [
    "do_muster",
    "exposure",
    "follow_panel",
    "ids",
    "layout",
    "load_history",
    "load_path",
    "muster_action",
    "refresh",
]


def layout(follow: str | None = None, **_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    viewer = data.current_viewer()
    if viewer is None:  # the gate lets nobody here without a login; refuse anyway, never show everything
        return html.Div(t("login.required", lang), id=ids.ROOT, className="sw-pm-refused", role="alert")
    level = people.access(viewer)
    spec = data.static_spec(
        str(web.settings().plant_file),
        lang,
        level.value,
        (
            ("deck", ids.DECK),
            ("follow", ids.FOLLOW),
            ("playbar", ids.PLAYBAR),
            ("mode", ids.MODE),
        ),
    )
    try:
        live = data.live(viewer)
    except Exception:  # the page still draws without a store; the first refresh fills it in
        logger.exception("personnel: no live data for the first paint")
        live = {"now_ms": web.now_ms(), "people": [], "headcount": [], "violations": [], "muster": None}
    who = people.identities(plant, viewer)
    initial_follow = follow if follow in who else None
    map_card = live_map.map_card(following.search(who, initial_follow, lang), playback.history_bar(plant, lang), lang)
    return html.Div(
        [
            dcc.Store(id=ids.STATIC, data=spec),
            dcc.Store(id=ids.LIVE, data=live),
            dcc.Store(id=ids.TRIPS),
            dcc.Store(id=ids.HEAT),
            dcc.Store(id=ids.PATH),
            dcc.Store(id=ids.RENDERED),
            html.Div(
                [
                    html.H1(t("personnel.title", lang), className="sw-page-title"),
                    html.Span(headcount.shift_text(live, lang), id=ids.SHIFT, className="sw-shift"),
                    html.Div(headcount.summary(live, lang), id=ids.SUMMARY, className="sw-stats sw-pm-summary"),
                ],
                className="sw-page-head",
            ),
            html.Div(muster.banner(live, lang), id=ids.MUSTER_BANNER),
            dbc.Row(
                [
                    dbc.Col(map_card, lg=8, className="mb-2"),
                    dbc.Col(
                        html.Div(
                            [
                                card(
                                    t("personnel.follow.title", lang),
                                    html.Div(
                                        following.follow_body(initial_follow, live, plant, lang), id=ids.FOLLOW_PANEL
                                    ),
                                    cls="sw-pm-follow-card",
                                ),
                                card(
                                    t("personnel.feed.title", lang),
                                    html.Div(violations.feed(live, plant, lang), id=ids.FEED, className="sw-pm-scroll"),
                                    cls="sw-pm-feed-card",
                                ),
                                card(
                                    t("personnel.hc.title", lang),
                                    html.Div(
                                        headcount.headcount_table(live, plant, lang),
                                        id=ids.HEADCOUNT,
                                        className="sw-pm-scroll",
                                    ),
                                    cls="sw-pm-hc-card",
                                ),
                            ],
                            className="sw-pm-side",
                        ),
                        lg=4,
                        className="mb-2",
                    ),
                ],
                className="g-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            t("personnel.muster.title", lang),
                            muster.panel(live, plant, viewer.user or "", lang),
                            cls="sw-pm-muster",
                        ),
                        lg=5,
                        className="mb-2",
                    ),
                    dbc.Col(
                        card(
                            t("personnel.exposure.title", lang),
                            exposure_panel.panel(plant, live, lang),
                            cls="sw-pm-exposure",
                        ),
                        lg=7,
                        className="mb-2",
                    ),
                ],
                className="g-2",
            ),
        ],
        id=ids.ROOT,
        className="sw-personnel",
    )


@callback(
    Output(ids.LIVE, "data"),
    Output(ids.SUMMARY, "children"),
    Output(ids.SHIFT, "children"),
    Output(ids.HEADCOUNT, "children"),
    Output(ids.FEED, "children"),
    Output(ids.MUSTER_BANNER, "children"),
    Output(ids.MUSTER_BODY, "children"),
    Output(ids.DECLARE, "disabled"),
    Output(ids.END_MUSTER, "disabled"),
    Input(shell_ids.TICK, "n_intervals"),
    prevent_initial_call=True,
)
def refresh(_n: int | None) -> tuple[Any, ...]:
    lang = web.lang()
    plant = web.plant()
    live = data.live(data.current_viewer())
    active = bool(live.get("muster"))
    return (
        live,
        headcount.summary(live, lang),
        headcount.shift_text(live, lang),
        headcount.headcount_table(live, plant, lang),
        violations.feed(live, plant, lang),
        muster.banner(live, lang),
        muster.body(live, plant, lang),
        active,
        not active,
    )
