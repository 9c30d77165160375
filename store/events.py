"""Events: anything with a start and maybe an end.

Kinds in use: ``"gap"`` (a collector lost an endpoint; ``source`` is the endpoint id), ``"backfill"`` (the
span of a gap read back from the server's history, ``collectors.backfill``), ``"data_quality"`` (rejected
values, unknown badges, impossible jumps) and ``"incident"``. Times are UTC epoch ms.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from store.models import Event

logger = logging.getLogger(__name__)

GAP = "gap"
DATA_QUALITY = "data_quality"
INCIDENT = "incident"
VIOLATION = "violation"  # personnel rule violations (services.personnel); source = the rule name


def add_event(
    session: Session,
    kind: str,
    source: str,
    ts_start: int,
    ts_end: int | None = None,
    severity: str = "info",
    tag_id: int | None = None,
    badge: str | None = None,
    zone: str | None = None,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> int:
    """Insert an event and return its id (flushes, does not commit)."""
    event = Event(
        kind=kind,
        source=source,
        ts_start=ts_start,
        ts_end=ts_end,
        severity=severity,
        tag_id=tag_id,
        badge=badge,
        zone=zone,
        message=message,
        data=data,
    )
    session.add(event)
    session.flush()
    return event.id


def close_event(session: Session, event_id: int, ts_end: int) -> bool:
    """Set the end of an open event; returns False when there is no such open event."""
    stmt = (
        update(Event)
        .where(Event.id == event_id, Event.ts_end.is_(None))
        .values(ts_end=ts_end)
        .execution_options(synchronize_session=False)
    )
    # An UPDATE gives a CursorResult (it has the row count); Session.execute is typed as any Result.
    result = cast(CursorResult[Any], session.execute(stmt))
    return bool(result.rowcount)


def events_between(
    session: Session,
    t0: int,
    t1: int,
    kinds: Sequence[str] | None = None,
    *,
    sources: Sequence[str] | None = None,
) -> list[Event]:
    """Events overlapping ``[t0, t1]`` (open events count as running), oldest start first."""
    stmt = select(Event).where(Event.ts_start <= t1, or_(Event.ts_end.is_(None), Event.ts_end >= t0))
    if kinds is not None:
        stmt = stmt.where(Event.kind.in_(list(kinds)))
    if sources is not None:
        stmt = stmt.where(Event.source.in_(list(sources)))
    return list(session.scalars(stmt.order_by(Event.ts_start, Event.id)))


def open_events(session: Session, kind: str, source: str | None = None) -> list[Event]:
    """Events of ``kind`` without an end (e.g. a gap still running), oldest first."""
    stmt = select(Event).where(Event.kind == kind, Event.ts_end.is_(None))
    if source is not None:
        stmt = stmt.where(Event.source == source)
    return list(session.scalars(stmt.order_by(Event.ts_start, Event.id)))
