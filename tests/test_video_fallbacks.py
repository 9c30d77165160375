"""A model refused at the video service's start is shown on the screens (issue 21, item 4): the real video
service starts with a site model whose file does not exist (its path hostile text) and one whose output has a
wrong shape (a small ONNX model the test builds); each is an open ``video_model`` event while the service
runs; the shell's health badge (every page) counts them and names each in its tooltip, and ``/video`` lists
them with camera, class, path and reason, in English and Chinese, an on-call user only their areas'; when the
service stops they are gone."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from plant import load_plant
from services.video import VideoService
from store.db import make_engine, session_scope
from store.video import model_fallbacks
from tests.conftest import free_port
from tests.test_video_plugins import build
from tests.videoutil import CAMERAS, MINI_PLANT
from tests.webutil import logged_in_client, router_body, seed_store
from video.detect import Analyzer

HOSTILE = "models/<script>alert(1)</script>.onnx"


def plant_file(tmp_path: Path) -> Path:
    wrong = build(tmp_path / "wrong.onnx", "yolo", out_shape=(1, 6))  # a classifier's shape, not detections
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    dead = free_port()  # nothing listens: the pipelines keep retrying
    models = {
        "CAM-A": {"flame": {"path": HOSTILE, "layout": "ssd", "classes": ["background", "flame"]}},
        "CAM-B": {},
        "CAM-C": {"spill": {"path": str(wrong), "layout": "yolo", "input": [64, 64], "classes": ["spill"]}},
    }
    detect = {"CAM-A": ["flame"], "CAM-B": ["smoke"], "CAM-C": ["spill"]}
    data["cameras"] = [
        {
            **cam,
            "source": f"http://127.0.0.1:{dead}/{cam['id']}.mjpg",
            "analytics": {"detect": detect[cam["id"]], "people": "hi-vis", "models": models[cam["id"]]},
        }
        for cam in CAMERAS
    ]
    data["cameras"][0]["name_zh"] = "熔炼厂房东"
    path = tmp_path / "plant_fallbacks.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def badge_texts(app: Any, lang: str) -> list[tuple[str, str, str]]:
    from webapp.context import LANG_COOKIE
    from webapp.live.video_health import _all_fallbacks
    from webapp.shell.callbacks import update_health

    with app.server.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}={lang}"}):
        _all_fallbacks.expire()
        return [(str(b.children), str(b.title), b.color) for b in update_health(1) if "sw-health-video" in b.className]


def page_texts(app: Any, client: Any, lang: str) -> str:
    from webapp.context import LANG_COOKIE
    from webapp.live.video_health import _all_fallbacks

    with app.server.app_context():
        _all_fallbacks.expire()
    client.set_cookie(LANG_COOKIE, lang)
    client.get("/_dash-dependencies")
    resp = client.post("/_dash-update-component", json=router_body("/video"))
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)


def test_refused_models_show_on_the_health_badge_and_the_video_page(tmp_path: Path) -> None:
    import flask

    from auth.policy import Principal, Role
    from webapp.app import create_app

    settings = seed_store(tmp_path, plant_file(tmp_path))
    plant = load_plant(settings.plant_file)
    db = make_engine(settings.db_url)
    service = VideoService(plant, db, media_root=tmp_path / "media", analyzer_factory=Analyzer)
    app = create_app(settings)
    from webapp.pages import video  # registered by the app

    try:
        service.step(int(time.time() * 1000))
        with session_scope(db) as s:
            got = {(f.camera, f.cls, f.reason, f.what) for f in model_fallbacks(s)}
        assert got == {("CAM-A", "flame", "missing", "site_model"), ("CAM-C", "spill", "shape", "site_model")}
        assert service.pipelines["CAM-B"].analyzer.fallbacks == []

        (en,) = badge_texts(app, "en")
        assert en[0] == "Video: 2 refused" and en[2] == "warning"
        assert (
            f"Smelter hall east (CAM-A): the Flame model {HOSTILE} is refused (the file does not exist); "
            "the rule detector runs instead" in en[1]
        )
        assert (
            "(CAM-C): the Spill or leak model" in en[1]
            and "wrong.onnx is refused (its output has the wrong shape)" in en[1]
        )
        (zh,) = badge_texts(app, "zh")
        assert zh[0] == "视频：2 个模型被拒"
        assert f"熔炼厂房东（CAM-A）：火焰模型 {HOSTILE} 被拒绝（文件不存在），改用规则检测" in zh[1], zh[1]
        assert "输出形状不符" in zh[1]

        dispatcher = logged_in_client(app, settings, "dispatcher")
        page = page_texts(app, dispatcher, "en")
        assert "Video analytics running on a fallback" in page and "video-fallbacks" in page
        assert HOSTILE in page and "its output has the wrong shape" in page
        assert "output shape (1, 6) is not a YOLO layout" in page  # OpenCV's word, as the line's tooltip
        assert "视频分析正在使用后备检测" in page_texts(app, dispatcher, "zh")
        # the page's list keeps to a viewer's areas: an on-call user of the acid area (the tank farm, CAM-C)
        with app.server.test_request_context("/video"):
            flask.g.sw_user = Principal.of(77, "oc-acid", Role.ON_CALL, areas=["acid"])
            (alert,) = video.fallbacks(plant, "en")
            items = [str(li.children) for li in alert.children[1].children]
            assert len(items) == 1 and "(CAM-C)" in items[0]
            flask.g.sw_user = Principal.of(78, "oc-admin", Role.ON_CALL, areas=["admin"])
            assert video.fallbacks(plant, "en") == []
    finally:
        service.close()
    assert badge_texts(app, "en") == []  # the service stopped: its fallbacks are over
    with session_scope(db) as s:
        assert model_fallbacks(s) == []
    db.dispose()


def test_a_refused_model_that_loads_later_closes_its_warning(tmp_path: Path) -> None:
    """The real video service, CAM-C's spill model refused at start (wrong shape); the file is then replaced
    by a good model: the service's next steps try it again (the camera sends no frames: nothing listens),
    the class switches to it and the ``video_model`` event closes, without a restart; CAM-A's stays."""
    settings = seed_store(tmp_path, plant_file(tmp_path))
    plant = load_plant(settings.plant_file)
    db = make_engine(settings.db_url)
    service = VideoService(plant, db, media_root=tmp_path / "media", analyzer_factory=Analyzer)
    try:
        t = int(time.time() * 1000)
        service.step(t)
        with session_scope(db) as s:
            assert {f.camera for f in model_fallbacks(s)} == {"CAM-A", "CAM-C"}
        build(tmp_path / "wrong.onnx", "yolo")  # now a detector's shape
        service.step(t + 1_000)
        deadline = time.monotonic() + 20
        step = 2
        while time.monotonic() < deadline:
            service.step(t + step * 10_000)
            step += 1
            with session_scope(db) as s:
                if {f.camera for f in model_fallbacks(s)} == {"CAM-A"}:
                    break
        with session_scope(db) as s:
            assert {(f.camera, f.cls) for f in model_fallbacks(s)} == {("CAM-A", "flame")}
        an = service.pipelines["CAM-C"].analyzer
        assert isinstance(an, Analyzer) and "spill" in {c.value for c in an.plugins} and an.fallbacks == []
        assert service.stats()["CAM-C"].warnings == []
    finally:
        service.close()
    db.dispose()
