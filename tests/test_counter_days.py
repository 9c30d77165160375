"""The counters' amounts per plant day (``store.counter_days``): an ended day is kept one row a day and counter and
equals ``store.counters.counter_increase`` over the day; a day read alone equals the same day read in a range;
a sample written late for a kept day, or rollups rebuilt over it, make it and the days after it be computed
again; days follow the plant's zone across DST changes (23 and 25 hours), on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from engine.types import GOOD, SampleIn
from plant.loader import load_plant
from settings import ROOT
from store.counter_days import counter_days, plant_days
from store.counters import counter_increase
from store.db import make_engine, migrate, session_scope
from store.models import CounterDay, Rollup1h
from store.samples import bulk_load_samples, rebuild_rollups, write_samples
from store.tags import sync_tags
from tests.fakeclock import plant_ms

PLANT = load_plant(ROOT / "plant" / "demo_smelter.yaml")
MIN = 60_000
DAY_MS = 86_400_000


def _kept(session: object) -> dict[str, float | None]:
    rows = session.execute(select(CounterDay.day, CounterDay.amount).order_by(CounterDay.start))  # type: ignore[attr-defined]
    return {d: a for d, a in rows}


def test_kept_days_equal_the_counters_and_late_samples_recompute(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    tz = PLANT.tz()
    d0 = plant_ms(PLANT, 2026, 3, 10)
    with session_scope(engine) as session:
        tid = sync_tags(session, PLANT)["CW1.ANODE_CAST"]
        value, samples = 5000.0, []
        for m in range(-120, 4 * 1440):
            if 1440 + 300 <= m < 1440 + 720:  # seven hours without a reading on the 11th: the counter went on
                value += 0.4
                continue
            value += 0.4 if (m // 60) % 5 else 0.1
            if m == 2 * 1440 + 500:
                value = 3.0  # reset on the 12th
            samples.append(SampleIn(tid, d0 + m * MIN, value, GOOD))
        bulk_load_samples(session, samples)
        rebuild_rollups(session, [tid], d0 - 2 * 3_600_000, d0 + 4 * DAY_MS)
    now = d0 + 3 * DAY_MS + 6 * 3_600_000  # the 13th, 06:00: three days ended, the 13th running
    first, last = date(2026, 3, 10), date(2026, 3, 13)
    with session_scope(engine) as session:
        got = counter_days(session, [tid], first, last, tz, now)[tid]
    with session_scope(engine) as session:
        assert list(_kept(session)) == ["2026-03-10", "2026-03-11", "2026-03-12"]  # the running day is not kept
        for k in range(3):
            exact = counter_increase(session, [tid], d0 + k * DAY_MS, d0 + (k + 1) * DAY_MS - 1)[tid]
            assert got[date(2026, 3, 10 + k)] == pytest.approx(exact, abs=0.5), k
        assert got[date(2026, 3, 11)] == pytest.approx(1440 * 0.4 - 3 * 60 * 0.3, abs=0.5)  # the gap counted once
        # the running day's hours up to the one holding now, whole (in a live store it holds nothing after now)
        running = counter_increase(session, [tid], d0 + 3 * DAY_MS, now + 3_600_000 - 1)[tid]
        assert got[date(2026, 3, 13)] == pytest.approx(running, abs=0.5)
        # each day alone is the same number as in the range (the step into its first hour looks back)
        for k in range(3):
            d = date(2026, 3, 10 + k)
            assert counter_days(session, [tid], d, d, tz, now)[tid][d] == got[d]
    with session_scope(engine) as session:  # read again: from the kept rows, not the hours
        session.execute(delete(Rollup1h).where(Rollup1h.bucket < d0 + 3 * DAY_MS))
        again = counter_days(session, [tid], first, date(2026, 3, 12), tz, now)[tid]
    assert again == {d: v for d, v in got.items() if d < date(2026, 3, 13)}
    with session_scope(engine) as session:  # the hours back
        rebuild_rollups(session, [tid], d0 - 2 * 3_600_000, d0 + 4 * DAY_MS)
        assert session.scalar(select(func.count()).select_from(CounterDay)) == 0  # a rebuild forgets the days after
        counter_days(session, [tid], first, last, tz, now)
    # a reading of the 11th's gap arrives late (a spool replayed): the 11th and the days after are computed again
    late = d0 + DAY_MS + 400 * MIN
    with session_scope(engine) as session:
        write_samples(session, [SampleIn(tid, late, 1.0, GOOD)])  # far below: a reset and a step back up
        assert list(_kept(session)) == ["2026-03-10"]
    with session_scope(engine) as session:
        after = counter_days(session, [tid], first, last, tz, now)[tid]
        assert list(_kept(session)) == ["2026-03-10", "2026-03-11", "2026-03-12"]
        exact = counter_increase(session, [tid], d0 + DAY_MS, d0 + 2 * DAY_MS - 1)[tid]
    assert after[date(2026, 3, 10)] == got[date(2026, 3, 10)]
    assert after[date(2026, 3, 11)] != pytest.approx(got[date(2026, 3, 11)], abs=1.0)
    assert after[date(2026, 3, 11)] == pytest.approx(exact, abs=0.5)
    engine.dispose()


@pytest.mark.parametrize(("zone", "days", "hours"), [("Europe/Berlin", (28, 29, 30), (24, 23, 24))])
def test_days_follow_the_zone_across_dst(
    sqlite_url: str, zone: str, days: tuple[int, ...], hours: tuple[int, ...]
) -> None:
    """A counter counting 1 an hour: the plant days of a DST change count 23 (spring) and 25 (autumn)."""
    tz = ZoneInfo(zone)
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    t0 = int(datetime(2026, 3, 27, tzinfo=tz).timestamp() * 1000)
    t1 = int(datetime(2026, 11, 2, tzinfo=tz).timestamp() * 1000)
    with session_scope(engine) as session:
        tid = sync_tags(session, PLANT)["CW1.ANODE_CAST"]
        # a reading every 10 minutes, 1 a hour, only around the two changes (the months between as one gap)
        spans = [(t0, t0 + 5 * DAY_MS), (t1 - 10 * DAY_MS, t1)]
        samples = [SampleIn(tid, ts, (ts - t0) / 3_600_000, GOOD) for a, b in spans for ts in range(a, b, 10 * MIN)]
        bulk_load_samples(session, samples)
        for a, b in spans:
            rebuild_rollups(session, [tid], a, b)
    with session_scope(engine) as session:
        got = counter_days(session, [tid], date(2026, 3, 27), date(2026, 11, 1), tz, t1)[tid]
    for d, h in zip(days, hours, strict=True):
        assert got[date(2026, 3, d)] == pytest.approx(h), d
    assert got[date(2026, 10, 25)] == pytest.approx(25)  # the autumn change
    assert got[date(2026, 10, 24)] == pytest.approx(24) and got[date(2026, 10, 26)] == pytest.approx(24)
    # the months without a reading: nothing counted on their days, the whole gap on the first hour after it
    assert date(2026, 6, 1) not in got
    assert sum(got.values()) == pytest.approx((t1 - 10 * MIN - t0) / 3_600_000)  # every hour counted once
    bounds = {d.day: (d.end - d.start) / 3_600_000 for d in plant_days(date(2026, 3, 29), date(2026, 10, 25), tz)}
    assert bounds[date(2026, 3, 29)] == 23 and bounds[date(2026, 10, 25)] == 25
    engine.dispose()
