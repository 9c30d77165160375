"""The demo plant's cameras as real HTTP MJPEG streams, rendered from the plant model.

Each camera of the plant is served at ``/camera/<id>.mjpg`` (``multipart/x-mixed-replace`` of JPEG frames,
what many IP cameras serve) and ``/camera/<id>.jpg`` (one frame). A frame is a simple perspective view from
the camera's position, yaw, pitch and field of view: a dark floor with a 10 m grid, the outlines of the
plant's zones (red for forbidden ones) as low walls, people and vehicles as upright figures at the
positions ``people()`` gives, the camera's name and a timestamp.

Rendering is lazy: frames are drawn only for a connected client, at ``fps``, so a plant's worth of cameras
costs nothing while nobody watches. The static part of a view (floor, zones) is drawn once per camera.

The video service reads these streams through OpenCV exactly as it reads a real camera
(:mod:`video.capture`), so a dropped connection here is a dropped camera there.
"""

from __future__ import annotations

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

from plant.schema import Camera, Plant

logger = logging.getLogger(__name__)

DEMO_CAMERA_PORT = 4860  # the simulator's camera streams: http://<sim_host>:4860/camera/<id>.mjpg
BOUNDARY = "swframe"
JPEG_QUALITY = 80
NEAR_M = 0.5  # points closer than this in front of the lens are clipped
PERSON_H_M = 1.75
VEHICLE_H_M = 2.6

# A position to draw: x, y (metres, plant coordinates) and a kind ("person" or "vehicle").
Figure = tuple[float, float, str]
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
        yaw = math.radians(camera.yaw_deg)
        pitch = math.radians(camera.pitch_deg)
        self.origin = np.array(camera.position, dtype=float)
        self.forward = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)])
        self.right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        self.up = np.cross(self.right, self.forward)
        self.focal = (width / 2) / math.tan(math.radians(min(camera.fov_deg, 170.0)) / 2)

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
    for zone in plant.zones:
        colour = (60, 60, 230) if zone.forbidden else (60, 180, 240) if zone.hazard else (200, 170, 90)
        poly = view.polygon([(x, y, 0.0) for x, y in zone.polygon])
        if poly is not None:
            cv2.fillPoly(fill, [poly], colour, cv2.LINE_AA)
    img = cv2.addWeighted(fill, 0.14, img, 0.86, 0)
    for zone in plant.zones:
        colour = (60, 60, 230) if zone.forbidden else (60, 180, 240) if zone.hazard else (200, 170, 90)
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
        w = max(2, tall // 4)
        cv2.ellipse(
            img, (fx, (fy + hy + tall // 5) // 2), (w // 2 + 1, (tall * 4) // 10), 0, 0, 360, (20, 140, 255), -1
        )
        cv2.circle(img, (hx, hy + tall // 10), max(2, tall // 9), (210, 220, 235), -1)
        cv2.ellipse(img, (hx, hy + tall // 12), (max(2, tall // 8), max(1, tall // 16)), 0, 180, 360, (0, 230, 255), -1)
    return len(placed)


class CameraRenderer:
    """Draws one camera's frames; the static background once, the figures and the clock per frame."""

    def __init__(self, plant: Plant, camera: Camera, width: int, height: int) -> None:
        self.view = View(camera, width, height)
        self.background = render_background(plant, camera, width, height)

    def frame(self, figures: Sequence[Figure], now: float | None = None) -> np.ndarray:
        img = self.background.copy()
        draw_figures(img, self.view, figures)
        stamp = datetime.fromtimestamp(now if now is not None else time.time(), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
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
        ok, buf = cv2.imencode(".jpg", self.frame(figures, now), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()


class CameraServer:
    """An HTTP server of the plant's camera streams in a background thread.

    ``people`` gives the figures to draw (called once per frame per connected client); frames are rendered
    only while a client is connected. ``stats()`` counts the frames rendered, for tests and benchmarks.
    """

    def __init__(
        self,
        plant: Plant,
        host: str = "127.0.0.1",
        port: int = DEMO_CAMERA_PORT,
        people: PeopleSource | None = None,
        fps: float = 5.0,
        size: tuple[int, int] = (1280, 720),
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
                r = CameraRenderer(self.plant, self.cameras[camera_id], *self.size)
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
                since = int(time.time() * 1000) - self.max_age_ms
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
