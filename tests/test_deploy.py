"""deploy/: a systemd unit for each process (the simulator and cameras only as demo units), restart on failure,
the web app reloaded with HUP, and a TLS reverse proxy that keeps /metrics inside; systemd checks the units."""

from __future__ import annotations

import configparser
import importlib.util
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from settings import ROOT

UNITS = ROOT / "deploy" / "systemd"
OPT = "/opt/smeltwatch"


def _unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def _modules(exec_start: str) -> list[str]:
    """The ``-m`` modules a command line starts (also inside ``/bin/sh -c '...'``)."""
    words = shlex.split(exec_start)
    if words[:2] == ["/bin/sh", "-c"]:
        words = shlex.split(words[2].replace("$$", "$"))
    return [words[i + 1] for i, w in enumerate(words) if w == "-m"]


def test_every_process_has_a_unit_that_restarts_on_failure() -> None:
    services = {p.name: _unit(p) for p in sorted(UNITS.glob("*.service"))}
    started = {m for u in services.values() for m in _modules(u["Service"]["ExecStart"])}
    assert {"collectors", "services", "webapp", "simulator", "simulator.cameras", "plantctl"} <= started
    for name, unit in services.items():
        service = unit["Service"]
        for module in _modules(service["ExecStart"]):
            assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert service["ExecStart"].split()[0] in (f"{OPT}/.venv/bin/python", "/bin/sh"), name
        assert service["EnvironmentFile"] == "/etc/smeltwatch/smeltwatch.env", name
        assert service.get("User") == "smeltwatch" and service.get("ProtectSystem") == "strict", name
        if service.get("Type") != "oneshot":  # migrate and backup run once; every running process comes back
            assert service["Restart"] == "on-failure", name
            assert "smeltwatch.target" in unit["Install"]["WantedBy"], name
        if "simulator" in service["ExecStart"]:
            assert name.startswith("smeltwatch-demo-") and "demo only" in unit["Unit"]["Description"], name
    web = services["smeltwatch-web.service"]["Service"]
    assert web["Type"] == "notify" and web["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert web["KillSignal"] == "SIGTERM"
    env = (UNITS / "smeltwatch.env").read_text(encoding="utf-8")
    for key in ("SW_DATABASE_URL", "SW_CACHE_REDIS_URL", "SW_WEB_WORKERS", "SW_WEB_THREADS", "SW_TRUSTED_PROXIES"):
        assert f"\n{key}=" in env, key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on the units, with this checkout and its interpreter in place of /opt."""
    for unit in UNITS.iterdir():
        if unit.suffix in (".service", ".timer", ".target"):
            text = unit.read_text(encoding="utf-8")
            text = text.replace(f"{OPT}/.venv/bin/python", sys.executable).replace(OPT, str(ROOT))
            text = text.replace("/etc/smeltwatch/smeltwatch.env", str(UNITS / "smeltwatch.env"))
            (tmp_path / unit.name).write_text(text, encoding="utf-8")
    names = sorted(p.name for p in tmp_path.iterdir())
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr  # warnings count: nothing "ignored"


def test_the_reverse_proxies_serve_tls_and_keep_metrics_inside() -> None:
    nginx = (ROOT / "deploy" / "nginx" / "smeltwatch.conf").read_text(encoding="utf-8")
    assert "listen 443 ssl http2" in nginx and "ssl_certificate " in nginx and "return 301 https://" in nginx
    assert "server 127.0.0.1:8050" in nginx
    assert "location = /metrics {\n        return 404;" in nginx
    assert "proxy_buffering off" in nginx  # camera streams
    caddy = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    assert "tls /etc/ssl/smeltwatch/" in caddy and "respond /metrics 404" in caddy
    assert "reverse_proxy 127.0.0.1:8050" in caddy


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_its_example(tmp_path: Path) -> None:
    """``nginx -t`` on the example inside a minimal main configuration, with a self-signed certificate."""
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=smeltwatch.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = (ROOT / "deploy" / "nginx" / "smeltwatch.conf").read_text(encoding="utf-8")
    site = site.replace("/etc/ssl/smeltwatch/fullchain.pem", str(cert)).replace(
        "/etc/ssl/smeltwatch/privkey.pem", str(key)
    )
    site = site.replace("listen 80;", "listen 127.0.0.1:18080;").replace(
        "listen 443 ssl;", "listen 127.0.0.1:18443 ssl;"
    )
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    main = (
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n include {tmp_path}/site.conf;\n}}\n"
    )
    (tmp_path / "nginx.conf").write_text(main, encoding="utf-8")
    done = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
