"""Helpers for web tests: a seeded store, the real app served on a free port, headless Chromium."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from werkzeug.serving import make_server

from engine.types import SampleIn
from plant import load_plant
from settings import ROOT, Settings
from store.db import make_engine, migrate, session_scope
from store.health import upsert_health
from store.models import Alarm
from store.samples import write_samples
from store.tags import sync_tags
from tests.conftest import free_port

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# How long a browser test waits for what must appear. Generous: on a busy machine (the suite in parallel
# beside other work) software WebGL and the page's refreshes are slow; a passing test never waits it out.
WAIT_MS = 60_000

MINI_PLANT = ROOT / "tests" / "fixtures" / "mini_plant.yaml"
CALLBACK = "/_dash-update-component"
ROUTER_KEY = ".._pages_content.children..._pages_store.data.."
MIN = 60_000
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def seed_store(tmp_path: Path, plant_file: Path = MINI_PLANT) -> Settings:
    """A SQLite store with a plant's tags, one value per live tag (some beyond limits), and health."""
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'web.db'}", plant_file=plant_file)
    migrate(settings.db_url)
    plant = load_plant(settings.plant_file)
    engine = make_engine(settings.db_url)
    now = int(time.time() * 1000)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
        samples = []
        for i, tag in enumerate(plant.tags):
            if tag.kind.value in ("position", "sos"):
                continue
            value = tag.nominal if tag.nominal is not None else 1.0
            if tag.limits is not None and tag.limits.hh is not None and i % 7 == 0:
                value = tag.limits.hh * 1.1 + 1  # a few violations to show
            samples.append(SampleIn(ids[tag.id], now - 1000, float(value), 0))
        write_samples(session, samples)
        for ep in plant.endpoints:
            upsert_health(
                session,
                ep.id,
                url=ep.url,
                connected=True,
                updated_at=now,
                last_data_at=now - 1500,
                received=1000,
                written=990,
                spooled=0,
                rejected=3,
                backfilled=12,
                lag_ms_p50=120.0,
            )
    engine.dispose()
    return settings


def alarm_row(aid: str, now: int, **kw: Any) -> Alarm:
    """An active, unacknowledged high alarm ``<tag>:<condition>`` in the smelter hall raised 5 min before
    ``now``; ``kw`` overrides any column."""
    tag, _, cond = aid.partition(":")
    values: dict[str, Any] = {
        "id": aid,
        "source_type": "process",
        "condition": cond,
        "source": tag,
        "priority": "high",
        "area": "smelting",
        "zone": "smelter-hall",
        "equipment": None,
        "active": True,
        "acked": False,
        "suppressed": False,
        "out_of_service": False,
        "activated_at": now - 5 * MIN,
        "message": "",
        "updated_at": now - 5 * MIN,
    }
    values.update(kw)
    return Alarm(**values)


def run_alarm_service(settings: Settings) -> None:
    """One step of the real alarm service: detections become alarms, queued commands are applied."""
    from services.alarms import AlarmService

    engine = make_engine(settings.db_url)
    service = AlarmService(load_plant(settings.plant_file), engine)
    try:
        service.step(int(time.time() * 1000))
    finally:
        service.lock.release()
        engine.dispose()


TEST_PASSWORD = "test password 1234"


def make_user(
    settings: Settings, role: str = "dispatcher", name: str | None = None, password: str = TEST_PASSWORD
) -> str:
    """A user with ``role`` in the store of ``settings`` (``test-<role>`` unless named; made once); its name."""
    from auth.users import add_user, get_user

    name = name or f"test-{role}"
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            if get_user(session, name) is None:
                add_user(session, name, role, password, actor="tests", address="127.0.0.1")
    finally:
        engine.dispose()
    return name


def session_token(settings: Settings, role: str = "dispatcher", name: str | None = None) -> str:
    """A fresh login session of the test user with ``role``, as the value of the session cookie."""
    from auth.login import Limits
    from auth.sessions import create_session
    from auth.users import get_user

    name = make_user(settings, role, name)
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            user = get_user(session, name)
            assert user is not None
            return create_session(
                session, user, now_ms=int(time.time() * 1000), max_ms=Limits.from_settings(settings).max_ms
            )
    finally:
        engine.dispose()


def as_user(app: Any, settings: Settings, role: str = "dispatcher") -> Any:
    """Make every request to ``webapp.app`` that carries no session cookie arrive with one of a logged-in user of
    ``role`` (the server still checks each request against the policy). Returns ``webapp.app``."""
    from webapp.gate import SESSION_COOKIE

    token = session_token(settings, role)
    inner = app.server.wsgi_app

    def with_session(environ: dict[str, Any], start_response: Any) -> Any:
        cookies = environ.get("HTTP_COOKIE", "")
        if f"{SESSION_COOKIE}=" not in cookies:
            environ["HTTP_COOKIE"] = f"{cookies}; {SESSION_COOKIE}={token}" if cookies else f"{SESSION_COOKIE}={token}"
        return inner(environ, start_response)

    app.server.wsgi_app = with_session
    return app


@contextmanager
def request_as(
    app: Any, settings: Settings, path: str, role: str = "dispatcher", cookies: dict[str, str] | None = None, **kw: Any
) -> Iterator[None]:
    """A request context of a logged-in user of ``role`` (and ``cookies``, e.g. the language), with the
    server's checks run as for Dash's own requests."""
    from webapp.gate import SESSION_COOKIE

    jar = {SESSION_COOKIE: session_token(settings, role), **(cookies or {})}
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    with app.server.test_request_context(path, headers=headers, **kw):
        assert app.server.preprocess_request() is None  # the policy lets this user in
        yield


def logged_in_client(
    app: Any, settings: Settings, role: str = "dispatcher", name: str | None = None, lang: str | None = None
) -> Any:
    """A Flask test client of ``webapp.app`` logged in as a user of ``role`` (named ``name``, or the role's test
    user), reading ``lang`` when given."""
    from webapp.gate import SESSION_COOKIE

    client = app.server.test_client()
    client.set_cookie(SESSION_COOKIE, session_token(settings, role, name))
    if lang is not None:
        client.set_cookie("sw_lang", lang)
    return client


def answer(resp: Any) -> str:
    """A callback's or the router's answer as JSON text (Chinese as it is), asserting it is a 200."""
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json(), ensure_ascii=False)


def page_body(settings: Settings, role: str, path: str, search: str = "", lang: str = "en") -> str:
    """The layout of ``path`` (with the query ``search``) as JSON text, for a user of ``role`` reading ``lang``."""
    from webapp.app import create_app

    app = create_app(settings)
    client = logged_in_client(app, settings, role, lang=lang)
    return answer(client.post(CALLBACK, json=router_body(path, search)))


def router_body(path: str, search: str = "") -> dict[str, Any]:
    """The request Dash's page router sends for the layout of ``path`` (with the query string ``search``)."""
    return {
        "output": ROUTER_KEY,
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }


def set_up(app: Any) -> None:
    """Let Dash set ``app`` up, as its first request does: only then does the app hold the callbacks the page
    modules declare with ``dash.callback`` (Dash keeps them in a global map until an app's first request moves
    them into that app's ``callback_map``). A test that reads the map before its app served anything would see
    only the shell's callbacks, or pass only when an earlier test happened to send a request first."""
    app.server.test_client().get("/_dash-dependencies")  # Dash's set-up runs before the login check


def callback_key(app: Any, *parts: str) -> str:
    """The one key of ``webapp.app``'s callback map that contains every one of ``parts``."""
    set_up(app)
    found = [k for k in app.callback_map if all(p in k for p in parts)]
    assert len(found) == 1, (parts, found)
    return found[0]


def callback_body(key: str, inputs: list[Any], state: list[Any], changed: list[str]) -> dict[str, Any]:
    """The request Dash's renderer sends to run the callback ``key`` with these inputs and states."""
    outs = []
    for part in key[2:-2].split("...") if key.startswith("..") else [key]:
        cid, prop = part.rsplit(".", 1)
        outs.append({"id": cid, "property": prop.split("@", 1)[0]})
    outputs = outs if key.startswith("..") else outs[0]
    return {"output": key, "outputs": outputs, "inputs": inputs, "state": state, "changedPropIds": changed}


@contextmanager
def serve_app(
    settings: Settings, role: str | None = "dispatcher", clock: Callable[[], float] | None = None
) -> Iterator[str]:
    """The real app on a free port; every browser is logged in as a user of ``role`` (None: nobody). ``clock``
    (seconds since the epoch) fixes the app's clock, for a test whose expectations hold for one plant day."""
    from webapp import context as web
    from webapp.app import create_app

    app = create_app(settings)
    web.set_clock(app.server, clock)
    if role is not None:
        as_user(app, settings, role)
    port = free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(5)


class _Browser:
    """Playwright's browser whose new pages ignore the app's Content-Security-Policy unless asked not to
    (``bypass_csp=False``): Playwright's own ``wait_for_function`` evaluates its predicate with ``eval``,
    which the app's CSP forbids. The app's pages are checked under the real CSP in ``test_auth_browser.py``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def new_page(self, **kwargs: Any) -> Any:
        kwargs.setdefault("bypass_csp", True)
        return self._inner.new_page(**kwargs)

    def new_context(self, **kwargs: Any) -> Any:
        kwargs.setdefault("bypass_csp", True)
        return self._inner.new_context(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def browser() -> Iterator[object]:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield _Browser(b)
        finally:
            b.close()


def watch_page(page: Any) -> tuple[list[str], list[str]]:
    """Collect a page's console errors and its requests to any host but this machine (as they happen)."""
    errors: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def request(r: Any) -> None:
        if urlparse(r.url).hostname not in ("127.0.0.1", "localhost") and not r.url.startswith(("data:", "blob:")):
            foreign.append(r.url)

    page.on("request", request)
    return errors, foreign


def phone_page(b: Any) -> Any:
    """A new page of browser ``b`` as a 390x844 touch phone."""
    return b.new_page(**PHONE)


# The wall and the phone, in English and Chinese: the sizes and languages every page is looked at in.
SCREENS = ((1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh"))


def screens(b: Any, base: str, path: str, ready: str, shot: str, settle_ms: int = 600) -> Iterator[tuple[Any, str]]:
    """``path`` of the app served at ``base`` in browser ``b`` at each of ``SCREENS``: yields the page and its
    language once ``ready`` is shown (and ``settle_ms`` later) with no console error and no request to another
    host, then keeps its screenshot as ``ARTIFACTS/{shot}-{width}x{height}-{lang}.png`` (the whole page on the
    phone)."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height, lang in SCREENS:
        context = b.new_context(viewport={"width": width, "height": height})
        try:
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + path)
            page.wait_for_selector(ready, timeout=WAIT_MS)
            page.wait_for_timeout(settle_ms)
            assert not errors, errors
            assert not foreign, foreign
            yield page, lang
            page.screenshot(path=str(ARTIFACTS / f"{shot}-{width}x{height}-{lang}.png"), full_page=width < 500)
        finally:
            context.close()
