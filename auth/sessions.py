"""Server-side sessions: the browser's cookie holds a random token, the store holds its SHA-256.

A session ends at logout, when it has been idle for ``idle_ms``, at its absolute ``expires_at``, when its
user is disabled or gets a new password. Several web workers share the sessions through the store.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from store.models import AppUser, UserSession

logger = logging.getLogger(__name__)

TOUCH_EVERY_MS = 60_000  # last_seen_at is written at most once a minute per session


class SessionState(StrEnum):
    NONE = "none"  # no token, or one the store does not know
    EXPIRED = "expired"  # idle too long or past its absolute end
    DISABLED = "disabled"  # its user was disabled
    OK = "ok"


@dataclass(frozen=True)
class Resolved:
    state: SessionState
    user: AppUser | None = None
    row: UserSession | None = None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_session(
    session: Session,
    user: AppUser,
    *,
    now_ms: int,
    max_ms: int,
    address: str | None = None,
    user_agent: str | None = None,
) -> str:
    """A new session for ``user``; returns the token for the cookie (never stored)."""
    token = new_token()
    session.add(
        UserSession(
            id=token_id(token),
            user_id=user.id,
            created_at=now_ms,
            last_seen_at=now_ms,
            expires_at=now_ms + max_ms,
            address=(address or "")[:64] or None,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    return token


def resolve(session: Session, token: str | None, *, now_ms: int, idle_ms: int) -> Resolved:
    """The session and user behind ``token``; an expired session is deleted on the way."""
    if not token or len(token) > 200:
        return Resolved(SessionState.NONE)
    row = session.get(UserSession, token_id(token))
    if row is None:
        return Resolved(SessionState.NONE)
    if now_ms >= row.expires_at or now_ms - row.last_seen_at > idle_ms:
        session.delete(row)
        return Resolved(SessionState.EXPIRED)
    user = session.get(AppUser, row.user_id)
    if user is None or not user.active:
        session.delete(row)
        return Resolved(SessionState.DISABLED)
    if now_ms - row.last_seen_at >= min(TOUCH_EVERY_MS, idle_ms // 4):
        row.last_seen_at = now_ms
    return Resolved(SessionState.OK, user, row)


def end_session(session: Session, token: str | None) -> UserSession | None:
    """Delete the session of ``token``; returns it (None when there was none)."""
    if not token or len(token) > 200:
        return None
    row = session.get(UserSession, token_id(token))
    if row is not None:
        session.delete(row)
    return row


def purge_expired(session: Session, *, now_ms: int, idle_ms: int) -> int:
    """Delete every session past its end or idle too long; how many."""
    result = session.execute(
        delete(UserSession).where(or_(UserSession.expires_at <= now_ms, UserSession.last_seen_at < now_ms - idle_ms))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
