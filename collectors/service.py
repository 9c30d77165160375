"""The collector process: migrations, tag ids, one coordinator per endpoint and the single writer.

    async with CollectorService(plant, db_url, spool_dir=...) as service:
        ...  # collecting; leaving the block stops the coordinators and flushes the writer

Tag ids come from ``store.tags.sync_tags``; a copy is kept in the spool directory (``tags.json``) so a
collector that starts while the database is unavailable can still collect and spool (its records carry
tag ids) as long as the plant's tags are the same as last time; otherwise it waits for the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from collectors.coordinator import CoordinatorOptions, EndpointCoordinator
from collectors.records import TagInfo
from collectors.security import Pki
from collectors.spool import Spool, decode_chunk
from collectors.validate import SiteBounds, badge_speed_limits
from collectors.writer import BatchWriter, WriterOptions, is_unavailable
from plant.schema import Plant, TagKind
from settings import get_settings
from store.db import migrate, normalize_url, session_scope
from store.health import newest_stored_ts, read_health
from store.tags import sync_tags

logger = logging.getLogger(__name__)

TAG_CACHE = "tags.json"


def tune_gc(threshold: int) -> None:
    """Fewer, cheaper garbage collections for an allocation-heavy ingest loop.

    Every data change allocates a handful of short-lived objects (DataValue, Variant, datetime, SampleIn);
    with Python's default young-generation threshold (700) the collector spends about a third of its CPU
    in the cyclic GC. Objects alive after start-up (plant model, tag tables, modules) are frozen out of
    the collections; young collections run every ``threshold`` allocations.
    """
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(threshold, 20, 100)


def site_bounds(plant: Plant) -> SiteBounds:
    return SiteBounds(
        plant.site.width_m,
        plant.site.depth_m,
        max_floor=max(z.floors for z in plant.zones),
        max_speed_mps=badge_speed_limits(plant),
    )


def tag_infos(plant: Plant, ids: Mapping[str, int], endpoint: str) -> list[TagInfo]:
    return [
        TagInfo(t.id, ids[t.id], t.kind.value, t.node_id, badge=t.badge if t.kind == TagKind.POSITION else None)
        for t in plant.tags
        if t.endpoint == endpoint
    ]


def default_spool_dir(base: Path, endpoints: Iterable[str]) -> Path:
    """One spool directory per collector process (a process owns its directory through a lock)."""
    return base / "-".join(sorted(endpoints))


def _db_key(url: str) -> str:
    rendered = normalize_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(rendered.encode()).hexdigest()[:16]


class CollectorService:
    def __init__(
        self,
        plant: Plant,
        db_url: str,
        *,
        spool_dir: Path,
        endpoints: Iterable[str] | None = None,
        urls: Mapping[str, str] | None = None,
        writer_options: WriterOptions | None = None,
        coordinator_options: CoordinatorOptions | None = None,
        run_migrations: bool = True,
        pki: Pki | None = None,
    ) -> None:
        known = {e.id: e for e in plant.endpoints}
        chosen = list(endpoints) if endpoints else list(known)
        unknown = [e for e in chosen if e not in known]
        if unknown:
            raise ValueError(f"unknown endpoint(s) {', '.join(unknown)}; the plant has {', '.join(known)}")
        self.plant = plant
        self.db_url = db_url
        self.endpoint_ids = chosen
        self.endpoint_config = {e: known[e] for e in chosen}
        self.pki = pki or Pki(get_settings().pki_path)
        self.urls = {e: (urls or {}).get(e, known[e].url) for e in chosen}
        self.spool_dir = Path(spool_dir)
        self.run_migrations = run_migrations
        self.coordinator_options = coordinator_options or CoordinatorOptions()
        self.writer = BatchWriter(db_url, self.spool_dir, writer_options)
        self.coordinators: dict[str, EndpointCoordinator] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._writer_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._stopped: asyncio.Future[None] | None = None
        self._unclean: dict[str, int] = {}  # endpoint -> newest source time its killed predecessor left

    # -- start-up ------------------------------------------------------------------------------------

    def _prepare_sync(self) -> dict[str, int]:
        if self.run_migrations:
            migrate(self.db_url)
        with session_scope(self.writer.engine) as session:
            ids = sync_tags(session, self.plant)
        self._save_cache(ids)
        self._unclean = self._find_unclean_stops(ids)
        return ids

    def _find_unclean_stops(self, ids: Mapping[str, int]) -> dict[str, int]:
        """Endpoints whose previous collector did not stop cleanly (its health row still says connected: a
        clean stop reports disconnected last), with the newest source time it left, in the store or in the
        spool it had not replayed yet. Read before this collector writes anything."""
        with session_scope(self.writer.engine) as session:
            gone = {h.endpoint for h in read_health(session) if h.connected and h.endpoint in self.endpoint_ids}
            if not gone:
                return {}
            newest: dict[str, int] = {}
            for ep in sorted(gone):
                tags = tag_infos(self.plant, ids, ep)
                ts = newest_stored_ts(
                    session, [t.tag_id for t in tags if not t.is_position], [t.badge for t in tags if t.badge]
                )
                if ts is not None:
                    newest[ep] = ts
        if self.spool_dir.exists() and any(self.spool_dir.glob("*.seg")):
            with Spool(self.spool_dir) as spool:
                spool.seal()
                for seg in spool.sealed_segments():
                    for record in spool.read(seg):
                        chunk = decode_chunk(record)
                        if chunk.endpoint not in gone:
                            continue
                        times = [x.ts for x in chunk.samples] + [p.ts for p in chunk.positions]
                        if times:
                            newest[chunk.endpoint] = max(newest.get(chunk.endpoint, 0), max(times))
        return newest

    def _save_cache(self, ids: Mapping[str, int]) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        path = self.spool_dir / TAG_CACHE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"db": _db_key(self.db_url), "tags": dict(ids)}, sort_keys=True))
        os.replace(tmp, path)

    def _load_cache(self) -> dict[str, int] | None:
        try:
            raw: dict[str, Any] = json.loads((self.spool_dir / TAG_CACHE).read_text())
        except (OSError, ValueError):
            return None
        if raw.get("db") != _db_key(self.db_url):
            return None
        ids = {str(k): int(v) for k, v in raw.get("tags", {}).items()}
        return ids if all(t.id in ids for t in self.plant.tags) else None

    async def prepare(self) -> dict[str, int]:
        """Migrate and sync tags; if the database is unavailable fall back to the cached tag ids or wait."""
        loop = asyncio.get_running_loop()
        delay = 1.0
        warned = False
        while True:
            try:
                return await loop.run_in_executor(None, self._prepare_sync)
            except Exception as error:
                if not is_unavailable(error) and not isinstance(error, OSError):
                    raise
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                cached = self._load_cache()
                if cached is not None:
                    logger.warning("database unavailable at start (%s); using cached tag ids, spooling", reason)
                    return cached
                if not warned:
                    logger.warning("database unavailable at start and no cached tag ids; waiting: %s", reason)
                    warned = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                raise asyncio.CancelledError
            delay = min(delay * 2, 10.0)

    async def start(self) -> None:
        ids = await self.prepare()
        site = site_bounds(self.plant)
        for ep in self.endpoint_ids:
            tags = tag_infos(self.plant, ids, ep)
            self.coordinators[ep] = EndpointCoordinator(
                ep,
                self.urls[ep],
                tags,
                self.writer,
                site=site,
                options=self.coordinator_options,
                config=self.endpoint_config[ep],
                pki=self.pki,
            )
        for ep, last in self._unclean.items():
            self.coordinators[ep].mark_unclean_stop(last)
        self._writer_task = asyncio.create_task(self.writer.run(), name="writer")
        for ep, coord in self.coordinators.items():
            self._tasks.append(asyncio.create_task(coord.run(), name=f"coordinator-{ep}"))
        logger.info(
            "collecting %s into %s",
            ", ".join(f"{ep} ({len(c.tags)} tags, {c.url})" for ep, c in self.coordinators.items()),
            make_url(self.db_url).render_as_string(hide_password=True),
        )

    async def stop(self) -> None:
        """Stop the coordinators, then let the writer flush everything (database or spool). Idempotent."""
        if self._stopped is not None:
            await asyncio.shield(self._stopped)
            return
        self._stopped = asyncio.get_running_loop().create_future()
        try:
            await self._stop_once()
        finally:
            self._stopped.set_result(None)

    async def _stop_once(self) -> None:
        self._stop.set()
        for coord in self.coordinators.values():
            coord.stop()
        if self._tasks:
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
            for r in results:
                if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                    logger.error("coordinator ended with %r", r)
        if self._writer_task is not None:
            await self.writer.stop()
            await self._writer_task
        logger.info("collector stopped")

    async def wait(self) -> None:
        """Until a coordinator or the writer ends by itself (a bug) or :meth:`stop` is called."""
        waiters = [*self._tasks]
        if self._writer_task is not None:
            waiters.append(self._writer_task)
        stop = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait([*waiters, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    async def __aenter__(self) -> CollectorService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
