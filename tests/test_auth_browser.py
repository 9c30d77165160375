"""Login in real headless Chromium under the real Content-Security-Policy: the login page in the dark theme on
a wall screen and a phone, login and logout, a page of another role, an open page whose session ends, the
audit page, and every page of the app with hostile labels in the plant file: no script runs, no CSP
violation is reported. Screenshots go to test-artifacts/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dash
import pytest
import yaml

from auth.users import set_active
from settings import Settings
from store.db import make_engine, session_scope
from tests.webutil import (
    ARTIFACTS,
    MINI_PLANT,
    TEST_PASSWORD,
    WAIT_MS,
    browser,
    make_user,
    seed_store,
    serve_app,
    watch_page,
)

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="window.__pwned=1">'
HOSTILE_LINK = "javascript:window.__pwned=2"
HOSTILE_MATH = r"$\href{javascript:window.__pwned=3}{x}$"
# Records every CSP violation the page reports, and every dialog a script might open.
WATCH = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation', e => window.__csp.push("
    "e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));"
)


def _page(b: Any, width: int = 1280, height: int = 900, lang: str | None = None, base: str = "") -> Any:
    """A page under the app's real CSP (no bypass), recording violations, dialogs and console errors."""
    context = b.new_context(viewport={"width": width, "height": height}, bypass_csp=False)
    if lang:
        context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
    page = context.new_page()
    page.add_init_script(WATCH)
    page.sw_dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.sw_dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.sw_errors, page.sw_foreign = watch_page(page)  # type: ignore[attr-defined]
    return page


def _login(page: Any, name: str, password: str = TEST_PASSWORD) -> None:
    page.fill("#sw-login-user", name)
    page.fill("#sw-login-password", password)
    page.click("#sw-login-submit")


def _clean(page: Any) -> None:
    assert page.evaluate("window.__csp") == [], page.evaluate("window.__csp")
    assert page.sw_dialogs == [] and page.evaluate("window.__pwned") is None
    assert not page.sw_foreign, page.sw_foreign


def test_login_page_in_the_dark_theme_on_a_wall_and_a_phone(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    settings = seed_store(tmp_path)
    with serve_app(settings, role=None) as base, browser() as b:
        for width, height, lang in ((1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")):
            page = _page(b, width, height, lang, base)
            page.goto(base + "/")  # no session: to the login page, remembering where we wanted to go
            page.wait_for_selector("#sw-login-user")
            assert page.url.endswith("/login?next=/")
            assert page.locator("h1").inner_text() == ("登录" if lang == "zh" else "Log in")
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert bg == "rgb(14, 17, 22)"  # the app's dark background
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            for sel in ("#sw-login-user", "#sw-login-password", "#sw-login-submit"):
                box = page.locator(sel).bounding_box()
                assert box is not None and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= width
            # the user field takes the focus by itself (autofocus); on a cold browser that can come a moment
            # after the load event, so wait for it rather than read it once
            page.wait_for_function("document.activeElement && document.activeElement.id === 'sw-login-user'")
            page.screenshot(path=str(ARTIFACTS / f"login-{width}x{height}-{lang}.png"))
            _login(page, "nobody", "wrong password")
            page.wait_for_selector(".sw-auth-msg")
            assert page.locator(".sw-auth-msg").inner_text() == (
                "用户名或密码错误。" if lang == "zh" else "Wrong user name or password."
            )
            if width < 800:
                page.screenshot(path=str(ARTIFACTS / f"login-failed-{width}x{height}-{lang}.png"))
            _clean(page)
            assert not page.sw_errors, page.sw_errors
            page.context.close()


def test_login_logout_and_a_page_of_another_role(tmp_path: Path) -> None:
    settings = seed_store(tmp_path)
    make_user(settings, "admin", "ada")
    make_user(settings, "executive", "eve")
    with serve_app(settings, role=None) as base, browser() as b:
        page = _page(b)
        page.goto(base + "/scene")
        page.wait_for_selector("#sw-login-user")
        _login(page, "ada")
        page.wait_for_selector("#scene-deck[data-ready='1']", timeout=60_000)  # back where we wanted to go
        assert page.url == base + "/scene"
        assert page.locator(".sw-user-name").inner_text() == "ada"
        nav = page.locator("#shell-nav").inner_text()
        assert "Audit log" in nav and "Alarms" in nav
        page.click("#shell-logout")
        page.wait_for_selector(".sw-auth-msg")
        assert page.locator(".sw-auth-msg").inner_text() == "You have logged out."
        page.goto(base + "/alarms")
        page.wait_for_selector("#sw-login-user")  # logged out: back to the login page
        _login(page, "eve")
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)  # the alarm list is not for executives: the login
        assert page.url == base + "/"  # sends them to their start page instead
        nav = page.locator("#shell-nav").inner_text()
        assert "Alarms" not in nav and "Audit log" not in nav and "Overview" in nav
        page.goto(base + "/alarms")  # typed in anyway: the server refuses it
        page.wait_for_selector("#sw-forbidden-home")
        assert "not available for your role" in page.locator(".sw-auth-msg").inner_text()
        page.screenshot(path=str(ARTIFACTS / "forbidden-1280x900-en.png"))
        page.click("#sw-forbidden-home")
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        _clean(page)
        assert [e for e in page.sw_errors if "status of 403" not in e] == []  # only the refused page itself


def test_an_open_page_goes_to_login_when_its_session_ends(tmp_path: Path) -> None:
    settings = seed_store(tmp_path)
    make_user(settings, "dispatcher", "dan")
    with serve_app(settings, role=None) as base, browser() as b:
        page = _page(b)
        page.goto(base + "/")
        _login(page, "dan")
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        engine = make_engine(settings.db_url)
        try:
            with session_scope(engine) as session:  # an administrator disables dan: his sessions end at once
                set_active(session, "dan", False, actor="ada", address="10.0.0.1")
        finally:
            engine.dispose()
        page.wait_for_url("**/login?expired=1&next=%2F", timeout=WAIT_MS)  # the next refresh got 401
        page.wait_for_selector(".sw-auth-msg")
        assert page.locator(".sw-auth-msg").inner_text() == "Your session has ended. Please log in again."
        assert page.evaluate("window.__csp") == []


def _until(page: Any, expression: str, timeout_s: float = 20) -> None:
    """Wait until ``expression`` is true in the page (Playwright's wait_for_function needs eval, which the
    CSP forbids; evaluate() does not)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(200)


def _audit_rows(page: Any) -> list[str]:
    return page.locator("#audit-result tbody tr").all_inner_texts()


def test_audit_page_searches_and_shows_hostile_text_as_text(tmp_path: Path) -> None:
    settings = seed_store(tmp_path)
    make_user(settings, "admin", "ada")
    with serve_app(settings, role=None) as base, browser() as b:
        page = _page(b)
        page.goto(base + "/login")
        _login(page, HOSTILE, "wrong password 1")  # someone types markup as a user name
        page.wait_for_selector(".sw-auth-msg")
        _login(page, "ada")
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        page.goto(base + "/admin/audit")
        page.wait_for_selector("#audit-result tbody tr", timeout=WAIT_MS)
        rows = _audit_rows(page)
        assert any("Login" in r and "ada" in r for r in rows) and any(HOSTILE[:40] in r for r in rows)
        page.select_option("#audit-event", "login_failed")
        _until(page, "document.querySelectorAll('#audit-result tbody tr').length === 1")
        (row,) = _audit_rows(page)
        assert "Login failed" in row and HOSTILE in row and "127.0.0.1" in row and "unknown user" in row
        assert page.locator("#audit-result img").count() == 0
        page.fill("#audit-user", "no-such-user")
        page.press("#audit-user", "Enter")
        page.wait_for_selector("#audit-result >> text=No entry matches.", timeout=WAIT_MS)
        page.fill("#audit-from", "nonsense")
        page.press("#audit-from", "Enter")
        page.wait_for_selector("#audit-result >> text=Give times as YYYY-MM-DD HH:MM, in plant time.", timeout=WAIT_MS)
        page.fill("#audit-from", "2020-01-01 00:00")
        page.fill("#audit-user", "")
        page.press("#audit-user", "Enter")
        _until(page, "document.querySelectorAll('#audit-result tbody tr').length === 1")
        page.screenshot(path=str(ARTIFACTS / "audit-1280x900-en.png"))
        _clean(page)
        assert not page.sw_errors, page.sw_errors


def _hostile_plant(tmp_path: Path) -> Path:
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    data["site"]["name"] = HOSTILE
    data["site"]["name_zh"] = HOSTILE_MATH
    data["areas"][0]["name"] = HOSTILE_LINK
    for i, zone in enumerate(data["zones"]):
        zone["name"] = (HOSTILE, HOSTILE_LINK, HOSTILE_MATH)[i % 3]
    for i, eq in enumerate(data["equipment"]):
        eq["name"] = (HOSTILE_MATH, HOSTILE)[i % 2]
    for bd in data["badges"][:3]:
        bd["name"] = HOSTILE
    for tag in data["tags"][:20]:
        tag["description"] = HOSTILE_MATH
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_every_page_with_hostile_plant_labels_runs_no_script_and_breaks_no_csp(tmp_path: Path) -> None:
    settings: Settings = seed_store(tmp_path, plant_file=_hostile_plant(tmp_path))
    paths = sorted(p["path"] for p in dash.page_registry.values())
    with serve_app(settings, role="admin") as base, browser() as b:
        for lang in ("en", "zh"):
            page = _page(b, 1600, 1000, lang, base)
            for path in paths:
                page.goto(base + path)
                page.wait_for_selector("#_pages_content > *", timeout=WAIT_MS)
                page.wait_for_timeout(2500)  # a refresh or two
                assert page.evaluate("document.querySelectorAll('img[src=x], a[href^=javascript]').length") == 0
                assert page.evaluate("window.__csp") == [], (path, page.evaluate("window.__csp"))
                assert page.sw_dialogs == [] and page.evaluate("window.__pwned") is None, path
            assert not page.sw_errors, page.sw_errors
            assert not page.sw_foreign, page.sw_foreign
            page.context.close()
