"""Ingestion benchmark: OPC UA subscription -> validation -> batch writer -> SQLite, end to end.

    python -m bench ingest             2,000 tags at 6 Hz (12,000 values/s offered), 20 s windows
    python -m bench ingest --quick     the same load, 8 s windows (under a minute)
    python -m bench ingest --smoke     50 tags at 2 Hz, 2 s windows: checks that it runs, not a measurement
    python -m bench ingest --tags N --hz F --seconds T --publishing-ms P

The simulator runs in bench mode in its own process (``python -m simulator --bench-tags N --bench-hz F``:
N Double variables ``ns=2;s=BENCH.<n>``, all set to the tick number k at F ticks per second). Then:

(a) a bare asyncua subscription client (this process, same subscription settings as the collector)
    counts data changes for T seconds: ``bare_asyncua_values_per_s``;
(b) the full collector (``python -m collectors`` in its own process, as deployed) writes into a fresh
    SQLite file; rows committed during T seconds give ``committed_values_per_s``; ``ratio`` = b / a.

``lost``: every tick k of the window (b) published N values with value k, so after the collector has
drained, ``N * ticks - rows with value in the window's ticks`` (ticks the simulator itself skipped for
being behind are reported as ``sim_skipped_ticks`` and not counted as lost). ``drain_s`` is how long
after the window the last of its values took to be committed; ``lag_ms_p50``/``lag_ms_max`` come from
the collector's health row (commit time - source time).

On a small machine the simulator (a Python OPC UA server, about one core at 12,000 values/s with a
subscriber) is the first ceiling: ``*_window_published_values_per_s`` say what it actually delivered in
each window, ``committed_vs_delivered`` how much of that the collector committed, ``*_cpu_percent`` what
each client cost. The simulator runs at niceness ``--sim-nice`` (default -5, when permitted) because it
stands for a plant server that would have a machine of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from asyncua import Client, ua
from asyncua.common.subscription import DataChangeEvent

from bench import _smoke
from collectors.service import tune_gc

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"simulator exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"simulator did not listen on port {port} within {timeout:.0f}s")


def _plant(url: str, n: int) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "site": {
            "name": "Ingest bench",
            "timezone": "UTC",
            "width_m": 100,
            "depth_m": 100,
            "shifts": [{"id": "day", "start": "00:00", "hours": 24}],
        },
        "endpoints": [{"id": "dcs", "name": "Bench DCS", "url": url}],
        "areas": [{"id": "bench", "name": "Bench"}],
        "zones": [
            {
                "id": "bench",
                "name": "Bench",
                "area": "bench",
                "polygon": [[0, 0], [100, 0], [100, 100], [0, 100]],
                "height_m": 10,
                "lec": {"l": 1, "e": 1, "c": 1},
            }
        ],
        "tags": [
            {"id": f"BENCH.{i}", "node_id": f"ns=2;s=BENCH.{i}", "endpoint": "dcs", "kind": "process"} for i in range(n)
        ],
    }


async def _read_tick(url: str, n: int) -> tuple[int, int]:
    """(tick number k of the last completed tick, values published so far)."""
    async with Client(url, timeout=10) as client:
        return await _tick_and_published(client, n)


async def _tick_and_published(client: Client, n: int) -> tuple[int, int]:
    tick, published = await client.read_values(
        [client.get_node(f"ns=2;s=BENCH.{n - 1}"), client.get_node("ns=2;s=BENCH.PUBLISHED")]
    )
    return int(tick), int(published)


def _boost(pid: int, nice: int) -> int:
    """Run the simulator at a higher priority when allowed: it plays a plant server that would have a
    machine of its own, so it should not be starved by the client under test. Returns the niceness."""
    if nice >= 0:
        return os.getpriority(os.PRIO_PROCESS, pid)
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError:
        logger.info("cannot raise the simulator's priority (needs CAP_SYS_NICE); running it at normal priority")
    return os.getpriority(os.PRIO_PROCESS, pid)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _bare(
    url: str, n: int, seconds: float, publishing_ms: float, queue_size: int, per_sub: int, warmup_s: float = 3.0
) -> tuple[float, float, float]:
    """(data changes per second, values published per second, client CPU %) over the window."""
    client = Client(url, timeout=10)
    await client.connect()
    count = 0
    try:
        subs = []
        handle = 1
        for start in range(0, n, per_sub):
            sub = await client.create_subscription(publishing_ms, queue_maxsize=0)
            subs.append(sub)
            for b in range(start, min(n, start + per_sub), 500):
                requests = []
                for i in range(b, min(n, start + per_sub, b + 500)):
                    params = ua.MonitoringParameters(
                        ClientHandle=handle, SamplingInterval=0, QueueSize=queue_size, DiscardOldest=True
                    )
                    handle += 1
                    requests.append(
                        ua.MonitoredItemCreateRequest(
                            ItemToMonitor=ua.ReadValueId(
                                NodeId=ua.NodeId(f"BENCH.{i}", 2), AttributeId=ua.AttributeIds.Value
                            ),
                            MonitoringMode=ua.MonitoringMode.Reporting,
                            RequestedParameters=params,
                        )
                    )
                await sub.create_monitored_items(requests)

        async def consume(sub: Any) -> None:
            nonlocal count
            async for ev in sub:
                if type(ev) is DataChangeEvent:
                    count += 1

        tasks = [asyncio.create_task(consume(s)) for s in subs]
        await asyncio.sleep(warmup_s)  # initial values and warm-up
        _, p0 = await _tick_and_published(client, n)
        c0, t0, cpu0 = count, time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)
        c1, t1, cpu1 = count, time.monotonic(), time.process_time()
        _, p1 = await _tick_and_published(client, n)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return (c1 - c0) / (t1 - t0), (p1 - p0) / (t1 - t0), 100 * (cpu1 - cpu0) / (t1 - t0)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), 10)


def _count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM sample").fetchone()[0])


def _window_rows(db: Path, ka: int, kb: int) -> tuple[int, int]:
    """(rows, distinct ticks) committed for ticks ka..kb."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        rows, ticks = conn.execute(
            "SELECT count(*), count(DISTINCT value) FROM sample WHERE value BETWEEN ? AND ?", (float(ka), float(kb))
        ).fetchone()
        return int(rows), int(ticks)


def _health(db: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM collector_health WHERE endpoint = 'dcs'").fetchone()
        return dict(row) if row is not None else {}


def _full(url: str, n: int, seconds: float, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    plant_file = tmp / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(_plant(url, n)))
    db = tmp / "bench.db"
    log = tmp / "collector.log"
    cmd = [
        sys.executable, "-m", "collectors", "--plant", str(plant_file), "--db", f"sqlite:///{db}",
        "--spool-dir", str(tmp / "spool"), "--publishing-ms", str(args.publishing_ms),
        "--queue-size", str(args.queue_size), "--items-per-subscription", str(args.per_sub),
        "--batch-max", str(args.batch_max), "--batch-ms", str(args.batch_ms), "--log-level", "WARNING",
        "--gc-threshold", str(args.gc_threshold),
    ]  # fmt: skip
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=fh)
    try:
        t_start = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"collector exited with {proc.returncode}: {log.read_text()[-2000:]}")
            if db.exists():
                with contextlib.suppress(sqlite3.Error):
                    if _count(db) >= n:
                        break
            if time.monotonic() - t_start > 120:
                raise TimeoutError("collector did not start writing within 120 s")
            time.sleep(0.5)
        time.sleep(args.warmup)
        k0, p0 = asyncio.run(_read_tick(url, n))
        c0, t0, cpu0 = _count(db), time.monotonic(), _cpu_seconds(proc.pid)
        time.sleep(seconds)
        c1, t1, cpu1 = _count(db), time.monotonic(), _cpu_seconds(proc.pid)
        k1, p1 = asyncio.run(_read_tick(url, n))
        committed_rate = (c1 - c0) / (t1 - t0)
        ka, kb = k0 + 1, k1
        expected_ticks = kb - ka + 1
        # drain: every tick of the window that reached the database is complete, the last one included
        # (the collector writes in order), or nothing has moved for 10 s
        last, still_since = -1, time.monotonic()
        while True:
            rows, ticks = _window_rows(db, ka, kb)
            if rows == n * ticks and _window_rows(db, kb, kb)[0] == n:
                break
            if rows != last:
                last, still_since = rows, time.monotonic()
            elif time.monotonic() - still_since > 10:
                break
            time.sleep(0.2)
        drain_s = time.monotonic() - t1
        time.sleep(2.5)  # one more health report
        health = _health(db)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    errors = [line for line in log.read_text().splitlines() if " ERROR " in line or "Traceback" in line]
    return {
        "committed_values_per_s": committed_rate,
        "published_values_per_s": (p1 - p0) / (t1 - t0),
        "collector_cpu_percent": 100 * (cpu1 - cpu0) / (t1 - t0),
        "window_ticks": expected_ticks,
        "window_rows": rows,
        "window_ticks_seen": ticks,
        "drain_s": drain_s,
        "lag_ms_p50": health.get("lag_ms_p50"),
        "lag_ms_max": health.get("lag_ms_max"),
        "collector_health": {k: health.get(k) for k in ("received", "written", "spooled", "duplicates", "rejected")},
        "collector_errors": errors[:5],
        "collector_exit": proc.returncode,
    }


@contextlib.contextmanager
def _simulator(n: int, hz: float, nice: int, log: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """The simulator in bench mode in its own process: yields (url, niceness, stats filled in at exit)."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "simulator", "--bench-tags", str(n), "--bench-hz", str(hz),
        "--dcs-port", str(port), "--host", "127.0.0.1", "--log-level", "WARNING",
    ]  # fmt: skip
    with open(log, "wb") as err:
        sim = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    stats: dict[str, Any] = {}
    try:
        niceness = _boost(sim.pid, nice)
        _wait_port(port, sim)
        time.sleep(1.0)
        yield f"opc.tcp://127.0.0.1:{port}/smeltwatch/dcs", niceness, stats
    finally:
        sim.send_signal(signal.SIGTERM)
        try:
            out, _ = sim.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            sim.kill()
            out, _ = sim.communicate()
        for line in out.decode(errors="replace").splitlines()[::-1]:
            with contextlib.suppress(ValueError):
                stats.update(json.loads(line))
                break


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench ingest")
    p.add_argument("--quick", action="store_true", help="short windows (under a minute)")
    _smoke.add_flag(p)
    p.add_argument("--tags", type=int, default=None, help="default 2,000 (smoke 50)")
    p.add_argument("--hz", type=float, default=None, help="default 6 (smoke 2)")
    p.add_argument("--seconds", type=float, default=None, help="measurement window (default 20, quick 8, smoke 2)")
    p.add_argument("--warmup", type=float, default=None, help="seconds before each window (default 3, smoke 1)")
    p.add_argument("--publishing-ms", type=float, default=500.0)
    p.add_argument("--queue-size", type=int, default=100)
    p.add_argument("--per-sub", type=int, default=1000, help="monitored items per subscription")
    p.add_argument("--batch-max", type=int, default=20_000)
    p.add_argument("--batch-ms", type=int, default=1000)
    p.add_argument("--gc-threshold", type=int, default=50_000, help="as python -m collectors --gc-threshold")
    p.add_argument("--sim-nice", type=int, default=-5, help="simulator niceness when permitted (0: leave it)")
    args = p.parse_args(argv)
    seconds = args.seconds or (2.0 if args.smoke else 8.0 if args.quick else 20.0)
    args.tags = n = args.tags or (50 if args.smoke else 2000)
    args.hz = args.hz or (2.0 if args.smoke else 6.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.smoke else 3.0)

    with tempfile.TemporaryDirectory(prefix="sw-bench-ingest-") as tmpdir:
        tmp = Path(tmpdir)
        # a fresh simulator for each client, so that neither measures the other's leftovers
        with _simulator(n, args.hz, args.sim_nice, tmp / "simulator-bare.log") as (url, _, _):
            # the same garbage-collector setting as the collector process, so the baseline is fair
            saved = gc.get_threshold()
            tune_gc(args.gc_threshold)
            try:
                bare, bare_published, bare_cpu = asyncio.run(
                    _bare(url, n, seconds, args.publishing_ms, args.queue_size, args.per_sub, args.warmup)
                )
            finally:
                gc.set_threshold(*saved)
                gc.unfreeze()
        with _simulator(n, args.hz, args.sim_nice, tmp / "simulator-collector.log") as (url, sim_nice, sim_stats):
            full = _full(url, n, seconds, args, tmp)
    skipped = int(sim_stats.get("skipped_ticks", 0))  # the collector phase's simulator
    ticks, seen, rows = full["window_ticks"], full["window_ticks_seen"], full["window_rows"]
    published_ticks = seen + max(0, ticks - seen - skipped)  # ticks missing entirely beyond the sim's skips
    lost = n * published_ticks - rows
    committed = full["committed_values_per_s"]
    figures: dict[str, Any] = {
        "tags": n,
        "hz": args.hz,
        "offered_values_per_s": n * args.hz,
        "seconds": seconds,
        "publishing_ms": args.publishing_ms,
        "batch_ms": args.batch_ms,
        "gc_threshold": args.gc_threshold,
        "bare_asyncua_values_per_s": round(bare, 1),
        "bare_window_published_values_per_s": round(bare_published, 1),
        "bare_client_cpu_percent": round(bare_cpu, 1),
        "committed_values_per_s": round(committed, 1),
        "collector_window_published_values_per_s": round(full["published_values_per_s"], 1),
        "collector_cpu_percent": round(full["collector_cpu_percent"], 1),
        "ratio": round(committed / bare, 3) if bare else None,
        "lost": lost,
        "published_in_window": n * published_ticks,
        "committed_in_window": rows,
        "drain_s": round(full["drain_s"], 2),
        "lag_ms_p50": full["lag_ms_p50"],
        "lag_ms_max": full["lag_ms_max"],
        "sim_skipped_ticks": skipped,
        "sim_nice": sim_nice,
        "committed_vs_delivered": round(committed / full["published_values_per_s"], 3)
        if full["published_values_per_s"]
        else None,
        "collector_health": full["collector_health"],
        "collector_exit": full["collector_exit"],
        "cpus": os.cpu_count(),
    }
    if full["collector_errors"]:
        figures["collector_errors"] = full["collector_errors"]
    logger.info("ingest bench: %s", figures)
    return _smoke.mark(figures, args.smoke)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.stdout.write(json.dumps(main(sys.argv[1:]), sort_keys=True) + "\n")
