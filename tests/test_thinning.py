"""Position thinning: the stored fixes reproduce every fix within the distance (holding the last stored one),
the moment a standing badge starts to move is kept, floor and quality changes are kept, replays pass through;
through the collectors' writer the badge's current position still takes every fix."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from pathlib import Path

from sqlalchemy import select

from collectors.records import Chunk
from collectors.writer import BatchWriter, WriterOptions
from engine.thinning import PositionThinning
from engine.types import BAD, PositionIn
from store.db import make_engine, migrate, session_scope
from store.models import BadgeCurrent, Position

D = 0.5
T0 = 1_780_000_000_000


def walk(badge: str = "B1", seed: int = 3) -> list[PositionIn]:
    """1 Hz fixes: standing with 0.1 m jitter for 100 s, walking 1.2 m/s for 30 s, standing 60 s, up a floor."""
    rng = random.Random(seed)
    out = []
    x, y = 10.0, 20.0
    for i in range(200):
        if 100 <= i < 130:
            x += 1.2
        floor = 1 if i >= 190 else 0
        out.append(PositionIn(badge, T0 + i * 1000, x + rng.uniform(-0.1, 0.1), y + rng.uniform(-0.1, 0.1), floor))
    return out


def held_at(stored: list[PositionIn], ts: int) -> PositionIn:
    return max((p for p in stored if p.ts <= ts), key=lambda p: p.ts)


def test_every_fix_is_within_the_distance_of_what_is_stored() -> None:
    fixes = walk()
    thin = PositionThinning(min_distance_m=D, max_interval_ms=30_000)
    stored = thin.filter(fixes)
    assert len(stored) < len(fixes) / 3, len(stored)  # most of the standing is not stored
    assert thin.kept == len(stored) and thin.kept + thin.dropped == len(fixes)
    for p in fixes:
        h = held_at(stored, p.ts)
        assert math.hypot(p.x - h.x, p.y - h.y) < D + 1e-9 or h.ts == p.ts, p
        assert h.floor == p.floor
    # standing: a fix at least every 30 s
    standing = [p.ts for p in stored if p.ts < T0 + 100_000]
    assert all(b - a <= 30_000 for a, b in itertools.pairwise(standing))
    # the last fix before it walked off is stored: the track shows when it left
    assert T0 + 99_000 in {p.ts for p in stored}
    assert all(T0 + i * 1000 in {p.ts for p in stored} for i in range(100, 130))  # walking: every fix
    assert T0 + 190_000 in {p.ts for p in stored}  # a new floor


def test_quality_changes_and_replays_are_stored() -> None:
    thin = PositionThinning(min_distance_m=D, max_interval_ms=30_000)
    first = [PositionIn("B2", T0 + i * 1000, 1.0, 1.0) for i in range(5)]
    assert [p.ts for p in thin.filter(first)] == [T0]
    bad = PositionIn("B2", T0 + 5000, 1.0, 1.0, 0, BAD)
    assert thin.filter([bad]) == [bad]
    replay = first[:3]  # older than the last stored fix: not judged, passed through (the store drops repeats)
    assert thin.filter(replay) == replay
    assert thin.filter([PositionIn("B3", T0, 0.0, 0.0)]) == [PositionIn("B3", T0, 0.0, 0.0)]  # its own state


def test_the_writer_thins_the_history_not_the_current_position(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    migrate(url)
    fixes = walk("B1") + walk("B2", seed=4)
    fixes.sort(key=lambda p: p.ts)

    async def run() -> BatchWriter:
        writer = BatchWriter(
            url, tmp_path / "spool", WriterOptions(batch_ms=20, position_min_distance_m=D, position_max_interval_s=30)
        )
        task = asyncio.create_task(writer.run())
        for i in range(0, len(fixes), 40):
            writer.submit(Chunk("rtls", positions=fixes[i : i + 40]))
            await asyncio.sleep(0.01)
        await writer.stop()
        await task
        return writer

    writer = asyncio.run(run())
    expected = PositionThinning(D, 30_000).filter(fixes)
    engine = make_engine(url)
    with session_scope(engine) as session:
        history = {(b, ts) for b, ts in session.execute(select(Position.badge, Position.ts))}
        current = {b.badge: b.ts for b in session.scalars(select(BadgeCurrent))}
    engine.dispose()
    assert history == {(p.badge, p.ts) for p in expected}
    assert len(history) < len(fixes) / 3
    assert current == {"B1": T0 + 199_000, "B2": T0 + 199_000}  # the newest fix, thinned away or not
    assert writer.thinning is not None and writer.thinning.dropped == len(fixes) - len(expected)
