"""Occupational exposure (P6): the time each person spent in each hazard zone per shift, from position history.

Positions are reported by exception: a badge that stands still publishes nothing until it moves again, and
a badge that leaves the site publishes one position of uncertain (not good) quality at its gate. So each
good-quality position holds until the badge's next position (at most ``max_hold_ms``, and never beyond
``now_ms``), and a not-good position holds nothing: the badge is off site or not located.

Time is attributed to the zone holding the position (the first zone of the list when zones overlap) and
clipped to each shift window. Pure: arrays in, rows out; the CSV writer is here too because it is a
pure function of the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from engine.geometry import locate
from plant.schema import Plant

HOUR_MS = 3_600_000
DEFAULT_MAX_HOLD_MS = 8 * HOUR_MS


@dataclass(frozen=True)
class ZoneArea:
    id: str
    polygon: Sequence[tuple[float, float]]
    level: str  # red | orange | yellow | blue


@dataclass(frozen=True)
class Window:
    """A shift on one day: ``[start_ms, end_ms)`` in UTC epoch ms."""

    shift: str
    start_ms: int
    end_ms: int


@dataclass
class Track:
    """One badge's positions, oldest first; include the last position before the first window so the
    state at its start is known. ``good`` is False for positions that do not place the badge on site."""

    badge: str
    ts: np.ndarray  # int64 epoch ms
    x: np.ndarray
    y: np.ndarray
    good: np.ndarray  # bool

    @classmethod
    def from_rows(cls, badge: str, rows: Iterable[tuple[int, float, float, bool]]) -> Track:
        data = sorted(rows, key=lambda r: r[0])
        ts = np.array([int(r[0]) for r in data], dtype=np.int64)
        x = np.array([float(r[1]) for r in data], dtype=float)
        y = np.array([float(r[2]) for r in data], dtype=float)
        good = np.array([bool(r[3]) for r in data], dtype=bool) & np.isfinite(x) & np.isfinite(y)
        return cls(badge, ts, x, y, good)


@dataclass(frozen=True)
class ExposureRow:
    badge: str
    shift: str
    zone: str
    level: str
    seconds: float
    entries: int  # times the badge entered (or was already in) the zone within the window
    first_ms: int
    last_ms: int


def zone_areas(plant: Plant, levels: Iterable[str] | None = None) -> list[ZoneArea]:
    """The plant's zones at one of ``levels`` (static risk level), or all zones when ``levels`` is None."""
    wanted = None if levels is None else set(levels)
    return [
        ZoneArea(z.id, list(z.polygon), z.level.value) for z in plant.zones if wanted is None or z.level.value in wanted
    ]


def shift_windows(plant: Plant, day: date) -> list[Window]:
    """The shifts that start on ``day`` (the plant's local calendar day), in start order."""
    tz = plant.tz()
    out = []
    for s in plant.site.shifts:
        start = datetime.combine(day, s.start, tzinfo=tz)
        end = start + timedelta(hours=s.hours)
        out.append(Window(s.id, int(start.timestamp() * 1000), int(end.timestamp() * 1000)))
    return sorted(out, key=lambda w: w.start_ms)


def _held_until(track: Track, max_hold_ms: int, now_ms: int | None) -> np.ndarray:
    n = len(track.ts)
    end = np.empty(n, dtype=np.int64)
    if n:
        end[:-1] = track.ts[1:]
        end[-1] = track.ts[-1] + max_hold_ms
    end = np.minimum(end, track.ts + max_hold_ms)
    if now_ms is not None:
        end = np.minimum(end, now_ms)
    out: np.ndarray = np.maximum(end, track.ts)
    return out


def exposure(
    tracks: Iterable[Track],
    zones: Sequence[ZoneArea],
    windows: Sequence[Window],
    *,
    max_hold_ms: int = DEFAULT_MAX_HOLD_MS,
    now_ms: int | None = None,
) -> list[ExposureRow]:
    """Time per (badge, window, zone) with any time; rows by badge, window start, zone order."""
    if max_hold_ms <= 0:
        raise ValueError("max_hold_ms must be positive")
    for w in windows:
        if w.end_ms <= w.start_ms:
            raise ValueError(f"window {w.shift!r} ends before it starts")
    polys = [(z.id, z.polygon) for z in zones]
    out: list[ExposureRow] = []
    for tr in tracks:
        n = len(tr.ts)
        if n == 0 or not polys:
            continue
        if n > 1 and np.any(np.diff(tr.ts) < 0):
            order = np.argsort(tr.ts, kind="stable")
            tr = Track(tr.badge, tr.ts[order], tr.x[order], tr.y[order], tr.good[order])
        found = locate(np.nan_to_num(tr.x, nan=-1e12), np.nan_to_num(tr.y, nan=-1e12), polys)
        index = {z.id: k for k, z in enumerate(zones)}
        zi = np.array([index[f] if f is not None else -1 for f in found], dtype=np.int64)
        zi[~tr.good] = -1
        end = _held_until(tr, max_hold_ms, now_ms)
        # an entry: the first position in a zone after a position elsewhere (or the track's first)
        prev = np.concatenate([[-2], zi[:-1]])
        entering = zi != prev
        for w in sorted(windows, key=lambda w: w.start_ms):
            start = np.maximum(tr.ts, w.start_ms)
            stop = np.minimum(end, w.end_ms)
            dur = np.clip(stop - start, 0, None)
            live = (dur > 0) & (zi >= 0)
            if not live.any():
                continue
            seconds = np.bincount(zi[live], weights=dur[live], minlength=len(zones)) / 1000.0
            # the first held interval inside the window counts as an entry even when it began before
            first_live = np.zeros(n, dtype=bool)
            idx = np.flatnonzero(live)
            for k in range(len(zones)):
                hits = idx[zi[idx] == k]
                if len(hits) == 0:
                    continue
                first_live[hits[0]] = True
            counted = live & (entering | first_live)
            entries = np.bincount(zi[counted], minlength=len(zones))
            for k, z in enumerate(zones):
                if seconds[k] <= 0:
                    continue
                hits = idx[zi[idx] == k]
                out.append(
                    ExposureRow(
                        badge=tr.badge,
                        shift=w.shift,
                        zone=z.id,
                        level=z.level,
                        seconds=round(float(seconds[k]), 3),
                        entries=int(entries[k]),
                        first_ms=int(start[hits].min()),
                        last_ms=int(stop[hits].max()),
                    )
                )
    return out
