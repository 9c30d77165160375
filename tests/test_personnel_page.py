"""The personnel page on a seeded SQLite store, without a browser: layout and its ids, the refresh (headcount
against the shift's limits, the violation feed newest first with the nearest camera, the muster), follow
panel, history windows, muster actions, exposure table and its CSV (BOM, header, Chinese names, formula
escaping), the window parser, and twenty screens sharing one live build."""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event

from engine.shifts import current_shift
from engine.types import PositionIn
from plant import load_plant
from settings import Settings
from store.db import make_engine, session_scope
from store.events import add_event, close_event
from store.models import Event
from store.people import SYSTEM
from store.positions import write_positions
from tests.fakeclock import plant_ms
from tests.webutil import MINI_PLANT, request_as, seed_store

HOSTILE = '=HYPERLINK("http://evil")<script>window.__pwned=1</script>'
S = 1000


def _plant_file(tmp_path: Path) -> Path:
    """The mini plant with a hostile name on one badge, Chinese names on others, and limits on every shift."""
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    for b in data["badges"]:
        if b["id"] == "P003":
            b["name"] = HOSTILE
        if b["id"] == "P001":
            b["name_zh"] = "张伟"
    for z in data["zones"]:
        if z["id"] == "converter-aisle":
            z["headcount"] = {s: {"min": 2, "max": 3} for s in ("A", "B", "C")}
    data["cameras"] = [
        {
            "id": "CAM-TANK",
            "name": "Tank farm camera",
            "zone": "tank-farm",
            "position": [300, 40, 6],
            "yaw_deg": 90,
            "fov_deg": 70,
        },
        {
            "id": "CAM-HALL",
            "name": "Hall camera",
            "zone": "smelter-hall",
            "position": [60, 160, 8],
            "yaw_deg": 45,
            "fov_deg": 70,
        },
    ]
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


HOUR = 3_600_000


def seed_personnel(tmp_path: Path) -> tuple[Settings, int]:
    """The web seed plus: people in the hall, one in the converter aisle (under its minimum of 2), one in
    the tank farm with an open forbidden-zone violation, an hour of walking for P001, a closed violation."""
    plant_file = _plant_file(tmp_path)
    settings = seed_store(tmp_path, plant_file=plant_file)
    now = int(time.time() * 1000)
    pos = [PositionIn("P001", now - 3600 * S + k * 10 * S, 60 + k / 4, 200) for k in range(360)]
    pos += [
        PositionIn("P002", now - 2 * S, 100, 220),
        PositionIn("P004", now - 3 * S, 200, 200),
        PositionIn("P003", now - 2 * S, 300, 60),
        PositionIn("V01", now - 1 * S, 200, 130),
    ]
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, pos)
        add_event(
            session,
            "violation",
            "forbidden_zone",
            now - 60 * S,
            badge="P003",
            zone="tank-farm",
            severity="high",
            message="entered",
            data={"camera": "CAM-TANK", "fence": "tank-fence"},
        )
        old = add_event(session, "violation", "speeding", now - 20 * 60 * S, badge="V01", severity="medium")
        close_event(session, old, now - 19 * 60 * S)
        add_event(
            session, "violation", "lone_worker", now - 30 * S, badge="P004", zone="converter-aisle", severity="medium"
        )
    engine.dispose()
    return settings, now


@pytest.fixture
def app_now(tmp_path: Path):  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    settings, now = seed_personnel(tmp_path)
    app = create_app(settings)
    yield app, now, settings


def _ids(component: Any, out: list[str]) -> list[str]:
    cid = getattr(component, "id", None)
    if isinstance(cid, str):
        out.append(cid)
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for c in children:
            _ids(c, out)
    elif children is not None and hasattr(children, "to_plotly_json"):
        _ids(children, out)
    return out


def _text(component: Any) -> str:
    """All text of a component tree, as a person would read it."""
    if component is None or isinstance(component, bool):
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def test_layout_ids_unique_and_translated(app_now) -> None:  # type: ignore[no-untyped-def]
    from webapp.pages import personnel

    app, _, settings = app_now
    with request_as(app, settings, "/personnel"):
        tree = personnel.layout()
    ids = _ids(tree, [])
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for needed in (personnel.ids.DECK, personnel.ids.FOLLOW, personnel.ids.PLAYBAR, personnel.ids.MUSTER_BODY):
        assert needed in ids
    text = _text(tree)
    assert "Personnel and vehicles" in text and "Headcount per zone" in text and "Emergency muster" in text
    with request_as(app, settings, "/personnel", cookies={"sw_lang": "zh"}):
        zh = _text(personnel.layout())
    assert "人员与车辆" in zh and "紧急集合" in zh


def test_refresh_headcount_feed_and_follow(app_now) -> None:  # type: ignore[no-untyped-def]
    from webapp.pages import personnel

    app, now, settings = app_now
    plant = load_plant(app.server.extensions["sw_settings"].plant_file)
    with request_as(app, settings, "/personnel"):
        live, summary, shift, headcount, feed, banner, muster, declare_off, end_off = personnel.refresh(1)
        panel = personnel.follow_panel("P003", live)
        nobody = personnel.follow_panel(None, live)
        unknown = personnel.follow_panel("NOPE", live)
        vehicle = personnel.follow_panel("V01", live)
    assert len(live["people"]) == 5 and live["on_site"] == {"person": 4, "vehicle": 1}
    found = current_shift(plant, now)
    assert shift == (f"Shift {found[0].id}" if found else "Between shifts")
    hc = {r["zone"]: r for r in live["headcount"]}
    assert hc["smelter-hall"]["n"] == 2 and hc["tank-farm"]["n"] == 1
    assert hc["converter-aisle"]["n"] == 1
    if found:
        assert hc["converter-aisle"]["state"] == "under" and hc["converter-aisle"]["min"] == 2
    hc_text = _text(headcount)
    assert "Converter aisle" in hc_text and ("Under" in hc_text or not found)
    # newest first; open ones flagged; the rules engine's camera, else the nearest one
    assert [v["rule"] for v in live["violations"]] == ["lone_worker", "forbidden_zone", "speeding"]
    assert [v["end"] is None for v in live["violations"]] == [True, True, False]
    assert live["violations"][1]["camera"] == "CAM-TANK"
    assert live["violations"][0]["camera"] in ("CAM-HALL", "CAM-TANK")
    feed_text = _text(feed)
    assert feed_text.index("Lone worker") < feed_text.index("Forbidden zone entered") < feed_text.index("Speeding")
    assert "Tank farm camera" in feed_text and "OPEN" in feed_text and HOSTILE in feed_text  # hostile name as text
    statuses = {plant.badges[r[0]].id: r[4] for r in live["people"]}
    assert statuses["P003"] == 1 and statuses["P002"] == 0
    assert banner is None and "No emergency declared." in _text(muster) and declare_off is False and end_off is True
    assert "4" in _text(summary)
    assert HOSTILE in _text(panel) and "In violation" in _text(panel) and "Forbidden zone entered" in _text(panel)
    assert "Search a person" in _text(nobody) and "No such badge." in _text(unknown)
    assert "Vehicle" in _text(vehicle)


def test_history_windows_and_path(app_now) -> None:  # type: ignore[no-untyped-def]
    from webapp.pages import personnel

    app, _, settings = app_now
    with request_as(app, settings, "/personnel"):
        trips, _, msg = personnel.load_history("playback", "", 60, "", None)
        _, heat, hmsg = personnel.load_history("heatmap", "", 60, "smelter-hall", None)
        live_mode = personnel.load_history("live", "", 60, "", None)
        bad = personnel.load_history("playback", "yesterday-ish", 60, "", None)
        future = personnel.load_history("playback", "2999-01-01 10:00", 60, "", None)
        path, pmsg = personnel.load_path(1, "P001", "", 60)
        no_badge = personnel.load_path(1, None, "", 60)
        bad_badge = personnel.load_path(1, "<script>", "", 60)
    assert {b["id"] for b in trips["badges"]} >= {"P001", "V01"} and "people and vehicles" in msg
    p001 = next(t for t in trips["trips"] if trips["badges"][t["b"]]["id"] == "P001")
    assert p001["t"][0] == 0 and len(p001["p"]) < 20  # a straight walk needs few points
    assert heat["zone"] == "smelter-hall" and heat["total_s"] > 0 and "person-hours" in hmsg
    assert live_mode[2] == ""
    assert "HH:MM" in bad[2] and "future" in future[2]
    assert path["badge"] == "P001" and path["points"] > 100 and "km" in pmsg
    assert path["distance_m"] == pytest.approx(359 / 4, abs=1)
    assert no_badge[0] is None and "Follow a person" in no_badge[1]
    assert bad_badge[0] is None and "No such badge" in bad_badge[1]


def test_muster_actions_and_live_counts(app_now) -> None:  # type: ignore[no-untyped-def]
    from webapp.pages import personnel

    app, _, settings = app_now
    with request_as(app, settings, "/personnel", "executive"):  # may see the page, may not declare
        assert personnel.do_muster("declare", None, "en") == ("Not available for your role.", False)
    with request_as(app, settings, "/personnel"):
        assert personnel.do_muster("declare", "a\x00b", "en")[1] is False  # a note with control characters
        msg, changed = personnel.do_muster("declare", "Acid <release>", "en")
        assert changed and msg == "Emergency muster declared."
        live, _, _, _, _, banner, muster, declare_off, end_off = personnel.refresh(2)
        assert live["muster"]["on_roll"] == 4 and live["muster"]["arrived"] == 0
        assert declare_off is True and end_off is False
        assert "EMERGENCY MUSTER" in _text(banner) and "0 of 4" in _text(banner)
        text = _text(muster)
        assert "test-dispatcher" in text and "Acid <release>" in text and HOSTILE in text
        assert personnel.do_muster("end", None, "en") == ("Muster ended.", True)
        assert personnel.do_muster("end", None, "en") == ("No muster is running.", False)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        ev = session.query(Event).filter(Event.kind == "muster").one()
        assert ev.ts_end is not None
        assert ev.data == {"declared_by": "test-dispatcher", "ended_by": "test-dispatcher"}  # the login, not typed
    engine.dispose()


def test_exposure_table_and_csv(app_now) -> None:  # type: ignore[no-untyped-def]
    from webapp.live import personnel as data
    from webapp.pages import personnel

    app, now, settings = app_now
    plant = load_plant(settings.plant_file)
    today = datetime.fromtimestamp(now / 1000, UTC).astimezone(plant.tz()).date()
    view = app.server.view_functions["personnel_exposure_csv"]
    with request_as(app, settings, "/personnel"):
        table, href = personnel.exposure(today.isoformat(), "all", "all")
        hazard, _ = personnel.exposure(today.isoformat(), "all", "hazard")
        bad, bad_href = personnel.exposure("2999-01-01", "all", "all")
    assert href.startswith("/personnel/exposure.csv?") and "levels=all" in href and bad_href == ""
    text = _text(table)
    assert "Zhang Wei" in text and "Smelter hall" in text and HOSTILE in text
    assert "Choose a day" in _text(bad)
    assert "Office" not in _text(hazard)  # hazard = red and orange zones only
    with request_as(app, settings, f"/personnel/exposure.csv?day={today.isoformat()}&shift=all&levels=all&lang=zh"):
        resp = view()
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["标签", "姓名", "身份"]
    names = {r[0]: r[1] for r in rows[1:]}
    assert names["P001"] == "张伟"  # Chinese names, UTF-8 with BOM
    assert names["P003"] == "'" + HOSTILE  # formula escaped, kept as text
    # P001 walked the hour before now: summed over the plant days that hour touches (two just after midnight).
    days = sorted({datetime.fromtimestamp(ms / 1000, UTC).astimezone(plant.tz()).date() for ms in (now - HOUR, now)})
    seconds = 0.0
    for day in days:
        with request_as(app, settings, f"/personnel/exposure.csv?day={day.isoformat()}&shift=all&levels=all"):
            day_rows = list(csv.reader(io.StringIO(view().get_data().decode("utf-8-sig"))))
        seconds += sum(float(r[9]) for r in day_rows[1:] if r[0] == "P001" and r[5] == "smelter-hall")
    assert seconds == pytest.approx(3600, abs=60), (days, seconds)
    for query in ("day=2999-01-01", "day=nonsense", "shift=Z", "levels=everything"):
        with request_as(app, settings, f"/personnel/exposure.csv?{query}"):
            resp = view()
        assert resp.status_code == 400 and resp.get_data(as_text=True).strip()
    assert data.fmt_duration(3725.4) == "1:02:05"


def test_parse_window() -> None:
    from webapp.live.personnel import WindowError, parse_window

    plant = load_plant(MINI_PLANT)  # Asia/Shanghai: 14:30 in the plant is 06:30 UTC
    now = plant_ms(plant, 2024, 3, 5, 14, 30)
    assert parse_window("", 60, plant, now) == (now - 3_600_000, now)
    assert parse_window("now", "30", plant, now) == (now - 1_800_000, now)
    t0, t1 = parse_window("12:00", 60, plant, now)
    assert t1 == plant_ms(plant, 2024, 3, 5, 12, 0)
    t0, t1 = parse_window("2024-03-04 23:30", 120, plant, now)
    assert t1 - t0 == 7_200_000
    assert t1 == plant_ms(plant, 2024, 3, 4, 23, 30)
    for bad_end in ("25:00", "2024-02-30 10:00", "tomorrow", "12:00; DROP TABLE", "<script>"):
        with pytest.raises(WindowError) as e:
            parse_window(bad_end, 60, plant, now)
        assert e.value.key == "personnel.window.bad_end"
    with pytest.raises(WindowError, match="future"):
        parse_window("2024-03-05 15:00", 60, plant, now)
    for bad_len in (0, -5, math.nan, math.inf, "x", None, 24 * 60 + 1):
        with pytest.raises(WindowError) as e:
            parse_window("", bad_len, plant, now)
        assert e.value.key == "personnel.window.bad_duration"
    assert timedelta(milliseconds=parse_window("", 1440, plant, now)[1] - parse_window("", 1440, plant, now)[0]) == (
        timedelta(hours=24)
    )


def test_twenty_screens_share_one_live_build(app_now) -> None:  # type: ignore[no-untyped-def]
    from webapp.live import personnel as data

    app, _, _ = app_now
    engine = app.server.extensions["sw_engine"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with app.server.app_context():
        data.live(SYSTEM)
    one_build = len(statements)
    assert one_build > 0
    statements.clear()
    with app.server.app_context():
        data.expire_live()
    results: list[dict[str, Any]] = []
    barrier = threading.Barrier(20)

    def screen() -> None:
        with app.server.test_request_context("/personnel"):
            barrier.wait()
            results.append(data.live(SYSTEM))

    threads = [threading.Thread(target=screen) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(results) == 20
    assert len(statements) == one_build, "twenty screens must cost one build"
    assert all(r["now_ms"] == results[0]["now_ms"] for r in results)
