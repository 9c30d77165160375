"""Figures of a running installation for monitoring (the web app's ``/metrics``), each from one cheap query:
the collectors' health rows, outage gaps per endpoint, alarms raised recently and standing, notifications by
channel and outcome."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.alarms import ACTIVE
from store.events import GAP
from store.health import read_health
from store.models import Alarm, AlarmJournal, CollectorHealth, Event, Notification

ALARM_RATE_WINDOW_MS = 10 * 60_000  # ISA-18.2 counts alarms per 10 minutes


@dataclass(frozen=True)
class Operations:
    health: list[CollectorHealth]
    gaps: dict[str, int]  # endpoint -> outage gaps recorded (each a lost connection or a stopped collector)
    alarms_raised_10m: int  # alarm activations in the last 10 minutes
    alarms_active: int
    alarms_unacked: int
    notifications: dict[tuple[str, str], int]  # (channel, status: sent | failed) -> count


def read_operations(session: Session, now_ms: int) -> Operations:
    gaps = session.execute(select(Event.source, func.count()).where(Event.kind == GAP).group_by(Event.source))
    raised = session.scalar(
        select(func.count())
        .select_from(AlarmJournal)
        .where(AlarmJournal.kind == ACTIVE, AlarmJournal.ts >= now_ms - ALARM_RATE_WINDOW_MS)
    )
    active = session.scalar(select(func.count()).select_from(Alarm).where(Alarm.active.is_(True)))
    unacked = session.scalar(select(func.count()).select_from(Alarm).where(Alarm.acked.is_(False)))
    sent = session.execute(
        select(Notification.channel, Notification.status, func.count()).group_by(
            Notification.channel, Notification.status
        )
    )
    return Operations(
        health=read_health(session),
        gaps={str(source): int(n) for source, n in gaps},
        alarms_raised_10m=int(raised or 0),
        alarms_active=int(active or 0),
        alarms_unacked=int(unacked or 0),
        notifications={(str(c), str(s)): int(n) for c, s, n in sent},
    )
