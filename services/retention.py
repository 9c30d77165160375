"""Retention of raw samples, badge positions, minute rollups and the safety index's points (``store.retention``), in
the services process.

Every ``IDLE_S`` seconds a pass deletes what has left the windows (``SW_RETENTION_SAMPLES_DAYS``,
``SW_RETENTION_POSITIONS_DAYS``, ``SW_RETENTION_ROLLUP_1M_DAYS``, ``SW_RETENTION_SAFETY_INDEX_DAYS``; 0 keeps
for ever) in small transactions for at most ``BUDGET_S`` seconds; while old rows remain (the first passes over a
long history) the next pass follows after ``BUSY_S`` seconds. On PostgreSQL it first creates the coming months'
sample partitions and drops the months that lie wholly before the window (``store.partitions``); the rest of the
window's oldest month goes row by row.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from plant.schema import Plant
from store.compaction import incremental_vacuum
from store.partitions import drop_before, ensure_partitions
from store.retention import cutoffs_for, purge

logger = logging.getLogger(__name__)

IDLE_S = 600.0
BUSY_S = 5.0
BUDGET_S = 20.0
BATCH = 2000
PAUSE_S = 0.005  # between transactions: the collectors' writer gets the lock in between


class RetentionService:
    name = "retention"

    def __init__(
        self,
        engine: Engine,
        samples_days: float,
        positions_days: float,
        rollup_1m_days: float = 0,
        safety_index_days: float = 0,
    ) -> None:
        self.engine = engine
        self.safety_index_days = safety_index_days
        self.samples_days = samples_days
        self.positions_days = positions_days
        self.rollup_1m_days = rollup_1m_days
        self.interval_s = IDLE_S

    def step(self, now_ms: int) -> None:
        created = ensure_partitions(self.engine, now_ms)  # PostgreSQL: next months' sample partitions
        if created:
            logger.info("retention: sample partitions %s created", ", ".join(created))
        cutoffs = cutoffs_for(
            now_ms, self.samples_days, self.positions_days, self.rollup_1m_days, self.safety_index_days
        )
        if not cutoffs:
            return
        if "sample" in cutoffs:
            dropped = drop_before(self.engine, cutoffs["sample"])  # PostgreSQL: whole months, no row deletes
            if dropped:
                logger.info("retention: sample partitions %s dropped", ", ".join(dropped))
        result = purge(self.engine, cutoffs, batch=BATCH, budget_s=BUDGET_S, pause_s=PAUSE_S)
        self.interval_s = IDLE_S if result.finished else BUSY_S
        if result.finished:
            incremental_vacuum(self.engine)  # SQLite: the pages of deleted rows back to the file system
        if any(result.deleted.values()):
            logger.info(
                "retention: deleted %s in %d transactions, %.1f s%s",
                ", ".join(f"{n} {table}" for table, n in result.deleted.items()),
                result.transactions,
                result.seconds,
                "" if result.finished else " (more to do)",
            )


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> RetentionService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    samples = float(getattr(settings, "retention_samples_days", 0) or 0)
    positions = float(getattr(settings, "retention_positions_days", 0) or 0)
    rollup_1m = float(getattr(settings, "retention_rollup_1m_days", 0) or 0)
    safety_index = float(getattr(settings, "retention_safety_index_days", 0) or 0)
    return RetentionService(engine, samples, positions, rollup_1m, safety_index)
