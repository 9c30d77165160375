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

Written here rather than taken from a library: PyPI has no maintained swinging-door package (searched
December 2026: only unmaintained snippets and whole historian clients), and the algorithm is forty lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
