"""The hidden-danger register's rows (``hidden_danger``, its photo and its log): report, move through the workflow of
``engine.hidden_dangers`` (which refuses illegal moves), escalate the overdue, list, figures. Every change writes
one log row in the caller's unit of work; the caller commits (and audits: ``webapp.commands``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.hidden_dangers import (
    ESCALATE,
    ESCALATE_AFTER_MS,
    OPEN_STATES,
    REPORT,
    REPORTED,
    SOURCES,
    Danger,
    Figures,
    IllegalMoveError,
    escalation,
    figures,
    move,
)
from store.models import HiddenDanger, HiddenDangerLog, HiddenDangerPhoto

MAX_PHOTO_BYTES = 4 * 1024 * 1024
# The photo types a report takes, by their first bytes (what the file is, not what its name says).
PHOTO_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def photo_type(data: bytes) -> str:
    """The MIME type of a JPEG, PNG or WebP photo from its bytes; ``ValueError`` for anything else or too big."""
    if len(data) > MAX_PHOTO_BYTES:
        raise IllegalMoveError("photo_too_big")
    for magic, mime in PHOTO_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise IllegalMoveError("photo_type")


def as_danger(row: HiddenDanger) -> Danger:
    return Danger(
        id=row.id,
        state=row.state,
        reported_at=row.reported_at,
        grade=row.grade,
        owner=row.owner,
        deadline_ms=row.deadline_ms,
        plan=row.plan,
        rectified_at=row.rectified_at,
        rectified_by=row.rectified_by,
        closed_at=row.closed_at,
        zone=row.zone,
    )


def report(
    session: Session,
    *,
    title: str,
    description: str,
    zone: str | None,
    x: float | None,
    y: float | None,
    source: str,
    actor: str,
    now_ms: int,
    photo: bytes | None = None,
    zones: Sequence[str] = (),
) -> HiddenDanger:
    """A new hidden danger, reported; ``zones``: the plant's zone ids (an unknown zone is refused)."""
    title = (title or "").strip()
    if not title:
        raise IllegalMoveError("need_title")
    if source not in SOURCES:
        raise IllegalMoveError("bad_source", source)
    if zone is not None and zone not in zones:
        raise IllegalMoveError("bad_zone", zone[:64])
    for v in (x, y):
        if v is not None and not (isinstance(v, int | float) and math.isfinite(v)):
            raise IllegalMoveError("bad_point")
    mime = photo_type(photo) if photo else None
    row = HiddenDanger(
        title=title[:200],
        description=(description or "").strip()[:2000],
        zone=zone,
        x=None if x is None else float(x),
        y=None if y is None else float(y),
        source=source,
        reported_by=actor[:64],
        reported_at=now_ms,
        state=REPORTED,
        escalation=0,
        has_photo=mime is not None,
        updated_at=now_ms,
    )
    session.add(row)
    session.flush()
    if photo and mime:
        session.add(HiddenDangerPhoto(danger_id=row.id, mime=mime, data=photo))
    HiddenDangerLog.append(session, row, now_ms, actor, REPORT, None, row.description, {"zone": zone, "source": source})
    return row


def act(session: Session, danger_id: int, action: str, actor: str, now_ms: int, **given: Any) -> HiddenDanger:
    """Move a hidden danger (``engine.hidden_dangers.move`` decides); ``IllegalMoveError`` when refused, with
    nothing written. The row is locked for the move (PostgreSQL), so two people cannot move it at once."""
    row = session.scalars(select(HiddenDanger).where(HiddenDanger.id == int(danger_id)).with_for_update()).first()
    if row is None:
        raise IllegalMoveError("unknown", str(danger_id))
    before = row.state
    m = move(as_danger(row), action, actor, now_ms, **given)
    for k, v in m.changes.items():
        setattr(row, k, v)
    row.state = m.state
    row.escalation = 0 if m.state in ("rectified", "closed") else row.escalation
    row.updated_at = now_ms
    note = str(given.get("note") or "")
    shown = {k: v for k, v in m.changes.items() if k not in ("rectified_at", "rectified_by", "closed_at")}
    HiddenDangerLog.append(session, row, now_ms, actor, action, before, note, shown or None)
    return row


def escalate(
    session: Session, now_ms: int, actor: str = "system", escalate_after_ms: int = ESCALATE_AFTER_MS
) -> list[HiddenDanger]:
    """Raise the escalation level of every overdue danger whose level went up since it was last looked at
    (one log row each); returns those rows."""
    out = []
    rows = session.scalars(select(HiddenDanger).where(HiddenDanger.state.in_(OPEN_STATES)))
    for row in rows:
        level = escalation(as_danger(row), now_ms, escalate_after_ms)
        if level > row.escalation:
            row.escalation = level
            row.updated_at = now_ms
            HiddenDangerLog.append(session, row, now_ms, actor, ESCALATE, row.state, "", {"level": level})
            out.append(row)
    return out


@dataclass(frozen=True)
class Register:
    rows: list[HiddenDanger]
    figures: Figures


def register(session: Session, now_ms: int, since_ms: int, *, limit: int = 200) -> Register:
    """The open dangers (most escalated, then oldest deadline first) and the recently closed ones, with figures
    (closures counted from ``since_ms``)."""
    open_rows = list(session.scalars(select(HiddenDanger).where(HiddenDanger.state.in_(OPEN_STATES))))
    closed = list(
        session.scalars(
            select(HiddenDanger)
            .where(HiddenDanger.state == "closed", HiddenDanger.closed_at >= since_ms)
            .order_by(HiddenDanger.closed_at.desc())
        )
    )
    open_rows.sort(key=lambda r: (-r.escalation, r.deadline_ms or 2**62, r.reported_at))
    figs = figures([as_danger(r) for r in open_rows + closed], now_ms, since_ms)
    return Register((open_rows + closed)[:limit], figs)


def open_major_zones(session: Session) -> dict[str, int]:
    """Zones with open major hidden dangers and how many (they raise the zone's dynamic risk to orange)."""
    out: dict[str, int] = {}
    stmt = select(HiddenDanger.zone).where(HiddenDanger.state.in_(OPEN_STATES), HiddenDanger.grade == "major")
    for zone in session.scalars(stmt):
        if zone:
            out[zone] = out.get(zone, 0) + 1
    return out


def history(session: Session, danger_id: int) -> list[HiddenDangerLog]:
    stmt = select(HiddenDangerLog).where(HiddenDangerLog.danger_id == int(danger_id)).order_by(HiddenDangerLog.id)
    return list(session.scalars(stmt))


def photo(session: Session, danger_id: int) -> HiddenDangerPhoto | None:
    return session.get(HiddenDangerPhoto, int(danger_id))


def open_dangers(session: Session) -> list[HiddenDanger]:
    """Every hidden danger not yet closed."""
    return list(session.scalars(select(HiddenDanger).where(HiddenDanger.state.in_(OPEN_STATES))))


def reported_before(session: Session, t1: int) -> list[Danger]:
    """Every hidden danger reported before ``t1`` that was still open at ``t0`` or later is among these (the
    reports count those reported, closed and open in a period)."""
    rows = session.scalars(select(HiddenDanger).where(HiddenDanger.reported_at < t1).order_by(HiddenDanger.id))
    return [as_danger(r) for r in rows]
