"""Emergency muster (P5): who was on site when the emergency was declared, who has reached a muster point,
who is still missing and where each was last seen. Pure: positions in, counts and lists out.

Rules:

* the **roll** is every person (not vehicle) on site at the declaration: a good-quality position at or
  shortly before the declaration time (the store decides "shortly");
* each person on the roll is **assigned** the muster point nearest to where they were at the declaration;
* a person has **arrived** once any position after the declaration lies inside any muster point's circle:
  arrived is arrived, whichever point it is. A person who reached another point than their own is counted
  at the point where they were seen last and noted as "at another point"; leaving the point afterwards
  does not make them missing again (the warden has seen them);
* people who arrive without being on the roll (they came on site after the declaration) are counted at
  their point and listed as extra, never as missing;
* everyone on the roll who has not arrived is **missing**, listed with their last known position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from plant.schema import Plant


@dataclass(frozen=True)
class Point:
    """A muster point: centre and radius in plant metres."""

    id: str
    x: float
    y: float
    radius: float
    capacity: int = 0

    def __post_init__(self) -> None:
        for name in ("x", "y", "radius"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"muster point {self.id!r}: {name} must be a finite number, got {v!r}")
        if self.radius <= 0:
            raise ValueError(f"muster point {self.id!r}: radius must be positive")

    def contains(self, x: float, y: float) -> bool:
        return (x - self.x) ** 2 + (y - self.y) ** 2 <= self.radius**2


@dataclass(frozen=True)
class Seen:
    """One position of one badge (plant metres, UTC epoch ms)."""

    badge: str
    ts: int
    x: float
    y: float


@dataclass(frozen=True)
class Arrival:
    """A badge's first time inside any muster point after the declaration, and the point it was seen at last."""

    badge: str
    point: str
    first_ts: int
    last_ts: int


@dataclass(frozen=True)
class Missing:
    badge: str
    assigned: str | None
    x: float
    y: float
    ts: int


@dataclass(frozen=True)
class PointCount:
    point: str
    assigned: int  # people on the roll whose nearest point this is
    arrived: int  # people here now (the roll and extras), each counted at one point only
    assigned_arrived: int  # of ``assigned``, arrived here
    from_other: int  # of ``arrived``, assigned to another point (or extras)
    elsewhere: int  # of ``assigned``, arrived at another point
    capacity: int


@dataclass(frozen=True)
class MusterStatus:
    declared_ms: int
    on_roll: int
    arrived: int  # people on the roll who arrived (at any point)
    missing: list[Missing]
    points: list[PointCount]
    at_other: dict[str, str] = field(default_factory=dict)  # badge -> point, arrived away from its own point
    extra: list[str] = field(default_factory=list)  # arrived, not on the roll
    arrivals: dict[str, Arrival] = field(default_factory=dict)
    assigned: dict[str, str] = field(default_factory=dict)

    @property
    def missing_count(self) -> int:
        return len(self.missing)

    @property
    def complete(self) -> bool:
        return self.on_roll > 0 and not self.missing


def points_of(plant: Plant) -> list[Point]:
    """The plant's muster points."""
    return [
        Point(m.id, float(m.position[0]), float(m.position[1]), float(m.radius_m), int(m.capacity))
        for m in plant.muster_points
    ]


def nearest_point(points: Sequence[Point], x: float, y: float) -> Point | None:
    best: tuple[float, Point] | None = None
    for p in points:
        d = math.hypot(p.x - x, p.y - y)
        if best is None or d < best[0]:
            best = (d, p)
    return None if best is None else best[1]


def point_at(points: Sequence[Point], x: float, y: float) -> Point | None:
    """The muster point whose circle holds ``(x, y)``; the nearest centre when circles overlap."""
    inside = [p for p in points if p.contains(x, y)]
    if not inside:
        return None
    return min(inside, key=lambda p: math.hypot(p.x - x, p.y - y))


def arrivals_from_positions(points: Sequence[Point], seen: Iterable[Seen], since_ms: int) -> dict[str, Arrival]:
    """Arrivals found in a stream of positions (any order): for each badge inside a point at or after
    ``since_ms``, the first time inside any point and the point of its latest position inside one."""
    first: dict[str, int] = {}
    last: dict[str, tuple[int, str]] = {}
    for s in seen:
        if s.ts < since_ms or not (math.isfinite(s.x) and math.isfinite(s.y)):
            continue
        p = point_at(points, s.x, s.y)
        if p is None:
            continue
        if s.badge not in first or s.ts < first[s.badge]:
            first[s.badge] = s.ts
        if s.badge not in last or s.ts >= last[s.badge][0]:
            last[s.badge] = (s.ts, p.id)
    return {b: Arrival(b, last[b][1], first[b], last[b][0]) for b in first}


def merge_arrivals(rows: Iterable[tuple[str, str, int, int]]) -> dict[str, Arrival]:
    """Arrivals from per (badge, point) rows ``(badge, point, first_ts, last_ts)`` as a store returns them:
    first time at any point, point seen last."""
    out: dict[str, Arrival] = {}
    for badge, point, first_ts, last_ts in rows:
        old = out.get(badge)
        if old is None:
            out[badge] = Arrival(badge, point, int(first_ts), int(last_ts))
            continue
        first = min(old.first_ts, int(first_ts))
        if int(last_ts) > old.last_ts:
            out[badge] = Arrival(badge, point, first, int(last_ts))
        else:
            out[badge] = Arrival(badge, old.point, first, old.last_ts)
    return out


def muster_status(
    points: Sequence[Point],
    declared_ms: int,
    roll: Mapping[str, Seen],
    arrivals: Mapping[str, Arrival],
    last_seen: Mapping[str, Seen],
) -> MusterStatus:
    """Counts per point and the missing list.

    ``roll``: badge -> where it was at the declaration (people on site then). ``arrivals``: badge -> its
    arrival (:func:`arrivals_from_positions` or :func:`merge_arrivals`). ``last_seen``: badge -> newest
    known position (for the missing list; the roll position when absent).
    """
    known = {p.id for p in points}
    assigned: dict[str, str] = {}
    for badge, s in roll.items():
        p = nearest_point(points, s.x, s.y)
        if p is not None:
            assigned[badge] = p.id
    valid = {b: a for b, a in arrivals.items() if a.point in known}
    at_other: dict[str, str] = {}
    extra: list[str] = []
    for badge, a in valid.items():
        if badge not in roll:
            extra.append(badge)
        elif assigned.get(badge) != a.point:
            at_other[badge] = a.point
    missing: list[Missing] = []
    for badge in sorted(roll):
        if badge in valid:
            continue
        s = last_seen.get(badge) or roll[badge]
        missing.append(Missing(badge, assigned.get(badge), s.x, s.y, s.ts))
    counts: list[PointCount] = []
    for p in points:
        mine = [b for b, pid in assigned.items() if pid == p.id]
        here = [b for b, a in valid.items() if a.point == p.id]
        counts.append(
            PointCount(
                point=p.id,
                assigned=len(mine),
                arrived=len(here),
                assigned_arrived=sum(1 for b in mine if b in valid and valid[b].point == p.id),
                from_other=sum(1 for b in here if assigned.get(b) != p.id),
                elsewhere=sum(1 for b in mine if b in valid and valid[b].point != p.id),
                capacity=p.capacity,
            )
        )
    return MusterStatus(
        declared_ms=int(declared_ms),
        on_roll=len(roll),
        arrived=sum(1 for b in roll if b in valid),
        missing=missing,
        points=counts,
        at_other=at_other,
        extra=sorted(extra),
        arrivals=dict(valid),
        assigned=assigned,
    )
