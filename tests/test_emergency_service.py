"""The emergency service on a real SQLite store with the demo plant and the demo on-call file: an urgent alarm
on a plan's trigger tag proposes the plan once (not a high alarm, not a shelved one, not again after a
dismissal); a declared emergency's call list is told once over the people's channels, in their language, and
the timeline records who was told."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from notify.config import DEMO_ONCALL
from plant import load_plant
from services.emergency import EmergencyService
from store import emergency as em
from store.db import make_engine, migrate, session_scope
from store.tags import sync_tags
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
