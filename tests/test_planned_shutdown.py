"""The simulator follows the demo plan's shutdown day: on the 20th (plant time) the smelter line is in
maintenance from midnight to midnight, its counters stand still, and it runs again the next day; the stored
history of such a day gives the units' states as maintenance and plan against actual shows the stop."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from engine.plan import day_plans
from plant.loader import load_plant
from plant.schema import EquipmentState
from settings import ROOT
from simulator.model import SHUTDOWN_DAY, SHUTDOWN_PROCESSES, SmelterModel
from simulator.plan import SHUTDOWN_PRODUCTS, demo_plan
from tests.fakeclock import plant_ms

DEMO = ROOT / "plant" / "demo_smelter.yaml"
MAINT = EquipmentState.MAINTENANCE.code
RUN = EquipmentState.RUN.code


def test_the_smelter_line_stops_for_the_planned_shutdown_day(tmp_path: Path) -> None:
    plant = load_plant(DEMO)
    line = [
        e.id
        for e in plant.equipment
        if e.process in SHUTDOWN_PROCESSES and any(t.equipment == e.id and t.kind.value == "state" for t in plant.tags)
    ]
    assert "FSF1" in line and "CV1" in line and "AF1" in line and "CW1" in line
    start = plant_ms(plant, 2026, 3, SHUTDOWN_DAY - 1, 22, 30)
    model = SmelterModel(plant, seed=5, start_ms=start)
    fed: dict[str, float] = {}
    seen: dict[str, list[int]] = {"before": [], "during": [], "after": []}
    t = start
    marks = {
        plant_ms(plant, 2026, 3, SHUTDOWN_DAY, 0, 5): "start",
        plant_ms(plant, 2026, 3, SHUTDOWN_DAY, 12, 0): "during",
        plant_ms(plant, 2026, 3, SHUTDOWN_DAY, 23, 55): "end",
        plant_ms(plant, 2026, 3, SHUTDOWN_DAY + 1, 2, 0): "after",
        plant_ms(plant, 2026, 3, SHUTDOWN_DAY - 1, 23, 0): "before",
    }
    end = plant_ms(plant, 2026, 3, SHUTDOWN_DAY + 1, 2, 0)
    while t <= end:
        model.step(t)
        if t in marks:
            what = marks[t]
            fed[what] = float(model.current_values()["FSF1.CONC_FED"])  # type: ignore[arg-type]
            if what in seen:
                seen[what] = [model.equipment_state(e) for e in line]
        t += 60_000
    assert all(s == MAINT for s in seen["during"]), seen["during"]
    assert sum(s == RUN for s in seen["before"]) >= 0.85 * len(line)  # the usual few down for their own reasons
    assert sum(s == RUN for s in seen["after"]) >= 0.85 * len(line)  # back at midnight
    assert fed["end"] == fed["start"]  # nothing fed on the shutdown day
    assert fed["after"] > fed["end"]
    # units of other processes (the tankhouse) keep running through it
    assert model.equipment_state("CB11") in (RUN, EquipmentState.FAULT.code, MAINT, EquipmentState.IDLE.code)


def test_the_plan_and_the_simulator_agree_on_the_shutdown() -> None:
    plant = load_plant(DEMO)
    plans = day_plans(demo_plan(plant, date(2026, 3, 19), date(2026, 3, 21)))
    for product in SHUTDOWN_PRODUCTS & {p for _, p in plans}:
        assert plans[(date(2026, 3, SHUTDOWN_DAY), product)] == 0.0, product
        assert plans[(date(2026, 3, SHUTDOWN_DAY + 1), product)] > 0, product
    assert plans[(date(2026, 3, SHUTDOWN_DAY), "cathode_copper")] > 0  # the tankhouse is not planned down
