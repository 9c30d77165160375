"""Pixel-aware trends on SQLite and PostgreSQL: source choice, point budget, true extremes, gaps."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete

from engine.types import BAD, BAD_NO_COMMUNICATION, GOOD, UNCERTAIN, SampleIn
from store.db import make_engine, migrate, session_scope
from store.events import add_event
from store.models import Rollup1m, Sample, Tag
from store.samples import write_samples
from store.trend import Trend, trend

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SEC = 1_000
MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000
STEP = 10 * SEC
TAG = 1
OTHER = 2


def series(days: int = 3, seed: int = 11) -> list[SampleIn]:
    """A 0.1 Hz signal with a daily wave, noise and a few uncertain / bad samples."""
    rng = random.Random(seed)
    out = []
    for i in range(days * DAY // STEP):
        ts = T0 + i * STEP
        value = 1_000 + 100 * math.sin(2 * math.pi * i * STEP / DAY) + rng.gauss(0, 3)
        roll = rng.random()
        if roll < 0.002:
            out.append(SampleIn(TAG, ts, None, BAD))
        elif roll < 0.004:
            out.append(SampleIn(TAG, ts, value + 500, UNCERTAIN))  # must not count as an extreme
        else:
            out.append(SampleIn(TAG, ts, round(value, 4), GOOD))
    return out


def with_overrides(samples: list[SampleIn], overrides: dict[int, float | None]) -> list[SampleIn]:
    out = []
    for s in samples:
        if s.ts in overrides:
            v = overrides[s.ts]
            out.append(SampleIn(s.tag_id, s.ts, v, GOOD if v is not None else BAD_NO_COMMUNICATION))
        else:
            out.append(s)
    return out


def load(engine: Engine, samples: list[SampleIn]) -> None:
    with session_scope(engine) as s:
        s.add(Tag(id=TAG, name="TI-101", endpoint="dcs1", node_id="ns=2;s=TI-101", kind="process", unit="°C"))
        s.add(Tag(id=OTHER, name="TI-201", endpoint="dcs2", node_id="ns=2;s=TI-201", kind="process", unit="°C"))
    for i in range(0, len(samples), 5_000):
        with session_scope(engine) as s:
            write_samples(s, samples[i : i + 5_000])
    with session_scope(engine) as s:  # a neighbour tag that must never show up
        write_samples(s, [SampleIn(OTHER, s_.ts, 1e9, GOOD) for s_ in samples[::50]])


def good_extremes(samples: list[SampleIn], t0: int, t1: int) -> tuple[float, float]:
    vals = [s.value for s in samples if t0 <= s.ts <= t1 and s.value is not None and s.quality == GOOD]
    return min(vals), max(vals)


def check_shape(tr: Trend, t0: int, t1: int, width: int) -> None:
    assert len(tr.ts) == len(tr.values)
    assert len(tr.ts) <= 2 * width
    assert tr.ts == sorted(tr.ts)
    assert all(t0 <= t <= t1 for t in tr.ts)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_source_follows_bucket_size(engine: Engine) -> None:
    data = series(days=3)
    load(engine, data)
    end = T0 + 3 * DAY - 1
    cases = [
        (10 * MIN, "raw"),  # 30 s buckets
        (20 * MIN - 20, "raw"),  # just under 60 s
        (20 * MIN, "1m"),  # exactly 60 s
        (6 * HOUR, "1m"),  # 18 min
        (20 * HOUR, "1h"),  # 1 h
        (3 * DAY, "1h"),
    ]
    with session_scope(engine) as s:
        for span, source in cases:
            t0 = end - span + 1
            tr = trend(s, TAG, t0, end, 20)
            assert tr.source == source, span
            assert tr.bucket_ms >= math.ceil(span / 20)
            check_shape(tr, t0, end, 20)
            lo, hi = good_extremes(data, t0, end)
            assert min(v for v in tr.values if v is not None) == lo
            assert max(v for v in tr.values if v is not None) == hi


def test_few_raw_points_come_back_unchanged(engine: Engine) -> None:
    data = series(days=1)
    load(engine, data)
    t0, t1 = T0 + 5 * MIN, T0 + 10 * MIN  # 31 samples
    with session_scope(engine) as s:
        tr = trend(s, TAG, t0, t1, 16)
    assert (tr.source, tr.bucket_ms) == ("raw", 0)
    inside = [x for x in data if t0 <= x.ts <= t1]
    assert tr.ts == [x.ts for x in inside]
    assert tr.values == [x.value for x in inside]


def test_raw_m4_keeps_each_bucket_min_and_max_at_their_times(engine: Engine) -> None:
    data = with_overrides(series(days=1), {T0 + 2 * HOUR + 10 * MIN: 9_000.0, T0 + 2 * HOUR + 11 * MIN: -9_000.0})
    load(engine, data)
    t0, t1, width = T0 + 2 * HOUR + 7 * SEC, T0 + 2 * HOUR + 30 * MIN, 40
    with session_scope(engine) as s:
        tr = trend(s, TAG, t0, t1, width)
    assert tr.source == "raw"
    assert tr.bucket_ms > 0
    check_shape(tr, t0, t1, width)
    stored = {x.ts: x.value for x in data}
    assert all(stored[t] == v for t, v in zip(tr.ts, tr.values, strict=True))  # real samples, real times
    # per bucket: exactly the min and the max of the good samples in it
    by_bucket: dict[int, list[float]] = {}
    for x in data:
        if t0 <= x.ts <= t1 and x.value is not None and x.quality == GOOD:
            by_bucket.setdefault((x.ts - t0) // tr.bucket_ms, []).append(x.value)
    got: dict[int, list[float]] = {}
    for t, v in zip(tr.ts, tr.values, strict=True):
        got.setdefault((t - t0) // tr.bucket_ms, []).append(v)
    assert {k: sorted({min(v), max(v)}) for k, v in by_bucket.items()} == {k: sorted(v) for k, v in got.items()}
    assert 9_000.0 in tr.values
    assert -9_000.0 in tr.values


@pytest.mark.parametrize(("span", "width", "period", "source"), [(8 * HOUR, 20, MIN, "1m"), (2 * DAY, 12, HOUR, "1h")])
def test_rollup_trend_has_true_extremes_and_nothing_from_outside(
    engine: Engine, span: int, width: int, period: int, source: str
) -> None:
    t0 = T0 + 5 * HOUR + period // 2 + 17 * SEC  # unaligned on both ends
    t1 = t0 + span + period // 3
    base = series(days=3)
    # outside the range but inside the rollup periods the range cuts: must not leak in
    outside = {
        (t0 - t0 % STEP) - STEP: 50_000.0,
        (t1 - t1 % STEP) + STEP: -50_000.0,
    }
    inside = {t0 + 3 * HOUR - (t0 + 3 * HOUR) % STEP: 7_777.0, t0 + 4 * HOUR - (t0 + 4 * HOUR) % STEP: -7_777.0}
    data = with_overrides(base, outside | inside)
    load(engine, data)
    with session_scope(engine) as s:
        tr = trend(s, TAG, t0, t1, width)
    assert tr.source == source
    assert tr.bucket_ms % period == 0
    check_shape(tr, t0, t1, width)
    assert min(tr.values) == -7_777.0  # type: ignore[type-var]
    assert max(tr.values) == 7_777.0  # type: ignore[type-var]
    # the extremes sit at their true times (known exactly from the raw edges or the rollup first/last
    # when they are a bucket's first or last value, else within their rollup period)
    t_hi = tr.ts[tr.values.index(7_777.0)]
    assert abs(t_hi - (t0 + 3 * HOUR - (t0 + 3 * HOUR) % STEP)) < period
    # second largest / smallest per display bucket are real good values of the range
    good = {x.value for x in data if t0 <= x.ts <= t1 and x.value is not None and x.quality == GOOD}
    assert set(tr.values) <= good


def test_random_ranges_respect_the_point_budget_and_extremes(engine: Engine) -> None:
    data = series(days=3, seed=5)
    load(engine, data)
    rng = random.Random(9)
    with session_scope(engine) as s:
        for _ in range(25):
            width = rng.choice([1, 3, 40, 300, 1200])
            t0 = T0 + rng.randrange(0, 2 * DAY)
            t1 = t0 + rng.randrange(10 * MIN, T0 + 3 * DAY - t0)
            tr = trend(s, TAG, t0, t1, width)
            check_shape(tr, t0, t1, width)
            lo, hi = good_extremes(data, t0, t1)
            vals = [v for v in tr.values if v is not None]
            assert (min(vals), max(vals)) == (lo, hi), (t0, t1, width, tr.source)


def test_gaps_from_events_and_bad_samples(engine: Engine) -> None:
    data = series(days=1, seed=3)
    null_from, null_to = T0 + 3 * HOUR, T0 + 3 * HOUR + 20 * MIN  # 120 NULL samples
    data = with_overrides(data, {t: None for t in range(null_from, null_to, STEP)})
    data = [
        x if x.value is not None or null_from <= x.ts < null_to else x._replace(value=1.0, quality=GOOD) for x in data
    ]
    load(engine, data)
    with session_scope(engine) as s:
        add_event(s, "gap", "dcs1", T0 + 6 * HOUR, T0 + 7 * HOUR, severity="warning")
        add_event(s, "gap", "dcs2", T0 + 8 * HOUR, T0 + 9 * HOUR)  # another endpoint: not ours
        add_event(s, "data_quality", "dcs1", T0 + 10 * HOUR, T0 + 11 * HOUR)  # not a gap
        add_event(s, "gap", "dcs1", T0 + 20 * HOUR)  # still open
    with session_scope(engine) as s:
        whole = trend(s, TAG, T0, T0 + DAY - 1, 200)
        raw = trend(s, TAG, null_from - MIN, null_to + MIN, 200)  # 133 samples: raw, unchanged
    assert whole.source == "1m"
    assert whole.gaps[0][0] == null_from
    assert null_to <= whole.gaps[0][1] <= null_to + whole.bucket_ms
    assert whole.gaps[1:] == [(T0 + 6 * HOUR, T0 + 7 * HOUR), (T0 + 20 * HOUR, T0 + DAY - 1)]
    assert raw.source == "raw"
    assert raw.bucket_ms == 0
    assert raw.gaps == [(null_from, null_to)]
    assert raw.values.count(None) == 120
    ts, vals = whole.with_breaks()
    assert len(ts) == len(whole.ts) + 3
    assert vals[ts.index(T0 + 6 * HOUR)] is None
    # a stretch of NULLs that began before the range
    with session_scope(engine) as s:
        inner = trend(s, TAG, null_from + 5 * MIN, T0 + 5 * HOUR, 50)
    assert inner.gaps[0][0] == null_from + 5 * MIN
    assert null_to <= inner.gaps[0][1] <= null_to + inner.bucket_ms


def test_empty_and_degenerate_ranges(engine: Engine) -> None:
    load(engine, series(days=1)[:100])
    with session_scope(engine) as s:
        assert trend(s, TAG, T0 + 5 * DAY, T0 + 6 * DAY, 100).ts == []
        assert trend(s, 99, T0, T0 + DAY, 100).ts == []
        assert trend(s, TAG, T0 + DAY, T0, 100).ts == []
        one = trend(s, TAG, T0, T0, 0)
    assert one.ts == [T0]


def test_ranges_older_than_retention_are_read_from_hour_rollups(engine: Engine) -> None:
    data = series(days=3)
    load(engine, data)
    with session_scope(engine) as s:  # as retention leaves it: raw kept longer than minute rollups, hours kept
        s.execute(delete(Sample).where(Sample.ts < T0 + DAY))
        s.execute(delete(Rollup1m).where(Rollup1m.bucket < T0 + 2 * DAY + 12 * HOUR))
    cases = [
        (T0 + DAY + 6 * HOUR, T0 + DAY + 12 * HOUR - 1, "1h"),  # minute buckets wanted, minute rollups gone
        (T0 + 6 * HOUR, T0 + 8 * HOUR - 1, "1h"),  # raw and minute rollups gone
        (T0 + 2 * DAY + 13 * HOUR, T0 + 2 * DAY + 19 * HOUR - 1, "1m"),  # still there
        (T0 + DAY + 6 * HOUR, T0 + DAY + 6 * HOUR + 10 * MIN - 1, "raw"),  # raw kept longer
    ]
    with session_scope(engine) as s:
        for t0, t1, source in cases:
            tr = trend(s, TAG, t0, t1, 20)
            assert tr.source == source, (t0, t1)
            check_shape(tr, t0, t1, 20)
            lo, hi = good_extremes(data, t0, t1)
            assert min(v for v in tr.values if v is not None) == lo
            assert max(v for v in tr.values if v is not None) == hi
