"""Disk that the demo plant's history takes, after compression, thinning and retention: a year projected.

    python -m bench storage             6 simulated hours on SQLite, 2 on PostgreSQL
    python -m bench storage --quick     2 hours on SQLite, 1 on PostgreSQL
    python -m bench storage --smoke     2 simulated minutes, compressed after 1 minute: checks that it runs
    python -m bench storage --hours H --pg-hours H2 [--pg DSN | --pg '']
    python -m bench storage --hours 6 --pg-hours 0 --start-hour 12   20:00-02:00 at the plant (evening, night)

Method. The simulator's own model of the demo plant (``simulator.model.SmelterModel``, the plant file
``plant/demo_smelter.yaml``) is stepped every simulated second, as the live simulator publishes, from a fixed
start; every changed value becomes a sample and every badge fix a position, as a collector would store them.
Every 10 simulated seconds they are written the way the collectors' writer writes them: samples through
``store.samples.write_samples`` (raw rows and both rollups, one transaction), positions thinned by
``engine.thinning.PositionThinning`` (the settings' defaults) through ``store.positions.write_positions``.
Every simulated hour the compaction pass runs (``store.compaction.compact`` and ``compact_positions``, the plant
file's deviations) over what is older than ``storage.compact_after_minutes``, as the services process does.
Nothing is skipped or sped up but the clock.

A last pass then compresses the final hour too, as the next passes would. Each table's bytes are measured
(SQLite: ``dbstat``, pages of the table and its indexes; PostgreSQL: ``pg_total_relation_size`` of the table,
its partitions, indexes and TOAST, after ``VACUUM FULL``: the live rows, as autovacuum keeps a steady table near
them; the size before is reported too). Per simulated day: the rows of each table over the run's length, at the
table's bytes per row. The year is then ``retention days x (samples + positions per day) + 365 x hour rollups
per day + kept days x minute rollups per day`` with the settings' retention (90 days of raw samples and
positions), once with minute rollups kept for the whole year and once with them kept 90 days
(``SW_RETENTION_ROLLUP_1M_DAYS=90``). Events, alarms and the
audit are left out (kilobytes a day in the demo). ``year_gb_uncompressed`` is the same year had every sample
been kept raw (the rows written, at the same bytes per row).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

from bench import _smoke
from bench.alarms import PG_ADMIN_DSN, pg_database
from engine.thinning import PositionThinning
from engine.types import GOOD, PositionIn, SampleIn
from plant.loader import load_plant
from plant.schema import CUMULATIVE_KINDS, Plant, TagKind
from services.compaction import regions_of
from settings import ROOT, Settings
from simulator.model import SmelterModel
from store.compaction import compact, compact_positions, incremental_vacuum
from store.db import make_engine, migrate, session_scope
from store.models import Position, Rollup1h, Rollup1m, Sample
from store.partitions import ensure_partitions
from store.positions import write_positions
from store.samples import write_samples
from store.tags import sync_tags

logger = logging.getLogger(__name__)

PLANT = ROOT / "plant" / "demo_smelter.yaml"
START_MS = 1_780_272_000_000  # 1 June 2026 00:00 UTC: a fixed start, the figures do not move with the day
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
STEP_MS = 1000
WRITE_EVERY_MS = 10_000
OFF_SITE_QUALITY = 0x40900000  # as simulator.backfill: the live server's status of a badge out of coverage
TABLES = {"sample": Sample, "position": Position, "rollup_1m": Rollup1m, "rollup_1h": Rollup1h}
GB = 1e9


def _bytes_sqlite(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").all()
        index_of = dict(conn.exec_driver_sql("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'").all())
    out: dict[str, int] = {}
    for name, size in rows:
        table = index_of.get(name, name)
        out[table] = out.get(table, 0) + int(size)
    return out


def _bytes_pg(engine: Engine) -> dict[str, int]:
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for table in TABLES:  # a partitioned table is the sum of its partitions (the parent holds nothing)
            size = conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                    "FROM pg_partition_tree(CAST(:t AS regclass))"
                ),
                {"t": table},
            ).scalar()
            out[table] = int(size or 0) or int(
                conn.execute(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}).scalar() or 0
            )
    return out


def simulate(
    url: str,
    plant: Plant,
    hours: float,
    *,
    after_ms: int,
    seed: int = 7,
    min_distance_m: float | None = None,
    start_hour: float = 0.0,
) -> dict[str, Any]:
    """Run ``hours`` of the demo plant through ingest, thinning, rollups and compaction into ``url``
    (``min_distance_m``: the position thinning's distance instead of the settings')."""
    migrate(url)
    engine = make_engine(url)
    start_ms = START_MS + round(start_hour * HOUR_MS)
    ensure_partitions(engine, start_ms)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    tag_id = {t.id: ids[t.id] for t in plant.tags if t.kind != TagKind.POSITION and t.id in ids}
    pos_badge = {t.id: t.badge for t in plant.tags if t.kind == TagKind.POSITION and t.badge}
    devs = {ids[t.id]: d for t in plant.tags if (d := plant.storage.deviation(t)) is not None and t.id in ids}
    max_gap_ms = round(plant.storage.max_gap_s * 1000)
    max_span_ms = round(plant.storage.max_span_minutes * 60_000)
    pos_dev = plant.storage.position_deviation_m
    pos_span_ms = round(plant.storage.position_max_span_s * 1000)
    regions = regions_of(plant)
    badges = sorted(set(pos_badge.values()))

    counters = (
        [ids[t.id] for t in plant.tags if t.kind in CUMULATIVE_KINDS and t.id in ids]
        if plant.storage.counters == "minute"
        else []
    )

    def compact_all(upto: int) -> tuple[int, int]:
        r = compact(engine, devs, upto, max_gap_ms=max_gap_ms, max_span_ms=max_span_ms, budget_s=1e9, counters=counters)
        if pos_dev is None:
            return r.deleted, 0
        rp = compact_positions(
            engine, badges, pos_dev, upto, regions, max_gap_ms=max_gap_ms, max_span_ms=pos_span_ms, budget_s=1e9
        )
        return r.deleted, rp.deleted

    settings = Settings()
    distance = settings.position_min_distance_m if min_distance_m is None else min_distance_m
    thinning = PositionThinning(distance, round(settings.position_max_interval_s * 1000))
    model = SmelterModel(plant, seed=seed, start_ms=start_ms)
    end = start_ms + round(hours * HOUR_MS)
    t = start_ms
    values = model.initial_values()
    samples: list[SampleIn] = []
    positions: list[PositionIn] = []
    written = 0
    ingest_s = compact_s = model_s = 0.0
    compacted = positions_compacted = 0
    positions_thinned = 0
    next_compaction = start_ms + HOUR_MS
    while True:
        for name, v in values.items():
            tid = tag_id.get(name)
            if tid is not None:
                q = model.status(name) if name in model.maint_incidents else GOOD
                samples.append(SampleIn(tid, t, None if q else float(v), q))  # type: ignore[arg-type]
            elif name in pos_badge:
                x, y, floor = v  # type: ignore[misc]
                q = OFF_SITE_QUALITY if model.off_site(name) else GOOD
                positions.append(PositionIn(pos_badge[name], t, x, y, int(floor), q))
        t += STEP_MS
        if t % WRITE_EVERY_MS == 0 or t > end:
            w0 = time.perf_counter()
            with session_scope(engine) as session:
                result = write_samples(session, samples)
                kept = thinning.filter(positions)
                positions_thinned += len(kept)
                write_positions(session, positions, kept)
            ingest_s += time.perf_counter() - w0
            written += result.inserted
            samples, positions = [], []
        if t >= next_compaction or t > end:
            c0 = time.perf_counter()
            d_samples, d_positions = compact_all(t - after_ms)
            compact_s += time.perf_counter() - c0
            compacted += d_samples
            positions_compacted += d_positions
            next_compaction += HOUR_MS
        if t > end:
            break
        m0 = time.perf_counter()
        values = model.step(t)
        model_s += time.perf_counter() - m0
    # the last hour as the next passes will leave it: everything settled and compressed
    c0 = time.perf_counter()
    d_samples, d_positions = compact_all(end + 1)
    compact_s += time.perf_counter() - c0
    compacted += d_samples
    positions_compacted += d_positions
    incremental_vacuum(engine, min_free_fraction=0.0, max_pages=10**9)
    bloated: dict[str, int] = {}
    if engine.dialect.name == "sqlite":
        sizes = _bytes_sqlite(engine)
    else:
        # MVCC leaves the old versions of every rollup update and compacted sample behind until autovacuum
        # reuses them: the size before is reported, the live size after VACUUM FULL is the one projected
        bloated = _bytes_pg(engine)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM FULL sample, position, rollup_1m, rollup_1h"
            )
        sizes = _bytes_pg(engine)
    with session_scope(engine) as session:
        rows = {name: int(session.scalar(select(func.count()).select_from(m)) or 0) for name, m in TABLES.items()}
    engine.dispose()
    days = hours / 24
    bpr = {name: sizes.get(name, 0) / rows[name] if rows[name] else 0.0 for name in TABLES}
    per_day = {name: rows[name] / days for name in TABLES}
    raw_per_day = written / days
    bytes_day = {name: per_day[name] * bpr[name] for name in TABLES}
    raw_days = settings.retention_samples_days or 365
    pos_days = settings.retention_positions_days or 365

    def year(r1m_days: float, sample_bytes_day: float) -> float:
        return (
            raw_days * sample_bytes_day
            + pos_days * bytes_day["position"]
            + 365 * bytes_day["rollup_1h"]
            + min(365.0, r1m_days) * bytes_day["rollup_1m"]
        ) / GB

    return {
        "hours": hours,
        "start_utc_hour": start_hour,
        "position_min_distance_m": distance,
        "samples_written": written,
        "samples_removed_by_compaction": compacted,
        "counters": plant.storage.counters,
        "position_deviation_m": pos_dev,
        "positions_after_thinning": positions_thinned,
        "positions_removed_by_compaction": positions_compacted,
        "rows": rows,
        "bytes": {name: sizes.get(name, 0) for name in TABLES},
        "bytes_before_vacuum_full": bloated,
        "bytes_per_row": {k: round(v, 1) for k, v in bpr.items()},
        "rows_per_day": {k: round(v) for k, v in per_day.items()},
        "samples_per_s_received": round(raw_per_day / 86400, 1),
        "samples_per_s_stored": round(per_day["sample"] / 86400, 1),
        "positions_per_s_stored": round(per_day["position"] / 86400, 1),
        "compression_ratio": round(raw_per_day / per_day["sample"], 2) if per_day["sample"] else None,
        "mb_per_day": {k: round(v / 1e6, 1) for k, v in bytes_day.items()},
        "year_gb_rollup_1m_kept": round(year(365, bytes_day["sample"]), 1),
        "year_gb_rollup_1m_90_days": round(year(90, bytes_day["sample"]), 1),
        "year_gb_rollup_1m_30_days": round(year(30, bytes_day["sample"]), 1),
        "year_gb_uncompressed": round(year(365, raw_per_day * bpr["sample"]), 1),
        "retention_days": {"samples": raw_days, "positions": pos_days},
        "ingest_s": round(ingest_s, 1),
        "compaction_s": round(compact_s, 1),
        "model_s": round(model_s, 1),
    }


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench storage", description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", type=float, default=6.0, help="simulated hours on SQLite")
    p.add_argument("--pg-hours", type=float, default=2.0, help="simulated hours on PostgreSQL (0: none)")
    p.add_argument("--pg", default=PG_ADMIN_DSN, help="admin DSN of a PostgreSQL server ('' to skip)")
    p.add_argument("--quick", action="store_true", help="2 hours on SQLite, 1 on PostgreSQL")
    p.add_argument(
        "--start-hour", type=float, default=0.0, help="UTC hour of 1 June 2026 to start at (0: 08:00 at the plant)"
    )
    p.add_argument("--position-min-distance-m", type=float, default=None, help="thinning distance (default: settings)")
    _smoke.add_flag(p)
    args = p.parse_args(argv)
    plant = load_plant(PLANT)
    after_ms = round(plant.storage.compact_after_minutes * 60_000)
    hours, pg_hours = args.hours, args.pg_hours
    if args.quick:
        hours, pg_hours = 2.0, 1.0
    if args.smoke:
        hours, pg_hours, after_ms = 0.03, 0.03, 60_000
    distance = args.position_min_distance_m
    figures: dict[str, Any] = {"plant": PLANT.name, "target_year_gb": 20}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = simulate(
            f"sqlite:///{Path(tmp) / 'storage.db'}",
            plant,
            hours,
            after_ms=after_ms,
            min_distance_m=distance,
            start_hour=args.start_hour,
        )
    if args.pg and pg_hours > 0:
        with pg_database(args.pg) as pg_url:
            if pg_url is not None:
                figures["postgresql"] = simulate(
                    pg_url, plant, pg_hours, after_ms=after_ms, min_distance_m=distance, start_hour=args.start_hour
                )
    figures["wall_s"] = round(time.perf_counter() - t0, 1)
    return _smoke.mark(figures, args.smoke)
