"""Store: migrations, idempotent sample writes, rollups, tags, events, positions, health.

Every test runs on a real SQLite file and on a real PostgreSQL database (``db_url`` fixture).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from engine.types import BAD, BAD_NO_COMMUNICATION, GOOD, UNCERTAIN, PositionIn, SampleIn
from plant.schema import Plant
from store.db import make_engine, migrate, session_scope
from store.events import add_event, close_event, events_between, open_events
from store.health import read_health, upsert_health
from store.models import Base, Event, Rollup1h, Rollup1m, Sample, Tag
from store.partitions import include_name
from store.positions import current_positions, trajectory, write_positions
from store.samples import bulk_load_samples, latest_values, rebuild_rollups, write_samples
from store.tags import sync_tags

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a whole hour
MIN = 60_000
HOUR = 3_600_000


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def rollups(session: Session, model: Any) -> dict[tuple[int, int], tuple[Any, ...]]:
    rows = session.scalars(select(model)).all()
    return {
        (r.tag_id, r.bucket): (r.n, round(r.total, 6), r.vmin, r.vmax, r.first_ts, r.first, r.last_ts, r.last)
        for r in rows
    }


def expected_rollups(samples: list[SampleIn], bucket_ms: int) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Rollups recomputed independently, in plain Python, from the first occurrence of each sample."""
    first: dict[tuple[int, int], SampleIn] = {}
    for s in samples:
        first.setdefault((s.tag_id, s.ts), s)
    groups: dict[tuple[int, int], list[SampleIn]] = {}
    for s in first.values():
        if s.value is None or (s.quality & 0xC0000000) != 0:
            continue
        groups.setdefault((s.tag_id, s.ts // bucket_ms * bucket_ms), []).append(s)
    out = {}
    for key, group in groups.items():
        group.sort(key=lambda s: s.ts)
        values = [s.value for s in group]
        out[key] = (
            len(group),
            round(sum(values), 6),
            min(values),
            max(values),
            group[0].ts,
            group[0].value,
            group[-1].ts,
            group[-1].value,
        )
    return out


def make_samples(n: int, tags: tuple[int, ...] = (1, 2), step_ms: int = 7_000, seed: int = 1) -> list[SampleIn]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        quality = rng.choice([GOOD] * 12 + [UNCERTAIN, BAD])
        value = None if quality == BAD else round(rng.uniform(-50, 1500), 3)
        out.append(SampleIn(tags[i % len(tags)], T0 + (i // len(tags)) * step_ms, value, quality))
    return out


# --- engine and migrations -------------------------------------------------------------------------


def test_migrations_apply_twice_and_match_models(db_url: str, engine: Engine) -> None:
    migrate(db_url)  # idempotent: already at head
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(ctx, Base.metadata) == []  # PostgreSQL's sample partitions are not model tables
        assert ctx.get_current_revision() is not None
        tables = set(inspect(conn).get_table_names())
        assert {"tag", "sample", "rollup_1m", "rollup_1h", "event", "position", "badge_current"} <= tables
        assert "collector_health" in tables
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            for table in ("sample", "rollup_1m", "rollup_1h", "position"):
                sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": table}).scalar()
                assert "WITHOUT ROWID" in sql
            assert "WITHOUT ROWID" not in conn.execute(text("SELECT sql FROM sqlite_master WHERE name='tag'")).scalar()


def test_sqlite_parent_directory_is_created(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'store.db'}"
    migrate(url)
    assert (tmp_path / "a" / "b" / "store.db").exists()


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as s:
        write_samples(s, [SampleIn(1, T0, 1.0)])
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        write_samples(s, [SampleIn(1, T0 + 1000, 2.0)])
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert s.scalars(select(Sample.ts)).all() == [T0]
        assert s.scalar(select(Rollup1m.n)) == 1


# --- samples and rollups ---------------------------------------------------------------------------


def test_write_is_idempotent_and_replay_leaves_rollups_unchanged(engine: Engine) -> None:
    batch = make_samples(600)
    batch_with_repeat = [*batch, batch[3]._replace(value=-999.0), batch[10]]
    with session_scope(engine) as s:
        result = write_samples(s, batch_with_repeat)
    assert result.inserted == 600
    assert result.duplicates == 2
    with session_scope(engine) as s:
        m1, h1 = rollups(s, Rollup1m), rollups(s, Rollup1h)
        # the in-batch repeat did not win over the first occurrence
        assert s.get(Sample, (batch[3].tag_id, batch[3].ts)).value == batch[3].value
    with session_scope(engine) as s:
        replay = write_samples(s, batch)
    assert replay.inserted == 0
    assert replay.duplicates == 600
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 600
        assert rollups(s, Rollup1m) == m1
        assert rollups(s, Rollup1h) == h1
        assert m1 == expected_rollups(batch, MIN)
        assert h1 == expected_rollups(batch, HOUR)


def test_late_samples_land_in_their_buckets_and_equal_a_rebuild(engine: Engine) -> None:
    samples = make_samples(3_000, tags=(1, 2, 3), step_ms=5_000, seed=2)  # ~83 minutes, 2 hours touched
    shuffled = samples[:]
    random.Random(3).shuffle(shuffled)
    # in-order head, then the rest arriving late and out of order, with overlapping replays
    chunks = [samples[:500], shuffled[:900], shuffled[600:2000], shuffled[1500:], samples[2990:]]
    with session_scope(engine) as s:
        total = sum(write_samples(s, c).inserted for c in chunks)
    assert total == 3_000
    with session_scope(engine) as s:
        m, h = rollups(s, Rollup1m), rollups(s, Rollup1h)
    assert m == expected_rollups(samples, MIN)
    assert h == expected_rollups(samples, HOUR)
    assert len({b for _, b in h}) == 2
    with session_scope(engine) as s:
        rebuild_rollups(s, None, T0, T0 + 3 * HOUR)
    with session_scope(engine) as s:
        assert rollups(s, Rollup1m) == m
        assert rollups(s, Rollup1h) == h


def test_bad_quality_is_stored_but_never_rolled_up(engine: Engine) -> None:
    rows = [
        SampleIn(7, T0 + 1_000, 10.0, GOOD),
        SampleIn(7, T0 + 2_000, None, BAD_NO_COMMUNICATION),
        SampleIn(7, T0 + 3_000, 5_000.0, UNCERTAIN),
        SampleIn(7, T0 + 4_000, float("nan"), GOOD),
        SampleIn(7, T0 + 5_000, 20.0, 0x00960000),  # good with info bits set
        SampleIn(7, T0 + 6_000, 9_999.0, BAD),
    ]
    with session_scope(engine) as s:
        assert write_samples(s, rows).inserted == 6
    with session_scope(engine) as s:
        stored = s.execute(select(Sample.ts, Sample.value, Sample.quality).order_by(Sample.ts)).all()
        assert [r.value for r in stored] == [10.0, None, 5_000.0, None, 20.0, 9_999.0]
        assert stored[1].quality == BAD_NO_COMMUNICATION
        r = s.get(Rollup1m, (7, T0))
        assert (r.n, r.total, r.vmin, r.vmax) == (2, 30.0, 10.0, 20.0)
        assert (r.first_ts, r.first, r.last_ts, r.last) == (T0 + 1_000, 10.0, T0 + 5_000, 20.0)
        assert s.get(Rollup1h, (7, T0)).n == 2


def test_only_bad_samples_create_no_rollup_row(engine: Engine) -> None:
    with session_scope(engine) as s:
        write_samples(s, [SampleIn(8, T0, None, BAD), SampleIn(8, T0 + 1, 3.0, UNCERTAIN)])
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Rollup1m)) == 0
        assert s.scalar(select(func.count()).select_from(Sample)) == 2


def test_bulk_load_then_rebuild_equals_incremental_path(engine: Engine) -> None:
    samples = make_samples(4_000, tags=(1, 2), step_ms=3_000, seed=4)
    with session_scope(engine) as s:
        first = bulk_load_samples(s, iter(samples), chunk=1_500)
        assert first.inserted == 4_000
        assert s.scalar(select(func.count()).select_from(Rollup1m)) == 0
        again = bulk_load_samples(s, [*samples[:100], samples[0]])
        assert again == (0, 101)
        rebuild_rollups(s, [1, 2], samples[0].ts, samples[-1].ts + 1)
    with session_scope(engine) as s:
        assert rollups(s, Rollup1m) == expected_rollups(samples, MIN)
        assert rollups(s, Rollup1h) == expected_rollups(samples, HOUR)


def test_rebuild_of_a_partial_range_keeps_other_tags_and_hours(engine: Engine) -> None:
    samples = make_samples(2_000, tags=(1, 2), step_ms=10_000, seed=5)  # ~2.8 hours
    with session_scope(engine) as s:
        write_samples(s, samples)
    with session_scope(engine) as s:
        m, h = rollups(s, Rollup1m), rollups(s, Rollup1h)
        # drop a raw row behind the rollups' back, then rebuild one tag in an unaligned window
        victim = next(x for x in samples if x.tag_id == 1 and x.value is not None and x.quality == GOOD)
        s.execute(Sample.__table__.delete().where(Sample.tag_id == 1, Sample.ts == victim.ts))
        rebuild_rollups(s, [1], victim.ts - 5_000, victim.ts + 5_000)
    with session_scope(engine) as s:
        expected = [x for x in samples if x != victim]
        assert rollups(s, Rollup1m) == expected_rollups(expected, MIN)
        assert rollups(s, Rollup1h) == expected_rollups(expected, HOUR)
        assert {k: v for k, v in rollups(s, Rollup1m).items() if k[0] == 2} == {k: v for k, v in m.items() if k[0] == 2}
        assert len(h) == len(rollups(s, Rollup1h))


def test_latest_values(engine: Engine) -> None:
    with session_scope(engine) as s:
        write_samples(s, [SampleIn(1, T0 + 5_000, 1.5), SampleIn(1, T0 + 1_000, 9.0), SampleIn(2, T0, 4.0)])
        write_samples(s, [SampleIn(2, T0 + 9_000, None, BAD_NO_COMMUNICATION), SampleIn(1, T0 + 2_000, 7.0)])
    with session_scope(engine) as s:
        latest = latest_values(s, [1, 2, 3])
    assert latest == {
        1: SampleIn(1, T0 + 5_000, 1.5, GOOD),
        2: SampleIn(2, T0 + 9_000, None, BAD_NO_COMMUNICATION),
    }


# --- tags ------------------------------------------------------------------------------------------


def _plant(tags: list[dict[str, Any]]) -> Plant:
    return Plant.model_validate(
        {
            "schema_version": 1,
            "site": {
                "name": "Test smelter",
                "timezone": "Asia/Shanghai",
                "width_m": 100,
                "depth_m": 100,
                "shifts": [{"id": "day", "start": "08:00", "hours": 12}],
            },
            "endpoints": [
                {"id": "dcs1", "name": "DCS", "url": "opc.tcp://127.0.0.1:4840"},
                {"id": "dcs2", "name": "DCS 2", "url": "opc.tcp://127.0.0.1:4841"},
            ],
            "areas": [{"id": "smelt", "name": "Smelting"}],
            "zones": [
                {
                    "id": "z1",
                    "name": "闪速炉",
                    "area": "smelt",
                    "polygon": [[0, 0], [10, 0], [10, 10]],
                    "height_m": 10,
                    "lec": {"l": 1, "e": 1, "c": 1},
                }
            ],
            "tags": tags,
        }
    )


def _tag(name: str, endpoint: str = "dcs1", **extra: Any) -> dict[str, Any]:
    return {"id": name, "node_id": f"ns=2;s={name}", "endpoint": endpoint, "kind": "process", **extra}


def test_sync_tags_keeps_ids_stable_and_updates_metadata(engine: Engine) -> None:
    plant = _plant([_tag("TI-101", unit="°C", limits={"h": 1300, "hh": 1350}, zone="z1"), _tag("PI-102")])
    with session_scope(engine) as s:
        ids = sync_tags(s, plant)
    assert set(ids) == {"TI-101", "PI-102"}
    changed = _plant([_tag("FI-103"), _tag("TI-101", endpoint="dcs2", unit="K", limits={"l": 10, "h": 1400})])
    with session_scope(engine) as s:
        ids2 = sync_tags(s, changed)
    with session_scope(engine) as s:
        ids3 = sync_tags(s, changed)  # a restart: nothing moves
    assert ids2["TI-101"] == ids["TI-101"]
    assert ids3 == ids2
    assert ids2["FI-103"] not in ids.values()
    with session_scope(engine) as s:
        t = s.scalars(select(Tag).where(Tag.name == "TI-101")).one()
        assert (t.endpoint, t.unit, t.l, t.h, t.hh, t.zone) == ("dcs2", "K", 10.0, 1400.0, None, None)
        assert s.scalar(select(func.count()).select_from(Tag)) == 3  # PI-102 kept with its history


# --- events ----------------------------------------------------------------------------------------


def test_events_open_close_and_overlap(engine: Engine) -> None:
    with session_scope(engine) as s:
        gap = add_event(s, "gap", "dcs1", T0 + 10_000, severity="warning", message="connection lost")
        dq = add_event(s, "data_quality", "dcs1", T0, T0 + 1_000, tag_id=3, data={"value": "NaN", "n": 2})
        inc = add_event(s, "incident", "manual", T0 + 50_000, T0 + 60_000, badge="B-7", zone="z1", message="跌倒")
    assert len({gap, dq, inc}) == 3
    with session_scope(engine) as s:
        assert [e.id for e in open_events(s, "gap", "dcs1")] == [gap]
        assert [e.id for e in events_between(s, T0 + 20_000, T0 + 30_000)] == [gap]  # open = still running
        assert close_event(s, gap, T0 + 40_000)
        assert not close_event(s, gap, T0 + 45_000)  # already closed
    with session_scope(engine) as s:
        assert [e.id for e in events_between(s, T0 + 20_000, T0 + 30_000)] == [gap]
        assert [e.id for e in events_between(s, T0 + 41_000, T0 + 49_000)] == []
        assert [e.id for e in events_between(s, T0, T0 + 100_000)] == [dq, gap, inc]
        assert [e.id for e in events_between(s, T0, T0 + 100_000, kinds=["incident", "gap"])] == [gap, inc]
        assert [e.id for e in events_between(s, T0, T0 + 100_000, sources=["manual"])] == [inc]
        e = s.get(Event, dq)
        assert e.data == {"value": "NaN", "n": 2}
        assert s.get(Event, inc).message == "跌倒"
        assert s.get(Event, gap).ts_end == T0 + 40_000


# --- positions -------------------------------------------------------------------------------------


def test_positions_idempotent_and_current_only_moves_forward(engine: Engine) -> None:
    with session_scope(engine) as s:
        r = write_positions(
            s,
            [
                PositionIn("B-1", T0 + 2_000, 10.0, 20.0),
                PositionIn("B-1", T0 + 1_000, 5.0, 5.0),
                PositionIn("B-1", T0 + 2_000, 99.0, 99.0),  # repeat inside the batch: first wins
                PositionIn("B-2", T0, 1.0, 1.0, floor=2),
            ],
        )
    assert r == (3, 1)
    with session_scope(engine) as s:
        late = write_positions(s, [PositionIn("B-1", T0 + 1_500, 7.0, 7.0), PositionIn("B-2", T0, 1.0, 1.0, 2)])
        assert late == (1, 1)
    with session_scope(engine) as s:
        current = {p.badge: p for p in current_positions(s)}
        assert current["B-1"] == PositionIn("B-1", T0 + 2_000, 10.0, 20.0, 0, GOOD)
        assert current["B-2"].floor == 2
        write_positions(s, [PositionIn("B-1", T0 + 3_000, 11.0, 21.0)])
    with session_scope(engine) as s:
        assert {p.badge: p.ts for p in current_positions(s)} == {"B-1": T0 + 3_000, "B-2": T0}
        assert [p.badge for p in current_positions(s, since=T0 + 1)] == ["B-1"]
        path = trajectory(s, "B-1", T0, T0 + 2_500)
        assert [(p.ts, p.x) for p in path] == [(T0 + 1_000, 5.0), (T0 + 1_500, 7.0), (T0 + 2_000, 10.0)]


# --- collector health ------------------------------------------------------------------------------


def test_health_upsert_sets_given_fields_and_keeps_others(engine: Engine) -> None:
    with session_scope(engine) as s:
        upsert_health(s, "dcs1", url="opc.tcp://x:4840", pid=42, connected=True, received=10, updated_at=T0)
        upsert_health(s, "dcs2", received=1)
    with session_scope(engine) as s:
        upsert_health(s, "dcs1", received=25, written=20, lag_ms_p50=12.5, last_error="", updated_at=T0 + 1)
        with pytest.raises(TypeError):
            upsert_health(s, "dcs1", recieved=1)
    with session_scope(engine) as s:
        rows = read_health(s)
    assert [h.endpoint for h in rows] == ["dcs1", "dcs2"]
    h = rows[0]
    assert (h.url, h.pid, h.connected, h.received, h.written, h.lag_ms_p50, h.updated_at) == (
        "opc.tcp://x:4840",
        42,
        True,
        25,
        20,
        12.5,
        T0 + 1,
    )
    assert rows[1].spooled == 0
    assert rows[1].updated_at > T0
