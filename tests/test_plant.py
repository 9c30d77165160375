"""The plant model: the demo smelter loads and is complete; broken plant files fail with a clear message."""

from __future__ import annotations

import ast
import copy
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.generate import render
from plant import PlantFileError, load_plant
from plant.loader import DEMO_PLANT
from plant.schema import BadgeKind, IncidentKind, Plant, RiskLevel, TagKind

REQUIRED_AREAS = {
    "raw-materials",
    "smelting",
    "converting",
    "anode-refining",
    "tankhouse",
    "acid-plant",
    "oxygen-plant",
    "slag-treatment",
    "substation",
    "water-treatment",
    "warehouse",
    "hazchem-store",
    "admin",
    "stacks",
}


# ------------------------------------------------------------------------------------------ demo plant


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO_PLANT)


def test_demo_loads() -> None:
    plant = load_plant(DEMO_PLANT)  # how fast it loads is a benchmark's business, not a unit test's
    assert plant.site.name == "Demo Copper Smelter"


def test_demo_file_is_what_the_generator_writes() -> None:
    text, _ = render()
    assert DEMO_PLANT.read_text(encoding="utf-8") == text, "run `python -m demo.generate` and commit the file"
    assert render()[0] == text  # deterministic


def test_nothing_outside_demo_imports_the_generator() -> None:
    """The generator and its tables are a development tool: the runtime (and the benchmarks) never import them."""
    root = DEMO_PLANT.parent.parent
    importers = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] in ("demo", "tests", ".venv", "var"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "demo" or n.startswith("demo.") for n in names):
                importers.append(str(rel))
    assert importers == []


def test_demo_counts(demo: Plant) -> None:
    assert sum(1 for t in demo.tags if t.badge is None) >= 1000
    people = [b for b in demo.badges if b.kind == BadgeKind.PERSON]
    vehicles = [b for b in demo.badges if b.kind == BadgeKind.VEHICLE]
    assert len(people) >= 300
    assert len(vehicles) >= 25
    assert len(demo.equipment) >= 80
    assert len(demo.cameras) >= 40
    assert len(demo.fences) >= 8
    assert len(demo.muster_points) >= 4
    assert len(demo.gates) >= 3
    assert sum(1 for t in demo.tags if t.kind == TagKind.GAS) >= 40


def test_demo_areas_and_risk_levels(demo: Plant) -> None:
    assert not REQUIRED_AREAS - {a.id for a in demo.areas}
    assert {z.area for z in demo.zones} == {a.id for a in demo.areas}, "every area has a zone"
    assert {z.level for z in demo.zones} == set(RiskLevel)
    zones = {z.id: z for z in demo.zones}
    assert zones["acid-tank-farm"].forbidden and zones["hv-switchyard"].forbidden
    assert zones["fsf-hall"].level == RiskLevel.RED
    assert zones["admin-offices"].level == RiskLevel.BLUE
    assert all(set(z.headcount) == {s.id for s in demo.site.shifts} for z in demo.zones)


def test_demo_incidents(demo: Plant) -> None:
    kinds = Counter(i.kind for i in demo.incidents)
    assert kinds == Counter(set(IncidentKind))
    tags = {t.id: t for t in demo.tags}
    zones = {z.id: z for z in demo.zones}
    badges = {b.id: b for b in demo.badges}
    emission_kinds = (IncidentKind.EMISSION_EXCEEDANCE, IncidentKind.ANALYSER_MAINTENANCE)
    for inc in demo.incidents:
        if inc.kind in emission_kinds:  # played on the hour scale of the CEMS rules
            assert tags[inc.tag].kind == TagKind.EMISSION and inc.every_s is not None and inc.every_s >= 86400
            # an exceedance window of 90 min or more holds a clock hour with 45 minutes over the limit
            assert inc.duration_s >= (5400 if inc.kind == IncidentKind.EMISSION_EXCEEDANCE else 900)
            assert inc.first_after_s <= 2 * 3600
            continue
        if inc.kind == IncidentKind.EVACUATION:  # a site-wide evacuation: twice a day, 15 min, proposes a plan
            assert tags[inc.tag].kind == TagKind.GAS and inc.every_s == 43200 and inc.duration_s == 900
            assert inc.first_after_s <= 2 * 3600
            assert any(inc.tag in p.triggers for p in demo.emergency.plans)
            continue
        if inc.kind == IncidentKind.ASSAY_SHIFT:  # lab results come three times a day: a run of a day or more
            assert tags[inc.tag].kind == TagKind.ASSAY and inc.every_s is not None and inc.duration_s >= 86400
            continue
        assert 60 <= inc.first_after_s <= 600
        assert inc.every_s is not None and 1800 <= inc.every_s <= 3600
        assert 60 <= inc.duration_s <= 300
        if inc.kind == IncidentKind.GAS_LEAK:
            assert tags[inc.tag].kind == TagKind.GAS and inc.tag.endswith(".SO2")
            assert zones[tags[inc.tag].zone].area == "acid-plant"
        if inc.kind == IncidentKind.OVER_TEMPERATURE:
            assert tags[inc.tag].limits is not None and tags[inc.tag].limits.hh is not None
        if inc.kind == IncidentKind.FORBIDDEN_ENTRY:
            assert zones[inc.zone].forbidden and badges[inc.badge].role == "employee"
        if inc.kind == IncidentKind.MAN_DOWN:
            assert badges[inc.badge].role == "employee"
            assert any(zones[z].hazard for z in badges[inc.badge].work_zones)


def test_demo_energy_meters(demo: Plant) -> None:
    tags = {t.id: t for t in demo.tags}
    parents = {m.parent for m in demo.meters if m.parent}
    leaves = [m for m in demo.meters if m.id not in parents]
    assert leaves
    for m in leaves:
        assert m.tag is not None, f"meter leaf {m.id} has no tag"
        assert tags[m.tag].kind == TagKind.ENERGY and tags[m.tag].medium == m.medium
    roots = Counter(m.medium for m in demo.meters if m.parent is None)
    assert set(roots.values()) == {1}
    assert set(roots) == {t.medium for t in demo.tags if t.kind == TagKind.ENERGY}


def test_demo_tag_conventions(demo: Plant) -> None:
    endpoints = {e.id: e.url for e in demo.endpoints}
    assert endpoints == {
        "dcs": "opc.tcp://127.0.0.1:4840/smeltwatch/dcs",
        "rtls": "opc.tcp://127.0.0.1:4841/smeltwatch/rtls",
    }
    ids = {t.id for t in demo.tags}
    for t in demo.tags:
        assert t.node_id == f"ns=2;s={t.id}"
        if t.equipment is not None:
            assert t.id.startswith(t.equipment + ".")
        if t.badge is not None:
            assert t.endpoint == "rtls"
        else:
            assert t.endpoint == "dcs"
        if t.limits is not None and t.nominal is not None and t.kind in (TagKind.PROCESS, TagKind.GAS):
            lim = t.limits
            assert (lim.l is None or lim.l < t.nominal) and (lim.h is None or t.nominal < lim.h), t.id
    for b in demo.badges:
        assert {f"RTLS.{b.id}.POS", f"RTLS.{b.id}.SOS"} <= ids
    for e in demo.equipment:
        if e.kind.value == "converter":
            assert {f"{e.id}.PHASE", f"{e.id}.STATE"} <= ids
    assert "FSF1.MATTE_TEMP" in ids


# ----------------------------------------------------------------------------------------- broken files


def small_plant() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "site": {
            "name": "Small plant",
            "timezone": "Asia/Shanghai",
            "width_m": 200,
            "depth_m": 100,
            "shifts": [{"id": "A", "start": "08:00", "hours": 12}, {"id": "B", "start": "20:00", "hours": 12}],
        },
        "endpoints": [{"id": "dcs", "name": "DCS", "url": "opc.tcp://127.0.0.1:4840/x"}],
        "areas": [{"id": "a1", "name": "Area 1"}],
        "zones": [
            {
                "id": "z1",
                "name": "Zone 1",
                "area": "a1",
                "polygon": [[10, 10], [90, 10], [90, 90], [10, 90]],
                "height_m": 10,
                "lec": {"l": 3, "e": 6, "c": 40},
                "headcount": {"A": {"min": 1, "max": 5}},
            },
            {
                "id": "z2",
                "name": "Zone 2",
                "area": "a1",
                "polygon": [[110, 10], [190, 10], [190, 90], [110, 90]],
                "height_m": 6,
                "lec": {"l": 0.5, "e": 6, "c": 3},
            },
        ],
        "equipment": [
            {
                "id": "E1",
                "name": "Pump 1",
                "kind": "pump",
                "zone": "z1",
                "process": "utilities",
                "position": [50, 50, 0],
                "size": [3, 2, 2],
            }
        ],
        "tags": [
            {
                "id": "E1.TEMP",
                "node_id": "ns=2;s=E1.TEMP",
                "endpoint": "dcs",
                "kind": "process",
                "unit": "degC",
                "nominal": 50,
                "range": [0, 120],
                "limits": {"h": 80, "hh": 95},
                "equipment": "E1",
            },
            {
                "id": "E1.EL_KWH",
                "node_id": "ns=2;s=E1.EL_KWH",
                "endpoint": "dcs",
                "kind": "energy",
                "medium": "electricity",
                "unit": "kWh",
                "nominal": 55,
                "equipment": "E1",
            },
        ],
        "meters": [
            {"id": "m-site", "name": "Site", "level": "site", "medium": "electricity"},
            {
                "id": "m-e1",
                "name": "Pump 1",
                "level": "equipment",
                "medium": "electricity",
                "parent": "m-site",
                "tag": "E1.EL_KWH",
            },
        ],
    }


def write(tmp_path: Path, data: Any, name: str = "plant.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(PlantFileError) as info:
        load_plant(path)
    assert info.value.path == path
    message = str(info.value)
    assert str(path) in message, "the message names the file"
    return message


def test_small_plant_is_valid(tmp_path: Path) -> None:
    plant = load_plant(write(tmp_path, small_plant()))
    assert [z.level for z in plant.zones] == [RiskLevel.RED, RiskLevel.BLUE]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting ``value`` at a dotted path (integers index lists)."""

    def apply(d: dict[str, Any]) -> None:
        *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = d
        for key in head:
            node = node[key]
        node[last] = value

    return apply


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(d: dict[str, Any]) -> None:
        *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = d
        for key in head:
            node = node[key]
        del node[last]

    return apply


def _duplicate_zone(d: dict[str, Any]) -> None:
    twin = copy.deepcopy(d["zones"][0])
    twin["polygon"] = [[10, 92], [90, 92], [90, 99], [10, 99]]
    d["zones"].append(twin)


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("unknown key", _set("zones.0.colour", "red"), ["zones[0] (z1).colour", "unknown key 'colour'"]),
    ("misspelt key", _set("zones.0.heigth_m", 5), ["zones[0] (z1).heigth_m", "did you mean 'height_m'"]),
    ("missing field", _delete("zones.0.height_m"), ["zones[0] (z1).height_m", "missing field"]),
    ("wrong type", _set("zones.0.floors", "two"), ["zones[0] (z1).floors", "integer", "'two'"]),
    ("duplicate id", _duplicate_zone, ["zones[2] (z1).id", "duplicate id 'z1'"]),
    ("zone -> area", _set("zones.0.area", "nowhere"), ["zones[0] (z1).area", "unknown area 'nowhere'"]),
    ("tag -> equipment", _set("tags.0.equipment", "E9"), ["tags[0] (E1.TEMP).equipment", "unknown equipment 'E9'"]),
    ("meter parent", _set("meters.1.parent", "m-nope"), ["meters[1] (m-e1).parent", "unknown meter 'm-nope'"]),
    ("LEC off the scale", _set("zones.0.lec.l", 4), ["zones[0] (z1).lec", "l=4", "not on the LEC scale"]),
    ("limits out of order", _set("tags.0.limits", {"h": 95, "hh": 80}), ["tags[0] (E1.TEMP).limits", "out of order"]),
    (
        "polygon outside the site",
        _set("zones.1.polygon", [[110, 10], [250, 10], [250, 90], [110, 90]]),
        ["zones[1] (z2).polygon", "outside the site"],
    ),
    (
        "self-crossing polygon",
        _set("zones.0.polygon", [[10, 10], [90, 80], [90, 10], [30, 90]]),
        ["zones[0] (z1).polygon", "cross"],
    ),
    ("bad time zone", _set("site.timezone", "Mars/Olympus"), ["site.timezone", "unknown time zone 'Mars/Olympus'"]),
    ("energy tag without medium", _delete("tags.1.medium"), ["tags[1] (E1.EL_KWH)", "need a medium"]),
    ("control character", _set("zones.0.name", "Zone\x07 1"), ["zones[0] (z1).name", "control characters"]),
    ("bidi override", _set("areas.0.name", "Area \u202e1"), ["areas[0] (a1).name", "control characters"]),
]


@pytest.mark.parametrize(("what", "mutate", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_plant_is_refused(
    tmp_path: Path, what: str, mutate: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    data = small_plant()
    mutate(data)
    message = problems_of(write(tmp_path, data))
    for part in expected:
        assert part in message, f"{what}: {part!r} not in {message!r}"


def _text_variant(tmp_path: Path, old: str, new: str) -> Path:
    path = write(tmp_path, small_plant())
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    path = _text_variant(tmp_path, "name: Zone 1", "name: [Zone 1")
    message = problems_of(path)
    assert "not valid YAML at line" in message


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = _text_variant(tmp_path, "  name: Zone 1\n", "  name: Zone 1\n  name: Zone one\n")
    message = problems_of(path)
    assert "found the key 'name' twice" in message


def test_unquoted_shift_time(tmp_path: Path) -> None:
    path = _text_variant(tmp_path, "start: '20:00'", "start: 20:00")
    message = problems_of(path)
    assert "site.shifts[1] (B).start" in message
    assert "quoted time" in message and "20:00" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- zones\n- tags\n", encoding="utf-8")
    assert "(top level): must be a mapping" in problems_of(path)


def test_file_not_found(tmp_path: Path) -> None:
    assert "file not found" in problems_of(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "javascript:alert(1)", "<img src=x onerror=alert(1)>"])
def test_hostile_text_is_plain_text(tmp_path: Path, text: str) -> None:
    data = small_plant()
    data["zones"][0]["name"] = text
    data["zones"][0]["name_zh"] = text
    data["tags"][0]["description"] = text
    plant = load_plant(write(tmp_path, data))
    assert plant.zones[0].name == text
    assert plant.zones[0].name_zh == text
    assert plant.tags[0].description == text
