"""A site's own trained models for a video class (``analytics.models`` in the plant file).

A plant that bought or trained a detector for flames, smoke, missing hard hats or spills names its ONNX
file per class; :class:`SiteModel` runs it through OpenCV's DNN module (``cv2.dnn.readNet``) instead of the
class's colour rules. Output layouts understood (``layout``):

- ``ssd``: rows of 7 ``[image, label, score, x0, y0, x1, y1]`` (coordinates 0..1), the DetectionOutput
  layout of OpenCV's and TensorFlow's SSD exports; shape ``(1, 1, N, 7)``, ``(1, N, 7)`` or ``(N, 7)``;
- ``yolo``: YOLOv5 rows ``[cx, cy, w, h, objectness, class scores...]`` (``(1, N, 5 + C)``), or YOLOv8
  ``[cx, cy, w, h, class scores...]`` as rows ``(1, N, 4 + C)`` or columns ``(1, 4 + C, N)``; centres and
  sizes in input pixels (or 0..1); overlapping boxes are merged by non-maximum suppression.

A model is checked when the camera's analyser starts: the file must load and a blank input of the declared
size must give one of those shapes for the declared number of classes. Otherwise :class:`PluginError` names
the file and what is wrong, and the analyser keeps the class's rule detector with a warning; it tries the
model again when the file changes and every few minutes (``video.detect.Analyzer.recheck_models``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from plant.schema import VideoClass, VideoModel
from video.types import Detection

NMS_IOU = 0.45


class PluginError(ValueError):
    """A site model that cannot be used (the message starts with its path); ``reason`` says which check
    failed ("missing", "load", "run", "shape": :data:`video.types.REASONS`)."""

    def __init__(self, message: str, reason: str = "other") -> None:
        super().__init__(message)
        self.reason = reason


class SiteModel:
    def __init__(self, cls: VideoClass, spec: VideoModel) -> None:
        self.cls = cls
        self.spec = spec
        path = Path(spec.path)
        if not path.is_file():
            raise PluginError(f"{spec.path}: no such model file", "missing")
        try:
            self.net = cv2.dnn.readNet(str(path))
        except cv2.error as e:
            raise PluginError(f"{spec.path}: OpenCV could not load it ({_last_line(e)})", "load") from e
        names = spec.fire or [n for n in spec.classes if n != "background"]
        self.fire = {i for i, n in enumerate(spec.classes) if n in names}
        w, h = spec.input
        try:
            out = self._forward(np.zeros((h, w, 3), np.uint8))
        except cv2.error as e:
            raise PluginError(f"{spec.path}: it fails on a {w}x{h} input ({_last_line(e)})", "run") from e
        self.rows(out)  # raises on a shape that is not the layout

    def _forward(self, frame: np.ndarray) -> np.ndarray:
        s = self.spec
        blob = cv2.dnn.blobFromImage(frame, scalefactor=s.scale, size=tuple(s.input), swapRB=s.swap_rb)
        self.net.setInput(blob)
        return np.asarray(self.net.forward(), np.float32)

    def rows(self, out: np.ndarray) -> np.ndarray:
        """The output as rows ``[x0, y0, x1, y1 (0..1), score, class index]``, whatever its layout."""
        n = len(self.spec.classes)
        shape = tuple(out.shape)
        if self.spec.layout == "ssd":
            if out.ndim < 2 or shape[-1] != 7 or any(d != 1 for d in shape[:-2]):
                raise PluginError(f"{self.spec.path}: output shape {shape} is not an SSD layout (..., N, 7)", "shape")
            r = out.reshape(-1, 7)
            return np.stack([r[:, 3], r[:, 4], r[:, 5], r[:, 6], r[:, 2], r[:, 1]], axis=1)
        if out.ndim != 3 or shape[0] != 1:
            raise PluginError(f"{self.spec.path}: output shape {shape} is not a YOLO layout (1, N, 5 + {n})", "shape")
        m = out[0]
        if m.shape[1] == 5 + n:  # YOLOv5: objectness x class scores
            scores = m[:, 5:] * m[:, 4:5]
        elif m.shape[1] == 4 + n:  # YOLOv8 rows
            scores = m[:, 4:]
        elif m.shape[0] == 4 + n:  # YOLOv8 columns
            m = m.T
            scores = m[:, 4:]
        else:
            raise PluginError(
                f"{self.spec.path}: output shape {shape} is not a YOLO layout for {n} classes "
                f"(1, N, {5 + n}), (1, N, {4 + n}) or (1, {4 + n}, N)",
                "shape",
            )
        cls = scores.argmax(axis=1)
        score = scores[np.arange(len(m)), cls]
        cx, cy, bw, bh = m[:, 0], m[:, 1], m[:, 2], m[:, 3]
        w, h = self.spec.input
        if len(m) and float(np.abs(m[:, :4]).max()) > 1.5:  # input pixels, not fractions
            cx, cy, bw, bh = cx / w, cy / h, bw / w, bh / h
        return np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, score, cls], axis=1)

    def detect(self, frame: np.ndarray) -> list[Detection]:
        fh, fw = frame.shape[:2]
        rows = self.rows(self._forward(frame))
        keep = [r for r in rows if r[4] >= self.spec.min_confidence and int(r[5]) in self.fire]
        boxes = []
        for x0, y0, x1, y1, *_ in keep:
            x0, y0 = max(0.0, float(x0)) * fw, max(0.0, float(y0)) * fh
            x1, y1 = min(1.0, float(x1)) * fw, min(1.0, float(y1)) * fh
            boxes.append([round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0))])
        if not boxes:
            return []
        scores = [float(r[4]) for r in keep]
        picked = cv2.dnn.NMSBoxes(boxes, scores, self.spec.min_confidence, NMS_IOU)
        return [
            Detection(self.cls, round(scores[i], 3), (boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3]))
            for i in np.asarray(picked).reshape(-1)
        ]


def _last_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[-1].strip() if text else type(e).__name__
