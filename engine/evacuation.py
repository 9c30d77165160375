"""Evacuation in an emergency (H5): the danger area, the walkway graph, routes to safe muster points and the
classification of every badge on site. Pure: plant geometry and positions in, areas, routes and statuses out.

Rules:

* the **danger area** is the incident zone(s) with ``danger_radius_m`` around them and, for a gas release
  with a known wind, a sector downwind of them (``downwind_m`` long, ``downwind_half_angle_deg`` either side
  of the wind's direction; the wind as it comes *from*, degrees clockwise from north, the way a wind vane
  reads);
* people walk the plant's **roads** (the walkway graph: each road's polyline, split where roads cross or
  touch and every ``walkway_step_m``) and leave or join them by the straight line to a nearby node;
* a muster point is **safe** when its centre lies outside the danger area; a walkway edge or a straight
  leg that touches the danger area is removed, so **no route of a person outside the danger area enters
  it**;
* each person outside the danger area gets the shortest route to the nearest safe muster point, or is
  flagged ``no_route`` when none is reachable; a person **inside** the danger area is flagged ``in_danger``
  and gets the shortest way out and on to a safe point, where the stretch inside the danger area costs
  :data:`DANGER_PENALTY` times its length (out by the shortest way, not through the middle);
* every badge on the muster's roll is **classified**: ``at_point`` (arrived at any muster point since the
  declaration), ``left_site`` (its newest position says it went off site), ``unaccounted`` (its RTLS
  contact is lost, or it has not reported since the declaration for :data:`SILENT_MS`), else ``on_route``.

Routes for 2,000 people on the demo's graph take a few tens of milliseconds (``python -m bench evacuation``):
one Dijkstra from all safe muster points (a virtual source) per recomputation, a k-d tree for the nearest
nodes and numpy for the danger tests.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

Pt = tuple[float, float]

DANGER_PENALTY = 50.0  # cost factor of walkway inside the danger area, for people who start inside it
NEAREST_NODES = 8  # walkway nodes tried as the way onto the walkway from a position
SILENT_MS = 60_000  # on the roll, no position since the declaration for this long: unaccounted
_SOURCE = -1  # the virtual node joined to every safe muster point

# statuses of a route
ROUTE, IN_DANGER, NO_ROUTE = "route", "in_danger", "no_route"
# statuses of a badge on the roll
AT_POINT, LEFT_SITE, ON_ROUTE, UNACCOUNTED = "at_point", "left_site", "on_route", "unaccounted"
CLASSES = (AT_POINT, LEFT_SITE, ON_ROUTE, UNACCOUNTED)


# --- the danger area ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A polygon and the distance around it that is dangerous too (0: the polygon itself)."""

    polygon: tuple[Pt, ...]
    buffer_m: float = 0.0

    def __post_init__(self) -> None:
        if len(self.polygon) < 3:
            raise ValueError("a danger area needs a polygon of at least 3 points")
        if not all(math.isfinite(v) for p in self.polygon for v in p) or not math.isfinite(self.buffer_m):
            raise ValueError("a danger area's points and buffer must be finite numbers")
        if self.buffer_m < 0:
            raise ValueError("a danger area's buffer must not be negative")


@dataclass(frozen=True)
class DangerArea:
    areas: tuple[Area, ...]

    def contains(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Whether each point lies in the danger area."""
        return self.hits(xs, ys, xs, ys)

    def hits(self, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
        """Whether each segment a-b touches the danger area (crosses a polygon, lies inside one, or comes
        within its buffer)."""
        ax, ay, bx, by = (np.asarray(v, dtype=float) for v in (ax, ay, bx, by))
        out = np.zeros(ax.shape, dtype=bool)
        for area in self.areas:
            poly = np.asarray(area.polygon, dtype=float)
            r = area.buffer_m
            # only segments whose bounding box meets the area's (grown by its buffer) can touch it
            cand = np.flatnonzero(
                (np.maximum(ax, bx) >= poly[:, 0].min() - r)
                & (np.minimum(ax, bx) <= poly[:, 0].max() + r)
                & (np.maximum(ay, by) >= poly[:, 1].min() - r)
                & (np.minimum(ay, by) <= poly[:, 1].max() + r)
            )
            if not len(cand):
                continue
            cx, cy, dx, dy = ax[cand], ay[cand], bx[cand], by[cand]
            inside = _points_in_polygon(cx, cy, poly) | _points_in_polygon(dx, dy, poly)
            near = np.full(cx.shape, np.inf)
            for i in range(len(poly)):
                p, q = poly[i], poly[(i + 1) % len(poly)]
                near = np.minimum(near, _segment_distance(cx, cy, dx, dy, p[0], p[1], q[0], q[1]))
            out[cand] |= inside | (near <= r)
        return out

    def outline(self, steps: int = 8) -> list[list[Pt]]:
        """Each area as a polygon to draw: a buffered polygon gets rounded corners of ``steps`` points."""
        return [_buffered_outline(a, steps) for a in self.areas]


def _points_in_polygon(xs: np.ndarray, ys: np.ndarray, poly: np.ndarray) -> np.ndarray:
    inside = np.zeros(xs.shape, dtype=bool)
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        crosses = (y1 > ys) != (y2 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (ys - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (xs < xint)
    return inside


def _point_segment_distance(
    px: np.ndarray,
    py: np.ndarray,
    ax: np.ndarray | float,
    ay: np.ndarray | float,
    bx: np.ndarray | float,
    by: np.ndarray | float,
) -> np.ndarray:
    dx, dy = np.subtract(bx, ax), np.subtract(by, ay)
    ll = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ll > 0, ((px - ax) * dx + (py - ay) * dy) / np.where(ll > 0, ll, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.asarray(np.hypot(px - (ax + t * dx), py - (ay + t * dy)))


def _segment_distance(
    ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray, px: float, py: float, qx: float, qy: float
) -> np.ndarray:
    """Distance between each segment a-b and the one segment p-q (0 where they cross)."""

    def orient(x1: Any, y1: Any, x2: Any, y2: Any, x3: Any, y3: Any) -> np.ndarray:
        return np.asarray((x2 - x1) * (y3 - y1) - (y2 - y1) * (x3 - x1))

    d1 = orient(px, py, qx, qy, ax, ay)
    d2 = orient(px, py, qx, qy, bx, by)
    d3 = orient(ax, ay, bx, by, px, py)
    d4 = orient(ax, ay, bx, by, qx, qy)
    cross = (np.sign(d1) * np.sign(d2) < 0) & (np.sign(d3) * np.sign(d4) < 0)
    dist = np.minimum.reduce(
        [
            _point_segment_distance(ax, ay, px, py, qx, qy),
            _point_segment_distance(bx, by, px, py, qx, qy),
            _point_segment_distance(np.full(ax.shape, px), np.full(ax.shape, py), ax, ay, bx, by),
            _point_segment_distance(np.full(ax.shape, qx), np.full(ax.shape, qy), ax, ay, bx, by),
        ]
    )
    return np.where(cross, 0.0, dist)


def _buffered_outline(area: Area, steps: int) -> list[Pt]:
    pts = list(area.polygon)
    if area.buffer_m <= 0:
        return pts
    # the convex hull of circles round every corner: exact for convex polygons (zones are rectangles)
    ring = [
        (x + area.buffer_m * math.cos(a), y + area.buffer_m * math.sin(a))
        for x, y in pts
        for a in np.linspace(0, 2 * math.pi, 4 * steps, endpoint=False)
    ]
    return _hull(ring)


def _hull(points: Iterable[Pt]) -> list[Pt]:
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o: Pt, a: Pt, b: Pt) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Pt] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Pt] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return [(round(float(x), 2), round(float(y), 2)) for x, y in lower[:-1] + upper[:-1]]


def downwind_vector(wind_from_deg: float) -> Pt:
    """The unit vector the wind blows towards, in plant metres (x east, y north), from the direction it comes
    from (degrees clockwise from north: 0 north wind blows south, 90 east wind blows west)."""
    to = math.radians((wind_from_deg + 180.0) % 360.0)
    return (math.sin(to), math.cos(to))


def danger_area(
    zones: Sequence[Sequence[Pt]],
    radius_m: float,
    *,
    wind_from_deg: float | None = None,
    downwind_m: float = 0.0,
    half_angle_deg: float = 20.0,
    arc_steps: int = 12,
) -> DangerArea:
    """The danger area of an incident in ``zones``: each zone with ``radius_m`` around it and, with a wind and
    a ``downwind_m``, a sector downwind from the zones' centre that starts as wide as the zones are."""
    if not zones:
        raise ValueError("an incident needs at least one zone")
    if not (math.isfinite(radius_m) and radius_m >= 0):
        raise ValueError("the danger radius must be a finite number >= 0")
    areas = [Area(tuple((float(x), float(y)) for x, y in z), float(radius_m)) for z in zones]
    if wind_from_deg is not None and math.isfinite(wind_from_deg) and downwind_m > 0:
        pts = np.asarray([p for z in zones for p in z], dtype=float)
        cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
        half_width = float(np.max(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy))) + radius_m
        ux, uy = downwind_vector(wind_from_deg)
        px, py = -uy, ux  # across the wind
        length = half_width + downwind_m
        half = math.radians(min(max(half_angle_deg, 1.0), 89.0))
        arc = []
        for a in np.linspace(-half, half, arc_steps):
            ca, sa = math.cos(a), math.sin(a)
            dx, dy = ux * ca - uy * sa, ux * sa + uy * ca
            side = half_width * (a / half)
            arc.append((cx + px * side + dx * length, cy + py * side + dy * length))
        fan = [(cx - px * half_width, cy - py * half_width), *arc, (cx + px * half_width, cy + py * half_width)]
        areas.append(Area(tuple(_hull(fan)), 0.0))
    return DangerArea(tuple(areas))


# --- the walkway graph --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walkways:
    """The walkway graph: node coordinates, edges (node index pairs) and their lengths."""

    xy: np.ndarray  # (n, 2)
    edges: np.ndarray  # (m, 2) int
    length: np.ndarray  # (m,)
    tree: cKDTree = field(repr=False)
    bend: np.ndarray = field(repr=False)  # (n,) bool: a node a path may turn at (not a plain step on a straight)
    points: list[Pt] = field(repr=False, default_factory=list)  # xy as tuples, for building paths

    @property
    def nodes(self) -> int:
        return len(self.xy)


def walkway_graph(polylines: Sequence[Sequence[Pt]], step_m: float = 10.0) -> Walkways:
    """The graph of ``polylines`` (the plant's roads): split where they cross or one's end touches another,
    and every ``step_m`` along them; nodes closer than 1 cm are one."""
    if step_m <= 0:
        raise ValueError("the walkway step must be positive")
    segs = [
        (np.asarray(line[i], dtype=float), np.asarray(line[i + 1], dtype=float))
        for line in polylines
        for i in range(len(line) - 1)
        if tuple(line[i]) != tuple(line[i + 1])
    ]
    cuts: list[set[float]] = [{0.0, 1.0} for _ in segs]
    for i, (a, b) in enumerate(segs):
        d = b - a
        for j, (p, q) in enumerate(segs):
            if i == j:
                continue
            e = q - p
            den = d[0] * e[1] - d[1] * e[0]
            if abs(den) > 1e-12:
                t = ((p[0] - a[0]) * e[1] - (p[1] - a[1]) * e[0]) / den
                u = ((p[0] - a[0]) * d[1] - (p[1] - a[1]) * d[0]) / den
                if -1e-9 <= t <= 1 + 1e-9 and -1e-9 <= u <= 1 + 1e-9:
                    cuts[i].add(min(max(t, 0.0), 1.0))
            for end in (p, q):  # an end of another segment lying on this one (collinear or touching)
                ll = float(d @ d)
                t = float((end - a) @ d) / ll
                if 0 <= t <= 1 and float(np.hypot(*(a + t * d - end))) < 0.01:
                    cuts[i].add(t)
    index: dict[tuple[int, int], int] = {}
    xy: list[Pt] = []

    def node(p: np.ndarray) -> int:
        key = (round(float(p[0]) * 100), round(float(p[1]) * 100))
        if key not in index:
            index[key] = len(xy)
            xy.append((float(p[0]), float(p[1])))
        return index[key]

    edges: dict[tuple[int, int], float] = {}
    for (a, b), ts in zip(segs, cuts, strict=True):
        seg_len = float(np.hypot(*(b - a)))
        marks = sorted(ts)
        fine: list[float] = []
        for t0, t1 in itertools.pairwise(marks):
            n = max(1, math.ceil((t1 - t0) * seg_len / step_m - 1e-9))
            fine.extend(t0 + (t1 - t0) * k / n for k in range(n))
        fine.append(1.0)
        ids = [node(a + t * (b - a)) for t in fine]
        for u, v in itertools.pairwise(ids):
            if u != v:
                key = (min(u, v), max(u, v))
                edges[key] = math.dist(xy[u], xy[v])
    arr = np.asarray(xy, dtype=float).reshape(-1, 2)
    e = np.asarray(list(edges), dtype=int).reshape(-1, 2)
    nbrs: list[list[int]] = [[] for _ in xy]
    for eu, ev_ in e.tolist():
        nbrs[eu].append(ev_)
        nbrs[ev_].append(eu)
    bend = np.ones(len(xy), dtype=bool)
    for n, (na, nb) in ((n, pair) for n, pair in enumerate(nbrs) if len(pair) == 2):
        (ax, ay), (px, py), (bx, by) = xy[na], xy[n], xy[nb]
        bend[n] = bool(abs((px - ax) * (by - ay) - (py - ay) * (bx - ax)) > 0.01 * math.dist(xy[na], xy[nb]))
    lengths = np.asarray(list(edges.values()), dtype=float)
    return Walkways(arr, e, lengths, cKDTree(arr), bend, [(round(x, 2), round(y, 2)) for x, y in xy])


# --- routes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MusterSpot:
    id: str
    x: float
    y: float


@dataclass(frozen=True)
class Route:
    badge: str
    status: str  # route | in_danger | no_route
    point: str | None  # the muster point it leads to
    length_m: float | None
    path: list[Pt]  # from the person's position to the muster point (empty without a route)


@dataclass(frozen=True)
class RoutePlan:
    routes: dict[str, Route]
    safe_points: list[str]
    blocked_edges: int

    def count(self, status: str) -> int:
        return sum(1 for r in self.routes.values() if r.status == status)


def _dijkstra(
    w: Walkways, weight: np.ndarray, keep: np.ndarray, joins: list[tuple[int, float, str]]
) -> tuple[dict[int, float], dict[int, list[int]], dict[int, str]]:
    """Distances and paths from the virtual source (joined to walkway nodes by the muster points' legs) over
    the edges kept; and for each join node the muster point it leads to."""
    g = nx.Graph()
    g.add_nodes_from(range(w.nodes))
    g.add_weighted_edges_from(
        (int(u), int(v), float(c)) for (u, v), c, k in zip(w.edges, weight, keep, strict=True) if k
    )
    point_of: dict[int, str] = {}
    best: dict[int, float] = {}
    for node, leg, pid in joins:
        if node not in best or leg < best[node]:
            best[node] = leg
            point_of[node] = pid
    g.add_weighted_edges_from((_SOURCE, n, c) for n, c in best.items())
    if not best:
        return {}, {}, {}
    dist, paths = nx.single_source_dijkstra(g, _SOURCE)
    return dist, paths, point_of


def _joins(
    w: Walkways, danger: DangerArea, xs: np.ndarray, ys: np.ndarray, allow_danger: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each position its ``NEAREST_NODES`` nearest walkway nodes, the legs' lengths and whether each leg is
    allowed (touches no danger, unless ``allow_danger``)."""
    k = min(NEAREST_NODES, w.nodes)
    d, idx = w.tree.query(np.column_stack([xs, ys]), k=k)
    d, idx = np.asarray(d).reshape(len(xs), k), np.asarray(idx).reshape(len(xs), k)
    if allow_danger:
        ok = np.ones(idx.shape, dtype=bool)
    else:
        ax, ay = np.repeat(xs, k), np.repeat(ys, k)
        nx_, ny_ = w.xy[idx.ravel(), 0], w.xy[idx.ravel(), 1]
        ok = ~danger.hits(ax, ay, nx_, ny_).reshape(idx.shape)
    return idx, d, ok


def plan_routes(w: Walkways, danger: DangerArea, points: Sequence[MusterSpot], people: Mapping[str, Pt]) -> RoutePlan:
    """Each person's route to the nearest safe muster point (see the module's rules)."""
    px = np.asarray([float(p[0]) for p in points_xy(points)], dtype=float)
    py = np.asarray([float(p[1]) for p in points_xy(points)], dtype=float)
    safe_mask = ~danger.contains(px, py) if len(points) else np.zeros(0, dtype=bool)
    safe = [p for p, s in zip(points, safe_mask, strict=True) if s]
    ends_a, ends_b = w.xy[w.edges[:, 0]], w.xy[w.edges[:, 1]]
    blocked = danger.hits(ends_a[:, 0], ends_a[:, 1], ends_b[:, 0], ends_b[:, 1])
    bend = w.bend
    routes: dict[str, Route] = {}
    badges = list(people)
    xs = np.asarray([float(people[b][0]) for b in badges], dtype=float)
    ys = np.asarray([float(people[b][1]) for b in badges], dtype=float)
    inside = danger.contains(xs, ys) if badges else np.zeros(0, dtype=bool)
    if not safe or w.nodes == 0:
        for b, ins in zip(badges, inside, strict=True):
            routes[b] = Route(b, IN_DANGER if ins else NO_ROUTE, None, None, [])
        return RoutePlan(routes, [], int(blocked.sum()))
    sx = np.asarray([p.x for p in safe])
    sy = np.asarray([p.y for p in safe])
    s_idx, s_d, s_ok = _joins(w, danger, sx, sy, allow_danger=False)
    joins = [
        (int(s_idx[i, j]), float(s_d[i, j]), safe[i].id)
        for i in range(len(safe))
        for j in range(s_idx.shape[1])
        if s_ok[i, j]
    ]
    out_sel = [i for i in range(len(badges)) if not inside[i]]
    in_sel = [i for i in range(len(badges)) if inside[i]]
    for sel, penal in ((out_sel, False), (in_sel, True)):
        if not sel:
            continue
        if penal:
            weight = np.where(blocked, w.length * DANGER_PENALTY, w.length)
            keep = np.ones(len(w.edges), dtype=bool)
        else:
            weight = w.length
            keep = ~blocked
        dist, paths, point_of = _dijkstra(w, weight, keep, joins)
        sel_arr = np.asarray(sel)
        idx, d, ok = _joins(w, danger, xs[sel_arr], ys[sel_arr], allow_danger=penal)
        if penal:  # the leg inside the danger area costs as much as walkway inside it
            d = d * DANGER_PENALTY
        total = d + np.asarray([[dist.get(int(n), math.inf) for n in row] for row in idx])
        total = np.where(ok, total, math.inf)
        best = np.argmin(total, axis=1)
        for row, i in enumerate(sel):
            b = badges[i]
            j = int(best[row])
            if not math.isfinite(float(total[row, j])):
                routes[b] = Route(b, IN_DANGER if penal else NO_ROUTE, None, None, [])
                continue
            node = int(idx[row, j])
            chain = paths[node]  # source, join node, ..., node
            pid = point_of[chain[1]]
            spot = next(p for p in safe if p.id == pid)
            nodes = chain[1:]
            pts: list[Pt] = [(round(float(xs[i]), 2), round(float(ys[i]), 2))]
            pts += [w.points[n] for k, n in enumerate(reversed(nodes)) if k in (0, len(nodes) - 1) or bend[n]]
            pts.append((round(spot.x, 2), round(spot.y, 2)))
            path = simplify(pts)
            length = sum(math.dist(a, c) for a, c in itertools.pairwise(path))
            routes[b] = Route(b, IN_DANGER if penal else ROUTE, pid, round(length, 1), path)
    return RoutePlan(routes, [p.id for p in safe], int(blocked.sum()))


def points_xy(points: Sequence[MusterSpot]) -> list[Pt]:
    return [(p.x, p.y) for p in points]


def simplify(path: Sequence[Pt], tol: float = 0.05) -> list[Pt]:
    """The path without its collinear middle points and repeats (straight stretches of walkway as one line)."""
    out: list[Pt] = []
    for p in path:
        p = (round(float(p[0]), 2), round(float(p[1]), 2))
        if out and p == out[-1]:
            continue
        while len(out) >= 2:
            (ax, ay), (bx, by) = out[-2], out[-1]
            cross = (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)
            dot = (bx - ax) * (p[0] - bx) + (by - ay) * (p[1] - by)
            if abs(cross) <= tol * max(1.0, math.dist(out[-2], p)) and dot >= 0:
                out.pop()
            else:
                break
        out.append(p)
    return out


def path_hits(danger: DangerArea, path: Sequence[Pt]) -> bool:
    """Whether any stretch of ``path`` touches the danger area."""
    if len(path) < 2:
        return bool(len(path) == 1 and danger.contains(np.asarray([path[0][0]]), np.asarray([path[0][1]]))[0])
    a = np.asarray(path[:-1], dtype=float)
    b = np.asarray(path[1:], dtype=float)
    return bool(danger.hits(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).any())


# --- who is where -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Newest:
    """A badge's newest position: ``on_site`` False for the off-site position a badge leaving publishes,
    ``lost`` True for the RTLS outage marker (contact lost, last known position)."""

    ts: int
    x: float
    y: float
    on_site: bool
    lost: bool = False


def classify(
    roll: Iterable[str],
    arrived: Iterable[str],
    newest: Mapping[str, Newest],
    declared_ms: int,
    now_ms: int,
) -> dict[str, str]:
    """Each badge on the roll as ``at_point``, ``left_site``, ``unaccounted`` or ``on_route`` (module rules)."""
    done = set(arrived)
    out: dict[str, str] = {}
    for b in roll:
        n = newest.get(b)
        if b in done:
            out[b] = AT_POINT
        elif n is not None and n.ts >= declared_ms and not n.on_site:
            out[b] = LEFT_SITE
        elif n is None or n.lost or (n.ts < declared_ms and now_ms - declared_ms >= SILENT_MS):
            out[b] = UNACCOUNTED
        else:
            out[b] = ON_ROUTE
    return out
