"""Layer data of the 3D scene as plain JSON: the static part once per page, the live part every refresh.

:func:`static_scene` holds what does not change while the page is open (geometry, names, the mesh
manifest, the translated words the browser needs for tooltips and legends). :func:`live_scene` holds only
live fields, aligned by index with the static lists so that a refresh with the demo plant's 363 badges
stays far below 50 KB:

* ``eq``: one character per equipment, its state (``r`` run, ``i`` idle, ``f`` fault, ``m`` maintenance,
  ``s`` stopped, ``-`` unknown);
* ``zl``: one character per zone, its dynamic level (``r``/``o``/``y``/``b``); ``hc`` people per zone;
* ``b``: ``[badge index, x, y, z, sos]`` per badge on site (x/y to 0.1 m, z from floor and zone);
* ``hz``/``hs``: value and limit state (``0`` ok, ``1`` H/L, ``2`` HH/LL, ``-`` no value) per hazard source;
* ``al``: alarm markers, ``[x, y, z, priority rank, count, unacked, kind, index]`` per place with annunciated
  alarms (:func:`alarm_markers`; kind ``0`` equipment, ``1`` zone, index into the static list), added by the
  web tier from the shared alarm snapshot;
* ``vc``/``vz``: only while a video alarm is annunciated (:func:`video_markers`): ``[camera index, priority
  rank, unacked, [classes]]`` per camera with video alarms, and the indices of their zones.

Plant strings travel as data; the browser shows them with ``textContent`` only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from engine.hazards import assess
from i18n import label, t
from plant import Plant
from plant.schema import Camera, EquipmentKind, Limits, MeterLevel, Point, ResourceKind, TagKind, VideoClass, Zone
from scene import colors
from scene.bundle import MeshBundle

logger = logging.getLogger(__name__)

LAYER_KEYS: tuple[str, ...] = (
    "alarms",
    "zones",
    "equipment",
    "hazards",
    "people",
    "vehicles",
    "fences",
    "cameras",
    "muster",
    "roads",
    "emissions",
    "resources",
    "emergency",
    "energy",
)
DEFAULT_LAYERS: list[str] = [k for k in LAYER_KEYS if k not in ("cameras", "energy")]
ENERGY_SHARES = (2.0, 5.0, 15.0)  # % of the site's metered energy: the limits of the share classes s0..s3
ENERGY_NEAR = 0.9  # an intensity at 90 % of its limit or more is "near"
STATE_CODE = {"run": "r", "idle": "i", "fault": "f", "maintenance": "m", "stopped": "s"}
LEVEL_CODE = {"red": "r", "orange": "o", "yellow": "y", "blue": "b"}
LEVEL_RANK = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
# Equipment whose key process value is shown as a hazard source next to the gas detectors and stacks.
KEY_TAG_KINDS = {
    EquipmentKind.FLASH_FURNACE,
    EquipmentKind.CONVERTER,
    EquipmentKind.ANODE_FURNACE,
    EquipmentKind.SLAG_FURNACE,
    EquipmentKind.BOILER,
}
VEHICLE_Z = 0.0


def _r(v: float, nd: int = 1) -> float:
    return round(float(v), nd)


def polygon_centroid(points: list[Point]) -> tuple[float, float]:
    """Area centroid of a simple polygon (the vertex mean when the area is degenerate)."""
    a = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        c = x1 * y2 - x2 * y1
        a += c
        cx += (x1 + x2) * c
        cy += (y1 + y2) * c
    if abs(a) < 1e-9:
        return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    return (cx / (3 * a), cy / (3 * a))


def point_in_polygon(x: float, y: float, points: list[Point]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def camera_cone(cam: Camera, steps: int = 10, z: float = 0.4) -> list[list[float]]:
    """The ground footprint of a camera's view: a triangle fan from its position over its field of view."""
    x, y, _ = cam.position
    half = cam.fov_deg / 2
    ring = [[_r(x), _r(y), z]]
    for i in range(steps + 1):
        a = math.radians(cam.yaw_deg - half + cam.fov_deg * i / steps)
        ring.append([_r(x + cam.range_m * math.cos(a)), _r(y + cam.range_m * math.sin(a)), z])
    return ring


def nearest_camera(plant: Plant, x: float, y: float) -> tuple[Camera, float] | None:
    """The camera nearest to ``(x, y)`` on the ground, with its distance in metres."""
    best: tuple[float, Camera] | None = None
    for cam in plant.cameras:
        d = math.hypot(cam.position[0] - x, cam.position[1] - y)
        if best is None or d < best[0]:
            best = (d, cam)
    return None if best is None else (best[1], best[0])


@dataclass(frozen=True)
class Hazard:
    """A live value shown on the map: a gas detector, a stack emission or a key process value."""

    tag: str
    x: float
    y: float
    z: float
    label: str
    label_zh: str | None
    unit: str
    limits: Limits | None
    equipment: str | None
    zone: str | None


def _short(tag_id: str) -> str:
    return tag_id.rsplit(".", 2)[-2] + "." + tag_id.rsplit(".", 1)[-1] if tag_id.count(".") >= 2 else tag_id


def hazard_sources(plant: Plant) -> list[Hazard]:
    """Gas detectors spread on a ring inside their zone, stack emissions above the stack, one key value per
    furnace/converter/boiler above it."""
    zones = {z.id: z for z in plant.zones}
    equipment = {e.id: e for e in plant.equipment}
    out: list[Hazard] = []
    gas_by_zone: dict[str, list[Any]] = {}
    for tag in plant.tags:
        if tag.kind == TagKind.GAS and tag.zone in zones and tag.equipment is None:
            gas_by_zone.setdefault(tag.zone, []).append(tag)
    for zid, tags in gas_by_zone.items():
        zone = zones[zid]
        cx, cy = polygon_centroid(zone.polygon)
        xs = [p[0] for p in zone.polygon]
        ys = [p[1] for p in zone.polygon]
        rx, ry = (max(xs) - min(xs)) * 0.32, (max(ys) - min(ys)) * 0.32
        for i, tag in enumerate(tags):
            a = 2 * math.pi * i / len(tags) + 0.4
            x, y = cx + rx * math.cos(a), cy + ry * math.sin(a)
            if not point_in_polygon(x, y, zone.polygon):
                x, y = cx, cy
            out.append(Hazard(tag.id, x, y, 2.0, _short(tag.id), None, tag.unit, tag.limits, None, zid))
    emission_count: dict[str, int] = {}
    key_done: set[str] = set()
    for tag in plant.tags:
        eq = equipment.get(tag.equipment or "")
        if eq is None:
            continue
        if tag.kind == TagKind.EMISSION:
            i = emission_count.get(eq.id, 0)
            emission_count[eq.id] = i + 1
            z = eq.size[2] + 4 + 7 * i
        elif (
            eq.kind in KEY_TAG_KINDS
            and eq.id not in key_done
            and tag.kind == TagKind.PROCESS
            and tag.limits is not None
            and tag.limits.hh is not None
        ):
            key_done.add(eq.id)
            z = eq.size[2] + 4
        else:
            continue
        out.append(
            Hazard(
                tag.id, eq.position[0], eq.position[1], z, _short(tag.id), None, tag.unit, tag.limits, eq.id, eq.zone
            )
        )
    return out


def hazard_fences(plant: Plant, lang: str) -> list[dict[str, Any]]:
    """The major hazard sources' fences as fences of kind ``hazard``, named with their grade (GB 18218-2018)."""
    out = []
    for hs in plant.hazards.sources:
        a = assess(hs)
        grade = t(f"safety.grade.{a.grade}", lang) if a.grade is not None else t("safety.not_major", lang)
        out.append(
            {
                "id": hs.id,
                "n": f"{label(hs.name, hs.name_zh, lang)} · {grade} · R {a.r:.3g}",
                "k": "hazard",
                "path": [[_r(x), _r(y), 1.2] for x, y in [*hs.fence, hs.fence[0]]],
            }
        )
    return out


def limit_state(value: float | None, limits: Limits | None) -> int:
    """0 inside limits, 1 beyond H or L, 2 beyond HH or LL, -1 no value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return -1
    if limits is None:
        return 0
    if (limits.hh is not None and value >= limits.hh) or (limits.ll is not None and value <= limits.ll):
        return 2
    if (limits.h is not None and value >= limits.h) or (limits.l is not None and value <= limits.l):
        return 1
    return 0


def text_table(lang: str) -> dict[str, str]:
    """The translated words the browser needs (tooltips, legend)."""
    keys = [f"scene.level.{lv}" for lv in LEVEL_CODE]
    keys += [f"scene.state.{s}" for s in (*STATE_CODE, "unknown")]
    keys += [f"scene.role.{r}" for r in colors.ROLE]
    keys += [f"scene.fence.{k}" for k in colors.FENCE]
    keys += [
        "scene.tip.zone",
        "scene.tip.people",
        "scene.tip.state",
        "scene.tip.value",
        "scene.tip.camera",
        "scene.tip.muster",
        "scene.tip.sos",
        "scene.tip.vehicle",
        "scene.tip.fence",
        "scene.tip.road",
        "scene.tip.no_value",
        "scene.tip.alarms",
        "scene.tip.unacked",
        "scene.tip.video_alarm",
        "scene.tip.emission",
        "scene.tip.next_inspection",
        "scene.tip.danger",
        "scene.tip.route",
        "scene.tip.energy",
        "scene.tip.energy_share",
        "scene.tip.intensity",
        "scene.tip.limit",
    ]
    keys += [f"scene.energy.{k}" for k in colors.ENERGY]
    keys += [f"em.resource.{k.value}" for k in ResourceKind]
    keys += [f"alarm.cond.{c.value}" for c in VideoClass]  # video alarm classes, as the alarm list names them
    keys += [f"alarm.priority.{p}" for p in colors.ALARM]
    return {k.removeprefix("scene."): t(k, lang) for k in keys}


def _zone_floor_height(zone: Zone) -> float:
    return zone.height_m / max(1, zone.floors)


def static_scene(
    plant: Plant,
    bundle: MeshBundle,
    lang: str,
    *,
    mesh_url: str,
    deck_url: str,
    ids: dict[str, str],
    names: bool = True,
) -> dict[str, Any]:
    """Everything the browser draws that does not change while the page is open.

    ``names``: whether the viewer may see who a badge is (``auth.policy.viewer_of`` decides); without it
    each badge keeps its id, role and kind, its name is blank and tooltips show only the role or "vehicle".
    """
    zones = []
    for z in plant.zones:
        cx, cy = polygon_centroid(z.polygon)
        zones.append(
            {
                "id": z.id,
                "n": label(z.name, z.name_zh, lang),
                "poly": [[_r(x), _r(y)] for x, y in z.polygon],
                "h": z.height_m,
                "f": z.floors,  # buildings show a slab outline at each upper floor
                "c": [_r(cx), _r(cy)],
                "s": LEVEL_CODE[z.level.value],
            }
        )
    kinds = sorted({e.kind.value for e in plant.equipment})
    kind_names = {k: t(f"scene.kind.{k}", lang) for k in kinds}
    equipment = [
        {
            "id": e.id,
            "n": label(e.name, e.name_zh, lang),
            "k": kind_names[e.kind.value],
            "p": [_r(e.position[0], 2), _r(e.position[1], 2), _r(e.position[2], 2)],
            "g": bundle.members[i],
        }
        for i, e in enumerate(plant.equipment)
    ]
    hazards = [
        {
            "tag": h.tag,
            "n": label(h.label, h.label_zh, lang),
            "u": h.unit,
            "p": [_r(h.x), _r(h.y), _r(h.z)],
            "eq": h.equipment,
            "z": h.zone,
        }
        for h in hazard_sources(plant)
    ]
    return {
        "ids": ids,
        "lang": lang,
        "deck_url": deck_url,
        "mesh_url": mesh_url,
        "site": [plant.site.width_m, plant.site.depth_m],
        "groups": bundle.groups,
        "equipment": equipment,
        "zones": zones,
        "roads": [
            {"n": label(r.name, r.name_zh, lang), "path": [[_r(x), _r(y), 0.05] for x, y in r.polyline], "w": r.width_m}
            for r in plant.roads
        ],
        "fences": [
            {
                "id": f.id,
                "n": label(f.name, f.name_zh, lang),
                "k": f.kind.value,
                "path": [[_r(x), _r(y), 1.2] for x, y in [*f.polygon, f.polygon[0]]],
            }
            for f in plant.fences
        ]
        + hazard_fences(plant, lang),
        "cameras": [
            {
                "id": c.id,
                "n": label(c.name, c.name_zh, lang),
                "p": [_r(c.position[0]), _r(c.position[1]), _r(c.position[2])],
                "cone": camera_cone(c),
            }
            for c in plant.cameras
        ],
        "muster": [
            {
                "id": m.id,
                "n": label(m.name, m.name_zh, lang),
                "p": [_r(m.position[0]), _r(m.position[1])],
                "r": m.radius_m,
                "cap": m.capacity,
            }
            for m in plant.muster_points
        ],
        "badges": [
            {
                "id": b.id,
                "n": label(b.name, b.name_zh, lang) if names else "",
                "r": b.role.value,
                "v": int(b.kind.value == "vehicle"),
            }
            for b in plant.badges
        ],
        "hazards": hazards,
        "intensities": [label(ki.name, ki.name_zh, lang) for ki in plant.energy.intensities],
        "stacks": [
            {
                "id": st.equipment,
                "n": label(eq.name, eq.name_zh, lang),
                "p": [_r(eq.position[0]), _r(eq.position[1]), _r(eq.position[2] + eq.size[2])],
                "tags": [pl.tag for pl in st.pollutants],
                "lim": [pl.limit for pl in st.pollutants],
            }
            for st in plant.emissions.stacks
            for eq in plant.equipment
            if eq.id == st.equipment
        ],
        "resources": [
            {
                "id": r.id,
                "n": label(r.name, r.name_zh, lang),
                "k": r.kind.value,
                "p": [_r(r.position[0]), _r(r.position[1])],
                "c": r.count,
                "due": r.next_inspection.isoformat() if r.next_inspection else "",
            }
            for r in plant.emergency.resources
        ],
        "colors": {
            "risk": colors.RISK,
            "state": colors.STATE,
            "role": colors.ROLE,
            "severity": {str(k): v for k, v in colors.SEVERITY.items()},
            "fence": colors.FENCE,
            "ground": colors.GROUND,
            "road": colors.ROAD,
            "camera": colors.CAMERA,
            "muster": colors.MUSTER,
            "sos": colors.SOS,
            "alarm": colors.ALARM,
            "video": colors.VIDEO_ALARM,
            "danger": colors.DANGER,
            "route": colors.ROUTE,
            "route_out": colors.ROUTE_OUT,
            "emission": colors.EMISSION,
            "energy": colors.ENERGY,
            "resource": colors.RESOURCE,
            "permit": colors.PERMIT,
            "permit_suspended": colors.PERMIT_SUSPENDED,
        },
        "text": text_table(lang),
    }


def meter_zones(plant: Plant) -> dict[str, str]:
    """Meter id -> zone of the meters that stand in one: a meter with a tag of a zone, or of equipment in one
    (the equipment meters; feeders of areas and the site stand in none)."""
    tags = {tg.id: tg for tg in plant.tags}
    eq_zone = {e.id: e.zone for e in plant.equipment}
    out: dict[str, str] = {}
    for m in plant.meters:
        tag = tags.get(m.tag) if m.tag else None
        if tag is None:
            continue
        zone = tag.zone or (eq_zone.get(tag.equipment) if tag.equipment else None)
        if zone:
            out[m.id] = zone
    return out


def located_under(plant: Plant, root: str, located: dict[str, str] | None = None) -> list[str]:
    """The meters at or under meter ``root`` that stand in a zone (:func:`meter_zones`, or ``located``)."""
    where = meter_zones(plant) if located is None else located
    children: dict[str, list[str]] = {}
    for m in plant.meters:
        if m.parent:
            children.setdefault(m.parent, []).append(m.id)
    out, todo = [], [root]
    while todo:
        cur = todo.pop()
        if cur in where:
            out.append(cur)
        todo.extend(children.get(cur, []))
    return out


def energy_zones(plant: Plant, readings: dict[str, float | None], intensities: list[dict[str, Any]]) -> list[list[Any]]:
    """The optional energy layer's live part, a row per zone of the plant file: ``[class, kgce, share %,
    intensity index, value, limit, unit]``.

    ``readings``: energy of each meter over the window (meter id -> its unit; None unknown), ``intensities``:
    the plant file's intensities over the same window (``store.figures.energy_intensity``). A zone's energy is
    the sum of the meters standing in it, in kgce by the plant file's factors (media without a factor are left
    out). A zone where an intensity's meters stand is coloured by that intensity against its limit (``within``,
    ``near`` at 90 %, ``over``): the tankhouse's halls all by the tankhouse's kWh per tonne; an intensity of the
    whole site colours none. Any other zone with energy by its share of the site's located energy (``s0``..``s3``
    at 2, 5 and 15 %); ``none`` without a reading."""
    factor = {m.value: f for m, f in plant.energy.kgce.items()}
    medium = {m.id: m.medium.value for m in plant.meters}
    located = meter_zones(plant)
    kgce: dict[str, float] = {}
    known: set[str] = set()
    for mid, zone in located.items():
        v = readings.get(mid)
        f = factor.get(medium[mid])
        if v is None or f is None or not math.isfinite(v):
            continue
        kgce[zone] = kgce.get(zone, 0.0) + v * f
        known.add(zone)
    total = sum(kgce.values())

    # zone -> index of the intensity it carries: of the intensities whose meters stand in the zone, the one
    # that spans the fewest zones (the first in the plant file on a tie); the site's own, whose meters include
    # the site meter, belong to no zone
    level = {m.id: m.level for m in plant.meters}
    owner: dict[str, int] = {}
    scope: dict[str, int] = {}
    by_id = {ki.id: i for i, ki in enumerate(plant.energy.intensities)}
    for iv in intensities:
        i = by_id.get(str(iv.get("id")))
        if i is None or iv.get("value") is None or not iv.get("limit"):
            continue
        ki = plant.energy.intensities[i]
        if any(level.get(mid) == MeterLevel.SITE for mid in ki.meters):
            continue
        zones = {located[leaf] for mid in ki.meters for leaf in located_under(plant, mid, located)}
        for zone in zones:
            if zone not in owner or len(zones) < scope[zone] or (len(zones) == scope[zone] and i < owner[zone]):
                owner[zone], scope[zone] = i, len(zones)
    values = {str(iv.get("id")): iv for iv in intensities}
    rows: list[list[Any]] = []
    for z in plant.zones:
        if z.id in owner:
            i = owner[z.id]
            iv = values[plant.energy.intensities[i].id]
            value, limit = float(iv["value"]), float(iv["limit"])
            ratio = value / limit
            cls = "over" if ratio > 1 else "near" if ratio >= ENERGY_NEAR else "within"
            intensity: list[Any] = [i, _r(value, 1), _r(limit, 1), str(iv.get("unit") or "")]
        elif z.id in known:
            share = 100 * kgce[z.id] / total if total > 0 else 0.0
            cls = f"s{sum(share >= lim for lim in ENERGY_SHARES)}"
            intensity = [-1, None, None, ""]
        else:
            rows.append(["none", None, None, -1, None, None, ""])
            continue
        share_pct = _r(100 * kgce.get(z.id, 0.0) / total, 1) if total > 0 else None
        rows.append([cls, _r(kgce.get(z.id, 0.0), 0), share_pct, *intensity])
    return rows


def dynamic_levels(plant: Plant, snap: dict[str, Any]) -> dict[str, str]:
    """Each zone's level now: the live risk level when the snapshot has one, else the static LEC level."""
    risk = snap.get("risk") or {}
    out: dict[str, str] = {}
    for z in plant.zones:
        live = (risk.get(z.id) or {}).get("level")
        out[z.id] = live if live in LEVEL_RANK else z.level.value
    return out


def _value(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f):
        return None
    return float(f"{f:.4g}")


def live_scene(plant: Plant, snap: dict[str, Any], hazards: list[Hazard] | None = None) -> dict[str, Any]:
    """The live fields of one refresh, aligned with :func:`static_scene`'s lists."""
    states = snap.get("equipment_state") or {}
    eq = "".join(STATE_CODE.get(states.get(e.id, ""), "-") for e in plant.equipment)
    levels = dynamic_levels(plant, snap)
    zl = "".join(LEVEL_CODE[levels[z.id]] for z in plant.zones)
    headcount = snap.get("headcount") or {}
    hc = [int(headcount.get(z.id, 0) or 0) for z in plant.zones]
    index = {b.id: i for i, b in enumerate(plant.badges)}
    zones = {z.id: z for z in plant.zones}
    badges = []
    for b in snap.get("badges") or []:
        i = index.get(b.get("id"))
        if i is None or b.get("x") is None or b.get("y") is None:
            continue
        zone = zones.get(b.get("zone") or "")
        floor = int(b.get("floor") or 0)
        z = 0.0 if b.get("kind") == "vehicle" or zone is None else floor * _zone_floor_height(zone)
        badges.append([i, _r(b["x"]), _r(b["y"]), _r(z), 1 if b.get("sos") else 0])
    latest = snap.get("latest") or {}
    hz: list[float | None] = []
    hs = []
    for h in hazards if hazards is not None else hazard_sources(plant):
        row = latest.get(h.tag)
        v = _value(row[1]) if row else None
        hz.append(v)
        s = limit_state(v, h.limits)
        hs.append("-" if s < 0 else str(s))
    return {
        "t": snap.get("now_ms"),
        "eq": eq,
        "zl": zl,
        "hc": hc,
        "b": badges,
        "hz": hz,
        "hs": "".join(hs),
        "ec": emission_columns(plant, latest),
    }


def emission_columns(plant: Plant, latest: dict[str, Any]) -> list[float | None]:
    """Per stack (the plant file's order) its highest pollutant concentration now as a share of that pollutant's
    hourly limit (1.0: at the limit); None without a value. The scene draws a column of that height and colour
    over the stack."""
    out: list[float | None] = []
    for st in plant.emissions.stacks:
        shares = []
        for pl in st.pollutants:
            row = latest.get(pl.tag)
            v = _value(row[1]) if row else None
            if v is not None:
                shares.append(v / pl.limit)
        out.append(round(max(shares), 3) if shares else None)
    return out


ALARM_RANK = {p: i for i, p in enumerate(colors.ALARM)}  # urgent 0 ... low 3
ANNUNCIATED = ("active_unacked", "active_acked", "returned_unacked")


def alarm_markers(plant: Plant, alarms: list[dict[str, Any]]) -> list[list[float | int]]:
    """One marker per equipment or zone with annunciated alarms, for the live payload's ``al``.

    An alarm is placed at its equipment (above the top of it), else at its zone (above it, between its middle
    and its back-left corner), else at
    the equipment or zone of its tag; alarms with no place are left out. Each marker is
    ``[x, y, z, priority rank of the most urgent alarm, count, 1 if any is unacknowledged, kind, index]``,
    kind ``0`` for equipment and ``1`` for zones, index into the plant's (and the static scene's) list.
    """
    eq_index = {e.id: i for i, e in enumerate(plant.equipment)}
    zone_index = {z.id: i for i, z in enumerate(plant.zones)}
    tags = {t.id: t for t in plant.tags}
    places: dict[tuple[int, int], list[int]] = {}  # (kind, index) -> [rank, count, unacked]
    for a in alarms:
        if a.get("state") not in ANNUNCIATED:
            continue
        tag = tags.get(str(a.get("source")))
        equipment = a.get("equipment") or (tag.equipment if tag is not None else None)
        zone = a.get("zone") or (tag.zone if tag is not None else None)
        if equipment in eq_index:
            key = (0, eq_index[equipment])
        elif zone in zone_index:
            key = (1, zone_index[zone])
        else:
            continue
        rank = ALARM_RANK.get(str(a.get("priority")), len(ALARM_RANK) - 1)
        unacked = 0 if a.get("acked") else 1
        got = places.get(key)
        if got is None:
            places[key] = [rank, 1, unacked]
        else:
            got[0] = min(got[0], rank)
            got[1] += 1
            got[2] = max(got[2], unacked)
    out: list[list[float | int]] = []
    for (kind, index), (rank, count, unacked) in sorted(places.items(), key=lambda kv: (kv[1][0], kv[0])):
        if kind == 0:
            e = plant.equipment[index]
            x, y, z = e.position[0], e.position[1], e.position[2] + e.size[2] + 3
        else:  # towards the zone's back-left corner, clear of its name label and the equipment in its middle
            zone_ = plant.zones[index]
            cx, cy = polygon_centroid(zone_.polygon)
            corner = (min(p[0] for p in zone_.polygon), max(p[1] for p in zone_.polygon))
            x, y, z = cx + 0.55 * (corner[0] - cx), cy + 0.55 * (corner[1] - cy), zone_.height_m + 4
            if not point_in_polygon(x, y, zone_.polygon):
                x, y = cx, cy
        out.append([_r(x), _r(y), _r(z), rank, count, unacked, kind, index])
    return out


def video_markers(plant: Plant, alarms: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The cameras and zones of annunciated video alarms, for the live payload's ``vc`` and ``vz``.

    ``vc``: ``[camera index, priority rank of the most urgent alarm, 1 if any is unacknowledged, classes]``
    per camera of the plant with video alarms (classes sorted, each once); ``vz``: the plant indices of the
    zones of those alarms (the alarm's zone, else its camera's). Both empty when there is no video alarm, and
    the web tier then leaves them out of the payload.
    """
    cam_index = {c.id: i for i, c in enumerate(plant.cameras)}
    zone_index = {z.id: i for i, z in enumerate(plant.zones)}
    cams: dict[int, list[Any]] = {}  # camera index -> [rank, unacked, classes]
    zones: set[int] = set()
    for a in alarms:
        if a.get("source_type") != "video" or a.get("state") not in ANNUNCIATED:
            continue
        ci = cam_index.get(str(a.get("camera") or a.get("source")))
        zone = a.get("zone") or (plant.cameras[ci].zone if ci is not None else None)
        if zone in zone_index:
            zones.add(zone_index[zone])
        if ci is None:
            continue
        rank = ALARM_RANK.get(str(a.get("priority")), len(ALARM_RANK) - 1)
        unacked = 0 if a.get("acked") else 1
        cls = str(a.get("condition") or "")[:32]
        got = cams.get(ci)
        if got is None:
            cams[ci] = [rank, unacked, {cls} if cls else set()]
        else:
            got[0] = min(got[0], rank)
            got[1] = max(got[1], unacked)
            if cls:
                got[2].add(cls)
    return {
        "vc": [[ci, rank, unacked, sorted(classes)] for ci, (rank, unacked, classes) in sorted(cams.items())],
        "vz": sorted(zones),
    }
