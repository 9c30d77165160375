"""Detection: what is in a camera's frame (intrusion, flame, smoke, missing hard hat, spill), debounced.

:class:`Analyzer` is one camera's detection stage. ``process(frame, ts_ms)`` runs the motion gate
(:mod:`video.motion`); the detectors run only when something moved, or on a keyframe every
``keyframe_s`` seconds (so a thing that appeared and stopped moving, a spill that stopped spreading, is
still confirmed); on a gated frame the previous detections stand. Each class is then debounced
(:class:`ClassParams`): a ``start`` :class:`~video.types.Trigger` after ``min_frames`` consecutive analysed
frames with a detection of at least ``min_confidence`` and not within ``cooldown_s`` of the class's
previous start; an ``end`` trigger once it has not been seen for ``end_after_s`` (short gaps, a flame
flickering out for a frame, do not end it).

People (intrusion, hard hats, counting) are found by the trained SSD-MobileNet COCO detector
(:mod:`video.models`) on real cameras; the colour rules below remain for the demo's rendered cameras,
whose cartoon people a trained detector does not see (``analytics.people``; README, "models used").
With the model, a person is its box: the foot point is the box's bottom centre, the head is the top
of the box; the hard-hat check reads the colour of the head placed by the pose, :mod:`video.pose`), and
vehicles are counted; where ``analytics.vehicles_forbidden`` is set, a vehicle whose bottom centre is inside
a restricted polygon is an intrusion too (tracked like people: one event per vehicle's stay).

The other detectors are rule-based classical image analysis (OpenCV colour spaces, morphology, connected
components), nothing downloaded and no trained model. They were tuned on the simulator's rendered demo
cameras (``simulator.cameras``, ``simulator.video_scenes``) and measured there (``python -m bench
video``); on a real camera each would need what the notes below say.

- **People by colour** (the demo's rendered cameras): blobs of high-visibility orange shaped like an upright body
  (second moments: axis within ~35 degrees of vertical, 1.8-4.6 times longer than wide, filled like an
  ellipse) with a head at the top of that axis (skin or hard-hat colours). Every demo person wears hi-vis,
  as smelter rules require; two people overlapping make one blob and are missed, and an orange vehicle is
  too wide. A real camera would need a person detector that does not rely on the vest (OpenCV's HOG
  people detector for people over ~128 px, or a trained model), and tracking.
- **Intrusion**: a person whose foot point (bottom centre) is inside a restricted polygon of the camera
  (``analytics.restricted``, fractions of the picture turned into pixels of the actual frame size).
- **No hard hat**: a person tall enough for the head to be judged (``min_head_px``) whose face is visible
  and whose top of the head shows no saturated colour (yellow, orange, red, blue, green hard hats). A
  white hat is not told from a pale bare head by colour alone and would be flagged; real cameras need a
  head classifier (hoods, caps and unusual helmets defeat colour rules).
- **Flame**: a region of fire colours with red at its edge and a near-white core, in place and flickering
  between analysed frames (a hi-vis vest or an orange vehicle has neither the core, the red edge nor the
  flicker). Real cameras: hot metal, sparks and sodium lamps look alike; a real deployment uses a thermal
  camera or a trained model and a longer confirmation.
- **Smoke**: a large, soft (low gradient), low-saturation grey region brighter than the dark floor. Real
  cameras: fog, steam and dust are grey too; compare against a long-term background and check drift.
- **Spill**: a well-filled blue-green region (copper-sulphate electrolyte) on the floor. Real cameras: the
  colour of the liquid and the floor are site-specific; a spill of dark liquid needs a background model.
- **Man down** (the model's people only: it needs the pose): a tracked person whose torso lies (more than
  60 degrees off vertical, :func:`video.pose.lying`) and whose box barely moves (:func:`still`: its centre
  within :data:`STILL_STEP` of its longer side of where it lay down, its size within :data:`STILL_SIZE`) for
  ``analytics.man_down_s`` seconds (default 10). A frame whose pose is unsure (shoulders or hips not seen)
  neither starts nor breaks the count; a frame where the person stands or sits up, or moves, starts it
  again. A still person makes no motion, so the detectors run on keyframes (every ``keyframe_s``): the event
  starts up to ``keyframe_s`` after ``man_down_s``. The SSD misses most lying people and MoveNet is unsure
  of them, so on such a camera a lying pass (:func:`find_lying_people`, once every ``keyframe_s``: two
  more SSD passes) looks for people upright in the frame turned a quarter both ways. Limits: MoveNet's
  keypoints on a person lying along the
  camera's axis (feet towards it) are foreshortened and often unsure; a person hidden behind equipment or
  under ~64 px (longer side, at 720 lines) is not judged; someone lying down on purpose (a mechanic under a
  machine) is a man-down to it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from plant.schema import Camera, VideoClass
from video.motion import Motion, MotionDetector, MotionParams
from video.plugins import PluginError, SiteModel
from video.track import IouTracker, iou
from video.types import (
    NEEDS_PERSON_MODEL,
    PERSON_MODEL,
    POSE_MODEL,
    SITE_MODEL,
    Analysis,
    Box,
    Detection,
    Fallback,
    Trigger,
)

logger = logging.getLogger(__name__)

WORK_WIDTH = 640  # the detectors look at a copy this wide (people's heads: at full resolution)
MIN_PERSON_PX = 28  # at 720 lines
MIN_HEAD_PX = 64  # at 720 lines
PERSON_SCORE = 0.5  # the SSD's score from which a box is a person
VEHICLE_SCORE = 0.45
VEHICLE_TRACKS = 1_000_000  # vehicles' track ids start here (people's below)
KEYFRAME_S = 3.0
STILL_STEP = 0.2  # man-down: the box's centre moved less than this share of its longer side ...
STILL_SIZE = 0.35  # ... and its width and height changed less than this share of it
SURE_TORSO = 0.5  # lying pass: the shoulders' and hips' keypoint scores in the turned frame at least this


@dataclass(frozen=True, slots=True)
class ClassParams:
    min_confidence: float = 0.5
    min_frames: int = 2  # consecutive analysed frames with a detection before a start
    cooldown_s: float = 15.0  # no new start of the class this long after its previous start
    end_after_s: float = 4.0  # the class ends when not seen for this long


DEFAULT_CLASS_PARAMS: dict[VideoClass, ClassParams] = {
    VideoClass.INTRUSION: ClassParams(0.5, 2, 10.0, 3.0),
    VideoClass.FLAME: ClassParams(0.5, 2, 20.0, 4.0),
    VideoClass.SMOKE: ClassParams(0.5, 3, 20.0, 5.0),
    VideoClass.NO_HARDHAT: ClassParams(0.5, 2, 15.0, 4.0),
    VideoClass.SPILL: ClassParams(0.5, 2, 20.0, 6.0),
    # man-down: one frame suffices (the lying-still time is the confirmation); per person, like intrusion
    VideoClass.MAN_DOWN: ClassParams(0.5, 1, 30.0, 5.0),
}


@dataclass(frozen=True, slots=True)
class DetectParams:
    classes: dict[VideoClass, ClassParams] = field(default_factory=lambda: dict(DEFAULT_CLASS_PARAMS))
    keyframe_s: float = KEYFRAME_S  # detectors run at least this often even without motion
    motion: MotionParams = field(default_factory=MotionParams)
    min_person_px: int = MIN_PERSON_PX  # at 720 lines, scaled to the frame
    min_head_px: int = MIN_HEAD_PX
    person_score: float = PERSON_SCORE


@dataclass(slots=True)
class Person:
    box: Box  # frame pixels, head included
    foot: tuple[float, float]  # frame pixels
    tall: float  # frame pixels
    face: float  # skin share of the lower head
    hat: float  # hard-hat colour share of the top of the head
    score: float = 1.0  # the detector's confidence (1.0: the colour rules)
    track: int | None = None  # the person's track id (the model's people, video.track)
    head: Box | None = None  # from the pose's face keypoints (the model's people, video.pose)
    lying: bool | None = None  # the torso more than 60 degrees off vertical (None: unsure or no pose)


class _Work:
    """One frame prepared once for every detector: the work copy, its HSV, the scale back to the frame."""

    def __init__(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        self.frame = frame
        self.size = (w, h)
        ww = min(WORK_WIDTH, w)
        wh = max(1, round(h * ww / w))
        self.small = cv2.resize(frame, (ww, wh), interpolation=cv2.INTER_AREA) if ww != w else frame
        self.hsv = cv2.cvtColor(self.small, cv2.COLOR_BGR2HSV)
        self.scale = w / ww  # frame pixels per work pixel
        self.top = max(2, round(wh / 18) + 2)  # below the name/clock banner
        self._persons: list[Person] | None = None
        self.vehicles: list[tuple[Box, float]] = []  # the trained detector's vehicles: box, score

    def to_frame(self, x: int, y: int, bw: int, bh: int) -> Box:
        s = self.scale
        return round(x * s), round(y * s), round(bw * s), round(bh * s)


def _in_range(hsv: np.ndarray, lo: tuple[int, int, int], hi: tuple[int, int, int]) -> np.ndarray:
    return cv2.inRange(hsv, np.array(lo, np.uint8), np.array(hi, np.uint8))


_K2 = np.ones((2, 2), np.uint8)
_K3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_K5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
_K15 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))


def find_people(work: _Work) -> list[Person]:
    """Hi-vis people: orange blobs with a person's proportions and a head above (see the module notes)."""
    if work._persons is not None:
        return work._persons
    hsv = work.hsv
    vest = _in_range(hsv, (8, 140, 140), (22, 255, 255))
    vest[: work.top] = 0
    vest = cv2.morphologyEx(vest, cv2.MORPH_OPEN, _K2)
    n, labels, stats, cents = cv2.connectedComponentsWithStats(vest, connectivity=8)
    out: list[Person] = []
    fh, fw = work.frame.shape[:2]
    s = work.scale
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if bh < 5 or bw < 3 or area < 12:
            continue
        # The body's axis from the blob's second moments (people lean off the picture's centre).
        m = cv2.moments((labels[y : y + bh, x : x + bw] == i).astype(np.uint8), binaryImage=True)
        mu20, mu02, mu11 = m["mu20"] / area, m["mu02"] / area, m["mu11"] / area
        root = math.sqrt(max(0.0, ((mu20 - mu02) / 2) ** 2 + mu11**2))
        major, minor = 2 * math.sqrt((mu20 + mu02) / 2 + root), 2 * math.sqrt(max(1e-6, (mu20 + mu02) / 2 - root))
        theta = 0.5 * math.atan2(2 * mu11, mu20 - mu02)
        dx, dy = math.cos(theta), math.sin(theta)
        if dy > 0:
            dx, dy = -dx, -dy  # pointing up
        if not (1.8 <= major / minor <= 4.6) or abs(dx) > 0.55 or area < 0.92 * math.pi * major * minor:
            continue  # not an upright, well-filled body (vehicles, lines, two people merged)
        tall = major / 0.4 * s  # the body is the lower 80 % of a person
        cx, cy = (float(cents[i][0]) + 0.5) * s, (float(cents[i][1]) + 0.5) * s
        foot = (cx - dx * major * s, cy - dy * major * s)
        hcx, hcy = cx + dx * 0.5 * tall, cy + dy * 0.5 * tall  # the head's centre
        r = 0.11 * tall * 1.2
        hx0, hx1, hy0, hy1 = round(hcx - r), round(hcx + r) + 1, round(hcy - r), round(hcy + r) + 1
        if hx0 < 0 or hy0 < 0 or hx1 > fw or hy1 > fh or hy1 - hy0 < 3:
            continue
        head = cv2.cvtColor(work.frame[hy0:hy1, hx0:hx1], cv2.COLOR_BGR2HSV)
        mid = round(hcy) - hy0
        upper, lower = head[: max(1, round(mid * 0.8))], head[mid:]  # the top of the head, the face
        skin = _in_range(lower, (0, 0, 150), (179, 100, 255))
        face = float(np.count_nonzero(skin)) / max(1, skin.size)
        colour = _in_range(upper, (0, 100, 140), (179, 255, 255))
        hat = float(np.count_nonzero(colour)) / max(1, colour.size)
        if face < 0.12 and hat < 0.1:
            continue  # nothing like a head above: not a person
        bx0, bx1 = min(hx0, round(x * s)), max(hx1, round((x + bw) * s))
        pbox = (bx0, hy0, bx1 - bx0, max(hy1, round((y + bh) * s)) - hy0)
        out.append(Person(pbox, foot, tall, face, hat))
    work._persons = out
    return out


def head_colours(frame: np.ndarray, head: Box) -> tuple[float, float]:
    """(face, hat) of a head box: the skin share of its lower part and the saturated-colour share of its top
    (above the eyes)."""
    x, y, w, h = head
    fh, fw = frame.shape[:2]
    x0, x1, y0, y1 = max(0, x), min(fw, x + w), max(0, y), min(fh, y + h)
    if x1 - x0 < 2 or y1 - y0 < 4:
        return 0.0, 0.0
    hsv = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2HSV)
    n = hsv.shape[0]
    skin = _in_range(hsv[round(n * 0.55) :], (0, 0, 150), (179, 100, 255))
    colour = _in_range(hsv[: max(1, round(n * 0.4))], (0, 100, 140), (179, 255, 255))
    return float(np.count_nonzero(skin)) / max(1, skin.size), float(np.count_nonzero(colour)) / max(1, colour.size)


def find_people_model(work: _Work, min_score: float, pose_min_px: float | None = None) -> list[Person]:
    """People (and vehicles, kept on the work) by the trained SSD (:mod:`video.models`); with
    ``pose_min_px``, people at least that tall get their pose (:mod:`video.pose`): the head region for the
    hard-hat check and whether they lie."""
    if work._persons is not None:
        return work._persons
    from video.models import shared_ssd

    pose = None
    if pose_min_px is not None:
        from video.pose import shared_pose

        pose = shared_pose()
    out: list[Person] = []
    for f in shared_ssd().detect(work.frame):
        if f.vehicle and f.score >= VEHICLE_SCORE:
            # the same box is often both "car" and "truck": keep the better
            same = [i for i, (b, _) in enumerate(work.vehicles) if iou(b, f.box) > 0.7]
            if not same:
                work.vehicles.append((f.box, f.score))
            elif f.score > work.vehicles[same[0]][1]:
                work.vehicles[same[0]] = (f.box, f.score)
        if not f.person or f.score < min_score:
            continue
        x, y, w, h = f.box
        p = Person(f.box, (x + w / 2, float(y + h)), float(h), 0.0, 0.0, f.score)
        if pose is not None and pose_min_px is not None and max(w, h) >= pose_min_px:  # a lying person is wide
            from video.pose import head_box, lying

            kp = pose.keypoints(work.frame, f.box)
            head = head_box(kp)
            p.head = head
            p.lying = lying(kp)
            if head is not None:
                p.face, p.hat = head_colours(work.frame, head)
        out.append(p)
    work._persons = out
    return out


def rotated_box(box: Box, size: tuple[int, int], clockwise: bool) -> Box:
    """A box found in the frame turned a quarter (``cv2.ROTATE_90_CLOCKWISE`` when ``clockwise``), in
    pixels of the frame as it is (``size``: its width and height)."""
    x, y, bw, bh = box
    w, h = size
    if clockwise:  # turned (x', y') is the frame's (y', h - x')
        return y, h - x - bw, bh, bw
    return w - y - bh, x, bh, bw  # turned (x', y') is the frame's (w - y', x')


def find_lying_people(work: _Work, min_score: float, min_px: float, people: list[Person]) -> list[Person]:
    """People lying, which the SSD trained on upright people misses: the frame turned a quarter both ways
    through the SSD, and a person found there taller than wide whose pose is surely upright in the turned
    frame (shoulders and hips scored :data:`SURE_TORSO` or more, torso within 60 degrees of vertical) lies
    in the frame as it is (MoveNet, trained on upright people, is far surer of them than of lying ones).
    Their boxes are turned back and replace the people of
    the upright pass they overlap (IoU > 0.3: the same person, found in part or judged by an unsure pose).
    Returns the people added."""
    from video.models import shared_ssd
    from video.pose import TORSO, lying, shared_pose

    ssd, pose = shared_ssd(), shared_pose()
    added: list[Person] = []
    for clockwise, code in ((True, cv2.ROTATE_90_CLOCKWISE), (False, cv2.ROTATE_90_COUNTERCLOCKWISE)):
        turned = cv2.rotate(work.frame, code)
        for f in ssd.detect(turned, min_score):
            if not f.person or f.box[3] < min_px or f.box[3] < f.box[2]:
                continue  # small, or wider than tall once turned: not a person lying in the frame
            kp = pose.keypoints(turned, f.box)
            if min(float(kp[i, 2]) for i in TORSO) < SURE_TORSO or lying(kp) is not False:
                continue  # not surely upright once turned: not a lying person
            box = rotated_box(f.box, work.size, clockwise)
            if any(iou(p.box, box) > 0.3 for p in added):
                continue  # found both ways
            # The upright pass's box of the same person (often only part of them) and its pose (unsure or
            # wrong on a lying person, MoveNet being trained on upright ones) give way to these.
            people[:] = [p for p in people if iou(p.box, box) <= 0.3]
            x, y, w, h = box
            added.append(Person(box, (x + w / 2, float(y + h)), float(h), 0.0, 0.0, f.score, lying=True))
    people.extend(added)
    return added


def detect_intrusion(people: list[Person], polygons: list[np.ndarray], min_person_px: float) -> list[Detection]:
    out = []
    for p in people:
        if p.tall < min_person_px:
            continue
        depth = max((cv2.pointPolygonTest(poly, p.foot, True) for poly in polygons), default=-1.0)
        if depth <= 0:
            continue
        conf = p.score * (0.6 + 0.4 * min(1.0, depth / max(1.0, 0.2 * p.tall)))
        out.append(Detection(VideoClass.INTRUSION, round(conf, 3), p.box, p.track))
    return out


def still(a: Box, b: Box) -> bool:
    """Whether box ``b`` is where ``a`` was: centre and size within a share of the longer side."""
    side = max(a[2], a[3], b[2], b[3], 1)
    step = math.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2) / side
    return step <= STILL_STEP and max(abs(a[2] - b[2]), abs(a[3] - b[3])) / side <= STILL_SIZE


@dataclass(slots=True)
class _Down:
    anchor: Box  # where the person lay down (the box then)
    since_ms: int  # lying still since


class ManDownWatch:
    """Per tracked person: since when they have lain still (see the module notes, "Man down")."""

    def __init__(self, man_down_s: float) -> None:
        self.limit_ms = round(man_down_s * 1000)
        self.down: dict[int, _Down] = {}

    def update(self, people: list[Person], ts_ms: int, live_tracks: set[int]) -> list[Detection]:
        out: list[Detection] = []
        for p in people:
            if p.track is None:
                continue
            st = self.down.get(p.track)
            if p.lying is False:
                self.down.pop(p.track, None)  # up again (standing, sitting)
                continue
            if st is not None and not still(st.anchor, p.box):
                st = None  # moved: a new count from here
                self.down.pop(p.track, None)
            if st is None:
                if not p.lying:
                    continue  # unsure: no new count
                st = self.down[p.track] = _Down(p.box, ts_ms)
            lain = ts_ms - st.since_ms
            if lain >= self.limit_ms:
                out.append(Detection(VideoClass.MAN_DOWN, round(p.score, 3), p.box, p.track, round(lain / 1000, 1)))
        for tid in list(self.down):
            if tid not in live_tracks:
                del self.down[tid]  # the tracker lost the person
        return out


def detect_no_hardhat(people: list[Person], min_head_px: float) -> list[Detection]:
    out = []
    for p in people:
        if p.tall < min_head_px or p.face < 0.15:
            continue
        if p.hat >= 0.06:
            continue
        conf = min(p.score, 0.5 + 0.5 * (1.0 - p.hat / 0.06) * min(1.0, p.face / 0.3))
        out.append(Detection(VideoClass.NO_HARDHAT, round(conf, 3), p.box))
    return out


class FlameDetector:
    """Fire colours with a red edge and a white core, in place and flickering between analysed frames."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, work: _Work) -> list[Detection]:
        hsv = work.hsv
        warm = _in_range(hsv, (0, 120, 150), (30, 255, 255)) | _in_range(hsv, (170, 120, 150), (179, 255, 255))
        core = _in_range(hsv, (0, 0, 235), (40, 90, 255))
        red = _in_range(hsv, (0, 120, 120), (7, 255, 255)) | _in_range(hsv, (172, 120, 120), (179, 255, 255))
        red = cv2.morphologyEx(red, cv2.MORPH_OPEN, _K3)  # thin red lines (zone markings) are not flames
        fire = cv2.morphologyEx(warm | core, cv2.MORPH_OPEN, _K2)
        fire[: work.top] = 0
        # Only around a hot core: an orange vehicle or vest next to a fire is not part of it.
        near = cv2.dilate(cv2.morphologyEx(core, cv2.MORPH_OPEN, _K2), _K15)
        fire = cv2.morphologyEx(fire & near, cv2.MORPH_CLOSE, _K3)
        prev, self._prev = self._prev, fire
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fire, connectivity=8)
        out = []
        for i in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            if area < 30:
                continue
            sl = np.s_[y : y + bh, x : x + bw]
            comp = labels[sl] == i
            # Red at the flame's edge and tips: around and above the hot region.
            ex0, ex1 = max(0, x - bw // 4), x + bw + bw // 4
            n_red = int(np.count_nonzero(red[max(0, y - bh) : y + bh, ex0:ex1]))
            n_core = int(np.count_nonzero(core[sl][comp]))
            red_f, core_f = n_red / area, n_core / area
            if red_f < 0.02 or core_f < 0.015 or n_red < 4:
                continue
            if prev is None:
                continue
            before = prev[sl] > 0
            stay = float(np.count_nonzero(before & comp)) / area
            union = np.count_nonzero(before | comp)
            change = float(np.count_nonzero(before ^ comp)) / max(1, union)
            if stay < 0.3 or change < 0.08:
                continue  # not in place (moving thing) or not flickering (a static orange thing)
            conf = 0.55 + 0.15 * min(1.0, red_f / 0.15) + 0.15 * min(1.0, core_f / 0.06) + 0.15 * min(1.0, change / 0.2)
            out.append(Detection(VideoClass.FLAME, round(conf, 3), work.to_frame(x, y, bw, bh)))
        return out


def detect_smoke(work: _Work) -> list[Detection]:
    hsv = work.hsv
    grey = _in_range(hsv, (0, 0, 62), (179, 50, 215))
    grey[: work.top] = 0
    grey = cv2.morphologyEx(grey, cv2.MORPH_OPEN, _K3)
    grey = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, _K5)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grey, connectivity=8)
    total = grey.size
    out = []
    gradient: np.ndarray | None = None
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < 0.003 * total or area < 0.3 * bw * bh:
            continue
        if gradient is None:
            v = hsv[..., 2]
            gradient = cv2.magnitude(cv2.Sobel(v, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(v, cv2.CV_32F, 0, 1, ksize=3))
        sl = np.s_[y : y + bh, x : x + bw]
        comp = labels[sl] == i
        soft = float(gradient[sl][comp].mean())
        if soft > 40.0:
            continue  # textured: not a soft plume
        conf = 0.55 + 0.25 * min(1.0, area / (0.02 * total)) + 0.2 * (1.0 - soft / 40.0)
        out.append(Detection(VideoClass.SMOKE, round(conf, 3), work.to_frame(x, y, bw, bh)))
    return out


def detect_spill(work: _Work) -> list[Detection]:
    liquid = _in_range(work.hsv, (86, 110, 100), (108, 255, 255))
    liquid[: work.top] = 0
    liquid = cv2.morphologyEx(liquid, cv2.MORPH_OPEN, _K3)
    liquid = cv2.morphologyEx(liquid, cv2.MORPH_CLOSE, _K5)
    n, _, stats, _ = cv2.connectedComponentsWithStats(liquid, connectivity=8)
    total = liquid.size
    out = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        fill = area / float(bw * bh)
        if area < 0.002 * total or fill < 0.35 or bh < 6 or bw > 6 * bh:  # not a band of floor markings
            continue
        conf = 0.5 + 0.3 * min(1.0, area / (0.01 * total)) + 0.2 * min(1.0, fill / 0.6)
        out.append(Detection(VideoClass.SPILL, round(conf, 3), work.to_frame(x, y, bw, bh)))
    return out


def people_by(camera: Camera) -> str:
    """How a camera's people are found: "model" (the trained SSD) or "hi-vis" (the colour rules)."""
    assert camera.analytics is not None
    how = camera.analytics.people
    if how == "auto":
        return "model" if camera.source is not None else "hi-vis"
    return how


@dataclass(slots=True)
class _ClassState:
    streak: int = 0
    active: bool = False
    last_seen_ms: int | None = None
    last_start_ms: int | None = None
    last: Detection | None = None


class Analyzer:
    """One camera's detection stage: motion gate, the camera's detectors, debounced start/end triggers."""

    def __init__(self, camera: Camera, params: DetectParams | None = None) -> None:
        if camera.analytics is None:
            raise ValueError(f"camera {camera.id} has no analytics")
        self.camera = camera
        self.params = params or DetectParams()
        self.classes: list[VideoClass] = list(camera.analytics.detect)
        self.interval_ms = round(1000 / camera.analytics.fps)
        self.motion = MotionDetector(self.params.motion)
        self._flame = FlameDetector()
        # Debounce state per class, and for intrusion by the model per (class, person track): an event is
        # one person's stay (video.track).
        self._state: dict[tuple[VideoClass, int | None], _ClassState] = {(c, None): _ClassState() for c in self.classes}
        self.people_by = people_by(camera)
        self.warning: str | None = None  # why the camera runs on a fallback (shown as a health warning)
        self.fallbacks: list[Fallback] = []  # the same, structured (video.events writes them for the screens)
        if self.people_by == "model":
            from video.models import ModelMissingError, shared_ssd

            try:
                shared_ssd()
            except ModelMissingError as e:
                self.people_by = "hi-vis"
                self.warning = f"camera {camera.id}: people by the hi-vis colour rules: {e}"
                logger.warning("%s", self.warning)
                self.fallbacks.append(Fallback(camera.id, PERSON_MODEL, reason="missing", detail=str(e)))
        # A site's own models (analytics.models), checked now; a broken one leaves the class on its rules.
        self.plugins: dict[VideoClass, SiteModel] = {}
        self.warnings: list[str] = [self.warning] if self.warning else []
        for cls, spec in camera.analytics.models.items():
            try:
                self.plugins[cls] = SiteModel(cls, spec)
            except PluginError as e:
                msg = f"camera {camera.id}: the {cls.value} model is refused, the rule detector runs instead: {e}"
                self.warnings.append(msg)
                logger.warning("%s", msg)
                self.fallbacks.append(Fallback(camera.id, SITE_MODEL, cls, spec.path, e.reason, str(e)))
        if VideoClass.MAN_DOWN in self.classes and self.people_by != "model":
            self.classes.remove(VideoClass.MAN_DOWN)
            del self._state[(VideoClass.MAN_DOWN, None)]
            msg = f"camera {camera.id}: man_down needs the trained person detector and its pose; not run"
            self.warnings.append(msg)
            logger.warning("%s", msg)
            self.fallbacks.append(Fallback(camera.id, NEEDS_PERSON_MODEL, VideoClass.MAN_DOWN))
        # Pose (video.pose) for the hard-hat check's head region and man-down, on the model's people.
        self.pose = self.people_by == "model" and bool({VideoClass.NO_HARDHAT, VideoClass.MAN_DOWN} & set(self.classes))
        if self.pose:
            try:
                from video.pose import shared_pose

                shared_pose()
            except Exception as e:  # LiteRT missing or the model file: no hard-hat check by pose
                self.pose = False
                msg = f"camera {camera.id}: no pose model ({e}); no_hardhat judged without it, man_down not run"
                self.warnings.append(msg)
                logger.warning("%s", msg)
                self.fallbacks.append(Fallback(camera.id, POSE_MODEL, reason="missing", detail=str(e)))
                if VideoClass.MAN_DOWN in self.classes:
                    self.classes.remove(VideoClass.MAN_DOWN)
                    del self._state[(VideoClass.MAN_DOWN, None)]
        self.man_down = ManDownWatch(camera.analytics.man_down_s)
        self.tracker = IouTracker(max_age_s=self.params.keyframe_s + 1.5)
        self.vtracker = IouTracker(max_age_s=self.params.keyframe_s + 1.5)
        self.tracked: set[VideoClass] = set()
        for cls in (VideoClass.INTRUSION, VideoClass.MAN_DOWN):  # one event per person
            if self.people_by == "model" and cls in self.classes:
                self.tracked.add(cls)
                del self._state[(cls, None)]
        self._last_run_ms: int | None = None
        self._lying_ms: int | None = None  # the last lying pass (man-down)
        self._next_due: int | None = None
        self._detections: list[Detection] = []
        self._polys: dict[tuple[int, int], list[np.ndarray]] = {}
        self.counts: tuple[int, int] = (0, 0)  # people, vehicles in the last analysed frame

    def due(self, ts_ms: int) -> bool:
        """Whether a frame at ``ts_ms`` should be analysed: on average the camera's analytics fps, whatever
        the camera's own rate and jitter (a schedule that advances by the interval, reset when far behind)."""
        return self._next_due is None or ts_ms >= self._next_due

    def active(self) -> set[VideoClass]:
        """The classes currently started and not ended."""
        return {c for (c, _), s in self._state.items() if s.active}

    def polygons(self, size: tuple[int, int]) -> list[np.ndarray]:
        """The restricted polygons in pixels of a ``size`` (width, height) frame."""
        got = self._polys.get(size)
        if got is None:
            assert self.camera.analytics is not None
            w, h = size
            got = [np.array([(x * w, y * h) for x, y in p], np.float32) for p in self.camera.analytics.restricted]
            self._polys[size] = got
        return got

    def people(self, work: _Work, ts_ms: int | None = None) -> list[Person]:
        """The people of a frame, by the camera's person finder (the model or the colour rules); on a camera
        that watches for man-down, the lying pass (:func:`find_lying_people`) runs at most once every
        ``keyframe_s`` (with ``ts_ms``; every call without it)."""
        if self.people_by == "model":
            pose_px = self.params.min_head_px * work.size[1] / 720 if self.pose else None
            people = find_people_model(work, self.params.person_score, pose_px)
            if pose_px is not None and VideoClass.MAN_DOWN in self.classes and self._lying_due(ts_ms):
                find_lying_people(work, self.params.person_score, pose_px, people)
            return people
        return find_people(work)

    def _lying_due(self, ts_ms: int | None) -> bool:
        """Whether the lying pass runs now: the turned frames cost two more passes of the SSD, so at most once
        a keyframe interval (the tracker keeps a lying person's track across the frames in between)."""
        if ts_ms is None:
            return True
        if self._lying_ms is not None and ts_ms - self._lying_ms < self.params.keyframe_s * 1000:
            return False
        self._lying_ms = ts_ms
        return True

    def _vehicle_intrusion(self, work: _Work, ts_ms: int | None) -> list[Detection]:
        """Vehicles whose bottom centre is inside a restricted polygon (where vehicles are forbidden)."""
        boxes = [b for b, _ in work.vehicles]
        ids: list[int | None] = list(self.vtracker.update(boxes, ts_ms)) if ts_ms is not None else [None] * len(boxes)
        out = []
        for (box, score), tid in zip(work.vehicles, ids, strict=True):
            x, y, w, h = box
            if (
                max(
                    (cv2.pointPolygonTest(p, (x + w / 2, float(y + h)), False) for p in self.polygons(work.size)),
                    default=-1,
                )
                < 0
            ):
                continue
            out.append(
                Detection(VideoClass.INTRUSION, round(score, 3), box, None if tid is None else VEHICLE_TRACKS + tid)
            )
        return out

    def detect(self, frame: np.ndarray, ts_ms: int | None = None) -> list[Detection]:
        """Run every detector of the camera on one frame (no gating, no debouncing); with ``ts_ms`` the
        model's people are also tracked (their detections carry the track id)."""
        return self._detect(_Work(frame), ts_ms)

    def _detect(self, work: _Work, ts_ms: int | None = None) -> list[Detection]:
        scale = work.size[1] / 720
        out: list[Detection] = []
        needs_people = bool({VideoClass.INTRUSION, VideoClass.NO_HARDHAT, VideoClass.MAN_DOWN} & set(self.classes))
        people = self.people(work, ts_ms) if needs_people or self.people_by == "model" else []
        self.track_people(people, ts_ms)
        self.counts = (len(people), len(work.vehicles))
        assert self.camera.analytics is not None
        if VideoClass.INTRUSION in self.tracked and self.camera.analytics.vehicles_forbidden:
            out += self._vehicle_intrusion(work, ts_ms)
        for cls in self.classes:
            if cls in self.plugins:
                out += self.plugins[cls].detect(work.frame)
            elif cls == VideoClass.INTRUSION:
                out += detect_intrusion(people, self.polygons(work.size), self.params.min_person_px * scale)
            elif cls == VideoClass.NO_HARDHAT:
                out += detect_no_hardhat(people, self.params.min_head_px * scale)
            elif cls == VideoClass.FLAME:
                out += self._flame(work)
            elif cls == VideoClass.SMOKE:
                out += detect_smoke(work)
            elif cls == VideoClass.SPILL:
                out += detect_spill(work)
            elif cls == VideoClass.MAN_DOWN and ts_ms is not None:
                out += self.lying_still(people, ts_ms)
        return out

    def track_people(self, people: list[Person], ts_ms: int | None) -> None:
        """Give each person of an analysed frame their track id (when a person class is tracked)."""
        if self.tracked and ts_ms is not None:
            for p, tid in zip(people, self.tracker.update([p.box for p in people], ts_ms), strict=True):
                p.track = tid

    def lying_still(self, people: list[Person], ts_ms: int) -> list[Detection]:
        """Man-down detections of tracked people (:class:`ManDownWatch`)."""
        return self.man_down.update(people, ts_ms, {t.id for t in self.tracker.tracks})

    def process(self, frame_bgr: np.ndarray, ts_ms: int) -> Analysis:
        """Analyse one frame taken at ``ts_ms`` (epoch ms): gate, detect, debounce."""
        if self._next_due is None or ts_ms - self._next_due > self.interval_ms:
            self._next_due = ts_ms + self.interval_ms  # the first frame, or fell behind: no burst
        else:
            self._next_due = max(self._next_due, ts_ms - self.interval_ms // 2) + self.interval_ms
        motion: Motion = self.motion.update(frame_bgr)
        keyframe = self._last_run_ms is None or ts_ms - self._last_run_ms >= self.params.keyframe_s * 1000
        if not (motion.moved or keyframe):
            return Analysis(ts_ms, False, False, list(self._detections), [], *self.counts)
        self._last_run_ms = ts_ms
        detections = self.detect(frame_bgr, ts_ms)
        self._detections = detections
        triggers = self._debounce(detections, ts_ms)
        return Analysis(ts_ms, motion.moved, True, list(detections), triggers, *self.counts)

    def _debounce(self, detections: list[Detection], ts_ms: int) -> list[Trigger]:
        triggers: list[Trigger] = []
        best: dict[tuple[VideoClass, int | None], Detection] = {}
        for d in detections:
            cp = self.params.classes.get(d.cls, ClassParams())
            key = (d.cls, d.track if d.cls in self.tracked else None)
            if d.confidence >= cp.min_confidence and (key not in best or d.confidence > best[key].confidence):
                best[key] = d
                if key not in self._state and d.cls in self.classes:
                    self._state[key] = _ClassState()
        for key, st in list(self._state.items()):
            cls, track = key
            cp = self.params.classes.get(cls, ClassParams())
            d = best.get(key)
            if d is not None:
                st.streak += 1
                st.last_seen_ms = ts_ms
                st.last = d
                cooled = st.last_start_ms is None or ts_ms - st.last_start_ms >= cp.cooldown_s * 1000
                if not st.active and st.streak >= cp.min_frames and cooled:
                    st.active = True
                    st.last_start_ms = ts_ms
                    triggers.append(Trigger("start", cls, ts_ms, d, track))
            else:
                st.streak = 0
                seen = st.last_seen_ms if st.last_seen_ms is not None else -math.inf
                if st.active and ts_ms - seen >= cp.end_after_s * 1000:
                    st.active = False
                    triggers.append(Trigger("end", cls, ts_ms, st.last, track, st.last_seen_ms))
                if track is not None and not st.active and ts_ms - seen >= max(cp.cooldown_s, cp.end_after_s) * 1000:
                    del self._state[key]  # a person gone for good
        return triggers
