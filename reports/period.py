"""Report periods in the plant's local time: a shift of a day, a day, a month.

Keys: ``2026-12-06/B`` (shift B that began on 6 December), ``2026-12-06`` (the day), ``2026-11`` (the month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from engine.clock import to_local
from engine.shifts import shift_windows
from plant.schema import Plant


class Kind(StrEnum):
    SHIFT = "shift"
    DAY = "day"
    MONTH = "month"


class PeriodError(ValueError):
    """A period that does not exist or is not over yet."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    key: str
    t0: int
    t1: int
    day: date  # the shift's or the day's local date, the month's first day
    shift: str | None = None


def _ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def _midnight(plant: Plant, d: date) -> int:
    return _ms(datetime.combine(d, datetime.min.time(), tzinfo=plant.tz()))


def shift_period(plant: Plant, day: date, shift_id: str) -> Period:
    shift = next((s for s in plant.site.shifts if s.id == shift_id), None)
    if shift is None:
        raise PeriodError(f"unknown shift {shift_id!r} (the plant file has {[s.id for s in plant.site.shifts]})")
    start = _ms(datetime.combine(day, shift.start, tzinfo=plant.tz()))
    return Period(
        Kind.SHIFT, f"{day.isoformat()}/{shift.id}", start, start + int(shift.hours * 3_600_000), day, shift.id
    )


def day_period(plant: Plant, day: date) -> Period:
    return Period(Kind.DAY, day.isoformat(), _midnight(plant, day), _midnight(plant, day + timedelta(days=1)), day)


def month_period(plant: Plant, year: int, month: int) -> Period:
    first = date(year, month, 1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return Period(Kind.MONTH, first.strftime("%Y-%m"), _midnight(plant, first), _midnight(plant, nxt), first)


def parse(plant: Plant, kind: str, key: str) -> Period:
    """The period of ``kind`` named ``key``; :class:`PeriodError` naming what is wrong."""
    try:
        k = Kind(kind)
    except ValueError:
        raise PeriodError(f"unknown report kind {kind!r} (shift, day or month)") from None
    text = str(key).strip()
    try:
        if k == Kind.SHIFT:
            day_text, _, sid = text.partition("/")
            if not sid:
                raise PeriodError(f"a shift is named day/shift, e.g. 2026-12-06/B, not {text!r}")
            return shift_period(plant, date.fromisoformat(day_text), sid)
        if k == Kind.DAY:
            return day_period(plant, date.fromisoformat(text))
        y, _, m = text.partition("-")
        return month_period(plant, int(y), int(m))
    except PeriodError:
        raise
    except ValueError:
        raise PeriodError(f"not a {k.value} period: {text!r}") from None


def containing(plant: Plant, kind: Kind, at_ms: int) -> Period:
    """The period of ``kind`` that holds ``at_ms`` (for a shift: the last one begun at or before it)."""
    local = to_local(at_ms, plant.tz())
    if kind == Kind.DAY:
        return day_period(plant, local.date())
    if kind == Kind.MONTH:
        return month_period(plant, local.year, local.month)
    wins = shift_windows(plant, at_ms - 2 * 86_400_000, at_ms + 1)
    begun = [w for w in wins if w[2] <= at_ms]
    if not begun:
        raise PeriodError("the plant file has no shifts")
    sid, day, _, _ = begun[-1]
    p = shift_period(plant, date.fromisoformat(day), sid)
    if p.t0 > at_ms:  # a clipped window: the shift began before the range asked for
        raise PeriodError("no shift holds this time")
    return p


def following(plant: Plant, p: Period) -> Period:
    """The period after ``p``."""
    return containing(plant, p.kind, p.t1)


def last_complete(plant: Plant, kind: Kind, now_ms: int) -> Period:
    """The newest period of ``kind`` that is over at ``now_ms``."""
    return containing(plant, kind, containing(plant, kind, now_ms).t0 - 1)


def check_past(p: Period, now_ms: int) -> None:
    if p.t1 > now_ms:
        raise PeriodError(f"the {p.kind.value} {p.key} is not over yet")
