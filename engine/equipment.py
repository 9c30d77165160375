"""Equipment performance from state history (pure, no I/O): run time, starts and stops, availability,
MTBF and MTTR (IEC 60050-191), OEE (ISO 22400-2), downtime events with reasons and their Pareto.

The input is each unit's **non-run intervals** (``StateSpan``: idle, stopped, fault or maintenance, with a
start and an end, the end None while it runs on); the time between them is run time. This is how the store
keeps state history (``store.equipment``): one event per spell out of ``run``.

Definitions, for a window ``[t0, t1)`` clipped to ``now`` (the future is not counted):

- **planned busy time** (PBT, ISO 22400-2 5.5.6) = window - planned maintenance (planned downtime);
- **actual production time** (APT) = time in ``run``;
- **availability** = APT / PBT;
- **starts** = changes from a non-run state to run inside the window, **stops** = run to a non-run state;
- **failures** = fault spells that *begin* inside the window; **MTBF** (mean operating time between
  failures) = APT / failures; None without a failure (the page shows "no failure");
- **restorations** = fault spells that *end* inside the window (moments count in half-open windows);
  **MTTR** (mean time to restoration) = the mean of their whole durations (a fault that began before the
  window counts for its whole length when it is restored inside it, so a repair is never cut in two by a
  shift change or midnight); None without one;
- **OEE** = availability x effectiveness x quality, with effectiveness = planned unit time x produced / APT
  (discrete units, ISO 22400-2 5.10.1) or, for continuous units, actual feed rate / design rate (the same
  number when the planned unit time is 1 / design rate; the page says which it shows), and quality =
  good / produced (1 where the plant counts no rejects).

Downtime events are the unplanned non-run spells (idle, stopped, fault); a spell shorter than the plant's
short-stop threshold is a **short stop**: counted, never asked for a reason. Planned maintenance is not a
loss (it is outside the planned busy time) and is neither in the Pareto nor in the unassigned list. The
**lost tonnes** of a downtime event are its minutes in the window times the unit's design rate.

Every view (the overview's availability, the production page, exports, the benchmark) calls these
functions, so one number is the same everywhere.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
RUN = "run"
IDLE = "idle"
STOPPED = "stopped"
FAULT = "fault"
MAINTENANCE = "maintenance"
STATES = (RUN, IDLE, STOPPED, FAULT, MAINTENANCE)
UNPLANNED = (IDLE, STOPPED, FAULT)
UNASSIGNED = "unassigned"
SHORT_STOP = "short_stop"


@dataclass(frozen=True, slots=True)
class StateSpan:
    """One spell of a unit out of ``run``: ``end_ms`` None while it lasts."""

    equipment: str
    state: str
    start_ms: int
    end_ms: int | None = None
    event_id: int | None = None
    reason: str | None = None

    def clipped(self, t0: int, t1: int) -> int:
        """Milliseconds of this spell inside ``[t0, t1)`` (an open spell lasts to ``t1``)."""
        end = t1 if self.end_ms is None else min(self.end_ms, t1)
        return max(0, end - max(self.start_ms, t0))


@dataclass(frozen=True, slots=True)
class EquipmentKpi:
    equipment: str
    window_ms: int
    state_ms: dict[str, int]
    planned_busy_ms: int
    starts: int
    stops: int
    failures: int
    restorations: int
    restoration_ms: int  # whole durations of the restored faults

    @property
    def run_ms(self) -> int:
        return self.state_ms.get(RUN, 0)

    @property
    def availability(self) -> float | None:
        return self.run_ms / self.planned_busy_ms if self.planned_busy_ms > 0 else None

    @property
    def mtbf_h(self) -> float | None:
        return self.run_ms / self.failures / HOUR_MS if self.failures else None

    @property
    def mttr_h(self) -> float | None:
        return self.restoration_ms / self.restorations / HOUR_MS if self.restorations else None


def equipment_kpi(
    equipment: str, spans: Iterable[StateSpan], t0: int, t1: int, now_ms: int | None = None
) -> EquipmentKpi:
    """KPIs of one unit in ``[t0, min(t1, now))`` from its non-run spells (any that overlap the window).

    Moments are counted in half-open windows: a stop, start, failure or restoration at ``t`` belongs to the
    window with ``t0 <= t < t1``, so consecutive shifts or days never count one twice."""
    end = t1 if now_ms is None else max(t0, min(t1, now_ms))
    window = max(0, end - t0)
    spells = list(spans)
    begins = {s.start_ms for s in spells}
    ends = {s.end_ms for s in spells if s.end_ms is not None}
    state_ms = dict.fromkeys(STATES, 0)
    starts = stops = failures = restorations = restoration_ms = 0
    for s in spells:
        state_ms[s.state] = state_ms.get(s.state, 0) + s.clipped(t0, end)
        if t0 <= s.start_ms < end:
            if s.start_ms not in ends:
                stops += 1  # from run (not straight on from another non-run spell)
            if s.state == FAULT:
                failures += 1
        if s.end_ms is not None and t0 <= s.end_ms < end:
            if s.end_ms not in begins:
                starts += 1  # back to run
            if s.state == FAULT:
                restorations += 1
                restoration_ms += s.end_ms - s.start_ms
    down = sum(v for k, v in state_ms.items() if k != RUN)
    state_ms[RUN] = max(0, window - down)
    return EquipmentKpi(
        equipment=equipment,
        window_ms=window,
        state_ms=state_ms,
        planned_busy_ms=window - state_ms.get(MAINTENANCE, 0),
        starts=starts,
        stops=stops,
        failures=failures,
        restorations=restorations,
        restoration_ms=restoration_ms,
    )


def combine(key: str, kpis: Sequence[EquipmentKpi]) -> EquipmentKpi:
    """One class's (or the plant's) KPIs from its units': times and counts add up, so availability is total
    run time over total planned busy time and MTBF total run time over all failures."""
    state_ms = dict.fromkeys(STATES, 0)
    for k in kpis:
        for s, v in k.state_ms.items():
            state_ms[s] = state_ms.get(s, 0) + v
    return EquipmentKpi(
        equipment=key,
        window_ms=sum(k.window_ms for k in kpis),
        state_ms=state_ms,
        planned_busy_ms=sum(k.planned_busy_ms for k in kpis),
        starts=sum(k.starts for k in kpis),
        stops=sum(k.stops for k in kpis),
        failures=sum(k.failures for k in kpis),
        restorations=sum(k.restorations for k in kpis),
        restoration_ms=sum(k.restoration_ms for k in kpis),
    )


# --- OEE ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Oee:
    availability: float | None
    effectiveness: float | None  # discrete: planned unit time x produced / APT; continuous: feed / design rate
    quality: float | None
    continuous: bool
    produced: float
    good: float

    @property
    def oee(self) -> float | None:
        parts = (self.availability, self.effectiveness, self.quality)
        if any(p is None for p in parts):
            return None
        return math.prod(p for p in parts if p is not None)


def oee(
    kpi: EquipmentKpi,
    produced: float,
    design_rate_per_h: float,
    *,
    rejected: float | None = None,
    continuous: bool = False,
) -> Oee:
    """OEE of one unit over ``kpi``'s window. ``design_rate_per_h`` is the rate the unit is planned to make
    (its planned unit time is the inverse); ``rejected`` the amount not good (None: no reject count, quality 1)."""
    apt_h = kpi.run_ms / HOUR_MS
    produced = produced if math.isfinite(produced) and produced > 0 else 0.0
    if apt_h > 0 and design_rate_per_h > 0:
        if continuous:
            effectiveness: float | None = (produced / apt_h) / design_rate_per_h  # actual feed rate / design rate
        else:
            effectiveness = (1.0 / design_rate_per_h) * produced / apt_h  # planned unit time x produced / APT
    else:
        effectiveness = None
    bad = rejected if rejected is not None and math.isfinite(rejected) and rejected > 0 else 0.0
    good = max(0.0, produced - bad)
    quality = good / produced if produced > 0 else None
    return Oee(kpi.availability, effectiveness, quality, continuous, produced, good)


# --- downtime events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Downtime:
    event_id: int | None
    equipment: str
    state: str
    start_ms: int
    end_ms: int | None
    minutes: float  # inside the window
    reason: str | None  # the assigned reason id; None when unassigned
    lost: float  # minutes x design rate (the unit's counters' unit, t)
    short: bool

    @property
    def bucket(self) -> str:
        """What the Pareto counts it under: its reason, ``short_stop`` or ``unassigned``."""
        if self.reason:
            return self.reason
        return SHORT_STOP if self.short else UNASSIGNED


def downtime_events(
    spans: Iterable[StateSpan],
    t0: int,
    t1: int,
    now_ms: int,
    *,
    short_stop_minutes: float,
    design_rates: dict[str, float] | None = None,
) -> list[Downtime]:
    """The unplanned non-run spells overlapping the window, newest first. A spell still running is a short
    stop only once it has ended short (a running one is not yet known to be short)."""
    rates = design_rates or {}
    end = max(t0, min(t1, now_ms))
    out: list[Downtime] = []
    for s in spans:
        if s.state not in UNPLANNED:
            continue
        inside = s.clipped(t0, end)
        if inside <= 0 and not (s.end_ms is None and s.start_ms <= end):
            continue
        whole = (s.end_ms if s.end_ms is not None else now_ms) - s.start_ms
        short = s.end_ms is not None and whole < short_stop_minutes * MINUTE_MS
        minutes = inside / MINUTE_MS
        out.append(
            Downtime(
                event_id=s.event_id,
                equipment=s.equipment,
                state=s.state,
                start_ms=s.start_ms,
                end_ms=s.end_ms,
                minutes=minutes,
                reason=s.reason,
                lost=minutes / 60 * rates.get(s.equipment, 0.0),
                short=short,
            )
        )
    out.sort(key=lambda d: (-d.start_ms, d.equipment))
    return out


def unassigned(events: Iterable[Downtime]) -> list[Downtime]:
    """Downtime events still waiting for a reason (short stops are never asked for one)."""
    return [d for d in events if d.reason is None and not d.short]


@dataclass(frozen=True, slots=True)
class ParetoRow:
    key: str  # reason id, category id, ``short_stop`` or ``unassigned``
    minutes: float
    count: int
    lost: float
    cumulative: float = field(default=0.0)  # share of the total of the sorted measure up to this row


def pareto(events: Iterable[Downtime], by: str = "minutes", parent: dict[str, str] | None = None) -> list[ParetoRow]:
    """Downtime by reason (or by category, with ``parent`` mapping reason -> category), largest first by
    ``by`` (``minutes``, ``count`` or ``lost``), with the cumulative share."""
    if by not in ("minutes", "count", "lost"):
        raise ValueError(f"unknown Pareto measure {by!r}")
    acc: dict[str, list[float]] = {}
    for d in events:
        key = d.bucket
        if parent is not None:
            key = parent.get(key, key)
        row = acc.setdefault(key, [0.0, 0.0, 0.0])
        row[0] += d.minutes
        row[1] += 1
        row[2] += d.lost
    rows = [ParetoRow(k, v[0], int(v[1]), v[2]) for k, v in acc.items()]
    rows.sort(key=lambda r: (-getattr(r, by), r.key))
    total = math.fsum(getattr(r, by) for r in rows)
    out: list[ParetoRow] = []
    running = 0.0
    for r in rows:
        running += getattr(r, by)
        out.append(ParetoRow(r.key, r.minutes, r.count, r.lost, running / total if total > 0 else 0.0))
    return out


def available_now(states: dict[str, str]) -> tuple[int, int]:
    """(units available, units with a known state) from each unit's current state: a unit in fault or
    maintenance is not available. The overview's availability tile and the production page use this."""
    total = len(states)
    down = sum(1 for s in states.values() if s in (FAULT, MAINTENANCE))
    return total - down, total


def spans_from_changes(
    equipment: str, changes: Sequence[tuple[int, str]], until_ms: int | None = None
) -> list[StateSpan]:
    """Non-run spells from a unit's state changes ``(ts, state)`` in time order (repeats of one state are
    one spell); the last spell stays open unless ``until_ms`` is given."""
    out: list[StateSpan] = []
    current: tuple[int, str] | None = None
    for ts, state in changes:
        if current is not None and current[1] == state:
            continue
        if current is not None and current[1] != RUN:
            out.append(StateSpan(equipment, current[1], current[0], ts))
        current = (ts, state)
    if current is not None and current[1] != RUN:
        out.append(StateSpan(equipment, current[1], current[0], until_ms))
    return out
