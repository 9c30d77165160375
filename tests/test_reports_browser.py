"""The /reports page in real headless Chromium on ten backfilled hours of the demo plant: the archive listed and
filtered, a Chinese day report made on demand and downloaded (a PDF whose text holds 日报, 乙班 and the plant's
Chinese names; its SHA-256 the archive row's), the schedule editor (bad time, unknown e-mail and hostile text
refused and shown as text; a monthly schedule set up and switched off), and screenshots at 1920x1080 and
390x844 in English and Chinese with no console error and no request to another host."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plant.loader import load_plant
from plant.schema import Plant
from reports.issue import issue
from reports.period import day_period, shift_period
from settings import ROOT, Settings
from simulator.backfill import backfill
from store.db import make_engine, migrate, session_scope
from store.models import ReportIssue, ReportSchedule
from tests.fakeclock import plant_ms
from tests.webutil import ARTIFACTS, WAIT_MS, browser, serve_app, watch_page

pytestmark = pytest.mark.slow
DEMO = ROOT / "plant" / "demo_smelter.yaml"


@dataclass
class Seeded:
    settings: Settings
    plant: Plant
    now_ms: int  # the next morning: 2026-03-12 is over

    def clock(self) -> float:
        return self.now_ms / 1000


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    tmp = tmp_path_factory.mktemp("reports-browser")
    plant = load_plant(DEMO)
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'r.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    end = plant_ms(plant, 2026, 3, 12, 17, 0)
    backfill(plant, settings.db_url, 10 / 24, step_s=60, seed=3, end_ms=end, progress=False)
    now = plant_ms(plant, 2026, 3, 13, 1, 0)
    engine = make_engine(settings.db_url)
    # the archive holds a shift report (English, CSV) made by a dispatcher
    issue(
        engine,
        plant,
        settings.reports_path,
        shift_period(plant, date(2026, 3, 12), "B"),
        "en",
        ["csv"],
        named=True,
        now_ms=now - 3_600_000,
        user="ops.chen",
    )
    engine.dispose()
    return Seeded(settings, plant, now)


def _open(b: Any, base: str, width: int, height: int, lang: str) -> tuple[Any, Any, list[str], list[str]]:
    context = b.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
    page = context.new_page()
    errors, foreign = watch_page(page)
    page.goto(base + "/reports")
    page.wait_for_selector("#reports-list table tbody tr", timeout=WAIT_MS)
    return context, page, errors, foreign


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed: python3 run.py test installs it")
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout.decode()


def test_list_filter_make_download_and_schedule_in_the_browser(seeded: Seeded, tmp_path: Path) -> None:
    plant = seeded.plant
    dialogs: list[str] = []
    with serve_app(seeded.settings, role="admin", clock=seeded.clock) as base, browser() as b:
        context, page, errors, foreign = _open(b, base, 1920, 1080, "en")
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        rows = page.locator("#reports-list tbody tr")
        assert rows.count() == 1 and "Shift B" in rows.first.inner_text()
        # filter: no day reports yet, then the shift report again
        page.select_option("#reports-filter-kind", "day")
        page.wait_for_selector("#reports-list:has-text('No reports match.')", timeout=WAIT_MS)
        page.select_option("#reports-filter-kind", "any")
        page.wait_for_selector("#reports-list tbody tr", timeout=WAIT_MS)
        page.fill("#reports-filter-period", "2026-03-12/B")
        page.press("#reports-filter-period", "Enter")
        page.wait_for_selector("#reports-list tbody tr:has-text('Shift B')", timeout=WAIT_MS)
        page.fill("#reports-filter-period", "")
        page.press("#reports-filter-period", "Enter")
        # make the Chinese day report of 12 March as a PDF
        page.select_option("#reports-kind", "day")
        page.wait_for_function("document.querySelector('#reports-period').value === '2026-03-12'", timeout=WAIT_MS)
        page.select_option("#reports-lang", "zh")
        page.locator("#reports-make").click()
        link = page.locator("#reports-make-msg a")
        link.first.wait_for(timeout=WAIT_MS)
        assert "Made:" in page.locator("#reports-make-msg").inner_text()
        page.wait_for_selector("#reports-list tbody tr:nth-child(2)", timeout=WAIT_MS)  # the list shows it
        with page.expect_download(timeout=WAIT_MS) as got:
            link.first.click()
        pdf = tmp_path / "day.pdf"
        got.value.save_as(pdf)
        data = pdf.read_bytes()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "reports-day-2026-03-12-zh.pdf").write_bytes(data)  # for a look at its pages (pdftoppm)
        assert data.startswith(b"%PDF") and got.value.suggested_filename.endswith(".pdf")
        text = _pdf_text(pdf)
        assert "日报" in text and "乙班" in text and plant.site.name_zh and plant.site.name_zh in text
        with session_scope(make_engine(seeded.settings.db_url)) as session:
            row = session.scalars(select(ReportIssue).where(ReportIssue.period == "2026-03-12")).one()
            assert row.sha256 == hashlib.sha256(data).hexdigest() and row.user == "test-admin"
            assert (row.t0, row.t1) == (
                day_period(plant, date(2026, 3, 12)).t0,
                day_period(plant, date(2026, 3, 12)).t1,
            )
        # the archive row shows the file's SHA-256 (its first 12 digits, the whole in its title)
        sha_cell = page.locator(f"#reports-list code[title='{row.sha256}']")
        assert sha_cell.inner_text() == row.sha256[:12]
        # the schedule editor: bad input refused with what is wrong, hostile text shown as text
        page.select_option("#reports-sched-kind", "month")
        page.wait_for_selector("#reports-sched-hint:has-text('Monthly')", timeout=WAIT_MS)
        msg = page.locator("#reports-sched-msg")
        for field, value, said in (
            ("#reports-sched-time", "25:00", 'Not a time of day: "25:00"'),
            ("#reports-sched-time", "<script>alert(1)</script>", "<script>alert(1)</script>"),
        ):
            page.fill(field, value)
            page.locator("#reports-sched-save").click()
            page.wait_for_function(
                f"document.querySelector('#reports-sched-msg').innerText.includes({said!r})", timeout=WAIT_MS
            )
        assert page.locator("#reports-sched-msg script").count() == 0
        page.screenshot(path=str(ARTIFACTS / "reports-hostile-1920x1080-en.png"))
        page.fill("#reports-sched-time", "07:00")
        page.fill("#reports-sched-day", "2")
        page.fill("#reports-sched-recipients", "wang.lei, nobody@plant.example")
        page.locator("#reports-sched-save").click()
        page.wait_for_selector("#reports-sched-msg:has-text('nobody@plant.example')", timeout=WAIT_MS)
        assert "e-mail address" in msg.inner_text()
        page.screenshot(path=str(ARTIFACTS / "reports-refused-1920x1080-en.png"))
        page.fill("#reports-sched-recipients", "wang.lei, j.miller@localhost")
        page.locator("#reports-sched-save").click()
        page.wait_for_selector("#reports-sched-msg:has-text('set up')", timeout=WAIT_MS)
        page.wait_for_selector("#reports-schedules:has-text('monthly on day 2 at 07:00')", timeout=WAIT_MS)
        assert "wang.lei, j.miller" in page.locator("#reports-schedules").inner_text()
        # switched off: the list says so
        page.locator("#reports-sched-enabled").uncheck()
        page.locator("#reports-sched-save").click()
        page.wait_for_selector("#reports-sched-msg:has-text('saved')", timeout=WAIT_MS)
        page.wait_for_selector("#reports-schedules:has-text('07:00 · off')", timeout=WAIT_MS)
        with session_scope(make_engine(seeded.settings.db_url)) as session:
            [s] = session.scalars(select(ReportSchedule)).all()
            assert (s.kind, s.at_minute, s.recipients, s.enabled) == ("month", 1440 + 420, "wang.lei,j.miller", False)
        assert not dialogs, dialogs
        assert not errors, errors
        assert not foreign, foreign
        context.close()
        # wall and phone, English and Chinese
        for width, height, lang in [(1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")]:
            context, page, errors, foreign = _open(b, base, width, height, lang)
            assert page.locator("h1").inner_text() == ("报表" if lang == "zh" else "Reports")
            page.wait_for_selector("#reports-sched-save", timeout=WAIT_MS)
            page.evaluate("document.fonts.ready.then(() => true)")  # the fonts are in before the picture
            page.screenshot(path=str(ARTIFACTS / f"reports-{width}x{height}-{lang}.png"), full_page=True)
            if width < 800:
                assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert not errors, errors
            assert not foreign, foreign
            context.close()
