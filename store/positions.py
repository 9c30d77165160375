"""Badge positions: history in ``position``, the newest per badge in ``badge_current``."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.types import PositionIn, WriteResult
from store.models import BadgeCurrent, Position
from store.samples import upsert

logger = logging.getLogger(__name__)

POSITION = Position.__table__
CURRENT = BadgeCurrent.__table__
_COLS = ("badge", "ts", "x", "y", "floor", "quality")
_CHUNK = 2_000


def _rows(positions: Sequence[PositionIn]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for p in positions:
        key = (str(p.badge), int(p.ts))
        if key not in seen:
            seen[key] = {
                "badge": key[0],
                "ts": key[1],
                "x": float(p.x),
                "y": float(p.y),
                "floor": int(p.floor),
                "quality": int(p.quality),
            }
    return list(seen.values())


def write_positions(
    session: Session, positions: Sequence[PositionIn], history: Sequence[PositionIn] | None = None
) -> WriteResult:
    """Store positions once per ``(badge, ts)`` and move ``badge_current`` forward.

    ``history``: the fixes of ``positions`` that go to the history (a thinned subset, ``engine.thinning``);
    default all. Replays and in-batch repeats (first wins) are duplicates. ``badge_current`` takes the newest
    position of each badge, whatever its quality (the quality is copied), and only when it is newer than the
    stored one, so late or replayed positions never move a badge back. Does not commit.
    """
    stored = positions if history is None else history
    rows = _rows(stored)
    if not rows:
        if history is not None:
            _move_current(session, [tuple(r[c] for c in _COLS) for r in _rows(positions)])
        return WriteResult(0, len(stored))
    stmt = (
        upsert(session, POSITION)
        .on_conflict_do_nothing(index_elements=[POSITION.c.badge, POSITION.c.ts])
        .returning(*(POSITION.c[c] for c in _COLS))
    )
    inserted: list[tuple[Any, ...]] = []
    for i in range(0, len(rows), _CHUNK):
        inserted.extend(session.execute(stmt, rows[i : i + _CHUNK]).tuples())

    current = inserted if history is None else inserted + [tuple(r[c] for c in _COLS) for r in _rows(positions)]
    _move_current(session, current)
    return WriteResult(len(inserted), len(stored) - len(inserted))


def _move_current(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    """``badge_current`` to the newest of ``rows`` (``_COLS`` order) per badge, never back in time."""
    newest: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        old = newest.get(row[0])
        if old is None or row[1] > old[1]:
            newest[row[0]] = row
    if newest:
        up = upsert(session, CURRENT)
        up = up.on_conflict_do_update(
            index_elements=[CURRENT.c.badge],
            set_={c: up.excluded[c] for c in _COLS[1:]},
            where=up.excluded.ts > CURRENT.c.ts,
        )
        session.execute(up, [dict(zip(_COLS, r, strict=True)) for r in newest.values()])


def current_positions(session: Session, since: int | None = None) -> list[PositionIn]:
    """The newest position of every badge (seen at or after ``since`` when given), by badge."""
    stmt = select(*(CURRENT.c[c] for c in _COLS)).order_by(CURRENT.c.badge)
    if since is not None:
        stmt = stmt.where(CURRENT.c.ts >= since)
    return [PositionIn(*row) for row in session.execute(stmt)]


def trajectory(session: Session, badge: str, t0: int, t1: int) -> list[PositionIn]:
    """Positions of ``badge`` with ``t0 <= ts <= t1``, oldest first.

    A long track is many rows (8 h at 1 Hz is 28,800), so this reads them straight from the driver's
    cursor (the primary key ``(badge, ts)`` is the range scan) and builds the records with the cyclic
    garbage collector paused: the rows hold no cycles, and in a process with a large heap the
    collections that tens of thousands of new tuples trigger doubled the time (``bench personnel``).
    """
    conn = session.connection()
    raw = conn.connection.driver_connection
    assert raw is not None
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    badge = str(badge)
    cursor = raw.cursor()
    try:
        with gc_paused():
            cursor.execute(_TRAJECTORY_SQL.format(p=mark), (badge, int(t0), int(t1)))
            return [PositionIn(badge, *row) for row in cursor.fetchall()]
    finally:
        cursor.close()


_TRAJECTORY_SQL = (
    "SELECT ts, x, y, floor, quality FROM position WHERE badge = {p} AND ts >= {p} AND ts <= {p} ORDER BY ts"
)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused: for building many small rows that hold no cycles, where the
    collections the new tuples trigger would only slow the fetch down."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
