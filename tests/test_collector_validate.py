"""collectors.validate: one OPC UA data change -> a store record or a counted rejection (no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asyncua import ua

from collectors.records import DATA_QUALITY, TagInfo
from collectors.validate import SiteBounds, Validator, to_epoch_ms
from engine.types import BAD_OUT_OF_RANGE, GOOD, UNCERTAIN, PositionIn, SampleIn

T0 = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)
T0_MS = 1_777_622_400_000
NUM = TagInfo("TI101", 7, "process", "ns=2;s=TI101")
SOS = TagInfo("RTLS.B1.SOS", 8, "sos", "ns=2;s=RTLS.B1.SOS", badge="B1")
POS = TagInfo("RTLS.B1.POS", 9, "position", "ns=2;s=RTLS.B1.POS", badge="B1")
GHOST = TagInfo("RTLS.GHOST.POS", 0, "position", "ns=2;s=RTLS.GHOST.POS", badge="GHOST", known=False)
RECV = T0_MS + 5_000


def dv(value: object, ts: datetime | None = T0, *, status: int = 0, server_ts: datetime | None = None) -> ua.DataValue:
    if isinstance(value, ua.Variant):
        variant = value
    elif isinstance(value, float):
        variant = ua.Variant(value, ua.VariantType.Double)
    else:
        variant = ua.Variant(value)
    return ua.DataValue(variant, StatusCode=ua.StatusCode(status), SourceTimestamp=ts, ServerTimestamp=server_ts)


def make() -> Validator:
    return Validator("dcs", site=SiteBounds(500, 300, max_floor=3))


def test_epoch_ms() -> None:
    assert to_epoch_ms(T0) == T0_MS
    assert to_epoch_ms(T0.replace(tzinfo=None)) == T0_MS  # naive = UTC
    assert to_epoch_ms(T0 + timedelta(microseconds=1999)) == T0_MS + 1
    assert to_epoch_ms(None) is None
    assert to_epoch_ms(datetime(1601, 1, 1, tzinfo=UTC)) is None  # OPC UA "no time"


def test_good_numeric_and_bool() -> None:
    v = make()
    assert v.check(NUM, dv(12.5), RECV) == SampleIn(7, T0_MS, 12.5, GOOD)
    assert v.check(NUM, dv(ua.Variant(3, ua.VariantType.Int32), T0 + timedelta(seconds=1)), RECV) == SampleIn(
        7, T0_MS + 1000, 3.0, GOOD
    )
    assert v.check(SOS, dv(True), RECV) == SampleIn(8, T0_MS, 1.0, GOOD)
    assert v.check(SOS, dv(False, T0 + timedelta(seconds=1)), RECV) == SampleIn(8, T0_MS + 1000, 0.0, GOOD)
    assert v.counters.received == 4 and v.counters.accepted == 4 and v.counters.rejected == 0


def test_uncertain_keeps_value_and_quality() -> None:
    v = make()
    assert v.check(NUM, dv(1.0, status=UNCERTAIN), RECV) == SampleIn(7, T0_MS, 1.0, UNCERTAIN)
    assert v.counters.bad_quality == 0


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_stored_as_bad_out_of_range(value: float) -> None:
    v = make()
    assert v.check(NUM, dv(value), RECV) == SampleIn(7, T0_MS, None, BAD_OUT_OF_RANGE)
    assert v.counters.bad_quality == 1 and v.counters.rejected == 0


def test_bad_status_value_none_quality_kept() -> None:
    v = make()
    bad = ua.StatusCodes.BadSensorFailure
    assert v.check(NUM, dv(ua.Variant(None), status=bad), RECV) == SampleIn(7, T0_MS, None, bad)
    assert v.counters.bad_quality == 1


@pytest.mark.parametrize("value", ["12.5", b"\x01", [1.0, 2.0], ua.Variant(None)])
def test_non_numeric_rejected_with_rate_limited_event(value: object) -> None:
    v = make()
    assert v.check(NUM, dv(value), RECV) is None
    for i in range(1, 5):  # the same problem again within the rate-limit window
        assert v.check(NUM, dv(value, T0 + timedelta(seconds=i)), RECV + i * 1000) is None
    assert v.counters.rejected == 5
    events = v.take_events()
    assert len(events) == 1
    ev = events[0]
    assert ev.kind == DATA_QUALITY and ev.source == "dcs" and ev.tag_id == 7 and ev.ts_start == T0_MS
    assert ev.data is not None and ev.data["reason"] == "type_mismatch"
    # after the window a new event reports how many were folded into the silence
    assert v.check(NUM, dv(value, T0 + timedelta(seconds=70)), RECV + 70_000) is None
    (again,) = v.take_events()
    assert again.data is not None and again.data["suppressed_before"] == 4
    assert v.counters.events == 2 and v.counters.events_suppressed == 4


def test_duplicates_and_late() -> None:
    v = make()
    t1 = T0 + timedelta(seconds=1)
    assert v.check(NUM, dv(1.0, t1), RECV) is not None
    assert v.check(NUM, dv(2.0, t1), RECV) is None  # same tag, same ts: duplicate
    assert v.counters.duplicates == 1
    late = v.check(NUM, dv(3.0, T0), RECV)  # older than the newest: kept, counted late
    assert late == SampleIn(7, T0_MS, 3.0, GOOD)
    assert v.counters.late == 1
    assert v.last_ts("TI101") == T0_MS + 1000  # late samples do not move the newest time back
    assert v.check(NUM, dv(4.0, T0 + timedelta(seconds=2)), RECV) is not None
    assert v.counters.late == 1 and v.counters.duplicates == 1


def test_timestamp_fallbacks_are_counted() -> None:
    v = make()
    server = T0 + timedelta(seconds=3)
    assert v.check(NUM, dv(1.0, None, server_ts=server), RECV) == SampleIn(7, T0_MS + 3000, 1.0, GOOD)
    assert v.check(NUM, dv(2.0, None), RECV + 1) == SampleIn(7, RECV + 1, 2.0, GOOD)
    assert v.counters.ts_from_server == 1 and v.counters.ts_from_receive == 1


def test_positions() -> None:
    v = make()
    assert v.check(POS, dv([10.0, 20.0, 1.0]), RECV) == PositionIn("B1", T0_MS, 10.0, 20.0, 1, GOOD)
    assert v.check(POS, dv([11.0, 21.0], T0 + timedelta(seconds=1)), RECV) == PositionIn(
        "B1", T0_MS + 1000, 11.0, 21.0, 0, GOOD
    )
    assert v.last_position("B1") == PositionIn("B1", T0_MS + 1000, 11.0, 21.0, 0, GOOD)
    assert v.counters.accepted == 2


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([600.0, 20.0, 0.0], "out_of_site"),
        ([-5.0, 20.0, 0.0], "out_of_site"),
        ([10.0, 20.0, 9.0], "out_of_site"),  # no such floor
        ([10.0, 20.0, 0.5], "out_of_site"),
        ([math.nan, 20.0, 0.0], "non_finite_position"),
        ([10.0, math.inf, 0.0], "non_finite_position"),
        ("10,20", "type_mismatch"),
        ([10.0], "type_mismatch"),
    ],
)
def test_bad_positions_become_events(value: object, reason: str) -> None:
    v = make()
    assert v.check(POS, dv(value), RECV) is None
    assert v.counters.rejected == 1
    (ev,) = v.take_events()
    assert ev.kind == DATA_QUALITY and ev.badge == "B1" and ev.data is not None and ev.data["reason"] == reason


def test_unknown_badge_is_an_event_not_a_position() -> None:
    v = make()
    assert v.check(GHOST, dv([10.0, 20.0, 0.0]), RECV) is None
    (ev,) = v.take_events()
    assert ev.badge == "GHOST" and ev.tag_id is None and ev.data is not None
    assert ev.data["reason"] == "unknown_badge" and ev.data["value"] == [10.0, 20.0, 0.0]
    assert v.counters.rejected == 1


def test_site_margin() -> None:
    v = Validator("rtls", site=SiteBounds(500, 300, max_floor=0, margin_m=2.0))
    assert v.check(POS, dv([501.0, 299.0, 0.0]), RECV) is not None
    assert v.check(POS, dv([503.0, 10.0, 0.0], T0 + timedelta(seconds=1)), RECV) is None


# -- impossible jumps ---------------------------------------------------------------------------------

TRUCK = TagInfo("RTLS.V1.POS", 10, "position", "ns=2;s=RTLS.V1.POS", badge="V1")


def make_rtls() -> Validator:
    return Validator("rtls", site=SiteBounds(500, 300, max_floor=3, max_speed_mps={"B1": 7.0, "V1": 20.0}))


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_person_walking_and_running_is_accepted() -> None:
    v = make_rtls()
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None
    assert v.check(POS, dv([11.5, 20.0, 0.0], at(1)), RECV) is not None  # walking
    assert v.check(POS, dv([17.5, 20.0, 0.0], at(2)), RECV) is not None  # 6 m/s sprint
    assert v.check(POS, dv([20.0, 20.0, 0.0], at(2.2)), RECV) is not None  # 12 m/s but within RTLS noise
    assert v.counters.rejected == 0 and not v.take_events()


def test_impossible_jump_is_an_event_not_a_position() -> None:
    v = make_rtls()
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(-1)), RECV) is not None
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None  # a confirmed track
    assert v.check(POS, dv([60.0, 20.0, 0.0], at(1)), RECV) is None  # 50 m in 1 s: no person does that
    (ev,) = v.take_events()
    assert ev.kind == DATA_QUALITY and ev.badge == "B1" and ev.ts_start == T0_MS + 1000
    assert ev.data is not None and ev.data["reason"] == "impossible_jump"
    assert ev.data["from"] == [10.0, 20.0] and ev.data["to"] == [60.0, 20.0]
    assert ev.data["distance_m"] == 50.0 and ev.data["dt_s"] == 1.0 and ev.data["limit_mps"] == 7.0
    assert v.counters.rejected == 1
    assert v.last_position("B1") == PositionIn("B1", T0_MS, 10.0, 20.0, 0, GOOD)  # the track is not moved
    # the badge goes on from where it really was: the spike was an outlier
    assert v.check(POS, dv([11.0, 20.0, 0.0], at(2)), RECV) == PositionIn("B1", T0_MS + 2000, 11.0, 20.0, 0, GOOD)


def test_jump_then_consistent_fixes_reanchor() -> None:
    v = make_rtls()
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(-1)), RECV) is not None
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None  # a confirmed track
    assert v.check(POS, dv([200.0, 20.0, 0.0], at(1)), RECV) is None
    # the next fix agrees with the rejected one, not with the old track: the badge really is over there
    assert v.check(POS, dv([201.0, 20.0, 0.0], at(2)), RECV) == PositionIn("B1", T0_MS + 2000, 201.0, 20.0, 0, GOOD)
    assert v.check(POS, dv([202.0, 20.0, 0.0], at(3)), RECV) is not None
    assert v.counters.rejected == 1
    (ev,) = v.take_events()
    assert ev.data is not None and ev.data["reason"] == "impossible_jump"


def test_jumps_keep_being_rejected_while_they_disagree() -> None:
    v = make_rtls()
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(-1)), RECV) is not None
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None  # a confirmed track
    for i, x in enumerate([200.0, 400.0, 100.0, 300.0], start=1):  # wild fixes, each far from the last
        assert v.check(POS, dv([x, 20.0, 0.0], at(i)), RECV + i * 1000) is None
    assert v.counters.rejected == 4
    (ev,) = v.take_events()  # rate limited: one event, the rest counted
    assert v.counters.events_suppressed == 3 and ev.data is not None and ev.data["reason"] == "impossible_jump"


def test_vehicle_bound_and_long_gaps() -> None:
    v = make_rtls()
    assert v.check(TRUCK, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None
    assert v.check(TRUCK, dv([28.0, 20.0, 0.0], at(1)), RECV) is not None  # 18 m/s: a fast truck
    assert v.check(TRUCK, dv([78.0, 20.0, 0.0], at(2)), RECV) is None  # 50 m/s: no
    # after a minute out of coverage a person may be 300 m away
    assert v.check(POS, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None
    assert v.check(POS, dv([310.0, 20.0, 0.0], at(60)), RECV) is not None
    assert v.counters.rejected == 1


def test_a_lone_first_fix_does_not_anchor_the_jump_check() -> None:
    """A gateway's initial or placeholder value must not get the badge's real first position rejected."""
    v = make_rtls()
    assert v.check(POS, dv([0.0, 0.0, 0.0], at(0)), RECV) is not None
    assert v.check(POS, dv([120.0, 40.0, 0.0], at(0.5)), RECV) is not None  # unconfirmed anchor: start again
    assert v.check(POS, dv([121.0, 40.0, 0.0], at(1.5)), RECV) is not None  # now confirmed
    assert v.check(POS, dv([300.0, 40.0, 0.0], at(2.5)), RECV) is None  # and jumps are caught again
    assert v.counters.rejected == 1


def test_unlisted_badges_get_the_vehicle_bound() -> None:
    v = Validator("rtls", site=SiteBounds(500, 300))
    other = TagInfo("RTLS.B9.POS", 11, "position", "ns=2;s=RTLS.B9.POS", badge="B9")
    assert v.check(other, dv([10.0, 20.0, 0.0], at(0)), RECV) is not None
    assert v.check(other, dv([28.0, 20.0, 0.0], at(1)), RECV) is not None
    assert v.check(other, dv([80.0, 20.0, 0.0], at(2)), RECV) is None


def test_badge_speed_limits_from_the_plant() -> None:
    from collectors.service import site_bounds
    from collectors.validate import PERSON_MAX_MPS, VEHICLE_MAX_MPS, badge_speed_limits
    from plant.loader import load_plant

    plant = load_plant(Path(__file__).parent / "fixtures" / "mini_plant.yaml")
    limits = badge_speed_limits(plant)
    assert limits["P001"] == PERSON_MAX_MPS and limits["V01"] == VEHICLE_MAX_MPS
    assert set(limits) == {b.id for b in plant.badges}
    assert site_bounds(plant).speed_limit("P001") == PERSON_MAX_MPS
