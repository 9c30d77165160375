"""The personnel page in real headless Chromium (SwiftShader WebGL), offline: the live map draws people by
role with status rings, the 3D view, following a person found by name, the playback slider moving people
(layer data and pixels at two slider positions), the heatmap, a phone layout, the muster declared and ended
from the page, and hostile badge names staying text in tooltips, lists and panels. Screenshots go to
test-artifacts/ (personnel-*.png)."""

from __future__ import annotations

import csv
import io
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from engine.shifts import current_shift
from engine.types import PositionIn, SampleIn
from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import Plant, TagKind
from settings import Settings
from store.db import make_engine, session_scope
from store.events import add_event, close_event
from store.positions import write_positions
from store.samples import write_samples
from store.tags import tag_ids
from tests.test_scene_browser import _inside, png_pixels
from tests.webutil import ARTIFACTS, MINI_PLANT, WAIT_MS, browser, phone_page, seed_store, serve_app, watch_page

pytestmark = pytest.mark.slow

READY = "#personnel-deck[data-ready='1']"
HOSTILE = '<img src=x onerror="window.__pwned=1">'
STEP_S = 10
HOUR_S = 3600


def seed_personnel_store(tmp_path: Path, plant_file: Path = DEMO_PLANT) -> tuple[Settings, Plant, list[str]]:
    """``seed_store`` plus an hour of movement ending now: the crew of the current shift circling in their
    work zones (6 m circles, ten minutes a turn), vehicles driving their road end to end; a few violations
    (open and closed, inside the hour) and one SOS."""
    settings = seed_store(tmp_path, plant_file=plant_file)
    plant = load_plant(plant_file)
    rng = random.Random(5)
    now = int(time.time() * 1000)
    found = current_shift(plant, now)
    shift = found[0].id if found else None
    day_shift = plant.site.shifts[1].id if len(plant.site.shifts) > 1 else shift
    positions: list[PositionIn] = []
    on_site: list[str] = []
    for i, b in enumerate(plant.badges):
        on_shift = b.shift == shift or (b.shift is None and shift == day_shift) or i < 8
        if not on_shift:
            continue
        on_site.append(b.id)
        phase = rng.random() * 2 * math.pi
        if b.kind.value == "vehicle" and plant.roads:
            road = plant.roads[i % len(plant.roads)]
            (x1, y1), (x2, y2) = road.polyline[0], road.polyline[-1]
            for k in range(HOUR_S // STEP_S + 1):
                f = k / (HOUR_S // STEP_S)
                positions.append(
                    PositionIn(b.id, now - (HOUR_S - k * STEP_S) * 1000, x1 + (x2 - x1) * f, y1 + (y2 - y1) * f)
                )
            continue
        zone_id = b.work_zones[i % len(b.work_zones)] if b.work_zones else plant.zones[i % len(plant.zones)].id
        cx, cy = _inside(plant, zone_id, rng)
        for k in range(HOUR_S // STEP_S + 1):
            a = phase + 2 * math.pi * k * STEP_S / 600
            x = min(plant.site.width_m - 1, max(1, cx + 6 * math.cos(a)))
            y = min(plant.site.depth_m - 1, max(1, cy + 6 * math.sin(a)))
            positions.append(PositionIn(b.id, now - (HOUR_S - k * STEP_S) * 1000, x, y))
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, positions)
        people = [b for b in on_site if not b.startswith("V")]
        add_event(
            session,
            "violation",
            "forbidden_zone",
            now - 20 * 60_000,
            badge=people[0],
            zone=plant.zones[0].id,
            severity="high",
            message="entered",
        )
        add_event(session, "violation", "man_down", now - 5 * 60_000, badge=people[1], severity="urgent")
        old = add_event(session, "violation", "dwell_exceeded", now - 45 * 60_000, badge=people[2], severity="medium")
        close_event(session, old, now - 40 * 60_000)
        ids = tag_ids(session)
        sos = next(t for t in plant.tags if t.kind == TagKind.SOS and t.badge == people[3])
        write_samples(session, [SampleIn(ids[sos.id], now - 2000, 1.0, 0)])
    engine.dispose()
    return settings, plant, on_site


# --- browser helpers ---------------------------------------------------------------------------------


def _open(page: Any, base: str) -> None:
    page.goto(base + "/personnel")
    page.wait_for_selector(READY, state="attached", timeout=90_000)
    page.wait_for_selector("#personnel-follow", state="attached", timeout=WAIT_MS)  # the dropdowns are drawn
    page.wait_for_timeout(1500)


def _map(page: Any, expr: str) -> Any:
    return page.evaluate(f"(() => {{ const m = document.getElementById('personnel-deck').swPersonnel; {expr} }})()")


def _wait(page: Any, body: str, timeout_s: float = 20) -> None:
    """Poll a condition with ``page.evaluate`` (the page's content security policy forbids the eval that
    ``wait_for_function`` uses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"(() => {{ {body} }})()"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout_s} s: {body}")
        page.wait_for_timeout(200)


def _layer_ids(page: Any) -> list[str]:
    return list(_map(page, "return m.deck.props.layers.map(l => l.id);"))


def _screen_point(page: Any, xyz: list[float]) -> tuple[float, float]:
    x, y = page.evaluate(
        """p => { const el = document.getElementById('personnel-deck');
                  const q = el.swPersonnel.deck.getViewports()[0].project(p);
                  const r = el.getBoundingClientRect(); return [q[0] + r.left, q[1] + r.top]; }""",
        xyz,
    )
    return float(x), float(y)


def _deck_pixels(page: Any, shot: bytes) -> np.ndarray:
    box = page.locator("#personnel-deck").bounding_box()
    px = png_pixels(shot)
    x0, y0 = int(box["x"]), int(box["y"])
    return px[y0 : y0 + int(box["height"]), x0 : x0 + int(box["width"]), :3].astype(int)


def _set_time(page: Any, seconds: float) -> None:
    page.evaluate(
        """s => { const r = document.querySelector('#personnel-playbar .sw-pb-range');
                  r.value = String(s); r.dispatchEvent(new Event('input', {bubbles: true})); }""",
        seconds,
    )
    page.wait_for_timeout(600)


def _heads(page: Any) -> dict[str, list[float]]:
    return dict(
        _map(
            page,
            "const l = m.deck.props.layers.find(l => l.id === 'heads');"
            " const out = {}; l.props.data.forEach(h => { out[m.trips.badges[h.b].id] = [h.x, h.y]; }); return out;",
        )
    )


# --- tests -------------------------------------------------------------------------------------------


def test_personnel_wall_playback_heatmap_and_phone(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    settings, plant, on_site = seed_personnel_store(tmp_path)
    with serve_app(settings) as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        _open(page, base)
        shot = page.screenshot(path=str(ARTIFACTS / "personnel-wall.png"))
        region = _deck_pixels(page, shot)
        assert region.std() > 12, "the map looks blank"
        layers = _layer_ids(page)
        assert {"zones", "people", "status"} <= set(layers)
        people = _map(page, "return m.livePeople().length;")
        assert people > 20
        # status rings: the violation, the man-down and the SOS
        rings = _map(page, "return m.deck.props.layers.find(l => l.id === 'status').props.data.map(r => r[4]);")
        assert sorted(rings) == [1, 2, 2]
        assert page.locator("#personnel-feed .sw-pv-open").count() == 2
        assert page.locator("#personnel-feed .sw-pv").first.get_attribute("data-rule") == "man_down"  # newest first

        # follow a person found by name: the panel shows them and the view centres on them
        target = next(
            bb
            for bb in plant.badges
            if bb.id in on_site[10:] and bb.kind.value == "person" and bb.role.value == "employee"
        )
        page.click("#personnel-follow")
        page.wait_for_selector(".dash-dropdown-content .dash-dropdown-search", timeout=10_000)
        page.wait_for_timeout(300)
        page.keyboard.type(target.name, delay=40)  # the search box has the focus
        option = page.locator(".dash-dropdown-content [role=option]", has_text=target.id)
        option.first.click(timeout=WAIT_MS)
        page.wait_for_selector(f"#personnel-follow-panel [data-badge='{target.id}']", timeout=WAIT_MS)
        assert target.name in page.locator("#personnel-follow-panel").inner_text()
        # the view flies to them and follows each live update with a short transition: on a loaded machine
        # a read can fall inside one, so wait for a moment where the view has arrived
        _wait(
            page,
            "const m = document.getElementById('personnel-deck').swPersonnel;"
            "const c = m.vs ? m.vs.target : null; const me = m.followed();"
            "return !!(c && me && Math.hypot(c[0] - me[0], c[1] - me[1]) < 1.0);",
            timeout_s=30,
        )
        assert "follow" in _layer_ids(page)

        # 3D view
        page.click("#personnel-view >> text=3D")
        _wait(page, "return document.getElementById('personnel-deck').getAttribute('data-view') === '3d';")
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "personnel-wall-3d.png"))
        assert _map(page, "return m.deck.props.views.id;") == "orbit"
        page.click("#personnel-view >> text=Top")
        page.keyboard.press("Escape")
        page.evaluate("window.dash_clientside.set_props('personnel-follow', {value: null})")

        # playback: the slider moves people
        page.click("#personnel-mode >> text=Playback")
        page.wait_for_selector("#personnel-playbar .sw-pb-range:not([disabled])", timeout=60_000)
        assert page.locator("#personnel-playbar .sw-pb-mark").count() >= 3  # violations on the timeline
        assert "trips" in _layer_ids(page) and "heads" in _layer_ids(page)
        _set_time(page, 600)
        first = _heads(page)
        shot_a = page.screenshot()
        _set_time(page, 1500)
        second = _heads(page)
        shot_b = page.screenshot(path=str(ARTIFACTS / "personnel-wall-playback.png"))
        assert len(first) > 20 and set(first) == set(second)
        moved = [k for k in first if math.hypot(first[k][0] - second[k][0], first[k][1] - second[k][1]) > 1]
        assert len(moved) > len(first) * 0.8, "people must move between two slider positions"
        diff = np.abs(_deck_pixels(page, shot_a) - _deck_pixels(page, shot_b)).sum(axis=2)
        assert (diff > 60).sum() > 200, "the picture must change between two slider positions"
        assert page.locator("#personnel-playbar").get_attribute("data-time") == "1500"
        # play runs the clock forward
        page.click("#personnel-playbar .sw-pb-play")
        page.wait_for_timeout(1500)
        page.click("#personnel-playbar .sw-pb-play")
        assert float(page.locator("#personnel-playbar").get_attribute("data-time")) > 1500

        # heatmap
        page.click("#personnel-mode >> text=Heatmap")
        _wait(
            page,
            "return document.getElementById('personnel-deck').swPersonnel.deck.props.layers"
            ".some(l => l.id === 'heat');",
            60,
        )
        page.wait_for_timeout(1500)
        shot = page.screenshot(path=str(ARTIFACTS / "personnel-wall-heatmap.png"))
        heat = _deck_pixels(page, shot)
        warm = (heat[:, :, 0] > 180) & (heat[:, :, 1] > 150) & (heat[:, :, 2] < 110)  # yellow/red cells
        assert warm.sum() > 30, "the heatmap shows no hot cells"
        assert not errors, errors
        assert not foreign, foreign
        page.close()

        # phone ---------------------------------------------------------------------------------------
        page = phone_page(b)
        errors, foreign = watch_page(page)
        _open(page, base)
        page.locator("#personnel-deck").scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "personnel-phone.png"))
        page.screenshot(path=str(ARTIFACTS / "personnel-phone-full.png"), full_page=True)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 392, f"the page scrolls sideways on a phone ({width} px)"
        box = page.locator("#personnel-deck").bounding_box()
        assert box["width"] >= 340 and box["height"] >= 280
        assert not errors, errors
        assert not foreign, foreign
        page.close()


def test_personnel_hostile_names_and_muster(tmp_path: Path) -> None:
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    for bd in data["badges"]:
        if bd["id"] == "P002":
            bd["name"] = HOSTILE
    plant_file = tmp_path / "hostile.yaml"
    plant_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = seed_store(tmp_path, plant_file=plant_file)
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(
            session,
            [PositionIn("P002", now - 1000, 100, 200), PositionIn("P001", now - 1000, 300, 200)],
        )
        add_event(
            session,
            "violation",
            "forbidden_zone",
            now - 30_000,
            badge="P002",
            zone="smelter-hall",
            severity="high",
            message=HOSTILE,
        )
    engine.dispose()
    with serve_app(settings) as base, browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.on("dialog", lambda d: d.accept())
        _open(page, base)
        x, y = _screen_point(page, [100, 200, 1.2])
        page.mouse.move(x, y)
        tip = page.locator(".sw-pm-tip")
        tip.wait_for(state="visible", timeout=WAIT_MS)
        assert HOSTILE in tip.inner_text() and tip.locator("img").count() == 0
        for attempt in range(3):  # a click follows (a press that software WebGL makes long is no click)
            page.mouse.click(x, y)
            try:
                page.wait_for_selector("#personnel-follow-panel [data-badge='P002']", timeout=8_000)
                break
            except Exception:
                if attempt == 2:
                    raise
        assert HOSTILE in page.locator("#personnel-follow-panel").inner_text()
        assert HOSTILE in page.locator("#personnel-feed").inner_text()
        assert page.locator("#personnel-root img").count() == 0

        # muster from the page, declared and ended under the signed-in user's name
        name_box = page.locator("#personnel-muster-name")
        assert name_box.is_disabled() and name_box.input_value() == "test-dispatcher"
        page.fill("#personnel-muster-note", HOSTILE)
        page.click("#personnel-declare")
        page.wait_for_selector(".sw-muster-banner", timeout=WAIT_MS)
        page.wait_for_selector("#personnel-muster-missing", timeout=WAIT_MS)
        assert page.locator("#personnel-muster-missing-count").inner_text() == "2"
        _wait(page, "return document.getElementById('personnel-deck').swPersonnel.missing().size === 2;")
        rings = _map(page, "return m.deck.props.layers.find(l => l.id === 'missing').props.data.length;")
        assert rings == 2  # both missing people are ringed on the map
        body = page.locator("#personnel-muster-body").inner_text()
        assert HOSTILE in body and "by test-dispatcher" in body
        assert page.locator("#personnel-root img").count() == 0
        page.screenshot(path=str(ARTIFACTS / "personnel-muster.png"))
        page.click("#personnel-end-muster")
        page.wait_for_selector(".sw-muster-banner", state="detached", timeout=WAIT_MS)
        assert page.evaluate("window.__pwned") is None
        # the exposure CSV through the page's own session: BOM, header, the hostile name kept as text
        resp = page.request.get(base + "/personnel/exposure.csv?shift=all&levels=all")
        assert resp.status == 200 and resp.headers["content-type"].startswith("text/csv")
        body = resp.body()
        assert body.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0][0] == "Badge" and HOSTILE in {r[1] for r in rows[1:]}
        assert not errors, errors
        assert not foreign, foreign
        page.close()

        # a press held longer than deck.gl's tap (250 ms) still selects: the browser's own click decides
        page = b.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        _open(page, base)
        x, y = _screen_point(page, [300, 200, 1.2])
        page.mouse.move(x, y)
        page.mouse.down()
        page.wait_for_timeout(600)  # the press itself, not a wait for something
        page.mouse.up()
        page.wait_for_selector("#personnel-follow-panel [data-badge='P001']", timeout=WAIT_MS)
        assert not errors, errors
        assert not foreign, foreign
