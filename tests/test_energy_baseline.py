"""The ISO 50001 baseline: energy on production with statsmodels, validity (R², p), CV(RMSE) and NMBE as
ASHRAE Guideline 14 defines them, and the CUSUM of savings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.baseline import MIN_POINTS, cusum, fit


def _days(n: int, seed: int, slope: float = 300.0, noise: float = 400.0) -> tuple[list[float], list[list[float]]]:
    rng = np.random.default_rng(seed)
    made = rng.uniform(800, 1200, n)
    energy = 50_000 + slope * made + rng.normal(0, noise, n)
    return energy.tolist(), [[float(x)] for x in made]


def test_a_baseline_that_follows_production_is_valid() -> None:
    energy, drivers = _days(60, 1)
    model = fit(energy, drivers)
    assert model is not None and model.valid and not model.reasons
    assert model.slopes[0] == pytest.approx(300, rel=0.05) and model.intercept == pytest.approx(50_000, rel=0.05)
    assert model.r2 > 0.9 and model.p_value < 1e-6
    # CV(RMSE) and NMBE from their definitions (n - p degrees of freedom, p = 2)
    resid = np.array(energy) - np.array(model.predict(drivers))
    mean = float(np.mean(energy))
    assert model.cv_rmse == pytest.approx(math.sqrt(float(np.sum(resid**2)) / 58) / mean)
    assert model.nmbe == pytest.approx(float(np.sum(resid)) / (58 * mean), abs=1e-12)


def test_energy_unrelated_to_production_is_not_valid() -> None:
    rng = np.random.default_rng(2)
    energy = (350_000 + rng.normal(0, 5_000, 40)).tolist()
    drivers = [[float(x)] for x in rng.uniform(800, 1200, 40)]
    model = fit(energy, drivers)
    assert model is not None and not model.valid and "r2" in model.reasons


def test_too_few_days_or_no_spread_give_no_model() -> None:
    energy, drivers = _days(MIN_POINTS - 1, 3)
    assert fit(energy, drivers) is None
    energy, _ = _days(20, 3)
    assert fit(energy, [[1000.0]] * 20) is None
    energy, drivers = _days(20, 3)
    energy[4] = float("nan")  # a day with an unknown value is left out
    model = fit(energy, drivers)
    assert model is not None and model.n == 19


def test_cusum_of_a_saving_rises_by_what_was_saved() -> None:
    energy, drivers = _days(60, 4, noise=1.0)
    model = fit(energy, drivers)
    assert model is not None
    report, report_drivers = _days(10, 5, noise=1.0)
    saved = [e * 0.95 for e in report]  # 5 % less than the baseline expects
    saved[3] = None  # type: ignore[call-overload]
    c = cusum(model, saved, report_drivers)
    expected = model.predict(report_drivers)
    want = sum(x - y for i, (x, y) in enumerate(zip(expected, saved, strict=True)) if i != 3 and y is not None)
    assert c.cusum[-1] == pytest.approx(want) and c.cusum[3] == c.cusum[2]
    assert all(b >= a for a, b in zip(c.cusum, c.cusum[1:], strict=False))
