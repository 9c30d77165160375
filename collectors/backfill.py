"""Read what an outage hid back from the server's history: OPC UA HistoryRead, raw values.

After an outage (the link lost, or the collector itself stopped uncleanly) the coordinator knows the span it
did not see: from the last value it had (``ts_start`` of the ``gap`` event) to the first value after the
return. Where the server keeps history for a variable it can answer for that span, so the values are read
back and stored like any other:

- **which variables**: those whose ``UserAccessLevel`` has the ``HistoryRead`` bit (read in batches of
  ``attribute_batch``). Position tags are left out (the RTLS track resumes with the live fixes), so are
  badges the plant file does not know. A variable that claims history but answers with a bad status
  (``BadHistoryOperationUnsupported``, ``BadNotReadable``, ...) is counted as failed, the others go on.
- **how**: ``HistoryRead`` with ``ReadRawModifiedDetails`` (raw, no bounds) over the span, ``nodes_per_read``
  variables per request and at most ``values_per_node`` values per variable per answer. The server's
  continuation points page through longer answers; a server that cuts an answer at ``values_per_node``
  without giving one is asked again from just after the last value it gave. At most ``max_values_per_tag``
  values per variable and span are read (the rest of the span stays a gap), and a span older than
  ``max_age_s`` is not read at all. Continuation points left over are released.
- **what is stored**: each value is validated by the same rules as a live one (:class:`Validator`, counters of
  its own), then gets the ``BACKFILLED`` bit in its quality (:data:`engine.types.BACKFILLED`: OPC UA's "value
  from a history read, raw"; the severity bits are untouched, so a good value stays good and enters the
  rollups as a late sample). The store is idempotent on ``(tag, ts)``: a value already stored (received live,
  or read back before) is a duplicate and changes nothing, so reading a span twice writes nothing new.

Read-only: ``Read`` of attributes and ``HistoryRead``; never ``HistoryUpdate``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asyncua import Client, ua

from collectors.records import TagInfo
from collectors.validate import ValidationCounters, Validator
from engine.types import BACKFILLED, SampleIn

logger = logging.getLogger(__name__)

BACKFILL = "backfill"  # event kind: values of an outage's span read back from the server's history
_HISTORY_READ_BIT = 1 << ua.AccessLevel.HistoryRead.value
_ONE_US = timedelta(microseconds=1)


@dataclass
class BackfillOptions:
    # variables per HistoryRead request and values per variable per answer: at most 10,000 values (about 1 MB)
    # an answer, so a busy server answers well within the request timeout
    nodes_per_read: int = 50
    values_per_node: int = 200
    max_values_per_tag: int = 100_000  # per span; the rest of a longer span stays a gap
    max_age_s: float = 7 * 86_400  # a span that started longer ago than this is not read back
    attribute_batch: int = 1000  # variables per Read of UserAccessLevel
    wait_first_value_s: float = 10.0  # how long to wait for values to flow again after the return
    settle_s: float = 1.0  # then this long (at least 3 publishing intervals) for what the server kept to arrive


@dataclass
class BackfillResult:
    """What one span's read gave (the samples went to the sink) and what could not be read."""

    values: int = 0  # samples handed to the sink
    asked: int = 0  # variables with history that were asked
    filled: int = 0  # of those, variables that gave at least one value
    no_history: int = 0  # variables the server keeps no history for
    failed: dict[str, str] = field(default_factory=dict)  # tag -> status name
    truncated: list[str] = field(default_factory=list)  # tags with more values than max_values_per_tag
    requests: int = 0


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


async def with_history(
    client: Client, tags: Sequence[tuple[TagInfo, ua.NodeId]], batch: int
) -> tuple[list[tuple[TagInfo, ua.NodeId]], int]:
    """The tags whose variables offer history to this session (``UserAccessLevel`` has ``HistoryRead``), and how
    many do not."""
    out: list[tuple[TagInfo, ua.NodeId]] = []
    without = 0
    for i in range(0, len(tags), max(1, batch)):
        part = tags[i : i + max(1, batch)]
        params = ua.ReadParameters()
        params.TimestampsToReturn = ua.TimestampsToReturn.Neither
        for _tag, node in part:
            rv = ua.ReadValueId()
            rv.NodeId = node
            rv.AttributeId = ua.AttributeIds.UserAccessLevel
            params.NodesToRead.append(rv)
        results = await client.uaclient.read(params)
        for (tag, node), dv in zip(part, results, strict=True):
            level = dv.Value.Value if dv.Value is not None else None
            if dv.StatusCode is not None and not dv.StatusCode.is_good():
                level = None
            if isinstance(level, int) and level & _HISTORY_READ_BIT:
                out.append((tag, node))
            else:
                without += 1
    return out, without


async def read_span(
    client: Client,
    endpoint: str,
    tags: Sequence[tuple[TagInfo, ua.NodeId]],
    start_ms: int,
    end_ms: int,
    options: BackfillOptions,
    sink: Callable[[list[SampleIn]], None],
    *,
    now: Callable[[], int],
) -> BackfillResult:
    """Read ``[start_ms, end_ms]`` (source time, both inclusive) of ``tags`` (variables with history) back;
    the samples of each answer go to ``sink`` as they come, so memory holds one answer at a time."""
    result = BackfillResult(asked=len(tags))
    if end_ms < start_ms or not tags:
        return result
    validator = Validator(endpoint, counters=ValidationCounters())
    end = to_datetime(end_ms)
    counts: dict[str, int] = {}
    # (tag, node, start of the next request, continuation point) still to read
    todo: list[tuple[TagInfo, ua.NodeId, datetime, bytes | None]] = [
        (tag, node, to_datetime(start_ms), None) for tag, node in tags
    ]
    leftover: list[tuple[ua.NodeId, bytes]] = []
    per_read = max(1, options.nodes_per_read)
    while todo:
        # one request holds variables that start at the same time (a continuation point overrides it)
        first_start = todo[0][2]
        group = [t for t in todo if t[2] == first_start][:per_read]
        picked = {id(t) for t in group}
        todo = [t for t in todo if id(t) not in picked]
        details = ua.ReadRawModifiedDetails()
        details.IsReadModified = False
        details.StartTime = first_start
        details.EndTime = end
        details.NumValuesPerNode = max(1, options.values_per_node)
        details.ReturnBounds = False
        params = ua.HistoryReadParameters()
        params.HistoryReadDetails = details
        params.TimestampsToReturn = ua.TimestampsToReturn.Both
        params.ReleaseContinuationPoints = False
        for _tag, node, _start, cont in group:
            rv = ua.HistoryReadValueId()
            rv.NodeId = node
            rv.IndexRange = ""
            rv.ContinuationPoint = cont
            params.NodesToRead.append(rv)
        answers = await client.uaclient.history_read(params)
        result.requests += 1
        recv = now()
        got: list[SampleIn] = []
        for (tag, node, _start, _cont), answer in zip(group, answers, strict=True):
            status = answer.StatusCode
            if status is not None and not status.is_good():
                result.failed[tag.name] = status.name
                continue
            values: list[ua.DataValue] = list(getattr(answer.HistoryData, "DataValues", None) or [])
            n = counts.get(tag.name, 0)
            for dv in values:
                rec = validator.check(tag, dv, recv)
                if isinstance(rec, SampleIn):
                    got.append(rec._replace(quality=rec.quality | BACKFILLED))
                    n += 1
            counts[tag.name] = n
            cont = answer.ContinuationPoint
            if n >= options.max_values_per_tag:
                result.truncated.append(tag.name)
                if cont:
                    leftover.append((node, cont))
                continue
            if cont:
                todo.append((tag, node, first_start, cont))
            elif len(values) >= details.NumValuesPerNode and values[-1].SourceTimestamp is not None:
                # cut without a continuation point: ask again from just after the last value given
                last = values[-1].SourceTimestamp
                nxt = (last if last.tzinfo is not None else last.replace(tzinfo=UTC)) + _ONE_US
                if nxt <= end:
                    todo.append((tag, node, nxt, None))
        if got:
            result.values += len(got)
            sink(got)
    result.filled = sum(1 for n in counts.values() if n > 0)
    if leftover:
        await _release(client, leftover)
    return result


async def _release(client: Client, points: Sequence[tuple[ua.NodeId, bytes]]) -> None:
    params = ua.HistoryReadParameters()
    params.HistoryReadDetails = ua.ReadRawModifiedDetails(IsReadModified=False, NumValuesPerNode=1)
    params.ReleaseContinuationPoints = True
    for node, cont in points:
        rv = ua.HistoryReadValueId()
        rv.NodeId = node
        rv.ContinuationPoint = cont
        params.NodesToRead.append(rv)
    try:
        await client.uaclient.history_read(params)
    except Exception as error:  # the server frees them on its own when the session ends
        logger.debug("releasing %d continuation points failed: %s", len(points), error)
