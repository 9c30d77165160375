"""Pixel-aware trend queries (M4-style min/max downsampling done in SQL).

A chart ``width_px`` pixels wide cannot show more than about two values per pixel, the lowest and the
highest, so :func:`trend` returns at most ``2 * width_px`` points that keep every bucket's true minimum and
maximum (spikes never vanish), placed at the times they occurred (or as close as the source knows), in
time order:

* if the range holds at most ``2 * width_px`` raw samples they are returned unchanged (``bucket_ms=0``,
  every stored value whatever its quality, NULLs as ``None``);
* else the range is cut into at most ``width_px`` buckets of ``bucket_ms`` and each bucket yields its
  min and max. The source follows the bucket size: raw samples below one minute, ``rollup_1m`` below one
  hour, ``rollup_1h`` above; a range older than what retention keeps of the source (raw samples 90 days,
  minute rollups 30 by default) is read from the hour rollups, in buckets of whole hours. Rollup-sourced
  buckets are whole multiples of the rollup period aligned to it; the partial rollup periods at both ends of
  the range are read from raw samples, so values outside ``[t0, t1]`` never leak in.

Bucketing runs in SQL with an integer expression ``(ts - origin) / bucket_ms`` that SQLite and PostgreSQL
evaluate identically (integer division of non-negative integers).

Only good-quality samples with a value enter the min/max (as in the rollups). Outages come back as
``gaps``: ``"gap"`` events of the tag's endpoint (or of the tag) and stretches of NULL (bad-quality)
samples, clipped to the range and merged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import BigInteger, Float, Integer, and_, bindparam, case, func, literal_column, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store.events import GAP
from store.models import Event, Rollup1h, Rollup1m, Sample, Tag
from store.samples import HOUR_MS, MINUTE_MS, good_quality

logger = logging.getLogger(__name__)

SAMPLE = Sample.__table__
Source = Literal["raw", "1m", "1h"]


@dataclass(frozen=True)
class Trend:
    """Points of one tag for one chart. ``bucket_ms`` is 0 when raw samples came back unchanged."""

    source: Source
    bucket_ms: int
    ts: list[int] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def with_breaks(self) -> tuple[list[int], list[float | None]]:
        """``ts``/``values`` with a ``None`` at the start of every gap, so a line chart breaks there."""
        if not self.gaps:
            return list(self.ts), list(self.values)
        out_ts: list[int] = []
        out_v: list[float | None] = []
        gi = 0
        for t, v in zip(self.ts, self.values, strict=True):
            while gi < len(self.gaps) and self.gaps[gi][0] <= t:
                out_ts.append(self.gaps[gi][0])
                out_v.append(None)
                gi += 1
            out_ts.append(t)
            out_v.append(v)
        for start, _end in self.gaps[gi:]:
            out_ts.append(start)
            out_v.append(None)
        return out_ts, out_v


def _raw_count_upto(session: Session, tag_id: int, t0: int, t1: int, limit: int) -> int:
    """Raw samples in ``[t0, t1]``, counted only up to ``limit`` (a bounded index range scan)."""
    inner = (
        select(SAMPLE.c.ts).where(SAMPLE.c.tag_id == tag_id, SAMPLE.c.ts >= t0, SAMPLE.c.ts <= t1).limit(limit)
    ).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)


_SOURCES: tuple[Source, ...] = ("raw", "1m", "1h")
_PERIOD: dict[Source, int] = {"raw": 1, "1m": MINUTE_MS, "1h": HOUR_MS}


def _oldest(session: Session, tag_id: int, source: Source) -> int | None:
    """The oldest time ``source`` holds for the tag (a seek on the primary key)."""
    if source == "raw":
        found = session.scalar(select(func.min(SAMPLE.c.ts)).where(SAMPLE.c.tag_id == tag_id))
    else:
        table = (Rollup1m if source == "1m" else Rollup1h).__table__
        found = session.scalar(select(func.min(table.c.bucket)).where(table.c.tag_id == tag_id))
    return None if found is None else int(found)


def _reaching(session: Session, tag_id: int, t0: int, source: Source) -> Source:
    """``source``, or the coarser source to read instead when retention has deleted ``source``'s rows from
    before ``t0`` (raw samples after ``SW_RETENTION_SAMPLES_DAYS``, minute rollups after
    ``SW_RETENTION_ROLLUP_1M_DAYS``) and a coarser one still holds older rows (hour rollups are kept). A tag
    whose history simply starts after ``t0`` keeps ``source``."""
    fine = _oldest(session, tag_id, source)
    if fine is None or fine <= t0:
        return source
    for coarse in _SOURCES[_SOURCES.index(source) + 1 :]:
        old = _oldest(session, tag_id, coarse)
        if old is not None and old < fine - fine % _PERIOD[coarse]:
            return coarse
    return source


def _plan(t0: int, t1: int, width: int, at_least: Source = "raw") -> tuple[Source, int, int]:
    """``(source, bucket_ms, origin)``: buckets ``origin + k * bucket_ms`` cover ``[t0, t1]`` in <= width,
    from ``at_least`` or a coarser source.

    For rollup sources ``bucket_ms`` is a multiple of the rollup period and ``origin`` is aligned to it.
    """
    span = t1 - t0 + 1
    raw_bucket = max(1, math.ceil(span / width))
    if raw_bucket < MINUTE_MS and at_least == "raw":
        return "raw", raw_bucket, t0
    source: Source = "1m" if raw_bucket < HOUR_MS and at_least != "1h" else "1h"
    period = MINUTE_MS if source == "1m" else HOUR_MS
    origin = t0 - t0 % period  # start of the rollup period holding t0
    bucket = math.ceil(raw_bucket / period) * period
    while math.ceil((t1 + 1 - origin) / bucket) > width:
        bucket += period
    return source, bucket, origin


@dataclass(frozen=True)
class _Shape:
    """How one source table looks to the M4 query: time column, extremes and the times of the extremes."""

    time: ColumnElement[int]
    vmin: ColumnElement[float]
    vmax: ColumnElement[float]
    t_vmin: ColumnElement[int]
    t_vmax: ColumnElement[int]
    filters: tuple[ColumnElement[bool], ...]


def _shape(table: Any, raw: bool) -> _Shape:
    c = table.c
    if raw:
        return _Shape(c.ts, c.value, c.value, c.ts, c.ts, (c.value.is_not(None), good_quality(c.quality)))
    # Within a rollup bucket the time of an extreme is known when it is the first or the last value;
    # otherwise the middle of first..last stands for it.
    mid = (c.first_ts + c.last_ts) // 2
    t_vmin = case((c.first == c.vmin, c.first_ts), (c.last == c.vmin, c.last_ts), else_=mid)
    t_vmax = case((c.first == c.vmax, c.first_ts), (c.last == c.vmax, c.last_ts), else_=mid)
    return _Shape(c.bucket, c.vmin, c.vmax, t_vmin, t_vmax, ())


_Extremes = dict[int, tuple[float, int, float, int]]  # idx -> (lo, t_lo, hi, t_hi)


def _extremes(session: Session, table: Any, tag_id: int, lo: int, hi: int, origin: int, bucket_ms: int) -> _Extremes:
    """Min and max (with their times) of each display bucket, for rows of ``table`` with time in [lo, hi).

    One grouped pass finds the extremes; per bucket, an index range scan limited to that bucket finds
    the first row holding each extreme (it stops at the first match).
    """
    raw = table is SAMPLE
    o = bindparam("origin", origin, type_=BigInteger)
    b = bindparam("bucket_ms", bucket_ms, type_=BigInteger)
    lo_p = bindparam("lo", lo, type_=BigInteger)
    hi_p = bindparam("hi", hi, type_=BigInteger)
    base = _shape(table, raw)
    idx = (base.time - o) // b
    g = (
        select(idx.label("idx"), func.min(base.vmin).label("lo"), func.max(base.vmax).label("hi"))
        .where(table.c.tag_id == tag_id, base.time >= lo_p, base.time < hi_p, *base.filters)
        .group_by(idx)
        .subquery("m4")
    )
    start = g.c.idx * b + o
    end = (g.c.idx + 1) * b + o
    start = case((start > lo_p, start), else_=lo_p)
    end = case((end < hi_p, end), else_=hi_p)

    def time_of(value_col: str, target: ColumnElement[float]) -> Any:
        x = table.alias(f"x_{value_col}")
        xs = _shape(x, raw)
        t_col = xs.t_vmin if value_col == "lo" else xs.t_vmax
        v_col = xs.vmin if value_col == "lo" else xs.vmax
        return (
            select(t_col)
            .where(x.c.tag_id == tag_id, xs.time >= start, xs.time < end, v_col == target, *xs.filters)
            .order_by(xs.time)
            .limit(1)
            .scalar_subquery()
        )

    stmt = select(g.c.idx, g.c.lo, time_of("lo", g.c.lo), g.c.hi, time_of("hi", g.c.hi))
    out: _Extremes = {}
    for i, vlo, tlo, vhi, thi in session.execute(stmt):
        bucket_start = origin + int(i) * bucket_ms
        out[int(i)] = (
            float(vlo),
            int(tlo) if tlo is not None else bucket_start,
            float(vhi),
            int(thi) if thi is not None else bucket_start + bucket_ms - 1,
        )
    return out


def _combine(into: _Extremes, other: _Extremes) -> None:
    for i, (lo, t_lo, hi, t_hi) in other.items():
        have = into.get(i)
        if have is None:
            into[i] = (lo, t_lo, hi, t_hi)
            continue
        h_lo, h_tlo, h_hi, h_thi = have
        if lo < h_lo or (lo == h_lo and t_lo < h_tlo):
            h_lo, h_tlo = lo, t_lo
        if hi > h_hi or (hi == h_hi and t_hi < h_thi):
            h_hi, h_thi = hi, t_hi
        into[i] = (h_lo, h_tlo, h_hi, h_thi)


def _m4(session: Session, tag_id: int, t0: int, t1: int, source: Source, bucket_ms: int, origin: int) -> _Extremes:
    """Extremes per display bucket over [t0, t1] from ``source``; partial rollup periods at both ends of
    the range come from raw samples so nothing outside the range leaks in."""
    if source == "raw":
        return _extremes(session, SAMPLE, tag_id, t0, t1 + 1, origin, bucket_ms)
    period = MINUTE_MS if source == "1m" else HOUR_MS
    table = (Rollup1m if source == "1m" else Rollup1h).__table__
    a = -(-t0 // period) * period  # first whole rollup period inside the range
    z = ((t1 + 1) // period) * period  # end of the last whole one
    if a >= z:
        return _extremes(session, SAMPLE, tag_id, t0, t1 + 1, origin, bucket_ms)
    out = _extremes(session, table, tag_id, a, z, origin, bucket_ms)
    if t0 < a:
        _combine(out, _extremes(session, SAMPLE, tag_id, t0, a, origin, bucket_ms))
    if z <= t1:
        _combine(out, _extremes(session, SAMPLE, tag_id, z, t1 + 1, origin, bucket_ms))
    return out


def _null_gaps(session: Session, tag_id: int, t0: int, t1: int, bucket_ms: int) -> list[tuple[int, int]]:
    """Stretches of NULL samples in ``[t0, t1]``: from a NULL to the next sample with a value (or ``t1``).

    NULLs are grouped per display bucket (at most a pixel, so finer structure is not visible) using the
    partial index on NULL samples; each group's stretch ends at the first valued sample after its last
    NULL, searched within the bucket only (a stretch going on is picked up by the next bucket's group and
    merged), which keeps the cost proportional to the NULL rows, not to the range.
    """
    b = max(1, bucket_ms)
    # SQLite's planner, without statistics, prefers the primary key range (the whole range of raw rows)
    # over the tiny partial index; name the index there. PostgreSQL picks it on its own.
    hint = " INDEXED BY ix_sample_null" if session.get_bind().dialect.name == "sqlite" else ""
    ts = literal_column("nul.ts", BigInteger)
    idx = (ts - bindparam("g_origin", t0, type_=BigInteger)) // bindparam("g_bucket", b, type_=BigInteger)
    per_bucket = (
        select(idx.label("idx"), func.min(ts).label("first_null"), func.max(ts).label("last_null"))
        .select_from(text(f"sample AS nul{hint}"))
        .where(
            literal_column("nul.tag_id", Integer) == tag_id,
            literal_column("nul.value", Float).is_(None),
            ts >= t0,
            ts <= t1,
        )
        .group_by(idx)
        .subquery("nulls")
    )
    nxt = SAMPLE.alias("nxt")
    bucket_end = (per_bucket.c.idx + 1) * b + t0
    next_valued = (
        select(nxt.c.ts)
        .where(
            nxt.c.tag_id == tag_id,
            nxt.c.ts > per_bucket.c.last_null,
            nxt.c.ts < bucket_end,
            nxt.c.value.is_not(None),
        )
        .order_by(nxt.c.ts)
        .limit(1)
        .scalar_subquery()
    )
    stmt = select(per_bucket.c.first_null, next_valued, bucket_end).order_by(per_bucket.c.first_null)
    gaps = [
        (int(first), min(int(nxt_ts) if nxt_ts is not None else int(end), t1))
        for first, nxt_ts, end in session.execute(stmt)
    ]
    return gaps + _leading_null_gap(session, tag_id, t0, t1)


def _leading_null_gap(session: Session, tag_id: int, t0: int, t1: int) -> list[tuple[int, int]]:
    """The stretch of a NULL sample before ``t0`` that reaches into the range, if any."""
    s = SAMPLE.c
    before = session.execute(
        select(s.value).where(s.tag_id == tag_id, s.ts < t0).order_by(s.ts.desc()).limit(1)
    ).first()
    if before is None or before.value is not None:
        return []
    first_valued = session.scalar(
        select(s.ts).where(s.tag_id == tag_id, s.ts >= t0, s.ts <= t1, s.value.is_not(None)).order_by(s.ts).limit(1)
    )
    return [(t0, int(first_valued) if first_valued is not None else t1)]


def _raw_null_gaps(rows: Sequence[Sequence[Any]], t1: int) -> list[tuple[int, int]]:
    """Stretches of NULLs in an in-memory, time-ordered list of (ts, value) rows."""
    gaps: list[tuple[int, int]] = []
    start: int | None = None
    for ts, value in rows:
        if value is None:
            if start is None:
                start = int(ts)
        elif start is not None:
            gaps.append((start, int(ts)))
            start = None
    if start is not None:
        gaps.append((start, t1))
    return gaps


def _event_gaps(session: Session, tag_id: int, t0: int, t1: int) -> list[tuple[int, int]]:
    """``"gap"`` events of the tag's endpoint or of the tag itself, clipped to ``[t0, t1]``."""
    endpoint = session.scalar(select(Tag.endpoint).where(Tag.id == tag_id))
    who: ColumnElement[bool] = Event.tag_id == tag_id
    if endpoint is not None:
        who = or_(who, and_(Event.source == endpoint, Event.tag_id.is_(None)))
    stmt = select(Event.ts_start, Event.ts_end).where(
        Event.kind == GAP,
        Event.ts_start <= t1,
        or_(Event.ts_end.is_(None), Event.ts_end >= t0),
        who,
    )
    return [(max(t0, int(a)), min(t1, int(e) if e is not None else t1)) for a, e in session.execute(stmt)]


def _merge(intervals: list[tuple[int, int]], tolerance: int = 0) -> list[tuple[int, int]]:
    """Union of intervals; ones less than ``tolerance`` apart join (sub-pixel slivers)."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1] + tolerance:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def trend(session: Session, tag_id: int, t0_ms: int, t1_ms: int, width_px: int) -> Trend:
    """At most ``2 * width_px`` points of ``tag_id`` over ``[t0_ms, t1_ms]`` (both inclusive), with gaps.

    See the module docstring for the method. Read-only.
    """
    t0, t1 = int(t0_ms), int(t1_ms)
    width = max(1, int(width_px))
    if t1 < t0:
        return Trend("raw", 0)
    gaps_ev = _event_gaps(session, tag_id, t0, t1)

    raw_reach = _reaching(session, tag_id, t0, "raw")
    if raw_reach == "raw" and _raw_count_upto(session, tag_id, t0, t1, 2 * width + 1) <= 2 * width:
        s = SAMPLE.c
        rows = session.execute(
            select(s.ts, s.value).where(s.tag_id == tag_id, s.ts >= t0, s.ts <= t1).order_by(s.ts)
        ).all()
        gaps = _merge(gaps_ev + _raw_null_gaps(rows, t1) + _leading_null_gap(session, tag_id, t0, t1))
        return Trend("raw", 0, [int(r[0]) for r in rows], [r[1] for r in rows], gaps)

    source, bucket_ms, origin = _plan(t0, t1, width, raw_reach)
    if source == "1m" and (reach := _reaching(session, tag_id, t0, "1m")) != "1m":
        source, bucket_ms, origin = _plan(t0, t1, width, reach)
    ts: list[int] = []
    vals: list[float | None] = []
    extremes = _m4(session, tag_id, t0, t1, source, bucket_ms, origin)
    for idx in sorted(extremes):
        lo, t_lo, hi, t_hi = extremes[idx]
        if lo == hi:
            ts.append(min(t_lo, t_hi))
            vals.append(lo)
        elif t_lo <= t_hi:
            ts += [t_lo, t_hi]
            vals += [lo, hi]
        else:
            ts += [t_hi, t_lo]
            vals += [hi, lo]
    gaps = _merge(gaps_ev + _null_gaps(session, tag_id, t0, t1, bucket_ms), tolerance=bucket_ms)
    logger.debug("trend tag=%s %s bucket=%d ms -> %d points", tag_id, source, bucket_ms, len(ts))
    return Trend(source, bucket_ms, ts, vals, gaps)
