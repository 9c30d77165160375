"""Who is acting in the web app, for the alarm journal: ``current_user()`` and ``client_address()``.

When the request carries a login session (``auth.web``), the action is recorded under that user's name;
without one, under the name in the ``SW_OPERATOR`` setting (default ``operator``), as before login existed.
The roles issue (login, per-action authorization, audit log) replaces this module with the signed-in user
and the per-action checks; callers do not change.

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
    """The name recorded with an operator's action: the logged-in user, else the ``SW_OPERATOR`` setting."""
    try:
        from auth.web import current_user as logged_in
    except ImportError:  # no auth package
        logged_in = None
    principal = logged_in() if logged_in is not None else None
    if principal is not None and _clean(str(principal.username or "")):
        return _clean(str(principal.username))
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
