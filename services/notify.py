"""The on-call notifier: alarm activations from the journal -> messages to the people on call.

Every ``interval_s`` the service reads new ``alarm_journal`` rows (by id cursor): annunciated activations
(kind ``active``, not acknowledged) and acknowledgements (kind ``ack``); it loads
the state of the alarms concerned from ``alarm``, lets :class:`notify.policy.Notifier` decide (rota,
de-duplication, escalation, flood digests), sends over the person's channels and writes one
``notification`` row per message sent or tried (``sent``/``failed``, attempts, error). :func:`deliver` is the
one path of a message to a person: the emergency service sends a declared emergency to its call list through
it, so those messages are rows of the same table (kind ``emergency``).

Restart: the notifier's memory is rebuilt from the ``notification`` rows of the last ``policy.resume_h``
hours, and journal activations of the last ``policy.catch_up_min`` minutes are read again; those already
told are recognised and skipped, so nothing is sent twice. (A crash between a message leaving and its row
being committed can repeat that one message: a duplicate page is preferred to a lost one.)

The on-call file is read again when it changes on disk; a broken new version is reported and the last good
one stays in force. A broken file at start leaves the service idle (reporting the problem) until fixed,
so the alarm engine next to it keeps running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select

from notify.channels import send
from notify.config import OncallConfig, OncallFileError, Retry, load_oncall
from notify.messages import Labels, Rendered, render
from notify.policy import Activation, AlarmState, Notifier, Outgoing, SentRecord
from plant.schema import Plant
from store.db import session_scope
from store.models import Alarm, AlarmJournal, Notification

logger = logging.getLogger(__name__)

ACTIVE, ACK = "active", "ack"  # the journal's kinds read here
EMERGENCY = "emergency"  # a declared emergency's message (``services.emergency``): no alarm, not read back
JOURNAL_BATCH = 20_000
IN_CHUNK = 500
RELOAD_CHECK_S = 5.0
STATE_COLUMNS = tuple(f for f in AlarmState.__dataclass_fields__ if f != "alarm_id")


class NotifyService:
    name = "notify"
    interval_s = 2.0

    def __init__(
        self,
        plant: Plant,
        engine: Engine,
        config: OncallConfig | None = None,
        *,
        config_path: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if config is None and config_path is None:
            raise ValueError("give an on-call config or the path of its file")
        self.plant = plant
        self.engine = engine
        self.config_path = config_path
        self.sleep = sleep
        self.labels = Labels.from_plant(plant)
        self.config: OncallConfig | None = config
        self.notifier: Notifier | None = None
        self.cursor: int | None = None  # last journal id read
        self._mtime: float | None = None
        self._checked_at = 0.0
        self.reload_check_s = RELOAD_CHECK_S  # how often the file's modification time is looked at
        if config is None:
            self._reload(initial=True)
        elif config_path is not None:
            self._mtime = _mtime(config_path)

    @classmethod
    def from_settings(cls, plant: Plant, engine: Engine, settings: Any) -> NotifyService:
        return cls(plant, engine, config_path=Path(settings.oncall_file))

    # -- configuration --------------------------------------------------------------------------------
    def _reload(self, *, initial: bool = False) -> None:
        assert self.config_path is not None
        self._mtime = _mtime(self.config_path)
        try:
            config = load_oncall(self.config_path)
        except OncallFileError as error:
            if self.config is None:
                logger.error("notifications are off until the on-call file is fixed: %s", error)
            else:
                logger.error("keeping the previous on-call settings: %s", error)
            return
        if not initial:
            logger.info("on-call file %s changed: new rota and channels in force", self.config_path)
        self.config = config
        if self.notifier is not None:
            self.notifier.config = config
            self.notifier.tz = config.tz(self.plant.site.timezone)

    def _maybe_reload(self) -> None:
        if self.config_path is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self.reload_check_s and self.config is not None:
            return
        self._checked_at = now
        if _mtime(self.config_path) != self._mtime:
            self._reload()

    # -- the loop -------------------------------------------------------------------------------------
    def step(self, now_ms: int) -> None:
        self._maybe_reload()
        if self.config is None:
            return
        if self.notifier is None:
            self._resume(now_ms)
        notifier = self.notifier
        assert notifier is not None
        activations = self._read_journal()
        states = self._states({a.alarm_id for a in activations} | notifier.watched(now_ms))
        notifier.observe(activations, states, now_ms)
        down: set[str] = set()
        for message in notifier.plan(now_ms, states):
            try:
                self._deliver(message, now_ms, down)
            finally:
                notifier.mark_sent(message, now_ms)  # even if its row could not be written: no message storms
        notifier.forget_before(now_ms - int(self.config.policy.resume_h * 3_600_000))

    def _resume(self, now_ms: int) -> None:
        """Rebuild the notifier from the messages already sent and set the journal cursor for catch-up."""
        assert self.config is not None
        policy = self.config.policy
        notifier = Notifier(self.config, self.config.tz(self.plant.site.timezone))
        since = now_ms - int(policy.resume_h * 3_600_000)
        catch_up = now_ms - int(policy.catch_up_min * 60_000)
        with session_scope(self.engine) as session:
            rows = session.execute(
                select(Notification.ts, Notification.kind, Notification.level, Notification.alarm_ids).where(
                    Notification.ts >= since, Notification.kind != EMERGENCY
                )
            ).all()
            first = session.scalar(select(func.min(AlarmJournal.id)).where(AlarmJournal.ts >= catch_up))
            last = session.scalar(select(func.max(AlarmJournal.id)))
        records = [SentRecord(ts, kind, level, tuple(str(a) for a in (ids or []))) for ts, kind, level, ids in rows]
        notifier.restore(records, now_ms)
        self.cursor = (first - 1) if first is not None else (last or 0)
        self.notifier = notifier
        logger.info(
            "notify: %d messages of the last %.0f h read back; journal from id %d",
            len(records),
            policy.resume_h,
            self.cursor + 1,
        )

    def _read_journal(self) -> list[Activation]:
        with session_scope(self.engine) as session:
            rows = session.execute(
                select(
                    AlarmJournal.id,
                    AlarmJournal.alarm_id,
                    AlarmJournal.ts,
                    AlarmJournal.priority,
                    AlarmJournal.source_type,
                    AlarmJournal.area,
                    AlarmJournal.zone,
                    AlarmJournal.value,
                    AlarmJournal.kind,
                )
                .where(
                    AlarmJournal.id > (self.cursor or 0),
                    # annunciated activations (a hidden alarm's activation is journaled acknowledged) and acks
                    or_(and_(AlarmJournal.kind == ACTIVE, AlarmJournal.acked.is_(False)), AlarmJournal.kind == ACK),
                )
                .order_by(AlarmJournal.id)
                .limit(JOURNAL_BATCH)
            ).all()
        if rows:
            self.cursor = rows[-1][0]
        return [Activation(*row) for row in rows]

    def _states(self, ids: Iterable[str]) -> dict[str, AlarmState]:
        wanted = sorted(set(ids))
        out: dict[str, AlarmState] = {}
        columns = [Alarm.id.label("alarm_id"), *(Alarm.__table__.c[name] for name in STATE_COLUMNS)]
        with session_scope(self.engine) as session:
            for i in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[i : i + IN_CHUNK]
                for row in session.execute(select(*columns).where(Alarm.id.in_(chunk))).mappings():
                    values = dict(row)
                    values["message"] = values["message"] or ""
                    out[row["alarm_id"]] = AlarmState(**values)
        return out

    # -- sending --------------------------------------------------------------------------------------
    def render(self, message: Outgoing, lang: str) -> Rendered:
        assert self.config is not None
        policy = self.config.policy
        tz = self.config.tz(self.plant.site.timezone)
        return render(
            message,
            lang,
            self.labels,
            tz,
            app_url=self.config.app_url,
            escalate_after_min=policy.escalate_after_min,
            digest_every_min=policy.flood.digest_every_min,
            flood_window_min=policy.flood.window_min,
        )

    def _deliver(self, message: Outgoing, now_ms: int, down: set[str]) -> None:
        """Send ``message`` over each enabled channel of its person; one notification row per try."""
        assert self.config is not None
        deliver(self.engine, self.config, message, lambda lang: self.render(message, lang), now_ms, down, self.sleep)


def deliver(
    engine: Engine,
    config: OncallConfig,
    message: Outgoing,
    render_in: Callable[[str], Rendered],
    now_ms: int,
    down: set[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Send ``message`` (rendered in its person's language by ``render_in``) over each enabled channel of its
    person and write one ``notification`` row per try: the one path of every message to a person (alarms,
    digests, escalations, emergencies). Channels in ``down`` failed earlier in the same step: they are tried
    once more without waiting (and a failing one is added). True when at least one channel took it."""
    down = set() if down is None else down
    person = message.person
    if person is None:
        rendered = render_in(config.language)
        logger.error("notify: nobody on call for level %d; %s not sent", message.level, message.kind)
        record(engine, message, now_ms, "none", "", rendered, "failed", 0, f"nobody on call at level {message.level}")
        return False
    rendered = render_in(config.lang_of(person))
    channels = [config.channel(c) for c in person.channels if config.channel(c).enabled]
    if not channels:
        logger.error("notify: %s has no enabled channel; %s not sent", person.id, message.kind)
        record(engine, message, now_ms, "none", person.id, rendered, "failed", 0, "no enabled channel")
        return False
    told = False
    for channel in channels:
        retry = Retry(attempts=1, backoff_s=0) if channel.id in down else config.retry_of(channel)
        delivery = send(channel, rendered, person, message, retry=retry, now_ms=now_ms, sleep=sleep)
        if delivery.status != "sent":
            down.add(channel.id)
        else:
            told = True
            logger.info(
                "notify: %s level %d (%d alarms) to %s via %s",
                message.kind,
                message.level,
                len(message.alarms),
                person.id,
                channel.id,
            )
        record(
            engine,
            message,
            now_ms,
            channel.type,
            person.id,
            rendered,
            delivery.status,
            delivery.attempts,
            delivery.error,
        )
    return told


def record(
    engine: Engine,
    message: Outgoing,
    now_ms: int,
    channel: str,
    recipient: str,
    rendered: Rendered,
    status: str,
    attempts: int,
    error: str | None,
) -> None:
    """One ``notification`` row: a message sent or tried to one recipient over one channel."""
    with session_scope(engine) as session:
        session.add(
            Notification(
                ts=now_ms,
                channel=channel,
                recipient=recipient,
                kind=message.kind,
                alarm_ids=message.alarm_ids,
                level=message.level,
                status=status,
                attempts=attempts,
                error=error,
                subject=rendered.subject,
            )
        )


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def make_service(plant: Plant, engine: Engine, settings: Any) -> NotifyService:
    """Factory for ``python -m services`` (``FACTORIES["notify"]``)."""
    return NotifyService.from_settings(plant, engine, settings)
