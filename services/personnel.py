"""The personnel rules service: every second, current badge positions and SOS buttons in, violation events out.

    PersonnelService(plant, engine).step(now_ms)   # what ``python -m services`` runs every 1 s

Each step reads the newest position of every badge (``store.positions.current_positions``), the SOS tag
values that arrived since the last step, and whether the RTLS collectors are connected; evaluates
:class:`engine.personnel.RulesEngine`; and writes each new violation as one ``violation`` event
(``source`` = rule name, ``badge``, ``zone``, ``severity``, ``ts_start``, ``ts_end`` None while open,
``data`` = camera, fence, value, limit and the rule's facts; no sentence: texts are built when shown), closing it with
``store.events.close_event`` when the condition ends. All of a step is one transaction.

The special-work permits' live checks run in the same step (``services.permits``): expiry, the guardian away,
badges in a work area not on its permit, gas over a permit's limit; their findings are violation events too, and
the crews of active permits are allowed inside the hazard-source fences their work lies in.

Restart: at its first step the service re-attaches to the violation events still open in the store (the
engine takes them back as active), so a violation that still holds is not written twice and one that ended
while the service was down is closed. If a step fails (database unavailable), the engine's state may no
longer match the store, so the next step starts over from the store the same way.

Clock: ``now_ms`` is the wall clock in the demo (the simulator runs in real time by default); positions carry
their source time. When source times run ahead of ``now_ms`` (a simulator faster than real time) the engine
follows the newest position time, so its clock never lags the data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine, TextClause, text
from sqlalchemy.orm import Session

from engine.personnel import RuleConfig, RulesEngine, SosChange, Tick, Violation
from engine.types import is_good
from plant.schema import Plant, TagKind
from services.permits import RULES as PERMIT_RULES
from services.permits import PermitWatch
from store.db import session_scope
from store.events import VIOLATION, add_event, close_event, open_events
from store.health import read_health
from store.positions import current_positions
from store.samples import latest_values
from store.tags import tag_ids

logger = logging.getLogger(__name__)

NAME = "personnel"
SOS_OVERLAP_MS = 600_000  # SOS values are read again this far back, for ones that reach the store late
SOS_REFRESH_STEPS = 5  # while some SOS tags are not in the store yet, look for them this often (steps)
RTLS_STALE_S = 30.0  # a collector health row older than this (wall clock) says the collector is gone


class PersonnelService:
    name = NAME
    interval_s = 1.0

    def __init__(
        self,
        plant: Plant,
        engine: Engine,
        config: RuleConfig | None = None,
        *,
        rtls_stale_s: float = RTLS_STALE_S,
    ) -> None:
        self.plant = plant
        self.db = engine
        self.config = config or RuleConfig()
        self.rtls_stale_s = rtls_stale_s
        self.sos_tags: dict[str, str] = {t.id: t.badge for t in plant.tags if t.kind == TagKind.SOS and t.badge}
        self.rtls_endpoints = {t.endpoint for t in plant.tags if t.kind == TagKind.POSITION}
        self.rules = RulesEngine(plant, self.config)
        self.permits = PermitWatch(plant)
        self.last_tick: Tick | None = None
        self.opened = 0  # events written since start
        self.closed = 0
        self.restored = 0
        self._started = False
        self._sos_ids: dict[int, str] = {}  # store tag id -> badge
        self._sos_last: dict[int, int] = {}  # store tag id -> newest sample time taken
        self._sos_since = 0
        self._sos_sql: TextClause | None = None
        self._steps = 0
        self._data_clock = 0

    # -- the service protocol -----------------------------------------------------------------------

    def step(self, now_ms: int) -> None:
        try:
            with session_scope(self.db) as session:
                self.last_tick = self._step(session, int(now_ms))
        except Exception:
            self._reset()
            raise

    # -- internals -------------------------------------------------------------------------------------

    def _reset(self) -> None:
        """Forget everything: the next step rebuilds the state from the store."""
        self.rules = RulesEngine(self.plant, self.config)
        self.permits = PermitWatch(self.plant)
        self._started = False
        self._sos_ids = {}
        self._sos_last = {}
        self._sos_since = 0
        self._sos_sql = None

    def _step(self, session: Session, now_ms: int) -> Tick:
        sos = self._sos_changes(session) if self._started else self._start(session)
        positions = current_positions(session)
        newest = max((p.ts for p in positions), default=0)
        self._data_clock = max(self._data_clock, newest)
        clock = max(now_ms, min(self._data_clock, now_ms + 3_600_000))  # data ahead of the wall: follow it
        self.rules.set_permitted(self.permits.step(session, clock, positions))
        tick = self.rules.evaluate(clock, positions, sos, positions_live=self._rtls_live(session))
        for v in tick.opened:
            v.event_id = add_event(
                session,
                VIOLATION,
                v.rule,
                v.start_ms,
                severity=v.severity,
                badge=v.badge,
                zone=v.zone,
                data=v.data(),
            )
            self.opened += 1
            where = v.fence or v.zone or "-"
            logger.info("violation %s opened: %s %s in %s", v.event_id, v.rule, v.badge or "-", where)
        for v in tick.closed:
            if v.event_id is None or v.end_ms is None:
                continue
            if close_event(session, v.event_id, v.end_ms):
                self.closed += 1
                logger.info("violation %s closed after %.0f s", v.event_id, (v.end_ms - v.start_ms) / 1000)
            else:
                logger.warning("violation event %s was already closed or is gone", v.event_id)
        return tick

    def _start(self, session: Session) -> list[SosChange]:
        """Re-attach to open violation events and take the SOS buttons' current values."""
        restored = [_from_event(ev) for ev in open_events(session, VIOLATION) if ev.source not in PERMIT_RULES]
        self.restored = self.rules.restore(restored)
        if self.restored:
            logger.info("re-attached to %d open violation(s)", self.restored)
        changes = self._refresh_sos_ids(session)
        missing = len(self.sos_tags) - len(self._sos_ids)
        if missing:
            logger.warning("%d SOS tag(s) of the plant are not in the store yet; they are read once they are", missing)
        self._started = True
        return changes

    def _refresh_sos_ids(self, session: Session) -> list[SosChange]:
        """Take the store ids of SOS tags not known yet, and their current values (not their history)."""
        known = tag_ids(session)
        new = {known[t]: b for t, b in self.sos_tags.items() if t in known and known[t] not in self._sos_ids}
        if not new:
            return []
        self._sos_ids.update(new)
        self._sos_sql = None
        changes: list[SosChange] = []
        for tag_id, s in latest_values(session, list(new)).items():
            self._sos_last[tag_id] = s.ts
            self._sos_since = max(self._sos_since, s.ts)
            if s.value is not None and is_good(s.quality):
                changes.append(SosChange(new[tag_id], s.ts, s.value >= 0.5))
        return changes

    def _sos_changes(self, session: Session) -> list[SosChange]:
        """SOS values newer than the last taken per tag (one primary-key range per tag: they change rarely)."""
        changes: list[SosChange] = []
        self._steps += 1
        if len(self._sos_ids) < len(self.sos_tags) and self._steps % SOS_REFRESH_STEPS == 1:
            changes = self._refresh_sos_ids(session)  # tags synced by the collectors after we started
        if not self._sos_ids:
            return changes
        if self._sos_sql is None:
            # the ids are the store's own integers: written into the statement once, it is prepared once
            ids = ",".join(str(int(i)) for i in sorted(self._sos_ids))
            self._sos_sql = text(
                f"SELECT tag_id, ts, value, quality FROM sample WHERE tag_id IN ({ids}) AND ts > :since ORDER BY ts"
            )
        rows = list(session.execute(self._sos_sql, {"since": self._sos_since - SOS_OVERLAP_MS}))
        for tag_id, ts, value, quality in rows:
            if ts <= self._sos_last.get(tag_id, -1):
                continue
            self._sos_last[tag_id] = ts
            self._sos_since = max(self._sos_since, ts)
            if value is not None and is_good(quality):
                changes.append(SosChange(self._sos_ids[tag_id], ts, value >= 0.5))
        return changes

    def _rtls_live(self, session: Session) -> bool:
        """False while a collector of the RTLS endpoint(s) reports the link down or has stopped reporting."""
        rows = [h for h in read_health(session) if h.endpoint in self.rtls_endpoints]
        if not rows:
            return True  # nothing reports on the collectors (positions written by other means)
        wall = time.time() * 1000
        return all(h.connected and wall - h.updated_at <= self.rtls_stale_s * 1000 for h in rows)


def _from_event(ev: Any) -> Violation:
    data: dict[str, Any] = dict(ev.data or {})
    return Violation(
        rule=ev.source,
        badge=ev.badge,
        zone=ev.zone,
        start_ms=int(ev.ts_start),
        region=data.get("region"),
        fence=data.get("fence"),
        value=data.get("value"),
        limit=data.get("limit"),
        camera=data.get("camera"),
        event_id=int(ev.id),
    )


def make_service(plant: Plant, engine: Engine, settings: Any = None) -> PersonnelService:
    """The ``services`` factory: ``(plant, engine, settings) -> Service``."""
    return PersonnelService(plant, engine)
