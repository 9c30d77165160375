"""The alarm screens in real headless Chromium, on alarms made by the real alarm service running beside them.

A store is seeded with values beyond their limits, a personnel violation with hostile text, a standing
alarm and a journal with a flood and a chattering alarm; ``services.alarms.AlarmService`` runs in a
background thread as it does next to the collectors. The test acknowledges from the list (one row, then
all shown), shelves from the detail panel (a reason is required), and watches the banner's counts follow;
the journal records user, time, address and comment. The sound toggle starts audio only after its click
and stops sounding when nothing urgent or high is left unacknowledged. Hostile text stays text. Screenshots
of /alarms and /alarms/kpi at 1920x1080 and 390x844 go to test-artifacts/.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.types import GOOD, SampleIn
from plant import load_plant
from services.alarms import AlarmService
from services.runner import Runner
from settings import Settings
from store.db import make_engine, session_scope
from store.events import add_event
from store.models import Alarm, AlarmJournal
from store.samples import write_samples
from store.tags import tag_ids
from tests.webutil import ARTIFACTS, WAIT_MS, browser, seed_store, serve_app, watch_page

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="window.__pwned=1">'
LINK = "javascript:window.__pwned=2"
MIN = 60_000
HOUR = 3_600_000
BEYOND = {  # tag -> value beyond its limits in the mini plant
    "FF-1.TEMP": 1362.0,  # over HH 1340
    "TK-1.LEVEL": 3.0,  # under LL 5
    "STK-1.DUST": 24.0,  # over H 20
    "BL-1.CURRENT": 455.0,  # over HH 420: the standing alarm stays active
}
STANDING = "BL-1.CURRENT:HH"


def seed(tmp_path: Path) -> tuple[Settings, int]:
    settings = seed_store(tmp_path)
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        ids = tag_ids(s)
        write_samples(s, [SampleIn(ids[tag], now - 900, value, GOOD) for tag, value in BEYOND.items()])
        add_event(
            s,
            "violation",
            "forbidden_zone",
            now - 2 * MIN,
            severity="high",
            badge="P001",
            zone="tank-farm",
            message=f"{HOSTILE} {LINK}",
        )
        # A standing alarm: active for 25 hours (acknowledged long ago), still over its limit.
        since = now - 25 * HOUR
        common = {"source_type": "process", "priority": "high", "area": "smelting", "zone": None}
        s.add(
            Alarm(
                id=STANDING,
                condition="HH",
                source="BL-1.CURRENT",
                equipment="BL-1",
                active=True,
                acked=True,
                acked_at=since + MIN,
                acked_by="night shift",
                suppressed=False,
                out_of_service=False,
                activated_at=since,
                value=450.0,
                limit=420.0,
                message="",
                updated_at=since + MIN,
                **common,
            )
        )
        s.add(AlarmJournal(ts=since, alarm_id=STANDING, kind="active", active=True, acked=False, **common))
        s.add(
            AlarmJournal(
                ts=since + MIN, alarm_id=STANDING, kind="ack", active=True, acked=True, user="night shift", **common
            )
        )
        # History for the KPIs: a flood three hours ago (24 alarms in 10 minutes) and a chattering alarm.
        flood_at = now - 3 * HOUR
        for i in range(24):
            prio = ("low", "low", "medium", "high")[i % 4]
            s.add(
                AlarmJournal(
                    ts=flood_at + i * 20_000,
                    alarm_id=f"FF-1.FEED_FLOW:H#{i % 6}",
                    kind="active",
                    source_type="process",
                    priority=prio,
                    area="smelting",
                    zone="smelter-hall",
                    active=True,
                    acked=False,
                )
            )
        for i in range(5):
            for kind, dt in (("active", 0), ("return", 6_000)):
                s.add(
                    AlarmJournal(
                        ts=now - 2 * HOUR + i * 12_000 + dt,
                        alarm_id="AP-1.SO2_IN:L",
                        kind=kind,
                        source_type="process",
                        priority="low",
                        area="acid",
                        zone="acid-plant",
                        active=kind == "active",
                        acked=False,
                    )
                )
    engine.dispose()
    return settings, now


def wait_js(page: Any, expression: str, timeout_ms: int = 20_000) -> Any:
    """Poll ``expression`` until it is truthy (the page's CSP forbids Playwright's string predicates)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(200)


def banner_unacked(page: Any) -> int:
    return int(
        page.evaluate("[...document.querySelectorAll('.sw-ab-n')].reduce((a, e) => a + Number(e.textContent), 0)")
    )


def wait_banner(page: Any, expected: int, timeout_ms: int = 40_000) -> None:
    wait_js(
        page,
        f"[...document.querySelectorAll('.sw-ab-n')].reduce((a, e) => a + Number(e.textContent), 0) === {expected}",
        timeout_ms,
    )


def row(alarm_id: str) -> str:
    return f".sw-al-row[data-alarm='{alarm_id}']"


def confirm(page: Any, comment: str | None = None) -> None:
    page.wait_for_selector("#alarms-modal", state="visible", timeout=WAIT_MS)
    if comment is not None:
        page.fill("#alarms-modal-comment", comment)
    page.click("#alarms-modal-confirm")


def confirmed(page: Any) -> None:
    """The confirmation went through: the dialog closed (and faded out) and the result shows."""
    page.wait_for_selector("#alarms-modal", state="detached", timeout=WAIT_MS)
    page.wait_for_selector("#alarms-result .alert-success", timeout=WAIT_MS)


def journal(settings: Settings, alarm_id: str, kind: str) -> list[AlarmJournal]:
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            stmt = select(AlarmJournal).where(AlarmJournal.alarm_id == alarm_id, AlarmJournal.kind == kind)
            return list(s.scalars(stmt))
    finally:
        engine.dispose()


def test_acknowledge_and_shelve_from_the_list_change_the_banner(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    settings, _now = seed(tmp_path)
    plant = load_plant(settings.plant_file)
    db = make_engine(settings.db_url)
    service = AlarmService(plant, db)
    with Runner([service]) as runner, serve_app(settings) as base, browser() as b:
        deadline = time.time() + 60
        while runner.steps["alarms"] < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert runner.steps["alarms"] >= 2, runner.failures

        # phone first, while everything is still unacknowledged --------------------------------------
        phone = b.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
        )  # type: ignore[attr-defined]
        errors, foreign = watch_page(phone)
        phone.goto(base + "/alarms")
        phone.wait_for_selector(row("TK-1.LEVEL:LL"), timeout=WAIT_MS)
        phone.wait_for_timeout(800)
        phone.screenshot(path=str(ARTIFACTS / "alarms-390x844.png"))
        assert not phone.locator("#alarms-area").is_visible()  # filters folded away on a phone
        phone.click("#alarms-filters-toggle")
        phone.wait_for_selector("#alarms-area", state="visible", timeout=10_000)
        phone.goto(base + "/alarms/kpi")
        phone.wait_for_selector("#alarm-kpi-rate .main-svg", timeout=WAIT_MS)
        phone.wait_for_timeout(1000)
        phone.screenshot(path=str(ARTIFACTS / "alarms-kpi-390x844.png"), full_page=True)
        assert not errors, errors
        assert not foreign, foreign
        phone.close()

        # wall screen -----------------------------------------------------------------------------------
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.goto(base + "/alarms")
        page.wait_for_selector(row("TK-1.LEVEL:LL"), timeout=WAIT_MS)
        violation = page.locator(".sw-al-row[data-alarm^='violation:']")
        violation.wait_for(timeout=WAIT_MS)
        # hostile text from the data is shown as text, in the list and the banner
        assert HOSTILE in violation.inner_text() and LINK in violation.inner_text()
        assert page.locator(".sw-al-list img, .sw-alarm-banner img, a[href^='javascript']").count() == 0
        before = banner_unacked(page)
        assert before >= 6  # FF-1 HH and H, TK-1 LL, STK-1 H, BL-1 H, the violation, ...
        assert page.locator(".sw-ab-chip.sw-prio-urgent .sw-ab-n").inner_text() != "0"

        # sound: nothing before the user's click; on after it; it sounds while urgent/high are unacked
        status = page.evaluate("window.swAlarmSound.status()")
        assert status["wanted"] is False and status["plays"] == 0 and status["tone"] == "urgent"
        page.click(".sw-ab-sound")
        wait_js(page, "window.swAlarmSound.status().plays >= 1")
        assert page.evaluate("window.swAlarmSound.status().audio") == "running"
        assert page.evaluate("localStorage.getItem('sw-alarm-sound')") == "on"
        assert page.locator(".sw-ab-sound").inner_text() == "Sound on"

        # acknowledge one alarm from its row
        page.click(f"{row('TK-1.LEVEL:LL')} button:has-text('Acknowledge')")
        confirm(page, "level gauge checked on site <b>ok</b>")
        confirmed(page)
        wait_banner(page, before - 1)
        wait_js(page, f"document.querySelector(\"{row('TK-1.LEVEL:LL')} .sw-al-state\").textContent === 'Acknowledged'")
        # the list agrees with the banner
        page.wait_for_selector(f"#alarms-summary >> text=, {before - 1} unacknowledged", timeout=WAIT_MS)
        acks = journal(settings, "TK-1.LEVEL:LL", "ack")
        assert len(acks) == 1
        assert (acks[0].user, acks[0].address, acks[0].comment) == (
            "test-dispatcher",
            "127.0.0.1",
            "level gauge checked on site <b>ok</b>",
        )
        page.screenshot(path=str(ARTIFACTS / "alarms-1920x1080.png"))

        # shelve from the detail panel: a reason is required
        stack = "STK-1.DUST:H"
        page.click(f"{row(stack)} .sw-al-source")
        page.wait_for_selector("#alarms-detail .sw-al-trail", timeout=WAIT_MS)
        page.click("#alarms-detail-shelve")
        page.wait_for_selector("#alarms-modal", state="visible", timeout=WAIT_MS)
        page.select_option("#alarms-modal-duration", "900")
        page.click("#alarms-modal-confirm")
        page.wait_for_selector("#alarms-modal-error >> text=Please give a reason", timeout=WAIT_MS)
        confirm(page, "dust monitor being recalibrated")
        confirmed(page)
        wait_banner(page, before - 2)
        page.wait_for_selector("#alarms-detail >> text=Shelved until", timeout=WAIT_MS)
        shelves = journal(settings, stack, "shelve")
        assert len(shelves) == 1 and shelves[0].comment == "dust monitor being recalibrated"
        page.keyboard.press("Escape")
        page.wait_for_selector(row(stack), state="detached", timeout=WAIT_MS)  # not on the default list
        page.select_option("#alarms-state", "shelved")
        page.wait_for_selector(row(stack), timeout=WAIT_MS)
        page.select_option("#alarms-state", "open")

        # acknowledge every alarm shown: the banner has nothing left to count, the tone stops
        page.wait_for_selector("#alarms-ack-visible:not([disabled])", timeout=WAIT_MS)
        page.click("#alarms-ack-visible")
        confirm(page)
        confirmed(page)
        wait_banner(page, 0)
        page.wait_for_selector(".sw-ab-newest >> text=No unacknowledged alarms", timeout=WAIT_MS)
        wait_js(page, "window.swAlarmSound.status().tone === null")
        plays = page.evaluate("window.swAlarmSound.status().plays")
        page.wait_for_timeout(3000)
        assert page.evaluate("window.swAlarmSound.status().plays") == plays  # silent now
        assert page.locator("#alarms-ack-visible").is_disabled()

        # history: the acknowledgements with who and from where
        page.click("#alarms-view >> text=History")
        page.wait_for_selector(".sw-al-hist >> text=test-dispatcher @ 127.0.0.1", timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "alarms-history-1920x1080.png"))

        # KPIs: the flood, the chattering alarm, the standing one
        page.goto(base + "/alarms/kpi")
        page.wait_for_selector("#alarm-kpi-rate .main-svg", timeout=WAIT_MS)
        page.wait_for_selector("#alarm-kpi-chatter >> text=AP-1.SO2_IN:L", timeout=WAIT_MS)
        page.wait_for_selector(f"#alarm-kpi-standing >> text={STANDING}", timeout=WAIT_MS)
        assert page.locator("#alarm-kpi-floods tbody tr").count() >= 1
        assert page.locator("#alarm-kpi-shelved >> text=STK-1.DUST:H").count() == 1
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "alarms-kpi-1920x1080.png"), full_page=True)
        assert page.evaluate("window.__pwned") is None
        assert not errors, errors
        assert not foreign, foreign
        page.close()
    assert runner.failures["alarms"] == 0
    db.dispose()
