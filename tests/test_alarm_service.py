"""Alarm service and the alarm store's write side, on a real SQLite file and a real PostgreSQL database:
samples -> journal, audited operator commands, events, suppression, late samples, restart, append-only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from engine.alarms import MAX_SHELVE_S
from engine.types import BAD_NO_COMMUNICATION, GOOD, SampleIn
from plant.schema import EquipmentState, Plant
from services.__main__ import FACTORIES
from services.alarms import AlarmService
from store.alarms import CommandError, command_results, submit_command
from store.db import make_engine, migrate, session_scope
from store.events import add_event, close_event
from store.models import Alarm, AlarmCommand, AlarmJournal
from store.samples import write_samples
from store.tags import sync_tags

MINI = Path(__file__).parent / "fixtures" / "mini_plant.yaml"
T0 = 1_767_225_600_000
S = 1000


def make_plant() -> Plant:
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for tag in data["tags"]:
        if tag["id"] == "FF-1.TEMP":
            tag["alarm"] = {"deadband": 5}
        if tag["id"] == "BL-1.CURRENT":
            tag["alarm"] = {"deadband": 2}
    return Plant.model_validate(data)


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def plant() -> Plant:
    return make_plant()


def ids(db: Engine, plant: Plant) -> dict[str, int]:
    with session_scope(db) as s:
        return sync_tags(s, plant)


def write(db: Engine, tag_ids: dict[str, int], *samples: tuple[str, int, float | None, int]) -> None:
    with session_scope(db) as s:
        write_samples(s, [SampleIn(tag_ids[name], ts, value, quality) for name, ts, value, quality in samples])


def journal(db: Engine, alarm_id: str | None = None) -> list[AlarmJournal]:
    with session_scope(db) as s:
        stmt = select(AlarmJournal).order_by(AlarmJournal.id)
        if alarm_id is not None:
            stmt = stmt.where(AlarmJournal.alarm_id == alarm_id)
        return list(s.scalars(stmt))


def alarm(db: Engine, alarm_id: str) -> Alarm | None:
    with session_scope(db) as s:
        return s.get(Alarm, alarm_id)


def submit(db: Engine, alarm_ids: list[str], action: str, user: str, now_ms: int, **kw: Any) -> list[int]:
    with session_scope(db) as s:
        return submit_command(s, alarm_ids, action, user, now_ms=now_ms, **kw)


def test_registered_as_a_service(db: Engine, plant: Plant) -> None:
    service = FACTORIES["alarms"](plant, db, None)
    assert isinstance(service, AlarmService)
    assert (service.name, service.interval_s) == ("alarms", 1.0)


def test_samples_become_journal_rows(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db)
    service.step(T0)
    assert journal(db) == []
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1250.0, GOOD), ("FF-1.TEMP", T0 + 2 * S, 1310.0, GOOD))
    service.step(T0 + 3 * S)
    rows = journal(db)
    assert [(r.alarm_id, r.kind, r.ts, r.active, r.acked, r.value) for r in rows] == [
        ("FF-1.TEMP:H", "active", T0 + 2 * S, True, False, 1310.0)
    ]
    r = rows[0]
    assert (r.source_type, r.priority, r.area, r.zone, r.user) == ("process", "low", "smelting", "smelter-hall", None)
    assert r.data == {"limit": 1300.0}
    a = alarm(db, "FF-1.TEMP:H")
    assert a is not None
    assert (a.active, a.acked, a.activated_at, a.tag_id, a.condition, a.source, a.limit, a.value) == (
        True,
        False,
        T0 + 2 * S,
        tag_ids["FF-1.TEMP"],
        "H",
        "FF-1.TEMP",
        1300.0,
        1310.0,
    )
    # the same samples read again (lookback) are not evaluated twice; a return is journaled
    service.step(T0 + 4 * S)
    assert len(journal(db)) == 1
    write(db, tag_ids, ("FF-1.TEMP", T0 + 5 * S, 1200.0, GOOD))
    service.step(T0 + 6 * S)
    assert [(r.kind, r.active, r.acked) for r in journal(db, "FF-1.TEMP:H")] == [
        ("active", True, False),
        ("return", False, False),
    ]
    # bad quality: a quality alarm, the process alarm untouched
    write(db, tag_ids, ("FF-1.TEMP", T0 + 7 * S, None, BAD_NO_COMMUNICATION))
    service.step(T0 + 8 * S)
    bad = journal(db, "FF-1.TEMP:BAD")
    assert [(r.kind, r.source_type, r.priority) for r in bad] == [("active", "quality", "low")]
    assert service.stats["samples"] >= 4


def test_late_samples_within_the_lookback(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db, lookback_s=30)
    service.step(T0)
    write(db, tag_ids, ("FF-1.TEMP", T0 + 20 * S, 1250.0, GOOD))
    service.step(T0 + 21 * S)
    # arrives late: older than the cursor but inside the lookback, and new for its tag
    write(db, tag_ids, ("CV-1.BATH_TEMP", T0 + 10 * S, 1300.0, GOOD))
    # arrives late and older than what its tag has already seen: skipped
    write(db, tag_ids, ("FF-1.TEMP", T0 + 15 * S, 1400.0, GOOD))
    service.step(T0 + 22 * S)
    assert [(r.alarm_id, r.ts) for r in journal(db)] == [("CV-1.BATH_TEMP:H", T0 + 10 * S)]


def test_ack_command_is_audited(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db)
    service.step(T0)
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1310.0, GOOD))
    service.step(T0 + 2 * S)
    hostile = "<script>alert('x')</script> 炉温正常"
    cmd = submit(db, ["FF-1.TEMP:H"], "ack", "li.na", T0 + 3 * S, comment=hostile, address="10.1.2.3")
    unknown = submit(db, ["NO.SUCH:H"], "ack", "li.na", T0 + 3 * S)
    again = submit(db, ["FF-1.TEMP:H"], "ack", "wang", T0 + 3 * S)
    with session_scope(db) as s:
        assert command_results(s, cmd + unknown + again) == {cmd[0]: None, unknown[0]: None, again[0]: None}
    service.step(T0 + 4 * S)
    acks = [r for r in journal(db, "FF-1.TEMP:H") if r.kind == "ack"]
    assert len(acks) == 1
    r = acks[0]
    assert (r.ts, r.user, r.comment, r.address, r.active, r.acked) == (
        T0 + 3 * S,
        "li.na",
        hostile,
        "10.1.2.3",
        True,
        True,
    )
    a = alarm(db, "FF-1.TEMP:H")
    assert a is not None and (a.acked, a.acked_by, a.acked_at) == (True, "li.na", T0 + 3 * S)
    with session_scope(db) as s:
        results = command_results(s, cmd + unknown + again)
        done = {c.id: c.done_at for c in s.scalars(select(AlarmCommand))}
    assert results == {
        cmd[0]: "ok",
        unknown[0]: "rejected: unknown alarm",
        again[0]: "rejected: already acknowledged",
    }
    assert all(v == T0 + 4 * S for v in done.values())
    service.step(T0 + 5 * S)  # applied once only
    assert len([r for r in journal(db, "FF-1.TEMP:H") if r.kind == "ack"]) == 1


def test_shelve_comment_and_service_commands(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db)
    service.step(T0)
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1350.0, GOOD))
    service.step(T0 + 2 * S)
    submit(db, ["FF-1.TEMP:H", "FF-1.TEMP:HH"], "shelve", "li.na", T0 + 3 * S, comment="burner test", duration_s=60)
    submit(db, ["FF-1.TEMP:HH"], "comment", "wang", T0 + 3 * S, comment="called maintenance")
    submit(db, ["CV-1.BATH_TEMP:H"], "out_of_service", "admin", T0 + 3 * S, comment="TC replaced")
    service.step(T0 + 4 * S)
    a = alarm(db, "FF-1.TEMP:HH")
    assert a is not None and (a.shelved_until, a.shelved_by, a.shelve_reason, a.acked) == (
        T0 + 63 * S,
        "li.na",
        "burner test",
        True,
    )
    oos = alarm(db, "CV-1.BATH_TEMP:H")
    assert oos is not None and oos.out_of_service and not oos.active  # a row exists before it ever activates
    kinds = [(r.alarm_id, r.kind, r.user, r.comment) for r in journal(db) if r.kind != "active"]
    assert kinds == [
        ("FF-1.TEMP:H", "shelve", "li.na", "burner test"),
        ("FF-1.TEMP:HH", "shelve", "li.na", "burner test"),
        ("FF-1.TEMP:HH", "comment", "wang", "called maintenance"),
        ("CV-1.BATH_TEMP:H", "out_of_service", "admin", "TC replaced"),
    ]
    service.step(T0 + 70 * S)  # the shelve expires by itself; both alarms are still active: annunciated
    tail = [(r.alarm_id, r.kind, r.ts, r.acked) for r in journal(db)][-4:]
    assert tail == [
        ("FF-1.TEMP:H", "shelve_expired", T0 + 63 * S, True),
        ("FF-1.TEMP:H", "active", T0 + 63 * S, False),
        ("FF-1.TEMP:HH", "shelve_expired", T0 + 63 * S, True),
        ("FF-1.TEMP:HH", "active", T0 + 63 * S, False),
    ]


@pytest.mark.parametrize(
    ("args", "kw", "problem"),
    [
        ((["A:H"], "delete", "u"), {}, "unknown action"),
        ((["A:H"], "ack", ""), {}, "user is required"),
        ((["A:H"], "ack", "u\x00"), {}, "control characters"),
        ((["A:H"], "comment", "u"), {}, "comment is required"),
        ((["A:H"], "comment", "u"), {"comment": "x" * 501}, "longer than 500"),
        ((["A:H"], "comment", "u"), {"comment": "a\x1b[31mred"}, "control characters"),
        ((["A:H"], "shelve", "u"), {"comment": "r"}, "needs a duration"),
        ((["A:H"], "shelve", "u"), {"comment": "r", "duration_s": True}, "needs a duration"),
        ((["A:H"], "shelve", "u"), {"comment": "r", "duration_s": 1.5}, "needs a duration"),
        ((["A:H"], "shelve", "u"), {"comment": "r", "duration_s": MAX_SHELVE_S + 1}, "1 s to 28800 s"),
        ((["A:H"], "shelve", "u"), {"comment": "r", "duration_s": -5}, "1 s to 28800 s"),
        ((["A:H"], "shelve", "u"), {"duration_s": 60}, "comment is required"),
        ((["A:H"], "out_of_service", "u"), {}, "comment is required"),
        ((["A:H"], "ack", "u"), {"duration_s": 60}, "only goes with shelve"),
        (([], "ack", "u"), {}, "no alarm"),
        (("A:H", "ack", "u"), {}, "must be a list"),
        (([None], "ack", "u"), {}, "alarm id is required"),
        (([7], "ack", "u"), {}, "must be text"),
        ((["x" * 129], "ack", "u"), {}, "longer than 128"),
        (([f"A{i}:H" for i in range(1001)], "ack", "u"), {}, "at most 1000"),
    ],
)
def test_submit_command_refuses_bad_input(db: Engine, args: tuple[Any, ...], kw: dict[str, Any], problem: str) -> None:
    with session_scope(db) as s, pytest.raises(CommandError, match=problem):
        submit_command(s, *args, now_ms=T0, **kw)
    with session_scope(db) as s:
        assert s.scalars(select(AlarmCommand)).all() == []


def test_submit_command_dedupes_and_keeps_text(db: Engine) -> None:
    with session_scope(db) as s:
        out = submit_command(s, ["A:H", "A:H", "B:L"], "comment", " u ", comment="  见<b>附件</b>  ", now_ms=T0)
    assert len(out) == 2
    with session_scope(db) as s:
        rows = s.scalars(select(AlarmCommand).order_by(AlarmCommand.id)).all()
    assert [(r.alarm_id, r.user, r.comment, r.done_at) for r in rows] == [
        ("A:H", "u", "见<b>附件</b>", None),
        ("B:L", "u", "见<b>附件</b>", None),
    ]


def test_equipment_maintenance_suppresses(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db)
    service.step(T0)
    write(
        db,
        tag_ids,
        ("BL-1.STATE", T0 + S, float(EquipmentState.RUN.code), GOOD),
        ("BL-1.CURRENT", T0 + S, 400.0, GOOD),
        ("BL-1.STATE", T0 + 2 * S, float(EquipmentState.MAINTENANCE.code), GOOD),
    )
    service.step(T0 + 3 * S)
    assert [(r.alarm_id, r.kind) for r in journal(db)] == [
        ("BL-1.CURRENT:H", "active"),
        ("BL-1.CURRENT:HH", "suppress"),
        ("BL-1.CURRENT:H", "suppress"),
        ("BL-1.CURRENT:BAD", "suppress"),
    ]
    a = alarm(db, "BL-1.CURRENT:H")
    assert a is not None and a.suppressed and a.active and a.acked


def test_violation_and_video_events(db: Engine, plant: Plant) -> None:
    ids(db, plant)
    with session_scope(db) as s:  # history from before the service ever ran: not alarms
        add_event(s, "violation", "forbidden_zone", T0 - 3_600 * S, T0 - 3_000 * S, severity="high", badge="P003")
        add_event(s, "gap", "dcs", T0 - 100 * S)
    service = AlarmService(plant, db)
    service.step(T0)
    assert journal(db) == []
    with session_scope(db) as s:
        v1 = add_event(
            s,
            "violation",
            "forbidden_zone",
            T0 + S,
            severity="high",
            badge="P003",
            zone="tank-farm",
            message="P003 entered the tank farm",
            data={"camera": "CAM-3"},
        )
        v2 = add_event(
            s, "video", "CAM-1", T0 + 2 * S, T0 + 5 * S, severity="medium", zone="smelter-hall", data={"class": "smoke"}
        )
    service.step(T0 + 6 * S)
    rows = journal(db)
    assert [(r.alarm_id, r.kind, r.source_type, r.priority, r.area, r.zone) for r in rows] == [
        (f"violation:{v1}", "active", "personnel", "high", "acid", "tank-farm"),
        (f"video:{v2}", "active", "video", "medium", "smelting", "smelter-hall"),
        (f"video:{v2}", "return", "video", "medium", "smelting", "smelter-hall"),
    ]
    a = alarm(db, f"violation:{v1}")
    assert a is not None
    assert (a.badge, a.camera, a.condition, a.source, a.message) == (
        "P003",
        "CAM-3",
        "forbidden_zone",
        "P003",
        "P003 entered the tank farm",
    )
    with session_scope(db) as s:
        assert close_event(s, v1, T0 + 30 * S)
    service.step(T0 + 31 * S)
    assert [(r.kind, r.ts) for r in journal(db, f"violation:{v1}")] == [("active", T0 + S), ("return", T0 + 30 * S)]
    # acknowledged: the event alarm is over; a later comment is still journaled from its row
    submit(db, [f"violation:{v1}"], "ack", "li.na", T0 + 40 * S)
    service.step(T0 + 41 * S)
    submit(db, [f"violation:{v1}"], "comment", "li.na", T0 + 50 * S, comment="talked to the contractor")
    submit(db, [f"violation:{v1}"], "shelve", "li.na", T0 + 50 * S, comment="r", duration_s=60)
    service.step(T0 + 51 * S)
    assert [r.kind for r in journal(db, f"violation:{v1}")] == ["active", "return", "ack", "comment"]
    with session_scope(db) as s:
        results = [c.result for c in s.scalars(select(AlarmCommand).order_by(AlarmCommand.id))]
    assert results == ["ok", "ok", "rejected: the alarm is over (returned and acknowledged)"]


def test_restart_continues(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    first = AlarmService(plant, db)
    first.step(T0)
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1310.0, GOOD), ("TK-1.LEVEL", T0 + S, 50.0, GOOD))
    with session_scope(db) as s:
        v = add_event(s, "violation", "sos", T0 + S, severity="urgent", badge="P005")
    submit(db, ["TK-1.LEVEL:HH"], "shelve", "u", T0 + S, comment="calibration", duration_s=120)
    first.step(T0 + 2 * S)
    before = len(journal(db))
    assert before == 3  # FF-1.TEMP:H active, violation active, shelve

    # while the service is down: a value that comes once (reported by exception) and the event's end
    write(db, tag_ids, ("CV-1.BATH_TEMP", T0 + 5 * S, 1300.0, GOOD))
    with session_scope(db) as s:
        close_event(s, v, T0 + 6 * S)

    first.close()  # the process ends
    second = AlarmService(plant, db)
    second.step(T0 + 100 * S)
    rows = journal(db)[before:]
    assert [(r.alarm_id, r.kind, r.ts) for r in rows] == [
        ("CV-1.BATH_TEMP:H", "active", T0 + 5 * S),
        (f"violation:{v}", "return", T0 + 6 * S),
    ]
    # the running alarm returns once, unacknowledged as it was; the shelve from before the restart expires
    write(db, tag_ids, ("FF-1.TEMP", T0 + 101 * S, 1200.0, GOOD))
    second.step(T0 + 130 * S)
    rows = journal(db)[before + 2 :]
    assert [(r.alarm_id, r.kind, r.ts, r.acked) for r in rows] == [
        ("FF-1.TEMP:H", "return", T0 + 101 * S, False),
        ("TK-1.LEVEL:HH", "shelve_expired", T0 + 121 * S, True),
    ]
    # a third start evaluates nothing twice
    second.close()
    third = AlarmService(plant, db)
    third.step(T0 + 131 * S)
    assert len(journal(db)) == before + 4


def test_a_failed_step_writes_nothing_and_starts_over(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db)
    service.step(T0)
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1310.0, GOOD))
    original = service._commands  # a fault injected after samples were evaluated, before anything is written

    def broken(*_a: Any, **_k: Any) -> int:
        raise RuntimeError("database went away")

    service._commands = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        service.step(T0 + 2 * S)
    assert journal(db) == [] and service.alarms is None
    service._commands = original  # type: ignore[method-assign]
    service.step(T0 + 3 * S)
    assert [(r.alarm_id, r.kind, r.ts) for r in journal(db)] == [("FF-1.TEMP:H", "active", T0 + S)]


def test_journal_refuses_update_and_delete(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db)
    service.step(T0)
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1310.0, GOOD))
    service.step(T0 + 2 * S)
    for sql in (
        "UPDATE alarm_journal SET comment = 'edited'",
        "UPDATE alarm_journal SET acked = true",
        "DELETE FROM alarm_journal",
    ):
        with pytest.raises(DBAPIError, match="append-only"), session_scope(db) as s:
            s.execute(text(sql))
    rows = journal(db)
    assert len(rows) == 1 and rows[0].comment is None and rows[0].acked is False


def test_a_backlog_is_read_in_spans(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    service = AlarmService(plant, db, span_rows=7)  # at most 7 rows per read: 80 samples need 12 spans
    service.step(T0)
    samples = [("FF-1.TEMP", T0 + i * S, 1310.0 if i % 2 == 0 else 1250.0, GOOD) for i in range(1, 41)]
    samples += [("CV-1.BATH_TEMP", T0 + i * S + 500, 1300.0 if i % 4 == 0 else 1200.0, GOOD) for i in range(1, 41)]
    write(db, tag_ids, *samples)
    service.step(T0 + 60 * S)
    rows = journal(db)
    assert len(rows) == 39 + 19
    assert [r.ts for r in rows] == sorted(r.ts for r in rows)  # in time order across tags and spans
    assert [r.kind for r in rows if r.alarm_id == "FF-1.TEMP:H"] == ["active", "return"] * 19 + ["active"]
    assert [r.kind for r in rows if r.alarm_id == "CV-1.BATH_TEMP:H"] == ["active", "return"] * 9 + ["active"]
    assert service.stats["samples"] == 80 and service.stats["behind_ms"] == 0


def test_one_writer_per_database(db: Engine, plant: Plant) -> None:
    tag_ids = ids(db, plant)
    first, second = AlarmService(plant, db), AlarmService(plant, db)
    first.step(T0)
    second.step(T0)
    assert second.stats["standby"] and not first.stats["standby"]
    write(db, tag_ids, ("FF-1.TEMP", T0 + S, 1310.0, GOOD))
    first.step(T0 + 2 * S)
    second.step(T0 + 2 * S)
    assert [(r.alarm_id, r.kind) for r in journal(db)] == [("FF-1.TEMP:H", "active")]  # once, not twice
    first.close()  # the holder goes away: the other takes over from the database
    write(db, tag_ids, ("FF-1.TEMP", T0 + 3 * S, 1200.0, GOOD))
    second.step(T0 + 4 * S)
    assert not second.stats["standby"]
    assert [(r.alarm_id, r.kind) for r in journal(db)] == [("FF-1.TEMP:H", "active"), ("FF-1.TEMP:H", "return")]
    first.step(T0 + 5 * S)
    assert first.stats["standby"]
    second.close()
