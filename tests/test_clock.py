"""engine.clock's local time: the one conversion of UTC epoch ms to the plant's zone and its formats, the
same text the pages, messages and files wrote before it (around midnight and both daylight-saving changes)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from engine.clock import DATE_TIME, DAY_MINUTE, TIME, format_local, to_local

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENTS = [
    1_767_221_999_000,  # 2025-12-31 22:59:59 UTC: midnight in Berlin is a second away
    1_774_745_999_000,  # just before the spring change in Berlin
    1_774_746_000_000,  # the spring change
    1_792_889_999_000,  # just before the autumn change
    1_792_890_000_000,  # the autumn change
    1_750_000_000_123,
]


def test_to_local_is_the_aware_time_in_the_zone() -> None:
    for ms in MOMENTS:
        for tz in (BERLIN, SHANGHAI):
            local = to_local(ms, tz)
            assert local.timestamp() == ms / 1000  # the same instant (compared as one: 02:30 in autumn is twice)
            assert local.utcoffset() == datetime.fromtimestamp(ms / 1000, tz).utcoffset()
            assert local.tzinfo is tz


def test_format_local_formats_and_other_day() -> None:
    assert format_local(None, BERLIN) == "-"
    assert format_local(1_767_221_999_000, BERLIN) == "23:59:59"
    assert format_local(1_767_221_999_000, BERLIN, DATE_TIME) == "2025-12-31 23:59:59"
    assert format_local(1_767_221_999_000, SHANGHAI, DATE_TIME) == "2026-01-01 06:59:59"
    # with now: the same local day keeps the format, another day is written month-day hour:minute
    assert format_local(1_767_221_999_000, BERLIN, now_ms=1_767_221_999_000 - 3_600_000) == "23:59:59"
    assert format_local(1_767_221_999_000, BERLIN, now_ms=1_767_222_000_000) == "12-31 23:59"
    for ms in MOMENTS:
        local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(BERLIN)
        assert format_local(ms, BERLIN) == local.strftime(TIME)
        assert format_local(ms, BERLIN, now_ms=ms + 2 * 86_400_000) == local.strftime(DAY_MINUTE)
