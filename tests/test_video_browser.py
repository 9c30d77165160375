"""The video alarm feed of /video in real headless Chromium: detections as the video service writes them (event
rows and media files under the media root, made with OpenCV), alarms from the real alarm service, the feed
newest first with thumbnails, a class filter, the event dialog with snapshot and clip replay, mark false
positive with its confirmation and the alarm service's answer; hostile texts as text, no console error,
nothing requested off this machine. Screenshots at 1920x1080 and 390x844 go to test-artifacts/."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from plant import load_plant
from simulator.cameras import CameraServer
from tests.conftest import free_port
from tests.test_video_page import HOSTILE, add_detections
from tests.videoutil import camera_sources, figures, plant_with_cameras
from tests.webutil import ARTIFACTS, WAIT_MS, browser, phone_page, run_alarm_service, seed_store, serve_app, watch_page

pytestmark = pytest.mark.slow

SIZE = (480, 270)
DETECTIONS = [
    ("CAM-A", "smelter-hall", "flame", 300_000),
    ("CAM-B", "converter-aisle", "no_hardhat", 200_000),
    ("CAM-A", "smelter-hall", "smoke", 120_000),
    ("CAM-C", "tank-farm", "spill", 30_000),
]
COLORS = {"flame": (0, 80, 255), "no_hardhat": (0, 200, 255), "smoke": (160, 160, 160), "spill": (200, 120, 0)}


def frame(cls: str, i: int) -> np.ndarray:
    """A 640x360 scene with the detection's box drawn, moving a little from frame to frame."""
    img = np.full((360, 640, 3), (38, 32, 28), np.uint8)
    cv2.rectangle(img, (0, 250), (640, 360), (60, 60, 70), -1)
    x = 220 + 4 * i
    cv2.circle(img, (x + 50, 190), 45, COLORS[cls], -1)
    cv2.rectangle(img, (x, 130), (x + 100, 250), (0, 0, 255), 3)
    cv2.putText(img, f"{cls} 0.87", (x, 122), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2)
    return img


def write_media(root: Path, event_id: int, cls: str) -> None:
    """Snapshot, thumbnail and clip of one event in the contract's layout (``<root>/<id>/...``)."""
    folder = root / str(event_id)
    folder.mkdir(parents=True, exist_ok=True)
    snap = frame(cls, 0)
    assert cv2.imwrite(str(folder / "snapshot.jpg"), snap)
    assert cv2.imwrite(str(folder / "thumb.jpg"), cv2.resize(snap, (320, 180)))
    writer = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (640, 360))
    try:
        for i in range(25):
            writer.write(frame(cls, i))
    finally:
        writer.release()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Any, list[int]]]:
    port = free_port()
    sources = camera_sources(port)
    plant_file = plant_with_cameras(tmp_path, sources)
    settings = seed_store(tmp_path, plant_file)
    ids = add_detections(settings, DETECTIONS)
    for eid, (_cam, _zone, cls, _ago) in zip(ids, DETECTIONS, strict=True):
        write_media(Path(settings.media_path), eid, cls)
    run_alarm_service(settings)  # the detections become alarms video:<id>
    with CameraServer(load_plant(plant_file), port=port, people=figures, fps=4, size=SIZE) as _srv:
        yield settings, ids


def _items(page: Any) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('.sw-vf-item')].map(e => e.id)")


THUMBS_READY = """() => { const els = [...document.querySelectorAll('.sw-vf-thumb-img')];
    return els.length > 0 && els.every(e => getComputedStyle(e).backgroundImage.includes('thumb.jpg')); }"""


def test_feed_dialog_and_false_positive(site) -> None:  # type: ignore[no-untyped-def]
    settings, ids = site
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, "dispatcher") as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.goto(f"{base}/video")
        page.wait_for_function(f"() => document.querySelectorAll('.sw-vf-item').length === {len(ids)}", timeout=60_000)
        shown = _items(page)
        assert [int(s.split('"index":')[1].split(",")[0].rstrip("}")) for s in shown] == list(reversed(ids))
        first = page.locator(".sw-vf-item").first
        assert first.locator(".sw-vf-class").inner_text() == "Spill or leak"
        assert "Tank farm <script>x</script>" in first.locator(".sw-vf-where").inner_text()  # hostile name as text
        assert first.locator(".sw-vf-state").inner_text() == "Unacknowledged"
        page.wait_for_function(THUMBS_READY, timeout=WAIT_MS)
        page.wait_for_selector(".sw-video-state.is-online", timeout=60_000)
        page.wait_for_timeout(1000)  # thumbnails and camera tiles painted
        page.screenshot(path=str(ARTIFACTS / "video-feed-wall.png"))

        # the class filter
        page.locator("#video-feed-class").click()
        page.get_by_role("option", name="Flame").click()
        page.wait_for_function("() => document.querySelectorAll('.sw-vf-item').length === 1", timeout=WAIT_MS)
        assert page.locator(".sw-vf-item .sw-vf-class").inner_text() == "Flame"
        page.locator("#video-feed-class").click()
        page.get_by_role("option", name="All detections").click()
        page.wait_for_function(f"() => document.querySelectorAll('.sw-vf-item').length === {len(ids)}", timeout=WAIT_MS)

        # the dialog: snapshot, clip replay, download; the hostile message as text
        target = ids[-1]
        page.locator(".sw-vf-item").first.click()
        page.wait_for_selector("#video-event-clip", timeout=WAIT_MS)
        assert page.locator("#video-event-clip").get_attribute("src") == f"/video/media/{target}/clip.mjpg"
        assert page.locator("#video-event-snapshot").get_attribute("src") == f"/video/media/{target}/snapshot.jpg"
        assert page.locator("#video-event-download").get_attribute("href") == f"/video/media/{target}/clip.avi"
        page.wait_for_function(
            """() => ['#video-event-snapshot', '#video-event-clip'].every(s => {
                const i = document.querySelector(s); return i && i.complete && i.naturalWidth === 640; })""",
            timeout=60_000,
        )
        page.wait_for_selector("#video-event-info dd", timeout=WAIT_MS)
        assert page.get_by_text(f"spill {HOSTILE}").count() == 1
        assert page.locator("#video-event-title").inner_text() == "Spill or leak · Tank farm <script>x</script>"
        page.screenshot(path=str(ARTIFACTS / "video-feed-dialog.png"))

        # mark false positive: a confirmation first, then the request, then the alarm service's answer
        page.locator("#video-event-fp").click()
        page.wait_for_selector("#video-event-confirm:not([hidden])", timeout=WAIT_MS)
        page.locator("#video-event-confirm-yes").click()
        page.wait_for_selector("#video-event-result .alert", timeout=WAIT_MS)
        assert "request(s) sent" in page.locator("#video-event-result").inner_text()
        stop = threading.Event()

        def service() -> None:  # the alarm service, stepping while the page waits for its answer
            while not stop.is_set():
                run_alarm_service(settings)
                time.sleep(0.5)

        worker = threading.Thread(target=service, daemon=True)
        worker.start()
        try:
            page.wait_for_function(
                "() => (document.querySelector('#video-event-result')?.innerText || '').includes('1 done')",
                timeout=60_000,
            )
        finally:
            stop.set()
            worker.join(30)
        page.wait_for_function(
            "() => (document.querySelector('#video-event-info')?.innerText || '').includes('False positive')",
            timeout=WAIT_MS,
        )
        assert page.locator("#video-event-fp").is_disabled() and page.locator("#video-event-ack").is_disabled()
        page.screenshot(path=str(ARTIFACTS / "video-feed-dialog-fp.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector("#video-event-clip", state="detached", timeout=WAIT_MS)
        page.wait_for_function(
            """() => { const f = document.querySelector('.sw-vf-item');
                return f && f.querySelector('.sw-vf-verdict')?.innerText === 'False positive'
                    && f.querySelector('.sw-vf-state')?.innerText === 'Acknowledged'; }""",
            timeout=WAIT_MS,
        )
        # a link to one detection opens its dialog
        page.goto(f"{base}/video?event={ids[0]}")
        page.wait_for_function(
            """() => { const i = document.querySelector('#video-event-clip');
                return i && i.complete && i.naturalWidth === 640; }""",
            timeout=60_000,
        )
        page.wait_for_function(
            "() => (document.querySelector('#video-event-title')?.innerText || '').startsWith('Flame')", timeout=WAIT_MS
        )
        page.keyboard.press("Escape")
        page.wait_for_selector("#video-event-clip", state="detached", timeout=WAIT_MS)
        assert not errors, errors
        assert not foreign, foreign

        phone = phone_page(b)
        errors, foreign = watch_page(phone)
        phone.goto(f"{base}/video")
        phone.wait_for_function(f"() => document.querySelectorAll('.sw-vf-item').length === {len(ids)}", timeout=60_000)
        phone.wait_for_function(THUMBS_READY, timeout=WAIT_MS)
        phone.wait_for_timeout(1000)
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width  # no sideways scrolling on a phone
        phone.screenshot(path=str(ARTIFACTS / "video-feed-phone.png"))
        phone.locator(".sw-vf-item").nth(1).click()
        phone.wait_for_function(
            """() => { const i = document.querySelector('#video-event-snapshot');
                return i && i.complete && i.naturalWidth === 640; }""",
            timeout=60_000,
        )
        phone.wait_for_selector("#video-event-info dd", timeout=WAIT_MS)
        phone.wait_for_timeout(500)
        phone.screenshot(path=str(ARTIFACTS / "video-feed-phone-dialog.png"))
        assert not errors, errors
        assert not foreign, foreign
