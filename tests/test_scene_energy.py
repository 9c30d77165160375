"""The 3D scene's optional energy layer: each zone coloured by its energy per tonne against the limit where an
intensity of the plant file is that zone's, else by its share of the site's metered energy in the last 24 h;
sent to viewers who may see energy figures (every role that may open the scene)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from engine.types import SampleIn
from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import Plant
from scene.layers import DEFAULT_LAYERS, ENERGY_SHARES, LAYER_KEYS, energy_zones, located_under, meter_zones
from store.db import make_engine, session_scope
from store.samples import write_samples
from store.tags import tag_ids
from tests.webutil import (
    CALLBACK,
    WAIT_MS,
    answer,
    browser,
    callback_body,
    logged_in_client,
    page_body,
    seed_store,
    serve_app,
    set_up,
    watch_page,
)

HOUR = 3_600_000


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO_PLANT)


def test_the_layer_is_optional_and_meters_stand_in_zones(demo: Plant) -> None:
    assert "energy" in LAYER_KEYS and "energy" not in DEFAULT_LAYERS  # off until a user switches it on
    located = meter_zones(demo)
    zones = {z.id for z in demo.zones}
    assert len(located) == 134 and set(located.values()) <= zones  # the equipment meters, each in its zone
    assert "M-electricity" not in located and "M-electricity.tankhouse" not in located  # feeders stand in none


def test_zones_by_intensity_against_the_limit_else_by_share(demo: Plant) -> None:
    located = meter_zones(demo)
    factor = {m.value: f for m, f in demo.energy.kgce.items()}
    medium = {m.id: m.medium.value for m in demo.meters}
    readings: dict[str, float | None] = {mid: 1000.0 for mid in located}
    tank_zones = {located[m] for m in located_under(demo, "M-electricity.tankhouse")}  # three halls and the electrolyte
    quiet = next(z.id for z in demo.zones if z.id not in set(located.values()))  # a zone with no meter
    gone = sorted(set(located.values()) - tank_zones)[0]
    for mid, zone in located.items():
        if zone == gone:
            readings[mid] = None  # no reading in this zone: unknown, not zero
    intensities = [
        {"id": "tankhouse-power", "value": 352.4, "limit": 340.0, "unit": "kWh/t"},
        {"id": "refining-energy", "value": 95.0, "limit": 100.0, "unit": "kgce/t"},
        {"id": "site-energy", "value": 200.0, "limit": 300.0, "unit": "kgce/t"},
    ]
    rows = dict(zip([z.id for z in demo.zones], energy_zones(demo, readings, intensities), strict=True))
    assert len(tank_zones) == 4
    for zone in tank_zones:  # the tankhouse's kWh per tonne over its limit, in each zone its meters stand in
        assert rows[zone][0] == "over" and rows[zone][3:] == [0, 352.4, 340.0, "kWh/t"]
    assert rows[quiet][0] == "none" and rows[gone][0] == "none"
    # the rest by their share of the site's located energy in kgce, computed here from the readings
    kgce: dict[str, float] = {}
    for mid, zone in located.items():
        if readings[mid] is not None:
            kgce[zone] = kgce.get(zone, 0.0) + 1000.0 * factor[medium[mid]]
    total = sum(kgce.values())
    for zone, value in kgce.items():
        share = 100 * value / total
        assert rows[zone][1] == round(value) and rows[zone][2] == round(share, 1)
        if zone not in tank_zones:
            assert rows[zone][0] == f"s{sum(share >= lim for lim in ENERGY_SHARES)}" and rows[zone][3] == -1
    assert abs(sum(r[2] for r in rows.values() if r[2] is not None) - 100) < 0.5
    # the site's own intensity belongs to no zone
    assert all(r[3] != 2 for r in rows.values())
    # near the limit and within it
    for value, cls in ((330.0, "near"), (300.0, "within")):
        again = [dict(intensities[0], value=value), *intensities[1:]]
        rows = dict(zip([z.id for z in demo.zones], energy_zones(demo, readings, again), strict=True))
        assert {rows[zone][0] for zone in tank_zones} == {cls}


def _seed_tankhouse(tmp_path: Path, demo: Plant, kwh_per_t: float) -> tuple[object, float]:
    """The demo store with 30 hours of the tankhouse's electricity meters and cathode counters, ramps at
    constant rates, so the last 24 h hold exactly ``kwh_per_t`` per tonne of cathode."""
    settings = seed_store(tmp_path, plant_file=DEMO_PLANT)
    meters = located_under(demo, "M-electricity.tankhouse")
    tag_of = {m.id: m.tag for m in demo.meters}
    counters = next(ki for ki in demo.energy.intensities if ki.id == "tankhouse-power").counters
    now = int(time.time() * 1000)
    t_per_h = 2.0  # tonnes of cathode an hour, per counter
    kwh_per_h = kwh_per_t * t_per_h * len(counters) / len(meters)  # per meter
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        ids = tag_ids(session)
        rows = []
        for k in range(0, 30 * 6 + 1):
            ts = now - 30 * HOUR + k * HOUR // 6
            h = k / 6
            rows += [SampleIn(ids[tag_of[m]], ts, 10_000 + kwh_per_h * h, 0) for m in meters if tag_of[m] in ids]
            feeder = tag_of["M-electricity.tankhouse"]  # the tankhouse's own meter: the sum of its halls'
            if feeder is not None:
                rows.append(SampleIn(ids[feeder], ts, 90_000 + kwh_per_h * len(meters) * h, 0))
            rows += [SampleIn(ids[c], ts, 500 + t_per_h * h, 0) for c in counters]
        write_samples(session, rows)
    engine.dispose()
    return settings, kwh_per_h


@pytest.mark.slow
def test_the_scene_sends_the_layer_to_who_may_see_energy(tmp_path: Path, demo: Plant) -> None:
    from webapp.app import create_app

    settings, _rate = _seed_tankhouse(tmp_path, demo, 352.0)
    located = meter_zones(demo)
    order = [z.id for z in demo.zones]
    tank = sorted({order.index(located[m]) for m in located_under(demo, "M-electricity.tankhouse")})
    app = create_app(settings)  # type: ignore[arg-type]
    set_up(app)
    key = "scene-live.data"
    body = callback_body(
        key, [{"id": "shell-tick", "property": "n_intervals", "value": 1}], [], ["shell-tick.n_intervals"]
    )
    seen = {}
    for role in ("executive", "dispatcher", "admin"):
        client = logged_in_client(app, settings, role)  # type: ignore[arg-type]
        seen[role] = json.loads(answer(client.post(CALLBACK, json=body)))["response"]["scene-live"]["data"]
    for role in ("executive", "dispatcher", "admin"):  # the scene's viewers all may see energy figures
        for zi in tank:
            row = seen[role]["en"][zi]
            assert row[0] == "over" and row[3] == 0 and row[6] == "kWh/t"
            assert abs(row[4] - 352.0) < 0.5 and row[5] == 340.0  # 24 h of ramps: the meters over the counters
    # the switch and its legend on the page, in the reader's language
    assert "Energy (24 h)" in page_body(settings, "executive", "/scene")  # type: ignore[arg-type]
    assert "能耗（24 小时）" in page_body(settings, "dispatcher", "/scene", lang="zh")  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_layer_in_the_browser(tmp_path: Path, demo: Plant) -> None:
    """Switched on by a user on the wall screen: the zones lie on the ground in their classes, the tankhouse's
    halls over the limit, and the risk volumes keep only their outlines."""
    settings, _rate = _seed_tankhouse(tmp_path, demo, 352.0)
    located = meter_zones(demo)
    order = [z.id for z in demo.zones]
    tank = sorted({order.index(located[m]) for m in located_under(demo, "M-electricity.tankhouse")})
    with serve_app(settings, role="executive") as base, browser() as b:  # type: ignore[arg-type]
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.goto(base + "/scene")
        page.wait_for_selector("#scene-deck[data-ready='1']", state="attached", timeout=WAIT_MS)
        layers = "document.getElementById('scene-deck').swScene.deck.props.layers.map(l => l.id)"
        assert "energy" not in page.evaluate(layers)  # off until switched on
        page.locator("#scene-layers input[value=energy]").click(force=True)
        deadline = time.monotonic() + 60
        while "energy" not in page.evaluate(layers):
            assert time.monotonic() < deadline, "the energy layer did not appear"
            page.wait_for_timeout(300)
        got = page.evaluate(
            "(() => { const s = document.getElementById('scene-deck').swScene;"
            " const en = s.deck.props.layers.find(l => l.id === 'energy');"
            " const zones = s.deck.props.layers.find(l => l.id === 'zones');"
            " return {n: en.props.data.length, en: s.live.en, fill: zones.props.getFillColor(null, {index: 0})}; })()"
        )
        assert got["n"] == len(demo.zones) and {got["en"][i][0] for i in tank} == {"over"}
        assert got["fill"][3] == 0  # the risk volumes' fill gives way to the energy colours
        legend = page.inner_text(".sw-scene-legend")
        assert "Per tonne over limit" in legend
        assert not errors and not foreign, (errors, foreign)
