"""Cost plan against actual (engine.energy.cost_variance, the plant file's energy.cost_plan): the variance is the
volume effect (actual - plan quantity) x plan price plus the price effect (actual - plan price) x actual
quantity, on a worked example; the plant file refuses a plan of an unknown meter or one planned twice."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.energy import cost_variance
from plant.schema import Plant
from tests.energyutil import energy_plant_data


def test_worked_example() -> None:
    # planned: 1,000 kWh at 0.50 = 500; used: 1,200 kWh for 660 (0.55 a kWh)
    v = cost_variance(1000.0, 0.50, 1200.0, 660.0)
    assert v.plan_cost == pytest.approx(500.0) and v.actual_price == pytest.approx(0.55)
    assert v.variance == pytest.approx(160.0)
    assert v.volume == pytest.approx(100.0)  # 200 kWh more at the plan's 0.50
    assert v.price == pytest.approx(60.0)  # 0.05 more on each of the 1,200 kWh used
    assert v.volume + v.price == pytest.approx(v.variance)
    # less used at a lower price: both effects below plan
    w = cost_variance(1000.0, 0.50, 800.0, 320.0)
    assert (w.volume, w.price, w.variance) == pytest.approx((-100.0, -80.0, -180.0))
    # nothing used: the whole plan is volume, no price
    z = cost_variance(1000.0, 0.50, 0.0, 0.0)
    assert z.actual_price is None and (z.volume, z.price, z.variance) == pytest.approx((-500.0, 0.0, -500.0))


def test_the_plant_file_checks_the_cost_plan() -> None:
    data = energy_plant_data()
    data.setdefault("energy", {})["cost_plan"] = [
        {"meter": "E-SM", "month": "2026-03", "quantity": 1000, "price": 0.6},
        {"meter": "E-SM", "month": "2026-04", "quantity": 1000, "price": 0.6},
    ]
    assert len(Plant.model_validate(data).energy.cost_plan) == 2
    for bad, words in (
        ({"meter": "nope", "month": "2026-03", "quantity": 1, "price": 1}, "unknown meter 'nope'"),
        ({"meter": "E-SM", "month": "2026-03", "quantity": 1, "price": 1}, "planned twice for 2026-03"),
        ({"meter": "E-SM", "month": "2026-13", "quantity": 1, "price": 1}, "month"),
        ({"meter": "E-SM", "month": "2026-05", "quantity": -1, "price": 1}, "quantity"),
    ):
        data["energy"]["cost_plan"] = [{"meter": "E-SM", "month": "2026-03", "quantity": 1000, "price": 0.6}, bad]
        with pytest.raises(ValidationError, match=words):
            Plant.model_validate(data)


def test_time_of_use_split_prices_each_hour_at_its_band() -> None:
    from datetime import UTC

    from engine.energy import tou_split
    from plant.schema import TouBand

    bands = [
        TouBand(id="peak", name="Peak", price=1.0, hours=["08:00-20:00"]),
        TouBand(id="valley", name="Valley", price=0.5, hours=["20:00-08:00"]),
    ]
    h = 3_600_000
    hours = [i * h for i in range(24)]  # a UTC day from midnight
    kwh: list[float | None] = [10.0] * 24
    kwh[9] = None  # an unknown peak hour
    totals, groups = tou_split(hours, kwh, bands, UTC, [0, 12 * h])
    peak, valley = totals
    assert (peak["kwh"], peak["cost"], peak["unknown_h"]) == (110.0, 110.0, 1)
    assert (valley["kwh"], valley["cost"], valley["unknown_h"]) == (120.0, 60.0, 0)
    morning, evening = groups  # 00-12: 8 valley + 3 known peak hours; 12-24: 8 peak + 4 valley hours
    assert (morning["kwh"], morning["cost"], morning["unknown_h"]) == (110.0, 70.0, 1)
    assert (evening["bands"]["peak"]["cost"], evening["bands"]["valley"]["cost"], evening["cost"]) == (
        80.0,
        20.0,
        100.0,
    )


def test_reconcile_series_is_reconcile_hour_by_hour_and_series_cost_prices_the_known_hours() -> None:
    import math

    import numpy as np

    from engine.energy import LOSSES, meter_tree, reconcile, reconcile_series, series_cost
    from plant.loader import load_plant
    from plant.schema import Medium
    from settings import ROOT

    plant = load_plant(ROOT / "plant" / "demo_smelter.yaml")
    tree = meter_tree(plant, Medium.ELECTRICITY)
    tags = tree.tags()
    n = 5
    readings: dict[str, list[float | None]] = {tg: [10.0 + i + j for j in range(n)] for i, tg in enumerate(tags)}
    readings[tags[-1]][2] = None  # one meter unknown in the third hour
    del readings[tags[0]]  # and one never read
    series = reconcile_series(tree, readings, n)
    for h in range(n):
        flows = reconcile(tree, {tg: v[h] for tg, v in readings.items()})
        for nid in [*tree.nodes, *(f"{p}/{LOSSES}" for p in tree.nodes)]:
            want = flows.values.get(nid)
            got = series[nid][h] if nid in series else math.nan
            assert (want is None and math.isnan(got)) or want == got, (nid, h)
    prices = np.array([1.0, 0.5, 2.0, 1.0, 0.3])
    v = np.array([1.0, np.nan, 3.0, 4.0, 5.0])
    assert series_cost(v, prices) == 1.0 + 6.0 + 4.0 + 1.5
    assert series_cost(np.full(3, np.nan), np.ones(3)) is None
    assert series_cost(v, np.array([1.0, 1.0, np.nan, 1.0, 1.0])) is None  # a known hour without a price
