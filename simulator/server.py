"""The plant's OPC UA servers: one asyncua ``Server`` per plant endpoint (``dcs``, ``rtls``), fed by
:class:`~simulator.model.SmelterModel` in simulated time.

Address space per server: ``Objects/<area>/<equipment>/<tag>`` for equipment tags, ``Objects/<area>/<tag>``
for zone tags, ``Objects/Badges/<badge>/<tag>`` for badge tags and ``Objects/Plant/<tag>`` for the rest.
Every tag's node id is the one in the plant file (``ns=2;s=<tag id>``: the endpoint's namespace is the
first one registered after the server's own, which is checked). Variables are read-only (access level
CurrentRead) and typed: Double for numbers, Int32 for equipment state and converter phase, Boolean for SOS,
a one-dimensional Double array ``[x, y, floor]`` for badge positions.

Time: tick ``k`` happens ``k / rate`` wall seconds after the start and carries the simulated time
``start + k * speed / rate`` (seconds), which is the ``SourceTimestamp`` of the values it writes (the
``ServerTimestamp`` is the wall clock). Ticks that fall more than 5 behind are skipped, not queued.

Writes go through ``Server.write_attribute_value`` (the address-space fast path: no service-layer
request objects), one call per changed value, yielding to the event loop every few hundred writes so
that client sessions are served while a large tick is being written. The model is stepped in a worker
thread so that its computation does not block the event loop either.

Special-work permits: with ``permits_db`` (a store's URL), the simulated people file the permits the simulator
plays (``simulator.permit_jobs``) in that store as their steps come due, checked every 5 simulated seconds
(``simulator.safety.PermitClerk``); without it the crews still walk, and no permit is filed.

History (``history_values > 0``): every variable but the badge positions keeps its last ``history_values``
data changes, and none older than ``history_minutes`` of simulated time, for OPC UA HistoryRead (raw), the
way a plant's historian does (``simulator.history``; the variables' ``Historizing`` attribute and the
``HistoryRead`` bit of their access levels are set). A collector reads an outage's values back from it.
Off by default; the demo turns it on.

Stock: with ``stock_db`` (a store's URL), the demo's storekeeper and buyer (``simulator.stock.Storekeeper``) go on
writing the stock ledger there every simulated minute, as the backfill did: each shift's use issued after the shift
from what its counters counted, orders when the projected stock will not last the lead time, deliveries on their
due day. They continue from the storekeeper's newest entry, so a restart issues nothing twice.

Bench mode (``bench_tags > 0``): no plant model; the dcs server publishes ``bench_tags`` Double variables
``ns=2;s=BENCH.<n>`` (n = 0..N-1, in folders of 100 under ``Objects/Bench``), all set to the tick number
``k`` at ``bench_hz`` ticks per second, with the wall clock as source timestamp. ``published`` counts the
value changes written; the variable ``ns=2;s=BENCH.PUBLISHED`` (Int64) holds the same count for a benchmark
client to read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from asyncua import Node, Server, ua

from engine.clock import now_ms
from plant.loader import load_plant
from plant.schema import Plant, Tag, TagKind
from simulator.history import BoundedHistory
from simulator.model import SmelterModel, Value, variant_kind

logger = logging.getLogger(__name__)

DEFAULT_URLS = {
    "dcs": "opc.tcp://127.0.0.1:4840/smeltwatch/dcs",
    "rtls": "opc.tcp://127.0.0.1:4841/smeltwatch/rtls",
}
DEFAULT_NAMESPACE = "urn:smeltwatch:demo"
YIELD_EVERY = 250  # writes between yields to the event loop
MAX_BEHIND_TICKS = 5
CLERK_EVERY_MS = 5000  # simulated ms between two looks at the special-work permits due
KEEPER_EVERY_MS = 60_000  # simulated ms between two looks of the storekeeper (its events are whole minutes)
BENCH_GROUP = 100  # bench variables per folder

_VTYPE = {
    "double": ua.VariantType.Double,
    "int": ua.VariantType.Int32,
    "bool": ua.VariantType.Boolean,
    "pos": ua.VariantType.Double,
}
_GOOD = ua.StatusCode(ua.StatusCodes.Good)
_OFF_SITE = ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue)


def endpoint_url(url: str, host: str | None = None, port: int | None = None) -> str:
    """``url`` with its host and/or port replaced."""
    parts = urlsplit(url)
    hostname = host or parts.hostname or "127.0.0.1"
    netloc = f"{hostname}:{port or parts.port or 4840}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass
class _Var:
    nodeid: ua.NodeId
    server: Server
    vtype: ua.VariantType
    kind: str


@dataclass
class _Endpoint:
    id: str
    url: str
    namespace: str
    server: Server
    ns: int = 2


def _ms_to_dt(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class Simulator:
    """Both OPC UA servers and the model behind them. Use :func:`run_simulator` or start/run/stop."""

    def __init__(
        self,
        plant: Plant | None,
        *,
        seed: int = 7,
        speed: float = 1.0,
        host: str | None = None,
        ports: Mapping[str, int] | None = None,
        rate_hz: float = 1.0,
        start_ms: int | None = None,
        initial: Mapping[str, float] | None = None,
        bench_tags: int = 0,
        bench_hz: float = 1.0,
        permits_db: str | None = None,
        history_values: int = 0,
        history_minutes: float = 30.0,
        stock_db: str | None = None,
    ) -> None:
        if speed <= 0 or rate_hz <= 0 or bench_hz <= 0:
            raise ValueError("speed, rate and bench rate must be positive")
        self.plant = plant
        self.seed = seed
        self.speed = speed
        self.rate_hz = bench_hz if bench_tags else rate_hz
        self.bench_tags = bench_tags
        self._fixed_start = start_ms is not None
        self.start_ms = int(start_ms if start_ms is not None else time.time() * 1000)
        self._initial = initial
        self.model: SmelterModel | None = None  # built by start(), once the servers are initialised
        ports = dict(ports or {})
        specs: list[tuple[str, str, str]] = []
        if plant is not None and not bench_tags:
            specs = [(e.id, e.url, e.namespace) for e in plant.endpoints]
        else:
            dcs = next((e for e in plant.endpoints if e.id == "dcs"), None) if plant is not None else None
            specs = [("dcs", dcs.url if dcs else DEFAULT_URLS["dcs"], dcs.namespace if dcs else DEFAULT_NAMESPACE)]
        self.endpoints: dict[str, _Endpoint] = {}
        for eid, url, namespace in specs:
            full = endpoint_url(url, host, ports.get(eid))
            self.endpoints[eid] = _Endpoint(eid, full, namespace, Server())
        self.vars: dict[str, _Var] = {}
        self.published = 0  # value changes written (initial values included, bench: tick writes only)
        self.ticks = 0
        self.skipped_ticks = 0
        self.sim_now_ms = self.start_ms
        self.step_ms_max = 0.0
        self.write_ms_max = 0.0
        self._stop = asyncio.Event()
        self._tick_cond: asyncio.Condition | None = None
        self._bench_nodes: list[ua.NodeId] = []
        self._bench_counter: ua.NodeId | None = None
        self.bench_values: deque[int] = deque(maxlen=10_000)  # the latest tick numbers bench mode published
        self._started = False
        self.permits_db = None if bench_tags else permits_db
        self._clerk: Any = None
        self._clerk_db: Any = None
        self._clerk_at = 0  # simulated time of the clerk's last look
        self.permit_steps = 0  # permit steps filed
        self.history_values = 0 if bench_tags else max(0, int(history_values))
        self.history_minutes = history_minutes
        self.stock_db = None if bench_tags else stock_db
        self._keeper: Any = None
        self._keeper_db: Any = None
        self._keeper_at = 0  # simulated time of the storekeeper's last look
        self.stock_entries = 0  # ledger entries written

    # ------------------------------------------------------------------------------------------ urls

    @property
    def urls(self) -> dict[str, str]:
        return {eid: ep.url for eid, ep in self.endpoints.items()}

    def url(self, endpoint: str) -> str:
        return self.endpoints[endpoint].url

    # ------------------------------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Initialise both servers, build their address spaces, publish the initial values, listen."""
        self._tick_cond = asyncio.Condition()
        await asyncio.gather(*(self._init_server(ep) for ep in self.endpoints.values()))
        if self.bench_tags:
            await self._build_bench()
        else:
            assert self.plant is not None
            if not self._fixed_start:  # server start-up takes seconds: the simulated clock starts now
                self.start_ms = now_ms()
            self.sim_now_ms = self.start_ms
            self.model = await asyncio.to_thread(
                SmelterModel, self.plant, seed=self.seed, start_ms=self.start_ms, initial=self._initial
            )
            await self._build_plant(self.plant)
            if self.history_values:
                await self._historize()
            if self.permits_db:
                from simulator.safety import PermitClerk
                from store.db import make_engine

                self._clerk = PermitClerk(self.plant, self.seed)
                self._clerk_db = make_engine(self.permits_db)
            if self.stock_db:
                from simulator.stock import Storekeeper
                from store.db import make_engine

                self._keeper = Storekeeper(self.plant, self.seed)
                self._keeper_db = make_engine(self.stock_db)
        for ep in self.endpoints.values():
            await ep.server.start()
        self._started = True
        for ep in self.endpoints.values():
            logger.info("OPC UA server %s listening on %s", ep.id, ep.url)
        if self.bench_tags:
            logger.info("bench mode: %d tags at %.3g Hz on %s", self.bench_tags, self.rate_hz, self.url("dcs"))
        else:
            logger.info(
                "simulating %d tags from %s, seed %d, speed %gx, %.3g Hz",
                len(self.vars),
                _ms_to_dt(self.start_ms).isoformat(timespec="seconds"),
                self.seed,
                self.speed,
                self.rate_hz,
            )

    async def _init_server(self, ep: _Endpoint) -> None:
        server = ep.server
        await server.init()
        server.set_endpoint(ep.url)
        server.set_server_name(f"SmeltWatch simulator ({ep.id})")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ep.ns = await server.register_namespace(ep.namespace)

    def _check_ns(self, tag_id: str, nodeid: ua.NodeId, ep: _Endpoint) -> None:
        if nodeid.NamespaceIndex != ep.ns:
            raise ValueError(
                f"tag {tag_id}: node id {nodeid.to_string()} is in namespace {nodeid.NamespaceIndex}, but "
                f"{ep.namespace} got index {ep.ns} on {ep.id}"
            )

    async def _build_plant(self, plant: Plant) -> None:
        assert self.model is not None
        areas = {a.id: a for a in plant.areas}
        zone_area = {z.id: z.area for z in plant.zones}
        equipment = {e.id: e for e in plant.equipment}
        objects = ua.NodeId(ua.ObjectIds.ObjectsFolder)
        for ep in self.endpoints.values():
            tree = _Tree(ep.ns)
            for tag in (t for t in plant.tags if t.endpoint == ep.id):
                if tag.badge is not None:
                    parent = tree.folder(f"badge:{tag.badge}", tag.badge, tree.folder("badges", "Badges", objects))
                elif tag.equipment is not None:
                    eq = equipment[tag.equipment]
                    area = areas[zone_area[eq.zone]]
                    parent = tree.folder(
                        f"equipment:{eq.id}", eq.id, tree.folder(f"area:{area.id}", area.name, objects)
                    )
                elif tag.zone is not None:
                    area = areas[zone_area[tag.zone]]
                    parent = tree.folder(f"area:{area.id}", area.name, objects)
                else:
                    parent = tree.folder("plant", "Plant", objects)
                nodeid = ua.NodeId.from_string(tag.node_id)
                if getattr(nodeid, "NamespaceUri", None) == ep.namespace:  # nsu=<uri>;...: this server's index
                    nodeid = ua.NodeId(nodeid.Identifier, ua.Int16(ep.ns), nodeid.NodeIdType)
                self._check_ns(tag.id, nodeid, ep)
                kind = variant_kind(tag)
                tree.items.append(_variable_item(nodeid, parent, tag, kind, ep.ns))
                if kind == "double":  # what a DCS's analog items carry, and what the tag import reads
                    tree.items.extend(_analog_properties(nodeid, tag, ep.ns))
                self.vars[tag.id] = _Var(nodeid, ep.server, _VTYPE[kind], kind)
            results = await ep.server.iserver.isession.add_nodes(tree.items)
            for item, res in zip(tree.items, results, strict=True):
                if not res.StatusCode.is_good():
                    nid = item.RequestedNewNodeId.to_string()
                    raise RuntimeError(f"{ep.id}: cannot add node {nid}: {res.StatusCode}")
        await self._publish(self.model.initial_values(), self.start_ms)

    async def _historize(self) -> None:
        """Keep history for every variable but the badge positions (after the initial values: they are in the
        variables, and the first change after them starts each history)."""
        period = timedelta(minutes=self.history_minutes) if self.history_minutes > 0 else None
        by_server: dict[int, list[Node]] = {}
        for var in self.vars.values():
            if var.kind != "pos":
                by_server.setdefault(id(var.server), []).append(var.server.get_node(var.nodeid))
        for ep in self.endpoints.values():
            nodes = by_server.get(id(ep.server), [])
            if not nodes:
                continue
            ep.server.iserver.history_manager.set_storage(BoundedHistory())
            await ep.server.historize_node_data_change(nodes, period=period or timedelta(0), count=self.history_values)
            logger.info(
                "%s keeps history of %d variables: the last %d values, %g simulated minutes at most",
                ep.id,
                len(nodes),
                self.history_values,
                self.history_minutes,
            )

    async def _build_bench(self) -> None:
        ep = self.endpoints["dcs"]
        objects = ua.NodeId(ua.ObjectIds.ObjectsFolder)
        parent = ua.NodeId("folder:bench", ep.ns)
        items = [_folder_item(parent, objects, "Bench", ep.ns)]
        group = parent
        for n in range(self.bench_tags):
            if n % BENCH_GROUP == 0:  # asyncua checks a parent's references linearly: keep folders small
                group = ua.NodeId(f"folder:bench:{n // BENCH_GROUP}", ep.ns)
                items.append(_folder_item(group, parent, f"Group{n // BENCH_GROUP:04d}", ep.ns))
            nid = ua.NodeId(f"BENCH.{n}", ep.ns)
            items.append(_raw_variable_item(nid, group, f"BENCH.{n}", ua.Variant(0.0, ua.VariantType.Double), ep.ns))
            self._bench_nodes.append(nid)
        self._bench_counter = ua.NodeId("BENCH.PUBLISHED", ep.ns)
        items.append(
            _raw_variable_item(
                self._bench_counter, parent, "BENCH.PUBLISHED", ua.Variant(0, ua.VariantType.Int64), ep.ns
            )
        )
        results = await ep.server.iserver.isession.add_nodes(items)
        for res in results:
            res.StatusCode.check()

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def stop(self) -> None:
        self._stop.set()
        if not self._started:
            return
        self._started = False
        if self._clerk_db is not None:
            self._clerk_db.dispose()
        if self._keeper_db is not None:
            self._keeper_db.dispose()
        for ep in self.endpoints.values():
            try:
                await ep.server.stop()
            except Exception:  # a half-started server must not hide the other's shutdown
                logger.exception("stopping %s", ep.id)
        logger.info("simulator stopped after %d ticks, %d values published", self.ticks, self.published)

    # ------------------------------------------------------------------------------------------ running

    async def run(self, duration_s: float | None = None) -> None:
        """Tick until :meth:`request_stop` (or ``duration_s`` wall seconds)."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate_hz
        sim_step_ms = 1000.0 * self.speed / self.rate_hz
        t0 = loop.time()
        deadline = t0 + duration_s if duration_s else None
        k = 0
        last_log = t0
        while not self._stop.is_set():
            k += 1
            due = t0 + k * period
            if deadline is not None and due > deadline:
                break
            delay = due - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                    break
                except TimeoutError:
                    pass
            behind = loop.time() - due
            if behind > MAX_BEHIND_TICKS * period:
                skip = int(behind / period)
                k += skip
                self.skipped_ticks += skip
                logger.warning("simulator is %.1f s behind; skipping %d tick(s)", behind, skip)
            if self.bench_tags:
                await self._bench_tick(k)
            else:
                await self._tick(self.start_ms + round(k * sim_step_ms))
            self.ticks += 1
            assert self._tick_cond is not None
            async with self._tick_cond:
                self._tick_cond.notify_all()
            now = loop.time()
            if now - last_log >= 60:
                last_log = now
                logger.info(
                    "tick %d, simulated %s, %d values published, step max %.1f ms, write max %.1f ms",
                    self.ticks,
                    _ms_to_dt(self.sim_now_ms).isoformat(timespec="seconds"),
                    self.published,
                    self.step_ms_max,
                    self.write_ms_max,
                )
                self.step_ms_max = self.write_ms_max = 0.0

    async def wait_ticks(self, n: int = 1, timeout: float = 30.0) -> None:
        """Wait until ``n`` more ticks have been published."""
        assert self._tick_cond is not None
        target = self.ticks + n
        async with asyncio.timeout(timeout), self._tick_cond:
            await self._tick_cond.wait_for(lambda: self.ticks >= target)

    async def _tick(self, sim_ms: int) -> None:
        assert self.model is not None
        t = time.perf_counter()
        changes = await asyncio.to_thread(self.model.step, sim_ms)
        t1 = time.perf_counter()
        self.sim_now_ms = sim_ms
        await self._publish(changes, sim_ms)
        self.step_ms_max = max(self.step_ms_max, (t1 - t) * 1000)
        self.write_ms_max = max(self.write_ms_max, (time.perf_counter() - t1) * 1000)
        if self._clerk is not None and sim_ms - self._clerk_at >= CLERK_EVERY_MS:
            self._clerk_at = sim_ms
            await asyncio.to_thread(self._file_permits, sim_ms)
        if self._keeper is not None and sim_ms - self._keeper_at >= KEEPER_EVERY_MS:
            self._keeper_at = sim_ms
            await asyncio.to_thread(self._keep_stock, sim_ms)

    def _file_permits(self, sim_ms: int) -> None:
        from store.db import session_scope

        try:
            with session_scope(self._clerk_db) as session:
                self.permit_steps += self._clerk.play(session, sim_ms)
        except Exception:  # the store unavailable: the next look tries again
            logger.warning("filing the special-work permits failed", exc_info=True)

    def _keep_stock(self, sim_ms: int) -> None:
        from store.db import session_scope

        try:
            with session_scope(self._keeper_db) as session:
                self.stock_entries += self._keeper.play(session, sim_ms)
        except Exception:  # the store unavailable: the keeper finds its place in the store again next time
            self._keeper.cursor = None
            logger.warning("writing the stock ledger failed", exc_info=True)

    async def _publish(self, changes: Mapping[str, Value], sim_ms: int) -> None:
        assert self.model is not None
        src = _ms_to_dt(sim_ms)
        srv = datetime.now(UTC)
        model = self.model
        n = 0
        for tag_id, value in changes.items():
            var = self.vars.get(tag_id)
            if var is None:
                continue
            status = _GOOD
            if var.kind == "pos" and model.off_site(tag_id):
                status = _OFF_SITE
            elif tag_id in model.maint_incidents and (code := model.status(tag_id)):
                status = ua.StatusCode(code)
            dv = ua.DataValue(
                Value=ua.Variant(value, var.vtype),
                StatusCode=status,
                SourceTimestamp=src,
                ServerTimestamp=srv,
            )
            await var.server.write_attribute_value(var.nodeid, dv)
            n += 1
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.published += n

    async def _bench_tick(self, k: int) -> None:
        ep = self.endpoints["dcs"]
        now = datetime.now(UTC)
        t = time.perf_counter()
        variant = ua.Variant(float(k), ua.VariantType.Double)
        server = ep.server
        for n, nid in enumerate(self._bench_nodes, 1):
            await server.write_attribute_value(
                nid, ua.DataValue(Value=variant, SourceTimestamp=now, ServerTimestamp=now)
            )
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        self.published += len(self._bench_nodes)
        self.bench_values.append(k)
        assert self._bench_counter is not None
        await server.write_attribute_value(
            self._bench_counter,
            ua.DataValue(Value=ua.Variant(self.published, ua.VariantType.Int64), SourceTimestamp=now),
        )
        self.write_ms_max = max(self.write_ms_max, (time.perf_counter() - t) * 1000)

    def stats(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "ticks": self.ticks,
            "skipped_ticks": self.skipped_ticks,
            "bench_tags": self.bench_tags,
            "rate_hz": self.rate_hz,
            "sim_now_ms": self.sim_now_ms,
        }


class _Tree:
    """Folders created on demand plus the variables, to be added in one AddNodes call."""

    def __init__(self, ns: int) -> None:
        self.ns = ns
        self.items: list[ua.AddNodesItem] = []
        self.folders: dict[str, ua.NodeId] = {}

    def folder(self, key: str, name: str, parent: ua.NodeId) -> ua.NodeId:
        if key not in self.folders:
            nid = ua.NodeId(f"folder:{key}", self.ns)
            self.items.append(_folder_item(nid, parent, name, self.ns))
            self.folders[key] = nid
        return self.folders[key]


def _folder_item(nodeid: ua.NodeId, parent: ua.NodeId, name: str, ns: int) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = nodeid
    item.BrowseName = ua.QualifiedName(name, ns)
    item.ParentNodeId = parent
    item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.Organizes)
    item.NodeClass = ua.NodeClass.Object
    item.TypeDefinition = ua.NodeId(ua.ObjectIds.FolderType)
    attrs = ua.ObjectAttributes()
    attrs.EventNotifier = 0
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.Description = ua.LocalizedText(name)
    attrs.WriteMask = 0
    attrs.UserWriteMask = 0
    item.NodeAttributes = attrs
    return item


def _raw_variable_item(
    nodeid: ua.NodeId,
    parent: ua.NodeId,
    name: str,
    value: ua.Variant,
    ns: int,
    description: str = "",
    array_len: int | None = None,
) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = nodeid
    item.BrowseName = ua.QualifiedName(name, ns)
    item.ParentNodeId = parent
    item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.Organizes)
    item.NodeClass = ua.NodeClass.Variable
    item.TypeDefinition = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.Description = ua.LocalizedText(description or name)
    attrs.DataType = ua.NodeId(getattr(ua.ObjectIds, value.VariantType.name))
    attrs.Value = value
    if array_len is None:
        attrs.ValueRank = ua.ValueRank.Scalar
        attrs.ArrayDimensions = None
    else:
        attrs.ValueRank = ua.ValueRank.OneDimension
        attrs.ArrayDimensions = [array_len]
    attrs.WriteMask = 0
    attrs.UserWriteMask = 0
    attrs.Historizing = False
    attrs.AccessLevel = ua.AccessLevel.CurrentRead.mask
    attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    item.NodeAttributes = attrs
    return item


def _variable_item(nodeid: ua.NodeId, parent: ua.NodeId, tag: Tag, kind: str, ns: int) -> ua.AddNodesItem:
    initial: dict[str, ua.Variant] = {
        "double": ua.Variant(0.0, ua.VariantType.Double),
        "int": ua.Variant(0, ua.VariantType.Int32),
        "bool": ua.Variant(False, ua.VariantType.Boolean),
        "pos": ua.Variant([0.0, 0.0, 0.0], ua.VariantType.Double),
    }
    description = tag.description or f"{tag.kind.value} {tag.unit}".strip()
    return _raw_variable_item(
        nodeid,
        parent,
        tag.id,
        initial[kind],
        ns,
        description=description,
        array_len=3 if tag.kind == TagKind.POSITION else None,
    )


UNITS_URI = "http://www.opcfoundation.org/UA/units/un/cefact"


def _property_item(owner: ua.NodeId, name: str, value: ua.Variant, data_type: int, ns: int) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = ua.NodeId(f"{owner.Identifier}#{name}", ns)  # '#' is never in a tag id
    item.BrowseName = ua.QualifiedName(name, 0)
    item.ParentNodeId = owner
    item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasProperty)
    item.NodeClass = ua.NodeClass.Variable
    item.TypeDefinition = ua.NodeId(ua.ObjectIds.PropertyType)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(name)
    attrs.DataType = ua.NodeId(data_type)
    attrs.Value = value
    attrs.ValueRank = ua.ValueRank.Scalar
    attrs.WriteMask = 0
    attrs.UserWriteMask = 0
    attrs.AccessLevel = ua.AccessLevel.CurrentRead.mask
    attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
    item.NodeAttributes = attrs
    return item


def _analog_properties(nodeid: ua.NodeId, tag: Tag, ns: int) -> list[ua.AddNodesItem]:
    """``EngineeringUnits`` and ``EURange`` (OPC UA Part 8 AnalogItem properties) where the plant file has them."""
    items = []
    if tag.unit:
        eu = ua.EUInformation(
            NamespaceUri=UNITS_URI,
            UnitId=-1,
            DisplayName=ua.LocalizedText(tag.unit),
            Description=ua.LocalizedText(tag.unit),
        )
        items.append(_property_item(nodeid, "EngineeringUnits", ua.Variant(eu), ua.ObjectIds.EUInformation, ns))
    if tag.range is not None:
        rng = ua.Range(Low=float(tag.range[0]), High=float(tag.range[1]))
        items.append(_property_item(nodeid, "EURange", ua.Variant(rng), ua.ObjectIds.Range, ns))
    return items


def resolve_plant(plant: Plant | str | Path | None) -> Plant:
    if isinstance(plant, Plant):
        return plant
    return load_plant(plant)


@asynccontextmanager
async def run_simulator(
    plant: Plant | str | Path | None = None,
    *,
    seed: int = 7,
    speed: float = 1.0,
    host: str | None = "127.0.0.1",
    dcs_port: int | None = None,
    rtls_port: int | None = None,
    rate_hz: float = 1.0,
    start_ms: int | None = None,
    initial: Mapping[str, float] | None = None,
    bench_tags: int = 0,
    bench_hz: float = 1.0,
    permits_db: str | None = None,
    history_values: int = 0,
    history_minutes: float = 30.0,
    stock_db: str | None = None,
) -> AsyncIterator[Simulator]:
    """Run both servers in this event loop for the block; yields the :class:`Simulator`
    (``sim.urls``, ``sim.model``, ``sim.wait_ticks()``, ``sim.published``).

    ``plant`` is a :class:`~plant.schema.Plant`, a plant file, or None for the demo plant (bench mode
    needs no plant).
    """
    ports = {k: v for k, v in (("dcs", dcs_port), ("rtls", rtls_port)) if v is not None}
    loaded = None if plant is None and bench_tags else resolve_plant(plant)
    sim = Simulator(
        loaded,
        seed=seed,
        speed=speed,
        host=host,
        ports=ports,
        rate_hz=rate_hz,
        start_ms=start_ms,
        initial=initial,
        bench_tags=bench_tags,
        bench_hz=bench_hz,
        permits_db=permits_db,
        history_values=history_values,
        history_minutes=history_minutes,
        stock_db=stock_db,
    )
    try:
        await sim.start()
        task = asyncio.create_task(sim.run(), name="simulator")
        try:
            yield sim
        finally:
            sim.request_stop()
            await task
    finally:
        await sim.stop()
