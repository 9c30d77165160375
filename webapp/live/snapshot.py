"""The live snapshot: one set of queries per refresh period, shared by every open screen.

``snapshot()`` is cached for ``webapp.context.SNAPSHOT_SECONDS`` in flask-caching (in-process, or Redis for several
workers), so twenty wall screens refreshing every two seconds cost one set of queries, not twenty.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from engine.geometry import locate
from engine.limits import limit_violations
from engine.risk import zone_risks
from engine.shifts import current_shift
from engine.types import PositionIn, is_good
from i18n import t
from plant.schema import EquipmentState, Plant, TagKind
from store.db import session_scope
from store.health import read_health
from store.hidden_dangers import open_major_zones
from store.positions import current_positions
from store.samples import latest_values
from store.tags import tag_ids
from webapp import context as web

logger = logging.getLogger(__name__)

_LIVE_KINDS = {
    TagKind.PROCESS,
    TagKind.GAS,
    TagKind.EMISSION,
    TagKind.STATE,
    TagKind.COUNTER,
    TagKind.ENERGY,
    TagKind.SOS,
}
_STATES = list(EquipmentState)
POSITION_MAX_AGE_MS = 5 * 60_000  # a badge not heard of for this long is not drawn as present


def format_age(seconds: float | None, lang: str) -> str:
    """How old data is, in the user's language ("12 s", "3 分钟")."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return t("personnel.age.s", lang, n=f"{seconds:.0f}")
    if seconds < 3600:
        return t("personnel.age.min", lang, n=f"{seconds / 60:.0f}")
    return t("personnel.age.h", lang, n=f"{seconds / 3600:.1f}")


@web.shared(web.SNAPSHOT_SECONDS)
def snapshot() -> dict[str, Any]:
    """Everything the shell and the overview need this refresh period, as plain JSON-able data."""
    plant = web.plant()
    now = web.now_ms()
    names = {e.id: (e.name, e.name_zh) for e in plant.endpoints}
    with session_scope(web.engine()) as session:
        health = read_health(session)
        ids = tag_ids(session)
        wanted = {t.id: ids[t.id] for t in plant.tags if t.kind in _LIVE_KINDS and t.id in ids}
        latest_by_id = latest_values(session, list(wanted.values()))
        positions = current_positions(session, since=now - POSITION_MAX_AGE_MS)
        majors = open_major_zones(session)
    by_id = {v: k for k, v in wanted.items()}
    latest = {by_id[i]: (s.ts, s.value, s.quality) for i, s in latest_by_id.items() if i in by_id}
    violations = limit_violations(plant.tags, latest)
    states = equipment_states(plant, latest)
    badges = badge_rows(plant, positions, latest)
    headcount: dict[str, int] = {}
    for b in badges:
        if b["zone"] is not None and b["kind"] == "person":
            headcount[b["zone"]] = headcount.get(b["zone"], 0) + 1
    found = current_shift(plant, now)
    risks = zone_risks(plant, latest, states, headcount, found[0].id if found else None, majors)
    return {
        "now_ms": now,
        "health": [
            {
                "endpoint": h.endpoint,
                "name": names.get(h.endpoint, (h.endpoint, None))[0],
                "name_zh": names.get(h.endpoint, (h.endpoint, None))[1],
                "connected": bool(h.connected) and now - h.updated_at < 15_000,
                # the collector was refused for a security reason (certificate, user, policy): a person must act
                "refused": not h.connected and (h.last_error or "").startswith("refused:"),
                "updated_age_s": (now - h.updated_at) / 1000,
                "data_age_s": None if h.last_data_at is None else max(0.0, (now - h.last_data_at) / 1000),
                "written": h.written,
                "spooled": h.spooled,
                "rejected": h.rejected,
                "lag_ms_p50": h.lag_ms_p50,
            }
            for h in health
        ],
        "latest": latest,
        "shift": found[0].id if found else None,
        "equipment_state": states,
        "badges": badges,
        "headcount": headcount,
        "risk": {zone: r.as_dict() for zone, r in risks.items()},
        "violations": [
            {"tag": v.tag, "value": v.value, "limit": v.limit, "threshold": v.threshold, "ts": v.ts} for v in violations
        ],
    }


_STATE_TAGS: dict[int, tuple[Plant, list[Any]]] = {}


def _state_tags(plant: Plant) -> list[Any]:
    """The plant's STATE tags of equipment, found once per plant object."""
    found = _STATE_TAGS.get(id(plant))
    if found is not None and found[0] is plant:
        return found[1]
    tags = [tg for tg in plant.tags if tg.kind == TagKind.STATE and tg.equipment is not None]
    if len(_STATE_TAGS) > 8:
        _STATE_TAGS.clear()
    _STATE_TAGS[id(plant)] = (plant, tags)
    return tags


def equipment_states(plant: Plant, latest: dict[str, tuple[int, float | None, int]]) -> dict[str, str]:
    """Equipment id -> state name from the good-quality STATE tags."""
    out: dict[str, str] = {}
    for tag in _state_tags(plant):
        current = latest.get(tag.id)
        if current is None or current[1] is None or not is_good(current[2]):
            continue
        code = int(current[1])
        if 0 <= code < len(_STATES):
            out[tag.equipment] = _STATES[code].value
    return out


def badge_rows(
    plant: Plant, positions: list[PositionIn], latest: dict[str, tuple[int, float | None, int]]
) -> list[dict[str, Any]]:
    """Badges on site now (good-quality recent positions), with their zone and SOS state."""
    meta = {b.id: b for b in plant.badges}
    sos_tag = {t.badge: t.id for t in plant.tags if t.kind == TagKind.SOS}
    good = [p for p in positions if is_good(p.quality) and p.badge in meta]
    zones = locate(
        np.array([p.x for p in good], dtype=float),
        np.array([p.y for p in good], dtype=float),
        [(z.id, z.polygon) for z in plant.zones],
    )
    rows = []
    for p, zone in zip(good, zones, strict=True):
        b = meta[p.badge]
        sos = latest.get(sos_tag.get(p.badge, ""))
        rows.append(
            {
                "id": p.badge,
                "x": round(p.x, 2),
                "y": round(p.y, 2),
                "floor": p.floor,
                "ts": p.ts,
                "kind": b.kind.value,
                "role": b.role.value,
                "zone": zone,
                "sos": bool(sos is not None and sos[1] and is_good(sos[2])),
            }
        )
    return rows
