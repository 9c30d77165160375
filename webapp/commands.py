"""The operator command, one use case for every page that acts on alarms (the alarm list, the video feed, the
on-call phone): who acts (the logged-in user, refused when nobody is, or when the role lacks the permission),
from where, on which areas; the commands queued for the alarm service and the security audit row, in one
transaction. The alarm service applies each command and checks it again.

    with operator_session((Perm.ACK,)) as (session, op):
        ids = alarm_command(session, op, ["tag:FF-1.TEMP:HI"], "ack", now_ms=now, audit_event="alarm_ack")

A page that confirms a command tells its user why it was refused with :func:`refusal_message`:

    except REFUSALS as exc:
        return refusal_message(exc, lang, what=f"alarm {action}")
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy.orm import Session

from auth.auditlog import (
    DOWNTIME_REASON,
    EMERGENCY_ACTION,
    EMERGENCY_DECLARED,
    EMERGENCY_DISMISSED,
    EMERGENCY_ENDED,
    EMERGENCY_GROWN,
    HIDDEN_DANGER_MOVED,
    HIDDEN_DANGER_REPORTED,
    LAB_IMPORTED,
    PERMIT_APPLIED,
    PERMIT_MOVED,
    PLAN_IMPORTED,
    REPORT_SCHEDULE_ADDED,
    REPORT_SCHEDULE_CHANGED,
    SPC_EXCLUDED,
    SPC_INCLUDED,
    STOCK_ENTRY,
    STOCK_IMPORTED,
)
from auth.policy import NotLoggedInError, Perm
from engine.stock import Kind, StockError, amount
from i18n import t
from plant.schema import Plant
from reports.schedule import ScheduleFields
from store import emergency as em
from store.alarms import submit_command
from store.db import session_scope
from store.equipment import assign_reason
from store.hidden_dangers import act, report
from store.models import PlanVersion, StockLedger
from store.permits import apply as apply_permit
from store.permits import move as move_permit
from store.plan import import_plan
from store.reports import add_schedule, update_schedule
from store.spc import LabImportError, exclude, import_lab_csv, include
from store.stock import ImportResult, append, import_stock_list, item_by_code
from store.tags import tag_ids
from webapp import context as web
from webapp.audit import audit
from webapp.gate import client_address, current_user

logger = logging.getLogger(__name__)


class NotAllowedError(ValueError):
    """The logged-in user's role may not do this action."""


# What an operator command is refused with: nobody logged in, or a ValueError - the role may not
# (NotAllowedError), the store refuses it (store.alarms.CommandError), or the page's own check of the request.
REFUSALS: tuple[type[Exception], ...] = (NotLoggedInError, ValueError)


@dataclass(frozen=True)
class Operator:
    """Who acts: the user's name, the client's address, and the areas they may act on (None: every area)."""

    user: str
    address: str
    areas: tuple[str, ...] | None


def operator(perms: Iterable[Perm]) -> Operator:
    """The logged-in user of this request, who must hold one of ``perms``: :class:`NotLoggedInError` when
    nobody is logged in, :class:`NotAllowedError` when the role holds none of them."""
    principal = current_user()
    if principal is None:
        raise NotLoggedInError("nobody is logged in")
    if not any(principal.can(p) for p in perms):
        raise NotAllowedError(f"{principal.role.value} may not do this")
    return Operator(principal.username, client_address(), principal.command_areas())


def who_line(key: str, lang: str) -> str:
    """A confirmation's line naming who the action will be recorded as (the catalog text ``key`` with
    ``{user}``); with nobody logged in, that nothing will be done."""
    principal = current_user()
    return t(key, lang, user=principal.username) if principal is not None else t("login.required", lang)


@contextmanager
def operator_session(perms: Iterable[Perm]) -> Iterator[tuple[Session, Operator]]:
    """The checked operator and one unit of work for everything the action writes (committed at the end)."""
    op = operator(perms)
    with session_scope(web.engine()) as session:
        yield session, op


def alarm_command(
    session: Session,
    op: Operator,
    alarm_ids: list[str],
    action: str,
    *,
    now_ms: int,
    audit_event: str,
    comment: str | None = None,
    duration_s: int | None = None,
    data: dict[str, Any] | None = None,
) -> list[int]:
    """Queue ``action`` on ``alarm_ids`` for the alarm service (in ``op``'s areas only) and record it in the
    security audit log, in ``session``'s transaction. Returns the command ids; ``store.alarms.CommandError``
    (a ``ValueError``) when the store refuses it."""
    command_ids = submit_command(
        session,
        alarm_ids,
        action,
        op.user,
        comment=comment,
        duration_s=duration_s,
        address=op.address,
        now_ms=now_ms,
        areas=op.areas,
    )
    audit(
        audit_event,
        user=op.user,
        address=op.address,
        target=", ".join(alarm_ids),
        detail=comment,
        data={**(data or {}), "commands": command_ids},
        session=session,
    )
    return command_ids


def downtime_reason(session: Session, op: Operator, event_id: int, reason: str, *, now_ms: int, plant: Plant) -> None:
    """Give downtime event ``event_id`` its ``reason`` (a leaf of the plant's reason tree) and record it in
    the security audit log, in ``session``'s transaction; ``store.equipment.ReasonError`` (a ``ValueError``)
    when the store refuses it."""
    before = assign_reason(session, event_id, reason, op.user, now_ms, plant)
    audit(
        DOWNTIME_REASON,
        user=op.user,
        address=op.address,
        target=f"downtime:{event_id}",
        detail=reason,
        data={"equipment": before.source, "start_ms": before.ts_start},
        session=session,
    )


def import_plan_file(
    session: Session, op: Operator, data: bytes, name: str, *, now_ms: int, plant: Plant
) -> PlanVersion:
    """Import a production plan file as a new version (whole or not at all: ``engine.plan.PlanFileError``, a
    ``ValueError``, names the cells at fault) and record it in the security audit log, in one transaction."""
    version = import_plan(session, data, name, plant, op.user, now_ms)
    audit(
        PLAN_IMPORTED,
        user=op.user,
        address=op.address,
        target=f"plan:{version.id}",
        detail=version.source,
        data={"first_day": version.first_day, "last_day": version.last_day, "rows": version.rows},
        session=session,
    )
    return version


def import_lab_file(session: Session, op: Operator, data: bytes, name: str, *, plant: Plant) -> int:
    """Import a lab CSV file as assay results (whole or not at all: ``store.spc.LabImportError``, a
    ``ValueError``, names the line and cell at fault) and record it in the security audit log, in one
    transaction. Returns the number of results."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabImportError([f"{name}: not a UTF-8 text file"]) from exc
    n = import_lab_csv(session, plant, tag_ids(session), text, name)
    audit(LAB_IMPORTED, user=op.user, address=op.address, target=f"lab:{name}", detail=f"{n} results", session=session)
    return n


def import_stock_file(session: Session, op: Operator, data: bytes, name: str, *, now_ms: int) -> ImportResult:
    """Import a stock list (whole or not at all: ``engine.stock.StockFileError``, a ``ValueError``, names every
    line and cell at fault) and record it in the security audit log, in one transaction."""
    got = import_stock_list(session, data, name, user=op.user, now_ms=now_ms)
    audit(
        STOCK_IMPORTED,
        user=op.user,
        address=op.address,
        target=f"stock:{name[:120]}",
        detail=f"{got.items_added} added, {got.items_updated} updated, {got.entries} entries",
        session=session,
    )
    return got


def stock_entry(
    session: Session,
    op: Operator,
    code: str,
    kind: str,
    qty: Any,
    *,
    unit_cost: Any = None,
    reference: str = "",
    now_ms: int,
) -> tuple[StockLedger, str]:
    """Append a receipt, issue or adjustment of item ``code`` to the stock ledger as the operator, and record it in
    the security audit log, in one transaction. ``engine.stock.StockError`` (a ``ValueError``) for an unknown
    item or kind, a quantity that is no amount, an issue larger than on hand. Returns the entry and the item's
    unit."""
    item = item_by_code(session, code)
    if item is None:
        raise StockError("stock.error.unknown_item", code=code[:40])
    if kind not in {k.value for k in Kind}:
        raise StockError("stock.error.kind", kind=str(kind)[:20])
    cost = None if unit_cost in (None, "") else amount(unit_cost)
    row = append(
        session, item, Kind(kind), amount(qty), unit_cost=cost, user=op.user, ts=now_ms, reference=reference.strip()
    )
    audit(
        STOCK_ENTRY,
        user=op.user,
        address=op.address,
        target=f"stock:{item.code}",
        detail=f"{kind} {row.qty_milli / 1000:g}",
        data={"ledger_id": row.id, "reference": row.reference},
        session=session,
    )
    return row, item.unit


def spc_exclusion(
    session: Session, op: Operator, tag: str, ts: int, reason: str | None, *, now_ms: int, plant: Plant
) -> bool:
    """Leave the result of assay ``tag`` at ``ts`` out of its SPC chart with ``reason`` (None: take an
    exclusion back) and record it in the security audit log, in one transaction. ``ValueError`` for a tag
    that is not an assay or an empty reason. Returns whether anything changed."""
    if not any(t_.id == tag and t_.kind.value == "assay" for t_ in plant.tags):
        raise ValueError(f"{tag[:64]!r} is not an assay tag")
    if reason is None:
        changed = include(session, tag, int(ts))
        kind = SPC_INCLUDED
    else:
        exclude(session, tag, int(ts), reason, op.user, now_ms)
        changed = True
        kind = SPC_EXCLUDED
    if changed:
        audit(
            kind, user=op.user, address=op.address, target=f"spc:{tag}:{int(ts)}", detail=reason or "", session=session
        )
    return changed


def hidden_danger_report(
    session: Session,
    op: Operator,
    *,
    title: str,
    description: str,
    zone: str | None,
    x: float | None,
    y: float | None,
    source: str,
    photo: bytes | None,
    now_ms: int,
    plant: Plant,
) -> int:
    """Report a hidden danger (``store.hidden_dangers.report`` checks it) and audit it, in one transaction; its id."""
    row = report(
        session,
        title=title,
        description=description,
        zone=zone,
        x=x,
        y=y,
        source=source,
        actor=op.user,
        now_ms=now_ms,
        photo=photo,
        zones=[z.id for z in plant.zones],
    )
    audit(
        HIDDEN_DANGER_REPORTED,
        user=op.user,
        address=op.address,
        target=f"hidden_danger:{row.id}",
        detail=row.title,
        data={"zone": zone, "source": source, "photo": row.has_photo},
        session=session,
    )
    return row.id


def hidden_danger_move(
    session: Session, op: Operator, danger_id: int, action: str, *, now_ms: int, **given: Any
) -> str:
    """Move a hidden danger through its workflow (``engine.hidden_dangers`` refuses illegal moves with
    ``IllegalMoveError``, a ``ValueError``) and audit it, in one transaction; the new state."""
    row = act(session, danger_id, action, op.user, now_ms, **given)
    detail = str(given.get("note") or "")
    audit(
        HIDDEN_DANGER_MOVED,
        user=op.user,
        address=op.address,
        target=f"hidden_danger:{row.id}",
        detail=f"{action} -> {row.state}" + (f": {detail}" if detail else ""),
        data={"action": action, "state": row.state},
        session=session,
    )
    return row.state


def emergency_command(session: Session, op: Operator, plant: Plant, what: str, *, now_ms: int, **args: Any) -> str:
    """One emergency action as ``op`` (checked for ``Perm.MUSTER`` by :func:`operator_session`), recorded in
    the security audit log in the same transaction: ``declare`` (plan, zone, note), ``accept`` and ``dismiss``
    (proposal), ``action`` (action, done), ``grow`` (radius_m), ``end``. Returns the audit target;
    ``store.emergency.EmergencyError`` (a ``ValueError``) when the store refuses it."""
    if what == "declare":
        e = em.declare(
            session,
            plant,
            op.user,
            str(args["plan"]),
            str(args["zone"]),
            now_ms,
            args.get("note"),
            args.get("proposal"),
        )
        kind, detail = EMERGENCY_DECLARED, f"{e.plan} @ {e.zone}"
    elif what == "accept":
        proposal = em.get(session, int(args["proposal"]))
        if proposal is None or proposal.state != em.PROPOSED:
            raise em.EmergencyError("that proposal is no longer open")
        e = em.declare(session, plant, op.user, proposal.plan, proposal.zone, now_ms, None, int(proposal.id))
        kind, detail = EMERGENCY_DECLARED, f"{e.plan} @ {e.zone} (proposal)"
    elif what == "dismiss":
        em.dismiss(session, int(args["proposal"]), op.user, now_ms)
        kind, detail = EMERGENCY_DISMISSED, None
        e = em.get(session, int(args["proposal"]))  # type: ignore[assignment]  # just dismissed: it exists
    elif what == "action":
        e = em.set_action(session, plant, str(args["action"]), bool(args["done"]), op.user, now_ms)
        kind, detail = EMERGENCY_ACTION, f"{args['action']}: {'done' if args['done'] else 'reopened'}"
    elif what == "grow":
        e = em.grow(session, float(args["radius_m"]), op.user, now_ms)
        kind, detail = EMERGENCY_GROWN, f"{e.radius_m:g} m"
    elif what == "end":
        e = em.end(session, plant, op.user, now_ms)
        kind, detail = EMERGENCY_ENDED, None
    else:
        raise ValueError(f"unknown emergency action {what[:32]!r}")
    target = f"emergency:{e.id if e is not None else '?'}"
    audit(kind, user=op.user, address=op.address, target=target, detail=detail, session=session)
    return target


def permit_apply(
    session: Session,
    op: Operator,
    *,
    plant: Plant,
    now_ms: int,
    kind: str,
    grade: str | None,
    title: str,
    zone: str | None,
    point: tuple[float, float],
    area: list[tuple[float, float]],
    guardian: str | None,
    crew: list[str],
    valid_from: int,
    valid_to: int,
    isolations: list[str],
) -> int:
    """Apply for a special-work permit (``engine.permits`` checks it; ``PermitRefusedError`` names the rule) and
    audit it, in one transaction; its number."""
    row = apply_permit(
        session,
        kind=kind,
        grade=grade,
        title=title,
        zone=zone,
        point=point,
        area=area,
        guardian=guardian,
        crew=crew,
        valid_from=valid_from,
        valid_to=valid_to,
        isolations=isolations,
        applicant=op.user,
        now_ms=now_ms,
        badges=[b.id for b in plant.badges],
        zones=[z.id for z in plant.zones],
    )
    audit(
        PERMIT_APPLIED,
        user=op.user,
        address=op.address,
        target=f"permit:{row.id}",
        detail=row.title,
        data={"kind": kind, "grade": grade, "guardian": guardian, "crew": crew},
        session=session,
    )
    return row.id


def permit_move(session: Session, op: Operator, permit_id: int, action: str, *, now_ms: int, **given: Any) -> str:
    """One step of a permit's lifecycle (approve, gas test, isolations, activate, suspend, resume, close), checked
    by ``engine.permits``, stored and audited in one transaction; the new state."""
    row = move_permit(session, permit_id, action, op.user, now_ms, **given)
    audit(
        PERMIT_MOVED,
        user=op.user,
        address=op.address,
        target=f"permit:{row.id}",
        detail=f"{action} -> {row.state}",
        data={"action": action, "state": row.state, "signoff": given.get("signoff") if action == "approve" else None},
        session=session,
    )
    return row.state


class _ScheduleKw(TypedDict):
    """A schedule's settings as the store's add and update take them."""

    kind: str
    lang: str
    formats: tuple[str, ...]
    at_minute: int
    named: bool
    recipients: tuple[str, ...]
    enabled: bool


def report_schedule(
    session: Session, op: Operator, schedule_id: int | None, fields: ScheduleFields, *, now_ms: int
) -> tuple[int, bool]:
    """Set up a report schedule (``schedule_id`` None) or change one, with fields already checked
    (``reports.schedule.check``), and record it in the security audit log with what changed, in one
    transaction. Returns the schedule's id and whether anything was written (an unchanged form writes nothing).
    ``KeyError`` for a schedule that does not exist."""
    given: _ScheduleKw = {
        "kind": fields.kind,
        "lang": fields.lang,
        "formats": fields.formats,
        "at_minute": fields.at_minute,
        "named": fields.named,
        "recipients": fields.recipients,
        "enabled": fields.enabled,
    }
    if schedule_id is None:
        row = add_schedule(session, **given, by=op.user, now_ms=now_ms)
        action, detail = (
            REPORT_SCHEDULE_ADDED,
            f"{fields.kind} +{fields.at_minute} min {fields.lang} {','.join(fields.formats)}",
        )
        data: dict[str, object] = {k: list(v) if isinstance(v, tuple) else v for k, v in given.items()}
    else:
        row, changes = update_schedule(session, schedule_id, **given)
        if not changes:
            return row.id, False
        action, detail = REPORT_SCHEDULE_CHANGED, ", ".join(sorted(changes))
        data = {k: {"before": b, "after": a} for k, (b, a) in changes.items()}
    audit(
        action,
        user=op.user,
        address=op.address,
        target=f"report_schedule:{row.id}",
        detail=detail,
        data=data,
        session=session,
    )
    return row.id, True


def refusal_message(refusal: Exception, lang: str, *, what: str, refused_key: str = "alarm.result.refused") -> str:
    """The message that tells the user why an operator command was refused (one of :data:`REFUSALS`), in
    ``lang``: nobody logged in, a role that may not, or the reason given (the catalog text ``refused_key``
    with ``{error}``). ``what`` names the command in the log."""
    if isinstance(refusal, NotLoggedInError):
        logger.warning("%s refused: nobody is logged in", what)
        return t("login.required", lang)
    logger.info("%s refused: %s", what, refusal)
    if isinstance(refusal, NotAllowedError):
        return t("alarm.result.not_allowed", lang)
    return t(refused_key, lang, error=str(refusal))
