"""The event media routes: an event's snapshot, thumbnail and clip, for the video alarm feed and phones.

Routes (registered in ``webapp.routes.ROUTE_TABLE``, beside their lines of ``auth.policy.ROUTES``):

- ``/video/media/<event id>/snapshot.jpg`` - the full frame with the box drawn (``image/jpeg``);
- ``/video/media/<event id>/thumb.jpg`` - the same, 320 px wide;
- ``/video/media/<event id>/clip.avi`` - the clip as a download (``video/x-msvideo``, Motion-JPEG AVI);
- ``/video/media/<event id>/clip.mjpg`` - the clip replayed at its own pace as
  ``multipart/x-mixed-replace`` of JPEG frames, for an ``<img>``; it ends with the clip.

Who sees what, checked here on the server for every request: dispatchers and administrators
(``Perm.VIDEO``) every video event; an on-call user (``Perm.ONCALL``) only the events whose zone lies in
one of their plant areas (an on-call user without areas: every area, as on their page); everyone else is
refused by the policy table (403), and a request without a session gets 401. The event id is an integer
path parameter (anything else does not match the route: 404); the file path is built from it and a fixed
file name, never from the request. An unknown event, an event of another kind, and media already deleted
by retention answer 404. Responses are ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import flask

from auth.policy import Perm
from settings import Settings
from video.events import video_event
from video.media import CLIP, SNAPSHOT, THUMB, media_file, replay_clip
from video.relay import BOUNDARY, multipart
from webapp.context import engine, plant
from webapp.gate import current_user

logger = logging.getLogger(__name__)

EXTENSION = "sw_video_media_root"
MAX_EVENT_ID = 2**62  # beyond any id the store hands out (and within a 64-bit integer column)
NO_STORE = "private, no-store"


def media_root() -> Path:
    return flask.current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def may_see(event_zone: str | None) -> bool:
    """Whether the logged-in user may see the media of a video event in ``event_zone`` (aborts 401 without
    a session)."""

    principal = current_user()
    if principal is None:
        flask.abort(401)
    if principal.can(Perm.VIDEO):
        return True
    if not principal.can(Perm.ONCALL):
        return False
    if not principal.areas:
        return True
    zones = {z.id: z.area for z in plant().zones}
    return event_zone is not None and zones.get(event_zone) in set(principal.areas)


def _checked(event_id: int, name: str) -> Path:
    """The path of an event's file the user may see; aborts 404 (no such video event or file) or 403."""

    if not 0 < event_id <= MAX_EVENT_ID:
        flask.abort(404)
    ev = video_event(engine(), event_id)
    if ev is None:
        flask.abort(404)
    if not may_see(ev.zone):
        flask.abort(403)
    path = media_file(media_root(), event_id, name)
    if not path.is_file():
        flask.abort(404)
    return path


def _no_store(response: flask.Response) -> flask.Response:
    response.headers["Cache-Control"] = NO_STORE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _send(path: Path, mimetype: str, download: str | None = None) -> flask.Response:
    try:
        f = open(path, "rb")  # noqa: SIM115 - send_file closes it; opened here so a deletion now is a 404
    except FileNotFoundError:
        flask.abort(404)
    response = flask.send_file(
        f,
        mimetype=mimetype,
        as_attachment=download is not None,
        download_name=download,
        conditional=False,
        etag=False,
        max_age=0,
    )
    return _no_store(response)


def video_media_snapshot(event_id: int) -> flask.Response:
    return _send(_checked(event_id, SNAPSHOT), "image/jpeg")


def video_media_thumb(event_id: int) -> flask.Response:
    return _send(_checked(event_id, THUMB), "image/jpeg")


def video_media_clip(event_id: int) -> flask.Response:
    return _send(_checked(event_id, CLIP), "video/x-msvideo", download=f"video-event-{event_id}.avi")


def video_media_replay(event_id: int) -> flask.Response:
    path = _checked(event_id, CLIP)
    try:
        frames = replay_clip(path)
        first = next(frames, None)  # the file is read here: a clip deleted meanwhile is a 404
    except FileNotFoundError:
        flask.abort(404)
    if first is None:
        flask.abort(404)

    def parts() -> Iterator[bytes]:
        yield from multipart(iter([first]))
        yield from multipart(frames)

    response = flask.Response(parts(), mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}")
    response.headers["X-Accel-Buffering"] = "no"
    return _no_store(response)


def install(server: flask.Flask, settings: Settings) -> None:
    """Serve this module's routes on ``server`` from ``settings.media_path``."""
    server.extensions[EXTENSION] = Path(settings.media_path)
