"""The demo plan's planned shutdown day end to end, through a store the backfill wrote (two days of the demo plant
around 20 March 2026, the plan's shutdown day): that day shows about zero plan and near-zero actual for the
smelter line's products, its units spend the day in planned maintenance (no failure, no downtime event, no
fault time), and their planned busy time, so availability and OEE, leave the day out."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.equipment import FAULT, MAINTENANCE
from plant.loader import load_plant
from settings import ROOT
from simulator.backfill import backfill
from simulator.model import SHUTDOWN_PROCESSES
from simulator.plan import SHUTDOWN_PRODUCTS
from store import figures
from store.db import make_engine, migrate, session_scope
from tests.fakeclock import plant_ms

DEMO = ROOT / "plant" / "demo_smelter.yaml"
PLANT = load_plant(DEMO)
HOUR = 3_600_000
TOL_H = 0.1  # the backfill's step (2 min) and the state changes at the day's edges


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp: Path = tmp_path_factory.mktemp("shutdown")
    url = f"sqlite:///{tmp / 'shutdown.db'}"
    migrate(url)
    end = plant_ms(PLANT, 2026, 3, 21, 6)  # from the 19th, 06:00 to the 21st, 06:00 plant time
    backfill(PLANT, url, 2.0, step_s=120, seed=5, end_ms=end, progress=False)
    return url


def _line_units() -> set[str]:
    return {e.id for e in figures.units(PLANT) if e.process in SHUTDOWN_PROCESSES}


def test_plan_and_actual_of_the_shutdown_day(store_url: str) -> None:
    engine = make_engine(store_url)
    d21 = plant_ms(PLANT, 2026, 3, 21)
    with session_scope(engine) as session:
        day20 = figures.plan_against_actual(session, PLANT, d21 - 1)  # as at the day's last millisecond
        day21 = figures.plan_against_actual(session, PLANT, d21 + 6 * HOUR - 1)  # the next morning
    engine.dispose()
    rows20 = {r["key"]: r for r in day20["products"]}
    rows21 = {r["key"]: r for r in day21["products"]}
    shut = SHUTDOWN_PRODUCTS & set(rows20)
    assert "anode_cast" in shut and len(shut) >= 3
    for key in shut:
        day = rows20[key]["day"]
        assert day["label"] == "2026-03-20"
        assert day["plan_full"] == pytest.approx(0.0, abs=1e-9), key  # the plan's shutdown
        assert day["completion"] is None and day["rate_needed"] is None, key
        # the next day has its plan again
        normal = rows21[key]["day"]["plan_full"]
        assert normal > 0, key
        # near-zero actual: what the counters counted on the day is a sliver of a normal day's plan
        assert day["actual"] < 0.01 * normal, (key, day["actual"], normal)
    # the products outside the shutdown still had their plan and made it
    for key in set(rows20) - shut:
        assert rows20[key]["day"]["plan_full"] > 0 and rows20[key]["day"]["actual"] > 0, key


def test_availability_and_oee_leave_the_planned_shutdown_out(store_url: str) -> None:
    engine = make_engine(store_url)
    d20, d21 = plant_ms(PLANT, 2026, 3, 20), plant_ms(PLANT, 2026, 3, 21)
    start, end = plant_ms(PLANT, 2026, 3, 19, 6), plant_ms(PLANT, 2026, 3, 21, 6)
    with session_scope(engine) as session:
        day = figures.production_figures(session, PLANT, d20, d21)
        whole = figures.production_figures(session, PLANT, start, end)
    engine.dispose()
    line = _line_units()
    assert len(line) >= 10
    units = {u["id"]: u for u in day["units"]}
    for uid in line:
        u = units[uid]
        assert u["state_h"].get(MAINTENANCE, 0.0) == pytest.approx(24.0, abs=TOL_H), uid  # planned, all day
        assert u["state_h"].get(FAULT, 0.0) == pytest.approx(0.0, abs=TOL_H), uid  # not a fault
        assert u["failures"] == 0, uid
        assert u["pbt_h"] == pytest.approx(0.0, abs=TOL_H), uid  # no planned busy time that day
        assert u["availability"] is None or u["pbt_h"] > 0, uid
    # no downtime event of the line on the day: the shutdown is planned, neither a loss nor unassigned
    inside = [
        d
        for d in day["downtime"]
        if d["equipment"] in line and min(d["end_ms"] or d21, d21) - max(d["start_ms"], d20) > 6 * 60_000
    ]
    assert not inside, inside[:3]
    # over the two days: the planned busy time is the window less the planned maintenance, the day included
    window_h = (end - start) / HOUR
    wu = {u["id"]: u for u in whole["units"]}
    for uid in line:
        u = wu[uid]
        maint = u["state_h"].get(MAINTENANCE, 0.0)
        assert maint >= 24.0 - TOL_H, uid
        assert u["pbt_h"] == pytest.approx(window_h - maint, abs=1e-6), uid
        if u["pbt_h"] > 0:
            assert u["availability"] == pytest.approx(u["run_h"] / u["pbt_h"]), uid
    # the OEE of the line's producing units: availability over the planned busy time, never the whole window
    oee = [r for r in whole["oee"] if r["id"] in line]
    assert oee
    for r in oee:
        u = wu[r["id"]]
        assert r["availability"] == pytest.approx(u["run_h"] / u["pbt_h"]), r["id"]
        assert r["availability"] > u["run_h"] / window_h + 0.3, r["id"]  # a day of 48 h left out: well above
    # the plant's figures: the shutdown's hours are maintenance, not fault, and out of its planned busy time
    total = whole["total"]
    assert total["pbt_h"] == pytest.approx(
        len(whole["units"]) * window_h - sum(u["state_h"].get(MAINTENANCE, 0.0) for u in whole["units"]), rel=1e-9
    )
