"""The security audit log from the web tier: ``audit(...)`` records an action of the logged-in user of the
current request, from the client's address, in the caller's unit of work or its own::

    from webapp.audit import audit
    audit("alarm_ack", target=alarm_id, detail=comment)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from auth.auditlog import record
from store.db import session_scope
from webapp import context as web
from webapp.gate import client_address, current_user


def audit(
    event: str,
    *,
    target: str | None = None,
    detail: str | None = None,
    data: dict[str, Any] | None = None,
    user: str | None = None,
    role: str | None = None,
    address: str | None = None,
    session: Session | None = None,
) -> None:
    """Record ``event`` for the logged-in user of the current web request (or the ``user`` given).

    With ``session`` the row joins the caller's unit of work; without, it is written and committed now.
    """
    principal = current_user()
    if principal is not None and user in (None, principal.username):
        user, role = principal.username, role or principal.role.value
    if address is None:
        address = client_address()
    fields: dict[str, Any] = {
        "user": user,
        "role": role,
        "address": address,
        "target": target,
        "detail": detail,
        "data": data,
    }
    if session is not None:
        record(session, event, **fields)
        return
    with session_scope(web.engine()) as own:
        record(own, event, **fields)
