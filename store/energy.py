"""Consumption of cumulative meters per period (hours, shifts, days, weeks, months, years), from the rollups.

The amount a meter counted in a period is built from its hourly rollup buckets (``rollup_1h``), never by
scanning raw samples, in one SQL statement for any number of meters (SQLite and PostgreSQL alike):

* **inside a bucket** it counted ``last - first``;
* **between two buckets** the step from one bucket's last reading to the next one's first is shared between
  them by time (the part before the hour boundary to the earlier one);
* **a reset or a meter exchange** between two readings (the reading drops, or jumps up faster than the meter
  can count: ``max_rates``) adds neither the drop nor the jump: the interval between the two readings is
  filled with the meter's rate in the bucket (its last minus first over their time apart). A bucket that holds
  a reset or an exchange inside itself (its last below its first, or a rise beyond the meter's rate) is
  recounted from its raw readings, the same way; those are the only raw samples read;
* **a gap** (two readings more than :data:`MAX_STEP_MS` apart: the meter was not read) is *unknown*, never
  zero: a period that holds the whole gap still gets its amount (a cumulative meter counts on while nobody
  reads it, so the step across the gap is what was consumed in it), every period the gap spans across a
  boundary is unknown (``None``), and so is a period the meter's readings do not cover from start to end.

Late and duplicate samples change nothing here: the store keeps one sample per tag and source time and merges
a late sample into its rollup buckets (``store.samples.write_samples``).

Periods are given as ``[start, end)`` in UTC epoch ms, contiguous and on whole hours (the last one may end at
any time, e.g. now). The statement groups buckets by the coarsest step that every boundary sits on (a day, a
shift length, else an hour), and the periods are summed from those groups.
"""

from __future__ import annotations

import itertools
import logging
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, and_, case, cast, column, func, literal, null, or_, select, union_all
from sqlalchemy import values as sql_values
from sqlalchemy.orm import Session

from store.models import Rollup1h, Sample
from store.samples import HOUR_MS, good_quality

logger = logging.getLogger(__name__)

R1H = Rollup1h.__table__
SAMPLE = Sample.__table__
MAX_STEP_MS = 20 * 60_000  # two readings further apart than this: the meter was not read (a gap)
NO_LIMIT = 1e18  # per ms: no jump check for a meter without a rate limit
_CHUNK = 400


@dataclass
class _Group:
    amount: float = 0.0
    first_ts: int | None = None
    last_ts: int | None = None


@dataclass
class Consumption:
    """Amounts per meter and period: ``values[tag_id][i]`` for ``periods[i]``, ``None`` when unknown."""

    periods: list[tuple[int, int]]
    values: dict[int, list[float | None]] = field(default_factory=dict)
    gaps: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # (last reading, next reading) per tag

    def total(self, tag_id: int) -> float | None:
        vals = self.values.get(tag_id)
        if not vals or any(v is None for v in vals):
            return None
        return math.fsum(v for v in vals if v is not None)


def _grain(periods: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """(group length, shift) such that every boundary b has (b + shift) % length == 0."""
    bounds = [p[0] for p in periods] + [periods[-1][1]]
    inner = bounds if bounds[-1] % HOUR_MS == 0 else bounds[:-1]  # an end that is not on the hour: now
    for g in (86_400_000, 8 * HOUR_MS, HOUR_MS):
        shift = (-bounds[0]) % g
        if all((b + shift) % g == 0 for b in inner):
            return g, shift
    raise ValueError("period boundaries must sit on whole hours (UTC)")


def _statement(ids_rates: Sequence[tuple[int, float]], lo: int, hi: int, g: int, shift: int) -> Any:
    wanted = sql_values(column("id", Integer), column("maxrate", Float), name="wanted").data(list(ids_rates))
    w = wanted.cte("wanted")
    r = R1H.c
    lag_order: dict[str, Any] = {"partition_by": r.tag_id, "order_by": r.bucket}
    base = (
        select(
            r.tag_id,
            r.bucket,
            r.first_ts,
            r.last_ts,
            r["first"].label("first"),
            r["last"].label("last"),
            r.vmin,
            r.vmax,
            w.c.maxrate,
            func.lag(r["last"]).over(**lag_order).label("prev_last"),
            func.lag(r.last_ts).over(**lag_order).label("prev_ts"),
            func.lag(r.bucket).over(**lag_order).label("prev_bucket"),
        )
        .join(w, w.c.id == r.tag_id)
        .where(r.bucket >= lo, r.bucket < hi)
        .subquery("b")
    )
    b = base.c
    span = cast(b.last_ts - b.first_ts, Float)
    odd = or_(b["last"] < b["first"], (b["last"] - b["first"]) > b.maxrate * (span + MAX_STEP_MS))
    inner = case((b["last"] >= b["first"], b["last"] - b["first"]), else_=(b.vmax - b["first"]) + (b["last"] - b.vmin))
    rate = case((and_(b.last_ts > b.first_ts, ~odd), inner / span), else_=0.0)
    dt = cast(b.first_ts - b.prev_ts, Float)
    step = b["first"] - b.prev_last
    has_prev = b.prev_ts.is_not(None)
    gap = and_(has_prev, (b.first_ts - b.prev_ts) > MAX_STEP_MS)
    normal = and_(has_prev, ~gap, step >= 0, step <= b.maxrate * dt)
    broken = and_(has_prev, ~gap, or_(step < 0, step > b.maxrate * dt))
    step_amt = case((normal, step), (broken, rate * dt), else_=0.0)
    share = case((and_(has_prev, dt > 0), cast(b.first_ts - b.bucket, Float) / dt), else_=1.0)
    c = select(
        b.tag_id,
        b.bucket,
        b.prev_bucket,
        b.first_ts,
        b.last_ts,
        b.prev_ts,
        cast(inner, Float).label("inner"),
        cast(step_amt, Float).label("step_amt"),
        cast(share, Float).label("share"),
        cast(step, Float).label("step"),
        case((gap, 1), else_=0).label("gap"),
        case((odd, 1), else_=0).label("odd"),
    ).cte("c")
    key = (c.c.bucket + shift) // g
    pkey = (c.c.prev_bucket + shift) // g
    parts = union_all(
        select(
            c.c.tag_id,
            key.label("k"),
            (c.c.inner + c.c.step_amt * c.c.share).label("amt"),
            c.c.first_ts.label("f"),
            c.c.last_ts.label("l"),
        ),
        select(
            c.c.tag_id,
            pkey.label("k"),
            (c.c.step_amt * (1.0 - c.c.share)).label("amt"),
            cast(null(), BigInteger).label("f"),
            cast(null(), BigInteger).label("l"),
        ).where(c.c.prev_bucket.is_not(None)),
    ).subquery("parts")
    p = parts.c
    grouped = select(
        literal(0).label("kind"),
        p.tag_id,
        p.k.label("a"),
        cast(func.sum(p.amt), Float).label("x"),
        func.min(p.f).label("f"),
        func.max(p.l).label("l"),
    ).group_by(p.tag_id, p.k)
    gaps = select(
        literal(1).label("kind"),
        c.c.tag_id,
        c.c.prev_ts.label("a"),
        c.c.step.label("x"),
        c.c.first_ts.label("f"),
        cast(null(), BigInteger).label("l"),
    ).where(c.c.gap == 1)
    odds = select(
        literal(2).label("kind"),
        c.c.tag_id,
        c.c.bucket.label("a"),
        c.c.inner.label("x"),
        cast(null(), BigInteger).label("f"),
        cast(null(), BigInteger).label("l"),
    ).where(c.c.odd == 1)
    return union_all(grouped, gaps, odds)


def _recount(session: Session, tag_id: int, t0: int, t1: int, maxrate: float) -> float:
    """What a meter counted between its readings in ``[t0, t1)``, from the raw readings (resets, exchanges)."""
    s = SAMPLE.c
    rows = session.execute(
        select(s.ts, s.value)
        .where(s.tag_id == tag_id, s.ts >= t0, s.ts < t1, s.value.is_not(None), good_quality(s.quality))
        .order_by(s.ts)
    ).all()
    total, rate = 0.0, 0.0
    pending: list[float] = []  # intervals of broken steps, filled with the rate once one is known
    for (ta, va), (tb, vb) in itertools.pairwise(rows):
        dt = float(tb - ta)
        step = float(vb) - float(va)
        if dt <= 0:
            continue
        if 0 <= step <= maxrate * dt:
            total += step
            rate = step / dt
            if pending:
                total += rate * sum(pending)
                pending = []
        elif rate > 0:
            total += rate * dt
        else:
            pending.append(dt)
    return total


def _per_ms(ids: Sequence[int], max_rates: Mapping[int, float] | None) -> dict[int, float]:
    rates = {i: (max_rates or {}).get(i) for i in ids}
    return {i: (r / HOUR_MS if r is not None and r > 0 and math.isfinite(r) else NO_LIMIT) for i, r in rates.items()}


def _readings_at(session: Session, ids: Sequence[int], bounds: Sequence[int], per_ms: Mapping[int, float]) -> Any:
    """The reading of each meter at each boundary: ``{tag: {boundary: value | None | BROKEN}}``.

    An hour boundary is read from the buckets either side of it (the step between the last reading before and
    the first after, shared by time; unknown when they are more than :data:`MAX_STEP_MS` apart, *broken* when
    the step is a reset or an exchange); any other boundary (now) is the newest good raw reading at most
    :data:`MAX_STEP_MS` before it."""
    out: dict[int, dict[int, float | str | None]] = {i: dict.fromkeys(bounds) for i in ids}
    aligned = sorted({b for b in bounds if b % HOUR_MS == 0})
    buckets = sorted({x for b in aligned for x in (b - HOUR_MS, b)})
    r = R1H.c
    rows: dict[tuple[int, int], tuple[int, float, int, float]] = {}
    for k in range(0, len(ids), _CHUNK):
        chunk = list(ids[k : k + _CHUNK])
        for j in range(0, len(buckets), 500):
            stmt = select(r.tag_id, r.bucket, r.first_ts, r["first"], r.last_ts, r["last"]).where(
                r.tag_id.in_(chunk), r.bucket.in_(buckets[j : j + 500])
            )
            for tag_id, bucket, f_ts, first, l_ts, last in session.execute(stmt).all():
                rows[(tag_id, bucket)] = (f_ts, first, l_ts, last)
    for tag_id in ids:
        for b in aligned:
            before, after = rows.get((tag_id, b - HOUR_MS)), rows.get((tag_id, b))
            value: float | str | None = None
            if before is not None and after is not None:
                dt = after[0] - before[2]
                step = after[1] - before[3]
                if dt > MAX_STEP_MS:
                    value = None
                elif 0 <= step <= per_ms[tag_id] * max(dt, 1):
                    value = before[3] + step * (b - before[2]) / max(dt, 1)
                else:
                    value = BROKEN
            elif after is not None and after[0] == b:  # nothing in the hour before: only a reading on the hour
                value = after[1]
            elif before is not None and b - before[2] <= MAX_STEP_MS and b == bounds[-1]:
                value = before[3]
            out[tag_id][b] = value
    odd = [b for b in bounds if b % HOUR_MS]
    s = SAMPLE.c
    for b in odd:
        for k in range(0, len(ids), _CHUNK):
            chunk = list(ids[k : k + _CHUNK])
            newest = (
                select(s.tag_id, func.max(s.ts).label("ts"))
                .where(
                    s.tag_id.in_(chunk),
                    s.ts <= b,
                    s.ts >= b - MAX_STEP_MS,
                    s.value.is_not(None),
                    good_quality(s.quality),
                )
                .group_by(s.tag_id)
                .subquery("newest")
            )
            stmt = select(s.tag_id, s.value).join(newest, and_(s.tag_id == newest.c.tag_id, s.ts == newest.c.ts))
            for tag_id, value in session.execute(stmt):
                out[int(tag_id)][b] = float(value)
    return out


BROKEN = "broken"


def consumption(
    session: Session,
    tag_ids: Sequence[int],
    periods: Sequence[tuple[int, int]],
    max_rates: Mapping[int, float] | None = None,
) -> Consumption:
    """What each cumulative meter in ``tag_ids`` counted in each period (see the module docstring).

    ``max_rates`` (per tag, units per hour) is the fastest the meter can count: a rise beyond it is a meter
    exchange, not consumption. Without one only drops are taken as resets or exchanges.

    Fast path: a period's amount is the meter's reading at its end minus its reading at its start, each read
    from the two hourly buckets around the boundary (two rows per meter and boundary, whatever the length of
    the period). A period whose readings do not add up (the difference is negative or faster than the meter
    can count, or a boundary falls on a reset or an exchange) is counted hour by hour from the rollups instead.
    A reset or exchange that leaves the difference plausible (a meter reset near zero) is not seen on the fast
    path; meters that are reset routinely should be read hour by hour (``hourly=True``).
    """
    out = Consumption(list(periods))
    if any(a >= b for a, b in periods) or any(p[1] != q[0] for p, q in itertools.pairwise(periods)):
        raise ValueError("periods must be non-empty, in order and contiguous")
    ids = sorted({int(i) for i in tag_ids})
    if not ids or not periods:
        return out
    per_ms = _per_ms(ids, max_rates)
    bounds = [p[0] for p in periods] + [periods[-1][1]]
    at = _readings_at(session, ids, bounds, per_ms)
    redo: dict[int, list[int]] = {}
    for tag_id in ids:
        vals: list[float | None] = []
        for i, (a, b) in enumerate(periods):
            ra, rb = at[tag_id][a], at[tag_id][b]
            if ra == BROKEN or rb == BROKEN:
                redo.setdefault(tag_id, []).append(i)
                vals.append(None)
            elif ra is None or rb is None:
                vals.append(None)
            else:
                d = float(rb) - float(ra)
                if 0 <= d <= per_ms[tag_id] * (b - a) + 1e-9:
                    vals.append(d)
                else:
                    redo.setdefault(tag_id, []).append(i)
                    vals.append(None)
        out.values[tag_id] = vals
        out.gaps[tag_id] = []
    for tag_id, idx in redo.items():
        lo_i, hi_i = min(idx), max(idx)
        try:
            sub = hourly(session, [tag_id], periods[lo_i : hi_i + 1], max_rates)
        except ValueError:  # periods not on whole hours (a window ending now): those stay unknown
            continue
        for i in idx:
            out.values[tag_id][i] = sub.values[tag_id][i - lo_i]
        out.gaps[tag_id] = sub.gaps[tag_id]
    return out


def hourly(
    session: Session,
    tag_ids: Sequence[int],
    periods: Sequence[tuple[int, int]],
    max_rates: Mapping[int, float] | None = None,
) -> Consumption:
    """:func:`consumption` counted hour by hour from the rollups (every step between readings checked)."""
    out = Consumption(list(periods))
    if any(a >= b for a, b in periods) or any(p[1] != q[0] for p, q in itertools.pairwise(periods)):
        raise ValueError("periods must be non-empty, in order and contiguous")
    ids = sorted({int(i) for i in tag_ids})
    if not ids or not periods:
        return out
    g, shift = _grain(periods)
    lo = periods[0][0] - periods[0][0] % HOUR_MS - HOUR_MS
    end_ms = periods[-1][1]
    hi = end_ms + HOUR_MS if end_ms % HOUR_MS == 0 else end_ms - end_ms % HOUR_MS + HOUR_MS
    starts = [p[0] for p in periods]
    end = periods[-1][1]
    per_ms = _per_ms(ids, max_rates)
    groups: dict[int, dict[int, _Group]] = {i: {} for i in ids}
    gaps: dict[int, list[tuple[int, int, float]]] = {i: [] for i in ids}
    odds: dict[int, list[tuple[int, float]]] = {i: [] for i in ids}
    for k in range(0, len(ids), _CHUNK):
        chunk = [(i, per_ms[i]) for i in ids[k : k + _CHUNK]]
        for kind, tag_id, a, x, f, last in session.execute(_statement(chunk, lo, hi, g, shift)):
            if kind == 0:
                groups[tag_id][int(a)] = _Group(float(x or 0.0), f, last)
            elif kind == 1:
                gaps[tag_id].append((int(a), int(f), float(x or 0.0)))
            else:
                odds[tag_id].append((int(a), float(x or 0.0)))
    for tag_id in ids:
        for bucket, sql_inner in odds[tag_id]:
            fixed = _recount(session, tag_id, bucket, bucket + HOUR_MS, per_ms[tag_id])
            grp = groups[tag_id].setdefault((bucket + shift) // g, _Group())
            grp.amount += fixed - sql_inner
        out.values[tag_id] = _periods(groups[tag_id], gaps[tag_id], starts, end, g, shift)
        out.gaps[tag_id] = [(a, b) for a, b, _ in gaps[tag_id]]
    return out


def _periods(
    groups: dict[int, _Group], gaps: list[tuple[int, int, float]], starts: list[int], end: int, g: int, shift: int
) -> list[float | None]:
    n = len(starts)
    amount = [0.0] * n
    first: list[int | None] = [None] * n
    last: list[int | None] = [None] * n
    known = [True] * n

    def index(ts: int) -> int:
        return bisect_right(starts, ts) - 1

    for key, grp in groups.items():
        i = index(key * g - shift)
        if i < 0 or i >= n or key * g - shift >= end:
            continue
        amount[i] += grp.amount
        if grp.first_ts is not None:
            first[i] = grp.first_ts if first[i] is None else min(first[i], grp.first_ts)  # type: ignore[type-var]
        if grp.last_ts is not None:
            last[i] = grp.last_ts if last[i] is None else max(last[i], grp.last_ts)  # type: ignore[type-var]
    for a, b, step in gaps:
        ia, ib = index(a), index(b)
        if ia == ib:
            if 0 <= ia < n:
                amount[ia] += max(step, 0.0)  # a drop across a gap: the meter was reset or exchanged, unknown
                if step < 0:
                    known[ia] = False
        else:
            for i in range(max(ia, 0), min(ib, n - 1) + 1):
                known[i] = False
    out: list[float | None] = []
    for i in range(n):
        p_end = starts[i + 1] if i + 1 < n else end
        fa, la = first[i], last[i]
        covered = fa is not None and la is not None and fa <= starts[i] + MAX_STEP_MS and la >= p_end - MAX_STEP_MS
        out.append(max(0.0, amount[i]) if known[i] and covered else None)
    return out
