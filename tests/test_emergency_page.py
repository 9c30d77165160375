"""The emergency page (/emergency) on a real SQLite store with the demo plant: a dispatcher declares the SO2 plan
in the acid plant through the page's callback (audited), every logged-in screen learns of it from
/api/emergency, the refresh shows the counts, the danger area and the routes, names for the dispatcher and none
for an executive, who may not act; the checklist, the danger area growing, the end and its summary; hostile text
stays text. In headless Chromium: a kiosk screen switches to the emergency view by itself, then the page on the
wall and on a phone, English and Chinese, screenshots kept."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.types import PositionIn
from plant import default_plant_path, load_plant
from plant.schema import Plant
from settings import Settings
from store import emergency as em
from store.db import make_engine, session_scope
from store.models import SecurityAudit
from store.positions import write_positions
from tests.webutil import (
    ARTIFACTS,
    WAIT_MS,
    browser,
    callback_body,
    callback_key,
    logged_in_client,
    router_body,
    seed_store,
    serve_app,
    watch_page,
)

S = 1000
NOW = int(time.time() * 1000) // 1000 * 1000
PLAN, ZONE = "plan-so2-release", "acid-gas-cleaning"
HOSTILE = '<script>alert(1)</script><a href="javascript:alert(2)">x</a>'


@dataclass
class Store:
    settings: Settings
    plant: Plant
    badges: list[str]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp: Path = tmp_path_factory.mktemp("emergency-page")
    settings = seed_store(tmp, default_plant_path())
    plant = load_plant(settings.plant_file)
    badges = [b.id for b in plant.badges if b.kind.value == "person"][:5]
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn(badges[0], NOW - 60 * S, 1150, 500),  # inside the gas cleaning zone
                PositionIn(badges[1], NOW - 60 * S, 640, 200),
                PositionIn(badges[2], NOW - 60 * S, 300, 260),
                PositionIn(badges[3], NOW - 60 * S, 900, 600),
                PositionIn(badges[4], NOW - 60 * S, 100, 700),
            ],
        )
    engine.dispose()
    yield Store(settings, plant, badges)


def _app(store: Store) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    app = create_app(store.settings)
    web.set_clock(app.server, lambda: NOW / 1000)
    return app


def _act(app: Any, client: Any, trig: Any, state: dict[str, Any] | None = None) -> tuple[int, Any]:
    key = callback_key(app, "emergency-msg.children")
    s = {"plan": PLAN, "zone": ZONE, "note": None, "radius": None, **(state or {})}
    inputs: list[Any] = [
        {"id": "emergency-declare-confirm", "property": "submit_n_clicks", "value": 1 if trig == "declare" else None},
        {"id": "emergency-grow", "property": "n_clicks", "value": 1 if trig == "grow" else None},
        {"id": "emergency-end-confirm", "property": "submit_n_clicks", "value": 1 if trig == "end" else None},
        [],
        [],
        [],
    ]
    changed = (
        {
            "declare": "emergency-declare-confirm.submit_n_clicks",
            "grow": "emergency-grow.n_clicks",
            "end": "emergency-end-confirm.submit_n_clicks",
        }.get(trig)
        if isinstance(trig, str)
        else None
    )
    if isinstance(trig, dict):  # a checklist button
        inputs[5] = [{"id": trig, "property": "n_clicks", "value": 1}]
        changed = json.dumps(trig, sort_keys=True, separators=(",", ":")) + ".n_clicks"
    states = [
        {"id": "emergency-plan", "property": "value", "value": s["plan"]},
        {"id": "emergency-zone", "property": "value", "value": s["zone"]},
        {"id": "emergency-note", "property": "value", "value": s["note"]},
        {"id": "emergency-radius", "property": "value", "value": s["radius"]},
        {"id": "emergency-done", "property": "data", "value": 0},
    ]
    resp = client.post("/_dash-update-component", json=callback_body(key, inputs, states, [changed]))
    return resp.status_code, resp.get_json() if resp.status_code == 200 else None


def _refresh(app: Any, client: Any) -> dict[str, Any]:
    key = callback_key(app, "emergency-status.children", "emergency-map.figure")
    inputs = [
        {"id": "shell-tick", "property": "n_intervals", "value": 1},
        {"id": "emergency-done", "property": "data", "value": 1},
    ]
    resp = client.post("/_dash-update-component", json=callback_body(key, inputs, [], ["emergency-done.data"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    out: dict[str, Any] = resp.get_json()["response"]
    return out


def test_declare_follow_and_end_through_the_page(store: Store) -> None:
    app = _app(store)
    disp = logged_in_client(app, store.settings, "dispatcher")
    exe = logged_in_client(app, store.settings, "executive")
    anon = app.server.test_client()
    assert anon.get("/api/emergency").status_code in (401, 302)
    assert exe.get("/api/emergency").get_json()["active"] is None
    page = exe.post("/_dash-update-component", json=router_body("/emergency"))
    assert page.status_code == 200 and "emergency-declare-box" in page.get_data(as_text=True)

    # an executive may not declare: the gate refuses the action's callback
    status, _ = _act(app, exe, "declare")
    assert status == 403
    status, out = _act(app, disp, "declare", {"note": HOSTILE})
    assert status == 200, out
    assert "declared" in json.dumps(out["response"]).lower()
    active = exe.get("/api/emergency").get_json()
    assert isinstance(active["active"], int) and active["declared_ms"] == NOW
    assert set(active) == {"active", "declared_ms"}  # nothing else: no zone, no people
    engine = make_engine(store.settings.db_url)
    with session_scope(engine) as session:
        e = em.active(session)
        assert e is not None and e.plan == PLAN and e.note == HOSTILE.strip()
        audit = session.scalars(select(SecurityAudit).where(SecurityAudit.event == "emergency_declared")).all()
        assert [a.user for a in audit] == ["test-dispatcher"] and audit[0].target == f"emergency:{e.id}"

    out = _refresh(app, disp)
    counts = {
        c["props"]["children"][0]["props"]["id"]: c["props"]["children"][0]["props"]["children"]
        for c in out["emergency-kpis"]["children"]
    }
    # two in the danger area: one in the zone, one downwind (wind from 135 degrees blows north-west)
    assert counts["emergency-count-on_roll"] == "5" and counts["emergency-count-in_danger"] == "2"
    fig = out["emergency-map"]["figure"]
    names = {tr.get("name") for tr in fig["data"]}
    assert {"Danger area", "Routes to safety", "Way out of the danger area", "On a route"} <= names
    badge_name = next(b.name for b in store.plant.badges if b.id == store.badges[0])
    people_html = json.dumps(out["emergency-people"])
    assert badge_name in people_html and store.badges[0] in people_html
    assert "<script>" not in json.dumps(out["emergency-status"])
    ex_out = _refresh(app, exe)
    assert badge_name not in json.dumps(ex_out) and store.badges[0] in json.dumps(ex_out["emergency-people"])
    assert "emergency-tick" not in json.dumps(ex_out["emergency-checklist"])  # no buttons for an executive

    status, out = _act(app, disp, {"action": "isolate", "done": 1, "type": "emergency-tick"})
    assert status == 200 and "Checklist updated" in json.dumps(out)
    status, out = _act(app, disp, "grow", {"radius": "abc"})
    assert status == 200 and "radius" in json.dumps(out).lower()
    status, out = _act(app, disp, "grow", {"radius": 150})
    assert status == 200 and "grown" in json.dumps(out)
    status, out = _act(app, disp, "grow", {"radius": 100})
    assert status == 200 and "only grow" in json.dumps(out)
    text = json.dumps(_refresh(app, disp)["emergency-timeline"])
    assert "Danger radius grown from 60 m to 150 m" in text and "Done: Stop the SO2 blower" in text

    status, out = _act(app, disp, "end")
    assert status == 200 and "ended" in json.dumps(out)
    assert exe.get("/api/emergency").get_json()["active"] is None
    with session_scope(engine) as session:
        ended = em.ended(session)[0]
        kinds = [s.kind for s in em.steps(session, ended.id)]
        assert kinds == ["declared", "action_done", "danger_grown", "ended"]
        events = session.scalars(select(SecurityAudit.event).where(SecurityAudit.event.like("emergency_%"))).all()
        assert sorted(events) == sorted(
            ["emergency_declared", "emergency_action", "emergency_grown", "emergency_ended"]
        )
    engine.dispose()
    key = callback_key(app, "emergency-summary.children")
    body = callback_body(key, [{"id": "emergency-past", "property": "value", "value": str(ended.id)}], [], [])
    summary = json.dumps(disp.post("/_dash-update-component", json=body).get_json()["response"])
    assert "Unaccounted" in summary and badge_name in summary
    summary_exe = json.dumps(exe.post("/_dash-update-component", json=body).get_json()["response"])
    assert badge_name not in summary_exe and "test-dispatcher" not in summary_exe
    # the replay (or anyone with the link) opens a summary by its id
    opened = disp.post("/_dash-update-component", json=router_body("/emergency", f"?summary={ended.id}"))
    assert opened.status_code == 200 and "emergency-summary-people" in opened.get_data(as_text=True)
    # it opens in the incident replay (Dash writes "/" as \u002f)
    assert f"replay?emergency={ended.id}" in opened.get_data(as_text=True)


@pytest.mark.slow
def test_emergency_view_in_the_browser(store: Store) -> None:
    engine = make_engine(store.settings.db_url)
    with session_scope(engine) as session:
        running = em.active(session) is not None
    if not running:  # the page while none runs: the declaration form, on the wall and on a phone, both languages
        with serve_app(store.settings, role="dispatcher", clock=lambda: NOW / 1000) as base, browser() as b:
            for width, height in ((1920, 1080), (390, 844)):
                for lang in ("en", "zh"):
                    context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
                    context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
                    page = context.new_page()
                    errs, _ = watch_page(page)
                    page.goto(base + "/emergency")
                    page.wait_for_selector("#emergency-declare", state="visible", timeout=WAIT_MS)
                    text = page.inner_text("body")
                    assert ("Declare an emergency" in text) if lang == "en" else ("启动应急" in text)
                    page.screenshot(path=str(ARTIFACTS / f"emergency-idle-{width}x{height}-{lang}.png"))
                    assert not [e for e in errs if "favicon" not in e], errs
                    context.close()
    with session_scope(engine) as session:
        if em.active(session) is None:
            em.declare(session, store.plant, "wu", PLAN, ZONE, NOW, note="SO2 release at the gas cleaning scrubber")
            em.set_action(session, store.plant, "alarm", True, "wu", NOW + S)
    engine.dispose()
    with serve_app(store.settings, role="dispatcher", clock=lambda: (NOW + 30 * S) / 1000) as base, browser() as b:
        # a wall screen in kiosk mode on another page switches to the emergency view by itself
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.goto(base + "/energy?kiosk=1")
        page.wait_for_url("**/emergency?kiosk=1", timeout=WAIT_MS)
        page.wait_for_selector("#emergency-count-on_roll", timeout=WAIT_MS)
        page.close()
        for width, height in ((1920, 1080), (390, 844)):
            for lang in ("en", "zh"):
                context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
                context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
                page = context.new_page()
                errs, _ = watch_page(page)
                page.goto(base + "/emergency")
                page.wait_for_selector("#emergency-checklist-table", timeout=WAIT_MS)
                page.wait_for_selector("#emergency-map .scatterlayer", timeout=WAIT_MS)
                text = page.inner_text("body")
                assert ("EMERGENCY" in text) if lang == "en" else ("应急状态" in text)
                # every checklist button lies whole inside its box (on a phone too: nothing to scroll sideways to)
                whole = page.evaluate(
                    "(() => { const box = document.getElementById('emergency-checklist')"
                    ".closest('.sw-kpi-chart').getBoundingClientRect();"
                    " return [...document.querySelectorAll('#emergency-checklist-table .btn')].map(b => {"
                    " const r = b.getBoundingClientRect(); return r.left >= box.left && r.right <= box.right; }); })()"
                )
                assert whole and all(whole), (width, lang, whole)
                page.screenshot(path=str(ARTIFACTS / f"emergency-{width}x{height}-{lang}.png"), full_page=(width < 500))
                errors += errs
                context.close()
        # the 3D scene: the danger area and the routes, the resources and the stacks' emission columns as layers
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page.goto(base + "/scene")
        page.wait_for_selector("#scene-deck canvas", timeout=WAIT_MS)
        page.wait_for_function(
            "(() => { const s = document.getElementById('scene-deck').swScene;"
            " return !!(s && s.deck && s.live && s.live.em); })()",
            timeout=WAIT_MS,
        )
        layers = page.evaluate(
            "(() => document.getElementById('scene-deck').swScene.deck.props.layers.map(l => l.id))()"
        )
        assert {"danger", "routes", "resources", "emission-columns"} <= set(layers), layers
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "emergency-scene-1920x1080-en.png"))
        page.close()
        # another page, not a kiosk: the red strip links to the emergency view
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        page.goto(base + "/energy")
        page.wait_for_selector("#shell-emergency", state="visible", timeout=WAIT_MS)
        page.screenshot(path=str(ARTIFACTS / "emergency-strip-1920x1080-en.png"))
        page.close()
    assert not foreign
    assert not [e for e in errors if "favicon" not in e], errors
