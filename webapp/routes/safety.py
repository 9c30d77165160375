"""The safety page's files: a hidden danger's report photo, as stored (its type checked from its bytes on upload)."""

from __future__ import annotations

import flask

from store.db import session_scope
from store.hidden_dangers import photo
from webapp import context as web


def hidden_danger_photo(danger_id: int) -> flask.Response:
    with session_scope(web.engine()) as session:
        p = photo(session, danger_id)
        if p is None:
            return flask.Response("no photo\n", status=404, mimetype="text/plain; charset=utf-8")
        resp = flask.Response(bytes(p.data), mimetype=p.mime)
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    return resp
