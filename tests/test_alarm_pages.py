"""The alarm screens on a seeded store: /alarms and /alarms/kpi render with unique ids and the banner in the
shell; the banner counts and sends nothing when nothing changed; the live list filters the shared snapshot
like the SQL does; history pages; the confirmation flow turns into operator commands carrying user, time,
address and comment; hostile text stays text; the 3D scene gets alarm markers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import dash
import pytest
from dash.exceptions import PreventUpdate

from settings import Settings
from store.db import make_engine, session_scope
from store.models import Alarm, AlarmCommand, AlarmJournal
from tests.webutil import MIN, alarm_row, request_as, seed_store, session_token

HOSTILE = "<img src=x onerror=alert(1)>"
LINK = "javascript:alert(1)"


def alarm_rows(now: int) -> list[Alarm]:
    """A small plant's alarms in every state, one with hostile text, on the mini plant's tags."""
    return [
        alarm_row("FF-1.TEMP:HH", now, priority="urgent", equipment="FF-1", value=1362.0, limit=1340.0),
        alarm_row("FF-1.TEMP:H", now, priority="high", equipment="FF-1", acked=True, acked_by="li", acked_at=now - MIN),
        alarm_row("TK-1.LEVEL:LL", now, priority="high", area="acid", zone="tank-farm", equipment="TK-1", value=3.0),
        alarm_row("GD-AP-1.SO2:H", now, priority="medium", area="acid", zone="acid-plant", active=False),
        alarm_row("STK-1.DUST:H", now, priority="low", area="acid", zone="acid-plant", equipment="STK-1"),
        alarm_row("CV-1.AIR_FLOW:H", now, priority="low", zone="converter-aisle", shelved_until=now + 60 * MIN),
        alarm_row("CV-2.BATH_TEMP:H", now, priority="high", zone="converter-aisle", suppressed=True, equipment="CV-2"),
        alarm_row(
            "violation:1",
            now,
            priority="high",
            source_type="personnel",
            condition="forbidden",
            source="P001",
            badge="P001",
            area="acid",
            zone="tank-farm",
            message=f"{HOSTILE} {LINK}",
            activated_at=now - MIN,
        ),
    ]


def seed_alarms(settings: Settings, now: int | None = None) -> int:
    """Alarm rows and a journal (every alarm's activation, one ack) into the store of ``settings``."""
    now = now or int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        rows = alarm_rows(now)
        s.add_all(rows)
        for a in rows:
            j = dict(alarm_id=a.id, source_type=a.source_type, priority=a.priority, area=a.area, zone=a.zone)
            s.add(AlarmJournal(ts=a.activated_at, kind="active", active=True, acked=False, value=a.value, **j))
        j = dict(alarm_id="FF-1.TEMP:H", source_type="process", priority="high", area="smelting", zone="smelter-hall")
        s.add(AlarmJournal(ts=now - MIN, kind="ack", active=True, acked=True, user="li", address="10.1.1.5", **j))
    engine.dispose()
    return now


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Settings, int]:
    settings = seed_store(tmp_path)
    return settings, seed_alarms(settings)


def _ids(component: object) -> list[str]:
    found: list[str] = []
    if isinstance(component, list | tuple):
        for c in component:
            found += _ids(c)
        return found
    cid = getattr(component, "id", None)
    if cid is not None:
        found.append(json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else str(cid))
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str | int | float):
        found += _ids(children)
    return found


def _texts(component: object) -> list[str]:
    out: list[str] = []
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        for c in component:
            out += _texts(c)
        return out
    children = getattr(component, "children", None)
    if children is not None:
        out += _texts(children)
    return out


def as_callback(trigger: Any, value: Any, fn: Any, *args: Any) -> Any:
    """Call a Dash callback function as Dash would when ``trigger`` (an id) changed to ``value``."""
    from contextvars import copy_context

    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    tid = json.dumps(trigger, sort_keys=True, separators=(",", ":")) if isinstance(trigger, dict) else trigger
    prop = "active_page" if trigger == "alarms-pager" else "active_tab" if trigger == "alarms-view" else "n_clicks"

    def run() -> Any:
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{tid}.{prop}", "value": value}]))
        return fn(*args)

    return copy_context().run(run)


def _page(path: str) -> Any:
    return next(p for p in dash.page_registry.values() if p["path"] == path)


def test_pages_render_with_unique_ids_and_banner(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app
    from webapp.shell.layout import shell_layout

    settings, _now = seeded
    app = create_app(settings)
    with request_as(app, settings, "/"):
        shell = shell_layout()
        shell_ids = _ids(shell)
        texts = _texts(shell)
        assert "Alarms" in texts  # in the navigation
        assert "Urgent" in texts and "P001" in texts  # the banner: counts and the newest unacked (a violation)
        for path in ("/alarms", "/alarms/kpi"):
            page = _page(path)
            layout = page["layout"]()
            found = shell_ids + _ids(layout)
            dupes = [k for k in set(found) if found.count(k) > 1]
            assert not dupes, (path, dupes)
            assert "dangerously_allow_html" not in json.dumps(layout.to_plotly_json(), default=str)


def test_banner_counts_and_sends_only_changes(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app
    from webapp.live.alarms import alarm_banner
    from webapp.shell.banner_callbacks import refresh_banner

    settings, _now = seeded
    app = create_app(settings)

    with request_as(app, settings, "/"):
        counts, newest, data = refresh_banner(1, None)
        numbers = {c.className.split()[1]: int(c.children[1].children) for c in counts}
        # annunciated unacked: urgent FF-1.TEMP:HH; high TK-1 and the violation; medium the returned
        # detector; low the stack. Acked, shelved and suppressed alarms do not count.
        assert numbers == {"sw-prio-urgent": 1, "sw-prio-high": 2, "sw-prio-medium": 1, "sw-prio-low": 1}
        assert data["tone"] == "urgent" and data["unacked"] == 5
        assert "P001" in _texts(newest)  # the newest unacked alarm, its hostile message as text
        assert f"{HOSTILE} {LINK}" in _texts(newest)
        with pytest.raises(PreventUpdate):
            refresh_banner(2, data)  # nothing changed: nothing sent
        engine = make_engine(settings.db_url)
        with session_scope(engine) as s:
            for aid in ("FF-1.TEMP:HH",):
                a = s.get(Alarm, aid)
                assert a is not None
                a.acked = True
        engine.dispose()
        alarm_banner.expire()
        counts2, _newest2, data2 = refresh_banner(3, data)
        assert data2["tone"] == "high" and data2["key"] != data["key"]
        assert "sw-ab-zero" in counts2[0].className


def test_live_list_filters_and_history(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    from webapp.pages import alarms as page  # registered by the app

    with request_as(app, settings, "/alarms"):
        out = page.refresh_live(1, "live", "all", "all", "", "all", "any", None, None, None, None)
        rows, _summary, ack_text, disabled, shown, error = out
        listed = [r.to_plotly_json()["props"]["data-alarm"] for r in rows]
        assert listed[0] == "FF-1.TEMP:HH"  # urgent first
        assert set(listed) == {
            "FF-1.TEMP:HH",
            "FF-1.TEMP:H",
            "TK-1.LEVEL:LL",
            "GD-AP-1.SO2:H",
            "STK-1.DUST:H",
            "violation:1",
        }
        assert set(shown["unacked"]) == set(listed) - {"FF-1.TEMP:H"}
        assert "(5)" in ack_text and disabled is False and error == ""
        texts = _texts(rows)
        assert f"{HOSTILE} {LINK}" in texts  # a text node, not markup
        assert "1,362 / 1,340 °C" in texts
        with pytest.raises(PreventUpdate):
            page.refresh_live(2, "live", "all", "all", "", "all", "any", None, None, None, shown)
        acid = page.refresh_live(3, "live", "acid", "all", "", "all", "any", None, None, None, None)[0]
        assert {r.to_plotly_json()["props"]["data-alarm"] for r in acid} == {
            "TK-1.LEVEL:LL",
            "GD-AP-1.SO2:H",
            "STK-1.DUST:H",
            "violation:1",
        }
        shelved = page.refresh_live(4, "live", "all", "all", "shelved", "all", "any", None, None, None, None)[0]
        assert [r.to_plotly_json()["props"]["data-alarm"] for r in shelved] == ["CV-1.AIR_FLOW:H"]
        people = page.refresh_live(5, "live", "all", "all", "any", "personnel", "any", None, None, None, None)[0]
        assert [r.to_plotly_json()["props"]["data-alarm"] for r in people] == ["violation:1"]
        bad = page.refresh_live(6, "live", "all", "critical", "", "all", "any", None, None, None, None)
        assert "Filter not accepted" in bad[-1]
        custom = page.refresh_live(7, "live", "all", "all", "", "all", "custom", "not a date", None, None, None)
        assert "Filter not accepted" in custom[-1]
        # history: the journal, newest first
        table, summary, pages, active_page, _shown, error = as_callback(
            page.ids.VIEW,
            "history",
            page.refresh_history,
            "history",
            "all",
            "all",
            "",
            "all",
            "24h",
            None,
            None,
            1,
            0,
            None,
        )
        assert pages == 1 and active_page == 1 and error == ""
        assert "9 entries" in summary
        htexts = _texts(table)
        assert "li @ 10.1.1.5" in htexts


def test_confirmation_flow_sends_audited_commands(seeded: tuple[Settings, int]) -> None:
    from webapp.app import create_app

    settings, _now = seeded
    app = create_app(settings)
    from webapp.pages import alarms as page  # registered by the app

    with request_as(app, settings, "/alarms", environ_base={"REMOTE_ADDR": "10.9.8.7"}):
        shown = page.refresh_live(1, "live", "all", "all", "", "all", "any", None, None, None, None)[4]
        with pytest.raises(PreventUpdate):
            page.confirm(None, {"action": "ack", "ids": ["x"]}, None, None)
        # shelving needs a reason: the dialog stays open and says so
        still_open, error, *_ = page.confirm(1, {"action": "shelve", "ids": ["TK-1.LEVEL:LL"]}, "  ", "3600")
        assert still_open is True and "reason" in error
        bad_duration = page.confirm(1, {"action": "shelve", "ids": ["TK-1.LEVEL:LL"]}, "probe fault", "999999")
        assert bad_duration[0] is True and "Not sent" in bad_duration[1]
        forged = page.confirm(1, {"action": "delete", "ids": ["TK-1.LEVEL:LL"]}, None, None)
        assert forged[0] is True and "Not sent" in forged[1]
        is_open, error, sent, _note = page.confirm(1, {"action": "ack", "ids": shown["unacked"]}, HOSTILE, None)
        assert is_open is False and error == "" and len(sent["ids"]) == 5
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        cmds = s.query(AlarmCommand).order_by(AlarmCommand.id).all()
    engine.dispose()
    assert {c.alarm_id for c in cmds} == set(shown["unacked"])
    assert {(c.action, c.user, c.address, c.comment) for c in cmds} == {("ack", "test-dispatcher", "10.9.8.7", HOSTILE)}
    assert all(c.ts > 0 and c.done_at is None for c in cmds)  # the alarm service applies them, not the web app


def test_acting_user_is_the_logged_in_user_and_nobody_without_a_login(
    seeded: tuple[Settings, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth import NotLoggedInError, Perm
    from webapp.app import create_app
    from webapp.commands import operator
    from webapp.gate import client_address, current_user

    settings, _now = seeded
    monkeypatch.setenv("SW_OPERATOR", "wang.li")  # the old stand-in name: no longer a setting
    assert not hasattr(Settings(), "operator")
    app = create_app(settings)
    with app.server.test_request_context("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}):
        app.server.preprocess_request()  # the gate ran: nobody logged in
        with pytest.raises(NotLoggedInError):
            operator((Perm.ACK,))
        assert current_user() is None
        assert client_address() == "10.1.2.3"
    with request_as(app, settings, "/"):
        assert operator((Perm.ACK,)).user == "test-dispatcher"
    with pytest.raises(NotLoggedInError):
        operator((Perm.ACK,))  # outside a request
    assert client_address() == "unknown"  # outside a request


def test_scene_gets_alarm_markers(seeded: tuple[Settings, int]) -> None:
    from plant import load_plant
    from scene.layers import DEFAULT_LAYERS, LAYER_KEYS, alarm_markers
    from tests.webutil import MINI_PLANT
    from webapp.app import create_app
    from webapp.live.scene import live_payload

    plant = load_plant(MINI_PLANT)
    eq = {e.id: i for i, e in enumerate(plant.equipment)}
    zones = {z.id: i for i, z in enumerate(plant.zones)}
    assert "alarms" in LAYER_KEYS and "alarms" in DEFAULT_LAYERS
    settings, _now = seeded
    app = create_app(settings)

    with request_as(app, settings, "/scene"):
        live = live_payload()
    markers = {(m[6], m[7]): m for m in live["al"]}
    # FF-1: the urgent unacked HH and the acked H together, urgent, with a ring
    ff = markers[(0, eq["FF-1"])]
    assert ff[3:6] == [0, 2, 1]
    assert ff[2] == pytest.approx(plant.equipment[eq["FF-1"]].size[2] + 3)
    assert markers[(0, eq["TK-1"])][3:6] == [1, 1, 1]
    assert markers[(0, eq["STK-1"])][3:6] == [3, 1, 1]
    assert markers[(1, zones["acid-plant"])][3:6] == [2, 1, 1]  # a detector: placed in its zone
    assert markers[(1, zones["tank-farm"])][3:6] == [1, 1, 1]  # the violation
    # shelved (CV-1) and suppressed (CV-2) alarms are not drawn
    assert (0, eq["CV-1"]) not in markers and (0, eq["CV-2"]) not in markers
    assert list(live["al"][0][3:4]) == [0]  # most urgent first
    # unknown places and states are left out; bad priorities count as low
    odd = [
        {"state": "active_unacked", "priority": "??", "zone": "office", "acked": False},
        {"state": "active_unacked", "priority": "high", "zone": "nowhere", "source": "no-tag"},
        {"state": "normal", "priority": "urgent", "equipment": "FF-1"},
    ]
    assert alarm_markers(plant, odd) == [[*alarm_markers(plant, odd[:1])[0][:3], 3, 1, 1, 1, zones["office"]]]


def test_twenty_screens_cost_one_alarm_query_set(seeded: tuple[Settings, int]) -> None:
    """Banners and live lists of twenty screens in one refresh period read one shared alarm snapshot."""
    import threading

    from sqlalchemy import event

    from webapp.app import create_app
    from webapp.live.alarms import alarm_banner, alarm_snapshot
    from webapp.shell.banner_callbacks import refresh_banner

    settings, _now = seeded
    app = create_app(settings)
    from webapp.pages import alarms as page  # registered by the app

    engine = app.server.extensions["sw_engine"]
    with request_as(app, settings, "/alarms"):
        alarm_snapshot()
        alarm_banner()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with request_as(app, settings, "/alarms"):
        alarm_snapshot.expire()
        alarm_banner.expire()
        alarm_snapshot()
        alarm_banner()
    one_build = len(statements)
    assert one_build > 0
    statements.clear()
    results: list[Any] = []
    barrier = threading.Barrier(20)
    token = session_token(settings, "dispatcher")

    def screen() -> None:
        from webapp.gate import SESSION_COOKIE

        with app.server.test_request_context("/alarms", headers={"Cookie": f"{SESSION_COOKIE}={token}"}):
            app.server.preprocess_request()
            barrier.wait()
            results.append(refresh_banner(1, None))
            results.append(page.refresh_live(1, "live", "all", "all", "", "all", "any", None, None, None, None))

    threads = [threading.Thread(target=screen) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert len(results) == 40
    alarm_queries = [s for s in statements if "alarm" in s.lower() and "session" not in s.lower()]
    assert len(alarm_queries) <= one_build, "twenty screens must not query the alarms twenty times"
