"""Retention deletes exactly the raw samples and positions older than their windows, in small transactions, on
SQLite and PostgreSQL; rollups, events, alarms and the audit log stay."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.types import PositionIn, SampleIn
from plant import load_plant
from services.__main__ import FACTORIES
from settings import Settings
from store.db import make_engine, migrate, session_scope
from store.events import GAP, add_event
from store.models import AlarmJournal, Event, Position, Rollup1h, Rollup1m, Sample, SecurityAudit
from store.positions import write_positions
from store.retention import DAY_MS, cutoffs_for, purge
from store.samples import write_samples
from store.tags import sync_tags
from tests.webutil import MINI_PLANT

NOW = 1_780_000_000_000  # a fixed clock: retention is about windows, not today
CUT = NOW - 90 * DAY_MS
POS_CUT = NOW - 30 * DAY_MS
# around each cutoff: well before, just before, at, just after, recent
OFFSETS = (-5 * DAY_MS, -1, 0, 1, 89 * DAY_MS)


def _seed(url: str) -> tuple[set[tuple[int, int]], set[tuple[str, int]]]:
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        tags = sorted(sync_tags(session, load_plant(MINI_PLANT)).values())[:6]
    samples = {(t, CUT + off + t) for t in tags[1:] for off in OFFSETS} | {
        (t, CUT + off) for t in tags[1:] for off in OFFSETS
    }
    samples |= {(tags[0], CUT - 3000 * 1000 + i * 1000) for i in range(3000)}  # many old rows: several batches
    samples |= {(tags[0], CUT + i * 1000) for i in range(5)}
    positions = {(b, POS_CUT + off) for b in ("B1", "B2", "B3") for off in OFFSETS}
    positions |= {("B1", POS_CUT - 2500 * 1000 + i * 1000) for i in range(2500)}
    with session_scope(engine) as session:
        write_samples(session, [SampleIn(t, ts, float(ts % 97), 0) for t, ts in sorted(samples)])
        write_positions(session, [PositionIn(b, ts, 1.0, 2.0) for b, ts in sorted(positions)])
        add_event(session, GAP, "dcs", CUT - 10 * DAY_MS, CUT - 10 * DAY_MS + 5000)
        session.add(
            AlarmJournal(ts=CUT - DAY_MS, alarm_id="A:HH", kind="active", source_type="process", priority="high",
                         active=True, acked=False)
        )  # fmt: skip
        session.add(SecurityAudit(ts=CUT - DAY_MS, event="login", user="x"))
    engine.dispose()
    return samples, positions


def _kept(url: str) -> tuple[set[tuple[int, int]], set[tuple[str, int]], dict[str, int]]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        samples = {(int(t), int(ts)) for t, ts in session.execute(select(Sample.tag_id, Sample.ts))}
        positions = {(str(b), int(ts)) for b, ts in session.execute(select(Position.badge, Position.ts))}
        others = {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Rollup1m, Rollup1h, Event, AlarmJournal, SecurityAudit)
        }
    engine.dispose()
    return samples, positions, others


def test_retention_deletes_exactly_what_left_the_window(db_url: str) -> None:
    samples, positions = _seed(db_url)
    _, _, others_before = _kept(db_url)
    engine = make_engine(db_url)
    result = purge(engine, {"sample": CUT, "position": POS_CUT}, batch=700, budget_s=120)
    engine.dispose()
    kept_samples, kept_positions, others = _kept(db_url)
    assert kept_samples == {(t, ts) for t, ts in samples if ts >= CUT}
    assert kept_positions == {(b, ts) for b, ts in positions if ts >= POS_CUT}
    assert result.finished
    assert result.deleted == {
        "sample": len(samples) - len(kept_samples),
        "position": len(positions) - len(kept_positions),
    }
    assert result.deleted["sample"] > 3000 and result.transactions > 5  # in batches of at most 700
    assert others == others_before and all(others.values()), others  # rollups, events, alarms, audit stay


def test_retention_goes_on_where_a_pass_ran_out_of_time(db_url: str) -> None:
    samples, positions = _seed(db_url)
    engine = make_engine(db_url)
    first = purge(engine, {"sample": CUT, "position": POS_CUT}, batch=500, budget_s=0)
    assert not first.finished and first.transactions == 0
    passes = 0
    while True:
        passes += 1
        result = purge(engine, {"sample": CUT, "position": POS_CUT}, batch=500, budget_s=0.05)
        if result.finished:
            break
        assert passes < 1000
    engine.dispose()
    kept_samples, kept_positions, _ = _kept(db_url)
    assert kept_samples == {(t, ts) for t, ts in samples if ts >= CUT}
    assert kept_positions == {(b, ts) for b, ts in positions if ts >= POS_CUT}


def test_the_retention_service_uses_the_settings(sqlite_url: str) -> None:
    samples, positions = _seed(sqlite_url)
    engine = make_engine(sqlite_url)
    settings = Settings(retention_samples_days=90, retention_positions_days=30)
    service = FACTORIES["retention"](load_plant(MINI_PLANT), engine, settings)
    service.step(NOW)
    kept_samples, kept_positions, _ = _kept(sqlite_url)
    assert kept_samples == {(t, ts) for t, ts in samples if ts >= CUT}
    assert kept_positions == {(b, ts) for b, ts in positions if ts >= POS_CUT}
    assert service.interval_s >= 60  # nothing left: the next pass is a while away
    forever = FACTORIES["retention"](load_plant(MINI_PLANT), engine, Settings(retention_samples_days=0,
                                                                           retention_positions_days=0))  # fmt: skip
    forever.step(NOW + 1000 * DAY_MS)  # windows of 0: nothing is deleted, however old
    assert _kept(sqlite_url)[0] == kept_samples
    assert cutoffs_for(NOW, 0, 0) == {}
    engine.dispose()


def test_minute_rollups_go_only_when_their_window_is_set(db_url: str) -> None:
    samples, _ = _seed(db_url)
    engine = make_engine(db_url)

    def buckets() -> tuple[set[tuple[int, int]], int, int]:
        with session_scope(engine) as session:
            minute = {(int(t), int(b)) for t, b in session.execute(select(Rollup1m.tag_id, Rollup1m.bucket))}
            hours = int(session.scalar(select(func.count()).select_from(Rollup1h)) or 0)
            raw = int(session.scalar(select(func.count()).select_from(Sample)) or 0)
        return minute, hours, raw

    minute, hours, raw = buckets()
    assert cutoffs_for(NOW, 90, 30) == {"sample": CUT, "position": POS_CUT}  # minute rollups kept by default
    cut = CUT - 2 * DAY_MS
    purge(engine, cutoffs_for(NOW, 0, 0, rollup_1m_days=92), batch=50)
    kept, hours_after, raw_after = buckets()
    assert kept == {(t, b) for t, b in minute if b >= cut} and kept != minute
    assert hours_after == hours and raw_after == raw == len(samples)
    engine.dispose()


def test_a_finished_pass_gives_the_deleted_space_back_on_sqlite(sqlite_url: str) -> None:
    _seed(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:  # a large old history: many pages to free
        tag = sorted(sync_tags(session, load_plant(MINI_PLANT)).values())[-1]
        write_samples(session, [SampleIn(tag, CUT - DAY_MS + i * 1000, float(i), 0) for i in range(60_000)])

    def pages() -> tuple[int, int]:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            count = conn.exec_driver_sql("PRAGMA page_count").scalar()
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
        return int(count or 0), int(free or 0)

    before, _ = pages()
    service = FACTORIES["retention"](load_plant(MINI_PLANT), engine, Settings(retention_samples_days=90,
                                                                           retention_positions_days=30))  # fmt: skip
    service.step(NOW)
    after, free = pages()
    assert free == 0 and after < before * 0.7, (before, after, free)  # auto_vacuum=INCREMENTAL returned them
    engine.dispose()
