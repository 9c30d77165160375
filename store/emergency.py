"""Emergencies (issue 16, H5): proposals from urgent alarms, the declaration (with its muster), the plan's
checklist, the danger area growing, the end with its summary; and the situation as it stands (danger area,
evacuation routes, every badge on the roll classified), read within a viewer's scope.

Like every repository here, functions take a session and never commit (they flush). Who acts is a user name
checked by the caller (``webapp.commands``); the timeline (``emergency_step``) is append-only.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import evacuation as ev
from engine.geometry import locate
from engine.tracks import located
from engine.types import BAD_NO_COMMUNICATION, is_good
from plant.schema import EmergencyKind, EmergencyPlan, Plant
from store import people
from store.models import Emergency, EmergencyStep, Event
from store.positions import current_positions
from store.samples import latest_values
from store.tags import tag_ids

logger = logging.getLogger(__name__)

PROPOSED, DISMISSED, ACTIVE, ENDED = "proposed", "dismissed", "active", "ended"
# timeline kinds
DECLARED, ACTION_DONE, ACTION_REOPENED, DANGER_GROWN, NOTIFIED, PROPOSAL_DISMISSED, STEP_ENDED = (
    "declared",
    "action_done",
    "action_reopened",
    "danger_grown",
    "notified",
    "dismissed",
    "ended",
)
REPROPOSE_MS = 30 * 60_000  # an alarm proposes its emergency at most once in this time
NOTE_MAX = 300
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class EmergencyError(ValueError):
    """An emergency action refused: the message says why (shown to the user)."""


def _who(user: Any) -> str:
    if not isinstance(user, str) or not user.strip():
        raise EmergencyError("say who acts")
    text = user.strip()
    if len(text) > 64 or _CONTROL_RE.search(text):
        raise EmergencyError("the user name is not valid")
    return text


def _note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or _CONTROL_RE.search(note):
        raise EmergencyError("the note must be plain text")
    return note.strip()[:NOTE_MAX]


def plan_of(plant: Plant, plan_id: str) -> EmergencyPlan:
    for p in plant.emergency.plans:
        if p.id == plan_id:
            return p
    raise EmergencyError(f"unknown plan {str(plan_id)[:64]!r}")


# --- reading ----------------------------------------------------------------------------------------------


def active(session: Session) -> Emergency | None:
    stmt = select(Emergency).where(Emergency.state == ACTIVE).order_by(Emergency.id.desc()).limit(1)
    return session.scalars(stmt).first()


def proposals(session: Session) -> list[Emergency]:
    stmt = select(Emergency).where(Emergency.state == PROPOSED).order_by(Emergency.id.desc()).limit(20)
    return list(session.scalars(stmt))


def ended(session: Session, limit: int = 20) -> list[Emergency]:
    stmt = select(Emergency).where(Emergency.state == ENDED).order_by(Emergency.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def get(session: Session, emergency_id: int) -> Emergency | None:
    return session.get(Emergency, int(emergency_id))


def steps(session: Session, emergency_id: int) -> list[EmergencyStep]:
    stmt = select(EmergencyStep).where(EmergencyStep.emergency_id == int(emergency_id))
    return list(session.scalars(stmt.order_by(EmergencyStep.ts, EmergencyStep.id)))


def checklist(rows: Sequence[EmergencyStep]) -> dict[str, tuple[bool, str, int]]:
    """Each action's state from the timeline: done or not, by whom and when (the latest tick wins)."""
    out: dict[str, tuple[bool, str, int]] = {}
    for s in rows:
        if s.action and s.kind in (ACTION_DONE, ACTION_REOPENED):
            out[s.action] = (s.kind == ACTION_DONE, s.user, int(s.ts))
    return out


# --- acting ------------------------------------------------------------------------------------------------


def _step(
    session: Session, e: Emergency, kind: str, user: str, now_ms: int, action: str | None = None, **data: Any
) -> None:
    session.add(
        EmergencyStep(emergency_id=e.id, ts=int(now_ms), kind=kind, action=action, user=user, data=data or None)
    )
    session.flush()


def propose(session: Session, plant: Plant, plan_id: str, zone: str, alarm: str, now_ms: int) -> int | None:
    """Propose ``plan_id`` in ``zone`` because of ``alarm``; None when an emergency is running, the same plan and
    zone are proposed already, or this alarm proposed one within :data:`REPROPOSE_MS`."""
    plan = plan_of(plant, plan_id)
    if zone not in plan.zones:
        raise EmergencyError(f"plan {plan.id!r} does not cover zone {zone[:64]!r}")
    if active(session) is not None:
        return None
    if any(p.plan == plan.id and p.zone == zone for p in proposals(session)):
        return None
    recent = select(Emergency.id).where(Emergency.alarm == alarm, Emergency.proposed_ms >= int(now_ms) - REPROPOSE_MS)
    if session.execute(recent.limit(1)).first() is not None:
        return None
    e = Emergency(
        state=PROPOSED,
        plan=plan.id,
        kind=plan.kind.value,
        zone=zone,
        level=plan.level,
        radius_m=plan.danger_radius_m,
        proposed_ms=int(now_ms),
        alarm=alarm[:128],
        note="",
    )
    session.add(e)
    session.flush()
    logger.warning("emergency proposed: plan %s in %s from alarm %s (%d)", plan.id, zone, alarm, e.id)
    return int(e.id)


def declare(
    session: Session,
    plant: Plant,
    user: str,
    plan_id: str,
    zone: str,
    now_ms: int,
    note: str | None = None,
    proposal: int | None = None,
) -> Emergency:
    """Declare an emergency (or accept ``proposal``): the plan in ``zone`` from ``now_ms``, with a muster. Refused
    while one is running."""
    who = _who(user)
    text = _note(note)
    plan = plan_of(plant, plan_id)
    if zone not in plan.zones:
        raise EmergencyError(f"plan {plan.id!r} does not cover zone {str(zone)[:64]!r}")
    if active(session) is not None:
        raise EmergencyError("an emergency is already declared")
    e: Emergency | None = None
    if proposal is not None:
        e = get(session, proposal)
        if e is None or e.state != PROPOSED:
            raise EmergencyError("that proposal is no longer open")
    if e is None:
        e = Emergency(state=ACTIVE, plan=plan.id, kind=plan.kind.value, zone=zone, level=plan.level, note="")
        session.add(e)
    e.state, e.plan, e.kind, e.zone, e.level = ACTIVE, plan.id, plan.kind.value, zone, plan.level
    e.radius_m = plan.danger_radius_m
    e.declared_ms, e.declared_by, e.note = int(now_ms), who, text
    session.flush()
    e.muster_event = people.declare_muster(session, who, int(now_ms), note=text)
    _step(session, e, DECLARED, who, now_ms, plan=plan.id, zone=zone, proposal=proposal)
    logger.warning("emergency %d declared by %s: plan %s in %s", e.id, who, plan.id, zone)
    return e


def dismiss(session: Session, proposal: int, user: str, now_ms: int) -> None:
    who = _who(user)
    e = get(session, proposal)
    if e is None or e.state != PROPOSED:
        raise EmergencyError("that proposal is no longer open")
    e.state, e.ended_ms, e.ended_by = DISMISSED, int(now_ms), who
    _step(session, e, PROPOSAL_DISMISSED, who, now_ms)


def _running(session: Session, emergency_id: int | None) -> Emergency:
    e = active(session) if emergency_id is None else get(session, emergency_id)
    if e is None or e.state != ACTIVE:
        raise EmergencyError("no emergency is running")
    return e


def set_action(
    session: Session, plant: Plant, action: str, done: bool, user: str, now_ms: int, emergency_id: int | None = None
) -> Emergency:
    """Tick a plan action done (or reopen it), as ``user`` at ``now_ms``."""
    who = _who(user)
    e = _running(session, emergency_id)
    plan = plan_of(plant, e.plan)
    if action not in {a.id for a in plan.actions}:
        raise EmergencyError(f"the plan has no action {str(action)[:64]!r}")
    _step(session, e, ACTION_DONE if done else ACTION_REOPENED, who, now_ms, action=action)
    return e


def grow(session: Session, radius_m: float, user: str, now_ms: int, emergency_id: int | None = None) -> Emergency:
    """Set the danger radius (metres round the incident zone; it may only grow while the emergency runs)."""
    who = _who(user)
    e = _running(session, emergency_id)
    if not isinstance(radius_m, int | float) or not math.isfinite(radius_m) or not 0 < radius_m <= 2000:
        raise EmergencyError("the danger radius must be between 0 and 2,000 m")
    if radius_m <= e.radius_m:
        raise EmergencyError(f"the danger radius is {e.radius_m:g} m already; it may only grow")
    before = e.radius_m
    e.radius_m = float(radius_m)
    _step(session, e, DANGER_GROWN, who, now_ms, before=before, after=float(radius_m))
    return e


def notified(session: Session, emergency_id: int, recipients: Sequence[str], now_ms: int, user: str = "system") -> None:
    e = get(session, emergency_id)
    if e is not None:
        _step(session, e, NOTIFIED, user, now_ms, recipients=list(recipients))


def end(session: Session, plant: Plant, user: str, now_ms: int, emergency_id: int | None = None) -> Emergency:
    """End the running emergency and its muster; the summary (timeline, counts, who was unaccounted and for how
    long, every badge's last accounting) is written with it."""
    who = _who(user)
    e = _running(session, emergency_id)
    end_ms = max(int(now_ms), int(e.declared_ms or now_ms))
    sit = situation(session, plant, end_ms, people.SYSTEM, e)  # as it stands now: newest positions
    e.ended_ms = end_ms
    e.summary = summary_of(sit)
    e.state, e.ended_by = ENDED, who
    _step(session, e, STEP_ENDED, who, e.ended_ms, counts=sit.counts if sit is not None else {})
    if e.muster_event is not None:
        people.end_muster(session, who, e.ended_ms, event_id=e.muster_event)
    session.flush()
    logger.warning("emergency %d ended by %s", e.id, who)
    return e


# --- the situation -------------------------------------------------------------------------------------------


def walkways(plant: Plant) -> ev.Walkways:
    """The plant's walkway graph (its roads), built once per set of roads."""
    roads = tuple(tuple((float(x), float(y)) for x, y in r.polyline) for r in plant.roads)
    return _walkways(roads, float(plant.emergency.walkway_step_m))


@functools.lru_cache(maxsize=4)
def _walkways(roads: tuple[tuple[tuple[float, float], ...], ...], step_m: float) -> ev.Walkways:
    return ev.walkway_graph(roads, step_m)


def wind_from(session: Session, plant: Plant) -> float | None:
    """The wind's direction (from, degrees) from the plant's wind tag; the plan's fixed value without a good one."""
    em = plant.emergency
    if em.wind_from_tag is not None:
        tid = tag_ids(session).get(em.wind_from_tag)
        if tid is not None:
            s = latest_values(session, [tid]).get(tid)
            if s is not None and s.value is not None and is_good(s.quality) and math.isfinite(s.value):
                return float(s.value) % 360.0
    return em.wind_from_deg


def danger_of(plant: Plant, e: Emergency, wind: float | None) -> ev.DangerArea:
    plan = plan_of(plant, e.plan)
    zone = next(z for z in plant.zones if z.id == e.zone)
    gas = plan.kind == EmergencyKind.GAS_RELEASE or plan.downwind_m > 0
    return ev.danger_area(
        [zone.polygon],
        float(e.radius_m),
        wind_from_deg=wind if gas else None,
        downwind_m=plan.downwind_m,
        half_angle_deg=plan.downwind_half_angle_deg,
    )


@dataclass(frozen=True)
class Situation:
    emergency_id: int
    now_ms: int
    declared_ms: int
    wind_from: float | None
    danger: list[list[tuple[float, float]]]
    counts: dict[str, int]  # on_roll, at_point, left_site, on_route, unaccounted, in_danger, no_route
    classes: dict[str, str] = field(default_factory=dict)  # badge -> class (empty for COUNTS viewers)
    routes: dict[str, ev.Route] = field(default_factory=dict)  # people not yet at a point or gone
    last_seen: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # badge -> ts, x, y
    last_zone: dict[str, str | None] = field(default_factory=dict)
    arrived_ms: dict[str, int] = field(default_factory=dict)
    safe_points: list[str] = field(default_factory=list)
    muster: people.MusterView | None = None


def situation(
    session: Session, plant: Plant, now_ms: int, viewer: people.Viewer | None, e: Emergency | None = None
) -> Situation | None:
    """The running emergency (or ``e``) as it stands at ``now_ms``: danger area, the roll classified, routes of
    everyone still to reach safety. Positions only for viewers who may locate people; names never here."""
    level = people.access(viewer)
    e = e if e is not None else active(session)
    if e is None or e.declared_ms is None:
        return None
    t0 = int(e.declared_ms)
    t1 = max(t0, min(int(now_ms), int(e.ended_ms)) if e.ended_ms is not None else int(now_ms))
    muster_event = session.get(Event, e.muster_event) if e.muster_event is not None else None
    mv = people.muster_view(session, plant, t1, people.SYSTEM, event=muster_event) if muster_event else None
    roll = sorted(set(mv.status.assigned) | {m.badge for m in mv.status.missing}) if mv is not None else []
    arrivals = mv.status.arrivals if mv is not None else {}
    if e.ended_ms is not None:
        newest_rows = people.positions_at(session, roll, t1)
        newest = {b: ev.Newest(f.ts, f.x, f.y, on_site=f.good, lost=False) for b, f in newest_rows.items()}
    else:
        rows = {p.badge: p for p in current_positions(session) if p.badge in set(roll)}
        newest = {
            b: ev.Newest(
                int(p.ts),
                float(p.x),
                float(p.y),
                on_site=located(p.quality, p.x, p.y),
                lost=int(p.quality) == BAD_NO_COMMUNICATION,
            )
            for b, p in rows.items()
        }
    classes = ev.classify(roll, arrivals, newest, t0, t1)
    wind = wind_from(session, plant)
    danger = danger_of(plant, e, wind)
    moving = {
        b: (newest[b].x, newest[b].y)
        for b, c in classes.items()
        if c in (ev.ON_ROUTE, ev.UNACCOUNTED) and b in newest and newest[b].on_site
    }
    spots = [ev.MusterSpot(m.id, float(m.position[0]), float(m.position[1])) for m in plant.muster_points]
    plan = ev.plan_routes(walkways(plant), danger, spots, moving)
    counts = {c: 0 for c in ev.CLASSES}
    for c in classes.values():
        counts[c] += 1
    counts["on_roll"] = len(roll)
    counts["in_danger"] = plan.count(ev.IN_DANGER)
    counts["no_route"] = plan.count(ev.NO_ROUTE)
    seen = {b: (n.ts, n.x, n.y) for b, n in newest.items()}
    zones = locate(
        np.array([seen[b][1] for b in seen], dtype=float),
        np.array([seen[b][2] for b in seen], dtype=float),
        [(z.id, z.polygon) for z in plant.zones],
    )
    last_zone = dict(zip(seen, zones, strict=True))
    base = Situation(
        emergency_id=int(e.id),
        now_ms=t1,
        declared_ms=t0,
        wind_from=wind,
        danger=danger.outline(),
        counts=counts,
        safe_points=plan.safe_points,
    )
    if level == people.Access.COUNTS:
        return base
    return replace(
        base,
        classes=classes,
        routes=plan.routes,
        last_seen=seen,
        last_zone=last_zone,
        arrived_ms={b: a.first_ts for b, a in arrivals.items() if b in classes},
        muster=mv,
    )


def summary_of(sit: Situation | None) -> dict[str, Any]:
    """What an ended emergency keeps: counts at the end, and per badge on the roll its class at the end, when it
    was last accounted for (arrival at a point, or last position) and, for the unaccounted, for how long."""
    if sit is None:
        return {}
    people_rows = []
    for b, c in sorted(sit.classes.items()):
        ts = sit.arrived_ms.get(b) if c == ev.AT_POINT else (sit.last_seen.get(b) or (None,))[0]
        row: dict[str, Any] = {"badge": b, "class": c, "last_ms": ts, "zone": sit.last_zone.get(b)}
        if c == ev.UNACCOUNTED:
            row["unaccounted_s"] = round((sit.now_ms - max(int(ts or sit.declared_ms), sit.declared_ms)) / 1000)
        r = sit.routes.get(b)
        if r is not None and r.status != ev.ROUTE:
            row["flag"] = r.status
        people_rows.append(row)
    return {
        "declared_ms": sit.declared_ms,
        "ended_ms": sit.now_ms,
        "counts": sit.counts,
        "wind_from": sit.wind_from,
        "danger": sit.danger,
        "people": people_rows,
    }


def resources_near(plant: Plant, zone_id: str, limit: int = 8) -> list[tuple[str, float]]:
    """The plant's emergency resources nearest to a zone's centre: (resource id, distance in metres)."""
    zone = next((z for z in plant.zones if z.id == zone_id), None)
    if zone is None:
        return []
    cx = sum(p[0] for p in zone.polygon) / len(zone.polygon)
    cy = sum(p[1] for p in zone.polygon) / len(zone.polygon)
    ranked = sorted((math.hypot(r.position[0] - cx, r.position[1] - cy), r.id) for r in plant.emergency.resources)
    return [(rid, round(d)) for d, rid in ranked[:limit]]
