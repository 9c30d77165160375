"""What the video pipeline's stages hand each other (capture -> motion -> detect -> events -> media).

- :class:`Detection` - one thing a detector found in one frame: class, confidence, box in frame pixels;
- :class:`Trigger` - a detection confirmed (``start``: enough consecutive frames, outside its cool-down)
  or over (``end``: not seen for a while); the events stage turns triggers into ``event`` rows and media;
- :class:`Analysis` - what :meth:`video.detect.Analyzer.process` returns for one frame.

The event rows written for detections (kind ``video``) carry in ``data``: ``camera``, ``class``,
``confidence``, ``box`` ([x, y, w, h] in frame pixels), ``frame`` ([width, height]) and ``media``
(``{"snapshot": bool, "thumb": bool, "clip": bool}``, what exists under ``var/media``), and for a
tracked person's stay ``track`` (the person's track id on that camera; the event's duration is the dwell); a
``man_down`` event also ``value`` (seconds the person had lain still when it started) and ``limit``
(``analytics.man_down_s``). The alarm
service turns each into the alarm ``video:<event id>`` (source type ``video``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from plant.schema import VideoClass

Box = tuple[int, int, int, int]  # x, y, width, height in frame pixels

# An event's severity per class (the alarm priority it becomes, engine.alarms.event_priority).
CLASS_SEVERITY: dict[VideoClass, str] = {
    VideoClass.FLAME: "urgent",
    VideoClass.INTRUSION: "high",
    VideoClass.SMOKE: "high",
    VideoClass.SPILL: "high",
    VideoClass.NO_HARDHAT: "medium",
    VideoClass.MAN_DOWN: "urgent",
}


# Why a camera's analyser runs on a fallback (:class:`Fallback` ``what``).
SITE_MODEL = "site_model"  # a site's own model (analytics.models) refused: the class's rules run instead
PERSON_MODEL = "person_model"  # the trained person detector missing: people by the hi-vis colour rules
POSE_MODEL = "pose_model"  # the pose model missing: no hard-hat check by pose, no man-down
NEEDS_PERSON_MODEL = "needs_person_model"  # a class that needs the trained people (man_down) is not run
FALLBACKS: tuple[str, ...] = (SITE_MODEL, PERSON_MODEL, POSE_MODEL, NEEDS_PERSON_MODEL)
# Why a model was refused (:class:`Fallback` ``reason``).
REASONS: tuple[str, ...] = ("missing", "load", "run", "shape", "other")


@dataclass(frozen=True, slots=True)
class Fallback:
    """A camera's analyser started without one of its models (shown as a health warning, ``video.events``)."""

    camera: str
    what: str  # one of FALLBACKS
    cls: VideoClass | None = None  # the class concerned (a site model's, man_down)
    path: str | None = None  # the model file, as the plant file names it
    reason: str = "other"  # one of REASONS
    detail: str = ""  # the error as OpenCV or the loader said it (English, technical)

    def as_data(self) -> dict[str, str | None]:
        return {
            "camera": self.camera,
            "what": self.what,
            "class": self.cls.value if self.cls is not None else None,
            "path": self.path,
            "reason": self.reason,
            "detail": self.detail[:300],
        }


@dataclass(frozen=True, slots=True)
class Detection:
    cls: VideoClass
    confidence: float  # 0..1
    box: Box
    track: int | None = None  # the person's track id, when people are tracked (video.track)
    still_s: float | None = None  # man_down: how long the person has lain still


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: Literal["start", "end"]
    cls: VideoClass
    ts_ms: int  # the frame's time (capture wall clock, epoch milliseconds)
    detection: Detection | None = None  # the confirming detection (start), the last one seen (end)
    track: int | None = None  # one person's stay (tracked classes); None: the class as a whole
    seen_ms: int | None = None  # end: when it was last seen (the event's end)


@dataclass(slots=True)
class Analysis:
    ts_ms: int
    motion: bool  # something moved (the gate)
    ran: bool  # the detectors ran on this frame (False: gated, the previous detections stand)
    detections: list[Detection] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    people: int = 0  # people in view at the last analysed frame (counting)
    vehicles: int = 0  # vehicles in view (found by the trained detector only)
