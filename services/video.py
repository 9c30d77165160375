"""The video service: every analysed camera of the plant through its pipeline, and media retention.

    VideoService(plant, engine, media_root=...).step(now_ms)   # what ``python -m services`` runs every 5 s

The plant's cameras with ``analytics`` each get a :class:`video.pipeline.CameraPipeline` (its own thread:
capture -> motion -> detect -> events -> media); cameras without analytics are live view only (the web
app's relay). Sources come from :func:`video.capture.camera_source`: the camera's ``source``, else the demo
simulator's stream on ``SW_SIM_HOST`` and ``SW_CAMERA_PORT``.

The first step closes the video events a previous run left open (:meth:`VideoEvents.close_left_open`) and
starts the pipelines. Every step restarts a pipeline whose thread died and, every ``retention_every_s``
(5 minutes), applies the media retention (``SW_MEDIA_DAYS``, ``SW_MEDIA_GB``;
:func:`video.media.apply_retention`), marking the deleted events' media as gone. Every minute it logs each
camera's analysed frame rate, detector runs and events.

Stopping: :meth:`VideoService.close` stops the pipelines (their open events end at the last frame) and
writes the clips in progress. A process that dies instead leaves events open; the next start closes them.

One writer per media directory: the service holds an exclusive ``flock`` on ``<media_root>/.video.lock``;
a second one (a second ``python -m services`` on the same machine) stands by, step after step, and takes
over when the first goes away, so no detection is written twice.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

try:
    import fcntl
except ImportError:  # not on Windows: no guard there
    fcntl = None  # type: ignore[assignment]

from engine.clock import now_ms
from plant.schema import Camera, Plant
from video.capture import camera_source
from video.events import VideoEvents
from video.media import MediaWriter, RetentionReport, apply_retention
from video.pipeline import AnalyzerFactory, CameraPipeline, PipelineStats
from video.types import Fallback

logger = logging.getLogger(__name__)

NAME = "video"
RETENTION_EVERY_S = 300.0
LOG_EVERY_S = 60.0
LOCK_FILE = ".video.lock"


def default_analyzer_factory() -> AnalyzerFactory:
    """``video.detect.Analyzer`` (imported when the service starts)."""
    from video.detect import Analyzer

    return Analyzer  # type: ignore[return-value]


class VideoService:
    name = NAME
    interval_s = 5.0

    def __init__(
        self,
        plant: Plant,
        engine: Engine,
        *,
        media_root: Path,
        media_days: float = 30.0,
        media_gb: float = 5.0,
        analyzer_factory: AnalyzerFactory | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        retention_every_s: float = RETENTION_EVERY_S,
        pipeline_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.plant = plant
        self.db = engine
        self.media_root = Path(media_root)
        self.media_days = media_days
        self.media_gb = media_gb
        self.analyzer_factory = analyzer_factory
        self.host = host
        self.port = port
        self.retention_every_s = retention_every_s
        self.pipeline_kwargs = dict(pipeline_kwargs or {})
        self.cameras: list[Camera] = [c for c in plant.cameras if c.analytics is not None]
        self.events = VideoEvents(engine)
        self.writer = MediaWriter(self.media_root, self.events.set_media)
        self.pipelines: dict[str, CameraPipeline] = {}
        self.last_retention: RetentionReport | None = None
        self.restored_closed: list[int] = []
        self._started = False
        self._next_retention = 0.0
        self._next_log = 0.0
        self._logged: dict[str, tuple[int, int, float]] = {}
        self._lock_fd: int | None = None
        self._standing_by = False
        self._fallback_events: dict[str, list[tuple[Fallback, int]]] = {}  # camera -> its open video_model events

    # -- the service protocol -----------------------------------------------------------------------

    def step(self, now_ms: int) -> None:
        if not self._started:
            if not self._take_lock():
                return
            self._start(now_ms)
        for cid, p in list(self.pipelines.items()):
            if not p.running:
                logger.error("camera %s: pipeline thread ended; restarting it", cid)
                p.stop()
                self.pipelines[cid] = self._pipeline(p.camera).start()
        self._close_loaded(now_ms)
        mono = time.monotonic()
        if mono >= self._next_retention:
            self._next_retention = mono + self.retention_every_s
            self.retention()
        if mono >= self._next_log:
            self._next_log = mono + LOG_EVERY_S
            self._log_stats()

    def close(self) -> None:
        """Stop every pipeline and write the media in progress."""
        for p in self.pipelines.values():
            p.stop()
        self.writer.close()
        if self._started:
            try:
                self.events.close_fallbacks(now_ms())
            except Exception:
                logger.exception("video: the models' fallback warnings were not closed")
        self._started = False
        self._fallback_events = {}
        self.pipelines = {}
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    # -- what others see --------------------------------------------------------------------------------

    def stats(self) -> dict[str, PipelineStats]:
        return {cid: p.stats() for cid, p in self.pipelines.items()}

    def retention(self) -> RetentionReport:
        """Apply the media retention now; the deleted events' ``data["media"]`` become all false."""
        report = apply_retention(self.media_root, days=self.media_days, max_gb=self.media_gb, keep=self.writer.busy())
        if report.deleted:
            try:
                self.events.media_gone(report.deleted)
            except Exception:
                logger.exception("media retention: the deleted events' media flags were not updated")
        self.last_retention = report
        return report

    # -- internals -------------------------------------------------------------------------------------

    def _take_lock(self) -> bool:
        """Whether this service may run (it holds the media directory's lock, or there is no ``flock``)."""
        if fcntl is None or self._lock_fd is not None:
            return True
        self.media_root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.media_root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            if not self._standing_by:
                logger.warning("video: another video service writes to %s; standing by", self.media_root)
                self._standing_by = True
            return False
        self._lock_fd = fd
        if self._standing_by:
            logger.info("video: the other video service is gone; taking over")
            self._standing_by = False
        return True

    def _start(self, now: int) -> None:
        self.restored_closed = self.events.close_left_open()
        self.events.close_fallbacks(now)  # a previous run's: checked anew below
        if self.cameras and self.analyzer_factory is None:
            self.analyzer_factory = default_analyzer_factory()
        self.media_root.mkdir(parents=True, exist_ok=True)
        self.writer.start()
        for camera in self.cameras:
            self.pipelines[camera.id] = p = self._pipeline(camera).start()
            fallbacks = list(getattr(p.analyzer, "fallbacks", []))
            if fallbacks:  # shown as a health warning on the screens
                ids = self.events.record_fallbacks(camera, fallbacks, now)
                self._fallback_events[camera.id] = list(zip(fallbacks, ids, strict=True))
        self._started = True
        logger.info(
            "video: %d analysed camera(s) %s; media in %s (%g days, %g GB)",
            len(self.cameras),
            [c.id for c in self.cameras],
            self.media_root,
            self.media_days,
            self.media_gb,
        )

    def _close_loaded(self, now: int) -> None:
        """Close the ``video_model`` events of the refused models that load now (the analyser tries them again
        when their file changes, ``video.detect.Analyzer.recheck_models``)."""
        for cid, recorded in list(self._fallback_events.items()):
            p = self.pipelines.get(cid)
            if p is None:
                continue
            recheck = getattr(p.analyzer, "recheck_models", None)
            if callable(recheck):  # also while the camera sends no frames (its analyser then waits)
                recheck(now)
            current = list(getattr(p.analyzer, "fallbacks", []))
            keep = []
            for fb, event_id in recorded:
                if fb in current:
                    keep.append((fb, event_id))
                elif self.events.close_fallback(event_id, now):
                    logger.info("camera %s: the %s model loads now; its refusal is over", cid, fb.cls)
            self._fallback_events[cid] = keep

    def _pipeline(self, camera: Camera) -> CameraPipeline:
        assert self.analyzer_factory is not None
        source = camera_source(camera, self.host, self.port)
        return CameraPipeline(camera, source, self.analyzer_factory, self.events, self.writer, **self.pipeline_kwargs)

    def _log_stats(self) -> None:
        now = time.monotonic()
        for cid, s in self.stats().items():
            analysed, ran, at = self._logged.get(cid, (0, 0, now))
            span = now - at
            if span > 0:
                logger.info(
                    "camera %s: %s, %.2f analysed frames/s, detectors on %d of %d, %d event(s), "
                    "ring %d frames %.0f kB, %d people and %d vehicles in view",
                    cid,
                    "online" if s.online else "offline",
                    (s.analysed - analysed) / span,
                    s.ran - ran,
                    s.analysed - analysed,
                    s.opened,
                    s.ring_frames,
                    s.ring_bytes / 1000,
                    s.people,
                    s.vehicles,
                )
            self._logged[cid] = (s.analysed, s.ran, now)


def make_service(plant: Plant, engine: Engine, settings: Any) -> VideoService:
    """Factory for ``python -m services`` (``FACTORIES["video"]``)."""
    return VideoService(
        plant,
        engine,
        media_root=settings.media_path,
        media_days=settings.media_days,
        media_gb=settings.media_gb,
        host=settings.sim_host,
    )
