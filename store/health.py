"""Collector health: one row per OPC UA endpoint, refreshed by its collector."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import now_ms
from store.models import CollectorHealth, Position, Sample
from store.samples import upsert

logger = logging.getLogger(__name__)

HEALTH = CollectorHealth.__table__
FIELDS = frozenset(c.name for c in HEALTH.columns) - {"endpoint"}


def upsert_health(session: Session, endpoint: str, **counters: Any) -> None:
    """Create or update the health row of ``endpoint``.

    ``counters`` are column values of :class:`~store.models.CollectorHealth` (``connected``,
    ``received``, ``written``, ``lag_ms_p50``, ...); they are set, not added, so collectors report their
    running totals. Columns not given keep their value. ``updated_at`` defaults to now (epoch ms).
    Unknown names raise ``TypeError``. Does not commit.
    """
    unknown = set(counters) - FIELDS
    if unknown:
        raise TypeError(f"unknown collector health field(s): {', '.join(sorted(unknown))}")
    values = dict(counters)
    values.setdefault("updated_at", now_ms())
    stmt = upsert(session, HEALTH).values(endpoint=endpoint, **values)
    stmt = stmt.on_conflict_do_update(index_elements=[HEALTH.c.endpoint], set_=values)
    session.execute(stmt)


def read_health(session: Session) -> list[CollectorHealth]:
    """All health rows, by endpoint."""
    return list(session.scalars(select(CollectorHealth).order_by(CollectorHealth.endpoint)))


def newest_stored_ts(session: Session, tag_ids: Iterable[int], badges: Iterable[str]) -> int | None:
    """The newest source time stored for any of ``tag_ids`` (samples) or ``badges`` (positions): one primary-key
    look-up per series, so it costs the same however long the history."""
    newest: int | None = None
    for tag in tag_ids:
        ts = session.scalar(select(func.max(Sample.ts)).where(Sample.tag_id == tag))
        if ts is not None and (newest is None or ts > newest):
            newest = int(ts)
    for badge in badges:
        ts = session.scalar(select(func.max(Position.ts)).where(Position.badge == badge))
        if ts is not None and (newest is None or ts > newest):
            newest = int(ts)
    return newest
