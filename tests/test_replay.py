"""Incident replay (issue 17): the time line's pieces, and the simulator's scripted man-down replayed from a
real SQLite store written the way the collectors and services write it.

The man-down check: the badge at its true positions (what the simulator published) at five moments, the zone
colours as they were (a gas leak raised a zone one level while it lasted; today it is back), and the man-down
alarm's journal row appearing at its journal time, not before."""

from __future__ import annotations

import math
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.manifest import main as manifest_main
from engine.manifest import read_zip, verify, verify_zip
from engine.replay import (
    Series,
    Timeline,
    changes,
    frame_step,
    frame_times,
    headcounts,
    in_force,
    interpolate,
    value_at,
)
from engine.tracks import Track
from engine.types import GOOD, UNCERTAIN, PositionIn, SampleIn
from plant.loader import DEMO_PLANT, load_plant
from plant.schema import Plant, TagKind
from scene.layers import LEVEL_CODE
from services.alarms import AlarmService
from services.personnel import PersonnelService
from simulator.model import SmelterModel
from store.db import make_engine, migrate, session_scope
from store.incidents import IncidentError, create_incident, get_incident, search_incidents
from store.people import SYSTEM, Access, Viewer
from store.positions import write_positions
from store.samples import write_samples
from store.tags import sync_tags
from tests.fakeclock import plant_ms
from webapp.live.replay import Who, WindowError, check_window, default_tags, load, resolve

# --- the pieces ------------------------------------------------------------------------------------------------


def test_frames_and_changes() -> None:
    assert frame_step(0, 3_600_000) == 5_000  # 720 frames at most, 5 s at least
    assert frame_step(0, 4 * 3_600_000) == 20_000
    assert frame_times(0, 12_000, 5_000) == [0, 5_000, 10_000, 12_000]
    ch = changes([0, 5, 10, 15], ["a", "a", "b", "b"])
    assert ch == [(0, "a"), (10, "b")]
    assert in_force(ch, -1) is None and in_force(ch, 9.9) == "a" and in_force(ch, 10) == "b"
    s = Series("x", [100, 200], [1.0, 2.0], [0, 0])
    assert value_at(s, 99) is None and value_at(s, 150) == (100, 1.0, 0) and value_at(s, 200) == (200, 2.0, 0)
    assert interpolate([0, 10], [0, 10], [0, 0], 5) == (5, 0) and interpolate([0, 10], [0, 10], [0, 0], 11) is None


def test_headcounts_drop_stale_and_off_site_positions() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    a = Track("a", [0, 60_000], [5.0, 50.0], [5.0, 50.0], [0, 0], [True, True])  # walks out at 60 s
    b = Track("b", [0], [5.0], [5.0], [0], [True])  # stays, then its fix grows old
    c = Track("c", [0, 30_000], [5.0, 5.0], [5.0, 5.0], [0, 0], [True, False])  # leaves the site at 30 s
    got = headcounts([a, b, c], [0, 30_000, 60_000, 400_000], [("z", square)], max_age_ms=300_000)
    assert got == [{"z": 3}, {"z": 2}, {"z": 1}, {}]


def test_window_errors() -> None:
    with pytest.raises(WindowError):
        check_window(10, 10)
    with pytest.raises(WindowError) as err:
        check_window(0, 5 * 3_600_000)
    assert err.value.key == "replay.error.too_long"


def test_default_tags_are_the_incidents_equipment_and_zone() -> None:
    plant = load_plant(DEMO_PLANT)
    eq = next(e for e in plant.equipment if any(t.equipment == e.id and t.kind == TagKind.PROCESS for t in plant.tags))
    got = default_tags(plant, [eq.id], [])
    assert got and all(next(t for t in plant.tags if t.id == g).equipment == eq.id for g in got)
    gas = default_tags(plant, [], ["acid-gas-cleaning"])
    assert "acid-gas-cleaning.GD01.SO2" in gas


# --- the scripted man-down, end to end --------------------------------------------------------------------------

SEED = 1
STORED = (TagKind.GAS, TagKind.STATE, TagKind.SOS, TagKind.PROCESS)


@dataclass
class Run:
    plant: Plant
    url: str
    start: int
    windows: dict[str, Any]
    pos_log: dict[str, list[tuple[int, float, float, bool]]] = field(default_factory=dict)
    gas_log: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def man_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """About eleven simulated minutes of the demo plant through the personnel and alarm services: a gas leak,
    a forbidden entry, the man-down and an SOS happen in it."""
    plant = load_plant(DEMO_PLANT)
    path: Path = tmp_path_factory.mktemp("replay") / "store.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    start = plant_ms(plant, 2026, 5, 6, 10, 0)  # a working morning in the plant
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
    model = SmelterModel(plant, seed=SEED, start_ms=start)
    windows = {w.kind: w for w in model.incident_windows(start, start + 720_000)}
    run = Run(plant, url, start, windows)
    tags = {t.id: t for t in plant.tags}
    personnel = PersonnelService(plant, engine)
    alarms = AlarmService(plant, engine)

    def write(values: dict[str, Any], ts: int) -> None:
        pos: list[PositionIn] = []
        sam: list[SampleIn] = []
        for tid, v in values.items():
            tag = tags[tid]
            if tag.kind == TagKind.POSITION and tag.badge:
                off = model.off_site(tid)
                pos.append(PositionIn(tag.badge, ts, v[0], v[1], int(v[2]), UNCERTAIN if off else GOOD))
                run.pos_log.setdefault(tag.badge, []).append((ts, v[0], v[1], not off))
            elif tag.kind in STORED and tid in ids:
                value = float(v) if not isinstance(v, bool) else (1.0 if v else 0.0)
                sam.append(SampleIn(ids[tid], ts, value, GOOD))
                if tag.kind == TagKind.GAS:
                    run.gas_log.setdefault(tid, []).append((ts, value))
        with session_scope(engine) as session:
            write_positions(session, pos)
            write_samples(session, sam)

    write(model.initial_values(), start)
    end_s = (windows["man_down"].end_ms - start) // 1000 + 20
    for k in range(1, end_s + 1):
        now = start + k * 1000
        write(model.step(now), now)
        personnel.step(now + 300)
        if k % 2 == 0:
            alarms.step(now + 500)
    alarms.step(start + end_s * 1000 + 900)
    alarms.close()
    engine.dispose()
    yield run


def _level(packed: dict[str, Any], plant: Plant, zone: str, s: float) -> str:
    codes = in_force([(float(c[0]), c[1]) for c in packed["zl"]], s)
    assert codes is not None
    i = [z.id for z in plant.zones].index(zone)
    return {v: k for k, v in LEVEL_CODE.items()}[codes[i]]


def _truth(log: list[tuple[int, float, float, bool]], ts: int) -> tuple[float, float]:
    last = [p for p in log if p[0] <= ts][-1]
    return last[1], last[2]


@pytest.mark.slow
def test_man_down_replays_as_it_happened(man_down: Run) -> None:
    plant, start = man_down.plant, man_down.start
    md = man_down.windows["man_down"]
    leak = man_down.windows["gas_leak"]
    t0, t1 = start + 60_000, md.end_ms + 10_000
    engine = make_engine(man_down.url)
    packed = load(engine, plant, t0, t1, Who(SYSTEM, video=True), "en", tags=["acid-gas-cleaning.GD01.SO2"], now_ms=t1)
    tl = Timeline(packed)
    badge = next(i.badge for i in plant.incidents if i.kind == "man_down")
    bi = [b["id"] for b in packed["badges"]].index(badge)
    # five moments: walking before, at the fall, lying there twice, after getting up... its true positions
    log = man_down.pos_log[badge]
    moments = [md.start_ms - 90_000, md.start_ms + 2_000, md.start_ms + 100_000, md.end_ms - 5_000, t1 - 1_000]
    for ms in moments:
        s = (ms - t0) / 1000
        at = tl.badge_at(bi, s)
        assert at is not None, ms
        truth = _truth(log, ms)
        step_m = 1.5 * packed["step_s"]  # a walking person moves about this much in one time bucket
        assert math.dist(at, truth) <= max(1.0, step_m), (ms - md.start_ms, at, truth)
    # lying still: the same place all along
    lying = [tl.badge_at(bi, (ms - t0) / 1000) for ms in (md.start_ms + 70_000, md.start_ms + 200_000)]
    assert lying[0] is not None and lying[1] is not None and math.dist(lying[0], lying[1]) < 0.5

    # the zone colours as they were: the leak raised acid-gas-cleaning (orange) to red while it lasted
    peak_ms = max((ts for ts, v in man_down.gas_log["acid-gas-cleaning.GD01.SO2"] if ts < leak.end_ms and v > 5.0))
    over = [ts for ts, v in man_down.gas_log["acid-gas-cleaning.GD01.SO2"] if v > 5.0]
    assert over, "the scripted leak went over H"
    assert _level(packed, plant, "acid-gas-cleaning", (over[0] - t0) / 1000 + packed["step_s"]) == "red"
    assert _level(packed, plant, "acid-gas-cleaning", (peak_ms - t0) / 1000) == "red"
    assert _level(packed, plant, "acid-gas-cleaning", (t1 - t0) / 1000) == "orange"  # as it is "today"
    assert _level(packed, plant, "acid-gas-cleaning", 0) == "orange"  # before the leak
    assert _level(packed, plant, "fsf-hall", (md.start_ms - t0) / 1000 + 100) == "red"  # static red, unchanged

    # the man-down alarm row appears at its journal time, not before
    rows = [r for r in packed["journal"] if r["alarm"].startswith("violation:") and r["kind"] == "active"]
    md_rows = [r for r in rows if "man" in r["cond"].lower() or "man_down" in r["alarm"] or r["src"] == "man_down"]
    assert md_rows, [r["cond"] for r in rows]
    row = md_rows[0]
    assert md.start_ms + 50_000 <= row["ts"] <= md.start_ms + 65_000
    i = packed["journal"].index(row)
    assert tl.state_at(row["s"] - 0.1)["journal"] <= i < tl.state_at(row["s"])["journal"]
    assert row["s"] in packed["events"]  # "step" stops at it
    assert tl.next_event(row["s"] - 1) == row["s"]
    # the SOS ring: the man-down violation names the badge's scene index
    assert any(v[5] == 1 for v in packed["viol"])
    # an alarm marker stands on the scene while the man-down is annunciated
    assert tl.state_at(row["s"] + 1)["al"]
    assert packed["trends"] and packed["trends"][0]["tag"] == "acid-gas-cleaning.GD01.SO2"
    engine.dispose()


@pytest.mark.slow
def test_replay_for_an_executive_has_no_names(man_down: Run) -> None:
    plant, start = man_down.plant, man_down.start
    engine = make_engine(man_down.url)
    exec_view = Who(Viewer(user="e", access=Access.ANONYMOUS), video=False)
    packed = load(engine, plant, start + 60_000, start + 600_000, exec_view, "zh", now_ms=start + 600_000)
    assert packed["badges"] and all(b["n"] in ("", None) and b["nz"] in ("", None) for b in packed["badges"])
    assert packed["video"] == [] and all(r["user"] == "" and r["comment"] == "" for r in packed["journal"])
    counts = load(
        engine,
        plant,
        start + 60_000,
        start + 600_000,
        Who(Viewer(user="o", access=Access.COUNTS), video=False),
        "en",
        now_ms=start,
    )
    assert counts["trips"] == [] and counts["badges"] == [] and counts["hc"]
    assert np.isfinite(len(counts["zl"]))
    engine.dispose()


# --- incident records and their bundle -----------------------------------------------------------------------


def _web_store(tmp_path: Path) -> tuple[Any, Plant, int]:
    from tests.webutil import seed_store

    settings = seed_store(tmp_path, plant_file=DEMO_PLANT)
    plant = load_plant(DEMO_PLANT)
    return settings, plant, int(time.time() * 1000)


def test_incidents_saved_searched_and_scoped(tmp_path: Path) -> None:
    settings, plant, now = _web_store(tmp_path)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        a = create_incident(
            session,
            plant,
            title="SO2 leak <script>x</script>",
            t0=now - 600_000,
            t1=now,
            user="disp",
            now_ms=now,
            zones=["acid-gas-cleaning"],
            notes="line 1\nline 2",
            alarms=["x:H"],
            events=["12"],
        )
        b = create_incident(
            session,
            plant,
            title="Man down",
            t0=now - 900_000,
            t1=now - 300_000,
            user="disp",
            now_ms=now,
            zones=["fsf-hall"],
        )
        for bad, err in (
            ({"title": " "}, "title"),
            ({"title": "x", "zones": ["nowhere"]}, "zones"),
            ({"title": "x\x07"}, "control"),
        ):
            with pytest.raises(IncidentError, match=err):
                create_incident(session, plant, t0=now - 1, t1=now, user="u", now_ms=now, **bad)
        with pytest.raises(IncidentError, match="window"):
            create_incident(session, plant, title="x", t0=now, t1=now, user="u", now_ms=now)
    with session_scope(engine) as session:
        assert [i.id for i in search_incidents(session)] == [a, b]
        assert [i.id for i in search_incidents(session, "leak")] == [a]
        assert [i.id for i in search_incidents(session, "line 2")] == [a]
        acid = next(z.area for z in plant.zones if z.id == "acid-gas-cleaning")
        assert [i.id for i in search_incidents(session, areas=[acid])] == [a]
        assert get_incident(session, b, areas=[acid]) is None and get_incident(session, a, areas=[acid]) is not None
        inc = get_incident(session, a)
        assert inc is not None and inc.areas == [acid] and inc.events == [12] and inc.notes == "line 1\nline 2"
    engine.dispose()


def test_export_bundle_verifies_and_detects_tampering(tmp_path: Path) -> None:
    from auth.auditlog import AuditQuery
    from auth.auditlog import search as audit_search
    from tests.webutil import logged_in_client
    from webapp.app import create_app

    settings, plant, now = _web_store(tmp_path)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
        write_samples(session, [SampleIn(ids["acid-gas-cleaning.GD01.SO2"], now - 300_000, 7.5, GOOD)])
        write_positions(session, [PositionIn(plant.badges[0].id, now - 200_000, 100.0, 100.0, 0, GOOD)])
        inc = create_incident(
            session,
            plant,
            title="Leak",
            t0=now - 600_000,
            t1=now - 60_000,
            user="disp",
            now_ms=now,
            zones=["acid-gas-cleaning"],
            tags=["acid-gas-cleaning.GD01.SO2"],
            notes='=HYPERLINK("x")',
        )
    app = create_app(settings)
    disp = logged_in_client(app, settings, "dispatcher")
    resp = disp.get(f"/replay/incident/{inc}/export.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(resp.data)
    assert verify_zip(bundle) == []
    files = read_zip(bundle)
    assert {
        "manifest.json",
        "incident.json",
        "data/replay.json",
        "data/journal.csv",
        "data/trends.csv",
        "data/positions.csv",
        "summary.html",
        "summary.txt",
    } <= set(files)
    assert files["summary.pdf"].startswith(b"%PDF") and "Leak" in files["summary.txt"].decode()
    assert "7.5" in files["data/trends.csv"].decode() and plant.badges[0].id in files["data/positions.csv"].decode()
    # a changed file, an added one and a removed one are each found
    tampered = dict(files, **{"data/trends.csv": files["data/trends.csv"].replace(b"7.5", b"0.5")})
    assert verify(tampered) == ["data/trends.csv: changed (SHA-256 differs from the manifest)"]
    assert verify({**files, "extra.txt": b"x"}) == ["extra.txt: not in the manifest"]
    assert verify({k: v for k, v in files.items() if k != "summary.txt"}) == ["summary.txt: missing"]
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        for k, v in tampered.items():
            z.writestr(k, v)
    assert manifest_main(["verify", str(bad)]) == 1 and manifest_main(["verify", str(bundle)]) == 0
    # the export is audited; executives and on-call users may not export
    with session_scope(engine) as session:
        rows, _n = audit_search(session, AuditQuery(event="incident_export"))
    assert rows and rows[0].target == f"incident:{inc}" and rows[0].data and rows[0].data["sha256"]
    assert logged_in_client(app, settings, "executive").get(f"/replay/incident/{inc}/export.zip").status_code == 403
    assert logged_in_client(app, settings, "on-call").get(f"/replay/incident/{inc}/export.zip").status_code == 403
    assert disp.get("/replay/incident/999/export.zip").status_code == 404
    engine.dispose()


def test_replay_of_an_emergency(tmp_path: Path) -> None:
    from store.models import Emergency

    settings, plant, now = _web_store(tmp_path)
    engine = make_engine(settings.db_url)
    plan = plant.emergency.plans[0]
    declared, ended = now - 20 * 60_000, now - 12 * 60_000
    with session_scope(engine) as session:
        e = Emergency(
            state="ended",
            plan=plan.id,
            kind=str(plan.kind),
            zone="acid-gas-cleaning",
            level=1,
            radius_m=50.0,
            declared_ms=declared,
            ended_ms=ended,
            note="",
        )
        session.add(e)
        session.flush()
        em_id = int(e.id)
    op = resolve({"emergency": str(em_id)}, plant, engine, now)
    assert op.source == "emergency" and op.at == declared and op.t0 < declared and op.t1 >= ended
    assert op.zones == ("acid-gas-cleaning",) and op.tags  # the zone's gas detectors by default
    packed = load(engine, plant, op.t0, op.t1, Who(SYSTEM, video=True), "zh", tags=op.tags, now_ms=now)
    (em,) = packed["emergency"]
    assert em["id"] == em_id and em["s0"] == round((declared - op.t0) / 1000, 1) and em["s0"] in packed["events"]
    assert em["zone"] == next(z.name_zh for z in plant.zones if z.id == "acid-gas-cleaning")
    with pytest.raises(WindowError):
        resolve({"emergency": "999"}, plant, engine, now)
    with pytest.raises(WindowError) as err:
        resolve({"alarm": "x:H"}, plant, engine, now, areas=["acid"])
    assert err.value.key == "replay.error.incident_only"  # on-call users open incident records only
    engine.dispose()


def test_permits_at_the_cursor(tmp_path: Path) -> None:
    from store.models import WorkPermit, WorkPermitLog

    settings, plant, now = _web_store(tmp_path)
    engine = make_engine(settings.db_url)
    t0, t1 = now - 30 * 60_000, now - 60_000
    guard, crew = [b for b in plant.badges if b.name][:2]
    with session_scope(engine) as session:
        p = WorkPermit(
            kind="hot_work",
            grade="first",
            title="Weld flange <b>",
            zone="acid-gas-cleaning",
            x=1.0,
            y=2.0,
            area=[[0, 0], [10, 0], [10, 10], [0, 10]],
            guardian=guard.id,
            crew=[crew.id],
            valid_from=t0 - 3_600_000,
            valid_to=t1 + 3_600_000,
            isolations=[],
            applicant="a",
            applied_at=t0 - 3_600_000,
            state="closed",
            approvals=[],
            isolations_confirmed=True,
            activated_at=t0 + 300_000,
            closed_at=t0 + 1_200_000,
            updated_at=now,
        )
        session.add(p)
        session.flush()
        for ts, frm, to in (
            (t0 - 3_600_000, None, "applied"),
            (t0 - 600_000, "applied", "approved"),
            (t0 + 300_000, "isolated", "active"),
            (t0 + 900_000, "active", "suspended"),
            (t0 + 1_200_000, "suspended", "closed"),
        ):
            session.add(WorkPermitLog(permit_id=p.id, ts=ts, actor="a", action="x", from_state=frm, to_state=to))
    packed = load(engine, plant, t0, t1, Who(SYSTEM, video=True), "en", now_ms=now)
    (pm,) = packed["permits"]
    assert pm["kind"] == "Hot work" and pm["title"] == "Weld flange <b>"
    assert [c[1] for c in pm["st"]] == ["approved", "active", "suspended", "closed"] and pm["st"][0][0] == 0
    assert 300.0 in packed["events"] and 900.0 in packed["events"]
    # drawn on the scene where it is: its work point and area, its kind, its people by name for those who may see them
    assert pm["p"] == [1.0, 2.0] and pm["a"] == [[0, 0], [10, 0], [10, 10], [0, 10]] and pm["k"] == "hot_work"
    assert pm["guard"] == f"{guard.name} ({guard.id})" and pm["crew"] == [f"{crew.name} ({crew.id})"]
    line = Timeline(packed)
    assert line.permits_at(100) == [] and line.permits_at(600) == [(pm["id"], "active")]
    assert line.state_at(1000)["permits"] == [(pm["id"], "suspended")] and line.permits_at(1300) == []
    anon = load(engine, plant, t0, t1, Who(Viewer(user="e", access=Access.ANONYMOUS), video=False), "en", now_ms=now)
    (apm,) = anon["permits"]
    assert apm["title"] == "" and apm["guard"] == guard.id and apm["crew"] == [crew.id]  # badges, never names
    assert guard.name not in str(anon) and crew.name not in str(anon)
    counts = load(engine, plant, t0, t1, Who(Viewer(user="o", access=Access.COUNTS), video=False), "en", now_ms=now)
    (cpm,) = counts["permits"]
    assert cpm["guard"] == "" and cpm["crew"] == [] and cpm["n_crew"] == 1  # counts only
    engine.dispose()
