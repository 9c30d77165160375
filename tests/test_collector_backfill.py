"""After an outage the collector reads the missed span back from the server's history (OPC UA HistoryRead).

A real asyncua server that keeps history (``simulator.history.BoundedHistory``, the simulator's), a real
collector, a real SQLite file: (a) the link cut by a TCP proxy while the server goes on -> after the return the
values of the outage are stored once, marked ``BACKFILLED``, in the rollups, and a second read of the span
writes nothing; (b) the collector killed (SIGKILL) and started again -> the span it was away is filled;
(c) a server without history, and an endpoint with ``backfill: false`` -> the gap stays, collecting goes on.
"""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import ua

from collectors.coordinator import CoordinatorOptions, EndpointCoordinator, _Span
from collectors.service import CollectorService
from collectors.writer import WriterOptions
from engine.types import BACKFILLED, BAD_NO_COMMUNICATION
from plant.schema import Plant
from simulator.history import BoundedHistory
from tests import test_collector
from tests.conftest import free_port
from tests.test_collector import (
    DCS_TAGS,
    PlantServer,
    TcpProxy,
    ms,
    plant_dict,
    query,
    run_async,
    subscribed,
    tag_id,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
collector_proc = test_collector.collector_proc  # the fixture: a collector as a process
STEP_MS = 100
QUEUE = 50  # values each monitored item queues on the server while the link is down
GAP_STEPS = 120  # an outage longer than that queue: its oldest values reach the collector only from the history


class HistoryServer(PlantServer):
    """The test plant's server, keeping the history of its DCS variables when ``history`` is on."""

    def __init__(self, port: int, *, history: bool = True) -> None:
        super().__init__(port)
        self.history = history

    async def start(self) -> None:
        await super().start()
        if self.history:
            assert self.server is not None
            self.server.iserver.history_manager.set_storage(BoundedHistory())
            nodes = [self.server.get_node(ua.NodeId(t, 2)) for t in DCS_TAGS]
            await self.server.historize_node_data_change(nodes, period=timedelta(minutes=30), count=5000)


def dcs_plant(port: int, *, backfill: bool = True) -> Plant:
    raw = plant_dict(port)
    raw["endpoints"][0]["backfill"] = backfill
    return Plant.model_validate(raw)


def rows_since(url: str, t0: datetime) -> list[tuple[str, int, float | None, int]]:
    return [
        (str(n), int(ts), v, int(q))
        for n, ts, v, q in query(
            url,
            "SELECT tag.name, ts, value, quality FROM sample JOIN tag ON tag.id = sample.tag_id"
            " WHERE ts >= ? AND tag.name IN ('TI101', 'PI102', 'FI103') ORDER BY tag.name, ts",
            ms(t0),
        )
    ]


def events(url: str, kind: str) -> list[tuple[int, int, str, dict[str, Any]]]:
    rows = query(url, "SELECT ts_start, ts_end, message, data FROM event WHERE kind = ? ORDER BY id", kind)
    return [(int(a), int(b), str(m), json.loads(d)) for a, b, m, d in rows]


class Publisher:
    """Writes a new value of every DCS tag each step (source times ``t0 + k * STEP_MS``) and remembers them."""

    def __init__(self, srv: PlantServer, t0: datetime, pause_s: float = 0.03) -> None:
        self.srv = srv
        self.pause_s = pause_s
        self.t0 = t0
        self.k = 0
        self.sent: list[tuple[str, int, float]] = []

    async def step(self) -> None:
        ts = self.t0 + timedelta(milliseconds=STEP_MS * self.k)
        for i, tag in enumerate(DCS_TAGS):
            value = 1000.0 * i + self.k + 1
            await self.srv.set(tag, value, ts)
            self.sent.append((tag, ms(ts), value))
        self.k += 1
        await asyncio.sleep(self.pause_s)  # the server's history samples every 10 ms: each step is one change

    async def steps(self, n: int) -> None:
        for _ in range(n):
            await self.step()


def collector(plant: Plant, url: str, spool: Path) -> CollectorService:
    """The dcs collector with a server-side queue of ``QUEUE`` values per item: a server that keeps the session
    through a lost link hands over what it queued on the return, and only what overflowed the queue is lost."""
    wopts = WriterOptions(batch_ms=100, health_interval_s=0.5, retry_min_s=0.2, retry_max_s=1.0)
    copts = CoordinatorOptions(publishing_interval_ms=100, reconnect_max_delay_s=1.0, queue_size=QUEUE)
    return CollectorService(
        plant, url, spool_dir=spool, endpoints=["dcs"], writer_options=wopts, coordinator_options=copts
    )


async def _cut_link(proxy: TcpProxy, coord: EndpointCoordinator) -> None:
    await proxy.shut()
    await wait_for(lambda: not coord.health.connected, 30, "loss detected")


@run_async
async def test_link_outage_is_filled_from_history_once_and_marked(port: int, sqlite_url: str, tmp_path: Path):
    srv = HistoryServer(port)
    await srv.start()
    proxy_port = free_port()
    proxy = TcpProxy(proxy_port, ("127.0.0.1", port))
    await proxy.open()
    svc = collector(dcs_plant(proxy_port), sqlite_url, tmp_path / "spool")
    await svc.start()
    try:
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.health.connected, 30, "connection")
        await subscribed(coord)
        pub = Publisher(srv, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
        await pub.steps(10)
        live_before = pub.sent[-1][1]
        await wait_for(lambda: coord.validator.last_ts("FI103") == live_before, 30, "data before the outage")

        await _cut_link(proxy, coord)
        await pub.steps(GAP_STEPS)  # the plant goes on; the server queues the newest, its history keeps all
        outage = {(t, ts) for t, ts, _ in pub.sent if ts > live_before}
        await proxy.open()
        await wait_for(lambda: coord.health.connected, 30, "reconnection")
        await wait_for(lambda: coord.spans_done == 1, 60, "the outage read back")
        await pub.steps(5)
        await wait_for(lambda: len(rows_since(sqlite_url, pub.t0)) >= len(pub.sent) + 3, 30, "all stored")
        await asyncio.sleep(1.2)  # a health report after the last write

        rows = rows_since(sqlite_url, pub.t0)
        valued = [(n, ts, v) for n, ts, v, _q in rows if v is not None]
        assert sorted(valued) == sorted(pub.sent), "every value once: the outage's read back, the rest live"
        markers = [(n, ts, q) for n, ts, v, q in rows if v is None]
        assert {n for n, _, _ in markers} == set(DCS_TAGS)
        assert all(ts == live_before + 1 and q == BAD_NO_COMMUNICATION for _, ts, q in markers)
        quality = {(n, ts): q for n, ts, v, q in rows if v is not None}
        backfilled = {k for k, q in quality.items() if q & BACKFILLED}
        assert backfilled, "values of the outage came from the history"
        assert backfilled <= outage, "only the outage's span is read back"
        assert all(q in (0, BACKFILLED) for q in quality.values())

        (gap_start, gap_end, _msg, _data), *more = events(sqlite_url, "gap")
        assert not more and gap_start == live_before + 1
        (b_start, b_end, message, data), *more = events(sqlite_url, "backfill")
        assert not more and b_start == gap_start and b_end >= max(ts for _, ts in outage)
        assert data["values"] >= len(backfilled) and data["variables_with_history"] == len(DCS_TAGS)
        assert data["variables_without_history"] == 1  # TI199 (a text variable) keeps none
        assert str(data["values"]) in message
        stored = int(query(sqlite_url, "SELECT backfilled FROM collector_health WHERE endpoint = 'dcs'")[0][0])
        assert stored == len(backfilled) == coord.health.backfilled

        # the late values are in the rollups of their own minutes, like live ones
        for tag in DCS_TAGS:
            tid = tag_id(sqlite_url, tag)
            n_rollup = query(sqlite_url, "SELECT sum(n) FROM rollup_1m WHERE tag_id = ? AND bucket >= ?", tid, 0)
            n_raw = query(sqlite_url, "SELECT count(*) FROM sample WHERE tag_id = ? AND value IS NOT NULL", tid)
            assert n_rollup == n_raw, tag

        # the same span read again: nothing new is stored, counted or recorded
        before = len(rows_since(sqlite_url, pub.t0))
        coord._spans.append(_Span(b_start, gap_end, end=b_end))
        coord._spans_due.set()
        await wait_for(lambda: coord.spans_done == 2, 60, "the span read a second time")
        await asyncio.sleep(1.2)
        assert len(rows_since(sqlite_url, pub.t0)) == before
        assert coord.health.backfilled == stored
        assert len(events(sqlite_url, "backfill")) == 1
    finally:
        await svc.stop()
        await proxy.shut()
        await srv.stop()


@run_async
async def test_sigkill_of_the_collector_is_filled_from_history(
    port: int, sqlite_url: str, tmp_path: Path, collector_proc: Any
) -> None:
    srv = HistoryServer(port)
    await srv.start()
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(plant_dict(port)))
    spool_dir, log = tmp_path / "spool", tmp_path / "collector.log"
    pub = Publisher(srv, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
    stop = asyncio.Event()

    async def publish() -> None:
        while not stop.is_set():
            await pub.step()

    task = asyncio.create_task(publish())
    try:
        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)
        await wait_for(lambda: _has_health(sqlite_url), 60, "collector writing")
        await wait_for(lambda: len(rows_since(sqlite_url, pub.t0)) > 30, 30, "collecting")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        last = int(query(sqlite_url, "SELECT max(ts) FROM sample")[0][0])
        await asyncio.sleep(2.0)  # the collector is gone; the plant and its history go on

        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)
        await wait_for(lambda: bool(events(sqlite_url, "backfill")), 60, "the span read back")
        (start, end, _message, data), *more = events(sqlite_url, "backfill")
        assert not more and start == last + 1 and data["unclean_stop"] is True
        await asyncio.sleep(1.0)
        stop.set()
        await task
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        stop.set()
        await task
        await srv.stop()
    rows = {(n, ts): (v, q) for n, ts, v, q in rows_since(sqlite_url, pub.t0)}
    missed = [(t, ts, v) for t, ts, v in pub.sent if last < ts <= end]
    assert all(rows.get((t, ts), (None, 0))[0] == v for t, ts, v in missed), "the whole span is filled"
    # the new collector's first live values: the current ones when it subscribed; everything from the killed
    # collector's last value up to them was read back from the history, and is marked so
    first_live = min(ts for (_t, ts), (v, q) in rows.items() if ts > last and v is not None and not q & BACKFILLED)
    hidden = [(t, ts) for t, ts, _ in missed if ts < first_live]
    assert len(hidden) >= 3 * 15, "about two seconds of values were missed"
    assert all(rows[k][1] & BACKFILLED for k in hidden)
    (gap_start, _gap_end, _m, _d), *more = events(sqlite_url, "gap")
    assert not more and gap_start == start


@pytest.mark.parametrize("case", ["no history", "switched off"])
@run_async
async def test_without_history_the_gap_stays(port: int, sqlite_url: str, tmp_path: Path, case: str):
    srv = HistoryServer(port, history=case != "no history")
    await srv.start()
    proxy_port = free_port()
    proxy = TcpProxy(proxy_port, ("127.0.0.1", port))
    await proxy.open()
    plant = dcs_plant(proxy_port, backfill=case != "switched off")
    svc = collector(plant, sqlite_url, tmp_path / "spool")
    await svc.start()
    try:
        coord = svc.coordinators["dcs"]
        await wait_for(lambda: coord.health.connected, 30, "connection")
        await subscribed(coord)
        pub = Publisher(srv, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
        await pub.steps(5)
        live_before = pub.sent[-1][1]
        await wait_for(lambda: coord.validator.last_ts("FI103") == live_before, 30, "data before the outage")
        await _cut_link(proxy, coord)
        await pub.steps(GAP_STEPS)
        gap_ts = {ts for _, ts, _ in pub.sent if ts > live_before}
        await proxy.open()
        await wait_for(lambda: coord.health.connected, 30, "reconnection")
        if case == "no history":
            await wait_for(lambda: coord.spans_done == 1, 60, "the outage looked at")

        async def flowing() -> bool:  # values reach the store again
            await pub.step()
            stored = {(r[0], r[1]) for r in rows_since(sqlite_url, pub.t0)}
            return (pub.sent[-1][0], pub.sent[-1][1]) in stored

        await wait_for(flowing, 30, "values flowing again")
        n = len(pub.sent)
        await pub.steps(5)
        after = {(t, ts) for t, ts, _ in pub.sent[n:]}
        await wait_for(
            lambda: after <= {(r[0], r[1]) for r in rows_since(sqlite_url, pub.t0)}, 30, "collecting after the return"
        )
    finally:
        await svc.stop()
        await proxy.shut()
        await srv.stop()
    rows = rows_since(sqlite_url, pub.t0)
    in_gap = [r for r in rows if r[1] in gap_ts and r[2] is not None]
    # what the server still sent on the return (kept for the subscription, the current values) is all there is
    assert len(in_gap) <= (QUEUE + 10) * len(DCS_TAGS), "the gap stays (but for what the server queued)"
    assert len(gap_ts) - QUEUE - 10 > 0
    assert not any(q & BACKFILLED for _, _, _, q in rows)
    assert len(events(sqlite_url, "gap")) == 1 and events(sqlite_url, "backfill") == []
    assert coord.health.backfilled == 0


def _has_health(url: str) -> bool:
    try:
        return bool(query(url, "SELECT 1 FROM collector_health WHERE connected"))
    except Exception:  # the collector has not created its tables yet
        return False
