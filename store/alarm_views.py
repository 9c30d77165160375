"""Read queries of the alarm screens: the open-alarm list, the banner's counts, history and one alarm's trail.

Nothing here writes: operator actions go through ``store.alarms.submit_command`` and the alarm service.

Display states (ISA-18.2 / IEC 62682), derived from an ``alarm`` row at a moment ``now_ms``, first match wins:

* ``out_of_service``: taken out of service by an operator;
* ``suppressed``: suppressed by design (for example its equipment is in maintenance);
* ``shelved``: shelved until a time still in the future;
* ``active_unacked``, ``active_acked``, ``returned_unacked``: the *annunciated* states, what the operator
  must see and what the banner counts;
* ``normal``: returned and acknowledged, not on any list.

The same rules exist twice, as SQL for the queries and as Python for :func:`matches` (the live page filters
the shared snapshot in the browser's request without another query); the tests check that both agree.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from engine.alarms import SOURCE_TYPES
from plant.schema import PRIORITIES
from store.models import Alarm, AlarmCommand, AlarmJournal

logger = logging.getLogger(__name__)

ANNUNCIATED: tuple[str, ...] = ("active_unacked", "active_acked", "returned_unacked")
STATES: tuple[str, ...] = (*ANNUNCIATED, "shelved", "suppressed", "out_of_service")
OPEN_STATES = STATES  # every state a list can show (``normal`` is not on any list)
JOURNAL_KINDS: tuple[str, ...] = (
    "active",
    "return",
    "ack",
    "shelve",
    "unshelve",
    "shelve_expired",
    "suppress",
    "unsuppress",
    "out_of_service",
    "in_service",
    "comment",
)
# History: journal kinds shown for a state filter that is not about the state after the transition.
_KINDS_OF_STATE = {
    "shelved": ("shelve", "unshelve", "shelve_expired"),
    "suppressed": ("suppress", "unsuppress"),
    "out_of_service": ("out_of_service", "in_service"),
}
MAX_LIST = 5000
MAX_PAGE_SIZE = 500
PRIORITY_RANK: dict[str, int] = {p: i for i, p in enumerate(PRIORITIES)}


# --- filters -----------------------------------------------------------------------------------------


def _choices(name: str, values: Iterable[Any] | None, allowed: Sequence[str]) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        if not isinstance(v, str) or v not in allowed:
            raise ValueError(f"unknown {name} {v!r}; expected one of {', '.join(allowed)}")
        if v not in out:
            out.append(v)
    return tuple(out)


def epoch_ms_arg(name: str, value: Any) -> int | None:
    """A filter's time argument checked: None, or finite epoch milliseconds (a bool is not a time)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be epoch milliseconds, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite time, got {value!r}")
    return int(value)


def _names(name: str, values: Iterable[Any] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        if not isinstance(v, str) or not v or len(v) > 128:
            raise ValueError(f"{name} must be names of at most 128 characters, got {v!r}")
        out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class AlarmFilter:
    """What a list shows. Empty tuples mean "any"; ``start_ms``/``end_ms`` bound the activation time (open
    alarms) or the transition time (history), end exclusive. Unknown values raise ``ValueError``."""

    areas: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    source_types: tuple[str, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None
    kinds: tuple[str, ...] = ()  # history only: journal kinds

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "areas", _names("area", self.areas))
        set_(self, "priorities", _choices("priority", self.priorities, PRIORITIES))
        set_(self, "states", _choices("state", self.states, STATES))
        set_(self, "source_types", _choices("source type", self.source_types, SOURCE_TYPES))
        set_(self, "kinds", _choices("journal kind", self.kinds, JOURNAL_KINDS))
        set_(self, "start_ms", epoch_ms_arg("start_ms", self.start_ms))
        set_(self, "end_ms", epoch_ms_arg("end_ms", self.end_ms))
        if self.start_ms is not None and self.end_ms is not None and self.end_ms < self.start_ms:
            raise ValueError("the end of the time range is before its start")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AlarmFilter:
        """Build from JSON (a page's stored filter); keys not named here raise ``ValueError``."""
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown filter field(s) {', '.join(sorted(map(str, unknown)))}")
        fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**fields)  # types are checked by __post_init__


# --- rows --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmView:
    """One alarm as the screens show it, with its display state at the time of the query."""

    id: str
    state: str
    source_type: str
    condition: str
    source: str
    priority: str
    area: str | None
    zone: str | None
    equipment: str | None
    badge: str | None
    camera: str | None
    active: bool
    acked: bool
    value: float | None
    limit: float | None
    activated_at: int | None
    returned_at: int | None
    acked_at: int | None
    acked_by: str | None
    shelved_until: int | None
    shelved_by: str | None
    shelve_reason: str | None
    message: str  # a sentence stored with rows from before texts were built when shown (else empty)
    updated_at: int
    data: dict[str, Any] | None = None  # structured facts of the text (``engine.alarm_text``)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("value", "limit"):
            v = d[k]
            if v is not None and not math.isfinite(v):
                d[k] = None  # JSON has no NaN or infinity
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlarmView:
        fields: dict[str, Any] = {k: d.get(k) for k in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass(frozen=True)
class JournalView:
    """One journal entry, with the alarm's source, condition and message."""

    id: int
    ts: int
    alarm_id: str
    kind: str
    source_type: str
    priority: str
    area: str | None
    zone: str | None
    active: bool
    acked: bool
    value: float | None
    user: str | None
    address: str | None
    comment: str | None
    source: str | None
    condition: str | None
    message: str | None
    linked: str | None = None  # a man-down's other alarm (engine.mandown): "video:12 · CAM-H", "violation:3 · P001"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["value"] is not None and not math.isfinite(d["value"]):
            d["value"] = None
        return d


@dataclass(frozen=True)
class HistoryPage:
    rows: list[JournalView]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class BannerSummary:
    """What the banner shows: unacknowledged annunciated alarms by priority and the newest of them."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(map(str, PRIORITIES), 0))
    active: int = 0  # annunciated and active, acknowledged or not
    shelved: int = 0
    suppressed: int = 0  # suppressed or out of service
    newest: AlarmView | None = None
    # The same per plant area ("" for alarms without one): unacknowledged counts by priority and the newest
    # unacknowledged alarm, so a screen limited to some areas filters the shared summary (``for_areas``).
    areas: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def unacked(self) -> int:
        return sum(self.counts.values())

    def tone(self) -> str | None:
        """``urgent`` or ``high`` while such an alarm is unacknowledged (the banner sounds), else None."""
        for p in ("urgent", "high"):
            if self.counts.get(p):
                return p
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "unacked": self.unacked,
            "active": self.active,
            "shelved": self.shelved,
            "suppressed": self.suppressed,
            "tone": self.tone(),
            "newest": None if self.newest is None else self.newest.as_dict(),
            "areas": {k: dict(v) for k, v in self.areas.items()},
        }


def _newest_first(view: dict[str, Any]) -> tuple[int, int, str]:
    """The banner's order for the newest alarm (as its SQL): latest first, then most urgent, then id."""
    when = view.get("activated_at") or view.get("updated_at") or 0
    prio = view.get("priority")
    rank = PRIORITIES.index(prio) if prio in PRIORITIES else len(PRIORITIES)
    return -int(when), rank, str(view.get("id") or "")


def banner_for_areas(banner: dict[str, Any] | None, areas: Sequence[str] | None) -> dict[str, Any] | None:
    """The shared banner summary (``BannerSummary.as_dict()``) limited to the alarms of ``areas``: their
    counts and their newest alarm only, nothing of other areas (None: every area, the summary unchanged).
    A summary without per-area data cannot be limited, so it gives the counts of nothing."""
    if banner is None or areas is None:
        return banner
    mine = {str(a) for a in areas}
    per_area = banner.get("areas") or {}
    counts = dict.fromkeys(map(str, PRIORITIES), 0)
    newest: list[dict[str, Any]] = []
    for area, part in per_area.items():
        if area not in mine or not isinstance(part, dict):
            continue
        for p in PRIORITIES:
            counts[p] += int((part.get("counts") or {}).get(p) or 0)
        if isinstance(part.get("newest"), dict):
            newest.append(part["newest"])
    tone = next((p for p in ("urgent", "high") if counts[p]), None)
    first = min(newest, key=_newest_first) if newest else None
    return {"counts": counts, "unacked": sum(counts.values()), "tone": tone, "newest": first}


@dataclass(frozen=True)
class CommandView:
    id: int
    ts: int
    alarm_id: str
    action: str
    user: str
    done_at: int | None
    result: str | None

    @property
    def ok(self) -> bool:
        return self.result == "ok"


# --- state rules: Python ------------------------------------------------------------------------------


def alarm_state(
    *,
    active: bool,
    acked: bool,
    shelved_until: int | None,
    suppressed: bool,
    out_of_service: bool,
    now_ms: int,
) -> str:
    if out_of_service:
        return "out_of_service"
    if suppressed:
        return "suppressed"
    if shelved_until is not None and shelved_until > now_ms:
        return "shelved"
    if active:
        return "active_acked" if acked else "active_unacked"
    return "normal" if acked else "returned_unacked"


def alarm_row_state(a: Alarm, now_ms: int) -> str:
    """:func:`alarm_state` of an ``alarm`` row at ``now_ms``."""
    return alarm_state(
        active=bool(a.active),
        acked=bool(a.acked),
        shelved_until=a.shelved_until,
        suppressed=bool(a.suppressed),
        out_of_service=bool(a.out_of_service),
        now_ms=now_ms,
    )


def _when(a: AlarmView) -> int:
    return a.activated_at if a.activated_at is not None else a.updated_at


def matches(alarm: AlarmView, flt: AlarmFilter) -> bool:
    """Whether ``alarm`` (its state taken as computed) passes ``flt``; states default to the annunciated ones."""
    states = flt.states or ANNUNCIATED
    if alarm.state not in states:
        return False
    if flt.areas and alarm.area not in flt.areas:
        return False
    if flt.priorities and alarm.priority not in flt.priorities:
        return False
    if flt.source_types and alarm.source_type not in flt.source_types:
        return False
    when = _when(alarm)
    if flt.start_ms is not None and when < flt.start_ms:
        return False
    return not (flt.end_ms is not None and when >= flt.end_ms)


def sort_key(alarm: AlarmView) -> tuple[int, int, str]:
    """Most urgent first, then newest first."""
    return (PRIORITY_RANK.get(alarm.priority, len(PRIORITIES)), -_when(alarm), alarm.id)


# --- state rules: SQL ---------------------------------------------------------------------------------


def _not_shelved(now_ms: int) -> ColumnElement[bool]:
    return func.coalesce(Alarm.shelved_until, 0) <= now_ms


def _annunciated(now_ms: int) -> ColumnElement[bool]:
    return and_(Alarm.out_of_service == false(), Alarm.suppressed == false(), _not_shelved(now_ms))


def _state_sql(state: str, now_ms: int) -> ColumnElement[bool]:
    if state == "out_of_service":
        return Alarm.out_of_service == true()
    if state == "suppressed":
        return and_(Alarm.out_of_service == false(), Alarm.suppressed == true())
    if state == "shelved":
        return and_(Alarm.out_of_service == false(), Alarm.suppressed == false(), not_(_not_shelved(now_ms)))
    base = _annunciated(now_ms)
    if state == "active_unacked":
        return and_(base, Alarm.active == true(), Alarm.acked == false())
    if state == "active_acked":
        return and_(base, Alarm.active == true(), Alarm.acked == true())
    if state == "returned_unacked":
        return and_(base, Alarm.active == false(), Alarm.acked == false())
    raise ValueError(f"unknown state {state!r}")


def _priority_rank() -> ColumnElement[int]:
    return case(*((Alarm.priority == p, i) for i, p in enumerate(PRIORITIES)), else_=len(PRIORITIES))


def _alarm_when() -> ColumnElement[int]:
    return func.coalesce(Alarm.activated_at, Alarm.updated_at)


def _view(a: Alarm, now_ms: int) -> AlarmView:
    return AlarmView(
        id=a.id,
        state=alarm_row_state(a, now_ms),
        source_type=a.source_type,
        condition=a.condition,
        source=a.source,
        priority=a.priority,
        area=a.area,
        zone=a.zone,
        equipment=a.equipment,
        badge=a.badge,
        camera=a.camera,
        active=bool(a.active),
        acked=bool(a.acked),
        value=a.value,
        limit=a.limit,
        activated_at=a.activated_at,
        returned_at=a.returned_at,
        acked_at=a.acked_at,
        acked_by=a.acked_by,
        shelved_until=a.shelved_until,
        shelved_by=a.shelved_by,
        shelve_reason=a.shelve_reason,
        message=a.message or "",
        updated_at=a.updated_at or 0,
        data=a.data if isinstance(a.data, dict) else None,
    )


# --- queries -------------------------------------------------------------------------------------------


def open_alarms(session: Session, now_ms: int, flt: AlarmFilter | None = None, *, limit: int = 1000) -> list[AlarmView]:
    """Alarms in the filter's states (default: the annunciated ones), most urgent then newest first."""
    flt = flt or AlarmFilter()
    limit = max(1, min(int(limit), MAX_LIST))
    states = flt.states or ANNUNCIATED
    conds: list[ColumnElement[bool]] = [or_(*(_state_sql(s, now_ms) for s in states))]
    if flt.areas:
        conds.append(Alarm.area.in_(flt.areas))
    if flt.priorities:
        conds.append(Alarm.priority.in_(flt.priorities))
    if flt.source_types:
        conds.append(Alarm.source_type.in_(flt.source_types))
    if flt.start_ms is not None:
        conds.append(_alarm_when() >= flt.start_ms)
    if flt.end_ms is not None:
        conds.append(_alarm_when() < flt.end_ms)
    stmt = select(Alarm).where(*conds).order_by(_priority_rank(), _alarm_when().desc(), Alarm.id).limit(limit)
    return [_view(a, now_ms) for a in session.scalars(stmt)]


def get_alarm(session: Session, alarm_id: str, now_ms: int) -> AlarmView | None:
    a = session.get(Alarm, alarm_id)
    return None if a is None else _view(a, now_ms)


def alarms_by_id(session: Session, alarm_ids: Iterable[str], now_ms: int) -> dict[str, AlarmView]:
    """The alarms of ``alarm_ids`` that exist, by id (lists that name alarms show what each is about)."""
    ids = sorted({str(i) for i in alarm_ids})
    out: dict[str, AlarmView] = {}
    for i in range(0, len(ids), 500):
        for a in session.scalars(select(Alarm).where(Alarm.id.in_(ids[i : i + 500]))):
            out[a.id] = _view(a, now_ms)
    return out


def banner_summary(session: Session, now_ms: int) -> BannerSummary:
    """Counts by priority of annunciated unacknowledged alarms (shelved, suppressed and out-of-service ones do
    not count), the newest of them, and how many are active, shelved and suppressed."""
    base = _annunciated(now_ms)
    counts = dict.fromkeys(map(str, PRIORITIES), 0)
    rows = session.execute(
        select(Alarm.priority, func.count()).where(base, Alarm.acked == false()).group_by(Alarm.priority)
    )
    for priority, n in rows:
        if priority in counts:
            counts[priority] = int(n)
        else:
            logger.warning("alarm priority %r is not one of %s", priority, PRIORITIES)
    active = session.scalar(select(func.count()).select_from(Alarm).where(base, Alarm.active == true())) or 0
    shelved = session.scalar(select(func.count()).select_from(Alarm).where(_state_sql("shelved", now_ms))) or 0
    suppressed = (
        session.scalar(
            select(func.count())
            .select_from(Alarm)
            .where(or_(Alarm.suppressed == true(), Alarm.out_of_service == true()))
        )
        or 0
    )
    newest_row = session.scalars(
        select(Alarm)
        .where(base, Alarm.acked == false())
        .order_by(_alarm_when().desc(), _priority_rank(), Alarm.id)
        .limit(1)
    ).first()
    newest = None if newest_row is None else _view(newest_row, now_ms)
    return BannerSummary(counts, int(active), int(shelved), int(suppressed), newest, _banner_areas(session, now_ms))


def _banner_areas(session: Session, now_ms: int) -> dict[str, dict[str, Any]]:
    """Per area: unacknowledged annunciated counts by priority and the newest such alarm (two queries)."""
    unacked = and_(_annunciated(now_ms), Alarm.acked == false())
    out: dict[str, dict[str, Any]] = {}
    rows = session.execute(
        select(Alarm.area, Alarm.priority, func.count()).where(unacked).group_by(Alarm.area, Alarm.priority)
    )
    for area, priority, n in rows:
        part = out.setdefault(area or "", {"counts": dict.fromkeys(map(str, PRIORITIES), 0), "newest": None})
        if priority in part["counts"]:
            part["counts"][priority] = int(n)
    rank = (
        func.row_number()
        .over(partition_by=Alarm.area, order_by=(_alarm_when().desc(), _priority_rank(), Alarm.id))
        .label("rank")
    )
    ranked = select(Alarm.id.label("id"), rank).where(unacked).subquery()
    firsts = session.scalars(select(Alarm).join(ranked, ranked.c.id == Alarm.id).where(ranked.c.rank == 1))
    for a in firsts:
        part = out.setdefault(a.area or "", {"counts": dict.fromkeys(map(str, PRIORITIES), 0), "newest": None})
        part["newest"] = _view(a, now_ms).as_dict()
    return out


def linked_alarm(data: Any) -> str | None:
    """The other alarm of a man-down seen by a badge and a camera (``engine.mandown``), from the alarm's data:
    the camera's alarm and camera, or the badge's alarm and badge id (never a name)."""
    if not isinstance(data, dict):
        return None
    if data.get("video_alarm"):
        return f"{data['video_alarm']} · {data.get('seen_by') or '-'}"
    if data.get("badge_alarm"):
        return f"{data['badge_alarm']} · {data.get('badge') or '-'}"
    return None


def _journal_view(
    j: AlarmJournal, source: str | None, condition: str | None, message: str | None, alarm_data: Any = None
) -> JournalView:
    data = j.data if isinstance(j.data, dict) else {}
    msg = data.get("message") if isinstance(data.get("message"), str) else message
    return JournalView(
        id=j.id,
        ts=j.ts,
        alarm_id=j.alarm_id,
        kind=j.kind,
        source_type=j.source_type,
        priority=j.priority,
        area=j.area,
        zone=j.zone,
        active=bool(j.active),
        acked=bool(j.acked),
        value=j.value,
        user=j.user,
        address=j.address,
        comment=j.comment,
        source=source,
        condition=condition,
        message=msg,
        linked=linked_alarm(alarm_data),
    )


def _journal_conditions(flt: AlarmFilter) -> list[ColumnElement[bool]]:
    J = AlarmJournal  # noqa: N806
    conds: list[ColumnElement[bool]] = []
    if flt.areas:
        conds.append(J.area.in_(flt.areas))
    if flt.priorities:
        conds.append(J.priority.in_(flt.priorities))
    if flt.source_types:
        conds.append(J.source_type.in_(flt.source_types))
    if flt.kinds:
        conds.append(J.kind.in_(flt.kinds))
    if flt.start_ms is not None:
        conds.append(J.ts >= flt.start_ms)
    if flt.end_ms is not None:
        conds.append(J.ts < flt.end_ms)
    if flt.states:
        by_state = []
        for s in flt.states:
            if s == "active_unacked":
                by_state.append(and_(J.active == true(), J.acked == false()))
            elif s == "active_acked":
                by_state.append(and_(J.active == true(), J.acked == true()))
            elif s == "returned_unacked":
                by_state.append(and_(J.active == false(), J.acked == false()))
            else:
                by_state.append(J.kind.in_(_KINDS_OF_STATE[s]))
        conds.append(or_(*by_state))
    return conds


def alarm_history(
    session: Session, flt: AlarmFilter | None = None, *, page: int = 1, page_size: int = 50
) -> HistoryPage:
    """Journal entries passing ``flt``, newest first, one page at a time (``page`` from 1, clamped to the
    last page). A state filter keeps transitions that left the alarm in that state, or for shelved,
    suppressed and out of service the transitions into and out of it."""
    flt = flt or AlarmFilter()
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (page, page_size)):
        raise ValueError("page and page_size must be integers")
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    page_size = min(page_size, MAX_PAGE_SIZE)
    conds = _journal_conditions(flt)
    total = int(session.scalar(select(func.count()).select_from(AlarmJournal).where(*conds)) or 0)
    pages = max(1, -(-total // page_size))
    page = max(1, min(page, pages))
    stmt = (
        select(AlarmJournal, Alarm.source, Alarm.condition, Alarm.message, Alarm.data)
        .outerjoin(Alarm, Alarm.id == AlarmJournal.alarm_id)
        .where(*conds)
        .order_by(AlarmJournal.ts.desc(), AlarmJournal.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    rows = [_journal_view(j, s, c, m, d) for j, s, c, m, d in session.execute(stmt)]
    return HistoryPage(rows, total, page, page_size)


def alarm_trail(session: Session, alarm_id: str, *, limit: int = 200) -> list[JournalView]:
    """One alarm's journal, newest first."""
    limit = max(1, min(int(limit), MAX_LIST))
    stmt = (
        select(AlarmJournal, Alarm.source, Alarm.condition, Alarm.message, Alarm.data)
        .outerjoin(Alarm, Alarm.id == AlarmJournal.alarm_id)
        .where(AlarmJournal.alarm_id == alarm_id)
        .order_by(AlarmJournal.ts.desc(), AlarmJournal.id.desc())
        .limit(limit)
    )
    return [_journal_view(j, s, c, m, d) for j, s, c, m, d in session.execute(stmt)]


def command_results(session: Session, command_ids: Sequence[int]) -> list[CommandView]:
    """The operator commands ``command_ids`` with their outcome (``done_at`` None while pending)."""
    wanted = [int(i) for i in command_ids if not isinstance(i, bool) and isinstance(i, int)]
    if not wanted:
        return []
    rows = session.scalars(select(AlarmCommand).where(AlarmCommand.id.in_(wanted)).order_by(AlarmCommand.id))
    return [CommandView(c.id, c.ts, c.alarm_id, c.action, c.user, c.done_at, c.result) for c in rows]
