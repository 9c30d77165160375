"""``/replay/incident/<id>/export.zip``: an incident's bundle for investigators (``webapp.live.incident_bundle``),
for users with ``Perm.INCIDENT``; every export is audited with the bundle's SHA-256."""

from __future__ import annotations

import io
import logging

import flask

from auth.policy import Perm
from engine.manifest import sha256
from store.db import session_scope
from store.incidents import get_incident
from webapp import context as web
from webapp.audit import audit
from webapp.gate import current_user
from webapp.live import incident_bundle
from webapp.live.personnel import current_viewer
from webapp.live.replay import Who
from webapp.routes.video_media import EXTENSION

logger = logging.getLogger(__name__)


def incident_export(incident_id: int) -> flask.Response:
    user = current_user()
    viewer = current_viewer()
    if user is None or viewer is None:
        flask.abort(401)
    if not user.can(Perm.INCIDENT):
        flask.abort(403)
    with session_scope(web.engine()) as session:
        inc = get_incident(session, incident_id)
    if inc is None:
        flask.abort(404)
    who = Who(viewer, video=user.can(Perm.VIDEO))
    root = flask.current_app.extensions.get(EXTENSION)
    data, facts = incident_bundle.build(
        web.engine(), web.plant(), inc, who, web.lang(), now_ms=web.now_ms(), media_root=root
    )
    audit("incident_export", target=f"incident:{inc.id}", data={"sha256": sha256(data), "bytes": len(data), **facts})
    response = flask.send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"incident-{inc.id}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
