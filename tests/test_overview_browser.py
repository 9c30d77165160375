"""The overview in real headless Chromium on the demo plant with a seeded day: no console error, no request
to any other host, KPI tiles showing the seeded totals, screenshots for the wall (1920x1080, 3840x2160)
and a phone (390x844) in English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.metering import site_meters
from i18n import t
from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import Medium
from tests.test_overview import SeededDay, seed_day
from tests.webutil import ARTIFACTS, WAIT_MS, browser, serve_app, watch_page

pytestmark = pytest.mark.slow


def text_of(page: Any, key: str) -> str:
    cid = json.dumps({"key": key, "type": "overview-text"}, separators=(",", ":"))
    return str(page.locator(f"[id='{cid}']").inner_text())


def number(text: str) -> tuple[float, float]:
    """The number shown and half a unit of its last digit (what rounding may have moved it)."""
    digits = text.replace(",", "").strip()
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return float(digits), 0.5 * 10**-decimals + 1e-9


# The factor of each unit a tile may show, to its base unit (MWh for energy, t for mass), in either language:
# the energy tile switches from MWh to GWh once the day passes 1,000 MWh, so a number is read with its unit.
UNIT_FACTORS = {
    t(key, lang): factor
    for key, factor in (("unit.MWh", 1.0), ("unit.GWh", 1000.0), ("unit.t", 1.0), ("unit.kt", 1000.0))
    for lang in ("en", "zh")
}


def quantity(page: Any, key: str) -> tuple[float, float]:
    """The amount a tile shows in its base unit, read with the unit shown beside it, and its tolerance."""
    unit = text_of(page, f"{key}.unit").strip()
    assert unit in UNIT_FACTORS, f"{key}: unknown unit {unit!r}"
    shown, tolerance = number(text_of(page, key))
    return shown * UNIT_FACTORS[unit], tolerance * UNIT_FACTORS[unit]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> SeededDay:
    return seed_day(tmp_path_factory.mktemp("overview-browser"))


def test_overview_wall_and_phone(day: SeededDay) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    conc_day = day.expected("FSF1.CONC_FED", day.day_start)
    elec_tags = next(m.tags for m in site_meters(load_plant(DEMO_PLANT)) if m.medium == Medium.ELECTRICITY)
    # The app's clock stands just after the seeded reading: the figures are the seeded day's even when the
    # test runs across the plant's midnight or a shift change.
    with serve_app(day.settings, clock=lambda: day.reading_ts / 1000 + 1) as base, browser() as b:
        views = [(1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh"), (3840, 2160, "en")]
        for width, height, lang in views:
            context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/")
            page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
            page.wait_for_selector(".sw-spark .main-svg", timeout=WAIT_MS)
            page.wait_for_timeout(2500)  # a refresh or two: the page must stay as it is
            shown, tolerance = quantity(page, "prod.conc_fed.day")
            assert shown == pytest.approx(conc_day, abs=tolerance), (shown, conc_day)
            if day.shift_start is not None:
                shown, tolerance = quantity(page, "prod.conc_fed.shift")
                assert shown == pytest.approx(day.expected("FSF1.CONC_FED", day.shift_start), abs=tolerance)
            mwh = sum(day.expected(tag, day.day_start) for tag in elec_tags) / 1000
            shown, tolerance = quantity(page, "energy.electricity")
            assert shown == pytest.approx(mwh, abs=tolerance), (shown, mwh)
            assert text_of(page, "people.total") == "48"
            assert page.locator(".sw-spark").count() == 15
            title = page.locator("h1").inner_text()
            assert title == ("全厂总览" if lang == "zh" else "Plant overview")
            page.screenshot(path=str(ARTIFACTS / f"overview-{width}x{height}-{lang}.png"), full_page=width < 800)
            if width >= 1920:  # a wall screen shows everything without scrolling
                assert page.evaluate("document.documentElement.scrollHeight") <= height
            else:  # a phone stacks the tiles in one column, nothing wider than the screen
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                boxes = [page.locator(".sw-tile").nth(i).bounding_box() for i in range(3)]
                assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"]  # type: ignore[index]
                assert abs(boxes[0]["x"] - boxes[1]["x"]) < 1  # type: ignore[index]
            assert not errors, errors
            assert not foreign, foreign
            context.close()


def test_overview_layout_renders_without_a_store(tmp_path: Path) -> None:
    """A store that cannot be read still gives the page (with dashes); the refresh fills it in later."""
    from settings import Settings
    from tests.webutil import MINI_PLANT
    from webapp.app import create_app
    from webapp.pages import overview

    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'missing.db'}", plant_file=MINI_PLANT)
    app = create_app(settings)
    with app.server.test_request_context("/"):
        page = overview.layout()
    assert page is not None
