"""The process flow view in real headless Chromium on ten backfilled hours of the demo plant: wall (1920x1080,
left to right) and phone (390x844, top to bottom) in English and Chinese with screenshots, no console error,
no request to another host; clicking a unit shows its equipment and trends, clicking one value (a unit's or a
stream's) its own trend; the overview's chain strip links into it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_production_page import DEMO, Seeded, seed_production
from tests.webutil import ARTIFACTS, WAIT_MS, browser, serve_app, watch_page

pytestmark = pytest.mark.slow
SHOTS = Path("/tmp/shots/prod14")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_production(tmp_path_factory.mktemp("flow-browser"))


def _click_unit(page: Any, graph: str, unit: str) -> None:
    """Click a unit's box above its values (near its name: the values are click targets of their own), found
    through plotly's own axes."""
    xy = page.evaluate(
        """([graph, unit]) => {
            const gd = document.querySelector('#' + graph + ' .js-plotly-plot');
            const tr = gd.data[0], i = tr.customdata.indexOf(unit), L = gd._fullLayout;
            const r = gd.getBoundingClientRect();
            return [r.left + L._size.l + L.xaxis.l2p(tr.x[i]), r.top + L._size.t + L.yaxis.l2p(tr.y[i] + 0.2)];
        }""",
        [graph, unit],
    )
    page.mouse.click(xy[0], xy[1])


def _click_value(page: Any, graph: str, tag: str) -> None:
    """Click a value drawn on the flowsheet: the annotation named ``tag:<id>``."""
    index = page.evaluate(
        """([graph, tag]) => {
            const gd = document.querySelector('#' + graph + ' .js-plotly-plot');
            return gd.layout.annotations.findIndex(a => a.name === 'tag:' + tag);
        }""",
        [graph, tag],
    )
    assert index >= 0, tag
    page.locator(f"#{graph} g.annotation[data-index='{index}']").click()


def _trend_names(page: Any) -> list[str]:
    return list(page.evaluate("document.querySelector('#flow-trends .js-plotly-plot').data.map(d => d.name)"))


def test_flow_wall_and_phone(seeded: Seeded) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    from engine.flow import flowsheet
    from plant.loader import load_plant

    smelting = next(u for u in flowsheet(load_plant(DEMO)).units if u.id == "smelting")
    stream = "FSF1.OXYGEN_FLOW"  # the oxygen stream's value (wall only: the phone shows no stream values)
    with serve_app(seeded.settings, role="executive", clock=seeded.clock) as base, browser() as b:
        for width, height, lang in [(1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")]:
            context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/production/flow")
            graph = "flow-phone" if width < 800 else "flow-wall"
            page.wait_for_selector(f"#{graph} .main-svg", timeout=WAIT_MS)
            page.wait_for_timeout(800)
            assert page.locator("h1").inner_text() == ("工艺流程" if lang == "zh" else "Process flow")
            drawn = page.locator(f"#{graph} .annotation-text").all_text_contents()
            assert any(("闪速熔炼" if lang == "zh" else "Flash smelting") in x for x in drawn)
            assert any(("冰铜" if lang == "zh" else "Matte") in x for x in drawn)
            _click_unit(page, graph, "smelting")
            page.wait_for_selector("#flow-unit-title", timeout=WAIT_MS)
            page.wait_for_selector("#flow-trends .main-svg", timeout=WAIT_MS)
            assert page.locator("#flow-unit-title").inner_text() == ("闪速熔炼" if lang == "zh" else "Flash smelting")
            assert page.locator("#flow-detail tbody tr").count() >= 3
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / f"flow-{width}x{height}-{lang}.png"), full_page=width < 800)
            assert _trend_names(page) == list(smelting.tags)
            # a single value: its own trend, alone
            _click_value(page, graph, smelting.tags[0])
            page.wait_for_function(
                "document.querySelector('#flow-trends .js-plotly-plot').data.length === 1", timeout=WAIT_MS
            )
            assert _trend_names(page) == [smelting.tags[0]]
            assert page.locator("#flow-unit-title").inner_text() == ("闪速熔炼" if lang == "zh" else "Flash smelting")
            if width >= 800:
                _click_value(page, graph, stream)
                page.wait_for_function(
                    f"document.querySelector('#flow-trends .js-plotly-plot').data[0].name === '{stream}'",
                    timeout=WAIT_MS,
                )
                assert _trend_names(page) == [stream]
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / f"flow-value-{width}x{height}-{lang}.png"), full_page=width < 800)
            if width < 800:
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert not errors, errors
            assert not foreign, foreign
            context.close()


def test_chain_strip_links_into_the_flow_view(seeded: Seeded) -> None:
    with serve_app(seeded.settings, role="dispatcher", clock=seeded.clock) as base, browser() as b:
        context = b.new_context(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page = context.new_page()
        errors, _ = watch_page(page)
        page.goto(base + "/")
        link = page.locator("a.sw-stage-link[href='/production/flow?unit=acid']")
        link.wait_for(timeout=WAIT_MS)
        page.goto(base + str(link.get_attribute("href")))
        page.wait_for_selector("#flow-unit-title", timeout=WAIT_MS)
        assert page.locator("#flow-unit-title").inner_text() == "Acid plant"
        page.wait_for_selector("#flow-trends .main-svg", timeout=WAIT_MS)
        assert not errors, errors
        context.close()
