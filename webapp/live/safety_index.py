"""The safety early-warning index for the screens: the zones' and the plant's index now, from the store's inputs
(``store.safety_index.current``, the function the safety service stores every minute with), their colours with
hysteresis (the previous colours are kept in the shared cache for ``COLOUR_MEMORY_S``); and the stored series for
the trend. Plain data; the page renders it."""

from __future__ import annotations

from typing import Any

from engine.safety_index import PLANT, IndexView
from plant import Plant
from store.db import session_scope
from store.safety_index import Point, series
from store.safety_index import current as index_now
from webapp import context as web

__all__ = ["COLOUR_KEY", "IndexView", "current", "trend"]

COLOUR_KEY = "safety-index-colours"
COLOUR_MEMORY_S = 3600
TREND_MS = 24 * 3_600_000


def current(plant: Plant) -> IndexView:
    previous: dict[str, Any] = web.cache_get(COLOUR_KEY) or {}
    with session_scope(web.engine()) as session:
        view = index_now(session, plant, web.now_ms(), previous)
    web.cache_set(COLOUR_KEY, view.colours, COLOUR_MEMORY_S)
    return view


def trend(zone: str | None, hours_ms: int = TREND_MS) -> dict[str, list[Point]]:
    """The plant's and ``zone``'s stored points over the last ``hours_ms``."""
    now = web.now_ms()
    zones = [PLANT] + ([zone] if zone and zone != PLANT else [])
    with session_scope(web.engine()) as session:
        return series(session, zones, now - hours_ms, now)
