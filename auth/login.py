"""One login attempt: rate limit per client address, temporary lockout per user name, argon2 check, session.

Both limits are counted from the audit log, so they hold across web workers and restarts, and they treat a
name that exists and one that does not alike (the answers do not tell which names exist):

- an address with ``rate_max`` failed attempts in the last ``rate_ms`` is refused without any check;
- a user name with ``max_failures`` wrong passwords in the last ``lockout_ms`` (since its last successful
  login, password reset or unlock) is refused without any check until the oldest of them is that old.

Refused attempts are audited (a rate-limited address once per period, so a flood cannot fill the log).
Neither the password nor its hash is ever logged or audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from auth import auditlog as audit_log
from auth.passwords import hash_password, needs_rehash, verify_password
from auth.sessions import create_session
from auth.users import get_user, lookup_name
from settings import Settings
from store.models import AppUser

logger = logging.getLogger(__name__)

FAILURES = (audit_log.LOGIN_FAILED, audit_log.LOGIN_LOCKED)


class Outcome(StrEnum):
    OK = "ok"
    BAD = "bad"  # wrong name or password, or a disabled user (one answer for all three)
    LOCKED = "locked"  # this user name is locked for a while
    RATE_LIMITED = "rate_limited"  # this address is refused for a while


@dataclass(frozen=True)
class Limits:
    max_failures: int = 5
    lockout_ms: int = 15 * 60_000
    rate_max: int = 20
    rate_ms: int = 10 * 60_000
    idle_ms: int = 60 * 60_000
    max_ms: int = 12 * 3600_000

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(
            max_failures=s.login_max_failures,
            lockout_ms=int(s.login_lockout_minutes * 60_000),
            rate_max=s.login_rate_max,
            rate_ms=int(s.login_rate_minutes * 60_000),
            idle_ms=int(s.session_idle_minutes * 60_000),
            max_ms=int(s.session_max_hours * 3600_000),
        )


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    user: AppUser | None = None
    token: str | None = None
    retry_after_s: int = 0


def _retry(oldest: int | None, period_ms: int, now_ms: int) -> int:
    if oldest is None:
        return 1
    return max(1, -(-(oldest + period_ms - now_ms) // 1000))


def lockout(session: Session, username: str, limits: Limits, now_ms: int) -> tuple[bool, int]:
    """Whether ``username`` is locked now, and for how many more seconds."""
    name = lookup_name(username)[:64]
    since = now_ms - limits.lockout_ms
    cleared = audit_log.last_clearing(session, name)
    if cleared is not None:
        since = max(since, cleared)
    n, oldest = audit_log.count_since(session, (audit_log.LOGIN_FAILED,), since, user=name)
    if n >= limits.max_failures:
        return True, _retry(oldest, limits.lockout_ms, now_ms)
    return False, 0


def attempt_login(
    session: Session,
    username: object,
    password: object,
    *,
    address: str | None,
    user_agent: str | None,
    limits: Limits,
    now_ms: int,
) -> LoginResult:
    """Check one login; on success a new session is added to ``session`` and its token returned."""
    name = lookup_name(username)[:64]
    pw = password if isinstance(password, str) else ""

    if address is not None:
        n, oldest = audit_log.count_since(session, FAILURES, now_ms - limits.rate_ms, address=address)
        if n >= limits.rate_max:
            seen, _ = audit_log.count_since(
                session, (audit_log.LOGIN_RATE_LIMITED,), now_ms - limits.rate_ms, address=address
            )
            if not seen:
                audit_log.record(
                    session, audit_log.LOGIN_RATE_LIMITED, user=name, address=address, detail=f"{n} failures", ts=now_ms
                )
            logger.warning("login refused: too many failures from %s", address)
            return LoginResult(Outcome.RATE_LIMITED, retry_after_s=_retry(oldest, limits.rate_ms, now_ms))

    locked, retry = lockout(session, name, limits, now_ms)
    if locked:
        audit_log.record(session, audit_log.LOGIN_LOCKED, user=name, address=address, ts=now_ms)
        logger.warning("login refused from %s: user name locked for %d s", address, retry)
        return LoginResult(Outcome.LOCKED, retry_after_s=retry)

    user = get_user(session, name) if name else None
    good = verify_password(user.password_hash if user is not None else None, pw)
    if not good or user is None or not user.active:
        reason = "unknown user" if user is None else ("wrong password" if not good else "user disabled")
        audit_log.record(session, audit_log.LOGIN_FAILED, user=name, address=address, detail=reason, ts=now_ms)
        # an unknown name is not logged: it is often a password typed into the wrong field
        logger.info("login failed for %s from %s: %s", "?" if user is None else repr(name), address, reason)
        locked, retry = lockout(session, name, limits, now_ms)
        if locked:
            return LoginResult(Outcome.LOCKED, retry_after_s=retry)
        return LoginResult(Outcome.BAD)

    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(pw)
    user.last_login_at = now_ms
    token = create_session(session, user, now_ms=now_ms, max_ms=limits.max_ms, address=address, user_agent=user_agent)
    audit_log.record(session, audit_log.LOGIN, user=user.username, role=user.role, address=address, ts=now_ms)
    logger.info("login of %s (%s) from %s", user.username, user.role, address)
    return LoginResult(Outcome.OK, user=user, token=token)
