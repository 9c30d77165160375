"""Flask routes of the scene: the deck.gl bundle that pydeck ships, and the plant's mesh bundle.

Both are served by this server (no CDN) under URLs that change when their content does (pydeck's version,
the mesh digest), so browsers keep them for a year. Responses are gzipped when the browser accepts it.
"""

from __future__ import annotations

import gzip
import importlib.resources
import logging
from functools import lru_cache

import flask
from werkzeug.wrappers import Response as BaseResponse

from scene.bundle import deck_version
from webapp import context as web

logger = logging.getLogger(__name__)

DECK_PATH = "nbextension/static/index.js"
YEAR = 365 * 24 * 3600


@lru_cache(maxsize=1)
def _deck_js() -> bytes:
    """The deck.gl bundle from the installed pydeck package, without its source-map comment (the map is
    not shipped, so a browser with developer tools open would ask for a file that is not there)."""
    data = importlib.resources.files("pydeck").joinpath(DECK_PATH).read_bytes()
    marker = b"\n//# sourceMappingURL="
    cut = data.rfind(marker)
    return data[:cut] + b"\n" if cut >= 0 else data


@lru_cache(maxsize=8)
def _gzipped(key: str, data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _send(data: bytes, mimetype: str, key: str, max_age: int) -> BaseResponse:
    gz = "gzip" in (flask.request.headers.get("Accept-Encoding") or "")
    body = _gzipped(key, data) if gz else data
    resp = flask.Response(body, mimetype=mimetype)
    if gz:
        resp.headers["Content-Encoding"] = "gzip"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = f"public, max-age={max_age}, immutable" if max_age else "no-cache"
    resp.set_etag(key)
    return resp.make_conditional(flask.request)


def scene_deck_js(version: str) -> BaseResponse:
    """``GET /scene/deck-<version>.js``: the deck.gl bundle of the installed pydeck (another version: 404)."""
    if version != deck_version():
        flask.abort(404)
    return _send(_deck_js(), "text/javascript", f"deck-{version}", YEAR)


def scene_mesh(digest: str) -> BaseResponse:
    """``GET /scene/mesh/<digest>.bin``: the mesh bundle of the app's plant."""
    from scene.bundle import plant_bundle  # trimesh loads on first use, not with the web tier

    bundle = plant_bundle(str(web.settings().plant_file))
    # an old digest (the plant file changed under an open page) still gets today's meshes, uncached
    return _send(
        bundle.data, "application/octet-stream", f"mesh-{bundle.digest}", YEAR if digest == bundle.digest else 0
    )
