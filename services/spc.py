"""The SPC service: every minute, judges the lab assays' newest results on their default SPC charts
(``store.spc``: the last 30 days, limits frozen from the first 10 days of results, Nelson rules 1, 2, 3
and 5) and writes an ``spc`` event for each out-of-control result, which the alarm service raises as an advisory (low
priority) alarm within a step. On a start it looks back :data:`CATCH_UP_DAYS` (the backfill judges the
history); an event is written once per tag and result, so judging again changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.db import session_scope
from store.spc import DAY_MS, assay_tags, judge
from store.tags import sync_tags

logger = logging.getLogger(__name__)

CATCH_UP_DAYS = 2


class SpcService:
    name = "spc"
    interval_s = 60.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine
        self.since: int | None = None
        self.tag_ids: dict[str, int] = {}

    def step(self, now_ms: int) -> None:
        if not assay_tags(self.plant):
            return
        with session_scope(self.engine) as session:
            if self.since is None:
                self.tag_ids = sync_tags(session, self.plant)
                self.since = now_ms - CATCH_UP_DAYS * DAY_MS
            n = judge(session, self.plant, self.tag_ids, now_ms, self.since)
        self.since = now_ms - DAY_MS  # late lab results of the last day are judged again
        if n:
            logger.info("spc: %d out-of-control result(s)", n)


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> SpcService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return SpcService(plant, engine)
