"""Below the gate, nobody is not everybody: every place that acts or reads for a web user refuses when no one
is logged in (the gate refuses such requests first; these are the checks behind it). Actions say so on the
page, with no exception trace; the old stand-in name (``SW_OPERATOR``) is gone."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from dash import no_update

from plant import load_plant
from settings import Settings
from store.db import make_engine, session_scope
from store.models import AlarmCommand, Event, SecurityAudit
from tests.webutil import CALLBACK, alarm_row, callback_body, logged_in_client, request_as, seed_store

LOGIN_REQUIRED = "You are not logged in (or your session has ended): nothing was done. Please log in again."
ALARM = "FF-1.TEMP:HH"


@pytest.fixture
def app_settings(tmp_path: Path) -> tuple[Any, Settings]:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        s.add(alarm_row(ALARM, now, priority="urgent", equipment="FF-1"))
        s.add(alarm_row("TK-1.LEVEL:LL", now, area="acid", zone="tank-farm", equipment="TK-1"))
    engine.dispose()
    return create_app(settings), settings


def _stored(settings: Settings) -> tuple[int, int, int]:
    """Operator commands, musters and security audit rows in the store."""
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            return (
                s.query(AlarmCommand).count(),
                s.query(Event).filter(Event.kind == "muster").count(),
                s.query(SecurityAudit).filter(SecurityAudit.event != "login").count(),
            )
    finally:
        engine.dispose()


def _anonymous(app: Any, path: str) -> Any:
    """A request context with no session, after the server's own checks ran (they find nobody)."""
    ctx = app.server.test_request_context(path)
    ctx.push()
    app.server.preprocess_request()  # the gate: a redirect or a 401, ignored here to reach the code below it
    return ctx


def test_operator_refuses_without_a_login(app_settings: tuple[Any, Settings]) -> None:
    from auth import NotLoggedInError, Perm
    from webapp.commands import operator, who_line
    from webapp.gate import current_user

    app, settings = app_settings
    ctx = _anonymous(app, "/alarms")
    try:
        with pytest.raises(NotLoggedInError):
            operator((Perm.ACK,))
        assert current_user() is None
        assert who_line("alarm.confirm.who", "en") == LOGIN_REQUIRED
    finally:
        ctx.pop()
    with pytest.raises(NotLoggedInError):
        operator((Perm.ACK,))  # outside any request
    with request_as(app, settings, "/alarms"):
        assert operator((Perm.ACK,)).user == "test-dispatcher"
        assert "test-dispatcher" in who_line("alarm.confirm.who", "en")


def test_one_refusal_message_for_every_page() -> None:
    """The alarm list, the video feed and the on-call page tell a refused command the same way
    (``webapp.commands.refusal_message``); the on-call page words the store's reason its own way."""
    from auth import NotLoggedInError
    from store.alarms import CommandError
    from webapp.commands import REFUSALS, NotAllowedError, refusal_message

    refusals = (NotLoggedInError("nobody"), NotAllowedError("executive may not do this"), CommandError("not yours"))
    assert all(isinstance(r, REFUSALS) for r in refusals)
    texts = [refusal_message(r, "en", what="alarm ack") for r in refusals]
    assert texts == [LOGIN_REQUIRED, "Your role may not do this.", "Not sent: not yours"]
    oncall = refusal_message(CommandError("not yours"), "en", what="on-call", refused_key="oncall.result.refused")
    assert oncall == "Refused: not yours"


def test_alarm_actions_refuse_without_a_login(
    app_settings: tuple[Any, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    from auth import NotLoggedInError
    from webapp.pages import alarms

    app, settings = app_settings
    pending = {"action": "ack", "ids": [ALARM]}
    ctx = _anonymous(app, "/alarms")
    try:
        assert alarms._may("ack") is False and alarms._may("shelve") is False
        with pytest.raises(NotLoggedInError):
            alarms.submit(pending, "checked", None, int(time.time() * 1000))
        with caplog.at_level(logging.WARNING):
            out = alarms.confirm(1, pending, "checked", None)
        assert out == (True, LOGIN_REQUIRED, no_update, no_update)  # the dialog says so
        assert not any(r.exc_info for r in caplog.records)  # a refusal, not a trace
    finally:
        ctx.pop()
    assert _stored(settings) == (0, 0, 0)
    with request_as(app, settings, "/alarms"):
        assert alarms._may("ack") is True
        assert len(alarms.submit(pending, "checked", None, int(time.time() * 1000))) == 1


def test_video_checks_refuse_without_a_login(app_settings: tuple[Any, Settings]) -> None:
    from auth import NotLoggedInError
    from webapp.pages import video

    app, settings = app_settings
    plant = load_plant(settings.plant_file)
    ctx = _anonymous(app, "/video")
    try:
        assert video.may_view() is False and video.may_act() is False
        scope = video.scope_of(plant)
        assert scope is not None and not any(scope.admits(z.id) for z in plant.zones)  # no zone at all
        for action in ("ack", "false_positive"):
            with pytest.raises(NotLoggedInError):
                video.act(action, 1, int(time.time() * 1000))
    finally:
        ctx.pop()
    assert _stored(settings) == (0, 0, 0)
    with request_as(app, settings, "/video"):
        assert video.may_view() and video.may_act() and video.scope_of(plant) is None


def test_oncall_page_refuses_without_a_login(
    app_settings: tuple[Any, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    from auth import NotLoggedInError
    from webapp.live import oncall as data
    from webapp.pages import oncall

    app, settings = app_settings
    ctx = _anonymous(app, "/oncall")
    try:
        alerts, _snap = data.alerts_now(data.current_principal())
        assert alerts == []  # not every area's alerts
        assert oncall.refresh(1, None, None)[2] == LOGIN_REQUIRED
        assert LOGIN_REQUIRED in str(oncall.layout())
        with pytest.raises(NotLoggedInError):
            oncall.acknowledge(ALARM, "on my way", int(time.time() * 1000))
        with caplog.at_level(logging.WARNING):
            out = oncall.confirm(1, {"id": ALARM}, "on my way")
        assert out == (True, LOGIN_REQUIRED, no_update, no_update)
        assert not any(r.exc_info for r in caplog.records)
    finally:
        ctx.pop()
    assert _stored(settings) == (0, 0, 0)
    with request_as(app, settings, "/oncall", "on-call"):
        alerts, _snap = data.alerts_now(data.current_principal())
        assert {a.id for a in alerts} >= {ALARM}


def test_personnel_page_and_muster_refuse_without_a_login(app_settings: tuple[Any, Settings]) -> None:
    from store import people
    from webapp.live import personnel as data
    from webapp.live.personnel import names_visible
    from webapp.pages import personnel
    from webapp.shell.alarm_banner import viewer_banner

    app, settings = app_settings
    ctx = _anonymous(app, "/personnel")
    try:
        assert data.current_viewer() is None
        assert personnel.do_muster("declare", "drill", "en") == (LOGIN_REQUIRED, False)
        assert personnel.do_muster("end", None, "en") == (LOGIN_REQUIRED, False)
        assert LOGIN_REQUIRED in str(personnel.layout())  # not the page with everybody's names
        with pytest.raises(people.NoViewerError):
            data.live(None)
        assert names_visible() is False
        assert viewer_banner({"counts": {"urgent": 3}, "unacked": 3, "tone": "urgent", "newest": None}) is None
    finally:
        ctx.pop()
    assert _stored(settings) == (0, 0, 0)
    with request_as(app, settings, "/personnel"):
        assert names_visible() is True


def test_store_people_refuses_no_viewer(app_settings: tuple[Any, Settings]) -> None:
    from engine import exposure as exp
    from store import people

    _app, settings = app_settings
    plant = load_plant(settings.plant_file)
    now = int(time.time() * 1000)
    hour = 3_600_000
    with pytest.raises(people.NoViewerError):
        people.access(None)
    assert issubclass(people.NoViewerError, people.NotAllowedError)
    assert people.access(people.SYSTEM) is people.Access.FULL and people.SYSTEM.user == "system"
    with pytest.raises(people.NoViewerError):
        people.identities(plant, None)
    with pytest.raises(people.NoViewerError):
        people.identity(plant, plant.badges[0].id, None)
    with pytest.raises(people.NoViewerError):
        people.search(plant, "", None)  # even an empty query
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            calls = [
                lambda: people.live_people(s, plant, now, None),
                lambda: people.violation_feed(s, now, None),  # refused even with no violation stored
                lambda: people.violations_between(s, now - hour, now, None),
                lambda: people.trajectory(s, plant, plant.badges[0].id, now - hour, now, None),
                lambda: people.playback(s, plant, now - hour, now, viewer=None),
                lambda: people.heatmap(s, plant, now - hour, now, viewer=None),
                lambda: people.exposure(s, plant, [exp.Window("A", now - hour, now)], None),
                lambda: people.muster_view(s, plant, now, None),  # refused even with no muster
            ]
            for call in calls:
                with pytest.raises(people.NoViewerError):
                    call()
            with pytest.raises(TypeError):
                people.playback(s, plant, now - hour, now)  # type: ignore[call-arg]  # the viewer is required
            with pytest.raises(TypeError):
                people.heatmap(s, plant, now - hour, now)  # type: ignore[call-arg]
            assert people.live_people(s, plant, now, people.SYSTEM).people is not None
    finally:
        engine.dispose()


def test_exposure_csv_without_a_viewer_is_401(app_settings: tuple[Any, Settings]) -> None:
    app, _settings = app_settings
    view = app.server.view_functions["personnel_exposure_csv"]
    ctx = _anonymous(app, "/personnel/exposure.csv?shift=all&levels=all")
    try:
        resp = view()
    finally:
        ctx.pop()
    assert resp.status_code == 401 and "not logged in" in resp.get_data(as_text=True)


def test_sw_operator_has_no_effect_on_who_is_recorded(
    app_settings: tuple[Any, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    from settings import get_settings

    monkeypatch.setenv("SW_OPERATOR", "wang.li")
    get_settings.cache_clear()
    try:
        assert "operator" not in Settings.model_fields and not hasattr(get_settings(), "operator")
    finally:
        get_settings.cache_clear()
    app, settings = app_settings
    nobody = app.server.test_client()
    nobody.get("/_dash-dependencies")  # Dash sets itself up on the first request
    key = next(k for k in app.callback_map if "alarms-sent." in k and "callback" in app.callback_map[k])
    spec = app.callback_map[key]
    values: dict[str, Any] = {
        "alarms-modal-confirm": 1,
        "alarms-pending": {"action": "ack", "ids": [ALARM]},
        "alarms-modal-comment": "checked",
    }

    def body() -> dict[str, Any]:
        def entries(deps: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{"id": d["id"], "property": d["property"], "value": values.get(d["id"])} for d in deps]

        return callback_body(key, entries(spec["inputs"]), entries(spec["state"]), ["alarms-modal-confirm.n_clicks"])

    assert nobody.post(CALLBACK, json=body()).status_code == 401  # no session: the gate refuses first
    assert _stored(settings)[0] == 0  # and nothing was recorded under the old stand-in name
    dispatcher = logged_in_client(app, settings, "dispatcher")
    assert dispatcher.post(CALLBACK, json=body()).status_code == 200
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            assert [c.user for c in s.query(AlarmCommand)] == ["test-dispatcher"]
            audit = s.query(SecurityAudit).filter(SecurityAudit.event == "alarm_ack").one()
            assert audit.user == "test-dispatcher"
    finally:
        engine.dispose()
