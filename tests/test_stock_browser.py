"""The stock page in real headless Chromium: wall (1920x1080) and phone (390x844) in English and Chinese with
screenshots, no console error and no request to another host, on the demo's stock list and a month of its ledger
(``simulator.stock``); a dispatcher's bad stock list is refused on the page by line and cell."""

from __future__ import annotations

from typing import Any

import pytest

from plant.loader import load_plant
from settings import Settings
from simulator.stock import LOW_ITEM, play_stock
from store.db import make_engine, session_scope
from store.stock import ledger
from tests.webutil import ARTIFACTS, WAIT_MS, browser, seed_store, serve_app, watch_page

pytestmark = pytest.mark.slow
END = 1_774_500_000_000  # 2026-03-26
DAY = 86_400_000


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = seed_store(tmp_path_factory.mktemp("stock-browser"))
    engine = make_engine(s.db_url)
    with session_scope(engine) as session:
        assert play_stock(session, load_plant(s.plant_file), END - 30 * DAY, END) > 100
        received = [
            r for r, _ in ledger(session, limit=100_000) if r.kind == "receipt" and r.reference.startswith("PO-")
        ]
        assert len(received) >= 5  # deliveries arrived against their orders
    engine.dispose()
    return s


def _open(b: Any, base: str, width: int, height: int, lang: str) -> tuple[Any, Any, Any]:
    context = b.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
    page = context.new_page()
    errors, foreign = watch_page(page)
    page.goto(base + "/stock")
    return context, page, (errors, foreign)


def test_stock_wall_and_phone(settings: Settings) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, role="executive", clock=lambda: END / 1000) as base, browser() as b:
        for width, height, lang in [(1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")]:
            context, page, (errors, foreign) = _open(b, base, width, height, lang)
            page.wait_for_selector("#stock-items tbody tr", timeout=WAIT_MS)
            assert page.locator("h1").inner_text() == (
                "物料与备件库存" if lang == "zh" else "Materials and spare parts"
            )
            assert page.locator("#stock-items tbody tr").count() == 14
            low = page.locator("#stock-items tr.sw-stock-low").all_inner_texts()
            assert len(low) == 1 and LOW_ITEM in low[0], low
            assert page.locator("#stock-ledger tbody tr").count() > 20
            assert "demo-store" not in page.locator("#stock-ledger").inner_text()  # executives: no names
            assert not page.locator("#stock-record").is_visible()  # executives read, they do not record
            page.screenshot(path=str(ARTIFACTS / f"stock-{width}x{height}-{lang}.png"), full_page=width < 800)
            if width < 800:
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert not errors, errors
            assert not foreign, foreign
            context.close()


def test_a_bad_stock_list_is_refused_on_the_page(settings: Settings, tmp_path: Any) -> None:
    bad = tmp_path / "库存清单.csv"
    bad.write_text("物料编码,物料名称,单位,数量,单价\nX-1,<script>alert(1)</script>,个,12O,5\n", encoding="utf-8")
    with serve_app(settings, role="dispatcher", clock=lambda: END / 1000) as base, browser() as b:
        context, page, (errors, _foreign) = _open(b, base, 1920, 1080, "zh")
        page.wait_for_selector("#stock-upload input[type=file]", state="attached", timeout=WAIT_MS)
        page.set_input_files("#stock-upload input[type=file]", str(bad))
        msg = page.locator("#stock-import-msg")
        msg.locator("li").first.wait_for(timeout=WAIT_MS)
        assert "第 2 行，D2：“12O”不是数字" in msg.inner_text()
        assert "demo-store" in page.locator("#stock-ledger").inner_text()  # dispatchers see who
        page.screenshot(path=str(ARTIFACTS / "stock-refused-1920x1080-zh.png"))
        assert not errors, errors
        context.close()
