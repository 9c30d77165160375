"""The plant's own 3D models: loaded with trimesh, converted, fitted, placed; refused models fall back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
import yaml

from plant.loader import load_plant
from scene.bundle import build_bundle, unpack
from settings import ROOT

MINI = ROOT / "tests" / "fixtures" / "mini_plant.yaml"


def _furnace_glb(path: Path) -> int:
    """A y-up model in centimetres, as a glTF export gives it: a 30 m x 12 m drum with a 20 m stack."""
    drum = trimesh.creation.cylinder(radius=600, height=3000, sections=48)  # along z, centred
    drum.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (0, 1, 0)))  # lie it along x
    drum.apply_translation((0, 0, 600))
    stack = trimesh.creation.cylinder(radius=150, height=2000, sections=24)
    stack.apply_translation((900, 0, 1200 + 1000))
    mesh = trimesh.util.concatenate([drum, stack])
    mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0)))  # z-up -> y-up
    path.write_bytes(mesh.export(file_type="glb"))
    return len(mesh.faces)


def _plant_with(tmp: Path, model: dict[str, Any] | None, position: list[float] | None = None) -> Path:
    raw = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    ff = raw["equipment"][0]
    assert ff["id"] == "FF-1"
    if model is not None:
        ff["model"] = model
    if position is not None:
        ff["position"] = position
    path = tmp / "plant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_glb_model_replaces_the_builtin_mesh_fitted_to_the_equipment(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    faces = _furnace_glb(tmp_path / "models" / "furnace.glb")
    path = _plant_with(tmp_path, {"file": "models/furnace.glb", "units": "cm", "up": "y"})
    plant = load_plant(path)
    bundle = build_bundle(plant, base=path.parent)
    assert bundle.models == 1 and bundle.problems == []
    group = unpack(bundle, bundle.members[0])
    assert int(bundle.groups[bundle.members[0]]["indices"]) // 3 == faces  # every triangle of the model drawn
    pos = group["positions"].reshape(-1, 3)
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    # the model is 30 x 12 x 32 m (drum 12 m high, stack up to 32 m) once y-up centimetres are converted;
    # the equipment is 40 x 20 x 25 m, so the height decides: scale 25/32, uniformly
    length, width, height = plant.equipment[0].size
    scale = min(length / 30, width / 12, height / 32)
    assert abs(lo[2]) < 1e-3 and abs(hi[2] - 32 * scale) < 0.01 and hi[2] <= height + 1e-3  # on the ground, z up
    assert abs((hi[0] - lo[0]) - 30 * scale) < 0.01 and abs((hi[1] - lo[1]) - 12 * scale) < 0.05
    assert abs((lo[0] + hi[0]) / 2) < 0.01 and abs((lo[1] + hi[1]) / 2) < 0.01  # base centre at the origin
    # the others keep their built-in meshes, and without models the bundle is what it was
    plain = build_bundle(load_plant(MINI), base=MINI.parent)
    assert plain.models == 0
    assert [g["kind"] for g in bundle.groups].count("flash_furnace") == 1  # FF-1's model; no built-in one needed
    assert sorted(g["kind"] for g in bundle.groups) == sorted(g["kind"] for g in plain.groups)


def test_refused_models_fall_back_to_the_builtin_mesh_with_the_entry_named(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    _furnace_glb(tmp_path / "models" / "furnace.glb")
    (tmp_path / "models" / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00garbage")
    plain = build_bundle(load_plant(MINI), base=MINI.parent)
    cases = [
        ({"file": "models/missing.stl"}, None, "models/missing.stl: file not found"),
        ({"file": "models/broken.glb"}, None, "models/broken.glb: cannot read it"),
        ({"file": "models/furnace.glb", "units": "cm", "up": "y", "fit": False}, [395, 200, 0], "outside the site"),
    ]
    for model, position, expected in cases:
        path = _plant_with(tmp_path, model, position)
        bundle = build_bundle(load_plant(path), base=path.parent)
        assert bundle.models == 0
        assert len(bundle.problems) == 1 and bundle.problems[0].startswith("equipment[0] (FF-1).model: ")
        assert expected in bundle.problems[0] and "built-in flash_furnace mesh is drawn" in bundle.problems[0]
        if position is None:  # the built-in scene: the same meshes, the same triangles drawn
            assert bundle.triangles == plain.triangles
            assert sorted(g["kind"] for g in bundle.groups) == sorted(g["kind"] for g in plain.groups)
    path = _plant_with(tmp_path, {"file": "models/furnace.glb", "units": "cm", "up": "y"})
    small = build_bundle(load_plant(path), base=path.parent, budget=plain.triangles + 10)
    assert small.models == 0 and "over its budget" in small.problems[0]


def test_scene_check_command_reports_models_and_refusals(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    _furnace_glb(tmp_path / "models" / "furnace.glb")
    good = _plant_with(tmp_path, {"file": "models/furnace.glb", "units": "cm", "up": "y"})
    done = subprocess.run(
        [sys.executable, "-m", "scene", "check", str(good)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "1 with their own model" in done.stdout and "triangles drawn of a budget of 3,000,000" in done.stdout
    bad = _plant_with(tmp_path, {"file": "models/none.obj"})
    done = subprocess.run(
        [sys.executable, "-m", "scene", "check", str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "refused: equipment[0] (FF-1).model: models/none.obj: file not found" in done.stderr


@pytest.mark.slow
def test_the_scene_page_draws_the_model(tmp_path: Path) -> None:
    """The scene in headless Chromium with FF-1 drawn from the plant's own GLB (screenshot to look at)."""
    from tests.test_scene_browser import READY, _screen_point, png_pixels
    from tests.webutil import ARTIFACTS, browser, seed_store, serve_app, watch_page

    (tmp_path / "models").mkdir()
    _furnace_glb(tmp_path / "models" / "furnace.glb")
    path = _plant_with(tmp_path, {"file": "models/furnace.glb", "units": "cm", "up": "y"})
    expected = build_bundle(load_plant(path), base=path.parent)
    settings = seed_store(tmp_path, plant_file=path)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings) as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        meshes: list[str] = []
        page.on("response", lambda r: meshes.append(r.url) if "/scene/mesh/" in r.url else None)
        page.goto(base + "/scene")
        page.wait_for_selector(READY, state="attached", timeout=90_000)
        page.wait_for_timeout(1500)
        assert any(expected.digest in u for u in meshes), meshes  # the bundle with the model, not the built-in
        shot = page.screenshot(path=str(ARTIFACTS / "scene-model-wall.png"))
        ff = load_plant(path).equipment[0]
        x, y = _screen_point(page, [ff.position[0], ff.position[1], 8.0])
        pixels = png_pixels(shot)
        region = pixels[max(0, int(y) - 60) : int(y) + 60, max(0, int(x) - 80) : int(x) + 80, :3].astype(float)
        assert region.std() > 8, "nothing drawn where the furnace stands"
        assert not errors and not foreign, (errors, foreign)
