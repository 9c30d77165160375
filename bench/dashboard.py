"""Dashboard benchmark: 20 simulated screens refreshing the overview and the 3D scene against the running demo.

    python -m bench dashboard             20 screens, 30 s (and 1 screen, 30 s, for comparison)
    python -m bench dashboard --quick     the same, 10 s windows
    python -m bench dashboard --screens N --seconds T

1. The demo's data side runs as the README starts it (``python -m plantctl demo``: simulator, collectors
   and the demo's own web app) on free ports, a temporary var/ and a copy of the demo plant; the bench
   waits until ``/api/health`` shows both endpoints connected and written to.
2. In this process the real web app (``create_app``) is built on the demo's SQLite file and served by
   werkzeug (threaded) on a free loopback port; a ``before_cursor_execute`` listener on its engine counts
   SQL statements.
3. ``/_dash-layout`` and ``/_dash-dependencies`` are fetched, then the overview and the scene are loaded
   once in headless Chromium, which records the POST bodies of ``/_dash-update-component`` requests the
   shell tick (``shell-tick``) triggers: the overview's refresh (latest one, so its ``overview-sent``
   state is what a screen that has been open a few seconds sends) and the scene's live layer
   (``scene-live.data``).
4. Each simulated screen replays both bodies (overview refresh + scene live) once per second (1 Hz; the
   shell itself ticks every 2 s, so this is twice the real rate) from its own thread, screens' phases
   spread evenly over the second. First 1 screen, then N screens, each for T seconds.

Figures: ``p95_ms``/``median_ms`` are loopback round trips of the callback requests (both kinds, N-screen
run); ``payload_p95_bytes`` response body sizes (both kinds), ``scene_payload_p95_bytes`` and
``overview_payload_p95_bytes`` per kind; ``queries_per_refresh`` = SQL statements during the run / T (one
1 s refresh period of all screens together), ``queries_per_refresh_1_screen`` the same with 1 screen.
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
from pathlib import Path
from typing import Any

from sqlalchemy import event
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent

logger = logging.getLogger(__name__)

TARGET_P95_MS = 150.0
TARGET_SCENE_PAYLOAD_BYTES = 50_000
UPDATE = "/_dash-update-component"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return int(resp.status), resp.read()


def _post(url: str, body: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status), resp.read()


def _p(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


@contextlib.contextmanager
def _demo(tmp: Path) -> Iterator[tuple[Path, Path]]:
    """Run ``plantctl demo`` on free ports; yields (plant file, SQLite file) once both endpoints write."""
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
        yield plant_file, var / "smeltwatch.db"
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
def _serve(plant_file: Path, db: Path, var: Path) -> Iterator[tuple[str, list[int]]]:
    """The real web app on the demo's store; yields (base URL, [statement count])."""
    from settings import Settings
    from webapp.app import create_app

    app = create_app(Settings(var_dir=var, plant_file=plant_file, database_url=f"sqlite:///{db}"))
    engine = app.server.extensions["sw_engine"]
    counter = [0]
    lock = threading.Lock()

    def count(*_a: Any) -> None:
        with lock:
            counter[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    port = _free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", counter
    finally:
        server.shutdown()
        thread.join(10)
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()


def _capture(base: str) -> dict[str, bytes]:
    """Load the overview and the scene in headless Chromium; the shell-tick callback bodies they POST."""
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
            page.on("request", on_request)
            for url, kind in ((f"{base}/", "overview"), (f"{base}/scene", "scene")):
                page.goto(url, wait_until="load", timeout=60_000)
                deadline = time.monotonic() + 30
                seen = 0
                while time.monotonic() < deadline:
                    page.wait_for_timeout(500)
                    if kind in found:
                        seen += 1
                        if seen >= 8:  # a few ticks after the first: the overview's sent-state settles
                            break
        finally:
            browser.close()
    missing = {"overview", "scene"} - set(found)
    if missing:
        raise RuntimeError(f"no shell-tick callback recorded for {sorted(missing)}")
    return found


def _run(base: str, bodies: dict[str, bytes], screens: int, seconds: int, counter: list[int]) -> dict[str, Any]:
    """``screens`` threads, each POSTing every body once per second for ``seconds`` seconds."""
    url = base + UPDATE
    records: list[tuple[str, float, int, bool]] = []
    last: dict[str, bytes] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    q0 = counter[0]

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
                    status, data = _post(url, body)
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
    queries = counter[0] - q0
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
        "median_ms": round(statistics.median(ms), 1) if ms else float("nan"),
        "payload_p95_bytes": int(_p(sizes, 0.95)),
        "scene_payload_p95_bytes": int(_p(by_kind["scene"], 0.95)),
        "overview_payload_p95_bytes": int(_p(by_kind["overview"], 0.95)),
        "scene_p95_ms": round(_p(ms_kind["scene"], 0.95), 1),
        "overview_p95_ms": round(_p(ms_kind["overview"], 0.95), 1),
        "queries": queries,
        "queries_per_refresh": round(queries / seconds, 2),
        "wall_s": round(elapsed_end - start, 1),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench dashboard")
    parser.add_argument("--quick", action="store_true", help="10 s windows")
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=None)
    args = parser.parse_args(argv)
    seconds = args.seconds or (10 if args.quick else 30)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access line per request otherwise

    with tempfile.TemporaryDirectory(prefix="sw-bench-dash-") as d:
        tmp = Path(d)
        with _demo(tmp) as (plant_file, db), _serve(plant_file, db, tmp / "var") as (base, counter):
            status_layout, _ = _get(base + "/_dash-layout", timeout=30)
            status_deps, deps = _get(base + "/_dash-dependencies", timeout=30)
            outputs = [str(c.get("output")) for c in json.loads(deps)]
            if status_layout != 200 or status_deps != 200 or "scene-live.data" not in outputs:
                raise RuntimeError("the app does not serve the expected layout/callbacks")
            bodies = _capture(base)
            for body in bodies.values():  # warm caches and connections
                _post(base + UPDATE, body, timeout=30)
            one = _run(base, bodies, 1, seconds, counter)
            many = _run(base, bodies, args.screens, seconds, counter)
    load = os.getloadavg()
    figures: dict[str, Any] = {
        "screens": args.screens,
        "seconds": seconds,
        "callbacks_per_screen_per_s": len(bodies),
        "requests": many["requests"],
        "errors": many["errors"],
        "p95_ms": many["p95_ms"],
        "median_ms": many["median_ms"],
        "overview_p95_ms": many["overview_p95_ms"],
        "scene_p95_ms": many["scene_p95_ms"],
        "payload_p95_bytes": many["payload_p95_bytes"],
        "scene_payload_p95_bytes": many["scene_payload_p95_bytes"],
        "scene_badges": many["scene_badges"],
        "overview_payload_p95_bytes": many["overview_payload_p95_bytes"],
        "queries_per_refresh": many["queries_per_refresh"],
        "queries_per_refresh_1_screen": one["queries_per_refresh"],
        "p95_ms_1_screen": one["p95_ms"],
        "errors_1_screen": one["errors"],
        "requests_1_screen": one["requests"],
        "loadavg_1m": round(load[0], 2),
        "cpus": os.cpu_count(),
        "targets": {
            "p95_ms": f"< {TARGET_P95_MS:.0f}",
            "scene_payload_p95_bytes": f"< {TARGET_SCENE_PAYLOAD_BYTES}",
            "queries_per_refresh": "independent of screens",
        },
    }
    figures["meets_targets"] = bool(
        figures["p95_ms"] < TARGET_P95_MS
        and figures["scene_payload_p95_bytes"] < TARGET_SCENE_PAYLOAD_BYTES
        and figures["errors"] == 0
    )
    return figures
