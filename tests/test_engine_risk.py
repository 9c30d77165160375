from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from engine.geometry import locate, point_in_polygon
from engine.risk import zone_risks
from engine.shifts import current_shift, day_start
from engine.types import BAD_OUT_OF_RANGE, GOOD
from plant.loader import parse_plant
from plant.schema import RiskLevel
from settings import ROOT
from tests.fakeclock import plant_ms

PLANT = parse_plant((ROOT / "tests" / "fixtures" / "mini_plant.yaml").read_text(encoding="utf-8"), ROOT / "mini")


def _zone_with_gas() -> tuple[str, str, float, float]:
    for tag in PLANT.tags:
        if tag.kind.value == "gas" and tag.zone and tag.limits and tag.limits.h and tag.limits.hh:
            return tag.zone, tag.id, tag.limits.h, tag.limits.hh
    raise AssertionError("mini plant has no gas detector with H and HH")


def test_static_level_comes_from_lec_when_all_is_quiet() -> None:
    risks = zone_risks(PLANT, {}, {}, {}, None)
    for zone in PLANT.zones:
        assert risks[zone.id].level == risks[zone.id].static == zone.lec.level
        assert risks[zone.id].reasons == ()
        assert not risks[zone.id].raised


def test_gas_over_h_raises_one_level_and_over_hh_makes_red() -> None:
    zone, tag, h, hh = _zone_with_gas()
    static = next(z for z in PLANT.zones if z.id == zone).lec.level
    over_h = zone_risks(PLANT, {tag: (1, h + 0.1, GOOD)}, {}, {}, None)[zone]
    assert over_h.level == RiskLevel.from_rank(static.rank + 1)
    assert [r.code for r in over_h.reasons] == ["gas_h"]
    assert over_h.reasons[0].params == {"tag": tag, "value": h + 0.1, "limit": h}
    over_hh = zone_risks(PLANT, {tag: (1, hh + 1, GOOD)}, {}, {}, None)[zone]
    assert over_hh.level == RiskLevel.RED and over_hh.reasons[0].code == "gas_hh"


def test_bad_quality_gas_values_do_not_raise() -> None:
    zone, tag, _h, hh = _zone_with_gas()
    risk = zone_risks(PLANT, {tag: (1, hh * 5, BAD_OUT_OF_RANGE)}, {}, {}, None)[zone]
    assert not risk.raised and risk.reasons == ()


def test_equipment_fault_and_over_staffing_raise_one_level_each_not_cumulatively() -> None:
    eq = PLANT.equipment[0]
    zone = next(z for z in PLANT.zones if z.id == eq.zone)
    shift = next(iter(zone.headcount), None)
    static = zone.lec.level
    faulted = zone_risks(PLANT, {}, {eq.id: "fault"}, {}, None)[zone.id]
    assert faulted.level == RiskLevel.from_rank(static.rank + 1)
    assert faulted.reasons[0].as_dict() == {"code": "equipment_fault", "equipment": eq.id}
    assert zone_risks(PLANT, {}, {eq.id: "maintenance"}, {}, None)[zone.id].level == static
    if shift is not None:
        over = zone.headcount[shift].max + 1
        both = zone_risks(PLANT, {}, {eq.id: "fault"}, {zone.id: over}, shift)[zone.id]
        assert both.level == RiskLevel.from_rank(static.rank + 1)  # a floor, not a sum
        assert {r.code for r in both.reasons} == {"equipment_fault", "over_staffed"}
        at_max = zone_risks(PLANT, {}, {}, {zone.id: zone.headcount[shift].max}, shift)[zone.id]
        assert not at_max.raised


def test_an_open_major_hidden_danger_raises_its_zone_to_at_least_orange() -> None:
    # issue 15 item 2: an open major hidden danger raises its zone's dynamic risk to at least orange
    for zone in PLANT.zones:
        r = zone_risks(PLANT, {}, {}, {}, None, {zone.id: 2})[zone.id]
        want = max(zone.lec.level.rank, RiskLevel.ORANGE.rank)
        assert r.level.rank == want and r.reasons[-1].as_dict() == {"code": "hidden_danger_major", "count": 2}
    quiet = zone_risks(PLANT, {}, {}, {}, None, {"no-such-zone": 1})
    assert all(not r.raised for r in quiet.values())


def test_red_stays_red() -> None:
    assert RiskLevel.from_rank(RiskLevel.RED.rank + 1) == RiskLevel.RED


def test_geometry_locates_points() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert point_in_polygon(5, 5, square) and not point_in_polygon(15, 5, square)
    other = [(20.0, 0.0), (30.0, 0.0), (30.0, 10.0), (20.0, 10.0)]
    got = locate(np.array([5.0, 25.0, 50.0]), np.array([5.0, 5.0, 5.0]), [("a", square), ("b", other)])
    assert got == ["a", "b", None]


def test_current_shift_in_plant_local_time() -> None:
    # 10:30 at the plant (Asia/Shanghai, UTC+8: 2026-01-01 02:30 UTC).
    now = plant_ms(PLANT, 2026, 1, 1, 10, 30)
    found = current_shift(PLANT, now)
    assert found is not None
    shift, start = found
    assert shift.start.hour <= 10 < shift.start.hour + shift.hours
    assert start.hour == shift.start.hour and start.tzinfo is not None
    midnight = day_start(PLANT, now)
    assert midnight.isoformat().startswith("2026-01-01T00:00:00")
    assert midnight.utcoffset() == datetime(2026, 1, 1, tzinfo=ZoneInfo(PLANT.site.timezone)).utcoffset()
    # Just before local midnight still belongs to the evening shift of that day.
    late = plant_ms(PLANT, 2026, 1, 1, 23, 59)
    _shift, late_start = current_shift(PLANT, late)  # type: ignore[misc]
    assert late_start.date().isoformat() == "2026-01-01"
