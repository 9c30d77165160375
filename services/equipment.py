"""The equipment service: turns the stored equipment ``STATE`` samples into state spells (one event per spell
out of run, ``store.equipment``) every few seconds, the same way the backfill does for history."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.db import session_scope
from store.equipment import Cursors, sync_states

logger = logging.getLogger(__name__)

# Samples reach the store in batches a few seconds after their source time: read states up to this far back,
# so a late batch is never skipped by the cursor.
SETTLE_MS = 15_000


class EquipmentService:
    name = "equipment"
    interval_s = 5.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine
        self.cursors = Cursors()

    def step(self, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            changed = sync_states(session, self.plant, now_ms - SETTLE_MS, self.cursors)
        if changed:
            logger.info("equipment: %d state change(s)", changed)


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> EquipmentService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return EquipmentService(plant, engine)
