"""Cameras on the 3D scene: a video alarm marks its camera and zone in the live payload (alarm rows in a real
SQLite store), a camera's panel carries the live view for a dispatcher and neither the image nor its address
for an executive (asked over HTTP with real sessions), and in real headless Chromium a click on a highlighted
camera opens its live view from a real MJPEG camera through the relay, which ends when the panel closes or
the page changes. Screenshots at 1920x1080 and 390x844 go to test-artifacts/ (scene-camera-*.png)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from plant import load_plant
from scene.details import camera_alarms
from scene.layers import video_markers
from settings import Settings
from simulator.cameras import CameraServer
from store.db import make_engine, session_scope
from store.models import Alarm
from tests.conftest import free_port
from tests.videoutil import camera_sources, figures, plant_with_cameras, wait_for
from tests.webutil import (
    ARTIFACTS,
    WAIT_MS,
    as_user,
    browser,
    callback_body,
    logged_in_client,
    phone_page,
    seed_store,
    watch_page,
)

SIZE = (480, 270)
CALLBACK_RULE = "/_dash-update-component"


def _alarm(aid: str, **kw: Any) -> Alarm:
    now = int(time.time() * 1000)
    values: dict[str, Any] = {
        "id": aid,
        "source_type": "video",
        "condition": "flame",
        "source": "CAM-A",
        "camera": "CAM-A",
        "area": "smelting",
        "zone": "smelter-hall",
        "priority": "urgent",
        "active": True,
        "acked": False,
        "suppressed": False,
        "out_of_service": False,
        "activated_at": now - 5000,
        "message": "Flame seen by CAM-A",
        "updated_at": now - 5000,
    }
    values.update(kw)
    return Alarm(**values)


# Video alarms in every state that matters: CAM-A has two annunciated ones (flame unacked, no hard hat
# acked), CAM-B one that returned and was acknowledged (normal: not shown), CAM-C one that is shelved; a
# personnel alarm in the tank farm is no video alarm.
ALARMS: list[dict[str, Any]] = [
    {"aid": "video:1"},
    {"aid": "video:2", "condition": "no_hardhat", "priority": "medium", "acked": True},
    {
        "aid": "video:3",
        "condition": "smoke",
        "priority": "high",
        "source": "CAM-B",
        "camera": "CAM-B",
        "zone": "converter-aisle",
        "active": False,
        "acked": True,
    },
    {
        "aid": "video:4",
        "condition": "intrusion",
        "priority": "high",
        "source": "CAM-C",
        "camera": "CAM-C",
        "area": "acid",
        "zone": "tank-farm",
        "shelved_until": int(time.time() * 1000) + 3_600_000,
        "shelved_by": "test",
    },
    {
        "aid": "violation:9",
        "source_type": "personnel",
        "condition": "forbidden_zone",
        "source": "P002",
        "camera": None,
        "badge": "P002",
        "area": "acid",
        "zone": "tank-farm",
    },
]


def add_alarms(settings: Settings, rows: list[dict[str, Any]]) -> None:
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            for row in rows:
                kw = dict(row)
                session.add(_alarm(kw.pop("aid"), **kw))
    finally:
        engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> Settings:
    """The mini plant with three cameras (no stream behind them) and the alarms above in a SQLite store."""
    settings = seed_store(tmp_path, plant_with_cameras(tmp_path))
    add_alarms(settings, ALARMS)
    return settings


# --- payload -------------------------------------------------------------------------------------------


def test_video_markers_from_alarm_rows(tmp_path: Path) -> None:
    plant = load_plant(plant_with_cameras(tmp_path))
    cams = [c.id for c in plant.cameras]
    zones = [z.id for z in plant.zones]
    rows = [
        {"source_type": "video", "state": "active_acked", "camera": "CAM-B", "zone": "converter-aisle",
         "priority": "medium", "acked": True, "condition": "no_hardhat"},
        {"source_type": "video", "state": "returned_unacked", "camera": "CAM-B", "zone": "converter-aisle",
         "priority": "high", "acked": False, "condition": "spill"},
        {"source_type": "video", "state": "active_acked", "camera": "CAM-B", "zone": "converter-aisle",
         "priority": "low", "acked": True, "condition": "spill"},
        {"source_type": "video", "state": "shelved", "camera": "CAM-A", "zone": "smelter-hall",
         "priority": "urgent", "acked": False, "condition": "flame"},
        {"source_type": "video", "state": "active_unacked", "camera": "NO-SUCH-CAM", "zone": "office",
         "priority": "urgent", "acked": False, "condition": "smoke"},
        {"source_type": "process", "state": "active_unacked", "camera": "CAM-C", "zone": "tank-farm",
         "priority": "urgent", "acked": False, "condition": "HH"},
    ]  # fmt: skip
    got = video_markers(plant, rows)
    # CAM-B: most urgent of its alarms (high), one unacknowledged, each class once; the shelved flame and the
    # process alarm mark nothing; an unknown camera still outlines its zone
    assert got["vc"] == [[cams.index("CAM-B"), 1, 1, ["no_hardhat", "spill"]]]
    assert got["vz"] == sorted([zones.index("converter-aisle"), zones.index("office")])
    assert video_markers(plant, []) == {"vc": [], "vz": []}
    # the zone comes from the camera when the alarm has none
    no_zone = [dict(rows[0], zone=None)]
    assert video_markers(plant, no_zone)["vz"] == [zones.index("converter-aisle")]
    listed = camera_alarms("CAM-B", rows)
    order = [(a["class"], a["priority"]) for a in listed]
    assert order == [("spill", "high"), ("no_hardhat", "medium"), ("spill", "low")]


def _page_module() -> Any:
    import sys

    import dash

    entry = next(p for p in dash.page_registry.values() if p["path"] == "/scene")
    return sys.modules[entry["module"]]


def test_live_payload_marks_camera_and_zone(store: Settings) -> None:
    from webapp.app import create_app
    from webapp.live.alarms import alarm_snapshot
    from webapp.live.scene import live_payload

    app = create_app(store)
    plant = load_plant(store.plant_file)
    page = _page_module()
    with app.server.test_request_context("/"):
        alarm_snapshot.expire()
        live_payload.expire()
        live = page.refresh(1)
        cams = [c.id for c in plant.cameras]
        zones = [z.id for z in plant.zones]
        assert live["vc"] == [[cams.index("CAM-A"), 0, 1, ["flame", "no_hardhat"]]]
        assert live["vz"] == [zones.index("smelter-hall")]
        # the alarm markers still show the video alarms at their zone, the personnel one at its zone
        assert {m[7] for m in live["al"] if m[6] == 1} == {zones.index("smelter-hall"), zones.index("tank-farm")}
        extra = json.dumps({"vc": live["vc"], "vz": live["vz"]}, separators=(",", ":"))
        assert len(extra) < 200, extra  # a few bytes per camera with alarms

    # no video alarm: nothing added to the payload at all
    engine = make_engine(store.db_url)
    with session_scope(engine) as session:
        for a in session.query(Alarm).filter(Alarm.source_type == "video"):
            a.active, a.acked = False, True
    engine.dispose()
    with app.server.test_request_context("/"):
        alarm_snapshot.expire()
        live_payload.expire()
        live = page.refresh(2)
        assert "vc" not in live and "vz" not in live


# --- the camera panel over HTTP --------------------------------------------------------------------------


def _panel_key(app: Any) -> str:
    keys = [k for k, v in app.callback_map.items() if "scene-live-view.children" in k and "callback" in v]
    key = next(k for k in keys if "scene-panel.is_open" in k)
    return key


def _open_panel(client: Any, key: str, camera: str, lang: str = "en") -> str:
    from webapp.context import LANG_COOKIE

    body = callback_body(
        key,
        [{"id": "scene-selected", "property": "data", "value": {"type": "camera", "id": camera, "n": 1}}],
        [],
        ["scene-selected.data"],
    )
    client.set_cookie(LANG_COOKIE, lang)
    r = client.post(CALLBACK_RULE, json=body)
    assert r.status_code == 200, r.data[:300]
    return json.dumps(r.get_json(), ensure_ascii=False)


def _refresh_panel(client: Any, app: Any, camera: str) -> str:
    key = next(
        k
        for k, v in app.callback_map.items()
        if k.startswith("scene-panel-body.children") and "callback" in v and v["callback"].__name__ == "refresh_panel"
    )
    body = {
        "output": key,
        "outputs": {"id": "scene-panel-body", "property": "children"},
        "inputs": [{"id": "shell-tick", "property": "n_intervals", "value": 3}],
        "state": [
            {"id": "scene-selected", "property": "data", "value": {"type": "camera", "id": camera}},
            {"id": "scene-panel", "property": "is_open", "value": True},
        ],
        "changedPropIds": ["shell-tick.n_intervals"],
    }
    r = client.post(CALLBACK_RULE, json=body)
    assert r.status_code == 200, r.data[:300]
    return json.dumps(r.get_json(), ensure_ascii=False)


def test_camera_panel_live_view_for_dispatcher_not_executive(store: Settings) -> None:
    from webapp.app import create_app

    app = create_app(store)
    dispatcher = logged_in_client(app, store, "dispatcher")
    assert dispatcher.get("/_dash-dependencies").status_code == 200  # Dash set up: the callback map is filled
    key = _panel_key(app)
    text = _open_panel(dispatcher, key, "CAM-A")
    answer = json.loads(text)["response"]
    img = answer["scene-live-view"]["children"]["props"]["children"]
    assert img["type"] == "Img" and img["props"]["src"] == "/video/live/CAM-A.mjpg"
    assert answer["scene-panel"]["title"] == "Smelter hall east"
    body = json.dumps(answer["scene-panel-body"], ensure_ascii=False)
    assert "Flame" in body and "No hard hat" in body and "Urgent" in body  # its alarms, by class
    assert '"href": "/video"' in body and "Cameras and video alarms" in body
    assert "Connecting" in body  # nobody watches yet: the relay has no capture of it
    assert "Flame" in _refresh_panel(dispatcher, app, "CAM-A")
    # a camera without alarms, and the panel of something else empties the live view
    quiet = json.loads(_open_panel(dispatcher, key, "CAM-B"))["response"]
    assert "No video alarm." in json.dumps(quiet["scene-panel-body"])  # the returned, acked smoke is over
    assert quiet["scene-live-view"]["children"]["props"]["children"]["props"]["src"] == "/video/live/CAM-B.mjpg"
    hostile = json.loads(_open_panel(dispatcher, key, "CAM-C"))["response"]
    assert hostile["scene-panel"]["title"] == "Tank farm <script>x</script>"  # a plain string: Dash shows text
    assert hostile["scene-live-view"]["children"]["props"]["children"]["props"]["alt"].endswith("<script>x</script>")
    zh = json.loads(_open_panel(dispatcher, key, "CAM-A", "zh"))["response"]
    assert "火焰" in json.dumps(zh["scene-panel-body"], ensure_ascii=False)

    executive = logged_in_client(app, store, "executive")
    for lang in ("en", "zh"):
        text = _open_panel(executive, key, "CAM-A", lang)
        answer = json.loads(text)["response"]
        assert answer["scene-live-view"]["children"] is None  # no image...
        assert "/video" not in text and "\\u002fvideo" not in text and ".mjpg" not in text  # ...nor its address
        body = json.dumps(answer["scene-panel-body"], ensure_ascii=False)
        assert ("Flame" if lang == "en" else "火焰") in body  # but that the camera has an alarm
        assert "fps" not in body and "Connecting" not in body  # no stream status either
        refreshed = _refresh_panel(executive, app, "CAM-A")
        assert "/video" not in refreshed and ".mjpg" not in refreshed
    assert executive.get("/video/live/CAM-A.mjpg").status_code == 403  # the route is closed to them too


# --- in the browser ----------------------------------------------------------------------------------------


@contextmanager
def serve(settings: Settings, role: str) -> Iterator[tuple[str, Any]]:
    """The real app on a free port, every browser logged in as ``role``; its base URL and the app."""
    from webapp.app import create_app

    app = as_user(create_app(settings), settings, role)
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def cams(tmp_path: Path) -> Iterator[tuple[Settings, CameraServer]]:
    port = free_port()
    sources = camera_sources(port)
    plant_file = plant_with_cameras(tmp_path, sources)
    settings = seed_store(tmp_path, plant_file)
    add_alarms(settings, ALARMS[:2])  # CAM-A: a flame, unacknowledged
    with CameraServer(load_plant(plant_file), port=port, people=figures, fps=4, size=SIZE) as srv:
        yield settings, srv


def _viewers(app: Any, camera: str) -> int:
    from video.relay import EXTENSION

    return int(app.server.extensions[EXTENSION].stats().get(camera, {}).get("viewers", 0))


LIT = "() => document.getElementById('scene-deck').swScene.pulse === false"
LIVE_READY = "() => { const i = document.querySelector('#scene-live-img'); return i && i.naturalWidth === 640; }"


@pytest.mark.slow
def test_click_camera_opens_live_view(cams: tuple[Settings, CameraServer]) -> None:
    from tests.test_scene_browser import _click_until_panel, _open_scene, _screen_point

    settings, _srv = cams
    plant = load_plant(settings.plant_file)
    cam = next(c for c in plant.cameras if c.id == "CAM-A")
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(settings, "dispatcher") as (base, app), browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        _open_scene(page, base)
        scene = page.evaluate(
            "(() => { const s = document.getElementById('scene-deck').swScene;"
            " return {layers: s.deck.props.layers.map(l => l.id), vc: s.live.vc, vz: s.live.vz}; })()"
        )
        assert {"video-cams", "video-cones", "video-zones", "video-labels"} <= set(scene["layers"])
        assert scene["vc"] == [[0, 0, 1, ["flame", "no_hardhat"]]]
        x, y = _screen_point(page, list(cam.position))
        page.mouse.move(x, y)
        tip = page.locator(".sw-scene-tip")
        tip.wait_for(state="visible", timeout=WAIT_MS)
        assert "Video alarm: Flame, No hard hat" in tip.inner_text()
        _click_until_panel(page, x, y)
        page.wait_for_function(LIVE_READY, timeout=60_000)  # frames from the camera, reduced by the relay
        assert page.locator("#scene-live-img").get_attribute("src") == "/video/live/CAM-A.mjpg"
        panel = page.locator("#scene-panel")
        page.wait_for_selector("#scene-panel .sw-cam-state.is-online", timeout=WAIT_MS)  # the next refresh
        text = panel.inner_text()
        assert "Smelter hall east" in text and "Flame" in text and "Cameras and video alarms" in text
        assert _viewers(app, "CAM-A") == 1
        page.mouse.move(1800, 1000)  # over the panel: no tooltip over the highlight
        page.wait_for_timeout(1000)
        page.wait_for_function(LIT, timeout=10_000)  # the flashing highlight at its brightest
        page.screenshot(path=str(ARTIFACTS / "scene-camera-wall.png"))

        # another camera selected while the panel is open: its stream replaces the first one
        page.evaluate(
            "() => window.dash_clientside.set_props('scene-selected', {data: {type: 'camera', id: 'CAM-B', n: 2}})"
        )
        page.wait_for_function(
            "() => document.querySelector('#scene-live-img')?.getAttribute('src') === '/video/live/CAM-B.mjpg'",
            timeout=WAIT_MS,
        )
        wait_for(lambda: _viewers(app, "CAM-B") == 1 and _viewers(app, "CAM-A") == 0, timeout=60)

        # closing the panel removes the image: the stream ends and the relay has no viewer left
        panel.locator(".btn-close").click()
        page.wait_for_selector("#scene-live-img", state="detached", timeout=WAIT_MS)
        wait_for(lambda: _viewers(app, "CAM-B") == 0, timeout=60)

        # open it again, then leave the page: the stream ends too
        _click_until_panel(page, x, y)
        page.wait_for_function(LIVE_READY, timeout=60_000)
        wait_for(lambda: _viewers(app, "CAM-A") == 1, timeout=30)
        assert not errors, errors
        assert not foreign, foreign
        page.locator("#scene-panel a[href='/video']").click()
        page.wait_for_url(f"{base}/video", timeout=WAIT_MS)
        wait_for(lambda: _viewers(app, "CAM-A") == 0, timeout=60)
        page.close()

        # phone: the panel is a bottom sheet with the live view on top
        phone = phone_page(b)
        errors, foreign = watch_page(phone)
        _open_scene(phone, base)
        x, y = _screen_point(phone, list(cam.position))
        deck = phone.locator("#scene-deck").bounding_box()
        assert deck["y"] < y < deck["y"] + deck["height"] and 0 < x < 390  # the camera is on screen
        phone.wait_for_function(LIT, timeout=10_000)
        phone.screenshot(path=str(ARTIFACTS / "scene-camera-phone.png"))  # highlighted, with its zone
        _click_until_panel(phone, x, y, tap=True)
        phone.wait_for_function(LIVE_READY, timeout=60_000)
        phone.wait_for_timeout(1000)  # the sheet slides in
        frame = phone.locator(".sw-scene-live-frame").bounding_box()
        assert frame is not None and frame["width"] >= 300
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width
        phone.screenshot(path=str(ARTIFACTS / "scene-camera-phone-panel.png"))
        assert not errors, errors
        assert not foreign, foreign
