"""engine.personnel: every rule on a small hand-made plant, driven tick by tick (pure, no I/O)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.alarm_text import personnel_text, plant_names
from engine.personnel import (
    DWELL_EXCEEDED,
    FORBIDDEN_ZONE,
    LONE_WORKER,
    MAN_DOWN,
    OFF_ROUTE,
    OVER_STAFFED,
    ROLE_NOT_ALLOWED,
    RULES,
    SEVERITY,
    SOS,
    SPEEDING,
    UNDER_STAFFED,
    UNESCORTED_VISITOR,
    RuleConfig,
    RulesEngine,
    SosChange,
    Tick,
    Violation,
)
from engine.types import BAD, BAD_NO_COMMUNICATION, GOOD, UNCERTAIN, PositionIn
from plant.schema import Plant

T0 = 1_777_626_000_000  # 2026-05-01 09:00 UTC: shift B (08:00-16:00 in the plant's UTC)


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def zone(zid: str, poly: list[list[float]], **kw: Any) -> dict[str, Any]:
    return {
        "id": zid,
        "name": zid.title(),
        "area": "a",
        "polygon": poly,
        "height_m": 10,
        "lec": kw.pop("lec", {"l": 1, "e": 1, "c": 1}),
        **kw,
    }


def make_plant(**extra: Any) -> Plant:
    raw: dict[str, Any] = {
        "schema_version": 1,
        "site": {
            "name": "Test",
            "timezone": "UTC",
            "width_m": 400,
            "depth_m": 300,
            "shifts": [
                {"id": "A", "start": "00:00", "hours": 8},
                {"id": "B", "start": "08:00", "hours": 8},
                {"id": "C", "start": "16:00", "hours": 8},
            ],
        },
        "endpoints": [{"id": "rtls", "name": "RTLS", "url": "opc.tcp://127.0.0.1:4841/x"}],
        "areas": [{"id": "a", "name": "Area"}],
        "zones": [
            zone(
                "hall",
                rect(0, 0, 100, 100),
                hazard=True,
                roles_allowed=["employee", "contractor"],
                headcount={"B": {"min": 1, "max": 3}},
            ),
            zone("tank", rect(120, 0, 180, 60), forbidden=True),
            zone("aisle", rect(200, 0, 260, 60), two_person=True, lec={"l": 3, "e": 6, "c": 40}),
            zone("office", rect(0, 150, 100, 250), roles_allowed=["employee", "contractor", "visitor"]),
            zone(
                "lounge",
                rect(120, 150, 180, 250),
                roles_allowed=["employee", "contractor", "visitor"],
                visitors_escorted=False,
            ),
            zone("yard", rect(300, 150, 390, 290), roles_allowed=["employee", "driver"]),
        ],
        "roads": [{"id": "road", "name": "Road", "polyline": [[0, 130], [400, 130]], "width_m": 10}],
        "cameras": [
            {
                "id": "cam-office",
                "name": "Office cam",
                "zone": "office",
                "position": [50, 140, 6],
                "yaw_deg": 90,
                "fov_deg": 90,
                "range_m": 200,
            },
            {
                "id": "cam-hall",
                "name": "Hall cam",
                "zone": "hall",
                "position": [50, 110, 6],
                "yaw_deg": -90,
                "fov_deg": 90,
                "range_m": 150,
            },
            {
                "id": "cam-far",
                "name": "Far cam",
                "zone": "tank",
                "position": [50, 120, 6],
                "yaw_deg": -90,
                "fov_deg": 90,
                "range_m": 150,
            },
        ],
        "badges": [
            {"id": "E1", "name": "Emp One", "kind": "person", "role": "employee"},
            {"id": "E2", "name": "Emp Two", "kind": "person", "role": "employee"},
            {"id": "E3", "name": "Emp Three", "kind": "person", "role": "employee"},
            {"id": "E4", "name": "Emp Four", "kind": "person", "role": "employee"},
            {"id": "C1", "name": "Con One", "kind": "person", "role": "contractor"},
            {"id": "V1", "name": "Vis One", "kind": "person", "role": "visitor", "escort": "E1"},
            {"id": "T1", "name": "Truck", "kind": "vehicle", "role": "driver", "max_speed_mps": 15},
        ],
        "fences": [
            {"id": "f-tank", "name": "Tank fence", "kind": "forbidden", "polygon": rect(118, 0, 182, 62)},
            {"id": "f-forb", "name": "Pit", "kind": "forbidden", "polygon": rect(200, 200, 260, 260)},
            {
                "id": "f-auth",
                "name": "Employees only",
                "kind": "authorized",
                "polygon": rect(10, 10, 40, 40),
                "roles_allowed": ["employee"],
            },
            {
                "id": "f-dwell",
                "name": "Hot floor",
                "kind": "dwell",
                "polygon": rect(60, 60, 90, 90),
                "dwell_limit_s": 60,
            },
            {
                "id": "f-speed",
                "name": "Road speed",
                "kind": "speed",
                "polygon": rect(0, 120, 400, 140),
                "speed_limit_kmh": 20,
            },
        ],
    }
    raw.update(extra)
    return Plant.model_validate(raw)


PLANT = make_plant()


QUIET = RuleConfig(man_down_s=365 * 86_400)  # the staffing badge in the hall never counts as down


class Run:
    """Drives an engine: badge positions persist between ticks, like ``badge_current``.

    Man-down is off unless a test passes a config (the badge that keeps the hall staffed stands still).
    """

    def __init__(self, plant: Plant = PLANT, config: RuleConfig = QUIET) -> None:
        self.engine = RulesEngine(plant, config)
        self.pos: dict[str, PositionIn] = {}
        self.opened: list[Violation] = []
        self.closed: list[Violation] = []
        self.last: Tick | None = None

    def put(self, badge: str, t_s: float, x: float, y: float, quality: int = GOOD) -> None:
        self.pos[badge] = PositionIn(badge, T0 + round(t_s * 1000), x, y, 0, quality)

    def tick(self, t_s: float, sos: list[SosChange] | None = None, **kw: Any) -> Tick:
        tick = self.engine.evaluate(T0 + round(t_s * 1000), list(self.pos.values()), sos or [], **kw)
        self.opened += tick.opened
        self.closed += tick.closed
        self.last = tick
        return tick

    def run(self, t0: float, t1: float, step: float = 1.0) -> None:
        t = t0
        while t <= t1 + 1e-9:
            self.tick(t)
            t += step

    def rules(self, which: list[Violation]) -> list[str]:
        return [v.rule for v in which]


def ms(t_s: float) -> int:
    return T0 + round(t_s * 1000)


def staffed(r: Run) -> None:
    """Enough people in the hall (min 1) so staffing rules stay quiet in other tests."""
    r.put("E4", 0, 20, 80)


# -- forbidden ------------------------------------------------------------------------------------


def test_forbidden_zone_one_violation_with_start_and_end() -> None:
    r = Run()
    staffed(r)
    r.put("E1", 0, 110, 30)  # next to the tank farm
    r.run(0, 9)
    r.put("E1", 10, 150, 30)  # in the zone and in the fence around it
    r.tick(10.4)
    assert r.opened == []  # on-delay: 2 s
    r.tick(11.4)
    assert r.opened == []
    r.tick(12.4)
    (v,) = r.opened
    assert v.rule == FORBIDDEN_ZONE and v.badge == "E1" and v.zone == "tank" and v.start_ms == ms(10)
    assert v.severity == "high" and v.end_ms is None
    # no stored sentence: the text is built when shown, from the violation's fields
    names = plant_names(PLANT)
    assert "Emp One (E1)" in personnel_text(v.rule, v.badge, v.zone, v.data(), names, "en", show_names=True)
    assert "E1" in personnel_text(v.rule, v.badge, v.zone, v.data(), names, "zh", show_names=False)
    assert "Emp One" not in personnel_text(v.rule, v.badge, v.zone, v.data(), names, "en", show_names=False)
    for t in range(13, 30):
        r.put("E1", t, 150 + (t % 3), 30)  # moving around inside
        r.tick(t + 0.4)
    r.put("E1", 30, 110, 30)
    r.run(30.4, 34.4)
    assert r.closed == []  # clear delay: 5 s
    r.tick(35.4)
    assert r.closed == [v] and v.end_ms == ms(30)
    assert len(r.opened) == 1


def test_forbidden_fence_outside_zones_and_short_visits() -> None:
    r = Run()
    staffed(r)
    r.put("C1", 0, 230, 230)
    r.run(0, 3)
    (v,) = r.opened
    assert v.fence == "f-forb" and v.zone is None and v.rule == FORBIDDEN_ZONE
    # a one-second blip across a fence line does not open anything
    r2 = Run()
    staffed(r2)
    r2.put("E2", 0, 150, 30)
    r2.tick(0.5)
    r2.put("E2", 1, 110, 30)
    r2.run(1.5, 10)
    assert r2.opened == []


# -- roles and escort -----------------------------------------------------------------------------


def test_roles_allowed() -> None:
    r = Run()
    staffed(r)
    r.put("C1", 0, 20, 20)  # contractor in the employees-only fence inside the hall
    r.put("E1", 0, 25, 25)  # employee there: fine
    r.run(0, 6)
    (v,) = r.opened
    assert v.rule == ROLE_NOT_ALLOWED and v.badge == "C1" and v.fence == "f-auth" and v.zone == "hall"
    assert v.extra == {"role": "contractor", "allowed": ["employee"]} and v.data()["role"] == "contractor"
    # a visitor (escorted) in the hall, which admits employees and contractors only
    r2 = Run()
    staffed(r2)
    r2.put("V1", 0, 50, 50)
    r2.put("E1", 0, 52, 50)
    r2.run(0, 6)
    assert r2.rules(r2.opened) == [ROLE_NOT_ALLOWED] and r2.opened[0].zone == "hall"


def test_forbidden_is_not_also_reported_as_role() -> None:
    r = Run()
    staffed(r)
    r.put("C1", 0, 150, 30)  # contractor in the tank farm (employees only and forbidden)
    r.run(0, 10)
    assert r.rules(r.opened) == [FORBIDDEN_ZONE]


def test_unescorted_visitor() -> None:
    r = Run()
    staffed(r)
    r.put("V1", 0, 50, 200)
    r.put("E1", 0, 53, 200)
    r.run(0, 40)
    assert r.opened == []
    r.put("E1", 41, 95, 240)  # the escort walks off
    r.run(41, 70)
    assert r.opened == []  # on-delay 30 s
    r.run(71, 72)
    (v,) = r.opened
    assert v.rule == UNESCORTED_VISITOR and v.badge == "V1" and v.start_ms == ms(41)
    assert v.limit == 10.0 and v.value is not None and v.value > 40 and v.camera == "cam-office"
    r.put("E1", 80, 52, 201)
    r.run(80, 95)
    assert r.closed == [v] and v.end_ms == ms(80)
    # where visitors need no escort nothing happens
    r2 = Run()
    staffed(r2)
    r2.put("V1", 0, 150, 200)
    r2.run(0, 60)
    assert r2.opened == []


# -- dwell ----------------------------------------------------------------------------------------


def test_dwell_limit_with_short_exit() -> None:
    r = Run()
    r.put("E4", 0, 20, 80)
    r.put("E1", 0, 70, 70)
    for t in range(0, 59):
        r.put("E1", t, 70 + (t % 2), 70)
        r.tick(t + 0.5)
    assert r.opened == []
    r.put("E1", 59, 95, 70)  # steps out for 2 s: the clock does not restart
    r.tick(59.5)
    r.tick(60.5)
    r.put("E1", 61, 70, 70)
    r.run(61.5, 62.5)
    (v,) = r.opened
    assert v.rule == DWELL_EXCEEDED and v.region == "f-dwell" and v.fence == "f-dwell" and v.zone == "hall"
    assert v.start_ms == ms(60) and v.limit == 60 and v.value is not None and v.value >= 60
    r.put("E1", 70, 95, 70)
    r.run(70.5, 80)
    assert r.closed == [v] and v.end_ms == ms(70)
    # back in after the clear delay: the clock starts again
    r.put("E1", 81, 70, 70)
    r.run(81.5, 130)
    assert len(r.opened) == 1
    r.run(131, 142)
    assert len(r.opened) == 2 and r.opened[1].start_ms == ms(141)


def test_dwell_counts_people_only() -> None:
    r = Run()
    staffed(r)
    r.put("T1", 0, 75, 75)
    r.run(0, 100, 5)
    assert DWELL_EXCEEDED not in r.rules(r.opened)


# -- staffing and lone work -----------------------------------------------------------------------


def test_headcount_under_and_over() -> None:
    r = Run()
    r.put("E1", 0, 150, 200)  # in the lounge; the hall (min 1 on shift B) is empty
    r.run(0, 59)
    assert r.opened == []
    assert r.last is not None and r.last.headcount["hall"] == 0 and r.last.headcount["lounge"] == 1
    r.tick(60)
    (under,) = r.opened
    assert under.rule == UNDER_STAFFED and under.badge is None and under.zone == "hall" and under.start_ms == ms(0)
    assert under.value == 0 and under.limit == 1 and under.severity == "low" and under.camera == "cam-hall"
    assert under.extra == {"shift": "B"} and under.region == "hall"
    for k, b in enumerate(["E1", "E2", "E3", "E4"]):
        r.put(b, 100, 10 + 5 * k, 80)
    r.run(100, 200)
    assert r.last is not None and r.last.headcount["hall"] == 4
    assert under.end_ms == ms(100)
    over = r.opened[-1]
    assert over.rule == OVER_STAFFED and over.value == 4 and over.limit == 3 and over.start_ms == ms(100)
    # vehicles are not people
    r.put("E4", 210, 150, 200)
    r.put("T1", 210, 50, 80)
    r.run(210, 260)
    assert over.end_ms == ms(210) and r.last is not None and r.last.headcount["hall"] == 3


def test_headcount_outside_shifts_with_limits() -> None:
    r = Run()
    night = (T0 - 9 * 3_600_000) / 1000 - (T0 / 1000)  # 00:00 UTC: shift A has no limits for the hall
    r.run(night, night + 120, 10)
    assert r.opened == []


def test_lone_worker() -> None:
    r = Run()
    staffed(r)
    r.put("E1", 0, 230, 30)
    r.put("E2", 0, 235, 30)
    r.run(0, 40)
    assert r.opened == []
    r.put("E2", 41, 280, 30)
    r.run(41, 70)
    assert r.opened == []
    r.tick(71)
    (v,) = r.opened
    assert v.rule == LONE_WORKER and v.badge == "E1" and v.zone == "aisle" and v.start_ms == ms(41)
    assert v.severity == "high"
    r.put("E3", 80, 240, 30)
    r.run(80, 95)
    assert r.closed == [v] and v.end_ms == ms(80)


# -- man-down -------------------------------------------------------------------------------------


def walk(r: Run, badge: str, t0: int, t1: int, x: float, y: float) -> None:
    for t in range(t0, t1):
        r.put(badge, t, x + 3 * (t % 2), y)
        r.tick(t + 0.3)


def test_man_down_start_and_end() -> None:
    r = Run(config=RuleConfig())
    staffed(r)
    walk(r, "E1", 0, 30, 50, 50)  # moving in the hall (a hazard zone)
    walk(r, "E4", 0, 30, 20, 80)
    r.put("E1", 30, 50, 50)  # stops dead at t=30 and reports nothing more
    for t in range(30, 90):
        r.put("E4", t, 20 + 3 * (t % 2), 80)
        r.tick(t + 0.3)
    assert r.rules(r.opened) == []  # 59.3 s still: not yet
    r.put("E4", 90, 20, 80)
    r.tick(90.3)
    (v,) = r.opened
    assert v.rule == MAN_DOWN and v.badge == "E1" and v.zone == "hall" and v.start_ms == ms(90)
    assert v.severity == "urgent" and v.limit == 60 and v.camera == "cam-hall"
    r.put("E1", 150, 50.5, 50)  # a twitch inside the radius is not movement
    r.run(150.3, 160.3)
    assert r.closed == []
    r.put("E1", 170, 53, 50)  # gets up
    r.tick(170.3)
    assert r.closed == [v] and v.end_ms == ms(170)
    assert [o for o in r.opened if o.badge == "E1"] == [v]  # E4 stood still from t=90 on


def test_man_down_only_in_hazard_zones_and_only_for_people() -> None:
    r = Run(config=RuleConfig())
    staffed(r)
    r.put("E1", 0, 50, 200)  # office: blue, no hazard
    r.put("T1", 0, 350, 200)  # a parked vehicle in the yard
    r.put("E2", 0, 230, 30)  # the aisle: red (LEC 720), not flagged hazard
    r.put("E3", 0, 232, 30)
    r.run(0, 120, 5)
    assert sorted((v.rule, v.badge) for v in r.opened) == [(MAN_DOWN, "E2"), (MAN_DOWN, "E3"), (MAN_DOWN, "E4")]


def test_man_down_waits_while_positions_do_not_arrive() -> None:
    r = Run(config=RuleConfig())
    r.put("E1", 0, 50, 50)
    r.put("E4", 0, 20, 80)
    for t in range(0, 200, 5):
        r.tick(t, positions_live=False)
    assert MAN_DOWN not in r.rules(r.opened)
    # the link is back: their fixes from t=0 prove nothing about the outage, so the 60 s count from now
    r.run(200, 259)
    assert MAN_DOWN not in r.rules(r.opened)
    r.tick(260)  # a full minute of live positions and still no movement
    assert sorted(v.badge for v in r.opened if v.rule == MAN_DOWN) == ["E1", "E4"]
    (v, _) = [v for v in r.opened if v.rule == MAN_DOWN]
    assert v.start_ms == ms(260)
    r.tick(270, positions_live=False)  # link down again: what is open stays open ...
    r.run(280, 400)  # ... and stays open once the link is back, while they do not move
    assert r.closed == [] and len([v for v in r.opened if v.rule == MAN_DOWN]) == 2
    r.put("E1", 401, 53, 50)
    r.tick(401.3)
    assert [c.badge for c in r.closed] == ["E1"] and r.closed[0].end_ms == ms(401)


def test_no_man_down_from_positions_older_than_the_start() -> None:
    """Start-up: the store holds a backfill's last positions (one a minute, the newest 60 s old), then a
    gap until the live gateway publishes. Nobody has been seen still for 60 s: no man-down, then or later
    once the live fixes move them; a badge that then really lies still is down 60 s after its last move."""
    r = Run(config=RuleConfig())
    for t in (-180, -120, -60):  # the backfill: everyone walking, sampled once a minute
        r.put("E1", t, 50 + t / 30, 50)
        r.put("E2", t, 230 + t / 30, 30)
        r.put("E4", t, 20 + t / 30, 80)
    r.tick(0.7)  # the rules start: the newest fix of each is 60.7 s old, all in hazard zones
    r.tick(1.0)
    assert MAN_DOWN not in r.rules(r.opened)
    r.tick(3, positions_live=False)  # the collectors are still connecting
    r.run(4, 6)
    assert MAN_DOWN not in r.rules(r.opened)
    for t in range(7, 120):  # the live fixes: E2 and E4 walk about, E1 stops at t=10 and stays there
        r.put("E1", min(t, 10), 50 + min(t, 10) % 2 * 3, 50)
        r.put("E2", t, 230 + t % 2 * 3, 30)
        r.put("E4", t, 20 + t % 2 * 3, 80)
        r.tick(t + 0.3)
    (v,) = [v for v in r.opened if v.rule == MAN_DOWN]
    assert v.badge == "E1" and v.start_ms == ms(70)
    assert MAN_DOWN not in r.rules(r.closed)


# -- SOS ------------------------------------------------------------------------------------------


def test_sos_open_and_close_at_the_tag_times() -> None:
    r = Run()
    staffed(r)
    r.put("E1", 0, 50, 200)
    r.tick(0, [SosChange("E1", ms(0), False)])
    assert r.opened == []
    r.tick(5, [SosChange("E1", ms(4.2), True)])
    (v,) = r.opened
    assert v.rule == SOS and v.badge == "E1" and v.start_ms == ms(4.2) and v.zone == "office"
    assert v.camera == "cam-office" and v.severity == "urgent"
    r.tick(6, [SosChange("E1", ms(5.5), True)])  # a repeated value changes nothing
    assert len(r.opened) == 1
    r.tick(9, [SosChange("E1", ms(8.7), False)])
    assert r.closed == [v] and v.end_ms == ms(8.7)


def test_sos_press_and_release_between_two_ticks() -> None:
    r = Run()
    staffed(r)
    tick = r.tick(1, [SosChange("E2", ms(0.6), False), SosChange("E2", ms(0.2), True)])  # any order
    (v,) = tick.opened
    assert tick.closed == [v] and v.start_ms == ms(0.2) and v.end_ms == ms(0.6)
    assert v.zone is None and v.camera is None  # E2 has no position


# -- vehicles -------------------------------------------------------------------------------------


def drive(r: Run, t0: int, t1: int, speed: float, x0: float = 10.0) -> float:
    x = x0
    for t in range(t0, t1):
        r.put("T1", t, x, 130)
        r.tick(t + 0.5)
        x += speed
    return x


def test_speeding_in_a_speed_fence() -> None:
    r = Run()
    staffed(r)
    x = drive(r, 0, 20, 5.0)  # 18 km/h under the 20 km/h limit
    assert r.opened == []
    x = drive(r, 20, 30, 10.0, x)  # 36 km/h
    (v,) = r.opened
    assert v.rule == SPEEDING and v.badge == "T1" and v.fence == "f-speed" and v.limit == 20
    assert v.value == pytest.approx(36.0) and v.start_ms == ms(21)
    drive(r, 30, 40, 4.0, x)
    assert r.closed == [v] and v.end_ms == ms(31)


def test_speed_of_a_parked_vehicle_is_zero() -> None:
    r = Run()
    staffed(r)
    x = drive(r, 0, 10, 10.0)
    r.run(10, 30)  # no new positions: it stands
    assert len(r.opened) == 1 and r.closed == r.opened
    drive(r, 40, 45, 1.0, x + 200)  # a long way on after standing: not a speed over the gap
    assert len(r.opened) == 1


def test_off_route() -> None:
    r = Run()
    staffed(r)
    r.put("T1", 0, 150, 290)  # 155 m north of the road, in no zone
    r.run(0, 9)
    assert r.opened == []
    r.tick(10)
    (v,) = r.opened
    assert v.rule == OFF_ROUTE and v.value == pytest.approx(155.0) and v.limit == 15 and v.start_ms == ms(0)
    r.put("T1", 20, 350, 200)  # in the yard, which admits drivers
    r.run(20, 30)
    assert r.closed == [v] and v.end_ms == ms(20)
    r.put("T1", 40, 100, 140)  # 10 m from the centre line: on the road's edge
    r.run(40, 60)
    assert len(r.opened) == 1


# -- cameras, data quality, restart, scale --------------------------------------------------------


def test_nearest_camera_that_sees_the_point() -> None:
    e = RulesEngine(PLANT)
    assert e.nearest_camera(50, 200) == "cam-office"
    assert e.nearest_camera(50, 50) == "cam-hall"  # cam-far sees it too, but is further
    assert e.nearest_camera(390, 10) is None  # outside every cone
    assert e.nearest_camera(50, 139) is None  # right behind the office camera
    assert e.nearest_camera(math.nan, 3) is None
    assert e.zone_camera("office") == "cam-office"
    assert e.zone_camera("tank") == "cam-far"  # no cone holds its centre: the camera registered there
    assert e.zone_camera("yard") is None and e.zone_camera("nope") is None


def test_only_good_positions_count() -> None:
    r = Run()
    r.put("E1", 0, 150, 30, quality=UNCERTAIN)  # off site, last known position
    r.put("E2", 0, 150, 30, quality=BAD)
    r.put("E3", 0, math.nan, 30)
    r.pos["GHOST"] = PositionIn("GHOST", T0, 150, 30, 0, GOOD)
    r.put("E4", 0, 20, 80)
    r.run(0, 120, 10)
    assert r.opened == []
    assert r.last is not None and r.last.on_site == 1 and r.last.unknown_badges == 1
    assert r.last.headcount["tank"] == 0


def test_restore_reattaches_without_duplicates() -> None:
    r = Run()
    staffed(r)
    r.put("E1", 0, 150, 30)
    r.put("E2", 0, 70, 70)
    r.run(0, 80)
    assert sorted(v.rule for v in r.opened) == [DWELL_EXCEEDED, FORBIDDEN_ZONE]
    # a new engine (the service restarted) takes the open ones back
    r2 = Run()
    r2.pos = dict(r.pos)
    taken = r2.engine.restore(
        Violation(v.rule, v.badge, v.zone, v.start_ms, region=v.region, fence=v.fence, event_id=k)
        for k, v in enumerate(r.opened)
    )
    assert taken == len(r.opened)
    r2.run(81, 120)
    assert r2.opened == [] and r2.closed == []
    r2.put("E1", 121, 110, 30)
    r2.put("E2", 121, 95, 95)
    r2.run(121, 140)
    assert sorted(v.rule for v in r2.closed) == [DWELL_EXCEEDED, FORBIDDEN_ZONE]
    assert all(v.end_ms == ms(121) for v in r2.closed)
    assert {v.event_id for v in r2.closed} == {0, 1} and r2.opened == []


def test_restore_ignores_unknown_rules_and_duplicates() -> None:
    e = RulesEngine(PLANT)
    v = Violation(FORBIDDEN_ZONE, "E1", "tank", T0)
    assert e.restore([v, Violation(FORBIDDEN_ZONE, "E1", "tank", T0 + 5), Violation("bogus", "E1", None, T0)]) == 1
    tick = e.evaluate(T0 + 10_000, [])  # E1 has no position: the clear delay runs from now
    assert tick.closed == []
    tick = e.evaluate(T0 + 16_000, [])
    assert tick.closed == [v] and v.end_ms == T0 + 10_000


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="man_down_s"):
        RuleConfig(man_down_s=math.nan)
    with pytest.raises(ValueError, match="escort_m"):
        RuleConfig(escort_m=-1)
    with pytest.raises(ValueError, match="unknown rule"):
        RuleConfig(on_delay_s={"<script>": 1.0})
    with pytest.raises(ValueError, match="finite"):
        RuleConfig(clear_delay_s={SOS: math.inf})
    assert set(SEVERITY) == set(RULES) and len(RULES) == 12


def test_violation_data_has_the_event_fields() -> None:
    r = Run()
    staffed(r)
    r.put("T1", 0, 150, 290)
    r.run(0, 10)
    (v,) = r.opened
    data = v.data()
    assert {"camera", "fence", "value", "limit"} <= set(data) and data["x"] == 150 and data["y"] == 290


def test_many_badges_agree_with_a_plain_point_in_polygon() -> None:
    """The vectorised membership gives the same headcount as the scalar reference."""
    from engine.geometry import point_in_polygon

    badges = [{"id": f"B{i:04d}", "name": f"B{i}", "kind": "person", "role": "employee"} for i in range(800)]
    plant = make_plant(badges=badges)
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(0, 400, 800), rng.uniform(0, 300, 800)
    pos = [PositionIn(f"B{i:04d}", T0, float(x), float(y)) for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
    tick = RulesEngine(plant).evaluate(T0, pos)
    for z in plant.zones:
        expect = 0
        for x, y in zip(xs, ys, strict=True):
            first = next((q.id for q in plant.zones if point_in_polygon(x, y, q.polygon)), None)
            expect += first == z.id
        assert tick.headcount[z.id] == expect
    assert tick.on_site == 800


def test_membership_matches_the_scalar_test_on_concave_polygons() -> None:
    from engine.geometry import point_in_polygon

    zones = [
        zone("u-shape", [[10, 10], [190, 10], [190, 140], [150, 140], [150, 50], [50, 50], [50, 140], [10, 140]]),
        zone("triangle", [[210, 10], [390, 10], [300, 140]]),
        zone("office", rect(0, 150, 100, 250), roles_allowed=["employee", "contractor", "visitor"]),
    ]
    fences = [
        {"id": "star", "name": "Star", "kind": "forbidden",
         "polygon": [[300, 160], [320, 210], [380, 215], [330, 240], [350, 290], [300, 260], [250, 290], [270, 240],
                     [220, 215], [280, 210]]},
    ]  # fmt: skip
    plant = make_plant(zones=zones, fences=fences, cameras=[], badges=[
        {"id": f"B{i:04d}", "name": f"B{i}", "kind": "person", "role": "employee"} for i in range(3000)
    ])  # fmt: skip
    e = RulesEngine(plant)
    rng = np.random.default_rng(11)
    x, y = rng.uniform(-20, 420, 3000), rng.uniform(-20, 320, 3000)
    good = rng.random(3000) > 0.1
    inside = e.membership(x, y, good)
    for r, reg in enumerate(e.regions):
        expect = np.array([g and point_in_polygon(a, b, reg.poly) for a, b, g in zip(x, y, good, strict=True)])
        assert (inside[r] == expect).all(), reg.id
    assert inside.any(axis=1).all()  # every region holds some of the points


def test_an_outage_marker_holds_the_last_position() -> None:
    """The collectors mark an RTLS outage with the last position at bad quality; a still badge is still there."""
    r = Run(config=RuleConfig())
    r.put("E4", 0, 20, 80)
    r.put("E1", 0, 150, 30)  # in the tank farm
    r.run(0, 10)
    assert sorted(v.rule for v in r.opened) == [FORBIDDEN_ZONE]
    r.put("E1", 20, 150, 30, quality=BAD_NO_COMMUNICATION)
    r.put("E4", 20, 20, 80, quality=BAD_NO_COMMUNICATION)
    r.run(20, 70)
    assert r.closed == []
    assert r.last is not None and r.last.headcount["hall"] == 1 and r.last.on_site == 2
    (down,) = [v for v in r.opened if v.rule == MAN_DOWN]  # E4 has lain still since t=0, outage or not
    assert down.badge == "E4" and down.start_ms == ms(60)
