"""Who is told what, when: the on-call rota, de-duplication, escalation and flood digests (pure, no I/O).

The service feeds :class:`Notifier` with alarm activations (journal rows of kind ``active``) and the
current state of the alarms concerned, asks it for a :meth:`Notifier.plan` of messages at ``now_ms``,
sends them and reports each back with :meth:`Notifier.mark_sent`. Everything the notifier remembers can
be rebuilt from the messages already sent (:meth:`Notifier.restore`), so a restart sends nothing twice.

Rules:

- Only priorities listed in ``policy.priorities`` notify; shelved, suppressed and out-of-service alarms
  and alarms acknowledged before the message goes out do not.
- One message per alarm activation. An alarm that comes back within ``dedup_min`` of its last message
  without having been acknowledged in between is not sent again (a chattering alarm pages once).
- Level 0 goes to the first person of the chain on call now, and to the alarm's responsible people who are in
  the on-call file (a major hazard source's safety leads named by ``user`` or by a ``badge`` an on-call person
  carries, kept in the alarm's ``data["responsible"]``); escalation and flood digests follow the chain only.
  Not acknowledged ``escalate_after_min`` (per priority) after the previous level's message, the alarm goes to the next
  person in the chain; acknowledging it stops the escalation. The chain's last person is the last level.
- Flood: when more than ``flood.threshold`` alarms were to be sent within ``flood.window_min`` (or more
  than that many are waiting at once), single messages stop and one digest per level goes out at once and
  then at most every ``flood.digest_every_min`` with what came since, until the flood has passed.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.clock import to_local
from notify.config import WEEKDAYS, OncallConfig, Person
from plant.schema import PRIORITIES

logger = logging.getLogger(__name__)

MINUTE_MS = 60_000


@dataclass(frozen=True)
class AlarmInfo:
    """One alarm as a message tells it: the activation from the journal, details from the alarm's state."""

    alarm_id: str
    ts: int  # activation time, ms
    priority: str
    source_type: str = "process"
    area: str | None = None
    zone: str | None = None
    equipment: str | None = None
    source: str = ""
    condition: str = ""
    message: str = ""  # a sentence stored with rows from before texts were built when shown
    value: float | None = None
    limit: float | None = None
    count: int = 1  # activations folded into this entry (a chattering alarm during a flood)
    badge: str | None = None
    camera: str | None = None
    data: Mapping[str, Any] | None = field(default=None, compare=False)  # the text's facts (engine.alarm_text)


@dataclass(frozen=True)
class AlarmState:
    """The current row of ``alarm`` for one alarm id, as far as notification cares."""

    alarm_id: str
    priority: str
    active: bool
    acked: bool
    acked_at: int | None = None
    activated_at: int | None = None
    shelved_until: int | None = None
    suppressed: bool = False
    out_of_service: bool = False
    source_type: str = "process"
    source: str = ""
    condition: str = ""
    area: str | None = None
    zone: str | None = None
    equipment: str | None = None
    message: str = ""
    value: float | None = None
    limit: float | None = None
    badge: str | None = None
    camera: str | None = None
    data: Mapping[str, Any] | None = field(default=None, compare=False)

    def acked_since(self, ts: int) -> bool:
        """Acknowledged at or after ``ts`` (an acknowledgement of an earlier activation does not count)."""
        return self.acked_at is not None and self.acked_at >= ts

    def silenced(self, now_ms: int) -> bool:
        shelved = self.shelved_until is not None and self.shelved_until > now_ms
        return shelved or self.suppressed or self.out_of_service


@dataclass(frozen=True)
class Activation:
    """A journal row of kind ``active`` (an alarm annunciated) or ``ack`` (acknowledged)."""

    journal_id: int
    alarm_id: str
    ts: int
    priority: str
    source_type: str = "process"
    area: str | None = None
    zone: str | None = None
    value: float | None = None
    kind: str = "active"


@dataclass(frozen=True)
class SentRecord:
    """A notification row, as :meth:`Notifier.restore` needs it."""

    ts: int
    kind: str
    level: int
    alarm_ids: tuple[str, ...]


@dataclass(frozen=True)
class Digest:
    count: int  # activations
    since_ms: int
    by_priority: tuple[tuple[str, int], ...]
    by_area: tuple[tuple[str | None, int], ...]
    top_sources: tuple[tuple[str, int], ...]
    window: int = 0  # level 0: alarms queued within the flood window when the digest was made


@dataclass(frozen=True)
class Outgoing:
    """One message to one person (``person`` None: nobody is on call for this level)."""

    kind: str  # alarm | digest | escalation | emergency (a declared emergency, ``services.emergency``)
    level: int
    alarms: tuple[AlarmInfo, ...]
    person: Person | None
    rota_entry: str | None = None
    previous: Person | None = None  # escalation: who was told before and did not acknowledge
    digest: Digest | None = None

    @property
    def alarm_ids(self) -> list[str]:
        return sorted({a.alarm_id for a in self.alarms})


@dataclass
class _Track:
    """An alarm that has been notified and is being watched for acknowledgement."""

    priority: str
    activation_ts: int | None
    first_ts: int  # level-0 message
    level: int
    last_ts: int  # the latest level's message


def on_call(config: OncallConfig, tz: ZoneInfo, now_ms: int) -> tuple[str | None, list[Person]]:
    """The rota entry (or override) in force at ``now_ms`` and its chain, primary first; (None, []) if none."""
    local = to_local(now_ms, tz)
    for override in config.overrides:
        start = override.start if override.start.tzinfo else override.start.replace(tzinfo=tz)
        end = override.end if override.end.tzinfo else override.end.replace(tzinfo=tz)
        if start <= local < end:
            return override.id, [config.person(p) for p in override.chain]
    day = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local - timedelta(days=1)).weekday()]
    clock = local.time().replace(tzinfo=None)
    for entry in config.rota:
        if entry.start < entry.end:
            hit = day in entry.days and entry.start <= clock < entry.end
        else:  # past midnight (start == end: 24 hours from start)
            hit = (day in entry.days and clock >= entry.start) or (yesterday in entry.days and clock < entry.end)
        if hit:
            return entry.id, [config.person(p) for p in entry.chain]
    return None, []


def summarize(alarms: Iterable[AlarmInfo], top: int) -> Digest:
    """Counts by priority (most severe first) and area (most first), and the noisiest sources."""
    items = list(alarms)
    by_priority: Counter[str] = Counter()
    by_area: Counter[str | None] = Counter()
    by_source: Counter[str] = Counter()
    for a in items:
        by_priority[a.priority] += a.count
        by_area[a.area] += a.count
        by_source[a.source or a.alarm_id] += a.count
    rank: dict[str, int] = {p: i for i, p in enumerate(PRIORITIES)}
    return Digest(
        count=sum(a.count for a in items),
        since_ms=min((a.ts for a in items), default=0),
        by_priority=tuple(sorted(by_priority.items(), key=lambda kv: rank.get(kv[0], len(rank)))),
        by_area=tuple(sorted(by_area.items(), key=lambda kv: (-kv[1], kv[0] or ""))),
        top_sources=tuple(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
    )


@dataclass
class _Queue:
    """Alarms waiting to go out at one level, and when that level's last digest went."""

    waiting: dict[str, AlarmInfo] = field(default_factory=dict)
    flooded: set[str] = field(default_factory=set)  # waiting ids that arrived during a flood: digest only
    last_digest: int | None = None


class Notifier:
    """The notification policy's memory and decisions; see the module docstring for the rules."""

    def __init__(self, config: OncallConfig, tz: ZoneInfo) -> None:
        self.config = config
        self.tz = tz
        self.tracks: dict[str, _Track] = {}
        self.queues: dict[int, _Queue] = {}
        self.recent: list[int] = []  # times of activations queued at level 0 (flood window), sorted
        self.acks: dict[str, int] = {}  # alarm id -> latest acknowledgement seen in the journal
        self.flood = False

    # -- memory ---------------------------------------------------------------------------------------
    def restore(self, sent: Iterable[SentRecord], now_ms: int) -> None:
        """Rebuild what was sent from notification rows (any order): tracks, levels, digest times and
        the flood window (level-0 alarms told within it count as arrivals at their message's time)."""
        window_start = now_ms - self.config.policy.flood.window_min * MINUTE_MS
        told: dict[int, set[str]] = {}
        for rec in sorted(sent, key=lambda r: (r.ts, r.level)):
            if rec.kind == "digest":
                queue = self.queues.setdefault(rec.level, _Queue())
                queue.last_digest = max(queue.last_digest or rec.ts, rec.ts)
            if rec.level == 0 and rec.ts > window_start:
                told.setdefault(rec.ts, set()).update(rec.alarm_ids)
            for alarm_id in rec.alarm_ids:
                track = self.tracks.get(alarm_id)
                if rec.level == 0:
                    if track is None or track.first_ts != rec.ts:
                        self.tracks[alarm_id] = _Track("", None, rec.ts, 0, rec.ts)
                elif track is not None and rec.level >= track.level:
                    track.level, track.last_ts = rec.level, rec.ts
        for ts, ids in told.items():
            for _ in ids:
                bisect.insort(self.recent, ts)
        logger.debug("restored %d alarms being watched", len(self.tracks))

    def watched(self, now_ms: int) -> set[str]:
        """Alarm ids whose state :meth:`plan` needs at ``now_ms``: waiting messages and alarms whose next
        escalation is due (the others' state is not needed before then)."""
        after = self.config.policy.escalation_minutes()
        longest = max([len(e.chain) for e in self.config.rota] + [len(o.chain) for o in self.config.overrides])
        shortest = min(after.values(), default=None)
        ids: set[str] = set()
        for alarm_id, track in self.tracks.items():
            minutes = after.get(track.priority) if track.priority else shortest
            if track.level < 0 or minutes is None or track.level + 1 >= longest:
                continue
            if now_ms - track.last_ts >= minutes * MINUTE_MS:
                ids.add(alarm_id)
        for queue in self.queues.values():
            ids.update(queue.waiting)
        return ids

    def forget_before(self, cutoff_ms: int) -> None:
        """Drop tracks whose last message is older than ``cutoff_ms`` (bounded memory)."""
        for alarm_id in [a for a, t in self.tracks.items() if t.last_ts < cutoff_ms]:
            del self.tracks[alarm_id]
        for alarm_id in [a for a, ts in self.acks.items() if ts < cutoff_ms]:
            del self.acks[alarm_id]

    def acked_since(self, alarm_id: str, ts: int, state: AlarmState | None) -> bool:
        """Acknowledged at or after ``ts``, by the journal or by the alarm's state."""
        return self.acks.get(alarm_id, -1) >= ts or (state is not None and state.acked_since(ts))

    # -- input ----------------------------------------------------------------------------------------
    def observe(self, events: Iterable[Activation], states: Mapping[str, AlarmState], now_ms: int) -> int:
        """Take journal rows (activations and acknowledgements) in time order; queue activations for level 0.

        Returns how many were queued (the rest were filtered or de-duplicated). An activation that arrives
        while more than ``flood.threshold`` others arrived within the window is bound for a digest.
        """
        policy = self.config.policy
        flood = policy.flood
        queued = 0
        level0 = self.queues.setdefault(0, _Queue())
        for act in sorted(events, key=lambda a: (a.ts, a.journal_id)):
            if act.kind == "ack":
                self.acks[act.alarm_id] = max(act.ts, self.acks.get(act.alarm_id, act.ts))
                continue
            if act.kind != "active" or act.priority not in policy.priorities:
                continue
            state = states.get(act.alarm_id)
            track = self.tracks.get(act.alarm_id)
            if track is not None and track.first_ts >= act.ts:
                continue  # this activation was already told (a re-read journal row, or restored)
            if (
                track is not None
                and act.ts - track.first_ts < policy.dedup_min * MINUTE_MS
                and not self.acked_since(act.alarm_id, track.first_ts, state)
            ):
                continue  # came back while still unacknowledged: told once is enough
            waiting = level0.waiting.get(act.alarm_id)
            if waiting is not None:
                level0.waiting[act.alarm_id] = replace(waiting, count=waiting.count + 1)
                continue
            level0.waiting[act.alarm_id] = _info(act, state)
            bisect.insort(self.recent, act.ts)
            window = bisect.bisect_right(self.recent, act.ts) - bisect.bisect_right(
                self.recent, act.ts - flood.window_min * MINUTE_MS
            )
            if window > flood.threshold:
                level0.flooded.add(act.alarm_id)
            queued += 1
        return queued

    # -- decisions ------------------------------------------------------------------------------------
    def plan(self, now_ms: int, states: Mapping[str, AlarmState]) -> list[Outgoing]:
        """The messages to send at ``now_ms``; call :meth:`mark_sent` for each one sent (or tried)."""
        policy = self.config.policy
        flood = policy.flood
        window_ms = flood.window_min * MINUTE_MS
        del self.recent[: bisect.bisect_right(self.recent, now_ms - window_ms)]
        in_window = len(self.recent)
        if (in_window > flood.threshold) != self.flood:
            self.flood = not self.flood
            if self.flood:
                logger.warning(
                    "alarm flood: %d alarms in %g min; digests instead of single messages", in_window, flood.window_min
                )
            else:
                logger.info("alarm flood over: single messages again after the last digest")
        self._drop_settled(now_ms, states)
        self._escalations_due(now_ms, states)
        fresh = self.queues.setdefault(0, _Queue()).waiting
        for level, queue in self.queues.items():
            for alarm_id in [a for a in queue.waiting if level > 0 and a in fresh]:
                del queue.waiting[alarm_id]  # a new activation starts the chain again at level 0
                queue.flooded.discard(alarm_id)

        entry, chain = on_call(self.config, self.tz, now_ms)
        out: list[Outgoing] = []
        for level in sorted(self.queues):
            queue = self.queues[level]
            if not queue.waiting:
                continue
            person = chain[level] if level < len(chain) else None
            previous = chain[level - 1] if 0 < level <= len(chain) else None
            items = sorted(queue.waiting.values(), key=lambda a: (a.ts, a.alarm_id))
            if queue.flooded or len(items) > flood.threshold:
                every_ms = flood.digest_every_min * MINUTE_MS
                if queue.last_digest is not None and now_ms - queue.last_digest < every_ms:
                    continue  # the next digest takes these (and anything else waiting at this level)
                digest = replace(summarize(items, flood.top_sources), window=max(in_window, len(items)))
                out.append(Outgoing("digest", level, tuple(items), person, entry, previous, digest))
            else:
                kind = "alarm" if level == 0 else "escalation"
                out.extend(Outgoing(kind, level, (a,), person, entry, previous) for a in items)
                if level == 0:
                    out.extend(
                        Outgoing("alarm", 0, (a,), lead, entry)
                        for a in items
                        for lead in self.responsible(a)
                        if person is None or lead.id != person.id
                    )
        return out

    def responsible(self, alarm: AlarmInfo) -> list[Person]:
        """The people of the on-call file an alarm names as responsible (a major hazard source's safety leads,
        ``data["responsible"]``, given as ``user`` or as a ``badge`` that an on-call person carries), in the
        order named, each once."""
        data = alarm.data
        leads = data.get("responsible") if isinstance(data, Mapping) else None
        if not isinstance(leads, list):
            return []
        known = {p.id: p for p in self.config.people}
        by_badge = {p.badge: p for p in self.config.people if p.badge}
        out: list[Person] = []
        for lead in leads:
            user = lead.get("user") if isinstance(lead, Mapping) else None
            badge = lead.get("badge") if isinstance(lead, Mapping) else None
            person = known.get(user) if isinstance(user, str) else None
            if person is None and isinstance(badge, str):
                person = by_badge.get(badge)
            if person is not None and person not in out:
                out.append(person)
        return out

    def mark_sent(self, message: Outgoing, now_ms: int) -> None:
        """Record that ``message`` went out (or was tried: a failed message is not repeated, it escalates)."""
        queue = self.queues.setdefault(message.level, _Queue())
        if message.kind == "digest":
            queue.last_digest = now_ms
        for a in message.alarms:
            queue.waiting.pop(a.alarm_id, None)
            queue.flooded.discard(a.alarm_id)
            if message.level == 0:
                self.tracks[a.alarm_id] = _Track(a.priority, a.ts, now_ms, 0, now_ms)
            else:
                track = self.tracks.get(a.alarm_id)
                if track is not None and message.level > track.level:
                    track.level, track.last_ts = message.level, now_ms

    # -- helpers --------------------------------------------------------------------------------------
    def _drop_settled(self, now_ms: int, states: Mapping[str, AlarmState]) -> None:
        """Forget waiting messages of alarms acknowledged, shelved or suppressed; settle acknowledged tracks."""
        for queue in self.queues.values():
            for alarm_id, info in list(queue.waiting.items()):
                state = states.get(alarm_id)
                if self.acked_since(alarm_id, info.ts, state) or (state is not None and state.silenced(now_ms)):
                    del queue.waiting[alarm_id]
                    queue.flooded.discard(alarm_id)
                elif state is not None:
                    queue.waiting[alarm_id] = _refresh(info, state)
        for alarm_id, track in self.tracks.items():
            state = states.get(alarm_id)
            if state is not None and not track.priority:
                track.priority = state.priority
                track.activation_ts = state.activated_at
            if self.acked_since(alarm_id, track.first_ts, state) or (state is not None and state.acked):
                track.level = -1  # settled: acknowledged, never escalates again (a new activation starts anew)

    def _escalations_due(self, now_ms: int, states: Mapping[str, AlarmState]) -> None:
        after = self.config.policy.escalation_minutes()
        _, chain = on_call(self.config, self.tz, now_ms)
        for alarm_id, track in self.tracks.items():
            state = states.get(alarm_id)
            if track.level < 0 or state is None or state.silenced(now_ms):
                continue
            minutes = after.get(state.priority)
            nxt = track.level + 1
            if minutes is None or nxt >= len(chain) or now_ms - track.last_ts < minutes * MINUTE_MS:
                continue
            queue = self.queues.setdefault(nxt, _Queue())
            if alarm_id not in queue.waiting:
                ts = track.activation_ts or state.activated_at or track.first_ts
                queue.waiting[alarm_id] = _refresh(AlarmInfo(alarm_id, ts, state.priority), state)
                if self.flood:
                    queue.flooded.add(alarm_id)


def _info(act: Activation, state: AlarmState | None) -> AlarmInfo:
    info = AlarmInfo(act.alarm_id, act.ts, act.priority, act.source_type, act.area, act.zone, value=act.value)
    return _refresh(info, state) if state is not None else info


def _refresh(info: AlarmInfo, state: AlarmState) -> AlarmInfo:
    """Fill the descriptive fields from the alarm's state (the journal row carries only a few)."""
    return replace(
        info,
        source_type=state.source_type or info.source_type,
        area=info.area if info.area is not None else state.area,
        zone=info.zone if info.zone is not None else state.zone,
        equipment=state.equipment,
        source=state.source,
        condition=state.condition,
        message=state.message,
        value=info.value if info.value is not None else state.value,
        limit=state.limit,
        badge=state.badge,
        camera=state.camera,
        data=state.data,
    )
