"""ISO 50001 energy baseline (EnPI): energy regressed on production, its validity, and the CUSUM of savings.

The model is ordinary least squares (statsmodels) of a period's energy on its production (and any other
drivers given), fitted on the baseline days. It is *valid* as the US DOE's EnPI tool asks: R² >= 0.5 and the
model's p-value (F test) < 0.10; CV(RMSE) and NMBE are given as ASHRAE Guideline 14 defines them (with n - p
degrees of freedom). Savings in the reporting days are what the baseline expected minus what was used; their
running sum is the CUSUM (rising: saving against the baseline). Pure: no I/O.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm

logger = logging.getLogger(__name__)

MIN_R2 = 0.5
MAX_P = 0.10
MIN_POINTS = 8  # fewer days than this: no model


@dataclass(frozen=True)
class Baseline:
    n: int
    intercept: float
    slopes: tuple[float, ...]
    r2: float
    p_value: float
    cv_rmse: float | None
    nmbe: float | None
    valid: bool
    reasons: tuple[str, ...] = ()  # why it is not valid: "r2", "p", "points"

    def predict(self, drivers: Sequence[Sequence[float]]) -> list[float]:
        return [self.intercept + sum(b * x for b, x in zip(self.slopes, row, strict=True)) for row in drivers]


@dataclass
class Cusum:
    expected: list[float] = field(default_factory=list)
    actual: list[float] = field(default_factory=list)
    savings: list[float] = field(default_factory=list)
    cusum: list[float] = field(default_factory=list)


def fit(energy: Sequence[float], drivers: Sequence[Sequence[float]]) -> Baseline | None:
    """The baseline of ``energy`` (one value per day) on ``drivers`` (one row per day: production, ...); None
    with fewer than :data:`MIN_POINTS` complete days or no spread in a driver."""
    rows = [
        (float(e), [float(x) for x in d])
        for e, d in zip(energy, drivers, strict=True)
        if e is not None and math.isfinite(e) and all(x is not None and math.isfinite(x) for x in d)
    ]
    if len(rows) < MIN_POINTS:
        return None
    y = np.array([r[0] for r in rows])
    x = np.array([r[1] for r in rows])
    if np.any(np.ptp(x, axis=0) == 0):
        return None
    model = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    n, p = len(y), x.shape[1] + 1
    resid = y - model.fittedvalues
    mean = float(np.mean(y))
    dof = max(n - p, 1)
    cv = float(math.sqrt(float(np.sum(resid**2)) / dof) / mean) if mean else None
    nmbe = float(np.sum(resid) / (dof * mean)) if mean else None
    r2, p_value = float(model.rsquared), float(model.f_pvalue)
    reasons = tuple(k for k, bad in (("r2", r2 < MIN_R2), ("p", not p_value < MAX_P)) if bad)
    params = [float(v) for v in model.params]
    return Baseline(n, params[0], tuple(params[1:]), r2, p_value, cv, nmbe, not reasons, reasons)


def cusum(model: Baseline, energy: Sequence[float | None], drivers: Sequence[Sequence[float]]) -> Cusum:
    """Expected, actual, savings and their running sum over the reporting days (a day with an unknown value
    adds nothing and keeps the sum where it was)."""
    out = Cusum()
    total = 0.0
    for e, expected in zip(energy, model.predict(drivers), strict=True):
        out.expected.append(expected)
        out.actual.append(float("nan") if e is None else float(e))
        saving = 0.0 if e is None else expected - float(e)
        out.savings.append(saving)
        total += saving
        out.cusum.append(total)
    return out
