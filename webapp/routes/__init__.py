"""Flask routes other than pages and callbacks, all registered here (each route's line in the policy table is
``auth.policy.ROUTES``; the gate refuses a route that has none)."""

from __future__ import annotations

import flask

from settings import Settings
from webapp.gate import LOGIN_PATH, LOGOUT_PATH
from webapp.routes import health, login, personnel, scene, video_live, video_media


def register_routes(server: flask.Flask, settings: Settings) -> None:
    """Every route of the web app on ``server``."""
    server.add_url_rule(LOGIN_PATH, view_func=login.login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, view_func=login.logout, methods=["POST"])
    server.add_url_rule("/api/health", view_func=health.api_health, methods=["GET"])
    scene.register_routes(server)
    personnel.register_routes(server)
    video_live.register_routes(server, settings)
    video_media.register_routes(server, settings)
