"""The /video page: the camera grid in real headless Chromium, fed by the simulator's MJPEG cameras through
the relay; live tiles, a dead camera shown as offline with the time since when, the live dialog, filters,
hostile camera names as text, no console error, nothing requested off this machine; 403 for executives.
Screenshots at 1920x1080 and 390x844 go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plant import load_plant
from simulator.cameras import CameraServer
from tests.conftest import free_port
from tests.videoutil import figures, plant_with_cameras
from tests.webutil import ARTIFACTS, browser, logged_in_client, seed_store, serve_app, watch_page

pytestmark = pytest.mark.slow

SIZE = (480, 270)
IMG_READY = """() => { const i = document.querySelector('.sw-video-tile img');
    return i.complete && i.naturalWidth === 640; }"""


@pytest.fixture
def cams(tmp_path: Path) -> Iterator[tuple[Any, CameraServer]]:
    port = free_port()
    dead = free_port()
    sources = {
        "CAM-A": f"http://127.0.0.1:{port}/camera/CAM-A.mjpg",
        "CAM-B": f"http://127.0.0.1:{port}/camera/CAM-B.mjpg",
        "CAM-C": f"http://127.0.0.1:{dead}/camera/CAM-C.mjpg",  # nothing listens: offline
    }
    plant_file = plant_with_cameras(tmp_path, sources)
    settings = seed_store(tmp_path, plant_file)
    with CameraServer(load_plant(plant_file), port=port, people=figures, fps=4, size=SIZE) as srv:
        yield settings, srv


def test_page_for_dispatcher_not_executive(cams) -> None:  # type: ignore[no-untyped-def]
    from app import create_app

    settings, srv = cams
    app = create_app(settings)
    dispatcher = logged_in_client(app, settings, "dispatcher")
    assert dispatcher.get("/video").status_code == 200
    executive = logged_in_client(app, settings, "executive")
    assert executive.get("/video").status_code == 403
    assert executive.get("/video/snapshot/CAM-A.jpg").status_code == 403
    nav = b"\\u002fvideo"  # the layout's JSON escapes "/"
    assert nav not in executive.get("/_dash-layout").data  # no nav entry for executives
    assert nav in dispatcher.get("/_dash-layout").data
    assert srv.stats()["frames"] == 0


def _states(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.sw-video-tile')].map(t =>
            [t.querySelector('.sw-video-id').textContent, t.querySelector('.sw-video-state')?.className || '']))"""
    )


def test_grid_live_offline_and_dialog(cams) -> None:  # type: ignore[no-untyped-def]
    settings, _srv = cams
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, "dispatcher") as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.goto(f"{base}/video")
        page.wait_for_selector(".sw-video-tile", timeout=60_000)
        assert page.locator(".sw-video-tile").count() == 3
        page.wait_for_function(
            """() => document.querySelectorAll('.sw-video-state.is-online').length === 2
                  && document.querySelectorAll('.sw-video-state.is-offline').length === 1""",
            timeout=60_000,
        )
        states = _states(page)
        assert "is-offline" in states["CAM-C"] and "is-online" in states["CAM-A"]
        offline = page.locator(".sw-video-state.is-offline").inner_text()
        assert offline.startswith("Offline since ") and offline[-8:].count(":") == 2
        page.wait_for_function(
            IMG_READY,
            timeout=60_000,
        )
        assert page.get_by_text("Tank farm <script>x</script>").count() == 1  # hostile name as text
        page.wait_for_timeout(1500)  # a couple of refreshes: the images keep coming
        page.screenshot(path=str(ARTIFACTS / "video-wall.png"))

        # filters: the acid area has only the dead tank-farm camera
        page.locator("#video-area").click()
        page.get_by_role("option", name="Acid plant").click()
        page.wait_for_function("() => document.querySelectorAll('.sw-video-tile').length === 1", timeout=30_000)
        assert list(_states(page)) == ["CAM-C"]
        page.locator("#video-area").click()
        page.get_by_role("option").first.click()
        page.wait_for_function("() => document.querySelectorAll('.sw-video-tile').length === 3", timeout=30_000)

        # the live dialog: one stream, closed with the dialog
        page.locator(".sw-video-tile").first.click()
        page.wait_for_selector("#video-live", timeout=30_000)
        assert page.locator("#video-live").get_attribute("src") == "/video/live/CAM-A.mjpg"
        page.wait_for_function(
            "() => { const i = document.querySelector('#video-live'); return i && i.naturalWidth === 640; }",
            timeout=60_000,
        )
        page.screenshot(path=str(ARTIFACTS / "video-wall-live.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector("#video-live", state="detached", timeout=30_000)
        assert not errors, errors
        assert not foreign, foreign

        phone = b.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )  # type: ignore[attr-defined]
        errors, foreign = watch_page(phone)
        phone.goto(f"{base}/video")
        phone.wait_for_function(
            "() => document.querySelectorAll('.sw-video-state.is-online').length === 2", timeout=60_000
        )
        phone.wait_for_function(
            IMG_READY,
            timeout=60_000,
        )
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width  # no sideways scrolling on a phone
        phone.screenshot(path=str(ARTIFACTS / "video-phone.png"))
        assert not errors, errors
        assert not foreign, foreign
