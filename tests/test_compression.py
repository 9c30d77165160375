"""Swinging-door compression (engine.compression) and the compaction of stored samples (store.compaction):
a test signal of ramps, steps, noise and spikes read back from the kept points lies within the deviation at
every original point; spikes, steps, bad readings and gaps are kept; on both databases the trend drawn from
compacted samples stays within the deviation of the raw, while the rollups, and so the consumption counted
from counters, do not change at all."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import func, select

from engine.compression import compress, reconstruct, thin_counter
from engine.types import SampleIn
from plant import load_plant
from plant.loader import PlantFileError
from plant.schema import StorageSettings, TagKind
from services.__main__ import FACTORIES
from store.compaction import compact, incremental_vacuum, watermarks
from store.counters import counter_increase
from store.db import make_engine, migrate, session_scope
from store.models import Rollup1h, Rollup1m, Sample
from store.samples import rebuild_rollups, write_samples
from store.tags import sync_tags
from store.trend import trend
from tests.webutil import MINI_PLANT

T0 = 1_780_000_000_000  # a fixed clock: compression is about shapes, not today
BAD = 0x80000000


def signal(n: int = 4000, seed: int = 3) -> list[tuple[int, float | None, int]]:
    """1 Hz: ramps up and down, a flat stretch, steps, noise, single-sample spikes, a bad stretch, a gap."""
    rng = random.Random(seed)
    out: list[tuple[int, float | None, int]] = []
    t = T0
    for i in range(n):
        t += 1000 if i != 2500 else 900_000  # a 15-minute gap before sample 2500
        if i < 600:
            v = 100 + 0.5 * i  # ramp up
        elif i < 1000:
            v = 400 - 0.3 * (i - 600)  # ramp down
        elif i < 1400:
            v = 280.0  # flat
        elif i < 2000:
            v = 280 + (60 if (i // 150) % 2 else 0) + rng.gauss(0, 0.3)  # steps with a little noise
        else:
            v = 300 + 10 * math.sin(i / 40) + rng.gauss(0, 2.0)  # a wave with real noise
        if i in (700, 1200, 3100):
            v += 90  # single-sample spikes
        q = BAD if 3300 <= i < 3310 else 0
        out.append((t, None if q else v, q))
    return out


def _check_within(points: list[tuple[int, float | None, int]], keep: list[int], deviation: float) -> None:
    kept = [(points[i][0], points[i][1]) for i in keep if points[i][1] is not None]
    segments: list[list[tuple[int, float]]] = [[]]
    for i in keep:  # read back between good kept points only (a bad reading breaks the line)
        if points[i][1] is None:
            segments.append([])
        else:
            segments[-1].append((points[i][0], points[i][1]))  # type: ignore[arg-type]
    assert kept
    for ts, v, _q in points[: keep[-1] + 1]:
        if v is None:
            continue
        seg = next(s for s in segments if s and s[0][0] <= ts <= s[-1][0])
        assert abs(reconstruct(seg, ts) - v) <= deviation * (1 + 1e-9) + 1e-9, (ts, v)


@pytest.mark.parametrize("deviation", [0.0, 0.5, 2.0, 8.0])
def test_the_kept_points_reproduce_the_signal_within_the_deviation(deviation: float) -> None:
    pts = signal()
    result = compress(pts, deviation, max_gap_ms=600_000)
    keep = result.keep
    assert keep[0] == 0 and keep == sorted(set(keep)) and result.anchor == keep[-1] < len(pts) - 1
    _check_within(pts, keep, deviation)
    kept = set(keep)
    assert {700, 1200, 3100} <= kept  # spikes
    for i in range(1400, 2000):
        if (i // 150) % 2 != ((i - 1) // 150) % 2:
            assert {i - 1, i} <= kept, i  # both sides of every step
    assert {2499, 2500} <= kept  # both sides of the gap
    assert set(range(3299, 3311)) <= kept  # bad readings and the good ones around them
    if deviation > 0:
        assert len(keep) < len(pts) / (2 if deviation < 8 else 8)  # the noise (sigma 2) needs a wider door
        assert sum(1 for i in keep if 1000 <= i < 1400) <= 5  # a flat stretch: its two ends, the spike and its sides


def test_deviation_zero_keeps_exactly_the_changes_of_a_state() -> None:
    states = [0, 0, 0, 1, 1, 1, 1, 3, 3, 0, 0, 0, 0]
    pts = [(T0 + 1000 * i, float(v), 0) for i, v in enumerate(states)]
    keep = compress(pts, 0.0).keep
    assert keep == [0, 2, 3, 6, 7, 8, 9]  # the last reading before and the first after each change


def test_a_run_compressed_in_pieces_equals_one_pass() -> None:
    pts = signal(seed=5)
    whole = compress(pts, 1.0, max_gap_ms=600_000).keep
    kept: list[int] = [0]
    start = 0
    for cut in (700, 1500, 2600, 3600, len(pts)):
        part = compress(pts[start:cut], 1.0, max_gap_ms=600_000)
        kept += [start + i for i in part.keep[1:]]
        start += part.anchor
    assert kept == whole[: len(kept)] and whole[len(kept) :] == []


def test_bad_deviations_are_refused() -> None:
    with pytest.raises(ValueError):
        compress([(T0, 1.0, 0)], -1.0)
    with pytest.raises(ValueError, match="not compressed"):
        StorageSettings(deviation_pct={TagKind.ENERGY: 1.0})


def test_a_deviation_on_a_counter_names_the_tag_in_the_plant_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = MINI_PLANT.read_text(encoding="utf-8")
    marker = "{id: FF-1.CONC_FED, "
    assert marker in text
    bad = tmp_path / "plant.yaml"
    bad.write_text(text.replace(marker, marker + "deviation: 0.5, "), encoding="utf-8")
    with pytest.raises(PlantFileError, match=r"(?s)tags\[\d+\].*stored raw"):
        load_plant(bad)


ROLLUP_COLS = ("tag_id", "bucket", "n", "total", "vmin", "vmax", "first_ts", "first", "last_ts", "last")
WINDOWS = ((T0, T0 + 4_000_000), (T0 + 123_456, T0 + 3_210_987), (T0 + 61_000, T0 + 62_500))


def _store_state(url: str, counters: list[int]) -> tuple[list[tuple[object, ...]], ...]:
    """Every minute and hour rollup row, and what the counters counted over windows with odd edges."""
    engine = make_engine(url)
    with session_scope(engine) as session:
        out = []
        for model in (Rollup1m, Rollup1h):
            rows = session.execute(select(model).order_by(model.tag_id, model.bucket)).scalars().all()
            out.append([tuple(getattr(r, c) for c in ROLLUP_COLS) for r in rows])
        out.append([tuple(sorted(counter_increase(session, counters, t0, t1).items())) for t0, t1 in WINDOWS])
    engine.dispose()
    return tuple(out)


def test_compaction_keeps_the_trend_within_the_deviation_and_the_rollups_exact(db_url: str) -> None:
    plant = load_plant(MINI_PLANT)
    migrate(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    temp, state, meter, counter = "FF-1.TEMP", "FF-1.STATE", "FF-1.ELEC", "FF-1.CONC_FED"
    dev = plant.storage.deviation(plant.tags[[t.id for t in plant.tags].index(temp)])
    assert dev == 32.0  # 2 % of its 0..1600 range
    raw = {n: [(ts, None if v is None else v * 3, q) for ts, v, q in signal(seed=k)] for k, n in enumerate([temp])}
    raw[state] = [(T0 + 1000 * i, float((i // 700) % 3), 0) for i in range(1, 4001)]
    raw[meter] = [(T0 + 1000 * i, 5000 + 0.8 * i + random.Random(i).random(), 0) for i in range(1, 4001)]
    raw[counter] = [(T0 + 1000 * i, float(i // 37), 0) for i in range(1, 4001)]
    batch = [SampleIn(ids[n], ts, v, q) for n, pts in raw.items() for ts, v, q in pts]
    batch.sort(key=lambda s: (s.ts, s.tag_id))
    for i in range(0, len(batch), 997):  # as the writer does: batches in time order
        with session_scope(engine) as session:
            write_samples(session, batch[i : i + 997])
    before = _store_state(db_url, [ids[meter], ids[counter]])

    service = FACTORIES["compaction"](plant, engine, None)
    now = max(ts for pts in raw.values() for ts, _, _ in pts) + service.after_ms + 1
    service.step(now)
    assert service.interval_s >= 60  # all done in one pass
    with session_scope(engine) as session:
        count = {n: int(session.scalar(select(func.count()).select_from(Sample).where(Sample.tag_id == ids[n])) or 0)
                 for n in raw}  # fmt: skip
        marks = watermarks(session)
    assert count[meter] == count[counter] == 4000  # counted amounts stay raw
    assert set(marks) >= {ids[temp], ids[state]} and ids[meter] not in marks
    with session_scope(engine) as session:
        kept_state = [int(ts) for ts in session.scalars(select(Sample.ts).where(Sample.tag_id == ids[state]))]
    changes = {T0 + 1000 * i for i in range(1, 4001) if i == 1 or (i // 700) != ((i + 1) // 700) or i % 700 == 0}
    assert {ts for ts in kept_state if ts <= marks[ids[state]]} <= changes | {T0 + 3_601_000}  # + one span mark
    assert count[temp] < 4000 / 5, count
    assert _store_state(db_url, [ids[meter], ids[counter]]) == before  # rollups and consumption unchanged

    # the trend drawn from what is left lies within the deviation of every original reading
    with session_scope(engine) as session:
        drawn = trend(session, ids[temp], T0, T0 + 2_400_000, width_px=1200)
    assert drawn.bucket_ms == 0 and len(drawn) < 1200
    line = [(ts, v) for ts, v in zip(drawn.ts, drawn.values, strict=True) if v is not None]
    for ts, v, _q in raw[temp]:
        if v is not None and ts <= line[-1][0]:  # past the last point drawn is the next window's business
            assert abs(reconstruct(line, ts) - v) <= dev + 1e-6

    # a replay of the whole history (spool, restart) stores the removed samples again but counts nothing twice
    for i in range(0, len(batch), 5000):
        with session_scope(engine) as session:
            write_samples(session, batch[i : i + 5000])
    assert _store_state(db_url, [ids[meter], ids[counter]]) == before
    second = compact(engine, service.deviations(), now, max_gap_ms=service.max_gap_ms)
    assert second.finished and second.deleted == 0  # what was compacted is not compressed twice
    engine.dispose()


def test_a_pass_that_runs_out_of_time_goes_on_where_it_stopped(sqlite_url: str) -> None:
    plant = load_plant(MINI_PLANT)
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
        names = ["FF-1.TEMP", "CV-1.BATH_TEMP", "BL-1.CURRENT"]
        write_samples(session, [SampleIn(ids[n], ts, v, q) for n in names for ts, v, q in signal()])
    devs = {ids[n]: 5.0 for n in names}
    end = T0 + 10_000_000_000
    one = compact(engine, devs, end, max_gap_ms=600_000, rows=300)
    passes, nxt = 0, None
    while True:
        r = compact(engine, devs, end, max_gap_ms=600_000, rows=300, budget_s=0.01, start_tag=nxt)
        nxt = r.next_tag
        passes += 1
        if r.finished:
            break
        assert passes < 500
    assert one.finished and one.deleted > 0
    with session_scope(engine) as session:
        left = {int(t): int(n) for t, n in session.execute(select(Sample.tag_id, func.count()).group_by(Sample.tag_id))}
    for n in names:  # runs of 300 rows keep a point where a run ends without a decision: a few more at most
        assert left[ids[n]] < 4000 / 4
    freed = incremental_vacuum(engine, min_free_fraction=0.0)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2  # a new file returns freed pages
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar() == 0 or freed == 20_000
    engine.dispose()


def test_a_rebuild_of_the_rollups_leaves_compressed_tags_alone(sqlite_url: str) -> None:
    plant = load_plant(MINI_PLANT)
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
        pts = signal()[:2000]
        write_samples(session, [SampleIn(ids["FF-1.TEMP"], ts, v, q) for ts, v, q in pts])
        write_samples(session, [SampleIn(ids["FF-1.ELEC"], ts, (ts - T0) / 1000, 0) for ts, _, _ in pts])
    before = _store_state(sqlite_url, [ids["FF-1.ELEC"]])
    assert compact(engine, {ids["FF-1.TEMP"]: 5.0}, T0 + 10**9, max_gap_ms=600_000).deleted > 1000
    with session_scope(engine) as session:
        rebuild_rollups(session, None, T0, T0 + 3_000_000)  # e.g. a backfill run a second time
    assert _store_state(sqlite_url, [ids["FF-1.ELEC"]]) == before
    engine.dispose()


def test_thin_counter_keeps_both_sides_of_minute_boundaries_and_of_resets() -> None:
    pts = [(T0 + 1000 * i, float(i if i < 300 else i - 300), 0) for i in range(1, 400)]
    pts[150] = (pts[150][0], None, BAD)
    keep = thin_counter(pts, 60_000, max_gap_ms=600_000).keep
    minute = [i for i in range(len(pts) - 1) if pts[i][0] // 60_000 != pts[i + 1][0] // 60_000]
    assert set(minute) | {i + 1 for i in minute} <= set(keep)  # both sides of every minute's boundary
    assert {149, 150, 151} <= set(keep) and {298, 299} <= set(keep)  # a bad reading, a reset: both sides
    assert len(keep) < len(pts) / 15


def test_counters_thinned_to_minutes_count_whole_minutes_exactly(db_url: str) -> None:
    mini = load_plant(MINI_PLANT)
    plant = mini.model_copy(update={"storage": mini.storage.model_copy(update={"counters": "minute"})})
    migrate(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    meter, counter = ids["FF-1.ELEC"], ids["FF-1.CONC_FED"]
    rng = random.Random(11)
    raw: list[SampleIn] = []
    e = 5000.0
    for i in range(1, 7201):  # two hours at 1 Hz: a meter with a reset and a gap, a stepping counter
        e = 0.0 if i == 4000 else e + 0.8 + rng.random()
        if 5000 <= i < 5400:
            continue  # nothing stored for 400 s
        q = BAD if i in (6000, 6001) else 0
        raw.append(SampleIn(meter, T0 + 1000 * i, None if q else e, q))
        raw.append(SampleIn(counter, T0 + 1000 * i, float(i // 37), 0))
    raw.sort(key=lambda s: (s.ts, s.tag_id))
    for i in range(0, len(raw), 997):
        with session_scope(engine) as session:
            write_samples(session, raw[i : i + 997])
    m = -(-T0 // 60_000) * 60_000  # the first whole minute
    spans = ((0, 1), (0, 119), (3, 64), (65, 66), (66, 90), (99, 117))
    windows = [(m + a * 60_000, m + b * 60_000 - end) for a, b in spans for end in (1, 0)]  # its end out, in

    def state() -> tuple[object, ...]:
        with session_scope(engine) as session:
            rolls = [
                [tuple(getattr(r, c) for c in ROLLUP_COLS) for r in session.execute(select(model)).scalars().all()]
                for model in (Rollup1m, Rollup1h)
            ]
            counted = [counter_increase(session, [meter, counter], t0, t1) for t0, t1 in windows]
        return sorted(rolls[0]), sorted(rolls[1]), counted

    before = state()
    service = FACTORIES["compaction"](plant, engine, None)
    service.step(T0 + 7300 * 1000 + service.after_ms)
    with session_scope(engine) as session:
        left = {t: int(n) for t, n in session.execute(select(Sample.tag_id, func.count()).group_by(Sample.tag_id))}
    assert left[meter] < 7200 / 20 and left[counter] < 7200 / 20, left
    after = state()
    assert after == before  # every rollup and what the counters counted over whole minutes: exactly
    assert before[2][2][meter] > 0 and before[2][8][meter] > 0
    engine.dispose()
