"""The emergency service (issue 16, H5): proposes an emergency from an urgent alarm and tells a declared one's
call list.

Every step: each active, unshelved urgent alarm on a tag that a plan names among its ``triggers`` proposes that
plan in the alarm's zone (``store.emergency.propose``: once per alarm in half an hour, never while an emergency
runs; a dispatcher accepts or dismisses it on ``/emergency``). A declared emergency whose call list has not been
told yet is sent to every person of the plan's ``call_list`` over their channels of the on-call file, in each
person's language, through the notifier's one path (``services.notify.deliver``: a ``notification`` row per try,
kind ``emergency``, seen wherever the alarms' notifications are), and the timeline records who was told.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select

from i18n import label
from notify.config import OncallConfig, OncallFileError, load_oncall
from notify.messages import Rendered, emergency_message
from notify.policy import Outgoing
from plant.schema import Plant
from services.notify import EMERGENCY, deliver, record
from store import emergency as em
from store.db import session_scope
from store.models import Alarm

logger = logging.getLogger(__name__)

NOT_LISTED = "not in the on-call file"


class EmergencyService:
    name = "emergency"
    interval_s = 2.0

    def __init__(self, plant: Plant, engine: Engine, oncall_path: Path | None = None) -> None:
        self.plant = plant
        self.engine = engine
        self.triggers = {tag: p for p in plant.emergency.plans for tag in p.triggers}
        self.config: OncallConfig | None = None
        if oncall_path is not None:
            try:
                self.config = load_oncall(oncall_path)
            except OncallFileError as error:
                logger.error("emergency notifications are off until the on-call file is fixed: %s", error)

    def step(self, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            if self.triggers:
                stmt = select(Alarm.id, Alarm.source, Alarm.zone).where(
                    Alarm.active.is_(True),
                    Alarm.priority == "urgent",
                    Alarm.source.in_(list(self.triggers)),
                    or_(Alarm.shelved_until.is_(None), Alarm.shelved_until <= now_ms),
                )
                for alarm_id, tag, zone in session.execute(stmt).all():
                    plan = self.triggers[tag]
                    where = zone if zone in plan.zones else plan.zones[0]
                    em.propose(session, self.plant, plan.id, where, alarm_id, now_ms)
            e = em.active(session)
            if e is not None and not any(s.kind == em.NOTIFIED for s in em.steps(session, int(e.id))):
                told = self.notify(e, now_ms)
                em.notified(session, int(e.id), told, now_ms)

    def notify(self, e: Any, now_ms: int) -> list[str]:
        """Send the declared emergency ``e`` to its plan's call list through the notifier's one path
        (:func:`services.notify.deliver`: every enabled channel of each person, one ``notification`` row per
        try, kind ``emergency``); the people it reached. Someone on the list who is not in the on-call file
        gets a failed row, so the gap shows where the other notifications show."""
        plan = em.plan_of(self.plant, e.plan)
        if self.config is None or not plan.call_list:
            return []
        config = self.config
        zone = next((z for z in self.plant.zones if z.id == e.zone), None)
        tz = config.tz(self.plant.site.timezone)

        def render_in(lang: str) -> Rendered:
            return emergency_message(
                label(plan.name, plan.name_zh, lang),
                label(zone.name, zone.name_zh, lang) if zone else e.zone,
                int(e.level),
                int(e.declared_ms or now_ms),
                lang,
                tz,
                app_url=config.app_url,
                site=(self.plant.site.name, self.plant.site.name_zh),
            )

        told: list[str] = []
        down: set[str] = set()
        for pid in plan.call_list:
            person = next((p for p in config.people if p.id == pid), None)
            message = Outgoing(kind=EMERGENCY, level=0, alarms=(), person=person)
            if person is None:
                logger.warning("emergency %d: %s on the call list is not in the on-call file", e.id, pid)
                record(self.engine, message, now_ms, "none", pid, render_in(config.language), "failed", 0, NOT_LISTED)
                continue
            if deliver(self.engine, config, message, render_in, now_ms, down):
                told.append(person.id)
        logger.warning("emergency %d: call list told: %s", e.id, ", ".join(told) or "nobody")
        return told


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> EmergencyService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return EmergencyService(plant, engine, Path(settings.oncall_file) if settings is not None else None)
