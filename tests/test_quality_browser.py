"""The quality view in real headless Chromium on 30 days of the simulator's lab results (slag copper with
its scripted out-of-control runs, one result excluded): wall (1920x1080) and phone (390x844) in English and
Chinese with screenshots, no console error, no request to another host; choosing rules redraws the chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.types import GOOD, SampleIn
from plant.loader import load_plant
from settings import Settings
from simulator.model import ASSAY_EVERY_MS, SmelterModel
from store.db import make_engine, migrate, session_scope
from store.samples import write_samples
from store.spc import DAY_MS, exclude
from store.tags import sync_tags
from tests.fakeclock import plant_ms
from tests.test_quality_page import DEMO
from tests.webutil import ARTIFACTS, WAIT_MS, browser, serve_app, watch_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, int]:
    tmp: Path = tmp_path_factory.mktemp("quality-browser")
    plant = load_plant(DEMO)
    end = plant_ms(plant, 2026, 3, 12, 10, 0)
    start = end - 30 * DAY_MS
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'web.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    model = SmelterModel(plant, start_ms=start)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        ids = sync_tags(s, plant)
        samples = []
        for tag in (t.id for t in plant.tags if t.kind.value == "assay"):
            for k in range(start // ASSAY_EVERY_MS, end // ASSAY_EVERY_MS):
                ts, v = model.assay_value(tag, k)
                if start <= ts < end:
                    samples.append(SampleIn(ids[tag], ts, v, GOOD))
        write_samples(s, samples)
        first = min(x.ts for x in samples if x.tag_id == ids["SF1.LAB_SLAG_CU"])
        exclude(s, "SF1.LAB_SLAG_CU", first + 2 * ASSAY_EVERY_MS, "sample lost its label", "lab.chief", end)
    engine.dispose()
    return settings, end


def test_quality_wall_and_phone(seeded: tuple[Settings, int]) -> None:
    settings, end = seeded
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, role="executive", clock=lambda: end / 1000 + 30) as base, browser() as b:
        for width, height, lang in [(1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")]:
            context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/production/quality")
            page.wait_for_selector("#quality-chart .main-svg", timeout=WAIT_MS)
            page.select_option("#quality-assay", "SF1.LAB_SLAG_CU")
            page.wait_for_function(
                "document.querySelector('#quality-excluded').innerText.includes('sample lost its label')",
                timeout=WAIT_MS,
            )
            page.wait_for_timeout(800)
            title = page.locator("h1").inner_text()
            assert title == ("质量（SPC）" if lang == "zh" else "Quality (SPC)")
            assert int(page.locator("#quality-flagged").inner_text()) > 0  # the scripted shifts
            assert page.locator("#quality-cpk").count() == 1
            page.screenshot(path=str(ARTIFACTS / f"quality-{width}x{height}-{lang}.png"), full_page=width < 800)
            if width < 800:
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            else:  # rule 1 alone flags fewer results than rules 1, 2, 3 and 5
                before = int(page.locator("#quality-flagged").inner_text())
                for r in ("2", "3", "5"):
                    page.locator(f"#quality-rules input[value='{r}']").uncheck()
                page.wait_for_timeout(1500)
                assert int(page.locator("#quality-flagged").inner_text()) <= before
            assert not errors, errors
            assert not foreign, foreign
            context.close()


def test_dispatcher_sees_the_exclusion_box(seeded: tuple[Settings, int]) -> None:
    settings, end = seeded
    with serve_app(settings, role="dispatcher", clock=lambda: end / 1000 + 30) as base, browser() as b:
        context = b.new_context(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page = context.new_page()
        errors, _ = watch_page(page)
        page.goto(base + "/production/quality")
        page.wait_for_selector("#quality-chart .main-svg", timeout=WAIT_MS)
        assert page.locator("#quality-exclude").is_visible()
        page.locator("#quality-exclude").click()  # nothing picked yet: no answer, no error
        page.wait_for_timeout(800)
        assert page.locator("#quality-exclude-msg").inner_text() == ""
        page.screenshot(path=str(ARTIFACTS / "quality-dispatcher-1920x1080-en.png"))
        assert not errors, errors
        context.close()


def test_xbar_r_chart_and_lab_upload(seeded: tuple[Settings, int], tmp_path: Path) -> None:
    """X-bar and R of the plant days' results on a wall and a phone, in English and Chinese; a dispatcher
    uploads a lab CSV with a bad cell (refused, the cell named) and then a good one."""
    settings, end = seeded
    with serve_app(settings, role="dispatcher", clock=lambda: end / 1000 + 30) as base, browser() as b:
        for width, height, lang in [(1920, 1080, "en"), (390, 844, "zh"), (1920, 1080, "zh"), (390, 844, "en")]:
            context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/production/quality")
            page.wait_for_selector("#quality-chart .main-svg", timeout=WAIT_MS)
            page.select_option("#quality-assay", "SF1.LAB_SLAG_CU")
            page.select_option("#quality-kind", "xbar_r")
            page.wait_for_selector("#quality-subgroups", timeout=WAIT_MS)
            assert page.locator("#quality-subgroups").inner_text().endswith("× 3")
            page.wait_for_timeout(800)
            page.screenshot(path=str(ARTIFACTS / f"quality-xbar-{width}x{height}-{lang}.png"), full_page=width < 800)
            if width < 800:
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            if (width, lang) == (1920, "en"):
                bad = tmp_path / "lab-bad.csv"
                bad.write_text("time,tag,value\n2026-03-12T08:00:00,SF1.LAB_SLAG_CU,0.6x\n", encoding="utf-8")
                page.locator("#quality-lab-upload input[type=file]").set_input_files(str(bad))
                page.wait_for_selector("#quality-lab-msg:has-text('cell C2')", timeout=WAIT_MS)
                good = tmp_path / "lab-good.csv"
                good.write_text("time,tag,value\n2026-03-12T08:00:00,SF1.LAB_SLAG_CU,0.64\n", encoding="utf-8")
                page.locator("#quality-lab-upload input[type=file]").set_input_files(str(good))
                page.wait_for_selector("#quality-lab-msg:has-text('1 results imported')", timeout=WAIT_MS)
                page.screenshot(path=str(ARTIFACTS / "quality-lab-1920x1080-en.png"), full_page=True)
            assert not errors, errors
            assert not foreign, foreign
            context.close()
