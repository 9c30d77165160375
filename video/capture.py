"""Read one camera through OpenCV, in its own thread: the same code path for the demo and a real camera.

A :class:`Capture` opens its source with ``cv2.VideoCapture`` (FFmpeg: ``rtsp://``, ``http://`` MJPEG, a
video file), decodes frames as they come and keeps the newest. When the stream drops or cannot be opened
it retries with exponential backoff (``backoff_s`` to ``max_backoff_s``). A camera is online only while
frames keep coming: with no new frame for ``stale_s`` seconds it is offline, and :meth:`Capture.latest`
returns nothing, so a dead camera is never shown as a frozen last frame.

A video file plays at its own frame rate and starts over at its end, like a camera that never stops.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from plant.schema import Camera

logger = logging.getLogger(__name__)

STALE_S = 5.0
FPS_WINDOW = 20
OPEN_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 5.0
BACKOFF_S = 0.5
MAX_BACKOFF_S = 15.0
DEFAULT_CAMERA_PORT = 4860  # simulator.cameras.DEMO_CAMERA_PORT (not imported: the web tier needs no simulator)


def camera_port() -> int:
    """The demo camera streams' port: ``SW_CAMERA_PORT`` from the environment, else 4860."""
    text = os.environ.get("SW_CAMERA_PORT", "").strip()
    if not text:
        return DEFAULT_CAMERA_PORT
    port = int(text)  # a typo is an error at start-up, not a camera silently looked for elsewhere
    if not 0 < port < 65536:
        raise ValueError(f"SW_CAMERA_PORT out of range: {text!r}")
    return port


def camera_source(camera: Camera, host: str = "127.0.0.1", port: int | None = None) -> str:
    """Where a camera's images come from: its ``source`` in the plant model, else the demo simulator's
    MJPEG stream for its id (on ``port``, default :func:`camera_port`)."""
    if camera.source:
        return camera.source
    return f"http://{host}:{port or camera_port()}/camera/{camera.id}.mjpg"


def is_stream(source: str) -> bool:
    return "://" in source


@dataclass(frozen=True)
class CaptureStatus:
    """What the screens show of a camera: online, or offline since when (ms), and how well it streams."""

    camera_id: str
    online: bool
    since_ms: int | None  # online since / offline since (None: never had a frame and never tried)
    last_frame_ms: int | None
    fps: float
    frames: int  # frames decoded since the capture started
    reconnects: int
    error: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Capture:
    """One camera read in a background thread; the newest decoded frame and the camera's status."""

    def __init__(
        self,
        camera_id: str,
        source: str,
        *,
        stale_s: float = STALE_S,
        backoff_s: float = BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"camera {camera_id!r}: no source")
        for name, v in (("stale_s", stale_s), ("backoff_s", backoff_s), ("max_backoff_s", max_backoff_s)):
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        self.camera_id = camera_id
        self.source = source
        self.stale_s = float(stale_s)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._lock = threading.Lock()
        self._new_frame = threading.Condition(self._lock)
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._last_frame: float | None = None  # time.time() of the newest frame
        self._online_since: float | None = None
        self._offline_since: float | None = None
        self._fps = 0.0  # frames per second over the last FPS_WINDOW frames
        self._times: deque[float] = deque(maxlen=FPS_WINDOW)
        self._reconnects = 0
        self._error = ""
        self._connected = False  # a stream is open and has given a frame
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> Capture:
        if self._thread is None:
            self._stop.clear()
            self._offline_since = time.time()
            self._thread = threading.Thread(target=self._run, name=f"capture:{self.camera_id}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._new_frame:
            self._new_frame.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- reading
    def _open(self) -> cv2.VideoCapture:
        if is_stream(self.source):
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(self.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(self.read_timeout_s * 1000),
            ]
            return cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        if not os.path.isfile(self.source):
            raise FileNotFoundError(self.source)
        return cv2.VideoCapture(self.source)

    def _run(self) -> None:
        delay = self.backoff_s
        first = True
        while not self._stop.is_set():
            if not first:
                with self._lock:
                    self._reconnects += 1
            first = False
            got = 0
            try:
                cap = self._open()
            except Exception as exc:  # a missing file, a bad URL: recorded, retried
                self._set_error(f"{type(exc).__name__}: {exc}")
                cap = None
            if cap is not None and cap.isOpened():
                try:
                    got = self._read_loop(cap)
                except Exception as exc:
                    logger.exception("camera %s: reading failed", self.camera_id)
                    self._set_error(f"{type(exc).__name__}: {exc}")
                finally:
                    cap.release()
                if got and not self._error:
                    self._set_error("stream ended")
            elif cap is not None:
                cap.release()
                self._set_error("cannot open the source")
            self._went_offline()
            if got:
                delay = self.backoff_s  # it worked for a while: retry soon
            logger.info("camera %s offline (%s); retrying in %.1f s", self.camera_id, self._error, delay)
            if self._stop.wait(delay):
                break
            delay = min(self.max_backoff_s, delay * 2)
        self._went_offline()

    def _read_loop(self, cap: cv2.VideoCapture) -> int:
        pace = 0.0
        if not is_stream(self.source):
            fps = cap.get(cv2.CAP_PROP_FPS)
            pace = 1.0 / fps if math.isfinite(fps) and 0 < fps <= 120 else 0.1
        got = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            ok, frame = cap.read()
            if not ok or frame is None or frame.size == 0:
                return got
            got += 1
            self._put(frame)
            if pace:
                next_at += pace
                wait = next_at - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                if wait < -1:
                    next_at = time.monotonic()
        return got

    def _put(self, frame: np.ndarray) -> None:
        now = time.time()
        with self._new_frame:
            if not (self._connected and not self._is_stale(now)):
                self._online_since = now
                self._offline_since = None
                self._times.clear()
                logger.info("camera %s online", self.camera_id)
            self._times.append(now)
            span = self._times[-1] - self._times[0]
            self._fps = (len(self._times) - 1) / span if span > 0 else 0.0
            self._connected = True
            self._frame = frame
            self._seq += 1
            self._last_frame = now
            self._error = ""
            self._new_frame.notify_all()

    def _set_error(self, text: str) -> None:
        with self._lock:
            self._error = text[:200]

    def _went_offline(self) -> None:
        with self._lock:
            if self._offline_since is None:
                self._offline_since = time.time()
            self._online_since = None
            self._connected = False
            self._frame = None
            self._fps = 0.0

    def _is_stale(self, now: float) -> bool:
        return self._last_frame is None or now - self._last_frame > self.stale_s

    # -- what others see
    def latest(self) -> tuple[np.ndarray, int] | None:
        """The newest frame (BGR, not to be modified) and its sequence number; None while offline."""
        with self._lock:
            if self._frame is None or not self._connected or self._is_stale(time.time()):
                return None
            return self._frame, self._seq

    def wait_frame(self, after_seq: int, timeout: float) -> tuple[np.ndarray, int] | None:
        """The first frame newer than ``after_seq``, waiting up to ``timeout`` s; None when none came."""
        deadline = time.monotonic() + timeout
        with self._new_frame:
            while self._seq <= after_seq and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._new_frame.wait(left)
            if self._frame is None or self._seq <= after_seq:
                return None
            return self._frame, self._seq

    def status(self) -> CaptureStatus:
        now = time.time()
        with self._lock:
            stale = not self._connected or self._is_stale(now)
            if stale:
                since = self._offline_since
                if since is None:  # frames stopped without the stream closing: offline since the last one
                    since = (self._last_frame + self.stale_s) if self._last_frame is not None else now
            else:
                since = self._online_since
            return CaptureStatus(
                camera_id=self.camera_id,
                online=not stale,
                since_ms=int(since * 1000) if since is not None else None,
                last_frame_ms=int(self._last_frame * 1000) if self._last_frame is not None else None,
                fps=0.0 if stale else round(self._fps, 2),
                frames=self._seq,
                reconnects=self._reconnects,
                error=self._error if stale else "",
            )
