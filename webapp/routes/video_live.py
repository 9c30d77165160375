"""Live view of the cameras through the shared relay: MJPEG streams, snapshots and the relay's status."""

from __future__ import annotations

import flask

from settings import Settings
from video.relay import BOUNDARY, EXTENSION, VideoRelay, multipart, plant_relay


def relay() -> VideoRelay:
    """The app's relay of the plant's cameras."""
    return flask.current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def _known(camera: str) -> None:
    if relay().camera(camera) is None:
        flask.abort(404)


def video_live(camera: str) -> flask.Response:
    """``GET /video/live/<camera>.mjpg``: the camera's reduced live stream."""
    _known(camera)
    frames = relay().frames(camera)
    response = flask.Response(
        flask.stream_with_context(multipart(frames)), mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not buffer a live stream
    return response


def video_snapshot(camera: str) -> flask.Response:
    """``GET /video/snapshot/<camera>.jpg``: the camera's latest frame."""
    _known(camera)
    data = relay().snapshot(camera)
    if data is None:
        # offline: 503, or with ``?offline=blank`` (the camera grid) 200, both with the "no signal" frame
        code = 200 if flask.request.args.get("offline") == "blank" else 503
        response = flask.Response(relay().blank(), status=code, mimetype="image/jpeg")
    else:
        response = flask.Response(data, mimetype="image/jpeg")
    response.headers["X-Camera-Online"] = "0" if data is None else "1"
    response.headers["Cache-Control"] = "no-store"
    return response


def video_status() -> flask.Response:
    """``GET /video/status.json``: each camera's relay status (watched or not)."""
    r = relay()
    body = {}
    for cid in r._cameras():
        st = r.status(cid)
        body[cid] = {"watched": False} if st is None else {"watched": True, **st.as_dict()}
    return flask.jsonify(body)


def install(server: flask.Flask, settings: Settings) -> None:
    """The relay of the plant's cameras that serves this module's routes on ``server``."""
    server.extensions[EXTENSION] = plant_relay(settings)
