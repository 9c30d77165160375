"""The hidden-danger register (隐患排查治理): the workflow refuses illegal moves, a major danger needs its plan
before rectification, verification by someone else closes it, overdue ones escalate, the figures; on a real
SQLite store with its log."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.hidden_dangers import (
    ASSESSED,
    ASSIGNED,
    CLOSED,
    DAY_MS,
    MAJOR,
    PLANNED,
    RECTIFIED,
    REPORTED,
    Danger,
    IllegalMoveError,
    escalation,
    figures,
    move,
    overdue,
)
from plant.loader import default_plant_path, load_plant
from services.__main__ import FACTORIES
from simulator.safety import play_hidden_dangers
from store.db import make_engine, migrate, session_scope
from store.hidden_dangers import act, escalate, history, open_major_zones, photo, photo_type, register, report
from tests.fakeclock import plant_ms

T0 = 1_796_000_000_000
H = 3_600_000
PLAN = {"measures": "replace the flange", "funds": 12000, "owner": "li.ming", "deadline_ms": T0 + 10 * DAY_MS,
        "interim": "barrier and gas watch"}  # fmt: skip


def refused(key: str, d: Danger, action: str, actor: str = "a", now: int = T0, **given: object) -> None:
    with pytest.raises(IllegalMoveError) as info:
        move(d, action, actor, now, **given)
    assert info.value.key == key, info.value


def test_every_illegal_move_is_refused_with_its_reason() -> None:
    d = Danger(1, REPORTED, T0)
    refused("not_now", d, "assign", owner="x", deadline_ms=T0 + H)  # not assessed yet
    refused("not_now", d, "rectify", note="done")
    refused("not_now", d, "verify")
    refused("need_grade", d, "assess", grade="medium")
    refused("unknown_action", d, "delete")
    refused("need_actor", d, "assess", actor="", grade="general")
    a = Danger(1, ASSESSED, T0, grade="general")
    refused("need_owner", a, "assign", owner="  ", deadline_ms=T0 + H)
    refused("deadline_past", a, "assign", owner="x", deadline_ms=T0)
    refused("need_deadline", a, "assign", owner="x", deadline_ms="tomorrow")
    refused("plan_major_only", Danger(1, ASSIGNED, T0, grade="general"), "plan", plan=PLAN)
    refused("need_note", Danger(1, ASSIGNED, T0, grade="general"), "rectify", note="")
    refused("closed", Danger(1, CLOSED, T0, grade="general"), "assess", grade="major")


def test_a_major_danger_needs_its_five_item_plan_before_it_moves_on() -> None:
    d = Danger(1, ASSIGNED, T0, grade=MAJOR, owner="x", deadline_ms=T0 + DAY_MS)
    refused("major_needs_plan", d, "rectify", note="done")
    for item, bad in (("measures", ""), ("funds", -1), ("funds", float("nan")), ("owner", None), ("interim", " ")):
        key = "need_funds" if item == "funds" else f"need_{item}"
        refused(key, d, "plan", plan={**PLAN, item: bad})
    refused("deadline_past", d, "plan", plan={**PLAN, "deadline_ms": T0 - 1})
    m = move(d, "plan", "boss", T0, plan=PLAN)
    assert m.state == PLANNED and m.changes["owner"] == "li.ming" and m.changes["plan"]["funds"] == 12000.0
    assert move(Danger(1, PLANNED, T0, grade=MAJOR), "rectify", "li.ming", T0, note="replaced").state == RECTIFIED


def test_verification_by_someone_else_closes_and_rejection_sends_back() -> None:
    d = Danger(1, RECTIFIED, T0, grade="general", rectified_by="li.ming", rectified_at=T0)
    refused("verify_by_other", d, "verify", actor="li.ming")
    assert move(d, "verify", "safety.officer", T0).state == CLOSED
    assert move(d, "reject", "safety.officer", T0, note="still leaking").state == ASSIGNED
    assert move(Danger(1, RECTIFIED, T0, grade=MAJOR), "reject", "s", T0, note="no").state == PLANNED


def test_overdue_escalates_after_the_deadline_and_again_after_three_days() -> None:
    d = Danger(1, ASSIGNED, T0, grade="general", deadline_ms=T0 + DAY_MS)
    assert not overdue(d, T0 + DAY_MS) and escalation(d, T0 + DAY_MS) == 0
    assert overdue(d, T0 + DAY_MS + 1) and escalation(d, T0 + DAY_MS + 1) == 1
    assert escalation(d, T0 + 4 * DAY_MS + 1) == 2
    assert escalation(Danger(1, RECTIFIED, T0, deadline_ms=T0), T0 + 9 * DAY_MS) == 0  # done, waiting verification


def test_figures_open_by_grade_and_age_overdue_and_on_time_rate() -> None:
    now = T0 + 40 * DAY_MS
    ds = [
        Danger(1, REPORTED, now - H),
        Danger(2, ASSIGNED, now - 10 * DAY_MS, grade="general", deadline_ms=now - DAY_MS, zone="z1"),
        Danger(3, PLANNED, now - 35 * DAY_MS, grade=MAJOR, deadline_ms=now + DAY_MS, zone="z2"),
        Danger(4, CLOSED, T0, grade="general", deadline_ms=T0 + DAY_MS, rectified_at=T0 + H, closed_at=now - DAY_MS),
        Danger(5, CLOSED, T0, grade="general", deadline_ms=T0 + DAY_MS, rectified_at=T0 + 2 * DAY_MS, closed_at=now),
        Danger(6, CLOSED, T0, grade="general", deadline_ms=T0 + DAY_MS, rectified_at=T0, closed_at=T0),  # long ago
    ]
    f = figures(ds, now, since_ms=now - 30 * DAY_MS)
    assert f.open_by_grade == {"general": 1, "major": 1, "unassessed": 1}
    assert f.open_by_age == {"lt7": 1, "d7_30": 1, "gt30": 1}
    assert f.overdue == 1 and f.closed == 2 and f.closed_on_time == 1 and f.on_time_rate == 0.5
    assert f.major_open_zones == {"z2": 1}
    assert figures([], now, now).on_time_rate is None


def test_the_workflow_on_a_real_store_with_its_log_escalation_and_photo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hd.db'}"
    migrate(url)
    engine = make_engine(url)
    hostile = "<script>alert(1)</script> javascript:alert(1)"
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    with session_scope(engine) as s:
        with pytest.raises(IllegalMoveError):
            report(s, title="x", description="", zone="nowhere", x=None, y=None, source="phone", actor="a",
                   now_ms=T0, zones=["z1"])  # fmt: skip
        row = report(s, title=hostile, description=hostile, zone="z1", x=10.5, y=20.0, source="phone",
                     actor="wang.lei", now_ms=T0, photo=png, zones=["z1"])  # fmt: skip
        did = row.id
    with session_scope(engine) as s:
        act(s, did, "assess", "chen.jing", T0 + H, grade=MAJOR)
        act(s, did, "assign", "chen.jing", T0 + H, owner="li.ming", deadline_ms=T0 + DAY_MS)
        with pytest.raises(IllegalMoveError):
            act(s, did, "rectify", "li.ming", T0 + 2 * H, note="done")
        assert open_major_zones(s) == {"z1": 1}
    with session_scope(engine) as s:  # the refused move wrote nothing
        assert [h.action for h in history(s, did)] == ["report", "assess", "assign"]
        assert escalate(s, T0 + 2 * DAY_MS) and not escalate(s, T0 + 2 * DAY_MS)  # once per level
        assert [r.escalation for r in escalate(s, T0 + 5 * DAY_MS)] == [2]
        act(s, did, "plan", "boss", T0 + 5 * DAY_MS, plan={**PLAN, "deadline_ms": T0 + 9 * DAY_MS})
        act(s, did, "rectify", "li.ming", T0 + 6 * DAY_MS, note="flange replaced")
        with pytest.raises(IllegalMoveError):
            act(s, did, "verify", "li.ming", T0 + 6 * DAY_MS)
        act(s, did, "verify", "chen.jing", T0 + 7 * DAY_MS)
    with session_scope(engine) as s:
        reg = register(s, T0 + 7 * DAY_MS, T0)
        (r,) = reg.rows
        assert r.state == CLOSED and r.title == hostile and r.escalation == 0
        assert reg.figures.closed == 1 and reg.figures.on_time_rate == 1.0  # by the plan's deadline
        log = history(s, did)
        assert [h.action for h in log] == [
            "report", "assess", "assign", "escalate", "escalate", "plan", "rectify", "verify"
        ]  # fmt: skip
        assert [(h.from_state, h.to_state) for h in log][-2:] == [(PLANNED, RECTIFIED), (RECTIFIED, CLOSED)]
        p = photo(s, did)
        assert p is not None and p.mime == "image/png" and p.data == png
        assert open_major_zones(s) == {}
    engine.dispose()


def test_a_photo_is_taken_by_its_bytes_not_its_name() -> None:
    assert photo_type(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert photo_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    for bad in (b"<svg onload=alert(1)>", b"GIF89a", b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)):
        with pytest.raises(IllegalMoveError):
            photo_type(bad)


def test_the_demo_register_and_the_safety_service_on_a_real_store(tmp_path: Path) -> None:
    # the simulator plays it: closed on time and late, one overdue and escalated, a major one under its plan
    plant = load_plant(default_plant_path())
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate(url)
    engine = make_engine(url)
    end = plant_ms(plant, 2026, 11, 20, 9, 0)
    with session_scope(engine) as s:
        assert play_hidden_dangers(s, plant, end) == 6
        assert play_hidden_dangers(s, plant, end) == 0  # once
    with session_scope(engine) as s:
        reg = register(s, end, end - 30 * DAY_MS)
        f = reg.figures
        assert f.closed == 2 and f.closed_on_time == 1 and f.overdue == 1
        assert f.open_by_grade == {"general": 2, "major": 1, "unassessed": 1}
        assert open_major_zones(s) == {"acid-tank-farm": 1}
        assert reg.rows[0].escalation == 2  # the overdue one first, escalated
    service = FACTORIES["safety"](plant, engine, None)
    service.step(end + 10 * DAY_MS + 3_600_000)  # the major one's plan deadline has passed too
    with session_scope(engine) as s:
        assert sorted(r.escalation for r in register(s, end, end).rows if r.state != "closed") == [0, 0, 1, 2]
    engine.dispose()
