"""The safety early-warning index from the store (``engine.safety_index``), and its stored series.

:func:`gather` reads every zone's inputs at ``now_ms``: annunciated alarms, open personnel violations (the
staffing rules apart), open hidden dangers (overdue, major), active special-work permits, the gas detectors'
latest values over their limits and the zones over their shift's headcount (badges of people seen in the last
``POSITION_MAX_AGE_MS``, located in the zones' polygons; ``engine.risk`` decides both). :func:`current` turns
them into the index with ``engine.safety_index.evaluate``: the safety page and the safety service call these two,
so the screens and the stored series share one formula and one set of inputs. With ``past=True`` (the demo's
history pass, which computes the index at moments gone by) the hidden dangers, permits and headcounts are those of
that moment, read from the hidden dangers' and permits' state logs and the stored positions.

``safety_index_point`` holds the series: one row per minute for every zone and for the plant (``PLANT``), with its
value, colour and parts; rows are only added (:func:`record`), the retention service deletes those past its
window. :func:`series` reads them for a trend, :func:`last_colours` gives the colours a restarted service goes on
from. Functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import permits as pr
from engine.geometry import locate
from engine.hidden_dangers import MAJOR, OPEN_STATES, Danger, overdue
from engine.risk import zone_risks
from engine.safety_index import PLANT, IndexView, ZoneInputs, evaluate
from engine.shifts import current_shift
from engine.types import is_good
from plant.schema import BadgeKind, Plant, TagKind
from store.alarm_views import open_alarms
from store.events import VIOLATION, open_events
from store.hidden_dangers import as_danger, open_dangers
from store.models import Event, HiddenDanger, HiddenDangerLog, SafetyIndexPoint, WorkPermit, WorkPermitLog
from store.people import newest_in_window
from store.permits import live
from store.positions import current_positions
from store.samples import latest_values
from store.tags import tag_ids

__all__ = [
    "PLANT",
    "Point",
    "current",
    "dangers_at",
    "gather",
    "last_colours",
    "permits_active_at",
    "record",
    "series",
]

POSITION_MAX_AGE_MS = 5 * 60_000  # a badge not heard of for this long is not counted in its zone
STAFFING_RULES = {"under_staffed", "over_staffed"}
VIOLATION_LOOKBACK_MS = 86_400_000


def _gas_latest(session: Session, plant: Plant, now_ms: int) -> dict[str, tuple[int, float | None, int]]:
    ids = tag_ids(session)
    wanted = {tg.id: ids[tg.id] for tg in plant.tags if tg.kind == TagKind.GAS and tg.zone and tg.id in ids}
    by_id = {v: k for k, v in wanted.items()}
    found = latest_values(session, list(wanted.values()), until=now_ms)
    return {by_id[i]: (s.ts, s.value, s.quality) for i, s in found.items() if i in by_id}


def _headcount(session: Session, plant: Plant, now_ms: int, past: bool = False) -> dict[str, int]:
    """People located in each zone: live from the badges' newest positions, ``past`` from the stored positions
    at or before ``now_ms``."""
    people = {b.id for b in plant.badges if b.kind == BadgeKind.PERSON}
    if past:
        fixes = newest_in_window(session, sorted(people), now_ms - POSITION_MAX_AGE_MS, now_ms).values()
        xy = [(f.x, f.y) for f in fixes if f.good]
    else:
        xy = [
            (p.x, p.y)
            for p in current_positions(session, since=now_ms - POSITION_MAX_AGE_MS)
            if p.badge in people and is_good(p.quality) and p.ts <= now_ms
        ]
    zones = locate(
        np.array([p[0] for p in xy], dtype=float),
        np.array([p[1] for p in xy], dtype=float),
        [(z.id, z.polygon) for z in plant.zones],
    )
    out: dict[str, int] = {}
    for zone in zones:
        if zone is not None:
            out[zone] = out.get(zone, 0) + 1
    return out


def _violations(session: Session, now_ms: int) -> list[Event]:
    """The personnel violations open at ``now_ms``: those without an end, and those of the last
    ``VIOLATION_LOOKBACK_MS`` that ended after it (none live; over a backfilled history, a past moment's)."""
    found = {ev.id: ev for ev in open_events(session, VIOLATION) if ev.ts_start <= now_ms}
    stmt = select(Event).where(
        Event.kind == VIOLATION,
        Event.ts_start >= now_ms - VIOLATION_LOOKBACK_MS,
        Event.ts_start <= now_ms,
        Event.ts_end > now_ms,
    )
    for ev in session.scalars(stmt):
        found[ev.id] = ev
    return sorted(found.values(), key=lambda ev: (ev.ts_start, ev.id))


def _moves(
    session: Session, log: type[HiddenDangerLog] | type[WorkPermitLog], ids: list[int], now_ms: int
) -> Iterator[tuple[int, str, dict[str, Any] | None]]:
    """(subject id, state moved to, facts) of every move of ``ids`` that ``log`` holds up to ``now_ms``, oldest
    first, in chunks of 500 ids."""
    key = getattr(log, log.subject)
    for i in range(0, len(ids), 500):
        stmt = (
            select(key, log.to_state, log.data)
            .where(key.in_(ids[i : i + 500]), log.ts <= now_ms)
            .order_by(log.ts, log.id)
        )
        yield from session.execute(stmt).tuples()


_DANGER_FIELDS = ("grade", "owner", "deadline_ms", "plan")  # what a move sets that the index reads


def dangers_at(session: Session, now_ms: int) -> list[Danger]:
    """The hidden dangers open at ``now_ms`` as they stood then: reported by then, in the state their last logged
    move by then left them, with the grade, owner, deadline and plan their moves by then had set."""
    rows = {
        r.id: r
        for r in session.scalars(
            select(HiddenDanger).where(
                HiddenDanger.reported_at <= now_ms,
                or_(HiddenDanger.closed_at.is_(None), HiddenDanger.closed_at > now_ms),
            )
        )
    }
    state: dict[int, str] = {}
    fields: dict[int, dict[str, object]] = {}
    for did, to_state, data in _moves(session, HiddenDangerLog, sorted(rows), now_ms):
        state[did] = to_state
        got = fields.setdefault(did, {})
        got.update({k: v for k, v in (data or {}).items() if k in _DANGER_FIELDS})
    out = []
    for did, row in rows.items():
        st = state.get(did)
        if st not in OPEN_STATES:
            continue
        f = fields.get(did, {})
        deadline = f.get("deadline_ms")
        out.append(
            Danger(
                id=did,
                state=str(st),
                reported_at=row.reported_at,
                grade=f.get("grade"),  # type: ignore[arg-type]
                owner=f.get("owner"),  # type: ignore[arg-type]
                deadline_ms=None if deadline is None else int(deadline),  # type: ignore[call-overload]
                plan=f.get("plan"),  # type: ignore[arg-type]
                zone=row.zone,
            )
        )
    return out


def permits_active_at(session: Session, now_ms: int) -> list[WorkPermit]:
    """The special-work permits active at ``now_ms``: those whose last logged step by then left them active."""
    rows = {
        r.id: r
        for r in session.scalars(
            select(WorkPermit).where(
                WorkPermit.applied_at <= now_ms,
                or_(WorkPermit.closed_at.is_(None), WorkPermit.closed_at > now_ms),
            )
        )
    }
    ids = sorted(rows)
    state = {pid: to_state for pid, to_state, _data in _moves(session, WorkPermitLog, ids, now_ms)}  # the last wins
    return [rows[pid] for pid in ids if state.get(pid) == pr.ACTIVE]


def gather(session: Session, plant: Plant, now_ms: int, *, past: bool = False) -> dict[str, ZoneInputs]:
    """Every zone's inputs at ``now_ms``. Live, everything is as it stands. ``past`` (the demo's history pass,
    which runs the services in time order at moments gone by): the hidden dangers and permits as their state logs
    say they stood at ``now_ms``, the headcounts from the positions stored by then; the alarms (the history runs
    the alarm service up to each moment first), gas readings and violations are that moment's either way."""
    out = {z.id: ZoneInputs(level=z.lec.level.value) for z in plant.zones}
    shift = current_shift(plant, now_ms)
    risks = zone_risks(
        plant,
        _gas_latest(session, plant, now_ms),
        {},
        _headcount(session, plant, now_ms, past),
        shift[0].id if shift else None,
    )
    for zone, r in risks.items():
        z_in = out.get(zone)
        if z_in is None:
            continue
        for reason in r.reasons:
            if reason.code == "gas_h":
                z_in.gas_h += 1
            elif reason.code == "gas_hh":
                z_in.gas_hh += 1
            elif reason.code == "over_staffed":
                z_in.staffing_off = True
    for a in open_alarms(session, now_ms, limit=1000):
        if a.zone in out and a.active:
            out[a.zone].alarms.append(a.priority)
    for ev in _violations(session, now_ms):
        if ev.zone not in out:
            continue
        if ev.source in STAFFING_RULES:
            out[ev.zone].staffing_off = True
        else:
            out[ev.zone].violations += 1
    dangers = dangers_at(session, now_ms) if past else [as_danger(row) for row in open_dangers(session)]
    for d in dangers:
        if d.zone not in out:
            continue
        z_in = out[d.zone]
        z_in.dangers_open += 1
        z_in.dangers_overdue += overdue(d, now_ms)
        z_in.dangers_major += d.grade == MAJOR
    active = permits_active_at(session, now_ms) if past else [p for p in live(session) if p.state == pr.ACTIVE]
    for p in active:
        if p.zone not in out:
            continue
        if p.kind in pr.GAS_KINDS:
            out[p.zone].permits_high += 1
        else:
            out[p.zone].permits_other += 1
    return out


def current(
    session: Session, plant: Plant, now_ms: int, previous: Mapping[str, str] | None = None, *, past: bool = False
) -> IndexView:
    """The index of every zone and of the plant at ``now_ms``, coloured against the ``previous`` colours
    (``past``: as the store's logs say things stood then, :func:`gather`)."""
    cfg = plant.safety_index
    return evaluate(gather(session, plant, now_ms, past=past), cfg.weights, cfg.thresholds, cfg.hysteresis, previous)


@dataclass(frozen=True)
class Point:
    ts: int
    zone: str  # a zone's id, or PLANT
    value: float
    colour: str
    parts: dict[str, float]


def _rounded(parts: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in parts.items()}  # a tenth of a point: the stored row stays small


def record(session: Session, ts: int, view: IndexView) -> int:
    """Add the plant's and every zone's index at ``ts`` (a minute already stored is left as it is); rows
    added. Flushes, the caller commits."""
    have = set(session.scalars(select(SafetyIndexPoint.zone).where(SafetyIndexPoint.ts == ts)))
    worst = view.zones.get(view.worst_zone or "")
    rows = [(PLANT, view.value, view.colour, _rounded(worst.parts) if worst else {})]
    rows += [(zid, z.value, view.colours.get(zid, "blue"), _rounded(z.parts)) for zid, z in view.zones.items()]
    added = 0
    for zone, value, colour, parts in rows:
        if zone in have:
            continue
        session.add(SafetyIndexPoint(ts=ts, zone=zone, value=value, colour=colour, parts=parts))
        added += 1
    session.flush()
    return added


def series(session: Session, zones: Iterable[str], since_ms: int, until_ms: int) -> dict[str, list[Point]]:
    """The stored points of ``zones`` (ids, or PLANT) with ``since_ms <= ts <= until_ms``, oldest first."""
    wanted = list(zones)
    out: dict[str, list[Point]] = {z: [] for z in wanted}
    stmt = (
        select(SafetyIndexPoint)
        .where(SafetyIndexPoint.zone.in_(wanted), SafetyIndexPoint.ts >= since_ms, SafetyIndexPoint.ts <= until_ms)
        .order_by(SafetyIndexPoint.zone, SafetyIndexPoint.ts)
    )
    for r in session.scalars(stmt):
        out[r.zone].append(Point(r.ts, r.zone, r.value, r.colour, dict(r.parts or {})))
    return out


def last_colours(session: Session) -> dict[str, str]:
    """The colour of every series at its newest stored point (zone -> colour, PLANT for the plant's)."""
    newest = (
        select(SafetyIndexPoint.zone, func.max(SafetyIndexPoint.ts).label("ts"))
        .group_by(SafetyIndexPoint.zone)
        .subquery()
    )
    stmt = select(SafetyIndexPoint.zone, SafetyIndexPoint.colour).join(
        newest, (SafetyIndexPoint.zone == newest.c.zone) & (SafetyIndexPoint.ts == newest.c.ts)
    )
    return {zone: colour for zone, colour in session.execute(stmt)}
