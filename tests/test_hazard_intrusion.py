"""A person inside a major hazard source's fence who is not allowed there: a ``hazard_intrusion`` violation naming
the source and its leads; the alarm it becomes keeps the leads, so the on-call notification reaches them (users by
id, badges through the on-call file's ``badge``); a valid work permit's crew is allowed while it is set."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from engine.alarm_text import alarm_text, plant_names
from engine.alarms import AlarmEngine
from engine.personnel import HAZARD_INTRUSION, SEVERITY, RulesEngine
from engine.types import GOOD, PositionIn
from notify.config import OncallConfig
from notify.policy import AlarmInfo, Notifier
from plant.loader import default_plant_path, load_plant
from simulator.model import SmelterModel
from tests.fakeclock import plant_ms
from tests.test_personnel_engine import QUIET, T0, make_plant, rect

HAZARDS: dict[str, Any] = {
    "sources": [
        {
            "id": "HS-T",
            "name": "Tank unit",
            "name_zh": "储罐单元",
            "unit": "storage",
            "zone": "hall",
            "fence": rect(60, 10, 90, 40),
            "people_500m": 10,
            "substances": [{"name": "Oleum", "q_t": 200, "critical_t": 100}],
            "responsible": [{"role": "main", "user": "boss"}, {"role": "technical", "badge": "E2"}],
            "authorized": ["E1"],
        }
    ]
}
PLANT = make_plant(hazards=HAZARDS)


def run(engine: RulesEngine, positions: dict[str, tuple[float, float]], t0: int, t1: int) -> list[Any]:
    opened = []
    for s in range(t0, t1 + 1):
        pos = [PositionIn(b, T0 + s * 1000, x, y, 0, GOOD) for b, (x, y) in positions.items()]
        opened += engine.evaluate(T0 + s * 1000, pos).opened
    return opened


def test_an_unauthorized_person_in_the_fence_opens_one_violation_naming_source_and_leads() -> None:
    eng = RulesEngine(PLANT, QUIET)
    inside = {"E4": (20.0, 80.0), "E3": (75.0, 25.0)}  # E3 is in the hall and in the fence, not authorized
    opened = [v for v in run(eng, inside, 0, 10) if v.rule == HAZARD_INTRUSION]
    (v,) = opened
    assert v.badge == "E3" and v.region == "HS-T" and v.zone == "hall" and SEVERITY[v.rule] == "high"
    assert v.start_ms == T0  # backdated over the on-delay
    data = v.data()
    assert data["hazard_source"] == "HS-T"
    assert data["responsible"] == [{"role": "main", "user": "boss"}, {"role": "technical", "badge": "E2"}]


def test_authorized_badges_leads_vehicles_and_people_outside_the_fence_are_quiet() -> None:
    eng = RulesEngine(PLANT, QUIET)
    pos = {"E4": (20.0, 80.0), "E1": (75.0, 25.0), "E2": (70.0, 20.0), "T1": (80.0, 30.0), "E3": (50.0, 25.0)}
    assert [v for v in run(eng, pos, 0, 20) if v.rule == HAZARD_INTRUSION] == []


def test_a_valid_permit_allows_its_crew_and_its_end_brings_the_violation() -> None:
    eng = RulesEngine(PLANT, QUIET)
    eng.set_permitted({"HS-T": ["E3"], "HS-unknown": ["E3"]})
    pos = {"E4": (20.0, 80.0), "E3": (75.0, 25.0)}
    assert [v for v in run(eng, pos, 0, 10) if v.rule == HAZARD_INTRUSION] == []
    eng.set_permitted({})  # the permit ended
    (v,) = [v for v in run(eng, pos, 11, 20) if v.rule == HAZARD_INTRUSION]
    assert v.badge == "E3"


def test_the_alarm_keeps_the_leads_and_the_notification_reaches_users_and_badges() -> None:
    eng = RulesEngine(PLANT, QUIET)
    (v,) = [v for v in run(eng, {"E3": (75.0, 25.0)}, 0, 10) if v.rule == HAZARD_INTRUSION]
    alarms = AlarmEngine(PLANT)
    alarm_id = alarms.event_open(
        "violation", 7, v.start_ms, source=v.rule, badge=v.badge, zone=v.zone, severity=v.severity, data=v.data()
    )
    assert alarm_id is not None
    view = alarms.get(alarm_id)
    assert view is not None and view.data is not None
    assert view.data["hazard_source"] == "HS-T" and view.data["facts"]["hazard_source"] == "HS-T"
    names = plant_names(PLANT)
    row = {
        "source_type": "personnel",
        "condition": v.rule,
        "source": "E3",
        "badge": "E3",
        "zone": "hall",
        "message": "",
        "data": view.data,
    }
    assert alarm_text(row, names, "en", show_names=False) == (
        "Badge E3 entered major hazard source Tank unit without authorization"
    )
    assert alarm_text(row, names, "zh", show_names=False) == "定位卡 E3 未经授权进入重大危险源：储罐单元"
    cfg = OncallConfig.model_validate(
        {
            "schema_version": 1,
            "channels": [{"id": "log", "type": "log"}],
            "people": [
                {"id": "boss", "name": "Boss", "channels": ["log"]},
                {"id": "tech", "name": "Tech lead", "badge": "E2", "channels": ["log"]},
                {"id": "other", "name": "Other", "channels": ["log"]},
            ],
            "rota": [{"id": "all", "chain": ["other"]}],
        }
    )
    info = AlarmInfo(alarm_id, v.start_ms, "high", source_type="personnel", badge="E3", data=view.data)
    assert [p.id for p in Notifier(cfg, ZoneInfo("UTC")).responsible(info)] == ["boss", "tech"]


def test_the_simulator_plays_an_intrusion_into_the_acid_tank_farm() -> None:
    # the demo's tank-bund entry (inc-tank-bund-entry): a badge not allowed there walks into the acid tank farm
    plant = load_plant(default_plant_path())
    start = plant_ms(plant, 2026, 5, 4, 10, 0)
    model = SmelterModel(plant, seed=7, start_ms=start)
    eng = RulesEngine(plant, QUIET)
    ids = [b.id for b in plant.badges]
    opened = []
    for s in range(0, 600, 2):
        now = start + s * 1000
        model.crowd.step(now)
        pos = [
            PositionIn(ids[k], now, x, y, floor, GOOD)
            for k, (x, y, floor) in enumerate(model.crowd.positions())
            if model.crowd.on_site(k)
        ]
        opened += [v for v in eng.evaluate(now, pos).opened if v.rule == HAZARD_INTRUSION]
    (v,) = opened
    assert v.region == "HS-ACID-TANKS" and v.data()["responsible"][0] == {"role": "main", "user": "liu.yang"}
