"""Stack emissions end to end on a real SQLite file and a real PostgreSQL database: CEMS samples (maintenance
as the analyser's OPC UA status) -> minutes -> judged hours in the store -> an exceedance event -> an
``emission`` alarm from the alarm service within 2 minutes of the hour's close; and the simulator playing an
exceedance and an analyser maintenance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from engine.alarm_text import alarm_text, plant_names
from engine.emissions import BAD_OUT_OF_SERVICE, HOUR_MS, MINUTE_MS, Flag, hourly
from engine.types import BAD_NO_COMMUNICATION, GOOD, SampleIn
from plant.loader import default_plant_path, load_plant
from services.__main__ import FACTORIES
from services.alarms import AlarmService
from services.emissions import EmissionService
from simulator.model import SmelterModel
from store.db import make_engine, migrate, session_scope
from store.emissions import EXCEEDANCE, hours_between, minute_series
from store.models import Alarm, EmissionHour, Event
from store.samples import write_samples
from store.tags import sync_tags
from tests.emissionsutil import stack_plant

H0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, 08:00 in the plant (Asia/Shanghai)


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_minutes_hold_by_exception_values_and_take_the_analyser_status() -> None:
    # samples (ts, value, quality): 95 at 00:00:10, nothing for 3 minutes (held), maintenance from 00:04:30
    # to 00:06:20 (held through minute 5), good again, an outage marker at 00:08:00.
    s = [
        (H0 - 30_000, 90.0, GOOD),
        (H0 + 10_000, 95.0, GOOD),
        (H0 + 4 * MINUTE_MS + 30_000, None, BAD_OUT_OF_SERVICE),
        (H0 + 6 * MINUTE_MS + 20_000, 100.0, GOOD),
        (H0 + 8 * MINUTE_MS, None, BAD_NO_COMMUNICATION),
    ]
    ms = minute_series(s, H0, H0 + 10 * MINUTE_MS)
    assert [m.flag.value for m in ms] == ["N", "N", "N", "N", "M", "M", "M", "N", "-", "-"]
    assert [m.value for m in ms[:4]] == [95.0, 95.0, 95.0, 95.0]
    assert ms[7].value == 100.0
    # the hold ends after 15 minutes without a sample
    late = minute_series([(H0 - 16 * MINUTE_MS, 90.0, GOOD)], H0, H0 + MINUTE_MS)
    assert late[0].flag == Flag.MISSING


def test_an_exceeding_hour_alarms_within_two_minutes_and_a_maintenance_hour_does_not(db: Engine) -> None:
    plant = stack_plant()
    with session_scope(db) as s:
        ids = sync_tags(s, plant)
    # The hour 08:00-09:00 plant time: SO2 at 450 mg/m3 every minute (over 400: an exceedance); NOx at 250 (over
    # 200) but its analyser in maintenance for the first 10 samples (minutes 0-9, and minute 10 begins in
    # maintenance until its sample at 08:10:05: 11 minutes; a maintenance hour, no exceedance); flow
    # 200,000 Nm3/h. SO2 mass: 450 x 200,000 x 1e-6 = 90 kg.
    samples = []
    for k in range(62):
        ts = H0 + k * MINUTE_MS + 5_000
        samples.append(SampleIn(ids["STK-1.SO2"], ts, 450.0, GOOD))
        samples.append(SampleIn(ids["STK-1.GAS_FLOW"], ts, 200_000.0, GOOD))
        maint = k < 10
        samples.append(SampleIn(ids["STK-1.NOX"], ts, None if maint else 250.0, BAD_OUT_OF_SERVICE if maint else GOOD))
    with session_scope(db) as s:
        write_samples(s, samples)

    alarms = AlarmService(plant, db)
    emissions = EmissionService(plant, db)
    close = H0 + HOUR_MS
    try:
        alarms.step(close - 60_000)
        emissions.step(close + 10_000)  # the hour's last samples may still be on their way: not judged yet
        with session_scope(db) as s:
            assert s.scalar(select(EmissionHour).where(EmissionHour.hour == H0)) is None
        emissions.step(close + 45_000)
        alarms.step(close + 46_000)
    finally:
        alarms.close()

    with session_scope(db) as s:
        so2, nox = (s.get(EmissionHour, (tag, H0)) for tag in ("STK-1.SO2", "STK-1.NOX"))
        assert so2 is not None and nox is not None
        assert (so2.value, so2.normal, so2.valid, so2.flags, so2.exceedance) == (450.0, 60, True, "N", True)
        assert so2.mass_kg == pytest.approx(90.0)
        assert (nox.value, nox.normal, nox.maintenance, nox.valid, nox.flags) == (250.0, 49, 11, True, "M")
        assert nox.exceedance is False
        [ev] = s.scalars(select(Event).where(Event.kind == EXCEEDANCE))
        assert (ev.source, ev.ts_start, ev.data["hour"], ev.data["hour_start"]) == (
            "STK-1.SO2",
            close,
            "2026-01-01 08:00",
            H0,
        )
        [al] = s.scalars(select(Alarm).where(Alarm.source_type == "emission"))
        assert al.id == f"emission:{ev.id}" and al.condition == "EXCEED" and al.priority == "high"
        assert (al.equipment, al.value, al.limit, al.tag_id) == ("STK-1", 450.0, 400.0, ids["STK-1.SO2"])
        assert al.activated_at == close  # annunciated at the step 46 s after the close, unacknowledged
        assert al.acked is False
        en = alarm_text(al, plant_names(plant), "en", show_names=False)
        zh = alarm_text(al, plant_names(plant), "zh", show_names=False)
        assert (
            en == "Main stack SO2 (CEMS): hourly average 450 mg/Nm3 over the limit 400 mg/Nm3"
            " in the hour from 2026-01-01 08:00"
        )
        assert "主烟囱二氧化硫（在线监测）" in zh and "超过限值 400" in zh
        assert [(r.tag, r.exceedance) for r in hours_between(s, H0, close)] == [
            ("STK-1.NOX", False),
            ("STK-1.SO2", True),
        ]

    # A restart judges the last hour again, but the exceedance is recorded once.
    again = EmissionService(plant, db)
    again.step(close + 60_000)
    with session_scope(db) as s:
        assert len(list(s.scalars(select(Event).where(Event.kind == EXCEEDANCE)))) == 1
    assert "emissions" in FACTORIES


def test_the_simulator_plays_an_exceedance_and_an_analyser_maintenance() -> None:
    plant = load_plant(default_plant_path())
    inc = {i.id: i for i in plant.incidents}
    exc, maint = inc["inc-stk-so2-exceedance"], inc["inc-stk-tg-analyser-maintenance"]
    start = H0
    model = SmelterModel(plant, seed=7, start_ms=start)
    (e0, e1), (m0, m1) = (model.schedule.occurrence(list(plant.incidents).index(x), 0) for x in (exc, maint))
    so2: list[tuple[int, float, int]] = []
    status: dict[int, int] = {}
    t = start
    while t < max(e1, m1) + 10 * MINUTE_MS:
        t += MINUTE_MS
        model.step(t)
        so2.append((t, float(model.a_value[model.a_index["STK-MAIN.SO2"]]), GOOD))
        status[t] = model.status("STK-TG.SO2")
    # An analyser maintenance publishes Bad_OutOfService during its window only.
    assert {status[t] for t in status if m0 <= t < m1} == {BAD_OUT_OF_SERVICE}
    assert {status[t] for t in status if t < m0 or t >= m1} == {0}
    # The exceedance makes at least one valid hour over the 400 mg/m3 limit; before it, none.
    first, last = e0 - e0 % HOUR_MS, e1 - e1 % HOUR_MS + HOUR_MS
    hours = hourly(minute_series(so2, first, last), 400, hours=list(range(first, last, HOUR_MS)))
    assert any(h.exceedance for h in hours)
    before = hourly(minute_series(so2, start, e0 - e0 % HOUR_MS), 400)
    assert not any(h.exceedance for h in before)
