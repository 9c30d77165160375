"""The web tier's own Prometheus metrics: request latency by route and callback, cache hits.

Under gunicorn every worker counts in files under ``PROMETHEUS_MULTIPROC_DIR`` (set by ``webapp.gunicorn_conf``
before the workers start), and ``/metrics`` adds up all workers (prometheus_client's multiprocess mode);
without it (one process: tests, ``--dev``) the process's default registry is used.
"""

from __future__ import annotations

import os
import time

import flask
from prometheus_client import Counter, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CALLBACK_RULE = "/_dash-update-component"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "sw_web_request_seconds",
    "Time from a request's arrival to its response (a stream's first byte), by route rule and method",
    ["route", "method"],
    buckets=BUCKETS,
)
CALLBACK_SECONDS = Histogram(
    "sw_web_callback_seconds",
    "Time to answer a Dash callback, by its output (refused and failed callbacks under 'other')",
    ["output"],
    buckets=BUCKETS,
)
RESPONSES = Counter("sw_web_responses_total", "Responses by route rule and status class", ["route", "status"])
CACHE = Counter(
    "sw_web_cache_total",
    "Look-ups of the shared live values: hit (fresh), stale (served while one rebuild runs), miss (built)",
    ["key", "result"],
)

_START = "sw_metrics_start"


def cache_result(key: str, result: str) -> None:
    CACHE.labels(key=key.removeprefix("sw:"), result=result).inc()


def _before() -> None:
    flask.g.setdefault(_START, time.perf_counter())


def _after(response: flask.Response) -> flask.Response:
    started = flask.g.get(_START)
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    request = flask.request
    rule = request.url_rule.rule if request.url_rule is not None else "<none>"
    REQUEST_SECONDS.labels(route=rule, method=request.method).observe(elapsed)
    RESPONSES.labels(route=rule, status=f"{response.status_code // 100}xx").inc()
    if rule == CALLBACK_RULE:
        output = "other"
        if response.status_code < 400:  # a callback the app has (the set of outputs is the app's, bounded)
            body = request.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("output"), str):
                output = body["output"][:200]
        CALLBACK_SECONDS.labels(output=output).observe(elapsed)
    return response


def install(server: flask.Flask) -> None:
    """Time every request of ``server``: the clock starts before any other check (the gate's included)."""
    server.before_request_funcs.setdefault(None, []).insert(0, _before)
    server.after_request(_after)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None
