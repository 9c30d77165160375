"""Badge tracks, pure: which positions place a badge, a badge's positions in a window (:class:`Track`), the
bucket size of a window, a track's on-site stretches (distance, zones visited), the trips a replay draws from
it (simplified), and the person-seconds of presence per grid cell.

Times are UTC epoch ms, coordinates plant metres. Positions are reported by exception (a badge standing
still publishes nothing; one leaving the site publishes one position of uncertain quality at its gate), so
a good position holds until the badge's next one. The collectors' RTLS outage marker (the last position
again at ``BAD_NO_COMMUNICATION``) keeps the badge where it was. ``store.people`` reads the positions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.geometry import Pt, locate, point_in_polygon
from engine.types import BAD_NO_COMMUNICATION, is_good

SECOND_MS = 1000
HOUR_MS = 3_600_000
ON_SITE_MAX_AGE_MS = 8 * HOUR_MS  # a good position older than this no longer places a badge on site
HOLD_GAP_FACTOR = 3  # a gap longer than this many buckets between positions: the badge stood still
# ... and longer than this: a compressed track (``engine.compression.compress_track``) keeps a fix at least every
# ``storage.position_max_span_s`` (at most this), so a shorter gap there is a straight line, not a stop
HOLD_MIN_MS = 60_000

Segment = list[tuple[int, float, float, int]]  # an on-site stretch: (ts, x, y, floor)


def located(quality: int, x: float, y: float) -> bool:
    """Whether a position places its badge: good quality, or the collectors' RTLS outage marker (the last
    position written again at ``BAD_NO_COMMUNICATION`` when the gateway goes silent: the badge is still
    where it was last seen). Any other not-good position (the gate position of a badge that left the site,
    out of coverage) places it nowhere."""
    q = int(quality)
    return (is_good(q) or q == BAD_NO_COMMUNICATION) and math.isfinite(x) and math.isfinite(y)


@dataclass
class Track:
    """A badge's positions in a window, oldest first: ts (ms), x, y, floor, good."""

    badge: str
    ts: list[int] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    floor: list[int] = field(default_factory=list)
    good: list[bool] = field(default_factory=list)

    def add(self, ts: int, x: float, y: float, floor: int, good: bool) -> None:
        self.ts.append(int(ts))
        self.x.append(float(x))
        self.y.append(float(y))
        self.floor.append(int(floor))
        self.good.append(bool(good))

    def sorted(self) -> Track:
        order = sorted(range(len(self.ts)), key=lambda i: (self.ts[i], not self.good[i]))
        out = Track(self.badge)
        for i in order:
            out.add(self.ts[i], self.x[i], self.y[i], self.floor[i], self.good[i])
        return out


def step_for(window_ms: int, points: int) -> int:
    """A whole number of seconds per bucket giving at most ``points`` buckets."""
    return max(SECOND_MS, math.ceil(window_ms / max(1, points) / SECOND_MS) * SECOND_MS)


def simplify(t: np.ndarray, x: np.ndarray, y: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the points to keep so that replaying the kept points (linear in time, like deck.gl's
    TripsLayer) stays within ``tolerance`` metres of every dropped point at its own time (Douglas-Peucker
    with the synchronized distance)."""
    n = len(t)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        span = t[j] - t[i]
        mid = slice(i + 1, j)
        f = (t[mid] - t[i]) / span if span > 0 else np.zeros(j - i - 1)
        px = x[i] + (x[j] - x[i]) * f
        py = y[i] + (y[j] - y[i]) * f
        d = np.hypot(x[mid] - px, y[mid] - py)
        k = int(np.argmax(d))
        if d[k] > tolerance:
            m = i + 1 + k
            keep[m] = True
            stack.append((i, m))
            stack.append((m, j))
    return np.flatnonzero(keep)


def trips_of(
    tr: Track, step_ms: int, t0: int, t1: int, zone_poly: Sequence[Pt] | None
) -> list[tuple[list[float], list[float], list[float]]]:
    """Split a track into trips (on-site and, with a zone, inside it) with hold points for long gaps."""
    trips: list[tuple[list[float], list[float], list[float]]] = []
    ts: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    hold = max(HOLD_GAP_FACTOR * step_ms, HOLD_MIN_MS)

    def flush() -> None:
        nonlocal ts, xs, ys
        if ts:
            trips.append((ts, xs, ys))
        ts, xs, ys = [], [], []

    for i in range(len(tr.ts)):
        inside = tr.good[i] and (zone_poly is None or point_in_polygon(tr.x[i], tr.y[i], zone_poly))
        if not inside:
            flush()
            continue
        t = float(tr.ts[i])
        if ts and t - ts[-1] > hold:  # stood still (no report) until shortly before this position
            ts.append(t - step_ms)
            xs.append(xs[-1])
            ys.append(ys[-1])
        ts.append(t)
        xs.append(tr.x[i])
        ys.append(tr.y[i])
    if ts and tr.good and tr.good[-1] and ts[-1] < t1:
        # still there at the end of the window (the last report holds)
        last_good = tr.ts[-1]
        if t1 - last_good <= ON_SITE_MAX_AGE_MS:
            ts.append(float(t1))
            xs.append(xs[-1])
            ys.append(ys[-1])
    flush()
    return trips


def segments(tr: Track) -> list[Segment]:
    """A track's on-site stretches, split where the badge left the site (or was not located)."""
    out: list[Segment] = []
    cur: Segment = []
    for i in range(len(tr.ts)):
        if not tr.good[i]:
            if cur:
                out.append(cur)
            cur = []
            continue
        cur.append((tr.ts[i], tr.x[i], tr.y[i], tr.floor[i]))
    if cur:
        out.append(cur)
    return out


def path_length(stretches: Iterable[Segment]) -> float:
    """Metres walked or driven along the stretches (not across the gaps between them)."""
    dist = 0.0
    for seg in stretches:
        for (_, x1, y1, _), (_, x2, y2, _) in itertools.pairwise(seg):
            dist += math.hypot(x2 - x1, y2 - y1)
    return dist


def zones_visited(stretches: Iterable[Segment], polygons: Sequence[tuple[str, Sequence[Pt]]]) -> list[str]:
    """The zones the stretches pass through (the first of ``polygons`` holding each point), in order of first
    visit."""
    visited: list[str] = []
    for seg in stretches:
        if not seg:
            continue
        found = locate(np.array([p[1] for p in seg]), np.array([p[2] for p in seg]), polygons)
        for z in found:
            if z is not None and z not in visited:
                visited.append(z)
    return visited


@dataclass(frozen=True)
class Trip:
    """One stretch of a replay, only the points it needs: ``t`` in seconds from the window's start, x, y."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray


def replay(tr: Track, step_ms: int, t0: int, t1: int, zone_poly: Sequence[Pt] | None, tolerance_m: float) -> list[Trip]:
    """The trips of a track in ``[t0, t1]`` (:func:`trips_of`), each simplified to within ``tolerance_m``
    (:func:`simplify`); a single sighting shows for one bucket."""
    out: list[Trip] = []
    for ts, xs, ys in trips_of(tr, step_ms, t0, t1, zone_poly):
        t = (np.array(ts) - t0) / SECOND_MS
        x = np.array(xs)
        y = np.array(ys)
        if len(t) == 1:  # one sighting: show it for one bucket
            t = np.array([t[0], min(t[0] + step_ms / SECOND_MS, (t1 - t0) / SECOND_MS)])
            x = np.repeat(x, 2)
            y = np.repeat(y, 2)
        keep = simplify(t, x, y, tolerance_m)
        out.append(Trip(t[keep], x[keep], y[keep]))
    return out


def grid_of(width_m: float, depth_m: float, cell_m: float | None = None) -> tuple[float, int, int]:
    """The presence grid over a site of ``width_m`` by ``depth_m``: cell size (``cell_m``, by default about
    200 cells along the longer side and at least 2 m), cells along x and along y."""
    cell = float(cell_m) if cell_m is not None else max(2.0, math.ceil(max(width_m, depth_m) / 200))
    if not math.isfinite(cell) or cell <= 0:
        raise ValueError("cell size must be a positive number of metres")
    return cell, max(1, math.ceil(width_m / cell)), max(1, math.ceil(depth_m / cell))


def presence(
    tracks: Iterable[Track], t0: int, t1: int, cell: float, nx: int, ny: int, zone_poly: Sequence[Pt] | None = None
) -> np.ndarray:
    """Seconds of presence per grid cell in ``[t0, t1]``, ``ny`` rows of ``nx`` cells of ``cell`` metres from
    the south-west corner (row ``j`` = y from ``j * cell``); inside ``zone_poly`` only when given. Each good
    position holds until the badge's next one (at most :data:`ON_SITE_MAX_AGE_MS`)."""
    grid = np.zeros((ny, nx), dtype=float)
    for tr in tracks:
        if not tr.ts:
            continue
        ts = np.array(tr.ts, dtype=np.int64)
        nxt = np.append(ts[1:], t1)
        dur = np.clip(np.minimum(nxt, ts + ON_SITE_MAX_AGE_MS) - np.maximum(ts, t0), 0, None) / SECOND_MS
        x, y = np.array(tr.x), np.array(tr.y)
        keep = np.array(tr.good) & (dur > 0) & np.isfinite(x) & np.isfinite(y)
        if zone_poly is not None:
            keep &= np.array([point_in_polygon(px, py, zone_poly) for px, py in zip(x, y, strict=True)], dtype=bool)
        if not keep.any():
            continue
        ix = np.clip((x[keep] / cell).astype(int), 0, nx - 1)
        iy = np.clip((y[keep] / cell).astype(int), 0, ny - 1)
        np.add.at(grid, (iy, ix), dur[keep])
    return grid
