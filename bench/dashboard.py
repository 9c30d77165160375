"""Dashboard benchmark: 20 simulated screens refreshing the overview and the 3D scene against the running demo.

    python -m bench dashboard             20 screens, 30 s (and 1 screen, 30 s, for comparison)
    python -m bench dashboard --quick     the same, 10 s windows
    python -m bench dashboard --screens N --seconds T
    python -m bench dashboard --smoke     2 screens, 2 s windows (checks that it runs; not a measurement)

1. The demo's data side runs as the README starts it (``python -m plantctl demo``: simulator, collectors
   and the demo's own web app) on free ports, a temporary var/ and a copy of the demo plant; the bench
   waits until ``/api/health`` shows both endpoints connected and written to.
2. In this process the real web app (``create_app``) is built on the demo's SQLite file and served by
   werkzeug (threaded) on a free loopback port; a ``before_cursor_execute`` listener on its engine counts
   SQL statements (those of the login check of each request, on ``user_session`` and ``app_user``, also
   apart).
3. The bench logs in as a user would: a user ``bench`` with the role ``--role`` (dispatcher) and a random
   password is added to the demo's store (the bench's temporary one) with :func:`auth.users.add_user`;
   every client then logs in through the login form (``POST /login``) and sends the session cookie it got
   with every request. Nothing in the app's gate is switched off.
4. ``/_dash-layout`` and ``/_dash-dependencies`` are fetched, then Chromium logs in on the login page and
   loads the overview and the scene once, recording the POST bodies of ``/_dash-update-component`` requests the
   shell tick (``shell-tick``) triggers: the overview's refresh (latest one, so its ``overview-sent``
   state is what a screen that has been open a few seconds sends) and the scene's live layer
   (``scene-live.data``).
5. Each simulated screen has a login session of its own and replays both bodies (overview refresh + scene
   live) once per second (1 Hz; the shell itself ticks every 2 s, so this is twice the real rate) from its
   own thread, screens' phases spread evenly over the second. First 1 screen, then N screens, each for T
   seconds.

Figures: ``p95_ms``/``median_ms`` are loopback round trips of the callback requests (both kinds, N-screen
run); ``payload_p95_bytes`` response body sizes (both kinds), ``scene_payload_p95_bytes`` and
``overview_payload_p95_bytes`` per kind; ``queries_per_refresh`` = SQL statements during the run / T (one
1 s refresh period of all screens together), ``queries_per_refresh_1_screen`` the same with 1 screen;
``auth_queries_per_refresh`` the part of them that checks the session of each request (it grows with the
screens), ``data_queries_per_refresh`` the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from werkzeug.serving import make_server

from bench import _smoke

ROOT = Path(__file__).resolve().parent.parent

logger = logging.getLogger(__name__)

TARGET_P95_MS = 150.0
TARGET_SCENE_PAYLOAD_BYTES = 50_000
UPDATE = "/_dash-update-component"
BENCH_USER = "bench"
AUTH_TABLES = ("user_session", "app_user")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10.0, cookie: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status), resp.read()


def _post(url: str, body: bytes, cookie: str, timeout: float = 10.0) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", "Cookie": cookie}
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status), resp.read()


def _add_user(engine: Any, role: str) -> tuple[str, str]:
    """The bench user in the bench's own (temporary) store, through the auth package; (name, password)."""
    from auth.passwords import random_password
    from auth.users import add_user
    from store.db import session_scope

    password = random_password()
    with session_scope(engine) as session:
        add_user(session, BENCH_USER, role, password, actor="bench", address="console", display_name="Benchmark")
    return BENCH_USER, password


def _login(base: str, username: str, password: str) -> str:
    """Log in through the login form as a browser does; the ``Cookie`` header value of the new session."""
    from webapp.gate import LOGIN_PATH, SESSION_COOKIE

    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + LOGIN_PATH, timeout=30) as resp:
        if b'name="password"' not in resp.read():
            raise RuntimeError("the login page has no login form")
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with opener.open(base + LOGIN_PATH, data=form, timeout=30) as resp:  # 303 to the user's home page
        resp.read()
        landed = urllib.parse.urlsplit(resp.geturl()).path
    token = next((c.value for c in jar if c.name == SESSION_COOKIE), None)
    if token is None or landed == LOGIN_PATH:
        raise RuntimeError(f"login as {username!r} failed (landed on {landed})")
    return f"{SESSION_COOKIE}={token}"


def _p(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


@contextlib.contextmanager
def _demo(tmp: Path) -> Iterator[tuple[Path, Path, str]]:
    """Run ``plantctl demo`` on free ports; yields (plant file, SQLite file, the demo web app's base URL) once
    both endpoints write."""
    from plant.loader import DEMO_PLANT

    dcs, rtls, web = _free_port(), _free_port(), _free_port()
    text = DEMO_PLANT.read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:4840/", f"127.0.0.1:{dcs}/").replace("127.0.0.1:4841/", f"127.0.0.1:{rtls}/")
    plant_file = tmp / "plant.yaml"
    plant_file.write_text(text, encoding="utf-8")
    var = tmp / "var"
    env = {
        **os.environ,
        "SW_VAR_DIR": str(var),
        "SW_PLANT_FILE": str(plant_file),
        "SW_WEB_PORT": str(web),
        "SW_CAMERA_PORT": str(_free_port()),  # the demo cameras too, so a demo running beside it does not clash
        "SW_DATABASE_URL": "",
    }
    log = (tmp / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantctl", "demo", "--backfill-days", "0.02", "--seconds", "3600"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"demo exited with {proc.returncode}: {(tmp / 'demo.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError, ValueError, KeyError):
                _, body = _get(f"http://127.0.0.1:{web}/api/health", timeout=5)
                health = {c["endpoint"]: c for c in json.loads(body)["collectors"]}
                if {"dcs", "rtls"} <= set(health) and all(c["connected"] and c["written"] > 0 for c in health.values()):
                    break
            time.sleep(1)
        else:
            raise TimeoutError(f"demo not live within 180 s: {health}")
        yield plant_file, var / "smeltwatch.db", f"http://127.0.0.1:{web}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C: the demo stops its children
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            logger.warning("demo did not stop within 60 s; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


@contextlib.contextmanager
def _serve(plant_file: Path, db: Path, var: Path, role: str) -> Iterator[tuple[str, list[int], tuple[str, str]]]:
    """The real web app on the demo's store, with the bench user added to that store; yields (base URL,
    [statement count, of them the login check's], (user name, password))."""
    from settings import Settings
    from webapp.app import create_app

    app = create_app(Settings(var_dir=var, plant_file=plant_file, database_url=f"sqlite:///{db}"))
    engine = app.server.extensions["sw_engine"]
    user = _add_user(engine, role)
    counter = [0, 0]
    lock = threading.Lock()

    def count(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        auth = any(t in statement for t in AUTH_TABLES)
        with lock:
            counter[0] += 1
            counter[1] += auth

    event.listen(engine, "before_cursor_execute", count)
    port = _free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", counter, user
    finally:
        server.shutdown()
        thread.join(10)
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()


@contextlib.contextmanager
def _demo_server(db: Path, base: str, role: str) -> Iterator[tuple[str, list[int], tuple[str, str]]]:
    """The demo's own web app (gunicorn, as ``python -m webapp`` serves it), with the bench user added to its
    store; SQL statements are not counted (they run in the server's workers)."""
    from store.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    try:
        user = _add_user(engine, role)
    finally:
        engine.dispose()
    yield base, [0, 0], user


def _capture(base: str, username: str, password: str, ticks: int = 8) -> dict[str, bytes]:
    """Log in on the login page of headless Chromium, then load the overview and the scene; the shell-tick
    callback bodies they POST."""
    from playwright.sync_api import sync_playwright

    from tests.webutil import CHROMIUM_ARGS

    path = shutil.which("chromium") or "/usr/bin/chromium"
    found: dict[str, bytes] = {}

    def on_request(request: Any) -> None:
        if urllib.parse.urlsplit(request.url).path != UPDATE or request.method != "POST":
            return
        body = request.post_data or ""
        if "shell-tick" not in body:
            return
        output = str(json.loads(body).get("output", ""))
        if "overview-delta.data" in output:
            found["overview"] = body.encode()  # keep the latest: its sent-state is current
        elif output == "scene-live.data":
            found["scene"] = body.encode()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(f"{base}/login", wait_until="load", timeout=60_000)
            page.fill("#sw-login-user", username)
            page.fill("#sw-login-password", password)
            with page.expect_navigation(timeout=60_000):
                page.click("#sw-login-submit")
            if urllib.parse.urlsplit(page.url).path == "/login":
                raise RuntimeError(f"login as {username!r} in Chromium failed")
            page.on("request", on_request)
            for url, kind in ((f"{base}/", "overview"), (f"{base}/scene", "scene")):
                page.goto(url, wait_until="load", timeout=60_000)
                deadline = time.monotonic() + 30
                seen = 0
                while time.monotonic() < deadline:
                    page.wait_for_timeout(500)
                    if kind in found:
                        seen += 1
                        if seen >= ticks:  # a few ticks after the first: the overview's sent-state settles
                            break
        finally:
            browser.close()
    missing = {"overview", "scene"} - set(found)
    if missing:
        raise RuntimeError(f"no shell-tick callback recorded for {sorted(missing)}")
    return found


def _run(base: str, bodies: dict[str, bytes], cookies: list[str], seconds: int, counter: list[int]) -> dict[str, Any]:
    """One thread per session cookie (a screen), each POSTing every body once per second for ``seconds`` s."""
    screens = len(cookies)
    url = base + UPDATE
    records: list[tuple[str, float, int, bool]] = []
    last: dict[str, bytes] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    q0, a0 = counter[0], counter[1]

    def screen(i: int) -> None:
        phase = i / screens
        for k in range(seconds):
            wait = start + k + phase - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            for kind, body in bodies.items():
                t0 = time.perf_counter()
                ok, size = False, 0
                try:
                    status, data = _post(url, body, cookies[i])
                    size = len(data)
                    ok = status == 200 and b'"response"' in data
                    if ok:
                        last[kind] = data
                except (OSError, urllib.error.HTTPError) as exc:
                    logger.warning("screen %d %s: %s", i, kind, exc)
                with lock:
                    records.append((kind, (time.perf_counter() - t0) * 1000, size, ok))

    threads = [threading.Thread(target=screen, args=(i,), daemon=True) for i in range(screens)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(seconds + 60)
    elapsed_end = time.monotonic()
    queries, auth_queries = counter[0] - q0, counter[1] - a0
    ms = [r[1] for r in records if r[3]]
    sizes = [float(r[2]) for r in records if r[3]]
    by_kind = {kind: [float(r[2]) for r in records if r[3] and r[0] == kind] for kind in bodies}
    ms_kind = {kind: [r[1] for r in records if r[3] and r[0] == kind] for kind in bodies}
    badges = -1
    with contextlib.suppress(KeyError, TypeError, ValueError):
        badges = len(json.loads(last["scene"])["response"]["scene-live"]["data"]["b"])
    return {
        "scene_badges": badges,
        "requests": len(records),
        "errors": sum(1 for r in records if not r[3]),
        "p95_ms": round(_p(ms, 0.95), 1),
        "p99_ms": round(_p(ms, 0.99), 1),
        "median_ms": round(statistics.median(ms), 1) if ms else float("nan"),
        "payload_p95_bytes": int(_p(sizes, 0.95)),
        "scene_payload_p95_bytes": int(_p(by_kind["scene"], 0.95)),
        "overview_payload_p95_bytes": int(_p(by_kind["overview"], 0.95)),
        "scene_p95_ms": round(_p(ms_kind["scene"], 0.95), 1),
        "overview_p95_ms": round(_p(ms_kind["overview"], 0.95), 1),
        "queries": queries,
        "queries_per_refresh": round(queries / seconds, 2),
        "auth_queries_per_refresh": round(auth_queries / seconds, 2),
        "data_queries_per_refresh": round((queries - auth_queries) / seconds, 2),
        "wall_s": round(elapsed_end - start, 1),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench dashboard")
    parser.add_argument("--quick", action="store_true", help="10 s windows")
    _smoke.add_flag(parser)
    parser.add_argument("--screens", type=int, default=None, help="simulated screens (default 20, smoke 2)")
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--role", default="dispatcher", help="role of the bench user the screens log in as")
    parser.add_argument(
        "--server",
        choices=("inprocess", "demo"),
        default="inprocess",
        help="inprocess: the app in this process (werkzeug, SQL counted); demo: the demo's gunicorn server",
    )
    args = parser.parse_args(argv)
    screens = args.screens or (2 if args.smoke else 20)
    seconds = args.seconds or (2 if args.smoke else 10 if args.quick else 30)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access line per request otherwise

    with tempfile.TemporaryDirectory(prefix="sw-bench-dash-") as d:
        tmp = Path(d)
        with (
            _demo(tmp) as (plant_file, db, demo_base),
            (
                _demo_server(db, demo_base, args.role)
                if args.server == "demo"
                else _serve(plant_file, db, tmp / "var", args.role)
            ) as (base, counter, (username, password)),
        ):
            cookie = _login(base, username, password)
            status_layout, _ = _get(base + "/_dash-layout", timeout=30, cookie=cookie)
            status_deps, deps = _get(base + "/_dash-dependencies", timeout=30, cookie=cookie)
            outputs = [str(c.get("output")) for c in json.loads(deps)]
            if status_layout != 200 or status_deps != 200 or "scene-live.data" not in outputs:
                raise RuntimeError("the app does not serve the expected layout/callbacks")
            bodies = _capture(base, username, password, ticks=2 if args.smoke else 8)
            cookies = [_login(base, username, password) for _ in range(screens)]  # a session per screen
            for body in bodies.values():  # warm caches and connections
                _post(base + UPDATE, body, cookie, timeout=30)
            load_before = os.getloadavg()
            one = _run(base, bodies, cookies[:1], seconds, counter)
            many = _run(base, bodies, cookies, seconds, counter)
    load = os.getloadavg()
    figures: dict[str, Any] = {
        "screens": screens,
        "seconds": seconds,
        "role": args.role,
        "server": "gunicorn (the demo's, SW_WEB_WORKERS x SW_WEB_THREADS)" if args.server == "demo" else "werkzeug",
        "callbacks_per_screen_per_s": len(bodies),
        "requests": many["requests"],
        "errors": many["errors"],
        "p95_ms": many["p95_ms"],
        "p99_ms": many["p99_ms"],
        "median_ms": many["median_ms"],
        "overview_p95_ms": many["overview_p95_ms"],
        "scene_p95_ms": many["scene_p95_ms"],
        "payload_p95_bytes": many["payload_p95_bytes"],
        "scene_payload_p95_bytes": many["scene_payload_p95_bytes"],
        "scene_badges": many["scene_badges"],
        "overview_payload_p95_bytes": many["overview_payload_p95_bytes"],
        "queries_per_refresh": many["queries_per_refresh"],
        "queries_per_refresh_1_screen": one["queries_per_refresh"],
        "auth_queries_per_refresh": many["auth_queries_per_refresh"],
        "data_queries_per_refresh": many["data_queries_per_refresh"],
        "data_queries_per_refresh_1_screen": one["data_queries_per_refresh"],
        "p95_ms_1_screen": one["p95_ms"],
        "errors_1_screen": one["errors"],
        "requests_1_screen": one["requests"],
        "loadavg_1m": round(load[0], 2),
        "cpus": os.cpu_count(),
        "targets": {
            "p95_ms": f"< {TARGET_P95_MS:.0f}",
            "scene_payload_p95_bytes": f"< {TARGET_SCENE_PAYLOAD_BYTES}",
            "data_queries_per_refresh": "independent of screens",
        },
    }
    if args.server == "demo":  # the statements run in the server's workers: not counted here
        for key in [k for k in figures if "queries" in k]:
            figures[key] = None
    figures["load_average"] = [round(x, 2) for x in load]
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    figures["meets_targets"] = bool(
        figures["p95_ms"] < TARGET_P95_MS
        and figures["scene_payload_p95_bytes"] < TARGET_SCENE_PAYLOAD_BYTES
        and figures["errors"] == 0
    )
    return _smoke.mark(figures, args.smoke)
