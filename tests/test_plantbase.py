"""The deck.gl base of every page that draws the plant (``assets/28_plantbase.js``, ``window.swPlant``): its
documented API is what it exports, it loads before the renderers, and the plant's shared layers (ground,
grid, roads, zones, zone labels, fences, muster points) are built there and nowhere else. The pictures are
checked in the browser tests (test_scene_browser.py, test_personnel_browser.py)."""

from __future__ import annotations

import re

from settings import ROOT

ASSETS = ROOT / "assets"
BASE = ASSETS / "28_plantbase.js"
SHARED_IDS = ("ground", "grid", "roads", "zones", "zone-labels", "fences", "muster")


def _exports() -> set[str]:
    body = BASE.read_text(encoding="utf-8").split("window.swPlant = {", 1)[1].split("};", 1)[0]
    return set(re.findall(r"^\s+(\w+):", body, re.M))


def _documented() -> set[str]:
    header = BASE.read_text(encoding="utf-8").split("*/", 1)[0]
    names = set(re.findall(r"(?:new )?\b([A-Za-z_]\w*)\(", header))
    names |= {n for n in re.findall(r"\b([A-Z][A-Z_]{2,})\b", header) if n not in {"HTML"}}
    return names


def test_the_documented_api_is_what_swplant_exports() -> None:
    exports = _exports()
    assert exports, "window.swPlant exports nothing"
    assert exports <= _documented(), exports - _documented()
    assert {"groundLayer", "roadsLayer", "zonesLayer", "createDeck", "load", "rgba"} <= exports


def test_the_base_loads_before_every_script_that_uses_it() -> None:
    users = [p for p in ASSETS.glob("*.js") if "swPlant" in p.read_text(encoding="utf-8") and p != BASE]
    assert {p.name for p in users} >= {"30_scene.js", "60_personnel.js"}
    for p in users:
        assert p.name > BASE.name, f"{p.name} loads before {BASE.name} (Dash loads assets in name order)"


def test_shared_plant_layers_are_built_only_in_the_base() -> None:
    for p in ASSETS.glob("*.js"):
        text = p.read_text(encoding="utf-8")
        for layer_id in SHARED_IDS:
            built = f'id: "{layer_id}"' in text
            assert built == (p == BASE), f"layer {layer_id!r} built in {p.name}"
    assert not any("SWDeck" in p.read_text(encoding="utf-8") for p in ASSETS.glob("*.js"))  # one loader
