"""The production page in real headless Chromium on ten backfilled hours of the demo plant: wall (1920x1080)
and phone (390x844) in English and Chinese with screenshots, no console error and no request to another
host; a dispatcher gives a downtime event its reason in two clicks; the overview's availability tile and
this page's show the same number."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from plant.loader import load_plant
from simulator.plan import demo_plan, to_xlsx
from tests.test_production_page import DEMO, Seeded, seed_production
from tests.webutil import ARTIFACTS, WAIT_MS, browser, serve_app, watch_page

pytestmark = pytest.mark.slow
PLANT = load_plant(DEMO)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_production(tmp_path_factory.mktemp("production-browser"))


def _open(b: Any, base: str, width: int, height: int, lang: str, path: str = "/production") -> tuple[Any, Any, Any]:
    context = b.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
    page = context.new_page()
    errors, foreign = watch_page(page)
    page.goto(base + path)
    return context, page, (errors, foreign)


def test_production_wall_and_phone(seeded: Seeded) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(seeded.settings, role="executive", clock=seeded.clock) as base, browser() as b:
        for width, height, lang in [(1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")]:
            context, page, (errors, foreign) = _open(b, base, width, height, lang)
            page.wait_for_selector("#production-pareto .main-svg", timeout=WAIT_MS)
            page.wait_for_timeout(1500)
            title = page.locator("h1").inner_text()
            assert title == ("生产设备绩效" if lang == "zh" else "Production equipment")
            assert page.locator("#production-units tbody tr").count() > 50
            assert page.locator(".sw-reason-pick").count() == 0  # executives read, they do not assign
            page.screenshot(path=str(ARTIFACTS / f"production-{width}x{height}-{lang}.png"), full_page=width < 800)
            if width < 800:
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert not errors, errors
            assert not foreign, foreign
            context.close()


def test_reason_in_two_clicks_and_one_kpi_on_two_views(seeded: Seeded, tmp_path: Path) -> None:
    tmp = tmp_path
    with serve_app(seeded.settings, role="dispatcher", clock=seeded.clock) as base, browser() as b:
        context, page, (errors, _) = _open(b, base, 1920, 1080, "en")
        page.wait_for_selector(".sw-reason-pick", timeout=WAIT_MS)
        waiting = int(page.locator("#production-unassigned-count").inner_text())
        rows = page.locator(".sw-unassigned-row").count()
        assert waiting > 0 and rows == min(waiting, 40)
        # click 1: open the first row's list; click 2: the reason
        page.locator(".sw-reason-pick").first.click()
        page.get_by_role("option", name="Belt damage or misalignment").click()
        page.wait_for_selector("#production-reason-msg:has-text('Reason recorded')", timeout=WAIT_MS)
        page.wait_for_function(
            f"document.querySelector('#production-unassigned-count').innerText === '{waiting - 1}'", timeout=WAIT_MS
        )
        page.screenshot(path=str(ARTIFACTS / "production-assigned-1920x1080-en.png"))
        # a plan file: a bad one is refused naming its cell, a good Excel file with Chinese headers imports
        upload = page.locator("#production-plan-upload input[type=file]")
        bad = tmp / "bad.csv"
        bad.write_bytes(b"date,product,target\n2026-03-13,anode_cast,lots\n")
        upload.set_input_files(str(bad))
        page.wait_for_selector("#production-plan-msg:has-text(\"C2: 'lots' is not a number\")", timeout=WAIT_MS)
        good = tmp / "计划.xlsx"
        good.write_bytes(to_xlsx(PLANT, demo_plan(PLANT, date(2026, 3, 12), date(2026, 3, 14)), "zh"))
        upload.set_input_files(str(good))
        page.wait_for_selector("#production-plan-msg:has-text('Imported as v2')", timeout=WAIT_MS)
        page.wait_for_selector("#production-plan-versions:has-text('计划.xlsx')", timeout=WAIT_MS)
        here = page.locator("#production-available-now").inner_text()
        assert not errors, errors
        context.close()
        context, page, (errors, _) = _open(b, base, 1920, 1080, "en", "/")
        page.wait_for_selector(".sw-tile", timeout=WAIT_MS)
        cid = json.dumps({"key": "eq.available", "type": "overview-text"}, separators=(",", ":"))
        there = page.locator(f"[id='{cid}']").inner_text()
        assert here == there and here.endswith("%"), (here, there)
        context.close()
