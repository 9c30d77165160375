"""Special-work permits' rows (``work_permit`` and its log): apply, move through the lifecycle of ``engine.permits``
(which refuses what GB 30871-2022 does not allow), expire, list. Every change writes one log row in the caller's unit
of work; the caller commits (and audits: ``webapp.commands``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import permits as rules
from engine.permits import GasReading, Permit, PermitRefusedError
from store.models import WorkPermit, WorkPermitLog

ACTIONS: tuple[str, ...] = ("approve", "gas_test", "isolate", "activate", "suspend", "resume", "close")
OPEN = (rules.APPLIED, rules.APPROVED, rules.GAS_TESTED, rules.ISOLATED, rules.ACTIVE, rules.SUSPENDED)


def as_permit(row: WorkPermit) -> Permit:
    return Permit(
        id=row.id,
        kind=row.kind,
        grade=row.grade,
        state=row.state,
        applicant=row.applicant,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        point=(row.x, row.y),
        area=tuple((float(p[0]), float(p[1])) for p in row.area or []),
        guardian=row.guardian,
        crew=tuple(row.crew or []),
        approvals=tuple((str(a[0]), str(a[1])) for a in (row.approvals or [])),
        isolations=tuple(row.isolations or []),
        isolations_confirmed=row.isolations_confirmed,
        gas_test=rules.gas_test_from(row.gas_test),
        activated_at=row.activated_at,
        paused_at=row.paused_at,
        suspend_reason=row.suspend_reason,
        zone=row.zone,
    )


def _store(row: WorkPermit, p: Permit, now_ms: int) -> None:
    data = rules.as_dict(p)
    row.state = p.state
    row.approvals = data["approvals"]
    row.isolations_confirmed = p.isolations_confirmed
    row.gas_test = data["gas_test"]
    row.activated_at = p.activated_at
    row.paused_at = p.paused_at
    row.suspend_reason = p.suspend_reason
    row.updated_at = now_ms
    if p.state in rules.DONE_STATES and row.closed_at is None:
        row.closed_at = now_ms


def _log(session: Session, row: WorkPermit, ts: int, actor: str, action: str, before: str | None,
         note: str = "", data: dict[str, Any] | None = None) -> None:  # fmt: skip
    session.add(
        WorkPermitLog(
            permit_id=row.id,
            ts=ts,
            actor=actor[:64],
            action=action,
            from_state=before,
            to_state=row.state,
            note=note[:2000],
            data=data,
        )
    )


def apply(
    session: Session,
    *,
    kind: str,
    grade: str | None,
    title: str,
    zone: str | None,
    point: tuple[float, float],
    area: Sequence[Sequence[float]],
    guardian: str | None,
    crew: Sequence[str],
    valid_from: int,
    valid_to: int,
    isolations: Sequence[str],
    applicant: str,
    now_ms: int,
    badges: Iterable[str] = (),
    zones: Iterable[str] = (),
) -> WorkPermit:
    """A new permit, applied for; refused (``PermitRefusedError``) when its kind, grade, validity, guardian, crew or
    area break the rules, or a badge or zone is not the plant's."""
    title = (title or "").strip()
    if not title:
        raise PermitRefusedError("need_title")
    known = set(badges)
    for b in [guardian, *crew]:
        if b is not None and b not in known:
            raise PermitRefusedError("bad_badge", str(b)[:64])
    if zone is not None and zone not in set(zones):
        raise PermitRefusedError("bad_zone", zone[:64])
    p = Permit(
        id=0,
        kind=kind,
        grade=grade or None,
        state=rules.APPLIED,
        applicant=applicant,
        valid_from=int(valid_from),
        valid_to=int(valid_to),
        point=(float(point[0]), float(point[1])),
        area=tuple((float(a[0]), float(a[1])) for a in area),
        guardian=guardian,
        crew=tuple(dict.fromkeys(crew)),
        isolations=tuple(i.strip()[:200] for i in isolations if i.strip()),
        zone=zone,
    )
    rules.check_new(p)
    row = WorkPermit(
        kind=p.kind,
        grade=p.grade,
        title=title[:200],
        zone=zone,
        x=p.point[0],
        y=p.point[1],
        area=[list(a) for a in p.area],
        guardian=guardian,
        crew=list(p.crew),
        valid_from=p.valid_from,
        valid_to=p.valid_to,
        isolations=list(p.isolations),
        applicant=applicant[:64],
        applied_at=now_ms,
        state=rules.APPLIED,
        approvals=[],
        isolations_confirmed=False,
        updated_at=now_ms,
    )
    session.add(row)
    session.flush()
    _log(session, row, now_ms, applicant, "apply", None, "", {"kind": kind, "grade": grade})
    return row


def move(session: Session, permit_id: int, action: str, actor: str, now_ms: int, **given: Any) -> WorkPermit:
    """One step of the lifecycle (``engine.permits`` decides); ``PermitRefusedError`` with nothing written."""
    row = session.scalars(select(WorkPermit).where(WorkPermit.id == int(permit_id)).with_for_update()).first()
    if row is None:
        raise PermitRefusedError("unknown", str(permit_id))
    if action not in ACTIONS:
        raise PermitRefusedError("unknown_action", action)
    if not actor:
        raise PermitRefusedError("need_actor")
    p = as_permit(row)
    ended = rules.expire(p, now_ms)
    if ended is not None:
        before = row.state
        _store(row, ended, now_ms)
        _log(session, row, now_ms, "system", "expire", before)
        raise PermitRefusedError("expired")
    before = p.state
    note = str(given.get("note") or "")
    data: dict[str, Any] | None = None
    if action == "approve":
        p = rules.approve(p, str(given.get("signoff") or ""), actor)
        data = {"signoff": given.get("signoff")}
    elif action == "gas_test":
        readings = [GasReading(str(g), float(v), str(u)) for g, v, u in given.get("readings") or []]
        p = rules.gas_test(p, readings, actor, now_ms)
        data = {"passed": p.gas_test.passed if p.gas_test else None}
    elif action == "isolate":
        p = rules.confirm_isolations(p, actor)
    elif action == "activate":
        p = rules.activate(p, now_ms)
    elif action == "suspend":
        p = rules.suspend(p, str(given.get("reason") or "manual"), now_ms)
    elif action == "resume":
        p = rules.resume(p, now_ms)
    else:
        p = rules.close(p, actor)
    _store(row, p, now_ms)
    _log(session, row, now_ms, actor, action, before, note, data)
    return row


def suspend_for(session: Session, row: WorkPermit, reason: str, now_ms: int, data: dict[str, Any]) -> bool:
    """Suspend an active permit for a live finding (guardian away, gas over); False when it is not active."""
    p = as_permit(row)
    if p.state != rules.ACTIVE:
        return False
    _store(row, rules.suspend(p, reason, now_ms), now_ms)
    _log(session, row, now_ms, "system", "suspend", rules.ACTIVE, reason, data)
    return True


def live(session: Session) -> list[WorkPermit]:
    """Every permit not closed nor expired."""
    return list(session.scalars(select(WorkPermit).where(WorkPermit.state.in_(OPEN)).order_by(WorkPermit.id)))


def expire_due(session: Session, rows: Iterable[WorkPermit], now_ms: int) -> list[WorkPermit]:
    out = []
    for row in rows:
        ended = rules.expire(as_permit(row), now_ms)
        if ended is not None:
            before = row.state
            _store(row, ended, now_ms)
            _log(session, row, now_ms, "system", "expire", before)
            out.append(row)
    return out


def listing(session: Session, since_ms: int) -> list[WorkPermit]:
    """The permits open now and those that ended since ``since_ms`` (a day's list), newest first."""
    stmt = (
        select(WorkPermit)
        .where(or_(WorkPermit.state.in_(OPEN), WorkPermit.closed_at >= since_ms))
        .order_by(WorkPermit.valid_from.desc(), WorkPermit.id.desc())
    )
    return list(session.scalars(stmt))


def history(session: Session, permit_id: int) -> list[WorkPermitLog]:
    stmt = select(WorkPermitLog).where(WorkPermitLog.permit_id == int(permit_id)).order_by(WorkPermitLog.id)
    return list(session.scalars(stmt))


def overlapping(session: Session, t0: int, t1: int) -> list[WorkPermit]:
    """The permits valid for some of ``[t0, t1)`` (the reports count them by kind), oldest first."""
    stmt = (
        select(WorkPermit)
        .where(WorkPermit.valid_from < t1, WorkPermit.valid_to >= t0)
        .order_by(WorkPermit.valid_from, WorkPermit.id)
    )
    return list(session.scalars(stmt))


def mine(session: Session, username: str, badge: str | None, since_ms: int) -> list[tuple[WorkPermit, tuple[str, ...]]]:
    """The permits open now or ended since ``since_ms`` that a user is on, with their parts in each (``guardian`` or
    ``crew`` by their badge, ``applicant`` or ``approver`` by their user name), newest first."""
    out = []
    for row in listing(session, since_ms):
        roles = []
        if badge and row.guardian == badge:
            roles.append("guardian")
        if badge and badge in (row.crew or []):
            roles.append("crew")
        if username and row.applicant == username:
            roles.append("applicant")
        if username and any(len(a) == 2 and a[1] == username for a in row.approvals or []):
            roles.append("approver")
        if roles:
            out.append((row, tuple(roles)))
    return out
