"""Alarm benchmark: the engine on a 10,000 samples/s stream, and all alarm KPIs over a month of journal.

    python -m bench alarms            60 s of stream, 30 days / 200,000 transitions, 30 s of service
    python -m bench alarms --quick    10 s of stream, the same month (cached), 10 s of service
    python -m bench alarms --smoke    0.2 s of stream, 2 days / about 6,000 transitions (not cached), 2 s of
                                      service: checks that it runs, not a measurement

A synthetic plant of 380 tags in 4 areas, each with HH/H/L/LL limits, 100 of them with a rate-of-change
alarm, and a quality alarm each: 2,000 alarm definitions.

``engine_values_per_s``: one thread (one core) runs :meth:`engine.alarms.AlarmEngine.process` over a
pre-built stream of 10,000 samples per second (Ornstein-Uhlenbeck values that cross their limits now and
then, 0.05 % bad quality, a few NaN), median of 3 runs with a fresh engine each. ``realtime_factor`` is
that rate over the 10,000/s offered.

``kpi_month_ms``: :func:`store.alarm_kpi.alarm_kpis` over 30 days of journal (200,000 transitions, made by
the engine from excursions, operator acknowledgements and shelves, 6 floods of 250 alarms, 15 chattering
alarms, 5 standing alarms) on SQLite - built once through ``store.alarms.apply_batch`` and cached under
``var/bench/`` - warm, median of ``--reps`` runs; ``kpi_month_ms_pg`` the same on PostgreSQL when the
server is reachable (``--pg DSN``, default as the tests use; a scratch database, dropped afterwards).

``service_step_ms_p50``/``_p95``: the whole :class:`services.alarms.AlarmService` step (samples with the
30 s lookback, events, commands, tick, write) on SQLite while 10,000 samples/s are written beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import math
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from bench import _smoke
from engine.alarms import ACK, SHELVE, AlarmEngine
from engine.types import BAD_NO_COMMUNICATION, GOOD, SampleIn
from plant.schema import Plant
from settings import get_settings
from store.alarm_kpi import alarm_kpis
from store.alarms import apply_batch
from store.db import make_engine, migrate, session_scope
from store.models import AlarmJournal
from store.samples import write_samples
from store.tags import sync_tags

logger = logging.getLogger(__name__)

BUILD_VERSION = 3  # bump when the generated journal changes
N_TAGS = 380
N_ROC = 100
N_STANDING = 5
AREAS = ("smelting", "converting", "acid", "tankhouse")
RATE = 10_000  # samples per second offered
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TARGET_TRANSITIONS = 200_000
PG_ADMIN_DSN = os.environ.get("SW_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def bench_plant() -> Plant:
    """2,000 alarm definitions: 380 tags x (HH, H, L, LL, BAD) + 100 ROC."""
    zones = []
    for i, area in enumerate(AREAS):
        x0 = 10 + i * 240
        zones.append(
            {
                "id": f"{area}-zone",
                "name": area,
                "area": area,
                "polygon": [[x0, 10], [x0 + 200, 10], [x0 + 200, 200], [x0, 200]],
                "height_m": 10,
                "lec": {"l": 1, "e": 6, "c": 15},
            }
        )
    tags = []
    for i in range(N_TAGS):
        tid = f"B.T{i:03d}"
        tag: dict[str, Any] = {
            "id": tid,
            "node_id": f"ns=2;s={tid}",
            "endpoint": "dcs",
            "kind": "process",
            "unit": "%",
            "nominal": 50,
            "range": [0, 100],
            "limits": {"ll": 10, "l": 20, "h": 80, "hh": 90},
            "zone": zones[i % len(zones)]["id"],
        }
        if i < N_ROC:
            tag["alarm"] = {"roc_per_min": 60}
        tags.append(tag)
    return Plant.model_validate(
        {
            "schema_version": 1,
            "site": {
                "name": "Alarm bench",
                "timezone": "UTC",
                "width_m": 1000,
                "depth_m": 300,
                "shifts": [{"id": "D", "start": "00:00", "hours": 24}],
            },
            "endpoints": [{"id": "dcs", "name": "DCS", "url": "opc.tcp://127.0.0.1:4840"}],
            "areas": [{"id": a, "name": a} for a in AREAS],
            "zones": zones,
            "tags": tags,
        }
    )


# ------------------------------------------------------------------------------------------------ engine


def stream(seconds: float, seed: int) -> list[tuple[str, int, float | None, int]]:
    """``seconds`` of 10,000 samples/s over the bench tags, in time order."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    per_tag = -(-n // N_TAGS)
    theta, sigma = 0.02, 3.0  # stationary sd about 15: H (80) and L (20) are 2 sd away
    x = np.full(N_TAGS, 50.0)
    values = np.empty((per_tag, N_TAGS))
    noise = rng.normal(0.0, sigma, (per_tag, N_TAGS))
    for k in range(per_tag):
        x = x + theta * (50.0 - x) + noise[k]
        values[k] = x
    flat = values.reshape(-1)[:n]
    bad = rng.random(n) < 5e-4
    nan = rng.random(n) < 1e-4
    names = [f"B.T{i:03d}" for i in range(N_TAGS)]
    out: list[tuple[str, int, float | None, int]] = []
    for k, (v, b, m) in enumerate(zip(flat.round(2).tolist(), bad.tolist(), nan.tolist(), strict=True)):
        ts = START_MS + k * 1000 // RATE
        if b:
            out.append((names[k % N_TAGS], ts, None, BAD_NO_COMMUNICATION))
        else:
            out.append((names[k % N_TAGS], ts, math.nan if m else v, GOOD))
    return out


def engine_rate(plant: Plant, samples: list[tuple[str, int, float | None, int]], runs: int) -> dict[str, Any]:
    rates, transitions = [], 0
    for _ in range(runs):
        eng = AlarmEngine(plant)
        t = time.perf_counter()
        eng.process_many(samples)
        eng.tick(samples[-1][1])
        elapsed = time.perf_counter() - t
        rates.append(len(samples) / elapsed)
        transitions = len(eng.drain().transitions)
    return {
        "engine_values_per_s": round(statistics.median(rates)),
        "engine_runs_values_per_s": [round(r) for r in rates],
        "engine_transitions": transitions,
        "stream_values": len(samples),
    }


# ------------------------------------------------------------------------------------------------ journal


def _month_events(plant: Plant, days: int, seed: int, excursions: int) -> list[tuple[int, int, str, Any]]:
    """(ts, order, kind, payload) for a month: excursions, acks, shelves, floods, chattering, standing."""
    rng = np.random.default_rng(seed)
    span = days * DAY_MS
    names = [t.id for t in plant.tags]
    ev: list[tuple[int, int, str, Any]] = []

    def excursion(tag: str, t0: int, dur: int, level: float, ack_after: int | None) -> None:
        ev.append((t0, 1, "value", (tag, level)))
        ev.append((t0 + dur, 1, "value", (tag, 50.0)))
        if ack_after is not None:
            ev.append((t0 + ack_after, 2, "ack", tag))

    starts = rng.integers(0, span - 3_600_000, excursions)
    durs = (rng.exponential(600_000, excursions) + 5_000).astype(np.int64)
    levels = rng.choice([85.0, 95.0, 15.0, 5.0], excursions, p=[0.55, 0.15, 0.22, 0.08])
    acked = rng.random(excursions) < 0.6
    ack_after = rng.integers(20_000, 1_200_000, excursions)
    tags = rng.integers(N_ROC, N_TAGS - N_STANDING, excursions)  # ROC-free tags (values jump), not standing
    for i in range(excursions):
        excursion(
            names[int(tags[i])],
            START_MS + int(starts[i]),
            int(durs[i]),
            float(levels[i]),
            int(ack_after[i]) if acked[i] else None,
        )
    for f in range(6):  # floods: 250 tags above H within 10 minutes, back after half an hour
        t0 = START_MS + int((f + 0.5) * span / 6)
        for j, k in enumerate(rng.choice(N_TAGS - N_STANDING, 250, replace=False).tolist()):
            excursion(names[k], t0 + j * 2_400, 1_800_000, 85.0, 900_000)
    for c in range(15):  # chattering: above/below H every 10 s for 2 minutes, 10 times a month
        for _ in range(10):
            t0 = START_MS + int(rng.integers(0, span - 600_000))
            for s in range(12):
                ev.append((t0 + s * 10_000, 1, "value", (names[N_ROC + c], 85.0 if s % 2 == 0 else 50.0)))
    for s in range(N_STANDING):  # standing alarms: high from the first hour, never back
        ev.append((START_MS + s * 60_000, 1, "value", (names[N_TAGS - 1 - s], 85.0)))
    for _ in range(10):  # shelves
        ev.append((START_MS + int(rng.integers(0, span)), 3, "shelve", names[int(rng.integers(0, N_TAGS))]))
    ev.sort(key=lambda e: (e[0], e[1]))
    return ev


def _run_month(
    plant: Plant, events: list[tuple[int, int, str, Any]], days: int, sink: Any | None = None
) -> tuple[int, AlarmEngine]:
    """Feed the month to an engine hour by hour; ``sink(batch)`` receives each hour's drain."""
    eng = AlarmEngine(plant)
    last_ts: dict[str, int] = {}
    total = 0
    hour = START_MS + 3_600_000
    for ts, _order, kind, payload in [*events, (START_MS + days * DAY_MS, 9, "end", None)]:
        while ts >= hour:
            eng.tick(hour)
            batch = eng.drain()
            total += len(batch.transitions)
            if sink is not None and batch:
                sink(batch)
            hour += 3_600_000
        if kind == "value":
            tag, value = payload
            t = max(ts, last_ts.get(tag, 0) + 1)  # one sample per tag and millisecond
            last_ts[tag] = t
            eng.process(tag, t, value, GOOD)
        elif kind == "ack":
            for cond in ("HH", "H", "L", "LL"):
                view = eng.get(f"{payload}:{cond}")
                if view is not None and not view.acked:
                    eng.command(ACK, view.id, ts, "op1", comment="seen")
        elif kind == "shelve":
            eng.command(SHELVE, f"{payload}:H", ts, "op2", comment="nuisance", duration_s=4 * 3600)
    batch = eng.drain()
    total += len(batch.transitions)
    if sink is not None and batch:
        sink(batch)
    return total, eng


def month_events(
    plant: Plant, days: int, seed: int, target: int = TARGET_TRANSITIONS
) -> list[tuple[int, int, str, Any]]:
    """Scale the number of excursions so the month has about ``target`` (200,000) transitions (never fewer
    than the floods, chattering and standing alarms make on their own)."""
    probe = max(100, target // 10)
    fixed, _ = _run_month(plant, _month_events(plant, days, seed, 0), days)
    with_probe, _ = _run_month(plant, _month_events(plant, days, seed, probe), days)
    per = (with_probe - fixed) / probe
    n = max(0, round((target - fixed) / per))
    got, _ = _run_month(plant, _month_events(plant, days, seed, n), days)  # overlaps: correct once more
    n = max(0, round(n * (target - fixed) / max(got - fixed, 1) * 1.002))
    return _month_events(plant, days, seed, n)


def build_journal(url: str, plant: Plant, events: list[tuple[int, int, str, Any]], days: int) -> dict[str, Any]:
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            sync_tags(session, plant)
        t = time.perf_counter()

        def sink(batch: Any) -> None:
            with session_scope(engine) as session:
                apply_batch(session, batch)

        total, _ = _run_month(plant, events, days, sink)
        build_s = time.perf_counter() - t
        with session_scope(engine) as session:
            rows = int(session.scalar(select(func.count()).select_from(AlarmJournal)) or 0)
        if engine.dialect.name == "postgresql":
            # A month-old table has been analyzed by autovacuum long ago; a freshly loaded one not yet.
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return {"journal_rows": rows, "transitions": total, "build_s": round(build_s, 1)}


def time_kpis(url: str, days: int, reps: int) -> dict[str, Any]:
    engine = make_engine(url)
    end = START_MS + days * DAY_MS
    try:

        def once() -> Any:
            with session_scope(engine) as session:
                return alarm_kpis(session, START_MS, end, end)

        once()  # warm the caches
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            k = once()
            times.append((time.perf_counter() - t) * 1000)
        with session_scope(engine) as session:
            t = time.perf_counter()
            alarm_kpis(session, START_MS, end, end, area=AREAS[0])
            area_ms = (time.perf_counter() - t) * 1000
    finally:
        engine.dispose()
    return {
        "ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "area_ms": round(area_ms, 1),
        "total": k.total,
        "floods": len(k.floods),
        "chattering": len(k.chattering),
        "standing": len(k.standing),
        "shelved": len(k.shelved),
        "peak_per_10min": k.peak_per_10min,
        "priority_counts": {p.priority: p.count for p in k.priority_counts},
    }


@contextlib.contextmanager
def pg_database(dsn: str) -> Iterator[str | None]:
    """A scratch PostgreSQL database, dropped afterwards; None when the server is not reachable."""
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3, autocommit=True) as conn:
            name = f"sw_bench_alarms_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        logger.warning("PostgreSQL not reachable (%s); SQLite only", exc)
        yield None
        return
    params = dict(p.split("=", 1) for p in dsn.split())
    try:
        yield f"postgresql+psycopg://{params.get('user', 'postgres')}@{params['host']}:{params['port']}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------------------ service


def service_steps(plant: Plant, seconds: int, seed: int, tmp: Path) -> dict[str, Any]:
    """The alarm service stepping once per second while 10,000 samples/s are written (SQLite)."""
    from services.alarms import AlarmService

    url = f"sqlite:///{tmp / 'service.db'}"
    migrate(url)
    engine: Engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            ids = sync_tags(session, plant)
        samples = stream(seconds, seed + 1)
        service = AlarmService(plant, engine)
        service.step(START_MS)
        times = []
        for sec in range(seconds):
            t0, t1 = START_MS + sec * 1000, START_MS + (sec + 1) * 1000
            chunk = [SampleIn(ids[n], ts, v, q) for n, ts, v, q in samples[sec * RATE : (sec + 1) * RATE]]
            assert chunk and chunk[0].ts >= t0
            with session_scope(engine) as session:
                write_samples(session, chunk)
            t = time.perf_counter()
            service.step(t1 + 500)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        engine.dispose()
    return {
        "service_step_ms_p50": round(float(np.percentile(times, 50)), 1),
        "service_step_ms_p95": round(float(np.percentile(times, 95)), 1),
        "service_samples": service.stats["samples"],
        "service_transitions": service.stats["transitions"],
    }


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench alarms")
    parser.add_argument("--quick", action="store_true", help="10 s of stream and of service")
    _smoke.add_flag(parser)
    parser.add_argument("--seconds", type=float, default=None, help="seconds of 10,000/s stream for the engine")
    parser.add_argument("--days", type=int, default=None, help="days of journal (default 30, smoke 2)")
    parser.add_argument("--reps", type=int, default=None, help="KPI runs measured (default 7, smoke 1)")
    parser.add_argument("--service-seconds", type=int, default=None)
    parser.add_argument("--pg", default=PG_ADMIN_DSN, help="admin DSN of a PostgreSQL server ('' to skip)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    smoke = args.smoke
    seconds = args.seconds or (0.2 if smoke else 10 if args.quick else 60)
    service_seconds = (
        args.service_seconds if args.service_seconds is not None else (2 if smoke else 10 if args.quick else 30)
    )
    days = args.days or (2 if smoke else 30)
    reps = args.reps or (1 if smoke else 7)
    target = 6_000 if smoke else TARGET_TRANSITIONS

    plant = bench_plant()
    figures: dict[str, Any] = {"definitions": len(AlarmEngine(plant).definitions), "stream_rate_per_s": RATE}
    samples = stream(seconds, args.seed)
    figures.update(engine_rate(plant, samples, 3))
    figures["realtime_factor"] = round(figures["engine_values_per_s"] / RATE, 1)
    del samples

    events: list[tuple[int, int, str, Any]] | None = None
    with tempfile.TemporaryDirectory(prefix="sw-bench-alarms-") as tmp_dir:
        tmp = Path(tmp_dir)
        db = tmp / "journal.db"
        # a smoke run neither reads nor writes the cache: its journal is built in the temporary directory
        cached = None if smoke else _cache_file(days, args.seed)
        if cached is not None and cached.exists() and not args.no_cache:
            shutil.copyfile(cached, db)
            figures["cache"] = "hit"
        else:
            events = month_events(plant, days, args.seed, target)
            figures["build"] = build_journal(f"sqlite:///{db}", plant, events, days)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db, cached.with_suffix(".tmp"))
                cached.with_suffix(".tmp").replace(cached)
                figures["cache"] = "built"
            else:
                figures["cache"] = "none"
        url = f"sqlite:///{db}"
        migrate(url)
        engine = make_engine(url)
        with session_scope(engine) as session:
            figures["journal_rows"] = int(session.scalar(select(func.count()).select_from(AlarmJournal)) or 0)
        engine.dispose()
        sqlite_kpis = time_kpis(url, days, reps)
        figures["kpi_month_ms"] = sqlite_kpis.pop("ms")
        figures["kpi_sqlite"] = sqlite_kpis
        if args.pg:
            with pg_database(args.pg) as pg_url:
                if pg_url is not None:
                    if events is None:
                        events = month_events(plant, days, args.seed, target)
                    figures["build_pg"] = build_journal(pg_url, plant, events, days)
                    pg_kpis = time_kpis(pg_url, days, reps)
                    figures["kpi_month_ms_pg"] = pg_kpis.pop("ms")
                    figures["kpi_pg"] = pg_kpis
        if service_seconds > 0:
            figures.update(service_steps(plant, service_seconds, args.seed, tmp))
    figures["targets"] = {
        "engine_values_per_s": ">= 50000",
        "kpi_month_ms": "< 1000",
        "met": figures["engine_values_per_s"] >= 50_000
        and figures["kpi_month_ms"] < 1000
        and figures.get("kpi_month_ms_pg", 0) < 1000,
    }
    figures["days"] = days
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return _smoke.mark(figures, smoke)


def _cache_file(days: int, seed: int) -> Path:
    key = hashlib.sha256(f"v{BUILD_VERSION}-days{days}-seed{seed}".encode()).hexdigest()[:12]
    return get_settings().var_dir / "bench" / f"alarms-{key}.db"
