"""Incident records (S5): a replay saved with its title, window, trends, notes, findings and linked alarms and
events. Who may see one: everybody with the replay permission; an on-call user those of their areas
(``areas`` given to :func:`search_incidents` and :func:`get_incident`). Functions take a session and never
commit; :func:`create_incident` flushes to get the id."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plant.schema import Plant
from store.models import Incident

TITLE_MAX = 200
TEXT_MAX = 10_000
USER_MAX = 64
MAX_LINKS = 500
MAX_LIST = 200
SOURCES = ("alarm", "event", "muster", "emergency", "range", "incident")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class IncidentError(ValueError):
    """An incident that cannot be saved; the message names the field."""


def _text(name: str, value: Any, max_len: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise IncidentError(f"{name} must be text")
    text = value.replace("\r\n", "\n").strip()
    if required and not text:
        raise IncidentError(f"{name} is required")
    if len(text) > max_len:
        raise IncidentError(f"{name} is longer than {max_len} characters")
    if _CONTROL_RE.search(text):
        raise IncidentError(f"{name} contains control characters")
    return text


def _ids(name: str, values: Any, allowed: set[str] | None = None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise IncidentError(f"{name} must be a list")
    out: list[str] = []
    for v in values:
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise IncidentError(f"{name}: {v!r} is not an id")
        text = str(v).strip()
        if not text or len(text) > 128 or _CONTROL_RE.search(text):
            raise IncidentError(f"{name}: {text[:40]!r} is not an id")
        if allowed is not None and text not in allowed:
            raise IncidentError(f"{name}: unknown {text[:40]!r}")
        if text not in out:
            out.append(text)
    if len(out) > MAX_LINKS:
        raise IncidentError(f"{name}: more than {MAX_LINKS}")
    return out


@dataclass(frozen=True)
class IncidentView:
    id: int
    title: str
    t0: int
    t1: int
    at: int | None
    tags: list[str]
    zones: list[str]
    areas: list[str]
    alarms: list[str]
    events: list[int]
    notes: str
    findings: str
    source: str
    ref: str
    created_at: int
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _view(i: Incident) -> IncidentView:
    return IncidentView(
        id=int(i.id),
        title=i.title,
        t0=int(i.t0),
        t1=int(i.t1),
        at=None if i.at is None else int(i.at),
        tags=list(i.tags or []),
        zones=list(i.zones or []),
        areas=list(i.areas or []),
        alarms=list(i.alarms or []),
        events=[int(e) for e in i.events or []],
        notes=i.notes or "",
        findings=i.findings or "",
        source=i.source,
        ref=i.ref,
        created_at=int(i.created_at),
        created_by=i.created_by,
    )


def create_incident(
    session: Session,
    plant: Plant,
    *,
    title: Any,
    t0: int,
    t1: int,
    user: str,
    now_ms: int,
    at: int | None = None,
    tags: Any = None,
    zones: Any = None,
    alarms: Any = None,
    events: Any = None,
    notes: Any = "",
    findings: Any = "",
    source: str = "range",
    ref: str = "",
) -> int:
    """Save an incident; :class:`IncidentError` naming the field for bad input. Returns its id."""
    name = _text("title", title, TITLE_MAX, required=True)
    who = _text("user", user, USER_MAX, required=True)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (t0, t1)) or t1 <= t0:
        raise IncidentError("window: the end must come after the start")
    if at is not None and not (isinstance(at, int) and t0 <= at <= t1):
        raise IncidentError("moment: outside the window")
    zone_ids = _ids("zones", zones, {z.id for z in plant.zones})
    area_of = {z.id: z.area for z in plant.zones}
    row = Incident(
        title=name,
        t0=int(t0),
        t1=int(t1),
        at=at,
        tags=_ids("tags", tags, {tg.id for tg in plant.tags}),
        zones=zone_ids,
        areas=sorted({area_of[z] for z in zone_ids if area_of.get(z)}),
        alarms=_ids("alarms", alarms),
        events=[int(e) for e in _ids("events", events) if e.isdigit()],
        notes=_text("notes", notes, TEXT_MAX, required=False),
        findings=_text("findings", findings, TEXT_MAX, required=False),
        source=source if source in SOURCES else "range",
        ref=_text("reference", ref, 128, required=False),
        created_at=int(now_ms),
        created_by=who,
    )
    session.add(row)
    session.flush()
    return int(row.id)


def _in_areas(i: IncidentView, areas: Sequence[str] | None) -> bool:
    return areas is None or bool(set(i.areas) & set(areas))


def get_incident(session: Session, incident_id: int, *, areas: Sequence[str] | None = None) -> IncidentView | None:
    """One incident (None when there is none, or it is in none of ``areas`` when they are given)."""
    row = session.get(Incident, int(incident_id))
    if row is None:
        return None
    view = _view(row)
    return view if _in_areas(view, areas) else None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_incidents(
    session: Session, query: str = "", *, areas: Sequence[str] | None = None, limit: int = MAX_LIST
) -> list[IncidentView]:
    """Incidents whose title, notes, findings, tags or linked alarms hold ``query`` (every one for an empty
    query), newest window first; only those of ``areas`` when given."""
    stmt = select(Incident)
    text = (query or "").strip()[:100]
    if text:
        pat = _like(text)
        stmt = stmt.where(
            or_(
                Incident.title.ilike(pat, escape="\\"),
                Incident.notes.ilike(pat, escape="\\"),
                Incident.findings.ilike(pat, escape="\\"),
                Incident.created_by.ilike(pat, escape="\\"),
                Incident.ref.ilike(pat, escape="\\"),
            )
        )
    rows = [_view(r) for r in session.scalars(stmt.order_by(Incident.t0.desc(), Incident.id.desc()).limit(5 * limit))]
    return [r for r in rows if _in_areas(r, areas)][: max(1, int(limit))]
