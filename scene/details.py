"""What the side panel shows about a clicked zone, equipment, badge or camera, as plain data.

The page translates and renders it; sparklines are added there from the store. Values come from the live
snapshot (``latest``, ``equipment_state``, ``badges``, ``headcount``, ``risk``), read defensively: a key the
snapshot does not have yet reads as empty.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

from engine.shifts import current_shift
from plant import Plant
from plant.schema import Tag, TagKind
from scene.layers import ALARM_RANK, ANNUNCIATED, dynamic_levels, limit_state, nearest_camera, polygon_centroid

logger = logging.getLogger(__name__)

MAX_TAGS = 12
MAX_PEOPLE = 30
_VALUE_KINDS = {TagKind.PROCESS, TagKind.GAS, TagKind.EMISSION}


def _limits(tag: Tag) -> dict[str, float]:
    if tag.limits is None:
        return {}
    return {
        k: v
        for k, v in (("ll", tag.limits.ll), ("l", tag.limits.l), ("h", tag.limits.h), ("hh", tag.limits.hh))
        if v is not None
    }


def tag_rows(tags: list[Tag], latest: dict[str, Any], limit: int | None = MAX_TAGS) -> list[dict[str, Any]]:
    """Tags with their live value, most alarming first (then in plant order), at most ``limit``."""
    rows: list[dict[str, Any]] = []
    for order, tag in enumerate(tags):
        row = latest.get(tag.id)
        value = None
        ts = None
        if row:
            ts = row[0]
            try:
                value = None if row[1] is None else float(row[1])
            except (TypeError, ValueError):
                value = None
            if value is not None and not math.isfinite(value):
                value = None
        state = limit_state(value, tag.limits)
        rows.append(
            {
                "id": tag.id,
                "description": tag.description,
                "description_zh": tag.description_zh,
                "unit": tag.unit,
                "value": value,
                "ts": ts,
                "limits": _limits(tag),
                "state": state,
                "_order": order,
            }
        )
    rows.sort(key=lambda r: (-r["state"], r["_order"]))
    for r in rows:
        del r["_order"]
    return rows if limit is None else rows[:limit]


def _camera(plant: Plant, x: float, y: float) -> dict[str, Any] | None:
    found = nearest_camera(plant, x, y)
    if found is None:
        return None
    cam, dist = found
    return {"id": cam.id, "name": cam.name, "name_zh": cam.name_zh, "distance_m": round(dist, 1)}


def _badge_row(plant: Plant, b: dict[str, Any]) -> dict[str, Any] | None:
    badge = {x.id: x for x in plant.badges}.get(b.get("id", ""))
    if badge is None:
        return None
    return {
        "id": badge.id,
        "name": badge.name,
        "name_zh": badge.name_zh,
        "role": badge.role.value,
        "kind": badge.kind.value,
        "team": badge.team,
        "sos": bool(b.get("sos")),
    }


def zone_details(plant: Plant, snap: dict[str, Any], zone_id: str) -> dict[str, Any] | None:
    zone = {z.id: z for z in plant.zones}.get(zone_id)
    if zone is None:
        return None
    risk = (snap.get("risk") or {}).get(zone_id) or {}
    reasons = [r for r in risk.get("reasons") or [] if isinstance(r, dict) and r.get("code")]
    shift_id = snap.get("shift")
    if shift_id is None:
        found = current_shift(plant, int(snap.get("now_ms") or 0))
        shift_id = found[0].id if found else None
    limits = zone.headcount.get(shift_id) if shift_id else None
    people = []
    for b in snap.get("badges") or []:
        if b.get("zone") == zone_id:
            row = _badge_row(plant, b)
            if row:
                people.append(row)
    people.sort(key=lambda r: (not r["sos"], r["name"]))
    count = (snap.get("headcount") or {}).get(zone_id)
    # the zone's own detectors first, then equipment values in this zone that are beyond a limit
    latest = snap.get("latest") or {}
    zone_tags = [tg for tg in plant.tags if tg.zone == zone_id and tg.kind in _VALUE_KINDS and tg.limits is not None]
    own = tag_rows([tg for tg in zone_tags if tg.equipment is None], latest, None)
    alarms = [r for r in tag_rows([tg for tg in zone_tags if tg.equipment is not None], latest, None) if r["state"] > 0]
    cx, cy = polygon_centroid(zone.polygon)
    return {
        "type": "zone",
        "id": zone.id,
        "name": zone.name,
        "name_zh": zone.name_zh,
        "level": dynamic_levels(plant, snap)[zone.id],
        "static_level": zone.level.value,
        "lec": {"l": zone.lec.l, "e": zone.lec.e, "c": zone.lec.c, "score": zone.lec.score, "level": zone.level.value},
        "reasons": reasons,
        "headcount": len(people) if count is None else int(count),
        "headcount_max": limits.max if limits else None,
        "people": people[:MAX_PEOPLE],
        "people_more": max(0, len(people) - MAX_PEOPLE),
        "tags": (own + alarms)[:MAX_TAGS],
        "camera": _camera(plant, cx, cy),
    }


def equipment_details(plant: Plant, snap: dict[str, Any], equipment_id: str) -> dict[str, Any] | None:
    eq = {e.id: e for e in plant.equipment}.get(equipment_id)
    if eq is None:
        return None
    tags = [tg for tg in plant.tags if tg.equipment == eq.id and tg.kind in _VALUE_KINDS]
    return {
        "type": "equipment",
        "id": eq.id,
        "name": eq.name,
        "name_zh": eq.name_zh,
        "kind": eq.kind.value,
        "zone": eq.zone,
        "state": (snap.get("equipment_state") or {}).get(eq.id),
        "tags": tag_rows(tags, snap.get("latest") or {}),
        "camera": _camera(plant, eq.position[0], eq.position[1]),
    }


def badge_details(plant: Plant, snap: dict[str, Any], badge_id: str) -> dict[str, Any] | None:
    badge = {b.id: b for b in plant.badges}.get(badge_id)
    if badge is None:
        return None
    live = next((b for b in snap.get("badges") or [] if b.get("id") == badge_id), None)
    out: dict[str, Any] = {
        "type": "badge",
        "id": badge.id,
        "name": badge.name,
        "name_zh": badge.name_zh,
        "role": badge.role.value,
        "kind": badge.kind.value,
        "team": badge.team,
        "on_site": live is not None,
        "zone": None,
        "floor": None,
        "sos": False,
        "age_s": None,
        "camera": None,
    }
    if live is not None:
        out["zone"] = live.get("zone")
        out["floor"] = live.get("floor")
        out["sos"] = bool(live.get("sos"))
        if live.get("ts") and snap.get("now_ms"):
            out["age_s"] = max(0.0, (snap["now_ms"] - live["ts"]) / 1000)
        out["camera"] = _camera(plant, float(live["x"]), float(live["y"]))
    return out


def camera_alarms(camera_id: str, alarms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The camera's annunciated video alarms (rows of the alarm snapshot), most urgent then newest first."""
    rank = ALARM_RANK
    rows: list[dict[str, Any]] = [
        {
            "id": str(a.get("id")),
            "class": str(a.get("condition") or ""),
            "priority": str(a.get("priority")) if a.get("priority") in rank else "low",
            "state": str(a.get("state")),
            "since": a.get("activated_at") or a.get("updated_at"),
        }
        for a in alarms
        if a.get("source_type") == "video"
        and a.get("state") in ANNUNCIATED
        and (a.get("camera") or a.get("source")) == camera_id
    ]
    rows.sort(key=lambda r: (rank[r["priority"]], -(r["since"] or 0), r["id"]))
    return rows


def camera_details(plant: Plant, camera_id: str, alarms: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """A camera and, with ``alarms`` (the alarm snapshot's rows), its annunciated video alarms."""
    cam = {c.id: c for c in plant.cameras}.get(camera_id)
    if cam is None:
        return None
    return {
        "type": "camera",
        "id": cam.id,
        "name": cam.name,
        "name_zh": cam.name_zh,
        "zone": cam.zone,
        "yaw_deg": cam.yaw_deg,
        "fov_deg": cam.fov_deg,
        "range_m": cam.range_m,
        "alarms": camera_alarms(cam.id, alarms or []),
    }


def details(
    plant: Plant, snap: dict[str, Any], kind: str, item_id: str, *, alarms: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The panel data of one clicked thing, or None when it is unknown (``alarms``: for a camera's alarms)."""
    if kind == "zone":
        return zone_details(plant, snap, item_id)
    if kind == "equipment":
        return equipment_details(plant, snap, item_id)
    if kind == "badge":
        return badge_details(plant, snap, item_id)
    if kind == "camera":
        return camera_details(plant, item_id, alarms)
    return None


def trend_window(now_ms: int, minutes: int = 60) -> tuple[int, int]:
    """The sparkline window: the last ``minutes`` up to now."""
    return now_ms - int(timedelta(minutes=minutes).total_seconds() * 1000), now_ms
