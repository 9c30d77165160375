"""Users: add, disable, enable, reset the password, change the role, set the badge, list. Every change is audited.

Repository functions: they take a session and never commit. ``actor`` and ``address`` say who made the
change and from where (the CLI passes ``cli:<login>`` and ``console``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from auth import auditlog as audit_log
from auth.passwords import check_policy, hash_password
from auth.policy import Role
from engine.clock import now_ms
from store.models import AppUser, UserSession

logger = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[\w][\w.@-]{0,63}$")
AREA_RE = re.compile(r"^[\w.-]{1,64}$")


class UserError(ValueError):
    """A user change that cannot be made (the message says why)."""


class UnknownBadgeError(UserError):
    """A badge that is not among the plant's people's badges."""

    def __init__(self, badge: str) -> None:
        super().__init__(f"no person's badge {badge!r} in the plant file")
        self.badge = badge


def _now() -> int:
    return now_ms()


def normalize_username(name: object) -> str:
    """The stored form of a user name: NFKC, trimmed, lower case; letters, digits and ``. _ @ -``."""
    if not isinstance(name, str):
        raise UserError("the user name must be text")
    norm = unicodedata.normalize("NFKC", name).strip().lower()
    if not USERNAME_RE.match(norm):
        raise UserError(
            "a user name has 1 to 64 letters, digits or '.', '_', '@', '-' and starts with a letter or digit"
        )
    return norm


def lookup_name(typed: object) -> str:
    """A typed login name in the stored form, never failing (unknown or malformed names simply match no one)."""
    if not isinstance(typed, str):
        return ""
    return unicodedata.normalize("NFKC", typed).strip().lower()[:200]


def _areas(areas: Iterable[str] | None) -> list[str] | None:
    if areas is None:
        return None
    out = []
    for a in areas:
        a = str(a).strip()
        if not a:
            continue
        if not AREA_RE.match(a):
            raise UserError(f"an area id has letters, digits, '.', '_' or '-': {a!r}")
        out.append(a)
    return out or None


def get_user(session: Session, username: str) -> AppUser | None:
    return session.execute(select(AppUser).where(AppUser.username == lookup_name(username))).scalar_one_or_none()


def _require(session: Session, username: str) -> AppUser:
    user = get_user(session, username)
    if user is None:
        raise UserError(f"no user {lookup_name(username)!r}")
    return user


def count_users(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AppUser)).scalar_one())


def list_users(session: Session) -> list[AppUser]:
    return list(session.execute(select(AppUser).order_by(AppUser.username)).scalars().all())


def end_sessions(session: Session, user_id: int) -> int:
    """Log the user out everywhere; the number of sessions ended."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def add_user(
    session: Session,
    username: str,
    role: Role | str,
    password: str,
    *,
    actor: str,
    address: str | None = None,
    display_name: str = "",
    email: str | None = None,
    areas: Iterable[str] | None = None,
    badge: str | None = None,
    now_ms: int | None = None,
) -> AppUser:
    name = normalize_username(username)
    badge = (badge or "").strip() or None
    if badge is not None and len(badge) > 64:
        raise UserError("a badge id has at most 64 characters")
    role = Role(role)
    check_policy(password, name)
    if len(display_name) > 128:
        raise UserError("the display name has at most 128 characters")
    if email is not None and (len(email) > 255 or "@" not in email):
        raise UserError(f"not an e-mail address: {email!r}")
    if get_user(session, name) is not None:
        raise UserError(f"user {name!r} exists already")
    now = now_ms if now_ms is not None else _now()
    user = AppUser(
        username=name,
        display_name=display_name.strip(),
        role=role.value,
        password_hash=hash_password(password),
        active=True,
        email=email,
        areas=_areas(areas),
        badge=badge,
        created_at=now,
        updated_at=now,
        password_changed_at=now,
        last_login_at=None,
    )
    session.add(user)
    session.flush()
    audit_log.record(
        session,
        audit_log.USER_ADDED,
        user=actor,
        address=address,
        target=name,
        detail=f"role {role.value}",
        data={"role": role.value},  # the screen says it in the reader's language
        ts=now,
    )
    logger.info("user %s added with role %s by %s", name, role.value, actor)
    return user


def set_active(
    session: Session, username: str, active: bool, *, actor: str, address: str | None = None, now_ms: int | None = None
) -> AppUser:
    user = _require(session, username)
    now = now_ms if now_ms is not None else _now()
    user.active = active
    user.updated_at = now
    ended = 0 if active else end_sessions(session, user.id)
    event = audit_log.USER_ENABLED if active else audit_log.USER_DISABLED
    audit_log.record(session, event, user=actor, address=address, target=user.username, ts=now)
    logger.info("user %s %s by %s (%d sessions ended)", user.username, event, actor, ended)
    return user


def set_password(
    session: Session, username: str, password: str, *, actor: str, address: str | None = None, now_ms: int | None = None
) -> AppUser:
    """A new password (also lifts a lockout); every session of the user ends."""
    user = _require(session, username)
    check_policy(password, user.username)
    now = now_ms if now_ms is not None else _now()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.updated_at = now
    end_sessions(session, user.id)
    audit_log.record(session, audit_log.PASSWORD_RESET, user=actor, address=address, target=user.username, ts=now)
    logger.info("password of %s reset by %s", user.username, actor)
    return user


def set_role(
    session: Session,
    username: str,
    role: Role | str,
    *,
    actor: str,
    address: str | None = None,
    now_ms: int | None = None,
) -> AppUser:
    user = _require(session, username)
    new = Role(role)
    old = user.role
    now = now_ms if now_ms is not None else _now()
    user.role = new.value
    user.updated_at = now
    audit_log.record(
        session,
        audit_log.ROLE_CHANGED,
        user=actor,
        address=address,
        target=user.username,
        detail=f"{old} -> {new}",
        data={"from": str(old), "to": new.value},
        ts=now,
    )
    logger.info("role of %s changed from %s to %s by %s", user.username, old, new.value, actor)
    return user


def set_badge(
    session: Session,
    username: str,
    badge: str | None,
    *,
    known: Collection[str],
    actor: str,
    address: str | None = None,
    now_ms: int | None = None,
) -> AppUser:
    """Give ``username`` their own badge (``None`` or blank: none); ``known``: the plant's people's badge ids, a
    badge not among them is refused (:class:`UnknownBadgeError`). The on-call phone lists the special-work permits
    of that badge. Audited with the badge before and after; a badge unchanged writes nothing."""
    user = _require(session, username)
    new = (badge or "").strip() or None
    if new is not None and new not in known:
        raise UnknownBadgeError(new[:64])
    old = user.badge
    if new == old:
        return user
    now = now_ms if now_ms is not None else _now()
    user.badge = new
    user.updated_at = now
    audit_log.record(
        session,
        audit_log.BADGE_CHANGED,
        user=actor,
        address=address,
        target=user.username,
        detail=f"{old or '-'} -> {new or '-'}",
        data={"from": old, "to": new},
        ts=now,
    )
    logger.info("badge of %s set from %s to %s by %s", user.username, old, new, actor)
    return user


def unlock(
    session: Session, username: str, *, actor: str, address: str | None = None, now_ms: int | None = None
) -> AppUser:
    """Forget the wrong passwords typed for ``username`` so far (its lockout ends)."""
    user = _require(session, username)
    audit_log.record(session, audit_log.USER_UNLOCKED, user=actor, address=address, target=user.username, ts=now_ms)
    return user
