"""The single batch writer: one task fed by an asyncio queue, SQL in a worker thread, spool on failure.

Recorder-style: coordinators call :meth:`BatchWriter.submit` with validated :class:`Chunk` s; the writer
task takes up to ``batch_max`` values or waits at most ``batch_ms``, and hands the batch to one worker
thread, which writes it in one ``session_scope`` (``write_samples``, ``write_positions``, ``add_event``).
The event loop never runs SQL; sqlite3 and psycopg release the GIL while the database works.

When the database is unavailable (``OperationalError`` and friends: locked, read-only, server down) the
batch goes to the on-disk :class:`~collectors.spool.Spool` instead; after that the database is retried
with backoff. Once it answers again the spool is replayed oldest segment first, in transactions of up to
``replay_txn_values`` values, before any new batch is written directly (new batches are spooled behind
the backlog meanwhile); a segment is deleted only after all its rows are committed. The store is
idempotent on ``(tag, ts)`` / ``(badge, ts)`` and events are looked up before they are added (they are
rare), so a crash in the middle of a replay never duplicates anything. A record the database refuses for
another reason (a bug, not an outage) is moved to ``quarantine.bad`` in the spool directory instead of
blocking the spool forever.

If the database hangs rather than fails, values pile up in memory; above ``max_queue_values`` the oldest
queued chunks are spooled from a second thread so that memory stays bounded and a crash loses little.

Every ``health_interval_s`` the per-endpoint counters go to ``collector_health`` (when the database is
up) and to the log (DEBUG; INFO every ``log_interval_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, exc
from sqlalchemy.orm import Session

from collectors.health import EndpointHealth
from collectors.records import Chunk, EventIn
from collectors.spool import MAGIC, Spool, decode_chunk, encode_chunk
from engine.clock import now_ms
from engine.thinning import PositionThinning
from engine.types import BACKFILLED
from store.db import is_sqlite, make_engine, session_scope
from store.events import add_event, events_between
from store.health import upsert_health
from store.positions import write_positions
from store.samples import write_samples_counted

logger = logging.getLogger(__name__)

# Errors that mean "the database is not there right now" (as opposed to "this batch is wrong").
UNAVAILABLE: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_unavailable(error: BaseException) -> bool:
    return isinstance(error, UNAVAILABLE)


@dataclass
class WriterOptions:
    batch_max: int = 5000
    batch_ms: int = 250
    health_interval_s: float = 2.0
    log_interval_s: float = 30.0
    max_queue_values: int = 500_000
    replay_budget_s: float = 2.0
    replay_txn_values: int = 50_000
    retry_min_s: float = 0.5
    retry_max_s: float = 5.0
    busy_timeout_ms: int | None = None  # SQLite: override store.db's busy timeout for the writer
    segment_bytes: int = 4 * 1024 * 1024
    fsync_interval_s: float = 1.0
    # position thinning (engine.thinning): a badge's fix goes to the history when it moved this far since the
    # last stored one or this long passed; 0 and 0: every fix is stored
    position_min_distance_m: float = 0.0
    position_max_interval_s: float = 0.0


@dataclass
class WriterStats:
    batches: int = 0
    direct_values: int = 0
    spooled_values: int = 0
    replayed_values: int = 0
    replay_duplicates: int = 0
    quarantined_records: int = 0
    overflow_spools: int = 0
    db_failures: int = 0


class BatchWriter:
    def __init__(
        self, url: str, spool_dir: Path, options: WriterOptions | None = None, *, engine: Engine | None = None
    ) -> None:
        self.url = url
        self.options = options or WriterOptions()
        self.engine = engine if engine is not None else make_engine(url)
        if self.options.busy_timeout_ms is not None and is_sqlite(url):
            timeout = int(self.options.busy_timeout_ms)

            def _busy(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={timeout}")
                cur.close()

            event.listen(self.engine, "connect", _busy)
        self.spool = Spool(
            spool_dir, segment_bytes=self.options.segment_bytes, fsync_interval_s=self.options.fsync_interval_s
        )
        self.stats = WriterStats()
        o = self.options
        self.thinning = (
            PositionThinning(o.position_min_distance_m, int(o.position_max_interval_s * 1000))
            if o.position_min_distance_m > 0 or o.position_max_interval_s > 0
            else None
        )
        self.health: dict[str, EndpointHealth] = {}
        self._queue: asyncio.Queue[Chunk] = asyncio.Queue()
        self._queued = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sw-writer")
        self._overflow_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sw-spool")
        self._overflow: set[Future[None]] = set()
        self._spool_lock = threading.Lock()
        self._stopping = False
        self._busy = False
        self._down = False
        self._retry_delay = self.options.retry_min_s
        self._retry_at = 0.0
        self._last_error = ""
        self._held: list[Chunk] = []  # chunks neither the database nor the spool would take
        self._next_health = 0.0
        self._next_log = 0.0
        self._done = asyncio.Event()

    # -- loop side -----------------------------------------------------------------------------------

    def register(self, health: EndpointHealth) -> None:
        self.health[health.endpoint] = health

    @property
    def queue_depth(self) -> int:
        """Values waiting in memory for the writer."""
        return self._queued

    @property
    def db_available(self) -> bool:
        return not self._down

    def submit(self, chunk: Chunk) -> None:
        """Queue validated records (event loop thread only). Never blocks, never drops."""
        n = len(chunk)
        if n == 0:
            return
        self._queue.put_nowait(chunk)
        self._queued += n
        if self._queued > self.options.max_queue_values and self._busy and not self._stopping:
            self._spill()

    def _spill(self) -> None:
        """Spool the oldest queued chunks from a second thread while the writer thread is stuck."""
        target = self.options.max_queue_values // 2
        taken: list[Chunk] = []
        while self._queued > target:
            try:
                c = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            self._queued -= len(c)
            taken.append(c)
        if not taken:
            return
        self.stats.overflow_spools += 1
        logger.warning("writer is stuck in the database; spooling %d queued chunks to bound memory", len(taken))
        fut = self._overflow_executor.submit(self._spool_chunks, _merge(taken))
        self._overflow.add(fut)
        fut.add_done_callback(self._overflow.discard)

    async def _collect(self) -> list[Chunk] | None:
        """The next batch; [] after ``batch_ms`` without data; None once stopped and drained."""
        opts = self.options
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(self._queue.get(), opts.batch_ms / 1000)
        except TimeoutError:
            return None if self._stopping and self._queue.empty() else []
        batch = [first]
        n = len(first)
        deadline = loop.time() + opts.batch_ms / 1000
        while n < opts.batch_max:
            try:
                c = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                if self._stopping:
                    break
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    c = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            batch.append(c)
            n += len(c)
        self._queued -= n
        return batch

    async def run(self) -> None:
        """Write until :meth:`stop` is called and everything queued is in the database or the spool."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._open)
            while True:
                batch = await self._collect()
                if batch is None:
                    break
                if not batch and not self._tick_due():
                    continue
                self._busy = True
                try:
                    await loop.run_in_executor(self._executor, self._process, batch)
                finally:
                    self._busy = False
            for fut in list(self._overflow):
                await asyncio.wrap_future(fut)
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=True)
            self._overflow_executor.shutdown(wait=True)
            self._done.set()

    async def stop(self) -> None:
        """Flush everything queued (to the database, or to the spool) and end :meth:`run`."""
        self._stopping = True
        await self._done.wait()

    def _tick_due(self) -> bool:
        now = time.monotonic()
        return now >= self._next_health or (self.spool.has_pending() and (not self._down or now >= self._retry_at))

    # -- worker thread -------------------------------------------------------------------------------

    def _open(self) -> None:
        with self._spool_lock:
            self.spool.open()

    def _close(self) -> None:
        self._report(force=True)
        with self._spool_lock:
            self.spool.close()
        pending = self.spool.pending_bytes
        if pending:
            logger.info(
                "writer stopped with %d bytes spooled in %s (replayed on the next start)", pending, self.spool.dir
            )
        if self._held:
            logger.error("writer stopped with %d values it could neither write nor spool", sum(map(len, self._held)))
        self.engine.dispose()

    def _process(self, batch: list[Chunk]) -> None:
        if self._held:
            batch = self._held + batch
            self._held = []
        merged = _merge(batch)
        now = time.monotonic()
        try:
            if self._down and now < self._retry_at:
                self._spool_chunks(merged)
                return
            if self.spool.has_pending() and not self._replay(now + self.options.replay_budget_s):
                self._spool_chunks(merged)
                return
            if merged:
                self._write_direct(merged)
            self._mark_up()
        except Exception as error:
            if is_unavailable(error):
                self._mark_down(error)
            else:
                logger.exception("writing a batch failed; it is spooled and retried")
                self._last_error = f"{type(error).__name__}: {error}"
            self._spool_chunks(merged)
        finally:
            self._report()

    def _write_direct(self, merged: dict[str, Chunk]) -> None:
        results: list[tuple[str, int, int, int]] = []
        with session_scope(self.engine) as session:
            for ep, chunk in merged.items():
                inserted, dups, backfilled = self._write_chunk(session, chunk)
                results.append((ep, inserted, dups, backfilled))
        commit_ms = now_ms()
        self.stats.batches += 1
        for ep, inserted, dups, backfilled in results:
            chunk = merged[ep]
            self.stats.direct_values += len(chunk)
            h = self.health.get(ep)
            if h is not None:
                h.written += inserted
                h.backfilled += backfilled
                h.store_duplicates += dups
                # values read back from history are late by design: the lag is the live path's
                live = [s.ts for s in chunk.samples if not s.quality & BACKFILLED]
                h.lag.add(commit_ms, live + [p.ts for p in chunk.positions])

    def _write_chunk(self, session: Session, chunk: Chunk) -> tuple[int, int, int]:
        """Write one endpoint's records; events already stored (a replay, a restart) are not added again.
        Positions thinned away count as written: they reached the store (the badge's current position).
        Returns (inserted, duplicates, of the inserted samples those read back from history)."""
        inserted = dups = backfilled = 0
        if chunk.samples:
            r, backfilled = write_samples_counted(session, chunk.samples)
            inserted += r.inserted
            dups += r.duplicates
        if chunk.positions:
            history = None if self.thinning is None else self.thinning.filter(chunk.positions)
            r = write_positions(session, chunk.positions, history)
            inserted += r.inserted + (0 if history is None else len(chunk.positions) - len(history))
            dups += r.duplicates
        for ev in chunk.events:
            if _event_exists(session, ev):
                dups += 1
                continue
            add_event(session, **ev._asdict())
            inserted += 1
        return inserted, dups, backfilled

    def _spool_chunks(self, merged: dict[str, Chunk]) -> None:
        if not merged:
            return
        try:
            with self._spool_lock:
                for ep, chunk in merged.items():
                    self.spool.append(encode_chunk(chunk))
                    self.stats.spooled_values += len(chunk)
                    h = self.health.get(ep)
                    if h is not None:
                        h.spooled += len(chunk)
        except OSError:
            logger.exception("spool %s is not writable; holding %d chunks in memory", self.spool.dir, len(merged))
            self._held.extend(merged.values())

    def _replay(self, deadline: float) -> bool:
        """Replay sealed segments oldest first until the deadline; True when the spool is empty."""
        with self._spool_lock:
            segs = self.spool.sealed_segments()
            if not segs and self.spool.has_pending():
                self.spool.seal()
                segs = self.spool.sealed_segments()
        for seg in segs:
            self._replay_segment(seg)
            with self._spool_lock:
                self.spool.delete(seg)
            if time.monotonic() >= deadline:
                break
        with self._spool_lock:
            empty = not self.spool.has_pending()
        if empty:
            logger.info("spool replayed: %d values so far", self.stats.replayed_values)
        return empty

    def _replay_segment(self, seg: Path) -> None:
        group: list[tuple[bytes, Chunk]] = []
        size = 0
        with self._spool_lock:
            records = list(self.spool.read(seg))
        for payload in records:
            try:
                chunk = decode_chunk(payload)
            except Exception:
                logger.exception("undecodable spool record in %s", seg.name)
                self._quarantine(payload)
                continue
            group.append((payload, chunk))
            size += len(chunk)
            if size >= self.options.replay_txn_values:
                self._replay_group(group)
                group, size = [], 0
        if group:
            self._replay_group(group)
        logger.info("replayed spool segment %s (%d records)", seg.name, len(records))

    def _replay_group(self, group: list[tuple[bytes, Chunk]]) -> None:
        try:
            self._write_replay([c for _, c in group])
            return
        except Exception as error:
            if is_unavailable(error) or len(group) == 1:
                if is_unavailable(error):
                    raise
                logger.exception("the database refuses a spooled record")
                self._quarantine(group[0][0])
                return
        for item in group:  # find the record that the database refuses
            self._replay_group([item])

    def _write_replay(self, chunks: list[Chunk]) -> None:
        results: list[tuple[str, int, int, int, int]] = []
        with session_scope(self.engine) as session:
            for chunk in chunks:
                inserted, dups, backfilled = self._write_chunk(session, chunk)
                results.append((chunk.endpoint, inserted, dups, backfilled, len(chunk)))
        for ep, inserted, dups, backfilled, n in results:
            self.stats.replayed_values += n
            self.stats.replay_duplicates += dups
            h = self.health.get(ep)
            if h is not None:
                h.replayed += inserted
                h.backfilled += backfilled

    def _quarantine(self, payload: bytes) -> None:
        length = struct.pack("<I", len(payload))
        frame = MAGIC + length + struct.pack("<I", zlib.crc32(payload, zlib.crc32(length))) + payload
        path = self.spool.dir / "quarantine.bad"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, frame)
        finally:
            os.close(fd)
        self.stats.quarantined_records += 1

    def _mark_down(self, error: BaseException) -> None:
        self.stats.db_failures += 1
        message = f"database unavailable: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        if not self._down:
            logger.warning("%s; spooling to %s", message, self.spool.dir)
            self._retry_delay = self.options.retry_min_s
        else:
            logger.debug("%s (retry in %.1fs)", message, self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, self.options.retry_max_s)
        self._down = True
        self._last_error = message
        self._retry_at = time.monotonic() + self._retry_delay
        with contextlib.suppress(Exception):
            self.engine.dispose()  # fresh connections next time (a restarted server, a moved file)

    def _mark_up(self) -> None:
        if self._down:
            logger.info("database available again")
        self._down = False
        self._last_error = ""
        self._retry_delay = self.options.retry_min_s

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_health:
            return
        self._next_health = now + self.options.health_interval_s
        spool_bytes = self.spool.pending_bytes
        for h in self.health.values():
            h.lag.roll()
        if not self._down and self.health:
            try:
                with session_scope(self.engine) as session:
                    for ep, h in self.health.items():
                        row = h.row(queue_depth=self._queued, spool_bytes=spool_bytes)
                        if self._last_error and not row["last_error"]:
                            row["last_error"] = self._last_error
                        upsert_health(session, ep, **row)
            except Exception as error:
                if is_unavailable(error):
                    self._mark_down(error)
                else:
                    logger.exception("collector health update failed")
        level = logging.INFO if force or now >= self._next_log else logging.DEBUG
        if level == logging.INFO:
            self._next_log = now + self.options.log_interval_s
        if logger.isEnabledFor(level):
            for h in self.health.values():
                logger.log(level, "%s", h.summary(queue_depth=self._queued, spool_bytes=spool_bytes))
            s = self.stats
            logger.log(
                level,
                "writer: batches=%d direct=%d spooled=%d replayed=%d (duplicates %d) quarantined=%d torn=%d db=%s",
                s.batches,
                s.direct_values,
                s.spooled_values,
                s.replayed_values,
                s.replay_duplicates,
                s.quarantined_records,
                self.spool.stats.torn,
                "down" if self._down else "up",
            )


def _merge(chunks: Iterable[Chunk]) -> dict[str, Chunk]:
    """One chunk per endpoint, in arrival order."""
    out: dict[str, Chunk] = {}
    for c in chunks:
        m = out.get(c.endpoint)
        if m is None:
            out[c.endpoint] = m = Chunk(c.endpoint)
        m.extend(c)
    return out


def _event_exists(session: Session, ev: EventIn) -> bool:
    for row in events_between(session, ev.ts_start, ev.ts_start, [ev.kind], sources=[ev.source]):
        if (
            row.ts_start == ev.ts_start
            and row.ts_end == ev.ts_end
            and row.tag_id == ev.tag_id
            and row.badge == ev.badge
            and row.message == ev.message
        ):
            return True
    return False
