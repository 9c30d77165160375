"""The /video page: the camera grid in real headless Chromium, fed by the simulator's MJPEG cameras through
the relay; live tiles, a dead camera shown as offline with the time since when, the live dialog, filters,
hostile camera names as text, no console error, nothing requested off this machine; 403 for executives.
Screenshots at 1920x1080 and 390x844 go to test-artifacts/.

The video alarm feed's callbacks on the real app with detections as the video service writes them and the
real alarm service: newest first, filters, acknowledge and false positive queued, applied and audited,
refused for executives and outside an on-call user's areas, hostile texts as text; the on-call snapshot
of a video alarm."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plant import load_plant
from simulator.cameras import CameraServer
from tests.conftest import free_port
from tests.videoutil import camera_sources, figures, plant_with_cameras
from tests.webutil import (
    ARTIFACTS,
    CALLBACK,
    WAIT_MS,
    browser,
    callback_body,
    callback_key,
    logged_in_client,
    phone_page,
    router_body,
    run_alarm_service,
    seed_store,
    serve_app,
    watch_page,
)

pytestmark = pytest.mark.slow

SIZE = (480, 270)
IMG_READY = """() => { const i = document.querySelector('.sw-video-tile img');
    return i.complete && i.naturalWidth === 640; }"""


@pytest.fixture
def cams(tmp_path: Path) -> Iterator[tuple[Any, CameraServer]]:
    port = free_port()
    dead = free_port()
    sources = camera_sources(port, dead)  # nothing listens on dead: CAM-C is a dead camera
    plant_file = plant_with_cameras(tmp_path, sources)
    settings = seed_store(tmp_path, plant_file)
    with CameraServer(load_plant(plant_file), port=port, people=figures, fps=4, size=SIZE) as srv:
        yield settings, srv


def test_page_for_dispatcher_not_executive(cams) -> None:  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    settings, srv = cams
    app = create_app(settings)
    dispatcher = ready(logged_in_client(app, settings, "dispatcher"))
    assert dispatcher.get("/video").status_code == 200
    executive = logged_in_client(app, settings, "executive")
    assert executive.get("/video").status_code == 403
    assert executive.get("/video/snapshot/CAM-A.jpg").status_code == 403
    nav = b"\\u002fvideo"  # the layout's JSON escapes "/"
    assert nav not in executive.get("/_dash-layout").data  # no nav entry for executives
    assert nav in dispatcher.get("/_dash-layout").data
    assert srv.stats()["frames"] == 0


def _states(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.sw-video-tile')].map(t =>
            [t.querySelector('.sw-video-id').textContent, t.querySelector('.sw-video-state')?.className || '']))"""
    )


@pytest.mark.real_clock("a camera is offline when its capture's timed wait for a frame runs out")
def test_grid_live_offline_and_dialog(cams) -> None:  # type: ignore[no-untyped-def]
    settings, _srv = cams
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, "dispatcher") as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})  # type: ignore[attr-defined]
        errors, foreign = watch_page(page)
        page.goto(f"{base}/video")
        page.wait_for_selector(".sw-video-tile", timeout=60_000)
        assert page.locator(".sw-video-tile").count() == 3
        page.wait_for_function(
            """() => document.querySelectorAll('.sw-video-state.is-online').length === 2
                  && document.querySelectorAll('.sw-video-state.is-offline').length === 1""",
            timeout=60_000,
        )
        states = _states(page)
        assert "is-offline" in states["CAM-C"] and "is-online" in states["CAM-A"]
        offline = page.locator(".sw-video-state.is-offline").inner_text()
        assert offline.startswith("Offline since ") and offline[-8:].count(":") == 2
        page.wait_for_function(
            IMG_READY,
            timeout=60_000,
        )
        assert page.get_by_text("Tank farm <script>x</script>").count() == 1  # hostile name as text
        page.wait_for_timeout(1500)  # a couple of refreshes: the images keep coming
        page.screenshot(path=str(ARTIFACTS / "video-wall.png"))

        # filters: the acid area has only the dead tank-farm camera
        page.locator("#video-area").click()
        page.get_by_role("option", name="Acid plant").click()
        page.wait_for_function("() => document.querySelectorAll('.sw-video-tile').length === 1", timeout=WAIT_MS)
        assert list(_states(page)) == ["CAM-C"]
        page.locator("#video-area").click()
        page.get_by_role("option").first.click()
        page.wait_for_function("() => document.querySelectorAll('.sw-video-tile').length === 3", timeout=WAIT_MS)

        # the live dialog: one stream, closed with the dialog
        page.locator(".sw-video-tile").first.click()
        page.wait_for_selector("#video-live", timeout=WAIT_MS)
        assert page.locator("#video-live").get_attribute("src") == "/video/live/CAM-A.mjpg"
        page.wait_for_function(
            "() => { const i = document.querySelector('#video-live'); return i && i.naturalWidth === 640; }",
            timeout=60_000,
        )
        page.screenshot(path=str(ARTIFACTS / "video-wall-live.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector("#video-live", state="detached", timeout=WAIT_MS)
        assert not errors, errors
        assert not foreign, foreign

        phone = phone_page(b)
        errors, foreign = watch_page(phone)
        phone.goto(f"{base}/video")
        phone.wait_for_function(
            "() => document.querySelectorAll('.sw-video-state.is-online').length === 2", timeout=60_000
        )
        phone.wait_for_function(
            IMG_READY,
            timeout=60_000,
        )
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width  # no sideways scrolling on a phone
        phone.screenshot(path=str(ARTIFACTS / "video-phone.png"))
        assert not errors, errors
        assert not foreign, foreign


# --- the video alarm feed: callbacks on the real app, the real alarm service ---------------------------------

HOSTILE = "<img src=x onerror=alert(1)> javascript:alert(2)"


def add_detections(settings: Any, rows: list[tuple[str, str, str, int]]) -> list[int]:
    """Event rows of kind ``video`` in the contract's format, as the video service writes them:
    (camera, zone, class, ms before now); the newest message is hostile text."""
    from store.db import make_engine, session_scope
    from store.events import add_event

    engine = make_engine(settings.db_url)
    now = int(time.time() * 1000)
    ids = []
    try:
        with session_scope(engine) as s:
            for cam, zone, cls, ago in rows:
                ids.append(
                    add_event(
                        s,
                        "video",
                        cam,
                        now - ago,
                        severity="high",
                        zone=zone,
                        message=f"{cls} {HOSTILE}",
                        data={
                            "camera": cam,
                            "class": cls,
                            "confidence": 0.87,
                            "box": [10, 10, 40, 80],
                            "frame": [640, 360],
                            "media": {"snapshot": True, "thumb": True, "clip": True},
                        },
                    )
                )
    finally:
        engine.dispose()
    return ids


def ready(client: Any) -> Any:
    """``client`` after Dash set its callbacks up (on the first request it answers)."""
    client.get("/_dash-dependencies")
    return client


def post(client: Any, key: str, inputs: list[Any], state: list[Any], changed: list[str]) -> Any:
    return client.post(CALLBACK, json=callback_body(key, inputs, state, changed))


def feed(
    client: Any,
    app: Any,
    camera: str = "*",
    cls: str = "*",
    *,
    tick: int = 1,
    pages: list[Any] | None = None,
    shown: Any = None,
    changed: str = "shell-tick.n_intervals",
) -> Any:
    """The feed's refresh callback with these filters, feed pages and last shown state."""
    return post(
        ready(client),
        callback_key(app, "video-feed.children"),
        [
            {"id": "shell-tick", "property": "n_intervals", "value": tick},
            {"id": "video-feed-camera", "property": "value", "value": camera},
            {"id": "video-feed-zone", "property": "value", "value": "*"},
            {"id": "video-feed-class", "property": "value", "value": cls},
            {"id": "video-feed-pages", "property": "data", "value": [] if pages is None else pages},
        ],
        [{"id": "video-feed-shown", "property": "data", "value": shown}],
        [changed],
    )


def act(client: Any, app: Any, event_id: Any, button: str) -> Any:
    return post(
        ready(client),
        callback_key(app, "video-sent.data...", "video-event-selected"),
        [
            {"id": "video-event-ack", "property": "n_clicks", "value": 1 if button == "ack" else None},
            {"id": "video-event-confirm-yes", "property": "n_clicks", "value": 1 if button == "fp" else None},
        ],
        [{"id": "video-event-selected", "property": "data", "value": event_id}],
        ["video-event-ack.n_clicks" if button == "ack" else "video-event-confirm-yes.n_clicks"],
    )


@pytest.fixture
def detections(tmp_path: Path) -> tuple[Any, list[int]]:
    settings = seed_store(tmp_path, plant_with_cameras(tmp_path))
    ids = add_detections(
        settings,
        [
            ("CAM-A", "smelter-hall", "flame", 60_000),
            ("CAM-B", "converter-aisle", "no_hardhat", 40_000),
            ("CAM-C", "tank-farm", "spill", 20_000),
        ],
    )
    return settings, ids


def test_feed_lists_detections_newest_first_with_filters(detections) -> None:  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    settings, ids = detections
    run_alarm_service(settings)
    app = create_app(settings)
    dispatcher = logged_in_client(app, settings, "dispatcher")
    resp = feed(dispatcher, app)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    out = resp.get_json()["response"]
    items = out["video-feed"]["children"]
    assert [i["props"]["id"]["index"] for i in items] == list(reversed(ids))
    text = json.dumps(items)
    assert "Spill or leak" in text and "Flame" in text and "No hard hat" in text
    assert "Tank farm <script>x</script>" in text  # the hostile camera name is a text child
    assert f"/video/media/{ids[2]}/thumb.jpg" in text
    assert "Unacknowledged" in text and "87 %" in text
    shown = out["video-feed-shown"]["data"]
    assert shown["digest"]
    # the next refresh with nothing changed sends nothing
    again = feed(dispatcher, app, tick=2, shown=shown)
    assert again.status_code == 204
    # in Chinese
    dispatcher.set_cookie("sw_lang", "zh")
    zh = json.dumps(feed(dispatcher, app).get_json()["response"], ensure_ascii=False)
    assert "火焰" in zh and "泄漏" in zh and "未确认" in zh and "最近 24 小时" in zh
    dispatcher.set_cookie("sw_lang", "en")
    only = feed(dispatcher, app, cls="flame").get_json()["response"]["video-feed"]["children"]
    assert [i["props"]["id"]["index"] for i in only] == [ids[0]]
    cam = feed(dispatcher, app, camera="CAM-B").get_json()["response"]["video-feed"]["children"]
    assert [i["props"]["id"]["index"] for i in cam] == [ids[1]]
    # forged filter values show nothing rather than fail
    assert feed(dispatcher, app, cls="dragon").status_code == 200
    # executives and on-call users may not see the feed at all
    assert feed(logged_in_client(app, settings, "executive"), app).status_code == 403
    assert feed(logged_in_client(app, settings, "on-call"), app).status_code == 403


def test_acknowledge_and_false_positive_are_queued_applied_and_audited(detections) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from store.db import make_engine, session_scope
    from store.models import Alarm, AlarmCommand, SecurityAudit, VideoReview
    from webapp.app import create_app

    settings, ids = detections
    run_alarm_service(settings)  # the detections become alarms video:<id>
    app = create_app(settings)
    dispatcher = logged_in_client(app, settings, "dispatcher")
    resp = act(dispatcher, app, ids[0], "ack")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    sent = resp.get_json()["response"]["video-sent"]["data"]
    assert len(sent["ids"]) == 1
    resp = act(dispatcher, app, ids[1], "fp")
    assert resp.status_code == 200
    fp_sent = resp.get_json()["response"]["video-sent"]["data"]
    run_alarm_service(settings)  # applies the commands
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            cmds = {c.alarm_id: c for c in s.scalars(select(AlarmCommand))}
            assert cmds[f"video:{ids[0]}"].action == "ack" and cmds[f"video:{ids[0]}"].user == "test-dispatcher"
            fp = cmds[f"video:{ids[1]}"]
            assert (fp.action, fp.comment, fp.result) == ("ack", "false positive", "ok")
            assert s.get(Alarm, f"video:{ids[0]}").acked  # type: ignore[union-attr]
            assert s.get(Alarm, f"video:{ids[1]}").acked_by == "test-dispatcher"  # type: ignore[union-attr]
            review = s.scalars(select(VideoReview)).one()
            assert (review.event_id, review.verdict, review.user) == (ids[1], "false_positive", "test-dispatcher")
            events = {
                a.event: a for a in s.scalars(select(SecurityAudit).where(SecurityAudit.user == "test-dispatcher"))
            }
            assert events["alarm_ack"].target == f"video:{ids[0]}"
            assert events["video_false_positive"].target == f"video:{ids[1]}" and events["video_false_positive"].address
    finally:
        engine.dispose()
    # the page reports the service's answer
    rep = post(
        dispatcher,
        callback_key(app, "video-sent.data@"),
        [{"id": "shell-tick", "property": "n_intervals", "value": 5}],
        [{"id": "video-sent", "property": "data", "value": fp_sent}],
        ["shell-tick.n_intervals"],
    )
    assert rep.status_code == 200 and "Mark false positive: 1 done." in rep.get_data(as_text=True)
    # the feed shows the verdict and the new state
    items = json.dumps(feed(dispatcher, app).get_json()["response"]["video-feed"]["children"])
    assert "False positive" in items and "Acknowledged" in items
    # a false positive of an acknowledged alarm: the comment alone; the review still counts
    resp = act(dispatcher, app, ids[0], "fp")
    run_alarm_service(settings)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        last = s.scalars(select(AlarmCommand).order_by(AlarmCommand.id.desc())).first()
        assert last is not None and (last.alarm_id, last.action, last.result) == (f"video:{ids[0]}", "comment", "ok")
        assert len(s.scalars(select(VideoReview)).all()) == 2
    engine.dispose()
    # refused: executives (by the policy), unknown events, forged ids
    executive = logged_in_client(app, settings, "executive")
    assert act(executive, app, ids[2], "ack").status_code == 403
    assert act(executive, app, ids[2], "fp").status_code == 403
    for forged in (999_999, "1 OR 1=1", {"x": 1}):
        out = act(dispatcher, app, forged, "fp").get_json()["response"]
        assert "video-sent" not in out and "Not sent" in json.dumps(out["video-event-result"])


def test_on_call_users_act_only_in_their_areas(detections) -> None:  # type: ignore[no-untyped-def]
    """On-call users cannot open /video (no video permission); if a forged request reached the page's code
    with an on-call user, their areas still hold: another area's detection does not exist for them."""
    import flask
    from sqlalchemy import select

    from auth.policy import Principal, Role
    from store.db import make_engine, session_scope
    from store.models import AlarmCommand, VideoReview
    from store.video import NotInScopeError
    from webapp.app import create_app
    from webapp.pages import video as page

    settings, ids = detections
    run_alarm_service(settings)
    app = create_app(settings)
    oncall = logged_in_client(app, settings, "on-call")
    assert oncall.get("/video").status_code == 403
    assert act(oncall, app, ids[2], "fp").status_code == 403
    now = int(time.time() * 1000)
    with app.server.test_request_context(CALLBACK, method="POST"):
        flask.g.sw_user = Principal.of(77, "oc-acid", Role.ON_CALL, areas=["acid"])
        for action in ("ack", "false_positive"):
            with pytest.raises(NotInScopeError):
                page.act(action, ids[0], now)  # smelting: not theirs
        assert len(page.act("false_positive", ids[2], now)) == 1  # the tank farm is in the acid area
        flask.g.sw_user = Principal.of(78, "exec", Role.EXECUTIVE)
        with pytest.raises(page.NotAllowedError):
            page.act("ack", ids[2], now)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert [c.alarm_id for c in s.scalars(select(AlarmCommand))] == [f"video:{ids[2]}"]
        assert [r.user for r in s.scalars(select(VideoReview))] == ["oc-acid"]
    engine.dispose()


def test_event_dialog_and_hostile_texts(detections) -> None:  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    settings, ids = detections
    app = create_app(settings)
    dispatcher = ready(logged_in_client(app, settings, "dispatcher"))
    assert dispatcher.get("/video").status_code == 200
    layout = dispatcher.post(CALLBACK, json=router_body("/video"))
    assert layout.status_code == 200
    body = layout.get_data(as_text=True)
    assert "video-feed" in body and "video-event-modal" in body and "video-grid" in body
    assert "CAM-C · Tank farm <script>x</script>" in json.dumps(layout.get_json(), ensure_ascii=False)  # as text
    # the dialog's details: no alarm yet (the alarm service has not run), the hostile message as text
    resp = post(
        dispatcher,
        callback_key(app, "video-event-info.children"),
        [
            {"id": "video-event-selected", "property": "data", "value": ids[2]},
            {"id": "shell-tick", "property": "n_intervals", "value": 1},
        ],
        [{"id": "video-event-modal", "property": "is_open", "value": True}],
        ["video-event-selected.data"],
    )
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    assert out["video-event-title"]["children"] == "Spill or leak · Tank farm <script>x</script>"
    info = json.dumps(out["video-event-info"]["children"])
    assert "No alarm yet" in info and json.dumps(HOSTILE)[1:-1] in info
    assert out["video-event-ack"]["disabled"] is True and out["video-event-fp"]["disabled"] is False

    # a link to one detection (?event=) opens its dialog; ?camera= sets the feed's camera filter
    def page_for(search: str) -> dict[str, Any]:
        resp = dispatcher.post(CALLBACK, json=router_body("/video", search))
        assert resp.status_code == 200
        found: dict[str, Any] = {}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                props = node.get("props")
                if isinstance(props, dict) and isinstance(props.get("id"), str):
                    found[props["id"]] = props
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(resp.get_json())
        return found

    linked = page_for(f"?event={ids[1]}&camera=CAM-B")
    assert linked["video-event-modal"]["is_open"] is True
    assert linked["video-event-selected"]["data"] == ids[1]
    assert linked["video-event-clip"]["src"] == f"/video/media/{ids[1]}/clip.mjpg"
    assert linked["video-feed-camera"]["value"] == "CAM-B"
    for search in ("?event=999999", "?event=x", "?event=-1&camera=<script>", ""):
        plain = page_for(search)
        assert plain["video-event-modal"]["is_open"] is False and plain["video-feed-camera"]["value"] == "*"


def test_oncall_snapshot_of_a_video_alarm(tmp_path: Path) -> None:
    from store.alarm_views import AlarmView
    from webapp.live.oncall import snapshot_url

    base = dict(
        state="active_unacked",
        condition="flame",
        source="CAM-A",
        priority="urgent",
        area="smelting",
        zone="smelter-hall",
        equipment=None,
        badge=None,
        camera="CAM-A",
        active=True,
        acked=False,
        value=None,
        limit=None,
        activated_at=1,
        returned_at=None,
        acked_at=None,
        acked_by=None,
        shelved_until=None,
        shelved_by=None,
        shelve_reason=None,
        message="",
        updated_at=1,
    )
    video = AlarmView(id="video:42", source_type="video", **base)  # type: ignore[arg-type]
    process = AlarmView(id="FF-1.TEMP:HH", source_type="process", **base)  # type: ignore[arg-type]
    assert snapshot_url(None, video) == "/video/media/42/snapshot.jpg"
    assert snapshot_url(None, process) is None
    assert snapshot_url(None) is None
    # the on-call card shows it in the snapshot slot; other alarms keep the placeholder
    from webapp.pages.oncall import card

    plant = load_plant(plant_with_cameras(tmp_path))
    now = int(time.time() * 1000)
    shown = json.dumps(card(video, plant, {}, now, "en").to_plotly_json(), default=str)
    assert "/video/media/42/snapshot.jpg" in shown and "sw-oc-snap-img" in shown
    other = json.dumps(card(process, plant, {}, now, "en").to_plotly_json(), default=str)
    assert "/video/media/" not in other and "sw-oc-snap-none" in other


def test_feed_pages_older_and_newer(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path, plant_with_cameras(tmp_path))
    app = create_app(settings)
    from webapp.pages.video import FEED_PAGE  # the page module is imported by the app

    n = FEED_PAGE + 5
    ids = add_detections(settings, [("CAM-A", "smelter-hall", "smoke", (n - i) * 1000) for i in range(n)])
    dispatcher = ready(logged_in_client(app, settings, "dispatcher"))

    def feed_page(pages: list[Any]) -> dict[str, Any]:
        resp = feed(dispatcher, app, pages=pages, changed="video-feed-pages.data")
        assert resp.status_code == 200
        return resp.get_json()["response"]  # type: ignore[no-any-return]

    def paging(button: str, pages: list[Any], shown: Any) -> Any:
        resp = post(
            dispatcher,
            "video-feed-pages.data",
            [
                {"id": "video-feed-older", "property": "n_clicks", "value": 1},
                {"id": "video-feed-newer", "property": "n_clicks", "value": 1},
                {"id": "video-feed-camera", "property": "value", "value": "*"},
                {"id": "video-feed-zone", "property": "value", "value": "*"},
                {"id": "video-feed-class", "property": "value", "value": "*"},
            ],
            [
                {"id": "video-feed-pages", "property": "data", "value": pages},
                {"id": "video-feed-shown", "property": "data", "value": shown},
            ],
            [f"{button}.n_clicks"],
        )
        assert resp.status_code == 200
        return resp.get_json()["response"]["video-feed-pages"]["data"]

    first = feed_page([])
    assert len(first["video-feed"]["children"]) == FEED_PAGE
    assert first["video-feed-newer"]["disabled"] is True and first["video-feed-older"]["disabled"] is False
    pages = paging("video-feed-older", [], first["video-feed-shown"]["data"])
    assert len(pages) == 1
    second = feed_page(pages)
    got = [i["props"]["id"]["index"] for i in second["video-feed"]["children"]]
    assert got == list(reversed(ids[:5]))
    assert second["video-feed-newer"]["disabled"] is False and second["video-feed-older"]["disabled"] is True
    assert paging("video-feed-newer", pages, second["video-feed-shown"]["data"]) == []
    # a forged keyset is ignored: the newest page
    assert len(feed_page([["x", 1]])["video-feed"]["children"]) == FEED_PAGE


def test_screens_on_the_same_feed_share_its_queries(detections, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Ten screens refreshing the same feed within its cache period cost one set of feed queries; another
    filter is its own entry. (The period is made long here: the test is about sharing, not expiry.)"""
    import sys

    from sqlalchemy import event

    from webapp.app import create_app

    settings, ids = detections
    app = create_app(settings)
    page = next(m for m in list(sys.modules.values()) if getattr(m, "FEED_CACHE_S", None) and hasattr(m, "feed_data"))
    monkeypatch.setattr(page, "FEED_CACHE_S", 300)
    statements: list[str] = []
    event.listen(app.server.extensions["sw_engine"], "before_cursor_execute", lambda *a: statements.append(a[2]))
    screens = [logged_in_client(app, settings, "dispatcher") for _ in range(10)]
    for s in screens:
        ready(s)

    def feed_queries() -> int:
        return sum(1 for q in statements if "FROM event" in q and "video_review" not in q.split("FROM event")[0])

    statements.clear()
    first = feed(screens[0], app)
    assert first.status_code == 200
    one = feed_queries()
    assert one >= 1
    for s in screens[1:]:
        resp = feed(s, app)
        assert resp.status_code == 200
        assert [i["props"]["id"]["index"] for i in resp.get_json()["response"]["video-feed"]["children"]] == list(
            reversed(ids)
        )
    assert feed_queries() == one, "every screen ran its own feed queries"
    flame = feed(screens[1], app, cls="flame")
    assert [i["props"]["id"]["index"] for i in flame.get_json()["response"]["video-feed"]["children"]] == [ids[0]]
    assert feed_queries() > one
