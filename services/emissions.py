"""The emissions service: at each hour's close, judges every stack pollutant's hour (``engine.emissions``:
validity, flags, exceedance, mass), stores it (``emission_hour``) and writes an exceedance event, which the
alarm service raises as an ``emission`` alarm within a step.

An hour is judged :data:`SETTLE_MS` after its close (samples reach the store in batches a few seconds after
their source time) and the step runs every 15 s, so an exceedance is an alarm well within 2 minutes of the
close. On a start the service takes up after the newest judged hour, at most :data:`CATCH_UP_HOURS` back
(the backfill judges the history); the last :data:`REJUDGE_HOURS` are judged again, so late data corrects
them (an exceedance event is written once per tag and hour).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from engine.emissions import HOUR_MS
from plant.schema import Plant
from store.db import session_scope
from store.emissions import hour_text, judge_hours, last_judged_hour, pollutants
from store.tags import sync_tags

logger = logging.getLogger(__name__)

SETTLE_MS = 30_000
CATCH_UP_HOURS = 48
REJUDGE_HOURS = 1


class EmissionService:
    name = "emissions"
    interval_s = 15.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine
        self.next_hour: int | None = None  # start of the next hour to judge
        self.tag_ids: dict[str, int] = {}

    def step(self, now_ms: int) -> None:
        if not pollutants(self.plant):
            return
        closed_to = (now_ms - SETTLE_MS) - (now_ms - SETTLE_MS) % HOUR_MS  # end of the newest closed hour
        with session_scope(self.engine) as session:
            if self.next_hour is None:
                self.tag_ids = sync_tags(session, self.plant)
                last = last_judged_hour(session)
                first = closed_to - CATCH_UP_HOURS * HOUR_MS
                self.next_hour = max(first, (last - (REJUDGE_HOURS - 1) * HOUR_MS) if last is not None else first)
            if self.next_hour >= closed_to:
                return
            hours = list(range(self.next_hour, closed_to, HOUR_MS))
            n = judge_hours(session, self.plant, self.tag_ids, hours, now_ms)
        self.next_hour = closed_to
        logger.info(
            "emissions: judged %d hour(s) up to %s, %d exceedance(s)", len(hours), hour_text(closed_to, self.plant), n
        )


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> EmissionService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return EmissionService(plant, engine)
