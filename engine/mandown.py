"""One man-down, two sources: a badge's man-down (personnel rules) and a camera's (video analytics) joined.

When a badge's ``man_down`` alarm and a camera's ``man_down`` alarm are of the same place and time, the alarm
engine links them (:meth:`engine.alarms.AlarmEngine.event_open`), so a dispatcher sees one incident
confirmed by two sources rather than two unrelated alarms:

- **place**: the badge's position (the violation's ``x``, ``y``) is inside the camera's view cone (yaw, field
  of view, range: :func:`camera_sees`); a violation without a position counts when its nearest camera is
  that camera or, failing that, when its zone is the camera's zone;
- **time**: the other alarm was raised no more than :data:`JOIN_S` seconds after the new one's start and is
  still active or returned no more than :data:`JOIN_S` seconds before it (a badge's man-down comes after its
  ``man_down_s`` of no movement, 60 s by default; a camera's after ``man_down_s`` of lying still, 10 s).

The badge's alarm then keeps ``data["video_alarm"]``, ``data["video_event"]`` and ``data["seen_by"]`` (the
camera), the camera's ``data["badge"]`` and ``data["badge_alarm"]``; each alarm is linked to one of the
other kind. When several of the other kind fit, the view's geometry picks (:func:`view_mismatch`): the
camera's alarm knows where in its picture the person lies (the box's centre across the frame's width), the
badge's position gives where in that picture it would be seen (a pinhole camera at the camera's position,
yaw and horizontal field of view), and the pair whose two agree best is linked (a badge without a position:
last; ties by alarm id). ``engine.alarm_text`` adds the link to each one's text ("also
seen on camera X", "also a badge man-down: B"; names only for readers allowed them). Limits: two people
down in one camera's view at the same bearing (one behind the other) are told apart by neither; a badge's
position is as good as its positioning (1-3 m), so two people lying side by side at a distance may be
swapped; an alarm already over and acknowledged is no longer in the engine and is not linked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from plant.schema import Camera

MAN_DOWN = "man_down"
JOIN_S = 60.0


def camera_sees(camera: Camera, x: float, y: float) -> bool:
    """Whether the point (plant metres) is in the camera's view cone: within its range and half its field of
    view of its yaw (the same cone as ``engine.personnel.RulesEngine.nearest_camera``)."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    dx, dy = x - camera.position[0], y - camera.position[1]
    dist = math.hypot(dx, dy)
    if dist > camera.range_m:
        return False
    if dist < 1e-6:
        return True
    off = abs((math.atan2(dy, dx) - math.radians(camera.yaw_deg) + math.pi) % (2 * math.pi) - math.pi)
    return off <= math.radians(camera.fov_deg) / 2


def badge_place(data: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """The position a man-down violation's data gives (``x``, ``y``), or None."""
    if not isinstance(data, Mapping):
        return None
    x, y = data.get("x"), data.get("y")
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        return float(x), float(y)  # type: ignore[arg-type]
    return None


def same_place(camera: Camera, at: tuple[float, float] | None, near_camera: str | None, zone: str | None) -> bool:
    """Whether a badge's man-down (its position, else its nearest camera or zone) is in ``camera``'s view."""
    if at is not None:
        return camera_sees(camera, *at)
    if near_camera is not None:
        return near_camera == camera.id
    return zone is not None and zone == camera.zone


def same_time(other_start: int, other_end: int | None, ts: int, join_s: float = JOIN_S) -> bool:
    """Whether an alarm raised at ``other_start`` (returned at ``other_end``, None: still active) is within
    ``join_s`` of a new one raised at ``ts``."""
    join = round(join_s * 1000)
    return other_start - join <= ts and (other_end is None or ts <= other_end + join)


def image_x(camera: Camera, x: float, y: float) -> float | None:
    """Where across the camera's picture (0 left edge, 1 right edge) a point of the plant (metres) is seen,
    for a pinhole camera looking along its yaw with its horizontal field of view; None behind it."""
    dx, dy = x - camera.position[0], y - camera.position[1]
    yaw = math.radians(camera.yaw_deg)
    ahead = dx * math.cos(yaw) + dy * math.sin(yaw)
    right = dx * math.sin(yaw) - dy * math.cos(yaw)  # the forward direction turned clockwise
    if ahead <= 1e-6:
        return None
    return 0.5 + 0.5 * (right / ahead) / math.tan(math.radians(camera.fov_deg) / 2)


def box_x(data: Mapping[str, Any] | None) -> float | None:
    """Where across its picture (0-1) a camera's detection lies: its box's centre over the frame's width."""
    if not isinstance(data, Mapping):
        return None
    box, frame = data.get("box"), data.get("frame")
    try:
        return (float(box[0]) + float(box[2]) / 2) / float(frame[0])  # type: ignore[index]
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return None


def view_mismatch(camera: Camera, at: tuple[float, float] | None, seen_x: float | None) -> float:
    """How far apart (share of the picture's width) the badge's position would be seen and where the camera
    saw the person: 0 is the same place; 1.0 when unknown (no box), 2.0 without a position or behind it."""
    if at is None:
        return 2.0
    expect = image_x(camera, *at)
    if expect is None:
        return 2.0
    if seen_x is None:
        return 1.0
    return min(1.0, abs(expect - seen_x))
