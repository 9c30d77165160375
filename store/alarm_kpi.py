"""Alarm-system KPIs (ISA-18.2 / IEC 62682, EEMUA 191), computed in SQL over the alarm journal.

``alarm_kpis(session, start_ms, end_ms, now_ms, *, area=None) -> AlarmKpis`` answers for the window
``[start_ms, end_ms)``; ``now_ms`` is the moment for the "now" figures (standing, shelved). ``area``
limits everything to one operator position. The queries are plain SQL (grouping, one window function)
that run the same on SQLite (3.28 or later) and PostgreSQL, on the journal's indexes; a month of 200,000
transitions answers in under a second (``python -m bench alarms``, BENCHMARKS.md). On PostgreSQL the call
raises ``work_mem`` for the caller's transaction (``SET LOCAL``) so a month's sorts stay in memory.

What counts as an alarm: an **annunciated activation**, the journal rows ``kind = 'active' AND acked =
false`` - an activation shown to an operator. Activations while shelved, suppressed or out of service are
journaled with ``acked`` true and do not count; an alarm annunciated again when its shelving ends counts
once more (``engine.alarms`` explains the states).

Fields of :class:`AlarmKpis` (the KPI page uses exactly these names):

``total``
    annunciated activations in the window.
``rate``
    list of :class:`RateSeries`, one per **operator position** - a plant area (``NO_AREA`` for alarms
    without one) - plus the site total (position :data:`SITE`, first; left out when ``area`` is given):
    ``buckets`` (start of each 10-minute bucket, epoch ms, aligned to the epoch, every bucket of the
    window), ``counts`` (annunciated alarms per bucket), ``total``, ``average`` (per 10 min), ``peak``,
    ``share_over_target`` (share of buckets above :data:`TARGET_PER_10MIN`) and ``share_in_flood`` (share
    of buckets above :data:`FLOOD_PER_10MIN`). Draw :data:`TARGET_PER_10MIN` (1 per 10 min, ISA-18.2's
    "very likely acceptable" average) and :data:`FLOOD_PER_10MIN` (10 per 10 min, the flood threshold) as
    lines.
``average_per_10min`` / ``peak_per_10min``
    of the site series (of the area's when ``area`` is given).
``floods``
    list of :class:`Flood`: periods in which a position had more than 10 alarms in a 10-minute bucket,
    consecutive buckets merged: ``position``, ``start``, ``end`` (bucket bounds, epoch ms), ``count``
    (alarms in the period), ``peak`` (most in one bucket). Site floods are listed with position ``site``.
``chattering``
    list of :class:`Chattering`: alarms with at least :data:`CHATTER_COUNT` (3) activations within
    :data:`CHATTER_WINDOW_MS` (60 s) - counting every activation, annunciated or not, since chattering is
    the alarm's own fault - with ``activations`` (in the window), ``peak_per_minute`` (most activations
    in any 60 s) and ``episodes`` (activations that started a run of 3 or more within 60 s); most first.
``standing``
    list of :class:`Standing`: alarms active at ``now_ms`` without interruption for more than 24 h
    (:data:`STANDING_MS`): among the alarms the ``alarm`` table has active, those whose first activation
    after their last return in the journal is older than that, with ``since``, ``hours`` and ``shelved``;
    suppressed and out-of-service alarms are left out (hidden by design or by decision), shelved ones are
    in. Oldest first.
``priority_counts``
    list of :class:`PriorityCount` for urgent, high, medium, low: ``count``, ``share`` and ``target``
    (:data:`PRIORITY_TARGETS`: ISA-18.2's 80 % low, 15 % medium, 5 % high; urgent has no share of its own,
    it is meant to be rare and counts against the 5 % together with high: ``target`` is None).
``top_bad_actors``
    list of :class:`BadActor`: the 10 alarms with the most annunciated activations, with ``count`` and
    ``share`` of ``total`` (and ``priority``, ``area``).
``shelved``
    list of :class:`Shelved`: alarms shelved at ``now_ms``: ``by``, ``since`` (the shelve in the
    journal), ``until``, ``reason``. The end of a shelve lives in the ``alarm`` row, which is where this
    one figure reads from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, text, true
from sqlalchemy.orm import Session

from plant.schema import PRIORITIES
from store.models import Alarm, AlarmJournal
from store.samples import bucket_expr

logger = logging.getLogger(__name__)

BUCKET_MS = 600_000
TARGET_PER_10MIN = 1
FLOOD_PER_10MIN = 10
CHATTER_COUNT = 3
CHATTER_WINDOW_MS = 60_000
STANDING_MS = 24 * 3_600_000
TOP_N = 10
PRIORITY_TARGETS: dict[str, float | None] = {"urgent": None, "high": 0.05, "medium": 0.15, "low": 0.80}
SITE = "site"
NO_AREA = "unassigned"
MAX_BUCKETS = 60 * 24 * 6 * 2  # two months of 10-minute buckets per series
IN_CHUNK = 500

J = AlarmJournal


@dataclass(frozen=True, slots=True)
class RateSeries:
    position: str
    buckets: list[int]
    counts: list[int]
    total: int
    average: float
    peak: int
    share_over_target: float
    share_in_flood: float


@dataclass(frozen=True, slots=True)
class Flood:
    position: str
    start: int
    end: int
    count: int
    peak: int


@dataclass(frozen=True, slots=True)
class Chattering:
    alarm_id: str
    activations: int
    peak_per_minute: int
    episodes: int
    priority: str
    area: str | None


@dataclass(frozen=True, slots=True)
class Standing:
    alarm_id: str
    since: int
    hours: float
    priority: str
    area: str | None
    source_type: str
    shelved: bool


@dataclass(frozen=True, slots=True)
class PriorityCount:
    priority: str
    count: int
    share: float
    target: float | None


@dataclass(frozen=True, slots=True)
class BadActor:
    alarm_id: str
    count: int
    share: float
    priority: str
    area: str | None


@dataclass(frozen=True, slots=True)
class Shelved:
    alarm_id: str
    by: str | None
    since: int | None
    until: int
    reason: str | None
    priority: str
    area: str | None


@dataclass(frozen=True, slots=True)
class AlarmKpis:
    start_ms: int
    end_ms: int
    now_ms: int
    area: str | None
    bucket_ms: int
    total: int
    average_per_10min: float
    peak_per_10min: int
    rate: list[RateSeries] = field(default_factory=list)
    floods: list[Flood] = field(default_factory=list)
    chattering: list[Chattering] = field(default_factory=list)
    standing: list[Standing] = field(default_factory=list)
    priority_counts: list[PriorityCount] = field(default_factory=list)
    top_bad_actors: list[BadActor] = field(default_factory=list)
    shelved: list[Shelved] = field(default_factory=list)
    target_per_10min: int = TARGET_PER_10MIN
    flood_per_10min: int = FLOOD_PER_10MIN


def _rows(session: Session, stmt: Any) -> Any:
    """Plain rows through the session's connection (no ORM result processing: tens of thousands of rows)."""
    return session.connection().execute(stmt)


def _annunciated(start_ms: int, end_ms: int, area: str | None) -> list[ColumnElement[bool]]:
    cond = [J.kind == "active", J.ts >= start_ms, J.ts < end_ms, J.acked == false()]
    if area is not None:
        cond.append(J.area == area)
    return cond


def _rate_and_priorities(
    session: Session, start_ms: int, end_ms: int, area: str | None
) -> tuple[list[RateSeries], list[PriorityCount]]:
    """One grouping of the annunciated activations by (area, 10-minute bucket, priority) gives both."""
    first = start_ms - start_ms % BUCKET_MS
    n = max(0, -(-(end_ms - first) // BUCKET_MS))
    if n > MAX_BUCKETS:
        raise ValueError(f"window of {n} ten-minute buckets is longer than {MAX_BUCKETS}")
    b = bucket_expr(J.ts, BUCKET_MS).label("b")
    stmt = (
        select(J.area, b, J.priority, func.count())
        .where(*_annunciated(start_ms, end_ms, area))
        .group_by(J.area, b, J.priority)
    )
    buckets = [first + i * BUCKET_MS for i in range(n)]
    per: dict[str, list[int]] = {}
    site = [0] * n
    by_priority: dict[str, int] = {}
    for pos, bucket, priority, count in _rows(session, stmt):
        by_priority[priority] = by_priority.get(priority, 0) + count
        i = (int(bucket) - first) // BUCKET_MS
        if not 0 <= i < n:
            continue
        key = pos if pos is not None else NO_AREA
        series = per.get(key)
        if series is None:
            series = per[key] = [0] * n
        series[i] += count
        site[i] += count
    if area is not None:
        per.setdefault(area, [0] * n)
    ordered = sorted(per.items())
    if area is None:
        ordered.insert(0, (SITE, site))
    total = sum(by_priority.values())
    priorities = [
        PriorityCount(
            p, by_priority.get(p, 0), round(by_priority.get(p, 0) / total, 4) if total else 0.0, PRIORITY_TARGETS[p]
        )
        for p in PRIORITIES
    ]
    return [_series(pos, buckets, counts) for pos, counts in ordered], priorities


def _series(position: str, buckets: list[int], counts: list[int]) -> RateSeries:
    n = len(counts)
    total = sum(counts)
    return RateSeries(
        position=position,
        buckets=buckets,
        counts=counts,
        total=total,
        average=round(total / n, 3) if n else 0.0,
        peak=max(counts, default=0),
        share_over_target=round(sum(1 for c in counts if c > TARGET_PER_10MIN) / n, 4) if n else 0.0,
        share_in_flood=round(sum(1 for c in counts if c > FLOOD_PER_10MIN) / n, 4) if n else 0.0,
    )


def _floods(rate: list[RateSeries]) -> list[Flood]:
    out: list[Flood] = []
    for s in rate:
        run: list[int] = []
        for i, c in enumerate([*s.counts, 0]):
            if c > FLOOD_PER_10MIN:
                run.append(i)
                continue
            if run:
                counts = [s.counts[k] for k in run]
                out.append(
                    Flood(s.position, s.buckets[run[0]], s.buckets[run[-1]] + BUCKET_MS, sum(counts), max(counts))
                )
                run = []
    out.sort(key=lambda f: (f.start, f.position != SITE, f.position))
    return out


def _labels(session: Session, ids: list[str], start_ms: int, end_ms: int) -> dict[str, tuple[str, str | None]]:
    """Priority and area of a few alarms as the journal recorded them in the window."""
    out: dict[str, tuple[str, str | None]] = {}
    for i in range(0, len(ids), IN_CHUNK):
        stmt = (
            select(J.alarm_id, func.max(J.priority), func.max(J.area))
            .where(J.alarm_id.in_(ids[i : i + IN_CHUNK]), J.ts >= start_ms, J.ts < end_ms)
            .group_by(J.alarm_id)
        )
        out.update({alarm_id: (priority, pos) for alarm_id, priority, pos in _rows(session, stmt)})
    return out


def _chattering(session: Session, start_ms: int, end_ms: int, area: str | None) -> list[Chattering]:
    cond = [J.kind == "active", J.ts >= start_ms, J.ts < end_ms]
    if area is not None:
        cond.append(J.area == area)
    # An activation starts a chattering episode when the activation two later is less than 60 s after it.
    # Both window functions share one sort; only the episode rows are grouped afterwards.
    third = func.lead(J.ts, CHATTER_COUNT - 1).over(partition_by=J.alarm_id, order_by=J.ts).label("third")
    count = func.count().over(partition_by=J.alarm_id, order_by=J.ts, rows=(None, None)).label("n")
    inner = select(J.alarm_id, J.ts, third, count).where(*cond).subquery("w")
    stmt = (
        select(inner.c.alarm_id, func.max(inner.c.n), func.count())
        .where(inner.c.third - inner.c.ts < CHATTER_WINDOW_MS)
        .group_by(inner.c.alarm_id)
    )
    found = {alarm_id: (int(n), int(episodes)) for alarm_id, n, episodes in _rows(session, stmt)}
    if not found:
        return []
    # The most activations in any 60 s, for the chattering alarms only.
    in_minute = (
        func.count().over(partition_by=J.alarm_id, order_by=J.ts, range_=(0, CHATTER_WINDOW_MS - 1)).label("n60")
    )
    peaks: dict[str, int] = {}
    ids = sorted(found)
    for i in range(0, len(ids), IN_CHUNK):
        w = select(J.alarm_id, in_minute).where(*cond, J.alarm_id.in_(ids[i : i + IN_CHUNK])).subquery("m")
        peak_rows = _rows(session, select(w.c.alarm_id, func.max(w.c.n60)).group_by(w.c.alarm_id))
        peaks.update({alarm_id: int(peak) for alarm_id, peak in peak_rows})
    labels = _labels(session, ids, start_ms, end_ms)
    out = [
        Chattering(alarm_id, n, int(peaks.get(alarm_id, CHATTER_COUNT)), episodes, *labels[alarm_id])
        for alarm_id, (n, episodes) in found.items()
    ]
    out.sort(key=lambda c: (-c.peak_per_minute, -c.activations, c.alarm_id))
    return out


def _standing(session: Session, now_ms: int, area: str | None) -> list[Standing]:
    cond = [Alarm.active == true(), Alarm.suppressed == false(), Alarm.out_of_service == false()]
    if area is not None:
        cond.append(Alarm.area == area)
    # Only alarms active now can be standing; the ``alarm`` table names them, the journal says since when.
    candidates = {
        row[0]: row[1:]
        for row in _rows(
            session, select(Alarm.id, Alarm.priority, Alarm.area, Alarm.source_type, Alarm.shelved_until).where(*cond)
        )
    }
    out: list[Standing] = []
    ids = sorted(candidates)
    for i in range(0, len(ids), IN_CHUNK):
        chunk = ids[i : i + IN_CHUNK]
        last_return = (
            select(J.alarm_id.label("alarm_id"), func.max(J.id).label("rid"))
            .where(J.alarm_id.in_(chunk), J.kind == "return", J.ts <= now_ms)
            .group_by(J.alarm_id)
            .subquery("r")
        )
        stmt = (
            select(J.alarm_id, func.min(J.ts))
            .select_from(J)
            .outerjoin(last_return, last_return.c.alarm_id == J.alarm_id)
            .where(
                J.alarm_id.in_(chunk),
                J.kind == "active",
                J.ts <= now_ms,
                last_return.c.rid.is_(None) | (J.id > last_return.c.rid),
            )
            .group_by(J.alarm_id)
            .having(func.min(J.ts) <= now_ms - STANDING_MS)
        )
        for alarm_id, since in _rows(session, stmt):
            priority, pos, source_type, shelved_until = candidates[alarm_id]
            shelved = shelved_until is not None and shelved_until > now_ms
            hours = round((now_ms - since) / 3_600_000, 2)
            out.append(Standing(alarm_id, int(since), hours, priority, pos, source_type, shelved))
    out.sort(key=lambda s: (s.since, s.alarm_id))
    return out


def _bad_actors(session: Session, start_ms: int, end_ms: int, area: str | None, total: int) -> list[BadActor]:
    n = func.count().label("n")
    stmt = (
        select(J.alarm_id, n)
        .where(*_annunciated(start_ms, end_ms, area))
        .group_by(J.alarm_id)
        .order_by(n.desc(), J.alarm_id)
        .limit(TOP_N)
    )
    top = [(alarm_id, int(count)) for alarm_id, count in _rows(session, stmt)]
    labels = _labels(session, [alarm_id for alarm_id, _ in top], start_ms, end_ms)
    return [
        BadActor(alarm_id, count, round(count / total, 4) if total else 0.0, *labels[alarm_id])
        for alarm_id, count in top
    ]


def _shelved(session: Session, now_ms: int, area: str | None) -> list[Shelved]:
    last_shelve = (
        select(func.max(J.ts))
        .where(J.alarm_id == Alarm.id, J.kind == "shelve", J.ts <= now_ms)
        .correlate(Alarm)
        .scalar_subquery()
    )
    cond = [Alarm.shelved_until > now_ms]
    if area is not None:
        cond.append(Alarm.area == area)
    stmt = (
        select(
            Alarm.id,
            Alarm.shelved_by,
            last_shelve,
            Alarm.shelved_until,
            Alarm.shelve_reason,
            Alarm.priority,
            Alarm.area,
        )
        .where(*cond)
        .order_by(Alarm.shelved_until, Alarm.id)
    )
    return [Shelved(*row) for row in session.execute(stmt).tuples()]


def alarm_kpis(session: Session, start_ms: int, end_ms: int, now_ms: int, *, area: str | None = None) -> AlarmKpis:
    """All alarm KPIs for ``[start_ms, end_ms)`` (see the module docstring for each field)."""
    start_ms, end_ms, now_ms = int(start_ms), int(end_ms), int(now_ms)
    if end_ms <= start_ms:
        raise ValueError(f"empty window: end {end_ms} is not after start {start_ms}")
    if session.get_bind().dialect.name == "postgresql":
        # The grouping and window sorts of a month (~100,000 rows) fit in memory instead of spilling to disk.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    rate, priority_counts = _rate_and_priorities(session, start_ms, end_ms, area)
    main = rate[0] if rate else _series(area or SITE, [], [])
    total = sum(s.total for s in rate if s.position != SITE)
    return AlarmKpis(
        start_ms=start_ms,
        end_ms=end_ms,
        now_ms=now_ms,
        area=area,
        bucket_ms=BUCKET_MS,
        total=total,
        average_per_10min=main.average,
        peak_per_10min=main.peak,
        rate=rate,
        floods=_floods(rate),
        chattering=_chattering(session, start_ms, end_ms, area),
        standing=_standing(session, now_ms, area),
        priority_counts=priority_counts,
        top_bad_actors=_bad_actors(session, start_ms, end_ms, area, total),
        shelved=_shelved(session, now_ms, area),
    )


__all__ = [
    "BUCKET_MS",
    "CHATTER_COUNT",
    "CHATTER_WINDOW_MS",
    "FLOOD_PER_10MIN",
    "NO_AREA",
    "PRIORITY_TARGETS",
    "SITE",
    "STANDING_MS",
    "TARGET_PER_10MIN",
    "AlarmKpis",
    "BadActor",
    "Chattering",
    "Flood",
    "PriorityCount",
    "RateSeries",
    "Shelved",
    "Standing",
    "alarm_kpis",
]
