"""Swinging-door compression of settled raw samples and badge positions (``store.compaction``), in the services
process.

Every ``IDLE_S`` seconds a pass compresses, tag by tag, the samples older than the plant's
``storage.compact_after_minutes`` with each tag's deviation (``plant.schema.StorageSettings.deviation``), then
badge by badge the positions as old with ``storage.position_deviation_m`` (zones and muster points are the
regions whose entries and exits are kept), each for at most ``BUDGET_S`` seconds; while settled rows remain (a
first pass over a long history) the next pass follows after ``BUSY_S`` seconds and starts where this one
stopped. On SQLite, once a pass has finished, free pages are returned to the file system
(``auto_vacuum=INCREMENTAL``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from engine.compression import Regions
from plant.schema import CUMULATIVE_KINDS, Plant
from store.compaction import compact, compact_positions, incremental_vacuum
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
        self._next_badge: str | None = None
        self._deviations: dict[int, float] | None = None
        self._counters: list[int] | None = None
        self.position_deviation_m = plant.storage.position_deviation_m
        self.position_max_span_ms = round(plant.storage.position_max_span_s * 1000)
        self.badges = [b.id for b in plant.badges]
        self.regions = regions_of(plant)

    def counters(self) -> list[int]:
        """Stored tag ids of the cumulative counters, when the plant thins them (``storage.counters``)."""
        if self.plant.storage.counters != "minute":
            return []
        if self._counters is None:
            with session_scope(self.engine) as session:
                ids = tag_ids(session)
            found = [ids[t.id] for t in self.plant.tags if t.kind in CUMULATIVE_KINDS and t.id in ids]
            if not found:
                return found
            self._counters = found
        return self._counters

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
        finished = self._samples(now_ms) & self._positions(now_ms)
        self.interval_s = IDLE_S if finished else BUSY_S
        if finished:
            incremental_vacuum(self.engine)

    def _positions(self, now_ms: int) -> bool:
        """One pass over the badges' settled positions; True when nothing is left to do."""
        if self.position_deviation_m is None or not self.badges:
            return True
        result = compact_positions(
            self.engine,
            self.badges,
            self.position_deviation_m,
            now_ms - self.after_ms,
            self.regions,
            max_gap_ms=self.max_gap_ms,
            max_span_ms=self.position_max_span_ms,
            rows=ROWS,
            budget_s=BUDGET_S,
            start_badge=self._next_badge,
        )
        self._next_badge = result.next_badge
        if result.deleted:
            logger.info(
                "compaction: %d of %d positions removed in %d transactions, %.1f s%s",
                result.deleted,
                result.examined,
                result.transactions,
                result.seconds,
                "" if result.finished else " (more to do)",
            )
        return result.finished

    def _samples(self, now_ms: int) -> bool:
        """One pass over the compressed tags' settled samples; True when nothing is left to do."""
        devs = self.deviations()
        counters = self.counters()
        if not devs and not counters:
            return True
        result = compact(
            self.engine,
            devs,
            now_ms - self.after_ms,
            max_gap_ms=self.max_gap_ms,
            max_span_ms=self.max_span_ms,
            rows=ROWS,
            budget_s=BUDGET_S,
            start_tag=self._next_tag,
            counters=counters,
        )
        self._next_tag = result.next_tag
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
        return result.finished


def regions_of(plant: Plant) -> Regions:
    """The places whose entry and exit a compressed track keeps exactly: the plant's zones and muster points."""
    return Regions(
        [[(float(x), float(y)) for x, y in z.polygon] for z in plant.zones],
        [(float(m.position[0]), float(m.position[1]), float(m.radius_m)) for m in plant.muster_points],
    )


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> CompactionService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return CompactionService(plant, engine)
