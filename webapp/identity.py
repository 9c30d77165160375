"""Who is acting in the web app, for the alarm journal: ``current_user()`` and ``client_address()``.

An action is recorded under the name of the logged-in user (``webapp.gate``) and nobody else's: without a
login session :func:`current_user` refuses (:class:`auth.policy.NotLoggedInError`) instead of acting under
a stand-in name. :func:`signed_in_name` is the same name for display (None when nobody is logged in),
:func:`who_line` the line of a confirmation dialog that names it.

Behind a reverse proxy set ``SW_TRUSTED_PROXIES`` (``webapp.gate``) so that the address is the client's and
not the proxy's; forwarded headers are not trusted otherwise.
"""

from __future__ import annotations

import logging
import re

from auth.policy import NotLoggedInError
from i18n import t
from webapp.gate import client_address as _address
from webapp.gate import current_user as _logged_in

logger = logging.getLogger(__name__)

MAX_LEN = 64  # the journal's user and address columns
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean(value: str) -> str:
    return _CONTROL.sub("", value).strip()[:MAX_LEN]


def signed_in_name() -> str | None:
    """The logged-in user's name as recorded with an action (None: nobody is logged in)."""
    principal = _logged_in()
    if principal is None:
        return None
    return _clean(str(principal.username or "")) or None


def current_user() -> str:
    """The name recorded with an operator's action: the logged-in user's. Raises
    :class:`auth.policy.NotLoggedInError` when nobody is logged in (outside a request, or no session)."""
    name = signed_in_name()
    if name is None:
        raise NotLoggedInError("nobody is logged in: the action is refused")
    return name


def who_line(key: str, lang: str) -> str:
    """A confirmation's line naming who the action is recorded as (the catalog text ``key`` with ``{user}``);
    with nobody logged in, that nothing will be done."""
    name = signed_in_name()
    return t(key, lang, user=name) if name else t("login.required", lang)


def client_address() -> str:
    """The address of the browser making the current request (``unknown`` outside a request)."""
    return _clean(_address()) or "unknown"
