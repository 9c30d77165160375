"""Tracking people across analysed frames, so an event is one person's stay rather than a run of frames.

:class:`IouTracker` is the simple online tracker of the IOU/SORT family without a motion model: each
analysed frame's boxes are matched greedily to the live tracks, best overlap first. At 1-2 analysed frames
a second a walker moves up to about two thirds of a body height between frames (measured on Debian's
``vtest.avi``), so a match is an overlap (IoU) of at least ``min_iou`` or, failing that, a box of a
similar height whose centre is within ``max_step`` box heights of the track's last centre; a track not
matched for ``max_age_s`` is dropped. Ids are small
integers, increasing per camera. Two people crossing can swap ids (no appearance model): an event then
ends and a new one starts, which an operator sees as two stays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from video.types import Box


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass(slots=True)
class Track:
    id: int
    box: Box
    first_ms: int
    last_ms: int
    hits: int = 1


class IouTracker:
    def __init__(self, min_iou: float = 0.25, max_step: float = 1.0, max_age_s: float = 2.0) -> None:
        self.min_iou = min_iou
        self.max_step = max_step
        self.max_age_ms = round(max_age_s * 1000)
        self.tracks: list[Track] = []
        self._next = 1

    def _affinity(self, t: Track, box: Box) -> float:
        """How well ``box`` continues track ``t`` (0: not at all); overlaps rank above near misses."""
        o = iou(t.box, box)
        if o >= self.min_iou:
            return 1.0 + o
        tx, ty, tw, th = t.box
        bx, by, bw, bh = box
        ratio = bh / th if th > 0 else 0.0
        if not 0.67 <= ratio <= 1.5:
            return 0.0
        step = math.hypot(tx + tw / 2 - bx - bw / 2, ty + th / 2 - by - bh / 2) / max(1.0, (th + bh) / 2)
        return 1.0 - step / self.max_step if step < self.max_step else 0.0

    def update(self, boxes: list[Box], ts_ms: int) -> list[int]:
        """Match this frame's ``boxes`` to the tracks; the track id of each box, in order."""
        self.tracks = [t for t in self.tracks if ts_ms - t.last_ms <= self.max_age_ms]
        pairs = sorted(
            ((self._affinity(t, b), ti, bi) for ti, t in enumerate(self.tracks) for bi, b in enumerate(boxes)),
            reverse=True,
        )
        ids: list[int | None] = [None] * len(boxes)
        used: set[int] = set()
        for score, ti, bi in pairs:
            if score <= 0:
                break
            if ti in used or ids[bi] is not None:
                continue
            t = self.tracks[ti]
            t.box, t.last_ms, t.hits = boxes[bi], ts_ms, t.hits + 1
            ids[bi] = t.id
            used.add(ti)
        out: list[int] = []
        for bi, got in enumerate(ids):
            if got is None:
                t = Track(self._next, boxes[bi], ts_ms, ts_ms)
                self._next += 1
                self.tracks.append(t)
                got = t.id
            out.append(got)
        return out
