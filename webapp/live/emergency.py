"""The emergency view's data (issue 16, H5) as plain data shared by every screen of one access level
(``web.cached``): whether an emergency runs (every screen polls it), open proposals, the running emergency
with its danger area, counts, every badge on the roll with its class and route (not for counts-only viewers),
the plan's checklist and the timeline; the ended ones with their summaries.

User names (who declared, who ticked an action) and badge-level data follow the viewer's scope
(``auth.policy.viewer_of``): executives get positions and classes with badge ids but no names, on-call users
counts only.
"""

from __future__ import annotations

import logging
from typing import Any

from store import emergency as em
from store.db import session_scope
from store.people import Access, Viewer, access
from webapp import context as web

logger = logging.getLogger(__name__)

STATE_SECONDS = 1  # every screen asks every 2 s: a declaration shows within 3 s
VIEW_SECONDS = 2


def state() -> dict[str, Any]:
    """Whether an emergency runs: ``{"active": id or None, "declared_ms": ..., "proposals": n}``."""
    return web.cached("sw:emergency:state", STATE_SECONDS, _state)


def _state() -> dict[str, Any]:
    with session_scope(web.engine()) as session:
        e = em.active(session)
        n = len(em.proposals(session))
    return {"active": int(e.id) if e else None, "declared_ms": int(e.declared_ms or 0) if e else None, "proposals": n}


def expire() -> None:
    web.cache_delete("sw:emergency:state")
    for level in Access:
        web.cache_delete(f"sw:emergency:view:{level.value}")


def view(viewer: Viewer | None) -> dict[str, Any]:
    level = access(viewer)  # nobody: refused (store.people.NoViewerError)
    return web.cached(f"sw:emergency:view:{level.value}", VIEW_SECONDS, lambda: build(Viewer(access=level)))


def _row(e: Any, named: bool) -> dict[str, Any]:
    return {
        "id": int(e.id),
        "state": e.state,
        "plan": e.plan,
        "kind": e.kind,
        "zone": e.zone,
        "level": int(e.level),
        "radius_m": float(e.radius_m),
        "proposed_ms": e.proposed_ms,
        "alarm": e.alarm,
        "declared_ms": e.declared_ms,
        "declared_by": (e.declared_by or "") if named else "",
        "ended_ms": e.ended_ms,
        "ended_by": (e.ended_by or "") if named else "",
        "note": (e.note or "") if named else "",
        "muster_event": e.muster_event,
    }


def _steps(rows: list[Any], named: bool) -> list[dict[str, Any]]:
    return [
        {"ts": int(s.ts), "kind": s.kind, "action": s.action, "user": s.user if named else "", "data": s.data or {}}
        for s in rows
    ]


def build(viewer: Viewer) -> dict[str, Any]:
    plant = web.plant()
    now = web.now_ms()
    level = access(viewer)
    named = level == Access.FULL
    out: dict[str, Any] = {"now_ms": now, "level": level.value, "active": None, "situation": None}
    with session_scope(web.engine()) as session:
        out["proposals"] = [_row(p, named) for p in em.proposals(session)]
        out["ended"] = [
            {**_row(e, named), "counts": (e.summary or {}).get("counts") or {}} for e in em.ended(session, limit=10)
        ]
        e = em.active(session)
        if e is None:
            return out
        out["active"] = _row(e, named)
        rows = em.steps(session, int(e.id))
        out["steps"] = _steps(rows, named)
        out["checklist"] = {a: [done, who if named else "", ts] for a, (done, who, ts) in em.checklist(rows).items()}
        sit = em.situation(session, plant, now, viewer, e)
    out["resources"] = em.resources_near(plant, e.zone)
    if sit is not None:
        out["situation"] = situation_data(sit)
    return out


def situation_data(sit: em.Situation) -> dict[str, Any]:
    people_rows = []
    for b, c in sorted(sit.classes.items()):
        seen = sit.last_seen.get(b)
        r = sit.routes.get(b)
        people_rows.append(
            {
                "badge": b,
                "class": c,
                "x": seen[1] if seen else None,
                "y": seen[2] if seen else None,
                "ts": seen[0] if seen else None,
                "zone": sit.last_zone.get(b),
                "route": r.status if r else None,
                "point": r.point if r else None,
                "length_m": r.length_m if r else None,
                "path": [[x, y] for x, y in r.path] if r else [],
            }
        )
    return {
        "declared_ms": sit.declared_ms,
        "wind_from": sit.wind_from,
        "danger": [[[x, y] for x, y in poly] for poly in sit.danger],
        "counts": sit.counts,
        "safe_points": sit.safe_points,
        "people": people_rows,
    }


def summary(emergency_id: int, viewer: Viewer | None) -> dict[str, Any] | None:
    """An ended emergency's summary and timeline within the viewer's scope (counts only for counts-only
    viewers; badge ids without names for executives, who see no user names either)."""
    level = access(viewer)
    named = level == Access.FULL
    with session_scope(web.engine()) as session:
        e = em.get(session, int(emergency_id))
        if e is None or e.state != em.ENDED:
            return None
        s = dict(e.summary or {})
        out = {**_row(e, named), "summary": s, "steps": _steps(em.steps(session, int(e.id)), named)}
    if level == Access.COUNTS:
        s["people"] = []
    return out
