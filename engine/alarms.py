"""The alarm engine: ISA-18.2 / IEC 62682 alarm states from tag values, equipment states and events.

Pure Python, no I/O: the alarm service (``services/alarms.py``) feeds it samples, equipment states,
personnel/video events and operator commands, calls :meth:`AlarmEngine.tick` once a step, and writes what
:meth:`AlarmEngine.drain` returns (transitions for the journal, the changed alarms for the ``alarm`` table).

Alarm definitions, built from the plant model
----------------------------------------------
- **Limit alarms** ``<tag>:HH|H|L|LL`` for every limit a tag has (process, gas and emission tags; any
  numeric tag with limits). High alarms activate when the value is above the limit, low alarms when it is
  below; they return when the value is back inside by the **deadband** (``H`` at 100 with deadband 2
  returns at 98 or less).
- **Rate-of-change alarms** ``<tag>:ROC`` where the tag's ``alarm.roc_per_min`` is set: the change over
  the last ``alarm.roc_window_s`` (default 60 s, values held between samples, as OPC UA reports by
  exception), per minute, in either direction. A window not yet filled counts as a full window (the rate
  is never overestimated after a start or a quality gap). It returns when the rate is 10 % below the limit.
- **Hazard-source alarms** ``<tag>:HZH|HZL`` (source type ``hazard``, source the hazard source's id) for
  every live reading of a major hazard source (``hazards.sources[].readings`` in the plant file): above its
  ``high`` / below its ``low`` threshold, with the tag's deadband, priority ``high`` unless the reading sets
  one. The row's ``data`` keeps the hazard source and its responsible people (``responsible``: role and badge
  or user), so the alarm names whom it concerns.
- **Quality alarms** ``<tag>:BAD`` (source type ``quality``) for every tag with a limit or ROC alarm.
- **Personnel** ``violation:<event id>`` and **video** ``video:<event id>`` alarms from events, active
  while the event is open (:meth:`AlarmEngine.event_open` / :meth:`AlarmEngine.event_close`).

Texts: the engine writes no sentence. An alarm keeps its structured fields (tag, condition, value, limit;
rule, badge, zone; camera, class) and an event alarm copies the event's facts into ``data["facts"]``;
``engine.alarm_text`` builds the text in the reader's language when it is shown. An event that carries a
sentence of its own (written before, or by hand) keeps it as the alarm's ``message``.

Defaults (each can be set per tag in the plant file: ``alarm: {priority: {hh: urgent}, deadband: 2,
on_delay_s: 5, off_delay_s: 10, roc_per_min: 3}``):

- **Priority**, leaning toward the ISA-18.2 annunciation target of about 80 % low, 15 % medium, 5 % high
  (urgent is above high and meant to be rare):

  =============  ======  ======  ======  ======  ======  ======
  tag kind       HH      H       L       LL      ROC     BAD
  =============  ======  ======  ======  ======  ======  ======
  gas detector   urgent  high    medium  medium  high    low
  emission       high    medium  low     low     low     low
  other          medium  low     low     medium  low     low
  =============  ======  ======  ======  ======  ======  ======

  H and L come first and most often, so most annunciations are low. A plant file can override the
  priority per tag and condition (the demo smelter rates furnace, converter and boiler HH/LL high and
  H/L medium); in three simulated hours of the demo (``python -m bench demo_alarm_rate``) 73 % of the
  annunciations were low, 14 % medium, 10 % high and 3 % urgent, near the 80/15/5 guidance.
- **Deadband**: a share of the tag's span (its ``range``, else the spread of its limits, else the limit's
  size): 1 % for temperatures, 2 % for pressures, 5 % for flows (units per h/min/s), 2 % otherwise - the
  ISA-18.2 starting values - and never more than half the distance from the limit to the nominal value.
- **Delays**: none (0 s on, 0 s off): an alarm is never held back unless the plant file says so.
- **Shelving**: at most :data:`MAX_SHELVE_S` (8 h, one shift) per shelve command.

States (ISA-18.2 / IEC 62682, OPC UA Part 9)
--------------------------------------------
Each alarm is **active** or **returned** and **unacknowledged** or **acknowledged**: a new activation needs
an acknowledgement; a returned alarm that nobody acknowledged stays unacknowledged (and listed) until it is.
On top of that an alarm can be **shelved** (by an operator, for a time, expiring by itself), **suppressed
by design** (its equipment's state tag reads maintenance: all its alarms; idle or stopped - standby: its L
and LL alarms) or **out of service** (operator command). These three *hide* the alarm: its condition is
still evaluated and journaled, but an activation while hidden is not annunciated (journaled with
``acked`` true, as nothing is waiting for an operator), and hiding an alarm clears a pending
acknowledgement. When the last of them ends while the condition is still present, the alarm is annunciated
again: an ``active`` transition with ``data.reannunciated`` and ``acked`` false. So "annunciated" in the
journal is exactly ``kind = 'active' AND acked = false``, which the KPIs count (``store.alarm_kpi``).

Quality: a value whose quality is not good (:func:`engine.types.is_good`), or that is missing, NaN,
infinite or not a number at all, never raises or returns a process alarm. It raises the tag's ``BAD``
alarm, which returns with the next good value; pending delays are cancelled and the ROC window restarts.

Transitions carry the journal's vocabulary (:data:`JOURNAL_KINDS`). Timestamps are the samples' source
times (epoch ms); a delay ends at ``start + delay`` whether a sample or :meth:`AlarmEngine.tick` notices it.
Samples of one tag must come in time order: a sample not newer than the tag's last one is skipped (counted
in :attr:`AlarmEngine.skipped_late`), so a sample is never evaluated twice.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from engine.alarm_text import FACT_KEYS
from engine.mandown import MAN_DOWN, badge_place, box_x, same_place, same_time, view_mismatch
from plant.schema import PRIORITIES, Camera, EquipmentState, HazardReading, HazardSource, Plant, TagKind
from plant.schema import Tag as PlantTag

logger = logging.getLogger(__name__)

URGENT, HIGH, MEDIUM, LOW = PRIORITIES  # the members of plant.schema.AlarmPriority, most urgent first

PROCESS, QUALITY, PERSONNEL, VIDEO, EMISSION, ENERGY, HAZARD, SPC, STOCK = (
    "process",
    "quality",
    "personnel",
    "video",
    "emission",
    "energy",
    "hazard",
    "spc",
    "stock",
)
SOURCE_TYPES: tuple[str, ...] = (PROCESS, QUALITY, PERSONNEL, VIDEO, EMISSION, ENERGY, HAZARD, SPC, STOCK)
# alarms raised and returned by events
EVENT_TYPES: tuple[str, ...] = (PERSONNEL, VIDEO, EMISSION, ENERGY, SPC, STOCK)
OUT_OF_CONTROL = "OOC"  # an assay result breaking a Nelson rule on its SPC chart (advisory)
EXCEED = "EXCEED"  # the condition of a stack emission exceedance (a valid hour over its limit)
LOW_STOCK = "LOW"  # a material or spare part below its reorder level (the item's code is the source)

HH, H, L, LL, ROC, BAD = "HH", "H", "L", "LL", "ROC", "BAD"
HZH, HZL = "HZH", "HZL"  # a major hazard source's reading above its high / below its low threshold
LIMIT_CONDITIONS: tuple[str, ...] = (HH, H, L, LL)

ACTIVE, RETURN, ACK, COMMENT = "active", "return", "ack", "comment"
SHELVE, UNSHELVE, SHELVE_EXPIRED = "shelve", "unshelve", "shelve_expired"
SUPPRESS, UNSUPPRESS = "suppress", "unsuppress"
OUT_OF_SERVICE, IN_SERVICE = "out_of_service", "in_service"
JOURNAL_KINDS: tuple[str, ...] = (
    ACTIVE,
    RETURN,
    ACK,
    SHELVE,
    UNSHELVE,
    SHELVE_EXPIRED,
    SUPPRESS,
    UNSUPPRESS,
    OUT_OF_SERVICE,
    IN_SERVICE,
    COMMENT,
)
COMMAND_ACTIONS: tuple[str, ...] = (ACK, SHELVE, UNSHELVE, COMMENT, OUT_OF_SERVICE, IN_SERVICE)

EVENT_SOURCE_TYPES = {
    "violation": PERSONNEL,
    "video": VIDEO,
    "emission": EMISSION,
    "energy": ENERGY,
    "spc": SPC,
    "stock": STOCK,
}  # event kind -> alarm source type

MAX_SHELVE_S = 8 * 3600
ROC_WINDOW_S = 60.0
ROC_RETURN = 0.9  # a ROC alarm returns below 90 % of its limit
BAD_MASK = 0xC0000000  # severity bits of an OPC UA status code: 00 = good (engine.types.is_good)

_DEADBAND_TEMPERATURE = 0.01
_DEADBAND_PRESSURE = 0.02
_DEADBAND_FLOW = 0.05
_DEADBAND_OTHER = 0.02
_TEMPERATURE_UNITS = {"degc", "°c", "℃", "k", "degf", "°f"}
_PRESSURE_UNITS = {"bar", "mbar", "barg", "kpa", "mpa", "pa", "psi", "kpag", "mmh2o", "mmwc"}

_DEFAULT_PRIORITY: dict[str, dict[str, str]] = {
    TagKind.GAS.value: {HH: URGENT, H: HIGH, L: MEDIUM, LL: MEDIUM, ROC: HIGH, BAD: LOW},
    TagKind.EMISSION.value: {HH: HIGH, H: MEDIUM, L: LOW, LL: LOW, ROC: LOW, BAD: LOW},
}
_OTHER_PRIORITY = {HH: MEDIUM, H: LOW, L: LOW, LL: MEDIUM, ROC: LOW, BAD: LOW}
_EVENT_SEVERITY = {"critical": URGENT, "emergency": URGENT, "error": HIGH, "warning": MEDIUM, "info": LOW}

_EQUIPMENT_STATES = list(EquipmentState)
_NEVER = -(2**63)
_STANDBY = (EquipmentState.IDLE, EquipmentState.STOPPED)


def default_priority(tag: PlantTag, condition: str) -> str:
    """The priority of ``condition`` on ``tag`` when the plant file does not set one."""
    return _DEFAULT_PRIORITY.get(tag.kind.value, _OTHER_PRIORITY)[condition]


def default_deadband(tag: PlantTag, limit: float) -> float:
    """ISA-18.2 starting deadband for ``limit`` on ``tag`` (see the module docstring)."""
    unit = tag.unit.strip().lower()
    if unit in _TEMPERATURE_UNITS:
        share = _DEADBAND_TEMPERATURE
    elif unit in _PRESSURE_UNITS:
        share = _DEADBAND_PRESSURE
    elif unit.endswith(("/h", "/min", "/s")):
        share = _DEADBAND_FLOW
    else:
        share = _DEADBAND_OTHER
    if tag.range is not None:
        span = tag.range[1] - tag.range[0]
    else:
        lim = tag.limits  # set whenever a limit is given; without one the limit alone sets the span
        given = [v for v in (lim.ll, lim.l, lim.h, lim.hh) if v is not None] if lim is not None else []
        span = max(given) - min(given) if len(given) > 1 else abs(limit) or 1.0
    deadband = share * span
    if tag.nominal is not None and tag.nominal != limit:
        deadband = min(deadband, abs(limit - tag.nominal) / 2)
    return deadband


def _finite(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _emission_fields(tag: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """An exceedance alarm's tag, stack and limit (its columns in the ``alarm`` table)."""
    stack = facts.get("stack")
    return {"tag": str(tag)[:64], "equipment": str(stack)[:64] if stack else None, "limit": _finite(facts.get("limit"))}


def event_priority(severity: str | None) -> str:
    """An event's severity as an alarm priority (a priority name is taken as it is; unknown -> high)."""
    sev = (severity or "").strip().lower()
    if sev in PRIORITIES:
        return sev
    return _EVENT_SEVERITY.get(sev, HIGH)


@dataclass(frozen=True, slots=True)
class AlarmDef:
    """What an alarm is: fixed while the engine runs."""

    id: str
    source_type: str
    condition: str
    source: str
    priority: str
    tag: str | None = None
    area: str | None = None
    zone: str | None = None
    equipment: str | None = None
    badge: str | None = None
    camera: str | None = None
    limit: float | None = None
    deadband: float = 0.0
    on_delay_ms: int = 0
    off_delay_ms: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """One journal entry: what happened to which alarm, when, and the state after it."""

    alarm_id: str
    ts: int
    kind: str
    active: bool
    acked: bool
    value: float | None = None
    user: str | None = None
    comment: str | None = None
    address: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AlarmView:
    """An alarm's definition and current state, shaped like a row of the ``alarm`` table."""

    id: str
    source_type: str
    condition: str
    source: str
    tag_id: int | None
    area: str | None
    zone: str | None
    equipment: str | None
    badge: str | None
    camera: str | None
    priority: str
    active: bool
    acked: bool
    shelved_until: int | None
    shelved_by: str | None
    shelve_reason: str | None
    suppressed: bool
    out_of_service: bool
    value: float | None
    limit: float | None
    activated_at: int | None
    returned_at: int | None
    acked_at: int | None
    acked_by: str | None
    message: str
    data: dict[str, Any] | None
    updated_at: int


@dataclass(slots=True)
class Batch:
    """What :meth:`AlarmEngine.drain` hands over: transitions in order and the alarms they changed."""

    transitions: list[Transition]
    alarms: list[AlarmView]

    def __bool__(self) -> bool:
        return bool(self.transitions or self.alarms)


@dataclass(slots=True, eq=False)
class _State:
    d: AlarmDef
    active: bool = False
    acked: bool = True
    shelved_until: int | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None
    suppressed: bool = False
    oos: bool = False
    value: float | None = None
    activated_at: int | None = None
    returned_at: int | None = None
    acked_at: int | None = None
    acked_by: str | None = None
    data: dict[str, Any] | None = None
    updated_at: int = 0

    @property
    def hidden(self) -> bool:
        return self.shelved_until is not None or self.suppressed or self.oos


@dataclass(slots=True, eq=False)
class _Cond:
    """A limit or ROC condition of one tag: hysteresis state and the pending delay."""

    st: _State
    high: bool  # limit alarms: above (True) or below (False)
    limit: float
    clear: float  # where the condition ends (limit minus/plus the deadband; ROC: a share of the limit)
    on_ms: int
    off_ms: int
    in_: bool = False  # the condition, with deadband, before delays
    since: int | None = None  # when ``in_`` last differed from the alarm's state (a delay is running)


@dataclass(slots=True, eq=False)
class _TagEval:
    name: str
    conds: list[_Cond]
    quiet_lo: float  # no limit condition is present for values in [quiet_lo, quiet_hi]
    quiet_hi: float
    bad: _State
    roc: _Cond | None = None
    roc_window_ms: int = 60_000
    roc_hist: deque[tuple[int, float]] = field(default_factory=deque)
    busy: bool = False  # a limit condition is present or a delay runs: the fast path does not apply
    last_ts: int = _NEVER
    last_value: float | None = None


class AlarmEngine:
    """Alarm states of one plant; see the module docstring for the rules.

    ``tag_ids`` (tag name -> ``tag.id``) only fills :attr:`AlarmView.tag_id`; it can be set later with
    :meth:`bind_tag_ids`.
    """

    def __init__(
        self,
        plant: Plant,
        *,
        max_shelve_s: int = MAX_SHELVE_S,
        tag_ids: Mapping[str, int] | None = None,
    ) -> None:
        self.plant = plant
        self.max_shelve_s = int(max_shelve_s)
        self.tag_ids: dict[str, int] = dict(tag_ids or {})
        self.zone_area: dict[str, str] = {z.id: z.area for z in plant.zones}
        self._cameras = {c.id: c for c in plant.cameras}
        self._eq_zone: dict[str, str] = {e.id: e.zone for e in plant.equipment}
        self._states: dict[str, _State] = {}
        self._tags: dict[str, _TagEval] = {}
        self._by_equipment: dict[str, list[_State]] = {}
        self._state_tags: dict[str, str] = {}  # state tag -> equipment
        self._state_last_ts: dict[str, int] = {}
        self.equipment_state: dict[str, EquipmentState] = {}
        self._pending: set[_Cond] = set()  # conditions with a running delay
        self._roc_live: set[_TagEval] = set()  # tags whose ROC condition is present or active
        self._shelved: set[_State] = set()
        self._out: list[Transition] = []
        self._changed: dict[str, _State] = {}
        self.skipped_late = 0
        self.values = 0
        self._hazard_readings: dict[str, list[tuple[HazardSource, HazardReading]]] = {}
        for hs in plant.hazards.sources:
            for reading in hs.readings:
                self._hazard_readings.setdefault(reading.tag, []).append((hs, reading))
        for tag in plant.tags:
            self._define(tag)

    # -------------------------------------------------------------------------------------------- setup

    def _define(self, tag: PlantTag) -> None:
        if tag.kind == TagKind.STATE and tag.equipment is not None:
            self._state_tags[tag.id] = tag.equipment
            return
        if tag.kind in (TagKind.POSITION, TagKind.SOS) or (tag.alarm is not None and not tag.alarm.enabled):
            return
        settings = tag.alarm
        limits = tag.limits
        roc_limit = settings.roc_per_min if settings is not None else None
        hazard_readings = self._hazard_readings.get(tag.id, [])
        if limits is None and roc_limit is None and not hazard_readings:
            return
        zone = tag.zone or (self._eq_zone.get(tag.equipment) if tag.equipment else None)
        area = self.zone_area.get(zone) if zone else None
        on_ms = round((settings.on_delay_s or 0) * 1000) if settings else 0
        off_ms = round((settings.off_delay_s or 0) * 1000) if settings else 0
        overrides = {k.upper(): v.value for k, v in settings.priority.items()} if settings else {}

        def make(condition: str, source_type: str, limit: float | None, deadband: float) -> _State:
            d = AlarmDef(
                id=f"{tag.id}:{condition}",
                source_type=source_type,
                condition=condition,
                source=tag.id,
                priority=overrides.get(condition) or default_priority(tag, condition),
                tag=tag.id,
                area=area,
                zone=zone,
                equipment=tag.equipment,
                limit=limit,
                deadband=deadband,
                on_delay_ms=on_ms if source_type == PROCESS else 0,
                off_delay_ms=off_ms if source_type == PROCESS else 0,
            )
            st = _State(d)
            self._states[d.id] = st
            if tag.equipment is not None:
                self._by_equipment.setdefault(tag.equipment, []).append(st)
            return st

        conds: list[_Cond] = []
        quiet_lo, quiet_hi = float("-inf"), float("inf")
        if limits is not None:
            for name, high in (("hh", True), ("h", True), ("l", False), ("ll", False)):
                limit = getattr(limits, name)
                if limit is None:
                    continue
                db = settings.deadband if settings and settings.deadband is not None else default_deadband(tag, limit)
                st = make(name.upper(), PROCESS, limit, db)
                conds.append(_Cond(st, high, limit, limit - db if high else limit + db, on_ms, off_ms))
                if high:
                    quiet_hi = min(quiet_hi, limit)
                else:
                    quiet_lo = max(quiet_lo, limit)
        for hs, reading in hazard_readings:
            for condition, high, limit in ((HZH, True, reading.high), (HZL, False, reading.low)):
                if limit is None:
                    continue
                db = settings.deadband if settings and settings.deadband is not None else default_deadband(tag, limit)
                d = AlarmDef(
                    id=f"{tag.id}:{condition}",
                    source_type=HAZARD,
                    condition=condition,
                    source=hs.id,
                    priority=reading.priority.value,
                    tag=tag.id,
                    area=self.zone_area.get(hs.zone),
                    zone=hs.zone,
                    equipment=tag.equipment,
                    limit=limit,
                    deadband=db,
                )
                leads = [lead.model_dump(exclude_none=True, mode="json") for lead in hs.responsible]
                st = _State(d, data={"hazard_source": hs.id, "tag": tag.id, "responsible": leads})
                self._states[d.id] = st
                if tag.equipment is not None:
                    self._by_equipment.setdefault(tag.equipment, []).append(st)
                conds.append(_Cond(st, high, limit, limit - db if high else limit + db, on_ms, off_ms))
                if high:
                    quiet_hi = min(quiet_hi, limit)
                else:
                    quiet_lo = max(quiet_lo, limit)
        roc = None
        window_ms = round((settings.roc_window_s if settings else ROC_WINDOW_S) * 1000)
        if roc_limit is not None:
            st = make(ROC, PROCESS, roc_limit, roc_limit * (1 - ROC_RETURN))
            roc = _Cond(st, True, roc_limit, roc_limit * ROC_RETURN, on_ms, off_ms)
        bad = make(BAD, QUALITY, None, 0.0)
        self._tags[tag.id] = _TagEval(tag.id, conds, quiet_lo, quiet_hi, bad, roc, window_ms)

    def bind_tag_ids(self, tag_ids: Mapping[str, int]) -> None:
        self.tag_ids = dict(tag_ids)

    @property
    def definitions(self) -> list[AlarmDef]:
        """Every alarm known now: the plant's and the open event alarms."""
        return [st.d for st in self._states.values()]

    def get(self, alarm_id: str) -> AlarmView | None:
        st = self._states.get(alarm_id)
        return None if st is None else self._view(st)

    def views(self) -> list[AlarmView]:
        return [self._view(st) for st in self._states.values()]

    def alarmed_tags(self) -> set[str]:
        return set(self._tags)

    def state_tags(self) -> dict[str, str]:
        """State tag -> its equipment."""
        return dict(self._state_tags)

    def last_ts(self, tag: str) -> int | None:
        """Source time of the newest sample of ``tag`` evaluated (None: none yet, or not a tag it follows)."""
        ev = self._tags.get(tag)
        ts = ev.last_ts if ev is not None else self._state_last_ts.get(tag)
        return ts if ts is not None and ts > _NEVER else None

    # ---------------------------------------------------------------------------------------- restoring

    def restore(self, rows: Iterable[Any]) -> int:
        """Take up states stored in the ``alarm`` table (objects or mappings with its column names).

        Process and quality alarms whose definition left the plant file are skipped; event alarms are
        re-created from the row. Returns how many were restored. Journals nothing.
        """
        n = 0
        for row in rows:
            get: Callable[[str], Any] = row.get if isinstance(row, Mapping) else partial(getattr, row)
            alarm_id = get("id")
            st = self._states.get(alarm_id)
            if st is None:
                if get("source_type") not in EVENT_TYPES:
                    logger.info("alarm %s is no longer defined by the plant file; not restored", alarm_id)
                    continue
                d = AlarmDef(
                    id=alarm_id,
                    source_type=get("source_type"),
                    condition=get("condition"),
                    source=get("source"),
                    priority=get("priority"),
                    area=get("area"),
                    zone=get("zone"),
                    equipment=get("equipment"),
                    badge=get("badge"),
                    camera=get("camera"),
                    message=get("message") or "",
                    tag=get("source") if get("source_type") == EMISSION else None,
                    limit=get("limit") if get("source_type") == EMISSION else None,
                )
                st = _State(d)
                self._states[alarm_id] = st
            st.active = bool(get("active"))
            st.acked = bool(get("acked"))
            st.shelved_until = get("shelved_until")
            st.shelved_by = get("shelved_by")
            st.shelve_reason = get("shelve_reason")
            st.suppressed = bool(get("suppressed"))
            st.oos = bool(get("out_of_service"))
            st.value = get("value")
            st.activated_at = get("activated_at")
            st.returned_at = get("returned_at")
            st.acked_at = get("acked_at")
            st.acked_by = get("acked_by")
            if st.d.source_type != HAZARD:  # a hazard alarm's source and leads come from the plant file
                st.data = get("data")
            st.updated_at = get("updated_at") or 0
            if st.shelved_until is not None:
                self._shelved.add(st)
            n += 1
        for ev in self._tags.values():  # the hysteresis state follows the restored alarm state
            for c in ev.conds:
                c.in_ = c.st.active
                c.since = None
            ev.busy = any(c.in_ for c in ev.conds)
            if ev.roc is not None:
                ev.roc.in_ = ev.roc.st.active
                if ev.roc.in_:
                    self._roc_live.add(ev)
        return n

    # ------------------------------------------------------------------------------------------- values

    def process(self, tag: str, ts: int, value: float | None, quality: int = 0) -> None:
        """Evaluate one sample of ``tag`` (source time ``ts`` in epoch ms)."""
        ev = self._tags.get(tag)
        if ev is None:
            equipment = self._state_tags.get(tag)
            if equipment is not None:
                self._state_sample(tag, equipment, ts, value, quality)
            return
        if ts <= ev.last_ts:
            self.skipped_late += 1
            return
        ev.last_ts = ts
        self.values += 1
        # Not good, missing, NaN or +-inf (x - x is NaN, which is truthy, for the last two); not a number.
        try:
            bad = quality & BAD_MASK or value is None or value - value
        except TypeError:
            bad = True
        if bad or value is None:  # ``bad`` covers None; the second test tells the checker
            self._bad_value(ev, ts, quality if isinstance(quality, int) else BAD_MASK)
            return
        if ev.bad.active:
            self._return(ev.bad, ts, None)
        if ev.roc is not None:
            self._roc_sample(ev, ts, value)
        if ev.busy or not ev.quiet_lo <= value <= ev.quiet_hi:
            self._limits(ev, ts, value)  # a delay that ran out before ``ts`` ends with the value held until then
        ev.last_value = value

    def process_many(self, samples: Iterable[tuple[str, int, float | None, int]]) -> None:
        process = self.process
        for tag, ts, value, quality in samples:
            process(tag, ts, value, quality)

    def _limits(self, ev: _TagEval, ts: int, value: float) -> None:
        busy = False
        for c in ev.conds:
            if c.since is not None:
                self._fire_due(c, ts)
            if c.high:
                now_in = value > c.clear if c.in_ else value > c.limit
            else:
                now_in = value < c.clear if c.in_ else value < c.limit
            if now_in != c.in_:
                self._condition(c, now_in, ts, value)
            if c.in_ or c.since is not None or c.st.active:
                busy = True
        ev.busy = busy

    def _condition(self, c: _Cond, now_in: bool, ts: int, value: float | None) -> None:
        """The condition (with deadband) changed at ``ts``: start its delay or act at once."""
        c.in_ = now_in
        if now_in == c.st.active:
            if c.since is not None:
                c.since = None
                self._pending.discard(c)
            return
        delay = c.on_ms if now_in else c.off_ms
        if delay <= 0:
            if c.since is not None:
                c.since = None
                self._pending.discard(c)
            self._set_active(c.st, now_in, ts, value)
        else:
            c.since = ts
            self._pending.add(c)

    def _fire_due(self, c: _Cond, ts: int) -> None:
        """If ``c``'s delay has run out by ``ts``, the alarm changes at the delay's end."""
        assert c.since is not None
        due = c.since + (c.on_ms if c.in_ else c.off_ms)
        if ts >= due:
            c.since = None
            self._pending.discard(c)
            ev = self._tags.get(c.st.d.tag or "")
            self._set_active(c.st, c.in_, due, ev.last_value if ev is not None else None)

    def _set_active(self, st: _State, active: bool, ts: int, value: float | None) -> None:
        if active:
            self._activate(st, ts, value, {"limit": st.d.limit} if st.d.limit is not None else None)
        else:
            self._return(st, ts, value)

    def _roc_sample(self, ev: _TagEval, ts: int, value: float) -> None:
        hist = ev.roc_hist
        hist.append((ts, value))
        self._roc_eval(ev, ts, value)

    def _roc_eval(self, ev: _TagEval, ts: int, value: float) -> None:
        c = ev.roc
        assert c is not None
        hist = ev.roc_hist
        cut = ts - ev.roc_window_ms
        while len(hist) > 1 and hist[1][0] <= cut:
            hist.popleft()
        rate = abs(value - hist[0][1]) * 60_000 / ev.roc_window_ms if hist else 0.0
        if c.since is not None:
            self._fire_due(c, ts)
        now_in = rate > c.clear if c.in_ else rate > c.limit
        if now_in != c.in_:
            self._condition(c, now_in, ts, value)
        if c.in_ or c.st.active or c.since is not None:
            self._roc_live.add(ev)
        else:
            self._roc_live.discard(ev)

    def _bad_value(self, ev: _TagEval, ts: int, quality: int) -> None:
        for c in ev.conds:  # the condition is unknown: freeze it at the alarm's state
            c.in_ = c.st.active
            if c.since is not None:
                c.since = None
                self._pending.discard(c)
        ev.busy = any(c.in_ for c in ev.conds)
        if ev.roc is not None:
            ev.roc_hist.clear()
            c = ev.roc
            c.in_ = c.st.active
            if c.since is not None:
                c.since = None
                self._pending.discard(c)
            if not c.in_:
                self._roc_live.discard(ev)
        ev.last_value = None
        if not ev.bad.active:
            self._activate(ev.bad, ts, None, {"quality": f"0x{quality & 0xFFFFFFFF:08X}"})

    def _state_sample(self, tag: str, equipment: str, ts: int, value: float | None, quality: int) -> None:
        if ts <= self._state_last_ts.get(tag, _NEVER):
            self.skipped_late += 1
            return
        self._state_last_ts[tag] = ts
        try:
            if quality & BAD_MASK or value is None or value - value:
                return  # an unknown state keeps the last known one
            code = round(value)
        except TypeError:
            return
        if not 0 <= code < len(_EQUIPMENT_STATES) or code != value:
            logger.debug("state tag %s: %r is not a state code", tag, value)
            return
        self.set_equipment_state(equipment, ts, _EQUIPMENT_STATES[code])

    def set_equipment_state(self, equipment: str, ts: int, state: EquipmentState | str | int) -> None:
        """Suppression by design: maintenance hides the equipment's alarms, idle/stopped its L and LL."""
        if isinstance(state, int):
            state = _EQUIPMENT_STATES[state]
        state = EquipmentState(state)
        if self.equipment_state.get(equipment) == state:
            return
        self.equipment_state[equipment] = state
        for st in self._by_equipment.get(equipment, ()):
            want = state == EquipmentState.MAINTENANCE or (state in _STANDBY and st.d.condition in (L, LL))
            if want != st.suppressed:
                self._hide(st, ts, suppressed=want, kind=SUPPRESS if want else UNSUPPRESS, data={"state": state.value})

    # ------------------------------------------------------------------------------------------- events

    def event_open(
        self,
        kind: str,
        event_id: int,
        ts: int,
        *,
        source: str,
        badge: str | None = None,
        zone: str | None = None,
        severity: str | None = None,
        message: str = "",
        data: Mapping[str, Any] | None = None,
    ) -> str | None:
        """An open personnel violation (``kind`` "violation") or video detection ("video") becomes an alarm.

        Returns the alarm id, or None for an unknown kind or an alarm already known.
        """
        source_type = EVENT_SOURCE_TYPES.get(kind)
        if source_type is None:
            return None
        alarm_id = f"{kind}:{int(event_id)}"
        if alarm_id in self._states:
            return None
        extra = dict(data or {})
        camera = extra.get("camera") or (source if source_type == VIDEO else None)
        camera = str(camera)[:64] if camera is not None else None
        if source_type == VIDEO:
            condition = str(extra.get("class") or extra.get("detection") or source)
            origin = camera or source
        elif source_type == EMISSION:  # source: the pollutant's tag; the hour and its average in the facts
            condition = EXCEED
            origin = source
        elif source_type == SPC:  # source: the assay's tag; its value and the Nelson rules in the facts
            condition = OUT_OF_CONTROL
            origin = source
        elif source_type == STOCK:  # source: the item's code; on hand, reorder level, unit and names in the facts
            condition = LOW_STOCK
            origin = source
        else:
            condition = source
            origin = badge or source
        d = AlarmDef(
            id=alarm_id,
            source_type=source_type,
            condition=condition[:32],
            source=str(origin)[:64],
            priority=event_priority(severity),
            area=self.zone_area.get(zone) if zone else None,
            zone=zone,
            badge=badge,
            camera=camera,
            message=message,
            **(_emission_fields(source, extra) if source_type == EMISSION else {}),
        )
        state_data: dict[str, Any] = {"event_id": int(event_id)}
        if source_type == PERSONNEL:
            state_data["rule"] = source
            if isinstance(extra.get("responsible"), list):  # a hazard-source intrusion: its leads are notified
                state_data["hazard_source"] = extra.get("hazard_source")
                state_data["responsible"] = extra["responsible"]
        if not message:  # an event without a sentence: its text is built when shown, from these facts
            state_data["facts"] = {k: extra[k] for k in FACT_KEYS if extra.get(k) is not None}
        if source_type == PERSONNEL and condition == MAN_DOWN:  # where, for joining a camera's man-down
            at = badge_place(extra)
            if at is not None:
                state_data["at"] = [at[0], at[1]]
            if extra.get("camera"):
                state_data["near_camera"] = str(extra["camera"])[:64]
        if source_type == VIDEO and condition == MAN_DOWN:  # where across its picture, for joining a badge's
            seen_x = box_x(extra)
            if seen_x is not None:
                state_data["seen_x"] = round(seen_x, 4)
        st = _State(d, data=state_data)
        if condition == MAN_DOWN and source_type in (PERSONNEL, VIDEO):
            self._join_man_down(st, ts)
        self._states[alarm_id] = st
        self._activate(st, ts, _finite(extra.get("value")) if source_type == EMISSION else None, None)
        return alarm_id

    def _join_man_down(self, st: _State, ts: int) -> None:
        """Link a new man-down alarm to one of the other source (badge / camera) of the same place and time
        (:mod:`engine.mandown`)."""
        want = VIDEO if st.d.source_type == PERSONNEL else PERSONNEL
        fits: list[tuple[float, str, _State, _State, _State, Camera]] = []
        for other in self._states.values():
            o = other.d
            if o.source_type != want or o.condition != MAN_DOWN or other.activated_at is None:
                continue
            if not same_time(other.activated_at, None if other.active else other.returned_at, ts):
                continue
            badge_st, video_st = (st, other) if want == VIDEO else (other, st)
            bdata, vdata = badge_st.data or {}, video_st.data or {}
            if bdata.get("video_alarm") or vdata.get("badge_alarm"):
                continue  # already linked
            cam = self._cameras.get(video_st.d.camera or "")
            at = bdata.get("at")
            place = (float(at[0]), float(at[1])) if isinstance(at, list) and len(at) == 2 else None
            if cam is None or not same_place(cam, place, bdata.get("near_camera"), badge_st.d.zone):
                continue
            fits.append((view_mismatch(cam, place, vdata.get("seen_x")), other.d.id, other, badge_st, video_st, cam))
        if fits:  # several of the other kind: the one the camera's view agrees with best
            _, _, other, badge_st, video_st, cam = min(fits, key=lambda f: (f[0], f[1]))
            o, bdata, vdata = other.d, badge_st.data or {}, video_st.data or {}
            badge_st.data = {
                **bdata,
                "video_alarm": video_st.d.id,
                "video_event": vdata.get("event_id"),
                "seen_by": cam.id,
            }
            video_st.data = {**vdata, "badge": badge_st.d.badge, "badge_alarm": badge_st.d.id}
            other.updated_at = max(other.updated_at, ts)
            self._changed[o.id] = other  # its row shows the link (the new alarm's is written as it activates)
            logger.info("man-down %s joined with %s (camera %s)", badge_st.d.id, video_st.d.id, cam.id)

    def event_close(self, alarm_id: str, ts: int) -> bool:
        st = self._states.get(alarm_id)
        if st is None or not st.active or st.d.source_type not in EVENT_TYPES:
            return False
        self._return(st, ts, st.value if st.d.source_type == EMISSION else None)  # an hour's average stays
        return True

    def open_event_alarms(self) -> dict[str, int]:
        """Active event alarms: alarm id -> event id."""
        out: dict[str, int] = {}
        for alarm_id, st in self._states.items():
            if st.active and st.d.source_type in EVENT_TYPES:
                out[alarm_id] = int(alarm_id.rsplit(":", 1)[1])
        return out

    # ---------------------------------------------------------------------------------------- commands

    def command(
        self,
        action: str,
        alarm_id: str,
        ts: int,
        user: str,
        *,
        comment: str | None = None,
        duration_s: int | None = None,
        address: str | None = None,
    ) -> str:
        """Apply an operator command given at ``ts``; returns ``"ok"`` or ``"rejected: <reason>"``."""
        st = self._states.get(alarm_id)
        if st is None:
            return "rejected: unknown alarm"
        if not user:
            return "rejected: no user"
        if action == ACK:
            if st.acked:
                return "rejected: already acknowledged"
            st.acked, st.acked_at, st.acked_by = True, ts, user
            self._emit(st, ACK, ts, st.value, user=user, comment=comment, address=address)
        elif action == SHELVE:
            if st.oos:
                return "rejected: out of service"
            if duration_s is None or duration_s <= 0:
                return "rejected: shelving needs a duration"
            if duration_s > self.max_shelve_s:
                return f"rejected: shelving for {duration_s} s is over the maximum of {self.max_shelve_s} s"
            if not comment or not comment.strip():
                return "rejected: shelving needs a reason"
            was_hidden = st.hidden
            st.shelved_until, st.shelved_by, st.shelve_reason = ts + int(duration_s) * 1000, user, comment
            self._shelved.add(st)
            if not was_hidden:
                st.acked = True
            self._emit(
                st,
                SHELVE,
                ts,
                st.value,
                user=user,
                comment=comment,
                address=address,
                data={"until": st.shelved_until, "duration_s": int(duration_s)},
            )
        elif action == UNSHELVE:
            if st.shelved_until is None:
                return "rejected: not shelved"
            self._unshelve(st, ts, UNSHELVE, user=user, comment=comment, address=address)
        elif action == COMMENT:
            if not comment or not comment.strip():
                return "rejected: empty comment"
            self._emit(st, COMMENT, ts, st.value, user=user, comment=comment, address=address)
        elif action == OUT_OF_SERVICE:
            if st.oos:
                return "rejected: already out of service"
            if not comment or not comment.strip():
                return "rejected: removing an alarm from service needs a reason"
            was_hidden = st.hidden
            st.oos = True
            if st.shelved_until is not None:  # out of service supersedes shelving
                st.shelved_until = st.shelved_by = st.shelve_reason = None
                self._shelved.discard(st)
            if not was_hidden:
                st.acked = True
            self._emit(st, OUT_OF_SERVICE, ts, st.value, user=user, comment=comment, address=address)
        elif action == IN_SERVICE:
            if not st.oos:
                return "rejected: not out of service"
            st.oos = False
            self._emit(st, IN_SERVICE, ts, st.value, user=user, comment=comment, address=address)
            self._reannunciate(st, ts)
        else:
            return f"rejected: unknown action {action[:32]!r}"
        return "ok"

    def _unshelve(self, st: _State, ts: int, kind: str, **who: Any) -> None:
        st.shelved_until = st.shelved_by = st.shelve_reason = None
        self._shelved.discard(st)
        self._emit(st, kind, ts, st.value, **who)
        self._reannunciate(st, ts)

    def _hide(self, st: _State, ts: int, *, suppressed: bool, kind: str, data: dict[str, Any] | None) -> None:
        was_hidden = st.hidden
        st.suppressed = suppressed
        if st.hidden and not was_hidden:
            st.acked = True
        self._emit(st, kind, ts, st.value, data=data)
        if not suppressed:
            self._reannunciate(st, ts)

    def _reannunciate(self, st: _State, ts: int) -> None:
        """An alarm no longer hidden whose condition is still present is annunciated again."""
        if st.hidden or not st.active:
            return
        st.acked = False
        self._emit(st, ACTIVE, ts, st.value, data={"reannunciated": True})

    # --------------------------------------------------------------------------------------------- time

    def tick(self, now_ms: int) -> None:
        """Let time pass to ``now_ms``: delays that ran out, ROC windows that moved on, shelves that expired."""
        for c in sorted(self._pending, key=lambda c: (c.since or 0, c.st.d.id)):
            if c.since is not None:
                self._fire_due(c, now_ms)
                ev = self._tags.get(c.st.d.tag or "")
                if ev is not None and c is not ev.roc:
                    ev.busy = any(x.in_ or x.since is not None or x.st.active for x in ev.conds)
        for ev in sorted(self._roc_live, key=lambda e: e.name):
            if ev.last_value is not None and now_ms > ev.last_ts:
                self._roc_eval(ev, now_ms, ev.last_value)
        for st in sorted(self._shelved, key=lambda s: (s.shelved_until or 0, s.d.id)):
            if st.shelved_until is not None and st.shelved_until <= now_ms:
                self._unshelve(st, st.shelved_until, SHELVE_EXPIRED)

    # ------------------------------------------------------------------------------------------ output

    def _activate(self, st: _State, ts: int, value: float | None, data: dict[str, Any] | None) -> None:
        st.active = True
        st.activated_at = ts
        st.value = value
        if not st.hidden:
            st.acked = False
        elif data is not None:
            data = {**data, "annunciated": False}
        else:
            data = {"annunciated": False}
        self._emit(st, ACTIVE, ts, value, data=data)

    def _return(self, st: _State, ts: int, value: float | None) -> None:
        st.active = False
        st.returned_at = ts
        st.value = value
        self._emit(st, RETURN, ts, value)

    def _emit(
        self,
        st: _State,
        kind: str,
        ts: int,
        value: float | None,
        *,
        user: str | None = None,
        comment: str | None = None,
        address: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        st.updated_at = max(st.updated_at, ts)
        self._out.append(Transition(st.d.id, ts, kind, st.active, st.acked, value, user, comment, address, data))
        self._changed[st.d.id] = st

    def _view(self, st: _State) -> AlarmView:
        d = st.d
        return AlarmView(
            id=d.id,
            source_type=d.source_type,
            condition=d.condition,
            source=d.source,
            tag_id=self.tag_ids.get(d.tag) if d.tag else None,
            area=d.area,
            zone=d.zone,
            equipment=d.equipment,
            badge=d.badge,
            camera=d.camera,
            priority=d.priority,
            active=st.active,
            acked=st.acked,
            shelved_until=st.shelved_until,
            shelved_by=st.shelved_by,
            shelve_reason=st.shelve_reason,
            suppressed=st.suppressed,
            out_of_service=st.oos,
            value=st.value,
            limit=d.limit,
            activated_at=st.activated_at,
            returned_at=st.returned_at,
            acked_at=st.acked_at,
            acked_by=st.acked_by,
            message=d.message,
            data=st.data,
            updated_at=st.updated_at,
        )

    def pending_transitions(self) -> int:
        return len(self._out)

    def drain(self) -> Batch:
        """Transitions since the last drain, in order, and the changed alarms' views; event alarms that are
        over (returned, acknowledged, not shelved or out of service) are then forgotten."""
        batch = Batch(self._out, [self._view(st) for st in self._changed.values()])
        for st in self._changed.values():
            if st.d.source_type in EVENT_TYPES and not st.active and st.acked and not st.hidden:
                del self._states[st.d.id]
        self._out = []
        self._changed = {}
        return batch
