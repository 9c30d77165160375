"""Scripted visual incidents of the demo cameras, and the ground truth of every rendered frame.

Each camera with ``analytics`` gets one incident at a time, one of the classes it detects, on a
deterministic schedule anchored to the epoch (so the camera process, the video service and a benchmark
agree without sharing any state): camera ``C`` has a period ``P_C`` (``every_s`` range, from a hash of
its id) and a phase; slot ``k`` plays class ``detect[(k + offset_C) % n]`` for ``duration_s`` (hashed
range) at a hashed time inside the slot. Where it plays is a floor point in front of the camera (an
image point in the lower part of the view, cast onto the floor), chosen so a person there is big enough
to see.

What is drawn (by :class:`simulator.cameras.CameraRenderer`):

- ``flame``: flickering irregular tongues, red outside, orange, yellow and a white core, with a glow;
- ``smoke``: a drifting, blurred, semi-transparent grey plume rising from the spot;
- ``spill``: an irregular blue-green puddle (electrolyte) spreading on the floor, then still;
- ``no_hardhat``: a person in hi-vis without a hard hat (dark hair) walking slowly across the spot;
- ``intrusion``: a person walking from outside a restricted image polygon into it, staying, leaving.

:meth:`Scenes.truth` gives the set of classes truly present in the frame of a camera at a time, from
the incidents and the figures drawn (the store's people too): intrusion is any drawn person at least
:data:`MIN_PERSON_PX` tall (at 720 lines) whose feet are inside a restricted polygon.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from plant.schema import Camera, Plant, VideoClass
from simulator.incidents import hash_unit

EVERY_S = (600.0, 1200.0)  # an incident every 10-20 min per analysed camera
DURATION_S = (30.0, 90.0)  # lasting 30-90 s
MIN_PERSON_PX = 32  # at 720 lines: smaller, a person is not identifiable (by people or detectors)
MIN_HEAD_PX = 64  # at 720 lines: smaller, nobody can tell whether a person wears a hard hat
PERSON_H_M = 1.75
VEHICLE_H_M = 2.6
NO_HAT = "person-nohat"  # figure kind of the scripted person without a hard hat

# A position to draw: x, y (metres, plant coordinates) and a kind ("person", "vehicle" or NO_HAT).
Figure = tuple[float, float, str]


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


class SceneIncident(NamedTuple):
    camera: str
    cls: VideoClass
    slot: int
    start_ms: int
    end_ms: int
    spot: tuple[float, float]  # floor point (plant metres) where it plays
    seed: int

    def progress(self, t_ms: float) -> float:
        return (t_ms - self.start_ms) / max(1, self.end_ms - self.start_ms)


def camera_axes(camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A camera's forward, right and up unit vectors in plant coordinates (x east, y north, z up)."""
    yaw, pitch = math.radians(camera.yaw_deg), math.radians(camera.pitch_deg)
    forward = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    return forward, right, np.cross(right, forward)


def focal_px(camera: Camera, width: int) -> float:
    """A camera's focal length in pixels of a frame ``width`` pixels wide (its horizontal field of view)."""
    return (width / 2) / math.tan(math.radians(min(camera.fov_deg, 170.0)) / 2)


def ground_point(camera: Camera, u: float, v: float) -> tuple[float, float] | None:
    """The floor point (z = 0) seen at image fraction (u, v), or None above the horizon."""
    fwd, right, up = camera_axes(camera)
    tan_h = math.tan(math.radians(min(camera.fov_deg, 170.0)) / 2)
    aspect = 9 / 16
    d = fwd + (2 * u - 1) * tan_h * right - (2 * v - 1) * tan_h * aspect * up
    if d[2] >= -1e-6:
        return None
    s = -camera.position[2] / d[2]
    return float(camera.position[0] + s * d[0]), float(camera.position[1] + s * d[1])


def _project(camera: Camera, p: Sequence[float], width: int, height: int) -> tuple[float, float, float] | None:
    """Pixel (x, y) and depth of a 3D point, None behind the camera (the same pinhole as cameras.View,
    unrounded)."""
    fwd, right, up = camera_axes(camera)
    d = np.asarray(p, dtype=float) - np.array(camera.position, dtype=float)
    z = float(d @ fwd)
    if z < 0.5:
        return None
    focal = focal_px(camera, width)
    return width / 2 + focal * float(d @ right) / z, height / 2 - focal * float(d @ up) / z, z


def person_height_px(camera: Camera, x: float, y: float, height: int = 720) -> float:
    """How tall a person standing at (x, y) looks, in pixels of a frame ``height`` lines high."""
    width = round(height * 16 / 9)
    foot = _project(camera, (x, y, 0.0), width, height)
    head = _project(camera, (x, y, PERSON_H_M), width, height)
    if foot is None or head is None:
        return 0.0
    return foot[1] - head[1]


class Scenes:
    """The scripted incidents of a plant's analysed cameras (deterministic, epoch-anchored)."""

    def __init__(
        self,
        plant: Plant,
        every_s: tuple[float, float] = EVERY_S,
        duration_s: tuple[float, float] = DURATION_S,
        seed: int = 0,
    ) -> None:
        if not (0 < every_s[0] <= every_s[1]) or not (0 < duration_s[0] <= duration_s[1]):
            raise ValueError("every_s and duration_s must be positive ranges")
        if duration_s[1] * 1.25 > every_s[0]:
            raise ValueError("incidents must be shorter than their period")
        self.plant = plant
        self.cameras = {c.id: c for c in plant.cameras if c.analytics is not None}
        self.every_s = every_s
        self.duration_s = duration_s
        self.seed = seed
        self._spots: dict[tuple[str, int], SceneIncident] = {}

    def _period_ms(self, cam: str) -> tuple[int, int]:
        lo, hi = self.every_s
        period = round(1000 * (lo + (hi - lo) * hash_unit(self.seed, _key(cam), 1)))
        phase = round(period * hash_unit(self.seed, _key(cam), 2))
        return period, phase

    def incident(self, camera_id: str, slot: int) -> SceneIncident:
        """Slot ``slot`` of a camera's schedule (cached: the spot search is not free)."""
        got = self._spots.get((camera_id, slot))
        if got is not None:
            return got
        cam = self.cameras[camera_id]
        assert cam.analytics is not None
        period, phase = self._period_ms(camera_id)
        classes = list(cam.analytics.detect)
        if not cam.analytics.restricted and VideoClass.INTRUSION in classes:
            classes.remove(VideoClass.INTRUSION)
        offset = int(hash_unit(self.seed, _key(camera_id), 3) * len(classes))
        cls = classes[(slot + offset) % len(classes)]
        h = [hash_unit(self.seed, _key(camera_id), slot, j) for j in range(6)]
        lo, hi = self.duration_s
        dur = round(1000 * (lo + (hi - lo) * h[0]))
        margin = period // 10
        start = phase + slot * period + margin + round((period - dur - 2 * margin) * h[1])
        spot = self._spot(cam, cls, h[2], h[3]) or cam.position[:2]
        seed = int(h[4] * 2**31)
        inc = SceneIncident(camera_id, cls, slot, start, start + dur, (float(spot[0]), float(spot[1])), seed)
        if len(self._spots) > 4096:
            self._spots.clear()
        self._spots[(camera_id, slot)] = inc
        return inc

    def _spot(self, cam: Camera, cls: VideoClass, a: float, b: float) -> tuple[float, float] | None:
        if cls == VideoClass.INTRUSION and cam.analytics and cam.analytics.restricted:
            poly = np.array(cam.analytics.restricted[0], dtype=float)
            inside = _inside_point(poly, a, b)
            return ground_point(cam, *inside) if inside else None
        u = 0.3 + 0.4 * a
        v = 0.62 + 0.2 * b
        want = 100.0 if cls == VideoClass.NO_HARDHAT else 60.0
        best = None
        while v <= 0.95:
            p = ground_point(cam, u, v)
            if p is not None:
                best = p
                if person_height_px(cam, *p) >= want:
                    break
            v += 0.03
        return best

    def incidents(self, camera_id: str, t0_ms: float, t1_ms: float) -> list[SceneIncident]:
        """A camera's incidents overlapping ``[t0_ms, t1_ms)``."""
        if camera_id not in self.cameras:
            return []
        period, phase = self._period_ms(camera_id)
        k0 = math.floor((t0_ms - phase) / period) - 1
        k1 = math.floor((t1_ms - phase) / period) + 1
        out = []
        for k in range(k0, k1 + 1):
            inc = self.incident(camera_id, k)
            if inc.start_ms < t1_ms and inc.end_ms > t0_ms:
                out.append(inc)
        return out

    def active(self, camera_id: str, t_ms: float) -> list[SceneIncident]:
        return [i for i in self.incidents(camera_id, t_ms, t_ms + 1) if i.start_ms <= t_ms < i.end_ms]

    # -- scripted people
    def figures(self, camera_id: str, t_ms: float) -> list[Figure]:
        """The scripted people of the incidents active at ``t_ms`` (intruder, person without a hard hat)."""
        out: list[Figure] = []
        for inc in self.active(camera_id, t_ms):
            if inc.cls == VideoClass.NO_HARDHAT:
                out.append((*self._walk_across(inc, t_ms), NO_HAT))
            elif inc.cls == VideoClass.INTRUSION:
                p = self._intruder(inc, t_ms)
                if p is not None:
                    out.append((*p, "person"))
        return out

    def _walk_across(self, inc: SceneIncident, t_ms: float) -> tuple[float, float]:
        cam = self.cameras[inc.camera]
        yaw = math.radians(cam.yaw_deg)
        rx, ry = math.sin(yaw), -math.cos(yaw)  # the camera's right on the floor
        s = -2.5 + 5.0 * inc.progress(t_ms)  # 5 m across the view during the incident
        if inc.seed & 1:
            s = -s
        return inc.spot[0] + s * rx, inc.spot[1] + s * ry

    def _intruder(self, inc: SceneIncident, t_ms: float) -> tuple[float, float] | None:
        cam = self.cameras[inc.camera]
        assert cam.analytics is not None
        poly = np.array(cam.analytics.restricted[0], dtype=float)
        start = _outside_point(poly, inc.seed)
        outside = ground_point(cam, *start) if start else None
        if outside is None:
            return None
        p = inc.progress(t_ms)
        (ax, ay), (bx, by) = outside, inc.spot
        if p < 0.3:
            f = p / 0.3
        elif p < 0.75:
            f = 1.0
            wob = 0.6 * math.sin((t_ms - inc.start_ms) / 2500.0)
            return bx + wob, by + 0.5 * wob
        else:
            f = max(0.0, 1.0 - (p - 0.75) / 0.25)
        return ax + f * (bx - ax), ay + f * (by - ay)

    # -- ground truth
    def truth(
        self, camera_id: str, t_ms: float, figures: Sequence[Figure], size: tuple[int, int] = (1280, 720)
    ) -> set[VideoClass]:
        """The classes truly present in the frame of ``camera_id`` at ``t_ms`` drawn with ``figures`` (the
        people drawn besides the scripted ones, e.g. the store's; the scripted ones are added here)."""
        cam = self.cameras.get(camera_id)
        if cam is None:
            return set()
        width, height = size
        out: set[VideoClass] = set()
        for inc in self.active(camera_id, t_ms):
            if inc.cls in (VideoClass.FLAME, VideoClass.SMOKE, VideoClass.SPILL):
                px = _project(cam, (*inc.spot, 0.0), width, height)
                if px is not None and 0 <= px[0] < width and 0 <= px[1] < height:
                    out.add(inc.cls)
        people = list(figures) + self.figures(camera_id, t_ms)
        polys = [np.array(p, dtype=np.float32) * np.float32([width, height]) for p in cam.analytics.restricted]
        scale = height / 720
        drawn = _drawn_boxes(cam, people, width, height)
        for i, (depth, box, kind, foot) in enumerate(drawn):
            if kind == "vehicle":
                continue
            x, y, w, h = box
            tall = h
            if not (0 <= foot[0] < width and y >= 0 and foot[1] < height):
                continue
            nearer = [b for d, b, _, _ in drawn[:i] if d < depth] + [b for d, b, _, _ in drawn[i + 1 :] if d < depth]
            head = (x, y, w, h / 4)
            if kind == NO_HAT and tall >= MIN_HEAD_PX * scale and _visible(head, nearer):
                out.add(VideoClass.NO_HARDHAT)
            if (
                tall >= MIN_PERSON_PX * scale
                and _visible(box, nearer)
                and any(cv2.pointPolygonTest(poly, (float(foot[0]), float(foot[1])), False) > 0 for poly in polys)
            ):
                out.add(VideoClass.INTRUSION)
        return out


def _drawn_boxes(
    cam: Camera, figures: Sequence[Figure], width: int, height: int
) -> list[tuple[float, tuple[float, float, float, float], str, tuple[float, float]]]:
    """Each figure as drawn (depth, box x/y/w/h, kind, foot pixel), as simulator.cameras.draw_figures does."""
    out = []
    for x, y, kind in figures:
        h_m = VEHICLE_H_M if kind == "vehicle" else PERSON_H_M
        foot = _project(cam, (x, y, 0.0), width, height)
        head = _project(cam, (x, y, h_m), width, height)
        if foot is None or head is None or foot[2] > cam.range_m:
            continue
        tall = max(4.0, foot[1] - head[1])
        w = tall * 1.6 if kind == "vehicle" else tall / 4 + 2
        out.append((foot[2], (foot[0] - w / 2, head[1], w, tall), kind, (foot[0], foot[1])))
    return out


def _visible(box: tuple[float, float, float, float], nearer: list[tuple[float, float, float, float]]) -> bool:
    """False when a nearer figure hides more than 30 % of ``box``."""
    x, y, w, h = box
    for bx, by, bw, bh in nearer:
        ix = max(0.0, min(x + w, bx + bw) - max(x, bx))
        iy = max(0.0, min(y + h, by + bh) - max(y, by))
        if ix * iy > 0.3 * w * h:
            return False
    return True


def _inside_point(poly: np.ndarray, a: float, b: float) -> tuple[float, float] | None:
    """A point well inside an image polygon (fractions), preferring its lower (nearer) part."""
    x0, y0 = poly.min(axis=0)
    x1, y1 = poly.max(axis=0)
    p32 = poly.astype(np.float32)
    for i in range(40):
        u = x0 + (x1 - x0) * (0.3 + 0.4 * hash_unit(int(a * 1e9), i, 1))
        v = y0 + (y1 - y0) * (0.65 + 0.27 * hash_unit(int(b * 1e9), i, 2))
        if 0.05 < u < 0.95 and 0.1 < v < 0.92 and cv2.pointPolygonTest(p32, (float(u), float(v)), True) > 0.03:
            return float(u), float(v)
    return None


def _outside_point(poly: np.ndarray, seed: int) -> tuple[float, float] | None:
    """A point outside an image polygon (fractions), inside the picture, next to the polygon."""
    p32 = poly.astype(np.float32)
    cx, cy = poly.mean(axis=0)
    dirs = [(0.0, 1.0), (1.0, 0.0), (-1.0, 0.0), (0.7, 0.7), (-0.7, 0.7)]
    first = seed % len(dirs)
    for j in range(len(dirs)):
        dx, dy = dirs[(first + j) % len(dirs)]
        for step in range(1, 60):
            u, v = cx + dx * step * 0.015, cy + dy * step * 0.015
            if not (0.05 < u < 0.95 and 0.1 < v < 0.95):
                break
            if cv2.pointPolygonTest(p32, (float(u), float(v)), True) < -0.06:
                return float(u), float(v)
    return None
