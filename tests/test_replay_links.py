"""Every place the incident replay is opened from links to it, for those who may replay (issue S5): a personnel
violation (the personnel page's feed), a muster (the personnel page while one runs), an alarm of a major hazard
source (the safety page: executives have no alarm list), an ended emergency (its summary), besides the alarm
journal and a video detection's dialog; each link opens a replay of the minutes around it. On a real SQLite store
with the demo plant, through the app as a dispatcher and as an executive (who replays without names)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from plant import default_plant_path, load_plant
from store import emergency as em
from store.db import make_engine, session_scope
from store.events import add_event
from store.models import Alarm
from store.people import declare_muster
from tests.webutil import logged_in_client, router_body, seed_store

MIN = 60_000
NOW = int(time.time() * 1000) // 1000 * 1000
SOURCE = "HS-ACID-TANKS"


def _page(client: Any, path: str, search: str = "") -> str:
    resp = client.post("/_dash-update-component", json=router_body(path, search))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return json.dumps(resp.get_json()["response"]).replace("\\u002f", "/")


def _opens(client: Any, href: str) -> str:
    """The replay page a link opens: its layout, checked to hold a window and no error."""
    path, _, search = href.partition("?")
    body = _page(client, path, "?" + search)
    assert '"replay-params", "data": {"t0"' in body or '"data": {"t0": ' in body, body[:400]
    return body


def test_links_to_the_replay(tmp_path: Path) -> None:
    from webapp import context as web
    from webapp.app import create_app

    settings = seed_store(tmp_path, default_plant_path())
    plant = load_plant(settings.plant_file)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        # an SO2 release declared eight minutes ago and ended two minutes later (its muster with it)
        emergency = em.declare(session, plant, "disp1", "plan-so2-release", "acid-gas-cleaning", NOW - 8 * MIN)
        ended = int(emergency.id)
        em.end(session, plant, "disp1", NOW - 6 * MIN, ended)
        violation = add_event(
            session,
            "violation",
            "forbidden_zone",
            NOW - 5 * MIN,
            NOW - 4 * MIN,
            severity="high",
            badge="P0001",
            zone="acid-gas-cleaning",
            message="in a forbidden zone",
        )
        muster = declare_muster(session, "disp1", NOW - 3 * MIN, note="drill")
        session.add(
            Alarm(
                id=f"hazard:{SOURCE}:H",
                source_type="hazard",
                condition="H",
                source=SOURCE,
                priority="high",
                area="acid",
                zone="acid-tank-farm",
                equipment=None,
                active=True,
                acked=False,
                suppressed=False,
                out_of_service=False,
                activated_at=NOW - 2 * MIN,
                returned_at=None,
                message="",
                updated_at=NOW - 2 * MIN,
            )
        )
    engine.dispose()
    app = create_app(settings)
    web.set_clock(app.server, lambda: NOW / 1000)
    for role in ("dispatcher", "executive"):
        client = logged_in_client(app, settings, role)
        personnel = _page(client, "/personnel")
        assert f"/replay?event={violation}" in personnel, role  # the violation feed
        assert f"/replay?muster={muster}" in personnel, role  # the muster running
        safety = _page(client, "/safety", "?tab=sources")
        assert f"/replay?alarm=hazard%3A{SOURCE}%3AH&at={NOW - 2 * MIN}" in safety, role
        for href in (
            f"/replay?event={violation}",
            f"/replay?muster={muster}",
            f"/replay?alarm=hazard%3A{SOURCE}%3AH&at={NOW - 2 * MIN}",
            f"/replay?t0={NOW - 20 * MIN}&t1={NOW - MIN}",
        ):
            _opens(client, href)
    # an ended emergency's summary opens the replay of its window (its muster among the steps)
    client = logged_in_client(app, settings, "executive")
    summary = _page(client, "/emergency", f"?summary={ended}")
    assert f"/replay?emergency={ended}" in summary
    _opens(client, f"/replay?emergency={ended}")
    # an on-call user replays incident records of their areas only, not what these links open
    oncall = logged_in_client(app, settings, "on-call")
    assert "Open an incident record of your areas" in _page(oncall, "/replay", f"?event={violation}")
