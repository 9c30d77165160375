"""The users page (/admin/users): an administrator sets a user's own badge on the screen, checked against the plant
file's people's badges (an unknown one, or a vehicle's, refused saying so, nothing changed), audited with the badge
before and after, blank takes it away; the on-call phone then lists that badge's permits. Only administrators see
the page or may set a badge. Hostile text typed as a badge shows as text. Screenshots in English and Chinese at
1920x1080 and 390x844."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from auth.auditlog import BADGE_CHANGED
from auth.users import UnknownBadgeError, get_user, set_badge
from plant import load_plant
from plant.schema import BadgeKind
from settings import Settings
from store.db import make_engine, session_scope
from store.models import SecurityAudit
from tests.webutil import browser, callback_key, logged_in_client, make_user, page_body, screens, seed_store, serve_app

TARGET = "li.ming"


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Settings]:
    from webapp.app import create_app

    settings = seed_store(tmp_path_factory.mktemp("users"))
    make_user(settings, "on-call", TARGET)
    return create_app(settings), settings


def _save(app: Any, user: str | None, badge: str | None) -> dict[str, Any]:
    key = callback_key(app, "users-badge-msg.children")
    return {
        "output": key,
        "outputs": [{"id": "users-badge-msg", "property": "children"}, {"id": "users-table", "property": "children"}],
        "inputs": [{"id": "users-save", "property": "n_clicks", "value": 1}],
        "state": [
            {"id": "users-user", "property": "value", "value": user},
            {"id": "users-badge", "property": "value", "value": badge},
        ],
        "changedPropIds": ["users-save.n_clicks"],
    }


def _post(client: Any, body: dict[str, Any]) -> tuple[int, str]:
    resp = client.post("/_dash-update-component", json=body)
    if resp.status_code != 200:
        return resp.status_code, resp.get_data(as_text=True)
    return 200, json.dumps(resp.get_json(), ensure_ascii=False)


def _state(settings: Settings) -> tuple[str | None, list[SecurityAudit]]:
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            user = get_user(s, TARGET)
            assert user is not None
            rows = list(s.scalars(select(SecurityAudit).where(SecurityAudit.event == BADGE_CHANGED)))
            s.expunge_all()
            return user.badge, rows
    finally:
        engine.dispose()


def test_an_administrator_sets_a_badge_checked_against_the_plant(app_settings: tuple[Any, Settings]) -> None:
    app, settings = app_settings
    plant = load_plant(settings.plant_file)
    person = next(b for b in plant.badges if b.kind == BadgeKind.PERSON)
    vehicle = next((b for b in plant.badges if b.kind != BadgeKind.PERSON), None)
    admin = logged_in_client(app, settings, "admin")
    # an unknown badge is refused, saying so, and nothing changes
    status, text = _post(admin, _save(app, TARGET, "X999"))
    assert status == 200 and "Badge X999 is not a person's badge in the plant file" in text
    if vehicle is not None:
        assert "is not a person" in _post(admin, _save(app, TARGET, vehicle.id))[1]
    hostile = '<img src=x onerror="alert(1)">'
    status, text = _post(admin, _save(app, TARGET, hostile))
    assert status == 200 and '"type": "Img"' not in text and "onerror" in text  # shown as text, not an element
    assert _state(settings) == (None, [])
    # a person's badge is set and audited, by whom and from where, before and after
    status, text = _post(admin, _save(app, TARGET, f"  {person.id} "))
    assert status == 200 and f"{TARGET} now has badge {person.id}" in text
    badge, rows = _state(settings)
    assert badge == person.id and len(rows) == 1
    assert (rows[0].user, rows[0].target, rows[0].data) == ("test-admin", TARGET, {"from": None, "to": person.id})
    # setting the same badge again writes nothing; blank takes it away (audited)
    _post(admin, _save(app, TARGET, person.id))
    assert len(_state(settings)[1]) == 1
    status, text = _post(admin, _save(app, TARGET, ""))
    assert status == 200 and f"{TARGET} has no badge now" in text
    badge, rows = _state(settings)
    assert badge is None and rows[-1].data == {"from": person.id, "to": None}
    # Chinese
    zh = logged_in_client(app, settings, "admin", lang="zh")
    assert "不是厂区文件中人员的定位卡" in _post(zh, _save(app, TARGET, "X999"))[1]


def test_only_administrators_see_the_page_or_set_a_badge(app_settings: tuple[Any, Settings]) -> None:
    app, settings = app_settings
    for role in ("dispatcher", "executive", "on-call"):
        client = logged_in_client(app, settings, role)
        assert _post(client, _save(app, TARGET, "P001"))[0] == 403, role
    assert _state(settings)[0] is None
    body = page_body(settings, "admin", "/admin/users")
    assert TARGET in body and "users-badges" in body


def test_the_repository_refuses_an_unknown_badge(app_settings: tuple[Any, Settings]) -> None:
    _app, settings = app_settings
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s, pytest.raises(UnknownBadgeError, match="X1"):
            set_badge(s, TARGET, "X1", known={"P001"}, actor="cli:root")
    finally:
        engine.dispose()


@pytest.mark.timeout(300)
def test_screens(app_settings: tuple[Any, Settings]) -> None:
    _app, settings = app_settings
    person = next(b for b in load_plant(settings.plant_file).badges if b.kind == BadgeKind.PERSON)
    with serve_app(settings, role="admin") as base, browser() as b:
        for page, lang in screens(b, base, "/admin/users", ".sw-users-table", "admin-users"):
            page.select_option("#users-user", TARGET)
            page.fill("#users-badge", person.id)
            page.click("#users-save")
            page.wait_for_selector(".alert-success")
            assert f"{person.id} · " in page.inner_text(".sw-users-table")  # the badge and its person's name
            page.fill("#users-badge", "X999")
            page.click("#users-save")
            page.wait_for_selector(".alert-danger")
            text = page.inner_text(".alert-danger")
            assert ("X999" in text) and (("不是" in text) if lang == "zh" else ("not a person" in text))


def test_the_command_line_checks_a_badge_against_the_plant_too(tmp_path: Path) -> None:
    """``python -m auth badge NAME [BADGE]`` and ``add --badge``: a badge not of the plant file's people refused with
    exit code 1 and nothing changed; a person's badge set and audited; none without BADGE."""
    from auth.__main__ import run
    from settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    person = next(b.id for b in load_plant(get_settings().plant_file).badges if b.kind == BadgeKind.PERSON)

    def cli(*argv: str, stdin: str = "") -> tuple[int, str]:
        out = io.StringIO()
        return run(list(argv), io.StringIO(stdin), out, db_url=url), out.getvalue()

    assert cli("add", "dora", "--role", "on-call", "--badge", "X999")[0] == 1
    assert cli("add", "dora", "--role", "on-call", "--badge", person)[0] == 0
    assert cli("badge", "dora", "NOPE")[0] == 1
    assert cli("badge", "dora") == (0, "user dora has no badge now\n")
    assert cli("badge", "dora", person) == (0, f"user dora now has badge {person}\n")
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            user = get_user(s, "dora")
            assert user is not None and user.badge == person
            changes = [r.data for r in s.scalars(select(SecurityAudit).where(SecurityAudit.event == BADGE_CHANGED))]
        assert changes == [{"from": person, "to": None}, {"from": None, "to": person}]
    finally:
        engine.dispose()
