"""Statistical process control on assays (pure, numpy only): I-MR and X-bar/R charts, the eight Nelson
rules, Cpk and Ppk with confidence intervals, and a lag-1 autocorrelation warning.

Charts
------
- **Individuals and moving range (I-MR)**: one value per sample. Centre = mean of the baseline's included
  values; sigma (within) = mean moving range / d2(2) = MRbar / 1.128; the individuals' limits are centre +-
  3 sigma; the moving range's centre is MRbar, its upper limit D4(2) x MRbar = 3.267 MRbar, its lower 0.
  A moving range is taken between consecutive *included* values only.
- **X-bar and R**: subgroups of equal size n (2..10). Centre = grand mean of the baseline's subgroup means;
  sigma of a subgroup mean = Rbar / (d2(n) sqrt(n)), so the limits are grand mean +- A2(n) Rbar; the range
  chart's limits are D3(n) Rbar and D4(n) Rbar.

Limits are **frozen from a baseline**: only the points whose time lies in ``[baseline_start, baseline_end)``
and that are not excluded set the limits; every point is then judged against them. An **excluded** point
(with its reason) is shown but neither sets limits nor takes part in the rules.

Nelson rules (Nelson 1984, numbering as in the NIST/SEMATECH e-Handbook and Minitab), z = (x - centre) /
sigma; "beyond" is strict; a point on the centre line is on neither side. The flagged point is the one that
completes the pattern:

1. one point beyond 3 sigma;
2. nine points in a row on the same side of the centre line;
3. six points in a row steadily increasing or decreasing;
4. fourteen points in a row alternating up and down;
5. two of three points in a row beyond 2 sigma on the same side (the flagged point is one of them);
6. four of five points in a row beyond 1 sigma on the same side (the flagged point is one of them);
7. fifteen points in a row within 1 sigma on either side;
8. eight points in a row beyond 1 sigma, on either side.

Capability: Cpk = min(USL - mean, mean - LSL) / (3 sigma_within); Ppk the same with the overall sample
standard deviation (ddof 1); one-sided specifications take their one side. Confidence interval by Bissell
(1990): Cpk +- z sqrt(1 / (9 n) + Cpk^2 / (2 (n - 1))), used for Ppk as well.

Autocorrelation: the lag-1 sample autocorrelation r1 is significant when |r1| > z(0.975) / sqrt(n)
(Bartlett's bound for white noise). Shewhart limits assume independent samples; with autocorrelated data
they raise false alarms (positive r1) or miss shifts, so the chart says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ALL_RULES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
# (n): d2, A2, D3, D4 - Montgomery, Introduction to Statistical Quality Control, Appendix VI
CONSTANTS: dict[int, tuple[float, float, float, float]] = {
    2: (1.128, 1.880, 0.0, 3.267),
    3: (1.693, 1.023, 0.0, 2.574),
    4: (2.059, 0.729, 0.0, 2.282),
    5: (2.326, 0.577, 0.0, 2.114),
    6: (2.534, 0.483, 0.0, 2.004),
    7: (2.704, 0.419, 0.076, 1.924),
    8: (2.847, 0.373, 0.136, 1.864),
    9: (2.970, 0.337, 0.184, 1.816),
    10: (3.078, 0.308, 0.223, 1.777),
}
IMR = "imr"
XBAR_R = "xbar_r"


class SpcError(ValueError):
    """Data that cannot make a chart (too few baseline points, unequal subgroups, non-finite values)."""


@dataclass(frozen=True)
class Limits:
    centre: float
    sigma: float  # sigma of the plotted statistic (an individual, or a subgroup mean)
    ucl: float
    lcl: float
    spread_centre: float  # MRbar or Rbar
    spread_ucl: float
    spread_lcl: float
    sigma_within: float  # process sigma within subgroups (for Cpk)
    baseline_n: int


@dataclass(frozen=True)
class Autocorrelation:
    r1: float
    bound: float
    n: int

    @property
    def significant(self) -> bool:
        return abs(self.r1) > self.bound


@dataclass(frozen=True)
class Capability:
    index: float
    low: float
    high: float
    n: int


@dataclass
class Chart:
    kind: str
    ts: np.ndarray  # ms, one per plotted point
    values: np.ndarray  # the individual or the subgroup mean
    spread: np.ndarray  # moving range (NaN at the first included point and at excluded ones) or range
    limits: Limits
    excluded: dict[int, str]  # index -> reason
    violations: dict[int, list[int]]  # rule -> indices of the points that complete the pattern
    rules: tuple[int, ...]
    spread_out: list[int] = field(default_factory=list)  # indices whose MR/R is beyond its upper limit
    autocorrelation: Autocorrelation | None = None

    def flagged(self) -> dict[int, list[int]]:
        """index -> the rules it breaks, for every flagged point."""
        out: dict[int, list[int]] = {}
        for rule, idx in sorted(self.violations.items()):
            for i in idx:
                out.setdefault(i, []).append(rule)
        return out


def _finite(values: Iterable[float], what: str) -> np.ndarray:
    arr = np.asarray(list(values), dtype=float)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise SpcError(f"{what}: value {bad + 1} is not a finite number")
    return arr


def _baseline_mask(ts: np.ndarray, start: int | None, end: int | None) -> np.ndarray:
    mask = np.ones(ts.size, dtype=bool)
    if start is not None:
        mask &= ts >= start
    if end is not None:
        mask &= ts < end
    return mask


def _excluded_index(ts: np.ndarray, excluded: Mapping[int, str] | None) -> dict[int, str]:
    if not excluded:
        return {}
    pos = {int(t): i for i, t in enumerate(ts)}
    return {pos[int(t)]: reason for t, reason in excluded.items() if int(t) in pos}


def moving_ranges(values: np.ndarray, include: np.ndarray) -> np.ndarray:
    """|x_i - x_prev| between consecutive included values; NaN at the first included and the excluded ones."""
    out = np.full(values.size, np.nan)
    idx = np.flatnonzero(include)
    if idx.size > 1:
        out[idx[1:]] = np.abs(np.diff(values[idx]))
    return out


def imr_limits(values: np.ndarray, use: np.ndarray) -> Limits:
    """I-MR limits from the values where ``use`` is true (the included baseline)."""
    base = values[use]
    if base.size < 2:
        raise SpcError("the baseline needs at least 2 included values")
    mr = np.abs(np.diff(base))
    mrbar = float(mr.mean())
    d2, _a2, d3, d4 = CONSTANTS[2]
    sigma = mrbar / d2
    centre = float(base.mean())
    upper, lower = centre + 3 * sigma, centre - 3 * sigma
    return Limits(centre, sigma, upper, lower, mrbar, d4 * mrbar, d3 * mrbar, sigma, base.size)


def xbar_r_limits(means: np.ndarray, ranges: np.ndarray, n: int, use: np.ndarray) -> Limits:
    if n not in CONSTANTS:
        raise SpcError(f"subgroup size {n} is outside 2..10")
    if int(use.sum()) < 2:
        raise SpcError("the baseline needs at least 2 included subgroups")
    d2, a2, d3, d4 = CONSTANTS[n]
    centre = float(means[use].mean())
    rbar = float(ranges[use].mean())
    return Limits(
        centre,
        a2 * rbar / 3,
        centre + a2 * rbar,
        centre - a2 * rbar,
        rbar,
        d4 * rbar,
        d3 * rbar,
        rbar / d2,
        int(use.sum()),
    )


def _runs(cond: np.ndarray, length: int) -> np.ndarray:
    """Bool per index: cond held at this index and the ``length - 1`` before it."""
    out = np.zeros(cond.size, dtype=bool)
    if cond.size >= length:
        out[length - 1 :] = sliding_window_view(cond, length).all(axis=1)
    return out


def _k_of_m(cond: np.ndarray, k: int, m: int) -> np.ndarray:
    """Bool per index: this point meets cond and at least k of the m points ending here do."""
    out = np.zeros(cond.size, dtype=bool)
    if cond.size >= m:
        counts = sliding_window_view(cond.astype(np.int8), m).sum(axis=1)
        out[m - 1 :] = counts >= k
    out &= cond
    return out


def nelson(values: np.ndarray, centre: float, sigma: float, rules: Iterable[int] = ALL_RULES) -> dict[int, np.ndarray]:
    """Indices (into ``values``) of the points completing each selected rule's pattern."""
    x = np.asarray(values, dtype=float)
    if sigma <= 0 or not math.isfinite(sigma):
        return {r: np.zeros(0, dtype=int) for r in rules}
    z = (x - centre) / sigma
    above, below = z > 0, z < 0
    d = np.diff(x)
    out: dict[int, np.ndarray] = {}
    for rule in rules:
        if rule == 1:
            hit = np.abs(z) > 3
        elif rule == 2:
            hit = _runs(above, 9) | _runs(below, 9)
        elif rule in (3, 4):
            hit = np.zeros(x.size, dtype=bool)
            if rule == 3:
                steps = _runs(d > 0, 5) | _runs(d < 0, 5)
                hit[1:] = steps
            else:
                alt = (d[:-1] * d[1:]) < 0  # alt[i]: the turn at point i+1
                hit[2:] = _runs(alt, 12)
        elif rule == 5:
            hit = _k_of_m(z > 2, 2, 3) | _k_of_m(z < -2, 2, 3)
        elif rule == 6:
            hit = _k_of_m(z > 1, 4, 5) | _k_of_m(z < -1, 4, 5)
        elif rule == 7:
            hit = _runs(np.abs(z) < 1, 15)
        elif rule == 8:
            hit = _runs(np.abs(z) > 1, 8)
        else:
            raise SpcError(f"no Nelson rule {rule}")
        out[rule] = np.flatnonzero(hit)
    return out


def lag1_autocorrelation(values: Sequence[float] | np.ndarray, alpha: float = 0.05) -> Autocorrelation | None:
    x = np.asarray(values, dtype=float)
    if x.size < 10:
        return None
    dev = x - x.mean()
    denom = float(dev @ dev)
    if denom == 0:
        return None
    r1 = float(dev[:-1] @ dev[1:]) / denom
    return Autocorrelation(r1, NormalDist().inv_cdf(1 - alpha / 2) / math.sqrt(x.size), int(x.size))


def _judge(
    kind: str,
    ts: np.ndarray,
    values: np.ndarray,
    spread: np.ndarray,
    limits: Limits,
    excl: dict[int, str],
    rules: Iterable[int],
) -> Chart:
    include = np.ones(values.size, dtype=bool)
    include[list(excl)] = False
    idx = np.flatnonzero(include)
    found = nelson(values[idx], limits.centre, limits.sigma, rules)
    violations = {r: [int(i) for i in idx[v]] for r, v in found.items()}
    with np.errstate(invalid="ignore"):
        spread_out = [int(i) for i in np.flatnonzero(spread > limits.spread_ucl)]
    return Chart(
        kind,
        ts,
        values,
        spread,
        limits,
        excl,
        violations,
        tuple(sorted(violations)),
        spread_out,
        lag1_autocorrelation(values[idx]),
    )


def imr_chart(
    ts: Sequence[int] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    baseline: tuple[int | None, int | None] = (None, None),
    excluded: Mapping[int, str] | None = None,
    rules: Iterable[int] = ALL_RULES,
) -> Chart:
    """An individuals and moving-range chart; ``excluded`` maps a sample's time (ms) to the reason."""
    t = np.asarray(ts, dtype=np.int64)
    x = _finite(values, "values")
    if t.size != x.size:
        raise SpcError("times and values differ in length")
    excl = _excluded_index(t, excluded)
    include = np.ones(x.size, dtype=bool)
    include[list(excl)] = False
    limits = imr_limits(x, include & _baseline_mask(t, *baseline))
    return _judge(IMR, t, x, moving_ranges(x, include), limits, excl, rules)


def xbar_r_chart(
    ts: Sequence[int] | np.ndarray,
    subgroups: Sequence[Sequence[float]],
    *,
    baseline: tuple[int | None, int | None] = (None, None),
    excluded: Mapping[int, str] | None = None,
    rules: Iterable[int] = ALL_RULES,
) -> Chart:
    """An X-bar and R chart over subgroups of equal size (2..10), one time per subgroup."""
    t = np.asarray(ts, dtype=np.int64)
    sizes = {len(g) for g in subgroups}
    if len(sizes) != 1:
        raise SpcError(f"subgroups differ in size: {sorted(sizes)}")
    n = sizes.pop()
    data = _finite((v for g in subgroups for v in g), "subgroups").reshape(len(subgroups), n)
    if t.size != data.shape[0]:
        raise SpcError("times and subgroups differ in length")
    means, ranges = data.mean(axis=1), np.ptp(data, axis=1)
    excl = _excluded_index(t, excluded)
    include = np.ones(t.size, dtype=bool)
    include[list(excl)] = False
    limits = xbar_r_limits(means, ranges, n, include & _baseline_mask(t, *baseline))
    return _judge(XBAR_R, t, means, ranges, limits, excl, rules)


def _bissell(index: float, n: int, confidence: float) -> Capability:
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = z * math.sqrt(1 / (9 * n) + index**2 / (2 * (n - 1)))
    return Capability(index, index - half, index + half, n)


def _index(mean: float, sigma: float, lsl: float | None, usl: float | None) -> float:
    if lsl is None and usl is None:
        raise SpcError("capability needs a lower or an upper specification limit")
    sides = []
    if usl is not None:
        sides.append((usl - mean) / (3 * sigma))
    if lsl is not None:
        sides.append((mean - lsl) / (3 * sigma))
    return min(sides)


def capability(
    values: Sequence[float] | np.ndarray,
    sigma_within: float,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    confidence: float = 0.95,
) -> tuple[Capability, Capability] | None:
    """(Cpk, Ppk) with Bissell confidence intervals; None with fewer than 2 values or no spread."""
    x = _finite(values, "values")
    if x.size < 2:
        return None
    overall = float(x.std(ddof=1))
    if sigma_within <= 0 or overall <= 0:
        return None
    mean = float(x.mean())
    n = int(x.size)
    return (
        _bissell(_index(mean, sigma_within, lsl, usl), n, confidence),
        _bissell(_index(mean, overall, lsl, usl), n, confidence),
    )


def chart_capability(
    chart: Chart, *, lsl: float | None = None, usl: float | None = None, raw: Sequence[float] | None = None
) -> tuple[Capability, Capability] | None:
    """Cpk/Ppk of a chart's included points (or of ``raw`` individual values for an X-bar chart)."""
    if raw is not None:
        data = np.asarray(raw, dtype=float)
    else:
        keep = np.ones(chart.values.size, dtype=bool)
        keep[list(chart.excluded)] = False
        data = chart.values[keep]
    return capability(data, chart.limits.sigma_within, lsl=lsl, usl=usl)
