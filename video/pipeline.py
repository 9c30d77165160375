"""One analysed camera: capture -> (motion, detect) -> events -> media, in one thread.

A :class:`CameraPipeline` reads its camera with :class:`video.capture.Capture` (the same code as every
camera, demo or real: OpenCV, reconnect with backoff, offline when frames stop) and loops on its frames:

- each new frame is offered to the camera's :class:`video.media.EventMedia` ring (which keeps at most
  :data:`video.media.CLIP_FPS` reduced frames a second, for clips);
- every ``1 / analytics.fps`` seconds the newest frame goes to the analyzer
  (:class:`video.detect.Analyzer`: motion gate, detectors, debounced triggers); a start trigger becomes an
  event row (:class:`video.events.VideoEvents`) and its media (snapshot now, clip when the seconds after are
  in), an end trigger sets the event's end. While a detection lasts, the event's ``seen_ms`` is refreshed
  now and then (what a restart closes it at).

A camera that goes offline (no frame for the capture's ``stale_s``) ends its open detections at the time
of its last frame, writes its pending clips with what they have, and gets a fresh analyzer: what nobody can
see any more must not stand as an alarm (the camera's offline state is shown on the screens instead), and
a condition still there when the picture comes back is a new event, with a new snapshot and clip.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.clock import now_ms as clock_now_ms
from plant.schema import Camera, VideoClass
from video.capture import Capture, CaptureStatus
from video.events import SEEN_EVERY_MS, VideoEvents
from video.media import CLIP_FPS, CLIP_WIDTH, POST_S, PRE_S, EventMedia, MediaWriter, Sighting
from video.types import Analysis, Trigger

logger = logging.getLogger(__name__)

WAIT_S = 0.5  # longest wait for a frame before the loop looks at the camera's state again
ERROR_LOG_EVERY_S = 60.0


class Analyzer(Protocol):
    def process(self, frame_bgr: np.ndarray, ts_ms: int) -> Analysis: ...


AnalyzerFactory = Callable[[Camera], Analyzer]


@dataclass
class PipelineStats:
    camera_id: str
    online: bool = False
    frames: int = 0  # new frames the loop saw
    analysed: int = 0  # frames given to the analyzer
    ran: int = 0  # ...on which the detectors ran (motion)
    analysis_s: float = 0.0  # time spent in the analyzer
    errors: int = 0
    opened: int = 0  # events opened
    closed: int = 0
    offline_times: int = 0
    ring_frames: int = 0
    ring_bytes: int = 0
    open_events: int = 0
    last_analysis_ms: int | None = None
    people: int = 0  # people in view at the last analysed frame (counting)
    vehicles: int = 0
    warnings: list[str] = field(default_factory=list)  # fallbacks of the analyser (a refused model...)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CameraPipeline:
    """Capture, analysis, events and media of one camera with ``analytics``, in a background thread."""

    def __init__(
        self,
        camera: Camera,
        source: str,
        analyzer_factory: AnalyzerFactory,
        events: VideoEvents | None,
        writer: MediaWriter,
        *,
        fps: float | None = None,
        pre_s: float = PRE_S,
        post_s: float = POST_S,
        clip_fps: float = CLIP_FPS,
        clip_width: int = CLIP_WIDTH,
        capture_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if camera.analytics is None and fps is None:
            raise ValueError(f"camera {camera.id} has no analytics")
        self.camera = camera
        self.source = source
        self.analyzer_factory = analyzer_factory
        self.events = events
        self.writer = writer
        self.fps = float(fps if fps is not None else camera.analytics.fps)  # type: ignore[union-attr]
        self.period_s = 1.0 / self.fps
        self.capture = Capture(camera.id, source, **(capture_kwargs or {}))
        self.media = EventMedia(writer, pre_s=pre_s, post_s=post_s, fps=clip_fps, width=clip_width)
        self.analyzer: Analyzer = analyzer_factory(camera)
        # (class, person track or None) -> id of its open event
        self.open: dict[tuple[VideoClass, int | None], int] = {}
        self._seen_written: dict[int, int] = {}  # event id -> seen_ms last written
        self._last_frame_ms: int | None = None
        self._stats = PipelineStats(camera.id, warnings=list(getattr(self.analyzer, "warnings", [])))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error_log = 0.0
        self.on_analysis: Callable[[Analysis], None] | None = None  # observers (bench, tests)

    # -- lifecycle
    def start(self) -> CameraPipeline:
        if self._thread is None:
            self._stop.clear()
            self.capture.start()
            self._thread = threading.Thread(target=self._run, name=f"video:{self.camera.id}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and the capture; open events end at the last frame, pending clips are written."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.capture.stop(timeout)
        self._end_all(self._last_frame_ms)
        self.media.flush()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> CaptureStatus:
        return self.capture.status()

    def stats(self) -> PipelineStats:
        s = self._stats
        s.ring_frames = len(self.media.ring)
        s.ring_bytes = self.media.ring.nbytes
        s.open_events = len(self.open)
        s.warnings = list(getattr(self.analyzer, "warnings", s.warnings))  # a refused model may load later
        return PipelineStats(**asdict(s))

    # -- the loop
    def _run(self) -> None:
        last_seq = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                got = self.capture.wait_frame(last_seq, timeout=WAIT_S)
                now_ms = clock_now_ms()
                if got is None:
                    if self._stats.online and self.capture.latest() is None:
                        self._went_offline()
                    self.media.tick(now_ms)
                    continue
                frame, last_seq = got
                if not self._stats.online:
                    self._stats.online = True
                    logger.info("camera %s: analysing at %.3g frames/s", self.camera.id, self.fps)
                self._stats.frames += 1
                self._last_frame_ms = now_ms
                self.media.add_frame(frame, now_ms)
                mono = time.monotonic()
                if mono >= next_at:
                    next_at = max(next_at + self.period_s, mono)  # keep the rate; never run ahead of it
                    self._analyse(frame, now_ms)
            except Exception:
                self._stats.errors += 1
                self._log_error("camera %s: pipeline step failed", self.camera.id)
                if self._stop.wait(1.0):
                    break

    def _analyse(self, frame: np.ndarray, ts_ms: int) -> None:
        t0 = time.perf_counter()
        analysis = self.analyzer.process(frame, ts_ms)
        self._stats.analysis_s += time.perf_counter() - t0
        self._stats.analysed += 1
        self._stats.ran += int(analysis.ran)
        self._stats.last_analysis_ms = ts_ms
        self._stats.people, self._stats.vehicles = analysis.people, analysis.vehicles
        for trigger in analysis.triggers:
            if trigger.kind == "start":
                self._start_event(trigger, frame)
            elif trigger.kind == "end":
                # A tracked person's stay ends when the person was last seen; a class when it is over.
                end = trigger.seen_ms if trigger.track is not None and trigger.seen_ms is not None else trigger.ts_ms
                self._end_event((trigger.cls, trigger.track), end)
        if self.open:
            self._refresh_seen(analysis, ts_ms)
            self._follow(analysis, frame, ts_ms)
        if self.on_analysis is not None:
            self.on_analysis(analysis)

    def _start_event(self, trigger: Trigger, frame: np.ndarray) -> None:
        key = (trigger.cls, trigger.track)
        if key in self.open:  # a start without an end (should not happen): the old one ends here
            self._end_event(key, trigger.ts_ms)
        if self.events is None:
            return
        try:
            event_id = self.events.open(self.camera, trigger, (frame.shape[1], frame.shape[0]))
        except Exception:
            self._stats.errors += 1
            self._log_error("camera %s: the %s event could not be written", self.camera.id, trigger.cls.value)
            return
        self.open[key] = event_id
        self._seen_written[event_id] = trigger.ts_ms
        self._stats.opened += 1
        self.media.start(event_id, frame, trigger.detection, trigger.ts_ms)

    def _end_event(self, key: tuple[VideoClass, int | None], ts_ms: int) -> None:
        event_id = self.open.pop(key, None)
        if event_id is None or self.events is None:
            return
        self._seen_written.pop(event_id, None)
        try:
            if self.events.close(event_id, ts_ms):
                self._stats.closed += 1
        except Exception:
            self._stats.errors += 1
            self._log_error("camera %s: event %d could not be closed", self.camera.id, event_id)

    def _end_all(self, ts_ms: int | None) -> None:
        if not self.open:
            return
        end = ts_ms if ts_ms is not None else clock_now_ms()
        for key in list(self.open):
            self._end_event(key, end)

    def _follow(self, analysis: Analysis, frame: np.ndarray, ts_ms: int) -> None:
        """Each open tracked event's person box at this frame, for its clip (the box follows the person)."""
        if not analysis.ran:
            return
        size = (frame.shape[1], frame.shape[0])
        for d in analysis.detections:
            if d.track is not None and (event_id := self.open.get((d.cls, d.track))) is not None:
                self.media.follow(event_id, Sighting(ts_ms, d.box, size))

    def _refresh_seen(self, analysis: Analysis, ts_ms: int) -> None:
        if self.events is None:
            return
        seen = {(d.cls, d.track) for d in analysis.detections}
        for key, event_id in self.open.items():
            if key in seen and ts_ms - self._seen_written.get(event_id, 0) >= SEEN_EVERY_MS:
                self._seen_written[event_id] = ts_ms
                try:
                    self.events.seen(event_id, ts_ms)
                except Exception:
                    self._log_error("camera %s: event %d: last seen time not written", self.camera.id, event_id)

    def _went_offline(self) -> None:
        self._stats.online = False
        self._stats.offline_times += 1
        ended = len(self.open)
        self._end_all(self._last_frame_ms)
        self.media.flush()
        self.media.ring.clear()
        self.analyzer = self.analyzer_factory(self.camera)
        logger.warning(
            "camera %s offline (%s): %d open detection(s) ended at its last frame; analysis resumes when it is back",
            self.camera.id,
            self.capture.status().error or "no frames",
            ended,
        )

    def _log_error(self, msg: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_EVERY_S:
            self._last_error_log = now
            logger.exception(msg, *args)
        else:
            logger.debug(msg, *args, exc_info=True)
