"""Swinging-door compression of a tag's samples, as historians (PI's compression test) do it.

A stored series is read back by drawing straight lines between the stored points. Swinging door keeps a
point only when no straight line from the last kept point (the *anchor*) could pass within ``deviation``
of every point since: each new point narrows the range of slopes (the "doors") that a line from the anchor
may take and still pass within ``deviation`` of it; when the line to the newest point falls outside that
range, the point before it is kept and becomes the new anchor. Every original point then lies within
``deviation`` of the line between the kept points around it, which :func:`reconstruct` and the tests check
at every point. This is the strict form (the doors pivot on the anchor itself, and the candidate line is
checked against them), so the bound holds exactly, not only approximately as in the textbook form whose
doors pivot on ``anchor ± deviation``.

With ``deviation = 0`` it keeps exactly the points where the signal's slope changes: a state code or an
on/off signal keeps the last reading before and the first reading after every change, which reads back
exactly both as steps and as lines.

Always kept, whatever the deviation (as PI does): readings that are not good or have no value, the good
readings just before and just after them, and both readings around a gap longer than ``max_gap_ms`` (the
line would otherwise bridge an outage); and a point at least every ``max_span_ms``. The newest reading is
never decided: it is *held* until a later one shows whether it is needed, so :func:`compress` reports where
the undecided tail starts.

Badge positions are compressed the same way in the plane (:func:`compress_track`): the door swings in x and y
at once, and the fixes around a change of floor, quality or zone are kept, so a replay that draws straight lines
between kept fixes passes within the deviation of every fix and enters and leaves zones when the badge did.

Written here rather than taken from a library: PyPI has no maintained swinging-door package (searched
December 2026: only unmaintained snippets and whole historian clients), and the algorithm is forty lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.geometry import points_in_polygon

GOOD_MASK = 0xC0000000  # severity bits of an OPC UA status code (engine.types.is_good, inlined for the hot loop)

Point = tuple[int, float | None, int]  # (ts ms, value or None, OPC UA status code)


@dataclass(frozen=True)
class Compressed:
    """Outcome of :func:`compress` over a run of points whose first point is already kept.

    ``keep``: indices of the points kept, in order, always starting with 0. ``anchor``: index of the last
    kept point; the points after it are undecided (a later call starting at ``anchor`` decides them).
    """

    keep: list[int]
    anchor: int


def _special(p: Point) -> bool:
    return p[1] is None or bool(p[2] & GOOD_MASK) or not math.isfinite(p[1])


def compress(
    points: Sequence[Point], deviation: float, max_gap_ms: int | None = None, max_span_ms: int | None = None
) -> Compressed:
    """Decide which of ``points`` (one tag, ascending unique times, the first one already stored as kept)
    a swinging door with ``deviation`` (>= 0, in the tag's unit) keeps.

    The last point is never in ``keep`` unless a rule forces it (it is not good, or follows a gap): it is
    held for the next run, which starts again at ``anchor``. ``max_span_ms`` (PI's CompMax): a line never
    spans more than this, so a steady signal still keeps a point that often and the undecided tail stays short.
    """
    if deviation < 0 or not math.isfinite(deviation):
        raise ValueError(f"deviation must be a finite number >= 0, not {deviation}")
    n = len(points)
    if n == 0:
        raise ValueError("compress needs at least the anchor point")
    keep = [0]
    a = 0  # anchor: the last kept point
    lo, hi = -math.inf, math.inf  # slopes from the anchor that pass within deviation of every point since
    for i in range(1, n):
        p = points[i]
        prev = points[i - 1]
        if (
            _special(p)
            or _special(points[a])
            or _special(prev)
            or (max_gap_ms is not None and p[0] - prev[0] > max_gap_ms)
        ):
            # keep the held point (if not kept yet) and this one; the next line starts here
            if keep[-1] != i - 1:
                keep.append(i - 1)
            keep.append(i)
            a, lo, hi = i, -math.inf, math.inf
            continue
        ta, va = points[a][0], points[a][1]
        assert va is not None and p[1] is not None
        dt = p[0] - ta
        slope = (p[1] - va) / dt
        if not lo <= slope <= hi or (max_span_ms is not None and dt > max_span_ms and a != i - 1):
            # no line from the anchor reaches this point within the doors: keep the held point, swing from it
            keep.append(i - 1)
            a = i - 1
            ta, va = prev[0], prev[1]
            assert va is not None
            dt = p[0] - ta
            lo, hi = -math.inf, math.inf
        lo = max(lo, (p[1] - deviation - va) / dt)
        hi = min(hi, (p[1] + deviation - va) / dt)
    return Compressed(keep, keep[-1])


def thin_counter(points: Sequence[Point], period_ms: int, max_gap_ms: int | None = None) -> Compressed:
    """Decide which readings of a cumulative counter (an energy meter, a production counter) to keep, the first already
    kept: both readings around each boundary of ``period_ms`` (a minute: where a window of whole minutes begins and
    ends, whether its end is taken as included or not), both readings around a drop (a reset, a rollover, a meter
    exchanged), around a gap longer than ``max_gap_ms`` and around readings that are not good. What a counter
    counted between whole minutes is then read exactly (``store.counters``: the rollups took every reading, and the
    readings a window's edges need are the ones around a minute's boundary). The newest reading is held, as in
    :func:`compress`."""
    if period_ms <= 0:
        raise ValueError("period must be positive")
    n = len(points)
    if n == 0:
        raise ValueError("thin_counter needs at least the anchor point")
    keep = [0]
    for i in range(1, n):
        p, prev = points[i], points[i - 1]
        v, pv = p[1], prev[1]
        forced = (
            _special(p)
            or _special(prev)
            or (v is not None and pv is not None and v < pv)
            or (max_gap_ms is not None and p[0] - prev[0] > max_gap_ms)
        )
        if forced:
            if keep[-1] != i - 1:
                keep.append(i - 1)
            keep.append(i)
        elif prev[0] // period_ms != p[0] // period_ms:
            if keep[-1] != i - 1:
                keep.append(i - 1)  # the last reading of its period
            keep.append(i)  # and the first of the next
    return Compressed(keep, keep[-1])


def reconstruct(kept: Sequence[tuple[int, float]], ts: int) -> float:
    """The value at ``ts`` read back from kept ``(ts, value)`` points by linear interpolation (held flat
    outside them)."""
    if not kept:
        raise ValueError("no points")
    if ts <= kept[0][0]:
        return kept[0][1]
    if ts >= kept[-1][0]:
        return kept[-1][1]
    lo, hi = 0, len(kept) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if kept[mid][0] <= ts:
            lo = mid
        else:
            hi = mid
    (t0, v0), (t1, v1) = kept[lo], kept[hi]
    return v0 + (v1 - v0) * (ts - t0) / (t1 - t0)


# --- badge positions: the same door in two dimensions ---------------------------------------------------------

TrackPoint = tuple[int, float, float, int, int, object]  # (ts ms, x m, y m, floor, OPC UA status, region key)


def _track_special(p: TrackPoint) -> bool:
    return bool(p[4] & GOOD_MASK) or not (math.isfinite(p[1]) and math.isfinite(p[2]))


def compress_track(
    points: Sequence[TrackPoint], deviation_m: float, max_gap_ms: int | None = None, max_span_ms: int | None = None
) -> Compressed:
    """Decide which fixes of one badge's track (ascending unique times, the first one already kept) to keep,
    so that the track read back by drawing straight lines between kept fixes in time (where a replay puts the
    badge at each moment, :func:`reconstruct_track`) lies within ``deviation_m`` metres of every fix.

    The door of :func:`compress` swings in x and in y at once from the same anchor, each with
    ``deviation_m / sqrt(2)``: a line that passes both doors passes within ``deviation_m`` in the plane (the
    square of half-side d/sqrt(2) fits inside the circle of radius d), so the bound is strict. Always kept, as for
    samples: fixes that are not good or not finite and the fixes around them, both fixes around a gap longer
    than ``max_gap_ms``, a fix at least every ``max_span_ms``; and both fixes around every change of floor or of
    the region key (the set of zones and muster points that hold the fix), so that the time a badge entered or
    left a zone, and the time spent there, read back exactly.
    """
    if deviation_m < 0 or not math.isfinite(deviation_m):
        raise ValueError(f"deviation must be a finite number >= 0, not {deviation_m}")
    n = len(points)
    if n == 0:
        raise ValueError("compress_track needs at least the anchor fix")
    d = deviation_m / math.sqrt(2.0)
    keep = [0]
    a = 0
    inf = math.inf
    lox, hix, loy, hiy = -inf, inf, -inf, inf
    for i in range(1, n):
        p = points[i]
        prev = points[i - 1]
        if (
            _track_special(p)
            or _track_special(points[a])
            or _track_special(prev)
            or p[3] != prev[3]
            or p[5] != prev[5]
            or (max_gap_ms is not None and p[0] - prev[0] > max_gap_ms)
        ):
            if keep[-1] != i - 1:
                keep.append(i - 1)
            keep.append(i)
            a, lox, hix, loy, hiy = i, -inf, inf, -inf, inf
            continue
        ta, xa, ya = points[a][0], points[a][1], points[a][2]
        dt = p[0] - ta
        sx = (p[1] - xa) / dt
        sy = (p[2] - ya) / dt
        if not (lox <= sx <= hix and loy <= sy <= hiy) or (max_span_ms is not None and dt > max_span_ms and a != i - 1):
            keep.append(i - 1)
            a = i - 1
            ta, xa, ya = prev[0], prev[1], prev[2]
            dt = p[0] - ta
            lox, hix, loy, hiy = -inf, inf, -inf, inf
        lox = max(lox, (p[1] - d - xa) / dt)
        hix = min(hix, (p[1] + d - xa) / dt)
        loy = max(loy, (p[2] - d - ya) / dt)
        hiy = min(hiy, (p[2] + d - ya) / dt)
    return Compressed(keep, keep[-1])


def reconstruct_track(kept: Sequence[tuple[int, float, float]], ts: int) -> tuple[float, float]:
    """Where a track read back from kept ``(ts, x, y)`` fixes by straight lines in time puts the badge at ``ts``."""
    xs = [(t, x) for t, x, _y in kept]
    ys = [(t, y) for t, _x, y in kept]
    return reconstruct(xs, ts), reconstruct(ys, ts)


class Regions:
    """The region key of a fix for :func:`compress_track`: which of the given polygons (zones) and circles
    (muster points) hold it, as bytes (equal keys: the same places)."""

    def __init__(
        self,
        polygons: Sequence[Sequence[tuple[float, float]]],
        circles: Sequence[tuple[float, float, float]] = (),
    ) -> None:
        self.polygons = [list(p) for p in polygons]
        self.circles = list(circles)

    def keys(self, xs: Sequence[float], ys: Sequence[float]) -> list[bytes]:
        x = np.asarray(xs, dtype=float)
        y = np.asarray(ys, dtype=float)
        cols = [points_in_polygon(x, y, poly) for poly in self.polygons]
        cols += [(x - cx) ** 2 + (y - cy) ** 2 <= r * r for cx, cy, r in self.circles]
        if not cols:
            return [b""] * len(x)
        packed = np.packbits(np.stack(cols, axis=1), axis=1)
        return [row.tobytes() for row in packed]
