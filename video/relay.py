"""The live-view relay: one decode per camera shared by every viewer, re-encoded small for the screens.

A :class:`VideoRelay` starts a camera's :class:`~video.capture.Capture` when the first viewer (a live
stream or a snapshot) asks for it and stops it ``linger_s`` seconds after the last one left, so cameras
nobody watches cost nothing. Every source frame is decoded once by the capture; the relay re-encodes at
most ``fps`` frames per second at ``size`` (640x360 by default), once, and every viewer gets those bytes.

Its routes are registered by ``webapp.routes.video_live`` (listed in ``auth.policy.ROUTES``):

- ``/video/live/<camera>.mjpg`` - ``multipart/x-mixed-replace`` of JPEG frames; while the camera is
  offline the stream sends a dark "no signal" frame, never the last picture;
- ``/video/snapshot/<camera>.jpg`` - the newest frame, or 503 while the camera is offline (the camera
  grid asks with ``?offline=blank``: 200 with the "no signal" frame; ``X-Camera-Online`` tells which);
- ``/video/status.json`` - each camera's status as :class:`~video.capture.CaptureStatus` (cameras not
  being watched: ``"watched": false``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from plant.loader import load_plant_cached
from plant.schema import Camera
from settings import Settings
from video.capture import Capture, CaptureStatus, camera_source
from video.media import encode_jpeg

logger = logging.getLogger(__name__)

RELAY_SIZE = (640, 360)
RELAY_FPS = 4.0
RELAY_QUALITY = 70
LINGER_S = 30.0
FIRST_FRAME_WAIT_S = 4.0
BOUNDARY = "swrelay"
EXTENSION = "sw_video_relay"


@dataclass
class _Feed:
    capture: Capture
    viewers: int = 0
    last_used: float = field(default_factory=time.monotonic)
    created: float = field(default_factory=time.monotonic)
    jpeg: bytes | None = None  # the newest re-encoded frame...
    jpeg_seq: int = -1  # ...of this source frame
    jpeg_at: float = 0.0
    encodes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class VideoRelay:
    """On-demand captures of the plant's cameras and their shared, reduced JPEG frames."""

    def __init__(
        self,
        cameras: Callable[[], dict[str, Camera]],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        size: tuple[int, int] = RELAY_SIZE,
        fps: float = RELAY_FPS,
        linger_s: float = LINGER_S,
        stale_s: float | None = None,
    ) -> None:
        if not (math.isfinite(fps) and 0 < fps <= 30):
            raise ValueError(f"relay fps must be in (0, 30], got {fps!r}")
        self._cameras = cameras
        self.host = host
        self.port = port
        self.size = size
        self.fps = fps
        self.linger_s = linger_s
        self.stale_s = stale_s
        self._feeds: dict[str, _Feed] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self._blank: bytes | None = None

    # -- cameras
    def camera(self, camera_id: str) -> Camera | None:
        return self._cameras().get(camera_id)

    def source(self, camera: Camera) -> str:
        return camera_source(camera, self.host, self.port)

    def _feed(self, camera_id: str) -> _Feed:
        """The camera's feed, its capture started if it was not running (KeyError: no such camera)."""
        camera = self.camera(camera_id)
        if camera is None:
            raise KeyError(camera_id)
        with self._lock:
            feed = self._feeds.get(camera_id)
            if feed is None:
                kwargs = {} if self.stale_s is None else {"stale_s": self.stale_s}
                feed = _Feed(Capture(camera_id, self.source(camera), **kwargs).start())
                self._feeds[camera_id] = feed
                logger.info("relay: capture of %s started", camera_id)
            feed.last_used = time.monotonic()
            self._ensure_reaper()
            return feed

    def _ensure_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap_loop, name="video-relay-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while not self._stop.wait(min(5.0, max(0.2, self.linger_s / 4))):
            self.reap()

    def reap(self) -> list[str]:
        """Stop the captures nobody has used for ``linger_s``; their ids."""
        now = time.monotonic()
        gone: list[_Feed] = []
        with self._lock:
            for cid, feed in list(self._feeds.items()):
                if feed.viewers <= 0 and now - feed.last_used >= self.linger_s:
                    gone.append(self._feeds.pop(cid))
        for feed in gone:
            feed.capture.stop()
            logger.info("relay: capture of %s stopped (nobody watches)", feed.capture.camera_id)
        return [f.capture.camera_id for f in gone]

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            feeds = list(self._feeds.values())
            self._feeds.clear()
        for feed in feeds:
            feed.capture.stop()

    # -- frames
    def _encode(self, feed: _Feed, frame: np.ndarray, seq: int) -> bytes:
        """The reduced JPEG of source frame ``seq``, encoded once whoever asks (at most ``fps`` a second)."""
        with feed.lock:
            now = time.monotonic()
            if feed.jpeg is not None and (feed.jpeg_seq == seq or now - feed.jpeg_at < 0.5 / self.fps):
                return feed.jpeg
            small = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
            feed.jpeg, feed.jpeg_seq, feed.jpeg_at = encode_jpeg(small, RELAY_QUALITY), seq, now
            feed.encodes += 1
            return feed.jpeg

    def blank(self) -> bytes:
        """The dark "no signal" frame sent while a camera is offline (no text: the page says it, translated)."""
        if self._blank is None:
            img = np.full((self.size[1], self.size[0], 3), 24, dtype=np.uint8)
            w, h = self.size
            cv2.line(img, (w // 2 - 20, h // 2 - 20), (w // 2 + 20, h // 2 + 20), (70, 70, 70), 3)
            cv2.line(img, (w // 2 - 20, h // 2 + 20), (w // 2 + 20, h // 2 - 20), (70, 70, 70), 3)
            self._blank = cv2.imencode(".jpg", img)[1].tobytes()
        return self._blank

    def snapshot(self, camera_id: str, wait_s: float = FIRST_FRAME_WAIT_S) -> bytes | None:
        """The newest reduced frame of a camera, starting its capture if needed; None while offline."""
        feed = self._feed(camera_id)
        got = feed.capture.latest()
        wait = feed.created + wait_s - time.monotonic()  # only a capture that just started is waited for
        if got is None and wait > 0:
            got = feed.capture.wait_frame(feed.capture.status().frames, wait)
        feed.last_used = time.monotonic()
        if got is None:
            return None
        return self._encode(feed, *got)

    def frames(self, camera_id: str, max_frames: int | None = None) -> Iterator[bytes]:
        """A viewer's JPEG frames at the relay's rate (the blank frame while offline), until closed."""
        feed = self._feed(camera_id)
        with self._lock:
            feed.viewers += 1
        period = 1.0 / self.fps
        sent = 0
        last_seq = 0
        try:
            while not self._stop.is_set() and (max_frames is None or sent < max_frames):
                started = time.monotonic()
                got = feed.capture.wait_frame(last_seq, timeout=max(period, 1.0))
                if got is None:
                    got = feed.capture.latest()  # no newer frame yet: the current one, if not stale
                if got is None:
                    data = self.blank()
                else:
                    last_seq = got[1]
                    data = self._encode(feed, *got)
                feed.last_used = time.monotonic()
                yield data
                sent += 1
                rest = period - (time.monotonic() - started)
                if rest > 0 and self._stop.wait(rest):
                    break
        finally:
            with self._lock:
                feed.viewers -= 1
                feed.last_used = time.monotonic()

    # -- what the screens and tests see
    def status(self, camera_id: str) -> CaptureStatus | None:
        with self._lock:
            feed = self._feeds.get(camera_id)
        return None if feed is None else feed.capture.status()

    def stats(self) -> dict[str, dict[str, int]]:
        """Per running capture: decoded frames, re-encoded frames, viewers."""
        with self._lock:
            feeds = dict(self._feeds)
        return {
            cid: {"decodes": f.capture.status().frames, "encodes": f.encodes, "viewers": f.viewers}
            for cid, f in feeds.items()
        }


def multipart(frames: Iterator[bytes]) -> Iterator[bytes]:
    for data in frames:
        yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        yield data + b"\r\n"


def plant_relay(settings: Settings) -> VideoRelay:
    """A relay of the cameras of the settings' plant (sources without one: the simulator on ``sim_host``)."""
    plant_file = str(settings.plant_file)
    return VideoRelay(lambda: {c.id: c for c in load_plant_cached(plant_file).cameras}, host=settings.sim_host)
