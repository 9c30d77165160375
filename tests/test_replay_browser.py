"""The incident replay page in real headless Chromium (SwiftShader WebGL), offline, on the demo plant with a
stored quarter of an hour: people walking, a gas leak that raised a zone's level, its alarm raised,
acknowledged and returned, a video detection with its snapshot and clip, a hot-work permit in force (then
suspended, then closed). Play, seek (drag) and step to the next event move one cursor over the scene, the journal,
the detections and the permits drawn on the scene; the zone's colour at the cursor is the one it had then.
Screenshots (English and Chinese, wall 1920x1080 and phone 390x844) go to test-artifacts/ (replay-*.png)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from engine.types import PositionIn, SampleIn
from plant import load_plant
from plant.loader import DEMO_PLANT
from plant.schema import Plant
from settings import Settings
from store.db import make_engine, session_scope
from store.events import add_event
from store.models import Alarm, AlarmJournal, Event, WorkPermit, WorkPermitLog
from store.positions import write_positions
from store.samples import write_samples
from store.tags import tag_ids
from tests.webutil import ARTIFACTS, PHONE, browser, seed_store, serve_app, watch_page
from video.media import write_snapshot

pytestmark = pytest.mark.slow

GAS = "acid-gas-cleaning.GD01.SO2"
ALARM = f"{GAS}:H"
MIN = 60_000
PERMIT_ZONE = "acid-gas-cleaning"


def _media(root: Path, event_id: int) -> None:
    """The detection's snapshot and thumbnail (the media writer's own code) and a short Motion-JPEG clip."""
    frame = np.full((360, 640, 3), (38, 32, 28), np.uint8)
    cv2.rectangle(frame, (240, 120), (360, 260), (0, 0, 255), 3)
    write_snapshot(root, event_id, frame, None)
    writer = cv2.VideoWriter(str(root / str(event_id) / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (640, 360))
    try:
        for i in range(10):
            writer.write(np.roll(frame, 8 * i, axis=1))
    finally:
        writer.release()


def seed(tmp_path: Path) -> tuple[Settings, Plant, int]:
    """A quarter of an hour ending two minutes ago: 40 people walking east-west across their zone, the gas leak
    (8 ppm from minute 6 to minute 10), its alarm journal, a video detection at minute 8 with its snapshot and
    clip, a hot-work permit in the acid plant's gas cleaning active from before the window, suspended at minute 12
    and closed at minute 14."""
    settings = seed_store(tmp_path, plant_file=DEMO_PLANT)
    plant = load_plant(DEMO_PLANT)
    end = int(time.time() * 1000) - 2 * MIN
    t0 = end - 15 * MIN
    zones = {z.id: z for z in plant.zones}
    people = [b for b in plant.badges if b.kind.value == "person"][:40]
    pos: list[PositionIn] = []
    for i, b in enumerate(people):
        z = zones[b.work_zones[0]] if b.work_zones else plant.zones[i % len(plant.zones)]
        xs = [p[0] for p in z.polygon]
        ys = [p[1] for p in z.polygon]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        w = (max(xs) - min(xs)) / 3
        for k in range(0, 15 * 60 + 1, 5):
            f = (k % 300) / 300
            pos.append(PositionIn(b.id, t0 + k * 1000, cx - w + 2 * w * f, cy))
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, pos)
        ids = tag_ids(session)
        gas = [SampleIn(ids[GAS], t0 - 1000, 1.0, 0), SampleIn(ids[GAS], t0 + 6 * MIN, 8.0, 0)]
        gas.append(SampleIn(ids[GAS], t0 + 10 * MIN, 1.0, 0))
        write_samples(session, gas)
        session.add(
            Alarm(
                id=ALARM,
                source_type="process",
                condition="H",
                source=GAS,
                priority="high",
                area="acid",
                zone="acid-gas-cleaning",
                equipment=None,
                active=False,
                acked=True,
                suppressed=False,
                out_of_service=False,
                activated_at=t0 + 6 * MIN + 2000,
                returned_at=t0 + 10 * MIN + 1000,
                message="",
                updated_at=t0 + 10 * MIN,
            )
        )
        for ts, kind, active, acked, user in (
            (t0 + 6 * MIN + 2000, "active", True, False, None),
            (t0 + 7 * MIN, "ack", True, True, "disp1"),
            (t0 + 10 * MIN + 1000, "return", False, True, None),
        ):
            session.add(
                AlarmJournal(
                    ts=ts,
                    alarm_id=ALARM,
                    kind=kind,
                    source_type="process",
                    priority="high",
                    area="acid",
                    zone="acid-gas-cleaning",
                    active=active,
                    acked=acked,
                    value=8.0,
                    user=user,
                )
            )
        cam = (
            next(c for c in plant.cameras if c.zone == "acid-gas-cleaning")
            if any(c.zone == "acid-gas-cleaning" for c in plant.cameras)
            else plant.cameras[0]
        )
        det = add_event(
            session,
            "video",
            cam.id,
            t0 + 8 * MIN,
            zone=cam.zone,
            severity="high",
            message="smoke",
            data={
                "camera": cam.id,
                "class": "smoke",
                "confidence": 0.91,
                "media": {"snapshot": True, "thumb": True, "clip": True},
            },
        )
        _media(Path(settings.media_path), det)
        px, py = _zone_centre(plant, PERMIT_ZONE)
        guard, crew = [b for b in people if b.name][:2]
        permit = WorkPermit(
            kind="hot_work",
            grade="second",
            title="Weld the duct flange",
            zone=PERMIT_ZONE,
            x=px,
            y=py,
            area=[[px - 10, py - 10], [px + 10, py - 10], [px + 10, py + 10], [px - 10, py + 10]],
            guardian=guard.id,
            crew=[crew.id],
            valid_from=t0 - 60 * MIN,
            valid_to=t0 + 8 * 60 * MIN,
            isolations=[],
            applicant="disp1",
            applied_at=t0 - 90 * MIN,
            state="closed",
            approvals=[],
            isolations_confirmed=True,
            activated_at=t0 - 30 * MIN,
            closed_at=t0 + 14 * MIN,
            updated_at=t0 + 14 * MIN,
        )
        session.add(permit)
        session.flush()
        for ts, frm, to in (
            (t0 - 90 * MIN, None, "applied"),
            (t0 - 60 * MIN, "applied", "approved"),
            (t0 - 30 * MIN, "isolated", "active"),
            (t0 + 12 * MIN, "active", "suspended"),
            (t0 + 14 * MIN, "suspended", "closed"),
        ):
            session.add(
                WorkPermitLog(permit_id=permit.id, ts=ts, actor="disp1", action="x", from_state=frm, to_state=to)
            )
    engine.dispose()
    return settings, plant, t0


def _zone_centre(plant: Plant, zone: str) -> tuple[float, float]:
    z = next(z for z in plant.zones if z.id == zone)
    xs = [p[0] for p in z.polygon]
    ys = [p[1] for p in z.polygon]
    return round((min(xs) + max(xs)) / 2, 1), round((min(ys) + max(ys)) / 2, 1)


def _cursor(page: Any) -> float:
    return float(page.get_attribute(".sw-rp", "data-cursor-s") or "nan")


def _wait(page: Any, body: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"(() => {{ {body} }})()"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout_s} s: {body}")
        page.wait_for_timeout(200)


def _zone_code(page: Any, plant: Plant, zone: str) -> str:
    i = [z.id for z in plant.zones].index(zone)
    return str(page.evaluate(f"window.swReplay.player.liveAt(window.swReplay.player.s).zl[{i}]"))


def _seek(page: Any, s: float) -> None:
    page.evaluate(
        f"(() => {{ const r = document.querySelector('.sw-rp-range'); r.value = '{s}';"
        " r.dispatchEvent(new Event('input', {bubbles: true})); })()"
    )


def _drawn_permits(page: Any) -> list[dict[str, Any]]:
    """The permits the scene draws now: the data of its layer "permit-points" (none when the layer is not there)."""
    return list(
        page.evaluate(
            """() => { const sc = document.querySelector('#replay-deck').swScene;
            const l = sc && sc.deck && sc.deck.props.layers.find(x => x.id === 'permit-points');
            return l ? l.props.data.map(o => ({n: o.n, su: o.su, k: o.k, lines: o.lines})) : []; }"""
        )
    )


def _hover_permit(page: Any, plant: Plant) -> str:
    """Moves the pointer onto the permit's work point on the scene; the tooltip's text."""
    px, py = _zone_centre(plant, PERMIT_ZONE)
    at = page.evaluate(
        f"""() => {{ const el = document.querySelector('#replay-deck'); const r = el.getBoundingClientRect();
        const vp = el.swScene.deck.getViewports()[0]; const p = vp.project([{px}, {py}, 1.5]);
        return [r.left + p[0], r.top + p[1]]; }}"""
    )
    page.mouse.move(at[0] - 20, at[1] - 20)
    page.mouse.move(at[0], at[1])
    _wait(page, "const t = document.querySelector('#replay-deck .sw-scene-tip'); return t && !t.hidden;", 30)
    return str(page.inner_text("#replay-deck .sw-scene-tip"))


def _open(page: Any, url: str) -> None:
    page.set_default_timeout(120_000)  # a loaded machine answers a click in seconds, not milliseconds
    page.goto(url)
    page.wait_for_selector(".sw-rp-play", timeout=90_000)
    _wait(page, "return !!document.querySelector('#replay-deck canvas');", 60)
    page.wait_for_timeout(1500)


def test_play_seek_and_step(tmp_path: Path) -> None:
    settings, plant, _t0 = seed(tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(settings, role="dispatcher") as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})
        errors, foreign = watch_page(page)
        _open(page, f"{base}/replay?alarm={ALARM}")
        # opened at the alarm: the cursor on its activation, its row the newest in the journal
        start = _cursor(page)
        t_alarm = 600.0  # the window starts ten minutes before the alarm
        assert abs(start - t_alarm) < 0.6, start
        assert page.locator("#replay-journal .sw-rp-row").count() == 1
        assert _zone_code(page, plant, "acid-gas-cleaning") == "r"  # raised while the gas was high
        # drag to the window's start: nothing has happened yet, the zone has its static colour
        page.evaluate(
            "(() => { const r = document.querySelector('.sw-rp-range'); r.value = '5';"
            " r.dispatchEvent(new Event('input', {bubbles: true})); })()"
        )
        assert abs(_cursor(page) - 5) < 0.2
        assert page.locator("#replay-journal .sw-rp-row").count() == 0
        assert _zone_code(page, plant, "acid-gas-cleaning") == "o"
        # the hot-work permit in force from before the window: drawn on the scene at its work point, its tooltip
        # with kind, number, state and people by name (a dispatcher may see names)
        _wait(page, "return window.swReplay.player.liveAt(5).pm.length === 1;", 30)
        (drawn,) = _drawn_permits(page)
        assert drawn["k"] == "hot_work" and drawn["su"] == 0
        tip = _hover_permit(page, plant)
        guard = next(b for b in plant.badges if b.kind.value == "person" and b.name)
        assert f"#{drawn['n']} Hot work" in tip and "State: Active" in tip and guard.name in tip, tip
        page.screenshot(path=str(ARTIFACTS / "replay-seek-start.png"), timeout=120_000)
        # it follows the cursor: suspended at minute 12 of the data (outlined in red), gone once closed
        t_susp = t_alarm + 12 * 60 - (6 * 60 + 2)  # the window starts ten minutes before the alarm (minute 6 + 2 s)
        _seek(page, t_susp + 5)
        _wait(
            page,
            "const sc = document.querySelector('#replay-deck').swScene; const l = sc.deck.props.layers"
            ".find(x => x.id === 'permit-points');"
            " return !!l && l.props.data.length === 1 && l.props.data[0].su === 1;",
        )
        _seek(page, t_susp + 2 * 60 + 5)
        _wait(
            page,
            "return !document.querySelector('#replay-deck').swScene.deck.props.layers"
            ".some(x => x.id === 'permit-points');",
        )
        _seek(page, 5)
        _wait(page, "return window.swReplay.player.s === 5;")
        # step: to the next event (the alarm raised), then the detection
        page.click(".sw-rp-next")
        assert abs(_cursor(page) - t_alarm) < 0.2
        assert page.locator("#replay-journal .sw-rp-row").count() == 1
        page.click(".sw-rp-next")
        assert page.locator("#replay-video .sw-rp-det").count() == 1
        # the detection at its moment: its thumbnail loaded, its snapshot and clip served as what they are
        _wait(
            page,
            "const i = document.querySelector('#replay-video .sw-rp-thumb'); return !!i && i.complete"
            " && i.naturalWidth > 0;",
            60,
        )
        det = page.evaluate("window.swReplay.player.data.video[0]")
        assert det["snap"] and det["clip"]
        assert page.get_attribute("#replay-video a.sw-rp-snap", "href") == det["snap"]
        got = page.evaluate(
            """async (urls) => { const out = [];
            for (const u of urls) { const r = await fetch(u); const b = await r.arrayBuffer();
              out.push([r.status, r.headers.get('content-type'), b.byteLength]); }
            return out; }""",
            [det["snap"], det["thumb"]],
        )
        assert all(st == 200 and (ct or "").startswith("image/jpeg") and n > 1000 for st, ct, n in got), got
        clip = page.evaluate(
            """async (u) => { const c = new AbortController(); const r = await fetch(u, {signal: c.signal});
            const ct = r.headers.get('content-type'); c.abort(); return [r.status, ct]; }""",
            det["clip"],
        )
        assert clip[0] == 200 and clip[1].startswith("multipart/x-mixed-replace"), clip
        page.click(".sw-rp-prev")
        assert abs(_cursor(page) - t_alarm) < 0.2 and page.locator("#replay-video .sw-rp-det").count() == 0
        # play at 60x for about two seconds: the cursor keeps up with the clock
        page.select_option(".sw-rp-speed", "60")
        before = _cursor(page)
        page.click(".sw-rp-play")
        t_start = time.monotonic()
        page.wait_for_timeout(2000)
        page.click(".sw-rp-play")
        wall = time.monotonic() - t_start
        moved = _cursor(page) - before
        assert 60 * wall * 0.6 <= moved <= 60 * wall * 1.1, (moved, wall)
        assert page.locator("#replay-journal .sw-rp-row").count() >= 2  # the acknowledge came into view
        stats = page.evaluate("window.swReplay.player.stats")
        assert stats["scene"] >= 5 and stats["sceneMaxMs"] < 1000, stats
        # people are on the scene at the cursor
        assert page.evaluate("window.swReplay.player.liveAt(300).b.length") >= 30
        page.screenshot(path=str(ARTIFACTS / "replay-en-wall.png"), timeout=120_000)
        # save it as an incident, at the cursor's moment; the record lists it and opens it there
        page.fill("#replay-save-title", "Acid plant SO2 <b>leak</b>")
        page.fill("#replay-save-notes", "Detector GD01 over H for four minutes.")
        page.click("#replay-save")
        page.wait_for_selector("#replay-save-msg a", timeout=60_000)
        href = page.get_attribute("#replay-save-msg a", "href") or ""
        assert href.startswith("/replay?incident=")
        page.goto(base + "/incidents")
        page.wait_for_selector("tr[data-incident]", timeout=60_000)
        assert "Acid plant SO2 <b>leak</b>" in page.inner_text("tr[data-incident]")  # text, not markup
        page.screenshot(path=str(ARTIFACTS / "replay-incidents-en-wall.png"), timeout=120_000)
        page.click("tr[data-incident] a >> nth=0")
        page.wait_for_selector(".sw-rp-play", timeout=90_000)
        _wait(page, "return !!document.querySelector('.sw-rp[data-cursor-s]');", 60)
        assert _cursor(page) > 600  # the moment it was saved at, after the alarm
        assert not [e for e in errors if "favicon" not in e], errors
        assert not foreign, foreign
        page.close()
        for lang in ("en", "zh"):
            ctx = b.new_context(**PHONE)
            ctx.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            phone = ctx.new_page()
            _open(phone, f"{base}/replay?alarm={ALARM}")
            phone.screenshot(path=str(ARTIFACTS / f"replay-{lang}-phone.png"), full_page=True, timeout=120_000)
            ctx.close()
        ctx = b.new_context(viewport={"width": 1920, "height": 1080})
        ctx.add_cookies([{"name": "sw_lang", "value": "zh", "url": base}])
        wall_zh = ctx.new_page()
        _open(wall_zh, f"{base}/replay?alarm={ALARM}")
        wall_zh.evaluate("document.querySelector('.sw-rp-next').click()")
        wall_zh.screenshot(path=str(ARTIFACTS / "replay-zh-wall.png"), timeout=120_000)
        ctx.close()


def test_an_executive_replays_without_names(tmp_path: Path) -> None:
    settings, plant, _t0 = seed(tmp_path)
    with serve_app(settings, role="executive") as base, browser() as b:
        page = b.new_page(viewport={"width": 1920, "height": 1080})
        _open(page, f"{base}/replay?alarm={ALARM}")
        page.click(".sw-rp-next")
        data = page.evaluate("window.swReplay.player.data")
        assert data["badges"] and not any(x["n"] or x["nz"] for x in data["badges"])
        assert data["video"] == [] and all(r["user"] == "" for r in data["journal"])
        assert "disp1" not in page.inner_text("#replay-journal")
        # no detection, no image: the list says camera images are not for this role, the media refuse them
        assert page.locator("#replay-video .sw-rp-det").count() == 0
        assert page.locator("#replay-video img").count() == 0
        shown = page.inner_text("#replay-video")
        assert shown.strip() and "smoke" not in shown.lower()
        engine = make_engine(settings.db_url)
        with session_scope(engine) as session:
            det = session.scalars(select(Event.id).where(Event.kind == "video")).one()
        engine.dispose()
        refused = page.evaluate("async (u) => (await fetch(u)).status", f"/video/media/{det}/snapshot.jpg")
        assert refused == 403, refused
        names = [bd.name for bd in plant.badges if bd.name][:40]
        # the permit is drawn for an executive too, its people by badge only
        _wait(page, "return window.swReplay.player.liveAt(5).pm.length === 1;", 30)
        _seek(page, 5)
        (drawn,) = _drawn_permits(page)
        tip = _hover_permit(page, plant)
        assert f"#{drawn['n']}" in tip and not [n for n in names if n in tip], tip
        assert data["permits"][0]["title"] == "" and not [n for n in names if n in str(data["permits"])]
        text = page.inner_text("body")
        assert not [n for n in names if n in text]
        assert page.locator("#replay-save").count() == 0  # executives do not save incidents
        page.screenshot(path=str(ARTIFACTS / "replay-executive-en-wall.png"), timeout=120_000)
