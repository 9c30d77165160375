"""Equipment state history as events, and downtime reasons.

Each spell of a unit out of ``run`` (idle, stopped, fault, maintenance) is one event of kind
``equipment_state``: ``source`` the equipment id, ``ts_start``/``ts_end`` the spell (no end while it lasts),
``data`` ``{"state": ..., "reason": ..., "reason_by": ..., "reason_at": ...}``. Run time is the time between
spells (``engine.equipment``).

:func:`sync_states` turns the stored samples of the plant's ``STATE`` tags into these events: it reads only
the changes after a cursor (one ``LAG`` statement per tag), closes the open spell at a change and opens the
next. It is idempotent (a second call over the same samples adds nothing) and is run by the equipment
service every few seconds and by the backfill after each chunk, so live and backfilled history are made the
same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.equipment import RUN, StateSpan
from plant.schema import EquipmentState, Plant, TagKind
from store.events import add_event, close_event
from store.models import Event, Sample
from store.samples import good_quality
from store.tags import tag_ids

logger = logging.getLogger(__name__)

KIND = "equipment_state"
_STATES = [s.value for s in EquipmentState]


class ReasonError(ValueError):
    """A downtime reason cannot be set: unknown event or reason, or not a downtime spell."""


@dataclass
class Cursors:
    """Where :func:`sync_states` got to per tag: (last sample ts read, state then, open event id). Empty at
    first (read from the events), then kept by the caller between calls."""

    at: dict[str, tuple[int | None, str, int | None]] = field(default_factory=dict)


def _state_of(code: float) -> str | None:
    i = int(code)
    return _STATES[i] if 0 <= i < len(_STATES) and i == code else None


def _latest_events(session: Session, equipment: Sequence[str]) -> dict[str, Event]:
    """The newest state event of each unit."""
    newest = (
        select(Event.source, func.max(Event.ts_start).label("ts"))
        .where(Event.kind == KIND, Event.source.in_(list(equipment)))
        .group_by(Event.source)
        .subquery()
    )
    stmt = (
        select(Event)
        .join(newest, and_(Event.source == newest.c.source, Event.ts_start == newest.c.ts))
        .where(Event.kind == KIND)
    )
    return {e.source: e for e in session.scalars(stmt.order_by(Event.id))}


def _changes(session: Session, tag_id: int, after: int | None, upto: int) -> list[tuple[int, float]]:
    """The tag's good readings in ``(after, upto]`` that differ from the reading before them."""
    s = Sample.__table__.c
    cond = [s.tag_id == tag_id, s.ts <= upto, s.value.is_not(None), good_quality(s.quality)]
    if after is not None:
        cond.append(s.ts > after)
    inner = select(s.ts, s.value, func.lag(s.value).over(order_by=s.ts).label("prev")).where(*cond).subquery()
    stmt = (
        select(inner.c.ts, inner.c.value)
        .where(or_(inner.c.prev.is_(None), inner.c.prev != inner.c.value))
        .order_by(inner.c.ts)
    )
    return [(int(ts), float(v)) for ts, v in session.execute(stmt)]


def sync_states(session: Session, plant: Plant, upto_ms: int, cursors: Cursors | None = None) -> int:
    """Bring the state events up to the samples stored until ``upto_ms``; returns the number of changes
    applied (flushes, does not commit)."""
    cursors = cursors if cursors is not None else Cursors()
    ids = tag_ids(session)
    state_tags = [(t.id, t.equipment) for t in plant.tags if t.kind == TagKind.STATE and t.equipment and t.id in ids]
    latest = _latest_events(session, [e for tag, e in state_tags if tag not in cursors.at and e is not None])
    applied = 0
    for tag, equipment in state_tags:
        assert equipment is not None
        if tag in cursors.at:
            after, current, open_id = cursors.at[tag]
        else:
            ev = latest.get(equipment)
            if ev is None:
                after, current, open_id = None, RUN, None
            elif ev.ts_end is None:
                after, current, open_id = ev.ts_start, str((ev.data or {}).get("state", RUN)), ev.id
            else:
                after, current, open_id = ev.ts_end, RUN, None
        for ts, code in _changes(session, ids[tag], after, upto_ms):
            after = ts
            state = _state_of(code)
            if state is None or state == current:
                continue
            if open_id is not None:
                close_event(session, open_id, ts)
                open_id = None
            if state != RUN:
                open_id = add_event(session, KIND, equipment, ts, data={"state": state})
            current = state
            applied += 1
        cursors.at[tag] = (after, current, open_id)
    return applied


def state_spans(
    session: Session, t0: int, t1: int, equipment: Sequence[str] | None = None
) -> dict[str, list[StateSpan]]:
    """Every unit's non-run spells overlapping ``[t0, t1)``, keyed by equipment id."""
    stmt = select(Event.id, Event.source, Event.ts_start, Event.ts_end, Event.data).where(
        Event.kind == KIND, Event.ts_start < t1, or_(Event.ts_end.is_(None), Event.ts_end > t0)
    )
    if equipment is not None:
        stmt = stmt.where(Event.source.in_(list(equipment)))
    out: dict[str, list[StateSpan]] = {}
    for eid, source, start, end, data in session.execute(stmt.order_by(Event.ts_start, Event.id)):
        d: dict[str, Any] = data or {}
        stop = None if end is None else int(end)
        span = StateSpan(source, str(d.get("state", "stopped")), int(start), stop, eid, d.get("reason"))
        out.setdefault(source, []).append(span)
    return out


def assign_reason(session: Session, event_id: int, reason: str, user: str, now_ms: int, plant: Plant) -> Event:
    """Set (or change) the reason of a downtime spell; refuses an unknown event, a planned maintenance spell
    and a reason that is not a leaf of the plant's reason tree. The caller audits and commits."""
    leaves = {r.id for c in plant.production.downtime_reasons for r in c.children}
    if reason not in leaves:
        raise ReasonError(f"unknown downtime reason {reason!r}")
    ev = session.get(Event, event_id)
    if ev is None or ev.kind != KIND:
        raise ReasonError(f"no downtime event {event_id}")
    data = dict(ev.data or {})
    if data.get("state") == EquipmentState.MAINTENANCE.value:
        raise ReasonError("planned maintenance needs no downtime reason")
    data.update(reason=reason, reason_by=user, reason_at=now_ms)
    ev.data = data  # a new dict: the JSON column sees the change
    session.flush()
    return ev
