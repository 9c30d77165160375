"""Major hazard sources (GB 18218-2018): identification, R, grade, alpha, readings, plant-file checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.alarm_text import alarm_text, plant_names
from engine.alarms import AlarmEngine
from engine.hazards import NO_VALUE, OK, OVER, UNDER, alpha_for, assess, assess_all, grade_for, reading_state, readings
from engine.types import SampleIn
from notify.config import DEMO_ONCALL, load_oncall
from plant.loader import PlantFileError, default_plant_path, load_plant, parse_plant
from plant.schema import HazardSource
from services.alarms import AlarmService
from simulator.model import SmelterModel
from store.db import make_engine, migrate, session_scope
from store.models import Alarm
from store.models import Tag as TagRow
from store.samples import write_samples


def source(*subs: dict[str, object], people: int = 10) -> HazardSource:
    return HazardSource.model_validate(
        {
            "id": "HS",
            "name": "Unit",
            "unit": "storage",
            "zone": "z",
            "fence": [[0, 0], [10, 0], [10, 10]],
            "people_500m": people,
            "substances": list(subs),
            "responsible": [{"role": "main", "badge": "P0001"}],
            "readings": [{"tag": "T.LEVEL", "high": 12.0, "low": 2.0}, {"tag": "T.GAS", "high": 5}],
        }
    )


def test_alpha_follows_table_5_at_its_boundaries() -> None:
    # GB 18218-2018 4.3.4, table 5: >=100 people 2.0; 50-99 1.5; 30-49 1.2; 1-29 1.0; 0 0.5
    expected = {0: 0.5, 1: 1.0, 29: 1.0, 30: 1.2, 49: 1.2, 50: 1.5, 99: 1.5, 100: 2.0, 5000: 2.0}
    assert {n: alpha_for(n) for n in expected} == expected
    with pytest.raises(ValueError):
        alpha_for(-1)


def test_grade_boundaries_of_table_6() -> None:
    # GB 18218-2018 4.3.5, table 6: first R >= 100, second 50 <= R < 100, third 10 <= R < 50, fourth R < 10
    cases = {100.0: 1, 250.0: 1, 99.999: 2, 50.0: 2, 49.999: 3, 10.0: 3, 9.999: 4, 0.0: 4}
    assert {r: grade_for(r) for r in cases} == cases
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(ValueError):
            grade_for(bad)


def test_r_is_alpha_times_the_beta_weighted_sum() -> None:
    # GB 18218-2018 4.3.2: R = alpha (beta1 q1/Q1 + beta2 q2/Q2); by hand: SO2 q 30 Q 20 beta 2 -> 3.0,
    # LPG q 40 Q 50 beta 1.5 -> 1.2; sum 4.2; 60 people -> alpha 1.5; R = 6.3, S = 1.5 + 0.8 = 2.3
    a = assess(
        source(
            {"name": "Sulfur dioxide", "cas": "7446-09-5", "q_t": 30, "critical_t": 20, "beta": 2},
            {"name": "LPG", "q_t": 40, "critical_t": 50, "beta": 1.5},
            people=60,
        )
    )
    assert a.alpha == 1.5
    assert a.s == pytest.approx(2.3) and a.r == pytest.approx(6.3)
    assert a.major and a.grade == 4
    assert [t.weighted for t in a.terms] == [pytest.approx(3.0), pytest.approx(1.2)]


def test_a_unit_below_s_1_is_not_a_major_hazard_source_and_unlisted_substances_count_nothing() -> None:
    # GB 18218-2018 4.2.2: major when sum(q/Q) >= 1; a substance in neither table 1 nor 2 counts nothing
    a = assess(
        source(
            {"name": "Oleum", "q_t": 99, "critical_t": 100},
            {"name": "Sulfuric acid", "q_t": 45000},
        )
    )
    assert a.s == pytest.approx(0.99) and not a.major and a.grade is None
    assert not a.terms[1].listed and a.terms[1].weighted == 0
    b = assess(source({"name": "Oleum", "q_t": 100, "critical_t": 100}, people=100))
    assert b.s == 1.0 and b.major and b.r == 2.0 and b.grade == 4  # exactly S = 1 is major (4.2.2)
    c = assess(source({"name": "Oleum", "q_t": 5000, "critical_t": 100}, people=100))
    assert c.r == 100.0 and c.grade == 1  # R = 2.0 x 50 = 100: first grade (4.3.5)


def test_readings_against_thresholds() -> None:
    # a reading over its source's threshold (equal is within); no value is never "over"
    assert reading_state(12.0, 12.0, 2.0) == OK
    assert reading_state(12.01, 12.0, 2.0) == OVER
    assert reading_state(1.99, 12.0, 2.0) == UNDER
    for v in (None, math.nan, math.inf, "12", True):
        assert reading_state(v, 12.0, None) == NO_VALUE
    hs = source({"name": "Oleum", "q_t": 100, "critical_t": 100})
    got = readings(hs, {"T.LEVEL": 13.0})
    assert [(r.tag, r.value, r.state) for r in got] == [("T.LEVEL", 13.0, OVER), ("T.GAS", None, NO_VALUE)]


def test_demo_plant_sources_graded_by_hand() -> None:
    # GB 18218-2018 4.3.2-4.3.5 on the demo's values (marked to be checked against the text in force):
    # acid tanks: oleum 1200/100 = 12, alpha 1.5 (60 people) -> R 18, third grade;
    # liquid oxygen: 900/200 = 4.5, alpha 1.2 (40 people) -> R 5.4, fourth grade;
    # hazchem store: LPG 1.5 x 40/50 = 1.2 + acetylene 1.5 x 0.5/1 = 0.75, alpha 2.0 (120) -> R 3.9, fourth grade
    plant = load_plant(default_plant_path())
    assert plant.hazards.review and "checked" in plant.hazards.review
    got = {a.source: (round(a.r, 6), a.grade, round(a.s, 6)) for a in assess_all(plant)}
    assert got == {"HS-ACID-TANKS": (18.0, 3, 12.0), "HS-LOX": (5.4, 4, 4.5), "HS-HAZCHEM": (3.9, 4, 1.3)}
    badges = {b.id for b in plant.badges}
    oncall = {p.id for p in load_oncall(DEMO_ONCALL).people}
    for hs in plant.hazards.sources:
        assert {lead.role.value for lead in hs.responsible} == {"main", "technical", "operation"}
        assert all(lead.badge in badges or lead.user in oncall for lead in hs.responsible)
        assert all(s.basis for s in hs.substances)
    acid = next(hs for hs in plant.hazards.sources if hs.id == "HS-ACID-TANKS")
    assert [lead.user for lead in acid.responsible if lead.user] == ["liu.yang"]  # told of the source's alarms


def test_bad_hazard_entries_are_named(tmp_path: Path) -> None:
    text = default_plant_path().read_text(encoding="utf-8")
    bad = (
        text.replace(
            "zone: oxygen-plant\n    equipment:\n    - ASU-LOX1", "zone: nowhere\n    equipment:\n    - ASU-LOX1"
        )
        .replace("- tag: HZ-BLD.ROOM_TEMP", "- tag: HZ-BLD.EL_KWH")
        .replace("q_t: 1200", "q_t: -5")
    )
    assert "zone: nowhere" in bad and "tag: HZ-BLD.EL_KWH" in bad and "q_t: -5" in bad
    with pytest.raises(PlantFileError) as err:
        parse_plant(bad, tmp_path / "plant.yaml")
    msg = str(err.value)
    assert "hazards.sources[0]" in msg and "q_t" in msg and "greater than or equal to 0" in msg
    bad2 = bad.replace("q_t: -5", "q_t: 1200")
    with pytest.raises(PlantFileError) as err2:
        parse_plant(bad2, tmp_path / "plant.yaml")
    msg2 = str(err2.value)
    assert "hazards.sources[1]" in msg2 and "unknown zone 'nowhere'" in msg2
    assert "hazards.sources[2]" in msg2 and "'HZ-BLD.EL_KWH' is a energy tag" in msg2


def test_a_reading_over_its_hazard_threshold_alarms_naming_the_source_and_its_leads() -> None:
    # the live reading of a major hazard source against its threshold (GB 18218-2018 clause 3.5 names the unit;
    # the thresholds are the plant's): tank 6's level has threshold 12.0 m, below the tag's own H limit 12.32 m
    plant = load_plant(default_plant_path())
    eng = AlarmEngine(plant)
    d = eng.get("AP-TK6.LEVEL:HZH")
    assert d is not None and d.source_type == "hazard" and d.source == "HS-ACID-TANKS" and d.limit == 12.0
    t0 = 1_800_000_000_000
    eng.process("AP-TK6.LEVEL", t0, 11.9)
    eng.process("AP-TK6.LEVEL", t0 + 1000, 12.1)
    eng.process("AP-TK6.LEVEL", t0 + 31_000, 12.1)  # the tag's 30 s on-delay holds for its hazard alarm too
    batch = eng.drain()
    active = [tr for tr in batch.transitions if tr.kind == "active"]
    assert [tr.alarm_id for tr in active] == ["AP-TK6.LEVEL:HZH"] and active[0].ts == t0 + 31_000
    view = eng.get("AP-TK6.LEVEL:HZH")
    assert view is not None and view.active and not view.acked and view.priority == "high"
    hs = next(h for h in plant.hazards.sources if h.id == "HS-ACID-TANKS")
    assert view.data is not None and view.data["hazard_source"] == "HS-ACID-TANKS"
    assert view.data["responsible"] == [lead.model_dump(mode="json", exclude_none=True) for lead in hs.responsible]
    assert view.data["responsible"][0] == {"role": "main", "user": "liu.yang"}
    names = plant_names(plant)
    en = alarm_text(view, names, "en", show_names=False)
    zh = alarm_text(view, names, "zh", show_names=False)
    assert en.startswith("Acid tank farm (storage unit): ") and "12.1 m over the hazard-source threshold 12 m" in en
    assert zh.startswith("硫酸罐区（储存单元）：") and "高于重大危险源阈值" in zh
    eng.process("AP-TK6.LEVEL", t0 + 40_000, 11.0)
    eng.process("AP-TK6.LEVEL", t0 + 80_000, 11.0)
    assert not eng.get("AP-TK6.LEVEL:HZH").active  # type: ignore[union-attr]
    low = eng.get("ASU-LOX1.LEVEL:HZL")
    assert low is not None and low.limit == 2.0 and low.source == "HS-LOX"


def test_a_tag_read_by_two_hazard_sources_is_refused(tmp_path: Path) -> None:
    text = default_plant_path().read_text(encoding="utf-8")
    bad = text.replace("- tag: HZ-BLD.ROOM_TEMP", "- tag: AP-TK6.TEMP")
    with pytest.raises(PlantFileError) as err:
        parse_plant(bad, tmp_path / "plant.yaml")
    assert "hazards.sources[2]" in str(err.value) and "already a reading of 'HS-ACID-TANKS'" in str(err.value)


def test_the_simulator_plays_the_oleum_tank_level_rising_over_its_threshold() -> None:
    # the tank's level ramps over the acid tank farm's 12.0 m threshold and stays under the tag's H limit, so
    # the hazard-source alarm comes and the tag's own H alarm does not (the same model makes the backfill)
    plant = load_plant(default_plant_path())
    incidents = list(plant.incidents)
    i = next(k for k, inc in enumerate(incidents) if inc.kind.value == "hazard_level")
    start = 1_800_000_000_000
    model = SmelterModel(plant, seed=11, start_ms=start)
    s, e = model.schedule.occurrence(i, 0)
    eng = AlarmEngine(plant)
    k = model.a_index["AP-TK6.LEVEL"]
    levels: list[tuple[int, float]] = []
    t = start
    while t < e + 5 * 60_000:
        t += 10_000
        model.step(t)
        levels.append((t, float(model.a_value[k])))
        eng.process("AP-TK6.LEVEL", t, levels[-1][1])
    assert max(v for ts, v in levels if ts < s) < 12.0
    held = [v for ts, v in levels if s + (e - s) * 0.3 <= ts < s + (e - s) * 0.7]
    assert held and min(held) > 12.0 and max(held) < 12.32
    journal = [tr for tr in eng.drain().transitions if tr.kind in ("active", "return")]
    assert [(tr.alarm_id, tr.kind) for tr in journal] == [
        ("AP-TK6.LEVEL:HZH", "active"),
        ("AP-TK6.LEVEL:HZH", "return"),
    ]
    assert s < journal[0].ts < journal[1].ts < e + 5 * 60_000


def test_the_alarm_service_writes_the_hazard_alarm_row_with_its_source_and_leads(tmp_path: Path) -> None:
    # end to end on a real store: samples of the oleum tank's level -> the alarm service -> the alarm row
    plant = load_plant(default_plant_path())
    url = f"sqlite:///{tmp_path / 'h.db'}"
    migrate(url)
    engine = make_engine(url)
    alarms = AlarmService(plant, engine)
    t0 = 1_800_000_000_000
    try:
        alarms.step(t0)
        with session_scope(engine) as s:
            tag_id = s.scalars(select(TagRow.id).where(TagRow.name == "AP-TK6.LEVEL")).one()
            write_samples(s, [SampleIn(tag_id, t0 + 1000, 11.5), SampleIn(tag_id, t0 + 2000, 12.2)])
        alarms.step(t0 + 40_000)  # past the tag's 30 s on-delay
        with session_scope(engine) as s:
            row = s.get(Alarm, "AP-TK6.LEVEL:HZH")
            assert row is not None and row.active and row.source_type == "hazard" and row.source == "HS-ACID-TANKS"
            assert row.zone == "acid-tank-farm" and row.value == 12.2 and row.limit == 12.0
            assert row.data is not None and row.data["responsible"][0] == {"role": "main", "user": "liu.yang"}
            own_h = s.get(Alarm, "AP-TK6.LEVEL:H")
            assert own_h is None or not own_h.active  # 12.2 m is under the tag's own H limit
    finally:
        alarms.lock.release()
        engine.dispose()
