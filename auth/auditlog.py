"""The security audit log: who did what, when, from where. Append-only (the database refuses edits).

``record(session, ...)`` is the repository function (the caller's unit of work commits). The web tier's
``webapp.audit.audit(...)`` fills in the logged-in user and the client address of the current request.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from store.models import SecurityAudit

logger = logging.getLogger(__name__)

# Events written by auth itself; other modules add their own (alarm_ack, alarm_shelve, muster_declared, ...).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGIN_LOCKED = "login_locked"  # refused without checking: too many wrong passwords for this user name
LOGIN_RATE_LIMITED = "login_rate_limited"  # refused without checking: too many failures from this address
LOGOUT = "logout"
USER_ADDED = "user_added"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"
USER_UNLOCKED = "user_unlocked"
PASSWORD_RESET = "password_reset"
ROLE_CHANGED = "role_changed"
BADGE_CHANGED = "badge_changed"  # a user's own badge set, changed or taken away (data: from, to)
# Operator actions, written by the modules that carry them out.
ALARM_ACK = "alarm_ack"
ALARM_SHELVE = "alarm_shelve"
ALARM_UNSHELVE = "alarm_unshelve"
ALARM_COMMENT = "alarm_comment"
ALARM_OUT_OF_SERVICE = "alarm_out_of_service"
ALARM_IN_SERVICE = "alarm_in_service"
MUSTER_DECLARED = "muster_declared"
MUSTER_ENDED = "muster_ended"
VIDEO_FALSE_POSITIVE = "video_false_positive"  # a video detection marked as a false positive
DOWNTIME_REASON = "downtime_reason"  # a downtime event given (or changed) its reason
PLAN_IMPORTED = "plan_imported"  # a production plan file imported as a new version
SPC_EXCLUDED = "spc_excluded"  # an assay result left out of its SPC chart, with a reason
SPC_INCLUDED = "spc_included"  # an exclusion taken back
LAB_IMPORTED = "lab_imported"  # a lab CSV file imported as assay results
STOCK_IMPORTED = "stock_imported"  # a stock list imported (items added, counts adjusted)
STOCK_ENTRY = "stock_entry"  # a receipt, issue or adjustment appended to the stock ledger
HIDDEN_DANGER_REPORTED = "hidden_danger_reported"  # a hidden danger reported (its id the target)
HIDDEN_DANGER_MOVED = "hidden_danger_moved"  # a hidden danger assessed, assigned, planned, rectified, verified...
EMERGENCY_DECLARED = "emergency_declared"  # an emergency declared (or a proposal accepted)
EMERGENCY_DISMISSED = "emergency_dismissed"  # a proposed emergency dismissed
EMERGENCY_ACTION = "emergency_action"  # a plan action ticked done or reopened
EMERGENCY_GROWN = "emergency_grown"  # the danger area grown
EMERGENCY_ENDED = "emergency_ended"
PERMIT_APPLIED = "permit_applied"  # a special-work permit applied for
PERMIT_MOVED = "permit_moved"  # a permit approved, gas tested, activated, suspended, resumed or closed
REPORT_ISSUED = "report_issued"  # a report of a past period made on demand (period, formats, versions)
REPORT_DOWNLOADED = "report_downloaded"  # an archived report file downloaded
REPORT_SCHEDULE_ADDED = "report_schedule_added"  # a report schedule set up (its id the target, its fields)
REPORT_SCHEDULE_CHANGED = "report_schedule_changed"  # a report schedule changed (each field before and after)

KNOWN_EVENTS: tuple[str, ...] = (
    LOGIN,
    LOGIN_FAILED,
    LOGIN_LOCKED,
    LOGIN_RATE_LIMITED,
    LOGOUT,
    USER_ADDED,
    USER_DISABLED,
    USER_ENABLED,
    USER_UNLOCKED,
    PASSWORD_RESET,
    ROLE_CHANGED,
    BADGE_CHANGED,
    ALARM_ACK,
    ALARM_SHELVE,
    ALARM_UNSHELVE,
    ALARM_COMMENT,
    ALARM_OUT_OF_SERVICE,
    ALARM_IN_SERVICE,
    MUSTER_DECLARED,
    MUSTER_ENDED,
    VIDEO_FALSE_POSITIVE,
    DOWNTIME_REASON,
    PLAN_IMPORTED,
    SPC_EXCLUDED,
    SPC_INCLUDED,
    LAB_IMPORTED,
    STOCK_IMPORTED,
    STOCK_ENTRY,
    HIDDEN_DANGER_REPORTED,
    HIDDEN_DANGER_MOVED,
    EMERGENCY_DECLARED,
    EMERGENCY_DISMISSED,
    EMERGENCY_ACTION,
    EMERGENCY_GROWN,
    EMERGENCY_ENDED,
    PERMIT_APPLIED,
    PERMIT_MOVED,
    REPORT_ISSUED,
    REPORT_DOWNLOADED,
    REPORT_SCHEDULE_ADDED,
    REPORT_SCHEDULE_CHANGED,
)

EVENT_RE = re.compile(r"^[a-z][a-z0-9_.]{0,31}$")
MAX_DETAIL = 4000
ELLIPSIS = "…"


def _fit(value: object, size: int) -> str | None:
    """Text for a column of ``size`` characters; longer text is cut and marked with an ellipsis."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= size else text[: size - 1] + ELLIPSIS


def record(
    session: Session,
    event: str,
    *,
    user: str | None = None,
    role: str | None = None,
    address: str | None = None,
    target: str | None = None,
    detail: str | None = None,
    data: dict[str, Any] | None = None,
    ts: int | None = None,
) -> SecurityAudit:
    """Add one audit row to ``session`` (not committed here)."""
    if not isinstance(event, str) or not EVENT_RE.match(event):
        raise ValueError(f"audit event must be lower-case letters, digits, '_' or '.', at most 32: {event!r}")
    if data is not None and not isinstance(data, dict):
        raise ValueError("audit data must be a dict")
    row = SecurityAudit(
        ts=int(ts if ts is not None else time.time() * 1000),
        event=event,
        user=_fit(user, 64),
        role=_fit(role, 16),
        address=_fit(address, 64),
        target=_fit(target, 255),
        detail=_fit(detail, MAX_DETAIL),
        data=data,
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class AuditQuery:
    """A search of the audit log; every field optional. Times are UTC milliseconds, ``until`` exclusive."""

    user: str | None = None
    event: str | None = None
    text: str | None = None  # in target, detail, user or address
    address: str | None = None
    since: int | None = None
    until: int | None = None
    limit: int = 500


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, query: AuditQuery) -> tuple[list[SecurityAudit], int]:
    """Rows matching ``query``, newest first, at most ``query.limit``; and how many match in all."""
    conds: list[ColumnElement[bool]] = []
    if query.user:
        conds.append(func.lower(SecurityAudit.user).like(_like(query.user.strip().lower()), escape="\\"))
    if query.event:
        conds.append(SecurityAudit.event == query.event)
    if query.address:
        conds.append(SecurityAudit.address.like(_like(query.address.strip()), escape="\\"))
    if query.text:
        pattern = _like(query.text.strip().lower())
        conds.append(
            or_(
                func.lower(SecurityAudit.target).like(pattern, escape="\\"),
                func.lower(SecurityAudit.detail).like(pattern, escape="\\"),
                func.lower(SecurityAudit.user).like(pattern, escape="\\"),
            )
        )
    if query.since is not None:
        conds.append(SecurityAudit.ts >= query.since)
    if query.until is not None:
        conds.append(SecurityAudit.ts < query.until)
    total = int(session.execute(select(func.count()).select_from(SecurityAudit).where(*conds)).scalar_one())
    limit = max(1, min(int(query.limit), 5000))
    rows = (
        session.execute(
            select(SecurityAudit).where(*conds).order_by(SecurityAudit.ts.desc(), SecurityAudit.id.desc()).limit(limit)
        )
        .scalars()
        .all()
    )
    return list(rows), total


def count_since(
    session: Session,
    events: tuple[str, ...],
    since: int,
    *,
    user: str | None = None,
    address: str | None = None,
) -> tuple[int, int | None]:
    """How many ``events`` for ``user`` or from ``address`` since ``since``, and the oldest one's time."""
    conds = [SecurityAudit.event.in_(events), SecurityAudit.ts > since]
    if user is not None:
        conds.append(SecurityAudit.user == user)
    if address is not None:
        conds.append(SecurityAudit.address == address)
    n, oldest = session.execute(select(func.count(), func.min(SecurityAudit.ts)).where(*conds)).one()
    return int(n), (int(oldest) if oldest is not None else None)


def last_clearing(session: Session, username: str) -> int | None:
    """When the wrong-password count of ``username`` last started afresh: its last successful login, or the
    last time an administrator reset its password or unlocked it."""
    ts = session.execute(
        select(func.max(SecurityAudit.ts)).where(
            or_(
                (SecurityAudit.event == LOGIN) & (SecurityAudit.user == username),
                SecurityAudit.event.in_((PASSWORD_RESET, USER_UNLOCKED)) & (SecurityAudit.target == username),
            )
        )
    ).scalar_one()
    return int(ts) if ts is not None else None
