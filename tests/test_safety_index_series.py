"""The safety early-warning index's stored series on a real SQLite store and a simulated clock: the safety service
stores one point a minute for the plant and every zone, with the value the safety page's own function computes
from the same store (and that ``engine.safety_index`` gives for the same inputs written out by hand); a restarted
service goes on from the stored colours; retention deletes the points past its window; the safety page's trend
reads the stored points (the plant's and a chosen zone's, over the colour bands), in English and Chinese, for an
executive too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.safety_index import PLANT, ZoneInputs, zone_index
from engine.types import PositionIn, SampleIn
from i18n import label, t
from plant import Plant, load_plant
from services.__main__ import FACTORIES
from services.safety import SafetyService
from settings import Settings
from store.db import make_engine, session_scope
from store.events import VIOLATION, add_event
from store.hidden_dangers import act, report
from store.models import SafetyIndexPoint
from store.positions import write_positions
from store.retention import DAY_MS, cutoffs_for, purge
from store.safety_index import current, gather, last_colours, series
from store.samples import write_samples
from store.tags import tag_ids
from tests.webutil import (
    CALLBACK,
    MINI_PLANT,
    WAIT_MS,
    alarm_row,
    answer,
    browser,
    callback_body,
    callback_key,
    logged_in_client,
    router_body,
    screens,
    seed_store,
    serve_app,
)

MIN = 60_000
NOW = 1_780_000_020_000 - 1_780_000_020_000 % MIN  # a fixed clock, on the minute
ZONES = ["smelter-hall", "converter-aisle", "acid-plant", "tank-farm", "office"]
STEPS = 12


@dataclass
class Store:
    settings: Settings
    plant: Plant


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """An urgent alarm, an open violation, an open major hidden danger and an SO2 detector over HH in the acid
    plant; a person in the smelter hall; the safety service run for ``STEPS`` minutes on a simulated clock."""
    settings = seed_store(tmp_path_factory.mktemp("si-series"))
    plant = load_plant(settings.plant_file)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        gas = tag_ids(s)["GD-AP-1.SO2"]
        write_samples(s, [SampleIn(gas, NOW - 1000, 12.0, 0)])  # HH 10
        write_positions(s, [PositionIn("P001", NOW - 5000, 100.0, 200.0)])  # in the smelter hall
        s.add(alarm_row("GD-AP-1.SO2:HH", NOW - MIN, priority="urgent", zone="acid-plant", area="acid"))
        add_event(s, VIOLATION, "forbidden_zone", NOW - MIN, severity="high", badge="P002", zone="acid-plant")
        d = report(s, title="leak", description="", zone="acid-plant", x=None, y=None, source="dispatcher",
                   actor="a", now_ms=NOW - 3_600_000, zones=ZONES)  # fmt: skip
        act(s, d.id, "assess", "b", NOW - 3_600_000, grade="major")
    service = SafetyService(plant, engine)
    for i in range(STEPS):
        service.step(NOW - (STEPS - 1 - i) * MIN + 7_000 * (i % 3))  # a step a minute, a few seconds late or not
    service.step(NOW + 30_000)  # a second step in the last minute stores nothing more
    engine.dispose()
    yield Store(settings, plant)


def _points(settings: Settings) -> list[SafetyIndexPoint]:
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        rows = list(s.scalars(select(SafetyIndexPoint).order_by(SafetyIndexPoint.ts, SafetyIndexPoint.zone)))
    engine.dispose()
    return rows


def test_a_point_a_minute_for_the_plant_and_every_zone(store: Store) -> None:
    rows = _points(store.settings)
    minutes = sorted({r.ts for r in rows})
    assert minutes == [NOW - k * MIN for k in range(STEPS - 1, -1, -1)]
    for ts in minutes:
        assert sorted(r.zone for r in rows if r.ts == ts) == sorted([PLANT, *ZONES])
    assert all(0 <= r.value <= 100 and r.colour in ("blue", "yellow", "orange", "red") for r in rows)


def test_the_stored_value_is_the_engine_s_for_the_same_inputs(store: Store) -> None:
    rows = {(r.ts, r.zone): r for r in _points(store.settings)}
    # the acid plant's inputs written out by hand, through the engine's own function
    level = next(z for z in store.plant.zones if z.id == "acid-plant").lec.level.value
    by_hand = zone_index(
        "acid-plant",
        ZoneInputs(level=level, alarms=["urgent"], violations=1, dangers_open=1, dangers_major=1, gas_hh=1),
        store.plant.safety_index.weights,
    )
    stored = rows[(NOW, "acid-plant")]
    assert stored.value == by_hand.value > 0
    assert stored.parts == {k: round(v, 1) for k, v in by_hand.parts.items()}
    assert by_hand.parts["environment"] == 100 and by_hand.parts["alarms"] == 100
    # the plant's point is its worst zone's, as the page shows it
    assert rows[(NOW, PLANT)].value == max(r.value for (ts, z), r in rows.items() if ts == NOW and z != PLANT)
    engine = make_engine(store.settings.db_url)
    with session_scope(engine) as s:
        inputs = gather(s, store.plant, NOW)
        view = current(s, store.plant, NOW)
    engine.dispose()
    assert inputs["acid-plant"].gas_hh == 1 and inputs["smelter-hall"].gas_hh == 0
    assert view.value == rows[(NOW, PLANT)].value and view.worst_zone == "acid-plant"
    for zid, z in view.zones.items():
        assert rows[(NOW, zid)].value == z.value, zid


def test_the_page_s_index_equals_the_stored_one(store: Store) -> None:
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.safety_index import current as page_current

    app = create_app(store.settings)
    web.set_clock(app.server, lambda: NOW / 1000)
    with app.server.app_context():
        view = page_current(store.plant)
    rows = {(r.ts, r.zone): r for r in _points(store.settings)}
    assert view.value == rows[(NOW, PLANT)].value
    assert {zid: z.value for zid, z in view.zones.items()} == {z: rows[(NOW, z)].value for z in ZONES}


def test_a_restarted_service_goes_on_from_the_stored_colours(store: Store) -> None:
    engine = make_engine(store.settings.db_url)
    with session_scope(engine) as s:
        colours = last_colours(s)
    rows = {(r.ts, r.zone): r for r in _points(store.settings)}
    assert colours == {z: rows[(NOW, z)].colour for z in [PLANT, *ZONES]}
    engine.dispose()


def test_retention_deletes_the_points_past_its_window(tmp_path: Any) -> None:
    settings = seed_store(tmp_path)
    plant = load_plant(MINI_PLANT)
    engine = make_engine(settings.db_url)
    service = SafetyService(plant, engine)
    for day in (100, 91, 89, 0):
        service.step(NOW - day * DAY_MS)
    cutoffs = cutoffs_for(NOW, 0, 0, 0, 90)
    assert set(cutoffs) == {"safety_index_point"}
    result = purge(engine, cutoffs)
    assert result.deleted["safety_index_point"] == 2 * (1 + len(ZONES))
    with session_scope(engine) as s:
        left = sorted(set(s.scalars(select(SafetyIndexPoint.ts))))
        assert left == [NOW - 89 * DAY_MS, NOW]
        assert s.scalar(select(func.count()).select_from(SafetyIndexPoint)) == 2 * (1 + len(ZONES))
    engine.dispose()
    # the services' retention takes its window from the settings (default 90 days)
    retention = FACTORIES["retention"](plant, engine, Settings(var_dir=tmp_path))
    assert retention.safety_index_days == 90


def _app(store: Store) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    app = create_app(store.settings)
    web.set_clock(app.server, lambda: NOW / 1000)
    return app


def _graphs(tree: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(tree, dict):
        if tree.get("type") == "Graph" and tree.get("props", {}).get("id") == "safety-si-trend":
            found.append(tree["props"]["figure"])
        for v in tree.values():
            found += _graphs(v)
    elif isinstance(tree, list):
        for v in tree:
            found += _graphs(v)
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_trend_draws_the_stored_points_on_the_colour_bands(store: Store, lang: str) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive", lang=lang)
    body = json.loads(answer(client.post(CALLBACK, json=router_body("/safety", "?tab=index"))))
    (fig,) = _graphs(body)
    traces = fig["data"]
    acid = next(z for z in store.plant.zones if z.id == "acid-plant")
    assert [tr["name"] for tr in traces] == [t("si.trend.plant", lang), label(acid.name, acid.name_zh, lang)]
    rows = {(r.ts, r.zone): r for r in _points(store.settings)}
    assert traces[0]["y"] == [rows[(NOW - k * MIN, PLANT)].value for k in range(STEPS - 1, -1, -1)]
    assert traces[1]["y"] == [rows[(NOW - k * MIN, "acid-plant")].value for k in range(STEPS - 1, -1, -1)]
    bands = [s for s in fig["layout"]["shapes"]]
    assert [(b["y0"], b["y1"]) for b in bands] == list(
        zip([0, *store.plant.safety_index.thresholds], [*store.plant.safety_index.thresholds, 100], strict=True)
    )
    text = json.dumps(body, ensure_ascii=False)
    assert t("si.trend.title", lang) in text
    assert "Li Na" not in text and "Zhang" not in text  # no person named for an executive


def test_choosing_a_zone_redraws_the_trend(store: Store) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "dispatcher", lang="zh")
    key = callback_key(app, "safety-si-trend.figure")
    inputs = [
        {"id": "safety-si-trend-zone", "property": "value", "value": "office"},
        {"id": "shell-tick", "property": "n_intervals", "value": 1},
    ]
    resp = client.post(CALLBACK, json=callback_body(key, inputs, [], ["safety-si-trend-zone.value"]))
    fig = next(iter(resp.get_json()["response"].values()))["figure"]
    assert fig["data"][0]["name"] == "全厂"
    office = next(z for z in store.plant.zones if z.id == "office")
    assert fig["data"][1]["name"] == label(office.name, office.name_zh, "zh")
    assert len(fig["data"][1]["y"]) == STEPS
    # a zone that is not the plant's: only the plant's line
    inputs[0]["value"] = "<script>alert(1)</script>"
    resp = client.post(CALLBACK, json=callback_body(key, inputs, [], ["safety-si-trend-zone.value"]))
    fig = next(iter(resp.get_json()["response"].values()))["figure"]
    assert [tr["name"] for tr in fig["data"]] == ["全厂"]


def test_the_trend_is_empty_before_the_first_point(tmp_path: Any) -> None:
    settings = seed_store(tmp_path)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert series(s, [PLANT], 0, NOW) == {PLANT: []}
    engine.dispose()
    app = _app(Store(settings, load_plant(MINI_PLANT)))
    client = logged_in_client(app, settings, "dispatcher", lang="en")
    body = json.loads(answer(client.post(CALLBACK, json=router_body("/safety", "?tab=index"))))
    (fig,) = _graphs(body)
    assert fig["layout"]["annotations"][0]["text"] == t("si.trend.empty", "en")


def test_the_trend_in_the_browser(store: Store) -> None:
    """Wall and phone, English and Chinese, for an executive: the plant's and the worst zone's lines over the
    four colour bands; choosing another zone redraws the zone's line."""
    with serve_app(store.settings, role="executive", clock=lambda: NOW / 1000) as base, browser() as b:
        for page, lang in screens(b, base, "/safety?tab=index", ".sw-si-trend .main-svg", "safety-index-trend"):
            trend = page.locator(".sw-si-trend")
            assert trend.locator(".scatterlayer .trace").count() == 2
            assert trend.locator(".shapelayer path").count() == 4
            assert t("si.trend.title", lang) in trend.inner_text()
        page = b.new_page()
        page.goto(base + "/safety?tab=index")
        page.wait_for_selector(".sw-si-trend .scatterlayer .trace", timeout=WAIT_MS)
        page.click("#safety-si-trend-zone")
        page.wait_for_selector(".dash-dropdown-content [role=option]", timeout=WAIT_MS)
        page.locator(".dash-dropdown-content [role=option]", has_text="Office").first.click(timeout=WAIT_MS)
        page.wait_for_selector(".sw-si-trend .legendtext >> text=Office", timeout=WAIT_MS)
