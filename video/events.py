"""The events stage: confirmed detections (triggers) become ``event`` rows of kind ``video``.

One row per detection, written in its own short transaction when the start trigger comes:

- ``kind`` ``video``, ``source`` the camera id, ``zone`` the camera's zone, ``severity``
  :data:`video.types.CLASS_SEVERITY` of the class, no ``message`` (the screens build the text in the
  reader's language from the camera and class, ``engine.alarm_text``), ``ts_start`` the trigger's frame
  time, ``ts_end`` set by the end trigger (None while the thing is still seen);
- ``data``: ``camera``, ``class``, ``confidence``, ``box`` ([x, y, w, h] frame pixels), ``frame`` ([width,
  height]), ``media`` (``{"snapshot": bool, "thumb": bool, "clip": bool}``, updated as the files are
  written and when retention deletes them) and ``seen_ms`` (the last time the detection was still seen,
  refreshed every :data:`SEEN_EVERY_MS` while it lasts).

The alarm service (``services.alarms``) turns each row into the alarm ``video:<event id>`` with the camera,
zone and class, and returns it when ``ts_end`` is set.

Models refused at start (:class:`video.types.Fallback`: a site's model that does not load or gives a wrong
shape, the person detector or the pose model missing) are events too, of kind ``video_model``
(:data:`FALLBACK_KIND`): ``source`` the camera, ``zone`` its zone, ``severity`` medium, ``data`` the
fallback's fields (``camera``, ``what``, ``class``, ``path``, ``reason``, ``detail``); open while the video
service runs with the fallback, closed when it stops or starts again (:meth:`VideoEvents.record_fallbacks`), or
when the refused model loads on a later try (``video.detect.Analyzer.recheck_models``).
The screens show the open ones as a health warning (``store.video.model_fallbacks``). The alarm service does
not take them (not an alarm kind).

Restart: :meth:`VideoEvents.close_left_open` closes the video events a previous run left open (it stopped
or crashed while something was seen) at their last known time (``seen_ms``, else their start), so no alarm
stands forever on a detection nobody is watching any more; the cameras' pipelines then start afresh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select

from plant.schema import Camera, VideoClass
from store.db import session_scope
from store.events import add_event, close_event, open_events
from store.models import Event
from store.video import FALLBACK_KIND
from video.types import CLASS_SEVERITY, Fallback, Trigger

logger = logging.getLogger(__name__)

KIND = "video"
SEEN_EVERY_MS = 15_000  # how often an open event's ``seen_ms`` is refreshed while its detection lasts
NO_MEDIA: dict[str, bool] = {"snapshot": False, "thumb": False, "clip": False}


def event_data(camera: Camera, trigger: Trigger, frame_size: tuple[int, int]) -> dict[str, Any]:
    """The ``data`` of a new video event (contract in :mod:`video.types`)."""
    det = trigger.detection
    out: dict[str, Any] = {
        "camera": camera.id,
        "class": trigger.cls.value,
        "confidence": round(float(det.confidence), 3) if det is not None else None,
        "box": [int(v) for v in det.box] if det is not None else None,
        "frame": [int(frame_size[0]), int(frame_size[1])],
        "media": dict(NO_MEDIA),
        "seen_ms": int(trigger.ts_ms),
    }
    if trigger.track is not None:
        out["track"] = int(trigger.track)  # one person's stay (its dwell is the event's duration)
    if trigger.cls == VideoClass.MAN_DOWN:
        if det is not None and det.still_s is not None:
            out["value"] = round(float(det.still_s), 1)  # seconds lain still when it started
        if camera.analytics is not None:
            out["limit"] = float(camera.analytics.man_down_s)
    return out


class VideoEvents:
    """Writes the cameras' detections as events (thread-safe: the pipelines and the media writer share one).

    Every method is its own short transaction. Updates of ``data`` (media flags, ``seen_ms``) are
    read-modify-write under one lock, so the media writer and a pipeline never lose each other's change.
    """

    def __init__(self, engine: Engine) -> None:
        self.db = engine
        self._lock = threading.Lock()
        self.opened = 0
        self.closed = 0

    def open(self, camera: Camera, trigger: Trigger, frame_size: tuple[int, int]) -> int:
        """Write the event of a start trigger; its id."""
        if trigger.kind != "start":
            raise ValueError(f"not a start trigger: {trigger.kind!r}")
        with session_scope(self.db) as session:
            event_id = add_event(
                session,
                KIND,
                camera.id,
                int(trigger.ts_ms),
                severity=CLASS_SEVERITY[trigger.cls],
                zone=camera.zone,
                data=event_data(camera, trigger, frame_size),
            )
        self.opened += 1
        det = trigger.detection
        logger.info(
            "camera %s: %s event %d opened (confidence %s)",
            camera.id,
            trigger.cls.value,
            event_id,
            f"{det.confidence:.2f}" if det is not None else "-",
        )
        return event_id

    def close(self, event_id: int, ts_end: int) -> bool:
        """Set the end of an open event (False: it was already closed or is gone)."""
        with self._lock, session_scope(self.db) as session:
            ev = session.get(Event, int(event_id))
            if ev is None or ev.ts_end is not None:
                return False
            data = dict(ev.data or {})
            data["seen_ms"] = max(int(data.get("seen_ms") or 0), int(ts_end))
            ev.data = data
            done = close_event(session, int(event_id), max(int(ts_end), int(ev.ts_start)))
        if done:
            self.closed += 1
            logger.info("video event %d closed", event_id)
        return done

    def _update_data(self, event_id: int, change: dict[str, Any], media: dict[str, bool] | None = None) -> bool:
        with self._lock, session_scope(self.db) as session:
            ev = session.get(Event, int(event_id))
            if ev is None or ev.kind != KIND:
                return False
            data = dict(ev.data or {})
            data.update(change)
            if media is not None:
                data["media"] = {**NO_MEDIA, **(data.get("media") or {}), **media}
            ev.data = data
        return True

    def set_media(self, event_id: int, flags: dict[str, bool]) -> bool:
        """Record which of the event's files exist (``{"snapshot": True, ...}``, merged)."""
        unknown = set(flags) - set(NO_MEDIA)
        if unknown:
            raise ValueError(f"unknown media flag(s): {sorted(unknown)}")
        return self._update_data(event_id, {}, {k: bool(v) for k, v in flags.items()})

    def media_gone(self, event_ids: Iterable[int]) -> int:
        """Record that retention deleted these events' files; how many rows changed."""
        return sum(self._update_data(i, {}, dict(NO_MEDIA)) for i in event_ids)

    def seen(self, event_id: int, ts_ms: int) -> bool:
        """Record that an open event's detection was still seen at ``ts_ms``."""
        return self._update_data(event_id, {"seen_ms": int(ts_ms)})

    def record_fallbacks(self, camera: Camera, fallbacks: Iterable[Fallback], ts_ms: int) -> list[int]:
        """Write a camera's fallbacks as open ``video_model`` events; their ids."""
        out: list[int] = []
        with session_scope(self.db) as session:
            for f in fallbacks:
                out.append(
                    add_event(
                        session,
                        FALLBACK_KIND,
                        camera.id,
                        int(ts_ms),
                        severity="medium",
                        zone=camera.zone,
                        data=f.as_data(),
                    )
                )
        return out

    def close_fallback(self, event_id: int, ts_ms: int) -> bool:
        """End one open ``video_model`` event (its model loads now)."""
        with self._lock, session_scope(self.db) as session:
            return bool(close_event(session, int(event_id), int(ts_ms)))

    def close_fallbacks(self, ts_ms: int) -> int:
        """End every open ``video_model`` event (the service stops, or starts again and checks anew)."""
        n = 0
        with self._lock, session_scope(self.db) as session:
            for ev in open_events(session, FALLBACK_KIND):
                n += close_event(session, ev.id, max(int(ts_ms), int(ev.ts_start)))
        return n

    def close_left_open(self, sources: Iterable[str] | None = None) -> list[int]:
        """Close the video events (of cameras ``sources``, default all) that a previous run left open, at
        their last known time; their ids."""
        wanted = None if sources is None else set(sources)
        closed: list[int] = []
        with self._lock, session_scope(self.db) as session:
            for ev in open_events(session, KIND):
                if wanted is not None and ev.source not in wanted:
                    continue
                data = ev.data or {}
                seen = data.get("seen_ms")
                end = max(int(ev.ts_start), int(seen) if isinstance(seen, int | float) else 0)
                if close_event(session, ev.id, end):
                    closed.append(int(ev.id))
        if closed:
            self.closed += len(closed)
            logger.info("closed %d video event(s) left open by a previous run: %s", len(closed), closed[:20])
        return closed


def video_event(engine: Engine, event_id: int) -> Event | None:
    """A video event by id (None: no such event, or not a video one)."""
    with session_scope(engine) as session:
        ev = session.scalar(select(Event).where(Event.id == int(event_id), Event.kind == KIND))
        if ev is not None:
            session.expunge(ev)
        return ev
