"""The safety early-warning index on the safety page, on a real store: an urgent alarm, an open violation, an open
major hidden danger and an active hot-work permit in the acid plant make it the worst zone, its contributors named;
executives see it; English and Chinese; wall and phone screenshots, the radar's labels whole on the phone. The
overview's safety tile: the plant's value, colour, worst zone and top contributors, no person named, linking to the
safety page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from i18n import t
from settings import Settings
from store.db import make_engine, session_scope
from store.events import VIOLATION, add_event
from store.hidden_dangers import act, report
from tests.webutil import (
    ARTIFACTS,
    WAIT_MS,
    alarm_row,
    browser,
    page_body,
    screens,
    seed_store,
    serve_app,
    watch_page,
)

ZONES = ["smelter-hall", "converter-aisle", "acid-plant", "tank-farm", "office"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = seed_store(tmp_path_factory.mktemp("safety-index"))
    engine = make_engine(settings.db_url)
    now = int(time.time() * 1000)
    with session_scope(engine) as s:
        s.add(alarm_row("GD-AP-1.SO2:HH", now, priority="urgent", zone="acid-plant", area="acid"))
        add_event(s, VIOLATION, "forbidden_zone", now - 60_000, severity="high", badge="P001", zone="acid-plant")
        d = report(s, title="leak", description="", zone="acid-plant", x=None, y=None, source="dispatcher",
                   actor="a", now_ms=now - 3_600_000, zones=ZONES)  # fmt: skip
        act(s, d.id, "assess", "b", now - 3_600_000, grade="major")
    engine.dispose()
    yield settings


def _body(settings: Settings, role: str, lang: str = "en", path: str = "/safety", query: str = "?tab=index") -> str:
    return page_body(settings, role, path, query, lang)


def test_the_index_names_the_worst_zone_and_its_contributors(settings: Settings) -> None:
    body = _body(settings, "executive")
    assert t("si.title", "en") in body and t("si.worst", "en", zone="Acid plant") in body
    for part in ("alarms", "violations", "hidden_dangers"):
        assert t(f"si.part.{part}", "en") in body, part
    assert "Scatterpolar" in body or "scatterpolar" in body
    zh = _body(settings, "dispatcher", "zh")
    assert "安全预警指数" in zh and "隐患" in zh


@pytest.mark.slow
def test_the_index_in_the_browser(settings: Settings) -> None:
    with serve_app(settings, role="executive") as base, browser() as b:
        for page, lang in screens(b, base, "/safety?tab=index", ".sw-si-radar .main-svg", "safety-index"):
            # every part's label of the radar is whole on the screen, on the phone too (long ones on two lines)
            width = page.viewport_size["width"]
            # read every label's box in one go in the page: the index refreshes and plotly redraws the radar,
            # so handles taken one call earlier can be gone (detached) by the next
            boxes = page.evaluate(
                "Array.from(document.querySelectorAll('.sw-si-radar .angularaxistick text')).map(el => {"
                " const r = el.getBoundingClientRect(); return {x: r.x, width: r.width}; })"
            )
            assert len(boxes) == 7, lang
            for box in boxes:
                assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width, (lang, box, width)


def test_the_overview_tile_shows_the_plant_index_without_names(settings: Settings) -> None:
    from plant import load_plant
    from tests.webutil import MINI_PLANT

    body = _body(settings, "executive", path="/", query="")
    assert "overview-safety-body" in body and t("si.title", "en") in body
    assert t("si.worst", "en", zone="Acid plant") in body and "/safety?tab=index" in body
    assert t("si.part.alarms", "en") in body and t("si.part.hidden_dangers", "en") in body
    assert any(f"badge sw-si-{c}" in body for c in ("blue", "yellow", "orange", "red"))
    for b in load_plant(MINI_PLANT).badges:  # executives never see names
        assert b.name not in body, b.name
    zh = _body(settings, "executive", "zh", path="/", query="")
    assert "安全预警指数" in zh and t("overview.si_open", "zh") in zh


@pytest.mark.slow
def test_the_overview_tile_in_the_browser(settings: Settings) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, role="executive") as base, browser() as b:
        for width, height, lang in ((1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")):
            context: Any = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/")
            page.wait_for_selector(".sw-si-tile .sw-si-value", timeout=WAIT_MS)
            assert not errors, errors
            assert not foreign, foreign
            page.screenshot(path=str(ARTIFACTS / f"overview-si-{width}x{height}-{lang}.png"), full_page=width < 500)
            page.click(".sw-si-tile a.sw-more")
            page.wait_for_selector(".sw-si-radar", timeout=WAIT_MS)
            context.close()
