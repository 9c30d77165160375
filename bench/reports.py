"""Reports benchmark: a shift report and a month report of the demo plant, each built from the store (the
same figures as the screens) and rendered as PDF with the Chinese face of Noto Sans CJK embedded.

    python -m bench reports            7 days of demo history (5-minute steps), 5 repetitions
    python -m bench reports --quick    3 days, 3 repetitions
    python -m bench reports --smoke    6 hours, 1 repetition: checks that it runs, not a measurement

The history comes from the simulator's backfill (``simulator.backfill``) into a SQLite file, cached under
``var/bench/`` keyed by its parameters (not in smoke runs). Figures (medians, seconds):

- ``shift_s``: the last whole shift in Chinese, content (``reports.content.build``) and PDF; target 3 s;
- ``month_s``: the month holding the history, Chinese, content and PDF; target 15 s; with ``month_pages`` and
  ``month_charts`` (the month report has at least 10 pages and 12 charts);
- ``shift_content_s``, ``month_content_s``: the part of each that reads the store and computes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import _smoke
from plant.loader import load_plant
from reports.content import build
from reports.pdf import prepare, to_pdf
from reports.period import Kind, containing, last_complete
from settings import ROOT, get_settings
from simulator.backfill import backfill
from store.db import make_engine, migrate, session_scope

DEMO = ROOT / "plant" / "demo_smelter.yaml"
END = "2026-03-29T17:00:00+08:00"  # the history ends late in a month: the month report has most of it


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench reports")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-cache", action="store_true", help="rebuild the history even if cached")
    _smoke.add_flag(parser)
    args = parser.parse_args(argv)
    days = 0.25 if args.smoke else 3.0 if args.quick else 7.0
    reps = 1 if args.smoke else 3 if args.quick else 5
    step_s = 300.0
    plant = load_plant(DEMO)
    end = int(datetime.fromisoformat(END).timestamp() * 1000)
    figures: dict[str, Any] = {"days": days, "repetitions": reps, "step_s": step_s}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "reports.db"
        cached = None if args.smoke else get_settings().var_dir / "bench" / f"reports-{days}-{int(step_s)}.db"
        if cached is not None and cached.exists() and not args.no_cache:
            shutil.copyfile(cached, db)
            figures["cache"] = "hit"
        else:
            url = f"sqlite:///{db}"
            migrate(url)
            t = time.perf_counter()
            backfill(plant, url, days, step_s=step_s, seed=5, end_ms=end, progress=False)
            figures["backfill_s"] = round(time.perf_counter() - t, 1)
            figures["cache"] = "none"
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db, cached)
        url = f"sqlite:///{db}"
        migrate(url)
        engine = make_engine(url)
        now = end + 3_600_000
        shift = last_complete(plant, Kind.SHIFT, end)
        month = containing(plant, Kind.MONTH, end - 1)
        runs: dict[str, list[float]] = {"shift": [], "shift_content": [], "month": [], "month_content": []}
        pages = charts = 0
        for _ in range(reps):
            for name, period in (("shift", shift), ("month", month)):
                t0 = time.perf_counter()
                prepared = prepare()  # as reports.issue does: the font loads while the store is read
                with session_scope(engine) as session:
                    report = build(session, plant, period, "zh", named=True, now_ms=now)
                t1 = time.perf_counter()
                pdf = to_pdf(report, prepared)
                t2 = time.perf_counter()
                runs[name].append(t2 - t0)
                runs[f"{name}_content"].append(t1 - t0)
                if name == "month":
                    pages = _pages(pdf)
                    charts = sum(len(s.charts) for s in report.sections)
        engine.dispose()
    for key, values in runs.items():
        figures[f"{key}_s"] = round(statistics.median(values), 3)
    figures.update(
        shift=shift.key,
        month=month.key,
        month_pages=pages,
        month_charts=charts,
        shift_target_s=3.0,
        month_target_s=15.0,
    )
    return _smoke.mark(figures, args.smoke)
