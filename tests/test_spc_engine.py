"""SPC engine (engine.spc): limits against a published example, each Nelson rule against a hand-built
sequence that breaks exactly that rule and one just short of it, baselines, exclusions, Cpk/Ppk, and the
autocorrelation warning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.spc import ALL_RULES, SpcError, capability, chart_capability, imr_chart, nelson, xbar_r_chart

# z-scores (centre 0, sigma 1): for each rule, a sequence breaking only it (flagged at the last point) and
# one just short of it (breaking nothing)
ALT = [0.5 * (-1) ** i for i in range(14)]
CALM = ([0.3, 0.5, -0.4, -0.2] * 4)[:15]
CASES: dict[int, tuple[list[float], list[float]]] = {
    1: ([0.5, -0.5, 0.3, 3.5], [0.5, -0.5, 0.3, 2.9]),
    2: ([0.2, 0.4, 0.3, 0.5, 0.2, 0.6, 0.3, 0.4, 0.2], [0.2, 0.4, 0.3, 0.5, 0.2, 0.6, 0.3, 0.4, -0.2]),
    3: ([-0.5, -0.3, -0.1, 0.1, 0.3, 0.5], [-0.5, -0.3, -0.1, 0.1, 0.3, 0.2]),
    4: (ALT, ALT[:13]),
    5: ([0.1, 2.5, -0.3, 2.5], [0.1, 2.5, -0.3, 0.2, 2.5]),
    6: ([0.1, 1.5, 1.5, -0.2, 1.5, 1.5], [0.1, 1.5, 1.5, -0.2, -0.2, 1.5, 1.5]),
    7: (CALM, CALM[:14]),
    8: ([1.5 * (-1) ** i for i in range(8)], [1.5 * (-1) ** i for i in range(7)] + [0.0]),
}


@pytest.mark.parametrize("rule", ALL_RULES)
def test_each_rule_alone(rule: int) -> None:
    hits, misses = CASES[rule]
    found = nelson(np.array(hits), 0.0, 1.0)
    assert {r: list(v) for r, v in found.items() if v.size} == {rule: [len(hits) - 1]}
    assert all(v.size == 0 for v in nelson(np.array(misses), 0.0, 1.0).values())
    # scaled to a real centre and sigma, the same
    scaled = nelson(np.array(hits) * 0.25 + 60.0, 60.0, 0.25, [rule])
    assert list(scaled[rule]) == [len(hits) - 1]


def test_rule_selection() -> None:
    hits, _ = CASES[1]
    assert set(nelson(np.array(hits), 0.0, 1.0, [2, 3])) == {2, 3}
    assert all(v.size == 0 for v in nelson(np.array(hits), 0.0, 1.0, [2, 3]).values())
    with pytest.raises(SpcError):
        nelson(np.array(hits), 0.0, 1.0, [9])


def test_imr_nist_example() -> None:
    """NIST/SEMATECH e-Handbook of Statistical Methods, 6.3.2.2 (individuals control chart example, flow
    rate of the first 10 batches): mean 50.81, MRbar 1.8778, UCL 55.8041, LCL 45.8159, MR UCL 6.1347."""
    flow = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]
    chart = imr_chart(range(10), flow)
    lim = chart.limits
    assert lim.centre == pytest.approx(50.81, abs=1e-9)
    assert lim.spread_centre == pytest.approx(1.8778, abs=1e-4)
    assert lim.ucl == pytest.approx(55.8041, abs=1e-3)
    assert lim.lcl == pytest.approx(45.8159, abs=1e-3)
    assert lim.spread_ucl == pytest.approx(6.1347, abs=1e-3) and lim.spread_lcl == 0
    assert math.isnan(chart.spread[0]) and chart.spread[1] == pytest.approx(2.0)
    assert chart.violations[1] == [] and chart.spread_out == []


def test_xbar_r_by_hand() -> None:
    # subgroups of 3: means 10, 11, 9, 10; ranges 2, 2, 4, 0 -> Rbar 2, A2(3) 1.023, D4(3) 2.574
    groups = [[9, 10, 11], [10, 11, 12], [7, 9, 11], [10, 10, 10]]
    chart = xbar_r_chart([1, 2, 3, 4], groups)
    lim = chart.limits
    assert lim.centre == 10 and lim.spread_centre == 2
    assert lim.ucl == pytest.approx(10 + 1.023 * 2) and lim.lcl == pytest.approx(10 - 1.023 * 2)
    assert lim.spread_ucl == pytest.approx(2.574 * 2) and lim.spread_lcl == 0
    assert lim.sigma_within == pytest.approx(2 / 1.693)
    with pytest.raises(SpcError, match="differ in size"):
        xbar_r_chart([1, 2], [[1, 2], [1, 2, 3]])


def test_baseline_frozen_and_exclusions() -> None:
    ts = list(range(0, 40))
    values = [10.0 + 0.1 * ((i * 7) % 5) for i in range(30)] + [14.0] * 10  # a shift after the baseline
    chart = imr_chart(ts, values, baseline=(0, 30))
    base = imr_chart(ts[:30], values[:30])
    assert chart.limits == base.limits  # the shift does not move the frozen limits
    assert 30 in chart.violations[1] and {38, 39} <= set(chart.violations[2])
    # excluding the shift's first point: shown with its reason, out of the rules and of the moving ranges
    chart2 = imr_chart(ts, values, baseline=(0, 30), excluded={30: "sample contaminated"})
    assert chart2.excluded == {30: "sample contaminated"}
    assert 30 not in chart2.violations[1] and math.isnan(chart2.spread[30])
    assert chart2.spread[31] == pytest.approx(abs(14.0 - values[29]))
    # an excluded point inside the baseline does not set the limits
    chart3 = imr_chart(ts[:31], [*values[:30], 10.2], excluded={5: "lab repeat"})
    kept = [v for i, v in enumerate([*values[:30], 10.2]) if i != 5]
    assert chart3.limits.centre == pytest.approx(np.mean(kept))
    with pytest.raises(SpcError, match="not a finite number"):
        imr_chart([1, 2, 3], [1.0, float("nan"), 2.0])


def test_cpk_ppk_by_hand() -> None:
    values = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10]
    # mean 10; moving ranges 1 2 1 2 4 2 1 2 1 -> MRbar 16/9; sigma_within = 16/9/1.128
    # Cpk = min(14 - 10, 10 - 7) / (3 sigma_within) = 3 / (3 x 1.57604) = 0.63451
    # s (ddof 1) = sqrt(12 / 9) = 1.15470; Ppk = 3 / (3 x 1.15470) = 0.86603
    # Bissell 95 %: 1.95996 sqrt(1/90 + Cpk^2/18) = 1.95996 x 0.18297 = 0.35861
    chart = imr_chart(range(10), values)
    cpk, ppk = chart_capability(chart, lsl=7, usl=14) or (None, None)
    assert cpk is not None and ppk is not None
    assert cpk.index == pytest.approx(0.63451, abs=1e-4)
    assert ppk.index == pytest.approx(0.86603, abs=1e-4)
    assert cpk.high - cpk.index == pytest.approx(0.35861, abs=1e-4)
    assert cpk.index - cpk.low == pytest.approx(cpk.high - cpk.index)
    one_sided = capability(values, 16 / 9 / 1.128, usl=14)
    assert one_sided is not None and one_sided[0].index == pytest.approx(4 / (3 * 16 / 9 / 1.128))
    assert capability([5.0, 5.0], 1.0, usl=6) is None


def test_autocorrelation_warning() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 200)
    chart = imr_chart(range(200), noise)
    assert chart.autocorrelation is not None and not chart.autocorrelation.significant
    ar = np.zeros(200)
    for i in range(1, 200):
        ar[i] = 0.8 * ar[i - 1] + noise[i]
    warned = imr_chart(range(200), ar)
    assert warned.autocorrelation is not None and warned.autocorrelation.significant
    assert warned.autocorrelation.r1 > 0.6
    assert imr_chart(range(5), [1.0, 2.0, 1.5, 1.2, 1.8]).autocorrelation is None
