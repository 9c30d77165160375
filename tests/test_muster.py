"""Muster counting (engine.muster): the roll, arrivals at the right and the wrong point, the missing with
their last known position, extras, and bad input."""

from __future__ import annotations

import math

import pytest

from engine.muster import (
    Arrival,
    Point,
    Seen,
    arrivals_from_positions,
    merge_arrivals,
    muster_status,
    nearest_point,
    point_at,
)

WEST = Point("west", 0.0, 0.0, 10.0, capacity=50)
EAST = Point("east", 100.0, 0.0, 10.0, capacity=20)
POINTS = [WEST, EAST]
T0 = 1_700_000_000_000


def _roll() -> dict[str, Seen]:
    # a and b work near the west point, c and d near the east one
    return {
        "a": Seen("a", T0 - 1000, 20.0, 5.0),
        "b": Seen("b", T0 - 2000, 30.0, -5.0),
        "c": Seen("c", T0 - 500, 80.0, 3.0),
        "d": Seen("d", T0 - 800, 90.0, 30.0),
    }


def test_nearest_and_inside() -> None:
    assert nearest_point(POINTS, 49.0, 0.0) is WEST
    assert nearest_point(POINTS, 51.0, 0.0) is EAST
    assert nearest_point([], 1.0, 1.0) is None
    assert point_at(POINTS, 3.0, 4.0) is WEST  # 5 m from the centre
    assert point_at(POINTS, 100.0, 10.0) is EAST  # on the circle counts
    assert point_at(POINTS, 50.0, 0.0) is None
    overlapping = [Point("p", 0, 0, 10), Point("q", 6, 0, 10)]
    assert point_at(overlapping, 4.0, 0.0).id == "q"  # nearest centre wins


def test_everyone_at_their_own_point() -> None:
    seen = [
        Seen("a", T0 + 60_000, 1.0, 1.0),
        Seen("b", T0 + 90_000, -2.0, 3.0),
        Seen("c", T0 + 30_000, 99.0, 0.0),
        Seen("d", T0 + 45_000, 101.0, 2.0),
    ]
    status = muster_status(POINTS, T0, _roll(), arrivals_from_positions(POINTS, seen, T0), {})
    assert status.on_roll == 4 and status.arrived == 4 and status.missing == [] and status.complete
    by = {p.point: p for p in status.points}
    assert (by["west"].assigned, by["west"].arrived, by["west"].from_other) == (2, 2, 0)
    assert (by["east"].assigned, by["east"].arrived, by["east"].elsewhere) == (2, 2, 0)
    assert status.at_other == {}


def test_wrong_point_is_arrived_and_noted() -> None:
    # c belongs to the east point but runs to the west one; d has not arrived
    seen = [
        Seen("a", T0 + 60_000, 1.0, 1.0),
        Seen("b", T0 + 90_000, -2.0, 3.0),
        Seen("c", T0 + 30_000, 5.0, 0.0),
        Seen("d", T0 + 10_000, 60.0, 20.0),  # on the way, not inside
    ]
    last = {"d": Seen("d", T0 + 10_000, 60.0, 20.0)}
    status = muster_status(POINTS, T0, _roll(), arrivals_from_positions(POINTS, seen, T0), last)
    assert status.arrived == 3 and status.missing_count == 1
    assert status.at_other == {"c": "west"}
    by = {p.point: p for p in status.points}
    assert by["west"].arrived == 3 and by["west"].from_other == 1 and by["west"].assigned_arrived == 2
    assert by["east"].assigned == 2 and by["east"].arrived == 0 and by["east"].elsewhere == 1
    # counts add up: every arrived person is counted at exactly one point
    assert sum(p.arrived for p in status.points) == status.arrived
    (m,) = status.missing
    assert (m.badge, m.assigned, m.x, m.y, m.ts) == ("d", "east", 60.0, 20.0, T0 + 10_000)


def test_missing_without_later_position_uses_roll_position() -> None:
    status = muster_status(POINTS, T0, _roll(), {}, {})
    assert status.arrived == 0 and [m.badge for m in status.missing] == ["a", "b", "c", "d"]
    assert status.missing[0].x == 20.0 and status.missing[0].ts == T0 - 1000
    assert not status.complete


def test_positions_before_declaration_do_not_count() -> None:
    seen = [Seen("a", T0 - 1, 0.0, 0.0)]  # standing on the point just before the alarm
    assert arrivals_from_positions(POINTS, seen, T0) == {}


def test_arrived_stays_arrived_after_leaving_and_last_point_counts() -> None:
    seen = [
        Seen("c", T0 + 10_000, 1.0, 0.0),  # west first
        Seen("c", T0 + 20_000, 50.0, 0.0),  # walks off
        Seen("c", T0 + 40_000, 100.0, 1.0),  # ends up at east, its own point
    ]
    arrivals = arrivals_from_positions(POINTS, reversed(seen), T0)  # order does not matter
    assert arrivals["c"] == Arrival("c", "east", T0 + 10_000, T0 + 40_000)
    status = muster_status(POINTS, T0, {"c": _roll()["c"]}, arrivals, {})
    assert status.arrived == 1 and status.at_other == {}
    # and one that left the point again is still arrived
    arrivals = arrivals_from_positions(POINTS, seen[:2], T0)
    assert muster_status(POINTS, T0, {"c": _roll()["c"]}, arrivals, {}).arrived == 1


def test_extras_count_at_point_but_not_on_roll() -> None:
    seen = [Seen("late", T0 + 5000, 100.0, 0.0), Seen("a", T0 + 6000, 0.0, 0.0)]
    status = muster_status(POINTS, T0, {"a": _roll()["a"]}, arrivals_from_positions(POINTS, seen, T0), {})
    assert status.on_roll == 1 and status.arrived == 1 and status.extra == ["late"]
    by = {p.point: p for p in status.points}
    assert by["east"].arrived == 1 and by["east"].from_other == 1


def test_merge_arrivals_from_store_rows() -> None:
    rows = [("c", "west", T0 + 10, T0 + 20), ("c", "east", T0 + 30, T0 + 90), ("a", "west", T0 + 5, T0 + 5)]
    merged = merge_arrivals(rows)
    assert merged["c"] == Arrival("c", "east", T0 + 10, T0 + 90)
    assert merged["a"].point == "west"
    assert merge_arrivals(reversed(rows)) == merged


def test_unknown_point_in_arrivals_is_ignored_and_nan_positions_skipped() -> None:
    arrivals = {"a": Arrival("a", "gone", T0, T0)}
    status = muster_status(POINTS, T0, {"a": _roll()["a"]}, arrivals, {})
    assert status.arrived == 0 and status.missing_count == 1
    seen = [Seen("a", T0 + 1, math.nan, 0.0), Seen("b", T0 + 1, 0.0, math.inf)]
    assert arrivals_from_positions(POINTS, seen, T0) == {}


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1"])
def test_bad_point_definition_fails_loudly(bad: object) -> None:
    with pytest.raises(ValueError, match="finite number"):
        Point("p", bad, 0.0, 5.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="radius"):
        Point("p", 0.0, 0.0, 0.0)
