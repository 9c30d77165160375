"""Hidden-danger register (隐患排查治理): the workflow of one hidden danger, its overdue escalation and the register's
figures. Pure Python; ``store.hidden_dangers`` keeps the rows and the log, the web tier's use case audits.

Workflow (every move names its actor; any other move is refused with :class:`IllegalMoveError`, naming why):

- ``report`` -> **reported**: what, where (a zone and a point on the map), by whom, from where (dispatcher
  screen or on-call phone), an optional photo.
- ``assess`` reported -> **assessed**, with the grade: ``general`` (一般隐患) or ``major`` (重大隐患); an assessed
  danger may be assessed again before it is assigned.
- ``assign`` assessed -> **assigned**: the rectification owner and a deadline later than now.
- ``plan`` assigned -> **planned**, a major danger only: its rectification plan with the five items the
  regulation asks for (measures, funds, owner, deadline, interim safety measures), all given.
- ``rectify`` -> **rectified**: from assigned (general) or planned (major; a major danger without its plan
  cannot move on), with what was done.
- ``verify`` rectified -> **closed**: checked on site by someone other than who rectified it.
- ``reject`` rectified -> back to assigned (general) or planned (major), with the reason.

Overdue: a danger not yet rectified whose deadline has passed. Escalation level 0 (in time), 1 (overdue), 2
(overdue by more than ``escalate_after_ms``, default 3 days): the register shows it and the zone's lead
hears of it. Figures: open by grade and by age (under 7 days, 7-30 days, over 30 days), overdue, and the
on-time closure rate: of the dangers closed in a window, those rectified by their deadline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REPORTED, ASSESSED, ASSIGNED, PLANNED, RECTIFIED, CLOSED = (
    "reported",
    "assessed",
    "assigned",
    "planned",
    "rectified",
    "closed",
)
STATES: tuple[str, ...] = (REPORTED, ASSESSED, ASSIGNED, PLANNED, RECTIFIED, CLOSED)
OPEN_STATES: tuple[str, ...] = (REPORTED, ASSESSED, ASSIGNED, PLANNED, RECTIFIED)
GENERAL, MAJOR = "general", "major"
GRADES: tuple[str, ...] = (GENERAL, MAJOR)
REPORT, ASSESS, ASSIGN, PLAN = "report", "assess", "assign", "plan"
RECTIFY, VERIFY, REJECT, ESCALATE = "rectify", "verify", "reject", "escalate"
ACTIONS: tuple[str, ...] = (ASSESS, ASSIGN, PLAN, RECTIFY, VERIFY, REJECT)
PLAN_FIELDS: tuple[str, ...] = ("measures", "funds", "owner", "deadline_ms", "interim")
SOURCES: tuple[str, ...] = ("dispatcher", "phone")

DAY_MS = 86_400_000
ESCALATE_AFTER_MS = 3 * DAY_MS
AGE_BUCKETS: tuple[tuple[str, int], ...] = (("lt7", 7 * DAY_MS), ("d7_30", 30 * DAY_MS), ("gt30", 10**15))
MAX_TEXT = 2000


class IllegalMoveError(ValueError):
    """A move the workflow refuses; ``key`` is the catalog text that says why (``hd.err.<key>``)."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Danger:
    """A hidden danger as the workflow sees it."""

    id: int
    state: str
    reported_at: int
    grade: str | None = None
    owner: str | None = None
    deadline_ms: int | None = None
    plan: Mapping[str, Any] | None = None
    rectified_at: int | None = None
    rectified_by: str | None = None
    closed_at: int | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """What a legal move changes: the new state and the fields it sets."""

    state: str
    changes: dict[str, Any] = field(default_factory=dict)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IllegalMoveError(f"need_{what}")
    return value.strip()[:MAX_TEXT]


def _deadline(value: Any, now_ms: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IllegalMoveError("need_deadline")
    if value <= now_ms:
        raise IllegalMoveError("deadline_past")
    return value


def check_plan(plan: Mapping[str, Any] | None, now_ms: int) -> dict[str, Any]:
    """A major danger's rectification plan with its five items (measures, funds, owner, deadline, interim
    safety measures), each given; funds a finite amount >= 0 and the deadline later than now."""
    if not isinstance(plan, Mapping):
        raise IllegalMoveError("need_plan")
    out: dict[str, Any] = {
        "measures": _text(plan.get("measures"), "measures"),
        "owner": _text(plan.get("owner"), "owner"),
        "interim": _text(plan.get("interim"), "interim"),
    }
    funds = plan.get("funds")
    if isinstance(funds, bool) or not isinstance(funds, int | float) or not math.isfinite(funds) or funds < 0:
        raise IllegalMoveError("need_funds")
    out["funds"] = float(funds)
    out["deadline_ms"] = _deadline(plan.get("deadline_ms"), now_ms)
    return out


def move(d: Danger, action: str, actor: str, now_ms: int, **given: Any) -> Move:
    """The state ``action`` by ``actor`` takes ``d`` to, with the fields it sets; :class:`IllegalMoveError` if the
    workflow refuses it (the module's docstring)."""
    if action not in ACTIONS:
        raise IllegalMoveError("unknown_action", action)
    if not actor:
        raise IllegalMoveError("need_actor")
    s = d.state
    if s == CLOSED:
        raise IllegalMoveError("closed")
    if action == ASSESS:
        if s not in (REPORTED, ASSESSED):
            raise IllegalMoveError("not_now", f"{action} in {s}")
        grade = given.get("grade")
        if grade not in GRADES:
            raise IllegalMoveError("need_grade")
        return Move(ASSESSED, {"grade": grade})
    if action == ASSIGN:
        if s != ASSESSED:
            raise IllegalMoveError("not_now", f"{action} in {s}")
        owner = _text(given.get("owner"), "owner")
        return Move(ASSIGNED, {"owner": owner, "deadline_ms": _deadline(given.get("deadline_ms"), now_ms)})
    if action == PLAN:
        if d.grade != MAJOR:
            raise IllegalMoveError("plan_major_only")
        if s != ASSIGNED:
            raise IllegalMoveError("not_now", f"{action} in {s}")
        plan = check_plan(given.get("plan"), now_ms)
        return Move(PLANNED, {"plan": plan, "owner": plan["owner"], "deadline_ms": plan["deadline_ms"]})
    if action == RECTIFY:
        if d.grade == MAJOR and s == ASSIGNED:
            raise IllegalMoveError("major_needs_plan")
        if s not in (ASSIGNED, PLANNED):
            raise IllegalMoveError("not_now", f"{action} in {s}")
        _text(given.get("note"), "note")
        return Move(RECTIFIED, {"rectified_at": now_ms, "rectified_by": actor})
    if action == VERIFY:
        if s != RECTIFIED:
            raise IllegalMoveError("not_now", f"{action} in {s}")
        if actor == d.rectified_by:
            raise IllegalMoveError("verify_by_other")
        return Move(CLOSED, {"closed_at": now_ms})
    # REJECT
    if s != RECTIFIED:
        raise IllegalMoveError("not_now", f"{action} in {s}")
    _text(given.get("note"), "note")
    return Move(PLANNED if d.grade == MAJOR else ASSIGNED, {"rectified_at": None, "rectified_by": None})


def is_open(d: Danger) -> bool:
    return d.state != CLOSED


def overdue(d: Danger, now_ms: int) -> bool:
    """Not yet rectified (nor closed) and past its deadline."""
    return d.state not in (RECTIFIED, CLOSED) and d.deadline_ms is not None and now_ms > d.deadline_ms


def escalation(d: Danger, now_ms: int, escalate_after_ms: int = ESCALATE_AFTER_MS) -> int:
    """0 in time, 1 overdue, 2 overdue by more than ``escalate_after_ms``."""
    if not overdue(d, now_ms) or d.deadline_ms is None:
        return 0
    return 2 if now_ms - d.deadline_ms > escalate_after_ms else 1


def on_time(d: Danger) -> bool | None:
    """Whether a closed danger was rectified by its deadline (None: not closed, or no deadline)."""
    if d.state != CLOSED or d.rectified_at is None or d.deadline_ms is None:
        return None
    return d.rectified_at <= d.deadline_ms


@dataclass(frozen=True)
class Figures:
    open_by_grade: dict[str, int]  # general, major, unassessed
    open_by_age: dict[str, int]  # lt7, d7_30, gt30
    overdue: int
    closed: int  # closed within the window
    closed_on_time: int
    major_open_zones: dict[str, int]  # zone -> open major dangers (raise the zone's dynamic risk)

    @property
    def on_time_rate(self) -> float | None:
        """Closed on time / closed in the window; None when none was closed."""
        return self.closed_on_time / self.closed if self.closed else None


def figures(dangers: Iterable[Danger], now_ms: int, since_ms: int) -> Figures:
    """The register's figures now; closures counted from ``since_ms``."""
    by_grade = {GENERAL: 0, MAJOR: 0, "unassessed": 0}
    by_age = {k: 0 for k, _ in AGE_BUCKETS}
    late = closed = closed_on_time = 0
    zones: dict[str, int] = {}
    for d in dangers:
        if is_open(d):
            by_grade[d.grade or "unassessed"] += 1
            age = now_ms - d.reported_at
            by_age[next(k for k, limit in AGE_BUCKETS if age < limit)] += 1
            late += overdue(d, now_ms)
            if d.grade == MAJOR and d.zone:
                zones[d.zone] = zones.get(d.zone, 0) + 1
        elif d.closed_at is not None and d.closed_at >= since_ms:
            closed += 1
            closed_on_time += bool(on_time(d))
    return Figures(by_grade, by_age, late, closed, closed_on_time, zones)
