"""SPC benchmark: an individuals and moving-range chart of 10,000 assays with all eight Nelson rules, the
limits frozen from a baseline, a few exclusions, Cpk/Ppk and the autocorrelation check (``engine.spc``).

    python -m bench spc            10,000 points, 21 repetitions
    python -m bench spc --quick    10,000 points, 7 repetitions
    python -m bench spc --smoke    500 points, 3 repetitions: checks that it runs, not a measurement

The series is a matte grade drawn around 62 % with a scripted shift and a drift, so that every rule has
work to do. ``chart_ms`` (median) covers building the chart, all rules and the capability; target under
200 ms (``target_ms``); ``xbar_ms`` the same data as 2,000 subgroups of 5.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from bench import _smoke
from engine.spc import chart_capability, imr_chart, xbar_r_chart

TARGET_MS = 200.0
H = 3_600_000


def series(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.normal(62.0, 0.6, n)
    values[n // 2 : n // 2 + 40] += 1.5  # a shift
    values[3 * n // 4 : 3 * n // 4 + 30] += np.linspace(0, 2.5, 30)  # a drift
    ts = np.arange(n, dtype=np.int64) * 6 * H
    return ts, values


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench spc", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="7 repetitions")
    _smoke.add_flag(p)
    args = p.parse_args(argv)
    n, reps = (500, 3) if args.smoke else (10_000, 7) if args.quick else (10_000, 21)
    ts, values = series(n)
    baseline = (int(ts[0]), int(ts[n // 5]))
    excluded = {int(ts[i]): "lab repeat" for i in range(7, n, n // 10)}

    def one() -> tuple[int, float]:
        chart = imr_chart(ts, values, baseline=baseline, excluded=excluded)
        cap = chart_capability(chart, lsl=58.0, usl=66.0)
        assert cap is not None
        return sum(len(v) for v in chart.violations.values()), cap[0].index

    times, xtimes = [], []
    flagged, cpk = 0, 0.0
    groups = values[: n - n % 5].reshape(-1, 5).tolist()
    gts = ts[: n - n % 5 : 5]
    for _ in range(reps):
        t0 = time.perf_counter()
        flagged, cpk = one()
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        xbar_r_chart(gts, groups, baseline=(int(gts[0]), int(gts[len(gts) // 5])))
        xtimes.append((time.perf_counter() - t0) * 1000)
    return _smoke.mark(
        {
            "points": n,
            "repetitions": reps,
            "chart_ms": round(statistics.median(times), 2),
            "xbar_ms": round(statistics.median(xtimes), 2),
            "target_ms": TARGET_MS,
            "flagged": flagged,
            "cpk": round(cpk, 3),
        },
        args.smoke,
    )
