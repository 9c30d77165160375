"""Trend query benchmark: a 1,200-pixel trend of one 1 Hz tag over 30 days of history.

    python -m bench trend            30 days (2,592,000 samples), 30 warm repetitions per range
    python -m bench trend --quick    3 days, under a minute
    python -m bench trend --smoke    1 day, not cached, 2 repetitions: checks that it runs, not a measurement

The history is bulk-loaded into a SQLite file (rollups rebuilt from raw) and cached under
``var/bench/`` keyed by its parameters; every run copies it into a temporary directory and measures
real queries there (a smoke run builds its day in the temporary directory and leaves the cache alone).
Figures: ``p95_ms`` (whole-range warm p95 of :func:`store.trend.trend`), ``points``, ``naive_p95_ms``
(fetch every raw row of the range through SQLAlchemy and resample min/max with pandas to the same bucket
size), ``speedup`` (naive / trend) and per-range p95s.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench import _smoke
from engine.types import BAD_NO_COMMUNICATION, GOOD, SampleIn
from settings import get_settings
from store.db import make_engine, migrate, session_scope
from store.models import Sample
from store.samples import bulk_load_samples, rebuild_rollups
from store.trend import trend

logger = logging.getLogger(__name__)

BUILD_VERSION = 1  # bump when the generated history changes
TAG_ID = 1
WIDTH_PX = 1200
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
RANGES_MS = {"1h": 3_600_000, "6h": 6 * 3_600_000, "1d": DAY_MS, "7d": 7 * DAY_MS}


def _history(days: int, seed: int) -> Iterator[SampleIn]:
    """1 Hz furnace-temperature-like signal: daily cycle, random walk, rare spikes, a few bad samples."""
    rng = np.random.default_rng(seed)
    n = days * 86_400
    chunk = 86_400
    level = 1_200.0
    for start in range(0, n, chunk):
        k = np.arange(start, min(n, start + chunk))
        walk = level + np.cumsum(rng.normal(0.0, 0.05, k.size))
        level = float(walk[-1])
        values = walk + 15.0 * np.sin(2 * np.pi * k / 86_400) + rng.normal(0.0, 0.5, k.size)
        spikes = rng.random(k.size) < 2e-5
        values[spikes] += rng.choice([-80.0, 80.0], int(spikes.sum()))
        bad = rng.random(k.size) < 1e-5
        ts = START_MS + k * 1000
        for t, v, b in zip(ts.tolist(), values.tolist(), bad.tolist(), strict=True):
            yield SampleIn(TAG_ID, t, None, BAD_NO_COMMUNICATION) if b else SampleIn(TAG_ID, t, v, GOOD)


def _build(path: Path, days: int, seed: int) -> dict[str, float]:
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    try:
        t = time.perf_counter()
        with session_scope(engine) as session:
            result = bulk_load_samples(session, _history(days, seed))
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        with session_scope(engine) as session:
            rebuild_rollups(session, [TAG_ID], START_MS, START_MS + days * DAY_MS)
        rebuild_s = time.perf_counter() - t
    finally:
        engine.dispose()
    with sqlite3.connect(path) as conn:  # fold the WAL into the file so one file is the whole cache
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "samples": float(result.inserted),
        "load_s": round(load_s, 2),
        "load_rate_per_s": round(result.inserted / load_s),
        "rebuild_s": round(rebuild_s, 2),
    }


def _timed(fn: Any, reps: int) -> tuple[list[float], Any]:
    times: list[float] = []
    out = None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return times, out


def _p95(times: list[float]) -> float:
    return round(float(np.percentile(times, 95)), 2)


def _naive(engine: Engine, t0: int, t1: int, bucket_ms: int) -> int:
    """The obvious way: every raw row through SQLAlchemy, then pandas resampling to min/max."""
    with Session(engine) as session:
        rows = session.execute(
            select(Sample.ts, Sample.value).where(Sample.tag_id == TAG_ID, Sample.ts >= t0, Sample.ts <= t1)
        ).all()
    frame = pd.DataFrame(rows, columns=["ts", "value"])
    frame.index = pd.to_datetime(frame["ts"], unit="ms")
    agg = frame["value"].resample(f"{max(1, bucket_ms)}ms").agg(["min", "max"]).dropna()
    return 2 * len(agg)


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench trend")
    parser.add_argument("--quick", action="store_true", help="3 days of history instead of 30")
    _smoke.add_flag(parser)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--naive-reps", type=int, default=None, help="naive queries measured (default 3)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cache", action="store_true", help="rebuild the history even if cached")
    args = parser.parse_args(argv)
    days = args.days or (1 if args.smoke else 3 if args.quick else 30)
    reps = args.reps or (2 if args.smoke else 10 if args.quick else 30)
    naive_reps = args.naive_reps or (1 if args.smoke else 3)

    cached = None
    if not args.smoke:  # a smoke run neither reads nor writes the cache
        key = hashlib.sha256(f"v{BUILD_VERSION}-days{days}-seed{args.seed}-1hz".encode()).hexdigest()[:12]
        cached = get_settings().var_dir / "bench" / f"trend-{key}.db"
    figures: dict[str, Any] = {"days": days, "width_px": WIDTH_PX, "reps": reps}

    with tempfile.TemporaryDirectory(prefix="sw-bench-trend-") as tmp:
        db = Path(tmp) / "trend.db"
        if cached is not None and cached.exists() and not args.no_cache:
            shutil.copyfile(cached, db)
            figures["cache"] = "hit"
        else:
            figures["build"] = _build(db, days, args.seed)
            figures["cache"] = "none"
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db, cached.with_suffix(".tmp"))
                cached.with_suffix(".tmp").replace(cached)
                figures["cache"] = "built"
        url = f"sqlite:///{db}"
        migrate(url)  # no-op when current; keeps an old cache usable after a new migration
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                count = select(func.count()).select_from(Sample).where(Sample.tag_id == TAG_ID)
                figures["samples"] = int(session.scalar(count) or 0)
            t_end = START_MS + days * DAY_MS - 1
            ranges = {name: ms for name, ms in RANGES_MS.items() if ms < days * DAY_MS}
            ranges[f"{days}d"] = days * DAY_MS
            per_range: dict[str, Any] = {}
            for name, span in ranges.items():
                t0 = t_end - span + 1

                def query(t0: int = t0) -> Any:
                    with Session(engine) as session:
                        return trend(session, TAG_ID, t0, t_end, WIDTH_PX)

                _timed(query, 2)  # warm the page cache and the statement cache
                times, result = _timed(query, reps)
                per_range[name] = {
                    "p95_ms": _p95(times),
                    "median_ms": round(float(np.median(times)), 2),
                    "points": len(result.ts),
                    "source": result.source,
                    "bucket_ms": result.bucket_ms,
                    "gaps": len(result.gaps),
                }
            whole = per_range[f"{days}d"]
            t0 = t_end - days * DAY_MS + 1
            naive_times, naive_points = _timed(lambda: _naive(engine, t0, t_end, whole["bucket_ms"]), naive_reps)
        finally:
            engine.dispose()

    figures.update(
        {
            "p95_ms": whole["p95_ms"],
            "points": whole["points"],
            "source": whole["source"],
            "naive_p95_ms": _p95(naive_times),
            "naive_points": naive_points,
            "speedup": round(_p95(naive_times) / max(whole["p95_ms"], 1e-6), 1),
            "ranges": per_range,
            "sqlite_version": sqlite3.sqlite_version,
        }
    )
    return _smoke.mark(figures, args.smoke)
