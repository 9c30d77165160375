"""Generate the demo copper smelter plant file (``plant/demo_smelter.yaml``) from the tables in ``demo/data/``.

Run ``python -m demo.generate`` (``python -m plant.generate_demo``, named in the file's header, does the same).
The tables are data; the code below only derives: units numbered from a count, measurements from the
measurement sets, tag ids, equipment placed in its zone, cameras on zone corners, badges and their names,
headcount limits, the energy meter tree. The plant is validated with ``Plant.model_validate`` before it is
written, so a generated file always loads.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from plant.loader import DEMO_PLANT as OUT
from plant.schema import COLLECTIONS, Plant

DATA = Path(__file__).with_name("data")
DCS, RTLS = "dcs", "rtls"
LIMITS = ("ll", "l", "h", "hh")

Item = dict[str, Any]
Polygon = list[list[float]]
Rect = tuple[float, float, float, float]


class Quoted(str):
    """A string written in double quotes (shift times: YAML 1.1 reads an unquoted 16:00 as a number)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"'))


def data(name: str) -> Any:
    """A YAML table of ``demo/data``."""
    return yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8"))


def table(name: str) -> list[dict[str, str]]:
    """A CSV table of ``demo/data`` (lines starting with # are comments)."""
    with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def num(text: str) -> float:
    """A number as written: ``18`` stays an int, ``0.5`` is a float."""
    return int(text) if text.lstrip("-").isdigit() else float(text)


def keep(d: Item, *keys: str) -> Item:
    return {k: d[k] for k in keys}


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A counter-clockwise rectangle polygon."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def bbox(poly: Polygon) -> Rect:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def rnd(v: float) -> float:
    """Round to 4 significant digits, as an int-looking float when whole."""
    if v == 0:
        return 0.0
    digits = 3 - math.floor(math.log10(abs(v)))
    return float(round(v, max(0, digits)))


# ---------------------------------------------------------------------------------------------- zones
def make_zones() -> list[Item]:
    out: list[Item] = []
    for z in table("zones"):
        item: Item = {
            "id": z["id"],
            "name": z["name"],
            "name_zh": z["name_zh"],
            "area": z["area"],
            "polygon": rect(*(num(z[k]) for k in ("x0", "y0", "x1", "y1"))),
            "floors": int(z["floors"]),
            "height_m": num(z["height_m"]),
            "lec": {k: num(z[k]) for k in "lec"},
            "headcount": {},
            "roles_allowed": z["roles_allowed"].split(),
        }
        item.update({flag: True for flag in ("forbidden", "hazard", "two_person") if flag in z["flags"].split()})
        out.append(item)
    return out


# ------------------------------------------------------------------------------------------- equipment
EXPR = re.compile(r"([a-z_]+)(?:([*+])(-?[\d.]+))?")


def value(v: Any, params: dict[str, Any]) -> Any:
    """A number of a measurement row: a number, or a parameter, or a parameter times or plus a number."""
    if not isinstance(v, str):
        return v
    match = EXPR.fullmatch(v.replace(" ", ""))
    assert match, f"not a number or an expression: {v!r}"
    name, op, k = match.groups()
    x = params[name]
    return x if op is None else x * num(k) if op == "*" else x + num(k)


def measurement(row: list[Any], params: dict[str, Any]) -> Item:
    meas, unit, nom, lo, hi, limits, en, zh = row
    return {
        "meas": meas.format(**params),
        "unit": unit,
        "nominal": value(nom, params),
        "range": (value(lo, params), value(hi, params)),
        "limits": {k: value(limits[k], params) for k in LIMITS if k in limits},
        "en": en.format(**params),
        "zh": zh.format(**params),
    }


def measurements(items: list[Any], sets: dict[str, list[Any]]) -> list[Item]:
    """Rows, measurement sets ({use: set, parameters..., first: n}) and numbered series ({k: [a, b(, step)], row})."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, list):
            out.append(measurement(item, {}))
        elif "use" in item:
            params = {k: v for k, v in item.items() if k not in ("use", "first")}
            out += [measurement(row, params) for row in sets[item["use"]][: item.get("first")]]
        else:
            a, b, *step = item["k"]
            out += [measurement(item["row"], {"k": k}) for k in range(a, b + 1, *step)]
    return out


def numbered(entry: Item, **names: Any) -> Item:
    """An entry with {i} (or another name) filled in its id, names and zone, moved by ``step`` per unit."""
    out = {k: v.format(**names) if k in ("id", "name", "name_zh", "zone") else v for k, v in entry.items()}
    if "step" in entry:
        out["at"] = [a + s * (names["i"] - 1) for a, s in zip(entry["at"], entry["step"], strict=True)]
    return out


def units(zones: dict[str, Item]) -> Iterator[Item]:
    """equipment.yaml's entries, one per unit: counts numbered, groups unit by unit, cell banks across zones."""
    for entry in data("equipment"):
        if "cells" in entry:  # cell banks side by side across each zone, sized and placed from the zone
            for zone, banks in entry["cells"].items():
                x0, y0, x1, y1 = bbox(zones[zone]["polygon"])
                w = (y1 - y0 - 20) / len(banks)
                for k, bank in enumerate(banks):
                    at = [x0 + (x1 - x0) / 2 + 20, y0 + 10 + w * (k + 0.5)]
                    yield {**numbered(entry, bank=bank), "zone": zone, "size": [x1 - x0 - 60, w * 0.7, 2.5], "at": at}
        elif "count" in entry:
            for i in range(1, entry["count"] + 1):
                yield from (numbered(unit, i=i) for unit in entry.get("group", [entry]))
        else:
            yield entry


def make_equipment(zones: dict[str, Item]) -> list[Item]:
    """Equipment with its measurements; ``at: west`` is 15 m in from the zone's west side, halfway along it,
    and equipment without ``at`` is placed on a grid in its zone, in the order listed."""
    sets = data("measurements")
    equipment = [{**e, "meas": measurements(e.get("meas", []), sets)} for e in units(zones)]
    by_zone: dict[str, list[Item]] = {}
    for e in equipment:
        x0, y0, x1, y1 = bbox(zones[e["zone"]]["polygon"])
        if e.get("at") == "west":
            e["at"] = [x0 + 15, (y0 + y1) / 2]
        elif e.get("at") is None:
            by_zone.setdefault(e["zone"], []).append(e)
    for zid, items in by_zone.items():
        x0, y0, x1, y1 = bbox(zones[zid]["polygon"])
        cols = math.ceil(math.sqrt(len(items) * (x1 - x0) / (y1 - y0)))
        rows = math.ceil(len(items) / cols)
        for k, e in enumerate(items):
            c, r = k % cols, k // cols
            e["at"] = [round(x0 + (x1 - x0) * (c + 0.5) / cols, 1), round(y0 + (y1 - y0) * (r + 0.5) / rows, 1)]
    for e in equipment:
        x0, y0, x1, y1 = bbox(zones[e["zone"]]["polygon"])
        assert x0 < e["at"][0] < x1 and y0 < e["at"][1] < y1, f"{e['id']} is outside its zone {e['zone']}"
    return equipment


def equipment_item(e: Item) -> Item:
    item = keep(e, "id", "name", "name_zh", "kind", "zone", "process")
    item.update(position=[float(e["at"][0]), float(e["at"][1]), 0.0], size=[float(v) for v in e["size"]])
    if e.get("yaw_deg"):
        item["yaw_deg"] = e["yaw_deg"]
    return item


# ------------------------------------------------------------------------------------------------ tags
def tag(tid: str, kind: str, en: str, zh: str, endpoint: str = DCS, **fields: Any) -> Item:
    item: Item = {"id": tid, "node_id": f"ns=2;s={tid}", "endpoint": endpoint, "kind": kind}
    item.update(description=en, description_zh=zh, **{k: v for k, v in fields.items() if v is not None})
    return item


def equipment_tag(e: Item, meas: str, kind: str, en: str, zh: str, alarm: Item | None = None, **fields: Any) -> Item:
    desc = f"{e['name']} {en}".strip(), f"{e['name_zh']}{zh}"
    return tag(f"{e['id']}.{meas}", kind, *desc, **fields, equipment=e["id"], zone=e["zone"], alarm=alarm)


def make_tags(equipment: list[Item], zones: dict[str, Item], badges: list[Item]) -> list[Item]:
    """Per equipment its state, phase, process and energy tags; production counters; the stacks' CEMS; the gas
    detectors; each badge's position and SOS button."""
    t = data("tags")
    out: list[Item] = []
    for e in equipment:
        if e.get("state", True) and e["kind"] not in t["no_state"]:
            out.append(equipment_tag(e, "STATE", "state", "running state", "运行状态", nominal=1))
        if e["kind"] == "converter":
            phase = "phase (0 idle, 1 charge, 2 blow, 3 skim)", "作业阶段（0待机 1加料 2吹炼 3排渣）"
            out.append(equipment_tag(e, "PHASE", "process", *phase, unit="", nominal=0, range=[0, 3]))
        for m in e["meas"]:
            limits = {k: rnd(v) for k, v in m["limits"].items()}
            fields = {"unit": m["unit"], "nominal": rnd(m["nominal"]), "range": [rnd(v) for v in m["range"]]}
            alarm = alarm_settings(e, m, limits, t["alarms"])
            out.append(equipment_tag(e, m["meas"], "process", m["en"], m["zh"], alarm, **fields, limits=limits or None))
        for medium, per_h in e.get("energy", {}).items():
            meas, unit, en, zh, _ = t["energy"][medium]
            out.append(equipment_tag(e, meas, "energy", en, zh, unit=unit, medium=medium, nominal=rnd(per_h)))
    by_id = {e["id"]: e for e in equipment}
    banks = [[e["id"], *t["cell_banks"]] for e in equipment if e["kind"] == "electrolytic_cells"]
    for eid, meas, tph, en, zh in t["counters"] + banks:
        out.append(equipment_tag(by_id[eid], meas, "counter", en, zh, unit="t", nominal=tph))
    cems = t["alarms"]["cems"]
    for sid, rows in t["cems"].items():
        for meas, nom, lo, hi, h, hh in rows:
            en, zh = t["pollutants"][meas]
            alarm = {**cems, "deadband": rnd(cems["deadband"] * (hi - lo))}
            fields = {"unit": "mg/m3", "nominal": nom, "range": [lo, hi], "limits": {"h": h, "hh": hh}, "alarm": alarm}
            out.append(equipment_tag(by_id[sid], meas, "emission", f"{en} (CEMS)", f"{zh}（在线监测）", **fields))
    for oid, rows in t["wastewater"].items():  # outfall analysers: the same rules, in mg/L
        for meas, nom, lo, hi, h, hh in rows:
            en, zh = t["pollutants"][meas]
            alarm = {**cems, "deadband": rnd(cems["deadband"] * (hi - lo))}
            fields = {"unit": "mg/L", "nominal": nom, "range": [lo, hi], "limits": {"h": h, "hh": hh}, "alarm": alarm}
            out.append(
                equipment_tag(by_id[oid], meas, "emission", f"{en} (outfall)", f"{zh}（排口在线监测）", **fields)
            )
    for eid, meas, unit, nominal, low, high, en, zh in t["assays"]:
        spec = [low, high]
        out.append(equipment_tag(by_id[eid], meas, "assay", en, zh, unit=unit, nominal=nominal, spec=spec))
    for zid, counts in t["detectors"].items():
        z = zones[zid]
        for n, gas in enumerate((gas for gas, count in counts.items() for _ in range(count)), start=1):
            nom, h, hh, roc, en, zh = t["gases"][gas]
            desc = f"{z['name']} gas detector {n:02d}: {en}", f"{z['name_zh']}{n:02d}号气体探测器：{zh}"
            fields = {"unit": "ppm", "nominal": nom, "range": [0, 100], "limits": {"h": h, "hh": hh}, "zone": zid}
            out.append(tag(f"{zid}.GD{n:02d}.{gas}", "gas", *desc, **fields, alarm={"roc_per_min": roc}))
    for b in badges:
        bid, name, zh = b["id"], b["name"], b["name_zh"]
        out.append(tag(f"RTLS.{bid}.POS", "position", f"{name} position", f"{zh}位置", RTLS, unit="m", badge=bid))
        out.append(tag(f"RTLS.{bid}.SOS", "sos", f"{name} SOS button", f"{zh}SOS求救按钮", RTLS, badge=bid))
    return out


def alarm_settings(e: Item, m: Item, limits: dict[str, float], rules: Item) -> Item | None:
    """A process tag's rationalised ``alarm:`` block (tags.yaml, alarms), its rate-of-change alarm included."""
    meas, unit, nom = m["meas"], m["unit"], m["nominal"]
    roc = rules["roc_per_min"].get(f"{e['id']}.{meas}")
    out: Item = {"roc_per_min": roc} if roc is not None else {}
    if not limits:
        return out or None
    matches = (
        c
        for c in rules["classes"][:-1]
        if unit in c.get("units", [])
        or unit.endswith(tuple(c.get("unit_ends", [])))
        or meas.endswith(tuple(c.get("name_ends", [])))
    )
    cls = next(matches, rules["classes"][-1])
    deadband = cls["deadband"] * (m["range"][1] - m["range"][0])
    gaps = [abs(v - nom) for v in limits.values() if v != nom]
    if gaps:
        deadband = min(deadband, min(gaps) / 2)
    out.update(deadband=rnd(deadband), on_delay_s=cls["on_delay_s"], off_delay_s=rules["off_delay_s"])
    if e["kind"] in rules["safety_kinds"]:
        out["priority"] = {c: ("high" if c in ("hh", "ll") else "medium") for c in limits}
    elif e["kind"] == "tank" and "LEVEL" in meas and "hh" in limits:
        out["priority"] = {"hh": "high"}
    return out


def make_meters(tags: list[Item], equipment: list[Item], zones: dict[str, Item]) -> list[Item]:
    """Per energy medium: site > area > process > equipment; only branches that have leaves. The site's and
    every area's incomer read a meter of their own (tags ``EM.<area>.<measurement>``, added to ``tags``), so
    that each can be reconciled against its children; process nodes are the sums of their equipment."""
    t = data("tags")
    areas = {a["id"]: (a["name"], a["name_zh"]) for a in table("areas")}
    by_id = {e["id"]: e for e in equipment}
    out: list[Item] = []
    incomers: list[Item] = []
    for medium, (meas, unit, en, zh, mz) in t["energy"].items():
        leaves = [x for x in tags if x["kind"] == "energy" and x["medium"] == medium]
        label, root = medium.replace("_", " "), f"M-{medium}"
        if leaves:
            site_tag = tag(f"EM.SITE.{meas}", "energy", f"Site incomer {en}", f"全厂总表{zh}", unit=unit, medium=medium)
            incomers.append(site_tag)
            out.append(meter(root, f"Site {label}", f"全厂{mz}", "site", medium, tag=site_tag["id"]))
        made: set[str] = set()
        for leaf in leaves:
            e = by_id[leaf["equipment"]]
            area, process = zones[e["zone"]]["area"], e["process"]
            (an, azh), a_id, p_id = areas[area], f"{root}.{area}", f"{root}.{area}.{process}"
            if a_id not in made:
                made.add(a_id)
                desc = f"{an} incomer {en}", f"{azh}总表{zh}"
                a_tag = tag(f"EM.{area}.{meas}", "energy", *desc, unit=unit, medium=medium)
                incomers.append(a_tag)
                out.append(meter(a_id, f"{an} {label}", f"{azh}{mz}", "area", medium, root, tag=a_tag["id"]))
            if p_id not in made:
                made.add(p_id)
                name = f"{an} / {process.replace('_', ' ')} {label}"
                out.append(meter(p_id, name, f"{azh}/{t['processes'][process]}{mz}", "process", medium, a_id))
            name, name_zh = f"{e['name']} {label}", f"{e['name_zh']}{mz}"
            out.append(meter(f"{root}.{e['id']}", name, name_zh, "equipment", medium, p_id, tag=leaf["id"]))
    tags.extend(incomers)
    return out


def meter(mid: str, name: str, name_zh: str, level: str, medium: str, parent: str | None = None, **leaf: str) -> Item:
    item = {"id": mid, "name": name, "name_zh": name_zh, "level": level, "medium": medium, "parent": parent, **leaf}
    return {k: v for k, v in item.items() if v is not None}


# ---------------------------------------------------------------------------------------------- cameras
def make_cameras(zones: list[Item]) -> list[Item]:
    """Cameras on zone corners (inset 1 m), looking at the zone centre, more in large or hazardous zones; then
    the perimeter cameras; video analytics as cameras.yaml says."""
    out: list[Item] = []
    for z in zones:
        x0, y0, x1, y1 = bbox(z["polygon"])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        big = (x1 - x0) * (y1 - y0) > 30000
        count = 3 if (z.get("hazard") and big) else 2 if (z.get("hazard") or big) else 1
        corners = [(x0 + 1, y0 + 1), (x1 - 1, y1 - 1), (x1 - 1, y0 + 1), (x0 + 1, y1 - 1)]
        for k, (px, py) in enumerate(corners[:count]):
            out.append(
                {
                    "id": f"CAM{len(out) + 1:02d}",
                    "name": f"{z['name']} camera {k + 1}",
                    "name_zh": f"{z['name_zh']}{k + 1}号摄像机",
                    "zone": z["id"],
                    "position": [float(px), float(py), float(min(15.0, 6.0 + 3 * k + (3 if big else 0)))],
                    "yaw_deg": round(math.degrees(math.atan2(cy - py, cx - px)), 1),
                    "pitch_deg": -25.0,
                    "fov_deg": 90.0 if k == 0 else 70.0 if k == 1 else 60.0,
                    "range_m": float(max(40.0, min(250.0, round(math.dist((px, py), (cx, cy)) * 1.4, 0)))),
                }
            )
    cameras = data("cameras")
    for cam in out:
        if cam["id"] in cameras["analytics"]:
            cam["analytics"] = {"detect": cameras["analytics"][cam["id"]]}
    perimeter, by_id = cameras["perimeter"], {z["id"]: z for z in zones}
    for p in perimeter["cameras"]:
        cam = {"id": f"CAM{len(out) + 1:02d}", **keep(p, "name", "name_zh", "zone", "position", "yaw_deg")}
        cam.update(perimeter["view"])
        polygon = image_polygon(cam, by_id[p["zone"]]["polygon"], tuple(cameras["analytics_size"]))
        cam["analytics"] = {"detect": list(perimeter["detect"]), "restricted": [polygon]}
        out.append(cam)
    return out


def image_polygon(cam: Item, polygon: Polygon, size: tuple[int, ...]) -> Polygon:
    """A floor polygon as a camera sees it, clipped to the picture, in fractions of width and height (the
    pinhole of simulator.cameras.View; points behind the lens clipped first)."""
    w, h = size
    yaw, pitch = math.radians(cam["yaw_deg"]), math.radians(cam["pitch_deg"])
    fwd = (math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch))
    right = (math.sin(yaw), -math.cos(yaw), 0.0)
    up = (
        right[1] * fwd[2] - right[2] * fwd[1],
        right[2] * fwd[0] - right[0] * fwd[2],
        right[0] * fwd[1] - right[1] * fwd[0],
    )
    focal = (w / 2) / math.tan(math.radians(cam["fov_deg"]) / 2)
    ox, oy, oz = cam["position"]

    def coords(p: tuple[float, float]) -> tuple[float, float, float]:
        d = (p[0] - ox, p[1] - oy, -oz)
        return tuple(sum(a * b for a, b in zip(d, axis, strict=True)) for axis in (right, up, fwd))  # type: ignore[return-value]

    def clip(pts: list[tuple[float, ...]], inside: Any, cut: Any) -> list[tuple[float, ...]]:
        out: list[tuple[float, ...]] = []
        for i, cur in enumerate(pts):
            prev = pts[i - 1]
            if inside(cur) != inside(prev):
                out.append(cut(prev, cur))
            if inside(cur):
                out.append(cur)
        return out

    def lerp(a: tuple[float, ...], b: tuple[float, ...], s: float) -> tuple[float, ...]:
        return tuple(x + s * (y - x) for x, y in zip(a, b, strict=True))

    near = 0.5
    pts: list[tuple[float, ...]] = [coords((x, y)) for x, y in polygon]
    pts = clip(pts, lambda c: c[2] >= near, lambda a, b: lerp(a, b, (near - a[2]) / (b[2] - a[2])))
    pix: list[tuple[float, ...]] = [(w / 2 + focal * c[0] / c[2], h / 2 - focal * c[1] / c[2]) for c in pts]
    for axis, lo, hi in ((0, 0.0, float(w)), (1, 0.0, float(h))):
        for bound, keep in ((lo, lambda p, a=axis, b=lo: p[a] >= b), (hi, lambda p, a=axis, b=hi: p[a] <= b)):
            pix = clip(pix, keep, lambda p, q, a=axis, b=bound: lerp(p, q, (b - p[a]) / (q[a] - p[a])))
    return [[round(x / w, 4), round(y / h, 4)] for x, y in pix]


# ----------------------------------------------------------------------------------------------- badges
def make_badges(shifts: list[str]) -> list[Item]:
    """People P0001, ... (crews per shift, day staff, contractors, visitors, drivers), then vehicles V001, ..."""
    people = data("people")
    surnames, given = list(people["surnames"].items()), list(people["given"].items())
    out: list[Item] = []

    def person(role: str, team: str, zones: list[str], shift: str | None, speed: float) -> Item:
        n = len(out) + 1
        s_en, s_zh = surnames[(n * 7) % len(surnames)]
        g_en, g_zh = given[(n * 11 + n // len(surnames)) % len(given)]
        b: Item = {"id": f"P{n:04d}", "name": f"{s_en} {g_en}", "name_zh": f"{s_zh}{g_zh}", "kind": "person"}
        b.update(role=role, team=team, **({"shift": shift} if shift else {}), work_zones=zones, max_speed_mps=speed)
        out.append(b)
        return b

    def speed(group: Item, k: int) -> float:
        return round(group["speed_mps"] + 0.1 * (k % group["speed_steps"]), 1)

    crews = people["crews"]
    for s in shifts:
        for team, _zh, zones, size in crews["teams"]:
            for k in range(size):
                own = [zones[(k + j) % len(zones)] for j in range(min(len(zones), 1 + k % 3))]
                person("employee", f"{team} crew {s}", own, s, speed(crews, k))
    escorts: list[str] = []
    for role, group in (("employee", people["day_staff"]), ("contractor", people["contractors"])):
        for team, _zh, zones, size in group["teams"]:
            for k in range(size):
                b = person(role, team, zones[: 1 + k % len(zones)], None, speed(group, k))
                if team == group.get("escorts"):
                    escorts.append(b["id"])
    visitors, drivers = people["visitors"], people["drivers"]
    for k in range(visitors["count"]):
        zones = visitors["zones"][k % len(visitors["zones"])]
        b = person("visitor", visitors["team"], list(zones), None, visitors["speed_mps"])
        b["escort"] = escorts[k % len(escorts)]
        host = next(p for p in out if p["id"] == b["escort"])
        host["work_zones"] = list(dict.fromkeys(host["work_zones"] + zones))[:3]
    for k in range(drivers["count"]):
        person("driver", drivers["team"], list(drivers["zones"][k % len(drivers["zones"])]), None, drivers["speed_mps"])
    first = len(out)
    for name, zh, team, zones, top_speed, count in people["vehicles"]:
        vehicle = {"kind": "vehicle", "role": "driver", "team": team, "work_zones": zones, "max_speed_mps": top_speed}
        for k in range(1, count + 1):
            out.append(
                {"id": f"V{len(out) - first + 1:03d}", "name": f"{name} {k:02d}", "name_zh": f"{zh}{k:02d}", **vehicle}
            )
    return out


def set_headcounts(zones: list[Item], badges: list[Item], shifts: list[str], day_shift: str) -> None:
    """Per shift: min for manned process zones, max with headroom above the people expected there."""
    for z in zones:
        expected = dict.fromkeys(shifts, 0)
        day = 0
        for b in badges:
            if z["id"] in b["work_zones"]:
                if b.get("shift") in expected:
                    expected[b["shift"]] += 1
                else:
                    day += 1
        for s in shifts:
            crew = expected[s]
            max_ = crew + (day if s == day_shift else day // 3) + 4
            if z.get("forbidden"):
                z["headcount"][s] = {"min": 0, "max": 2}
            else:
                min_ = 2 if z.get("two_person") and crew >= 2 else (1 if crew else 0)
                z["headcount"][s] = {"min": min_, "max": int(math.ceil(max_ * 1.25 / 5) * 5)}


# ------------------------------------------------------------------------------ roads, fences, incidents
def make_roads(site: Item) -> list[Item]:
    """The road grid, then each gate's access road."""
    east_west, north_south = site["roads"]["east_west"], site["roads"]["north_south"]
    out: list[Item] = []
    for r in east_west + north_south:
        if "y" in r:
            line = [[north_south[0]["x"], r["y"]], [north_south[-1]["x"], r["y"]]]
        else:
            line = [[r["x"], east_west[0]["y"]], [r["x"], east_west[-1]["y"]]]
        out.append({**keep(r, "id", "name", "name_zh"), "polyline": line, **keep(r, "width_m", "speed_limit_kmh")})
    for g in site["gates"]:
        names = {"name": f"{g['name']} access", "name_zh": f"{g['name_zh']}通道"}
        line = [list(g["position"]), list(g["joins"])]
        out.append({"id": f"road-{g['id']}", **names, "polyline": line, **site["gate_roads"]})
    return out


def make_fences(zones: dict[str, Item]) -> list[Item]:
    """fences.yaml with each polygon made: a zone's own polygon, a zone's moved inwards, or a rectangle."""
    out: list[Item] = []
    for f in data("fences"):
        p = f["polygon"]
        if isinstance(p, list):
            polygon = rect(*p)
        elif "inset" in p:
            x0, y0, x1, y1 = bbox(zones[p["zone"]]["polygon"])
            polygon = rect(x0 + p["inset"], y0 + p["inset"], x1 - p["inset"], y1 - p["inset"])
        else:
            polygon = zones[p["zone"]]["polygon"]
        out.append({**f, "polygon": polygon})
    return out


def make_incidents(badges: list[Item]) -> list[Item]:
    """incidents.yaml with each badge picked: the first with the role, the work zone and the shift asked for."""

    def pick(want: Item) -> str:
        return next(
            b["id"]
            for b in badges
            if b["role"] == want["role"]
            and ("zone" not in want or want["zone"] in b["work_zones"])
            and b.get("shift") == want["shift"]
        )

    return [{**inc, "badge": pick(inc["badge"])} if "badge" in inc else inc for inc in data("incidents")]


def make_hazards(badges: list[Item]) -> Item:
    """hazards.yaml with each lead's badge picked: the first day-staff badge (no shift) of the team named (a lead
    given as a user stays one), and the badges allowed inside each fence: those who work in its zone."""
    hz = data("hazards")

    def pick(team: str) -> str:
        return next(b["id"] for b in badges if b.get("team") == team and "shift" not in b)

    for src in hz["sources"]:
        src["responsible"] = [
            {"role": r["role"], "user": r["user"]} if "user" in r else {"role": r["role"], "badge": pick(r["team"])}
            for r in src["responsible"]
        ]
        leads = {r["badge"] for r in src["responsible"] if "badge" in r}
        # allowed inside the fence: the people who work in the source's zone (its operators), leads aside
        src["authorized"] = [
            b["id"]
            for b in badges
            if b["kind"] == "person" and src["zone"] in b.get("work_zones", []) and b["id"] not in leads
        ]
    return hz


# -------------------------------------------------------------------------------------------------- plant
def build() -> Item:
    site = data("site")
    shifts = [s["id"] for s in site["site"]["shifts"]]
    for s in site["site"]["shifts"]:
        s["start"] = Quoted(s["start"])
    zones = make_zones()
    zone_index = {z["id"]: z for z in zones}
    equipment = make_equipment(zone_index)
    badges = make_badges(shifts)
    set_headcounts(zones, badges, shifts, site["day_shift"])
    tags = make_tags(equipment, zone_index, badges)
    meters = make_meters(tags, equipment, zone_index)  # adds the incomers' tags
    return {
        "schema_version": 1,
        "site": site["site"],
        "endpoints": site["endpoints"],
        "areas": table("areas"),
        "zones": zones,
        "roads": make_roads(site),
        "gates": [keep(g, "id", "name", "name_zh", "position") for g in site["gates"]],
        "equipment": [equipment_item(e) for e in equipment],
        "tags": tags,
        "cameras": make_cameras(zones),
        "badges": badges,
        "fences": make_fences(zone_index),
        "muster_points": site["muster_points"],
        "meters": meters,
        "meter_events": data("meter_events"),
        "energy": data("energy"),
        "incidents": make_incidents(badges),
        "production": data("production"),
        "emissions": data("emissions"),
        "hazards": make_hazards(badges),
        "emergency": data("emergency"),
        # the meters keep the readings around each minute boundary once settled: consumption over whole minutes is exact
        "storage": {"counters": "minute"},
    }


def summary(plant: Plant) -> str:
    lines = [f"{plant.site.name}: {plant.site.width_m:.0f} m x {plant.site.depth_m:.0f} m"]
    for coll in COLLECTIONS:
        lines.append(f"  {coll:14s} {len(getattr(plant, coll)):5d}")
    kinds = Counter(t.kind.value for t in plant.tags)
    lines.append("  tags per kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    lines.append(f"  non-badge tags: {sum(1 for t in plant.tags if t.badge is None)}")
    levels = Counter(z.level.value for z in plant.zones)
    lines.append(
        "  zones per risk level: " + ", ".join(f"{k} {levels.get(k, 0)}" for k in ("red", "orange", "yellow", "blue"))
    )
    people = sum(1 for b in plant.badges if b.kind.value == "person")
    lines.append(f"  badges: {people} people, {len(plant.badges) - people} vehicles")
    return "\n".join(lines)


HEADER = (
    "# Demo copper smelter: the plant model for SmeltWatch (schema in plant/schema.py).\n"
    "# Generated by `python -m plant.generate_demo`; edit the generator, not this file.\n"
)


def render() -> tuple[str, Plant]:
    """The plant file's text and the validated plant; fails before anything is written if the data is wrong."""
    tree = build()
    plant = Plant.model_validate(tree)
    text = yaml.dump(tree, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    return HEADER + text, plant


def main() -> None:
    text, plant = render()
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.name} ({len(text.encode()) // 1024} KiB)")
    print(summary(plant))


if __name__ == "__main__":
    main()
