"""One coordinator per OPC UA endpoint: connect, subscribe, validate, hand over to the writer.

Home Assistant style: the coordinator owns the connection to one device endpoint, tags are data
(:class:`~collectors.records.TagInfo` rows), and every data change ends in one path, :meth:`_on_values`,
which validates and submits a :class:`~collectors.records.Chunk` to the single writer.

Connection: an asyncua ``Client`` with ``auto_reconnect=True`` (its supervisor re-opens the channel,
re-activates or re-creates the session and restores the subscriptions with the same client handles;
``reconnect_max_delay_s`` caps its backoff so a returning server is picked up within seconds). The first
connect and any case the supervisor cannot handle go through our own retry loop with backoff.
Connection state reaches us through asyncua's client observer (``UaClient.observer``).

Subscriptions: monitored items are created in batches of ``create_batch`` with at most
``items_per_subscription`` per subscription, publishing every ``publishing_interval_ms``; each item asks
the server for a sampling queue of ``queue_size`` values so that changes faster than the publishing
interval are all delivered, and the client-side iterator queue is unbounded so nothing is dropped
between the publish loop and us. Subscriptions are consumed as async iterators.

Outages: when the connection is lost the outage start is the last data time (newest source timestamp
received, +1 ms); when it comes back one ``gap`` event (source = endpoint id, ``ts_start``, ``ts_end``) and
one marker per tag at the outage start (``value=None``, quality ``BAD_NO_COMMUNICATION``; for badge
positions the last known position with that quality) are written, so trends break visibly.

Backfill (``collectors.backfill``): after every outage closed on a connection (not at a stop), where the
plant file's endpoint allows it (``backfill: true``, the default) the span from the outage start to the
first value after the return is read back from the server's history, for the variables that keep it, and
stored through the writer like live values, marked ``BACKFILLED`` in their quality, with one ``backfill``
event (source = endpoint, the span, what was read) beside the ``gap`` event. The gap event and the markers
stay: the outage happened, and a trend still breaks at the moment the link was lost, then goes on through the
values read back; tags without history keep the whole gap. A span whose read fails (the link lost again) is
read at the next connection.

Read-only: the coordinator only opens sessions, browses, creates subscriptions and monitored items and
publishes; it never writes values and never calls methods on the plant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent, Subscription
from asyncua.observer import Observer, SubscriptionEvent

from collectors.backfill import BACKFILL, BackfillOptions, read_span, with_history
from collectors.health import EndpointHealth
from collectors.records import GAP, Chunk, EventIn, TagInfo
from collectors.security import Pki, describe, secure_client
from collectors.validate import SiteBounds, Validator
from collectors.writer import BatchWriter
from engine.clock import now_ms
from engine.types import BAD_NO_COMMUNICATION, PositionIn, SampleIn
from plant.schema import Endpoint

logger = logging.getLogger(__name__)

_BADGE_NODE = re.compile(r"^RTLS\.(?P<badge>[A-Za-z0-9][A-Za-z0-9_.\-]*)\.POS$")


@dataclass
class CoordinatorOptions:
    publishing_interval_ms: float = 500.0
    items_per_subscription: int = 1000
    create_batch: int = 500
    queue_size: int = 100  # server-side sampling queue per monitored item
    sampling_interval_ms: float = 0.0  # 0: the fastest rate the server offers
    request_timeout_s: float = 4.0
    watchdog_interval_s: float = 5.0  # health probe period and timeout: a busy server must not look dead
    reconnect_max_delay_s: float = 2.0
    connect_retry_max_s: float = 5.0
    refused_retry_s: float = 30.0  # after a security refusal (untrusted certificate, wrong password, ...)
    flush_values: int = 5000
    discover_badges: bool = True
    discover_interval_s: float = 60.0
    discover_max_nodes: int = 20_000
    event_interval_s: float = 60.0
    backfill: BackfillOptions = field(default_factory=BackfillOptions)


@dataclass
class _Outage:
    start: int  # epoch ms: last data time + 1 (or detection time when no data came yet)
    detected: int
    unclean: bool = False  # the span an earlier collector was gone without stopping cleanly (killed, crashed)


@dataclass
class _Span:
    """An outage's span still to be read back from the server's history (source time, epoch ms)."""

    start: int
    gap_end: int  # the gap event's end
    end: int | None = None  # newest source time received once values flow again after the return
    unclean: bool = False


class _StateObserver(Observer):
    """asyncua's hook for client state transitions, forwarded to the coordinator."""

    def __init__(self, coordinator: EndpointCoordinator) -> None:
        self._coordinator = coordinator

    def on_state_change(self, state: UaClientState) -> None:
        self._coordinator._state_changed(state)

    def on_subscription_event(self, subscription_id: int | None, event: SubscriptionEvent) -> None:
        if event is SubscriptionEvent.RECREATED:
            logger.info("%s: subscription %s re-created", self._coordinator.endpoint, subscription_id)


class EndpointCoordinator:
    def __init__(
        self,
        endpoint: str,
        url: str,
        tags: Sequence[TagInfo],
        writer: BatchWriter,
        *,
        site: SiteBounds | None = None,
        options: CoordinatorOptions | None = None,
        config: Endpoint | None = None,
        pki: Pki | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.url = url
        self.config = config  # the plant file's entry: security, user
        self.pki = pki
        self._namespaces: list[str] = []
        self.tags = list(tags)
        self.writer = writer
        self.options = options or CoordinatorOptions()
        self.health = EndpointHealth(endpoint=endpoint, url=url)
        self.validator = Validator(
            endpoint,
            site=site,
            event_interval_ms=int(self.options.event_interval_s * 1000),
            counters=self.health.validation,
        )
        writer.register(self.health)
        self._handles: dict[int, TagInfo] = {}
        self._by_node: dict[str, TagInfo] = {t.node_id: t for t in self.tags}
        self._discovered: list[TagInfo] = []  # badges on the server that the plant file does not list
        self._next_handle = 1
        self._pending: list[ua.MonitoredItemNotification] = []
        self._flush_scheduled = False
        self._last_data_ts: int | None = None
        self._connected = False
        self._outage: _Outage | None = None
        self._stop = asyncio.Event()
        self._stopping = False
        self._subs: list[Subscription] = []
        self.bad_nodes: dict[str, str] = {}  # node id -> status name, for items the server refused
        self.backfill_enabled = config.backfill if config is not None else True
        self._spans: list[_Span] = []  # outages to read back from the server's history, oldest first
        self._spans_due = asyncio.Event()
        self._values_flow = asyncio.Event()  # values came after an outage was closed
        self._history_tags: list[tuple[TagInfo, ua.NodeId]] | None = None  # per session: tags with history
        self._no_history = 0
        self.spans_done = 0  # outage spans looked at for backfill (read back, or no history to read)
        self.connected_event = asyncio.Event()  # set while connected (tests and the CLI wait on it)

    # -- lifecycle -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Collect until :meth:`stop`; reconnects by itself."""
        delay = 0.5
        try:
            while not self._stop.is_set():
                client = self._make_client()
                try:
                    await self._secure(client)
                    await client.connect(
                        auto_reconnect=True,
                        reconnect_max_delay=self.options.reconnect_max_delay_s,
                        reconnect_request_timeout=max(10.0, self.options.request_timeout_s),
                    )
                except Exception as error:  # refused, timed out, bad endpoint: all retried
                    reason = describe(error, self.config) if self.config is not None else None
                    if reason is not None:
                        # a person must act (trust a certificate, fix a password): retry slowly, one log line
                        self._note_refusal(reason)
                        with contextlib.suppress(Exception):
                            await client.disconnect()
                        await self._sleep(self.options.refused_retry_s)
                        continue
                    self._note_error(f"connect to {self.url} failed: {type(error).__name__}: {error}", delay)
                    await self._sleep(delay)
                    delay = min(delay * 2, self.options.connect_retry_max_s)
                    continue
                started = time.monotonic()
                try:
                    await self._session(client)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    self._note_error(f"session with {self.url} failed: {type(error).__name__}: {error}", delay)
                finally:
                    await self._teardown(client)
                # a session that fails at once (refused subscriptions, ...) must not become a tight loop
                delay = 0.5 if time.monotonic() - started > 30 else min(delay * 2, self.options.connect_retry_max_s)
                if not self._stop.is_set():
                    await self._sleep(delay)
        finally:
            self._stopping = True
            self._flush()
            if self._outage is not None:
                self._close_outage(stopped=True)
            self.health.connected = False
            self.connected_event.clear()

    def stop(self) -> None:
        self._stopping = True
        self._stop.set()

    def mark_unclean_stop(self, last_stored_ms: int) -> None:
        """The collector before this one stopped uncleanly after storing data up to ``last_stored_ms``: the span
        until the first connection of this one is an outage, written (gap event and markers) when it connects."""
        self._outage = _Outage(start=last_stored_ms + 1, detected=now_ms(), unclean=True)
        logger.warning(
            "%s: the previous collector stopped uncleanly; its data ends at %d: marking the gap",
            self.endpoint,
            last_stored_ms,
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def _make_client(self) -> Client:
        client = Client(
            self.url, timeout=self.options.request_timeout_s, watchdog_intervall=self.options.watchdog_interval_s
        )
        client.name = client.description = f"SmeltWatch collector ({self.endpoint})"
        client.session_timeout = 600_000  # what servers commonly grant; long enough to resume after a blip
        client.application_uri = f"urn:smeltwatch:collector:{self.endpoint}"
        client.uaclient.observer = _StateObserver(self)
        return client

    async def _secure(self, client: Client) -> None:
        if self.config is None:
            return
        await secure_client(
            client, self.config, self.pki or Pki(Path("pki")), url=self.url, timeout=self.options.request_timeout_s
        )

    def _note_refusal(self, reason: str) -> None:
        message = f"refused: {reason}"
        if message != self.health.last_error:
            logger.error("%s: %s", self.endpoint, message)
        self.health.last_error = message

    def _note_error(self, message: str, retry_s: float) -> None:
        if message != self.health.last_error:
            logger.warning("%s: %s (retrying every few seconds)", self.endpoint, message)
        else:
            logger.debug("%s: %s (retry in %.1fs)", self.endpoint, message, retry_s)
        self.health.last_error = message

    async def _session(self, client: Client) -> None:
        self._subs = []
        # node ids written nsu=<uri>;... are resolved against the namespace array at every connect: a server
        # that renumbered its namespaces after an upgrade must not make us read other variables
        self._namespaces = await client.get_namespace_array()
        if self.options.discover_badges and any(t.is_position for t in self.tags):
            await self._discover(client)
        await self._subscribe(client, self.tags + self._discovered)
        logger.info(
            "%s: subscribed to %d tags in %d subscription(s) at %s ms",
            self.endpoint,
            len(self._handles),
            len(self._subs),
            self.options.publishing_interval_ms,
        )
        consumers = [asyncio.create_task(self._consume(sub), name=f"consume-{self.endpoint}") for sub in self._subs]
        self._history_tags = None
        backfill = asyncio.create_task(self._backfill_loop(client), name=f"backfill-{self.endpoint}")
        waiters = [asyncio.create_task(self._stop.wait(), name=f"stop-{self.endpoint}"), *consumers]
        if self.options.discover_badges and any(t.is_position for t in self.tags):
            waiters.append(asyncio.create_task(self._rediscover(client), name=f"discover-{self.endpoint}"))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task in consumers and (exc := task.exception()) is not None:
                    raise exc
        finally:
            for task in (*waiters, backfill):
                task.cancel()
            await asyncio.gather(*waiters, backfill, return_exceptions=True)
            self._flush()

    async def _teardown(self, client: Client) -> None:
        if client.state is UaClientState.CONNECTED:
            # Deleting the subscriptions first lets asyncua's publish loop end on BadNoSubscription
            # instead of failing on a closed channel.
            for sub in self._subs:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(sub.delete(), self.options.request_timeout_s)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), self.options.request_timeout_s + 1)
        self._subs = []

    # -- subscriptions -------------------------------------------------------------------------------

    async def _subscribe(self, client: Client, tags: Sequence[TagInfo]) -> None:
        per_sub = max(1, self.options.items_per_subscription)
        self._handles.clear()
        for i in range(0, len(tags), per_sub):
            sub = await client.create_subscription(self.options.publishing_interval_ms, queue_maxsize=0)
            self._subs.append(sub)
            await self._add_items(sub, tags[i : i + per_sub])

    def resolve(self, node_id: str) -> ua.NodeId:
        """The node id to ask the server for; ``nsu=<uri>;...`` gets the uri's index on this server.

        Raises ``LookupError`` when the server has no such namespace.
        """
        parsed = ua.NodeId.from_string(node_id)
        uri = getattr(parsed, "NamespaceUri", None)
        if not uri:
            return parsed
        try:
            index = self._namespaces.index(uri)
        except ValueError:
            raise LookupError(f"namespace {uri} is not on the server") from None
        return ua.NodeId(parsed.Identifier, ua.Int16(index), parsed.NodeIdType)

    async def _add_items(self, sub: Subscription, tags: Sequence[TagInfo]) -> None:
        batch = max(1, self.options.create_batch)
        for i in range(0, len(tags), batch):
            part = []
            requests = []
            for tag in tags[i : i + batch]:
                try:
                    node = self.resolve(tag.node_id)
                except LookupError as error:
                    self.bad_nodes[tag.node_id] = "BadNamespaceUnknown"
                    logger.warning("%s: cannot subscribe %s (%s): %s", self.endpoint, tag.name, tag.node_id, error)
                    continue
                handle = self._next_handle
                self._next_handle += 1
                self._handles[handle] = tag
                part.append(tag)
                requests.append(self._item_request(node, handle))
            if not requests:
                continue
            results = await sub.create_monitored_items(requests)
            for tag, req, result in zip(part, requests, results, strict=True):
                if isinstance(result, ua.StatusCode):
                    self._handles.pop(req.RequestedParameters.ClientHandle, None)
                    self.bad_nodes[tag.node_id] = result.name
                    logger.warning("%s: server refused %s (%s): %s", self.endpoint, tag.name, tag.node_id, result.name)

    def _item_request(self, node: ua.NodeId, handle: int) -> ua.MonitoredItemCreateRequest:
        rv = ua.ReadValueId()
        rv.NodeId = node
        rv.AttributeId = ua.AttributeIds.Value
        params = ua.MonitoringParameters()
        params.ClientHandle = handle
        params.SamplingInterval = self.options.sampling_interval_ms
        params.QueueSize = self.options.queue_size
        params.DiscardOldest = True
        req = ua.MonitoredItemCreateRequest()
        req.ItemToMonitor = rv
        req.MonitoringMode = ua.MonitoringMode.Reporting
        req.RequestedParameters = params
        return req

    async def _consume(self, sub: Subscription) -> None:
        loop = asyncio.get_running_loop()
        pending = self._pending
        async for ev in sub:
            if type(ev) is DataChangeEvent:
                pending.append(ev.data.monitored_item)
                if len(pending) >= self.options.flush_values:
                    self._flush()
                elif not self._flush_scheduled:
                    # Runs once this task has drained what is queued now (async-for does not yield
                    # while items are ready), so one publish response becomes one chunk.
                    self._flush_scheduled = True
                    loop.call_soon(self._flush)
            elif isinstance(ev, StatusChangeEvent):
                status = ev.notification.Status
                logger.info("%s: subscription status %s", self.endpoint, getattr(status, "name", status))

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._pending:
            items = self._pending[:]
            self._pending.clear()
            self._on_values(items)

    def _on_values(self, items: Sequence[ua.MonitoredItemNotification]) -> None:
        """The one path every data change takes: validate, then hand over to the writer."""
        recv = now_ms()
        chunk = Chunk(self.endpoint)
        samples, positions = chunk.samples, chunk.positions
        check = self.validator.check
        handles = self._handles
        newest = self._last_data_ts or 0
        for item in items:
            tag = handles.get(item.ClientHandle)
            if tag is None:
                continue
            rec = check(tag, item.Value, recv)
            if rec is None:
                continue
            if rec.ts > newest:
                newest = rec.ts
            if isinstance(rec, SampleIn):
                samples.append(rec)
            else:
                positions.append(rec)
        chunk.events.extend(self.validator.take_events())
        if newest:
            self._last_data_ts = newest
        if self._spans and self._spans[-1].end is None and (chunk.samples or chunk.positions):
            self._values_flow.set()
        self.health.last_data_at = recv
        self.writer.submit(chunk)

    # -- backfill from the server's history ----------------------------------------------------------

    async def _backfill_loop(self, client: Client) -> None:
        """Read the spans of closed outages back, oldest first; a span whose read fails waits for the next
        return of the link (the next outage closed wakes this loop again; it ends with the session)."""
        while True:
            await self._spans_due.wait()
            self._spans_due.clear()
            while self._spans:
                span = self._spans[0]
                if span.end is None:
                    await self._end_open_spans()
                try:
                    await self._backfill(client, span)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    logger.warning(
                        "%s: reading %d..%d back from the server's history failed (%s: %s); trying again at the"
                        " next connection",
                        self.endpoint,
                        span.start,
                        span.end,
                        type(error).__name__,
                        error,
                    )
                    break
                self._spans.pop(0)
                self.spans_done += 1

    async def _end_open_spans(self) -> None:
        """The spans still open end at the newest value received once values flow again: what a server kept for
        the subscription (queued, or sent again) comes first, and all the link gives from then on is live."""
        opts = self.options.backfill
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._values_flow.wait(), opts.wait_first_value_s)
        self._values_flow.clear()
        await asyncio.sleep(max(opts.settle_s, 3 * self.options.publishing_interval_ms / 1000))
        self._flush()
        for span in self._spans:
            if span.end is None:
                newest = self._last_data_ts
                # nothing newer came: the values have not changed since (or only the wall clock can tell)
                span.end = newest if newest is not None and newest > span.start else max(now_ms(), span.start)

    async def _backfill(self, client: Client, span: _Span) -> None:
        opts = self.options.backfill
        assert span.end is not None
        start = max(span.start, span.end - int(opts.max_age_s * 1000))
        if self._history_tags is None:
            wanted: list[tuple[TagInfo, ua.NodeId]] = []
            for tag in self.tags:
                if tag.known and not tag.is_position and tag.node_id not in self.bad_nodes:
                    with contextlib.suppress(LookupError):
                        wanted.append((tag, self.resolve(tag.node_id)))
            self._history_tags, self._no_history = await with_history(client, wanted, opts.attribute_batch)
        tags = self._history_tags
        if not tags:
            logger.info(
                "%s: no variable of %s keeps history: the gap of %.1f s stays a gap",
                self.endpoint,
                self.url,
                (span.end - span.start) / 1000,
            )
            return
        started = time.monotonic()
        step = max(1, self.options.flush_values)

        def sink(samples: list[SampleIn]) -> None:
            for i in range(0, len(samples), step):
                self.writer.submit(Chunk(self.endpoint, samples=samples[i : i + step]))

        result = await read_span(client, self.endpoint, tags, start, span.end, opts, sink, now=now_ms)
        seconds = time.monotonic() - started
        message = (
            f"read back {result.values} values of {result.filled} of {len(tags)} variables with history"
            f" ({self._no_history} without) from {self.endpoint} for the {(span.end - start) / 1000:.1f} s"
            f" gap in {seconds:.1f} s"
        )
        data: dict[str, Any] = {
            "values": result.values,
            "variables_with_history": len(tags),
            "variables_filled": result.filled,
            "variables_without_history": self._no_history,
            "failed": dict(list(result.failed.items())[:50]),
            "truncated": result.truncated[:50],
            "requests": result.requests,
            "gap_end": span.gap_end,
            "unclean_stop": span.unclean,
            "seconds": round(seconds, 3),
        }
        self.writer.submit(
            Chunk(
                self.endpoint,
                events=[
                    EventIn(
                        kind=BACKFILL,
                        source=self.endpoint,
                        ts_start=start,
                        ts_end=span.end,
                        severity="info",
                        message=message,
                        data=data,
                    )
                ],
            )
        )
        logger.info("%s: %s", self.endpoint, message)
        if result.failed:
            logger.warning(
                "%s: %d variable(s) refused the history read: %s",
                self.endpoint,
                len(result.failed),
                ", ".join(f"{k} ({v})" for k, v in list(result.failed.items())[:10]),
            )

    # -- connection state ----------------------------------------------------------------------------

    def _state_changed(self, state: UaClientState) -> None:
        if self._stopping:
            return
        if state is UaClientState.CONNECTED:
            if not self._connected:
                self._connected = True
                self.health.connected = True
                self.health.last_error = ""
                self.connected_event.set()
                logger.info("%s: connected to %s", self.endpoint, self.url)
                if self._outage is not None:
                    self._close_outage()
        elif self._connected and state in (UaClientState.DISCONNECTED, UaClientState.RECONNECTING):
            self._connected = False
            self.health.connected = False
            self.connected_event.clear()
            detected = now_ms()
            start = self._last_data_ts + 1 if self._last_data_ts is not None else detected
            self._outage = _Outage(start=start, detected=detected)
            self.health.last_error = f"connection to {self.url} lost"
            logger.warning("%s: connection to %s lost; last data at %d", self.endpoint, self.url, start - 1)

    def _close_outage(self, *, stopped: bool = False) -> None:
        """Write the gap event and the per-tag bad-quality markers at the outage start."""
        outage = self._outage
        if outage is None:
            return
        self._outage = None
        self._flush()  # anything received before the loss goes first
        end = max(now_ms(), outage.start)
        chunk = Chunk(self.endpoint)
        for tag in self.tags:
            if tag.is_position:
                last = self.validator.last_position(tag.badge or tag.name)
                if last is not None:
                    chunk.positions.append(
                        PositionIn(
                            last.badge, max(outage.start, last.ts + 1), last.x, last.y, last.floor, BAD_NO_COMMUNICATION
                        )
                    )
            elif tag.known:
                last_ts = self.validator.last_ts(tag.name)
                ts = outage.start if last_ts is None else max(outage.start, last_ts + 1)
                chunk.samples.append(SampleIn(tag.tag_id, ts, None, BAD_NO_COMMUNICATION))
        seconds = (end - outage.start) / 1000
        message = f"no data from {self.endpoint} ({self.url}) for {seconds:.1f} s" + (
            ": the collector was not running (unclean stop)"
            if outage.unclean
            else ": the collector stopped during the outage"
            if stopped
            else ""
        )
        data: dict[str, Any] = {
            "url": self.url,
            "detected_at": outage.detected,
            "markers": len(chunk),
            "stopped": stopped,
            "unclean_stop": outage.unclean,
        }
        chunk.events.append(
            EventIn(
                kind=GAP,
                source=self.endpoint,
                ts_start=outage.start,
                ts_end=end,
                severity="warning",
                message=message,
                data=data,
            )
        )
        self.health.gaps += 1
        if not stopped and not outage.unclean:
            self.health.reconnects += 1
        logger.warning("%s: %s", self.endpoint, message)
        self.writer.submit(chunk)
        if not stopped and self.backfill_enabled:
            self._history_tags = None  # the server may be another one now (restarted, upgraded)
            self._spans.append(_Span(outage.start, end, unclean=outage.unclean))
            self._values_flow.clear()
            self._spans_due.set()

    # -- badges the plant file does not know ---------------------------------------------------------

    async def _discover(self, client: Client) -> list[TagInfo]:
        """``RTLS.<badge>.POS`` variables on the server whose badge is not in the plant file."""
        namespaces = set()
        for t in self.tags:
            if t.is_position:
                with contextlib.suppress(LookupError):
                    node = self.resolve(t.node_id)
                    namespaces.add(node.NamespaceIndex)
                    self._by_node.setdefault(node.to_string(), t)
        found: list[TagInfo] = []
        seen: set[str] = set()
        queue: list[tuple[Any, int]] = [(client.nodes.objects, 0)]
        visited = 0
        try:
            while queue and visited < self.options.discover_max_nodes:
                node, depth = queue.pop(0)
                visited += 1
                refs = await node.get_children_descriptions(nodeclassmask=ua.NodeClass.Object | ua.NodeClass.Variable)
                for ref in refs:
                    nid = ref.NodeId
                    if nid.NamespaceIndex == 0:
                        continue
                    text = nid.to_string()
                    if text in seen:
                        continue
                    seen.add(text)
                    if ref.NodeClass == ua.NodeClass.Object and depth < 4:
                        queue.append((client.get_node(nid), depth + 1))
                    elif ref.NodeClass == ua.NodeClass.Variable and nid.NamespaceIndex in namespaces:
                        m = _BADGE_NODE.match(str(nid.Identifier)) if isinstance(nid.Identifier, str) else None
                        if m and text not in self._by_node:
                            tag = TagInfo(text.split("s=", 1)[-1], 0, "position", text, badge=m["badge"], known=False)
                            self._by_node[text] = tag
                            self._discovered.append(tag)
                            found.append(tag)
        except Exception as error:
            logger.warning("%s: browsing for unknown badges failed: %s", self.endpoint, error)
        if found:
            logger.warning(
                "%s: %d badge(s) on the server are not in the plant file: %s",
                self.endpoint,
                len(found),
                ", ".join(t.badge or "" for t in found[:20]),
            )
        return found

    async def _rediscover(self, client: Client) -> None:
        while True:
            await asyncio.sleep(self.options.discover_interval_s)
            if not self._connected or not self._subs:
                continue
            try:
                new = await self._discover(client)
                if new:
                    await self._add_items(self._subs[-1], new)
            except Exception as error:  # the next round (or the next session) tries again
                logger.warning("%s: subscribing newly found badges failed: %s", self.endpoint, error)
