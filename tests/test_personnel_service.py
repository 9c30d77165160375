"""services.personnel against the simulator's scripted incidents, on a real SQLite file (and PostgreSQL).

- ``test_demo_incidents_*``: the demo plant's model is stepped deterministically at 1 s (what the simulator
  publishes), its values written to the store as the collectors would, and the service is stepped after
  each second: the forbidden-zone entry, the man-down and the SOS each give exactly one violation event
  with the right start and end, the headcount per zone equals the simulator's, and restarting the service
  (also while an SOS ends during the downtime) duplicates nothing.
- ``test_real_simulator_and_collectors``: the real OPC UA simulator and collectors into SQLite, with the
  small test plant's incidents scheduled early, the service following the simulated clock.
- ``test_scripted_positions_on_both_databases``: a hand-written scenario on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from collectors.coordinator import CoordinatorOptions
from collectors.service import CollectorService
from collectors.writer import WriterOptions
from engine.geometry import locate, point_in_polygon
from engine.personnel import FORBIDDEN_ZONE, MAN_DOWN, SOS, RuleConfig
from engine.types import GOOD, UNCERTAIN, PositionIn, SampleIn, is_good
from plant.loader import DEMO_PLANT, load_plant
from plant.schema import BadgeKind, FenceKind, Plant, TagKind
from services.personnel import PersonnelService, make_service
from simulator.model import SmelterModel
from simulator.server import run_simulator
from store.db import make_engine, migrate, session_scope
from store.events import DATA_QUALITY, VIOLATION, events_between
from store.health import upsert_health
from store.models import Event
from store.positions import trajectory, write_positions
from store.samples import write_samples
from store.tags import sync_tags
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
START = int(datetime(2026, 5, 6, 2, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday, 10:00 in the plant
SEED = 1


# -- the demo plant, stepped deterministically ------------------------------------------------------------


@dataclass
class Demo:
    plant: Plant
    url: str
    model: SmelterModel
    ids: dict[str, int]
    pos_log: dict[str, list[tuple[int, float, float, bool]]] = field(default_factory=dict)  # badge -> published
    sos_log: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    headcount_checks: int = 0

    def __post_init__(self) -> None:
        self.engine = make_engine(self.url)
        self.tags = {t.id: t for t in self.plant.tags}
        self.write(self.model.initial_values(), self.model.start_ms)

    def write(self, values: dict[str, Any], ts: int) -> None:
        """What the collectors store: positions (off site = uncertain status) and SOS samples."""
        pos: list[PositionIn] = []
        sam: list[SampleIn] = []
        for tid, v in values.items():
            tag = self.tags[tid]
            if tag.kind == TagKind.POSITION and tag.badge:
                off = self.model.off_site(tid)
                pos.append(PositionIn(tag.badge, ts, v[0], v[1], int(v[2]), UNCERTAIN if off else GOOD))
                self.pos_log.setdefault(tag.badge, []).append((ts, v[0], v[1], not off))
            elif tag.kind == TagKind.SOS and tag.badge:
                sam.append(SampleIn(self.ids[tid], ts, 1.0 if v else 0.0, GOOD))
                self.sos_log.setdefault(tag.badge, []).append((ts, bool(v)))
        with session_scope(self.engine) as session:
            write_positions(session, pos)
            write_samples(session, sam)

    def advance(self, k: int) -> int:
        now = START + k * 1000
        self.write(self.model.step(now), now)
        return now

    def true_headcount(self) -> dict[str, int]:
        """People per zone from what the simulator published last (good positions, first zone)."""
        values = self.model.current_values()
        people = {b.id for b in self.plant.badges if b.kind == BadgeKind.PERSON}
        xs, ys = [], []
        for t in self.plant.tags:
            if t.kind != TagKind.POSITION or t.badge not in people or self.model.off_site(t.id):
                continue
            xs.append(values[t.id][0])
            ys.append(values[t.id][1])
        found = locate(np.array(xs), np.array(ys), [(z.id, z.polygon) for z in self.plant.zones])
        counts = dict.fromkeys((z.id for z in self.plant.zones), 0)
        for z in found:
            if z is not None:
                counts[z] += 1
        return counts


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Demo, list[Event], dict[str, Any]]]:
    """About 12 simulated minutes of the demo plant, with two restarts of the service on the way."""
    plant = load_plant(DEMO_PLANT)
    url = f"sqlite:///{tmp_path_factory.mktemp('personnel') / 'store.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    engine.dispose()
    demo = Demo(plant, url, SmelterModel(plant, seed=SEED, start_ms=START), ids)
    windows = {w.kind: w for w in demo.model.incident_windows(START, START + 720_000)}
    sos_end = windows["sos"].end_ms
    down = range((sos_end - START) // 1000 - 4, (sos_end - START) // 1000 + 6)  # service down across the SOS end
    svc = PersonnelService(plant, demo.engine)
    facts: dict[str, Any] = {"windows": windows, "restored": [], "headcount_checks": 0}
    for k in range(1, 721):
        now = demo.advance(k)
        if k in down:
            continue
        if k == 550 or k == down.stop:  # a restart: a new service object on the same store
            svc = PersonnelService(plant, demo.engine)
        svc.step(now + 300)
        if k in (550, down.stop):
            facts["restored"].append(svc.restored)
        if k % 60 == 0:
            assert svc.last_tick is not None
            assert svc.last_tick.headcount == demo.true_headcount(), f"headcount at {k} s"
            facts["headcount_checks"] += 1
    with session_scope(demo.engine) as session:
        events = events_between(session, START, START + 720_000, [VIOLATION])
        session.expunge_all()
    yield demo, events, facts
    demo.engine.dispose()


def stretches(log: list[tuple[int, float, float, bool]], inside: Any) -> list[tuple[int, int | None]]:
    """(first ts inside, first ts outside after it) for each stretch of published positions inside."""
    out: list[tuple[int, int | None]] = []
    start: int | None = None
    for ts, x, y, good in log:
        now_in = good and inside(x, y)
        if now_in and start is None:
            start = ts
        elif not now_in and start is not None:
            out.append((start, ts))
            start = None
    if start is not None:
        out.append((start, None))
    return out


@pytest.mark.slow
def test_demo_incidents_forbidden_entry(demo_run: tuple[Demo, list[Event], dict[str, Any]]) -> None:
    demo, events, facts = demo_run
    inc = next(i for i in demo.plant.incidents if i.kind == "forbidden_entry")
    polys = [z.polygon for z in demo.plant.zones if z.forbidden]
    polys += [f.polygon for f in demo.plant.fences if f.kind == FenceKind.FORBIDDEN]
    truth = stretches(demo.pos_log[inc.badge or ""], lambda x, y: any(point_in_polygon(x, y, p) for p in polys))
    assert len(truth) == 1 and truth[0][1] is not None, truth
    w = facts["windows"]["forbidden_entry"]
    assert w.start_ms <= truth[0][0] < w.end_ms  # walks in after the incident starts
    (ev,) = [e for e in events if e.source == FORBIDDEN_ZONE and e.badge == inc.badge]
    assert (ev.ts_start, ev.ts_end) == truth[0]
    assert ev.zone == inc.zone and ev.severity == "high" and ev.kind == VIOLATION
    assert ev.data is not None and ev.data["camera"] is not None and set(ev.data) >= {"fence", "value", "limit"}
    camera = demo.plant.by_id("cameras")[ev.data["camera"]]
    assert math.dist(camera.position[:2], (ev.data["x"], ev.data["y"])) <= camera.range_m  # type: ignore[attr-defined]
    assert [e for e in events if e.source == FORBIDDEN_ZONE] == [ev]  # nobody else went in


@pytest.mark.slow
def test_demo_incidents_man_down(demo_run: tuple[Demo, list[Event], dict[str, Any]]) -> None:
    demo, events, facts = demo_run
    inc = next(i for i in demo.plant.incidents if i.kind == "man_down")
    w = facts["windows"]["man_down"]
    (ev,) = [e for e in events if e.source == MAN_DOWN]  # one man-down on the whole site, across the restarts
    assert ev.badge == inc.badge and ev.zone == "fsf-hall" and ev.severity == "urgent"
    log = demo.pos_log[inc.badge or ""]
    # the badge stops dead at the incident start and publishes nothing until it gets up after the end
    rest = [p for p in log if p[0] <= w.start_ms + 1000][-1]
    moved = next(ts for ts, x, y, _ in log if ts > w.start_ms and math.dist((x, y), rest[1:3]) > 1.0)
    assert w.end_ms <= moved <= w.end_ms + 5_000
    assert ev.ts_end == moved
    # it opens after 60 s without movement beyond 1 m: about 60 s after the stop (it was moving slowly
    # before, so the 60 s may begin a few seconds earlier), and it really was still all that time
    assert w.start_ms + 60_000 - 10_000 <= ev.ts_start <= w.start_ms + 61_000
    before = [p for p in log if p[0] <= ev.ts_start - 60_000]
    span = before[-1:] + [p for p in log if ev.ts_start - 60_000 < p[0] < moved]
    assert max(math.dist((x, y), rest[1:3]) for _, x, y, _ in span) <= 2.0


@pytest.mark.slow
def test_demo_incidents_sos_with_a_restart_across_its_end(demo_run: tuple[Demo, list[Event], dict[str, Any]]) -> None:
    demo, events, facts = demo_run
    inc = next(i for i in demo.plant.incidents if i.kind == "sos")
    log = demo.sos_log[inc.badge or ""]
    pressed = [ts for ts, v in log if v]
    released = [ts for ts, v in log if not v and ts > pressed[0]]
    (ev,) = [e for e in events if e.source == SOS]
    assert ev.badge == inc.badge and (ev.ts_start, ev.ts_end) == (pressed[0], released[0])
    w = facts["windows"]["sos"]
    assert w.start_ms <= ev.ts_start < w.start_ms + 1000 and w.end_ms <= ev.ts_end < w.end_ms + 1000
    assert ev.zone is not None and ev.data is not None and ev.data["camera"] is not None


@pytest.mark.slow
def test_demo_restarts_and_headcount(demo_run: tuple[Demo, list[Event], dict[str, Any]]) -> None:
    _demo, events, facts = demo_run
    # the first restart took back what was open then (the man-down and the SOS at least), the second what
    # was still open after the downtime (the SOS had ended meanwhile and was closed from its samples)
    assert facts["restored"][0] >= 2 and facts["restored"][1] >= 1
    keys = [(e.source, e.badge, e.zone, (e.data or {}).get("region")) for e in events]
    open_keys = [k for k, e in zip(keys, events, strict=True) if e.ts_end is None]
    assert len(open_keys) == len(set(open_keys))  # never two open events for one violation
    for k in set(keys):  # and no two events of one violation overlap in time
        spans = sorted((e.ts_start, e.ts_end) for kk, e in zip(keys, events, strict=True) if kk == k)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and start >= end
    assert facts["headcount_checks"] == 12
    # a plausible rule mix on a normal morning, not a flood
    assert len(events) < 40, [(e.source, e.badge) for e in events]


# -- the real simulator and collectors ------------------------------------------------------------------


def early_incident_plant(port_dcs: int, port_rtls: int) -> Plant:
    raw = yaml.safe_load((ROOT / "tests" / "fixtures" / "mini_plant.yaml").read_text())
    raw["endpoints"] = [
        {"id": "dcs", "name": "DCS", "url": f"opc.tcp://127.0.0.1:{port_dcs}/smeltwatch/dcs"},
        {"id": "rtls", "name": "RTLS", "url": f"opc.tcp://127.0.0.1:{port_rtls}/smeltwatch/rtls"},
    ]
    raw["incidents"] = [
        {"id": "sos-p005", "kind": "sos", "badge": "P005", "first_after_s": 12, "duration_s": 20},
        {"id": "tank-intrusion", "kind": "forbidden_entry", "badge": "P003", "zone": "tank-farm",
         "first_after_s": 15, "duration_s": 25},
        {"id": "man-down-p001", "kind": "man_down", "badge": "P001", "first_after_s": 10, "duration_s": 45},
    ]  # fmt: skip
    return Plant.model_validate(raw)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_real_simulator_and_collectors(tmp_path: Path, sqlite_url: str) -> None:
    ports = (free_port(), free_port())
    plant = early_incident_plant(*ports)
    start = int(datetime(2026, 5, 6, 1, 0, tzinfo=UTC).timestamp() * 1000)  # 09:00 local: P001's shift A
    config = RuleConfig(man_down_s=20)
    end_sim_s = 75
    result: dict[str, Any] = {}

    async def main() -> None:
        async with run_simulator(
            plant, seed=SEED, speed=4.0, rate_hz=4.0, start_ms=start, dcs_port=ports[0], rtls_port=ports[1]
        ) as sim:
            collector = CollectorService(
                plant,
                sqlite_url,
                spool_dir=tmp_path / "spool",
                urls=sim.urls,
                writer_options=WriterOptions(batch_ms=100, health_interval_s=0.5),
                coordinator_options=CoordinatorOptions(publishing_interval_ms=100),
            )
            async with collector:
                svc = PersonnelService(plant, make_engine(sqlite_url), config)
                deadline = time.monotonic() + 150
                while sim.sim_now_ms < start + end_sim_s * 1000:
                    assert time.monotonic() < deadline, "simulator too slow"
                    await asyncio.to_thread(svc.step, sim.sim_now_ms)
                    await asyncio.sleep(0.25)
                result["windows"] = {w.kind: w for w in sim.model.incident_windows(start, start + end_sim_s * 1000)}
                result["health"] = {ep: c.validator.counters.as_dict() for ep, c in collector.coordinators.items()}
                last = sim.sim_now_ms
            await asyncio.to_thread(svc.step, last + 30_000)  # everything flushed; the clear delays pass
            result["svc"] = svc

    asyncio.run(main())
    engine = make_engine(sqlite_url)
    windows = result["windows"]
    with session_scope(engine) as session:
        events = events_between(session, start, start + 10 * 60_000, [VIOLATION])
        dq = events_between(session, start, start + 10 * 60_000, [DATA_QUALITY])
        p003 = trajectory(session, "P003", start, start + 10 * 60_000)
        p001 = trajectory(session, "P001", start, start + 10 * 60_000)
    # no spurious data-quality events from the real badge tracks (no impossible jumps)
    assert [e for e in dq if (e.data or {}).get("reason") == "impossible_jump"] == []
    assert all(c["rejected"] == 0 for c in result["health"].values()), result["health"]
    tank = next(z.polygon for z in plant.zones if z.id == "tank-farm")
    # forbidden entry: from the first stored position inside to the first outside after it
    inside = [p for p in p003 if is_good(p.quality) and point_in_polygon(p.x, p.y, tank)]
    assert inside, "P003 never entered the tank farm"
    first_out = next((p.ts for p in p003 if p.ts > inside[0].ts and not point_in_polygon(p.x, p.y, tank)), None)
    (forb,) = [e for e in events if e.source == FORBIDDEN_ZONE]
    # The service looks at the current positions once per step; on a loaded machine a step may come after
    # two position updates (4 simulated seconds per wall second here), so allow one update's lag.
    stored = {p.ts for p in p003}
    assert forb.badge == "P003" and forb.zone == "tank-farm" and forb.ts_start in stored
    assert inside[0].ts <= forb.ts_start <= inside[0].ts + 2000
    assert first_out is not None and forb.ts_end in stored and first_out <= forb.ts_end <= first_out + 2000
    assert windows["forbidden_entry"].start_ms <= forb.ts_start
    # SOS: the simulated press and release, to the simulator's step
    (sos,) = [e for e in events if e.source == SOS]
    w = windows["sos"]
    assert sos.badge == "P005" and w.start_ms <= sos.ts_start < w.start_ms + 1000
    assert sos.ts_end is not None and w.end_ms <= sos.ts_end < w.end_ms + 1000
    # man-down: P001 lies still from the incident start; 20 s later the rule opens, it ends when P001 moves
    (md,) = [e for e in events if e.source == MAN_DOWN]
    w = windows["man_down"]
    assert md.badge == "P001" and md.zone == "smelter-hall"
    assert w.start_ms + 20_000 - 4_000 <= md.ts_start <= w.start_ms + 21_000
    moved = [p.ts for p in p001 if p.ts > w.end_ms - 1]
    assert md.ts_end is not None and w.end_ms <= md.ts_end <= w.end_ms + 5_000 and md.ts_end in moved


# -- a scripted scenario on SQLite and PostgreSQL -------------------------------------------------------------


def test_scripted_positions_on_both_databases(db_url: str) -> None:
    plant = load_plant(ROOT / "tests" / "fixtures" / "mini_plant.yaml")
    migrate(db_url)
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    t0 = int(datetime(2026, 5, 6, 2, 0, tzinfo=UTC).timestamp() * 1000)  # 10:00 local, shift A

    def put(t_s: int, rows: list[tuple[str, float, float]], sos: dict[str, bool] | None = None) -> None:
        with session_scope(engine) as session:
            write_positions(session, [PositionIn(b, t0 + t_s * 1000, x, y) for b, x, y in rows])
            write_samples(
                session, [SampleIn(ids[f"RTLS.{b}.SOS"], t0 + t_s * 1000, float(v)) for b, v in (sos or {}).items()]
            )

    put(0, [("P001", 100, 200), ("P002", 110, 210), ("P005", 90, 60)], {"P005": False})
    svc = make_service(plant, engine, None)
    assert (svc.name, svc.interval_s) == ("personnel", 1.0)
    for t in range(1, 40):
        if t == 5:
            put(5, [("P003", 300, 60)])  # contractor into the tank farm
        if t == 10:
            put(10, [("P005", 90, 61)], {"P005": True})
        if t == 20:
            put(20, [("P003", 300, 120)], {"P005": False})
        if t % 2:
            put(t, [("P001", 100 + t % 4, 200), ("P002", 110 + t % 4, 210)])
        svc.step(t0 + t * 1000 + 500)
        if t == 12:
            svc = PersonnelService(plant, engine)  # restart while both are open
    with session_scope(engine) as session:
        events = events_between(session, t0, t0 + 60_000, [VIOLATION])
        rows = [
            (e.source, e.badge, e.zone, e.ts_start - t0, None if e.ts_end is None else e.ts_end - t0) for e in events
        ]
    assert ("forbidden_zone", "P003", "tank-farm", 5000, 20000) in rows
    assert ("sos", "P005", "office", 10000, 20000) in rows
    assert len([r for r in rows if r[0] in ("forbidden_zone", "sos")]) == 2
    assert svc.restored >= 2
    engine.dispose()


def test_sos_tags_that_reach_the_store_after_the_service_started(sqlite_url: str) -> None:
    plant = load_plant(ROOT / "tests" / "fixtures" / "mini_plant.yaml")
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    t0 = int(datetime(2026, 5, 6, 2, 0, tzinfo=UTC).timestamp() * 1000)
    svc = PersonnelService(plant, engine)
    svc.step(t0)  # no tags in the store yet (the collectors have not started)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
        write_samples(session, [SampleIn(ids["RTLS.P005.SOS"], t0 + 2_000, 1.0)])
    for t in range(1, 12):
        svc.step(t0 + t * 1000)
    with session_scope(engine) as session:
        write_samples(session, [SampleIn(ids["RTLS.P005.SOS"], t0 + 12_000, 0.0)])
    svc.step(t0 + 13_000)
    with session_scope(engine) as session:
        (ev,) = events_between(session, t0, t0 + 60_000, [VIOLATION])
        assert (ev.source, ev.badge, ev.ts_start, ev.ts_end) == (SOS, "P005", t0 + 2_000, t0 + 12_000)
    engine.dispose()


def test_no_man_down_burst_at_start_up(sqlite_url: str) -> None:
    """The demo's start: a backfill left everyone's last position a minute old (one sample a minute), the
    services start before the collectors have connected, then the live fixes arrive. Nobody is down then;
    a badge that really stops in a hazard zone afterwards is down once, 60 s after it stopped."""
    plant = load_plant(ROOT / "tests" / "fixtures" / "mini_plant.yaml")
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        sync_tags(session, plant)
    t0 = int(datetime(2026, 5, 6, 2, 0, tzinfo=UTC).timestamp() * 1000)  # 10:00 local, shift A
    walkers = {"P001": (100, 200), "P002": (300, 200), "P004": (200, 200)}  # hall, acid plant, converter aisle

    def put(t_s: float, rows: dict[str, tuple[float, float]]) -> None:
        with session_scope(engine) as session:
            write_positions(session, [PositionIn(b, t0 + round(t_s * 1000), x, y) for b, (x, y) in rows.items()])

    for t in (-180, -120, -60):  # the backfill, sampled once a minute: the newest fix is 60 s old at t=0
        put(t, {b: (x + t / 30, y) for b, (x, y) in walkers.items()})
    svc = PersonnelService(plant, engine)
    svc.step(t0 + 700)  # no collector has reported yet
    svc.step(t0 + 1_000)
    with session_scope(engine) as session:
        upsert_health(session, "rtls", url="opc.tcp://127.0.0.1:1/x", pid=1, started_at=t0, connected=False)
    svc.step(t0 + 2_000)  # connecting
    with session_scope(engine) as session:
        upsert_health(session, "rtls", connected=True)
    svc.step(t0 + 3_000)  # connected, the first live fixes not stored yet
    for t in range(4, 90):  # live: P002 and P004 walk about, P001 stops at t=10 and stays there
        put(t, {b: (x + t % 2 * 3, y) for b, (x, y) in walkers.items() if b != "P001" or t <= 10})
        with session_scope(engine) as session:
            upsert_health(session, "rtls", connected=True)
        svc.step(t0 + t * 1000 + 300)
    with session_scope(engine) as session:
        events = events_between(session, t0 - 600_000, t0 + 600_000, [VIOLATION])
        downs = [(e.badge, e.ts_start - t0, e.ts_end) for e in events if e.source == MAN_DOWN]
    assert downs == [("P001", 70_000, None)]
    engine.dispose()
