"""The hidden-danger register through the web app on a real store: an on-call phone reports one with a photo and
hostile text, a dispatcher assesses it major, assigns it, is refused rectification before the plan, approves the
plan, and a second person verifies and closes it; every move audited; executives read the register without
names and may not move it; the photo is served as what it is; English and Chinese; wall and phone screenshots."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from i18n import t
from plant import load_plant
from settings import Settings
from store.db import make_engine, session_scope
from store.hidden_dangers import act, escalate, report
from store.models import HiddenDanger, HiddenDangerLog
from store.models import SecurityAudit as AuditLog
from tests.webutil import (
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

HOSTILE = '<script>alert("x")</script><a href="javascript:alert(1)">x</a>'
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    yield seed_store(tmp_path_factory.mktemp("hidden-dangers"))


def _client(app: Any, settings: Settings, role: str, name: str | None = None, lang: str = "en") -> Any:
    client = logged_in_client(app, settings, role, name, lang)
    assert client.post("/_dash-update-component", json=router_body("/safety/report")).status_code in (200, 403)
    return client


def _state(cid: str, prop: str, value: Any) -> dict[str, Any]:
    return {"id": cid, "property": prop, "value": value}


def _report(app: Any, client: Any, **form: Any) -> Any:
    key = callback_key(app, "hd-report-msg.children")
    state = [
        _state("hd-report-title", "value", form.get("title")),
        _state("hd-report-text", "value", form.get("text")),
        _state("hd-report-zone", "value", form.get("zone")),
        _state("hd-report-x", "value", form.get("x")),
        _state("hd-report-y", "value", form.get("y")),
        _state("hd-report-photo", "contents", form.get("photo")),
    ]
    body = callback_body(key, [_state("hd-report-go", "n_clicks", 1)], state, ["hd-report-go.n_clicks"])
    return client.post("/_dash-update-component", json=body)


def _move(app: Any, client: Any, danger: int, action: str, **f: Any) -> Any:
    key = callback_key(app, "safety-hd-msg.children")
    state = [
        _state("safety-hd-pick", "value", str(danger)),
        _state("safety-hd-action", "value", action),
        _state("safety-hd-grade", "value", f.get("grade")),
        _state("safety-hd-owner", "value", f.get("owner")),
        _state("safety-hd-deadline", "value", f.get("deadline")),
        _state("safety-hd-measures", "value", f.get("measures")),
        _state("safety-hd-funds", "value", f.get("funds")),
        _state("safety-hd-interim", "value", f.get("interim")),
        _state("safety-hd-note", "value", f.get("note")),
    ]
    body = callback_body(key, [_state("safety-hd-go", "n_clicks", 1)], state, ["safety-hd-go.n_clicks"])
    return client.post("/_dash-update-component", json=body)


def test_report_assess_assign_plan_rectify_verify_through_the_web_app(settings: Settings) -> None:
    from webapp.app import create_app

    app = create_app(settings)
    plant = load_plant(settings.plant_file)
    phone = _client(app, settings, "on-call")
    photo = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert t("hd.err.need_title", "en") in answer(_report(app, phone, title=" ", zone="tank-farm"))
    bad_photo = "data:image/svg+xml;base64," + base64.b64encode(b"<svg onload=alert(1)>").decode()
    assert t("hd.err.photo_type", "en") in answer(_report(app, phone, title="x", photo=bad_photo))
    assert t("hd.err.bad_point", "en") in answer(_report(app, phone, title="x", x=5))
    done = answer(_report(app, phone, title=HOSTILE, text=HOSTILE, zone="tank-farm", photo=photo))
    assert "#1" in done
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        row = s.scalars(select(HiddenDanger)).one()
        assert row.source == "phone" and row.title == HOSTILE and row.has_photo and row.reported_by == "test-on-call"
        assert row.x is not None and row.zone == "tank-farm"  # the zone's middle, no point given
    # the photo: as stored, never sniffed; the register's readers only
    disp = _client(app, settings, "dispatcher")
    got = disp.get("/safety/hidden-danger/1/photo")
    assert got.status_code == 200 and got.data == PNG and got.headers["X-Content-Type-Options"] == "nosniff"
    assert phone.get("/safety/hidden-danger/1/photo").status_code == 403
    # an on-call phone may report but not move one
    assert _move(app, phone, 1, "assess", grade="major").status_code == 403
    exe = _client(app, settings, "executive")
    assert _move(app, exe, 1, "assess", grade="major").status_code == 403
    tomorrow = (datetime.now(plant.tz()) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert t("hd.err.not_now", "en") in answer(_move(app, disp, 1, "assign", owner="li.ming", deadline=tomorrow))
    assert t("hd.state.assessed", "en") in answer(_move(app, disp, 1, "assess", grade="major"))
    assert t("hd.err.deadline_past", "en") in answer(
        _move(app, disp, 1, "assign", owner="li.ming", deadline="2020-01-01T08:00")
    )
    assert t("hd.state.assigned", "en") in answer(_move(app, disp, 1, "assign", owner="li.ming", deadline=tomorrow))
    refused = answer(_move(app, disp, 1, "rectify", note="done"))
    assert t("hd.err.major_needs_plan", "en") in refused
    plan = {"measures": "replace the flange", "funds": "12000", "owner": "li.ming", "deadline": tomorrow}
    assert t("hd.err.need_interim", "en") in answer(_move(app, disp, 1, "plan", **plan))
    assert t("hd.state.planned", "en") in answer(_move(app, disp, 1, "plan", interim="barrier", **plan))
    assert t("hd.state.rectified", "en") in answer(_move(app, disp, 1, "rectify", note=HOSTILE))
    assert t("hd.err.verify_by_other", "en") in answer(_move(app, disp, 1, "verify"))
    officer = _client(app, settings, "dispatcher", "safety.officer", lang="zh")
    assert "已销号" in answer(_move(app, officer, 1, "verify", note="现场验收合格"))
    with session_scope(engine) as s:
        log = [(h.action, h.actor) for h in s.scalars(select(HiddenDangerLog).order_by(HiddenDangerLog.id))]
        assert log == [
            ("report", "test-on-call"),
            ("assess", "test-dispatcher"),
            ("assign", "test-dispatcher"),
            ("plan", "test-dispatcher"),
            ("rectify", "test-dispatcher"),
            ("verify", "safety.officer"),
        ]
        audits = [(a.event, a.user) for a in s.scalars(select(AuditLog).where(AuditLog.event.like("hidden_danger%")))]
        assert audits[0] == ("hidden_danger_reported", "test-on-call") and len(audits) == 6
        assert audits[-1] == ("hidden_danger_moved", "safety.officer")
    engine.dispose()
    # the register: executives read it without names; hostile text is a text node
    body = answer(exe.post("/_dash-update-component", json=router_body("/safety", "?tab=hidden")))
    assert HOSTILE.replace('"', '\\"') in body and "li.ming" not in body and "dangerouslySetInnerHTML" not in body
    assert t("hd.fig.on_time", "en", n=1) in body and "100 %" in body
    assert "li.ming" in answer(disp.post("/_dash-update-component", json=router_body("/safety", "?tab=hidden")))


def seed_register(settings: Settings) -> None:
    """An overdue general danger (escalated), a major one with its plan, one just reported with hostile text."""
    day = 86_400_000
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    zones = ["tank-farm", "smelter-hall"]
    with session_scope(engine) as s:
        a = report(s, title="Handrail loose on the acid tank stairs", description="Second landing, east side",
                   zone="tank-farm", x=150, y=30, source="dispatcher", actor="wang.lei", now_ms=now - 10 * day,
                   zones=zones)  # fmt: skip
        act(s, a.id, "assess", "chen.jing", now - 10 * day, grade="general")
        act(s, a.id, "assign", "chen.jing", now - 10 * day, owner="zhang.wei", deadline_ms=now - 4 * day)
        escalate(s, now)
        b = report(s, title="Corroded oleum line flange", description="Weeping at the flange of tank 6 outlet",
                   zone="tank-farm", x=160, y=40, source="phone", actor="liu.yang", now_ms=now - 3 * day,
                   photo=PNG, zones=zones)  # fmt: skip
        act(s, b.id, "assess", "chen.jing", now - 3 * day, grade="major")
        act(s, b.id, "assign", "chen.jing", now - 3 * day, owner="li.ming", deadline_ms=now + 5 * day)
        plan = {"measures": "Replace flange and gasket", "funds": 18000, "owner": "li.ming",
                "deadline_ms": now + 5 * day, "interim": "Barrier, drip tray, SO3 watch each shift"}  # fmt: skip
        act(s, b.id, "plan", "boss", now - 2 * day, plan=plan)
        report(s, title=HOSTILE, description=HOSTILE, zone="smelter-hall", x=None, y=None, source="phone",
               actor="wang.lei", now_ms=now - 3_600_000, zones=zones)  # fmt: skip
    engine.dispose()


@pytest.mark.slow
def test_report_page_and_register_in_the_browser(settings: Settings) -> None:
    seed_register(settings)
    for role, path, marker, name in (
        ("on-call", "/safety/report", "#hd-report-go", "report"),
        ("dispatcher", "/safety?tab=hidden", "#safety-hd-go", "register"),
    ):
        with serve_app(settings, role=role) as base, browser() as b:
            for _ in screens(b, base, path, marker, f"hd-{name}"):
                pass
