"""Amounts counted by cumulative counters (production counters, energy meters) over a time window.

The amount of a counter in ``[t0, t1]`` is its reading at ``t1`` minus its reading at ``t0``, made robust:

* **resets and rollovers**: the amount is the sum of the *positive* steps between consecutive readings,
  so a counter that drops (reset to zero, wrap-around, a meter exchanged) adds nothing for the drop and
  counts on from its new reading. What was counted between the last reading before a reset and the reset
  itself is unknown and left out (with readings every few seconds, seconds of production). Inside a
  rollup bucket only first/last/min/max are known: a bucket that ends at or above its start counted its
  net change (a reading that glitched low and came back adds nothing), one that ends below its start was
  reset and counted ``(vmax - first) + (last - vmin)`` (exact for one reset per bucket);
* **gaps**: a cumulative counter keeps counting in the plant while nothing is stored, so the step across a
  gap (last reading before, first after) is the production during it, counted once;
* **minute rollups deleted** by retention (``SW_RETENTION_ROLLUP_1M_DAYS``, kept less long than raw samples):
  a window starting before the oldest minute rollup (of the first tag asked for) takes its partial hours from
  the raw readings instead;
* **the reading at t0** is interpolated linearly between the last reading at or before ``t0`` (looked up
  to ``lookback_ms`` back) and the first one after it, so a step that straddles ``t0`` counts only for its
  share inside the window. The reading at ``t1`` is the newest reading at or before ``t1``.

Only good-quality readings with a value count (as in the rollups).

Everything runs as **one SQL statement for any number of tags** (after one index seek for the oldest minute
rollup): the window is cut into whole hours
(``rollup_1h``), whole minutes at both ends of those (``rollup_1m``) and the partial minutes at the edges
(raw samples), plus the reading before ``t0``. Each piece is a segment ``(first_ts, first, last_ts, last,
inner)``, ``inner`` being what a rollup bucket counted inside itself (above); a window function (``LAG``)
adds the positive steps between consecutive segments of each tag.
The statement is identical on SQLite (3.25+) and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, and_, bindparam, case, cast, column, func, literal, select, union_all
from sqlalchemy import values as sql_values
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause, Select

from store.models import Rollup1h, Rollup1m, Sample
from store.samples import HOUR_MS, MINUTE_MS, good_quality

logger = logging.getLogger(__name__)

SAMPLE = Sample.__table__
R1M = Rollup1m.__table__
R1H = Rollup1h.__table__
DEFAULT_LOOKBACK_MS = 6 * HOUR_MS
_CHUNK = 500  # tags per statement (bound parameters stay well below every driver's limit)


def _ceil(ts: int, period: int) -> int:
    return -(-ts // period) * period


def _floor(ts: int, period: int) -> int:
    return ts - ts % period


def _raw_segments(ids: Sequence[int], after: int, upto: int) -> Select[Any]:
    """Good raw readings with ``after < ts <= upto`` as one-point segments."""
    s = SAMPLE.c
    return select(
        s.tag_id.label("tag_id"),
        s.ts.label("first_ts"),
        s.value.label("first"),
        s.ts.label("last_ts"),
        s.value.label("last"),
        cast(literal(0.0), Float).label("inner"),
    ).where(s.tag_id.in_(ids), s.ts > after, s.ts <= upto, s.value.is_not(None), good_quality(s.quality))


def _rollup_segments(table: FromClause, ids: Sequence[int], lo: int, hi: int) -> Select[Any]:
    """Rollup buckets starting in ``[lo, hi)`` as segments with what each counted inside itself."""
    r = table.c
    inner = case(
        (r["last"] >= r["first"], r["last"] - r["first"]),
        else_=(r.vmax - r["first"]) + (r["last"] - r.vmin),
    )
    return select(
        r.tag_id.label("tag_id"),
        r.first_ts.label("first_ts"),
        r["first"].label("first"),
        r.last_ts.label("last_ts"),
        r["last"].label("last"),
        cast(inner, Float).label("inner"),
    ).where(r.tag_id.in_(ids), r.bucket >= lo, r.bucket < hi)


def _baseline(ids: Sequence[int], t0: int, lookback_ms: int) -> Select[Any]:
    """The last good reading at or before ``t0`` of each tag (a backward index seek per tag)."""
    s = SAMPLE.c
    wanted = sql_values(column("id", Integer), name="wanted").data([(i,) for i in ids]).cte("wanted")
    x = SAMPLE.alias("x")
    newest = (
        select(x.c.ts)
        .where(
            x.c.tag_id == wanted.c.id,
            x.c.ts <= t0,
            x.c.ts >= t0 - lookback_ms,
            x.c.value.is_not(None),
            good_quality(x.c.quality),
        )
        .order_by(x.c.ts.desc())
        .limit(1)
        .scalar_subquery()
    )
    pairs = select(wanted.c.id.label("tag_id"), newest.label("ts")).subquery("pairs")
    return select(
        s.tag_id.label("tag_id"),
        s.ts.label("first_ts"),
        s.value.label("first"),
        s.ts.label("last_ts"),
        s.value.label("last"),
        cast(literal(0.0), Float).label("inner"),
    ).join(pairs, and_(s.tag_id == pairs.c.tag_id, s.ts == pairs.c.ts))


def _segments(ids: Sequence[int], t0: int, t1: int, lookback_ms: int, minutes_from: int) -> list[Select[Any]]:
    parts = [_baseline(ids, t0, lookback_ms)]
    if _ceil(t0, MINUTE_MS) < minutes_from:
        # minute rollups deleted by retention: the partial hours come from the raw readings (kept longer)
        h0, h1 = _ceil(t0, HOUR_MS), _floor(t1 + 1, HOUR_MS)
        if h0 >= h1:
            parts.append(_raw_segments(ids, t0, t1))
            return parts
        if t0 < h0:
            parts.append(_raw_segments(ids, t0, h0 - 1))
        parts.append(_rollup_segments(R1H, ids, h0, h1))
        if h1 <= t1:
            parts.append(_raw_segments(ids, h1 - 1, t1))
        return parts
    m0 = _ceil(t0, MINUTE_MS)  # first whole minute inside the window
    m1 = _floor(t1 + 1, MINUTE_MS)  # end of the last whole minute inside it
    if m0 >= m1:
        parts.append(_raw_segments(ids, t0, t1))
        return parts
    if t0 < m0:
        parts.append(_raw_segments(ids, t0, m0 - 1))
    h0 = _ceil(m0, HOUR_MS)
    h1 = _floor(m1, HOUR_MS)
    if h0 >= h1:
        parts.append(_rollup_segments(R1M, ids, m0, m1))
    else:
        if m0 < h0:
            parts.append(_rollup_segments(R1M, ids, m0, h0))
        parts.append(_rollup_segments(R1H, ids, h0, h1))
        if h1 < m1:
            parts.append(_rollup_segments(R1M, ids, h1, m1))
    if m1 <= t1:
        parts.append(_raw_segments(ids, m1 - 1, t1))
    return parts


def counter_increase(
    session: Session,
    tag_ids: Sequence[int],
    t0: int,
    t1: int,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
) -> dict[int, float]:
    """What each cumulative counter in ``tag_ids`` counted in ``[t0, t1]`` (epoch ms, both included).

    Tags with no good reading in the window nor within ``lookback_ms`` before it are absent; a counter
    that did not move counts 0. See the module docstring for resets, gaps and the edges.
    """
    ids = sorted({int(i) for i in tag_ids})
    if not ids or t1 < t0:
        return {}
    out: dict[int, float] = {}
    t0_p = bindparam("t0", t0, type_=BigInteger)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        oldest = session.scalar(select(func.min(R1M.c.bucket)).where(R1M.c.tag_id == chunk[0]))
        seg = union_all(*_segments(chunk, t0, t1, lookback_ms, t0 if oldest is None else int(oldest))).subquery("seg")
        order: dict[str, Any] = {"partition_by": seg.c.tag_id, "order_by": (seg.c.first_ts, seg.c.last_ts)}
        prev_last = func.lag(seg.c["last"]).over(**order)
        prev_ts = func.lag(seg.c.last_ts).over(**order)
        steps = select(
            seg.c.tag_id,
            seg.c.inner,
            (seg.c["first"] - prev_last).label("step"),
            seg.c.first_ts,
            prev_ts.label("prev_ts"),
        ).subquery("steps")
        s = steps.c
        # The step from the reading before t0 to the first one after it counts for its share after t0.
        share = case(
            (
                and_(s.prev_ts < t0_p, s.first_ts > s.prev_ts),
                cast(s.first_ts - t0_p, Float) / cast(s.first_ts - s.prev_ts, Float),
            ),
            else_=1.0,
        )
        counted = s.inner + case((s.step > 0, s.step * share), else_=0.0)
        stmt = select(s.tag_id, func.sum(counted)).group_by(s.tag_id)
        for tag_id, total in session.execute(stmt):
            out[int(tag_id)] = max(0.0, float(total or 0.0))
    return out
