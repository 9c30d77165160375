"""Personnel benchmark: 2,000 badges at 1 Hz, 100 zones and fences.

    python -m bench personnel            2,000 badges; playback hour and trajectories cached under var/bench/
    python -m bench personnel --quick    500 badges, fewer repetitions (about a minute on a first run)
    python -m bench personnel --smoke    40 badges, 2 minutes of playback and 30 min of trajectory, not cached:
                                         checks that it runs, not a measurement

The plant is generated (:func:`bench_plant`): a 2 x 1.4 km site with 60 zones (octagons, every kind of rule:
forbidden, roles, two-person, hazard, dwell, headcount per shift), 40 fences (8 forbidden, 12 authorized,
10 dwell, 10 speed), a road grid, 120 cameras and 2,000 badges (15 % vehicles, 10 % contractors, 5 %
escorted visitors, the rest employees) with a position and an SOS tag each. Badges move with the
simulator's own :class:`simulator.people.Crowd` on a weekday morning, so all of them are on site, walking
roads, working in zones and breaking rules now and then.

Figures (wall clock; ``*_cpu_p95_ms`` is the process's CPU time for the same calls, which a loaded machine
does not stretch):

- ``rules_p95_ms``: one :meth:`engine.personnel.RulesEngine.evaluate` for all badges and all zones and
  fences, from the list of current positions (as the service reads them) to opened/closed violations;
  ``ticks`` ticks at 1 Hz after a warm-up. Target < 50 ms.
- ``service_step_p95_ms``: one whole :meth:`services.personnel.PersonnelService.step` on a SQLite store
  (read 2,000 current positions and the SOS values, evaluate, write the violation events, commit); the
  positions are written between steps, untimed.
- ``trajectory_p95_ms``: :func:`store.positions.trajectory` for one badge over 8 h at 1 Hz (28,800 rows) from a
  store holding the playback hour of every badge plus 8 h of 1 Hz history for ``trajectory_badges`` of
  them. Target < 100 ms.
- ``page_trajectory_p95_ms``: the same 8 h through :func:`store.people.trajectory`, what the personnel page
  draws (raw positions, or time-bucket means when there are more than 2,000).
- ``playback_payload_bytes``: the compact JSON of :func:`store.people.playback` packed by
  :func:`webapp.live.tracks.pack_playback` for one hour of the whole plant (what the page sends to the
  deck.gl TripsLayer), and its gzip size.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from bench import _smoke
from engine.personnel import RulesEngine
from engine.types import GOOD, UNCERTAIN, PositionIn
from plant.schema import Plant
from services.personnel import PersonnelService
from settings import get_settings
from simulator.incidents import IncidentSchedule
from simulator.people import Crowd
from store.db import make_engine, migrate, session_scope
from store.positions import trajectory, write_positions
from store.tags import sync_tags

logger = logging.getLogger(__name__)

BUILD_VERSION = 1  # bump when the generated history changes
START_MS = int(datetime(2026, 5, 6, 2, 30, tzinfo=UTC).timestamp() * 1000)  # Wednesday 10:30 in the plant
HOUR_MS = 3_600_000
TRAJECTORY_HOURS = 8
W, D = 2000.0, 1400.0
COLS, ROWS = 10, 6  # 60 zones
ROLE_SETS = (
    ["employee"],
    ["employee", "contractor"],
    ["employee", "contractor", "visitor"],
    ["employee", "contractor", "visitor", "driver"],
)
FENCE_KINDS = ["forbidden"] * 8 + ["authorized"] * 12 + ["dwell"] * 10 + ["speed"] * 10


def bench_plant(n_badges: int = 2000, seed: int = 7) -> Plant:
    """A generated plant with 60 zones and 40 fences (see the module docstring)."""
    rng = np.random.default_rng(seed)
    cw, ch = W / COLS, D / ROWS
    zones: list[dict[str, Any]] = []
    cameras: list[dict[str, Any]] = []
    for k in range(COLS * ROWS):
        i, j = k % COLS, k // COLS
        x0, y0, x1, y1 = i * cw + 15, j * ch + 15, (i + 1) * cw - 15, (j + 1) * ch - 15
        c = 12.0
        poly = [[x0 + c, y0], [x1 - c, y0], [x1, y0 + c], [x1, y1 - c], [x1 - c, y1], [x0 + c, y1], [x0, y1 - c]]
        poly.append([x0, y0 + c])
        z: dict[str, Any] = {
            "id": f"Z{k:02d}",
            "name": f"Zone {k}",
            "area": "main",
            "polygon": poly,
            "height_m": 20,
            "lec": {"l": (1, 3, 6)[k % 3], "e": 6, "c": (3, 7, 15, 40)[k % 4]},
            "roles_allowed": ROLE_SETS[k % 4],
            "forbidden": k % 15 == 7,
            "hazard": k % 3 == 0,
            "two_person": k % 5 == 1,
            "headcount": {s: {"min": k % 3, "max": 60} for s in "ABC"},
        }
        if k % 7 == 2:
            z["dwell_limit_s"] = 1800
        zones.append(z)
        for m, (cx, cy, yaw) in enumerate(((x0, y0, 45.0), (x1, y1, -135.0))):
            cameras.append(
                {
                    "id": f"CAM{k:02d}{m}",
                    "name": f"Camera {k}.{m}",
                    "zone": z["id"],
                    "position": [cx, cy, 8],
                    "yaw_deg": yaw,
                    "fov_deg": 70,
                    "range_m": 150,
                }
            )
    roads = [
        {"id": f"RV{i}", "name": f"Road V{i}", "polyline": [[x, 5.0], [x, D - 5]], "width_m": 10}
        for i, x in enumerate(min(max(i * cw, 5.0), W - 5) for i in range(COLS + 1))
    ]
    roads += [
        {"id": f"RH{j}", "name": f"Road H{j}", "polyline": [[5.0, y], [W - 5, y]], "width_m": 10}
        for j, y in enumerate(min(max(j * ch, 5.0), D - 5) for j in range(ROWS + 1))
    ]
    fences: list[dict[str, Any]] = []
    for f, kind in enumerate(FENCE_KINDS):
        if kind == "speed":
            y = ((f % (ROWS - 1)) + 1) * ch
            x0 = (f % COLS) * cw
            poly = [[x0, y - 8], [x0 + cw, y - 8], [x0 + cw, y + 8], [x0, y + 8]]
            fences.append(
                {"id": f"F{f:02d}", "name": f"Speed {f}", "kind": kind, "polygon": poly, "speed_limit_kmh": 20}
            )
            continue
        k = (f * 7 + 3) % (COLS * ROWS)
        cx, cy, r = (k % COLS + 0.5) * cw, (k // COLS + 0.5) * ch, 25.0
        poly = [
            [cx - r, cy - r],
            [cx + r, cy - r],
            [cx + r + 8, cy],
            [cx + r, cy + r],
            [cx - r, cy + r],
            [cx - r - 8, cy],
        ]
        fence: dict[str, Any] = {"id": f"F{f:02d}", "name": f"Fence {f}", "kind": kind, "polygon": poly}
        if kind == "authorized":
            fence["roles_allowed"] = ["employee"]
        elif kind == "dwell":
            fence["dwell_limit_s"] = 600
        fences.append(fence)
    n_vehicles, n_contractors, n_visitors = int(n_badges * 0.15), int(n_badges * 0.10), int(n_badges * 0.05)
    allowed = {
        role: [z["id"] for z in zones if role in z["roles_allowed"] and not z["forbidden"]]
        for role in ("employee", "contractor", "visitor")
    }
    badges: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    for b in range(n_badges):
        bid = f"B{b:04d}"
        if b < n_vehicles:
            kind, role = "vehicle", "driver"
        elif b < n_vehicles + n_contractors:
            kind, role = "person", "contractor"
        elif b < n_vehicles + n_contractors + n_visitors:
            kind, role = "person", "visitor"
        else:
            kind, role = "person", "employee"
        badge: dict[str, Any] = {"id": bid, "name": f"Badge {b}", "kind": kind, "role": role}
        if kind == "vehicle":
            badge["max_speed_mps"] = float(rng.choice([8.0, 10.0, 12.0]))
        pool = allowed["employee" if role == "driver" else role]
        badge["work_zones"] = [str(z) for z in rng.choice(pool, size=2, replace=False)]
        badges.append(badge)
        for what, tag_kind in (("POS", "position"), ("SOS", "sos")):
            tags.append(
                {
                    "id": f"RTLS.{bid}.{what}",
                    "node_id": f"ns=2;s=RTLS.{bid}.{what}",
                    "endpoint": "rtls",
                    "kind": tag_kind,
                    "badge": bid,
                }
            )
    employees = [b["id"] for b in badges if b["role"] == "employee"]
    for b in badges:
        if b["role"] == "visitor":
            b["escort"] = employees[int(rng.integers(len(employees)))]
    raw = {
        "schema_version": 1,
        "site": {
            "name": "Bench plant",
            "timezone": "Asia/Shanghai",
            "width_m": W,
            "depth_m": D,
            "shifts": [
                {"id": "A", "start": "00:00", "hours": 8},
                {"id": "B", "start": "08:00", "hours": 8},
                {"id": "C", "start": "16:00", "hours": 8},
            ],
        },
        "endpoints": [{"id": "rtls", "name": "RTLS", "url": "opc.tcp://127.0.0.1:4841/bench"}],
        "areas": [{"id": "main", "name": "Main"}],
        "zones": zones,
        "roads": roads,
        "gates": [{"id": "G0", "name": "Gate", "position": [cw * 5, 5.0]}],
        "cameras": cameras,
        "badges": badges,
        "fences": fences,
        "tags": tags,
    }
    return Plant.model_validate(raw)


class Movements:
    """The simulator's crowd on the bench plant, read out as store positions once per simulated second."""

    def __init__(self, plant: Plant, start_ms: int, seed: int) -> None:
        self.plant = plant
        self.ids = [b.id for b in plant.badges]
        self.crowd = Crowd(plant, np.random.default_rng(seed), IncidentSchedule([], seed, start_ms), start_ms)

    def at(self, now_ms: int) -> list[PositionIn]:
        self.crowd.step(now_ms)
        return [
            PositionIn(bid, now_ms, round(x, 2), round(y, 2), f, GOOD if self.crowd.on_site(k) else UNCERTAIN)
            for k, (bid, (x, y, f)) in enumerate(zip(self.ids, self.crowd.positions(), strict=True))
        ]


def _p95(times: list[float]) -> float:
    return round(float(np.percentile(times, 95)), 2)


def _median(times: list[float]) -> float:
    return round(float(np.median(times)), 2)


def bench_rules(plant: Plant, ticks: int, seed: int) -> dict[str, Any]:
    moves = Movements(plant, START_MS, seed)
    engine = RulesEngine(plant)
    times: list[float] = []
    cpu: list[float] = []
    opened: Counter[str] = Counter()
    on_site = 0
    for k in range(1, ticks + 31):
        now = START_MS + k * 1000
        positions = moves.at(now)
        t, c = time.perf_counter(), time.process_time()
        tick = engine.evaluate(now + 300, positions)
        if k > 30:  # warm-up: the first seconds open what the start position already breaks
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        opened.update(v.rule for v in tick.opened)
        on_site = tick.on_site
    return {
        "rules_p95_ms": _p95(times),
        "rules_median_ms": _median(times),
        "rules_max_ms": round(max(times), 2),
        "rules_cpu_p95_ms": _p95(cpu),
        "ticks": ticks,
        "badges_on_site": on_site,
        "violations_opened": dict(sorted(opened.items())),
        "violations_active_at_end": len(engine.active),
    }


def bench_service(plant: Plant, steps: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sw-bench-personnel-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        migrate(url)
        engine = make_engine(url)
        try:
            with session_scope(engine) as session:
                sync_tags(session, plant)
            moves = Movements(plant, START_MS, seed + 1)
            service = PersonnelService(plant, engine)
            times: list[float] = []
            for k in range(1, steps + 11):
                now = START_MS + k * 1000
                with session_scope(engine) as session:
                    write_positions(session, moves.at(now))
                t = time.perf_counter()
                service.step(now + 300)
                if k > 10:
                    times.append((time.perf_counter() - t) * 1000)
            return {
                "service_step_p95_ms": _p95(times),
                "service_step_median_ms": _median(times),
                "service_steps": steps,
                "service_events_written": service.opened,
            }
        finally:
            engine.dispose()


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.executemany("INSERT OR IGNORE INTO position (badge, ts, x, y, floor, quality) VALUES (?, ?, ?, ?, ?, ?)", rows)


def build_history(
    path: Path,
    plant: Plant,
    traj_badges: list[str],
    seed: int,
    playback_s: int = 3600,
    trajectory_hours: float = TRAJECTORY_HOURS,
) -> dict[str, Any]:
    """One hour (``playback_s``) of every badge at 1 Hz (the crowd) and 8 h (``trajectory_hours``) at 1 Hz
    for ``traj_badges`` (a random walk before that hour), into a fresh SQLite store at ``path``."""
    url = f"sqlite:///{path}"
    migrate(url)
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        rng = np.random.default_rng(seed)
        history_start = START_MS + playback_s * 1000 - round(trajectory_hours * HOUR_MS)
        n_hist = max(0, (START_MS - history_start) // 1000)
        for bid in traj_badges:
            steps = rng.normal(0.0, 0.6, (n_hist, 2))
            xy = np.cumsum(steps, axis=0) + np.array([W / 2, D / 2])
            xy = np.clip(xy, 1.0, np.array([W - 1, D - 1]))
            ts = history_start + np.arange(n_hist) * 1000
            rows = [
                (bid, int(t), round(float(x), 2), round(float(y), 2), 0, GOOD)
                for t, (x, y) in zip(ts.tolist(), xy, strict=True)
            ]
            _insert(conn, rows)
            conn.commit()
        moves = Movements(plant, START_MS, seed)
        rows = []
        last: dict[str, tuple[Any, ...]] = {}
        for k in range(0, playback_s):
            now = START_MS + k * 1000
            for p in moves.at(now):
                row = (p.badge, p.ts, p.x, p.y, p.floor, p.quality)
                rows.append(row)
                last[p.badge] = row
            if len(rows) >= 200_000:
                _insert(conn, rows)
                conn.commit()
                rows = []
        _insert(conn, rows)
        conn.executemany(
            "INSERT OR REPLACE INTO badge_current (badge, ts, x, y, floor, quality) VALUES (?, ?, ?, ?, ?, ?)",
            list(last.values()),
        )
        conn.commit()
        count = conn.execute("SELECT count(*) FROM position").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {"positions": int(count), "build_s": round(time.perf_counter() - t0, 1)}


def bench_history(
    db: Path,
    plant: Plant,
    traj_badges: list[str],
    reps: int,
    seed: int,
    playback_s: int = 3600,
    trajectory_hours: float = TRAJECTORY_HOURS,
) -> dict[str, Any]:
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    rng = np.random.default_rng(seed)
    end = START_MS + playback_s * 1000 - 1000
    begin = end - round(trajectory_hours * HOUR_MS) + 1000
    try:
        times: list[float] = []
        cpu: list[float] = []
        rows = 0
        for k in range(reps + 2):
            badge = traj_badges[int(rng.integers(len(traj_badges)))]
            with Session(engine) as session:
                t, c = time.perf_counter(), time.process_time()
                track = trajectory(session, badge, begin, end)
                elapsed, spent = (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000
            if k >= 2:  # two warm-up queries
                times.append(elapsed)
                cpu.append(spent)
                rows = len(track)
        figures: dict[str, Any] = {
            "trajectory_p95_ms": _p95(times),
            "trajectory_median_ms": _median(times),
            "trajectory_cpu_p95_ms": _p95(cpu),
            "trajectory_rows": rows,
            "trajectory_reps": reps,
        }
        from store import people
        from webapp.live.tracks import pack_playback

        # what the personnel page asks for: the same 8 h through the access module (at most 2,000 points)
        page: list[float] = []
        points = 0
        for k in range(reps + 2):
            badge = traj_badges[int(rng.integers(len(traj_badges)))]
            with Session(engine) as session:
                t = time.perf_counter()
                tr = people.trajectory(session, plant, badge, begin, end, people.SYSTEM)
                elapsed = (time.perf_counter() - t) * 1000
            if k >= 2:
                page.append(elapsed)
                points = tr.points
        figures.update({"page_trajectory_p95_ms": _p95(page), "page_trajectory_points": points})
        with Session(engine) as session:
            t = time.perf_counter()
            payload = pack_playback(
                people.playback(session, plant, START_MS, START_MS + playback_s * 1000, viewer=people.SYSTEM)
            )
            playback_ms = (time.perf_counter() - t) * 1000
        body = json.dumps(payload, separators=(",", ":")).encode()
        figures.update(
            {
                "playback_payload_bytes": len(body),
                "playback_payload_gzip_bytes": len(gzip.compress(body, 6)),
                "playback_ms": round(playback_ms, 1),
                "playback_badges": len(payload.get("badges", [])),
                "playback_trips": len(payload.get("trips", [])),
                "playback_points": payload.get("points"),
                "playback_step_s": payload.get("step_s"),
            }
        )
        return figures
    finally:
        engine.dispose()


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench personnel")
    parser.add_argument("--quick", action="store_true", help="500 badges and fewer repetitions")
    _smoke.add_flag(parser)
    parser.add_argument("--badges", type=int, default=None)
    parser.add_argument("--ticks", type=int, default=None, help="rule evaluations measured")
    parser.add_argument("--steps", type=int, default=None, help="service steps measured")
    parser.add_argument("--reps", type=int, default=None, help="trajectory queries measured")
    parser.add_argument("--trajectory-badges", type=int, default=None, help="badges with 8 h of history (20)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cache", action="store_true", help="rebuild the position history even if cached")
    args = parser.parse_args(argv)
    smoke = args.smoke
    n = args.badges or (40 if smoke else 500 if args.quick else 2000)
    ticks = args.ticks or (5 if smoke else 60 if args.quick else 300)
    steps = args.steps or (3 if smoke else 20 if args.quick else 60)
    reps = args.reps or (2 if smoke else 10 if args.quick else 30)
    n_traj = args.trajectory_badges or (2 if smoke else 20)
    playback_s, trajectory_hours = (120, 0.5) if smoke else (3600, float(TRAJECTORY_HOURS))
    plant = bench_plant(n, args.seed)
    figures: dict[str, Any] = {
        "badges": n,
        "zones": len(plant.zones),
        "fences": len(plant.fences),
        "zones_and_fences": len(plant.zones) + len(plant.fences),
        "cameras": len(plant.cameras),
    }
    figures.update(bench_rules(plant, ticks, args.seed))
    figures.update(bench_service(plant, steps, args.seed))
    people = [b.id for b in plant.badges if b.kind == "person"]
    traj_badges = people[: max(1, n_traj)]
    cached = None
    if not smoke:  # a smoke run neither reads nor writes the cache
        key = f"v{BUILD_VERSION}-n{n}-t{len(traj_badges)}-seed{args.seed}"
        cached = get_settings().var_dir / "bench" / f"personnel-{hashlib.sha256(key.encode()).hexdigest()[:12]}.db"
    with tempfile.TemporaryDirectory(prefix="sw-bench-personnel-") as tmp:
        db = Path(tmp) / "history.db"
        if cached is not None and cached.exists() and not args.no_cache:
            shutil.copyfile(cached, db)
            figures["cache"] = "hit"
        else:
            figures["build"] = build_history(db, plant, traj_badges, args.seed, playback_s, trajectory_hours)
            figures["cache"] = "none"
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db, cached.with_suffix(".tmp"))
                cached.with_suffix(".tmp").replace(cached)
                figures["cache"] = "built"
        migrate(f"sqlite:///{db}")  # no-op when current
        figures.update(bench_history(db, plant, traj_badges, reps, args.seed, playback_s, trajectory_hours))
    figures["playback_s"] = playback_s
    figures["trajectory_hours"] = trajectory_hours
    figures["sqlite_version"] = sqlite3.sqlite_version
    return _smoke.mark(figures, smoke)
