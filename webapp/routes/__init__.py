"""Flask routes other than pages and callbacks, all registered here (each route's line in the policy table is
``auth.policy.ROUTES``; the gate refuses a route that has none)."""

from __future__ import annotations

import flask

from settings import Settings
from webapp.live.snapshot import snapshot
from webapp.routes import personnel, scene, video_live, video_media


def api_health() -> flask.Response:
    snap = snapshot()
    body = {"now_ms": snap["now_ms"], "collectors": snap["health"]}
    return flask.jsonify(body)


def register_routes(server: flask.Flask, settings: Settings) -> None:
    """Every route of the web app on ``server``."""
    server.add_url_rule("/api/health", view_func=api_health, methods=["GET"])
    scene.register_routes(server)
    personnel.register_routes(server)
    video_live.register_routes(server, settings)
    video_media.register_routes(server, settings)
