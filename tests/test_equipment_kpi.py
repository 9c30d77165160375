"""Equipment KPIs (engine.equipment) against values worked out by hand on a scripted state history.

The script, for casting wheel CW1 over two plant days D (2026-03-10) and D+1, shifts A 00-08, B 08-16,
C 16-24 (plant time):

    D   06:00-06:03  stopped      (3 min: a short stop)
    D   14:30-17:30  fault        (3 h, across the B -> C shift change; reason mech.bearing)
    D   20:00-21:00  idle         (1 h)
    D   23:00 - D+1 01:30  fault  (2.5 h, across midnight and the C -> A change)
    D+1 01:30-05:30  maintenance  (4 h, straight after the fault: planned downtime, no start in between)
    D+1 10:00-11:00  fault        (1 h)
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.equipment import (
    FAULT,
    IDLE,
    MAINTENANCE,
    RUN,
    SHORT_STOP,
    STOPPED,
    UNASSIGNED,
    StateSpan,
    available_now,
    combine,
    downtime_events,
    equipment_kpi,
    oee,
    pareto,
    spans_from_changes,
    unassigned,
)
from engine.shifts import day_windows, shift_windows
from plant.loader import load_plant
from tests.fakeclock import plant_ms

ROOT = Path(__file__).resolve().parent.parent
PLANT = load_plant(ROOT / "plant" / "demo_smelter.yaml")
H = 3_600_000
MIN = 60_000


def at(day: int, hour: int, minute: int = 0) -> int:
    """Plant time on day D (0) or D+1 (1)."""
    return plant_ms(PLANT, 2026, 3, 10 + day, hour, minute)


SPANS = [
    StateSpan("CW1", STOPPED, at(0, 6), at(0, 6, 3), event_id=1),
    StateSpan("CW1", FAULT, at(0, 14, 30), at(0, 17, 30), event_id=2, reason="mech.bearing"),
    StateSpan("CW1", IDLE, at(0, 20), at(0, 21), event_id=3),
    StateSpan("CW1", FAULT, at(0, 23), at(1, 1, 30), event_id=4),
    StateSpan("CW1", MAINTENANCE, at(1, 1, 30), at(1, 5, 30), event_id=5),
    StateSpan("CW1", FAULT, at(1, 10), at(1, 11), event_id=6),
]


def test_day_d_by_hand() -> None:
    k = equipment_kpi("CW1", SPANS, at(0, 0), at(1, 0))
    # down: 3 min + 3 h + 1 h + 1 h (23-24) = 5 h 03 min; run 18 h 57 min = 1137 min; no maintenance
    assert k.run_ms == 1137 * MIN
    assert k.state_ms[FAULT] == 4 * H and k.state_ms[IDLE] == H and k.state_ms[STOPPED] == 3 * MIN
    assert k.planned_busy_ms == 24 * H
    assert k.availability == pytest.approx(1137 / 1440)
    assert (k.stops, k.starts) == (4, 3)  # stops 06:00 14:30 20:00 23:00; starts 06:03 17:30 21:00
    assert (k.failures, k.restorations) == (2, 1)
    assert k.mtbf_h == pytest.approx(1137 / 60 / 2)  # 9.475 h
    assert k.mttr_h == pytest.approx(3.0)


def test_day_d1_by_hand() -> None:
    k = equipment_kpi("CW1", SPANS, at(1, 0), at(2, 0))
    # fault 00:00-01:30 (the rest of D's 23:00 fault), maintenance 4 h, fault 1 h: run 17.5 h, PBT 20 h
    assert k.run_ms == int(17.5 * H)
    assert k.planned_busy_ms == 20 * H
    assert k.availability == pytest.approx(0.875)
    assert (k.stops, k.starts) == (1, 2)  # stop 10:00; starts 05:30 (after maintenance) and 11:00
    assert (k.failures, k.restorations) == (1, 2)
    assert k.mttr_h == pytest.approx((2.5 + 1.0) / 2)  # the midnight fault counts whole (2.5 h) where it ends
    assert k.mtbf_h == pytest.approx(17.5)


def test_fault_across_shift_change_and_midnight_by_shift() -> None:
    shifts = {(sid, day): (s, e) for sid, day, s, e in shift_windows(PLANT, at(0, 0), at(2, 0))}
    assert len(shifts) == 6
    b = equipment_kpi("CW1", SPANS, *shifts[("B", "2026-03-10")])
    assert b.state_ms[FAULT] == int(1.5 * H) and b.availability == pytest.approx(6.5 / 8)
    assert (b.failures, b.restorations, b.mttr_h) == (1, 0, None)
    c = equipment_kpi("CW1", SPANS, *shifts[("C", "2026-03-10")])
    assert c.state_ms[FAULT] == int(2.5 * H)  # 16:00-17:30 and 23:00-24:00
    assert c.availability == pytest.approx(4.5 / 8)
    assert (c.failures, c.restorations, c.stops, c.starts) == (1, 1, 2, 2)
    assert c.mttr_h == pytest.approx(3.0)  # the 14:30 fault, restored in C, counts its whole 3 h
    a = equipment_kpi("CW1", SPANS, *shifts[("A", "2026-03-11")])
    assert a.run_ms == int(2.5 * H) and a.planned_busy_ms == 4 * H
    assert a.availability == pytest.approx(0.625)
    assert (a.failures, a.restorations, a.stops, a.starts) == (0, 1, 0, 1)
    # the shifts add up to the days, and the days to the whole
    for day, s, e in day_windows(PLANT, at(0, 0), at(2, 0)):
        parts = [equipment_kpi("CW1", SPANS, ws, we) for _, d, ws, we in shift_windows(PLANT, s, e) if d == day]
        whole = equipment_kpi("CW1", SPANS, s, e)
        total = combine("CW1", parts)
        assert total.run_ms == whole.run_ms and total.failures == whole.failures
        assert total.starts == whole.starts and total.stops == whole.stops
        assert total.restorations == whole.restorations


def test_open_spell_and_now() -> None:
    spans = [StateSpan("P1", FAULT, at(0, 10), None)]
    k = equipment_kpi("P1", spans, at(0, 0), at(1, 0), now_ms=at(0, 12))
    assert k.window_ms == 12 * H and k.state_ms[FAULT] == 2 * H and k.run_ms == 10 * H
    assert (k.failures, k.restorations, k.mttr_h) == (1, 0, None)
    assert k.mtbf_h == pytest.approx(10.0)
    quiet = equipment_kpi("P2", [], at(0, 0), at(1, 0))
    assert quiet.availability == 1.0 and quiet.mtbf_h is None and quiet.mttr_h is None


def test_class_kpis_add_times_not_ratios() -> None:
    d = (at(0, 0), at(1, 0))
    one = equipment_kpi("CW1", SPANS, *d)
    other = equipment_kpi("CW2", [StateSpan("CW2", FAULT, at(0, 2), at(0, 8))], *d)
    both = combine("casting_wheel", [one, other])
    assert both.availability == pytest.approx((1137 + 18 * 60) / 2880)
    assert both.mtbf_h == pytest.approx((1137 / 60 + 18) / 3)
    assert both.mttr_h == pytest.approx((3 + 6) / 2)


def test_oee_discrete_and_continuous() -> None:
    k = equipment_kpi("CW1", SPANS, at(0, 0), at(1, 0))
    apt_h = 1137 / 60  # 18.95 h
    o = oee(k, produced=400.0, design_rate_per_h=25.0, rejected=8.0)
    assert o.effectiveness == pytest.approx((1 / 25) * 400 / apt_h)  # planned unit time x produced / APT
    assert o.quality == pytest.approx(392 / 400)
    assert o.oee == pytest.approx((1137 / 1440) * (16 / apt_h) * 0.98)
    feed = oee(k, produced=3000.0, design_rate_per_h=180.0, continuous=True)
    assert feed.effectiveness == pytest.approx((3000 / apt_h) / 180)  # actual feed rate / design rate
    assert feed.quality == 1.0 and feed.continuous
    nothing = oee(k, produced=math.nan, design_rate_per_h=25.0)
    assert nothing.produced == 0.0 and nothing.quality is None and nothing.oee is None


def test_downtime_events_pareto_and_unassigned() -> None:
    rows = downtime_events(SPANS, at(0, 0), at(1, 0), now_ms=at(3, 0), short_stop_minutes=5, design_rates={"CW1": 25.0})
    assert [r.event_id for r in rows] == [4, 3, 2, 1]  # newest first, maintenance left out
    assert [r.bucket for r in rows] == [UNASSIGNED, UNASSIGNED, "mech.bearing", SHORT_STOP]
    assert rows[0].minutes == pytest.approx(60) and rows[0].lost == pytest.approx(25.0)  # clipped at midnight
    assert [r.event_id for r in unassigned(rows)] == [4, 3]
    by_minutes = pareto(rows)
    assert [(p.key, p.minutes, p.count) for p in by_minutes] == [
        ("mech.bearing", 180, 1),
        (UNASSIGNED, 120, 2),
        (SHORT_STOP, 3, 1),
    ]
    assert [round(p.cumulative, 4) for p in by_minutes] == [round(180 / 303, 4), round(300 / 303, 4), 1.0]
    by_count = pareto(rows, by="count")
    assert by_count[0].key == UNASSIGNED
    by_lost = pareto(rows, by="lost")
    assert by_lost[0].lost == pytest.approx(180 / 60 * 25)
    categories = pareto(rows, parent={"mech.bearing": "mech"})
    assert categories[0].key == "mech"
    with pytest.raises(ValueError):
        pareto(rows, by="colour")


def test_running_spell_is_not_a_short_stop_yet() -> None:
    spans = [StateSpan("P1", STOPPED, at(0, 10), None, event_id=9)]
    rows = downtime_events(spans, at(0, 0), at(1, 0), now_ms=at(0, 10, 2), short_stop_minutes=5)
    assert len(rows) == 1 and not rows[0].short and rows[0].bucket == UNASSIGNED


def test_available_now_and_changes() -> None:
    assert available_now({"A": RUN, "B": FAULT, "C": MAINTENANCE, "D": IDLE}) == (2, 4)
    assert available_now({}) == (0, 0)
    changes = [(0, RUN), (10, FAULT), (15, FAULT), (20, MAINTENANCE), (30, RUN), (40, IDLE)]
    spans = spans_from_changes("X", changes)
    got = [(s.state, s.start_ms, s.end_ms) for s in spans]
    assert got == [(FAULT, 10, 20), (MAINTENANCE, 20, 30), (IDLE, 40, None)]
