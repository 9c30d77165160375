"""The on-call page (``/oncall``) on a real store through the real app and its authorization: my alerts (my
areas, unacknowledged first, newest first), the zone map and nearest camera, headcount, acknowledge with a
comment restricted to the user's areas on the server (a hand-made request for another area's alarm is
refused, nothing is queued), the alarm service applies an accepted one, the refresh sends nothing or only the
changed cards, the on-call role lands on /oncall after login, hostile text stays text."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from auth.policy import Principal, Role
from plant import load_plant
from settings import Settings
from store.alarm_views import AlarmView
from store.alarms import CommandError, submit_command
from store.db import make_engine, migrate, session_scope
from store.models import Alarm, AlarmCommand, SecurityAudit
from tests.webutil import (
    CALLBACK,
    MIN,
    MINI_PLANT,
    TEST_PASSWORD,
    alarm_row,
    callback_body,
    callback_key,
    router_body,
    run_alarm_service,
    seed_store,
    session_token,
)

HOSTILE = "<img src=x onerror=alert(1)>"


def oncall_plant(tmp_path: Path, hostile: bool = False) -> Path:
    """The mini plant with three cameras (and, if asked, hostile names on a zone and a camera)."""
    raw = yaml.safe_load(MINI_PLANT.read_text())
    raw["cameras"] = [
        {
            "id": "CAM-HALL",
            "name": "Smelter hall east",
            "zone": "smelter-hall",
            "position": [140, 240, 12],
            "yaw_deg": 180,
            "fov_deg": 70,
        },
        {
            "id": "CAM-ACID",
            "name": "Acid plant north",
            "zone": "acid-plant",
            "position": [300, 245, 10],
            "yaw_deg": -90,
            "fov_deg": 70,
        },
        {
            "id": "CAM-GATE",
            "name": "Main gate",
            "zone": "office",
            "position": [200, 5, 6],
            "yaw_deg": 90,
            "fov_deg": 60,
        },
    ]
    if hostile:
        raw["zones"][2]["name"] = f"Acid {HOSTILE}"
        raw["cameras"][1]["name"] = f"Cam {HOSTILE} javascript:alert(2)"
    path = tmp_path / "oncall_plant.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def alarm_rows(now: int) -> list[Alarm]:
    return [
        alarm_row("FF-1.TEMP:HH", now, priority="urgent", equipment="FF-1", value=1362.0, limit=1340.0),
        alarm_row(
            "FF-1.TEMP:H", now, equipment="FF-1", acked=True, acked_by="li", acked_at=now - MIN, activated_at=now - MIN
        ),
        alarm_row(
            "TK-1.LEVEL:LL",
            now,
            area="acid",
            zone="tank-farm",
            equipment="TK-1",
            value=3.0,
            activated_at=now - 20 * MIN,
        ),
        alarm_row(
            "STK-1.DUST:H",
            now,
            priority="low",
            area="acid",
            zone="acid-plant",
            equipment="STK-1",
            activated_at=now - 2 * MIN,
        ),
        alarm_row("AP-1.SO2:H", now, priority="medium", area="acid", zone="acid-plant", shelved_until=now + 60 * MIN),
        alarm_row(
            "violation:1",
            now,
            source_type="personnel",
            condition="forbidden",
            source="P001",
            badge="P001",
            area="acid",
            zone="tank-farm",
            message=f"{HOSTILE} javascript:alert(1)",
            activated_at=now - 3 * MIN,
        ),
    ]


def seed(tmp_path: Path, hostile: bool = False) -> tuple[Settings, int]:
    settings = seed_store(tmp_path, oncall_plant(tmp_path, hostile))
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        s.add_all(alarm_rows(now))
    engine.dispose()
    return settings, now


def add_oncall(settings: Settings, name: str, areas: list[str] | None) -> str:
    """An on-call user with ``areas``; a session token for it."""
    from auth.users import add_user

    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        add_user(s, name, "on-call", TEST_PASSWORD, actor="tests", areas=areas)
    engine.dispose()
    return session_token(settings, "on-call", name)


def client_for(app: Any, token: str) -> Any:
    from webapp.gate import SESSION_COOKIE

    c = app.server.test_client()
    c.set_cookie(SESSION_COOKIE, token)
    assert c.get("/_dash-dependencies").status_code == 200  # Dash sets its callbacks up on the first request
    return c


def post(client: Any, app: Any, key: str, inputs: list[Any], state: list[Any], changed: list[str]) -> Any:
    return client.post(CALLBACK, json=callback_body(key, inputs, state, changed))


def confirm(client: Any, app: Any, alarm_id: str, comment: str) -> Any:
    key = callback_key(app, "oncall-sent.data", "oncall-modal-error")
    return post(
        client,
        app,
        key,
        [{"id": "oncall-modal-confirm", "property": "n_clicks", "value": 1}],
        [
            {"id": "oncall-pending", "property": "data", "value": {"id": alarm_id}},
            {"id": "oncall-modal-comment", "property": "value", "value": comment},
        ],
        ["oncall-modal-confirm.n_clicks"],
    )


def refresh(client: Any, app: Any, shown: Any, n: int = 1) -> Any:
    key = callback_key(app, "oncall-list.children")
    return post(
        client,
        app,
        key,
        [
            {"id": "shell-tick", "property": "n_intervals", "value": n},
            {"id": "oncall-sent", "property": "data", "value": None},
        ],
        [{"id": "oncall-shown", "property": "data", "value": shown}],
        ["shell-tick.n_intervals"],
    )


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every component dict in a Dash JSON tree."""
    out: list[dict[str, Any]] = []
    if isinstance(node, list):
        for n in node:
            out += _walk(n)
    elif isinstance(node, dict):
        if "type" in node and "props" in node:
            out.append(node)
            out += _walk(node["props"].get("children"))
        else:
            for v in node.values():
                out += _walk(v)
    return out


def _cards(children: Any) -> list[dict[str, Any]]:
    return [c for c in _walk(children) if "sw-oc-card" in str(c["props"].get("className", ""))]


def _texts(node: Any) -> list[str]:
    out: list[str] = []
    for c in _walk(node):
        ch = c["props"].get("children")
        if isinstance(ch, str):
            out.append(ch)
        elif isinstance(ch, list):
            out += [x for x in ch if isinstance(x, str)]
    return out


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Settings, int]:
    return seed(tmp_path)


# --- data ----------------------------------------------------------------------------------------------------


def _view(aid: str, **kw: Any) -> dict[str, Any]:
    base = dict(
        id=aid,
        state="active_unacked",
        source_type="process",
        condition="H",
        source=aid,
        priority="high",
        area="smelting",
        zone="smelter-hall",
        equipment=None,
        badge=None,
        camera=None,
        active=True,
        acked=False,
        value=None,
        limit=None,
        activated_at=1000,
        returned_at=None,
        acked_at=None,
        acked_by=None,
        shelved_until=None,
        shelved_by=None,
        shelve_reason=None,
        message="",
        updated_at=1000,
    )
    base.update(kw)
    return base


def test_my_alerts_are_mine_unacked_first_newest_first() -> None:
    from webapp.live.oncall import my_alerts

    snap = {
        "alarms": [
            _view("old-unacked", activated_at=1000, priority="urgent"),
            _view("new-acked", state="active_acked", acked=True, activated_at=9000),
            _view("new-unacked", activated_at=5000, priority="low"),
            _view("returned", state="returned_unacked", active=False, activated_at=3000),
            _view("shelved", state="shelved", activated_at=8000),
            _view("suppressed", state="suppressed", activated_at=8000),
            _view("acid", area="acid", zone="acid-plant", activated_at=7000),
        ]
    }
    mine = [a.id for a in my_alerts(snap, ("smelting",))]
    assert mine == ["new-unacked", "returned", "old-unacked", "new-acked"]
    everyone = [a.id for a in my_alerts(snap, ())]
    assert everyone == ["acid", "new-unacked", "returned", "old-unacked", "new-acked"]
    assert my_alerts(snap, ("no-such-area",)) == []


def test_zone_map_is_a_small_svg_with_the_zone_highlighted(tmp_path: Path) -> None:
    from webapp.live.oncall import zone_map

    plant = load_plant(oncall_plant(tmp_path, hostile=True))
    url = zone_map(plant, "acid-plant")
    assert url.startswith("data:image/svg+xml;base64,")
    svg = base64.b64decode(url.split(",", 1)[1]).decode()
    assert len(url) < 4000
    assert svg.count("<polygon") == len(plant.zones)
    assert svg.count('fill="#ffc53d"') == 1  # one zone highlighted
    # acid-plant: x 260..360, y 150..250 on a 400 x 300 site, 320 px wide, y flipped
    assert 'points="208.0,120.0 288.0,120.0 288.0,40.0 208.0,40.0"' in svg
    assert "Acid" not in svg and "<img" not in svg  # coordinates only, never plant text
    plain = base64.b64decode(zone_map(plant, "no-such-zone").split(",", 1)[1]).decode()
    assert 'fill="#ffc53d"' not in plain and plain.count("<polygon") == len(plant.zones)


def test_nearest_camera(tmp_path: Path) -> None:
    from webapp.live.oncall import nearest_camera, snapshot_url

    plant = load_plant(oncall_plant(tmp_path))
    a = AlarmView.from_dict(_view("x", zone="acid-plant", area="acid", equipment="STK-1"))
    assert nearest_camera(plant, a).id == "CAM-ACID"  # type: ignore[union-attr]
    own = AlarmView.from_dict(_view("x", zone="acid-plant", camera="CAM-GATE"))
    assert nearest_camera(plant, own).id == "CAM-GATE"  # type: ignore[union-attr]
    # tank farm (centre 310, 70) has no camera of its own: the nearest of all, the gate's (128 m; acid 175 m)
    tank = AlarmView.from_dict(_view("x", zone="tank-farm", area="acid", equipment=None))
    assert nearest_camera(plant, tank).id == "CAM-GATE"  # type: ignore[union-attr]
    nowhere = AlarmView.from_dict(_view("x", zone=None, area=None))
    assert nearest_camera(plant, nowhere) is None
    assert snapshot_url(nearest_camera(plant, a)) is None  # no camera images yet: the page shows a placeholder


# --- the command path: areas enforced where commands are queued ------------------------------------------------


def test_submit_command_keeps_to_the_given_areas(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    now = int(time.time() * 1000)
    with session_scope(engine) as s:
        s.add_all(alarm_rows(now))
    try:
        with session_scope(engine) as s:
            with pytest.raises(CommandError, match="not in your areas"):
                submit_command(s, ["STK-1.DUST:H", "FF-1.TEMP:HH"], "ack", "oc", areas=("acid",), now_ms=now)
            with pytest.raises(CommandError, match="unknown alarm"):
                submit_command(s, ["NO.SUCH:H"], "ack", "oc", areas=("acid",), now_ms=now)
            with pytest.raises(CommandError, match="areas must be a list"):
                submit_command(s, ["STK-1.DUST:H"], "ack", "oc", areas="acid", now_ms=now)  # type: ignore[arg-type]
            assert s.scalar(select(AlarmCommand.id)) is None  # nothing queued by a refused submission
            ok = submit_command(s, ["STK-1.DUST:H", "violation:1"], "ack", "oc", areas=("acid",), now_ms=now)
            assert len(ok) == 2
            # no restriction: other callers (the control room, services) are unchanged
            assert len(submit_command(s, ["FF-1.TEMP:HH", "NO.SUCH:H"], "ack", "disp", now_ms=now)) == 2
    finally:
        engine.dispose()


def test_command_areas_of_each_role() -> None:
    assert Principal.of(1, "a", Role.ON_CALL, areas=["acid"]).command_areas() == ("acid",)
    assert Principal.of(1, "a", Role.ON_CALL).command_areas() is None  # no areas: every area
    assert Principal.of(1, "a", Role.DISPATCHER, areas=["acid"]).command_areas() is None


# --- the page through the app ------------------------------------------------------------------------------------


def test_page_shows_my_alerts_and_headcount(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-acid", ["acid"]))
    page = oc.get("/oncall")
    assert page.status_code == 200 and b"_dash-renderer" in page.data
    layout = oc.post(CALLBACK, json=router_body("/oncall"))
    assert layout.status_code == 200
    assert "Areas: Acid plant" in layout.get_data(as_text=True)
    resp = refresh(oc, app, None)
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    cards = _cards(out["oncall-list"]["children"])
    order = [c["props"]["data-alarm"] for c in cards]
    # acid only, no shelved alarm; unacknowledged, newest first
    assert order == ["STK-1.DUST:H", "violation:1", "TK-1.LEVEL:LL"]
    first = cards[0]
    assert "sw-prio-low" in first["props"]["className"] and "sw-oc-unacked" in first["props"]["className"]
    texts = _texts(first)
    assert "Camera: Acid plant north" in texts and "No snapshot yet" in texts
    imgs = [c for c in _walk(first) if c["type"] == "Img"]
    assert imgs and imgs[0]["props"]["src"].startswith("data:image/svg+xml;base64,")
    buttons = [c for c in _walk(first) if c["props"].get("id") == {"type": "oncall-ack", "index": "STK-1.DUST:H"}]
    assert len(buttons) == 1
    # an old row's stored sentence about a person is not shown to an on-call user (it may name them, and
    # store.people gives the on-call role no names): the badge id says who
    hostile = next(c for c in cards if c["props"]["data-alarm"] == "violation:1")
    assert f"{HOSTILE} javascript:alert(1)" not in _texts(hostile) and "P001" in _texts(hostile)
    head = out["oncall-head"]["children"]
    assert _texts(head)[0] == "0" or head[0]["props"]["children"] == "0"  # nobody on site in the seeded store
    # nothing changed: nothing sent
    shown = out["oncall-shown"]["data"]
    assert refresh(oc, app, shown, 2).status_code == 204
    # what a hand-made request says the browser shows is not trusted: garbage gets the whole list again
    for bad in ({"cards": [["x"]]}, {"cards": "x"}, {"cards": [[1, 2, 3]]}, [1], "x", {"cards": [[HOSTILE, None]]}):
        again = refresh(oc, app, bad, 3)
        assert again.status_code == 200, bad
        assert len(_cards(again.get_json()["response"]["oncall-list"]["children"])) == 3


def test_user_without_areas_sees_every_area(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-all", None))
    out = refresh(oc, app, None).get_json()["response"]
    order = [c["props"]["data-alarm"] for c in _cards(out["oncall-list"]["children"])]
    assert order == ["STK-1.DUST:H", "violation:1", "FF-1.TEMP:HH", "TK-1.LEVEL:LL", "FF-1.TEMP:H"]


def test_refresh_sends_only_the_changed_card(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app
    from webapp.live.alarms import alarm_snapshot

    settings, now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-acid2", ["acid"]))
    shown = refresh(oc, app, None).get_json()["response"]["oncall-shown"]["data"]
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:  # the tank level alarm returns to normal (still unacknowledged)
        a = s.get(Alarm, "TK-1.LEVEL:LL")
        assert a is not None
        a.active, a.returned_at, a.updated_at = False, now, now
    engine.dispose()
    with app.server.app_context():
        alarm_snapshot.expire()
    resp = refresh(oc, app, shown, 2)
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    patch = out["oncall-list"]["children"]
    assert patch.get("__dash_patch_update") == "__dash_patch_update"
    ops = patch["operations"]
    assert [op["location"] for op in ops] == [[2]]  # the third card only
    assert "oncall-head" not in out  # headcount unchanged: not sent
    assert "Returned, unacknowledged" in json.dumps(ops) or "returned_unacked" in json.dumps(ops)


def test_acknowledge_in_my_area_is_queued_applied_and_audited(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-acid3", ["acid"]))
    resp = confirm(oc, app, "STK-1.DUST:H", "on my way <b>5 min</b>")
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    assert out["oncall-modal"]["is_open"] is False
    sent = out["oncall-sent"]["data"]
    assert len(sent["ids"]) == 1
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            cmd = s.scalars(select(AlarmCommand)).one()
            assert (cmd.alarm_id, cmd.action, cmd.user, cmd.comment) == (
                "STK-1.DUST:H",
                "ack",
                "oc-acid3",
                "on my way <b>5 min</b>",
            )
            assert cmd.address
            audit = s.scalars(select(SecurityAudit).where(SecurityAudit.event == "alarm_ack")).one()
            assert audit.user == "oc-acid3" and audit.target == "STK-1.DUST:H"
        run_alarm_service(settings)
        with session_scope(engine) as s:
            a = s.get(Alarm, "STK-1.DUST:H")
            assert a is not None and a.acked and a.acked_by == "oc-acid3"
    finally:
        engine.dispose()
    # the page reports the service's answer
    report_key = next(k for k in app.callback_map if "oncall-result.children" in k and "oncall-modal" not in k)
    rep = post(
        oc,
        app,
        report_key,
        [{"id": "shell-tick", "property": "n_intervals", "value": 3}],
        [{"id": "oncall-sent", "property": "data", "value": sent}],
        ["shell-tick.n_intervals"],
    )
    assert rep.status_code == 200
    assert "Acknowledged: STK-1.DUST:H" in rep.get_data(as_text=True)


def test_hand_made_acknowledge_of_another_areas_alarm_is_refused(seeded: tuple[Settings, int]) -> None:
    """The browser never offers it (the card is not shown), so this is a forged request: refused on the server,
    nothing queued, nothing audited as an acknowledge."""
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-acid4", ["acid"]))
    for target in ("FF-1.TEMP:HH", "NO.SUCH:ALARM", "<script>alert(1)</script>"):
        resp = confirm(oc, app, target, "forged")
        assert resp.status_code == 200
        out = resp.get_json()["response"]
        assert "oncall-sent" not in out
        assert out["oncall-modal-error"]["children"].startswith("Refused:")
    # other roles: a dispatcher may not use this page's callbacks at all, an executive may not acknowledge
    from tests.webutil import logged_in_client

    for role in ("dispatcher", "executive"):
        assert confirm(logged_in_client(app, settings, role), app, "FF-1.TEMP:HH", "x").status_code == 403
    # no session
    assert confirm(app.server.test_client(), app, "FF-1.TEMP:HH", "x").status_code == 401
    # the control room's own acknowledge path keeps to the areas too (defence in depth)
    from webapp.pages.alarms import submit as control_room_submit

    with app.server.test_request_context("/_dash-update-component", method="POST"):
        import flask

        flask.g.sw_user = Principal.of(99, "oc-acid4", Role.ON_CALL, areas=["acid"])
        with pytest.raises(CommandError, match="not in your areas"):
            control_room_submit({"action": "ack", "ids": ["FF-1.TEMP:HH"]}, "", None, int(time.time() * 1000))
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert s.scalar(select(AlarmCommand.id)) is None
        assert s.scalar(select(SecurityAudit.id).where(SecurityAudit.event == "alarm_ack")) is None
    engine.dispose()


def test_bad_input_to_acknowledge(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-acid5", ["acid"]))
    too_long = confirm(oc, app, "STK-1.DUST:H", "x" * 501).get_json()["response"]
    assert "longer than 500" in too_long["oncall-modal-error"]["children"]
    control = confirm(oc, app, "STK-1.DUST:H", "bad\x00text").get_json()["response"]
    assert "control characters" in control["oncall-modal-error"]["children"]
    not_text = confirm(oc, app, "STK-1.DUST:H", {"x": 1}).get_json()["response"]  # type: ignore[arg-type]
    assert "must be text" in not_text["oncall-modal-error"]["children"]
    # no pending alert: nothing happens
    key = callback_key(app, "oncall-sent.data", "oncall-modal-error")
    empty = post(
        oc,
        app,
        key,
        [{"id": "oncall-modal-confirm", "property": "n_clicks", "value": 1}],
        [
            {"id": "oncall-pending", "property": "data", "value": None},
            {"id": "oncall-modal-comment", "property": "value", "value": None},
        ],
        ["oncall-modal-confirm.n_clicks"],
    )
    assert empty.status_code == 204


def test_on_call_lands_on_oncall_after_login(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    add_oncall(settings, "oc-login", ["acid"])
    c = app.server.test_client()
    resp = c.post("/login", data={"username": "oc-login", "password": TEST_PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"] == "/oncall"
    assert c.get("/oncall").status_code == 200
    assert c.get("/alarms").status_code == 403  # nothing of the control room


def test_text_responses_are_gzipped_for_browsers_that_accept_it(seeded: tuple[Settings, int]) -> None:
    """What keeps a phone's first load small: scripts and styles gzipped (same bytes once decoded), a weak ETag
    that still answers 304, and nothing compressed for a client that did not ask."""
    import gzip
    import re

    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-gzip", ["acid"]))
    index = oc.get("/oncall").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/(?:_dash-component-suites|assets)/[^"]+)"', index)
    assert any("dash_renderer" in u for u in urls) and any("70_oncall.css" in u for u in urls)
    plain_total = zipped_total = 0
    for url in urls:
        plain = oc.get(url)
        zipped = oc.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert plain.status_code == zipped.status_code == 200, url
        assert "Content-Encoding" not in plain.headers
        assert "Accept-Encoding" in zipped.headers.get("Vary", "")
        body = zipped.data
        if zipped.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert body == plain.data, url
        plain_total += len(plain.data)
        zipped_total += len(zipped.data)
    assert zipped_total * 3 < plain_total
    css = next(u for u in urls if "70_oncall.css" in u)
    first = oc.get(css, headers={"Accept-Encoding": "gzip"})
    etag = first.headers.get("ETag")
    if etag:
        assert etag.startswith("W/")
        again = oc.get(css, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304


def test_page_in_chinese(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    oc = client_for(app, add_oncall(settings, "oc-zh", ["acid"]))
    oc.set_cookie("sw_lang", "zh")
    out = refresh(oc, app, None).get_json()["response"]
    texts = [x for c in _cards(out["oncall-list"]["children"]) for x in _texts(c)]
    assert "确认" in texts and "暂无快照" in texts and "区域内 0 人" in texts
    assert "Acknowledge" not in texts
    assert _texts(out["oncall-head"]["children"]) == ["0", "人在厂内"]
