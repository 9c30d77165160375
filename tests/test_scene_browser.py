"""The 3D scene in real headless Chromium (SwiftShader WebGL): it draws with no console error and no request
leaving 127.0.0.1, the canvas is not blank, the camera survives live refreshes, a zone click opens the panel
with "why this color", phones get collapsed layers and a bottom sheet, hostile plant names stay text.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import random
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from engine.shifts import current_shift
from engine.types import PositionIn, SampleIn
from i18n import t
from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import EquipmentState, Plant, TagKind
from scene.layers import point_in_polygon, polygon_centroid
from settings import Settings
from store.db import make_engine, session_scope
from store.positions import write_positions
from store.samples import write_samples
from store.tags import tag_ids
from tests.webutil import ARTIFACTS, MINI_PLANT, WAIT_MS, browser, seed_store, serve_app, watch_page

# The legend names every layer's colours: the emergency's, the stacks' columns and the detectors' values too.
LEGEND_KEYS: tuple[str, ...] = (
    "scene.legend.risk",
    "scene.legend.emergency",
    "scene.legend.emissions",
    "scene.legend.detectors",
    "scene.emission.over",
    "scene.emission.none",
    "scene.severity.2",
    "scene.severity.-1",
)

pytestmark = pytest.mark.slow

READY = "#scene-deck[data-ready='1']"
LEAK_ZONE = "fsf-hall"
SOS_BADGE = 5
STATES = {1: EquipmentState.FAULT, 4: EquipmentState.MAINTENANCE, 9: EquipmentState.IDLE, 14: EquipmentState.STOPPED}
HOSTILE = '<img src=x onerror="window.__pwned=1">'


# --- a live-looking demo plant -----------------------------------------------------------------------


def _inside(plant: Plant, zone_id: str, rng: random.Random) -> tuple[float, float]:
    zone = next(z for z in plant.zones if z.id == zone_id)
    xs = [p[0] for p in zone.polygon]
    ys = [p[1] for p in zone.polygon]
    for _ in range(200):
        x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
        if point_in_polygon(x, y, zone.polygon):
            return x, y
    return polygon_centroid(zone.polygon)


def seed_scene_store(tmp_path: Path, plant_file: Path = DEMO_PLANT) -> Settings:
    """The web seed plus: the crew of the current shift in their work zones, vehicles on the roads, one SOS,
    a few equipment states other than running, calm gas detectors except one leak with an hour of history."""
    settings = seed_store(tmp_path, plant_file=plant_file)
    plant = load_plant(plant_file)
    rng = random.Random(3)
    now = int(time.time() * 1000)
    found = current_shift(plant, now)
    shift = found[0].id if found else None
    day_shift = plant.site.shifts[1].id if len(plant.site.shifts) > 1 else shift
    positions = []
    for i, b in enumerate(plant.badges):
        on_shift = b.shift == shift or (b.shift is None and shift == day_shift)
        if not on_shift and i != SOS_BADGE:
            continue
        floor = 0
        if b.kind.value == "vehicle" and plant.roads:
            road = plant.roads[i % len(plant.roads)]
            (x1, y1), (x2, y2) = road.polyline[0], road.polyline[-1]
            f = rng.random()
            x, y = x1 + (x2 - x1) * f, y1 + (y2 - y1) * f
        else:
            zone_id = b.work_zones[i % len(b.work_zones)] if b.work_zones else plant.zones[i % len(plant.zones)].id
            x, y = _inside(plant, zone_id, rng)
            floor = rng.randrange(next(z.floors for z in plant.zones if z.id == zone_id))
        positions.append(PositionIn(b.id, now - 800, x, y, floor))
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, positions)
        ids = tag_ids(session)
        samples = []
        sos_badge = plant.badges[SOS_BADGE].id
        for tag in plant.tags:
            if tag.kind == TagKind.SOS:
                samples.append(SampleIn(ids[tag.id], now - 700, 1.0 if tag.badge == sos_badge else 0.0, 0))
            elif tag.kind == TagKind.GAS and tag.nominal is not None:
                for k in range(60, 0, -1):  # an hour of history, one value a minute
                    wobble = 1 + 0.2 * np.sin(k / 6)
                    samples.append(SampleIn(ids[tag.id], now - k * 60_000, float(tag.nominal) * wobble, 0))
                samples.append(SampleIn(ids[tag.id], now - 650, float(tag.nominal), 0))
        states = {tg.equipment: tg for tg in plant.tags if tg.kind == TagKind.STATE}
        with_state = [e for e in plant.equipment if e.id in states]
        for index, state in STATES.items():
            if index < len(with_state):
                samples.append(SampleIn(ids[states[with_state[index].id].id], now - 600, float(state.code), 0))
        leak = next(tg for tg in plant.tags if tg.kind == TagKind.GAS and tg.zone == LEAK_ZONE and tg.limits)
        assert leak.limits is not None and leak.limits.hh is not None
        samples.append(SampleIn(ids[leak.id], now - 600, float(leak.limits.hh) * 1.5, 0))
        write_samples(session, samples)
    engine.dispose()
    return settings


# --- PNG pixels without an imaging library -----------------------------------------------------------


def png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) to an (h, w, channels) array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.uint8)
    prev = np.zeros(width * channels, dtype=np.int32)
    bpp = channels
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(width, bpp), axis=0).ravel() % 256
        elif f == 2:  # Up
            cur = (line + prev) % 256
        else:  # Average and Paeth depend on the pixel to the left: one pixel at a time
            cur = np.zeros_like(line)
            for x in range(len(line)):
                a = int(cur[x - bpp]) if x >= bpp else 0
                b = int(prev[x])
                if f == 3:
                    cur[x] = (line[x] + (a + b) // 2) % 256
                else:
                    c = int(prev[x - bpp]) if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    cur[x] = (line[x] + pred) % 256
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels)


def test_png_decoder_reads_every_filter() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    rows = b""
    prev = np.zeros(12, dtype=np.int32)
    for y, f in enumerate([0, 1, 2, 3, 4]):
        cur = img[y].astype(np.int32).ravel()
        left = np.concatenate([np.zeros(3, dtype=np.int32), cur[:-3]])
        upleft = np.concatenate([np.zeros(3, dtype=np.int32), prev[:-3]])
        if f == 0:
            filt = cur
        elif f == 1:
            filt = cur - left
        elif f == 2:
            filt = cur - prev
        elif f == 3:
            filt = cur - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            filt = cur - pred
        rows += bytes([f]) + (filt % 256).astype(np.uint8).tobytes()
        prev = cur

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 5, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    assert (png_pixels(png) == img).all()


# --- browser helpers ---------------------------------------------------------------------------------


def _open_scene(page: Any, base: str) -> None:
    page.goto(base + "/scene")
    page.wait_for_selector(READY, state="attached", timeout=90_000)
    page.wait_for_timeout(1500)  # labels settle, first live refresh


def _screen_point(page: Any, xyz: list[float]) -> tuple[float, float]:
    """Page coordinates of a plant point, from the deck's own viewport."""
    x, y = page.evaluate(
        """p => { const el = document.getElementById('scene-deck');
                  const q = el.swScene.deck.getViewports()[0].project(p);
                  const r = el.getBoundingClientRect(); return [q[0] + r.left, q[1] + r.top]; }""",
        xyz,
    )
    return float(x), float(y)


def _set_layers(page: Any, keep: set[str]) -> None:
    """Switch layers so that only ``keep`` stay on (clicking the switches like a user)."""
    for box in page.locator("#scene-layers input[type=checkbox]").all():
        value = box.get_attribute("value")
        if box.is_checked() != (value in keep):
            box.click()
    page.wait_for_timeout(800)


ATTEMPTS = 5  # a loaded machine draws software WebGL slowly: a click may need several tries


def _click_until_panel(page: Any, x: float, y: float, tap: bool = False) -> None:
    """Point at (x, y), let the hover settle, click; again if the panel did not open (a click whose press
    takes longer than a tap because software WebGL is busy is not a click for deck.gl, nor for a user)."""
    for attempt in range(ATTEMPTS):
        if not tap:
            page.mouse.move(x, y)
            page.wait_for_timeout(700)
            page.mouse.click(x, y)
        else:
            page.touchscreen.tap(x, y)
        try:
            page.locator("#scene-panel").wait_for(state="visible", timeout=15_000)
            return
        except Exception:
            if attempt == ATTEMPTS - 1:
                raise


def _zone_top(plant: Plant, zone_id: str) -> list[float]:
    zone = next(z for z in plant.zones if z.id == zone_id)
    cx, cy = polygon_centroid(zone.polygon)
    return [cx, cy, zone.height_m]


# --- tests -------------------------------------------------------------------------------------------


def test_scene_wall_and_phone(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    settings = seed_scene_store(tmp_path)
    plant = load_plant(DEMO_PLANT)
    with serve_app(settings) as base, browser() as b:
        # wall screen ---------------------------------------------------------------------------------
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        _open_scene(page, base)
        shot = page.screenshot(path=str(ARTIFACTS / "scene-wall.png"))
        box = page.locator("#scene-deck").bounding_box()
        pixels = png_pixels(shot)
        x0, y0 = int(box["x"] + box["width"] * 0.3), int(box["y"] + box["height"] * 0.3)
        region = pixels[y0 : y0 + 240, x0 : x0 + 320, :3].astype(float)
        assert region.std() > 12, "the 3D canvas looks blank"
        assert len(np.unique(region.reshape(-1, 3), axis=0)) > 200
        assert page.locator("#scene-layers").is_visible()  # wide screens show the layer list
        legend = page.inner_text(".sw-scene-legend").lower()  # its titles are shown in capitals
        for key in (*LEGEND_KEYS, "em.map.danger", "em.map.route.route", "em.map.route.in_danger", "em.map.resources"):
            assert t(key, "en").lower() in legend, key
        scene = page.evaluate(
            "(() => { const s = document.getElementById('scene-deck').swScene;"
            " return {layers: s.deck.props.layers.map(l => l.id), people: s.live.b.length}; })()"
        )
        assert "zones" in scene["layers"] and "people" in scene["layers"] and "vehicles" in scene["layers"]
        assert "zone-floors" in scene["layers"]  # buildings with several floors show their slabs
        assert any(i.startswith("eq-") for i in scene["layers"])
        assert scene["people"] > 10

        # the user's camera survives live refreshes
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + 150, cy + 40, steps=8)
        page.mouse.up()
        page.wait_for_timeout(600)
        before = page.evaluate(
            "(() => { const s = document.getElementById('scene-deck').swScene;"
            " return {v: s.viewState, n: s.updates}; })()"
        )
        assert before["v"] is not None
        page.wait_for_function(
            f"document.getElementById('scene-deck').swScene.updates >= {before['n'] + 2}", timeout=WAIT_MS
        )
        after = page.evaluate("document.getElementById('scene-deck').swScene.deck.viewManager.getViewState('orbit')")
        for key in ("target", "zoom", "rotationOrbit", "rotationX"):
            assert after[key] == pytest.approx(before["v"][key], abs=1e-6), key

        # click a zone: its panel says why it has its color (other layers off so the zone is what is hit)
        page.click("#scene-reset")
        page.wait_for_timeout(1200)
        _set_layers(page, {"zones"})
        x, y = _screen_point(page, _zone_top(plant, LEAK_ZONE))
        _click_until_panel(page, x, y)
        panel = page.locator("#scene-panel")
        page.wait_for_selector("#scene-panel >> text=Why this color", timeout=WAIT_MS)
        text = panel.inner_text()
        zone = next(z for z in plant.zones if z.id == LEAK_ZONE)
        assert zone.name in text
        assert f"= {zone.lec.score:,.4g}" in text  # the LEC product
        assert "over its HH limit" in text  # the live reason, translated
        page.wait_for_selector("#scene-panel .sw-spark", timeout=WAIT_MS)  # trend of a detector
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "scene-wall-panel.png"))
        assert not errors, errors
        assert not foreign, foreign
        page.close()

        # phone ---------------------------------------------------------------------------------------
        page = b.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        _open_scene(page, base)
        page.screenshot(path=str(ARTIFACTS / "scene-phone.png"))
        assert not page.locator("#scene-layers").is_visible()  # layers collapsed on a phone
        page.click("#scene-layers-toggle")
        page.wait_for_selector("#scene-layers", state="visible", timeout=10_000)
        _set_layers(page, {"zones"})
        page.click("#scene-layers-toggle")
        page.wait_for_selector("#scene-layers", state="hidden", timeout=10_000)
        x, y = _screen_point(page, _zone_top(plant, "converter-aisle"))
        _click_until_panel(page, x, y, tap=True)
        panel = page.locator("#scene-panel")
        page.wait_for_selector("#scene-panel >> text=Why this color", timeout=WAIT_MS)
        page.wait_for_timeout(800)  # the sheet slides in
        sheet = panel.bounding_box()
        assert sheet["y"] > 844 * 0.25 and sheet["width"] >= 380  # a bottom sheet, full width
        page.screenshot(path=str(ARTIFACTS / "scene-phone-panel.png"))
        assert not errors, errors
        assert not foreign, foreign
        page.close()


def test_scene_hostile_names_stay_text(tmp_path: Path) -> None:
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    data["zones"][0]["name"] = HOSTILE
    data["zones"][0].pop("name_zh", None)
    plant_file = tmp_path / "hostile.yaml"
    plant_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = seed_store(tmp_path, plant_file=plant_file)
    plant = load_plant(plant_file)
    with serve_app(settings) as base, browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        _open_scene(page, base)
        _set_layers(page, {"zones"})
        x, y = _screen_point(page, _zone_top(plant, plant.zones[0].id))
        page.mouse.move(x, y)
        tip = page.locator(".sw-scene-tip")
        tip.wait_for(state="visible", timeout=WAIT_MS)
        assert HOSTILE in tip.inner_text()  # shown as text
        assert tip.locator("img").count() == 0
        _click_until_panel(page, x, y)
        page.wait_for_selector("#scene-panel >> text=Why this color", timeout=WAIT_MS)
        assert page.locator("#scene-panel .offcanvas-title").inner_text() == HOSTILE
        assert page.locator("#scene-panel img").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert not errors, errors
        assert not foreign, foreign
