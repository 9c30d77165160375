"""Kiosk mode in real headless Chromium: no navigation chrome, pages rotating with the query string kept,
and a screen that recovers by itself when the server is stopped and started again on the same port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from settings import Settings
from tests.conftest import free_port
from tests.webutil import ARTIFACTS, WAIT_MS, as_user, browser, seed_store

pytestmark = pytest.mark.slow


@contextmanager
def running(settings: Settings, port: int) -> Iterator[BaseWSGIServer]:
    """The real app on ``port`` until the block ends (a fresh app each time, as after a restart)."""
    from webapp.app import create_app

    app = as_user(create_app(settings), settings)  # a logged-in wall screen
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_kiosk_hides_chrome_and_rotates_pages(tmp_path: Path) -> None:
    settings = seed_store(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    still = "?kiosk=1&pages=/,/kiosk-second&every=600&lang=zh"  # no turn while the first page is looked at
    query = "?kiosk=1&pages=/,/kiosk-second&every=8&lang=zh"
    with running(settings, port), browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page.goto(base + "/" + still)
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        assert page.evaluate("document.documentElement.classList.contains('sw-kiosk')")
        assert not page.locator("#shell-nav").is_visible()
        assert not page.locator("#shell-lang").is_visible()
        assert page.locator("#shell-clock").is_visible()  # the slim status strip stays
        assert page.locator("h1").inner_text() == "全厂总览"  # &lang=zh set the screen's language
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "kiosk-1920x1080-zh.png"))
        # Every 8 s (a busy machine may take longer than that to show the page: the checks above come first).
        page.goto(base + "/" + query)
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        page.evaluate("window.__sw_same_page = 1")
        # After the period the next page shows, in the same document, with the kiosk query kept.
        page.wait_for_function("location.pathname === '/kiosk-second'", timeout=WAIT_MS)
        assert page.evaluate("location.search") == query
        page.wait_for_selector(".sw-tile", state="detached", timeout=WAIT_MS)
        # ... and then the first one again.
        page.wait_for_function("location.pathname === '/'", timeout=WAIT_MS)
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        assert page.evaluate("location.search") == query
        assert page.evaluate("window.__sw_same_page") == 1  # rotated without reloading
        assert not page.locator("#shell-nav").is_visible()


def test_kiosk_screen_recovers_after_a_server_restart(tmp_path: Path) -> None:
    settings = seed_store(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        with running(settings, port):
            page.goto(base + "/?kiosk=1&every=600")
            page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
            assert not page.locator("#shell-offline").is_visible()
            page.evaluate("window.__sw_before_restart = 1")
        # Server gone: the watchdog shows the offline banner.
        page.wait_for_function("document.documentElement.classList.contains('sw-is-offline')", timeout=WAIT_MS)
        assert page.locator("#shell-offline").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "kiosk-offline-1920x1080-en.png"))
        # Server back on the same port: the page reloads itself (the marker is gone) and shows data again.
        with running(settings, port):
            page.wait_for_function("window.__sw_before_restart === undefined", timeout=WAIT_MS)
            page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
            assert page.evaluate("location.search") == "?kiosk=1&every=600"
            assert not page.locator("#shell-offline").is_visible()
            assert not page.locator("#shell-nav").is_visible()
