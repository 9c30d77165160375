"""Counter increases over windows on SQLite and PostgreSQL, with samples written through the real write
path (raw rows and their rollups): plain increase, resets, a small step back, gaps, many tags at once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, event

from engine.types import BAD_NO_COMMUNICATION, GOOD, UNCERTAIN, SampleIn, is_good
from store.counters import counter_increase
from store.db import make_engine, migrate, session_scope
from store.models import Rollup1m, Tag
from store.samples import write_samples

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SEC = 1_000
MIN = 60_000
HOUR = 3_600_000
STEP = 10 * SEC
RATE = 180 / HOUR  # t per ms at 180 t/h
BASE = 9_400_000.0  # counters that ran for years: large readings, 0.001 resolution

PLAIN, RESET, GAP, BACK, FLAT, EMPTY = 1, 2, 3, 4, 5, 6
RESET_AT = T0 + 9 * HOUR + 20 * MIN + 35 * SEC  # inside a whole hour of the windows below
RESET2_AT = T0 + 14 * HOUR  # exactly on a minute and hour boundary
GAP_FROM, GAP_TO = T0 + 11 * HOUR + 13 * MIN, T0 + 13 * HOUR + 2 * MIN
BACK_AT = T0 + 6 * HOUR + 30 * MIN + 10 * SEC

WINDOWS = [
    (T0 + 5 * HOUR + 7 * SEC, T0 + 17 * HOUR + 23_500),  # unaligned, several whole hours
    (T0 + 8 * HOUR, T0 + 16 * HOUR),  # aligned on hours
    (T0 + 8 * HOUR + 30 * SEC, T0 + 8 * HOUR + 50 * SEC),  # inside one minute
    (T0 + 3 * HOUR + 59 * MIN + 1 * SEC, T0 + 4 * HOUR + 2 * MIN),  # across an hour, no whole hour
    (T0 + 12 * HOUR, T0 + 14 * HOUR + 5 * MIN),  # starts inside the gap
    (T0 + 9 * HOUR + 20 * MIN, T0 + 9 * HOUR + 21 * MIN),  # the minute holding the reset
    (T0 - HOUR, T0 + 30 * HOUR),  # beyond the data at both ends
]


def reading(ts: int) -> float:
    return round(BASE + RATE * (ts - T0), 3)


def build() -> list[SampleIn]:
    out: list[SampleIn] = []
    for ts in range(T0, T0 + 24 * HOUR + 1, STEP):
        out.append(SampleIn(PLAIN, ts, reading(ts), GOOD))
        # RESET: back to zero at RESET_AT, counting on from there; again at RESET2_AT
        if ts < RESET_AT:
            out.append(SampleIn(RESET, ts, reading(ts), GOOD))
        elif ts < RESET2_AT:
            out.append(SampleIn(RESET, ts, round(RATE * (ts - RESET_AT), 3), GOOD))
        else:
            out.append(SampleIn(RESET, ts, round(RATE * (ts - RESET2_AT), 3), GOOD))
        # GAP: nothing stored for two hours (an outage marker at its start); the plant kept counting
        if ts == GAP_FROM:
            out.append(SampleIn(GAP, ts, None, BAD_NO_COMMUNICATION))
        elif not GAP_FROM <= ts < GAP_TO:
            out.append(SampleIn(GAP, ts, reading(ts), GOOD))
        # BACK: one reading 2 t low (a glitch), then back on track; an uncertain spike that must not count
        if ts == BACK_AT:
            out.append(SampleIn(BACK, ts, reading(ts) - 2.0, GOOD))
        elif ts == BACK_AT + 5 * MIN:
            out.append(SampleIn(BACK, ts, reading(ts) + 1_000.0, UNCERTAIN))
        else:
            out.append(SampleIn(BACK, ts, reading(ts), GOOD))
        if ts % (5 * MIN) == 0:  # report by exception: a flat counter repeats only on heartbeat
            out.append(SampleIn(FLAT, ts, 512.25, GOOD))
    return out


def reference(samples: list[SampleIn], tag: int, t0: int, t1: int, lookback: int = 6 * HOUR) -> float | None:
    """Sum of positive steps over the raw readings, the step across t0 counted for its share after t0."""
    good = sorted((s.ts, s.value) for s in samples if s.tag_id == tag and s.value is not None and is_good(s.quality))
    before = [p for p in good if t0 - lookback <= p[0] <= t0]
    seq = before[-1:] + [p for p in good if t0 < p[0] <= t1]
    if not seq:
        return None
    total = 0.0
    for (ta, va), (tb, vb) in itertools.pairwise(seq):
        if vb > va:
            total += (vb - va) * ((tb - t0) / (tb - ta) if ta < t0 else 1.0)
    return total


@pytest.fixture(scope="module")
def data() -> list[SampleIn]:
    return build()


@pytest.fixture
def engine(db_url: str, data: list[SampleIn]) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    with session_scope(eng) as s:
        for tag_id, name in ((PLAIN, "PLAIN"), (RESET, "RESET"), (GAP, "GAP"), (BACK, "BACK"), (FLAT, "FLAT")):
            s.add(Tag(id=tag_id, name=name, endpoint="dcs", node_id=f"ns=2;s={name}", kind="counter", unit="t"))
        s.add(Tag(id=EMPTY, name="EMPTY", endpoint="dcs", node_id="ns=2;s=EMPTY", kind="counter", unit="t"))
    shuffled = sorted(data, key=lambda x: (x.ts // (7 * MIN), x.tag_id, x.ts))  # batches by time, like a collector
    for i in range(0, len(shuffled), 5_000):
        with session_scope(eng) as s:
            write_samples(s, shuffled[i : i + 5_000])
    yield eng
    eng.dispose()


def test_matches_the_raw_reference_for_every_tag_and_window(engine: Engine, data: list[SampleIn]) -> None:
    tags = [PLAIN, RESET, GAP, FLAT, EMPTY]  # counters that only rise, or fall to zero
    with session_scope(engine) as s:
        for t0, t1 in WINDOWS:
            got = counter_increase(s, tags, t0, t1)
            for tag in tags:
                want = reference(data, tag, t0, t1)
                if want is None:
                    assert tag not in got, (tag, t0 - T0, t1 - T0)
                else:
                    assert got[tag] == pytest.approx(want, abs=1e-6), (tag, t0 - T0, t1 - T0)


def test_plain_increase_is_rate_times_time(engine: Engine) -> None:
    t0, t1 = T0 + 5 * HOUR + 7 * SEC, T0 + 17 * HOUR + 23_500
    last_reading = t1 - (t1 - T0) % STEP  # the reading at t1 is the newest one at or before it
    with session_scope(engine) as s:
        got = counter_increase(s, [PLAIN, GAP], t0, t1)
    assert got[PLAIN] == pytest.approx(RATE * (last_reading - t0), abs=0.01)
    assert got[GAP] == pytest.approx(got[PLAIN], abs=0.01)  # the gap's production is counted once, after it


def test_reset_counts_on_from_the_new_reading(engine: Engine) -> None:
    t0, t1 = T0 + 8 * HOUR, T0 + 16 * HOUR
    with session_scope(engine) as s:
        got = counter_increase(s, [PLAIN, RESET], t0, t1)
    # Lost: only what was counted between the last reading before each reset and the reset (< one step).
    assert got[PLAIN] - 2 * RATE * STEP <= got[RESET] <= got[PLAIN]
    assert got[RESET] > 0.99 * got[PLAIN]


def test_glitch_inside_a_bucket_and_uncertain_spike_add_nothing(engine: Engine) -> None:
    t0, t1 = T0 + 6 * HOUR, T0 + 7 * HOUR  # one whole hour: the glitch is inside a rollup bucket
    with session_scope(engine) as s:
        got = counter_increase(s, [PLAIN, BACK, FLAT], t0, t1)
    # BACK reads 2 t low once and comes back; inside a bucket that ends above its start the net change
    # counts, so the glitch adds nothing (a reset is a bucket ending below its start).
    assert got[BACK] == pytest.approx(got[PLAIN], abs=1e-6)
    assert got[FLAT] == 0.0


def test_gap_spanning_the_window_start_is_shared(engine: Engine) -> None:
    t0, t1 = T0 + 12 * HOUR, T0 + 13 * HOUR + 30 * MIN
    with session_scope(engine) as s:
        got = counter_increase(s, [PLAIN, GAP], t0, t1)
    # The reading at t0 is interpolated across the gap; a linear counter comes out exact.
    assert got[GAP] == pytest.approx(got[PLAIN], abs=0.01)


def test_one_statement_for_many_tags_and_one_seek(engine: Engine) -> None:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, stmt: str, *_args: object) -> None:
        statements.append(stmt)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as s:
            got = counter_increase(s, [PLAIN, RESET, GAP, BACK, FLAT, EMPTY], T0 + HOUR + 17, T0 + 20 * HOUR + 5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert set(got) == {PLAIN, RESET, GAP, BACK, FLAT}
    selects = [x for x in statements if "SELECT" in x.upper()]
    # the statement, and one seek for how far back the minute rollups reach (retention may have cut them)
    assert len(selects) == 2 and "min(rollup_1m.bucket)" in selects[0]


def test_empty_inputs(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert counter_increase(s, [], T0, T0 + HOUR) == {}
        assert counter_increase(s, [PLAIN], T0 + HOUR, T0) == {}
        assert counter_increase(s, [EMPTY], T0, T0 + HOUR) == {}


def test_minute_rollups_deleted_by_retention_are_read_from_the_raw_readings(
    engine: Engine, data: list[SampleIn]
) -> None:
    tags = [PLAIN, RESET, GAP, FLAT, EMPTY]
    with session_scope(engine) as s:  # retention keeps the raw readings longer than the minute rollups
        s.execute(delete(Rollup1m).where(Rollup1m.bucket < T0 + 20 * HOUR))
    with session_scope(engine) as s:
        for t0, t1 in WINDOWS:
            got = counter_increase(s, tags, t0, t1)
            for tag in tags:
                want = reference(data, tag, t0, t1)
                if want is None:
                    assert tag not in got, (tag, t0 - T0, t1 - T0)
                else:
                    assert got[tag] == pytest.approx(want, abs=1e-6), (tag, t0 - T0, t1 - T0)
