"""Backfill benchmark: how fast an outage's span is read back from a server's history and stored.

    python -m bench backfill            1,000 variables with 600 values each in history (600,000 values)
    python -m bench backfill --quick    200 variables
    python -m bench backfill --smoke    20 variables with 50 values: checks that it runs, not a measurement

A real asyncua server in this process keeps the history (``simulator.history.BoundedHistory``, as the demo's
simulator does); a real asyncua client reads it back the way the collector does after an outage
(``collectors.backfill``: access levels read, ``HistoryRead`` raw, 50 variables per request, 200 values per
variable per answer, each value validated and marked ``BACKFILLED``), and the values are then written into a
fresh SQLite store with ``store.samples.write_samples_counted`` in the writer's transactions of 5,000. Server
and client share one process and one core, as a collector and a simulator on one machine would not: the read
figure is a floor. Figures (medians of ``--reps`` runs):

- ``read_values_per_s``: values read back, validated and marked per second of the read;
- ``store_values_per_s``: values written (rollups kept) per second;
- ``values_per_s``: the two one after the other (the collector overlaps them: its writer is a thread).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import Client, Server, ua

from bench import _smoke
from collectors.backfill import BackfillOptions, read_span, with_history
from collectors.records import TagInfo
from engine.clock import now_ms
from engine.types import SampleIn
from simulator.history import BoundedHistory
from store.db import make_engine, migrate, session_scope
from store.models import Tag
from store.samples import write_samples_counted

T0 = 1_778_040_000_000  # a fixed morning (2026-05-06 04:00 UTC): the span read back starts here
STEP_MS = 1000


async def _server(port: int, tags: int, values: int) -> Server:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
    ns = await server.register_namespace("urn:smeltwatch:bench")
    folder = await server.nodes.objects.add_object(ua.NodeId("Bench", ns), "Bench")
    nodes = [
        await folder.add_variable(ua.NodeId(f"T{n}", ns), f"T{n}", ua.Variant(0.0, ua.VariantType.Double))
        for n in range(tags)
    ]
    storage = BoundedHistory()
    server.iserver.history_manager.set_storage(storage)
    # room for the initial value too, which the history takes when it starts
    await server.historize_node_data_change(nodes, period=timedelta(0), count=values + 1)
    for n, node in enumerate(nodes):  # the history as a plant historian holds it, put in place directly
        for k in range(values):
            ts = datetime.fromtimestamp((T0 + k * STEP_MS) / 1000, UTC)
            dv = ua.DataValue(ua.Variant(float(n + k), ua.VariantType.Double), SourceTimestamp=ts, ServerTimestamp=ts)
            await storage.save_node_value(node.nodeid, dv)
    await server.start()
    return server


async def _read(url: str, tags: int, values: int) -> tuple[list[SampleIn], float, int]:
    infos = [(TagInfo(f"T{n}", n + 1, "process", f"ns=2;s=T{n}"), ua.NodeId(f"T{n}", 2)) for n in range(tags)]
    got: list[SampleIn] = []
    client = Client(url, timeout=30)
    async with client:
        t = time.perf_counter()
        with_hist, _without = await with_history(client, infos, 1000)
        result = await read_span(
            client, "bench", with_hist, T0, T0 + (values - 1) * STEP_MS, BackfillOptions(), got.extend, now=now_ms
        )
        seconds = time.perf_counter() - t
    return got, seconds, result.requests


def _store(samples: list[SampleIn], tags: int, folder: Path) -> float:
    url = f"sqlite:///{folder / 'store.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:  # tag rows for the ids the samples carry
        session.add_all(
            Tag(id=n + 1, name=f"T{n}", endpoint="bench", node_id=f"ns=2;s=T{n}", kind="process") for n in range(tags)
        )
    t = time.perf_counter()
    stored = 0
    for i in range(0, len(samples), 5000):
        with session_scope(engine) as session:
            _result, backfilled = write_samples_counted(session, samples[i : i + 5000])
            stored += backfilled
    seconds = time.perf_counter() - t
    engine.dispose()
    assert stored == len(samples), f"{stored} of {len(samples)} stored as backfilled"
    return seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _run_once(tags: int, values: int, folder: Path) -> dict[str, Any]:
    port = _free_port()
    server = await _server(port, tags, values)
    try:
        samples, read_s, requests = await _read(f"opc.tcp://127.0.0.1:{port}", tags, values)
    finally:
        await server.stop()
    if len(samples) != tags * values:
        raise RuntimeError(f"read back {len(samples)} values, expected {tags * values}")
    store_s = await asyncio.to_thread(_store, samples, tags, folder)
    return {"values": len(samples), "read_s": read_s, "store_s": store_s, "requests": requests}


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench backfill", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="200 variables")
    _smoke.add_flag(p)
    p.add_argument("--tags", type=int, default=None)
    p.add_argument("--values", type=int, default=None, help="values per variable in the history")
    p.add_argument("--reps", type=int, default=None)
    args = p.parse_args(argv)
    tags = args.tags or (20 if args.smoke else 200 if args.quick else 1000)
    values = args.values or (50 if args.smoke else 600)
    reps = args.reps or (1 if args.smoke else 3)
    runs = []
    for r in range(reps):
        with tempfile.TemporaryDirectory(prefix="sw-bench-backfill-") as tmp:
            folder = Path(tmp) / str(r)
            folder.mkdir()
            runs.append(asyncio.run(_run_once(tags, values, folder)))
    read_s = statistics.median(x["read_s"] for x in runs)
    store_s = statistics.median(x["store_s"] for x in runs)
    n = runs[0]["values"]
    return _smoke.mark(
        {
            "tags": tags,
            "values_per_tag": values,
            "values": n,
            "requests": runs[0]["requests"],
            "reps": reps,
            "read_values_per_s": round(n / read_s),
            "store_values_per_s": round(n / store_s),
            "values_per_s": round(n / (read_s + store_s)),
        },
        args.smoke,
    )
