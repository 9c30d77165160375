"""The report archive and the report schedules (``report_issue``, ``report_schedule``).

An issued file is never changed: issuing a period again adds the next version. Functions take a session and
never commit (the caller's unit of work does).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import ReportIssue, ReportSchedule

FORMATS = ("pdf", "xlsx", "csv", "template")
KINDS = ("shift", "day", "month")


def next_version(session: Session, kind: str, period: str, lang: str, fmt: str, named: bool) -> int:
    got = session.scalar(
        select(func.max(ReportIssue.version)).where(
            ReportIssue.kind == kind,
            ReportIssue.period == period,
            ReportIssue.lang == lang,
            ReportIssue.fmt == fmt,
            ReportIssue.named == named,
        )
    )
    return int(got or 0) + 1


def add_issue(session: Session, row: ReportIssue) -> ReportIssue:
    session.add(row)
    session.flush()
    return row


def issues(
    session: Session,
    *,
    kind: str | None = None,
    lang: str | None = None,
    fmt: str | None = None,
    period_prefix: str | None = None,
    named: bool | None = None,
    schedule_id: int | None = None,
    limit: int = 200,
) -> list[ReportIssue]:
    """Issued reports, newest first, filtered."""
    stmt = select(ReportIssue)
    if kind:
        stmt = stmt.where(ReportIssue.kind == kind)
    if lang:
        stmt = stmt.where(ReportIssue.lang == lang)
    if fmt:
        stmt = stmt.where(ReportIssue.fmt == fmt)
    if period_prefix:
        stmt = stmt.where(ReportIssue.period.startswith(period_prefix, autoescape=True))
    if named is not None:
        stmt = stmt.where(ReportIssue.named == named)
    if schedule_id is not None:
        stmt = stmt.where(ReportIssue.schedule_id == schedule_id)
    stmt = stmt.order_by(ReportIssue.ts.desc(), ReportIssue.id.desc()).limit(max(1, int(limit)))
    return list(session.scalars(stmt))


def issue(session: Session, issue_id: int) -> ReportIssue | None:
    return session.get(ReportIssue, int(issue_id))


def schedules(session: Session, *, enabled_only: bool = False) -> list[ReportSchedule]:
    stmt = select(ReportSchedule).order_by(ReportSchedule.id)
    if enabled_only:
        stmt = stmt.where(ReportSchedule.enabled.is_(True))
    return list(session.scalars(stmt))


def add_schedule(
    session: Session,
    *,
    kind: str,
    lang: str,
    formats: Sequence[str],
    by: str,
    now_ms: int,
    at_minute: int = 0,
    named: bool = True,
    recipients: Sequence[str] = (),
    last_end: int | None = None,
    enabled: bool = True,
) -> ReportSchedule:
    """A new schedule; ``at_minute``: minutes after the period's end it runs (a daily report at 06:30 for the
    day before: 390). Bad values are refused with what is wrong."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r} (one of {', '.join(KINDS)})")
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"unknown report formats {bad or 'none'} (some of {', '.join(FORMATS)})")
    if not 0 <= int(at_minute) <= 7 * 24 * 60:
        raise ValueError(f"at_minute {at_minute} is not between 0 and a week")
    row = ReportSchedule(
        kind=kind,
        lang=lang,
        formats=",".join(formats),
        at_minute=int(at_minute),
        named=bool(named),
        recipients=",".join(recipients) or None,
        enabled=bool(enabled),
        last_end=last_end,
        created_by=by,
        created_at=int(now_ms),
    )
    session.add(row)
    session.flush()
    return row


def update_schedule(
    session: Session,
    schedule_id: int,
    *,
    kind: str,
    lang: str,
    formats: Sequence[str],
    at_minute: int,
    named: bool,
    recipients: Sequence[str],
    enabled: bool,
) -> tuple[ReportSchedule, dict[str, tuple[object, object]]]:
    """Change schedule ``schedule_id``; returns it and what changed (field: (before, after)). A schedule
    switched to another kind, or switched on again, starts with the next period due (``last_end`` is set
    afresh by the reports service), so it does not issue the periods of the time it was off. ``KeyError``
    for no such schedule; bad values are refused as in :func:`add_schedule`."""
    row = session.get(ReportSchedule, int(schedule_id))
    if row is None:
        raise KeyError(schedule_id)
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r} (one of {', '.join(KINDS)})")
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"unknown report formats {bad or 'none'} (some of {', '.join(FORMATS)})")
    if not 0 <= int(at_minute) <= 7 * 24 * 60:
        raise ValueError(f"at_minute {at_minute} is not between 0 and a week")
    after: dict[str, object] = {
        "kind": kind,
        "lang": lang,
        "formats": ",".join(formats),
        "at_minute": int(at_minute),
        "named": bool(named),
        "recipients": ",".join(recipients) or None,
        "enabled": bool(enabled),
    }
    changes = {k: (getattr(row, k), v) for k, v in after.items() if getattr(row, k) != v}
    if "kind" in changes or changes.get("enabled") == (False, True):
        row.last_end = None
    for k, (_, v) in changes.items():
        setattr(row, k, v)
    session.flush()
    return row, changes
