"""Monthly partitions of the raw samples on PostgreSQL.

On PostgreSQL ``sample`` is a table partitioned by range of ``ts`` (migration 0010): one partition per calendar
month in UTC, named ``sample_yYYYYmMM``, and a default partition ``sample_default`` that takes whatever falls
outside them (a backfill of an older month, a clock far ahead). Retention drops a month whole once all of it is
older than the window (a catalogue change, instead of deleting millions of rows and leaving them to autovacuum);
what is left of the window's oldest month is deleted row by row as on SQLite (``store.retention``).

:func:`ensure_partitions`, run by the retention service, creates the partitions of the current month and of
``ahead`` months after it, and moves rows that landed in the default partition into partitions of their own
months. SQLite has no partitions: every function here is a no-op there.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

PARENT = "sample"
DEFAULT = "sample_default"
_NAME = re.compile(r"^sample_y(\d{4})m(\d{2})$")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: the partitions (and their indexes) are not tables of the models."""
    if type_ == "table" and name is not None:
        return name != DEFAULT and not _NAME.match(name)
    return True


def month_start(ts_ms: int) -> tuple[int, int]:
    """(year, month) in UTC of the month holding ``ts_ms``."""
    d = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return d.year, d.month


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    k = year * 12 + (month - 1) + n
    return k // 12, k % 12 + 1


def _ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def partition_name(year: int, month: int) -> str:
    return f"sample_y{year:04d}m{month:02d}"


def bounds(year: int, month: int) -> tuple[int, int]:
    """``[from, to)`` in epoch ms of a month's partition."""
    ny, nm = _add_months(year, month, 1)
    return _ms(year, month), _ms(ny, nm)


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(
        text("SELECT relkind FROM pg_class WHERE relname = :t AND relkind IN ('p', 'r')"), {"t": PARENT}
    )
    return kind.scalar() == "p"


def partitions(conn: Connection) -> dict[str, tuple[int, int]]:
    """The monthly partitions of ``sample``: name -> ``[from, to)`` ms (the default partition is not listed)."""
    if not is_partitioned(conn):
        return {}
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t"
        ),
        {"t": PARENT},
    )
    out: dict[str, tuple[int, int]] = {}
    for (name,) in rows:
        m = _NAME.match(name)
        if m:
            out[name] = bounds(int(m.group(1)), int(m.group(2)))
    return out


def create_month(conn: Connection, year: int, month: int) -> bool:
    """Create the partition of one month (rows of that month waiting in the default partition move into it);
    False when it exists already. Safe beside live writers (tested across a month rollover)."""
    name = partition_name(year, month)
    if name in partitions(conn):
        return False
    lo, hi = bounds(year, month)
    # Writers are held off until this transaction ends (for the move, some seconds at most, once a month):
    # a row of this month that a writer put into the default partition after the check or the move below
    # would make the new partition's creation or attachment fail. The parent is locked first, in the order
    # an INSERT takes its locks (parent, then the partition it routes to), so the two cannot deadlock.
    conn.execute(text(f"LOCK TABLE {PARENT} IN SHARE ROW EXCLUSIVE MODE"))
    if name in partitions(conn):  # made meanwhile by another process's step
        return False
    waiting = conn.execute(text(f"SELECT 1 FROM {DEFAULT} WHERE ts >= :lo AND ts < :hi LIMIT 1"), {"lo": lo, "hi": hi})
    if waiting.first() is None:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({lo}) TO ({hi})"))
    else:
        # a partition cannot be attached over rows of its range in the default one: move them in first
        conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        moved = conn.execute(
            text(
                f"WITH m AS (DELETE FROM {DEFAULT} WHERE ts >= :lo AND ts < :hi RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM m"
            ),
            {"lo": lo, "hi": hi},
        )
        logger.info("partition %s: %d rows moved in from the default partition", name, moved.rowcount or 0)
        conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"))
    logger.info("partition %s created", name)
    return True


def ensure_partitions(engine: Engine, now_ms: int, ahead: int = 2) -> list[str]:
    """Partitions of the current month, ``ahead`` months after it, and every month with rows in the default
    partition; names created. One transaction per partition."""
    created: list[str] = []
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return created
        span = conn.execute(text(f"SELECT min(ts), max(ts) FROM {DEFAULT}")).one()
    months: set[tuple[int, int]] = set()
    y, m = month_start(now_ms)
    months.update(_add_months(y, m, k) for k in range(ahead + 1))
    if span[0] is not None:
        y0, m0 = month_start(int(span[0]))
        y1, m1 = month_start(int(span[1]))
        k = 0
        while _add_months(y0, m0, k) <= (y1, m1):
            months.add(_add_months(y0, m0, k))
            k += 1
    for year, month in sorted(months):
        with engine.begin() as conn:
            if create_month(conn, year, month):
                created.append(partition_name(year, month))
    return created


def drop_before(engine: Engine, cutoff_ms: int) -> list[str]:
    """Drop every monthly partition that ends at or before ``cutoff_ms``; names dropped."""
    dropped: list[str] = []
    with engine.connect() as conn:
        old = sorted(name for name, (_lo, hi) in partitions(conn).items() if hi <= cutoff_ms)
    for name in old:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {name}"))
        dropped.append(name)
        logger.info("partition %s dropped (older than the retention window)", name)
    return dropped
