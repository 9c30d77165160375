"""Incident replay (S5), the pure part: the plant's state at any moment of a window, rebuilt from history.

A replay window is read once (``store.replay``) and turned into a **time line**: for each frame time the
values, equipment states and headcounts as they were then, and from them the zone risk computed by the same
rules as the live screens (:func:`engine.risk.zone_risks`), so no value of today is ever painted on the past.
What changes rarely (zone levels, equipment states) is kept as a list of changes; seeking is a binary search.

* :func:`value_at` - the reading of a tag in force at a moment (the last sample at or before it);
* :func:`headcounts` - people per zone at each frame, from sampled positions (a position older than
  ``max_age_ms`` no longer counts, as on the live screens);
* :func:`changes` - a sequence of frame values as the list of its changes;
* :class:`Timeline` - seek: the state at any time, the next or previous event.

Times are UTC epoch ms, or seconds from the window's start where the browser gets them (``s``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from engine.geometry import locate
from engine.tracks import Track

T = TypeVar("T")

SECOND_MS = 1000
MIN_STEP_MS = 5 * SECOND_MS
MAX_FRAMES = 720


def frame_step(t0: int, t1: int, frames: int = MAX_FRAMES, least_ms: int = MIN_STEP_MS) -> int:
    """Whole seconds between frames: at least ``least_ms``, at most ``frames`` frames in the window."""
    span = max(0, int(t1) - int(t0))
    need = -(-span // max(1, frames))
    return max(least_ms, -(-need // SECOND_MS) * SECOND_MS)


def frame_times(t0: int, t1: int, step_ms: int) -> list[int]:
    """``t0``, ``t0 + step`` ... and ``t1`` itself (the window's end is always a frame)."""
    out = list(range(int(t0), int(t1), max(1, int(step_ms))))
    if not out or out[-1] != t1:
        out.append(int(t1))
    return out


@dataclass(frozen=True)
class Series:
    """A tag's samples in time order: the one in force at the window's start, then those inside it."""

    tag: str
    ts: list[int] = field(default_factory=list)
    values: list[float | None] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)


def value_at(series: Series, t: int) -> tuple[int, float | None, int] | None:
    """``(ts, value, quality)`` of the last sample at or before ``t``; None before the first."""
    i = bisect.bisect_right(series.ts, int(t)) - 1
    if i < 0:
        return None
    return series.ts[i], series.values[i], series.quality[i]


def latest_at(series: Mapping[str, Series], t: int) -> dict[str, tuple[int, float | None, int]]:
    """Every tag's reading in force at ``t`` (tags without one are left out), as the live snapshot has them."""
    out: dict[str, tuple[int, float | None, int]] = {}
    for tag, s in series.items():
        v = value_at(s, t)
        if v is not None:
            out[tag] = v
    return out


def headcounts(
    tracks: Iterable[Track],
    times: Sequence[int],
    polygons: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    max_age_ms: int,
) -> list[dict[str, int]]:
    """People per zone at each of ``times``: each track's last position at or before the time, when it places
    the badge (``good``) and is at most ``max_age_ms`` old, counted in the first zone that holds it. Every
    position is located once; a frame only looks its zone up."""
    frames = np.asarray(times, dtype=np.int64)
    n_zones = len(polygons)
    grid = np.zeros((len(frames), n_zones + 1), dtype=np.int64)  # the last column: in no zone
    tracks = [tr for tr in tracks if tr.ts]
    if not tracks:
        return [{} for _ in times]
    ts_all = np.concatenate([np.asarray(tr.ts, dtype=np.int64) for tr in tracks])
    xs = np.concatenate([np.asarray(tr.x, dtype=float) for tr in tracks])
    ys = np.concatenate([np.asarray(tr.y, dtype=float) for tr in tracks])
    good_all = np.concatenate([np.asarray(tr.good, dtype=bool) for tr in tracks])
    zone_all = np.full(len(xs), n_zones, dtype=np.int64)
    ok = good_all & np.isfinite(xs) & np.isfinite(ys)
    names = [pid for pid, _poly in polygons]
    index = {pid: k for k, pid in enumerate(names)}
    found = locate(xs[ok], ys[ok], polygons)
    zone_all[ok] = [n_zones if z is None else index[z] for z in found]
    offset = 0
    for tr in tracks:
        n = len(tr.ts)
        ts = ts_all[offset : offset + n]
        i = np.searchsorted(ts, frames, side="right") - 1
        j = np.clip(i, 0, n - 1) + offset
        present = (i >= 0) & good_all[j] & (frames - ts_all[j] <= max_age_ms)
        np.add.at(grid, (np.flatnonzero(present), zone_all[j[present]]), 1)
        offset += n
    out: list[dict[str, int]] = []
    for row in grid[:, :n_zones]:
        out.append({names[k]: int(c) for k in np.flatnonzero(row).tolist() for c in (row[k],)})
    return out


def changes(
    times: Sequence[float], values: Sequence[T], same: Callable[[T, T], bool] | None = None
) -> list[tuple[float, T]]:
    """``(time, value)`` where the value differs from the one before (the first always)."""
    eq = same or (lambda a, b: a == b)
    out: list[tuple[float, T]] = []
    for t, v in zip(times, values, strict=True):
        if not out or not eq(out[-1][1], v):
            out.append((t, v))
    return out


def in_force(change_list: Sequence[tuple[float, T]], t: float) -> T | None:
    """The value of a change list in force at ``t`` (None before its first change)."""
    i = bisect.bisect_right([c[0] for c in change_list], t) - 1
    return change_list[i][1] if i >= 0 else None


def interpolate(ts: Sequence[float], xs: Sequence[float], ys: Sequence[float], t: float) -> tuple[float, float] | None:
    """Where a trip is at ``t``: linear between its points (like deck.gl's TripsLayer); None outside it."""
    if not ts or t < ts[0] or t > ts[-1]:
        return None
    i = bisect.bisect_right(ts, t) - 1
    if i >= len(ts) - 1:
        return xs[-1], ys[-1]
    span = ts[i + 1] - ts[i]
    f = 0.0 if span <= 0 else (t - ts[i]) / span
    return xs[i] + (xs[i + 1] - xs[i]) * f, ys[i] + (ys[i + 1] - ys[i]) * f


class Timeline:
    """Seek in a packed replay (``webapp.live.replay.pack``, the browser's data): the state at ``s`` seconds
    from the window's start. The browser's script does the same; this is its reference and what the
    benchmark and the checks use."""

    def __init__(self, packed: Mapping[str, Any]) -> None:
        self.p = packed
        self._zl = [(float(c[0]), c[1]) for c in packed.get("zl", [])]
        self._eq = [(float(c[0]), c[1]) for c in packed.get("eq", [])]
        self._hc = [(float(c[0]), c[1]) for c in packed.get("hc", [])]
        self._al = [(float(c[0]), c[1]) for c in packed.get("al", [])]
        self._hz = [(float(c[0]), c[1]) for c in packed.get("hz", [])]
        self._trips: dict[int, list[tuple[list[float], list[float], list[float]]]] = {}
        for trip in packed.get("trips", []):
            pts = trip["p"]
            self._trips.setdefault(int(trip["b"]), []).append(
                (list(trip["t"]), [p[0] for p in pts], [p[1] for p in pts])
            )
        self._permits = [
            (int(pm["id"]), [(float(c[0]), str(c[1])) for c in pm.get("st", [])]) for pm in packed.get("permits", [])
        ]
        self._journal_s = [float(r["s"]) for r in packed.get("journal", [])]
        self._video_s = [float(v["s"]) for v in packed.get("video", [])]
        self.events = sorted(float(s) for s in packed.get("events", []))

    def badge_at(self, badge_index: int, s: float) -> tuple[float, float] | None:
        """Where the badge (index into the packed ``badges``) is at ``s``."""
        for ts, xs, ys in self._trips.get(badge_index, []):
            found = interpolate(ts, xs, ys, s)
            if found is not None:
                return found
        return None

    def permits_at(self, s: float) -> list[tuple[int, str]]:
        """The permits in force at ``s`` (active or suspended: those the scene draws), with their state."""
        out: list[tuple[int, str]] = []
        for pid, st in self._permits:
            now = in_force(st, s)
            if now in ("active", "suspended"):
                out.append((pid, str(now)))
        return out

    def state_at(self, s: float) -> dict[str, Any]:
        """Everything the page shows at ``s``: zone levels, equipment states, headcounts, alarm markers, hazard
        values, where each badge is, how many journal rows and detections have happened, the permits in force."""
        badges: list[tuple[int, float, float]] = []
        for b in self._trips:
            at = self.badge_at(b, s)
            if at is not None:
                badges.append((b, at[0], at[1]))
        return {
            "zl": in_force(self._zl, s),
            "eq": in_force(self._eq, s),
            "hc": in_force(self._hc, s),
            "al": in_force(self._al, s) or [],
            "hz": in_force(self._hz, s),
            "badges": badges,
            "journal": bisect.bisect_right(self._journal_s, s),
            "video": bisect.bisect_right(self._video_s, s),
            "permits": self.permits_at(s),
        }

    def next_event(self, s: float) -> float | None:
        i = bisect.bisect_right(self.events, s + 1e-6)
        return self.events[i] if i < len(self.events) else None

    def previous_event(self, s: float) -> float | None:
        i = bisect.bisect_left(self.events, s - 1e-6) - 1
        return self.events[i] if i >= 0 else None
