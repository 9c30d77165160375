"""Callbacks of the alarm banner (``webapp/shell/alarm_banner.py``), for every banner on the page (MATCH ids).

The refresh reads the shared banner summary (one query set per period for all screens) and answers only
when what the banner shows changed; the clientside callback hands the tone to ``assets/50_alarms.js``.
``webapp.shell.alarm_banner.render`` limits the shared summary to the areas of an on-call user (from its per-area
part, no query of its own), so such a user gets neither counts nor alarm texts of other areas.
"""

from __future__ import annotations

import logging
from typing import Any

from dash import MATCH, ClientsideFunction, Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from webapp import context as web
from webapp.live.alarms import alarm_banner
from webapp.shell.alarm_banner import AlarmBanner, render

logger = logging.getLogger(__name__)

ids = AlarmBanner.ids


def register(app: Dash) -> None:
    """Attach the banner's callbacks to ``webapp.app``."""
    app.callback(
        Output(ids.counts(MATCH), "children"),
        Output(ids.newest(MATCH), "children"),
        Output(ids.data(MATCH), "data"),
        Input(ids.tick(MATCH), "n_intervals"),
        State(ids.data(MATCH), "data"),
        prevent_initial_call=True,
    )(refresh_banner)
    app.clientside_callback(
        ClientsideFunction(namespace="swAlarms", function_name="banner"),
        Output(ids.sink(MATCH), "data"),
        Input(ids.data(MATCH), "data"),
    )


def refresh_banner(_n: int | None, shown: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    try:
        snap = alarm_banner()
        banner = snap["banner"]
        now = snap["now_ms"]
    except Exception:
        logger.exception("alarm banner: no alarm snapshot")
        banner, now = None, web.now_ms()
    counts, newest, data = render(banner, web.plant(), web.lang(), now)
    if shown and shown.get("key") == data["key"] and shown.get("tone") == data["tone"]:
        raise PreventUpdate  # nothing changed: nothing is sent
    return counts, newest, data
