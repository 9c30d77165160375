"""A collector killed with SIGKILL and started again marks the seconds it was gone: one gap event per endpoint
from the newest value it had stored to the new collector's connection, with bad-quality markers there; a clean
stop (SIGTERM) and a start after it mark nothing."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.types import BAD_NO_COMMUNICATION
from tests import test_collector
from tests.test_collector import (
    DCS_TAGS,
    PlantServer,
    ms,
    plant_dict,
    query,
    run_async,
    tag_id,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
collector_proc = test_collector.collector_proc  # the fixture: a collector as a process


def _gaps(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT ts_start, ts_end, message, data FROM event WHERE kind = 'gap' ORDER BY id")


@run_async
async def test_sigkill_of_the_collector_is_marked_as_a_gap(
    port: int, sqlite_url: str, tmp_path: Path, collector_proc: Any
) -> None:
    srv = PlantServer(port)
    await srv.start()
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(plant_dict(port)))
    spool_dir, log = tmp_path / "spool", tmp_path / "collector.log"
    stop = asyncio.Event()
    t0 = datetime.now(UTC).replace(microsecond=0)

    async def publish() -> None:
        k = 0
        while not stop.is_set():
            ts = t0 + timedelta(milliseconds=50 * k)
            for i, tag in enumerate(DCS_TAGS):
                await srv.set(tag, 1000.0 * i + k + 1, ts)
            k += 1
            await asyncio.sleep(0.05)

    pub = asyncio.create_task(publish())
    try:
        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)

        def count() -> int:
            rows = query(sqlite_url, "SELECT count(*) FROM sample WHERE value IS NOT NULL")
            return int(rows[0][0])

        await wait_for(lambda: Path(sqlite_url.removeprefix("sqlite:///")).exists() and _table(sqlite_url), 30, "db")
        await wait_for(lambda: count() > 30, 30, "collector writing")
        await wait_for(lambda: bool(query(sqlite_url, "SELECT 1 FROM collector_health WHERE connected")), 10, "health")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        last = int(query(sqlite_url, "SELECT max(ts) FROM sample")[0][0])
        await asyncio.sleep(2.0)  # the collector is gone; the server goes on
        assert _gaps(sqlite_url) == []

        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)
        await wait_for(lambda: bool(_gaps(sqlite_url)), 60, "the gap of the killed collector")
        (start, end, message, data), *more = _gaps(sqlite_url)
        assert not more
        assert start == last + 1, "the gap starts right after the newest value the killed collector stored"
        assert end - start >= 2000 and "unclean stop" in message and '"unclean_stop": true' in data
        markers = query(sqlite_url, "SELECT tag_id, quality FROM sample WHERE ts = ? AND value IS NULL", start)
        assert {t for t, _ in markers} >= {tag_id(sqlite_url, t) for t in DCS_TAGS}  # every tag of the endpoint
        assert all(q == BAD_NO_COMMUNICATION for _, q in markers)
        n = count()
        await wait_for(lambda: count() > n + 10, 30, "collecting again")

        # a clean stop and a start after it: nothing more is marked
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        proc = await collector_proc(plant_file, sqlite_url, spool_dir, log)
        n = count()
        await wait_for(lambda: count() > n + 10, 30, "collecting after a clean restart")
        assert len(_gaps(sqlite_url)) == 1
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert ms(t0) < start
    finally:
        stop.set()
        await pub
        await srv.stop()


def _table(url: str) -> bool:
    return bool(query(url, "SELECT name FROM sqlite_master WHERE name = 'collector_health'"))
