"""Per-endpoint counters of the collector pipeline, reported to ``collector_health`` and the log."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from typing import Any

from collectors.validate import ValidationCounters
from engine.clock import now_ms


@dataclass
class LagWindow:
    """Commit time minus source time of recently committed values: p50 over a sample, exact max."""

    sample_per_batch: int = 64
    _values: list[float] = field(default_factory=list)
    _max: float = 0.0
    p50: float = 0.0
    max: float = 0.0

    def add(self, commit_ms: int, timestamps: list[int]) -> None:
        if not timestamps:
            return
        step = max(1, len(timestamps) // self.sample_per_batch)
        self._values.extend(commit_ms - ts for ts in timestamps[::step])
        worst = commit_ms - min(timestamps)
        if worst > self._max:
            self._max = worst

    def roll(self) -> None:
        """Close the window: ``p50``/``max`` describe it; an empty window keeps the previous figures."""
        if self._values:
            self.p50 = float(statistics.median(self._values))
            self.max = float(self._max)
        self._values = []
        self._max = 0.0


@dataclass
class EndpointHealth:
    """Everything ``collector_health`` shows about one endpoint.

    The coordinator owns ``connected``/``last_error``/``last_data_at`` and the validator counters; the
    writer owns ``written``/``spooled``/``replayed``/``backfilled``/``store_duplicates`` and the lag window.
    """

    endpoint: str
    url: str = ""
    started_at: int = field(default_factory=now_ms)
    connected: bool = False
    last_error: str = ""
    last_data_at: int | None = None
    validation: ValidationCounters = field(default_factory=ValidationCounters)
    written: int = 0
    spooled: int = 0
    replayed: int = 0
    backfilled: int = 0  # values read back from the server's history after an outage and stored (new ones only)
    store_duplicates: int = 0
    reconnects: int = 0
    gaps: int = 0
    lag: LagWindow = field(default_factory=LagWindow)

    def row(self, *, queue_depth: int, spool_bytes: int) -> dict[str, Any]:
        """Column values for ``store.health.upsert_health``."""
        v = self.validation
        return {
            "url": self.url,
            "pid": os.getpid(),
            "started_at": self.started_at,
            "updated_at": now_ms(),
            "connected": self.connected,
            "received": v.received,
            "written": self.written,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "backfilled": self.backfilled,
            "rejected": v.rejected,
            "duplicates": v.duplicates + self.store_duplicates,
            "late": v.late,
            "bad_quality": v.bad_quality,
            "lag_ms_p50": self.lag.p50,
            "lag_ms_max": self.lag.max,
            "queue_depth": queue_depth,
            "spool_bytes": spool_bytes,
            "last_data_at": self.last_data_at,
            "last_error": self.last_error[:2000],
        }

    def summary(self, *, queue_depth: int, spool_bytes: int) -> str:
        v = self.validation
        return (
            f"{self.endpoint}: connected={self.connected} received={v.received} written={self.written} "
            f"spooled={self.spooled} replayed={self.replayed} backfilled={self.backfilled} rejected={v.rejected} "
            f"duplicates={v.duplicates + self.store_duplicates} late={v.late} bad_quality={v.bad_quality} "
            f"ts_fallback={v.ts_from_server}+{v.ts_from_receive} lag_p50={self.lag.p50:.0f}ms "
            f"lag_max={self.lag.max:.0f}ms queue={queue_depth} spool={spool_bytes}B reconnects={self.reconnects}"
            + (f" last_error={self.last_error!r}" if self.last_error else "")
        )
