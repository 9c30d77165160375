"""Incident replay reads (S5): what was stored about a window, read once for ``engine.replay``.

* :func:`series_between` - the samples of chosen tags in a window, with the one in force at its start;
* :func:`journal_between` - the alarm journal of the window (every transition and operator action) with each
  alarm's source, place and message, and the alarms already annunciated when the window starts;
* :func:`video_between` - the video detections of the window with their media and alarm;
* :func:`musters_between` - the emergency musters overlapping the window, with the roll at the
  declaration and everybody's arrival time at a muster point (counts; no names here).

People's positions and headcounts come from ``store.people.replay_people`` (the viewer's scope applies).
Like every repository here, functions take a session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine import muster as mus
from engine.replay import Series
from plant.schema import Plant
from store import people
from store.alarm_views import JournalView, _journal_view
from store.models import Alarm, AlarmJournal, Emergency, Event, HiddenDanger, Sample, WorkPermit, WorkPermitLog
from store.people import MUSTER
from store.video import VIDEO, FeedItem, Scope, _item, _latest_reviews, _scope_sql, _with_alarms

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
STATE_LOOKBACK_MS = 7 * DAY_MS  # an alarm whose last transition is older than this is not annunciated in a replay
MAX_JOURNAL = 20_000
MAX_VIDEO = 2_000
_S = Sample.__table__


def series_between(session: Session, tags: Mapping[str, int], t0: int, t1: int) -> dict[str, Series]:
    """Per tag name (``tags``: name -> tag id): the last sample at or before ``t0`` (the value in force when the
    window starts), then every sample in ``(t0, t1]``, in time order."""
    out: dict[str, Series] = {name: Series(name) for name in tags}
    if not tags:
        return out
    by_id = {tid: name for name, tid in tags.items()}
    ids = sorted(by_id)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        newest = (
            select(_S.c.tag_id, func.max(_S.c.ts).label("ts"))
            .where(_S.c.tag_id.in_(chunk), _S.c.ts <= t0, _S.c.ts >= t0 - STATE_LOOKBACK_MS)
            .group_by(_S.c.tag_id)
            .subquery()
        )
        first = select(_S.c.tag_id, _S.c.ts, _S.c.value, _S.c.quality).join(
            newest, and_(_S.c.tag_id == newest.c.tag_id, _S.c.ts == newest.c.ts)
        )
        for tid, ts, value, quality in session.execute(first):
            s = out[by_id[tid]]
            s.ts.append(int(ts))
            s.values.append(value)
            s.quality.append(int(quality))
        stmt = (
            select(_S.c.tag_id, _S.c.ts, _S.c.value, _S.c.quality)
            .where(_S.c.tag_id.in_(chunk), _S.c.ts > t0, _S.c.ts <= t1)
            .order_by(_S.c.tag_id, _S.c.ts)
        )
        for tid, ts, value, quality in session.execute(stmt):
            s = out[by_id[tid]]
            s.ts.append(int(ts))
            s.values.append(value)
            s.quality.append(int(quality))
    return out


@dataclass(frozen=True)
class AlarmPlace:
    """Where an alarm belongs (for markers on the scene and the default trends)."""

    alarm_id: str
    source: str
    condition: str
    equipment: str | None
    zone: str | None
    area: str | None
    badge: str | None
    camera: str | None
    tag_id: int | None


@dataclass(frozen=True)
class Journal:
    """The journal of a window: ``rows`` oldest first; ``at_start`` the last row before the window of each
    alarm then still active or unacknowledged (its state when the window starts); ``places`` of every alarm
    named in either."""

    rows: list[JournalView]
    at_start: list[JournalView]
    places: dict[str, AlarmPlace]


def _areas_cond(areas: Sequence[str] | None) -> list[object]:
    return [AlarmJournal.area.in_(list(areas))] if areas else []


def journal_between(session: Session, t0: int, t1: int, *, areas: Sequence[str] | None = None) -> Journal:
    """The alarm journal of ``[t0, t1]`` (only ``areas`` when given), with the alarms annunciated at ``t0``."""
    q = (
        select(AlarmJournal, Alarm.source, Alarm.condition, Alarm.message)
        .outerjoin(Alarm, Alarm.id == AlarmJournal.alarm_id)
        .where(AlarmJournal.ts >= t0, AlarmJournal.ts <= t1, *_areas_cond(areas))  # type: ignore[arg-type]
        .order_by(AlarmJournal.ts, AlarmJournal.id)
        .limit(MAX_JOURNAL)
    )
    rows = [_journal_view(j, s, c, m) for j, s, c, m in session.execute(q)]
    last = (
        select(AlarmJournal.alarm_id, func.max(AlarmJournal.id).label("id"))
        .where(AlarmJournal.ts < t0, AlarmJournal.ts >= t0 - STATE_LOOKBACK_MS, *_areas_cond(areas))  # type: ignore[arg-type]
        .group_by(AlarmJournal.alarm_id)
        .subquery()
    )
    q0 = (
        select(AlarmJournal, Alarm.source, Alarm.condition, Alarm.message)
        .join(last, AlarmJournal.id == last.c.id)
        .outerjoin(Alarm, Alarm.id == AlarmJournal.alarm_id)
        .where(or_(AlarmJournal.active.is_(True), AlarmJournal.acked.is_(False)))
        .order_by(AlarmJournal.ts, AlarmJournal.id)
    )
    at_start = [_journal_view(j, s, c, m) for j, s, c, m in session.execute(q0)]
    names = sorted({r.alarm_id for r in rows} | {r.alarm_id for r in at_start})
    places: dict[str, AlarmPlace] = {}
    for i in range(0, len(names), 500):
        for a in session.scalars(select(Alarm).where(Alarm.id.in_(names[i : i + 500]))):
            places[a.id] = AlarmPlace(
                a.id, a.source, a.condition, a.equipment, a.zone, a.area, a.badge, a.camera, a.tag_id
            )
    return Journal(rows, at_start, places)


def video_between(session: Session, t0: int, t1: int, *, scope: Scope | None = None, now_ms: int) -> list[FeedItem]:
    """Video detections that started in ``[t0, t1]`` (in ``scope``), oldest first, with their media and alarm."""
    stmt = _with_alarms().where(Event.kind == VIDEO, Event.ts_start >= t0, Event.ts_start <= t1)
    stmt = stmt.where(*_scope_sql(scope))
    pairs = list(session.execute(stmt.order_by(Event.ts_start, Event.id).limit(MAX_VIDEO)).tuples())
    reviews = _latest_reviews(session, [e.id for e, _a in pairs])
    return [_item(e, a, reviews.get(e.id), now_ms) for e, a in pairs]


@dataclass(frozen=True)
class MusterReplay:
    """A muster overlapping a window: on the roll at the declaration, each arrival's first time at a point."""

    event_id: int
    declared_ms: int
    ended_ms: int | None
    on_roll: int
    arrivals_ms: list[int]  # of people on the roll, sorted
    extra_ms: list[int]  # arrivals of people not on the roll, sorted


def musters_between(session: Session, plant: Plant, t0: int, t1: int) -> list[MusterReplay]:
    """The musters overlapping ``[t0, t1]``, with who was on the roll and when each arrived (up to ``t1``)."""
    stmt = (
        select(Event)
        .where(Event.kind == MUSTER, Event.ts_start <= t1, or_(Event.ts_end.is_(None), Event.ts_end >= t0))
        .order_by(Event.ts_start)
    )
    persons = [b.id for b in plant.badges if b.kind.value == "person"]
    out: list[MusterReplay] = []
    for ev in session.scalars(stmt):
        start = int(ev.ts_start)
        end = t1 if ev.ts_end is None else min(t1, int(ev.ts_end))
        roll = {b for b, f in people.positions_at(session, persons, start).items() if f.good}
        arrivals: dict[str, mus.Arrival] = people.muster_arrivals(session, plant, persons, start, max(start, end))
        on = sorted(a.first_ts for b, a in arrivals.items() if b in roll)
        extra = sorted(a.first_ts for b, a in arrivals.items() if b not in roll)
        out.append(MusterReplay(int(ev.id), start, None if ev.ts_end is None else int(ev.ts_end), len(roll), on, extra))
    return out


@dataclass(frozen=True)
class AlarmAnchor:
    """The moment a replay opened from an alarm shows: the alarm's newest activation (or first journal row)."""

    alarm_id: str
    ts: int
    end_ms: int | None
    equipment: str | None
    zone: str | None
    area: str | None


def alarm_anchor(session: Session, alarm_id: str) -> AlarmAnchor | None:
    a = session.get(Alarm, alarm_id)
    if a is None:
        return None
    ts = a.activated_at
    if ts is None:
        ts = session.scalar(select(func.min(AlarmJournal.ts)).where(AlarmJournal.alarm_id == alarm_id))
    if ts is None:
        return None
    end = a.returned_at if a.returned_at is not None and a.returned_at >= ts else None
    return AlarmAnchor(a.id, int(ts), None if end is None else int(end), a.equipment, a.zone, a.area)


@dataclass(frozen=True)
class EventAnchor:
    event_id: int
    kind: str
    source: str
    ts: int
    end_ms: int | None
    zone: str | None


def event_anchor(session: Session, event_id: int) -> EventAnchor | None:
    """A video detection, violation, muster or other event a replay is opened from."""
    ev = session.get(Event, int(event_id))
    if ev is None:
        return None
    return EventAnchor(int(ev.id), ev.kind, ev.source, int(ev.ts_start), ev.ts_end, ev.zone)


@dataclass(frozen=True)
class EmergencyReplay:
    """A declared emergency overlapping a window: its plan, kind and zone, declared and ended."""

    emergency_id: int
    plan: str
    kind: str
    zone: str
    declared_ms: int
    ended_ms: int | None
    muster_event: int | None


def emergencies_between(session: Session, t0: int, t1: int) -> list[EmergencyReplay]:
    """The emergencies declared before ``t1`` and not ended before ``t0``, oldest first."""
    stmt = (
        select(Emergency)
        .where(
            Emergency.declared_ms.is_not(None),
            Emergency.declared_ms <= t1,
            or_(Emergency.ended_ms.is_(None), Emergency.ended_ms >= t0),
        )
        .order_by(Emergency.declared_ms, Emergency.id)
    )
    return [
        EmergencyReplay(int(e.id), e.plan, e.kind, e.zone, int(e.declared_ms or 0), e.ended_ms, e.muster_event)
        for e in session.scalars(stmt)
    ]


def emergency_anchor(session: Session, emergency_id: int) -> EmergencyReplay | None:
    e = session.get(Emergency, int(emergency_id))
    if e is None or e.declared_ms is None:
        return None
    return EmergencyReplay(int(e.id), e.plan, e.kind, e.zone, int(e.declared_ms), e.ended_ms, e.muster_event)


def major_dangers_between(session: Session, t0: int, t1: int) -> list[tuple[str, int, int | None]]:
    """Major hidden dangers open at some moment of ``[t0, t1]``: (zone, reported, closed or None). They raise
    their zone's dynamic risk while open (``engine.risk``); the grade is the one they carry now."""
    stmt = select(HiddenDanger.zone, HiddenDanger.reported_at, HiddenDanger.closed_at).where(
        HiddenDanger.grade == "major",
        HiddenDanger.zone.is_not(None),
        HiddenDanger.reported_at <= t1,
        or_(HiddenDanger.closed_at.is_(None), HiddenDanger.closed_at > t0),
    )
    return [(str(z), int(a), None if b is None else int(b)) for z, a, b in session.execute(stmt)]


@dataclass(frozen=True)
class PermitReplay:
    """A special-work permit during a window: what and where (its work point and work area in plant metres), its
    guardian's and crew's badges, and its state changes (``(ts, state)``, the one in force at the window's start
    first)."""

    permit_id: int
    kind: str
    grade: str | None
    title: str
    zone: str | None
    x: float
    y: float
    changes: list[tuple[int, str]]
    area: tuple[tuple[float, float], ...] = ()
    guardian: str | None = None
    crew: tuple[str, ...] = ()


def permits_between(session: Session, t0: int, t1: int) -> list[PermitReplay]:
    """The permits applied for before ``t1`` and not closed or expired before ``t0``, with their journal."""
    stmt = select(WorkPermit).where(
        WorkPermit.applied_at <= t1, or_(WorkPermit.closed_at.is_(None), WorkPermit.closed_at >= t0)
    )
    permits = {int(p.id): p for p in session.scalars(stmt.order_by(WorkPermit.id))}
    if not permits:
        return []
    logs: dict[int, list[tuple[int, str]]] = {}
    ids = sorted(permits)
    for i in range(0, len(ids), 500):
        q = (
            select(WorkPermitLog.permit_id, WorkPermitLog.ts, WorkPermitLog.to_state)
            .where(WorkPermitLog.permit_id.in_(ids[i : i + 500]), WorkPermitLog.ts <= t1)
            .order_by(WorkPermitLog.permit_id, WorkPermitLog.ts, WorkPermitLog.id)
        )
        for pid, ts, state in session.execute(q):
            logs.setdefault(int(pid), []).append((int(ts), str(state)))
    out: list[PermitReplay] = []
    for pid, p in permits.items():
        rows = logs.get(pid, [])
        before = [r for r in rows if r[0] <= t0]
        changes = ([(t0, before[-1][1])] if before else []) + [r for r in rows if r[0] > t0]
        if changes:
            area = tuple((float(a[0]), float(a[1])) for a in (p.area or []) if len(a) >= 2)
            crew = tuple(str(b) for b in (p.crew or []))
            out.append(
                PermitReplay(
                    pid, p.kind, p.grade, p.title, p.zone, float(p.x), float(p.y), changes, area, p.guardian, crew
                )
            )
    return out
