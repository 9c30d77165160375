"""Personnel and vehicle rules (P2, P3): fences, staffing, man-down, SOS, speed and route. Pure, no I/O.

:class:`RulesEngine` is built once per plant and evaluated every second with the current position of every
badge (:meth:`RulesEngine.evaluate`). Everything per zone and fence is precomputed (polygons as arrays with
their bounding boxes, role tables, road segments, camera cones) and every rule runs on numpy arrays over all
badges; only the badges that break a rule are looked at one by one.

Rules (names are the ``source`` of the violation events):

- ``forbidden_zone``: any badge inside a forbidden zone (``zone.forbidden``) or a forbidden fence.
- ``role_not_allowed``: a badge inside a zone or an ``authorized`` fence whose ``roles_allowed`` lacks its
  role (not reported where ``forbidden_zone`` already is).
- ``unescorted_visitor``: a visitor with no employee within ``escort_m``, where escorting is required
  (zones with ``visitors_escorted``, and outside every zone).
- ``dwell_exceeded``: a person inside a dwell fence (or a zone with ``dwell_limit_s``) for longer than its
  limit; short exits (under the rule's clear delay) do not restart the clock.
- ``under_staffed`` / ``over_staffed``: people in a zone below ``min`` / above ``max`` of the current shift.
- ``lone_worker``: exactly one person in a two-person zone.
- ``man_down``: a person that has not moved beyond ``man_down_radius_m`` for ``man_down_s`` in a hazard zone
  (``zone.hazard`` or risk level orange or red).
- ``sos``: the badge's SOS button is pressed (from the SOS changes the caller passes in).
- ``hazard_intrusion``: a person inside a major hazard source's fence (``hazards.sources[].fence``) who is not
  allowed there: not on its ``authorized`` list, not one of its leads' badges and not on a valid work permit
  that covers the place (:meth:`RulesEngine.set_permitted`). The violation names the source and its leads
  (``responsible``), so the alarm's notification reaches them; it is reported beside a ``forbidden_zone`` of
  the same entry, since it goes to other people.
- ``speeding``: a vehicle faster than the lowest limit of the speed fences it is in.
- ``off_route``: a vehicle further than ``off_route_m`` from the edge of every road, and not in a zone that
  admits drivers (yards, loading bays).

People are ``person`` badges; vehicles are ``vehicle`` badges. Only good-quality positions count: a badge
off site (its gateway reports it with an uncertain status), not located, or last seen more than
``presence_max_age_s`` ago (8 h, as in ``engine.tracks``) is not in any zone. The one bad quality that still
counts is the collectors' outage marker (``BAD_NO_COMMUNICATION``, written at the start of an RTLS outage
with the badge's last position): positions are reported by exception, so a badge that has not reported
since is still where it was (a badge that moved or left reports anew once the link is back). Without this,
a short RTLS outage would end every violation of a still badge and hide a person lying still.

Timing: positions are reported by exception, so a badge's current position carries the time it was last
reported (a still badge keeps an old time). Rules on one badge's position start at the time of the first
position that broke the rule and end at the first position that did not; rules on counts and distances
between badges (staffing, lone worker, escort) start and end at the evaluation time. A condition must hold
for the rule's on-delay before the violation opens (backdated to when it began) and be gone for its clear
delay before it ends (backdated to when it went), which keeps RTLS noise on a fence line from chattering.
``man_down`` and ``dwell_exceeded`` carry their duration in the condition and start when it is exceeded.

Man-down evidence: a badge that has not reported is taken as still only while positions were live (the
caller's ``positions_live``). Stillness is measured from its last movement or from the start of the current
live stretch (the engine's first evaluation, or the return of the RTLS link), whichever is later. A position
older than that (a backfill's last sample, the last fix before an outage or before a restart) proves nothing
about the time since: without this rule, every person in a hazard zone whose last fix was ``man_down_s`` old
would be "down" the moment the rules start or the link comes back, before the fresh positions arrive. An open
man-down stays open while its badge does not move, across outages and restarts (:meth:`restore`).

One violation per key at a time: ``(rule, badge, region)`` where region is the fence or zone for
``dwell_exceeded``, the zone for staffing and ``lone_worker`` and empty otherwise (a badge in a forbidden zone
and the forbidden fence around it is one violation). :meth:`RulesEngine.restore` re-attaches violations that
are still open in the store after a restart.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from engine.shifts import current_shift
from engine.types import BAD_NO_COMMUNICATION, PositionIn
from plant.schema import BadgeKind, FenceKind, Plant, RiskLevel, Role

logger = logging.getLogger(__name__)

FORBIDDEN_ZONE = "forbidden_zone"
ROLE_NOT_ALLOWED = "role_not_allowed"
UNESCORTED_VISITOR = "unescorted_visitor"
DWELL_EXCEEDED = "dwell_exceeded"
UNDER_STAFFED = "under_staffed"
OVER_STAFFED = "over_staffed"
LONE_WORKER = "lone_worker"
MAN_DOWN = "man_down"
SOS = "sos"
SPEEDING = "speeding"
OFF_ROUTE = "off_route"
HAZARD_INTRUSION = "hazard_intrusion"
RULES: tuple[str, ...] = (
    FORBIDDEN_ZONE,
    ROLE_NOT_ALLOWED,
    UNESCORTED_VISITOR,
    DWELL_EXCEEDED,
    UNDER_STAFFED,
    OVER_STAFFED,
    LONE_WORKER,
    MAN_DOWN,
    SOS,
    SPEEDING,
    OFF_ROUTE,
    HAZARD_INTRUSION,
)

SEVERITY: dict[str, str] = {
    SOS: "urgent",
    MAN_DOWN: "urgent",
    FORBIDDEN_ZONE: "high",
    HAZARD_INTRUSION: "high",
    LONE_WORKER: "high",
    ROLE_NOT_ALLOWED: "medium",
    UNESCORTED_VISITOR: "medium",
    DWELL_EXCEEDED: "medium",
    OVER_STAFFED: "medium",
    SPEEDING: "medium",
    UNDER_STAFFED: "low",
    OFF_ROUTE: "low",
}

# How long a condition must hold before it opens (s) ...
DEFAULT_ON_DELAY_S: dict[str, float] = {
    FORBIDDEN_ZONE: 2.0,
    HAZARD_INTRUSION: 3.0,
    ROLE_NOT_ALLOWED: 5.0,
    UNESCORTED_VISITOR: 30.0,
    DWELL_EXCEEDED: 0.0,
    UNDER_STAFFED: 60.0,
    OVER_STAFFED: 60.0,
    LONE_WORKER: 30.0,
    MAN_DOWN: 0.0,
    SOS: 0.0,
    SPEEDING: 3.0,
    OFF_ROUTE: 10.0,
}
# ... and be gone before it ends (s).
DEFAULT_CLEAR_DELAY_S: dict[str, float] = {
    FORBIDDEN_ZONE: 5.0,
    HAZARD_INTRUSION: 5.0,
    ROLE_NOT_ALLOWED: 5.0,
    UNESCORTED_VISITOR: 10.0,
    DWELL_EXCEEDED: 5.0,
    UNDER_STAFFED: 30.0,
    OVER_STAFFED: 30.0,
    LONE_WORKER: 10.0,
    MAN_DOWN: 0.0,
    SOS: 0.0,
    SPEEDING: 3.0,
    OFF_ROUTE: 5.0,
}

_ROLES: tuple[Role, ...] = tuple(Role)
_ROLE_CODE = {r: i for i, r in enumerate(_ROLES)}
_EMPLOYEE = _ROLE_CODE[Role.EMPLOYEE]
_VISITOR = _ROLE_CODE[Role.VISITOR]
_DRIVER = _ROLE_CODE[Role.DRIVER]
_BAD_OR_UNCERTAIN = 0xC0000000  # the severity bits of an OPC UA status code
_REGION_KEYED = {DWELL_EXCEEDED, UNDER_STAFFED, OVER_STAFFED, LONE_WORKER, HAZARD_INTRUSION}


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds the plant file does not carry (defaults suit a smelter with UWB/BLE badges)."""

    man_down_s: float = 60.0  # no movement for this long ...
    man_down_radius_m: float = 1.0  # ... beyond this radius
    man_down_min_level: RiskLevel = RiskLevel.ORANGE  # zones at this level or above count as hazard zones too
    escort_m: float = 10.0  # an employee within this distance escorts a visitor
    escort_outside_zones: bool = True  # visitors need an escort outside every zone too (roads, yards)
    off_route_m: float = 15.0  # beyond the road's edge
    speed_tolerance_kmh: float = 0.0
    speed_min_dt_s: float = 0.8  # speed is measured over at least this long
    speed_stale_s: float = 3.0  # a vehicle with no new position for this long stands still
    presence_max_age_s: float = 8 * 3600.0  # an older good position no longer places a badge on site
    on_delay_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_ON_DELAY_S))
    clear_delay_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CLEAR_DELAY_S))

    def __post_init__(self) -> None:
        for name in (
            "man_down_s",
            "man_down_radius_m",
            "escort_m",
            "off_route_m",
            "speed_min_dt_s",
            "speed_stale_s",
            "presence_max_age_s",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        for name in ("on_delay_s", "clear_delay_s"):
            table = getattr(self, name)
            for rule, value in table.items():
                if rule not in RULES:
                    raise ValueError(f"{name}: unknown rule {rule!r}")
                if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                    raise ValueError(f"{name}[{rule}] must be a finite number >= 0, got {value!r}")


@dataclass
class Violation:
    """One breach of one rule: what the service writes as one ``violation`` event. It carries no sentence: the
    screens build its text in the reader's language from these fields (``engine.alarm_text``)."""

    rule: str
    badge: str | None
    zone: str | None
    start_ms: int
    region: str | None = None  # key part for region-keyed rules (dwell fence/zone, staffing zone)
    fence: str | None = None
    end_ms: int | None = None
    value: float | None = None
    limit: float | None = None
    camera: str | None = None
    x: float | None = None
    y: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    event_id: int | None = None  # the store's event row, set by the caller

    @property
    def key(self) -> tuple[str, str, str]:
        return violation_key(self.rule, self.badge, self.region)

    @property
    def severity(self) -> str:
        return SEVERITY[self.rule]

    def data(self) -> dict[str, Any]:
        """The event's ``data``: camera, fence, value, limit and the rule's extra facts."""
        out: dict[str, Any] = {"camera": self.camera, "fence": self.fence, "value": self.value, "limit": self.limit}
        if self.region is not None:
            out["region"] = self.region
        if self.x is not None and self.y is not None:
            out["x"] = round(self.x, 2)
            out["y"] = round(self.y, 2)
        out.update(self.extra)
        return out


def is_alarm_rule(rule: str) -> bool:
    """Whether an open violation of ``rule`` shows its person as SOS (the SOS button, man-down)."""
    r = rule.lower()
    return "sos" in r or "man_down" in r or "man-down" in r or "mandown" in r


def violation_key(rule: str, badge: str | None, region: str | None) -> tuple[str, str, str]:
    return (rule, badge or "", (region or "") if rule in _REGION_KEYED else "")


class SosChange(NamedTuple):
    """A value of a badge's SOS tag (``pressed`` True/False) at ``ts`` (UTC epoch ms)."""

    badge: str
    ts: int
    pressed: bool


@dataclass
class Tick:
    """What one evaluation changed."""

    now_ms: int
    opened: list[Violation]
    closed: list[Violation]
    headcount: dict[str, int]  # people per zone (first zone of the plant's list that holds them)
    on_site: int  # people and vehicles with a good position
    unknown_badges: int = 0  # positions of badges the plant does not list (ignored here)


@dataclass(slots=True)
class _Cond:
    """A rule that holds at this tick for one key."""

    rule: str
    start_ms: float
    badge: int  # badge index, -1 for zone rules
    zone: str | None
    region: str | None = None
    fence: str | None = None
    value: float | None = None
    limit: float | None = None
    x: float | None = None
    y: float | None = None
    extra: dict[str, Any] | None = None
    clock_based: bool = False  # ends at the evaluation time rather than at a position's time


class _Region(NamedTuple):
    id: str
    name: str
    is_zone: bool
    xs: np.ndarray
    ys: np.ndarray
    poly: list[tuple[float, float]]
    bbox: tuple[float, float, float, float]


class RulesEngine:
    """Evaluates every rule for every badge; keeps the state the rules need between ticks."""

    def __init__(self, plant: Plant, config: RuleConfig | None = None) -> None:
        self.plant = plant
        self.config = config or RuleConfig()
        cfg = self.config
        # badges
        self.badge_ids: list[str] = [b.id for b in plant.badges]
        self.badge_index: dict[str, int] = {b: i for i, b in enumerate(self.badge_ids)}
        n = len(self.badge_ids)
        self.vehicle = np.array([b.kind == BadgeKind.VEHICLE for b in plant.badges], dtype=bool)
        self.person = ~self.vehicle
        self.role = np.array([_ROLE_CODE[b.role] for b in plant.badges], dtype=np.int64)
        self.employee = self.person & (self.role == _EMPLOYEE)
        self.visitor = self.person & (self.role == _VISITOR)
        # regions: zones first (so index < n_zones is a zone), then fences
        regions: list[_Region] = []
        for z in plant.zones:
            regions.append(_region(z.id, z.name, True, z.polygon))
        for f in plant.fences:
            regions.append(_region(f.id, f.name, False, f.polygon))
        # then the major hazard sources' fences (region id: the source's id)
        self.hazard_first = len(regions)
        for hs in plant.hazards.sources:
            regions.append(_region(hs.id, hs.name, False, hs.fence))
        self.regions = regions
        self.n_zones = len(plant.zones)
        self._bbox = np.array([r.bbox for r in regions], dtype=np.float64).reshape(-1, 4)
        self._edges = _edge_table(regions)
        zones, fences = plant.zones, plant.fences
        nr = len(regions)
        hazards = plant.hazards.sources
        self.forbidden = np.array(
            [z.forbidden for z in zones] + [f.kind == FenceKind.FORBIDDEN for f in fences] + [False] * len(hazards),
            dtype=bool,
        )
        # who may be inside each hazard source's fence: its authorized list and its leads' badges (static) ...
        self.hazard_ids = [hs.id for hs in hazards]
        self.hazard_static = np.zeros((len(hazards), n), dtype=bool)
        self.hazard_facts: list[dict[str, Any]] = []
        for h, hs in enumerate(hazards):
            for b in [*hs.authorized, *(lead.badge for lead in hs.responsible if lead.badge)]:
                if b in self.badge_index:
                    self.hazard_static[h, self.badge_index[b]] = True
            leads = [lead.model_dump(exclude_none=True, mode="json") for lead in hs.responsible]
            self.hazard_facts.append({"hazard_source": hs.id, "responsible": leads})
        # ... and the crews of valid work permits (set_permitted)
        self.hazard_permitted = np.zeros_like(self.hazard_static)
        role_ok = np.ones((nr, len(_ROLES)), dtype=bool)
        restricts = np.zeros(nr, dtype=bool)
        for i, z in enumerate(zones):
            role_ok[i] = [r in z.roles_allowed for r in _ROLES]
            restricts[i] = not role_ok[i].all()
        for j, f in enumerate(fences):
            if f.kind == FenceKind.AUTHORIZED:
                role_ok[self.n_zones + j] = [r in f.roles_allowed for r in _ROLES]
                restricts[self.n_zones + j] = not role_ok[self.n_zones + j].all()
        self.role_ok = role_ok
        self.role_regions = np.flatnonzero(restricts & ~self.forbidden)
        self.escort_zone = np.array([z.visitors_escorted for z in zones], dtype=bool)
        self.driver_zone = np.array([Role.DRIVER in z.roles_allowed for z in zones], dtype=bool)
        dwell = [(i, float(z.dwell_limit_s)) for i, z in enumerate(zones) if z.dwell_limit_s]
        dwell += [
            (self.n_zones + j, float(f.dwell_limit_s))
            for j, f in enumerate(fences)
            if f.kind == FenceKind.DWELL and f.dwell_limit_s
        ]
        self.dwell_regions = np.array([d[0] for d in dwell], dtype=np.int64)
        self.dwell_limit_ms = np.array([d[1] * 1000 for d in dwell], dtype=np.float64)
        speed = [
            (self.n_zones + j, float(f.speed_limit_kmh))
            for j, f in enumerate(fences)
            if f.kind == FenceKind.SPEED and f.speed_limit_kmh
        ]
        self.speed_regions = np.array([s[0] for s in speed], dtype=np.int64)
        self.speed_limit_kmh = np.array([s[1] for s in speed], dtype=np.float64)
        self.two_person = np.flatnonzero(np.array([z.two_person for z in zones], dtype=bool))
        self.man_down_zone = np.array(
            [z.hazard or z.level.rank >= cfg.man_down_min_level.rank for z in zones], dtype=bool
        )
        self.zone_ids = [z.id for z in zones]
        self.headcount_limits = {s.id: [z.headcount.get(s.id) for z in zones] for s in plant.site.shifts}
        self.zone_centroid = [_centroid(z.polygon) for z in zones]
        # roads as segments: (a, b, half width)
        segs = [
            (a[0], a[1], b[0], b[1], r.width_m / 2)
            for r in plant.roads
            for a, b in zip(r.polyline, r.polyline[1:], strict=False)
        ]
        self.roads = np.array(segs, dtype=np.float64).reshape(-1, 5)
        # cameras
        cams = plant.cameras
        self.camera_ids = [c.id for c in cams]
        self.camera_zone = [c.zone for c in cams]
        self.cam = np.array(
            [
                (c.position[0], c.position[1], math.radians(c.yaw_deg), math.radians(c.fov_deg) / 2, c.range_m)
                for c in cams
            ],
            dtype=np.float64,
        ).reshape(-1, 5)
        # state between ticks
        nan = np.full(n, np.nan)
        self._anchor_x, self._anchor_y, self._anchor_ts = nan.copy(), nan.copy(), nan.copy()
        self._prev_x, self._prev_y, self._prev_ts = nan.copy(), nan.copy(), nan.copy()
        self._speed = np.zeros(n)
        nd = len(self.dwell_regions)
        self._enter_ts = np.full((nd, n), np.nan)
        self._last_in = np.full((nd, n), np.nan)
        self._row_ts = nan.copy()  # time of each badge's current position (any quality)
        self.active: dict[tuple[str, str, str], Violation] = {}
        self._pending: dict[tuple[str, str, str], _Cond] = {}
        self._clearing: dict[tuple[str, str, str], float] = {}
        self._clock = -math.inf
        self._live_since = math.nan  # start of the current stretch of live positions (NaN: not live)

    # -- public -----------------------------------------------------------------------------------

    def arrays(self, positions: Iterable[PositionIn]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """``x, y, ts, good`` per plant badge from current positions (missing badges are not good), and the
        number of positions of badges the plant does not list."""
        n = len(self.badge_ids)
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        ts = np.full(n, np.nan)
        good = np.zeros(n, dtype=bool)
        rows = list(positions)
        if not rows:
            return x, y, ts, good, 0
        badges, t_col, x_col, y_col, _floor, q_col = zip(*rows, strict=True)
        index = self.badge_index
        idx = np.fromiter((index.get(b, -1) for b in badges), dtype=np.int64, count=len(rows))
        known = idx >= 0
        i = idx[known]
        x[i] = np.asarray(x_col, dtype=np.float64)[known]
        y[i] = np.asarray(y_col, dtype=np.float64)[known]
        ts[i] = np.asarray(t_col, dtype=np.float64)[known]
        quality = np.asarray(q_col, dtype=np.int64)[known]
        good[i] = ((quality & _BAD_OR_UNCERTAIN) == 0) | (quality == BAD_NO_COMMUNICATION)
        good &= np.isfinite(x) & np.isfinite(y)
        return x, y, ts, good, int((~known).sum())

    def membership(self, x: np.ndarray, y: np.ndarray, good: np.ndarray) -> np.ndarray:
        """``inside[region, badge]`` for every zone and fence (zones first), good positions only.

        Bounding boxes of all regions against all badges first, then one even-odd crossing test over the
        candidate (region, badge) pairs and the edges of their polygons, all at once (polygons are padded
        to the same number of edges with empty ones).
        """
        nr, n = len(self.regions), len(x)
        inside = np.zeros((nr, n), dtype=bool)
        if not nr or not n:
            return inside
        gx, gy = np.where(good, x, np.nan), np.where(good, y, np.nan)
        bb = self._bbox
        with np.errstate(invalid="ignore"):
            cand = (
                (gx[None, :] >= bb[:, 0:1])
                & (gx[None, :] <= bb[:, 2:3])
                & (gy[None, :] >= bb[:, 1:2])
                & (gy[None, :] <= bb[:, 3:4])
            )
        r_idx, b_idx = np.nonzero(cand)
        if not r_idx.size:
            return inside
        px, py = x[b_idx][:, None], y[b_idx][:, None]
        x0, y0, x1, y1 = (self._edges[k][r_idx] for k in range(4))
        crosses = (y0 > py) != (y1 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = (x1 - x0) * (py - y0) / (y1 - y0) + x0
        hit = np.count_nonzero(crosses & (px < xcross), axis=1) % 2 == 1
        inside[r_idx[hit], b_idx[hit]] = True
        return inside

    def set_permitted(self, permitted: Mapping[str, Iterable[str]]) -> None:
        """The badges a valid work permit allows inside each hazard source's fence now (source id -> badges);
        replaces what was set before. Unknown sources and badges are ignored."""
        allowed = np.zeros_like(self.hazard_static)
        index = {h: i for i, h in enumerate(self.hazard_ids)}
        for source, badges in permitted.items():
            h = index.get(source)
            if h is None:
                continue
            for b in badges:
                i = self.badge_index.get(b)
                if i is not None:
                    allowed[h, i] = True
        self.hazard_permitted = allowed

    def restore(self, violations: Iterable[Violation]) -> int:
        """Re-attach violations still open in the store (after a restart); returns how many were taken.

        Violations of badges, zones or fences the plant no longer has are still taken: they end at the
        first evaluation, since nothing keeps them true.
        """
        count = 0
        for v in violations:
            if v.rule not in RULES:
                logger.warning("open violation with unknown rule %r ignored", v.rule)
                continue
            if v.key in self.active:
                logger.warning("duplicate open violation %s (event %s) ignored", v.key, v.event_id)
                continue
            self.active[v.key] = v
            count += 1
            if v.rule == DWELL_EXCEEDED and v.badge in self.badge_index and v.region is not None:
                for d, r in enumerate(self.dwell_regions.tolist()):
                    if self.regions[r].id == v.region:
                        i = self.badge_index[v.badge]
                        self._enter_ts[d, i] = v.start_ms - self.dwell_limit_ms[d]
        return count

    def evaluate(
        self,
        now_ms: int,
        positions: Iterable[PositionIn] | tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
        sos: Sequence[SosChange] = (),
        *,
        positions_live: bool = True,
    ) -> Tick:
        """Evaluate every rule at ``now_ms`` (UTC epoch ms).

        ``positions``: the current position of each badge (or the result of :meth:`arrays`); ``sos``: the
        SOS tag values that arrived since the last call (or the latest value of each, the first time), in
        any order. ``positions_live=False`` says that positions are not arriving (RTLS link down): still
        badges then prove nothing, so ``man_down`` neither opens nor ends until they arrive again, and once
        they do, stillness is counted from then (the module's "Man-down evidence").
        """
        cfg = self.config
        clock = float(max(now_ms, self._clock))
        self._clock = clock
        if isinstance(positions, tuple):
            x, y, ts, good, unknown = positions
        else:
            x, y, ts, good, unknown = self.arrays(positions)
        with np.errstate(invalid="ignore"):
            good = good & (clock - ts <= cfg.presence_max_age_s * 1000)
        self._row_ts = ts
        n = len(self.badge_ids)

        inside = self.membership(x, y, good)
        zin = inside[: self.n_zones]
        in_any_zone = zin.any(axis=0)
        zone_of = np.where(in_any_zone, zin.argmax(axis=0), -1)

        conds: dict[tuple[str, str, str], _Cond] = {}
        zone_id = self._zone_id

        def badge_cond(rule: str, i: int, **kw: Any) -> None:
            c = _Cond(rule, float(ts[i]), i, kw.pop("zone", zone_id(int(zone_of[i]))), x=float(x[i]), y=float(y[i]))
            for k, v in kw.items():
                setattr(c, k, v)
            conds[violation_key(rule, self.badge_ids[i], c.region)] = c

        # forbidden zones and fences
        forb = np.flatnonzero(self.forbidden)
        forbidden_hit: np.ndarray = np.zeros(n, dtype=bool)
        if forb.size:
            fin = inside[forb]
            forbidden_hit = np.asarray(fin.any(axis=0))  # 2-D in, so an array out (stubs allow a scalar)
            first = fin.argmax(axis=0)
            for i in np.flatnonzero(forbidden_hit).tolist():
                reg = self.regions[int(forb[first[i]])]
                if reg.is_zone:
                    badge_cond(FORBIDDEN_ZONE, i, zone=reg.id)
                else:
                    badge_cond(FORBIDDEN_ZONE, i, fence=reg.id)

        # major hazard sources' fences: people neither authorized, nor leads, nor on a valid permit
        if self.hazard_ids:
            hin = inside[self.hazard_first : self.hazard_first + len(self.hazard_ids)]
            intruder = hin & ~(self.hazard_static | self.hazard_permitted) & self.person[None, :]
            for h, i in zip(*np.nonzero(intruder), strict=True):
                facts = dict(self.hazard_facts[int(h)])
                badge_cond(HAZARD_INTRUSION, int(i), region=self.hazard_ids[int(h)], extra=facts)

        # roles (zones and authorized fences), not where forbidden already says it
        rr = self.role_regions
        if rr.size:
            bad = inside[rr] & ~self.role_ok[rr][:, self.role]
            hit = bad.any(axis=0) & ~forbidden_hit
            first = bad.argmax(axis=0)
            for i in np.flatnonzero(hit).tolist():
                reg = self.regions[int(rr[first[i]])]
                allowed = [r.value for r, ok in zip(_ROLES, self.role_ok[int(rr[first[i]])], strict=True) if ok]
                extra = {"role": _ROLES[int(self.role[i])].value, "allowed": allowed}
                if reg.is_zone:
                    badge_cond(ROLE_NOT_ALLOWED, i, zone=reg.id, extra=extra)
                else:
                    badge_cond(ROLE_NOT_ALLOWED, i, fence=reg.id, extra=extra)

        # visitors need an employee close by
        vis = np.flatnonzero(self.visitor & good)
        if vis.size:
            vz = zone_of[vis]
            need = np.where(vz >= 0, self.escort_zone[np.maximum(vz, 0)], cfg.escort_outside_zones)
            vis = vis[need]
        if vis.size:
            emp = np.flatnonzero(self.employee & good)
            if emp.size:
                d = np.hypot(x[vis, None] - x[None, emp], y[vis, None] - y[None, emp]).min(axis=1)
            else:
                d = np.full(vis.size, np.inf)
            for k in np.flatnonzero(d > cfg.escort_m).tolist():
                i = int(vis[k])
                dist = float(d[k])
                badge_cond(
                    UNESCORTED_VISITOR,
                    i,
                    value=round(dist, 1) if math.isfinite(dist) else None,
                    limit=cfg.escort_m,
                    clock_based=True,
                )
                conds[violation_key(UNESCORTED_VISITOR, self.badge_ids[i], None)].start_ms = clock

        # dwell
        if self.dwell_regions.size:
            ins = inside[self.dwell_regions] & self.person[None, :]
            enter, last_in = self._enter_ts, self._last_in
            start = ins & np.isnan(enter)
            enter[start] = np.broadcast_to(ts, ins.shape)[start]
            last_in[ins] = clock
            gone = ~ins & (clock - last_in >= cfg.clear_delay_s.get(DWELL_EXCEEDED, 0.0) * 1000)
            enter[gone] = np.nan
            last_in[gone] = np.nan
            over = ins & (clock - enter >= self.dwell_limit_ms[:, None])
            for d, i in zip(*np.nonzero(over), strict=True):
                reg = self.regions[int(self.dwell_regions[d])]
                limit_ms = float(self.dwell_limit_ms[d])
                badge_cond(
                    DWELL_EXCEEDED,
                    int(i),
                    region=reg.id,
                    zone=reg.id if reg.is_zone else zone_id(int(zone_of[i])),
                    fence=None if reg.is_zone else reg.id,
                    value=round((clock - float(enter[d, i])) / 1000, 1),
                    limit=limit_ms / 1000,
                )
                conds[violation_key(DWELL_EXCEEDED, self.badge_ids[int(i)], reg.id)].start_ms = (
                    float(enter[d, i]) + limit_ms
                )

        # staffing and lone workers: people per zone, first zone of the list
        people = self.person & good
        counts = np.bincount(zone_of[people & (zone_of >= 0)], minlength=self.n_zones)
        headcount = dict(zip(self.zone_ids, counts.tolist(), strict=True))
        shift = current_shift(self.plant, int(clock))
        if shift is not None:
            for z, lim in enumerate(self.headcount_limits.get(shift[0].id, [])):
                if lim is None:
                    continue
                c = int(counts[z])
                rule = UNDER_STAFFED if c < lim.min else OVER_STAFFED if c > lim.max else None
                if rule is None:
                    continue
                zid = self.zone_ids[z]
                cx, cy = self.zone_centroid[z]
                conds[violation_key(rule, None, zid)] = _Cond(
                    rule,
                    clock,
                    -1,
                    zid,
                    region=zid,
                    value=float(c),
                    limit=float(lim.min if rule == UNDER_STAFFED else lim.max),
                    x=cx,
                    y=cy,
                    extra={"shift": shift[0].id},
                    clock_based=True,
                )
        for z in self.two_person.tolist():
            if counts[z] == 1:
                i = int(np.flatnonzero(people & (zone_of == z))[0])
                zid = self.zone_ids[z]
                badge_cond(LONE_WORKER, i, zone=zid, region=zid, value=1.0, limit=2.0, clock_based=True)
                conds[violation_key(LONE_WORKER, self.badge_ids[i], zid)].start_ms = clock

        # man-down: still in a hazard zone, over live time only (see "Man-down evidence" above)
        moved = ~(np.hypot(x - self._anchor_x, y - self._anchor_y) <= cfg.man_down_radius_m)
        reset = good & moved
        self._anchor_x[reset], self._anchor_y[reset], self._anchor_ts[reset] = x[reset], y[reset], ts[reset]
        lost = ~good
        self._anchor_x[lost] = self._anchor_y[lost] = self._anchor_ts[lost] = np.nan
        if positions_live:
            if not math.isfinite(self._live_since):
                self._live_since = clock  # positions arrive from now on: stillness counts from here
            held = np.zeros(n, dtype=bool)  # an open man-down stays proven while its badge does not move
            for v in self.active.values():
                if v.rule == MAN_DOWN and v.badge in self.badge_index:
                    held[self.badge_index[v.badge]] = True
            still_from = np.where(held, self._anchor_ts, np.maximum(self._anchor_ts, self._live_since))
            hazard = np.zeros(n, dtype=bool)
            hz = zone_of >= 0
            hazard[hz] = self.man_down_zone[zone_of[hz]]
            still_ms = clock - still_from
            down = people & hazard & (still_ms >= cfg.man_down_s * 1000)
            for i in np.flatnonzero(down).tolist():
                badge_cond(MAN_DOWN, i, value=round(float(still_ms[i]) / 1000, 1), limit=cfg.man_down_s)
                conds[violation_key(MAN_DOWN, self.badge_ids[i], None)].start_ms = (
                    float(still_from[i]) + cfg.man_down_s * 1000
                )
        else:
            self._live_since = math.nan  # the link is down: the next live stretch starts anew
            for key, v in self.active.items():
                if v.rule == MAN_DOWN:
                    conds[key] = _Cond(MAN_DOWN, v.start_ms, self.badge_index.get(v.badge or "", -1), v.zone)

        # vehicles: speed over the speed fences, distance from the roads
        self._vehicle_rules(clock, x, y, ts, good, inside, zone_of, badge_cond)

        opened: list[Violation] = []
        closed: list[Violation] = []
        self._track(clock, conds, opened, closed)
        self._sos(sos, x, y, good, zone_of, opened, closed)
        return Tick(
            now_ms=int(clock),
            opened=opened,
            closed=closed,
            headcount=headcount,
            on_site=int(good.sum()),
            unknown_badges=unknown,
        )

    def nearest_camera(self, x: float, y: float) -> str | None:
        """The nearest camera whose view cone (yaw, field of view, range) holds the point, or None."""
        if not self.cam.size or not (math.isfinite(x) and math.isfinite(y)):
            return None
        dx, dy = x - self.cam[:, 0], y - self.cam[:, 1]
        dist = np.hypot(dx, dy)
        off = np.abs((np.arctan2(dy, dx) - self.cam[:, 2] + np.pi) % (2 * np.pi) - np.pi)
        sees = (dist <= self.cam[:, 4]) & ((off <= self.cam[:, 3]) | (dist < 1e-6))
        if not sees.any():
            return None
        k = int(np.argmin(np.where(sees, dist, np.inf)))
        return self.camera_ids[k]

    def zone_camera(self, zone: str) -> str | None:
        """A camera for a whole zone: the nearest that sees its centroid, else the nearest one registered in it."""
        try:
            z = self.zone_ids.index(zone)
        except ValueError:
            return None
        cx, cy = self.zone_centroid[z]
        cam = self.nearest_camera(cx, cy)
        if cam is not None:
            return cam
        mine = [k for k, cz in enumerate(self.camera_zone) if cz == zone]
        if not mine:
            return None
        return self.camera_ids[min(mine, key=lambda k: math.hypot(self.cam[k, 0] - cx, self.cam[k, 1] - cy))]

    # -- internals --------------------------------------------------------------------------------

    def _zone_id(self, z: int) -> str | None:
        return self.zone_ids[z] if z >= 0 else None

    def _vehicle_rules(
        self,
        clock: float,
        x: np.ndarray,
        y: np.ndarray,
        ts: np.ndarray,
        good: np.ndarray,
        inside: np.ndarray,
        zone_of: np.ndarray,
        badge_cond: Any,
    ) -> None:
        cfg = self.config
        veh = self.vehicle & good
        # speed from the last position at least speed_min_dt_s older
        px, py, pts = self._prev_x, self._prev_y, self._prev_ts
        dt_s = (ts - pts) / 1000
        first = veh & np.isnan(pts)
        step = veh & (dt_s >= cfg.speed_min_dt_s)
        self._speed[step] = np.hypot(x[step] - px[step], y[step] - py[step]) / dt_s[step]
        upd = first | step
        px[upd], py[upd], pts[upd] = x[upd], y[upd], ts[upd]
        stale = ~veh | (clock - ts > cfg.speed_stale_s * 1000)
        self._speed[stale] = 0.0
        px[~veh] = py[~veh] = pts[~veh] = np.nan
        if self.speed_regions.size:
            lim = np.where(inside[self.speed_regions], self.speed_limit_kmh[:, None], np.inf)
            which = lim.argmin(axis=0)
            limit = lim.min(axis=0)
            kmh = self._speed * 3.6
            for i in np.flatnonzero(veh & (kmh > limit + cfg.speed_tolerance_kmh)).tolist():
                fence = self.regions[int(self.speed_regions[which[i]])].id
                badge_cond(SPEEDING, i, fence=fence, value=round(float(kmh[i]), 1), limit=float(limit[i]))
        vi = np.flatnonzero(veh)
        if self.roads.size and vi.size:
            d = _distance_to_roads(x[vi], y[vi], self.roads)
            in_yard = np.zeros(vi.size, dtype=bool)
            zv = zone_of[vi]
            in_yard[zv >= 0] = self.driver_zone[zv[zv >= 0]]
            for k in np.flatnonzero((d > cfg.off_route_m) & ~in_yard).tolist():
                badge_cond(OFF_ROUTE, int(vi[k]), value=round(float(d[k]), 1), limit=cfg.off_route_m)

    def _track(
        self,
        clock: float,
        conds: dict[tuple[str, str, str], _Cond],
        opened: list[Violation],
        closed: list[Violation],
    ) -> None:
        """Open what held for its on-delay, end what was gone for its clear delay."""
        cfg = self.config
        for key, c in conds.items():
            if key in self.active:
                self._clearing.pop(key, None)
                continue
            first = self._pending.setdefault(key, c)
            if c.rule in (MAN_DOWN, DWELL_EXCEEDED):
                first = c  # their start comes with the condition (anchor or entry time)
            if clock - first.start_ms >= cfg.on_delay_s.get(c.rule, 0.0) * 1000:
                self._pending.pop(key, None)
                v = self._open(first, c)
                self.active[key] = v
                opened.append(v)
        for key in [k for k in self._pending if k not in conds]:
            del self._pending[key]
        for key, v in list(self.active.items()):
            if key in conds or v.rule == SOS:
                continue
            since = self._clearing.get(key)
            if since is None:
                since = self._gone_at(v, clock)
                self._clearing[key] = since
            if clock - since >= cfg.clear_delay_s.get(v.rule, 0.0) * 1000:
                del self.active[key]
                self._clearing.pop(key, None)
                v.end_ms = int(max(since, v.start_ms))
                closed.append(v)

    def _gone_at(self, v: Violation, clock: float) -> float:
        """When a violation's condition went: its badge's position time, or now for count rules."""
        if v.rule in (UNDER_STAFFED, OVER_STAFFED, LONE_WORKER, UNESCORTED_VISITOR) or v.badge is None:
            return clock
        i = self.badge_index.get(v.badge)
        if i is None:
            return clock
        t = float(self._row_ts[i])
        if not math.isfinite(t) or t < v.start_ms:
            return clock if not math.isfinite(t) else float(v.start_ms)
        return t

    def _open(self, first: _Cond, now: _Cond) -> Violation:
        badge = self.badge_ids[first.badge] if first.badge >= 0 else None
        camera = None
        if first.x is not None and first.y is not None:
            camera = self.nearest_camera(first.x, first.y) if badge is not None else None
        if badge is None and first.zone is not None:
            camera = self.zone_camera(first.zone)
        v = Violation(
            rule=first.rule,
            badge=badge,
            zone=first.zone,
            start_ms=int(first.start_ms),
            region=first.region,
            fence=first.fence,
            value=now.value,
            limit=now.limit,
            camera=camera,
            x=first.x,
            y=first.y,
            extra=dict(first.extra or {}),
        )
        return v

    def _sos(
        self,
        changes: Sequence[SosChange],
        x: np.ndarray,
        y: np.ndarray,
        good: np.ndarray,
        zone_of: np.ndarray,
        opened: list[Violation],
        closed: list[Violation],
    ) -> None:
        for ch in sorted(changes, key=lambda c: (c.ts, c.badge)):
            key = violation_key(SOS, ch.badge, None)
            if ch.pressed:
                if key in self.active:
                    continue
                i = self.badge_index.get(ch.badge, -1)
                ok = i >= 0 and bool(good[i])
                v = Violation(
                    rule=SOS,
                    badge=ch.badge,
                    zone=self._zone_id(int(zone_of[i])) if ok else None,
                    start_ms=int(ch.ts),
                    value=1.0,
                    x=float(x[i]) if ok else None,
                    y=float(y[i]) if ok else None,
                )
                v.camera = self.nearest_camera(v.x, v.y) if ok and v.x is not None and v.y is not None else None
                self.active[key] = v
                opened.append(v)
            else:
                gone = self.active.pop(key, None)
                if gone is not None:
                    gone.end_ms = int(max(ch.ts, gone.start_ms))
                    closed.append(gone)


def _edge_table(regions: Sequence[_Region]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges of every region's polygon as ``(x0, y0, x1, y1)`` arrays of shape (regions, most edges); shorter
    polygons are padded with empty edges (both ends at the first vertex), which never cross."""
    most = max((len(r.poly) for r in regions), default=0)
    out = [np.zeros((len(regions), most)) for _ in range(4)]
    for k, r in enumerate(regions):
        pts = r.poly
        for i in range(most):
            a, b = (pts[i - 1], pts[i]) if i < len(pts) else (pts[0], pts[0])
            out[0][k, i], out[1][k, i], out[2][k, i], out[3][k, i] = a[0], a[1], b[0], b[1]
    return out[0], out[1], out[2], out[3]


def _region(rid: str, name: str, is_zone: bool, polygon: Sequence[tuple[float, float]]) -> _Region:
    arr = np.asarray(polygon, dtype=np.float64)
    bbox = (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 0].max()), float(arr[:, 1].max()))
    return _Region(rid, name, is_zone, arr[:, 0], arr[:, 1], [(float(a), float(b)) for a, b in polygon], bbox)


def _centroid(polygon: Sequence[tuple[float, float]]) -> tuple[float, float]:
    arr = np.asarray(polygon, dtype=np.float64)
    return float(arr[:, 0].mean()), float(arr[:, 1].mean())


def _distance_to_roads(x: np.ndarray, y: np.ndarray, roads: np.ndarray) -> np.ndarray:
    """Distance (m) of each point from the nearest road edge (0 on a road)."""
    ax, ay, bx, by, half = (roads[:, k][None, :] for k in range(5))
    vx, vy = bx - ax, by - ay
    wx, wy = x[:, None] - ax, y[:, None] - ay
    seg2 = vx * vx + vy * vy
    t = np.clip(np.where(seg2 > 0, (wx * vx + wy * vy) / np.where(seg2 > 0, seg2, 1.0), 0.0), 0.0, 1.0)
    d = np.hypot(wx - t * vx, wy - t * vy) - half
    out: np.ndarray = np.maximum(d.min(axis=1), 0.0)
    return out
