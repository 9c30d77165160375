"""Shifts of the plant file in the plant's local time (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

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
