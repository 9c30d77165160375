"""Turn one OPC UA data change into a store record, or reject it. Pure: no I/O, no clock.

Rules (requirement C1, the collectors' data contract):

- time: the OPC UA ``SourceTimestamp`` as UTC epoch ms; if missing (or the null 1601 time) the
  ``ServerTimestamp``; if that is missing too the receive time. Every fallback is counted.
- quality: the OPC UA ``StatusCode`` value (uint32) stored as is. A bad status gives ``value=None``.
- numeric tags: bools become 0/1, ints and floats are stored as float. NaN/inf are stored with
  ``value=None`` and quality ``BAD_OUT_OF_RANGE`` (counted ``bad_quality``). Strings, byte strings,
  arrays and other non-numeric values are rejected (counted ``rejected``) with a rate-limited
  ``data_quality`` event.
- position tags (``RTLS.<badge>.POS``, ``[x, y, floor]``): a position for a badge that is not in the plant
  file, non-finite coordinates or coordinates outside the site are not stored as positions; they are
  counted ``rejected`` and recorded as (rate-limited) ``data_quality`` events - never dropped silently.
- impossible jumps: a position further from the badge's last accepted one than its fastest plausible speed
  allows (a person about 7 m/s, a vehicle about 20 m/s, see :func:`badge_speed_limits`, plus
  ``jump_tolerance_m`` of RTLS noise) is rejected the same way (reason ``impossible_jump``), so it is
  neither stored nor drawn. The rejected position is remembered: when the next one is plausible from it
  but not from the last accepted one, the badge really is there (the earlier fix was the wrong one) and
  the track continues from the new position. A badge's very first fix (often the gateway's initial or
  placeholder value) only anchors the check once a consistent fix has confirmed it.
- order: a sample older than the newest one seen for its tag is accepted and counted ``late``; one with
  the same timestamp as the newest is a duplicate: counted and not passed on (the store is idempotent on
  ``(tag, ts)`` and keeps the first anyway; older duplicates are counted by the store's write result).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import ua

from collectors.records import DATA_QUALITY, EventIn, TagInfo
from engine.types import BAD_OUT_OF_RANGE, PositionIn, SampleIn, is_bad
from plant.schema import BadgeKind, Plant

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_ONE_MS = timedelta(milliseconds=1)
_MIN_VALID_YEAR = 1602  # 1601-01-01 is OPC UA's "no time"
PERSON_MAX_MPS = 7.0  # faster than anyone runs on a plant floor
VEHICLE_MAX_MPS = 20.0  # 72 km/h: faster than any site vehicle drives


def badge_speed_limits(plant: Plant) -> dict[str, float]:
    """The fastest plausible speed of each badge (m/s): above it a move is an impossible jump.

    A person's bound is 7 m/s, a vehicle's 20 m/s, or 1.5 x the badge's own ``max_speed_mps`` when that is
    higher (a fast vehicle in a big plant).
    """
    out: dict[str, float] = {}
    for b in plant.badges:
        base = VEHICLE_MAX_MPS if b.kind == BadgeKind.VEHICLE else PERSON_MAX_MPS
        out[b.id] = max(base, 1.5 * b.max_speed_mps)
    return out


def to_epoch_ms(dt: datetime | None) -> int | None:
    """UTC epoch milliseconds of an OPC UA DateTime (naive means UTC); None for a missing/null time."""
    if dt is None or dt.year < _MIN_VALID_YEAR:
        return None
    if dt.tzinfo is None:
        return (dt - _EPOCH_NAIVE) // _ONE_MS
    return (dt - _EPOCH) // _ONE_MS


@dataclass(slots=True)
class ValidationCounters:
    """Running totals of one endpoint's validator."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    late: int = 0
    bad_quality: int = 0
    ts_from_server: int = 0  # SourceTimestamp missing, ServerTimestamp used
    ts_from_receive: int = 0  # both missing, receive time used
    events: int = 0  # data_quality events emitted
    events_suppressed: int = 0  # data_quality occurrences folded into a later event by the rate limit

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class SiteBounds:
    """The site's extent in plant metres, the floors a badge may report and how fast badges can move."""

    width_m: float
    depth_m: float
    max_floor: int = 50
    margin_m: float = 0.0
    # badge -> fastest plausible speed in m/s (see badge_speed_limits); others get default_speed_mps
    max_speed_mps: Mapping[str, float] = field(default_factory=dict, compare=False, hash=False)
    default_speed_mps: float = VEHICLE_MAX_MPS
    jump_tolerance_m: float = 5.0  # RTLS noise: a fix may be this far off without having moved

    def speed_limit(self, badge: str) -> float:
        return self.max_speed_mps.get(badge, self.default_speed_mps)

    def contains(self, x: float, y: float, floor: float) -> bool:
        m = self.margin_m
        return (
            -m <= x <= self.width_m + m
            and -m <= y <= self.depth_m + m
            and floor == int(floor)
            and 0 <= floor <= self.max_floor
        )


Record = SampleIn | PositionIn


@dataclass(slots=True)
class _Limiter:
    last_ms: int
    suppressed: int = 0


@dataclass
class Validator:
    """Validates the data changes of one endpoint; keeps the per-tag state that order checks need.

    ``check`` returns the record to store or None; ``data_quality`` events it decides on collect in
    ``events`` until the caller takes them with :meth:`take_events`.
    """

    endpoint: str
    site: SiteBounds | None = None
    event_interval_ms: int = 60_000  # at most one data_quality event per (reason, tag) in this window
    counters: ValidationCounters = field(default_factory=ValidationCounters)
    events: list[EventIn] = field(default_factory=list)
    _last_ts: dict[str, int] = field(default_factory=dict)
    _limits: dict[tuple[str, str], _Limiter] = field(default_factory=dict)
    _last_position: dict[str, PositionIn] = field(default_factory=dict)
    _jump_candidate: dict[str, PositionIn] = field(default_factory=dict)  # last rejected jump per badge
    _confirmed: set[str] = field(default_factory=set)  # badges whose last fix was confirmed by a consistent one

    # -- public -----------------------------------------------------------------------------------

    def check(self, tag: TagInfo, dv: ua.DataValue, recv_ms: int) -> Record | None:
        c = self.counters
        c.received += 1
        src: datetime | None = dv.SourceTimestamp  # a ua.DateTime, seen as a datetime for ``- _EPOCH``
        if src is not None and src.tzinfo is not None and src.year >= _MIN_VALID_YEAR:
            ts = (src - _EPOCH) // _ONE_MS
        else:
            ts = self._timestamp(dv, recv_ms)
        status = dv.StatusCode.value if dv.StatusCode is not None else 0
        variant = dv.Value
        raw = variant.Value if variant is not None else None

        name = tag.name
        last = self._last_ts.get(name)
        if last is None or ts > last:
            self._last_ts[name] = ts
        elif ts == last:
            c.duplicates += 1
            return None
        else:
            c.late += 1

        # the common case first: a good finite float on a numeric tag
        if type(raw) is float and status == 0 and tag.kind != "position" and raw - raw == 0.0:
            c.accepted += 1
            return SampleIn(tag.tag_id, ts, raw, 0)

        if tag.is_position:
            record: Record | None = self._position(tag, ts, raw, status, recv_ms)
        else:
            record = self._sample(tag, ts, raw, status, recv_ms)
        if record is not None:
            c.accepted += 1
        return record

    def take_events(self) -> list[EventIn]:
        events, self.events = self.events, []
        return events

    def last_ts(self, tag_name: str) -> int | None:
        return self._last_ts.get(tag_name)

    def last_position(self, badge: str) -> PositionIn | None:
        return self._last_position.get(badge)

    # -- internals --------------------------------------------------------------------------------

    def _timestamp(self, dv: ua.DataValue, recv_ms: int) -> int:
        ts = to_epoch_ms(dv.SourceTimestamp)
        if ts is not None:
            return ts
        ts = to_epoch_ms(dv.ServerTimestamp)
        if ts is not None:
            self.counters.ts_from_server += 1
            return ts
        self.counters.ts_from_receive += 1
        return recv_ms

    def _sample(self, tag: TagInfo, ts: int, raw: Any, status: int, recv_ms: int) -> SampleIn | None:
        if is_bad(status):
            self.counters.bad_quality += 1
            return SampleIn(tag.tag_id, ts, None, status)
        if isinstance(raw, bool):
            return SampleIn(tag.tag_id, ts, 1.0 if raw else 0.0, status)
        if isinstance(raw, int | float):
            value = float(raw)
            if not math.isfinite(value):
                self.counters.bad_quality += 1
                return SampleIn(tag.tag_id, ts, None, BAD_OUT_OF_RANGE)
            return SampleIn(tag.tag_id, ts, value, status)
        self.counters.rejected += 1
        self._event(
            "type_mismatch",
            tag,
            ts,
            recv_ms,
            f"{tag.name}: non-numeric value of type {type(raw).__name__} for a numeric tag",
            {"type": type(raw).__name__, "value": _short_repr(raw)},
        )
        return None

    def _position(self, tag: TagInfo, ts: int, raw: Any, status: int, recv_ms: int) -> PositionIn | None:
        badge = tag.badge or tag.name
        coords = _coords(raw)
        if not tag.known:
            self.counters.rejected += 1
            self._event(
                "unknown_badge",
                tag,
                ts,
                recv_ms,
                f"position of badge {badge!r}, which is not in the plant file",
                {"value": _short_repr(raw) if coords is None else list(coords)},
            )
            return None
        if is_bad(status):
            self.counters.bad_quality += 1
            self._event("bad_status", tag, ts, recv_ms, f"{badge}: position with bad status 0x{status:08X}", {})
            return None
        if coords is None:
            self.counters.rejected += 1
            self._event(
                "type_mismatch",
                tag,
                ts,
                recv_ms,
                f"{badge}: position is not [x, y, floor] numbers",
                {"type": type(raw).__name__, "value": _short_repr(raw)},
            )
            return None
        x, y, floor = coords
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(floor)):
            self.counters.rejected += 1
            self._event(
                "non_finite_position", tag, ts, recv_ms, f"{badge}: non-finite position", {"value": _short_repr(raw)}
            )
            return None
        if self.site is not None and not self.site.contains(x, y, floor):
            self.counters.rejected += 1
            self._event(
                "out_of_site",
                tag,
                ts,
                recv_ms,
                f"{badge}: position ({x:.1f}, {y:.1f}, floor {floor:g}) is outside the site",
                {"x": x, "y": y, "floor": floor},
            )
            return None
        pos = PositionIn(badge, ts, x, y, int(floor), status)
        prev = self._last_position.get(badge)
        if prev is not None and badge not in self._confirmed and self._jump(badge, prev, pos):
            # A lone first fix (e.g. a gateway's initial value) is not trusted as an anchor: start from here.
            self._last_position[badge] = pos if ts >= prev.ts else prev
            return pos
        if prev is not None and self._jump(badge, prev, pos):
            candidate = self._jump_candidate.get(badge)
            if candidate is None or self._jump(badge, candidate, pos):
                self._jump_candidate[badge] = pos
                self.counters.rejected += 1
                dt_s = abs(ts - prev.ts) / 1000
                dist = math.hypot(x - prev.x, y - prev.y)
                self._event(
                    "impossible_jump",
                    tag,
                    ts,
                    recv_ms,
                    f"{badge}: jump of {dist:.0f} m in {dt_s:.1f} s from ({prev.x:.1f}, {prev.y:.1f})"
                    f" to ({x:.1f}, {y:.1f}), faster than it can move",
                    {
                        "from": [prev.x, prev.y],
                        "to": [x, y],
                        "from_ts": prev.ts,
                        "distance_m": round(dist, 2),
                        "dt_s": dt_s,
                        "limit_mps": self._speed_limit(badge),
                    },
                )
                return None
            logger.info("%s: %s re-anchored at (%.1f, %.1f) after an impossible jump", self.endpoint, badge, x, y)
        self._jump_candidate.pop(badge, None)
        if prev is not None:
            self._confirmed.add(badge)  # two consistent fixes
        if prev is None or ts >= prev.ts:
            self._last_position[badge] = pos
        return pos

    def _speed_limit(self, badge: str) -> float:
        return self.site.speed_limit(badge) if self.site is not None else VEHICLE_MAX_MPS

    def _jump(self, badge: str, a: PositionIn, b: PositionIn) -> bool:
        """True when going from ``a`` to ``b`` is faster than the badge can move (noise allowed)."""
        tolerance = self.site.jump_tolerance_m if self.site is not None else 5.0
        dt_s = abs(b.ts - a.ts) / 1000
        return math.hypot(b.x - a.x, b.y - a.y) > self._speed_limit(badge) * dt_s + tolerance

    def _event(self, reason: str, tag: TagInfo, ts: int, recv_ms: int, message: str, data: dict[str, Any]) -> None:
        key = (reason, tag.name)
        lim = self._limits.get(key)
        if lim is not None and recv_ms - lim.last_ms < self.event_interval_ms:
            lim.suppressed += 1
            self.counters.events_suppressed += 1
            return
        suppressed = lim.suppressed if lim is not None else 0
        self._limits[key] = _Limiter(recv_ms)
        self.counters.events += 1
        logger.warning("%s: data quality (%s): %s", self.endpoint, reason, message)
        self.events.append(
            EventIn(
                kind=DATA_QUALITY,
                source=self.endpoint,
                ts_start=ts,
                ts_end=ts,
                severity="warning",
                tag_id=tag.tag_id or None,
                badge=tag.badge,
                message=message,
                data={"reason": reason, "tag": tag.name, "suppressed_before": suppressed, **data},
            )
        )


def _coords(raw: Any) -> tuple[float, float, float] | None:
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple) or len(raw) not in (2, 3):
        return None
    out: list[float] = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        out.append(float(v))
    if len(out) == 2:
        out.append(0.0)
    return out[0], out[1], out[2]


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
