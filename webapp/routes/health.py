"""Liveness for monitoring and the screens' offline watchdog."""

from __future__ import annotations

import flask

from webapp.live.snapshot import snapshot


def api_health() -> flask.Response:
    snap = snapshot()
    body = {"now_ms": snap["now_ms"], "collectors": snap["health"]}
    return flask.jsonify(body)
