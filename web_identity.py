"""Who is acting in the web app, for the alarm journal: ``current_user()`` and ``client_address()``.

There is no login yet: every operator action is recorded under the name in the ``SW_OPERATOR`` setting
(default ``operator``) and the address the request came from. The roles issue (login, per-action
authorization, audit log) replaces :func:`current_user` with the signed-in user; callers do not change.

Behind a reverse proxy, wrap the Flask app in ``werkzeug.middleware.proxy_fix.ProxyFix`` so that
``remote_addr`` is the client's address and not the proxy's; forwarded headers are not trusted here.
"""

from __future__ import annotations

import logging
import re

import flask

import web

logger = logging.getLogger(__name__)

MAX_LEN = 64  # the journal's user and address columns
DEFAULT_USER = "operator"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: str) -> str:
    return _CONTROL.sub("", value).strip()[:MAX_LEN]


def current_user() -> str:
    """The name recorded with an operator's action (the ``SW_OPERATOR`` setting until login exists)."""
    try:
        name = _clean(str(web.settings().operator or ""))
    except RuntimeError:  # outside the app
        name = ""
    return name or DEFAULT_USER


def client_address() -> str:
    """The address of the browser making the current request (``unknown`` outside a request)."""
    try:
        addr = flask.request.remote_addr
    except RuntimeError:
        return "unknown"
    return _clean(addr or "") or "unknown"
