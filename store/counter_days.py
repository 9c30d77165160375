"""What cumulative counters counted per plant day, kept per closed day so that a year by day reads days, not hours.

A day's amount is built from the hourly rollups (``rollup_1h``) whose bucket starts inside the day: what each
hour counted inside itself (a reset as in ``store.counters``) plus the positive step from the tag's hour before
it, wherever that is (the step across a gap is the production during it, counted once, in the hour after the
gap). Because the step looks back to the tag's previous hour whatever the range asked for, a day's amount does
not depend on the days computed with it: a day read alone, in a year, from the kept table or from its hours
is the same number.

Days are the plant's: the bounds of each local date in the plant's zone (``zoneinfo``; a day with a DST change
has 23 or 25 hours, and every hour belongs to the date of its start). A day that has ended (``end <= now``) is
kept in ``counter_day`` the first time it is asked for (one ``INSERT ... SELECT`` for every missing day and tag,
``NULL`` for a day without hours), and read from there afterwards; the day still running is read from its
hours each time. A sample written late for a closed day, or rollups rebuilt over it, delete that day's rows
and every later one (``store.samples``), which are computed again when next asked for.

Functions take a session and never commit.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    column,
    delete,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy import values as sql_values
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from store.models import CounterDay, Rollup1h
from store.samples import HOUR_MS, upsert

logger = logging.getLogger(__name__)

R1H = Rollup1h.__table__
DAYS = CounterDay.__table__
DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1).toordinal()
_CHUNK = 200  # tags per statement


@dataclass(frozen=True)
class Day:
    day: date
    start: int  # epoch ms of the local midnight
    end: int  # epoch ms of the next local midnight

    @property
    def number(self) -> int:
        return self.day.toordinal() - _EPOCH


def _ms(d: date, tz: tzinfo) -> int:
    return int(datetime.combine(d, datetime.min.time(), tzinfo=tz).timestamp() * 1000)


def plant_days(first: date, last: date, tz: tzinfo) -> list[Day]:
    """The days ``first`` .. ``last`` (both included) with their bounds in ``tz``."""
    out: list[Day] = []
    d = first
    start = _ms(d, tz)
    while d <= last:
        nxt = d + timedelta(days=1)
        end = _ms(nxt, tz)
        out.append(Day(d, start, end))
        d, start = nxt, end
    return out


def _offset(ms: int, tz: tzinfo) -> int:
    off = datetime.fromtimestamp(ms / 1000, tz).utcoffset()
    return int(off.total_seconds() * 1000) if off is not None else 0


def _offsets(lo: int, hi: int, tz: tzinfo) -> list[tuple[int, int]]:
    """``(from_ms, offset_ms)`` pieces of ``[lo, hi)`` with one UTC offset each, oldest first (a zone changes
    its offset at most a few times a year; each change is found to the minute by bisection)."""
    pieces = [(lo, _offset(lo, tz))]
    a = lo
    while a < hi:
        b = min(a + DAY_MS, hi)
        if _offset(b - 1, tz) != pieces[-1][1]:
            x, y = a, b - 1  # the offset at x is the current one, at y the next one
            while y - x > 60_000:
                mid = (x + y) // 2
                if _offset(mid, tz) == pieces[-1][1]:
                    x = mid
                else:
                    y = mid
            y -= y % 60_000
            pieces.append((y, _offset(y, tz)))
            a = y
            continue
        a = b
    return pieces


def _day_number(bucket: Any, lo: int, hi: int, tz: tzinfo) -> Any:
    """SQL: the local date (days since 1970-01-01) of an hour bucket's start, with the zone's offset then."""
    pieces = _offsets(lo - HOUR_MS * 48, hi, tz)
    if len(pieces) == 1:
        off: Any = literal(pieces[0][1], BigInteger)
    else:
        off = case(
            *((bucket < start, literal(prev[1], BigInteger)) for prev, (start, _) in itertools.pairwise(pieces)),
            else_=literal(pieces[-1][1], BigInteger),
        )
    return (bucket + off) // DAY_MS  # floor division on both (a plain / is true division on PostgreSQL)


def _hours(ids: Sequence[int], lo: int, hi: int, tz: tzinfo) -> Select[Any]:
    """(tag_id, day number, counted) of every hour starting in ``[lo, hi)``, each with the step from the tag's
    hour before it (the newest hour before ``lo`` found by an index seek per tag)."""
    r = R1H.c
    inner = case((r["last"] >= r["first"], r["last"] - r["first"]), else_=(r.vmax - r["first"]) + (r["last"] - r.vmin))
    in_range = select(
        r.tag_id.label("tag_id"),
        r.bucket.label("bucket"),
        r["first"].label("first"),
        r["last"].label("last"),
        cast(inner, Float).label("inner"),
    ).where(r.tag_id.in_(ids), r.bucket >= lo, r.bucket < hi)
    wanted = sql_values(column("id", Integer), name="wanted").data([(i,) for i in ids]).cte("wanted")
    x = R1H.alias("x")
    newest = select(func.max(x.c.bucket)).where(x.c.tag_id == wanted.c.id, x.c.bucket < lo).scalar_subquery()
    pairs = select(wanted.c.id.label("tag_id"), newest.label("bucket")).subquery("pairs")
    before = select(
        r.tag_id.label("tag_id"),
        r.bucket.label("bucket"),
        r["first"].label("first"),
        r["last"].label("last"),
        cast(literal(0.0), Float).label("inner"),
    ).join(pairs, and_(r.tag_id == pairs.c.tag_id, r.bucket == pairs.c.bucket))
    seg = union_all(before, in_range).subquery("seg")
    step = seg.c["first"] - func.lag(seg.c["last"]).over(partition_by=seg.c.tag_id, order_by=seg.c.bucket)
    lagged = select(seg.c.tag_id, seg.c.bucket, seg.c.inner, step.label("step")).subquery("lagged")
    h = lagged.c
    counted = h.inner + case((h.step > 0, h.step), else_=0.0)
    day = _day_number(h.bucket, lo, hi, tz)
    return (
        select(h.tag_id.label("tag_id"), day.label("day_no"), func.sum(counted).label("amount"))
        .where(h.bucket >= lo)
        .group_by(h.tag_id, day)
    )


def _fill(session: Session, ids: Sequence[int], days: Sequence[Day], tz: tzinfo) -> None:
    """Keep every tag's amount of ``days`` (consecutive, ended) in ``counter_day``, in one statement per chunk of
    tags: the hours' sums joined to every (tag, day), NULL for a day without hours. The rows of the days are
    deleted first (a row of another zone's day), which on SQLite also takes the write lock before the hours are
    read, so that a late sample is either in them or deletes the rows after."""
    lo, hi = days[0].start, days[-1].end
    for i in range(0, len(ids), _CHUNK):
        chunk = list(ids[i : i + _CHUNK])
        g = _hours(chunk, lo, hi, tz).subquery("g")
        dv = (
            sql_values(
                column("day_no", Integer),
                column("start", BigInteger),
                column("end", BigInteger),
                column("day", String),
                name="dv",
            )
            .data([(d.number, d.start, d.end, d.day.isoformat()) for d in days])
            .cte("dv")
        )
        tv = sql_values(column("tag_id", Integer), name="tv").data([(t,) for t in chunk]).cte("tv")
        amount = case((g.c.amount < 0, 0.0), else_=g.c.amount)
        src = select(tv.c.tag_id, dv.c.start, dv.c.end, dv.c.day, amount).select_from(
            tv.join(dv, literal(True)).outerjoin(g, and_(g.c.tag_id == tv.c.tag_id, g.c.day_no == dv.c.day_no))
        )
        c = DAYS.c
        session.execute(delete(CounterDay).where(c.tag_id.in_(chunk), c.start >= lo, c.start < hi))
        stmt = upsert(session, DAYS).from_select(["tag_id", "start", "end", "day", "amount"], src)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["tag_id", "start"]))


def _runs(days: Sequence[Day]) -> list[list[Day]]:
    """``days`` (in order) cut into runs of consecutive days."""
    out: list[list[Day]] = []
    for d in days:
        if out and out[-1][-1].end == d.start:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def counter_days(
    session: Session, tag_ids: Sequence[int], first: date, last: date, tz: tzinfo, now_ms: int
) -> dict[int, dict[date, float]]:
    """tag id -> plant day -> amount counted, for the days ``first`` .. ``last`` in ``tz`` up to ``now_ms``: the
    ended days from ``counter_day`` (computed and kept first where missing), the running one from its hours
    up to ``now_ms``. A day without any hour of the tag is absent."""
    ids = sorted({int(i) for i in tag_ids})
    days = [d for d in plant_days(first, last, tz) if d.start <= now_ms]
    if not ids or not days:
        return {}
    closed = [d for d in days if d.end <= now_ms]
    running = [d for d in days if d.end > now_ms]
    out: dict[int, dict[date, float]] = defaultdict(dict)
    if closed:
        by_start = {d.start: d for d in closed}
        c = DAYS.c
        stored: dict[tuple[int, int], float | None] = {}
        query = select(c.tag_id, c.start, c.end, c.amount).where(
            c.tag_id.in_(ids), c.start >= closed[0].start, c.start <= closed[-1].start
        )
        for tag_id, start, end, amount in session.execute(query):
            d = by_start.get(int(start))
            if d is not None and d.end == int(end):
                stored[(int(tag_id), d.start)] = amount
        missing = [d for d in closed if any((t, d.start) not in stored for t in ids)]
        if missing:
            for run in _runs(missing):
                _fill(session, ids, run, tz)
            logger.debug("counter days kept: %d day(s) of %d tag(s)", len(missing), len(ids))
            stored = {}
            for tag_id, start, end, amount in session.execute(query):
                d = by_start.get(int(start))
                if d is not None and d.end == int(end):
                    stored[(int(tag_id), d.start)] = amount
        for (tag_id, start), amount in stored.items():
            if amount is not None:
                out[tag_id][by_start[start].day] = float(amount)
    for d in running:
        for i in range(0, len(ids), _CHUNK):
            stmt = _hours(ids[i : i + _CHUNK], d.start, min(d.end, now_ms + 1), tz)
            for tag_id, _day_no, amount in session.execute(stmt):
                out[int(tag_id)][d.day] = max(0.0, float(amount or 0.0))
    return dict(out)
