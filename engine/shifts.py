"""Shifts of the plant file in the plant's local time (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from engine.clock import to_local
from plant.schema import Plant, Shift


def _start_minutes(shift: Shift) -> int:
    return shift.start.hour * 60 + shift.start.minute


def current_shift(plant: Plant, now_ms: int) -> tuple[Shift, datetime] | None:
    """The shift running at ``now_ms`` and its start as an aware local datetime (None in a break)."""
    local = to_local(now_ms, plant.tz())
    minute_of_day = local.hour * 60 + local.minute + local.second / 60
    for shift in plant.site.shifts:
        start = _start_minutes(shift)
        since = (minute_of_day - start) % (24 * 60)
        if since < shift.hours * 60:
            day = local - timedelta(minutes=since)
            begin = day.replace(second=0, microsecond=0)
            return shift, begin
    return None


def day_start(plant: Plant, now_ms: int) -> datetime:
    """Local midnight of the plant's current day, as an aware datetime."""
    local = to_local(now_ms, plant.tz())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def shift_windows(plant: Plant, t0: int, t1: int) -> list[tuple[str, str, int, int]]:
    """The shifts overlapping ``[t0, t1)``, each ``(shift id, local date it began on, start ms, end ms)``
    clipped to the range, oldest first. Starts are wall-clock times of the plant's zone; lengths are hours."""
    tz = plant.tz()
    day = to_local(t0, tz).date() - timedelta(days=1)
    out: list[tuple[str, str, int, int]] = []
    while True:
        midnight = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        if int(midnight.timestamp() * 1000) >= t1:
            break
        for shift in plant.site.shifts:
            start = datetime.combine(day, shift.start, tzinfo=tz)
            s = int(start.timestamp() * 1000)
            e = s + int(shift.hours * 3_600_000)
            if e > t0 and s < t1:
                out.append((shift.id, day.isoformat(), max(s, t0), min(e, t1)))
        day += timedelta(days=1)
    out.sort(key=lambda w: w[2])
    return out


def day_windows(plant: Plant, t0: int, t1: int) -> list[tuple[str, int, int]]:
    """The plant's local days overlapping ``[t0, t1)``: ``(date, start ms, end ms)`` clipped to the range."""
    tz = plant.tz()
    day = to_local(t0, tz).date()
    out: list[tuple[str, int, int]] = []
    while True:
        s = int(datetime.combine(day, datetime.min.time(), tzinfo=tz).timestamp() * 1000)
        if s >= t1:
            break
        e = int(datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz).timestamp() * 1000)
        if e > t0:
            out.append((day.isoformat(), max(s, t0), min(e, t1)))
        day += timedelta(days=1)
    return out


def crew_of(plant: Plant, shift_id: str, day: date) -> tuple[str, str | None, str | None]:
    """The crew working shift ``shift_id`` that began on the plant day ``day``: ``(id, name, name_zh)``. From
    the plant file's rota when it has one (its cycle counted from ``rota.start``), else the crew of the
    shift's own id, named as the shift."""
    rota = plant.site.rota
    if rota is None:
        shift = next((s for s in plant.site.shifts if s.id == shift_id), None)
        return shift_id, shift.name if shift else None, shift.name_zh if shift else None
    crew_id = rota.cycle[(day - rota.start).days % len(rota.cycle)][shift_id]
    crew = next(c for c in rota.crews if c.id == crew_id)
    return crew.id, crew.name, crew.name_zh
