"""PostgreSQL keeps raw samples in monthly partitions: the migration moves an existing history into them, the
retention service creates the coming months ahead and drops the months wholly before the window instead of
deleting their rows, and rows that arrive for a month without a partition are moved into one of their own."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from engine.types import SampleIn
from plant import load_plant
from services.__main__ import FACTORIES
from settings import Settings
from store.db import make_engine, migrate, session_scope
from store.models import Sample
from store.partitions import DEFAULT, bounds, ensure_partitions, partitions
from store.retention import DAY_MS
from store.samples import bulk_load_samples, write_samples
from store.tags import sync_tags
from tests.webutil import MINI_PLANT

NOW = bounds(2026, 5)[0] + 9 * DAY_MS + 12_345  # 10 May 2026 (UTC): retention is about months, not today


def _rows(url: str) -> set[tuple[int, int, float | None]]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        rows = {(int(t), int(ts), v) for t, ts, v in session.execute(select(Sample.tag_id, Sample.ts, Sample.value))}
    engine.dispose()
    return rows


def _history(ids: list[int]) -> list[SampleIn]:
    """Every 6 hours from mid-December 2025 to now, for three tags."""
    start = bounds(2025, 12)[0] + 14 * DAY_MS
    return [SampleIn(t, ts, float(ts // 3_600_000 % 1000), 0) for ts in range(start, NOW, 6 * 3_600_000) for t in ids]


@pytest.mark.postgres
def test_the_migration_moves_an_existing_history_into_monthly_partitions(pg_url: str) -> None:
    migrate(pg_url, "0009_sample_compaction")
    engine = make_engine(pg_url)
    with session_scope(engine) as session:  # the samples alone: today's writer keeps tables that 0009 has not
        ids = sorted(sync_tags(session, load_plant(MINI_PLANT)).values())[:3]
        bulk_load_samples(session, _history(ids))
    before = _rows(pg_url)
    migrate(pg_url)
    assert _rows(pg_url) == before
    with engine.connect() as conn:
        months = partitions(conn)
        assert sorted(months) == [f"sample_y{y}m{m:02d}" for y, m in
                                  [(2025, 12), (2026, 1), (2026, 2), (2026, 3), (2026, 4), (2026, 5)]]  # fmt: skip
        assert conn.execute(text(f"SELECT count(*) FROM {DEFAULT}")).scalar() == 0
        per_month = {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar() for n in months}
        assert all(per_month.values()) and sum(per_month.values()) == len(before)  # type: ignore[arg-type]
    with session_scope(engine) as session:  # a replay inserts nothing, across partitions too
        assert write_samples(session, _history(ids)).inserted == 0
    engine.dispose()


@pytest.mark.postgres
def test_retention_drops_whole_months_and_deletes_exactly_what_left_the_window(pg_url: str) -> None:
    migrate(pg_url)
    engine = make_engine(pg_url)
    with session_scope(engine) as session:
        ids = sorted(sync_tags(session, load_plant(MINI_PLANT)).values())[:3]
        write_samples(session, _history(ids))  # no monthly partitions yet: all in the default one
    everything = _rows(pg_url)
    assert ensure_partitions(engine, NOW, ahead=2)[-1] == "sample_y2026m07"  # and Dec .. Jul
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {DEFAULT}")).scalar() == 0
        assert len(partitions(conn)) == 8
    assert _rows(pg_url) == everything

    service = FACTORIES["retention"](load_plant(MINI_PLANT), engine, Settings(retention_samples_days=90,
                                                                            retention_positions_days=0))  # fmt: skip
    service.step(NOW)
    cut = NOW - 90 * DAY_MS  # 9 February 2026
    with engine.connect() as conn:
        left = sorted(partitions(conn))
    assert left[0] == "sample_y2026m02" and left[-1] == "sample_y2026m07"  # December and January dropped whole
    assert _rows(pg_url) == {r for r in everything if r[1] >= cut}  # February's older rows deleted one by one
    with session_scope(engine) as session:
        assert session.scalar(select(func.min(Sample.ts))) >= cut
    engine.dispose()


def test_sqlite_has_no_partitions(sqlite_url: str) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    assert ensure_partitions(engine, NOW) == []
    with engine.connect() as conn:
        assert partitions(conn) == {}
    engine.dispose()


def _write_across(url: str, ids: list[int], start: int, steps: int, out: list[BaseException]) -> None:
    """A collector's writer: three tags every second from ``start`` on, a commit every five seconds."""
    engine = make_engine(url)
    try:
        for k in range(0, steps, 5):
            batch = [SampleIn(t, start + (k + j) * 1000, float(k + j), 0) for j in range(5) for t in ids]
            with session_scope(engine) as session:
                write_samples(session, batch)
    except BaseException as e:  # reported to the test's thread
        out.append(e)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("ahead", [2, 0])
def test_a_live_writer_across_the_month_rollover_loses_and_repeats_nothing(pg_url: str, ahead: int) -> None:
    """The writer goes on from 31 January 23:58 to 1 February 00:02 (UTC) while the retention service's
    partition step runs beside it at the writer's simulated time. With months created ahead (the default) the
    rows go straight into February's partition; with none ahead (the service was down) February's rows land in
    the default partition and are moved into a partition of their own while the writer still writes them."""
    migrate(pg_url)
    engine = make_engine(pg_url)
    with session_scope(engine) as session:
        ids = sorted(sync_tags(session, load_plant(MINI_PLANT)).values())[:3]
    start = bounds(2026, 2)[0] - 120_000
    steps = 240
    ensure_partitions(engine, start, ahead=ahead)
    errors: list[BaseException] = []
    writer = threading.Thread(target=_write_across, args=(pg_url, ids, start, steps, errors))
    writer.start()
    created: list[str] = []
    while writer.is_alive():
        with engine.connect() as conn:
            newest = conn.execute(text("SELECT max(ts) FROM sample")).scalar()
        if newest is not None:
            created += ensure_partitions(engine, int(newest), ahead=ahead)
    writer.join()
    assert errors == []
    created += ensure_partitions(engine, start + steps * 1000, ahead=ahead)
    assert ("sample_y2026m02" in created) == (ahead == 0)
    want = {(t, start + s * 1000, float(s)) for s in range(steps) for t in ids}
    assert _rows(pg_url) == want  # every row once: none lost, none repeated
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {DEFAULT}")).scalar() == 0
        feb = conn.execute(text("SELECT count(*) FROM sample_y2026m02")).scalar()
        jan = conn.execute(text("SELECT count(*) FROM sample_y2026m01")).scalar()
    assert (jan, feb) == (120 * 3, 120 * 3)
    engine.dispose()
