"""Incident replay benchmark (issue 17): a 60-minute window of the demo plant read once, seek, 10x playback.

    python -m bench replay            every badge of the demo plant (363) every 2 s for an hour, 20 trends,
                                      the gas and state tags, 300 journal rows, 40 video detections
    python -m bench replay --quick    every 5 s
    python -m bench replay --smoke    5 minutes, 40 badges, 3 trends: checks that it runs, not a measurement

The store is a fresh SQLite file written the way the collectors and services write it (positions, samples,
alarm journal rows, video events). Figures (wall clock, medians of ``--reps`` runs):

- ``load_ms``: :func:`webapp.live.replay.load` for the window (everything the page sends: trips of every
  badge, zone levels, equipment states and headcounts recomputed for every frame, the journal with its texts
  and markers, the detections, the trends). Target < 2,000 ms. ``load_cold_ms`` is the first run;
  ``load_cpu_ms`` the process's CPU time for the same call (which a loaded machine does not stretch; SQLite
  runs in the process, so it counts the queries too).
- ``seek_p95_ms``: :meth:`engine.replay.Timeline.state_at` at random moments (every badge placed, zone
  levels, equipment states, headcounts, alarm markers, journal and detections up to then): the same lookups the
  browser's player makes (``assets/95_replay.js``). Target < 250 ms.
- ``play10x_frame_p95_ms``: a frame of playback at 10x (the cursor moved by 10/60 s of plant time, the state
  looked up again), against the 16.7 ms of a 60 Hz frame: playback keeps up when it is below.
- ``payload_bytes``/``payload_gzip_bytes``: the JSON the page receives.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import _smoke
from engine.replay import Timeline
from engine.types import PositionIn, SampleIn
from plant.loader import DEMO_PLANT, load_plant
from plant.schema import Plant, TagKind
from store.db import make_engine, migrate, session_scope
from store.events import add_event
from store.models import Alarm, AlarmJournal
from store.people import SYSTEM
from store.positions import write_positions
from store.samples import write_samples
from store.tags import sync_tags
from webapp.live.replay import Who, load

logger = logging.getLogger(__name__)

MIN = 60_000
T1 = 1_778_040_000_000  # a fixed weekday morning (2026-05-06 04:00 UTC)


def _p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(0.95 * len(s)))]


def build(db: Path, plant: Plant, minutes: int, badges: int, pos_step_s: int, trends: int) -> dict[str, Any]:
    """The window's history in a new store; the figures of what it holds."""
    url = f"sqlite:///{db}"
    migrate(url)
    engine = make_engine(url)
    t0 = T1 - minutes * MIN
    rng = random.Random(17)
    zones = list(plant.zones)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    n_pos = 0
    chosen = plant.badges[:badges]
    for k0 in range(0, minutes * 60, 600):  # ten minutes of positions per transaction
        pos: list[PositionIn] = []
        for i, b in enumerate(chosen):
            z = zones[i % len(zones)]
            xs = [p[0] for p in z.polygon]
            ys = [p[1] for p in z.polygon]
            cx, cy, w = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, (max(xs) - min(xs)) / 3
            for k in range(k0, min(k0 + 600, minutes * 60 + 1), pos_step_s):
                f = ((k + 37 * i) % 240) / 240
                pos.append(PositionIn(b.id, t0 + k * 1000, cx - w + 2 * w * f, cy + (i % 7)))
        with session_scope(engine) as session:
            write_positions(session, pos)
        n_pos += len(pos)
    trend_tags = [tg for tg in plant.tags if tg.kind == TagKind.PROCESS][:trends]
    gas = [tg for tg in plant.tags if tg.kind == TagKind.GAS]
    states = [tg for tg in plant.tags if tg.kind == TagKind.STATE]
    samples: list[SampleIn] = []
    for tg in trend_tags:
        base = tg.nominal if tg.nominal is not None else 50.0
        for k in range(0, minutes * 60 + 1, 5):
            samples.append(SampleIn(ids[tg.id], t0 + k * 1000, base * (1 + 0.05 * rng.random()), 0))
    for tg in gas:
        for k in range(0, minutes * 60 + 1, 30):
            samples.append(SampleIn(ids[tg.id], t0 + k * 1000, 1.0 + rng.random(), 0))
    for j, tg in enumerate(states):
        samples.append(SampleIn(ids[tg.id], t0 - 1000, 0.0, 0))
        if j % 10 == 0:
            samples.append(SampleIn(ids[tg.id], t0 + rng.randrange(minutes * 60) * 1000, 3.0, 0))
    leak = gas[0]
    samples.append(SampleIn(ids[leak.id], t0 + minutes * MIN // 2, 12.0, 0))
    alarmed = [tg for tg in trend_tags if tg.zone or tg.equipment] or trend_tags
    rows = 0
    with session_scope(engine) as session:
        write_samples(session, samples)
        for k in range(100):
            tg = alarmed[k % len(alarmed)]
            aid = f"{tg.id}:H:{k}"
            start = t0 + rng.randrange(minutes * 60 - 120) * 1000
            session.add(
                Alarm(
                    id=aid,
                    source_type="process",
                    condition="H",
                    source=tg.id,
                    priority="high",
                    zone=tg.zone,
                    equipment=tg.equipment,
                    active=False,
                    acked=True,
                    activated_at=start,
                    message="",
                    updated_at=start,
                )
            )
            for dt, kind, active, acked in (
                (0, "active", True, False),
                (30, "ack", True, True),
                (90, "return", False, True),
            ):
                session.add(
                    AlarmJournal(
                        ts=start + dt * 1000,
                        alarm_id=aid,
                        kind=kind,
                        source_type="process",
                        priority="high",
                        zone=tg.zone,
                        active=active,
                        acked=acked,
                        value=1.0,
                        user="bench" if kind == "ack" else None,
                    )
                )
                rows += 1
        cams = plant.cameras
        for k in range(40 if minutes >= 60 else 4):
            cam = cams[k % len(cams)]
            add_event(
                session,
                "video",
                cam.id,
                t0 + rng.randrange(minutes * 60) * 1000,
                zone=cam.zone,
                severity="high",
                message="",
                data={"camera": cam.id, "class": "smoke", "confidence": 0.9, "media": {}},
            )
    engine.dispose()
    return {
        "positions": n_pos,
        "samples": len(samples),
        "journal_rows": rows,
        "trends": len(trend_tags),
        "trend_tags": [tg.id for tg in trend_tags],
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench replay", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    _smoke.add_flag(parser)
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--seeks", type=int, default=None)
    args = parser.parse_args(argv)
    smoke = args.smoke
    plant = load_plant(DEMO_PLANT)
    minutes = 5 if smoke else 60
    badges = 40 if smoke else len(plant.badges)
    step_s = 5 if smoke or args.quick else 2
    reps = args.reps or (1 if smoke else 3)
    seeks = args.seeks or (50 if smoke else 500)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "replay.db"
        t = time.perf_counter()
        held = build(db, plant, minutes, badges, step_s, 3 if smoke else 20)
        build_s = time.perf_counter() - t
        engine = make_engine(f"sqlite:///{db}")
        t0 = T1 - minutes * MIN
        loads: list[float] = []
        cpu: list[float] = []
        packed: dict[str, Any] = {}
        for _ in range(reps):
            a = time.perf_counter()
            c = time.process_time()
            packed = load(engine, plant, t0, T1, Who(SYSTEM, video=True), "en", tags=held["trend_tags"], now_ms=T1)
            loads.append((time.perf_counter() - a) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        engine.dispose()
    raw = json.dumps(packed, separators=(",", ":")).encode()
    a = time.perf_counter()
    tl = Timeline(packed)
    index_ms = (time.perf_counter() - a) * 1000
    rng = random.Random(3)
    dur = (T1 - t0) / 1000
    seek_ms: list[float] = []
    for _ in range(seeks):
        s = rng.uniform(0, dur)
        a = time.perf_counter()
        tl.state_at(s)
        seek_ms.append((time.perf_counter() - a) * 1000)
    frames: list[float] = []
    s = rng.uniform(0, dur / 2)
    for _ in range(min(seeks, 600)):
        s += 10 / 60
        a = time.perf_counter()
        tl.state_at(s)
        frames.append((time.perf_counter() - a) * 1000)
    placed = len(tl.state_at(dur / 2)["badges"])
    figures: dict[str, Any] = {
        "minutes": minutes,
        "badges": badges,
        "badges_placed_mid_window": placed,
        "position_step_s": step_s,
        "positions": held["positions"],
        "samples": held["samples"],
        "trends": len(packed["trends"]),
        "journal_rows": len(packed["journal"]),
        "video_events": len(packed["video"]),
        "frames": round(dur / packed["step_s"]) + 1,
        "build_s": round(build_s, 1),
        "load_cold_ms": round(loads[0], 1),
        "load_ms": round(statistics.median(loads), 1),
        "load_cpu_ms": round(statistics.median(cpu), 1),
        "timeline_index_ms": round(index_ms, 1),
        "seek_p95_ms": round(_p95(seek_ms), 2),
        "seek_median_ms": round(statistics.median(seek_ms), 2),
        "play10x_frame_p95_ms": round(_p95(frames), 2),
        "play10x_keeps_up": _p95(frames) < 1000 / 60,
        "payload_bytes": len(raw),
        "payload_gzip_bytes": len(gzip.compress(raw)),
    }
    return _smoke.mark(figures, smoke)
