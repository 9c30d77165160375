"""Out of service and return to service from the alarm detail panel, through the real alarm service; and the
alarm banner of an on-call user: only their areas' alarms, nothing of other areas sent, a link to /oncall."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plant import load_plant
from services.alarms import AlarmService
from settings import Settings
from store.db import make_engine, session_scope
from store.models import Alarm, AlarmCommand, AlarmJournal
from tests.test_alarm_pages import HOSTILE, _texts, as_callback, request_as, seed_alarms
from tests.webutil import TEST_PASSWORD, seed_store, session_token

TARGET = "TK-1.LEVEL:LL"  # acid area, high, active and unacknowledged


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Settings, int]:
    settings = seed_store(tmp_path)
    return settings, seed_alarms(settings)


def _journal(settings: Settings, alarm_id: str, kinds: tuple[str, ...]) -> list[AlarmJournal]:
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            stmt = select(AlarmJournal).where(AlarmJournal.alarm_id == alarm_id, AlarmJournal.kind.in_(kinds))
            return list(s.scalars(stmt.order_by(AlarmJournal.id)))
    finally:
        engine.dispose()


def _audit(settings: Settings, event: str) -> list[Any]:
    from auth.auditlog import AuditQuery, search

    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            rows, _total = search(s, AuditQuery(event=event))
            return [(r.user, r.address, r.target, r.detail) for r in rows]
    finally:
        engine.dispose()


def _ask(page: Any, trigger: str, shown: Any, selected: Any) -> Any:
    return as_callback(trigger, 1, page.ask, [], None, None, None, None, None, None, None, shown, selected)


def _detail(page: Any, alarm_id: str) -> tuple[Any, ...]:
    return as_callback("alarms-selected", {"id": alarm_id}, page.refresh_detail, {"id": alarm_id}, 1, True)


def test_out_of_service_and_back_through_the_alarm_service(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, now = seeded
    app = create_app(settings)
    from webapp.pages import alarms as page  # registered by the app

    db = make_engine(settings.db_url)
    service = AlarmService(load_plant(settings.plant_file), db)
    service.step(now)  # the service takes the stored alarms up
    selected = {"id": TARGET}
    with request_as(app, settings, "/alarms", environ_base={"REMOTE_ADDR": "10.9.8.7"}):
        *_, oos_disabled, back_disabled = _detail(page, TARGET)
        assert (oos_disabled, back_disabled) == (False, True)  # in service: it may be taken out, not returned
        pending, is_open, title, _body, no_duration, label, value, error = _ask(page, "alarms-detail-oos", {}, selected)
        assert pending == {"action": "out_of_service", "ids": [TARGET]} and is_open is True
        assert title == "Take 1 alarm(s) out of service?" and no_duration is True
        assert label == "Reason (required)" and (value, error) == ("", "")
        # the reason is required: the dialog stays open and says so, nothing is queued
        still_open, err, *_ = page.confirm(1, pending, "   ", None)
        assert still_open is True and err == "Please give a reason."
        is_open, err, sent, note = page.confirm(1, pending, f"sensor replaced {HOSTILE}", None)
        assert is_open is False and err == "" and len(sent["ids"]) == 1 and sent["action"] == "out_of_service"
        assert "Out of service" in _texts(note)[0]

    service.step(now + 2000)  # the alarm service applies the command and journals it
    rows = _journal(settings, TARGET, ("out_of_service", "in_service"))
    assert [(r.kind, r.user, r.address, r.comment) for r in rows] == [
        ("out_of_service", "test-dispatcher", "10.9.8.7", f"sensor replaced {HOSTILE}")
    ]
    with session_scope(db) as s:
        a = s.get(Alarm, TARGET)
        assert a is not None and a.out_of_service is True
        cmds = list(s.scalars(select(AlarmCommand).order_by(AlarmCommand.id)))
    assert [(c.action, c.result) for c in cmds] == [("out_of_service", "ok")]
    assert _audit(settings, "alarm_out_of_service") == [
        ("test-dispatcher", "10.9.8.7", TARGET, f"sensor replaced {HOSTILE}")
    ]

    with request_as(app, settings, "/alarms", environ_base={"REMOTE_ADDR": "10.9.8.7"}):
        report = page.report(1, sent)
        assert report[1] is None and "Out of service…: 1 done." in _texts(report[0])
        title, _info, trail, _ack_off, shelve_off, _unshelve_off, oos_off, back_off = _detail(page, TARGET)
        assert title.startswith("TK-1.LEVEL")
        assert (oos_off, back_off, shelve_off) == (True, False, True)  # out of service: only back, no shelving
        assert "Out of service" in " ".join(_texts(trail))
        pending, *_ = _ask(page, "alarms-detail-in-service", {}, selected)
        assert pending == {"action": "in_service", "ids": [TARGET]}
        assert page.confirm(1, pending, "", None)[1] == "Please give a reason."
        is_open, err, sent, _note = page.confirm(1, pending, "loop checked", None)
        assert is_open is False and err == ""

    service.step(now + 4000)
    rows = _journal(settings, TARGET, ("out_of_service", "in_service"))
    assert [(r.kind, r.user, r.comment) for r in rows] == [
        ("out_of_service", "test-dispatcher", f"sensor replaced {HOSTILE}"),
        ("in_service", "test-dispatcher", "loop checked"),
    ]
    with session_scope(db) as s:
        a = s.get(Alarm, TARGET)
        assert a is not None and a.out_of_service is False
        results = [c.result for c in s.scalars(select(AlarmCommand).order_by(AlarmCommand.id))]
    assert results == ["ok", "ok"]
    assert len(_audit(settings, "alarm_in_service")) == 1
    db.dispose()


def test_service_actions_need_the_shelve_permission(seeded: tuple[Settings, int]) -> None:
    """The server checks the action's own permission: an on-call user (acknowledge only) may not take an
    alarm out of service even with a hand-made request; nothing is queued."""
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    from webapp.pages import alarms as page

    with oncall_request(app, settings, "oc-acid", ["acid"]):
        for action in ("out_of_service", "in_service", "shelve"):
            still_open, err, *_ = page.confirm(1, {"action": action, "ids": [TARGET]}, "reason", "3600")
            assert still_open is True and err == "Your role may not do this."
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert s.scalar(select(AlarmCommand.id).limit(1)) is None
    engine.dispose()


# --- the banner of an on-call user -------------------------------------------------------------------------


@contextmanager
def oncall_request(app: Any, settings: Settings, name: str, areas: list[str] | None) -> Iterator[None]:
    from auth.users import add_user, get_user
    from webapp.gate import SESSION_COOKIE

    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        if get_user(s, name) is None:
            add_user(s, name, "on-call", TEST_PASSWORD, actor="tests", areas=areas)
    engine.dispose()
    token = session_token(settings, "on-call", name)
    with app.server.test_request_context("/oncall", headers={"Cookie": f"{SESSION_COOKIE}={token}"}):
        assert app.server.preprocess_request() is None
        yield


def _numbers(counts: list[Any]) -> dict[str, int]:
    return {c.className.split()[1]: int(c.children[1].children) for c in counts}


def _links(component: Any) -> list[str]:
    found = []
    href = getattr(component, "href", None)
    if isinstance(href, str):
        found.append(href)
    children = getattr(component, "children", None)
    for c in children if isinstance(children, list) else [children] if children is not None else []:
        found += _links(c)
    return found


def test_oncall_banner_shows_only_their_areas(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app
    from webapp.shell.banner_callbacks import refresh_banner
    from webapp.shell.layout import alarm_banner as shell_banner

    settings, _now = seeded
    app = create_app(settings)
    plant = load_plant(settings.plant_file)

    # smelting: only the urgent furnace alarm is unacknowledged and annunciated there
    with oncall_request(app, settings, "oc-smelting", ["smelting"]):
        counts, newest, data = refresh_banner(1, None)
        assert _numbers(counts) == {"sw-prio-urgent": 1, "sw-prio-high": 0, "sw-prio-medium": 0, "sw-prio-low": 0}
        assert data["unacked"] == 1 and data["tone"] == "urgent"
        assert "FF-1.TEMP" in _texts(newest)
        sent = json.dumps([c.to_plotly_json() for c in counts + newest] + [data], default=str)
        for other in ("P001", "TK-1", "GD-AP-1", "STK-1", HOSTILE, "javascript:"):
            assert other not in sent, other  # nothing of the acid area leaves the server
        banner = shell_banner("en", plant)
        assert _links(banner) == ["/oncall"]
        page_json = json.dumps(banner.to_plotly_json(), default=str)
        assert "P001" not in page_json and "TK-1" not in page_json

    # acid: the violation (newest) and the tank, detector and stack alarms
    with oncall_request(app, settings, "oc-acid", ["acid"]):
        counts, newest, data = refresh_banner(1, None)
        assert _numbers(counts) == {"sw-prio-urgent": 0, "sw-prio-high": 2, "sw-prio-medium": 1, "sw-prio-low": 1}
        assert data["tone"] == "high" and "P001" in _texts(newest)
        assert "FF-1.TEMP" not in json.dumps([c.to_plotly_json() for c in counts + newest], default=str)

    # an area with no alarms: nothing, and no alarm of another area
    with oncall_request(app, settings, "oc-none", ["no-such-area"]):
        counts, newest, data = refresh_banner(1, None)
        assert data["unacked"] == 0 and data["tone"] is None and sum(_numbers(counts).values()) == 0
        assert "P001" not in json.dumps([c.to_plotly_json() for c in newest], default=str)

    # on call without areas: every area, still taken to /oncall
    with oncall_request(app, settings, "oc-all", None):
        _counts, _newest, data = refresh_banner(1, None)
        assert data["unacked"] == 5
        assert _links(shell_banner("en", plant)) == ["/oncall"]

    # a dispatcher: the whole plant, taken to the list
    with request_as(app, settings, "/"):
        _counts, _newest, data = refresh_banner(1, None)
        assert data["unacked"] == 5
        assert _links(shell_banner("en", plant)) == ["/alarms"]


def test_banner_for_areas_filters_the_shared_summary(seeded: tuple[Settings, int]) -> None:
    """The per-area data of the one shared summary adds up to the plant-wide counts."""
    from store.alarm_views import banner_for_areas, banner_summary

    settings, now = seeded
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        summary = banner_summary(s, now).as_dict()
    engine.dispose()
    assert set(summary["areas"]) == {"smelting", "acid"}
    everything = banner_for_areas(summary, list(summary["areas"]))
    assert everything is not None
    assert everything["counts"] == summary["counts"] and everything["newest"]["id"] == summary["newest"]["id"]
    assert banner_for_areas(summary, None) is summary
    assert banner_for_areas(None, ["acid"]) is None
    assert banner_for_areas({"counts": {"urgent": 3}}, ["acid"])["unacked"] == 0  # type: ignore[index]
