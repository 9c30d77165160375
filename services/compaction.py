"""Swinging-door compression of settled raw samples (``store.compaction``), in the services process.

Every ``IDLE_S`` seconds a pass compresses, tag by tag, the samples older than the plant's
``storage.compact_after_minutes`` with each tag's deviation (``plant.schema.StorageSettings.deviation``), for at
most ``BUDGET_S`` seconds; while settled samples remain (a first pass over a long history) the next pass follows
after ``BUSY_S`` seconds and starts where this one stopped. On SQLite, once a pass has finished, free pages are
returned to the file system (``auto_vacuum=INCREMENTAL``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.compaction import compact, incremental_vacuum
from store.db import session_scope
from store.tags import tag_ids

logger = logging.getLogger(__name__)

IDLE_S = 300.0
BUSY_S = 2.0
BUDGET_S = 10.0
ROWS = 5000  # samples per transaction: milliseconds of the write lock


class CompactionService:
    name = "compaction"

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine
        self.interval_s = IDLE_S
        self.after_ms = round(plant.storage.compact_after_minutes * 60_000)
        self.max_gap_ms = round(plant.storage.max_gap_s * 1000)
        self.max_span_ms = round(plant.storage.max_span_minutes * 60_000)
        self._next_tag: int | None = None
        self._deviations: dict[int, float] | None = None

    def deviations(self) -> dict[int, float]:
        """Stored tag id -> compression deviation, for the plant file's compressed tags."""
        if self._deviations is None:
            with session_scope(self.engine) as session:
                ids = tag_ids(session)
            devs = {t.id: self.plant.storage.deviation(t) for t in self.plant.tags}
            found = {ids[name]: dev for name, dev in devs.items() if dev is not None and name in ids}
            if not found:
                return found  # tags not stored yet: look again next time
            self._deviations = found
        return self._deviations

    def step(self, now_ms: int) -> None:
        devs = self.deviations()
        if not devs:
            self.interval_s = IDLE_S
            return
        result = compact(
            self.engine,
            devs,
            now_ms - self.after_ms,
            max_gap_ms=self.max_gap_ms,
            max_span_ms=self.max_span_ms,
            rows=ROWS,
            budget_s=BUDGET_S,
            start_tag=self._next_tag,
        )
        self._next_tag = result.next_tag
        self.interval_s = IDLE_S if result.finished else BUSY_S
        if result.finished:
            incremental_vacuum(self.engine)
        if result.deleted:
            logger.info(
                "compaction: %d of %d samples removed (%d tags) in %d transactions, %.1f s%s",
                result.deleted,
                result.examined,
                len(result.per_tag),
                result.transactions,
                result.seconds,
                "" if result.finished else " (more to do)",
            )


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> CompactionService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return CompactionService(plant, engine)
