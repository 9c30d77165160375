"""Whether an emergency runs, for every screen's switch to the emergency view (``assets/40_kiosk.js``): its id
and declaration time, nothing else (no zone, no people)."""

from __future__ import annotations

import flask

from webapp.live.emergency import state


def api_emergency() -> flask.Response:
    s = state()
    resp = flask.jsonify({"active": s["active"], "declared_ms": s["declared_ms"]})
    resp.headers["Cache-Control"] = "no-store"
    return resp
