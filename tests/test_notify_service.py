"""The notify service on a real SQLite file and a real PostgreSQL database, sending to a real local HTTP
receiver: a flood of 200 alarms, escalation until acknowledged, restart without re-sending, failures
recorded. Alarm rows and journal rows are written here directly, as the alarm service would; time is
simulated through ``now_ms``."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from plant.loader import load_plant
from plant.schema import Plant
from services.__main__ import FACTORIES
from services.notify import NotifyService
from settings import Settings
from store.db import make_engine, migrate, session_scope
from store.models import Alarm, AlarmJournal, Notification
from tests.conftest import ROOT
from tests.fakeclock import plant_ms
from tests.notifyutil import HttpReceiver

MINI_PLANT = ROOT / "tests" / "fixtures" / "mini_plant.yaml"
T0 = plant_ms(load_plant(MINI_PLANT), 2027, 1, 11, 10, 0)  # a Monday, 10:00 plant time (the demo rota's day)
S, MIN = 1000, 60_000
HOSTILE = '<script>alert("x")</script> [click](http://evil.example)'


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def plant() -> Plant:
    return load_plant(MINI_PLANT)


@pytest.fixture
def rx() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


def oncall_doc(rx: HttpReceiver, **policy: Any) -> dict[str, Any]:
    people = [("ann", "en"), ("bo", "zh"), ("cy", "en")]
    return {
        "language": "en",
        "app_url": "http://127.0.0.1:8050",
        "retry": {"attempts": 2, "backoff_s": 0},
        "channels": [
            {"id": f"hook-{p}", "type": "webhook", "url": rx.url(f"/{p}"), "timeout_s": 10} for p, _ in people
        ],
        "people": [{"id": p, "name": p.title(), "lang": lang, "channels": [f"hook-{p}"]} for p, lang in people],
        "rota": [{"id": "always", "chain": [p for p, _ in people]}],
        "policy": {
            "priorities": ["urgent", "high"],
            "escalate_after_min": {"urgent": 5, "high": 15},
            "flood": {"threshold": 5, "window_min": 10, "digest_every_min": 5},
            **policy,
        },
    }


def write_oncall(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def make_service(plant: Plant, db: Engine, path: Path) -> NotifyService:
    service = NotifyService(plant, db, config_path=path, sleep=lambda _s: None)
    service.reload_check_s = 0.0
    return service


def activate(
    db: Engine, alarm_id: str, ts: int, priority: str = "urgent", *, area: str = "smelting", **kw: Any
) -> None:
    """What the alarm service writes for an annunciated activation: the alarm's row and a journal row."""
    hidden = kw.pop("hidden", False)
    source = alarm_id.split(":")[0]
    with session_scope(db) as s:
        row = s.get(Alarm, alarm_id)
        values = {
            "source_type": "process",
            "condition": alarm_id.split(":")[-1],
            "source": source,
            "area": area,
            "zone": "smelter-hall",
            "priority": priority,
            "active": True,
            "acked": hidden,
            "activated_at": ts,
            "message": kw.pop("message", ""),
            "value": kw.pop("value", 1350.0),
            "limit": 1300.0,
            "updated_at": ts,
            **kw,
        }
        if row is None:
            s.add(Alarm(id=alarm_id, **values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
        s.add(
            AlarmJournal(
                ts=ts,
                alarm_id=alarm_id,
                kind="active",
                source_type="process",
                priority=priority,
                area=area,
                zone="smelter-hall",
                active=True,
                acked=hidden,
                value=values["value"],
            )
        )


def ack(db: Engine, alarm_id: str, ts: int, user: str = "dispatcher") -> None:
    with session_scope(db) as s:
        row = s.get(Alarm, alarm_id)
        assert row is not None
        row.acked, row.acked_at, row.acked_by = True, ts, user
        s.add(
            AlarmJournal(
                ts=ts,
                alarm_id=alarm_id,
                kind="ack",
                source_type=row.source_type,
                priority=row.priority,
                area=row.area,
                zone=row.zone,
                active=row.active,
                acked=True,
                user=user,
            )
        )


def rows(db: Engine) -> list[Notification]:
    with session_scope(db) as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def summary(db: Engine) -> list[tuple[str, int, str, str]]:
    return [(n.kind, n.level, n.recipient, n.status) for n in rows(db)]


# -- flood ----------------------------------------------------------------------------------------------------
def test_a_flood_of_200_alarms_in_10_minutes_sends_a_digest_not_200_messages(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path
) -> None:
    activate(db, "STANDING.PV:HH", T0 - 25 * 60 * MIN)  # active and unacknowledged for 25 hours
    service = make_service(plant, db, write_oncall(tmp_path / "oncall.yaml", oncall_doc(rx)))
    areas = ["smelting", "converting", "acid"]
    arrivals = [(T0 + i * 3 * S, i) for i in range(200)]  # one every 3 s for 10 minutes
    k = 0
    for now in range(T0, T0 + 12 * MIN, 2 * S):  # the service's 2 s step
        while k < len(arrivals) and arrivals[k][0] <= now:
            ts, i = arrivals[k]
            activate(db, f"T{i % 25:02d}.PV:{i}", ts, "urgent" if i % 10 == 0 else "high", area=areas[i % 3])
            k += 1
        if now % (20 * S) == T0 % (20 * S):  # a chattering alarm: back every 20 s, never acknowledged
            activate(db, "CHAT.PV:H", now - S, "high", area="acid")
        service.step(now)
    chat = [n for n in rows(db) if "CHAT.PV:H" in (n.alarm_ids or [])]
    assert len(chat) <= 2  # 36 activations: told once, and once more after the de-duplication time
    assert not any("STANDING.PV:HH" in (n.alarm_ids or []) for n in rows(db))  # older than the catch-up
    sent = rows(db)
    level0 = [n for n in sent if n.level == 0]
    kinds = Counter(n.kind for n in level0)
    assert kinds["alarm"] == 5 and 2 <= kinds["digest"] <= 4, kinds  # five single messages, then digests
    assert len(sent) <= 14, summary(db)  # 236 activations: a handful of messages, escalations included
    assert all(n.status == "sent" and n.attempts == 1 for n in sent)
    assert len({a for n in level0 for a in n.alarm_ids or []}) == 201  # every alarm told, once
    assert len(rx.requests) == len(sent)
    singles = sum(1 for n in level0 if n.kind == "alarm" and n.alarm_ids != ["CHAT.PV:H"])
    digests = [r.json() for r in rx.requests if r.path == "/ann" and r.json()["kind"] == "digest"]
    chat_in_digests = sum(a["count"] for d in digests for a in d["alarms"] if a["id"] == "CHAT.PV:H")
    assert sum(d["digest"]["count"] for d in digests) - chat_in_digests == 200 - singles
    big = max(digests, key=lambda d: d["digest"]["count"])
    assert set(big["digest"]["by_area"]) == set(areas) and set(big["digest"]["by_priority"]) == {"urgent", "high"}
    assert big["subject"].startswith("Alarm flood: ") and "By area: " in big["text"]
    assert "Top sources: " in big["text"]


# -- escalation -------------------------------------------------------------------------------------------------
def test_an_unacknowledged_urgent_alarm_escalates_until_acknowledged(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path
) -> None:
    service = make_service(plant, db, write_oncall(tmp_path / "oncall.yaml", oncall_doc(rx)))
    activate(db, "FSF.T101:HH", T0, message=HOSTILE)
    activate(db, "CV-1.PRESS:HH", T0)
    service.step(T0 + 2 * S)
    assert sorted(summary(db)) == [("alarm", 0, "ann", "sent")] * 2
    for now in range(T0 + 4 * S, T0 + 5 * MIN, 30 * S):
        service.step(now)
    assert len(rows(db)) == 2  # nothing more within the 5 minutes

    service.step(T0 + 5 * MIN + 2 * S)
    assert sorted(summary(db)[2:]) == [("escalation", 1, "bo", "sent")] * 2
    ack(db, "FSF.T101:HH", T0 + 7 * MIN)
    for now in range(T0 + 7 * MIN, T0 + 30 * MIN, 10 * S):
        service.step(now)
    tail = [(n.kind, n.level, n.recipient, n.alarm_ids) for n in rows(db)[4:]]
    assert tail == [("escalation", 2, "cy", ["CV-1.PRESS:HH"])]  # the acknowledged one stopped; chain ends at cy

    bo = [r.json() for r in rx.requests if r.path == "/bo"]
    assert [b["kind"] for b in bo] == ["escalation", "escalation"] and all(b["lang"] == "zh" for b in bo)
    fsf = next(b for b in bo if b["alarms"][0]["id"] == "FSF.T101:HH")
    assert fsf["subject"].startswith("升级 1：紧急报警 FSF.T101 HH") and "Ann" in fsf["text"]
    assert fsf["alarms"][0]["message"] == HOSTILE  # JSON-encoded data
    first = rx.requests[0].json()
    assert first["recipient"]["id"] == "ann" and "Acknowledge at http://127.0.0.1:8050/alarms" in first["text"]


def test_failures_are_recorded_and_escalation_still_happens(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    doc = oncall_doc(rx)
    doc["channels"][0]["url"] = "http://127.0.0.1:1/ann?key=SECRET-KEY-123"  # nothing listens on port 1
    doc["people"][2]["channels"] = ["hook-cy"]
    doc["channels"][2]["enabled"] = False  # cy: no enabled channel
    service = make_service(plant, db, write_oncall(tmp_path / "oncall.yaml", doc))
    activate(db, "FSF.T101:HH", T0)
    service.step(T0)
    [failed] = rows(db)
    assert (failed.kind, failed.recipient, failed.channel, failed.status, failed.attempts) == (
        "alarm",
        "ann",
        "webhook",
        "failed",
        2,
    )
    assert "cannot reach http://127.0.0.1:1/ann" in (failed.error or "")
    service.step(T0 + 5 * MIN)
    service.step(T0 + 10 * MIN)
    assert summary(db)[1:] == [("escalation", 1, "bo", "sent"), ("escalation", 2, "", "failed")] or summary(db)[1:] == [
        ("escalation", 1, "bo", "sent"),
        ("escalation", 2, "cy", "failed"),
    ]
    last = rows(db)[-1]
    assert last.channel == "none" and last.error == "no enabled channel" and last.attempts == 0
    assert "SECRET-KEY-123" not in caplog.text and all("SECRET-KEY-123" not in (n.error or "") for n in rows(db))


def test_hidden_low_and_acknowledged_alarms_send_nothing(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path
) -> None:
    service = make_service(plant, db, write_oncall(tmp_path / "oncall.yaml", oncall_doc(rx)))
    activate(db, "A:HH", T0, hidden=True, shelved_until=T0 + 60 * MIN)  # shelved: journaled acknowledged
    activate(db, "B:L", T0, "low")
    activate(db, "C:HH", T0)
    ack(db, "C:HH", T0 + 500)  # acknowledged in the control room before the step
    service.step(T0 + S)
    assert rows(db) == [] and rx.requests == []


# -- restart ----------------------------------------------------------------------------------------------------
def test_restart_sends_nothing_twice_and_resumes_escalation(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path
) -> None:
    path = write_oncall(tmp_path / "oncall.yaml", oncall_doc(rx))
    first = make_service(plant, db, path)
    activate(db, "FSF.T101:HH", T0)
    activate(db, "ACID.LEVEL:H", T0 + S, "high")
    first.step(T0 + 2 * S)
    first.step(T0 + 5 * MIN + 2 * S)  # FSF escalated to bo
    assert summary(db) == [("alarm", 0, "ann", "sent")] * 2 + [("escalation", 1, "bo", "sent")]
    # A flood in progress when the process stops: 8 more alarms, 5 told singly... then the digest.
    for i in range(8):
        activate(db, f"FL{i}:HH", T0 + 6 * MIN + i * S, "high")
    first.step(T0 + 6 * MIN + 8 * S)
    before = summary(db)
    assert Counter(k for k, *_ in before)["digest"] == 1

    second = make_service(plant, db, path)  # a new process: nothing in memory
    for now in range(T0 + 6 * MIN + 10 * S, T0 + 8 * MIN, 2 * S):
        second.step(now)
    assert summary(db) == before and len(rx.requests) == len(before)

    activate(db, "NEW:HH", T0 + 8 * MIN, "high")  # still the flood window: waits for the next digest
    second.step(T0 + 8 * MIN + 2 * S)
    assert summary(db) == before
    second.step(T0 + 10 * MIN + 2 * S)  # FSF: 5 minutes after level 1 -> level 2, not level 0 or 1 again
    [up] = rows(db)[len(before) :]
    assert (up.level, up.recipient, up.alarm_ids) == (2, "cy", ["FSF.T101:HH"])
    assert up.kind == "digest"  # during the flood escalations too come as digests
    second.step(T0 + 11 * MIN + 10 * S)  # 5 minutes after the first digest
    new = rows(db)[-1]
    assert (new.kind, new.level, new.alarm_ids) == ("digest", 0, ["NEW:HH"])


# -- configuration ------------------------------------------------------------------------------------------------
def test_a_broken_file_leaves_the_service_idle_until_fixed(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "oncall.yaml"
    good = oncall_doc(rx)
    broken = json.loads(json.dumps(good))
    broken["rota"][0]["chain"] = ["ann", "bob"]
    write_oncall(path, broken)
    service = make_service(plant, db, path)
    assert service.config is None
    assert f"on-call file {path}" in caplog.text and "rota[0] (always).chain: unknown person 'bob'" in caplog.text
    activate(db, "FSF.T101:HH", T0)
    service.step(T0)
    assert rows(db) == []
    write_oncall(path, good)
    service.step(T0 + 2 * S)  # read again: the activation is caught up
    assert summary(db) == [("alarm", 0, "ann", "sent")]

    write_oncall(path, broken)  # a broken edit keeps the last good settings in force
    activate(db, "CV-1.PRESS:HH", T0 + 10 * MIN)
    service.step(T0 + 10 * MIN + 2 * S)
    assert "keeping the previous on-call settings" in caplog.text
    cv = [(n.kind, n.level, n.recipient, n.status) for n in rows(db) if n.alarm_ids == ["CV-1.PRESS:HH"]]
    assert cv == [("alarm", 0, "ann", "sent")]


def test_registered_and_the_demo_file_stays_offline(db: Engine, plant: Plant, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notify.channels")
    service = FACTORIES["notify"](plant, db, Settings())
    assert isinstance(service, NotifyService)
    assert (service.name, service.interval_s) == ("notify", 2.0)
    activate(db, "FSF.T101:HH", T0, message=HOSTILE)
    service.step(T0 + S)
    [row] = rows(db)
    assert (row.channel, row.recipient, row.status, row.kind) == ("log", "wang.lei", "sent", "alarm")
    assert row.subject.startswith("紧急报警：FSF.T101 HH") and row.subject in caplog.text


def test_the_file_comes_from_sw_oncall_file(
    db: Engine, plant: Plant, rx: HttpReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_oncall(tmp_path / "plant-oncall.yaml", oncall_doc(rx))
    monkeypatch.setenv("SW_ONCALL_FILE", str(path))
    service = FACTORIES["notify"](plant, db, Settings())
    assert service.config_path == path and service.config is not None
    assert [p.id for p in service.config.people] == ["ann", "bo", "cy"]
