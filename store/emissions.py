"""Stack emissions in the store: CEMS minutes from raw samples, the judged hours (``emission_hour``) and the
exceedance events that raise alarms.

Minutes from samples reported by exception (as the collectors store them): a minute with good samples is
normal with their mean; a minute with a maintenance, calibration or fault status (:mod:`engine.emissions`),
in one of its samples or in the state it began in, takes that flag; a minute without any sample holds the
last sample before it (a value reported by exception stands until it changes; an outage marker or another
bad status ends it), for at most :data:`HOLD_MS`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.orm import Session

from engine.emissions import (
    HOUR_MS,
    MG_PER_L_TO_KG,
    MG_TO_KG,
    MINUTE_MS,
    Flag,
    HourAverage,
    Minute,
    hourly,
    minute_flag,
    quality_flag,
)
from engine.types import is_good
from plant.schema import Plant
from store.models import EmissionHour, Event, Sample

logger = logging.getLogger(__name__)

HOLD_MS = 15 * MINUTE_MS  # a by-exception value stands this long without a new sample
EXCEEDANCE = "emission"  # the event kind of an exceedance (an alarm through the alarm service)


@dataclass(frozen=True)
class Pollutant:
    tag: str
    stack: str
    flow_tag: str
    limit: float
    zone: str | None
    mass_factor: float = MG_TO_KG  # concentration x flow over an hour -> kg (MG_PER_L_TO_KG for wastewater)


def pollutants(plant: Plant) -> list[Pollutant]:
    """The plant file's monitored pollutants, stack by stack (wastewater outfalls too)."""
    eq = {e.id: e for e in plant.equipment}
    out: list[Pollutant] = []
    for st in plant.emissions.stacks:
        zone = eq[st.equipment].zone if st.equipment in eq else None
        factor = MG_PER_L_TO_KG if st.medium == "wastewater" else MG_TO_KG
        out += [Pollutant(p.tag, st.equipment, st.flow_tag, p.limit, zone, factor) for p in st.pollutants]
    return out


def minute_series(
    samples: Iterable[tuple[int, float | None, int]], t0: int, t1: int, hold_ms: int = HOLD_MS
) -> list[Minute]:
    """Minutes ``[t0, t1)`` (minute aligned) from one tag's ``(ts, value, quality)`` samples in time order,
    those before ``t0`` included for the hold."""
    buckets: dict[int, list[tuple[int, float | None, int]]] = {}
    last: tuple[int, float | None, int] | None = None
    for s in samples:
        if s[0] < t0:
            last = s
        elif s[0] < t1:
            buckets.setdefault(s[0] - s[0] % MINUTE_MS, []).append(s)
    out: list[Minute] = []
    for m in range(t0, t1, MINUTE_MS):
        got = buckets.get(m)
        if got:
            good = [v for _, v, q in got if v is not None and is_good(q) and math.isfinite(v)]
            held = [last] if last is not None and last[0] >= m - hold_ms else []  # the state the minute began in
            flags = [f for f in (quality_flag(q) for _, _, q in held + got) if f is not None]
            flag = minute_flag(bool(good), flags)
            out.append(Minute(m, sum(good) / len(good) if good and flag == Flag.NORMAL else None, flag))
            last = got[-1]
            continue
        if last is None or last[0] < m - hold_ms:
            out.append(Minute(m, None, Flag.MISSING))
            continue
        _, v, q = last
        f = quality_flag(q)
        if f is not None:
            out.append(Minute(m, None, f))
        elif v is not None and is_good(q) and math.isfinite(v):
            out.append(Minute(m, v, Flag.NORMAL))
        else:
            out.append(Minute(m, None, Flag.MISSING))
    return out


def read_minutes(session: Session, tag_id: int, t0: int, t1: int, hold_ms: int = HOLD_MS) -> list[Minute]:
    """One tag's minutes ``[t0, t1)`` from its raw samples (one primary-key range)."""
    stmt = (
        select(Sample.ts, Sample.value, Sample.quality)
        .where(Sample.tag_id == tag_id, Sample.ts >= t0 - hold_ms, Sample.ts < t1)
        .order_by(Sample.ts)
    )
    rows = [(int(ts), v, int(q)) for ts, v, q in session.execute(stmt)]
    return minute_series(rows, t0, t1, hold_ms)


def judge(
    session: Session, plant: Plant, tag_ids: dict[str, int], hours: Sequence[int], now_ms: int
) -> list[tuple[Pollutant, HourAverage]]:
    """Judge the hours starting at ``hours`` for every pollutant, write them to ``emission_hour`` (replacing a
    former judgement) and return them. Does not commit."""
    if not hours:
        return []
    t0, t1 = min(hours), max(hours) + HOUR_MS
    valid_minutes = plant.emissions.valid_minutes
    out: list[tuple[Pollutant, HourAverage]] = []
    flows: dict[str, list[Minute]] = {}
    for p in pollutants(plant):
        if p.tag not in tag_ids:
            continue
        if p.flow_tag not in flows:
            fid = tag_ids.get(p.flow_tag)
            flows[p.flow_tag] = read_minutes(session, fid, t0, t1) if fid is not None else []
        minutes = read_minutes(session, tag_ids[p.tag], t0, t1)
        for h in hourly(minutes, p.limit, flows[p.flow_tag], valid_minutes, hours=hours, mass_factor=p.mass_factor):
            out.append((p, h))
    save(session, out, now_ms)
    return out


def save(session: Session, judged: Sequence[tuple[Pollutant, HourAverage]], now_ms: int) -> None:
    for p, h in judged:
        session.execute(delete(EmissionHour).where(EmissionHour.tag == p.tag, EmissionHour.hour == h.start_ms))
    rows = [
        {
            "tag": p.tag,
            "hour": h.start_ms,
            "stack": p.stack,
            "value": h.value,
            "normal": h.normal,
            "maintenance": h.maintenance,
            "calibration": h.calibration,
            "fault": h.fault,
            "missing": h.missing,
            "valid": h.valid,
            "flags": h.flags,
            "limit": h.limit,
            "exceedance": h.exceedance,
            "flow": h.flow,
            "mass_kg": h.mass_kg,
            "judged_ts": now_ms,
        }
        for p, h in judged
    ]
    if rows:
        session.execute(insert(EmissionHour), rows)


def last_judged_hour(session: Session) -> int | None:
    """Start of the newest judged hour."""
    return session.scalar(select(func.max(EmissionHour.hour)))


def record_exceedance(session: Session, p: Pollutant, h: HourAverage, hour_text: str, now_ms: int) -> bool:
    """The exceedance event of ``h`` (kind ``emission``, source the pollutant's tag, at the hour's close, the
    hour in its data), once per tag and hour. Returns whether it was written."""
    end = h.start_ms + HOUR_MS
    dup = select(Event.id).where(Event.kind == EXCEEDANCE, Event.source == p.tag, Event.ts_start == end)
    if session.scalar(dup.limit(1)) is not None:
        return False
    data: dict[str, Any] = {
        "stack": p.stack,
        "hour": hour_text,
        "hour_start": h.start_ms,
        "value": round(h.value, 3) if h.value is not None else None,
        "limit": h.limit,
        "flags": h.flags,
        "normal": h.normal,
    }
    session.add(
        Event(
            kind=EXCEEDANCE,
            source=p.tag,
            ts_start=end,
            ts_end=end,
            severity="error",
            zone=p.zone,
            message="",
            data=data,
        )
    )
    logger.info("emissions: %s over its limit in the hour from %s (%s > %s)", p.tag, hour_text, h.value, h.limit)
    return True


def hour_text(start_ms: int, plant: Plant) -> str:
    """An hour as "2026-12-07 10:00" in the plant's time zone."""
    return datetime.fromtimestamp(start_ms / 1000, tz=UTC).astimezone(plant.tz()).strftime("%Y-%m-%d %H:%M")


def judge_hours(session: Session, plant: Plant, tag_ids: dict[str, int], hours: list[int], now_ms: int) -> int:
    """Judge ``hours``, store them and record their exceedances; returns the new exceedance events."""
    n = 0
    for p, h in judge(session, plant, tag_ids, hours, now_ms):
        if h.exceedance and record_exceedance(session, p, h, hour_text(h.start_ms, plant), now_ms):
            n += 1
    return n


def hours_between(session: Session, t0: int, t1: int, tags: Sequence[str] | None = None) -> list[EmissionHour]:
    """Judged hours starting in ``[t0, t1)``, by tag and hour."""
    cond = and_(EmissionHour.hour >= t0, EmissionHour.hour < t1)
    if tags is not None:
        cond = and_(cond, EmissionHour.tag.in_(list(tags)))
    return list(session.scalars(select(EmissionHour).where(cond).order_by(EmissionHour.tag, EmissionHour.hour)))


def as_hour(row: EmissionHour) -> HourAverage:
    """A stored hour back as the engine's record (for daily averages and mass)."""
    return HourAverage(
        start_ms=row.hour,
        value=row.value,
        normal=row.normal,
        maintenance=row.maintenance,
        calibration=row.calibration,
        fault=row.fault,
        missing=row.missing,
        valid=row.valid,
        flags=row.flags,
        limit=row.limit,
        exceedance=row.exceedance,
        flow=row.flow,
        mass_kg=row.mass_kg,
    )
