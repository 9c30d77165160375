"""The energy service: every minute, each threshold of the plant file's ``energy.thresholds`` is checked over its
window (a key meter's rate, or energy per tonne), from the rollups like the energy page; a crossing opens an
``energy`` event and its return closes it, and the alarm service raises and returns the alarm from the event
(``engine.alarms``: source type "energy"), with its text built when shown.

It also issues the day's energy forecast once per plant day, :data:`ISSUE_AFTER_MS` after the day starts (the
day before is then in the store): today's and the next days' site total of every medium with a driver, stored
as issued and never changed (``store.figures.issue_forecasts``, ``store.forecasts``), so the page measures
their real error once the days have passed. Idempotent: a day with an issue stored gets no second one, whether
the service restarted or another process issued it (``demo.history`` issues the backfilled days' the same way).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from engine.energy import (
    PeriodKind,
    max_rates,
    period_of,
    shift_starts,
    threshold_active,
    threshold_unit,
    threshold_value,
)
from plant.schema import Plant
from store.db import session_scope
from store.energy import consumption
from store.events import add_event, close_event, open_events
from store.figures import issue_forecasts
from store.tags import tag_ids

logger = logging.getLogger(__name__)

ENERGY = "energy"  # the event kind (and the alarm source type)
SETTLE_MS = 60_000  # samples reach the store a little after their time: windows end this far back
ISSUE_AFTER_MS = 10 * 60_000  # the day's forecast is issued this long after the plant day starts
RETRY_MS = 4 * 3_600_000  # nothing could be issued (no plan, too little history): try again this much later


class EnergyService:
    name = "energy"
    interval_s = 60.0

    def __init__(self, plant: Plant, engine: Engine) -> None:
        self.plant = plant
        self.engine = engine
        self._issued_day: int | None = None  # the start of the plant day whose forecast is issued
        self._retry_at = 0

    def issue(self, now_ms: int) -> int:
        """Issue the plant day's forecast when it is due and not issued yet; the number of forecasts stored."""
        day0, _ = period_of(PeriodKind.DAY, now_ms, self.plant.tz(), shift_starts(self.plant))
        if self._issued_day == day0 or now_ms < day0 + ISSUE_AFTER_MS or now_ms < self._retry_at:
            return 0
        with session_scope(self.engine) as session:
            stored = issue_forecasts(session, self.plant, now_ms)
        if stored:
            logger.info("energy: %d forecasts issued for the plant day from %d", stored, day0)
            self._issued_day = day0
        else:  # issued already (the store says so) or nothing to issue: look again later
            self._retry_at = now_ms + RETRY_MS
        return stored

    def step(self, now_ms: int) -> None:
        try:
            self.issue(now_ms)
        except Exception:  # the forecast must not stop the thresholds' alarms
            logger.exception("energy: the day's forecast could not be issued")
        self.check(now_ms)

    def check(self, now_ms: int) -> None:
        """Check every threshold over its window."""
        thresholds = self.plant.energy.thresholds
        if not thresholds:
            return
        end = now_ms - SETTLE_MS
        meters = {m.id: m.tag for m in self.plant.meters if m.tag}
        counters = sorted({c for ki in self.plant.energy.intensities for c in ki.counters})
        with session_scope(self.engine) as session:
            ids = tag_ids(session)
            rates = {ids[t]: r for t, r in max_rates(self.plant).items() if t in ids}
            wanted = [t for t in [*meters.values(), *counters] if t in ids]
            open_now = {ev.source: ev for ev in open_events(session, ENERGY)}
            for th in thresholds:
                start = end - round(th.window_min * 60_000)
                got = consumption(session, [ids[t] for t in wanted], [(start, end)], rates)
                amounts = {t: (got.values.get(ids[t]) or [None])[0] for t in wanted}
                value = threshold_value(self.plant, th, amounts, amounts, th.window_min / 60)
                was = th.id in open_now
                now_active = threshold_active(value, th.limit, was)
                if now_active and not was:
                    data: dict[str, Any] = {
                        "value": round(float(value or 0.0), 3),
                        "limit": th.limit,
                        "unit": threshold_unit(self.plant, th),
                        "window_min": th.window_min,
                    }
                    add_event(session, ENERGY, th.id, end, severity=th.priority.value, data=data)
                    logger.info("energy: %s at %.1f above %.1f", th.id, value or 0.0, th.limit)
                elif was and not now_active:
                    close_event(session, open_now[th.id].id, end)
                    logger.info("energy: %s back at %.1f", th.id, value or 0.0)


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> EnergyService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return EnergyService(plant, engine)
