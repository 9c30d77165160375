"""Energy thresholds raise alarms through the alarm engine: the energy service opens an ``energy`` event while a
key meter's rate is above its limit (here the compressed-air main of the smelting area, whose scripted leak
pushes it over) and closes it when the rate is back; the alarm service raises and returns the alarm, its text
built in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from engine.alarm_text import alarm_text, plant_names
from i18n import t
from plant.schema import Plant
from services.alarms import AlarmService
from services.energy import EnergyService
from simulator.backfill import backfill
from store.db import make_engine, migrate, session_scope
from store.events import open_events
from store.models import Alarm, Event
from tests.energyutil import energy_plant_data

HOUR = 3_600_000
T0 = int(datetime(2026, 3, 1, 16, 0, tzinfo=UTC).timestamp() * 1000)
LIMIT = 6_600.0  # Nm3/h over 4 h: the main runs at about 5,900 before the leak and 7,000 with it


def _plant(tmp_path: Path) -> Plant:
    data = energy_plant_data()
    data["meter_events"][0]["duration_s"] = 12 * 3600  # the leak from 6 h to 18 h
    data["energy"] = {
        "thresholds": [
            {"id": "air-main", "name": "Smelting compressed-air main", "name_zh": "熔炼压缩空气总管",
             "meter": "A-SM", "limit": LIMIT, "window_min": 240, "priority": "high"},
        ]
    }  # fmt: skip
    (tmp_path / "plant.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return Plant.model_validate(data)


def test_a_threshold_raises_and_returns_an_alarm(tmp_path: Path) -> None:
    plant = _plant(tmp_path)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    migrate(url)
    backfill(plant, url, 1, step_s=60, seed=5, end_ms=T0 + 24 * HOUR, progress=False)
    engine = make_engine(url)
    service = EnergyService(plant, engine)
    alarms = AlarmService(plant, engine)
    try:
        states: list[bool] = []
        for h in (4, 5, 10, 12, 16, 22, 24):
            now = T0 + h * HOUR
            service.step(now)
            with session_scope(engine) as s:
                states.append(bool(open_events(s, "energy")))
            alarms.step(now)
        # before the leak: quiet; during it: one event; after it: closed
        assert states == [False, False, True, True, True, False, False]
        with session_scope(engine) as s:
            events = list(s.scalars(select(Event).where(Event.kind == "energy")))
            assert len(events) == 1 and events[0].ts_end is not None
            assert events[0].data is not None and events[0].data["value"] > LIMIT
            row = s.scalars(select(Alarm).where(Alarm.source_type == "energy")).one()
            assert row.priority == "high" and not row.active
            names = plant_names(plant)
            en = alarm_text(row, names, "en", show_names=False)
            zh = alarm_text(row, names, "zh", show_names=False)
        assert en.startswith("Smelting compressed-air main: ") and en.endswith("above the limit of 6600 Nm3/h")
        assert zh.startswith("熔炼压缩空气总管：") and t("alarm.source.energy", "zh") == "能源"
    finally:
        alarms.lock.release()
        engine.dispose()


def test_threshold_errors_name_the_entry(tmp_path: Path) -> None:
    from plant import PlantFileError, load_plant

    data = energy_plant_data()
    data["energy"] = {
        "thresholds": [
            {"id": "a", "name": "a", "meter": "A-SM-conv", "limit": 1},
            {"id": "b", "name": "b", "intensity": "nope", "limit": 1},
            {"id": "c", "name": "c", "limit": 1},
        ]
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PlantFileError) as info:
        load_plant(path)
    assert "energy.thresholds[2] (c)" in str(info.value) and "either a meter or an intensity" in str(info.value)
    del data["energy"]["thresholds"][2]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PlantFileError) as info:
        load_plant(path)
    msg = str(info.value)
    assert "energy.thresholds[0] (a).meter: 'A-SM-conv' is no meter that reads a tag" in msg
    assert "energy.thresholds[1] (b).intensity: unknown intensity 'nope'" in msg
