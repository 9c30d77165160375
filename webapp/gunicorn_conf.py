"""gunicorn's configuration for the web app, read from the settings (``SW_WEB_*``, ``.env``).

``python -m webapp`` starts ``gunicorn -c python:webapp.gunicorn_conf``; a unit file may run the same command.
Workers are separate processes (``SW_WEB_WORKERS``), each with ``SW_WEB_THREADS`` threads (gthread). Each
worker builds its own app after the fork (no preloading), so ``kill -HUP`` of the master starts workers with
the new code and configuration and lets the old ones finish their requests; ``kill -TERM`` finishes the
requests in flight for up to ``SW_WEB_GRACEFUL_S`` seconds and stops.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from settings import get_settings

_settings = get_settings()

# Prometheus multiprocess mode: each worker counts in files here, /metrics adds them up (webapp.metrics). Set
# before any worker imports prometheus_client; one directory per server (its port), emptied at start.
METRICS_DIR = _settings.var_dir / "metrics" / f"web-{_settings.web_port}"
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)

wsgi_app = "webapp.wsgi:application"
bind = [f"{_settings.web_host}:{_settings.web_port}"]
workers = _settings.web_workers
threads = _settings.web_threads
worker_class = "gthread"
preload_app = False  # each worker imports and builds the app: a HUP reload brings new code
graceful_timeout = _settings.web_graceful_s
timeout = 60  # a worker whose main loop is silent this long is killed and replaced
keepalive = 5
proc_name = "smeltwatch-web"
errorlog = "-"
loglevel = "info"
accesslog = None
# The app decides what it believes of X-Forwarded-* (SW_TRUSTED_PROXIES, webapp.gate): gunicorn must not set
# the request's scheme from such headers on its own.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = "127.0.0.1"
control_socket_disable = True  # signals reload and stop it (HUP, TERM); no socket shared by every instance


def on_starting(server: Any) -> None:
    shutil.rmtree(METRICS_DIR, ignore_errors=True)  # counts of an earlier run are not this server's
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    cache = "Redis (shared by the workers)" if _settings.cache_redis_url else "in each worker's memory"
    server.log.info(
        "command center on http://%s:%d/ - %d worker(s) x %d thread(s), snapshot cache %s",
        _settings.web_host,
        _settings.web_port,
        workers,
        threads,
        cache,
    )
    if workers > 1 and not _settings.cache_redis_url:
        server.log.warning(
            "%d workers without SW_CACHE_REDIS_URL: each worker builds its own live snapshot (set it to share one)",
            workers,
        )


def child_exit(_server: Any, worker: Any) -> None:
    """A worker ended (reload, crash, stop): its live gauges leave the sums; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
