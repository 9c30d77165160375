"""Collectors end to end: a real asyncua Server on a free port, a real SQLite file, the real writer/spool.

Covers requirement C1: subscriptions into the store with source timestamps and status quality,
read-only towards the plant, reconnection with gap events and bad-quality markers, store-and-forward
while the database is unavailable (in process, and across a SIGKILL of a collector subprocess), and the
handling of bad values.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Server, ua
from asyncua.common.callback import CallbackType
from asyncua.server.uaprocessor import UaProcessor

from collectors.coordinator import CoordinatorOptions
from collectors.service import CollectorService
from collectors.spool import Spool, decode_chunk
from collectors.writer import WriterOptions
from engine.types import BAD_NO_COMMUNICATION, BAD_OUT_OF_RANGE
from plant.schema import Plant
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
DCS_TAGS = ["TI101", "PI102", "FI103"]
NOT_READ_ONLY = {
    ua.ObjectIds.WriteRequest_Encoding_DefaultBinary,
    ua.ObjectIds.CallRequest_Encoding_DefaultBinary,
    ua.ObjectIds.AddNodesRequest_Encoding_DefaultBinary,
    ua.ObjectIds.DeleteNodesRequest_Encoding_DefaultBinary,
    ua.ObjectIds.AddReferencesRequest_Encoding_DefaultBinary,
    ua.ObjectIds.DeleteReferencesRequest_Encoding_DefaultBinary,
    ua.ObjectIds.HistoryUpdateRequest_Encoding_DefaultBinary,
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]  # every test runs a real server and collector


def run_async(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop (pytest resolves fixtures through ``__wrapped__``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


# -- a small plant and its OPC UA server ----------------------------------------------------------------


def plant_dict(port: int) -> dict[str, Any]:
    url = f"opc.tcp://127.0.0.1:{port}"
    tags: list[dict[str, Any]] = [
        {"id": t, "node_id": f"ns=2;s={t}", "endpoint": "dcs", "kind": "process", "unit": "degC"} for t in DCS_TAGS
    ]
    tags += [
        {"id": "TI199", "node_id": "ns=2;s=TI199", "endpoint": "dcs", "kind": "process"},  # publishes text
        {"id": "RTLS.B1.POS", "node_id": "ns=2;s=RTLS.B1.POS", "endpoint": "rtls", "kind": "position", "badge": "B1"},
        {"id": "RTLS.B1.SOS", "node_id": "ns=2;s=RTLS.B1.SOS", "endpoint": "rtls", "kind": "sos", "badge": "B1"},
    ]
    return {
        "schema_version": 1,
        "site": {
            "name": "Test smelter",
            "timezone": "Asia/Shanghai",
            "width_m": 500,
            "depth_m": 300,
            "shifts": [{"id": "day", "start": "08:00", "hours": 12}, {"id": "night", "start": "20:00", "hours": 12}],
        },
        "endpoints": [{"id": "dcs", "name": "DCS", "url": url}, {"id": "rtls", "name": "RTLS", "url": url}],
        "areas": [{"id": "smelting", "name": "Smelting"}],
        "zones": [
            {
                "id": "furnace",
                "name": "Furnace hall",
                "area": "smelting",
                "polygon": [[0, 0], [200, 0], [200, 100], [0, 100]],
                "floors": 2,
                "height_m": 30,
                "lec": {"l": 3, "e": 6, "c": 15},
            }
        ],
        "badges": [{"id": "B1", "name": "Worker 1", "kind": "person", "role": "employee"}],
        "tags": tags,
    }


def make_plant(port: int) -> Plant:
    return Plant.model_validate(plant_dict(port))


class PlantServer:
    """A real asyncua server with the test plant's variables, auditing every request it gets."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: Server | None = None
        self.nodes: dict[str, ua.NodeId] = {}
        self.writes: list[Any] = []

    async def start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}")
        await server.register_namespace("urn:smeltwatch:test")
        objects = server.nodes.objects
        dcs = await objects.add_object(ua.NodeId("DCS", 2), "DCS")
        rtls = await objects.add_object(ua.NodeId("RTLS", 2), "RTLS")
        for tag in DCS_TAGS:
            await dcs.add_variable(ua.NodeId(tag, 2), tag, ua.Variant(0.0, ua.VariantType.Double))
        await dcs.add_variable(ua.NodeId("TI199", 2), "TI199", ua.Variant("n/a", ua.VariantType.String))
        for badge in ("B1", "GHOST"):  # GHOST is not in the plant file
            await rtls.add_variable(
                ua.NodeId(f"RTLS.{badge}.POS", 2), f"{badge}.POS", ua.Variant([50.0, 50.0, 0.0], ua.VariantType.Double)
            )
        await rtls.add_variable(ua.NodeId("RTLS.B1.SOS", 2), "B1.SOS", ua.Variant(False, ua.VariantType.Boolean))

        def on_write(event: Any, _dispatcher: Any) -> None:
            if event.is_external:
                self.writes.append(event.request_params)

        server.subscribe_server_callback(CallbackType.PreWrite, on_write)
        await server.start()
        self.server = server

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def set(
        self,
        node: str,
        value: Any,
        ts: datetime | None,
        *,
        vtype: ua.VariantType = ua.VariantType.Double,
        status: int = 0,
        server_ts: datetime | None = None,
    ) -> None:
        assert self.server is not None
        dv = ua.DataValue(
            ua.Variant(value, vtype), StatusCode=ua.StatusCode(status), SourceTimestamp=ts, ServerTimestamp=server_ts
        )
        await self.server.write_attribute_value(ua.NodeId(node, 2), dv)


@pytest.fixture
def requests_seen(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Type ids of every request the test servers process (the read-only audit)."""
    seen: list[int] = []
    original = UaProcessor._process_message

    async def audited(self: UaProcessor, typeid: ua.NodeId, *args: Any, **kwargs: Any) -> Any:
        seen.append(int(typeid.Identifier))
        return await original(self, typeid, *args, **kwargs)

    monkeypatch.setattr(UaProcessor, "_process_message", audited)
    return seen


# -- helpers ---------------------------------------------------------------------------------------------


def db_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path(url), timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def tag_id(url: str, name: str) -> int:
    return int(query(url, "SELECT id FROM tag WHERE name = ?", name)[0][0])


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


async def wait_for(cond: Callable[[], bool | Awaitable[bool]], timeout: float, what: str) -> float:
    """Poll ``cond`` until true; returns the seconds it took."""
    t0 = time.monotonic()
    while True:
        result = cond()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def subscribed(*coords: Any) -> None:
    """Wait until each coordinator has had its first values: its monitored items are in place on the server,
    so every change from now on reaches it (a busy machine may take seconds; a fixed pause would guess)."""
    await wait_for(lambda: all(c.health.last_data_at is not None for c in coords), 30, "subscriptions in place")


def service(plant: Plant, url: str, spool: Path, endpoints: list[str] | None = None, **writer: Any) -> CollectorService:
    wopts = WriterOptions(batch_ms=100, health_interval_s=0.5, retry_min_s=0.2, retry_max_s=1.0, **writer)
    copts = CoordinatorOptions(publishing_interval_ms=100, reconnect_max_delay_s=1.0)
    return CollectorService(
        plant, url, spool_dir=spool, endpoints=endpoints, writer_options=wopts, coordinator_options=copts
    )


class Locker:
    """Hold SQLite's write lock from another connection: the writer sees 'database is locked'."""

    def __init__(self, url: str) -> None:
        self.conn = sqlite3.connect(db_path(url), timeout=10, isolation_level=None)

    def lock(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")

    def unlock(self) -> None:
        self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


# -- tests -----------------------------------------------------------------------------------------------


@run_async
async def test_subscription_to_store_end_to_end(port: int, sqlite_url: str, tmp_path: Path, requests_seen: list[int]):
    srv = PlantServer(port)
    await srv.start()
    try:
        plant = make_plant(port)
        async with service(plant, sqlite_url, tmp_path / "spool") as svc:
            coords = svc.coordinators
            await wait_for(lambda: all(c.health.connected for c in coords.values()), 30, "connection")
            await subscribed(*coords.values())
            t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
            sent: dict[str, list[tuple[int, float]]] = {t: [] for t in DCS_TAGS}
            for k in range(20):  # 20 values per tag, faster than the publishing interval
                ts = t0 + timedelta(milliseconds=20 * k)
                for i, tag in enumerate(DCS_TAGS):
                    value = 100.0 * i + k + 1
                    await srv.set(tag, value, ts)
                    sent[tag].append((ms(ts), value))
                await asyncio.sleep(0.005)
            await srv.set("RTLS.B1.POS", [120.0, 40.0, 1.0], t0)
            await srv.set("RTLS.B1.SOS", True, t0, vtype=ua.VariantType.Boolean)

            def all_in() -> bool:
                return query(sqlite_url, "SELECT count(*) FROM sample WHERE ts >= ?", ms(t0))[0][0] >= 61

            await wait_for(all_in, 30, "samples in the store")
            await asyncio.sleep(1.2)  # one more health report
        for tag, values in sent.items():
            rows = query(
                sqlite_url,
                "SELECT ts, value, quality FROM sample WHERE tag_id = ? AND ts >= ?",
                tag_id(sqlite_url, tag),
                ms(t0),
            )
            assert sorted(rows) == [(ts, v, 0) for ts, v in values], tag  # source timestamps, every change
        sos = query(
            sqlite_url,
            "SELECT value FROM sample WHERE tag_id = ? AND ts = ?",
            tag_id(sqlite_url, "RTLS.B1.SOS"),
            ms(t0),
        )
        assert sos == [(1.0,)]
        assert query(sqlite_url, "SELECT x, y, floor, quality FROM position WHERE badge='B1' AND ts=?", ms(t0)) == [
            (120.0, 40.0, 1, 0)
        ]
        assert query(sqlite_url, "SELECT x, y FROM badge_current WHERE badge='B1'") == [(120.0, 40.0)]
        health = {
            r[0]: r for r in query(sqlite_url, "SELECT endpoint, received, written, connected FROM collector_health")
        }
        assert set(health) == {"dcs", "rtls"}
        assert health["dcs"][1] >= 60 and health["dcs"][2] >= 60
        # the ghost badge's position is an event, not a position row
        assert query(sqlite_url, "SELECT count(*) FROM position WHERE badge='GHOST'") == [(0,)]
        ghost = query(sqlite_url, "SELECT badge, message FROM event WHERE kind='data_quality' AND badge='GHOST'")
        assert ghost and "not in the plant file" in ghost[0][1]
        # read-only towards the plant: no write, call or node management reached the server
        assert srv.writes == []
        assert not NOT_READ_ONLY & set(requests_seen)
        assert ua.ObjectIds.CreateMonitoredItemsRequest_Encoding_DefaultBinary in requests_seen
    finally:
        await srv.stop()


@run_async
async def test_server_restart_reconnects_with_gap_and_markers(port: int, sqlite_url: str, tmp_path: Path):
    srv = PlantServer(port)
    await srv.start()
    plant = make_plant(port)
    svc = service(plant, sqlite_url, tmp_path / "spool", endpoints=["dcs"])
    await svc.start()
    try:
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.health.connected, 30, "connection")
        await subscribed(coord)
        last = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)  # newer than the initial values
        for i, tag in enumerate(DCS_TAGS):
            await srv.set(tag, 10.0 + i, last)
        await wait_for(lambda: coord.validator.last_ts("FI103") == ms(last), 30, "data before the outage")

        await srv.stop()  # the plant's server goes away ...
        await wait_for(lambda: not coord.health.connected, 30, "loss detected")
        await asyncio.sleep(3)
        srv = PlantServer(port)  # ... and comes back on the same port
        await srv.start()
        returned = time.monotonic()
        await wait_for(lambda: coord.health.connected, 10, "reconnection")
        reconnect_s = time.monotonic() - returned
        assert reconnect_s < 10

        after = datetime.now(UTC) + timedelta(seconds=1)

        async def new_data_stored() -> bool:
            await srv.set("TI101", 99.0, after)
            rows = query(
                sqlite_url, "SELECT value FROM sample WHERE tag_id=? AND ts=?", tag_id(sqlite_url, "TI101"), ms(after)
            )
            return rows == [(99.0,)]

        data_s = await wait_for(new_data_stored, 10, "data after the return")
        assert reconnect_s + data_s < 10, "subscriptions restored within 10 s of the server's return"
    finally:
        await svc.stop()
        await srv.stop()

    gaps = query(sqlite_url, "SELECT source, ts_start, ts_end, severity FROM event WHERE kind='gap'")
    assert len(gaps) == 1
    source, ts_start, ts_end, severity = gaps[0]
    assert source == "dcs" and severity == "warning"
    assert ts_start == ms(last) + 1  # the outage starts right after the last data
    assert ts_end >= ts_start + 3000
    for tag in [*DCS_TAGS, "TI199"]:
        markers = query(
            sqlite_url, "SELECT value, quality FROM sample WHERE tag_id=? AND ts=?", tag_id(sqlite_url, tag), ts_start
        )
        assert markers == [(None, BAD_NO_COMMUNICATION)], tag
    assert coord.health.reconnects == 1


SERVER_SCRIPT = """
import asyncio, sys
from datetime import UTC, datetime
from asyncua import Server, ua

async def main(port):
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
    await server.register_namespace("urn:smeltwatch:test")
    names = sys.argv[2].split(",")
    for name in names:
        await server.nodes.objects.add_variable(ua.NodeId(name, 2), name, ua.Variant(0.0, ua.VariantType.Double))
    async with server:
        print("ready", flush=True)
        k = 0
        while True:
            k += 1
            now = datetime.now(UTC)
            for name in names:
                dv = ua.DataValue(ua.Variant(float(k), ua.VariantType.Double), SourceTimestamp=now)
                await server.write_attribute_value(ua.NodeId(name, 2), dv)
            await asyncio.sleep(0.1)

asyncio.run(main(int(sys.argv[1])))
"""


async def start_server_process(port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER_SCRIPT, str(port), ",".join(DCS_TAGS),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.strip() == b"ready"
    return proc


@run_async
async def test_server_process_killed_and_restarted(port: int, sqlite_url: str, tmp_path: Path):
    """The plant's server dies (SIGKILL, no goodbye on the wire) and comes back on the same port."""
    proc = await start_server_process(port)
    svc = service(make_plant(port), sqlite_url, tmp_path / "spool", endpoints=["dcs"])
    try:
        await svc.start()
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.validator.last_ts("TI101") is not None, 30, "data")
        await asyncio.sleep(1.0)
        proc.kill()
        await proc.wait()
        killed_at = ms(datetime.now(UTC))
        await wait_for(lambda: not coord.health.connected, 30, "loss detected")
        await asyncio.sleep(2.0)
        proc = await start_server_process(port)
        returned = time.monotonic()
        back_ms = ms(datetime.now(UTC))

        def fresh_data() -> bool:
            last = coord.validator.last_ts("TI101")
            return last is not None and last > back_ms

        await wait_for(fresh_data, 10, "data after the restart")
        assert time.monotonic() - returned < 10
        await wait_for(lambda: bool(query(sqlite_url, "SELECT 1 FROM event WHERE kind='gap'")), 30, "gap event")
    finally:
        await svc.stop()
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    ((ts_start, ts_end),) = query(sqlite_url, "SELECT ts_start, ts_end FROM event WHERE kind='gap'")
    assert killed_at - 1500 < ts_start <= killed_at and ts_end >= killed_at + 2000
    markers = query(
        sqlite_url,
        "SELECT count(*) FROM sample WHERE ts=? AND value IS NULL AND quality=?",
        ts_start,
        BAD_NO_COMMUNICATION,
    )
    assert markers == [(len(DCS_TAGS) + 1,)]  # every dcs tag, TI199 (never seen) included


@run_async
async def test_database_unavailable_spools_then_replays_exactly_once(port: int, sqlite_url: str, tmp_path: Path):
    srv = PlantServer(port)
    await srv.start()
    plant = make_plant(port)
    svc = service(plant, sqlite_url, tmp_path / "spool", endpoints=["dcs"], busy_timeout_ms=150)
    locker: Locker | None = None
    sent: list[tuple[str, int, float]] = []
    try:
        await svc.start()
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.health.connected, 30, "connection")
        await subscribed(coord)
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

        async def publish(k0: int, n: int) -> None:
            for k in range(k0, k0 + n):
                ts = t0 + timedelta(milliseconds=50 * k)
                for i, tag in enumerate(DCS_TAGS):
                    await srv.set(tag, 1000.0 * i + k + 1, ts)
                    sent.append((tag, ms(ts), 1000.0 * i + k + 1))
                await asyncio.sleep(0.02)

        await publish(0, 20)
        locker = Locker(sqlite_url)
        locker.lock()  # the database becomes unavailable
        await publish(20, 80)
        await wait_for(lambda: coord.health.spooled > 100, 30, "values spooled")
        assert svc.writer.spool.pending_bytes > 0 and not svc.writer.db_available
        locker.unlock()  # ... and comes back
        await publish(100, 20)

        def all_in() -> bool:
            return query(sqlite_url, "SELECT count(*) FROM sample WHERE ts >= ? AND value IS NOT NULL", ms(t0))[0][
                0
            ] >= len(sent)

        await wait_for(all_in, 30, "replay")
        await wait_for(lambda: not svc.writer.spool.has_pending(), 30, "spool emptied")
    finally:
        await svc.stop()
        if locker is not None:
            locker.close()
        await srv.stop()
    ids = {t: tag_id(sqlite_url, t) for t in DCS_TAGS}
    rows = query(sqlite_url, "SELECT tag_id, ts, value FROM sample WHERE ts >= ? AND value IS NOT NULL", ms(t0))
    assert sorted(rows) == sorted((ids[t], ts, v) for t, ts, v in sent)  # nothing lost, nothing twice
    assert coord.health.replayed > 0 and coord.health.spooled > 0
    assert [p.name for p in (tmp_path / "spool").glob("*.seg")] == []
    assert svc.writer.stats.quarantined_records == 0


@run_async
async def test_stop_while_database_unavailable_flushes_to_spool(port: int, sqlite_url: str, tmp_path: Path):
    """A clean stop with the database down puts everything queued in the spool; the next start replays it."""
    srv = PlantServer(port)
    await srv.start()
    plant = make_plant(port)
    spool_dir = tmp_path / "spool"
    sent: list[tuple[str, int, float]] = []
    locker: Locker | None = None
    try:
        svc = service(plant, sqlite_url, spool_dir, endpoints=["dcs"], busy_timeout_ms=150)
        await svc.start()
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.health.connected, 30, "connection")
        await subscribed(coord)
        locker = Locker(sqlite_url)
        locker.lock()
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for k in range(30):
            ts = t0 + timedelta(milliseconds=50 * k)
            for i, tag in enumerate(DCS_TAGS):
                await srv.set(tag, 500.0 * i + k + 1, ts)
                sent.append((tag, ms(ts), 500.0 * i + k + 1))
        last = ms(t0 + timedelta(milliseconds=50 * 29))
        await wait_for(lambda: all(coord.validator.last_ts(t) == last for t in DCS_TAGS), 30, "all in the collector")
        await svc.stop()
        assert list(spool_dir.glob("*.seg"))
        assert query(sqlite_url, "SELECT count(*) FROM sample WHERE ts >= ?", ms(t0)) == [(0,)]
        locker.unlock()
        locker.close()
        locker = None
        svc = service(plant, sqlite_url, spool_dir, endpoints=["dcs"])
        async with svc:
            await wait_for(lambda: not list(spool_dir.glob("*.seg")), 30, "replay after restart")
    finally:
        if locker is not None:
            locker.close()
        await srv.stop()
    ids = {t: tag_id(sqlite_url, t) for t in DCS_TAGS}
    rows = query(sqlite_url, "SELECT tag_id, ts, value FROM sample WHERE ts >= ? AND value IS NOT NULL", ms(t0))
    assert sorted(rows) == sorted((ids[t], ts, v) for t, ts, v in sent)


@run_async
async def test_bad_values(port: int, sqlite_url: str, tmp_path: Path):
    srv = PlantServer(port)
    await srv.start()
    plant = make_plant(port)
    try:
        async with service(plant, sqlite_url, tmp_path / "spool") as svc:
            dcs, rtls = svc.coordinators["dcs"], svc.coordinators["rtls"]
            await wait_for(lambda: dcs.health.connected and rtls.health.connected, 30, "connection")
            await subscribed(dcs, rtls)
            t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
            s = timedelta(seconds=1)
            await srv.set("TI101", math.nan, t0)
            await srv.set("TI101", math.inf, t0 + s)
            await srv.set("TI101", 5.0, t0 + 3 * s)
            await srv.set("TI101", 6.0, t0 + 3 * s)  # same source time again: duplicate
            await srv.set("TI101", 7.0, t0 + 2 * s)  # older than the newest: late, kept
            await srv.set("PI102", 1.0, t0, status=ua.StatusCodes.BadSensorFailure)
            await srv.set("FI103", 8.0, None, server_ts=t0)  # no source time: server time used
            await srv.set("TI199", "overrange", t0, vtype=ua.VariantType.String)  # text on a numeric tag
            await srv.set("RTLS.B1.POS", [900.0, 10.0, 0.0], t0)  # outside the 500 x 300 m site
            await srv.set("RTLS.B1.POS", [math.nan, 10.0, 0.0], t0 + s)
            await srv.set("RTLS.B1.POS", [10.0, 10.0, 1.0], t0 + 2 * s)
            await srv.set("RTLS.GHOST.POS", [10.0, 20.0, 0.0], t0)

            def done() -> bool:
                return query(sqlite_url, "SELECT count(*) FROM position WHERE badge='B1' AND ts=?", ms(t0 + 2 * s)) == [
                    (1,)
                ]

            await wait_for(done, 30, "values stored")

            def counted() -> bool:
                c = dcs.health.validation
                every_dcs = c.duplicates and c.late and c.bad_quality >= 3 and c.rejected and c.ts_from_server
                return bool(every_dcs) and rtls.health.validation.rejected >= 3

            await wait_for(counted, 30, "every bad value counted")
            counters = dcs.health.validation
            assert counters.duplicates >= 1 and counters.late >= 1
            assert counters.bad_quality >= 3  # NaN, inf, bad status
            assert counters.rejected >= 1 and counters.ts_from_server >= 1
            assert rtls.health.validation.rejected >= 3  # out of site, NaN, unknown badge
        ti101 = tag_id(sqlite_url, "TI101")
        rows = query(
            sqlite_url, "SELECT ts, value, quality FROM sample WHERE tag_id=? AND ts>=? ORDER BY ts", ti101, ms(t0)
        )
        assert rows == [
            (ms(t0), None, BAD_OUT_OF_RANGE),
            (ms(t0 + s), None, BAD_OUT_OF_RANGE),
            (ms(t0 + 2 * s), 7.0, 0),
            (ms(t0 + 3 * s), 5.0, 0),  # first wins
        ]
        assert query(
            sqlite_url, "SELECT value, quality FROM sample WHERE tag_id=? AND ts=?", tag_id(sqlite_url, "PI102"), ms(t0)
        ) == [(None, ua.StatusCodes.BadSensorFailure)]
        assert query(
            sqlite_url, "SELECT value FROM sample WHERE tag_id=? AND ts=?", tag_id(sqlite_url, "FI103"), ms(t0)
        ) == [(8.0,)]
        assert query(
            sqlite_url, "SELECT count(*) FROM sample WHERE tag_id=? AND ts>=?", tag_id(sqlite_url, "TI199"), ms(t0)
        ) == [(0,)]
        assert query(sqlite_url, "SELECT ts FROM position WHERE badge='B1' AND ts>=?", ms(t0)) == [(ms(t0 + 2 * s),)]
        reasons = {
            (json.loads(d)["reason"], b)
            for d, b in query(sqlite_url, "SELECT data, badge FROM event WHERE kind='data_quality'")
        }
        assert {
            ("type_mismatch", None),
            ("out_of_site", "B1"),
            ("non_finite_position", "B1"),
            ("unknown_badge", "GHOST"),
        } <= reasons
        health = dict(query(sqlite_url, "SELECT endpoint, duplicates FROM collector_health"))
        assert health["dcs"] >= 1
    finally:
        await srv.stop()


class TcpProxy:
    """A TCP forwarder to PostgreSQL that can be shut (listener closed, connections cut) and reopened."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def shut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.close()
        self.writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.mark.postgres
@run_async
async def test_postgres_server_down_spools_then_replays(port: int, pg_url: str, tmp_path: Path):
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from store.db import make_engine

    real = make_url(pg_url)
    proxy_port = free_port()
    proxy = TcpProxy(proxy_port, (real.host or "127.0.0.1", real.port or 5432))
    await proxy.open()
    url = real.set(port=proxy_port).render_as_string(hide_password=False)
    srv = PlantServer(port)
    await srv.start()
    svc = service(make_plant(port), url, tmp_path / "spool", endpoints=["dcs"])
    sent: list[tuple[str, int, float]] = []
    try:
        await svc.start()
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.health.connected, 30, "connection")
        await subscribed(coord)
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        for k in range(60):
            if k == 10:
                await proxy.shut()  # the database server goes away
            if k == 40:
                await wait_for(lambda: coord.health.spooled > 0 and not svc.writer.db_available, 30, "spooling")
                await proxy.open()  # ... and comes back
            ts = t0 + timedelta(milliseconds=50 * k)
            for i, tag in enumerate(DCS_TAGS):
                await srv.set(tag, 1000.0 * i + k + 1, ts)
                sent.append((tag, ms(ts), 1000.0 * i + k + 1))
            await asyncio.sleep(0.05)
        await wait_for(lambda: coord.health.replayed > 0 and not svc.writer.spool.has_pending(), 30, "replay")
        await asyncio.sleep(0.5)
    finally:
        await svc.stop()
        await srv.stop()
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            ids = dict(conn.execute(text("SELECT name, id FROM tag")).tuples().all())
            rows = conn.execute(
                text("SELECT tag_id, ts, value FROM sample WHERE ts >= :t AND value IS NOT NULL"), {"t": ms(t0)}
            ).all()
    finally:
        engine.dispose()
        await proxy.shut()
    assert sorted(tuple(r) for r in rows) == sorted((ids[t], ts, v) for t, ts, v in sent)


# -- the collector as a process ---------------------------------------------------------------------------


@pytest.fixture
def collector_proc(tmp_path: Path) -> Iterator[Callable[..., Awaitable[asyncio.subprocess.Process]]]:
    procs: list[asyncio.subprocess.Process] = []

    async def start(plant_file: Path, url: str, spool: Path, log: Path) -> asyncio.subprocess.Process:
        fh = open(log, "ab")  # noqa: SIM115 - closed with the process
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collectors", "--plant", str(plant_file), "--db", url, "--spool-dir", str(spool),
            "--endpoint", "dcs", "--db-busy-timeout-ms", "150", "--batch-ms", "100", "--publishing-ms", "100",
            "--health-interval", "0.5",
            cwd=ROOT, stdout=fh, stderr=fh, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        fh.close()
        procs.append(proc)
        return proc

    yield start
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)


@run_async
async def test_sigkill_while_spooling_loses_nothing(port: int, sqlite_url: str, tmp_path: Path, collector_proc: Any):
    srv = PlantServer(port)
    await srv.start()
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(plant_dict(port)))
    spool_dir, log = tmp_path / "spool", tmp_path / "collector.log"
    locker: Locker | None = None
    stop = asyncio.Event()
    t0 = datetime.now(UTC).replace(microsecond=0)

    async def publish() -> None:
        k = 0
        while not stop.is_set():
            ts = t0 + timedelta(milliseconds=20 * k)
            for i, tag in enumerate(DCS_TAGS):
                await srv.set(tag, 1000.0 * i + k + 1, ts)
            k += 1
            await asyncio.sleep(0.02)

    pub = asyncio.create_task(publish())
    try:
        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)

        def flowing() -> bool:
            return (
                os.path.exists(db_path(sqlite_url))
                and bool(query(sqlite_url, "SELECT name FROM sqlite_master WHERE name='sample'"))
                and query(sqlite_url, "SELECT count(*) FROM sample")[0][0] > 20
            )

        await wait_for(flowing, 30, "collector writing")
        locker = Locker(sqlite_url)
        locker.lock()
        await wait_for(lambda: sum(p.stat().st_size for p in spool_dir.glob("*.seg")) > 3000, 20, "spooling")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

        # What the killed collector had spooled: every one of these must end up in the database once.
        with Spool(spool_dir) as spool:
            spool.seal()
            spooled = {
                (s.tag_id, s.ts): s.value
                for seg in spool.sealed_segments()
                for rec in spool.read(seg)
                for s in decode_chunk(rec).samples
            }
        assert len(spooled) > 50

        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)  # restarts, database still locked
        await wait_for(lambda: "using cached tag ids" in log.read_text(), 60, "a start on the cached tag ids")
        locker.unlock()
        locker.close()
        locker = None
        await wait_for(lambda: not list(spool_dir.glob("*.seg")), 30, "spool replayed")
        rows = {
            (t, ts): v for t, ts, v in query(sqlite_url, "SELECT tag_id, ts, value FROM sample WHERE ts >= ?", ms(t0))
        }
        missing = {k: v for k, v in spooled.items() if k not in rows}
        assert not missing, f"{len(missing)} spooled values missing"
        assert all(rows[k] == v for k, v in spooled.items())
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0  # clean shutdown
    finally:
        stop.set()
        await pub
        if locker is not None:
            locker.close()
        await srv.stop()
    text = log.read_text()
    assert "using cached tag ids" in text
    assert "Traceback" not in text
