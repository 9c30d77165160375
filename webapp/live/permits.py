"""The special-work permits for the screens: those open now and those ended in the last day, from the store."""

from __future__ import annotations

from store.db import session_scope
from store.models import WorkPermit
from store.permits import listing
from webapp import context as web

DAY_MS = 86_400_000


def current() -> list[WorkPermit]:
    with session_scope(web.engine()) as session:
        rows = listing(session, web.now_ms() - DAY_MS)
        session.expunge_all()
    return rows
