"""Special-work permits through the web app on a real store: a dispatcher applies for a hot-work permit (hostile
text in its title shows as text), a too-long one is refused naming the rule, the sign-offs go in order by different
people, a failing gas analysis is shown and stops it, a passing one lets it start; every step audited; executives
read the list without names and may not act; English and Chinese; wall and phone screenshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from i18n import t
from plant import load_plant
from settings import Settings
from store.db import make_engine, session_scope
from store.models import SecurityAudit, WorkPermit
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

HOSTILE = "<img src=x onerror=alert(1)> javascript:alert(1)"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    yield seed_store(tmp_path_factory.mktemp("permit-pages"))


def _client(app: Any, settings: Settings, role: str, name: str | None = None, lang: str = "en") -> Any:
    client = logged_in_client(app, settings, role, name, lang)
    client.post("/_dash-update-component", json=router_body("/safety", "?tab=permits"))
    return client


def _s(cid: str, value: Any) -> dict[str, Any]:
    return {"id": f"safety-pt-{cid}", "property": "value", "value": value}


def _call(app: Any, client: Any, button: str, **f: Any) -> Any:
    key = callback_key(app, "safety-pt-msg.children")
    names = ("kind", "grade", "title", "zone", "x", "y", "guardian", "crew", "from", "to", "isolations", "pick",
             "action", "signoff", "gas")  # fmt: skip
    inputs = [
        {"id": "safety-pt-apply", "property": "n_clicks", "value": 1 if button == "apply" else None},
        {"id": "safety-pt-go", "property": "n_clicks", "value": 1 if button == "go" else None},
    ]
    body = callback_body(key, inputs, [_s(n, f.get(n)) for n in names], [f"safety-pt-{button}.n_clicks"])
    return client.post("/_dash-update-component", json=body)


def _later(now: datetime, hours: float) -> str:
    """The form's local time ``hours`` of real time after ``now`` (across a DST change the wall clock moves more)."""
    return (now.astimezone(UTC) + timedelta(hours=hours)).astimezone(now.tzinfo).strftime("%Y-%m-%dT%H:%M")


def test_apply_approve_gas_test_and_start_a_hot_work_permit(settings: Settings) -> None:
    from webapp.app import create_app

    app = create_app(settings)
    plant = load_plant(settings.plant_file)
    now = datetime.now(plant.tz())
    start, end = now.strftime("%Y-%m-%dT%H:%M"), _later(now, 6)
    disp = _client(app, settings, "dispatcher")
    form = {"kind": "hot_work", "grade": "first", "title": HOSTILE, "zone": "acid-plant", "x": 300, "y": 190,
            "guardian": "P003", "crew": "P001, P002", "from": start, "to": end, "isolations": "blind V-12"}  # fmt: skip
    too_long = {**form, "to": _later(now, 9)}
    assert t("permit.err.too_long", "en") in answer(_call(app, disp, "apply", **too_long))  # GB 30871-2022 5.2
    assert t("permit.err.bad_badge", "en") in answer(_call(app, disp, "apply", **{**form, "guardian": "NOBODY"}))
    assert t("permit.applied", "en", id=1) in answer(_call(app, disp, "apply", **form))
    refused = answer(_call(app, disp, "go", pick="1", action="approve", signoff="safety"))
    assert t("permit.err.wrong_signoff", "en") in refused
    assert t("permit.err.same_person", "en") in answer(_call(app, disp, "go", pick="1", action="approve",
                                                            signoff="unit"))  # fmt: skip
    unit = _client(app, settings, "dispatcher", "unit.head")  # the applicant may not sign (5.2)
    assert t("permit.state.applied", "en") in answer(_call(app, unit, "go", pick="1", action="approve", signoff="unit"))
    assert t("permit.err.same_person", "en") in answer(_call(app, unit, "go", pick="1", action="approve",
                                                            signoff="safety"))  # fmt: skip
    officer = _client(app, settings, "dispatcher", "safety.officer", lang="zh")
    assert "已审批" in answer(_call(app, officer, "go", pick="1", action="approve", signoff="safety"))
    failed = answer(_call(app, disp, "go", pick="1", action="gas_test", gas="CH4 0.8 %vol"))
    assert t("permit.state.approved", "en") in failed and "CH4 0.8 %vol" in failed
    assert t("permit.err.not_now", "en") in answer(_call(app, disp, "go", pick="1", action="isolate"))
    assert t("permit.err.bad_gas", "en") in answer(_call(app, disp, "go", pick="1", action="gas_test", gas="CH4 lots"))
    assert t("permit.state.gas_tested", "en") in answer(_call(app, disp, "go", pick="1", action="gas_test",
                                                             gas="CH4 0.1 %vol; CO 10 ppm"))  # fmt: skip
    _call(app, disp, "go", pick="1", action="isolate")
    assert t("permit.state.active", "en") in answer(_call(app, disp, "go", pick="1", action="activate"))
    exe = _client(app, settings, "executive")
    assert _call(app, exe, "go", pick="1", action="close").status_code == 403
    body = answer(exe.post("/_dash-update-component", json=router_body("/safety", "?tab=permits")))
    assert json.dumps(HOSTILE)[1:-1] in body and "dangerouslySetInnerHTML" not in body
    assert "P003" in body and not any(b.name in body for b in plant.badges if b.id in ("P001", "P002", "P003"))
    names = answer(disp.post("/_dash-update-component", json=router_body("/safety", "?tab=permits")))
    assert any(b.name in names for b in plant.badges if b.id == "P003")
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert s.get(WorkPermit, 1).state == "active"  # type: ignore[union-attr]
        events = [(a.event, a.user) for a in s.scalars(select(SecurityAudit).where(SecurityAudit.target == "permit:1"))]
        assert events[0] == ("permit_applied", "test-dispatcher") and ("permit_moved", "safety.officer") in events
        assert ("permit_moved", "unit.head") in events
        assert len(events) == 7  # apply, 2 approvals, 2 gas tests, isolations, start
    engine.dispose()


@pytest.mark.slow
def test_permits_tab_in_the_browser(settings: Settings) -> None:
    with serve_app(settings, role="dispatcher") as base, browser() as b:
        for _ in screens(b, base, "/safety?tab=permits", "#safety-pt-go", "permits"):
            pass
