"""The alarm service: samples, equipment states, violations and operator commands -> alarm states.

Every ``interval_s`` (1 s) one :meth:`AlarmService.step`, in one transaction:

1. **Samples** of the alarmed and equipment-state tags newer than ``cursor - lookback`` (``lookback_s``,
   default 30 s, for samples that arrive late from the collectors' batches and spool) and newer than the
   last sample the engine evaluated for their tag, in time order. So nothing is evaluated twice, and a
   late sample older than what its tag has already seen is skipped. The read is one primary-key range per
   tag (``tag_id = ? AND ts > ?``, 500 tags per query) rather than a scan of everything in the lookback
   by time: at 10,000 samples/s a 30 s lookback would re-read 300,000 rows every second (and an index on
   the sample time would cost every insert).
   Samples of equipment state tags drive suppression by design. The cursor is the newest sample time
   seen, never beyond ``now``; samples stamped more than :data:`MAX_FUTURE_MS` ahead of ``now`` wait until
   then. A backlog is read :data:`SPAN_ROWS` rows per 500 tags at a time, each span its own transaction.
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

One writer: a second alarm service on the same database (a second ``python -m services``, say) would
journal every transition twice, so the service holds a lock (:class:`SingleInstance`: a PostgreSQL
advisory lock, or a file lock beside the SQLite file); one that does not get it stands by, step after
step, and takes over from the database when the holder goes away.
"""

from __future__ import annotations

import functools
import logging
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, select, text
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
from store.models import Alarm, Event
from store.samples import latest_values
from store.tags import sync_tags

try:
    import fcntl
except ImportError:  # Windows has no fcntl: no single-instance guard for SQLite there
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

MAX_FUTURE_MS = 300_000
SPAN_ROWS = 100_000
EVENT_PAGE = 1_000
COMMAND_PAGE = 1_000
IN_CHUNK = 500


LOCK_KEY = 0x5357_414C_4152_4D53 & 0x7FFF_FFFF_FFFF_FFFF  # pg advisory lock key ("SWALARMS")


class SingleInstance:
    """Only one alarm service may write a database's alarms, or every transition would be journaled twice.

    PostgreSQL: a session advisory lock on a connection held for the service's life (released by the
    server when that connection ends). SQLite: an exclusive ``flock`` on ``<database>.alarms.lock`` beside
    the file. Other databases (and in-memory SQLite) are not guarded. :meth:`held` is asked every step: a
    service that does not hold the lock stands by and takes over when the holder goes away.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Any = None
        self._file: Any = None
        backend = engine.dialect.name
        database = engine.url.database or ""
        a_file = database not in ("", ":memory:") and not database.startswith("file:")
        self.kind = "none"
        if backend == "postgresql":
            self.kind = "postgresql"
        elif backend == "sqlite" and fcntl is not None and a_file:
            self.kind = "sqlite"

    def held(self) -> bool:
        if self.kind == "postgresql":
            return self._held_pg()
        if self.kind == "sqlite":
            return self._held_file()
        return True

    def _held_pg(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql("SELECT 1")
                return True
            except Exception:
                logger.warning("alarms: lost the connection holding the single-instance lock")
                self._drop_pg()
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({LOCK_KEY})").scalar())
        except Exception:
            logger.exception("alarms: could not ask for the single-instance lock")
            return False
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _drop_pg(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:
                logger.debug("alarms: closing the lock connection failed", exc_info=True)

    def _held_file(self) -> bool:
        if self._file is not None:
            return True
        assert fcntl is not None
        path = Path(self.engine.url.database or "").expanduser().resolve()
        lock = path.with_name(path.name + ".alarms.lock").open("a+b")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return False
        self._file = lock
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
            except Exception:
                logger.debug("alarms: unlock failed", exc_info=True)
            self._drop_pg()
        if self._file is not None:
            assert fcntl is not None
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


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
        catch_up_s: float = 10.0,
        span_rows: int = SPAN_ROWS,
    ) -> None:
        self.plant = plant
        self.db = engine
        self.lookback_ms = int(lookback_s * 1000)
        self.max_shelve_s = int(max_shelve_s)
        self.catch_up_s = float(catch_up_s)
        self.span_rows = int(span_rows)
        self.alarms: AlarmEngine | None = None
        self.cursor_ms = 0
        self.event_cursor = 0
        self._first_events = False
        self._tag_of: dict[int, str] = {}
        self.lock = SingleInstance(engine)
        weakref.finalize(self, self.lock.release)  # a service dropped without close() lets go of the lock
        self.stats: dict[str, Any] = {
            "steps": 0,
            "samples": 0,
            "transitions": 0,
            "commands": 0,
            "restarts": 0,
            "standby": False,
        }

    # -------------------------------------------------------------------------------------------- start

    def _start(self, session: Session, now_ms: int) -> AlarmEngine:
        alarms = AlarmEngine(self.plant, max_shelve_s=self.max_shelve_s)
        ids = sync_tags(session, self.plant)
        alarms.bind_tag_ids(ids)
        wanted = alarms.alarmed_tags() | set(alarms.state_tags())
        self._tag_of = {tag_id: name for name, tag_id in ids.items() if name in wanted}
        restored = alarms.restore(load_states(session))
        # a sample stamped further ahead than MAX_FUTURE_MS waits for its time, here as in _samples
        latest = latest_values(session, list(self._tag_of), until=now_ms + MAX_FUTURE_MS)
        state_tags = alarms.state_tags()
        first = sorted((s for s in latest.values() if self._tag_of[s.tag_id] in state_tags), key=lambda s: s.ts)
        rest = sorted((s for s in latest.values() if self._tag_of[s.tag_id] not in state_tags), key=lambda s: s.ts)
        for s in first + rest:
            alarms.process(self._tag_of[s.tag_id], s.ts, s.value, s.quality)
        newest = max((s.ts for s in latest.values()), default=now_ms)
        self.cursor_ms = min(newest, now_ms)
        cursors = last_event_ids(session)
        self.event_cursor = max(cursors.values(), default=0)
        # A first start (no alarm at all yet): events closed long before are history, not alarms.
        self._first_events = not cursors and session.scalar(select(Alarm.id).limit(1)) is None
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
        """One step; when more samples wait than one read takes (``span_rows``: the service was held up), it
        works through them span by span, a transaction each, for up to ``catch_up_s`` seconds."""
        started = time.perf_counter()
        if not self.lock.held():
            if not self.stats["standby"]:
                logger.warning("alarms: another alarm service is writing this database's alarms; standing by")
            self.stats["standby"] = True
            self.alarms = None  # whoever holds the lock moves the state on: start from the database on takeover
            return
        if self.stats["standby"]:
            logger.info("alarms: the other alarm service is gone; taking over")
            self.stats["standby"] = False
        while True:
            caught_up = self._step_once(now_ms)
            if caught_up or time.perf_counter() - started > self.catch_up_s:
                break
        self.stats["steps"] += 1
        self.stats["last_step_ms"] = round((time.perf_counter() - started) * 1000, 1)
        self.stats["behind_ms"] = max(0, now_ms - self.cursor_ms) if not caught_up else 0

    def close(self) -> None:
        """Let another alarm service take over (the lock also goes when the process ends)."""
        self.lock.release()
        self.alarms = None

    def _step_once(self, now_ms: int) -> bool:
        try:
            with session_scope(self.db) as session:
                alarms = self.alarms
                if alarms is None:
                    alarms = self._start(session, now_ms)
                    self.alarms = alarms
                n_samples, caught_up = self._samples(session, alarms, now_ms)
                self._events(session, alarms, now_ms)
                n_commands = self._commands(session, alarms, now_ms)
                alarms.tick(now_ms if caught_up else self.cursor_ms)
                batch = alarms.drain()
                n_rows = apply_batch(session, batch)
        except Exception:
            # The engine may be ahead of the database now: start over from the database next step.
            self.alarms = None
            raise
        self.stats["samples"] += n_samples
        self.stats["transitions"] += n_rows
        self.stats["commands"] += n_commands
        if n_rows or n_commands:
            logger.debug("alarms: %d samples, %d transitions, %d commands", n_samples, n_rows, n_commands)
        return caught_up

    def _samples(self, session: Session, alarms: AlarmEngine, now_ms: int) -> tuple[int, bool]:
        """New samples of the followed tags, in time order: per tag, those after both the newest the engine
        has evaluated and ``cursor - lookback`` (a range of the sample primary key per tag, so the lookback
        costs nothing per sample already seen), up to ``now + MAX_FUTURE_MS``. At most ``SPAN_ROWS`` per
        500 tags are read at once; False when more are waiting."""
        floor = self.cursor_ms - self.lookback_ms
        until = now_ms + MAX_FUTURE_MS
        after = {tag_id: max(alarms.last_ts(name) or floor, floor) for tag_id, name in self._tag_of.items()}
        ids = sorted(after)
        rows: list[tuple[int, int, float | None, int]] = []
        cut: int | None = None  # a chunk hit the row limit: only rows up to here are complete
        conn = session.connection()
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i : i + IN_CHUNK]
            params: dict[str, int] = {"floor": floor, "until": until, "lim": self.span_rows}
            for k, t in enumerate(chunk):
                params[f"i{k}"] = t
                params[f"a{k}"] = after[t]
            got = [(r[0], r[1], r[2], r[3]) for r in conn.execute(_span_sql(len(chunk)), params)]
            if len(got) == self.span_rows:
                cut = got[-1][1] if cut is None else min(cut, got[-1][1])
            rows.extend(got)
        if cut is not None:
            rows = [r for r in rows if r[1] <= cut]
        rows.sort(key=lambda r: r[1])
        tag_of = self._tag_of
        process = alarms.process
        for tag_id, ts, value, quality in rows:
            process(tag_of[tag_id], ts, value, quality)
        newest = rows[-1][1] if rows else self.cursor_ms
        self.cursor_ms = min(max(self.cursor_ms, newest), now_ms)
        return len(rows), cut is None

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


@functools.lru_cache(maxsize=4)
def _span_sql(n: int) -> TextClause:
    """The span read for ``n`` tags, each with the time after which its samples are new.

    Plain SQL with bound parameters, built once per chunk size: the same statement from SQLAlchemy's
    ``values()`` construct is compiled anew at every step (its rows are literals), which cost about 80 ms of
    CPU per 500 tags, every second."""
    rows = ", ".join(f"(:i{k}, :a{k})" for k in range(n))
    return text(
        f"WITH wanted(id, after) AS (VALUES {rows}) "
        "SELECT s.tag_id, s.ts, s.value, s.quality FROM sample AS s JOIN wanted ON s.tag_id = wanted.id "
        "WHERE s.ts > wanted.after AND s.ts > :floor AND s.ts <= :until ORDER BY s.ts LIMIT :lim"
    )


def make_service(plant: Plant, engine: Engine, settings: Any) -> AlarmService:
    """Factory for ``python -m services`` (``FACTORIES["alarms"]``)."""
    return AlarmService(plant, engine)
