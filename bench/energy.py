"""Energy benchmark: a year of every meter of the demo plant, read from the hourly rollups.

    python -m bench energy            365 days of the demo's meters (readings every 15 min), 20 repetitions
    python -m bench energy --quick    35 days
    python -m bench energy --smoke    3 days, not cached, 2 repetitions: checks that it runs, not a measurement

The history: every equipment meter counts its nominal rate times a load with a day-night swing and noise,
every parent meter (site and area incomers) the sum of its children plus 1.2 % losses, one compressed-air
main a leak on top; one meter is reset and one exchanged (their hours recounted from raw readings), one is
not read for six hours. It is bulk-loaded into a SQLite file (rollups rebuilt) and cached under
``var/bench/`` keyed by its parameters; each run copies it into a temporary directory and measures there.

Figures (warm, p95 of the repetitions):
``sankey_month_p95_ms``: one month of every meter of the plant (one statement), reconciled and turned into the
Sankey's flows for every medium, the electricity figure built; target 300 ms.
``daily_year_p95_ms``: the daily consumption of every meter for the whole history (365 days); target 1 s.
``forecast_p95_ms``: the energy page's forecast of the site's electricity (``webapp.live.energy``'s steps): the
daily totals of the last 60 days read and reconciled, the model refitted at every origin of the 60-day backtest
(four horizons) and the seven coming days predicted; target 2 s. The bench history has no production
counters, so the daily electricity of the site's first area stands in for production (the sizes, not the
values, set the time).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench import _smoke
from engine.energy import PeriodKind, max_rates, media, meter_tree, periods, reconcile, sankey_links, shift_starts
from engine.forecast import FORECAST_DAYS, HISTORY_DAYS, backtest, forecast
from engine.types import GOOD, SampleIn
from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import Medium, Plant
from settings import get_settings
from store.db import make_engine, migrate, session_scope
from store.energy import consumption
from store.samples import bulk_load_samples, rebuild_rollups
from store.tags import sync_tags

logger = logging.getLogger(__name__)

BUILD_VERSION = 2  # bump when the generated history changes
DAY_MS = 86_400_000
STEP_MS = 15 * 60_000
START_MS = 1_767_196_800_000  # 2026-01-01T00:00:00+08:00, the demo plant's midnight
TARGET_SANKEY_MS = 300.0
TARGET_YEAR_MS = 1000.0
TARGET_FORECAST_MS = 2000.0


def _rates(plant: Plant) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Equipment meters' nominal rates; each parent meter's metered children."""
    nominal = {t.id: float(t.nominal or 0.0) for t in plant.tags if t.kind.value == "energy"}
    parents: dict[str, list[str]] = {}
    for medium in media(plant):
        tree = meter_tree(plant, medium)

        def below(nid: str, tree: Any = tree) -> list[str]:
            out: list[str] = []
            for c in tree.nodes[nid].children:
                tag = tree.nodes[c].tag
                out.extend([tag] if tag else below(c))
            return out

        for nid, n in tree.nodes.items():
            if n.tag and n.children:
                parents[n.tag] = below(nid)
    return nominal, parents


def _history(plant: Plant, ids: dict[str, int], days: int, seed: int) -> Iterator[SampleIn]:
    rng = np.random.default_rng(seed)
    nominal, parents = _rates(plant)
    n = days * DAY_MS // STEP_MS + 1
    ts = START_MS + np.arange(n, dtype=np.int64) * STEP_MS
    hour = ((ts - START_MS) % DAY_MS) / 3_600_000
    swing = 1.0 + 0.05 * np.cos(2 * np.pi * (hour - 15) / 24)
    inc: dict[str, np.ndarray] = {}
    for tag, rate in nominal.items():
        if tag in parents:
            continue
        load = np.clip(0.8 + 0.1 * rng.standard_normal(n), 0.05, None) * swing
        inc[tag] = rate * load * STEP_MS / 3_600_000
    order = sorted(parents, key=lambda t: 0 if t.startswith("EM.") and not t.startswith("EM.SITE.") else 1)
    leak = next((t for t in order if t.endswith("AIR_NM3") and not t.startswith("EM.SITE.")), None)
    for tag in order:  # areas before the site
        total = sum((inc[c] for c in parents[tag] if c in inc), np.zeros(n))
        inc[tag] = total * 1.012 + (600 * STEP_MS / 3_600_000 if tag == leak else 0.0)
    tags = sorted(inc)
    reset, swap, outage = tags[3], tags[7], tags[11]
    for tag in tags:
        reading = 1_000.0 + np.concatenate([[0.0], np.cumsum(inc[tag][1:])])
        if tag == reset:
            k = n // 3
            reading[k:] -= reading[k] - inc[tag][k] * 0.4
        elif tag == swap:
            k = n // 2
            reading[k:] = reading[k:] - reading[k] + 55.5
        keep = np.ones(n, dtype=bool)
        if tag == outage:
            k = n // 4
            keep[k + 1 : k + 25] = False
        tid = ids[tag]
        for t, v in zip(ts[keep].tolist(), np.round(reading[keep], 3).tolist(), strict=True):
            yield SampleIn(tid, t, v, GOOD)


def _build(path: Path, plant: Plant, days: int, seed: int) -> dict[str, float]:
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            ids = sync_tags(session, plant)
        t = time.perf_counter()
        with session_scope(engine) as session:
            result = bulk_load_samples(session, _history(plant, ids, days, seed))
        load_s = time.perf_counter() - t
        meters = [ids[m.tag] for m in plant.meters if m.tag]
        t = time.perf_counter()
        for d in range(0, days + 1, 7):  # a week at a time: bounded memory
            with session_scope(engine) as session:
                rebuild_rollups(session, meters, START_MS + d * DAY_MS, START_MS + min(days + 1, d + 7) * DAY_MS)
        rebuild_s = time.perf_counter() - t
    finally:
        engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {"samples": float(result.inserted), "load_s": round(load_s, 1), "rebuild_s": round(rebuild_s, 1)}


CPU: dict[str, list[float]] = {}  # the process's CPU time per run, by what was run: less moved by other load


def _timed(fn: Any, reps: int) -> tuple[list[float], Any]:
    times: list[float] = []
    cpu = CPU.setdefault(getattr(fn, "__name__", "?"), [])
    out = None
    for _ in range(reps):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return times, out


def _p95(times: list[float]) -> float:
    return round(float(np.percentile(times, 95)), 1)


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench energy")
    parser.add_argument("--quick", action="store_true", help="35 days of history instead of 365")
    _smoke.add_flag(parser)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cache", action="store_true", help="rebuild the history even if cached")
    args = parser.parse_args(argv)
    days = args.days or (3 if args.smoke else 35 if args.quick else 365)
    reps = args.reps or (2 if args.smoke else 20)
    plant = load_plant(DEMO_PLANT)
    cached = None
    if not args.smoke:
        key = hashlib.sha256(f"v{BUILD_VERSION}-days{days}-seed{args.seed}".encode()).hexdigest()[:12]
        cached = get_settings().var_dir / "bench" / f"energy-{key}.db"
    meters = [m.tag for m in plant.meters if m.tag]
    figures: dict[str, Any] = {"days": days, "meters": len(meters), "reps": reps, "step_min": STEP_MS // 60_000}
    with tempfile.TemporaryDirectory(prefix="sw-bench-energy-") as tmp:
        db = Path(tmp) / "energy.db"
        if cached is not None and cached.exists() and not args.no_cache:
            shutil.copyfile(cached, db)
            figures["cache"] = "hit"
        else:
            figures["build"] = _build(db, plant, days, args.seed)
            figures["cache"] = "none"
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db, cached.with_suffix(".tmp"))
                cached.with_suffix(".tmp").replace(cached)
                figures["cache"] = "built"
        url = f"sqlite:///{db}"
        migrate(url)
        engine = make_engine(url)
        tz = plant.tz()
        try:
            with session_scope(engine) as session:
                ids = sync_tags(session, plant)
            tag_ids = [ids[t] for t in meters]
            rates = {ids[t]: r for t, r in max_rates(plant).items()}
            trees = {m: meter_tree(plant, m) for m in media(plant)}
            month = (START_MS, START_MS + min(days, 31) * DAY_MS)

            def sankey_month() -> int:
                from webapp.panels.energy.figures import sankey_figure

                with session_scope(engine) as session:
                    got = consumption(session, tag_ids, [month], rates)
                links = 0
                for medium, tree in trees.items():
                    readings = {t: got.values[ids[t]][0] for t in tree.tags()}
                    flows = reconcile(tree, readings)
                    links += len(sankey_links(flows))
                    if medium == Medium.ELECTRICITY:
                        data = {
                            "nodes": {
                                nid: {
                                    "name": n.name,
                                    "name_zh": n.name_zh,
                                    "level": n.level.value if n.level else None,
                                    "parent": n.parent,
                                    "value": flows.values.get(nid),
                                }
                                for nid, n in tree.nodes.items()
                            },
                            "losses": {
                                p: {"value": b.unaccounted, "share": b.share, "flagged": b.flagged}
                                for p, b in flows.balances.items()
                            },
                            "unit": tree.unit,
                            "currency": plant.energy.currency,
                            "price": plant.energy.prices.get(medium),
                        }
                        sankey_figure(data, "energy", "en")
                return links

            year = periods(PeriodKind.DAY, START_MS, START_MS + days * DAY_MS, tz, shift_starts(plant))

            def daily_year() -> Any:
                with session_scope(engine) as session:
                    return consumption(session, tag_ids, year, rates)

            elec = trees[Medium.ELECTRICITY]
            e_tags = [ids[t] for t in elec.tags()]
            area = next(n for n, node in elec.nodes.items() if node.parent in elec.roots)
            n_hist = min(HISTORY_DAYS, max(days - 1, 1))
            hist = periods(PeriodKind.DAY, START_MS + (days - n_hist) * DAY_MS, START_MS + days * DAY_MS, tz)

            def forecast_site() -> int:
                with session_scope(engine) as session:
                    got = consumption(session, e_tags, hist, rates)
                energy: list[float | None] = []
                driver: list[float | None] = []
                for i in range(len(hist)):
                    flows = reconcile(elec, {t: got.values[ids[t]][i] for t in elec.tags()})
                    vals = [flows.values.get(r) for r in elec.roots]
                    energy.append(None if any(v is None for v in vals) else sum(v for v in vals if v is not None))
                    driver.append(flows.values.get(area))
                bt = backtest(energy, driver)
                known = [d for d in driver if d is not None]
                plan = [known[-1] if known else None] * FORECAST_DAYS
                return bt.origins + sum(p is not None for p in forecast(energy, driver, plan))

            def view_month() -> int:
                # the energy page's whole view of a month of electricity (store.figures.energy_view): the
                # Sankey's period, the trend, the shifts and every cost column priced hour by hour at its band
                from store.figures import energy_view

                with session_scope(engine) as session:
                    v = energy_view(session, plant, "electricity", "month", month[0], month[1])
                return len(v["shifts"])

            _timed(sankey_month, 2)
            _timed(view_month, 1)
            CPU.clear()
            s_times, links = _timed(sankey_month, reps)
            v_times, _ = _timed(view_month, max(2, reps // 4))
            _timed(daily_year, 1)
            CPU.pop("daily_year", None)
            y_times, got = _timed(daily_year, max(2, reps // 4))
            _timed(forecast_site, 1)
            CPU.pop("forecast_site", None)
            f_times, f_points = _timed(forecast_site, max(2, reps // 4))
        finally:
            engine.dispose()
    unknown = sum(1 for vals in got.values.values() for v in vals if v is None)
    figures.update(
        {
            "sankey_month_p95_ms": _p95(s_times),
            "sankey_month_median_ms": round(float(np.median(s_times)), 1),
            "sankey_links": links,
            "daily_year_p95_ms": _p95(y_times),
            "daily_year_median_ms": round(float(np.median(y_times)), 1),
            "daily_values": sum(len(v) for v in got.values.values()),
            "daily_unknown": unknown,
            "sankey_month_cpu_median_ms": round(float(np.median(CPU["sankey_month"])), 1),
            "daily_year_cpu_median_ms": round(float(np.median(CPU["daily_year"])), 1),
            "view_month_p95_ms": _p95(v_times),
            "view_month_median_ms": round(float(np.median(v_times)), 1),
            "view_month_cpu_median_ms": round(float(np.median(CPU["view_month"])), 1),
            "forecast_p95_ms": _p95(f_times),
            "forecast_median_ms": round(float(np.median(f_times)), 1),
            "forecast_cpu_median_ms": round(float(np.median(CPU["forecast_site"])), 1),
            "forecast_origins_and_days": f_points,
            "load_average": round(os.getloadavg()[0], 1),
            "targets_met": _p95(s_times) < TARGET_SANKEY_MS
            and _p95(y_times) < TARGET_YEAR_MS
            and _p95(f_times) < TARGET_FORECAST_MS,
            "sqlite_version": sqlite3.sqlite_version,
        }
    )
    return _smoke.mark(figures, args.smoke)
