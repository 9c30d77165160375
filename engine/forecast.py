"""The energy forecast of the coming days from the production plan, and its own error (pure, no I/O).

The model is ordinary least squares (statsmodels) of a day's energy on its production, fitted on the
:data:`WINDOW` days before the forecast's origin; a coming day's forecast is the fit at that day's planned
production, with the 90 % prediction interval of the fit (the interval of a new observation, not of the
mean).

Its error is measured, not assumed: a rolling-origin backtest over the stored history. At every origin (a
past day with at least :data:`MIN_TRAIN` known days before it) the model is fitted on the days before the
origin only, and the day ``h - 1`` days later is forecast for each horizon ``h`` in :data:`HORIZONS`. The
production of the forecast day stands in for its plan there (the plan of a past day is what the plant then
meant to make; where the caller has the stored plan it passes that). For each horizon: the number of
forecasts, MAPE, RMSE, the coverage of the 90 % interval, and MASE against the naive forecast "the same day
last week" (MASE < 1: better than the naive one). A model that does not beat the naive one, or a backtest
with fewer than :data:`MIN_JUDGED` forecasts at a horizon, has ``beats_naive`` False; the page says which.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import statsmodels.api as sm

HORIZONS = (1, 2, 3, 7)  # days ahead
FORECAST_DAYS = 7  # today and the six days after it
HISTORY_DAYS = 60  # the days before today the backtest runs over
WINDOW = 28  # days the model is fitted on
MIN_TRAIN = 8  # fewer known days before an origin: no forecast from it
ALPHA = 0.10  # the prediction interval is 90 %
SEASON = 7  # the naive forecast: the same day a week before
MIN_JUDGED = 30  # fewer forecasts than this at a horizon: too few to say the model beats the naive one
# The model's version, stored with every issued forecast (change it when the fit, window or interval changes).
MODEL = f"ols-plan-w{WINDOW}-pi{round((1 - ALPHA) * 100)}-v1"


@dataclass(frozen=True)
class Point:
    value: float
    low: float
    high: float


@dataclass
class HorizonError:
    horizon: int
    n: int = 0
    mape: float | None = None
    rmse: float | None = None
    mase: float | None = None  # model MAE / naive MAE on the same days (None: no naive value there)
    coverage: float | None = None  # share of actual values inside the 90 % interval


@dataclass
class Backtest:
    origins: int = 0
    horizons: list[HorizonError] = field(default_factory=list)

    @property
    def judged(self) -> bool:
        """Enough forecasts at every horizon (:data:`MIN_JUDGED`) to compare the model with the naive one."""
        return bool(self.horizons) and all(h.n >= MIN_JUDGED and h.mase is not None for h in self.horizons)

    @property
    def beats_naive(self) -> bool:
        """True when the backtest is :attr:`judged` and the model's error is below the naive one's (MASE < 1)
        at every horizon."""
        return self.judged and all(h.mase is not None and h.mase < 1.0 for h in self.horizons)


def _known(energy: Sequence[float | None], driver: Sequence[float | None]) -> list[tuple[float, float]]:
    return [
        (float(e), float(p))
        for e, p in zip(energy, driver, strict=True)
        if e is not None and p is not None and math.isfinite(e) and math.isfinite(p)
    ]


def _fit(rows: Sequence[tuple[float, float]]) -> Any:
    """statsmodels' OLS results on the rows (energy, production), or None: too few rows or no spread."""
    if len(rows) < MIN_TRAIN:
        return None
    x = np.array([r[1] for r in rows])
    if float(np.ptp(x)) == 0.0:
        return None
    y = np.array([r[0] for r in rows])
    return sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()


def _predict(model: Any, drivers: Sequence[float]) -> list[Point]:
    x = sm.add_constant(np.array([float(d) for d in drivers]), has_constant="add")
    frame = model.get_prediction(x).summary_frame(alpha=ALPHA)
    return [
        Point(float(m), float(lo), float(hi))
        for m, lo, hi in zip(frame["mean"], frame["obs_ci_lower"], frame["obs_ci_upper"], strict=True)
    ]


def forecast(
    energy: Sequence[float | None], driver: Sequence[float | None], planned: Sequence[float | None]
) -> list[Point | None]:
    """The forecast of each coming day whose planned production is known, from the history's last
    :data:`WINDOW` days (``energy`` and ``driver``: one value per past day, oldest first; None when unknown).
    None for a day without a plan, and for every day when the history is too short or has no spread."""
    model = _fit(_known(energy[-WINDOW:], driver[-WINDOW:]))
    if model is None:
        return [None] * len(planned)
    days = [i for i, p in enumerate(planned) if p is not None and math.isfinite(p)]
    points = _predict(model, [float(planned[i]) for i in days]) if days else []  # type: ignore[arg-type]
    out: list[Point | None] = [None] * len(planned)
    for i, pt in zip(days, points, strict=True):
        out[i] = pt
    return out


def backtest(
    energy: Sequence[float | None],
    driver: Sequence[float | None],
    planned: Sequence[float | None] | None = None,
    horizons: Sequence[int] = HORIZONS,
) -> Backtest:
    """The rolling-origin backtest over the days of ``energy`` and ``driver`` (see the module docstring);
    ``planned`` (the stored plan of each day, None where there was none) replaces the day's production as
    the forecast's input where given."""
    n = len(energy)
    plan = list(planned) if planned is not None else [None] * n
    errs: dict[int, list[tuple[float, Point, float | None]]] = {h: [] for h in horizons}
    origins = 0
    for origin in range(n):
        model = _fit(_known(energy[max(0, origin - WINDOW) : origin], driver[max(0, origin - WINDOW) : origin]))
        if model is None:
            continue
        used = False
        for h in horizons:
            day = origin + h - 1
            if day >= n or energy[day] is None:
                continue
            x = plan[day] if plan[day] is not None else driver[day]
            if x is None:
                continue
            (pt,) = _predict(model, [float(x)])
            back = day - SEASON
            naive = energy[back] if back >= 0 and back < origin else None  # known at the origin
            errs[h].append((float(energy[day]), pt, naive))  # type: ignore[arg-type]
            used = True
        origins += used
    out = Backtest(origins=origins)
    for h in horizons:
        rows = errs[h]
        he = HorizonError(h, n=len(rows))
        if rows:
            abs_err = [abs(a - p.value) for a, p, _ in rows]
            pct = [e / abs(a) for e, (a, _, _) in zip(abs_err, rows, strict=True) if a]
            he.mape = float(np.mean(pct)) if pct else None
            he.rmse = float(math.sqrt(np.mean([e * e for e in abs_err])))
            he.coverage = float(np.mean([p.low <= a <= p.high for a, p, _ in rows]))
            both = [(e, abs(a - nv)) for e, (a, _, nv) in zip(abs_err, rows, strict=True) if nv is not None]
            naive_mae = float(np.mean([b for _, b in both])) if both else 0.0
            he.mase = float(np.mean([m for m, _ in both])) / naive_mae if both and naive_mae > 0 else None
        out.horizons.append(he)
    return out


def inputs_version(
    energy: Sequence[float | None], driver: Sequence[float | None], planned: Sequence[float | None]
) -> str:
    """A short digest of a forecast's inputs (the history it was fitted on and the plan it was applied to),
    stored with the issued forecast: two issues with the same digest had the same inputs."""
    window = [energy[-WINDOW:], driver[-WINDOW:], planned]
    blob = json.dumps([[None if v is None else round(float(v), 6) for v in part] for part in window])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def issued_errors(rows: Sequence[tuple[int, float, float, float, float]]) -> list[HorizonError]:
    """The real error of issued forecasts, per horizon: ``rows`` are ``(horizon, forecast, low, high, actual)``
    of forecasts whose day has passed; MAPE (over the days with a non-zero actual), RMSE and the share of
    actual values inside the interval. No MASE: the naive forecast was not issued with them."""
    by_h: dict[int, list[tuple[float, float, float, float]]] = {}
    for h, value, low, high, actual in rows:
        by_h.setdefault(int(h), []).append((float(value), float(low), float(high), float(actual)))
    out: list[HorizonError] = []
    for h in sorted(by_h):
        got = by_h[h]
        err = [abs(a - v) for v, _, _, a in got]
        pct = [e / abs(a) for e, (_, _, _, a) in zip(err, got, strict=True) if a]
        out.append(
            HorizonError(
                h,
                n=len(got),
                mape=float(np.mean(pct)) if pct else None,
                rmse=float(math.sqrt(np.mean([e * e for e in err]))),
                coverage=float(np.mean([lo <= a <= hi for _, lo, hi, a in got])),
            )
        )
    return out
