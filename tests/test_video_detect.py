"""Motion gating and the five detectors on the demo cameras' rendered frames (real OpenCV, JPEG round trip),
one class through a real MJPEG stream on loopback read by video.capture; the debounce gives one start per
occurrence."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from bench.video import Crowd
from plant import load_plant
from plant.loader import DEMO_PLANT as DEMO_FILE
from plant.schema import MODEL_ONLY_CLASSES, Camera, Plant, VideoClass
from simulator.cameras import CameraRenderer, CameraServer
from simulator.video_scenes import SceneIncident, Scenes
from tests.videoutil import wait_for
from video.capture import Capture
from video.detect import Analyzer, ClassParams, DetectParams
from video.motion import MotionDetector
from video.types import Detection

T0 = 1_800_000_000_000
SIZE = (1280, 720)
SCENES = {"every_s": (40.0, 50.0), "duration_s": (14.0, 20.0)}


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO_FILE)


@pytest.fixture(scope="module")
def scenes(demo: Plant) -> Scenes:
    return Scenes(demo, **SCENES)  # type: ignore[arg-type]


def all_classes(cam: Camera) -> Camera:
    """The camera with every detector on (intrusion only where it has restricted areas)."""
    assert cam.analytics is not None
    detect = [
        c for c in VideoClass if (c != VideoClass.INTRUSION or cam.analytics.restricted) and c not in MODEL_ONLY_CLASSES
    ]
    return cam.model_copy(update={"analytics": cam.analytics.model_copy(update={"detect": detect})})


def jpeg(img: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def frames(
    demo: Plant, scenes: Scenes, cam: Camera, t0_ms: float, t1_ms: float, crowd: Crowd | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Frames of a camera at 2 fps from t0 to t1, as a camera sends them (noise, JPEG)."""
    r = CameraRenderer(demo, cam, *SIZE, scenes=scenes)
    t = t0_ms
    while t < t1_ms:
        figures = crowd(t / 1000) if crowd is not None else []
        yield int(t), jpeg(r.frame(figures, t / 1000))
        t += 500


def first(scenes: Scenes, cls: VideoClass) -> SceneIncident:
    for cam_id in sorted(scenes.cameras):
        for inc in scenes.incidents(cam_id, T0, T0 + 600_000):
            if inc.cls == cls:
                return inc
    raise AssertionError(f"no {cls} incident")


@pytest.mark.parametrize("cls", [c for c in VideoClass if c not in MODEL_ONLY_CLASSES])  # rendered: no pose
def test_each_class_is_detected_once_per_occurrence(demo: Plant, scenes: Scenes, cls: VideoClass) -> None:
    inc = first(scenes, cls)
    cam = scenes.cameras[inc.camera]
    an = Analyzer(all_classes(cam))
    starts, ends, seen = [], [], 0
    for ts, img in frames(demo, scenes, cam, inc.start_ms - 5000, inc.end_ms + 15_000):
        a = an.process(img, ts)
        seen += any(d.cls == cls for d in a.detections)
        for trig in a.triggers:
            assert trig.cls == cls, f"{trig.cls} fired during a {cls} incident"
            assert trig.detection is not None
            (starts if trig.kind == "start" else ends).append(trig)
    assert len(starts) == 1, starts
    assert inc.start_ms <= starts[0].ts_ms <= inc.start_ms + 6000
    assert starts[0].detection is not None and starts[0].detection.confidence >= 0.5
    x, y, w, h = starts[0].detection.box
    assert w > 0 and h > 0 and 0 <= x < SIZE[0] and 0 <= y < SIZE[1]
    assert len(ends) == 1 and inc.end_ms <= ends[0].ts_ms <= inc.end_ms + 12_000
    assert seen >= 0.7 * (inc.end_ms - inc.start_ms) / 500


@pytest.mark.slow
def test_no_detection_on_clean_frames_with_distractors(demo: Plant, scenes: Scenes) -> None:
    """People in hi-vis and hard hats walking (some past the restricted areas, not into them), orange
    vehicles, zone markings: every detector on, no incident, nothing fires."""
    crowd = Crowd(demo)
    crowd.paths = [p for p in crowd.paths if p[5] != "crosser"]  # nobody enters a restricted area
    for cam_id, cam in scenes.cameras.items():
        quiet = next(t for t in range(T0, T0 + 600_000, 1000) if not scenes.incidents(cam_id, t - 1000, t + 30_000))
        an = Analyzer(all_classes(cam))
        ran = 0
        for ts, img in frames(demo, scenes, cam, quiet, quiet + 25_000, crowd):
            a = an.process(img, ts)
            ran += a.ran
            assert a.detections == [], (cam_id, a.detections)
            assert a.triggers == []
        assert ran >= 10


def test_motion_gate(demo: Plant, scenes: Scenes) -> None:
    cam = scenes.cameras["CAM26"]
    r = CameraRenderer(demo, cam, *SIZE, scenes=None)
    md = MotionDetector()
    assert md.update(jpeg(r.frame([], 0))).moved  # the first frame: nothing known yet
    for k in range(5):
        m = md.update(jpeg(r.frame([], k)))
        assert not m.moved and m.fraction < 0.0005  # sensor noise and JPEG are not motion
    crowd = Crowd(demo)
    moving = [f for f in crowd(100.0) if f[2] == "person"]
    md.update(jpeg(r.frame(moving, 100.0)))
    m = md.update(jpeg(r.frame(crowd(100.5), 100.5)))
    assert m.moved and m.boxes and 0 < m.fraction < 0.2
    assert m.mask is not None and m.mask.shape[1] == 320


def test_gated_frames_keep_detections_and_keyframes_run(demo: Plant, scenes: Scenes) -> None:
    """A still spill: the detectors run on motion and on a keyframe every few seconds; in between the
    previous detections stand."""
    inc = first(scenes, VideoClass.SPILL)
    cam = scenes.cameras[inc.camera]
    an = Analyzer(cam, DetectParams(keyframe_s=3.0))
    r = CameraRenderer(demo, cam, *SIZE, scenes=scenes)
    t_still = inc.start_ms + 0.6 * (inc.end_ms - inc.start_ms)  # it stopped spreading at 40 %
    img = jpeg(r.frame([], t_still / 1000))
    results = [an.process(img, int(t_still + k * 500)) for k in range(14)]
    assert results[0].ran and any(d.cls == VideoClass.SPILL for d in results[0].detections)
    gated = [a for a in results[1:] if not a.ran]
    assert gated and all(not a.motion for a in gated)
    assert all(a.detections == results[0].detections for a in gated)
    assert sum(a.ran for a in results) >= 3  # the first frame and keyframes every 3 s


def test_debounce_min_frames_cooldown_and_end(demo: Plant) -> None:
    cam = next(c for c in demo.cameras if c.analytics is not None)
    cls = cam.analytics.detect[0]  # type: ignore[union-attr]
    params = DetectParams(classes={cls: ClassParams(0.5, min_frames=3, cooldown_s=10.0, end_after_s=2.0)})
    an = Analyzer(cam, params)
    hit = [Detection(cls, 0.9, (1, 2, 3, 4))]
    weak = [Detection(cls, 0.3, (1, 2, 3, 4))]
    seq = (
        [hit, hit, [], hit, hit, weak]  # never 3 in a row: nothing (frames 0-5)
        + [hit, hit, hit, hit, [], hit, hit]  # start at frame 8; a 1-frame gap does not end it
        + [[]] * 5  # ends 2 s after the last sighting (frame 16)
        + [hit] * 6  # within the cool-down (10 s after the start): no new start
        + [[]] * 7
        + [hit] * 3  # 12.5 s after the start: a new occurrence (frame 33)
    )
    kinds = []
    for k, dets in enumerate(seq):
        for trig in an._debounce(dets, T0 + 500 * k):
            kinds.append((trig.kind, k))
    assert kinds == [("start", 8), ("end", 16), ("start", 33)]


def test_analyzer_needs_analytics_and_keeps_pace(demo: Plant) -> None:
    with pytest.raises(ValueError):
        Analyzer(next(c for c in demo.cameras if c.analytics is None))
    cam = next(c for c in demo.cameras if c.analytics is not None)
    an = Analyzer(cam)
    assert an.interval_ms == 500  # analytics fps 2
    assert an.due(T0)
    an.process(np.zeros((360, 640, 3), np.uint8), T0)
    assert not an.due(T0 + 200) and an.due(T0 + 500)


@pytest.mark.real_clock("the stream is read by a capture thread that waits with timeouts")
def test_flame_through_a_real_mjpeg_stream(demo: Plant) -> None:
    """A camera that only looks for flames, its incidents every 24 s: the stream is served over HTTP on
    loopback, read by video.capture through OpenCV, analysed at 2 fps: a flame start trigger arrives."""
    cam = next(c for c in demo.cameras if c.analytics and VideoClass.FLAME in c.analytics.detect)
    assert cam.analytics is not None
    only = cam.model_copy(update={"analytics": cam.analytics.model_copy(update={"detect": [VideoClass.FLAME]})})
    plant = demo.model_copy(update={"cameras": [only]})
    scenes = Scenes(plant, every_s=(24.0, 24.0), duration_s=(16.0, 16.0))
    with CameraServer(plant, port=0, fps=4, size=(960, 540), scenes=scenes) as srv:
        cap = Capture(only.id, srv.url(only.id)).start()
        try:
            an = Analyzer(only)
            state = {"seq": 0, "starts": []}

            def started() -> bool:
                got = cap.wait_frame(state["seq"], timeout=2.0)
                if got is None:
                    return False
                frame, state["seq"] = got
                ts = int(time.time() * 1000)
                if an.due(ts):
                    a = an.process(frame, ts)
                    state["starts"] += [t for t in a.triggers if t.kind == "start"]
                return bool(state["starts"])

            wait_for(started, timeout=90, step=0.01)
            trig = state["starts"][0]
            assert trig.cls == VideoClass.FLAME and trig.detection is not None
            active = [i for i in scenes.active(only.id, trig.ts_ms)]
            assert active and active[0].cls == VideoClass.FLAME  # it fired during a flame incident
            assert scenes.truth(only.id, trig.ts_ms, []) == {VideoClass.FLAME}
        finally:
            cap.stop()
