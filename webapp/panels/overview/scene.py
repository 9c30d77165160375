"""The compact 3D view of the overview, drawn by the scene's own renderer; /scene for more."""

from __future__ import annotations

import logging

from dash import dcc, html

from webapp import context as web
from webapp.live.personnel import names_visible
from webapp.live.scene import live_payload, static_spec
from webapp.panels.overview.ids import ids

logger = logging.getLogger(__name__)

COMPACT_LAYERS = ["zones", "equipment", "people", "vehicles", "alarms"]


def compact_scene(lang: str) -> html.Div:
    """The 3D plant at a glance: zones in their live colors, equipment by state, people; /scene for more."""
    spec = static_spec(str(web.settings().plant_file), lang, ids.SCENE_DECK, ids.SCENE_SELECTED, names_visible())
    try:
        live = live_payload()
    except Exception:  # the view still draws without a store; the first refresh fills it in
        logger.exception("overview: no live scene data for the first paint")
        live = None
    return html.Div(
        [
            dcc.Store(id=ids.SCENE_STATIC, data=spec),
            dcc.Store(id=ids.SCENE_LIVE, data=live),
            dcc.Store(id=ids.SCENE_LAYERS, data=COMPACT_LAYERS),
            dcc.Store(id=ids.SCENE_SELECTED),
            dcc.Store(id=ids.SCENE_RENDERED),
            html.Div(id=ids.SCENE_DECK, className="sw-scene-deck sw-scene-compact"),
        ],
        id=ids.SCENE,
        className="sw-scene-slot",
    )
