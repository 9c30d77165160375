"""The demo as the README starts it: migrate, first-run history, simulator, collectors, services and web app, on
free ports and a temporary var/; data must reach the store and the web app, and Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from plant.loader import DEMO_PLANT
from settings import ROOT
from tests.conftest import free_port


def _demo_env(tmp_path: Path) -> tuple[tuple[int, int, int], dict[str, str]]:
    """Free ports for the two OPC UA servers and the web app, a plant file using them, a private var/."""
    dcs, rtls, web = free_port(), free_port(), free_port()
    text = DEMO_PLANT.read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:4840/", f"127.0.0.1:{dcs}/").replace("127.0.0.1:4841/", f"127.0.0.1:{rtls}/")
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "SW_VAR_DIR": str(tmp_path / "var"),
        "SW_PLANT_FILE": str(plant_file),
        "SW_WEB_PORT": str(web),
        "SW_DATABASE_URL": "",
        "SW_CAMERA_PORT": str(free_port()),
    }
    return (dcs, rtls, web), env


def _admin_password(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    for raw in proc.stdout:  # printed by the first start, before the simulator starts
        line = raw.decode(errors="replace")
        if "password:" in line:
            return line.split("password:", 1)[1].strip()
    raise AssertionError("the demo printed no administrator password")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read()


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    (dcs, rtls, web), env = _demo_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantctl", "demo", "--backfill-days", "0.01", "--seconds", "480"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        health: dict = {}
        deadline = time.monotonic() + 240  # generous: the demo starts six processes, slow on a busy machine
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "demo exited"
            try:
                _, body = _get(f"http://127.0.0.1:{web}/api/health")
                health = {c["endpoint"]: c for c in json.loads(body)["collectors"]}
                if {"dcs", "rtls"} <= set(health) and all(c["connected"] and c["written"] > 0 for c in health.values()):
                    break
            except OSError:
                pass
            time.sleep(1)
        assert {"dcs", "rtls"} <= set(health) and all(c["written"] > 0 for c in health.values()), health
        status, page = _get(f"http://127.0.0.1:{web}/")
        assert status == 200 and b'name="password"' in page  # no session: the login page
        # the first start printed an administrator's password on the console; with it the app opens
        password = _admin_password(proc)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        form = urllib.parse.urlencode({"username": "admin", "password": password}).encode()
        with opener.open(f"http://127.0.0.1:{web}/login", data=form, timeout=10) as resp:
            assert resp.status == 200 and resp.url.endswith(f":{web}/") and b"dash" in resp.read()

        db = sqlite3.connect(tmp_path / "var" / "smeltwatch.db")
        now_ms = time.time() * 1000
        newest = db.execute("SELECT max(ts) FROM sample").fetchone()[0]
        assert newest is not None and now_ms - newest < 30_000  # live values, not only the backfill
        assert db.execute("SELECT count(*) FROM position").fetchone()[0] > 0
        assert db.execute("SELECT count(*) FROM rollup_1m").fetchone()[0] > 0
        db.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, out.decode()[-3000:]
    assert password not in out.decode()  # shown once, before the part read here
    for log in (tmp_path / "var" / "logs").glob("*.log"):
        assert password not in log.read_text(errors="replace")
    for p in (dcs, rtls, web):  # every child has let go of its port
        with pytest.raises(OSError):
            _get(f"http://127.0.0.1:{p}/")


@pytest.mark.slow
def test_demo_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    """kill -9 of the supervisor must not leave the simulator, collectors, services, cameras or web app running."""
    _ports, env = _demo_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantctl", "demo", "--backfill-days", "0", "--seconds", "120"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    children: list[int] = []
    while time.monotonic() < deadline and len(children) < 6:
        out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
        children = [int(p) for p in out.split()]
        time.sleep(0.5)
    assert len(children) == 6, children  # simulator, a collector per endpoint (dcs, rtls), services, cameras, web
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 30
    alive = children
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _state(p) not in ("Z", "X", "")]
        time.sleep(0.5)
    assert not alive, f"children still running after the supervisor was killed: {alive}"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return ""
