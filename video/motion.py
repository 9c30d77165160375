"""Motion gating: did anything move since the last frames? (the stage before the detectors).

A :class:`MotionDetector` keeps a running-average background of a small grey, blurred copy of the frames
(320 pixels wide by default) and compares each new frame with it: pixels differing by more than
``threshold`` grey levels, cleaned by a morphological opening (sensor noise and JPEG blocks are single
pixels at that scale) and dilated into blobs, are motion. It reports whether enough moved, the moving
fraction of the picture, the blobs' boxes in frame pixels and the mask.

It is cheap on purpose (one ``INTER_AREA`` resize, a blur and a few array operations: about a
millisecond for a 1280x720 frame), so the expensive detectors run only when something moved. Slow
changes (a spill that stopped spreading, a lighting drift) are absorbed by the background; the analyser
runs its detectors on a keyframe every few seconds anyway so such things are still seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from video.types import Box


@dataclass(frozen=True, slots=True)
class MotionParams:
    width: int = 320  # the grey copy's width (height follows the frame's aspect)
    blur: int = 5  # Gaussian blur kernel (odd)
    threshold: int = 14  # grey levels of difference that count as a change
    alpha: float = 0.15  # background learning rate per frame
    min_area: int = 6  # smallest blob kept, in pixels of the grey copy
    min_fraction: float = 0.0004  # moving fraction of the picture that counts as motion


@dataclass(slots=True)
class Motion:
    moved: bool
    fraction: float  # moving share of the picture, 0..1
    boxes: list[Box] = field(default_factory=list)  # moving blobs, frame pixels
    mask: np.ndarray | None = None  # uint8 0/255 at the grey copy's size


class MotionDetector:
    """Running-average background subtraction on a downscaled grey frame."""

    def __init__(self, params: MotionParams | None = None) -> None:
        self.params = params or MotionParams()
        self._bg: np.ndarray | None = None
        self._size: tuple[int, int] | None = None
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

    def reset(self) -> None:
        self._bg = None

    def _small(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        sw = min(self.params.width, w)
        sh = max(1, round(h * sw / w))
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, (sw, sh), interpolation=cv2.INTER_AREA)
        k = self.params.blur | 1
        return cv2.GaussianBlur(small, (k, k), 0)

    def update(self, frame: np.ndarray) -> Motion:
        """Compare ``frame`` (BGR or grey) with the background, then learn it. The first frame (or one of a
        new size) is all motion: nothing is known yet."""
        p = self.params
        small = self._small(frame)
        h, w = frame.shape[:2]
        if self._bg is None or self._size != (w, h) or self._bg.shape != small.shape:
            self._bg = small.astype(np.float32)
            self._size = (w, h)
            return Motion(True, 1.0, [(0, 0, w, h)], np.full(small.shape, 255, np.uint8))
        diff = cv2.absdiff(small, cv2.convertScaleAbs(self._bg))
        _, mask = cv2.threshold(diff, p.threshold, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._grow)
        cv2.accumulateWeighted(small, self._bg, p.alpha)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        sx, sy = w / small.shape[1], h / small.shape[0]
        boxes: list[Box] = []
        moving = 0
        for i in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[i])
            if area < p.min_area:
                continue
            moving += area
            boxes.append((round(x * sx), round(y * sy), round(bw * sx), round(bh * sy)))
        fraction = moving / float(mask.size)
        return Motion(fraction >= p.min_fraction and bool(boxes), fraction, boxes, mask)
