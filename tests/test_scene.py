"""The 3D scene without a browser: mesh builders, the mesh bundle, static and live layer data, the panel,
the routes that serve deck.gl and the meshes."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import Equipment, EquipmentKind, Plant
from scene import colors
from scene.bundle import build_bundle, unpack
from scene.details import badge_details, equipment_details, zone_details
from scene.layers import (
    LAYER_KEYS,
    camera_cone,
    dynamic_levels,
    hazard_sources,
    limit_state,
    live_scene,
    nearest_camera,
    point_in_polygon,
    static_scene,
)
from scene.meshes import equipment_mesh, equipment_parts, local_parts, merge, render_mesh
from tests.webutil import MINI_PLANT, logged_in_client, seed_store

HOSTILE = '<img src=x onerror="window.__pwned=1">'

SIZES: dict[EquipmentKind, tuple[float, float, float]] = {
    EquipmentKind.FLASH_FURNACE: (60, 18, 30),
    EquipmentKind.CONVERTER: (14, 5, 6),
    EquipmentKind.ELECTROLYTIC_CELLS: (60, 20, 2.5),
    EquipmentKind.PIPE_RACK: (120, 4, 8),
    EquipmentKind.CONVEYOR: (45, 3, 12),
    EquipmentKind.STACK: (10, 10, 150),
    EquipmentKind.BUILDING: (40, 20, 12),
}


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO_PLANT)


@pytest.fixture(scope="module")
def mini() -> Plant:
    return load_plant(MINI_PLANT)


def _eq(kind: EquipmentKind, size: tuple[float, float, float], yaw: float = 0.0, pos=(100.0, 50.0, 0.0)) -> Equipment:
    return Equipment(id="E1", name="e", kind=kind, zone="z", process="p", position=pos, size=size, yaw_deg=yaw)


# --- meshes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(EquipmentKind))
def test_every_kind_is_closed_and_fills_its_box(kind: EquipmentKind) -> None:
    size = SIZES.get(kind, (12.0, 8.0, 10.0))
    eq = _eq(kind, size)
    parts = equipment_parts(eq)
    assert parts
    for p in parts:
        assert p.mesh.is_watertight, f"{kind}: a part is open"
        assert p.mesh.volume > 0, f"{kind}: a part is inside out"
        assert 0 < p.shade <= 1
    lo, hi = merge(parts).bounds
    x, y, _ = eq.position
    length, width, height = size
    tol = 0.02 * max(size) + 0.01
    assert np.allclose(lo, [x - length / 2, y - width / 2, 0], atol=tol), (kind, lo)
    assert np.allclose(hi, [x + length / 2, y + width / 2, height], atol=tol), (kind, hi)


def test_builders_are_more_than_boxes() -> None:
    """Round and composite equipment is not drawn as its bounding box."""
    for kind in (EquipmentKind.FLASH_FURNACE, EquipmentKind.CONVERTER, EquipmentKind.TANK, EquipmentKind.STACK):
        size = SIZES.get(kind, (12.0, 12.0, 10.0))
        mesh = merge(local_parts(kind, size))
        box_volume = size[0] * size[1] * size[2]
        assert mesh.volume < 0.9 * box_volume, kind
        assert len(mesh.faces) > 12, kind
    furnace = local_parts(EquipmentKind.FLASH_FURNACE, (60, 18, 30))
    assert len(furnace) >= 3  # settler, reaction shaft, uptake


def test_long_side_follows_the_plant_file() -> None:
    """A rack given as 4 x 270 runs north-south (width along y), not east-west."""
    lo, hi = merge(local_parts(EquipmentKind.PIPE_RACK, (4, 270, 8))).bounds
    assert hi[0] - lo[0] == pytest.approx(4, abs=0.05)
    assert hi[1] - lo[1] == pytest.approx(270, abs=0.05)


@pytest.mark.parametrize("kind", [EquipmentKind.CONVERTER, EquipmentKind.BUILDING, EquipmentKind.CONVEYOR])
def test_yaw_turns_the_footprint(kind: EquipmentKind) -> None:
    size = SIZES[kind]
    turned = merge(local_parts(kind, size, 90)).bounds
    assert turned[1][0] - turned[0][0] == pytest.approx(size[1], abs=0.05)  # width now along x
    assert turned[1][1] - turned[0][1] == pytest.approx(size[0], abs=0.05)
    # at 30 degrees every vertex stays inside the turned rectangle, and the far corners are reached
    mesh = merge(local_parts(kind, size, 30))
    a = math.radians(30)
    u = mesh.vertices[:, 0] * math.cos(a) + mesh.vertices[:, 1] * math.sin(a)  # along the length
    v = -mesh.vertices[:, 0] * math.sin(a) + mesh.vertices[:, 1] * math.cos(a)
    assert np.abs(u).max() == pytest.approx(size[0] / 2, abs=0.05)
    assert np.abs(v).max() == pytest.approx(size[1] / 2, abs=0.05)
    plain = merge(local_parts(kind, size, 0)).bounds
    assert not np.allclose(mesh.bounds, plain, atol=0.5)


def test_equipment_mesh_is_placed_at_its_position() -> None:
    mesh = equipment_mesh(_eq(EquipmentKind.TANK, (12, 12, 8), pos=(768.0, 850.0, 2.0)))
    (x0, y0, z0), (x1, y1, z1) = mesh.bounds
    assert (x0 + x1) / 2 == pytest.approx(768, abs=0.01)
    assert (y0 + y1) / 2 == pytest.approx(850, abs=0.01)
    assert z0 == pytest.approx(2) and z1 == pytest.approx(10)


def test_render_mesh_normals_point_outwards() -> None:
    parts = local_parts(EquipmentKind.CONVERTER, (14, 5, 6))
    rm = render_mesh(parts)
    assert rm.indices.max() < len(rm.positions)
    tri = rm.positions[rm.indices.reshape(-1, 3)]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    face_n /= np.linalg.norm(face_n, axis=1)[:, None]
    vert_n = rm.normals[rm.indices.reshape(-1, 3)]
    dots = np.einsum("fk,fck->fc", face_n, vert_n)
    assert (dots > 0.5).all()  # smooth normals stay within the smoothing angle of each face
    assert np.allclose(np.linalg.norm(rm.normals, axis=1), 1, atol=1e-3)
    assert set(np.unique(rm.colors)) <= {p.shade for p in parts} | {np.float32(p.shade) for p in parts}


def test_demo_plant_triangle_budget(demo: Plant) -> None:
    bundle = build_bundle(demo)
    assert len(bundle.members) == len(demo.equipment)
    assert bundle.triangles < 200_000  # drawn, every instance counted
    assert bundle.mesh_triangles < bundle.triangles  # equal equipment share a mesh
    assert len(bundle.groups) < len(demo.equipment)
    assert len(bundle.data) < 3_000_000
    # the packed buffer reads back into consistent arrays
    for gi in range(len(bundle.groups)):
        arrays = unpack(bundle, gi)
        n = int(bundle.groups[gi]["vertices"])
        assert len(arrays["positions"]) == len(arrays["normals"]) == len(arrays["colors"]) == 3 * n
        assert arrays["indices"].max() < n
        assert np.isfinite(arrays["positions"]).all()
    assert build_bundle(demo).digest == bundle.digest  # stable: browsers cache it by digest


# --- layers ------------------------------------------------------------------------------------------


def _demo_snapshot(plant: Plant, sos: int = 3) -> dict[str, Any]:
    """A busy moment: every badge on site, a reading for every hazard, every equipment with a state."""
    rng = np.random.default_rng(1)
    badges = []
    for i, b in enumerate(plant.badges):
        z = plant.zones[i % len(plant.zones)]
        x = float(rng.uniform(0, plant.site.width_m))
        y = float(rng.uniform(0, plant.site.depth_m))
        badges.append(
            {
                "id": b.id,
                "x": round(x, 2),
                "y": round(y, 2),
                "floor": int(rng.integers(0, z.floors)),
                "ts": 1_700_000_000_000,
                "kind": b.kind.value,
                "role": b.role.value,
                "zone": z.id,
                "sos": i < sos,
            }
        )
    latest = {t.id: (1_700_000_000_000, float(rng.uniform(0, 2000)) + 0.123456, 0) for t in plant.tags}
    states = ["run", "idle", "fault", "maintenance", "stopped"]
    return {
        "now_ms": 1_700_000_000_000,
        "latest": latest,
        "equipment_state": {e.id: states[i % 5] for i, e in enumerate(plant.equipment)},
        "badges": badges,
        "headcount": {z.id: 12 for z in plant.zones},
        "risk": {z.id: {"level": "red", "static": z.level.value, "reasons": []} for z in plant.zones},
        "shift": "B",
    }


def test_live_payload_is_small_with_every_demo_badge(demo: Plant) -> None:
    snap = _demo_snapshot(demo)
    assert len(snap["badges"]) == 363
    live = live_scene(demo, snap)
    body = json.dumps(live, separators=(",", ":"))
    assert len(body.encode()) < 50_000, len(body)
    assert len(live["b"]) == 363
    assert len(live["eq"]) == len(demo.equipment)
    assert len(live["zl"]) == len(demo.zones)
    assert len(live["hz"]) == len(live["hs"]) == len(hazard_sources(demo))
    assert sum(b[4] for b in live["b"]) == 3  # SOS flags


def test_static_scene_is_json_and_complete(demo: Plant) -> None:
    bundle = build_bundle(demo)
    spec = static_scene(demo, bundle, "en", mesh_url="/m.bin", deck_url="/d.js", ids={"deck": "d", "selected": "s"})
    body = json.dumps(spec)
    assert len(body) < 400_000
    assert len(spec["zones"]) == 28 and len(spec["equipment"]) == 131 and len(spec["badges"]) == 363
    assert len(spec["cameras"]) == len(demo.cameras) and all(len(c["cone"]) >= 3 for c in spec["cameras"])
    assert {e["g"] for e in spec["equipment"]} == set(range(len(spec["groups"])))
    assert spec["text"]["level.red"] == "Major risk"
    zh = static_scene(demo, bundle, "zh", mesh_url="/m.bin", deck_url="/d.js", ids={})
    assert zh["zones"][0]["n"] == demo.zones[0].name_zh
    assert [z["f"] for z in spec["zones"]] == [z.floors for z in demo.zones] and max(z["f"] for z in spec["zones"]) > 1
    assert set(LAYER_KEYS) >= {"zones", "equipment", "people", "vehicles", "fences", "cameras", "muster", "roads"}
    # the major hazard sources' fences on the fences layer, named with their grade (GB 18218-2018 4.3.5)
    hz = [f for f in spec["fences"] if f["k"] == "hazard"]
    assert [f["id"] for f in hz] == [hs.id for hs in demo.hazards.sources]
    assert hz[0]["n"] == "Acid tank farm (storage unit) · Grade 3 · R 18" and hz[0]["path"][0] == hz[0]["path"][-1]
    assert spec["text"]["fence.hazard"] == "major hazard source"
    assert next(f for f in zh["fences"] if f["k"] == "hazard")["n"].startswith("硫酸罐区（储存单元） · 三级")


def test_zone_colors_follow_risk_levels(demo: Plant) -> None:
    zones = demo.zones
    snap = {"risk": {zones[0].id: {"level": "red"}, zones[1].id: {"level": "orange"}, zones[2].id: {"level": "bogus"}}}
    levels = dynamic_levels(demo, snap)
    assert levels[zones[0].id] == "red"
    assert levels[zones[1].id] == "orange"
    assert levels[zones[2].id] == zones[2].level.value  # unknown level: the static one
    assert levels[zones[3].id] == zones[3].level.value  # no live risk yet
    live = live_scene(demo, snap)
    assert live["zl"][0] == "r" and live["zl"][1] == "o"
    assert live["zl"][3] == zones[3].level.value[0]
    # nothing in the snapshot yet (keys still missing): static levels, unknown states, nobody
    empty = live_scene(demo, {"now_ms": 1})
    assert empty["zl"] == "".join(z.level.value[0] for z in zones)
    assert set(empty["eq"]) == {"-"} and empty["b"] == []
    assert set(colors.RISK) == {"red", "orange", "yellow", "blue"}


def test_equipment_state_codes(demo: Plant) -> None:
    e = demo.equipment
    snap = {"equipment_state": {e[0].id: "fault", e[1].id: "maintenance", e[2].id: "run", e[3].id: "???"}}
    eq = live_scene(demo, snap)["eq"]
    assert eq[:4] == "fmr-"


def test_hazard_sources_and_limit_states(demo: Plant) -> None:
    hazards = hazard_sources(demo)
    tags = {t.id: t for t in demo.tags}
    kinds = {tags[h.tag].kind.value for h in hazards}
    assert kinds == {"gas", "emission", "process"}
    assert len([h for h in hazards if tags[h.tag].kind.value == "gas"]) == 45
    zones = {z.id: z for z in demo.zones}
    for h in hazards:
        if h.equipment is None:  # detectors are drawn inside their zone
            assert point_in_polygon(h.x, h.y, zones[h.zone].polygon)
    gas = next(h for h in hazards if h.limits and h.limits.hh)
    assert limit_state(gas.limits.hh + 1, gas.limits) == 2
    assert limit_state(gas.limits.h + 0.01, gas.limits) == 1
    assert limit_state(0.0, gas.limits) == 0
    assert limit_state(None, gas.limits) == -1
    live = live_scene(demo, {"latest": {gas.tag: (1, gas.limits.hh * 2, 0)}})
    i = [h.tag for h in hazards].index(gas.tag)
    assert live["hs"][i] == "2" and live["hz"][i] == pytest.approx(gas.limits.hh * 2)


def test_camera_cone_and_nearest_camera(demo: Plant) -> None:
    cam = demo.cameras[0]
    cone = camera_cone(cam, steps=4)
    assert cone[0][:2] == [cam.position[0], cam.position[1]]
    mid = cone[3]  # the middle of the arc is straight ahead
    bearing = math.degrees(math.atan2(mid[1] - cam.position[1], mid[0] - cam.position[0]))
    assert (bearing - cam.yaw_deg + 180) % 360 - 180 == pytest.approx(0, abs=0.5)
    assert math.hypot(mid[0] - cam.position[0], mid[1] - cam.position[1]) == pytest.approx(cam.range_m, abs=0.2)
    found = nearest_camera(demo, cam.position[0] + 1, cam.position[1] + 1)
    assert found is not None and found[0].id == cam.id and found[1] == pytest.approx(math.sqrt(2))
    others = [math.hypot(c.position[0] - 500, c.position[1] - 500) for c in demo.cameras]
    assert nearest_camera(demo, 500, 500)[1] == pytest.approx(min(others))  # type: ignore[index]


# --- panel data --------------------------------------------------------------------------------------


def test_zone_details_explain_the_color(demo: Plant) -> None:
    zone = next(z for z in demo.zones if z.id == "fsf-hall")
    gas = next(t for t in demo.tags if t.zone == zone.id and t.kind.value == "gas")
    snap = _demo_snapshot(demo)
    snap["risk"] = {
        zone.id: {
            "level": "red",
            "static": zone.level.value,
            "reasons": [{"code": "gas_hh", "tag": gas.id, "value": 15.0, "limit": 10.0}],
        }
    }
    d = zone_details(demo, snap, zone.id)
    assert d is not None
    assert d["level"] == "red"
    assert d["lec"]["score"] == zone.lec.score and d["lec"]["level"] == zone.level.value
    assert d["reasons"][0]["code"] == "gas_hh"
    assert d["headcount"] == 12 and d["headcount_max"] == zone.headcount["B"].max
    assert all(p["id"] for p in d["people"])
    assert d["camera"] is not None and d["camera"]["distance_m"] >= 0
    assert d["tags"] and d["tags"][0]["state"] >= d["tags"][-1]["state"]  # most alarming first


def test_equipment_and_badge_details(demo: Plant) -> None:
    snap = _demo_snapshot(demo)
    eq = demo.equipment[0]
    d = equipment_details(demo, snap, eq.id)
    assert d is not None and d["state"] == "run" and d["camera"] is not None
    b = badge_details(demo, snap, demo.badges[0].id)
    assert b is not None and b["on_site"] and b["sos"] and b["zone"] == demo.zones[0].id
    assert badge_details(demo, {}, demo.badges[0].id)["on_site"] is False  # type: ignore[index]
    assert zone_details(demo, {}, "no-such-zone") is None


# --- page and routes ---------------------------------------------------------------------------------


def _hostile_plant(tmp_path: Path) -> Path:
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    data["zones"][0]["name"] = HOSTILE
    data["zones"][0].pop("name_zh", None)
    data["equipment"][0]["name"] = HOSTILE + " furnace"
    data["equipment"][0].pop("name_zh", None)
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _texts(component: Any) -> list[str]:
    out: list[str] = []
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        for c in component:
            out += _texts(c)
        return out
    children = getattr(component, "children", None)
    if children is not None:
        out += _texts(children)
    return out


def _page_module() -> Any:
    """The scene page module as Dash imported it (pages register only inside an app)."""
    import sys

    import dash

    entry = next(p for p in dash.page_registry.values() if p["path"] == "/scene")
    return sys.modules[entry["module"]]


def test_hostile_names_stay_text(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path, plant_file=_hostile_plant(tmp_path))
    app = create_app(settings)
    page = _page_module()
    with app.server.test_request_context("/"):
        layout = page.layout()
        spec = next(c for c in layout.children if getattr(c, "id", None) == page.ids.STATIC).data
        assert spec["zones"][0]["n"] == HOSTILE  # carried as data, drawn with textContent in the browser
        from webapp import context as web
        from webapp.live.snapshot import snapshot

        plant = web.plant()
        snap = snapshot()
        d = zone_details(plant, snap, plant.zones[0].id)
        body = page._zone_body(d, snap, "en")
        assert "Why this color" in _texts(body)
        # names travel as plain strings (Dash renders them as text nodes), never pre-built markup
        eq = page._equipment_body(equipment_details(plant, snap, plant.equipment[0].id), snap, "en")
        for component in (layout, body, eq):
            assert "dangerously_allow_html" not in json.dumps(component.to_plotly_json(), default=str)


@pytest.mark.slow
def test_page_layout_and_live_callback(tmp_path: Path) -> None:
    from webapp.app import create_app

    app = create_app(seed_store(tmp_path, plant_file=DEMO_PLANT))
    page = _page_module()
    with app.server.test_request_context("/"):
        layout = page.layout()
        stores = {c.id: c.data for c in layout.children if getattr(c, "id", None) in (page.ids.STATIC, page.ids.LIVE)}
        assert stores[page.ids.STATIC]["ids"] == {"deck": page.ids.DECK, "selected": page.ids.SELECTED}
        assert stores[page.ids.STATIC]["mesh_url"].startswith("/scene/mesh/")
        live = page.refresh(1)
        assert len(live["eq"]) == 131 and len(json.dumps(live)) < 50_000
        reason = {"code": "gas_hh", "tag": "fsf-hall.GD01.SO2", "value": 15.0, "limit": 10.0}
        assert page._reason_text(reason, "en") == "Gas detector fsf-hall.GD01.SO2 at 15 over its HH limit 10"
        assert "fsf-hall.GD01.SO2" in page._reason_text(reason, "zh")
        assert page._reason_text({"code": "mystery", "count": 3}, "en") == "mystery: count 3"


def test_routes_serve_deck_and_meshes(tmp_path: Path) -> None:
    from scene.bundle import deck_url, mesh_url, plant_bundle
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    app = create_app(settings)
    client = logged_in_client(app, settings)
    r = client.get(deck_url())
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert "immutable" in r.headers["Cache-Control"] and "max-age=31536000" in r.headers["Cache-Control"]
    assert b"SimpleMeshLayer" in r.data and b"sourceMappingURL" not in r.data[-200:]
    rz = client.get(deck_url(), headers={"Accept-Encoding": "gzip, br"})
    assert rz.headers["Content-Encoding"] == "gzip" and gzip.decompress(rz.data) == r.data
    assert client.get("/scene/deck-0.0.0.js").status_code == 404
    bundle = plant_bundle(str(settings.plant_file))
    m = client.get(mesh_url(bundle.digest))
    assert m.status_code == 200 and m.data == bundle.data
    assert "immutable" in m.headers["Cache-Control"]
    assert client.get(mesh_url(bundle.digest), headers={"If-None-Match": m.headers["ETag"]}).status_code == 304
    stale = client.get(mesh_url("0" * 16))
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
