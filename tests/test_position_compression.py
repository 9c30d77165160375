"""Compression of badge positions (engine.compression.compress_track, store.compaction.compact_positions): a
walk of turns, curves, stops, floor and zone changes, an off-site fix and a gap, read back by straight lines in
time between the kept fixes, lies within the deviation of every fix; zone, muster point, floor and quality
changes are kept on both sides, so the exposure per zone and the muster arrivals read from the store are the same
before and after compaction, and a replay draws the compacted track as lines, not as stops."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from sqlalchemy import func, select

from engine.compression import Regions, compress_track, reconstruct_track
from engine.exposure import Window
from engine.tracks import trips_of
from engine.types import GOOD, PositionIn
from plant import load_plant
from services.__main__ import FACTORIES
from services.compaction import regions_of
from store import people
from store.compaction import compact_positions
from store.db import make_engine, migrate, session_scope
from store.models import Position, PositionCompaction
from store.positions import write_positions
from tests.webutil import MINI_PLANT

T0 = 1_780_000_000_000  # a fixed clock
S = 1000
UNCERTAIN = 0x40000000
HALL = [(50.0, 150.0), (150.0, 150.0), (150.0, 250.0), (50.0, 250.0)]
AISLE = [(160.0, 150.0), (240.0, 150.0), (240.0, 250.0), (160.0, 250.0)]
MUSTER = (120.0, 115.0, 15.0)


def walk(badge: str = "P001", seed: int = 1, n: int = 3600) -> list[PositionIn]:
    """1 Hz: from the muster point north into the hall, a circle, a stop, east into the aisle, up a floor,
    zig-zags, one off-site fix, a 5-minute gap, back west; 0.2 m of noise on every fix."""
    rng = random.Random(seed)
    out: list[PositionIn] = []
    x, y, floor = 110.0, 110.0, 0
    t = T0
    for i in range(n):
        t += S if i != 2500 else 300 * S
        if i < 100:
            y += 1.0  # north, out of the muster circle into the hall
        elif i < 700:
            a = (i - 100) / 600 * 2 * math.pi  # a circle of radius 25 m
            x, y = 100 + 25 * math.sin(a), 185 - 25 * math.cos(a)
        elif i < 900:
            pass  # standing
        elif i < 1000:
            x += 1.2  # east into the aisle
        elif i < 1900:
            floor = 1 if i >= 1200 else 0
            x += 0.8 * (1 if (i // 60) % 2 else -1) * 0.5
            y += 0.3 * (1 if (i // 45) % 2 else -1)
        else:
            x -= 0.1
        q = UNCERTAIN if i == 2000 else GOOD
        out.append(PositionIn(badge, t, x + rng.gauss(0, 0.1), y + rng.gauss(0, 0.1), floor, q))
    return out


def points(fixes: list[PositionIn], regions: Regions) -> list[tuple[int, float, float, int, int, object]]:
    keys = regions.keys([p.x for p in fixes], [p.y for p in fixes])
    return [(p.ts, p.x, p.y, p.floor, p.quality, k) for p, k in zip(fixes, keys, strict=True)]


def within(fixes: list[PositionIn], kept: list[PositionIn], deviation: float) -> float:
    """The largest distance of a good fix from the kept track read back (lines between good kept fixes)."""
    segments: list[list[tuple[int, float, float]]] = [[]]
    for p in kept:
        if p.quality == GOOD:
            segments[-1].append((p.ts, p.x, p.y))
        else:
            segments.append([])
    worst = 0.0
    for p in fixes:
        if p.quality != GOOD or p.ts > kept[-1].ts:
            continue
        seg = next(s for s in segments if s and s[0][0] <= p.ts <= s[-1][0])
        x, y = reconstruct_track(seg, p.ts)
        worst = max(worst, math.hypot(x - p.x, y - p.y))
    assert worst <= deviation * (1 + 1e-9) + 1e-9
    return worst


@pytest.mark.parametrize("deviation", [0.5, 1.0, 3.0])
def test_the_kept_fixes_reproduce_the_walk_within_the_deviation(deviation: float) -> None:
    fixes = walk()
    regions = Regions([HALL, AISLE], [MUSTER])
    pts = points(fixes, regions)
    result = compress_track(pts, deviation, max_gap_ms=600 * S, max_span_ms=60 * S)
    keep = result.keep
    assert keep[0] == 0 and keep == sorted(set(keep)) and result.anchor == keep[-1] < len(pts) - 1
    within(fixes, [fixes[i] for i in keep], deviation)
    kept = set(keep)
    for i in range(1, len(pts)):
        if pts[i][3] != pts[i - 1][3] or pts[i][5] != pts[i - 1][5]:
            assert {i - 1, i} <= kept, i  # both sides of a floor, zone or muster point change
    assert {1999, 2000, 2001} <= kept  # the off-site fix and the fixes around it
    assert {2499, 2500} <= kept  # both sides of the gap
    gaps = [pts[b][0] - pts[a][0] for a, b in itertools.pairwise(keep) if not (a == 2499 and b == 2500)]
    assert max(gaps) <= 60 * S  # a fix at least every minute
    assert len(keep) < len(pts) / (4 if deviation < 1 else 8), len(keep)


def test_a_track_compressed_in_pieces_equals_one_pass() -> None:
    pts = points(walk(seed=4), Regions([HALL, AISLE], [MUSTER]))
    whole = compress_track(pts, 1.0, 600 * S, 60 * S).keep
    kept, start = [0], 0
    for cut in (500, 1300, 2400, 3000, len(pts)):
        part = compress_track(pts[start:cut], 1.0, 600 * S, 60 * S)
        kept += [start + i for i in part.keep[1:]]
        start += part.anchor
    assert kept == whole


def test_a_replay_draws_a_gap_of_a_compressed_track_as_a_line() -> None:
    from engine.tracks import Track

    tr = Track("P001")
    for ts, x in ((0, 0.0), (50 * S, 60.0), (100 * S, 120.0)):
        tr.add(ts, x, 0.0, 0, True)
    (trip,) = trips_of(tr, 5 * S, 0, 100 * S, None)
    assert trip[0] == [0, 50 * S, 100 * S]  # no stop inserted before each kept fix


def _store_view(url: str) -> tuple[object, ...]:
    plant = load_plant(MINI_PLANT)
    engine = make_engine(url)
    windows = [Window("A", T0, T0 + 2 * 3600 * S)]
    with session_scope(engine) as session:
        rows = people.exposure(session, plant, windows, people.SYSTEM, levels=None, now_ms=T0 + 2 * 3600 * S, step_ms=S)
        arrivals = people.muster_arrivals(session, plant, ["P001", "P004"], T0, T0 + 2 * 3600 * S)
        n = int(session.scalar(select(func.count()).select_from(Position)) or 0)
    engine.dispose()
    return sorted((r.badge, r.zone, r.seconds, r.entries, r.first_ms, r.last_ms) for r in rows), arrivals, n


def test_compaction_of_stored_positions_keeps_exposure_and_muster_arrivals(db_url: str) -> None:
    plant = load_plant(MINI_PLANT)
    migrate(db_url)
    engine = make_engine(db_url)
    tracks = {"P001": walk("P001", 1), "P004": walk("P004", 2)}
    fixes = sorted((p for t in tracks.values() for p in t), key=lambda p: (p.ts, p.badge))
    for i in range(0, len(fixes), 1000):
        with session_scope(engine) as session:
            write_positions(session, fixes[i : i + 1000])
    exposure_before, arrivals_before, n_before = _store_view(db_url)
    assert exposure_before and arrivals_before and n_before == 7200

    service = FACTORIES["compaction"](plant, engine, None)
    now = max(p.ts for p in fixes) + service.after_ms + 1
    service.step(now)
    assert service.interval_s >= 60  # all done in one pass
    exposure_after, arrivals_after, n_after = _store_view(db_url)
    assert n_after < n_before / 6, n_after
    assert exposure_after == exposure_before  # time per zone, entries, first and last: exactly
    assert arrivals_after == arrivals_before
    dev = plant.storage.position_deviation_m
    assert dev == 1.0
    with session_scope(engine) as session:
        for badge, track in tracks.items():
            tr = people.trajectory(session, plant, badge, T0, T0 + 2 * 3600 * S, people.SYSTEM, max_points=10_000)
            assert tr.step_ms == 0  # the kept fixes themselves
            kept = [PositionIn(badge, ts, x, y, fl) for seg in tr.segments for ts, x, y, fl in seg]
            good = [p for p in track if p.quality == GOOD and p.ts <= kept[-1].ts]
            for p in good:  # within the deviation of the stretch (on-site segment) that holds it
                seg = next(s for s in tr.segments if s[0][0] <= p.ts <= s[-1][0])
                x, y = reconstruct_track([(t, sx, sy) for t, sx, sy, _f in seg], p.ts)
                assert math.hypot(x - p.x, y - p.y) <= dev + 1e-6
        marks = {b: ts for b, ts in session.execute(select(PositionCompaction.badge, PositionCompaction.through_ts))}
    assert set(marks) == {"P001", "P004"}
    again = compact_positions(
        engine, ["P001", "P004"], 1.0, now, regions_of(plant), max_gap_ms=600 * S, max_span_ms=60 * S
    )
    assert again.finished and again.deleted == 0  # what was compacted is not compressed twice
    engine.dispose()
