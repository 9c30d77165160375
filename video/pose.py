"""Pose of a found person: MoveNet SinglePose Lightning (17 COCO keypoints) through LiteRT (``ai-edge-litert``).

Each person box of the trained detector (:mod:`video.models`) is cut out as a square around it (1.25 times
its longer side, padded with black at the picture's edges), resized to 192x192 and given to MoveNet, which
returns each keypoint's position in the square and a score. Lightning is the fast variant: 9-13 ms a
person on two threads of a busy 2-core machine. Used for:

- the head region of the hard-hat check (:func:`head_box`): from the face keypoints (nose, eyes, ears),
  the head's centre and size; the hat is read in the region above the eyes, not in the top of the person's
  box (which a raised arm or a stoop spoils);
- a person lying (:func:`lying`): the torso (the middle of the shoulders to the middle of the hips) more
  than 60 degrees off vertical.

Limits: MoveNet was trained on people seen from the front or side at eye level, mostly upright; on a high
camera looking down, on people under ~60 px, or partly hidden, keypoints are unsure (their scores are low
and then nothing is concluded: no head box, not lying). A face turned away has no nose or eyes: the head is
then taken from the ears or not at all.
"""

from __future__ import annotations

import math
import threading

import cv2
import numpy as np

from video.models import MOVENET, dnn_threads, model_file
from video.types import Box

SIZE = 192
MIN_SCORE = 0.3  # a keypoint below this is not used
NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 0, 1, 2, 3, 4, 5, 6, 11, 12
TORSO = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)


class PoseEstimator:
    def __init__(self, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(
            model_path=str(model_file(MOVENET)), num_threads=threads if threads is not None else dnn_threads()
        )
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]
        self.lock = threading.Lock()

    def keypoints(self, frame: np.ndarray, box: Box) -> np.ndarray:
        """The 17 keypoints of the person in ``box``: rows (x, y, score), x and y in frame pixels."""
        x, y, w, h = box
        side = max(2, round(max(w, h) * 1.25))
        x0, y0 = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
        fh, fw = frame.shape[:2]
        pad = np.zeros((side, side, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(fw, x0 + side), min(fh, y0 + side)
        if sx1 > sx0 and sy1 > sy0:
            pad[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame[sy0:sy1, sx0:sx1]
        img = cv2.resize(cv2.cvtColor(pad, cv2.COLOR_BGR2RGB), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        with self.lock:
            self.interpreter.set_tensor(self._in["index"], img[None].astype(self._in["dtype"]))
            self.interpreter.invoke()
            kp = np.array(self.interpreter.get_tensor(self._out["index"])[0, 0], np.float32)  # (17, 3): y, x, score
        return np.stack([x0 + kp[:, 1] * side, y0 + kp[:, 0] * side, kp[:, 2]], axis=1)


def head_box(kp: np.ndarray) -> Box | None:
    """The head (hair and hat included) from the face keypoints, or None when they are unsure."""
    face = [i for i in (NOSE, L_EYE, R_EYE, L_EAR, R_EAR) if kp[i, 2] >= MIN_SCORE]
    if len(face) < 2:
        return None
    pts = kp[face, :2]
    cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
    size = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])))
    if kp[L_SHOULDER, 2] >= MIN_SCORE and kp[R_SHOULDER, 2] >= MIN_SCORE:
        size = max(size, 0.55 * float(np.hypot(*(kp[L_SHOULDER, :2] - kp[R_SHOULDER, :2]))))
    r = max(2.0, 0.9 * size)
    return round(cx - r), round(cy - 1.4 * r), round(2 * r), round(2.2 * r)  # more above the eyes than below


def lying(kp: np.ndarray) -> bool | None:
    """Whether the torso is more than 60 degrees off vertical; None when the shoulders or hips are unsure."""
    need = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
    if any(kp[i, 2] < MIN_SCORE for i in need):
        return None
    sx, sy = (kp[L_SHOULDER, :2] + kp[R_SHOULDER, :2]) / 2
    hx, hy = (kp[L_HIP, :2] + kp[R_HIP, :2]) / 2
    return abs(math.degrees(math.atan2(abs(float(sx - hx)), abs(float(sy - hy))))) > 60


_shared: PoseEstimator | None = None
_shared_lock = threading.Lock()


def shared_pose() -> PoseEstimator:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PoseEstimator()
        return _shared
