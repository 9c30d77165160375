"""The alarm service: samples, equipment states, violations and operator commands -> alarm states.

Every ``interval_s`` (1 s) one :meth:`AlarmService.step`, in one transaction:

1. **Samples** newer than ``cursor - lookback`` (``lookback_s``, default 30 s, for samples that arrive late
   from the collectors' batches and spool), in time order through the ``ix_sample_ts`` index, in pages.
   The engine keeps each tag's last timestamp: a sample it has seen, or one older than what its tag has
   already seen (later than the lookback allows), is skipped, so nothing is evaluated twice. Samples of
   equipment state tags drive suppression by design. The cursor is the newest sample time seen, never
   beyond ``now``; samples stamped more than :data:`MAX_FUTURE_MS` ahead of ``now`` wait until then.
2. **Events** of kind ``violation`` and ``video`` with an id above the event cursor become alarms (a closed
   one is activated and returned at once); open event alarms whose event got an end return.
3. **Commands** queued by the web app (``store.alarms.submit_command``), in id order, each finished with
   ``ok`` or ``rejected: <reason>``.
4. **Time**: delays that ran out, ROC windows, shelves that expired (:meth:`AlarmEngine.tick`).
5. **Write**: changed ``alarm`` rows and the journal (``store.alarms.apply_batch``); commit.

Start and restart: the engine resumes from the ``alarm`` table, then takes the latest stored value of
every equipment state tag and every alarmed tag (so an alarm that came or went while the service was down,
on a value reported by exception and never repeated, is seen), and the event cursor from the newest event
alarm. On a first start, events already closed before ``now - lookback`` are history, not alarms. When a
step fails, nothing of it is written and the next step starts over from the database the same way.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from engine.alarms import COMMENT, MAX_SHELVE_S, AlarmEngine
from plant.schema import Plant
from store.alarms import (
    EVENT_ALARM_KINDS,
    apply_batch,
    existing_alarm_ids,
    finish_commands,
    journal_comment,
    last_event_ids,
    load_states,
    pending_commands,
)
from store.db import session_scope
from store.models import Event, Sample
from store.samples import latest_values
from store.tags import sync_tags

logger = logging.getLogger(__name__)

MAX_FUTURE_MS = 300_000
SAMPLE_PAGE = 50_000
EVENT_PAGE = 1_000
COMMAND_PAGE = 1_000
IN_CHUNK = 500


class AlarmService:
    """Runs the alarm engine next to the collectors (``python -m services``)."""

    name = "alarms"
    interval_s = 1.0

    def __init__(
        self,
        plant: Plant,
        engine: Engine,
        *,
        lookback_s: float = 30,
        max_shelve_s: int = MAX_SHELVE_S,
        sample_page: int = SAMPLE_PAGE,
    ) -> None:
        self.plant = plant
        self.db = engine
        self.lookback_ms = int(lookback_s * 1000)
        self.max_shelve_s = int(max_shelve_s)
        self.sample_page = int(sample_page)
        self.alarms: AlarmEngine | None = None
        self.cursor_ms = 0
        self.event_cursor = 0
        self._first_events = False
        self._tag_of: dict[int, str] = {}
        self.stats: dict[str, Any] = {"steps": 0, "samples": 0, "transitions": 0, "commands": 0, "restarts": 0}

    # -------------------------------------------------------------------------------------------- start

    def _start(self, session: Session, now_ms: int) -> AlarmEngine:
        alarms = AlarmEngine(self.plant, max_shelve_s=self.max_shelve_s)
        ids = sync_tags(session, self.plant)
        alarms.bind_tag_ids(ids)
        wanted = alarms.alarmed_tags() | set(alarms.state_tags())
        self._tag_of = {tag_id: name for name, tag_id in ids.items() if name in wanted}
        restored = alarms.restore(load_states(session))
        latest = latest_values(session, list(self._tag_of))
        state_tags = alarms.state_tags()
        first = sorted((s for s in latest.values() if self._tag_of[s.tag_id] in state_tags), key=lambda s: s.ts)
        rest = sorted((s for s in latest.values() if self._tag_of[s.tag_id] not in state_tags), key=lambda s: s.ts)
        for s in first + rest:
            alarms.process(self._tag_of[s.tag_id], s.ts, s.value, s.quality)
        newest = max((s.ts for s in latest.values()), default=now_ms)
        self.cursor_ms = min(newest, now_ms)
        cursors = last_event_ids(session)
        self.event_cursor = max(cursors.values(), default=0)
        self._first_events = not cursors
        self.stats["restarts"] += 1
        logger.info(
            "alarms: %d definitions, %d alarms resumed, %d latest values evaluated, event cursor %d",
            len(alarms.definitions),
            restored,
            len(latest),
            self.event_cursor,
        )
        return alarms

    # --------------------------------------------------------------------------------------------- step

    def step(self, now_ms: int) -> None:
        started = time.perf_counter()
        try:
            with session_scope(self.db) as session:
                alarms = self.alarms
                if alarms is None:
                    alarms = self._start(session, now_ms)
                    self.alarms = alarms
                n_samples = self._samples(session, alarms, now_ms)
                self._events(session, alarms, now_ms)
                n_commands = self._commands(session, alarms, now_ms)
                alarms.tick(now_ms)
                batch = alarms.drain()
                n_rows = apply_batch(session, batch)
        except Exception:
            # The engine may be ahead of the database now: start over from the database next step.
            self.alarms = None
            raise
        self.stats["steps"] += 1
        self.stats["samples"] += n_samples
        self.stats["transitions"] += n_rows
        self.stats["commands"] += n_commands
        self.stats["last_step_ms"] = round((time.perf_counter() - started) * 1000, 1)
        if n_rows or n_commands:
            logger.debug("alarms: %d samples, %d transitions, %d commands", n_samples, n_rows, n_commands)

    def _samples(self, session: Session, alarms: AlarmEngine, now_ms: int) -> int:
        tag_of = self._tag_of
        process = alarms.process
        upper = now_ms + MAX_FUTURE_MS
        since = self.cursor_ms - self.lookback_ms
        page = self.sample_page
        first = True
        newest = self.cursor_ms
        n = 0
        cols = (Sample.tag_id, Sample.ts, Sample.value, Sample.quality)
        while True:
            lower = Sample.ts > since if first else Sample.ts >= since
            stmt = select(*cols).where(lower, Sample.ts <= upper).order_by(Sample.ts).limit(page)
            rows = session.execute(stmt).all()
            for tag_id, ts, value, quality in rows:
                name = tag_of.get(tag_id)
                if name is not None:
                    process(name, ts, value, quality)
            n += len(rows)
            if rows:
                newest = max(newest, rows[-1][1])
            if len(rows) < page:
                break
            if not first and rows[-1][1] == since:
                page *= 2  # a whole page at one timestamp: read more of it at once
            since = rows[-1][1]
            first = False
        self.cursor_ms = min(newest, now_ms)
        return n

    def _events(self, session: Session, alarms: AlarmEngine, now_ms: int) -> None:
        while True:
            stmt = (
                select(Event)
                .where(Event.id > self.event_cursor, Event.kind.in_(EVENT_ALARM_KINDS))
                .order_by(Event.id)
                .limit(EVENT_PAGE)
            )
            events = list(session.scalars(stmt))
            for ev in events:
                self.event_cursor = max(self.event_cursor, ev.id)
                if self._first_events and ev.ts_end is not None and ev.ts_end < now_ms - self.lookback_ms:
                    continue
                alarm_id = alarms.event_open(
                    ev.kind,
                    ev.id,
                    ev.ts_start,
                    source=ev.source,
                    badge=ev.badge,
                    zone=ev.zone,
                    severity=ev.severity,
                    message=ev.message or "",
                    data=ev.data if isinstance(ev.data, dict) else None,
                )
                if alarm_id is not None and ev.ts_end is not None:
                    alarms.event_close(alarm_id, max(ev.ts_end, ev.ts_start))
            if len(events) < EVENT_PAGE:
                break
        self._first_events = False
        open_alarms = alarms.open_event_alarms()
        by_event = {event_id: alarm_id for alarm_id, event_id in open_alarms.items()}
        ids = sorted(by_event)
        for i in range(0, len(ids), IN_CHUNK):
            stmt = select(Event.id, Event.ts_end, Event.ts_start).where(
                Event.id.in_(ids[i : i + IN_CHUNK]), Event.ts_end.is_not(None)
            )
            for event_id, ts_end, ts_start in session.execute(stmt):
                alarms.event_close(by_event[event_id], max(ts_end, ts_start))

    def _commands(self, session: Session, alarms: AlarmEngine, now_ms: int) -> int:
        commands = pending_commands(session, COMMAND_PAGE)
        if not commands:
            return 0
        stored = existing_alarm_ids(session, [c.alarm_id for c in commands if alarms.get(c.alarm_id) is None])
        results: list[tuple[int, str]] = []
        for c in commands:
            if alarms.get(c.alarm_id) is None and c.alarm_id in stored:
                # An event alarm that is over: the engine has let it go, its row and journal remain.
                if c.action == COMMENT and c.comment:
                    journal_comment(session, c.alarm_id, c.ts, c.user, c.comment, c.address)
                    result = "ok"
                else:
                    result = "rejected: the alarm is over (returned and acknowledged)"
            else:
                result = alarms.command(
                    c.action,
                    c.alarm_id,
                    c.ts,
                    c.user,
                    comment=c.comment,
                    duration_s=c.duration_s,
                    address=c.address,
                )
            if result != "ok":
                logger.info("alarm command %d (%s %s by %s): %s", c.id, c.action, c.alarm_id, c.user, result)
            results.append((c.id, result))
        finish_commands(session, results, now_ms)
        return len(results)


def make_service(plant: Plant, engine: Engine, settings: Any) -> AlarmService:
    """Factory for ``python -m services`` (``FACTORIES["alarms"]``)."""
    return AlarmService(plant, engine)
