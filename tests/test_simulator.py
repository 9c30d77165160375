"""The simulator: model dynamics and incidents, the real asyncua servers, the CLI and the store backfill."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from sqlalchemy import func, select

from engine.geometry import point_in_polygon
from plant.loader import load_plant
from plant.schema import Plant, TagKind
from simulator.backfill import backfill, latest_cumulative
from simulator.model import SmelterModel, Value
from simulator.server import run_simulator
from store.db import make_engine, session_scope
from store.models import Position, Rollup1m, Sample
from tests.conftest import ROOT, free_port
from tests.fakeclock import plant_ms

pytestmark = pytest.mark.timeout(120)

MINI = ROOT / "tests" / "fixtures" / "mini_plant.yaml"
T0 = plant_ms(load_plant(MINI), 2026, 1, 5, 8, 0)  # a Monday, 08:00 at the plant (00:00 UTC in Shanghai)
SEED = 11
STEP_MS = 10_000
HOURS = 8


def run_async(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(MINI)


Trace = list[tuple[int, dict[str, Value]]]


def _trace(plant: Plant, seed: int, start: int, step_ms: int, steps: int) -> tuple[SmelterModel, Trace]:
    model = SmelterModel(plant, seed=seed, start_ms=start)
    current = model.initial_values()
    out: Trace = [(start, dict(current))]
    for k in range(1, steps + 1):
        current.update(model.step(start + k * step_ms))
        out.append((start + k * step_ms, dict(current)))
    return model, out


@pytest.fixture(scope="module")
def traced(plant: Plant) -> tuple[SmelterModel, Trace]:
    """Eight simulated hours at 10 s steps, the values of every tag after every step."""
    return _trace(plant, SEED, T0, STEP_MS, HOURS * 3600_000 // STEP_MS)


def series(trace: Trace, tag: str) -> list[tuple[int, Value]]:
    return [(t, values[tag]) for t, values in trace]


def window(model: SmelterModel, incident: str) -> tuple[int, int]:
    found = [w for w in model.incident_windows(T0, T0 + HOURS * 3600_000) if w.incident == incident]
    assert found, f"{incident} does not occur in the traced window"
    return found[0].start_ms, found[0].end_ms


# ---------------------------------------------------------------------------------------------- model


def test_same_seed_same_series_other_seed_differs(plant: Plant) -> None:
    _, a = _trace(plant, 5, T0, 30_000, 400)
    _, b = _trace(plant, 5, T0, 30_000, 400)
    _, c = _trace(plant, 6, T0, 30_000, 400)
    assert a == b
    assert a != c
    assert SmelterModel(plant, seed=5, start_ms=T0).incident_windows(T0, T0 + 86_400_000) == SmelterModel(
        plant, seed=5, start_ms=T0
    ).incident_windows(T0, T0 + 86_400_000)


def test_values_in_range_counters_monotonic_types(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    _, trace = traced
    for tag in plant.tags:
        values = [v for _, v in series(trace, tag.id)]
        if tag.kind == TagKind.POSITION:
            assert all(isinstance(v, list) and len(v) == 3 for v in values)
            xs = [v[0] for v in values]  # type: ignore[index]
            ys = [v[1] for v in values]  # type: ignore[index]
            assert min(xs) >= 0 and max(xs) <= plant.site.width_m and min(ys) >= 0 and max(ys) <= plant.site.depth_m
        elif tag.kind == TagKind.SOS:
            assert all(isinstance(v, bool) for v in values)
        elif tag.kind == TagKind.STATE or tag.id.endswith(".PHASE"):
            assert all(isinstance(v, int) and 0 <= v <= 4 for v in values), tag.id
        else:
            assert all(isinstance(v, float) and math.isfinite(v) for v in values), tag.id
            if tag.range is not None:
                assert tag.range[0] <= min(values) and max(values) <= tag.range[1], tag.id  # type: ignore[operator]
            if tag.kind in (TagKind.COUNTER, TagKind.ENERGY):
                assert all(b >= a for a, b in itertools.pairwise(values)), tag.id  # type: ignore[operator]
                assert values[-1] > values[0], tag.id  # type: ignore[operator]
    # the flash furnace's temperature drifts around its nominal instead of sitting on it
    temps = [float(v) for _, v in series(trace, "FF-1.TEMP")]  # type: ignore[arg-type]
    assert 1180 < sum(temps) / len(temps) < 1320 and max(temps) - min(temps) > 10
    # the acid tank's level moves (filling or being dispatched)
    level = [float(v) for _, v in series(trace, "TK-1.LEVEL")]  # type: ignore[arg-type]
    assert max(level) - min(level) > 2


def test_converter_phases_cycle_and_drive_air_so2_bath(traced: tuple[SmelterModel, Trace]) -> None:
    _, trace = traced
    phases = [int(v) for _, v in series(trace, "CV-1.PHASE")]  # type: ignore[arg-type]
    changes = [(a, b) for a, b in itertools.pairwise(phases) if a != b]
    assert {1, 2, 3} <= set(phases)
    assert len(changes) >= 6
    assert set(changes) <= {(1, 2), (2, 3), (3, 1), (3, 0), (0, 1)}
    air: dict[int, list[float]] = {0: [], 1: [], 2: [], 3: []}
    so2: dict[int, list[float]] = {0: [], 1: [], 2: [], 3: []}
    for (_, values), phase in zip(trace, phases, strict=True):
        air[phase].append(float(values["CV-1.AIR_FLOW"]))  # type: ignore[arg-type]
        so2[phase].append(float(values["CV-1.SO2"]))  # type: ignore[arg-type]

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs)

    assert mean(air[2]) > 0.8 * 40000 and mean(air[1]) < 0.45 * 40000 and mean(air[3]) < 0.45 * 40000
    assert mean(so2[2]) > 3 * mean(so2[1])
    # the bath heats while blowing and cools while charging: compare the last values of each phase run
    bath = [float(v) for _, v in series(trace, "CV-1.BATH_TEMP")]  # type: ignore[arg-type]
    end_of = {1: [], 2: []}  # type: dict[int, list[float]]
    for i in range(1, len(phases)):
        if phases[i] != phases[i - 1] and phases[i - 1] in end_of:
            end_of[phases[i - 1]].append(bath[i - 1])
    assert mean(end_of[2]) > mean(end_of[1]) + 30


def test_faults_stop_units_and_values_decay(plant: Plant) -> None:
    no_people = plant.model_copy(
        update={
            "badges": [],
            "tags": [t for t in plant.tags if t.badge is None],
            "incidents": [i for i in plant.incidents if i.badge is None],
        }
    )
    model, trace = _trace(no_people, 3, T0, 600_000, 45 * 144)  # 45 days at 10 min
    load_tags = {"FF-1": "FF-1.FEED_FLOW", "BL-1": "BL-1.CURRENT", "AP-1": "AP-1.SO2_IN", "CV-2": "CV-2.AIR_FLOW"}
    seen: set[int] = set()
    decayed = 0
    for eq, tag in load_tags.items():
        states = [int(v) for _, v in series(trace, f"{eq}.STATE")]  # type: ignore[arg-type]
        seen |= set(states)
        nominal = next(t.nominal for t in plant.tags if t.id == tag)
        assert nominal is not None
        for i in range(3, len(states)):
            if states[i] != 1 and states[i - 1] != 1 and states[i - 2] != 1 and states[i - 3] != 1:
                assert float(trace[i][1][tag]) < 0.25 * nominal, (eq, i)  # type: ignore[arg-type]
                decayed += 1
    assert {1, 3}.issubset(seen) and (seen & {0, 2, 4}), seen  # run, fault and another stop reason
    assert decayed > 0
    # every fault is repaired
    for eq in load_tags:
        states = [int(v) for _, v in series(trace, f"{eq}.STATE")]  # type: ignore[arg-type]
        assert states.count(1) > 0.8 * len(states)
    del model


def test_gas_leak_crosses_hh_and_returns(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    model, trace = traced
    start, end = window(model, "leak-acid")
    tag = next(t for t in plant.tags if t.id == "GD-AP-1.SO2")
    assert tag.limits is not None and tag.limits.hh is not None and tag.limits.h is not None
    values = series(trace, tag.id)
    before = [float(v) for t, v in values if t < start]  # type: ignore[arg-type]
    during = [float(v) for t, v in values if start + 0.3 * (end - start) <= t < start + 0.7 * (end - start)]  # type: ignore[arg-type]
    after = [float(v) for t, v in values if end <= t < end + 3600_000]  # type: ignore[arg-type]
    assert max(before) < tag.limits.h
    assert during and min(during) > tag.limits.hh
    assert after and max(after) < tag.limits.h


def test_over_temperature_goes_above_hh(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    model, trace = traced
    start, end = window(model, "hot-furnace")
    hh = 1340
    mid = [
        float(v)
        for t, v in series(trace, "FF-1.TEMP")
        if start + 0.3 * (end - start) <= t < start + 0.7 * (end - start)
    ]  # type: ignore[arg-type]
    later = [float(v) for t, v in series(trace, "FF-1.TEMP") if end + 600_000 <= t < end + 1800_000]  # type: ignore[arg-type]
    assert mid and min(mid) > hh
    assert later and max(later) < hh


def test_sos_true_during_window_only(traced: tuple[SmelterModel, Trace]) -> None:
    model, trace = traced
    start, end = window(model, "sos-p005")
    values = series(trace, "RTLS.P005.SOS")
    assert all(v is (start <= t < end) for t, v in values if t < end + 1800_000)
    assert any(v for _, v in values) and not all(v for _, v in values)


def test_man_down_badge_stops_inside_hazard_zone(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    model, trace = traced
    start, end = window(model, "man-down-cv")
    pos = series(trace, "RTLS.P001.POS")
    frozen = {tuple(v) for t, v in pos if start + STEP_MS <= t < end}  # type: ignore[arg-type]
    assert len(frozen) == 1
    x, y, _floor = next(iter(frozen))
    assert any(z.hazard and point_in_polygon(x, y, z.polygon) for z in plant.zones)
    before = {tuple(v) for t, v in pos if start - 300_000 <= t < start}  # type: ignore[arg-type]
    after = {tuple(v) for t, v in pos if end <= t < end + 300_000}  # type: ignore[arg-type]
    assert len(before) > 5 and len(after) > 5  # moving before and after


def test_forbidden_entry_goes_into_the_zone_and_out(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    model, trace = traced
    start, end = window(model, "tank-intrusion")
    zone = next(z for z in plant.zones if z.id == "tank-farm")
    near = [(t, v) for t, v in series(trace, "RTLS.P003.POS") if start - 1800_000 <= t < end + 1800_000]
    inside = [t for t, v in near if point_in_polygon(v[0], v[1], zone.polygon)]  # type: ignore[index]
    assert inside, "the badge never entered the zone"
    assert start <= min(inside) < start + 0.5 * (end - start)  # walks in at the start
    assert end - STEP_MS <= max(inside) < end + 300_000  # and out shortly after the end
    assert not any(v[0] < 0 for _, v in near)  # type: ignore[index]


def test_walkers_respect_max_speed(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    _, trace = traced
    for badge in plant.badges:
        pos = series(trace, f"RTLS.{badge.id}.POS")
        for (t1, a), (t2, b) in itertools.pairwise(pos):
            speed = math.dist(a[:2], b[:2]) / ((t2 - t1) / 1000)  # type: ignore[index]
            assert speed <= badge.max_speed_mps * 1.01 + 0.01, (badge.id, t1, speed)


def test_shift_crews_come_and_go_through_the_gate(plant: Plant, traced: tuple[SmelterModel, Trace]) -> None:
    model, trace = traced
    gate = (200.0, 0.0)
    # the night crew (C, 00:00-08:00 local) leaves after 08:00, the afternoon crew (B, 16:00) comes in
    night = [v for _, v in series(trace, "RTLS.P004.POS")]
    assert night[0][:2] != list(gate)  # type: ignore[index]
    assert night[-1][:2] == list(gate) and model.off_site("RTLS.P004.POS")  # type: ignore[index]
    evening = [v for _, v in series(trace, "RTLS.P002.POS")]
    assert evening[0][:2] == list(gate) and evening[-1][:2] != list(gate)  # type: ignore[index]
    assert not model.off_site("RTLS.P002.POS")  # arriving for 16:00
    left = next(t for t, v in series(trace, "RTLS.P004.POS") if v[:2] == list(gate))  # type: ignore[index]
    assert T0 < left < T0 + 3600_000


# ---------------------------------------------------------------------------------------------- servers


@pytest.mark.slow
@run_async
async def test_servers_publish_simulated_time_read_only_typed(plant: Plant) -> None:
    speed, rate = 60.0, 2.0
    async with run_simulator(
        plant, seed=SEED, speed=speed, rate_hz=rate, start_ms=T0, dcs_port=free_port(), rtls_port=free_port()
    ) as sim:
        async with Client(sim.url("dcs")) as dcs, Client(sim.url("rtls")) as rtls:
            assert (await dcs.get_namespace_array())[2] == "urn:smeltwatch:demo"
            temp = dcs.get_node("ns=2;s=FF-1.TEMP")
            state = dcs.get_node("ns=2;s=CV-1.STATE")
            phase = dcs.get_node("ns=2;s=CV-1.PHASE")
            assert await temp.read_data_type_as_variant_type() == ua.VariantType.Double
            assert await state.read_data_type_as_variant_type() == ua.VariantType.Int32
            assert await phase.read_data_type_as_variant_type() == ua.VariantType.Int32
            sos = rtls.get_node("ns=2;s=RTLS.P001.SOS")
            pos = rtls.get_node("ns=2;s=RTLS.P001.POS")
            assert await sos.read_data_type_as_variant_type() == ua.VariantType.Boolean
            assert await pos.read_data_type_as_variant_type() == ua.VariantType.Double
            assert await pos.read_value_rank() == 1
            assert len(await pos.read_value()) == 3
            # 08:00 local: the B shift's badge is off site, published as uncertain (out of RTLS coverage)
            off = await rtls.get_node("ns=2;s=RTLS.P002.POS").read_data_value(raise_on_bad_status=False)
            assert off.StatusCode is not None and off.StatusCode.value == ua.StatusCodes.UncertainLastUsableValue
            # read-only for clients
            with pytest.raises(ua.UaStatusCodeError):
                await temp.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
            # folders per area and equipment
            children = [(await n.read_browse_name()).Name for n in await dcs.nodes.objects.get_children()]
            assert {"Smelting", "Acid plant"} <= set(children)
            eq = await dcs.nodes.objects.get_child(["2:Smelting", "2:FF-1", "2:FF-1.TEMP"])
            assert eq.nodeid == temp.nodeid

            dcs_tags = [t for t in plant.tags if t.endpoint == "dcs"]
            sub = await dcs.create_subscription(50, None, queue_maxsize=0)
            await sub.subscribe_data_change([dcs.get_node(t.node_id) for t in dcs_tags])
            seen: list[tuple[str, ua.DataValue]] = []
            async with asyncio.timeout(15):
                async for event in sub:
                    dv = event.data.monitored_item.Value
                    seen.append((str(event.node.nodeid.Identifier), dv))
                    if int(dv.SourceTimestamp.timestamp() * 1000) >= T0 + 12 * int(1000 * speed / rate):
                        break
            await sub.delete()
        skipped = sim.skipped_ticks
    tick_ms = int(1000 * speed / rate)
    src = sorted({int(dv.SourceTimestamp.timestamp() * 1000) for _, dv in seen})  # type: ignore[union-attr]
    # source timestamps are the simulated time: whole ticks of speed/rate seconds after the start
    assert src == list(range(src[0], src[-1] + 1, tick_ms)) and (src[0] - T0) % tick_ms == 0
    assert len(src) >= 5
    # speed: a simulated minute per wall second (server timestamps are the wall clock)
    first = {}  # type: dict[int, datetime]
    for _, dv in seen:
        first.setdefault(int(dv.SourceTimestamp.timestamp() * 1000), dv.ServerTimestamp)  # type: ignore[union-attr,arg-type]
    # the slope of simulated against wall time over every tick after the first, not two end points: one tick
    # published late on a loaded machine moves an end point by a good part of the span
    wall = [(first[s] - first[src[1]]).total_seconds() for s in src[1:]]
    ratio = statistics.linear_regression(wall, [(s - src[1]) / 1000 for s in src[1:]]).slope
    assert 40 < ratio < 90, (ratio, wall)
    # what a client sees is the model's: a fresh model stepped to the same times agrees on every value
    assert skipped == 0
    fresh = SmelterModel(plant, seed=SEED, start_ms=T0)
    at = {T0: fresh.initial_values()}
    current = fresh.initial_values()
    for t in range(T0 + tick_ms, src[-1] + 1, tick_ms):
        current.update(fresh.step(t))
        at[t] = dict(current)
    for tag, dv in seen:
        assert dv.Value.Value == at[int(dv.SourceTimestamp.timestamp() * 1000)][tag], tag  # type: ignore[union-attr]


@pytest.mark.slow
@run_async
async def test_bench_mode_counts_what_it_publishes() -> None:
    tags, hz, ticks = 300, 10.0, 4
    async with run_simulator(None, bench_tags=tags, bench_hz=hz, dcs_port=free_port()) as sim:
        assert set(sim.urls) == {"dcs"}
        async with Client(sim.url("dcs")) as client:
            nodes = [client.get_node(f"ns=2;s=BENCH.{n}") for n in range(tags)]
            handle = {n.nodeid.Identifier: i for i, n in enumerate(nodes)}
            sub = await client.create_subscription(20, None, queue_maxsize=0)
            await sub.subscribe_data_change(nodes, queuesize=100)
            await sim.wait_ticks(1)
            k0 = sim.bench_values[-1] + 1  # every value from here on must reach the client, for every tag
            seen: list[set[int]] = [set() for _ in range(tags)]
            async with asyncio.timeout(20):
                async for event in sub:
                    seen[handle[event.node.nodeid.Identifier]].add(int(event.value))
                    # wait for ticks, not for a span of tick numbers: a server that fell behind
                    # skips ticks (they are not published), so a span could hold a single one
                    if all(sum(1 for k in s if k >= k0) >= ticks for s in seen):
                        break
            published = await client.get_node("ns=2;s=BENCH.PUBLISHED").read_value()
            await sub.delete()
    # (a tick the server skipped because it fell behind is not published, hence not expected)
    upto = min(max(s) for s in seen)
    wanted = {k for k in sim.bench_values if k0 <= k <= upto}
    assert len(wanted) >= ticks
    assert all(wanted <= s for s in seen)  # nothing lost
    assert published > 0 and published % tags == 0
    assert sim.published == tags * sim.ticks == tags * len(sim.bench_values)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator", "--plant", str(MINI), *args]


@pytest.mark.slow
def test_cli_starts_logs_urls_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    dcs, rtls = free_port(), free_port()
    log = tmp_path / "sim.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _cli("--dcs-port", str(dcs), "--rtls-port", str(rtls), "--speed", "10", "--seed", "3"),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while "simulating" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)

        async def read() -> float:
            async with Client(f"opc.tcp://127.0.0.1:{dcs}/smeltwatch/dcs") as client:
                return float(await client.get_node("ns=2;s=FF-1.TEMP").read_value())

        assert 1000 < asyncio.run(read()) < 1600
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert f"opc.tcp://127.0.0.1:{dcs}/smeltwatch/dcs" in text
    assert f"opc.tcp://127.0.0.1:{rtls}/smeltwatch/rtls" in text
    assert "simulator stopped" in text
    assert "Traceback" not in text


@pytest.mark.slow
def test_cli_bench_prints_published_count() -> None:
    out = subprocess.run(
        _cli("--bench-tags", "50", "--bench-hz", "5", "--duration", "1.5", "--dcs-port", str(free_port())),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert stats["bench_tags"] == 50
    assert stats["ticks"] >= 5
    assert stats["published"] == 50 * stats["ticks"]


# ---------------------------------------------------------------------------------------------- backfill


def test_backfill_rows_match_the_model_and_rerun_adds_nothing(plant: Plant, sqlite_url: str) -> None:
    end = T0 + 2 * 3600_000
    result = backfill(plant, sqlite_url, 2 / 24, step_s=60, seed=SEED, end_ms=end, chunk_hours=0.5, progress=False)
    assert (result.start_ms, result.end_ms, result.steps) == (T0, end, 120)
    # what a collector subscribed to the servers would store: every change of every tag, positions apart
    model = SmelterModel(plant, seed=SEED, start_ms=T0)
    pos_tags = {t.id for t in plant.tags if t.kind == TagKind.POSITION}
    changes = [(T0, model.initial_values())] + [(t, model.step(t)) for t in range(T0 + 60_000, end + 1, 60_000)]
    n_samples = sum(1 for _, ch in changes for k in ch if k not in pos_tags)
    n_positions = sum(1 for _, ch in changes for k in ch if k in pos_tags)
    minutes = {(k, t // 60_000) for t, ch in changes for k in ch if k not in pos_tags}
    assert result.samples == result.samples_inserted == n_samples
    assert result.positions == result.positions_inserted == n_positions
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == n_samples
        assert session.scalar(select(func.count()).select_from(Position)) == n_positions
        assert session.scalar(select(func.count()).select_from(Rollup1m)) == len(minutes)
        assert session.scalar(select(func.min(Sample.ts))) == T0
        assert session.scalar(select(func.max(Sample.ts))) == end
    engine.dispose()
    again = backfill(plant, sqlite_url, 2 / 24, step_s=60, seed=SEED, end_ms=end, progress=False)
    assert again.samples_inserted == 0 and again.positions_inserted == 0
    # the live simulator can continue the counters where the history ends
    latest = latest_cumulative(sqlite_url, plant)
    assert latest["FF-1.CONC_FED"] == pytest.approx(float(model.current_values()["FF-1.CONC_FED"]))  # type: ignore[arg-type]
    continued = SmelterModel(plant, seed=SEED, start_ms=end, initial=latest).initial_values()
    assert continued["FF-1.CONC_FED"] == pytest.approx(latest["FF-1.CONC_FED"])


@pytest.mark.postgres
def test_backfill_into_postgresql(plant: Plant, pg_url: str) -> None:
    end = T0 + 3600_000
    result = backfill(plant, pg_url, 1 / 24, step_s=60, seed=SEED, end_ms=end, progress=False)
    assert result.samples == result.samples_inserted > 0 and result.positions == result.positions_inserted > 0
    engine = make_engine(pg_url)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Sample)) == result.samples
        assert session.scalar(select(func.count()).select_from(Position)) == result.positions
        assert session.scalar(select(func.count()).select_from(Rollup1m)) > 0
    engine.dispose()
