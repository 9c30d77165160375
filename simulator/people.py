"""Badge movement: people walk between their work zones during their shift, vehicles drive the roads.

Every movement is a timed :class:`~simulator.geometry.Route`; a badge is re-planned when its route ends
or when one of its scripted incidents changes stage, at that exact simulated time, so the tracks do not
depend on how often :meth:`Crowd.step` is called (only the random draws do).

Behaviour, in simulated plant-local time:

- shift crews (``badge.shift``) arrive 5-20 min before their shift and leave 2-15 min after it, every day;
  day staff (no shift) 08:00-17:00 on weekdays; visitors 09:30-15:30 on weekdays, following their escort
  when the escort is on site; vehicles without a shift 06:00-22:00 every day;
- people enter and leave through the nearest gate and walk along the roads to a work zone, dwell there
  20-90 min (always slowly moving: a standing-still badge means man-down), then go to the next one;
- crews respect dwell limits: in a zone with a ``dwell_limit_s`` they stay at most
  :data:`DWELL_RESPECT` of it, and once they have been inside a dwell fence (a hot spot: tapping floor,
  converter mouths) for that share of its limit, their next leg goes to a point of the zone outside every
  dwell fence. One stay in twenty (:data:`OVERSTAY_CHANCE`, from a hash of the seed, the badge and the
  time, so no random draw is added) is an overstay: the person keeps working at the hot spot until
  :data:`OVERSTAY_FACTOR` times its limit - the occasional dwell violation the rules are there for;
- vehicles drive the roads (at the road speed limit or their own maximum, whichever is lower; one trip in
  25 at 1.25 x the limit) to their work zones or random road points and stop there for 3-20 min;
- off site, a badge rests exactly on its gate's position and publishes nothing new; the model reports
  it as off site (:meth:`Crowd.on_site`), which the server publishes as the status
  ``UncertainLastUsableValue`` of its position (badge out of RTLS coverage, last known position).

The day's special-work permits (``simulator.permit_jobs``) pin their people: a permit's guardian and crew walk to
its work point and work about it while it runs (the guardian walks 25 m off once), and a stranger walks into its
work area once.

An evacuation (incident ``evacuation``) sends every person on site to the nearest muster point along the roads
for its duration, where they wait, then back to work; people off site stay off site until it ends, and a
person pinned by a man-down stays where they lie (trapped).

Scripted incidents pin the badge on site: before a forbidden entry it waits next to the zone, at the
start walks in, stays inside until the end and then leaves; before a man-down it works deep inside the
hazard zone and at the start stops dead until the end.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from engine.clock import to_local
from engine.geometry import point_in_polygon
from plant.schema import Badge, BadgeKind, FenceKind, IncidentKind, Plant, Role
from simulator.geometry import (
    Pt,
    RoadNetwork,
    Route,
    deep_point,
    interior_points,
    polygon_centroid,
)
from simulator.incidents import IncidentSchedule, hash_unit
from simulator.permit_jobs import CLOSE, PermitJobs

logger = logging.getLogger(__name__)

OFF_RECHECK_MS = 300_000.0  # off-site badges look at their schedule every 5 simulated minutes
DWELL_RESPECT = 0.5  # share of a dwell limit after which a person heads out of the zone or hot spot
OVERSTAY_CHANCE = 0.05  # share of hot-spot visits that overstay the limit ...
OVERSTAY_FACTOR = 1.25  # ... until this many times it

# modes
OFF, TO_ZONE, DWELL, LEAVING, STAGE_GO, STAGE_WAIT, IN_GO, IN_WAIT, FROZEN, FOLLOW, TO_GATE = range(11)
ON_SITE_MODES = {TO_ZONE, DWELL, STAGE_GO, STAGE_WAIT, IN_GO, IN_WAIT, FROZEN, FOLLOW}


@dataclass
class _BadgeIncident:
    index: int
    kind: IncidentKind
    target: Pt  # where the badge waits before the start
    inner: Pt  # where it goes at the start (forbidden entry)
    zone: int
    lead_ms: float


@dataclass
class _Walker:
    idx: int
    badge: Badge
    vehicle: bool
    zones: list[int]
    gate: Pt
    outside: Pt  # where the badge rests while off site: its gate
    v_walk: float
    v_zone: float
    arr_off: float  # minutes relative to the window start (negative = earlier)
    leave_off: float
    shift_start: float | None  # minutes after local midnight
    shift_len: float
    escort: int | None
    incidents: list[_BadgeIncident] = field(default_factory=list)
    route: Route = field(default_factory=lambda: Route.still((0.0, 0.0), 0.0, 0.0))
    mode: int = OFF
    zone: int = -1
    floor: int = 0
    dwell_until: float = 0.0
    cursor: float = 0.0
    pos: Pt = (0.0, 0.0)
    offset: Pt = (1.5, 1.0)
    hot_since: dict[int, tuple[float, bool]] = field(default_factory=dict)  # dwell fence -> (got in, overstays)
    jobs: bool = False  # may be on a special-work permit's crew (``simulator.permit_jobs``)


class Crowd:
    """All badges of a plant."""

    def __init__(self, plant: Plant, rng: np.random.Generator, schedule: IncidentSchedule, start_ms: int) -> None:
        self.plant = plant
        self.rng = rng
        self.schedule = schedule
        self.tz = plant.tz()
        self.width = plant.site.width_m
        self.depth = plant.site.depth_m
        self.net = RoadNetwork.build([(r.polyline, r.width_m, r.speed_limit_kmh / 3.6) for r in plant.roads])
        self.zones = plant.zones
        self.zone_index = {z.id: i for i, z in enumerate(plant.zones)}
        self.zone_points = [interior_points(z.polygon, rng) for z in plant.zones]
        self.zone_deep = [deep_point(z.polygon, pts) for z, pts in zip(plant.zones, self.zone_points, strict=True)]
        self.hot_spots = [
            (f.polygon, f.dwell_limit_s * 1000.0) for f in plant.fences if f.kind == FenceKind.DWELL and f.dwell_limit_s
        ]
        self.zone_hot = [[_grid_points(poly, z.polygon) for poly, _ in self.hot_spots] for z in plant.zones]
        self.zone_cool = [
            [q for q in pts if not any(point_in_polygon(q[0], q[1], poly) for poly, _ in self.hot_spots)] or pts
            for pts in self.zone_points
        ]
        self.shifts = {s.id: s for s in plant.site.shifts}
        self.muster = [(float(m.position[0]), float(m.position[1]), float(m.radius_m)) for m in plant.muster_points]
        self.jobs = PermitJobs(plant, schedule.seed)
        self.evacuations = [k for k, inc in enumerate(schedule.incidents) if inc.kind == IncidentKind.EVACUATION]
        gates = [g.position for g in plant.gates] or [self._default_gate()]
        self.gates: list[Pt] = [(float(g[0]), float(g[1])) for g in gates]
        walk_zones = [
            i for i, z in enumerate(plant.zones) if not z.forbidden and Role.EMPLOYEE in z.roles_allowed
        ] or list(range(len(plant.zones)))
        self.walkers: list[_Walker] = []
        index = {b.id: i for i, b in enumerate(plant.badges)}
        for i, b in enumerate(plant.badges):
            zones = [self.zone_index[z] for z in b.work_zones] or [
                walk_zones[int(k)] for k in rng.choice(len(walk_zones), size=min(3, len(walk_zones)), replace=False)
            ]
            first = self.zone_deep[zones[0]]
            gate = min(self.gates, key=lambda g, f=first: math.dist(g, f))
            vehicle = b.kind == BadgeKind.VEHICLE
            shift = self.shifts.get(b.shift) if b.shift else None
            w = _Walker(
                idx=i,
                badge=b,
                vehicle=vehicle,
                zones=zones,
                gate=gate,
                outside=gate,
                v_walk=min(float(rng.uniform(0.9, 1.4)), b.max_speed_mps),
                v_zone=min(float(rng.uniform(0.3, 0.7)), b.max_speed_mps),
                arr_off=float(rng.uniform(-20, -5)),
                leave_off=float(rng.uniform(2, 15)),
                shift_start=None if shift is None else shift.start.hour * 60 + shift.start.minute,
                shift_len=0.0 if shift is None else shift.hours * 60,
                escort=index.get(b.escort) if b.escort else None,
                offset=(float(rng.uniform(-2.5, 2.5)), float(rng.uniform(-2.5, 2.5))),
            )
            w.incidents = [self._badge_incident(w, k) for k in schedule.badge_incidents(b.id)]
            w.jobs = b.id in self.jobs.badges
            if not vehicle:  # after the badge's own: a man-down lies where it is during an evacuation
                w.incidents += [
                    _BadgeIncident(k, IncidentKind.EVACUATION, first, first, -1, 0.0) for k in self.evacuations
                ]
            self.walkers.append(w)
        # leaders move before their followers
        self.order = sorted(range(len(self.walkers)), key=lambda k: self.walkers[k].escort is not None)
        self._place(start_ms)

    # ---- set-up -------------------------------------------------------------------------------------

    def _default_gate(self) -> Pt:
        if not self.net.empty:
            return min(self.net.nodes, key=lambda p: min(p[0], p[1], self.width - p[0], self.depth - p[1]))
        return (0.0, self.depth / 2)

    def _badge_incident(self, w: _Walker, i: int) -> _BadgeIncident:
        inc = self.schedule.incidents[i]
        if inc.zone is not None:
            zone = self.zone_index[inc.zone]
        elif inc.kind == IncidentKind.MAN_DOWN:
            hazards = [z for z in w.zones if self.zones[z].hazard] or [k for k, z in enumerate(self.zones) if z.hazard]
            zone = hazards[0] if hazards else w.zones[0]
        else:
            zone = w.zones[0]
        inner = self.zone_deep[zone]
        target = inner
        if inc.kind == IncidentKind.FORBIDDEN_ENTRY:
            target = self._outside_zone(zone)
        reach = (self.net.max_path_m(target) if not self.net.empty else self.width + self.depth) + 50.0
        speed = w.badge.max_speed_mps * 0.7 if w.vehicle else w.v_walk
        lead = 1000.0 * (reach * 1.3 / speed + 120.0)
        return _BadgeIncident(i, inc.kind, target, inner, zone, lead)

    def _outside_zone(self, zone: int) -> Pt:
        """A waiting point next to the zone but outside its polygon (on the nearest road if possible)."""
        poly = self.zones[zone].polygon
        c = polygon_centroid(poly)
        p = c if self.net.empty else self.net.snap(c)[1]
        if not point_in_polygon(p[0], p[1], poly):
            return p
        dx, dy = p[0] - c[0], p[1] - c[1]
        n = math.hypot(dx, dy)
        ux, uy = (dx / n, dy / n) if n > 1e-6 else (0.0, -1.0)
        for step in range(1, 400):
            q = (p[0] + ux * 2 * step, p[1] + uy * 2 * step)
            if not point_in_polygon(q[0], q[1], poly):
                q = (q[0] + ux * 3, q[1] + uy * 3)
                return (min(max(q[0], 0.0), self.width), min(max(q[1], 0.0), self.depth))
        return p

    def _place(self, t0: float) -> None:
        for k in self.order:
            w = self.walkers[k]
            w.cursor = t0
            stage = self._stage(w, t0)
            quiet = (IncidentKind.SOS, IncidentKind.EVACUATION)
            if stage is not None and stage[1] in ("approach", "active") and stage[0].kind not in quiet:
                p = stage[0].target
                w.mode = STAGE_WAIT
                w.zone = stage[0].zone
            elif w.jobs and (job := self.jobs.role(w.badge.id, t0)) is not None:
                p = job[0]
                w.mode = STAGE_WAIT
            elif self._want(w, t0):
                if w.escort is not None and self.walkers[w.escort].mode in ON_SITE_MODES:
                    e = self.walkers[w.escort].pos
                    p = (e[0] + w.offset[0], e[1] + w.offset[1])
                    w.mode = FOLLOW
                elif w.vehicle:
                    p = self._random_road_point() if not w.badge.work_zones else self._vehicle_stop(w.zones[0])
                    w.mode = DWELL
                    w.dwell_until = t0 + float(self.rng.uniform(0, 10)) * 60_000
                else:
                    w.zone = w.zones[int(self.rng.integers(len(w.zones)))]
                    p = self._zone_point(w.zone, t0)
                    w.floor = int(self.rng.integers(self.zones[w.zone].floors))
                    w.mode = DWELL
                    w.dwell_until = t0 + float(self.rng.uniform(0, 60)) * 60_000
            else:
                p = w.outside
                w.mode = OFF
            w.pos = p
            w.route = Route.still(p, t0, t0, w.floor if w.mode == DWELL else 0)

    # ---- schedules ----------------------------------------------------------------------------------

    def _local(self, t: float) -> tuple[float, int]:
        d = to_local(t, self.tz)
        return d.hour * 60 + d.minute + d.second / 60, d.weekday()

    def _want(self, w: _Walker, t: float) -> bool:
        m, wd = self._local(t)
        if w.shift_start is not None:
            ws = w.shift_start + w.arr_off
            return (m - ws) % 1440 < w.shift_len + w.leave_off - w.arr_off
        if w.vehicle:
            return 360 + w.arr_off <= m < 1320 + w.leave_off
        if w.badge.role == Role.VISITOR:
            return wd < 5 and 570 - w.arr_off * 2 <= m < 930 - w.leave_off * 2
        return wd < 5 and 480 + w.arr_off <= m < 1020 + w.leave_off

    def _stage(self, w: _Walker, t: float) -> tuple[_BadgeIncident, str, int, int] | None:
        best: tuple[_BadgeIncident, str, int, int] | None = None
        for bi in w.incidents:
            for s, e in self.schedule.occurrences(bi.index, t, t + 1, pad_ms=bi.lead_ms):
                if s <= t < e:
                    return (bi, "active", s, e)
                if s - bi.lead_ms <= t < s and best is None:
                    best = (bi, "approach", s, e)
        return best

    def _next_boundary(self, w: _Walker, after: float, horizon: float) -> float | None:
        best: float | None = None
        for bi in w.incidents:
            for s, e in self.schedule.occurrences(bi.index, after, horizon, pad_ms=bi.lead_ms):
                for b in (s - bi.lead_ms, s, e):
                    if after < b and (best is None or b < best):
                        best = b
        return best

    # ---- stepping -----------------------------------------------------------------------------------

    def step(self, now: float) -> None:
        for k in self.order:
            w = self.walkers[k]
            if w.mode == FOLLOW:
                self._follow(w, now)
                continue
            for _ in range(200):
                end = w.route.end_ms
                nb = self._next_boundary(w, w.cursor, now + 1) if w.incidents else None
                if w.jobs:
                    jb = self.jobs.next_boundary(w.badge.id, w.cursor, now + 1)
                    nb = jb if nb is None or (jb is not None and jb < nb) else nb
                if nb is not None and nb <= now and nb < end:
                    self._replan(w, nb, w.route.at(nb))
                    continue
                if end <= now:
                    self._replan(w, end, w.route.end)
                    if w.mode == FOLLOW:
                        break
                    continue
                break
            if w.mode == FOLLOW:
                self._follow(w, now)
            else:
                w.pos = w.route.at(now)

    def _follow(self, w: _Walker, now: float) -> None:
        lead = self.walkers[w.escort] if w.escort is not None else None
        dt = max(0.0, (now - w.cursor) / 1000)
        if lead is None or lead.mode not in ON_SITE_MODES or not self._want(w, now) or self._stage(w, now):
            self._replan(w, now, w.pos)
            w.pos = w.route.at(now)
            return
        tx, ty = lead.pos[0] + w.offset[0], lead.pos[1] + w.offset[1]
        d = math.dist(w.pos, (tx, ty))
        reach = w.badge.max_speed_mps * 0.95 * dt
        if d <= reach or d < 1e-9:
            w.pos = (tx, ty)
        else:
            f = reach / d
            w.pos = (w.pos[0] + (tx - w.pos[0]) * f, w.pos[1] + (ty - w.pos[1]) * f)
        w.floor = lead.route.floor
        w.cursor = now
        w.route = Route.still(w.pos, now, now, w.floor)

    # ---- planning -----------------------------------------------------------------------------------

    def _replan(self, w: _Walker, t: float, p: Pt) -> None:
        w.cursor = t
        w.pos = p
        stage = self._stage(w, t) if w.incidents else None
        if stage is not None and stage[0].kind == IncidentKind.EVACUATION:
            if self._evacuate(w, t, p, stage[3]):
                return
            stage = None
        if w.jobs and (stage is None or stage[0].kind == IncidentKind.SOS):
            job = self.jobs.role(w.badge.id, t)
            if job is not None:
                self._to_work(w, t, p, *job)
                return
        if stage is not None and stage[0].kind != IncidentKind.SOS:
            bi, what, _s, e = stage
            if what == "active" and bi.kind == IncidentKind.MAN_DOWN:
                w.mode = FROZEN
                w.route = Route.still(p, t, e, w.route.floor)
                return
            if what == "active" and bi.kind == IncidentKind.FORBIDDEN_ENTRY:
                if w.mode in (IN_GO, IN_WAIT) and math.dist(p, bi.inner) < 8:
                    w.mode = IN_WAIT
                    w.route = self._loiter(w, t, p, bi.inner, 5.0, 0)
                else:
                    w.mode = IN_GO
                    w.route = Route.along([p, bi.inner], [min(w.v_zone * 1.6, w.badge.max_speed_mps)], t)
                return
            # approach: get there and wait around the target
            if w.mode == OFF or (w.mode == LEAVING and math.dist(p, w.outside) < 1):
                w.mode = STAGE_GO
                w.route = self._enter(w, t, bi.target)
            elif math.dist(p, bi.target) <= 3.5:
                w.mode = STAGE_WAIT
                w.route = self._loiter(w, t, p, bi.target, 2.0, w.route.floor)
            else:
                w.mode = STAGE_GO
                w.route = self._travel(w, t, p, bi.target)
            return
        want = self._want(w, t) or stage is not None  # an SOS keeps the badge on site
        if w.escort is not None and want:
            lead = self.walkers[w.escort]
            if lead.mode in ON_SITE_MODES:
                if w.mode == OFF:
                    w.mode = TO_GATE
                    w.route = Route.along([w.outside, w.gate], [w.v_walk], t)
                    return
                if w.mode in ON_SITE_MODES or w.mode == TO_GATE:
                    w.mode = FOLLOW
                    w.route = Route.still(p, t, t)
                    return
        if w.mode == OFF:
            if want:
                self._next_destination(w, t, p, entering=True)
            else:
                w.route = Route.still(p, t, t + OFF_RECHECK_MS)
            return
        if w.mode == LEAVING:
            w.mode = OFF
            w.route = Route.still(w.outside, t, t + OFF_RECHECK_MS)
            return
        if not want:
            w.mode = LEAVING
            pts, speeds = self._road_path(w, p, w.gate)
            w.route = Route.along([*pts, w.outside], [*speeds, w.v_walk], t)
            return
        if w.mode == TO_ZONE:
            w.mode = DWELL
            if w.vehicle:
                w.dwell_until = t + float(self.rng.uniform(3, 20)) * 60_000
            else:
                w.dwell_until = t + float(self.rng.uniform(20, 90)) * 60_000
                limit_s = self.zones[w.zone].dwell_limit_s if w.zone >= 0 else None
                if limit_s:
                    w.dwell_until = min(w.dwell_until, t + DWELL_RESPECT * limit_s * 1000)
                w.floor = int(self.rng.integers(self.zones[w.zone].floors)) if w.zone >= 0 else 0
        if w.mode == DWELL and t < w.dwell_until:
            if w.vehicle:
                w.route = Route.still(p, t, w.dwell_until)
            else:
                w.route = self._loiter_zone(w, t, p)
            return
        self._next_destination(w, t, p, entering=False)

    def _to_work(self, w: _Walker, t: float, p: Pt, target: Pt, radius: float) -> None:
        """A special-work permit's crew member, guardian or stranger: get to ``target`` and move about it."""
        d = math.dist(p, target)
        if w.mode == OFF or (w.mode == LEAVING and math.dist(p, w.outside) < 1):
            w.mode = STAGE_GO
            w.route = self._enter(w, t, target)
        elif d <= radius + 1.0:
            w.mode = STAGE_WAIT
            w.route = self._loiter(w, t, p, target, radius, 0)
        elif d <= 60.0:
            w.mode = STAGE_GO
            w.route = Route.along([p, target], [w.v_walk], t)
        else:
            w.mode = STAGE_GO
            w.route = self._travel(w, t, p, target)

    def _evacuate(self, w: _Walker, t: float, p: Pt, end: float) -> bool:
        """During an evacuation: to the nearest muster point and wait there until ``end``. False for a badge off
        site or on its way out (it carries on as it would)."""
        if w.mode in (LEAVING, TO_GATE) or not self.muster:
            return False
        if w.mode == OFF:
            w.route = Route.still(p, t, end)
            return True
        mx, my, r = min(self.muster, key=lambda m: math.dist(p, (m[0], m[1])))
        if math.dist(p, (mx, my)) <= 0.7 * r:
            w.mode = STAGE_WAIT
            w.route = self._loiter(w, t, p, (mx, my), 0.5 * r, 0)
        else:
            w.mode = STAGE_GO
            w.route = self._travel(w, t, p, (mx, my))
        return True

    def _next_destination(self, w: _Walker, t: float, p: Pt, entering: bool) -> None:
        w.mode = TO_ZONE
        if w.vehicle and not w.badge.work_zones:
            w.zone = -1
            target = self._random_road_point()
        else:
            choices = [z for z in w.zones if z != w.zone] or w.zones
            w.zone = choices[int(self.rng.integers(len(choices)))]
            target = self._vehicle_stop(w.zone) if w.vehicle else self._zone_point(w.zone, t)
        w.route = self._enter(w, t, target) if entering else self._travel(w, t, p, target)

    # ---- route builders -----------------------------------------------------------------------------

    def _speeds(self, w: _Walker, limits: list[float]) -> list[float]:
        if not w.vehicle:
            return [w.v_walk] * len(limits)
        factor = 1.25 if self.rng.random() < 0.04 else float(self.rng.uniform(0.75, 1.0))
        vmax = w.badge.max_speed_mps
        return [min(vmax, 3.0) if math.isinf(s) else min(vmax, s * factor) for s in limits]

    def _road_path(self, w: _Walker, a: Pt, b: Pt) -> tuple[list[Pt], list[float]]:
        pts, limits = self.net.path(a, b)
        return pts, self._speeds(w, limits)

    def _travel(self, w: _Walker, t: float, a: Pt, b: Pt) -> Route:
        pts, speeds = self._road_path(w, a, b)
        return Route.along(pts, speeds, t)

    def _enter(self, w: _Walker, t: float, target: Pt) -> Route:
        pts, speeds = self._road_path(w, w.gate, target)
        return Route.along([w.outside, *pts], [w.v_walk if not w.vehicle else min(3.0, speeds[0]), *speeds], t)

    def _loiter_zone(self, w: _Walker, t: float, p: Pt) -> Route:
        pts = self.zone_points[w.zone]
        if self.hot_spots:
            inside = [k for k, (poly, _) in enumerate(self.hot_spots) if point_in_polygon(p[0], p[1], poly)]
            for k in [k for k in w.hot_since if k not in inside]:
                del w.hot_since[k]
            for k in inside:
                if k not in w.hot_since:
                    overstay = hash_unit(self.schedule.seed, w.idx, k, int(t)) < OVERSTAY_CHANCE
                    w.hot_since[k] = (t, overstay and bool(self.zone_hot[w.zone][k]))
                since, overstay = w.hot_since[k]
                limit = self.hot_spots[k][1]
                if overstay and t - since < OVERSTAY_FACTOR * limit:
                    pts = self.zone_hot[w.zone][k]  # stays at the hot spot past its limit
                    break
                if t - since >= DWELL_RESPECT * limit:
                    pts = self.zone_cool[w.zone]  # been at the hot spot long enough: work elsewhere a while
        pts = self._cordoned(pts, w.zone, t, p)
        q = pts[int(self.rng.integers(len(pts)))]
        if math.dist(p, q) < 1.0:
            q = (q[0] + 1.0, q[1])
        return Route.along([p, q], [w.v_zone], t, w.floor)

    def _loiter(self, w: _Walker, t: float, p: Pt, centre: Pt, radius: float, floor: int) -> Route:
        a = float(self.rng.uniform(0, 2 * math.pi))
        r = float(self.rng.uniform(0.5, 1.0)) * radius
        q = (centre[0] + r * math.cos(a), centre[1] + r * math.sin(a))
        if math.dist(p, q) < 0.5:
            q = (centre[0] - r * math.cos(a), centre[1] - r * math.sin(a))
        return Route.along([p, q], [min(0.4, w.v_zone)], t, floor)

    def _zone_point(self, zone: int, t: float) -> Pt:
        pts = self._cordoned(self.zone_points[zone], zone, t, None)
        return pts[int(self.rng.integers(len(pts)))]

    def _cordoned(self, pts: list[Pt], zone: int, t: float, p: Pt | None) -> list[Pt]:
        """``pts`` without those in the work area of a special-work permit running in ``zone`` (2 m around it), or
        whose straight way from ``p`` crosses it: the area is cordoned off, only the permit's people go in (all of
        ``pts`` when none is left)."""
        job = self.jobs.at(t)
        if job is None or self.zone_index.get(job.zone) != zone or not (job.start <= t < job.at(CLOSE)):
            return pts
        x0, y0 = job.area[0][0] - 2.0, job.area[0][1] - 2.0
        x1, y1 = job.area[2][0] + 2.0, job.area[2][1] + 2.0

        def clear(q: Pt) -> bool:
            n = 1 if p is None else max(1, int(math.dist(p, q) // 2.0))
            for i in range(n + 1):
                a = 1.0 if p is None else i / n
                x = q[0] if p is None else p[0] + (q[0] - p[0]) * a
                y = q[1] if p is None else p[1] + (q[1] - p[1]) * a
                if x0 <= x <= x1 and y0 <= y <= y1 and (p is None or math.dist((x, y), p) > 0.5):
                    return False
            return True

        return [q for q in pts if clear(q)] or pts

    def _vehicle_stop(self, zone: int) -> Pt:
        c = self.zone_deep[zone]
        return c if self.net.empty else self.net.snap(c)[1]

    def _random_road_point(self) -> Pt:
        if self.net.empty:
            return (float(self.rng.uniform(0, self.width)), float(self.rng.uniform(0, self.depth)))
        return self.net.nodes[int(self.rng.integers(len(self.net.nodes)))]

    # ---- read-out -----------------------------------------------------------------------------------

    def positions(self) -> list[tuple[float, float, int]]:
        out = []
        for w in self.walkers:
            floor = w.route.floor if w.mode in (DWELL, STAGE_WAIT, FROZEN, FOLLOW) and not w.vehicle else 0
            out.append((w.pos[0], w.pos[1], floor))
        return out

    def on_site(self, k: int) -> bool:
        """False while the badge is off site (resting on its gate, out of RTLS coverage)."""
        return self.walkers[k].mode != OFF


def _grid_points(fence: list[tuple[float, float]], zone: list[tuple[float, float]], n: int = 5) -> list[Pt]:
    """Where a person works at a hot spot: an ``n`` x ``n`` grid over the fence's box, inside the fence and the
    zone (no random draw; an empty list when the two do not overlap)."""
    xs = [p[0] for p in fence]
    ys = [p[1] for p in fence]
    out: list[Pt] = []
    for i in range(n):
        for j in range(n):
            x = min(xs) + (max(xs) - min(xs)) * (i + 0.5) / n
            y = min(ys) + (max(ys) - min(ys)) * (j + 0.5) / n
            if point_in_polygon(x, y, fence) and point_in_polygon(x, y, zone):
                out.append((x, y))
    return out if len(out) >= 3 else []
