"""Gzip for the web app's text responses (scripts, style sheets, HTML, JSON) when the browser accepts it.

Dash's own bundles (React, the renderer, dcc, Bootstrap components) and the style sheets are about 1.8 MB
as files; gzipped they are about a quarter of that, which keeps the first load of a page on a phone (the
on-call page) under 1 MB of transfer. Compressed bodies of files that do not change (fingerprinted Dash
bundles, assets) are kept in a small in-memory cache, so each is compressed once per process.

No extra dependency: the standard library's ``gzip``. Bodies under :data:`MIN_SIZE`, streamed responses
(downloads written as they are read), and responses that already carry a ``Content-Encoding`` pass through.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
from collections import OrderedDict

import flask

logger = logging.getLogger(__name__)

MIN_SIZE = 1024
CACHE_MIN_SIZE = 16 * 1024  # bodies at least this large are cached once compressed
CACHE_ENTRIES = 64
LEVEL = 6
TYPES = (
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "application/json",
    "image/svg+xml",
)

_cache: OrderedDict[bytes, bytes] = OrderedDict()
_lock = threading.Lock()


def _compressed(body: bytes) -> bytes:
    if len(body) < CACHE_MIN_SIZE:
        return gzip.compress(body, LEVEL, mtime=0)
    key = hashlib.blake2b(body, digest_size=16).digest()
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    out = gzip.compress(body, LEVEL, mtime=0)
    with _lock:
        _cache[key] = out
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return out


def gzip_response(response: flask.Response) -> flask.Response:
    """``response`` gzipped when the request accepts gzip and the body is compressible text."""
    response.vary.add("Accept-Encoding")
    if response.status_code != 200 or response.headers.get("Content-Encoding"):
        return response
    if response.mimetype not in TYPES:
        return response
    if "gzip" not in flask.request.headers.get("Accept-Encoding", "").lower():
        return response
    if response.is_streamed and not response.direct_passthrough:
        return response  # a generator: compressing would mean reading it all first
    response.direct_passthrough = False
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(_compressed(body))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)  # same content, other bytes
    return response


def install(server: flask.Flask) -> None:
    server.after_request(gzip_response)
