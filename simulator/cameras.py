"""The demo plant's cameras as real HTTP MJPEG streams, rendered from the plant model.

Each camera of the plant is served at ``/camera/<id>.mjpg`` (``multipart/x-mixed-replace`` of JPEG frames,
what many IP cameras serve) and ``/camera/<id>.jpg`` (one frame). A frame is a simple perspective view from
the camera's position, yaw, pitch and field of view: a dark floor with a 10 m grid, the outlines of the
plant's zones (red for forbidden ones) as low walls, people and vehicles as upright figures at the
positions ``people()`` gives, the camera's name and a timestamp. People wear hi-vis and a yellow hard hat
and stand along their perspective line; vehicles are orange boxes. Cameras with ``analytics`` also play
their scripted visual incidents (:mod:`simulator.video_scenes`: flame, smoke, spill, a person without a
hard hat, a person walking into a restricted area), whose ground truth per frame is
:meth:`simulator.video_scenes.Scenes.truth`. Every frame gets sensor noise before its JPEG encoding.

Rendering is lazy: frames are drawn only for a connected client, at ``fps``, so a plant's worth of cameras
costs nothing while nobody watches. The static part of a view (floor, zones) is drawn once per camera.

The video service reads these streams through OpenCV exactly as it reads a real camera
(:mod:`video.capture`), so a dropped connection here is a dropped camera there.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

from engine.clock import now_ms
from plant.schema import Camera, Plant, VideoClass
from simulator.video_scenes import (
    NO_HAT,
    PERSON_H_M,
    VEHICLE_H_M,
    Figure,
    SceneIncident,
    Scenes,
    camera_axes,
    focal_px,
)
from video.media import encode_jpeg

logger = logging.getLogger(__name__)

DEMO_CAMERA_PORT = 4860  # the simulator's camera streams: http://<sim_host>:4860/camera/<id>.mjpg
BOUNDARY = "swframe"
JPEG_QUALITY = 80
NOISE_SIGMA = 3.0  # sensor noise added to every frame (grey levels)
NEAR_M = 0.5  # points closer than this in front of the lens are clipped

PeopleSource = Callable[[], Sequence[Figure]]

_PATH_RE = re.compile(r"^/camera/([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})\.(mjpg|jpg)$")


def camera_path(camera_id: str) -> str:
    return f"/camera/{camera_id}.mjpg"


class View:
    """A pinhole projection of plant coordinates (x east, y north, z up, metres) into a camera's image."""

    def __init__(self, camera: Camera, width: int, height: int) -> None:
        self.camera = camera
        self.width = width
        self.height = height
        self.origin = np.array(camera.position, dtype=float)
        self.forward, self.right, self.up = camera_axes(camera)
        self.focal = focal_px(camera, width)

    def camera_coords(self, p: Sequence[float]) -> np.ndarray:
        d = np.asarray(p, dtype=float) - self.origin
        return np.array([d @ self.right, d @ self.up, d @ self.forward])

    def to_pixel(self, c: np.ndarray) -> tuple[int, int]:
        x = self.width / 2 + self.focal * c[0] / c[2]
        y = self.height / 2 - self.focal * c[1] / c[2]
        return round(max(-1e5, min(1e5, x))), round(max(-1e5, min(1e5, y)))

    def project(self, p: Sequence[float]) -> tuple[tuple[int, int], float] | None:
        """Pixel and depth of a point, or None behind the near plane."""
        c = self.camera_coords(p)
        if c[2] < NEAR_M:
            return None
        return self.to_pixel(c), float(c[2])

    def segment(self, a: Sequence[float], b: Sequence[float]) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """A 3D segment clipped to the near plane, in pixels (None when wholly behind)."""
        ca, cb = self.camera_coords(a), self.camera_coords(b)
        if ca[2] < NEAR_M and cb[2] < NEAR_M:
            return None
        if ca[2] < NEAR_M or cb[2] < NEAR_M:
            s = (NEAR_M - ca[2]) / (cb[2] - ca[2])
            cut = ca + s * (cb - ca)
            if ca[2] < NEAR_M:
                ca = cut
            else:
                cb = cut
        return self.to_pixel(ca), self.to_pixel(cb)

    def polygon(self, points: Sequence[Sequence[float]]) -> np.ndarray | None:
        """A 3D polygon clipped to the near plane (Sutherland-Hodgman), in pixels; None when behind."""
        cams = [self.camera_coords(p) for p in points]
        out: list[np.ndarray] = []
        for i, cur in enumerate(cams):
            prev = cams[i - 1]
            cur_in, prev_in = cur[2] >= NEAR_M, prev[2] >= NEAR_M
            if cur_in != prev_in:
                s = (NEAR_M - prev[2]) / (cur[2] - prev[2])
                out.append(prev + s * (cur - prev))
            if cur_in:
                out.append(cur)
        if len(out) < 3:
            return None
        return np.array([self.to_pixel(c) for c in out], dtype=np.int32)


def render_background(plant: Plant, camera: Camera, width: int, height: int) -> np.ndarray:
    """The static part of a camera's view: sky, floor grid and the zones' outlines."""
    view = View(camera, width, height)
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[:] = (34, 28, 24)  # BGR: dark floor
    horizon = view.project(view.origin + np.array([view.forward[0], view.forward[1], 0.0]) * 10_000)
    if horizon is not None:
        hy = max(0, min(height, horizon[0][1]))
        img[:hy] = (52, 40, 30)
    cx, cy = camera.position[0], camera.position[1]
    reach = camera.range_m
    step = 10.0
    lo_x, hi_x = math.floor((cx - reach) / step) * step, math.ceil((cx + reach) / step) * step
    lo_y, hi_y = math.floor((cy - reach) / step) * step, math.ceil((cy + reach) / step) * step
    grid = (70, 62, 56)
    for gx in np.arange(lo_x, hi_x + step, step):
        seg = view.segment((gx, lo_y, 0.0), (gx, hi_y, 0.0))
        if seg:
            cv2.line(img, seg[0], seg[1], grid, 1, cv2.LINE_AA)
    for gy in np.arange(lo_y, hi_y + step, step):
        seg = view.segment((lo_x, gy, 0.0), (hi_x, gy, 0.0))
        if seg:
            cv2.line(img, seg[0], seg[1], grid, 1, cv2.LINE_AA)
    fill = img.copy()
    colours = [(60, 60, 230) if z.forbidden else (60, 180, 240) if z.hazard else (200, 170, 90) for z in plant.zones]
    for zone, colour in zip(plant.zones, colours, strict=True):
        poly = view.polygon([(x, y, 0.0) for x, y in zone.polygon])
        if poly is not None:
            cv2.fillPoly(fill, [poly], colour, cv2.LINE_AA)
    img = cv2.addWeighted(fill, 0.14, img, 0.86, 0)
    for zone, colour in zip(plant.zones, colours, strict=True):
        wall = min(zone.height_m, 3.0)
        pts = zone.polygon
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            for z in (0.0, wall):
                seg = view.segment((x0, y0, z), (x1, y1, z))
                if seg:
                    cv2.line(img, seg[0], seg[1], colour, 2 if z == 0 else 1, cv2.LINE_AA)
            seg = view.segment((x0, y0, 0.0), (x0, y0, wall))
            if seg:
                cv2.line(img, seg[0], seg[1], colour, 1, cv2.LINE_AA)
    cv2.rectangle(img, (0, 0), (width, max(24, height // 18)), (0, 0, 0), -1)
    cv2.putText(
        img,
        camera.id,
        (8, max(18, height // 26)),
        cv2.FONT_HERSHEY_SIMPLEX,
        height / 900,
        (230, 230, 230),
        1,
        cv2.LINE_AA,
    )
    return img


def draw_figures(img: np.ndarray, view: View, figures: Sequence[Figure]) -> int:
    """Draw people and vehicles standing at their positions, far ones first; how many are in view."""
    placed: list[tuple[float, tuple[int, int], tuple[int, int], str]] = []
    for x, y, kind in figures:
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        h = VEHICLE_H_M if kind == "vehicle" else PERSON_H_M
        foot = view.project((x, y, 0.0))
        head = view.project((x, y, h))
        if foot is None or head is None or foot[1] > view.camera.range_m:
            continue
        (fx, fy), (hx, hy) = foot[0], head[0]
        if not (-200 < fx < view.width + 200 and min(fy, hy) > -200 and max(fy, hy) < view.height + 400):
            continue
        placed.append((foot[1], (fx, fy), (hx, hy), kind))
    placed.sort(key=lambda f: -f[0])
    for _, (fx, fy), (hx, hy), kind in placed:
        tall = max(4, fy - hy)
        if kind == "vehicle":
            w = int(tall * 1.6)
            cv2.rectangle(img, (fx - w // 2, hy), (fx + w // 2, fy), (40, 170, 240), -1)
            continue
        # A person stands along the line from the feet to the top of the head (tilted off the picture's
        # centre by the perspective): hi-vis body, head, yellow hard hat (or bare head, dark hair).
        ax, ay = hx - fx, hy - fy
        length = max(4.0, math.hypot(ax, ay))
        angle = math.degrees(math.atan2(ay, ax)) + 90.0

        def along(f: float, fx: int = fx, fy: int = fy, ax: float = ax, ay: float = ay) -> tuple[int, int]:
            return round(fx + f * ax), round(fy + f * ay)

        w = max(2, int(length) // 4)
        cv2.ellipse(img, along(0.4), (w // 2 + 1, int(length * 0.4)), angle, 0, 360, (20, 140, 255), -1)
        r = max(2, int(length) // 9)
        cv2.circle(img, along(0.9), r, (210, 220, 235), -1)
        if kind == NO_HAT:  # bare head: dark hair on top
            cv2.ellipse(img, along(0.9), (r, r), angle, 180, 360, (30, 38, 52), -1)
            continue
        hat = (max(2, int(length) // 8), max(1, int(length) // 16))
        cv2.ellipse(img, along(11 / 12), hat, angle, 180, 360, (0, 230, 255), -1)
    return len(placed)


def _spot_scale(view: View, spot: tuple[float, float]) -> tuple[tuple[int, int], float] | None:
    """A floor point's pixel and how many pixels a metre is there (None behind the camera)."""
    got = view.project((spot[0], spot[1], 0.0))
    if got is None:
        return None
    return got[0], view.focal / got[1]


def draw_spill(img: np.ndarray, view: View, inc: SceneIncident, t_ms: float) -> None:
    """An irregular blue-green puddle spreading on the floor (grows during the first 40 %, then still)."""
    grow = min(1.0, max(0.0, inc.progress(t_ms) / 0.4))
    radius = 0.6 + 2.4 * grow
    rng = np.random.default_rng(inc.seed)
    ph = rng.uniform(0, 2 * math.pi, 4)
    pts = []
    for a in np.linspace(0, 2 * math.pi, 40, endpoint=False):
        r = radius * (
            1 + 0.22 * math.sin(3 * a + ph[0]) + 0.14 * math.sin(5 * a + ph[1]) + 0.08 * math.sin(9 * a + ph[2])
        )
        pts.append((inc.spot[0] + r * math.cos(a), inc.spot[1] + 0.7 * r * math.sin(a), 0.0))
    poly = view.polygon(pts)
    if poly is None:
        return
    x, y, w, h = cv2.boundingRect(poly)
    x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(view.width, x + w + 2), min(view.height, y + h + 2)
    if x1 <= x0 or y1 <= y0:
        return
    roi = img[y0:y1, x0:x1]
    layer = roi.copy()
    cv2.fillPoly(layer, [poly - (x0, y0)], (168, 138, 38), cv2.LINE_AA)
    shine = view.polygon(
        [
            (inc.spot[0] + 0.35 * radius * math.cos(a) - 0.2 * radius, inc.spot[1] + 0.12 * radius * math.sin(a), 0.0)
            for a in np.linspace(0, 2 * math.pi, 12, endpoint=False)
        ]
    )
    if shine is not None:
        cv2.fillPoly(layer, [shine - (x0, y0)], (215, 200, 150), cv2.LINE_AA)
    cv2.addWeighted(layer, 0.82, roi, 0.18, 0, dst=roi)


def draw_flame(img: np.ndarray, view: View, inc: SceneIncident, t_ms: float) -> None:
    """Flickering irregular flame tongues at a floor point: red, orange, yellow, a white core, a glow."""
    got = _spot_scale(view, inc.spot)
    if got is None:
        return
    (bx, by), ppm = got
    tick = int(t_ms // 80)  # the flicker changes about 12 times a second
    rng = np.random.default_rng((inc.seed, tick))
    n = 5
    height = ppm * (1.3 + 0.5 * rng.random())
    tongues = []
    for i in range(n):
        off = (i - (n - 1) / 2) * 0.28 * ppm + rng.normal(0, 0.05 * ppm)
        h = height * (0.45 + 0.55 * rng.random()) * (1.0 - 0.25 * abs(i - (n - 1) / 2) / n)
        w = 0.32 * ppm * (0.8 + 0.4 * rng.random())
        sway = rng.normal(0, 0.12 * ppm)
        tongues.append((off, h, w, sway))
    glow = np.zeros_like(img[..., 0])
    for scale, colour in ((1.0, (20, 30, 200)), (0.72, (0, 110, 250)), (0.5, (40, 215, 255)), (0.28, (205, 245, 255))):
        for off, h, w, sway in tongues:
            hh, ww = h * scale, w * (0.5 + 0.5 * scale)
            taper = [(1 - k / 6) ** 0.8 for k in range(6)]
            jit = rng.normal(0, 0.12 * ww, 12)
            left = [(bx + off - ww / 2 * taper[k] + sway * (k / 6) ** 2 + jit[k], by - hh * k / 6) for k in range(6)]
            right = [
                (bx + off + ww / 2 * taper[k] + sway * (k / 6) ** 2 + jit[6 + k], by - hh * k / 6)
                for k in range(5, -1, -1)
            ]
            tip = [(bx + off + sway * 1.2, by - hh)]
            poly = np.array(left + tip + right, dtype=np.int32)
            cv2.fillPoly(img, [poly], colour, cv2.LINE_AA)
            if scale == 1.0:
                cv2.fillPoly(glow, [poly], 255)
    r = max(3, int(0.8 * ppm))
    x0, y0, x1, y1 = max(0, bx - 3 * r), max(0, by - 4 * r), min(view.width, bx + 3 * r), min(view.height, by + r)
    if x1 > x0 and y1 > y0:
        g = cv2.GaussianBlur(glow[y0:y1, x0:x1], (0, 0), r / 2).astype(np.float32) / 255.0
        roi = img[y0:y1, x0:x1].astype(np.float32)
        roi += g[..., None] * np.float32([0, 60, 140])
        img[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)


def draw_smoke(img: np.ndarray, view: View, inc: SceneIncident, t_ms: float) -> None:
    """A drifting, blurred, semi-transparent grey plume rising from a floor point."""
    got = _spot_scale(view, inc.spot)
    if got is None:
        return
    (bx, by), ppm = got
    age_s = (t_ms - inc.start_ms) / 1000.0
    fade = min(1.0, age_s / 1.5, (inc.end_ms - t_ms) / 1500.0)
    if fade <= 0:
        return
    rng = np.random.default_rng(inc.seed)
    drift = rng.uniform(-0.6, 0.6)  # m/s sideways (the wind)
    q = 4  # the plume is drawn at a quarter of the resolution, blurred, then enlarged
    w_px, h_px = int(16 * ppm), int(11 * ppm)
    x0, y0 = int(bx - w_px / 2), int(by - h_px)
    x1, y1 = x0 + w_px, int(by + 0.8 * ppm)
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(view.width, x1), min(view.height, y1)
    if cx1 - cx0 < 8 or cy1 - cy0 < 8:
        return
    small = np.zeros(((y1 - y0) // q + 1, (x1 - x0) // q + 1), np.float32)
    puffs = 14
    for j in range(puffs):
        life = 6.0
        age = ((age_s + j * life / puffs) % life) / life
        px = bx + (drift * age * life + 0.5 * math.sin(age_s * 0.9 + j)) * ppm
        py = by - age * 7.5 * ppm
        rad = (0.5 + 1.6 * age) * ppm
        op = 0.85 * (1 - age) ** 0.6 * min(1.0, age * 8)
        cv2.circle(small, (int((px - x0) / q), int((py - y0) / q)), max(1, int(rad / q)), op, -1)
    small = cv2.GaussianBlur(small, (0, 0), max(1.0, 0.35 * ppm / q))
    sh, sw = small.shape
    small *= np.outer(
        np.clip(np.minimum(np.arange(sh), sh - 1 - np.arange(sh)) / (0.12 * sh), 0, 1),
        np.clip(np.minimum(np.arange(sw), sw - 1 - np.arange(sw)) / (0.12 * sw), 0, 1),
    ).astype(np.float32)  # fade to the edges
    alpha = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)[
        cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0
    ]
    alpha = np.clip(alpha * fade, 0, 0.75)[..., None]
    roi = img[cy0:cy1, cx0:cx1].astype(np.float32)
    img[cy0:cy1, cx0:cx1] = (roi * (1 - alpha) + np.float32([150, 152, 156]) * alpha).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _noise(
    width: int, height: int, sigma: float = NOISE_SIGMA, n: int = 4
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A few frames of precomputed sensor noise (positive and negative parts), shared by the cameras of a
    frame size and added in turn: cheap, and never the same twice in a row."""
    rng = np.random.default_rng(7)
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    for _ in range(n):
        z = rng.normal(0, sigma, (height, width, 1)).astype(np.float32)
        z = np.repeat(z, 3, axis=2) + rng.normal(0, sigma / 3, (height, width, 3)).astype(np.float32)
        pos.append(np.clip(z, 0, 255).astype(np.uint8))
        neg.append(np.clip(-z, 0, 255).astype(np.uint8))
    return pos, neg


class CameraRenderer:
    """Draws one camera's frames; the static background once, the figures and the clock per frame."""

    def __init__(
        self, plant: Plant, camera: Camera, width: int, height: int, scenes: Scenes | None = None, noise: bool = True
    ) -> None:
        self.view = View(camera, width, height)
        self.background = render_background(plant, camera, width, height)
        self.scenes = scenes
        self.noise = noise
        self._noise_k = 0

    def frame(self, figures: Sequence[Figure], now: float | None = None) -> np.ndarray:
        """The picture at ``now`` (epoch seconds) with ``figures`` and the camera's scripted incidents."""
        now = now if now is not None else time.time()
        t_ms = now * 1000.0
        img = self.background.copy()
        cam = self.view.camera.id
        active = self.scenes.active(cam, t_ms) if self.scenes is not None else []
        for inc in active:
            if inc.cls == VideoClass.SPILL:
                draw_spill(img, self.view, inc, t_ms)
        if self.scenes is not None:
            figures = list(figures) + self.scenes.figures(cam, t_ms)
        draw_figures(img, self.view, figures)
        for inc in active:
            if inc.cls == VideoClass.FLAME:
                draw_flame(img, self.view, inc, t_ms)
            elif inc.cls == VideoClass.SMOKE:
                draw_smoke(img, self.view, inc, t_ms)
        if self.noise:
            pos, neg = _noise(self.view.width, self.view.height)
            self._noise_k = (self._noise_k + 1) % len(pos)
            cv2.add(img, pos[self._noise_k], dst=img)
            cv2.subtract(img, neg[self._noise_k], dst=img)
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        h = self.view.height
        scale = h / 900
        (tw, _), _ = cv2.getTextSize(stamp, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(
            img,
            stamp,
            (self.view.width - tw - 8, max(18, h // 26)),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (230, 230, 230),
            1,
            cv2.LINE_AA,
        )
        return img

    def jpeg(self, figures: Sequence[Figure], now: float | None = None) -> bytes:
        return encode_jpeg(self.frame(figures, now), JPEG_QUALITY)


class CameraServer:
    """An HTTP server of the plant's camera streams in a background thread.

    ``people`` gives the figures to draw (called once per frame per connected client); frames are rendered
    only while a client is connected. ``scenes`` plays the analysed cameras' scripted incidents (default:
    the demo schedule, :class:`simulator.video_scenes.Scenes`). ``stats()`` counts the frames rendered, for
    tests and benchmarks.
    """

    def __init__(
        self,
        plant: Plant,
        host: str = "127.0.0.1",
        port: int = DEMO_CAMERA_PORT,
        people: PeopleSource | None = None,
        fps: float = 5.0,
        size: tuple[int, int] = (1280, 720),
        scenes: Scenes | None = None,
    ) -> None:
        if not (math.isfinite(fps) and 0 < fps <= 60):
            raise ValueError(f"fps must be in (0, 60], got {fps!r}")
        if size[0] < 16 or size[1] < 16:
            raise ValueError(f"frame size too small: {size!r}")
        self.plant = plant
        self.cameras = {c.id: c for c in plant.cameras}
        self.host = host
        self.port = port
        self.people = people or (lambda: ())
        self.fps = fps
        self.size = size
        self.scenes = scenes if scenes is not None else Scenes(plant)
        self._renderers: dict[str, CameraRenderer] = {}
        self._lock = threading.Lock()
        self._frames = 0
        self._clients = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- rendering
    def renderer(self, camera_id: str) -> CameraRenderer:
        with self._lock:
            r = self._renderers.get(camera_id)
            if r is None:
                r = CameraRenderer(self.plant, self.cameras[camera_id], *self.size, scenes=self.scenes)
                self._renderers[camera_id] = r
            return r

    def render(self, camera_id: str) -> bytes:
        try:
            figures = list(self.people())
        except Exception:
            logger.exception("camera %s: no positions to draw", camera_id)
            figures = []
        data = self.renderer(camera_id).jpeg(figures)
        with self._lock:
            self._frames += 1
        return data

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"frames": self._frames, "clients": self._clients, "renderers": len(self._renderers)}

    def url(self, camera_id: str) -> str:
        return f"http://{self.host}:{self.port}{camera_path(camera_id)}"

    # -- serving
    def start(self) -> CameraServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("camera server: " + format, *args)

            def do_GET(self) -> None:
                m = _PATH_RE.match(self.path.split("?", 1)[0])
                if m is None or m.group(1) not in server.cameras:
                    self.send_error(404, "no such camera")
                    return
                if m.group(2) == "jpg":
                    body = server.render(m.group(1))
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    self.wfile.write(body)
                    return
                server._stream(self, m.group(1))

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"cameras:{self.port}", daemon=True)
        self._thread.start()
        logger.info(
            "camera streams of %d cameras at http://%s:%d/camera/<id>.mjpg", len(self.cameras), self.host, self.port
        )
        return self

    def _stream(self, handler: BaseHTTPRequestHandler, camera_id: str) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        handler.send_header("Cache-Control", "no-store")
        handler.send_header("Connection", "close")
        handler.end_headers()
        with self._lock:
            self._clients += 1
        period = 1.0 / self.fps
        next_at = time.monotonic()
        try:
            while not self._stopping.is_set():
                body = self.render(camera_id)
                head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                handler.wfile.write(head + body + b"\r\n")
                handler.wfile.flush()
                next_at += period
                delay = next_at - time.monotonic()
                if delay < -period:  # fell behind (slow client): do not burst to catch up
                    next_at = time.monotonic()
                elif delay > 0 and self._stopping.wait(delay):
                    break
        except (BrokenPipeError, ConnectionResetError, OSError):
            logger.debug("camera %s: client left", camera_id)
        finally:
            with self._lock:
                self._clients -= 1

    def stop(self) -> None:
        """Stop serving and drop every open stream (a camera that goes away)."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> CameraServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StorePeople:
    """Figures from the store's current badge positions (what the collectors wrote), read at most once a
    second whoever asks: the demo's camera process needs no simulator internals."""

    def __init__(self, plant: Plant, db_url: str, max_age_s: float = 300.0, every_s: float = 1.0) -> None:
        from store.db import make_engine

        self.kinds = {b.id: b.kind.value for b in plant.badges}
        self.engine = make_engine(db_url)
        self.max_age_ms = int(max_age_s * 1000)
        self.every_s = every_s
        self._lock = threading.Lock()
        self._at = -math.inf
        self._figures: list[Figure] = []

    def __call__(self) -> list[Figure]:
        from store.db import session_scope
        from store.positions import current_positions

        with self._lock:
            now = time.monotonic()
            if now - self._at >= self.every_s:
                self._at = now
                since = now_ms() - self.max_age_ms
                with session_scope(self.engine) as session:
                    rows = current_positions(session, since=since)
                self._figures = [(p.x, p.y, self.kinds.get(p.badge, "person")) for p in rows if p.floor == 0]
            return self._figures


def main(argv: list[str] | None = None) -> int:
    """``python -m simulator.cameras``: serve the plant's cameras, people drawn from the store."""
    import argparse

    from plant import load_plant
    from settings import get_settings
    from video.capture import camera_port

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", default=str(settings.plant_file))
    parser.add_argument("--db", default=settings.db_url, help="database with the badges' current positions")
    parser.add_argument("--host", default=settings.sim_host)
    parser.add_argument("--port", type=int, default=camera_port(), help="default: SW_CAMERA_PORT or 4860")
    parser.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    plant = load_plant(args.plant)
    server = CameraServer(plant, args.host, args.port, people=StorePeople(plant, args.db), fps=args.fps).start()
    stop = threading.Event()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
