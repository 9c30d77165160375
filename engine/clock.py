"""The one clock: UTC milliseconds since the epoch, as every timestamp in the store is kept, and the one way
to show such a time in the plant's local time zone (house rule 7).

Code that needs "now" calls :func:`now_ms` (or takes ``now_ms`` as an argument, which is better: pure logic
in ``engine/`` is given its time); the web tier's own clock (``webapp.context.now_ms``) falls back to it.
A time shown to someone is :func:`format_local` in the plant's zone (``plant.tz()``, or a reader's own zone);
code that needs the local calendar (the day, the hour, the weekday) takes :func:`to_local`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, tzinfo

# How times are written (``strftime``), by what they show:
TIME = "%H:%M:%S"  # 14:03:22
HOUR_MINUTE = "%H:%M"  # 14:03
DAY_TIME = "%m-%d %H:%M:%S"  # 11-20 14:03:22
DAY_MINUTE = "%m-%d %H:%M"  # 11-20 14:03
DATE_TIME = "%Y-%m-%d %H:%M:%S"  # 2026-11-20 14:03:22
DATE_MINUTE = "%Y-%m-%d %H:%M"  # 2026-11-20 14:03


def now_ms() -> int:
    """Now, in UTC milliseconds since the epoch."""
    return int(time.time() * 1000)


def to_local(ms: float, tz: tzinfo) -> datetime:
    """``ms`` (UTC milliseconds since the epoch) as an aware datetime in ``tz``."""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)


def format_local(ms: float | None, tz: tzinfo, fmt: str = TIME, *, now_ms: float | None = None) -> str:
    """``ms`` in ``tz`` written with ``fmt`` (:data:`TIME`, :data:`DATE_TIME`, ...); "-" for no time. With
    ``now_ms``, a time on another local day than ``now_ms`` is written :data:`DAY_MINUTE` instead."""
    if ms is None:
        return "-"
    at = to_local(ms, tz)
    if now_ms is not None and at.date() != to_local(now_ms, tz).date():
        return at.strftime(DAY_MINUTE)
    return at.strftime(fmt)
