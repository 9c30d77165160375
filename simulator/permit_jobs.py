"""The special-work permits the live simulator plays (GB 30871-2022): one hot-work job every six hours, its crew and
guardian at the work point while it runs, the guardian walking away once and a stranger walking into the work area.

The plan is a pure function of the plant, the seed and the time, so the badges' movements (``simulator.people``)
and the permit records the simulated people file (``simulator.safety.PermitClerk``) agree without talking to each
other. Block ``k`` starts at ``k * BLOCK_MS`` (epoch ms); its job, in minutes after the block's start:

- 0 applied, 2 and 4 approved (the work unit, then the safety department: a first-grade hot work, 5.2);
- the crew (guardian and two workers, people of the zone) walk to the work point from 0 and stay in its area until
  the close; every second job's first gas analysis (at 25) comes back too high (combustible gas over 0.5 % vol,
  5.3), the next one (30) passes; 35 isolations confirmed, 40 active;
- 90-95 the guardian walks 25 m off the work point (more than the 10 m the live checks allow): the personnel service
  suspends the permit; 100 a new analysis, 102 resumed (only when it was suspended);
- 150-155 a stranger (a person of the zone, not on the permit) walks into the work area; from 125 they wait 25 m away;
- 330 closed; valid 10-350 (a first-grade hot work may be valid at most 8 h, 5.2).

The zone: in turn, the hazardous zones not forbidden with a gas detector and at least four people who work there
(employees or contractors, no scripted incident of their own, escorting nobody). The work point: the point of a 5 m
grid inside the zone and outside every fence that is nearest to the zone's centre; the area a 20 m square around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.geometry import point_in_polygon
from plant.schema import BadgeKind, FenceKind, Plant, Role, TagKind
from simulator.geometry import Pt, polygon_centroid
from simulator.incidents import hash_unit

MIN = 60_000
BLOCK_MS = 6 * 3_600_000
HALF_SIDE_M = 10.0  # the work area: a square of 20 m around the work point
AWAY_M = 25.0  # how far the guardian walks off, and where the stranger waits
# minutes after the block's start
APPLY, APPROVE_UNIT, APPROVE_SAFETY, GAS_BAD, GAS, ISOLATE, ACTIVATE = 0, 2, 4, 25, 30, 35, 40
AWAY_FROM, AWAY_TO, REGAS, RESUME = 90, 95, 100, 102
STRANGER_WAITS, INTRUDE_FROM, INTRUDE_TO = 125, 150, 155
CLOSE, VALID_FROM, VALID_TO = 330, 10, 350


@dataclass(frozen=True)
class Job:
    block: int
    zone: str
    zone_name: str
    zone_name_zh: str
    point: Pt
    area: tuple[Pt, ...]
    guardian: str
    crew: tuple[str, ...]
    stranger: str
    away: Pt  # where the guardian goes
    wait: Pt  # where the stranger waits before walking in
    inside: Pt  # where the stranger goes in the area
    bad_gas: bool  # the first gas analysis comes back too high

    @property
    def start(self) -> int:
        return self.block * BLOCK_MS

    def at(self, minute: float) -> int:
        return self.start + round(minute * MIN)

    @property
    def title(self) -> str:
        return f"{self.zone_name_zh}管道法兰动火补焊 / Hot work: weld repair of a duct flange, {self.zone_name}"

    def role(self, badge: str, t: float) -> tuple[Pt, float] | None:
        """Where ``badge`` has to be at ``t`` for this job (a point and the radius it moves about in), or None."""
        m = (t - self.start) / MIN
        if badge == self.guardian and 0 <= m < CLOSE:
            if AWAY_FROM <= m < AWAY_TO:
                return self.away, 2.0
            return (self.point[0], self.point[1] - 3.0), 1.5
        if badge in self.crew and 0 <= m < CLOSE:
            k = self.crew.index(badge)
            return (self.point[0] + (2.5 if k % 2 else -2.5), self.point[1] + 1.5), 1.5
        if badge == self.stranger:
            if STRANGER_WAITS <= m < INTRUDE_FROM:
                return self.wait, 2.0
            if INTRUDE_FROM <= m < INTRUDE_TO:
                return self.inside, 1.5
        return None

    def boundaries(self, badge: str) -> tuple[int, ...]:
        if badge == self.guardian:
            return (self.at(0), self.at(AWAY_FROM), self.at(AWAY_TO), self.at(CLOSE))
        if badge in self.crew:
            return (self.at(0), self.at(CLOSE))
        if badge == self.stranger:
            return (self.at(STRANGER_WAITS), self.at(INTRUDE_FROM), self.at(INTRUDE_TO))
        return ()


class PermitJobs:
    """The plan of one plant and seed; :meth:`job` is cached per block."""

    def __init__(self, plant: Plant, seed: int) -> None:
        self.plant = plant
        self.seed = seed
        pinned = {i.badge for i in plant.incidents if i.badge}
        escorts = {b.escort for b in plant.badges if b.escort}
        gas_zones = {t.zone for t in plant.tags if t.kind == TagKind.GAS and t.zone}
        self.people: dict[str, list[str]] = {}
        for z in plant.zones:
            if z.forbidden or z.id not in gas_zones:
                continue
            ids = [
                b.id
                for b in plant.badges
                if b.kind == BadgeKind.PERSON
                and b.role in (Role.EMPLOYEE, Role.CONTRACTOR)
                and z.id in b.work_zones
                and b.id not in pinned
                and b.id not in escorts
            ]
            if len(ids) >= 4:
                self.people[z.id] = ids
        self.zones = [z for z in plant.zones if z.id in self.people and z.hazard] or [
            z for z in plant.zones if z.id in self.people
        ]
        self.people = {z.id: self.people[z.id] for z in self.zones}
        self.badges: frozenset[str] = frozenset(b for ids in self.people.values() for b in ids)
        self.index = {b.id: i for i, b in enumerate(plant.badges)}
        self.fences = [f.polygon for f in plant.fences if f.kind != FenceKind.SPEED]
        self._cache: dict[int, Job | None] = {}

    def job(self, block: int) -> Job | None:
        if block not in self._cache:
            self._cache[block] = self._make(block) if self.zones else None
        return self._cache[block]

    def at(self, t: float) -> Job | None:
        """The job of the block holding ``t``."""
        return self.job(int(t // BLOCK_MS))

    def between(self, t0: float, t1: float) -> list[Job]:
        out = []
        for b in range(int(t0 // BLOCK_MS), int(t1 // BLOCK_MS) + 1):
            j = self.job(b)
            if j is not None:
                out.append(j)
        return out

    def role(self, badge: str, t: float) -> tuple[Pt, float] | None:
        if badge not in self.badges:
            return None
        j = self.at(t)
        return j.role(badge, t) if j is not None else None

    def next_boundary(self, badge: str, after: float, horizon: float) -> float | None:
        if badge not in self.badges:
            return None
        best: float | None = None
        for j in self.between(after, horizon):
            for b in j.boundaries(badge):
                if after < b <= horizon and (best is None or b < best):
                    best = float(b)
        return best

    def _make(self, block: int) -> Job:
        z = self.zones[block % len(self.zones)]
        people = sorted(self.people[z.id], key=lambda b: hash_unit(self.seed, block, self.index[b]))
        point = self._work_point(z.polygon)
        away = self._aside(point, z.polygon, 0)
        wait = self._aside(point, z.polygon, 4, avoid=away)
        return Job(
            block=block,
            zone=z.id,
            zone_name=z.name,
            zone_name_zh=z.name_zh or z.name,
            point=point,
            area=(
                (point[0] - HALF_SIDE_M, point[1] - HALF_SIDE_M),
                (point[0] + HALF_SIDE_M, point[1] - HALF_SIDE_M),
                (point[0] + HALF_SIDE_M, point[1] + HALF_SIDE_M),
                (point[0] - HALF_SIDE_M, point[1] + HALF_SIDE_M),
            ),
            guardian=people[0],
            crew=(people[1], people[2]),
            stranger=people[3],
            away=away,
            wait=wait,
            inside=(point[0] + 5.0, point[1] + 5.0),
            bad_gas=block % 2 == 1,
        )

    def _free(self, x: float, y: float, poly: list[tuple[float, float]]) -> bool:
        return point_in_polygon(x, y, poly) and not any(point_in_polygon(x, y, f) for f in self.fences)

    def _work_point(self, poly: list[tuple[float, float]]) -> Pt:
        c = polygon_centroid(poly)
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        grid = [
            (x0 + 5.0 * i, y0 + 5.0 * j)
            for x0, y0 in [(min(xs), min(ys))]
            for i in range(int((max(xs) - min(xs)) // 5) + 1)
            for j in range(int((max(ys) - min(ys)) // 5) + 1)
        ]
        inside = [p for p in grid if self._free(p[0], p[1], poly)]
        deep = [p for p in inside if all(self._free(p[0] + dx, p[1] + dy, poly) for dx, dy in _SQUARE)]
        pool = deep or inside or [c]
        return min(pool, key=lambda p: (math.dist(p, c), p))

    def _aside(self, p: Pt, poly: list[tuple[float, float]], first: int, avoid: Pt | None = None) -> Pt:
        """A point ``AWAY_M`` from ``p`` in one of eight directions from ``first`` on: inside the zone and outside
        the fences if one is, else inside the site."""
        w, d = self.plant.site.width_m, self.plant.site.depth_m
        cands = []
        for k in range(8):
            a = math.pi / 4 * ((first + k) % 8)
            q = (p[0] + AWAY_M * math.cos(a), p[1] + AWAY_M * math.sin(a))
            if 0 <= q[0] <= w and 0 <= q[1] <= d and (avoid is None or math.dist(q, avoid) > 10):
                cands.append(q)
        for q in cands:
            if self._free(q[0], q[1], poly):
                return q
        return cands[0] if cands else (p[0], p[1] + AWAY_M)


_SQUARE = [(dx, dy) for dx in (-HALF_SIDE_M, HALF_SIDE_M) for dy in (-HALF_SIDE_M, HALF_SIDE_M)]
