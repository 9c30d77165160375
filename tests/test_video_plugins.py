"""A site's own models (video.plugins): small ONNX detectors the test builds itself (SSD and YOLO output
layouts) load through OpenCV DNN and fire on what they look for; a broken file or a wrong output shape is
refused at the analyser's start with the file named, and the class keeps its rule detector with a warning."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from plant import load_plant
from plant.loader import DEMO_PLANT as DEMO_FILE
from plant.schema import Camera, CameraAnalytics, VideoClass, VideoModel
from video.detect import Analyzer
from video.plugins import PluginError, SiteModel

SIZE = 64  # the test models' input: 64x64


def build(path: Path, layout: str, n_classes: int = 1, out_shape: tuple[int, ...] | None = None) -> Path:
    """A detector whose one box (the picture's centre) scores the mean red of the input (0..1 after the
    1/255 scaling): a red picture is a detection, a dark one is not."""
    init = [
        numpy_helper.from_array(np.array([0], np.int64), "c0"),
        numpy_helper.from_array(np.array([1], np.int64), "c1"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
    ]
    nodes = [
        helper.make_node("Slice", ["image", "c0", "c1", "axis1"], ["red"]),  # channel 0 (R: swapRB)
        helper.make_node("ReduceMean", ["red"], ["score4"], axes=[1, 2, 3], keepdims=1),  # (1, 1, 1, 1)
    ]
    if layout == "ssd":
        init += [
            numpy_helper.from_array(np.array([[[[0, 1]]]], np.float32), "head"),  # image 0, label 1
            numpy_helper.from_array(np.array([[[[0.25, 0.25, 0.75, 0.75]]]], np.float32), "box"),
        ]
        nodes.append(helper.make_node("Concat", ["head", "score4", "box"], ["out"], axis=3))
        shape = [1, 1, 1, 7]
    else:
        init += [
            numpy_helper.from_array(np.array([1, 1, 1], np.int64), "shape3"),
            numpy_helper.from_array(np.array([[[32, 32, 32, 32]]], np.float32), "box"),  # cx cy w h, input px
            numpy_helper.from_array(np.ones((1, 1, n_classes), np.float32), "cls"),
        ]
        nodes.append(helper.make_node("Reshape", ["score4", "shape3"], ["score"]))
        nodes.append(helper.make_node("Concat", ["box", "score", "cls"], ["out"], axis=2))  # YOLOv5 row
        shape = [1, 1, 5 + n_classes]
    if out_shape is not None:  # a wrong layout: reshape the output
        init.append(numpy_helper.from_array(np.array(out_shape, np.int64), "bad_shape"))
        nodes.append(helper.make_node("Reshape", ["out", "bad_shape"], ["final"]))
        shape, last = list(out_shape), "final"
    else:
        last = "out"
    graph = helper.make_graph(
        nodes,
        "site-model",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info(last, TensorProto.FLOAT, shape)],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def spec(path: Path, layout: str, classes: list[str] | None = None) -> VideoModel:
    return VideoModel(path=str(path), layout=layout, input=(SIZE, SIZE), classes=classes or ["flame"])  # type: ignore[arg-type]


def flame_camera(model: VideoModel) -> Camera:
    demo = load_plant(DEMO_FILE)
    cam = next(c for c in demo.cameras if c.analytics is not None and not c.analytics.restricted)
    analytics = CameraAnalytics(detect=[VideoClass.FLAME], models={VideoClass.FLAME: model})
    return cam.model_copy(update={"analytics": analytics})


RED = np.zeros((360, 640, 3), np.uint8)
RED[..., 2] = 240  # BGR: red
DARK = np.full((360, 640, 3), 20, np.uint8)


@pytest.mark.parametrize("layout", ["ssd", "yolo"])
def test_a_site_model_loads_and_fires(tmp_path: Path, layout: str) -> None:
    classes = ["background", "flame"] if layout == "ssd" else ["flame"]
    m = SiteModel(VideoClass.FLAME, spec(build(tmp_path / f"{layout}.onnx", layout), layout, classes))
    got = m.detect(RED)
    assert len(got) == 1 and got[0].cls == VideoClass.FLAME and got[0].confidence > 0.9
    x, y, w, h = got[0].box
    assert abs(x - 160) <= 2 and abs(y - 90) <= 2 and abs(w - 320) <= 2 and abs(h - 180) <= 2  # the centre half
    assert m.detect(DARK) == []
    # In the analyser: the camera's flame class runs the model, not the rules; debounced into an event.
    an = Analyzer(flame_camera(spec(tmp_path / f"{layout}.onnx", layout, classes)))
    assert VideoClass.FLAME in an.plugins and an.warnings == []
    # a still picture: the detectors run on the first frame and on the keyframe 3 s later (2 frames: a start)
    starts = [t for k in range(8) for t in an.process(RED, 1_800_000_000_000 + 500 * k).triggers]
    assert [t.kind for t in starts] == ["start"] and starts[0].cls == VideoClass.FLAME


def test_a_broken_or_misshapen_model_is_refused_and_the_rules_stay(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not a model <script>x</script>")
    with pytest.raises(PluginError, match=re.escape(str(broken))):
        SiteModel(VideoClass.FLAME, spec(broken, "ssd"))
    missing = tmp_path / "missing.onnx"
    with pytest.raises(PluginError, match=re.escape(f"{missing}: no such model file")):
        SiteModel(VideoClass.FLAME, spec(missing, "yolo"))
    wrong = build(tmp_path / "wrong.onnx", "yolo", out_shape=(1, 6))  # a classifier's shape, not detections
    with pytest.raises(PluginError, match=re.escape(f"{wrong}: output shape (1, 6) is not a YOLO layout")):
        SiteModel(VideoClass.FLAME, spec(wrong, "yolo"))
    with pytest.raises(PluginError, match="not a YOLO layout for 3 classes"):  # declared 3 classes, gives 1
        SiteModel(VideoClass.FLAME, spec(build(tmp_path / "one.onnx", "yolo"), "yolo", ["flame", "smoke", "x"]))
    an = Analyzer(flame_camera(spec(broken, "ssd")))
    assert an.plugins == {} and len(an.warnings) == 1
    assert str(broken) in an.warnings[0] and "rule detector" in an.warnings[0]
    assert an.detect(DARK) == []  # the flame rules run


def test_plant_file_checks_model_entries(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fire names"):
        VideoModel(path="m.onnx", layout="yolo", classes=["flame"], fire=["smoke"])
    with pytest.raises(ValueError, match=r"models\.smoke: the class is not in detect"):
        CameraAnalytics(detect=[VideoClass.FLAME], models={VideoClass.SMOKE: spec(tmp_path / "m.onnx", "ssd")})


def test_a_refused_model_is_tried_again_when_its_file_changes(tmp_path: Path) -> None:
    """A model file that is missing at start, then copied in: the analyser switches the class to it at its
    next look (every 10 s), without a restart; a file that stays broken is not read again until it changes
    or 300 s pass."""
    path = tmp_path / "flame.onnx"
    an = Analyzer(flame_camera(spec(path, "yolo")))
    assert an.plugins == {} and len(an.fallbacks) == 1 and an.fallbacks[0].reason == "missing"
    t0 = 1_800_000_000_000
    assert an.recheck_models(t0) == []  # nothing changed
    build(path, "yolo")
    assert an.recheck_models(t0 + 5_000) == []  # looked at most every 10 s
    assert an.recheck_models(t0 + 10_000) == [VideoClass.FLAME]
    assert VideoClass.FLAME in an.plugins and an.fallbacks == [] and an.warnings == [] and an.refused == {}
    starts = [t for k in range(8) for t in an.process(RED, t0 + 20_000 + 500 * k).triggers]
    assert [t.kind for t in starts] == ["start"] and starts[0].detection is not None
    assert abs(starts[0].detection.box[0] - 160) <= 2 and abs(starts[0].detection.box[2] - 320) <= 2  # the model's box
    # a broken file: tried again when it changes, or after 300 s
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    an = Analyzer(flame_camera(spec(broken, "yolo")))
    assert an.recheck_models(t0) == [] and an.recheck_models(t0 + 10_000) == []
    broken.write_bytes(b"still not a model, longer")
    assert an.recheck_models(t0 + 20_000) == [] and an.refused[VideoClass.FLAME][1] == t0 + 20_000  # tried
    assert an.recheck_models(t0 + 30_000) == [] and an.refused[VideoClass.FLAME][1] == t0 + 20_000  # not
    assert an.recheck_models(t0 + 330_000) == [] and an.refused[VideoClass.FLAME][1] == t0 + 330_000  # 300 s
    assert len(an.fallbacks) == 1
