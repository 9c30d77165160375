"""Retention of the raw history: samples and badge positions older than their window are deleted, and minute
rollups and the safety index's minute points (``store.safety_index``) when a window is set for them; hour rollups,
events, alarms, notifications and the security audit are kept.

Deletion goes key range by key range in small transactions (one tag's or one badge's oldest ``batch`` rows at a
time, found through the primary key ``(tag_id, ts)`` / ``(badge, ts)``), so each transaction holds SQLite's write
lock for milliseconds and the collectors' writer never waits long; a pass stops after ``budget_s`` seconds and
the next one goes on where the data is still old. The same statements run on PostgreSQL (where autovacuum
reclaims the space), after the retention service has dropped the sample partitions of the months wholly before
the window (``store.partitions``). On SQLite the freed pages are reused by new rows, so the file stops growing at
about the window's size; a file created with ``auto_vacuum=INCREMENTAL`` gives them back to the file system
(``store.compaction.incremental_vacuum``, after each finished pass).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
# table -> its key: the series (a tag or a badge) and the time
TABLES = {
    "sample": ("tag_id", "ts"),
    "position": ("badge", "ts"),
    "rollup_1m": ("tag_id", "bucket"),
    "safety_index_point": ("zone", "ts"),
}


@dataclass
class PurgeResult:
    deleted: dict[str, int] = field(default_factory=dict)
    transactions: int = 0
    finished: bool = True  # False: the budget ran out with old rows left (the next pass goes on)
    seconds: float = 0.0


def _next_series(conn: Connection, table: str, column: str, after: object | None) -> object | None:
    """The first series (tag or badge) after ``after`` in key order, through the primary key."""
    if after is None:
        found: object | None = conn.execute(text(f"SELECT min({column}) FROM {table}")).scalar()
    else:
        query = text(f"SELECT min({column}) FROM {table} WHERE {column} > :after")
        found = conn.execute(query, {"after": after}).scalar()
    return found


def _delete_batch(engine: Engine, table: str, column: str, ts: str, series: object, cutoff_ms: int, batch: int) -> int:
    """Delete up to ``batch`` of the oldest rows of one series older than ``cutoff_ms``; rows deleted."""
    with engine.begin() as conn:
        result = conn.execute(
            text(
                f"DELETE FROM {table} WHERE {column} = :series AND {ts} IN "
                f"(SELECT {ts} FROM {table} WHERE {column} = :series AND {ts} < :cutoff ORDER BY {ts} LIMIT :batch)"
            ),
            {"series": series, "cutoff": cutoff_ms, "batch": batch},
        )
        return int(result.rowcount or 0)


def purge(
    engine: Engine,
    cutoffs: dict[str, int],
    *,
    batch: int = 2000,
    budget_s: float = 5.0,
    pause_s: float = 0.0,
) -> PurgeResult:
    """Delete the rows of each table in ``cutoffs`` (``sample``, ``position``, ``rollup_1m``,
    ``safety_index_point``) whose time is
    before its cutoff (epoch ms), ``batch`` rows per transaction, for at most ``budget_s`` seconds (``pause_s``
    between transactions leaves the writer room)."""
    started = time.monotonic()
    out = PurgeResult()
    for table, cutoff in cutoffs.items():
        column, ts = TABLES[table]
        out.deleted[table] = 0
        series: object | None = None
        while True:
            with engine.connect() as conn:
                series = _next_series(conn, table, column, series)
            if series is None:
                break
            with engine.connect() as conn:  # a read first: most series have nothing old, no write for them
                old = conn.execute(
                    text(f"SELECT 1 FROM {table} WHERE {column} = :series AND {ts} < :cutoff LIMIT 1"),
                    {"series": series, "cutoff": cutoff},
                ).first()
            while old is not None:
                if time.monotonic() - started > budget_s:
                    out.finished = False
                    out.seconds = time.monotonic() - started
                    return out
                n = _delete_batch(engine, table, column, ts, series, cutoff, batch)
                out.transactions += 1
                out.deleted[table] += n
                if pause_s:
                    time.sleep(pause_s)
                if n < batch:
                    break
    out.seconds = time.monotonic() - started
    return out


def cutoffs_for(
    now_ms: int, samples_days: float, positions_days: float, rollup_1m_days: float = 0, safety_index_days: float = 0
) -> dict[str, int]:
    """The cutoff of each table for retention windows in days (0 or less: kept for ever)."""
    windows = {
        "sample": samples_days,
        "position": positions_days,
        "rollup_1m": rollup_1m_days,
        "safety_index_point": safety_index_days,
    }
    return {table: now_ms - int(days * DAY_MS) for table, days in windows.items() if days > 0}
