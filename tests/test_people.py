"""store.people, the one access module for positions and identities, on SQLite and PostgreSQL: live view
with statuses and headcount, trajectories, playback trips, heatmap, exposure, muster, violation feed, and
what each access level may see. Positions follow the simulator's contract: reported by exception (a badge
standing still publishes nothing) and one position of uncertain quality at the gate when leaving."""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from auth.policy import Principal, Role, viewer_of
from engine.exposure import Window
from engine.types import BAD_NO_COMMUNICATION, GOOD, PositionIn, SampleIn
from plant import Plant, load_plant
from store import people
from store.db import make_engine, migrate, session_scope
from store.events import add_event, close_event
from store.models import Event
from store.people import SYSTEM, Access, Viewer
from store.positions import write_positions
from store.samples import write_samples
from store.tags import sync_tags
from tests.webutil import MINI_PLANT
from webapp.live.tracks import pack_heatmap, pack_playback

S = 1000
MIN = 60 * S
T0 = 1_750_000_000_000 - (1_750_000_000_000 % (3600 * S))  # a whole hour
OFF = 0x40900000  # UncertainLastUsableValue: off site, at the gate
ANON = Viewer(access=Access.ANONYMOUS)
COUNTS = Viewer(access=Access.COUNTS)


def mini_plant_with_two_points(tmp_path: Path) -> Plant:
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    data["muster_points"].append({"id": "mp-2", "name": "Muster point 2", "position": [300, 130], "radius_m": 10})
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_plant(path)


@pytest.fixture
def store(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    migrate(db_url)
    engine = make_engine(db_url)
    plant = mini_plant_with_two_points(tmp_path)
    with session_scope(engine) as session:
        sync_tags(session, plant)
    yield engine, plant
    engine.dispose()


def walk(badge: str, t0: int, p0: tuple[float, float], p1: tuple[float, float], seconds: int) -> list[PositionIn]:
    """1 Hz positions on a straight line from p0 (at t0) to p1 (at t0 + seconds)."""
    out = []
    for k in range(seconds + 1):
        f = k / seconds
        out.append(PositionIn(badge, t0 + k * S, p0[0] + (p1[0] - p0[0]) * f, p0[1] + (p1[1] - p0[1]) * f))
    return out


def seed_hour(engine) -> None:  # type: ignore[no-untyped-def]
    """One hour from T0:
    P001 walks west->east through the smelter hall (x 60 -> 140 at y 200) in the first 10 min, stands still
         at (140, 200) (no reports) until 40 min, then walks to the office and leaves the site at 50 min;
    P002 stands still in the acid plant since before T0 (one position 2 h earlier), never reports;
    P003 left the site before T0 (uncertain position at the gate) and comes back at 30 min;
    V01 drives along the main road the whole hour."""
    pos: list[PositionIn] = []
    pos += walk("P001", T0, (60, 200), (140, 200), 600)
    pos += walk("P001", T0 + 40 * MIN, (140, 200), (100, 60), 600)
    pos.append(PositionIn("P001", T0 + 50 * MIN + 5 * S, 200, 0, 0, OFF))
    pos.append(PositionIn("P002", T0 - 2 * 3600 * S, 300, 200, 1))
    pos.append(PositionIn("P003", T0 - 10 * MIN, 200, 0, 0, OFF))
    pos += walk("P003", T0 + 30 * MIN, (200, 5), (200, 120), 300)
    pos += walk("V01", T0, (10, 130), (390, 130), 3600)
    with session_scope(engine) as session:
        write_positions(session, pos)


# --- access ------------------------------------------------------------------------------------------------


def test_access_levels_decide_in_one_place(store) -> None:  # type: ignore[no-untyped-def]
    _, plant = store
    assert people.access(SYSTEM) is Access.FULL  # the server itself (services, jobs), named
    assert people.access(viewer_of(Principal.of(1, "x", "executive"))) is Access.ANONYMOUS  # positions, no names
    assert people.identities(plant, viewer_of(Principal.of(1, "x", "executive")))["P001"].name is None
    assert people.access(viewer_of(Principal.of(1, "x", "dispatcher"))) is Access.FULL
    assert people.access(viewer_of(Principal.of(1, "x", "admin"))) is Access.FULL
    assert people.access(viewer_of(Principal.of(1, "x", "on-call"))) is Access.COUNTS
    assert people.access(viewer_of(Principal(1, "x", Role.EXECUTIVE))) is Access.COUNTS  # no permission: deny
    assert viewer_of(None) is None  # nobody: the store refuses it (tests/test_fail_closed.py)
    full = people.identities(plant, SYSTEM)
    assert full["P001"].name == "Zhang Wei" and full["V01"].vehicle and full["VIS1"].role == "visitor"
    anon = people.identities(plant, ANON)
    assert anon["P001"].name is None and anon["P001"].team == "" and anon["P001"].role == "employee"
    assert people.identities(plant, COUNTS) == {}
    with pytest.raises(people.NotAllowedError):
        people.identity(plant, "P001", COUNTS)
    with pytest.raises(people.UnknownBadgeError, match="unknown badge 'NOPE'"):
        people.identity(plant, "NOPE", SYSTEM)


def test_search_by_id_name_and_team(store) -> None:  # type: ignore[no-untyped-def]
    _, plant = store
    assert [i.badge for i in people.search(plant, "p001", SYSTEM)] == ["P001"]
    assert [i.badge for i in people.search(plant, "zhang", SYSTEM)] == ["P001"]
    assert {i.badge for i in people.search(plant, "smelting", SYSTEM)} == {"P001", "P004"}
    assert people.search(plant, "P00", SYSTEM)[0].badge.startswith("P00")
    assert people.search(plant, "zhang", ANON) == []  # no names: ids only
    assert [i.badge for i in people.search(plant, "V01", ANON)] == ["V01"]
    assert people.search(plant, "   ", SYSTEM) == [] and people.search(plant, "<script>", SYSTEM) == []
    with pytest.raises(TypeError):
        people.search(plant, None, SYSTEM)  # type: ignore[arg-type]


# --- live ---------------------------------------------------------------------------------------------------


def test_live_view_statuses_and_headcount(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    now = T0 + 5 * MIN
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn("P001", now - 2 * S, 100, 200),  # smelter hall
                PositionIn("P004", now - 3 * S, 120, 210, 1),  # smelter hall, floor 1
                PositionIn("P002", now - 1 * S, 300, 200),  # acid plant
                PositionIn("P003", now - 2 * S, 300, 60),  # tank farm (forbidden)
                PositionIn("P005", now - 9 * MIN, 100, 60),  # office, not heard of for 9 min
                PositionIn("VIS1", now - 4 * S, 200, 0, 0, OFF),  # gone home
                PositionIn("V01", now - 1 * S, 200, 130),  # on the road
                PositionIn("GHOST", now - 1 * S, 100, 100),  # not in the plant file
            ],
        )
        from store.tags import tag_ids

        ids = tag_ids(session)
        write_samples(session, [SampleIn(ids["RTLS.P002.SOS"], now - 1 * S, 1.0, GOOD)])
        add_event(session, "violation", "forbidden_zone", now - 60 * S, badge="P003", zone="tank-farm", severity="high")
        add_event(session, "violation", "man_down", now - 30 * S, badge="P004", zone="smelter-hall", severity="urgent")
        vid = add_event(session, "violation", "dwell", now - 90 * S, badge="P001", zone="smelter-hall")
        close_event(session, vid, now - 10 * S)  # closed: P001 is normal again
    with session_scope(engine) as session:
        view = people.live_people(session, plant, now, SYSTEM)
    by = {p.badge: p for p in view.people}
    assert set(by) == {"P001", "P002", "P003", "P004", "P005", "V01"}
    assert by["P001"].status == "normal" and by["P001"].zone == "smelter-hall"
    assert by["P002"].status == "sos" and by["P002"].sos
    assert by["P003"].status == "violation" and by["P003"].rules == ("forbidden_zone",)
    assert by["P004"].status == "sos" and by["P004"].floor == 1  # man-down shows like SOS
    assert by["P005"].stale and not by["P001"].stale
    assert by["V01"].kind == "vehicle" and by["V01"].zone is None
    assert view.headcount == {"smelter-hall": 2, "acid-plant": 1, "tank-farm": 1, "office": 1}
    assert view.on_site == {"person": 5, "vehicle": 1}
    assert view.by_status == {"normal": 3, "violation": 1, "sos": 2}
    with session_scope(engine) as session:
        counts = people.live_people(session, plant, now, COUNTS)
        anon = people.live_people(session, plant, now, ANON)
    assert counts.people == [] and counts.headcount == view.headcount
    assert len(anon.people) == 6
    with pytest.raises(ValueError, match="finite"), session_scope(engine) as session:
        people.live_people(session, plant, math.nan, SYSTEM)  # type: ignore[arg-type]


def test_positions_at_takes_newest_before(store) -> None:  # type: ignore[no-untyped-def]
    engine, _plant = store
    seed_hour(engine)
    with session_scope(engine) as session:
        at = people.positions_at(session, ["P001", "P002", "P003", "P004", "V01"], T0 + 20 * MIN)
    assert at["P001"].x == pytest.approx(140) and at["P001"].ts == T0 + 600 * S
    assert at["P002"].good and at["P002"].floor == 1 and at["P002"].ts == T0 - 2 * 3600 * S
    assert not at["P003"].good  # off site then
    assert "P004" not in at
    with session_scope(engine) as session:
        assert "P002" not in people.positions_at(session, ["P002"], T0, lookback_ms=3600 * S)


# --- trajectory ----------------------------------------------------------------------------------------------


def test_trajectory_raw_bucketed_and_split_at_leaving(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    seed_hour(engine)
    with session_scope(engine) as session:
        raw = people.trajectory(session, plant, "P001", T0, T0 + 3600 * S, SYSTEM, max_points=5000)
        coarse = people.trajectory(session, plant, "P001", T0, T0 + 3600 * S, SYSTEM, max_points=200)
    assert raw.step_ms == 0 and raw.points == 1202  # every position (the start fix is the first one)
    assert len(raw.segments) == 1  # it left at the end: the gate position is not drawn
    assert raw.distance_m == pytest.approx(80 + math.hypot(40, 140), abs=0.5)
    assert raw.zones == ["smelter-hall", "office"]
    assert coarse.step_ms == 18 * S and coarse.points <= 200
    assert coarse.distance_m == pytest.approx(raw.distance_m, rel=0.02)
    with session_scope(engine) as session:
        back = people.trajectory(session, plant, "P003", T0, T0 + 3600 * S, SYSTEM)
        assert back.segments[0][0][0] == T0 + 30 * MIN  # nothing while off site
        with pytest.raises(people.UnknownBadgeError):
            people.trajectory(session, plant, "<script>", T0, T0 + S, SYSTEM)
        with pytest.raises(ValueError, match="after its start"):
            people.trajectory(session, plant, "P001", T0, T0, SYSTEM)
        with pytest.raises(ValueError, match="longer than 24 h"):
            people.trajectory(session, plant, "P001", T0, T0 + 25 * 3600 * S, SYSTEM)
        with pytest.raises(ValueError, match="finite"):
            people.trajectory(session, plant, "P001", math.nan, T0, SYSTEM)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            people.trajectory(session, plant, "P001", "yesterday", T0, SYSTEM)  # type: ignore[arg-type]
        with pytest.raises(people.NotAllowedError):
            people.trajectory(session, plant, "P001", T0, T0 + S, COUNTS)


# --- playback -----------------------------------------------------------------------------------------------


def _replay(trip: dict, t: float) -> tuple[float, float]:  # type: ignore[type-arg]
    ts = trip["t"]
    xs = [p[0] for p in trip["p"]]
    ys = [p[1] for p in trip["p"]]
    return float(np.interp(t, ts, xs)), float(np.interp(t, ts, ys))


def test_playback_trips_compact_and_faithful(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    seed_hour(engine)
    with session_scope(engine) as session:
        add_event(session, "violation", "speed", T0 + 15 * MIN, T0 + 16 * MIN, badge="V01", severity="medium")
        out = pack_playback(people.playback(session, plant, T0, T0 + 3600 * S, viewer=SYSTEM))
    assert out["t0"] == T0 and out["step_s"] == 5
    names = {b["id"]: b for b in out["badges"]}
    assert set(names) == {"P001", "P002", "P003", "V01"}
    assert names["P001"]["n"] == "Zhang Wei" and names["V01"]["v"] == 1
    trips = {}
    for trip in out["trips"]:
        trips.setdefault(out["badges"][trip["b"]]["id"], []).append(trip)
        assert trip["t"] == sorted(trip["t"]) and len(trip["t"]) == len(trip["p"]) >= 2
        for x, y in trip["p"]:
            assert round(x, 1) == x and round(y, 1) == y
    # straight lines at constant speed need very few points
    (v01,) = trips["V01"]
    assert len(v01["t"]) <= 4
    assert _replay(v01, 1800) == pytest.approx((200, 130), abs=0.6)
    # P001: walk, stand still (kept in place), walk, gone after leaving
    (p1,) = trips["P001"]
    assert _replay(p1, 300) == pytest.approx((100, 200), abs=0.6)
    assert _replay(p1, 1500) == pytest.approx((140, 200), abs=0.6)  # standing still, no reports
    assert _replay(p1, 2700) == pytest.approx((120, 130), abs=0.6)
    assert p1["t"][-1] <= 50 * 60 + 5
    # P002 never reported in the hour but is on site: held in place for the whole window
    (p2,) = trips["P002"]
    assert p2["t"][0] == 0 and p2["t"][-1] == 3600 and p2["p"][0] == [300.0, 200.0]
    # P003 appears when it comes back
    (p3,) = trips["P003"]
    assert p3["t"][0] >= 30 * 60 - 5
    assert out["points"] < 40
    v01_index = [b["id"] for b in out["badges"]].index("V01")
    assert out["violations"] == [[900.0, 960.0, "medium", "speed", v01_index, None]]


def test_playback_zone_filter_and_access(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    seed_hour(engine)
    with session_scope(engine) as session:
        hall = pack_playback(people.playback(session, plant, T0, T0 + 3600 * S, zone="smelter-hall", viewer=SYSTEM))
        anon = pack_playback(people.playback(session, plant, T0, T0 + 3600 * S, viewer=ANON))
        counts = pack_playback(people.playback(session, plant, T0, T0 + 3600 * S, viewer=COUNTS))
        with pytest.raises(KeyError, match="unknown zone"):
            people.playback(session, plant, T0, T0 + S, zone="nowhere", viewer=SYSTEM)
    assert {b["id"] for b in hall["badges"]} == {"P001"}
    for trip in hall["trips"]:
        assert all(50 <= x <= 150 and 150 <= y <= 250 for x, y in trip["p"])
    assert all(b["n"] is None for b in anon["badges"]) and len(anon["trips"]) == 4
    assert counts["trips"] == [] and counts["badges"] == [] and counts["access"] == "counts"


# --- heatmap ------------------------------------------------------------------------------------------------


def test_heatmap_person_seconds(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    seed_hour(engine)
    with session_scope(engine) as session:
        hm = pack_heatmap(people.heatmap(session, plant, T0, T0 + 3600 * S, cell_m=10, viewer=SYSTEM))
    assert (hm["nx"], hm["ny"]) == (40, 30)
    grid = np.frombuffer(base64.b64decode(hm["data"]), dtype=np.uint8).reshape(hm["ny"], hm["nx"])
    # the busiest cell: P002 standing in the acid plant for the whole hour
    assert hm["max_s"] == pytest.approx(3600, abs=1)
    j, i = np.unravel_index(int(np.argmax(grid)), grid.shape)
    assert (i, j) == (30, 20) and grid[j, i] == 255
    assert grid[20, 14] > 0  # where P001 stood for half an hour
    assert grid[13, 20] == 0  # the main road: vehicles are not counted
    # person-seconds on site: P001 about 50 min, P002 60 min, P003 about 30 min
    assert hm["total_s"] == pytest.approx(50 * 60 + 3600 + 30 * 60, rel=0.02)


# --- exposure -----------------------------------------------------------------------------------------------


def test_exposure_per_shift_from_history(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    seed_hour(engine)
    windows = [Window("A", T0, T0 + 30 * MIN), Window("B", T0 + 30 * MIN, T0 + 60 * MIN)]
    with session_scope(engine) as session:
        rows = people.exposure(session, plant, windows, SYSTEM, levels=None, step_ms=5 * S)
        hazard = people.exposure(session, plant, windows, SYSTEM, levels=["red"])
        with pytest.raises(people.NotAllowedError):
            people.exposure(session, plant, windows, COUNTS)
    got = {(r.badge, r.shift, r.zone): r.seconds for r in rows}
    # P001 is in the smelter hall (x >= 50) from 0 until it walks out towards the office after 40 min
    hall_a = got[("P001", "A", "smelter-hall")]
    hall_b = got[("P001", "B", "smelter-hall")]
    assert hall_a == pytest.approx(30 * 60, abs=10)
    exit_s = 40 * 60 + 600 * (50 / 140)  # leaves the hall polygon at y = 150
    assert hall_b == pytest.approx(exit_s - 30 * 60, abs=10)
    assert got[("P002", "A", "acid-plant")] == pytest.approx(1800, abs=1)
    assert got[("P002", "B", "acid-plant")] == pytest.approx(1800, abs=1)
    assert ("P001", "B", "office") in got
    assert all(r.level == "red" for r in hazard)
    assert {r.zone for r in hazard} <= {z.id for z in plant.zones if z.level.value == "red"}


# --- muster -------------------------------------------------------------------------------------------------


def test_muster_declare_count_wrong_point_and_end(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    t = T0 + 10 * MIN
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn("P001", t - 5 * S, 110, 160),  # nearest mp-1 (120, 115)
                PositionIn("P002", t - 5 * S, 300, 200),  # nearest mp-2 (300, 130)
                PositionIn("P003", t - 5 * S, 280, 160),  # nearest mp-2
                PositionIn("P004", t - 5 * S, 100, 200),  # nearest mp-1
                PositionIn("VIS1", t - 5 * S, 200, 0, 0, OFF),  # off site: not on the roll
                PositionIn("V01", t - 5 * S, 200, 130),  # a vehicle: not on the roll
            ],
        )
        mid = people.declare_muster(session, "  Dispatcher Wu  ", t, note="Gas release <b>acid</b>")
        assert people.declare_muster(session, "someone else", t + 1) == mid  # one running muster
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn("P001", t + 60 * S, 118, 118),  # at its own point
                PositionIn("P003", t + 90 * S, 122, 112),  # at the wrong point: still arrived
                PositionIn("P003", t + 95 * S, 160, 112),  # and wanders off again: still arrived
                PositionIn("P002", t + 70 * S, 300, 170),  # on the way, not there yet
                PositionIn("P005", t + 80 * S, 300, 131),  # came on site after: extra, not missing
            ],
        )
    with session_scope(engine) as session:
        view = people.muster_view(session, plant, t + 120 * S, SYSTEM)
        anon = people.muster_view(session, plant, t + 120 * S, ANON)
        counts = people.muster_view(session, plant, t + 120 * S, COUNTS)
    assert view is not None and view.active and view.declared_by == "Dispatcher Wu"
    assert view.note == "Gas release <b>acid</b>"
    st = view.status
    assert st.on_roll == 4 and st.arrived == 2
    assert [m.badge for m in st.missing] == ["P002", "P004"]
    p2 = next(m for m in st.missing if m.badge == "P002")
    assert (p2.x, p2.y, p2.ts, p2.assigned) == (300, 170, t + 70 * S, "mp-2")
    assert view.last_zone["P004"] == "smelter-hall"
    assert st.at_other == {"P003": "mp-1"} and st.extra == ["P005"]
    by = {p.point: p for p in st.points}
    assert by["mp-1"].arrived == 2 and by["mp-1"].from_other == 1
    assert by["mp-2"].assigned == 2 and by["mp-2"].arrived == 1 and by["mp-2"].elsewhere == 1
    assert anon is not None and anon.declared_by == "" and anon.note == "" and len(anon.status.missing) == 2
    assert counts is not None and counts.status.missing == [] and counts.status.arrived == 2
    with session_scope(engine) as session:
        assert people.end_muster(session, "Dispatcher Wu", t + 600 * S)
        assert not people.end_muster(session, "Dispatcher Wu", t + 601 * S)
    with session_scope(engine) as session:
        ev = session.get(Event, mid)
        assert ev is not None and ev.kind == "muster" and ev.ts_end == t + 600 * S
        assert ev.data == {"declared_by": "Dispatcher Wu", "ended_by": "Dispatcher Wu"}
        assert people.active_muster(session) is None
        ended = people.muster_view(session, plant, t + 3600 * S, SYSTEM, event=people.last_muster(session))
        assert ended is not None and not ended.active and ended.status.arrived == 2
        for bad in ("", "   ", "x" * 65, "a\x00b"):
            with pytest.raises(ValueError):
                people.declare_muster(session, bad, t)
        with pytest.raises(TypeError):
            people.declare_muster(session, None, t)  # type: ignore[arg-type]


# --- violations ---------------------------------------------------------------------------------------------


def test_violation_feed_newest_first_open_and_recent(store) -> None:  # type: ignore[no-untyped-def]
    engine, _ = store
    now = T0 + 3600 * S
    with session_scope(engine) as session:
        old = add_event(session, "violation", "dwell", now - 20 * 3600 * S, badge="P001", zone="smelter-hall")
        close_event(session, old, now - 19 * 3600 * S)
        add_event(session, "violation", "lone_worker", now - 15 * 3600 * S, badge="P004", zone="converter-aisle")
        for k, rule in enumerate(["forbidden_zone", "speed", "sos"]):
            vid = add_event(
                session,
                "violation",
                rule,
                now - (30 - k) * MIN,
                badge="P003",
                zone="tank-farm",
                severity="high",
                message="Wang Fang in <tank farm>",
                data={"camera": "CAM-1", "fence": "tank-fence", "value": 1.5, "limit": 1},
            )
            if rule == "speed":
                close_event(session, vid, now - 20 * MIN)
        add_event(session, "gap", "dcs", now - MIN)  # not a violation
    with session_scope(engine) as session:
        feed = people.violation_feed(session, now, SYSTEM)
        anon = people.violation_feed(session, now, ANON)
        short = people.violation_feed(session, now, SYSTEM, limit=2)
        window = people.violations_between(session, now - 25 * MIN, now, SYSTEM)
    assert [v.rule for v in feed] == ["sos", "speed", "forbidden_zone", "lone_worker"]  # old closed one gone
    assert feed[0].open and not feed[1].open and feed[3].open
    assert feed[0].camera == "CAM-1" and feed[0].fence == "tank-fence" and feed[0].value == 1.5
    assert feed[0].message == "Wang Fang in <tank farm>"
    assert anon[0].message == "" and anon[0].badge == "P003"
    assert len(short) == 2
    assert [v.rule for v in window] == ["lone_worker", "forbidden_zone", "speed", "sos"]


def test_rtls_outage_marker_keeps_badges_where_they_were(store) -> None:  # type: ignore[no-untyped-def]
    """The collectors write the last position again at BAD_NO_COMMUNICATION when the RTLS gateway goes
    silent: the badge stays on site at its last known position (live, playback, muster roll), unlike a
    badge that left (uncertain quality at the gate)."""
    engine, plant = store
    t = T0 + 10 * MIN
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn("P001", t - 60 * S, 100, 200),
                PositionIn("P001", t - 30 * S, 100, 200, 0, BAD_NO_COMMUNICATION),  # outage starts
                PositionIn("P002", t - 60 * S, 300, 200),
                PositionIn("P002", t - 30 * S, 200, 0, 0, OFF),  # left the site
            ],
        )
        view = people.live_people(session, plant, t, SYSTEM)
        trips = pack_playback(people.playback(session, plant, t - 5 * MIN, t, viewer=SYSTEM))
        people.declare_muster(session, "Wu", t)
        muster = people.muster_view(session, plant, t + MIN, SYSTEM)
    by = {p.badge: p for p in view.people}
    assert set(by) == {"P001"} and by["P001"].stale and by["P001"].zone == "smelter-hall"
    assert view.headcount == {"smelter-hall": 1}
    ids = [b["id"] for b in trips["badges"]]
    assert ids == ["P001", "P002"]
    p1 = next(tr for tr in trips["trips"] if trips["badges"][tr["b"]]["id"] == "P001")
    assert p1["t"][-1] == 300 and p1["p"][-1] == [100.0, 200.0]  # held to the end of the window
    p2 = next(tr for tr in trips["trips"] if trips["badges"][tr["b"]]["id"] == "P002")
    assert p2["t"][-1] < 300  # gone when it left
    assert muster is not None and muster.status.on_roll == 1 and [m.badge for m in muster.status.missing] == ["P001"]
