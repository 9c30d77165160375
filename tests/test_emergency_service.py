"""The emergency service on a real SQLite store with the demo plant and the demo on-call file: an urgent alarm
on a plan's trigger tag proposes the plan once (not a high alarm, not a shelved one, not again after a
dismissal); a declared emergency's call list is told once over the people's channels, in their language, through
the notification path (a ``notification`` row per try, as for alarms), and the timeline records who was told."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from notify.config import DEMO_ONCALL
from plant import default_plant_path, load_plant
from services.emergency import EmergencyService
from services.notify import NotifyService
from store import emergency as em
from store.db import make_engine, migrate, session_scope
from store.models import Notification
from store.operations import read_operations
from store.tags import sync_tags
from tests.notifyutil import HttpReceiver
from tests.webutil import alarm_row

T0 = 1_750_000_000_000
TRIGGER = "acid-gas-cleaning.GD01.SO2"


def test_urgent_alarm_proposes_and_the_call_list_is_told(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'em.db'}"
    migrate(url)
    engine = make_engine(url)
    plant = load_plant()
    with session_scope(engine) as session:
        sync_tags(session, plant)
        session.add(alarm_row(f"{TRIGGER}:H", T0, priority="high", zone="acid-gas-cleaning"))
        session.add(alarm_row("fsf-hall.GD01.SO2:HH", T0, priority="urgent", zone="fsf-hall"))  # no plan names it
        session.add(
            alarm_row("acid-contact.GD01.SO2:HH", T0, priority="urgent", zone="acid-contact", shelved_until=T0 + 60_000)
        )
    service = EmergencyService(plant, engine, DEMO_ONCALL)
    service.step(T0)
    with session_scope(engine) as session:
        assert em.proposals(session) == []  # a high alarm, an unrelated one and a shelved one propose nothing
        session.add(alarm_row(f"{TRIGGER}:HH", T0, priority="urgent", zone="acid-gas-cleaning"))
    service.step(T0 + 2_000)
    service.step(T0 + 4_000)
    with session_scope(engine) as session:
        (p,) = em.proposals(session)
        assert (p.plan, p.zone, p.alarm) == ("plan-so2-release", "acid-gas-cleaning", f"{TRIGGER}:HH")
        em.declare(session, plant, "wu", p.plan, p.zone, T0 + 5_000, proposal=int(p.id))
    with caplog.at_level(logging.INFO, logger="notify.channels"):
        service.step(T0 + 6_000)
        service.step(T0 + 8_000)  # told once
    with session_scope(engine) as session:
        e = em.active(session)
        assert e is not None
        told = [s for s in em.steps(session, int(e.id)) if s.kind == em.NOTIFIED]
        assert len(told) == 1 and told[0].data == {"recipients": ["wang.lei", "chen.jing", "zhao.min"]}
        assert em.proposals(session) == []  # nothing new is proposed while it runs
    sent = [r.getMessage() for r in caplog.records if "demo-log" in r.getMessage()]
    assert len(sent) == 3 and all("应急启动：制酸系统二氧化硫泄漏专项预案 - 净化工段" in m for m in sent), sent
    assert all("/emergency" in m for m in sent)
    engine.dispose()


def test_the_call_list_is_told_through_the_notification_path(db_url: str, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL, to a real local webhook receiver: each person on the call list gets one
    message per enabled channel in their language, one ``notification`` row per try (kind ``emergency``) as
    the alarms' messages get, a failing channel and a name missing from the on-call file are failed rows; the
    monitoring figures count them; the notifier started on the same store reads none of them back as alarms."""
    migrate(db_url)
    engine = make_engine(db_url)
    raw = yaml.safe_load(default_plant_path().read_text(encoding="utf-8"))
    next(p for p in raw["emergency"]["plans"] if p["id"] == "plan-so2-release")["call_list"] = ["ann", "bo", "nobody"]
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    plant = load_plant(plant_file)
    plan = em.plan_of(plant, "plan-so2-release")
    with HttpReceiver() as rx:
        doc = {
            "language": "zh",
            "app_url": "http://127.0.0.1:8050",
            "retry": {"attempts": 2, "backoff_s": 0},
            "channels": [
                {"id": "hook-ann", "type": "webhook", "url": rx.url("/ann"), "timeout_s": 10},
                {"id": "hook-bo", "type": "webhook", "url": rx.url("/bo"), "timeout_s": 10},
            ],
            "people": [
                {"id": "ann", "name": "Ann", "lang": "en", "channels": ["hook-ann"]},
                {"id": "bo", "name": "Bo", "lang": "zh", "channels": ["hook-bo"]},
            ],
            "rota": [{"id": "always", "chain": ["ann", "bo"]}],
        }
        oncall = tmp_path / "oncall.yaml"
        oncall.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        rx.reply(200)  # ann's message
        rx.reply(500)  # bo's, twice: failed after its retry
        rx.reply(500)
        with session_scope(engine) as session:
            sync_tags(session, plant)
            em.declare(session, plant, "wu", plan.id, "acid-gas-cleaning", T0)
        service = EmergencyService(plant, engine, oncall)
        service.step(T0 + 2_000)
        service.step(T0 + 4_000)  # told once
        assert sorted(r.path for r in rx.requests) == ["/ann", "/bo", "/bo"]
        ann = next(r.json() for r in rx.requests if r.path == "/ann")
        assert ann["kind"] == "emergency" and ann["lang"] == "en" and ann["alarms"] == []
        assert ann["subject"] == "EMERGENCY: SO2 release, acid plant - Gas cleaning section", ann["subject"]
        assert "/emergency" in ann["text"]
        bo = next(r.json() for r in rx.requests if r.path == "/bo")
        assert bo["lang"] == "zh" and "应急启动" in bo["subject"]
    with session_scope(engine) as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        got = [(r.kind, r.recipient, r.channel, r.status, r.attempts, r.ts) for r in rows]
        assert got == [
            ("emergency", "ann", "webhook", "sent", 1, T0 + 2_000),
            ("emergency", "bo", "webhook", "failed", 2, T0 + 2_000),
            ("emergency", "nobody", "none", "failed", 0, T0 + 2_000),
        ], got
        assert rows[1].error and "500" in rows[1].error and rows[2].error == "not in the on-call file"
        assert all(r.level == 0 and r.alarm_ids == [] for r in rows)
        e = em.active(session)
        assert e is not None
        told = [s.data for s in em.steps(session, int(e.id)) if s.kind == em.NOTIFIED]
        assert told == [{"recipients": ["ann"]}]
        ops = read_operations(session, T0 + 5_000)
        assert ops.notifications == {("webhook", "sent"): 1, ("webhook", "failed"): 1, ("none", "failed"): 1}
    notifier = NotifyService(plant, engine, config_path=oncall)
    notifier.step(T0 + 6_000)
    assert notifier.notifier is not None and notifier.notifier.tracks == {}
    engine.dispose()
