"""The on-call phone's "my special-work permits": on a real store, the permits the user is on (guardian or crew by
the badge on their account, applicant or approver by their user name) with kind, state (why a suspended one is) and
validity; the others not; hostile titles shown as text; English and Chinese; phone and wall screenshots."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from auth.users import add_user
from i18n import t
from settings import Settings
from store.db import make_engine, session_scope
from store.permits import apply, mine, move
from tests.webutil import (
    ARTIFACTS,
    TEST_PASSWORD,
    WAIT_MS,
    browser,
    logged_in_client,
    make_user,
    router_body,
    seed_store,
    serve_app,
    session_token,
    watch_page,
)

H = 3_600_000
SQUARE = [(290.0, 180.0), (310.0, 180.0), (310.0, 200.0), (290.0, 200.0)]
BADGES = ["P001", "P002", "P003", "P004", "P005"]
ZONES = ["smelter-hall", "converter-aisle", "acid-plant", "tank-farm", "office"]


def _permit(s: Any, title: str, guardian: str, crew: list[str], now: int, kind: str = "hot_work") -> int:
    grade = {"hot_work": "first", "lifting": "III", "height": "II"}.get(kind)
    row = apply(s, kind=kind, grade=grade, title=title, zone="acid-plant",
                point=(300.0, 190.0), area=SQUARE, guardian=guardian, crew=crew, valid_from=now - H,
                valid_to=now + 6 * H, isolations=["blind"], applicant="planner", now_ms=now - H, badges=BADGES,
                zones=ZONES)  # fmt: skip
    return int(row.id)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = seed_store(tmp_path_factory.mktemp("oncall-permits"))
    engine = make_engine(settings.db_url)
    now = int(time.time() * 1000)
    with session_scope(engine) as s:
        add_user(s, "li.na", "on-call", TEST_PASSWORD, actor="tests", badge="P002")
        guard = _permit(s, "<script>alert(1)</script> weld the SO2 duct", "P002", ["P001"], now)
        move(s, guard, "approve", "unit.head", now - H + 60_000, signoff="unit")
        move(s, guard, "approve", "safety.dept", now - H + 120_000, signoff="safety")
        move(s, guard, "gas_test", "tester", now - H + 180_000, readings=[("CH4", 0.1, "%vol")])
        move(s, guard, "isolate", "op", now - H + 240_000)
        move(s, guard, "activate", "op", now - H + 300_000)
        move(s, guard, "suspend", "system", now - 60_000, reason="permit_guardian_away")
        _permit(s, "inspect tank 6", "P003", ["P002", "P004"], now, kind="confined_space")
        other = _permit(s, "not hers", "P003", ["P004"], now, kind="lifting")
        move(s, other, "approve", "li.na", now - H + 60_000, signoff="unit")
        _permit(s, "nobody's", "P003", ["P001"], now, kind="height")
    engine.dispose()
    yield settings


def test_mine_finds_the_parts_by_badge_and_user_name(settings: Settings) -> None:
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        got = {row.title: parts for row, parts in mine(s, "li.na", "P002", 0)}
        assert got == {
            "<script>alert(1)</script> weld the SO2 duct": ("guardian",),
            "inspect tank 6": ("crew",),
            "not hers": ("approver",),
        }
        assert mine(s, "someone", None, 0) == []  # no badge, never applied nor approved: nothing
    engine.dispose()


def _body(settings: Settings, lang: str) -> str:
    from webapp.app import create_app
    from webapp.gate import SESSION_COOKIE

    client = create_app(settings).server.test_client()
    client.set_cookie(SESSION_COOKIE, session_token(settings, "on-call", "li.na"))
    client.set_cookie("sw_lang", lang)
    resp = client.post("/_dash-update-component", json=router_body("/oncall"))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json(), ensure_ascii=False)


def test_the_phone_lists_my_permits_with_state_and_validity(settings: Settings) -> None:
    body = _body(settings, "en")
    assert t("oncall.permits.title", "en") in body
    assert "<script>alert(1)</script> weld the SO2 duct" in body  # a text child, never markup
    assert t("permit.kind.hot_work", "en") in body and t("permit.kind.confined_space", "en") in body
    assert t("permit.state.suspended", "en") in body and t("permit.reason.permit_guardian_away", "en") in body
    for part in ("guardian", "crew", "approver"):
        assert t(f"oncall.permits.part.{part}", "en") in body
    assert "Valid " in body and "nobody's" not in body
    zh = _body(settings, "zh")
    assert "我的特殊作业票" in zh and "监护人" in zh and t("permit.kind.hot_work", "zh") in zh


def test_without_a_badge_the_list_says_so(settings: Settings) -> None:
    from webapp.app import create_app

    make_user(settings, "on-call")
    client = logged_in_client(create_app(settings), settings, "on-call")
    resp = client.post("/_dash-update-component", json=router_body("/oncall"))
    body = json.dumps(resp.get_json(), ensure_ascii=False)
    assert t("oncall.permits.none", "en") in body and "weld the SO2 duct" not in body


@pytest.mark.slow
def test_my_permits_in_the_browser(settings: Settings) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    from webapp.gate import SESSION_COOKIE

    with serve_app(settings, role="on-call") as base, browser() as b:
        for width, height, lang in ((390, 844, "en"), (390, 844, "zh"), (1920, 1080, "en"), (1920, 1080, "zh")):
            context: Any = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            token = session_token(settings, "on-call", "li.na")
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base},
                                 {"name": SESSION_COOKIE, "value": token, "url": base}])  # fmt: skip
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/oncall")
            page.wait_for_selector(".sw-oc-pt", timeout=WAIT_MS)
            assert page.locator(".sw-oc-pt").count() == 3
            assert not errors, errors
            assert not foreign, foreign
            page.screenshot(path=str(ARTIFACTS / f"oncall-permits-{width}x{height}-{lang}.png"), full_page=True)
            context.close()
