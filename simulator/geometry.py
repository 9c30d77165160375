"""Plane geometry for the simulator: polygons, the road network and timed routes (plant metres)."""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.geometry import point_in_polygon, points_in_polygon

logger = logging.getLogger(__name__)

Pt = tuple[float, float]


def distance_to_edges(x: float, y: float, polygon: Sequence[Pt]) -> float:
    best = math.inf
    n = len(polygon)
    for i in range(n):
        (ax, ay), (bx, by) = polygon[i], polygon[(i + 1) % n]
        best = min(best, math.dist((x, y), _project(x, y, ax, ay, bx, by)[0]))
    return best


def polygon_centroid(polygon: Sequence[Pt]) -> Pt:
    a = cx = cy = 0.0
    n = len(polygon)
    for i in range(n):
        (x1, y1), (x2, y2) = polygon[i], polygon[(i + 1) % n]
        cross = x1 * y2 - x2 * y1
        a += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(a) < 1e-9:
        return (sum(p[0] for p in polygon) / n, sum(p[1] for p in polygon) / n)
    return (cx / (3 * a), cy / (3 * a))


def interior_points(
    polygon: Sequence[Pt], rng: np.random.Generator, count: int = 48, margin_m: float = 1.5
) -> list[Pt]:
    """Random points inside ``polygon`` (at least ``margin_m`` from its edges when the polygon allows)."""
    arr = np.asarray(polygon, dtype=float)
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    found: list[Pt] = []
    fallback: list[Pt] = []
    for _ in range(40):
        xs = rng.uniform(lo[0], hi[0], 256)
        ys = rng.uniform(lo[1], hi[1], 256)
        mask = points_in_polygon(xs, ys, polygon)
        for x, y in zip(xs[mask].tolist(), ys[mask].tolist(), strict=True):
            if distance_to_edges(x, y, polygon) >= margin_m:
                found.append((x, y))
            elif len(fallback) < count:
                fallback.append((x, y))
            if len(found) >= count:
                return found
    found.extend(fallback[: count - len(found)])
    if not found:
        found.append(polygon_centroid(polygon))
    return found


def deep_point(polygon: Sequence[Pt], candidates: Sequence[Pt]) -> Pt:
    """The candidate farthest from the polygon's edges (the centroid when it is inside and deeper)."""
    pool = [*candidates]
    c = polygon_centroid(polygon)
    if point_in_polygon(c[0], c[1], polygon):
        pool.append(c)
    return max(pool, key=lambda p: distance_to_edges(p[0], p[1], polygon))


def _project(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> tuple[Pt, float]:
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    t = 0.0 if ll <= 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / ll))
    return (ax + t * dx, ay + t * dy), t


def _seg_intersection(p1: Pt, p2: Pt, p3: Pt, p4: Pt) -> Pt | None:
    d = (p2[0] - p1[0]) * (p4[1] - p3[1]) - (p2[1] - p1[1]) * (p4[0] - p3[0])
    if abs(d) < 1e-12:
        return None
    t = ((p3[0] - p1[0]) * (p4[1] - p3[1]) - (p3[1] - p1[1]) * (p4[0] - p3[0])) / d
    u = ((p3[0] - p1[0]) * (p2[1] - p1[1]) - (p3[1] - p1[1]) * (p2[0] - p1[0])) / d
    if -1e-9 <= t <= 1 + 1e-9 and -1e-9 <= u <= 1 + 1e-9:
        return (p1[0] + t * (p2[0] - p1[0]), p1[1] + t * (p2[1] - p1[1]))
    return None


@dataclass
class Route:
    """A timed path: ``pts[i]`` is reached at ``t_ms[i]`` (epoch ms); linear in between."""

    pts: list[Pt]
    t_ms: list[float]
    floor: int = 0

    @classmethod
    def still(cls, p: Pt, t0: float, t1: float, floor: int = 0) -> Route:
        return cls([p, p], [t0, max(t1, t0)], floor)

    @classmethod
    def along(cls, pts: Sequence[Pt], speeds: Sequence[float], t0: float, floor: int = 0) -> Route:
        """Drive ``pts`` starting at ``t0``; ``speeds[i]`` (m/s) applies from ``pts[i]`` to ``pts[i+1]``."""
        out_p: list[Pt] = [pts[0]]
        out_t: list[float] = [t0]
        t = t0
        for i in range(1, len(pts)):
            d = math.dist(pts[i - 1], pts[i])
            if d < 1e-6:
                continue
            t += 1000.0 * d / max(speeds[i - 1], 0.05)
            out_p.append(pts[i])
            out_t.append(t)
        if len(out_p) == 1:
            out_p.append(pts[0])
            out_t.append(t0)
        return cls(out_p, out_t, floor)

    @property
    def end_ms(self) -> float:
        return self.t_ms[-1]

    @property
    def end(self) -> Pt:
        return self.pts[-1]

    def at(self, t: float) -> Pt:
        ts = self.t_ms
        if t <= ts[0]:
            return self.pts[0]
        if t >= ts[-1]:
            return self.pts[-1]
        i = bisect_right(ts, t)
        t0, t1 = ts[i - 1], ts[i]
        (x0, y0), (x1, y1) = self.pts[i - 1], self.pts[i]
        f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
        return (x0 + (x1 - x0) * f, y0 + (y1 - y0) * f)


@dataclass
class RoadNetwork:
    """Roads as a graph: polyline vertices and crossings are nodes, sub-segments are edges."""

    nodes: list[Pt] = field(default_factory=list)
    adj: list[list[tuple[int, float, float]]] = field(default_factory=list)  # (node, length, speed m/s)
    edges: list[tuple[int, int, float]] = field(default_factory=list)  # (a, b, speed m/s)
    _cache: dict[int, tuple[list[float], list[int]]] = field(default_factory=dict)
    _ea: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    _eb: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @classmethod
    def build(cls, roads: Sequence[tuple[Sequence[Pt], float, float]]) -> RoadNetwork:
        """``roads``: (polyline, width m, speed limit m/s). Crossings and T-junctions become shared nodes."""
        segs: list[tuple[Pt, Pt, float, float]] = []
        for line, width, speed in roads:
            for a, b in itertools.pairwise(line):
                if math.dist(a, b) > 1e-6:
                    segs.append(((float(a[0]), float(a[1])), (float(b[0]), float(b[1])), width, speed))
        cuts: list[list[float]] = [[0.0, 1.0] for _ in segs]
        for i, (a, b, wi, _) in enumerate(segs):
            for j in range(i + 1, len(segs)):
                c, d, wj, _ = segs[j]
                p = _seg_intersection(a, b, c, d)
                if p is not None:
                    cuts[i].append(_project(p[0], p[1], *a, *b)[1])
                    cuts[j].append(_project(p[0], p[1], *c, *d)[1])
                    continue
                # T-junctions: an end point lying (nearly) on the other segment
                tol = max(wi, wj) / 2 + 0.5
                for (e, own, own_idx), (o1, o2, other_idx) in (
                    ((a, (a, b), i), (c, d, j)),
                    ((b, (a, b), i), (c, d, j)),
                    ((c, (c, d), j), (a, b, i)),
                    ((d, (c, d), j), (a, b, i)),
                ):
                    q, t = _project(e[0], e[1], *o1, *o2)
                    if math.dist(q, e) <= tol:
                        cuts[other_idx].append(t)
                        cuts[own_idx].append(_project(e[0], e[1], *own[0], *own[1])[1])
        net = cls()
        index: dict[tuple[int, int], int] = {}

        def node(p: Pt) -> int:
            key = (round(p[0] * 2), round(p[1] * 2))  # 0.5 m grid merges near-identical points
            if key not in index:
                index[key] = len(net.nodes)
                net.nodes.append(p)
                net.adj.append([])
            return index[key]

        for (a, b, _w, speed), ts in zip(segs, cuts, strict=True):
            ordered = sorted(set(round(t, 9) for t in ts))
            pts = [(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])) for t in ordered]
            for p, q in itertools.pairwise(pts):
                u, v = node(p), node(q)
                if u == v:
                    continue
                length = math.dist(net.nodes[u], net.nodes[v])
                net.adj[u].append((v, length, speed))
                net.adj[v].append((u, length, speed))
                net.edges.append((u, v, speed))
        if net.edges:
            net._ea = np.array([net.nodes[u] for u, _, _ in net.edges], dtype=float)
            net._eb = np.array([net.nodes[v] for _, v, _ in net.edges], dtype=float)
        logger.debug("road network: %d nodes, %d edges", len(net.nodes), len(net.edges))
        return net

    @property
    def empty(self) -> bool:
        return not self.edges

    def snap(self, p: Pt) -> tuple[int, Pt, float]:
        """Nearest point on the network: (edge index, point, distance)."""
        ab = self._eb - self._ea
        ll = (ab * ab).sum(axis=1)
        ap = np.asarray(p, dtype=float) - self._ea
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(ll > 0, (ap * ab).sum(axis=1) / ll, 0.0)
        t = np.clip(t, 0.0, 1.0)
        q = self._ea + ab * t[:, None]
        d = np.hypot(q[:, 0] - p[0], q[:, 1] - p[1])
        i = int(np.argmin(d))
        return i, (float(q[i, 0]), float(q[i, 1])), float(d[i])

    def _dijkstra(self, src: int) -> tuple[list[float], list[int]]:
        hit = self._cache.get(src)
        if hit is not None:
            return hit
        dist = [math.inf] * len(self.nodes)
        pred = [-1] * len(self.nodes)
        dist[src] = 0.0
        heap = [(0.0, src)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist[u]:
                continue
            for v, w, _ in self.adj[u]:
                nd = d + w
                if nd < dist[v]:
                    dist[v] = nd
                    pred[v] = u
                    heapq.heappush(heap, (nd, v))
        self._cache[src] = (dist, pred)
        return dist, pred

    def _speed(self, u: int, v: int) -> float:
        for w, _, s in self.adj[u]:
            if w == v:
                return s
        return 5.0

    def path(self, a: Pt, b: Pt) -> tuple[list[Pt], list[float]]:
        """Points from ``a`` to ``b`` along the roads, with each leg's road speed limit (m/s, inf off-road)."""
        if self.empty:
            return [a, b], [math.inf]
        ea, pa, _ = self.snap(a)
        eb, pb, _ = self.snap(b)
        if ea == eb:
            return [a, pa, pb, b], [math.inf, self.edges[ea][2], math.inf]
        best: tuple[float, int, int] | None = None
        for u in self.edges[ea][:2]:
            dist, _ = self._dijkstra(u)
            du = math.dist(pa, self.nodes[u])
            for v in self.edges[eb][:2]:
                total = du + dist[v] + math.dist(self.nodes[v], pb)
                if best is None or total < best[0]:
                    best = (total, u, v)
        assert best is not None
        _, u, v = best
        if math.isinf(best[0]):  # disconnected road pieces: go straight
            return [a, b], [math.inf]
        _, pred = self._dijkstra(u)
        chain = [v]
        while chain[-1] != u:
            chain.append(pred[chain[-1]])
        chain.reverse()
        pts: list[Pt] = [a, pa]
        speeds: list[float] = [math.inf, self.edges[ea][2]]
        for k, n in enumerate(chain):
            pts.append(self.nodes[n])
            speeds.append(self.edges[eb][2] if k == len(chain) - 1 else self._speed(n, chain[k + 1]))
        pts.extend([pb, b])
        speeds.append(math.inf)
        return pts, speeds

    def max_path_m(self, p: Pt) -> float:
        """Longest shortest-path distance from ``p`` to any road node (for lead-time estimates)."""
        if self.empty:
            return 0.0
        e, q, d = self.snap(p)
        dist, _ = self._dijkstra(self.edges[e][0])
        finite = [x for x in dist if not math.isinf(x)]
        return d + math.dist(q, self.nodes[self.edges[e][0]]) + (max(finite) if finite else 0.0)
