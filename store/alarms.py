"""Write side of the alarm store: the alarm service's reads and writes, and the web app's command queue.

Only the alarm service (``services/alarms.py``) changes alarm state: it resumes from :func:`load_states`,
writes what the engine produced with :func:`apply_batch` (upserts ``alarm`` rows, appends
``alarm_journal`` rows with the alarm's source type, priority, area and zone copied in), and works through
the operator commands (:func:`pending_commands`, :func:`finish_commands`).

The web app only queues commands with :func:`submit_command`, which checks them first (a
:class:`CommandError`, a ``ValueError``, names the problem); the service applies them in id order and sets
``done_at`` and ``result`` (``ok`` or ``rejected: <reason>``, e.g. ``rejected: unknown alarm``).

Like every repository here these functions take a session and never commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from engine.alarms import (
    COMMAND_ACTIONS,
    COMMENT,
    EVENT_TYPES,
    MAX_SHELVE_S,
    OUT_OF_SERVICE,
    SHELVE,
    AlarmView,
    Batch,
)
from store.models import Alarm, AlarmCommand, AlarmJournal
from store.samples import upsert

logger = logging.getLogger(__name__)

ALARM = Alarm.__table__
JOURNAL = AlarmJournal.__table__
MAX_COMMENT = 500  # characters of a comment or reason
MAX_IDS = 1000  # alarms in one submission ("acknowledge all visible")
MAX_ID_LEN = 128
MAX_USER_LEN = 64
MAX_ADDRESS_LEN = 64
EVENT_ALARM_KINDS = ("violation", "video", "emission", "energy", "spc", "stock")

_ALARM_COLUMNS = tuple(f.name for f in fields(AlarmView))
# Control characters other than tab and line breaks, and the bidirectional overrides.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class CommandError(ValueError):
    """An operator command that cannot be queued; the message says why."""


# -------------------------------------------------------------------------------------------- service


def load_states(session: Session) -> list[dict[str, Any]]:
    """The ``alarm`` rows the engine needs to resume: every process and quality alarm, and the event
    alarms that are not over (still active, unacknowledged, shelved or out of service)."""
    over = (
        Alarm.source_type.in_(EVENT_TYPES)
        & Alarm.active.is_(False)
        & Alarm.acked.is_(True)
        & Alarm.shelved_until.is_(None)
        & Alarm.out_of_service.is_(False)
    )
    rows = session.execute(select(*[ALARM.c[c] for c in _ALARM_COLUMNS]).where(~over)).mappings().all()
    return [dict(r) for r in rows]


def last_event_ids(session: Session) -> dict[str, int]:
    """The newest event id that became an alarm, per event kind (``violation``, ``video``)."""
    out: dict[str, int] = {}
    ids = session.scalars(select(Alarm.id).where(Alarm.source_type.in_(EVENT_TYPES)))
    for alarm_id in ids:
        kind, _, number = alarm_id.partition(":")
        if kind in EVENT_ALARM_KINDS and number.isdigit():
            out[kind] = max(out.get(kind, 0), int(number))
    return out


def apply_batch(session: Session, batch: Batch) -> int:
    """Write one drain of the engine: upsert the changed alarms, append the transitions. Returns the
    number of journal rows."""
    if batch.alarms:
        rows = [{c: getattr(v, c) for c in _ALARM_COLUMNS} for v in batch.alarms]
        stmt = upsert(session, ALARM)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ALARM.c.id], set_={c: stmt.excluded[c] for c in _ALARM_COLUMNS if c != "id"}
        )
        session.execute(stmt, rows)
    if not batch.transitions:
        return 0
    views: dict[str, AlarmView | Alarm] = {v.id: v for v in batch.alarms}
    missing = {t.alarm_id for t in batch.transitions} - set(views)
    if missing:  # not expected from AlarmEngine.drain; take the stored rows
        for a in session.scalars(select(Alarm).where(Alarm.id.in_(sorted(missing)))):
            views[a.id] = a
    journal: list[dict[str, Any]] = []
    for t in batch.transitions:
        v = views.get(t.alarm_id)
        if v is None:
            logger.error("transition %s of unknown alarm %s not journaled", t.kind, t.alarm_id)
            continue
        journal.append(
            {
                "ts": t.ts,
                "alarm_id": t.alarm_id,
                "kind": t.kind,
                "source_type": v.source_type,
                "priority": v.priority,
                "area": v.area,
                "zone": v.zone,
                "active": t.active,
                "acked": t.acked,
                "value": t.value,
                "user": t.user,
                "address": t.address,
                "comment": t.comment,
                "data": t.data,
            }
        )
    if journal:
        session.execute(insert(AlarmJournal), journal)
    return len(journal)


def journal_comment(
    session: Session, alarm_id: str, ts: int, user: str, comment: str, address: str | None = None
) -> bool:
    """Journal a comment on an alarm the engine no longer holds (an event alarm that is over), from its
    stored row. False when there is no such alarm."""
    a = session.get(Alarm, alarm_id)
    if a is None:
        return False
    session.execute(
        insert(AlarmJournal),
        [
            {
                "ts": ts,
                "alarm_id": alarm_id,
                "kind": COMMENT,
                "source_type": a.source_type,
                "priority": a.priority,
                "area": a.area,
                "zone": a.zone,
                "active": a.active,
                "acked": a.acked,
                "value": None,
                "user": user,
                "address": address,
                "comment": comment,
                "data": None,
            }
        ],
    )
    return True


def pending_commands(session: Session, limit: int = 1000) -> list[AlarmCommand]:
    """Commands not yet applied, oldest first."""
    stmt = select(AlarmCommand).where(AlarmCommand.done_at.is_(None)).order_by(AlarmCommand.id).limit(limit)
    return list(session.scalars(stmt))


def finish_commands(session: Session, results: Iterable[tuple[int, str]], now_ms: int) -> int:
    """Mark commands done with their result (``ok`` or ``rejected: <reason>``)."""
    n = 0
    for command_id, result in results:
        session.execute(
            update(AlarmCommand)
            .where(AlarmCommand.id == command_id)
            .values(done_at=now_ms, result=result[:255])
            .execution_options(synchronize_session=False)
        )
        n += 1
    return n


def existing_alarm_ids(session: Session, alarm_ids: Sequence[str]) -> set[str]:
    out: set[str] = set()
    ids = sorted(set(alarm_ids))
    for i in range(0, len(ids), 500):
        out.update(session.scalars(select(Alarm.id).where(Alarm.id.in_(ids[i : i + 500]))))
    return out


# ---------------------------------------------------------------------------------------------- web


def checked_text(
    name: str, value: Any, max_len: int, *, required: bool, error: type[ValueError] = CommandError
) -> str | None:
    """An operator's text stripped and checked (a string of at most ``max_len`` characters without control
    characters; None when empty and not ``required``), else ``error`` naming the problem."""
    if value is None:
        if required:
            raise error(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise error(f"{name} must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        if required:
            raise error(f"{name} is required")
        return None
    if len(text) > max_len:
        raise error(f"{name} is longer than {max_len} characters")
    if _CONTROL_RE.search(text):
        raise error(f"{name} contains control characters")
    return text


def submit_command(
    session: Session,
    alarm_ids: Sequence[str],
    action: str,
    user: str,
    *,
    comment: str | None = None,
    duration_s: int | None = None,
    address: str | None = None,
    now_ms: int,
    max_shelve_s: int = MAX_SHELVE_S,
    areas: Sequence[str] | None = None,
) -> list[int]:
    """Queue one operator command per alarm for the alarm service; returns the command ids.

    ``action`` is one of ack, shelve, unshelve, comment, out_of_service, in_service. Shelving needs
    ``duration_s`` (1 s to ``max_shelve_s``) and a reason in ``comment``; comment and out_of_service need a
    text. Texts are at most :data:`MAX_COMMENT` characters, without control characters (markup is kept as
    typed: it is text, escaped where shown). Raises :class:`CommandError` naming the problem.

    ``areas`` restricts the user to the alarms of those plant areas (an on-call user's ``Principal.areas``):
    every alarm must exist and belong to one of them, else nothing is queued. ``None`` (the default): no
    restriction by area.
    """
    if action not in COMMAND_ACTIONS:
        raise CommandError(f"unknown action {str(action)[:32]!r}; expected one of {', '.join(COMMAND_ACTIONS)}")
    who = checked_text("user", user, MAX_USER_LEN, required=True)
    text = checked_text("comment", comment, MAX_COMMENT, required=action in (SHELVE, COMMENT, OUT_OF_SERVICE))
    where = checked_text("address", address, MAX_ADDRESS_LEN, required=False)
    if isinstance(alarm_ids, str) or not isinstance(alarm_ids, Sequence):
        raise CommandError("alarm ids must be a list")
    ids: list[str] = []
    for alarm_id in alarm_ids:
        checked = checked_text("alarm id", alarm_id, MAX_ID_LEN, required=True)
        assert checked is not None
        if checked not in ids:
            ids.append(checked)
    if not ids:
        raise CommandError("no alarm given")
    if len(ids) > MAX_IDS:
        raise CommandError(f"at most {MAX_IDS} alarms at once")
    if action == SHELVE:
        if isinstance(duration_s, bool) or not isinstance(duration_s, int):
            raise CommandError("shelving needs a duration in whole seconds")
        if not 0 < duration_s <= max_shelve_s:
            raise CommandError(f"shelving lasts 1 s to {max_shelve_s} s, not {duration_s} s")
    elif duration_s is not None:
        raise CommandError(f"a duration only goes with shelve, not {action}")
    if isinstance(now_ms, bool) or not isinstance(now_ms, int):
        raise CommandError("now_ms must be epoch milliseconds")
    if areas is not None:
        _check_areas(session, ids, areas)
    assert who is not None
    commands = [
        AlarmCommand(
            ts=now_ms,
            alarm_id=alarm_id,
            action=action,
            user=who,
            address=where,
            comment=text,
            duration_s=duration_s,
        )
        for alarm_id in ids
    ]
    session.add_all(commands)
    session.flush()
    logger.info("%s queued %s for %d alarm(s)", who, action, len(commands))
    return [c.id for c in commands]


def _check_areas(session: Session, alarm_ids: Sequence[str], areas: Sequence[str]) -> None:
    """Every alarm exists and lies in one of ``areas``; else :class:`CommandError` (nothing is queued)."""
    if isinstance(areas, str):
        raise CommandError("areas must be a list")
    mine = {str(a) for a in areas}
    found: dict[str, str | None] = {}
    for i in range(0, len(alarm_ids), 500):
        chunk = list(alarm_ids[i : i + 500])
        found.update(session.execute(select(Alarm.id, Alarm.area).where(Alarm.id.in_(chunk))).tuples().all())
    for alarm_id in alarm_ids:
        if alarm_id not in found:
            raise CommandError(f"unknown alarm {alarm_id[:MAX_ID_LEN]!r}")
        if found[alarm_id] not in mine:
            raise CommandError(f"alarm {alarm_id[:MAX_ID_LEN]!r} is not in your areas")


def command_results(session: Session, command_ids: Sequence[int]) -> dict[int, str | None]:
    """``result`` of each command (None while the service has not applied it yet)."""
    if not command_ids:
        return {}
    rows = session.execute(
        select(AlarmCommand.id, AlarmCommand.result).where(AlarmCommand.id.in_([int(i) for i in command_ids]))
    ).all()
    return {int(i): r for i, r in rows}
