"""The production web server: ``python -m webapp`` is gunicorn with several workers and threads, the live
snapshot shared through Redis; it serves the login and a page, reloads on HUP without refusing a request,
and stops on TERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from settings import ROOT
from tests.conftest import free_port
from tests.webutil import TEST_PASSWORD, make_user, seed_store


def _children(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _wait_for(what: str, check: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def _health_count(base: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "sw_web_request_seconds_count" and s.labels.get("route") == "/api/health"
    )


@pytest.mark.slow
def test_gunicorn_serves_reloads_and_stops(tmp_path: Path, redis_url: str) -> None:
    settings = seed_store(tmp_path)
    user = make_user(settings, "dispatcher")
    port = free_port()
    env = {
        **os.environ,
        "SW_VAR_DIR": str(tmp_path),
        "SW_DATABASE_URL": settings.db_url,
        "SW_PLANT_FILE": str(settings.plant_file),
        "SW_WEB_HOST": "127.0.0.1",
        "SW_WEB_PORT": str(port),
        "SW_WEB_WORKERS": "2",
        "SW_WEB_THREADS": "2",
        "SW_WEB_GRACEFUL_S": "5",
        "SW_CACHE_REDIS_URL": redis_url,
    }
    log = (tmp_path / "web.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "webapp"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for("the server to answer", lambda: proc.poll() is not None or _up(f"{base}/api/health"))
        assert proc.poll() is None, (tmp_path / "web.log").read_text(errors="replace")[-3000:]
        assert proc.poll() is None
        first = _children(proc.pid)
        assert len(first) == 2, f"two workers under the master, found {first}"

        # the login form, a login, a page and the layout the page asks for
        with urllib.request.urlopen(f"{base}/login", timeout=10) as resp:
            assert resp.status == 200 and b'name="password"' in resp.read()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        form = urllib.parse.urlencode({"username": user, "password": TEST_PASSWORD}).encode()
        with opener.open(f"{base}/login", data=form, timeout=30) as resp:
            assert resp.status == 200 and not resp.url.endswith("/login"), resp.url
        with opener.open(f"{base}/", timeout=30) as resp:
            assert resp.status == 200 and b"_dash-renderer" in resp.read()
        with opener.open(f"{base}/_dash-layout", timeout=30) as resp:
            assert resp.status == 200 and json.loads(resp.read())

        # the workers share the live snapshot through Redis
        import redis

        keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]
        assert any("webapp.live.snapshot.snapshot" in k for k in keys), keys

        # /metrics adds up the workers (prometheus_client's multiprocess mode)
        for _ in range(6):
            assert _up(f"{base}/api/health")
        health_requests = _health_count(base)
        assert health_requests >= 7, health_requests  # the first answer above, and these six

        # HUP: new workers replace the old ones while requests keep being answered
        failures: list[str] = []
        answered = 0
        stop = threading.Event()

        def ask() -> None:
            nonlocal answered
            while not stop.is_set():
                try:
                    with opener.open(f"{base}/api/health", timeout=60) as resp:
                        assert resp.status == 200
                        answered += 1
                except (OSError, AssertionError) as exc:
                    failures.append(repr(exc))
                time.sleep(0.1)

        asker = threading.Thread(target=ask)
        asker.start()
        try:
            proc.send_signal(signal.SIGHUP)
            _wait_for(
                "new workers to replace the old ones",
                lambda: not (_children(proc.pid) & first) and len(_children(proc.pid)) == 2,
            )
            _wait_for("the new workers to answer", lambda: _up(f"{base}/api/health"))
            time.sleep(1.0)
        finally:
            stop.set()
            asker.join(90)
        assert not failures, failures[:5]
        assert answered > 0
        assert _health_count(base) >= health_requests + answered  # the old workers' counts stay counted
        with opener.open(f"{base}/", timeout=30) as resp:  # the session survives the reload (it is in the store)
            assert resp.status == 200 and b"_dash-renderer" in resp.read()

        # TERM: a graceful stop, the port let go
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        _wait_for("the workers to exit", lambda: not any(Path(f"/proc/{p}").exists() for p in workers), 30)
        assert not _up(f"{base}/api/health")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    text = (tmp_path / "web.log").read_text(errors="replace")
    assert "2 worker(s) x 2 thread(s), snapshot cache Redis" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
