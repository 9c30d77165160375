"""The safety service: every minute, hidden dangers past their deadline are escalated (level 1 when overdue, 2 when
overdue by more than three days, ``engine.hidden_dangers``), one log row per level reached; the register and the
zones' dynamic risk read them from the store."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.db import session_scope
from store.hidden_dangers import escalate

logger = logging.getLogger(__name__)


class SafetyService:
    name = "safety"
    interval_s = 60.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine

    def step(self, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            for row in escalate(session, now_ms):
                logger.warning("hidden danger #%d overdue: escalation level %d", row.id, row.escalation)


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> SafetyService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return SafetyService(plant, engine)
