"""The safety service, every minute:

- hidden dangers past their deadline are escalated (level 1 when overdue, 2 when overdue by more than three
  days, ``engine.hidden_dangers``), one log row per level reached; the register and the zones' dynamic risk
  read them from the store;
- the safety early-warning index of every zone and of the plant is computed from the store's inputs with the
  safety page's own function (``store.safety_index.current``) and stored as that minute's point, its colours
  going on (hysteresis) from the last stored ones; the safety page draws the trend from them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.db import session_scope
from store.hidden_dangers import escalate
from store.safety_index import current, last_colours, record

logger = logging.getLogger(__name__)

MINUTE_MS = 60_000


class SafetyService:
    name = "safety"
    interval_s = 60.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine
        self.colours: dict[str, str] | None = None  # the last stored colours, read at the first step

    def step(self, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            for row in escalate(session, now_ms):
                logger.warning("hidden danger #%d overdue: escalation level %d", row.id, row.escalation)
        self.record_index(now_ms)

    def record_index(self, now_ms: int, *, past: bool = False) -> int:
        """Store the index of the minute ``now_ms`` falls in; points added. ``past``: a moment gone by (the demo's
        history pass), its inputs as the store's logs say they stood then (``store.safety_index.gather``)."""
        minute = now_ms - now_ms % MINUTE_MS
        with session_scope(self.engine) as session:
            if self.colours is None:
                self.colours = last_colours(session)
            view = current(session, self.plant, now_ms, self.colours, past=past)
            added = record(session, minute, view)
        self.colours = dict(view.colours)
        return added


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> SafetyService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return SafetyService(plant, engine)
