"""The energy forecast from the plan and its backtest (engine.forecast): the fit is statsmodels' OLS, a forecast
uses only the days before its origin, the errors are the ones computed by hand from the forecasts, the naive
"same day last week" is beaten when energy follows production and not when it follows the weekday, and the
90 % interval holds about 90 % of the days."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import statsmodels.api as sm

from engine.forecast import HORIZONS, MIN_TRAIN, WINDOW, backtest, forecast


def _history(n: int, seed: int = 1, noise: float = 1500.0) -> tuple[list[float | None], list[float | None]]:
    r = random.Random(seed)
    made: list[float | None] = [1300 + r.gauss(0, 80) for _ in range(n)]
    energy: list[float | None] = [20_000 + 110 * p + r.gauss(0, noise) for p in made if p is not None]
    return energy, made


def test_forecast_is_the_ols_fit_at_the_planned_production() -> None:
    energy, made = _history(40)
    got = forecast(energy, made, [1250.0, None, 0.0])
    y = np.array(energy[-WINDOW:], dtype=float)
    x = sm.add_constant(np.array(made[-WINDOW:], dtype=float))
    fit = sm.OLS(y, x).fit()
    assert got[1] is None  # no plan for that day: no forecast
    assert got[0] is not None and got[2] is not None
    assert got[0].value == pytest.approx(fit.params[0] + fit.params[1] * 1250.0)
    assert got[2].value == pytest.approx(fit.params[0])  # a planned shutdown: the base load
    assert got[0].low < got[0].value < got[0].high
    # too short a history, or no spread in production: no forecast at all
    assert forecast(energy[: MIN_TRAIN - 1], made[: MIN_TRAIN - 1], [1300.0]) == [None]
    assert forecast(energy[:20], [1300.0] * 20, [1300.0]) == [None]


def test_backtest_uses_only_the_days_before_each_origin_and_its_errors_are_the_forecasts() -> None:
    energy, made = _history(30)
    bt = backtest(energy, made, horizons=(1,))
    # the same errors, computed here from forecast() fed the days before each origin
    pairs = []
    for origin in range(MIN_TRAIN, 30):
        (pt,) = forecast(energy[:origin], made[:origin], [made[origin]])
        assert pt is not None
        pairs.append((float(energy[origin]), pt))  # type: ignore[arg-type]
    (h1,) = bt.horizons
    assert bt.origins == len(pairs) == h1.n
    assert h1.mape == pytest.approx(np.mean([abs(a - p.value) / a for a, p in pairs]))
    assert h1.rmse == pytest.approx(math.sqrt(np.mean([(a - p.value) ** 2 for a, p in pairs])))
    assert h1.coverage == pytest.approx(np.mean([p.low <= a <= p.high for a, p in pairs]))
    # a later day changed: the forecasts from origins before it do not move
    changed = list(energy)
    changed[-1] = 10 * float(changed[-1])  # type: ignore[arg-type]
    early = backtest(changed[:-1], made[:-1], horizons=(1,))
    again = backtest(energy[:-1], made[:-1], horizons=(1,))
    assert early.horizons[0].mape == again.horizons[0].mape


def test_beats_the_naive_forecast_only_when_it_does() -> None:
    energy, made = _history(70)
    bt = backtest(energy, made)
    assert [h.horizon for h in bt.horizons] == list(HORIZONS)
    assert bt.judged and bt.beats_naive and all(h.mase is not None and h.mase < 1 for h in bt.horizons)
    assert all(0.8 <= (h.coverage or 0) <= 1.0 for h in bt.horizons)  # a 90 % interval: about 90 %
    # energy that follows the weekday, not production: the naive "same day last week" is better
    r = random.Random(3)
    weekly: list[float | None] = [150_000 + 30_000 * (d % 7 == 5) + r.gauss(0, 300) for d in range(70)]
    noise: list[float | None] = [1300 + r.gauss(0, 80) for _ in range(70)]
    weekday = backtest(weekly, noise)
    assert weekday.judged and not weekday.beats_naive
    # too few forecasts to judge: never said to beat the naive one, however small its error
    short = backtest(energy[:30], made[:30])
    assert short.horizons[0].mase is not None and short.horizons[0].mase < 1
    assert not short.judged and not short.beats_naive


def test_unknown_days_are_left_out_and_the_plan_replaces_production() -> None:
    energy, made = _history(40)
    energy[12] = None
    made[20] = None
    bt = backtest(energy, made, horizons=(1,))
    assert bt.horizons[0].n == 40 - MIN_TRAIN - 1 - 1  # neither day 12 (no energy) nor 20 (no input)
    plan: list[float | None] = [None] * 40
    plan[20] = 1300.0  # the stored plan of day 20 stands in for its unknown production
    assert backtest(energy, made, plan, horizons=(1,)).horizons[0].n == bt.horizons[0].n + 1
