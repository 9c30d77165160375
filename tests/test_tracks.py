"""engine.tracks without a database: which positions place a badge, bucket sizes, a track's stretches, the
replay's trips and their simplification, presence per grid cell (``tests/test_people.py`` runs them through
``store.people`` on SQLite and PostgreSQL)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.tracks import (
    ON_SITE_MAX_AGE_MS,
    Track,
    grid_of,
    located,
    path_length,
    presence,
    replay,
    segments,
    simplify,
    step_for,
    trips_of,
    zones_visited,
)
from engine.types import BAD_NO_COMMUNICATION, GOOD, UNCERTAIN

S = 1000
SQUARE = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]


def track(rows: list[tuple[int, float, float, bool]]) -> Track:
    tr = Track("P1")
    for ts, x, y, good in rows:
        tr.add(ts, x, y, 0, good)
    return tr


def test_located_and_step() -> None:
    assert located(GOOD, 1, 2) and located(BAD_NO_COMMUNICATION, 1, 2)  # the outage marker keeps the badge
    assert not located(UNCERTAIN, 1, 2) and not located(GOOD, math.nan, 2)
    assert step_for(3_600 * S, 720) == 5 * S and step_for(10 * S, 1000) == S  # whole seconds, at least one


def test_stretches_distance_and_zones() -> None:
    tr = track([(0, 1, 1, True), (S, 4, 5, True), (2 * S, 50, 50, False), (3 * S, 20, 5, True), (4 * S, 20, 8, True)])
    parts = segments(tr)
    assert [[p[0] for p in seg] for seg in parts] == [[0, S], [3 * S, 4 * S]]  # split where it left
    assert path_length(parts) == pytest.approx(5 + 3)  # not across the gap
    assert zones_visited(parts, [("a", SQUARE), ("b", [(15, 0), (25, 0), (25, 10), (15, 10)])]) == ["a", "b"]


def test_trips_hold_still_and_simplify() -> None:
    tr = track([(0, 0, 0, True), (10 * S, 10, 0, True), (100 * S, 20, 0, True), (110 * S, 0, 0, False)])
    (trip,) = trips_of(tr, 5 * S, 0, 200 * S, None)
    ts, xs, _ys = trip
    assert ts == [0, 10 * S, 95 * S, 100 * S] and xs == [0, 10, 10, 20]  # stood still until shortly before
    (inside,) = trips_of(tr, 5 * S, 0, 200 * S, [(-1, -1), (11, -1), (11, 1), (-1, 1)])  # leaves at x 11
    assert inside[0] == [0, 10 * S]
    t = np.arange(0.0, 11.0)
    assert list(simplify(t, t * 2, np.zeros(11), 0.5)) == [0, 10]  # a straight line at constant speed
    (short,) = replay(track([(0, 5, 5, True)]), 5 * S, 0, 60 * S, None, 0.5)
    assert list(short.t) == [0, 60] and list(short.x) == [5, 5]  # still there at the end of the window


def test_presence_grid() -> None:
    assert grid_of(400, 300, 10) == (10.0, 40, 30) and grid_of(400, 300) == (2.0, 200, 150)
    with pytest.raises(ValueError, match="positive"):
        grid_of(400, 300, 0)
    tr = track([(0, 5, 5, True), (60 * S, 15, 5, True), (90 * S, 15, 5, False)])
    grid = presence([tr], 0, 120 * S, 10, 2, 1)
    assert grid.tolist() == [[60.0, 30.0]]  # each good position holds until the next one
    assert presence([tr], 0, 120 * S, 10, 2, 1, SQUARE).tolist() == [[60.0, 0.0]]
    held = presence([track([(0, 5, 5, True)])], 0, ON_SITE_MAX_AGE_MS + 3_600 * S, 10, 1, 1)
    assert held.tolist() == [[ON_SITE_MAX_AGE_MS / S]]  # at most the on-site age
