"""Exposure (engine.exposure): time per person, zone and shift from positions reported by exception,
shift windows in the plant's time zone, and the CSV writer (BOM, header, formula escaping)."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest

from engine.exposure import (
    ExposureRow,
    Track,
    Window,
    ZoneArea,
    exposure,
    shift_windows,
    zone_areas,
)
from engine.tables import to_csv
from plant import load_plant
from tests.fakeclock import plant_ms
from tests.webutil import MINI_PLANT

S = 1000
RED = ZoneArea("furnace", [(0, 0), (10, 0), (10, 10), (0, 10)], "red")
ORANGE = ZoneArea("acid", [(20, 0), (30, 0), (30, 10), (20, 10)], "orange")
ZONES = [RED, ORANGE]
T0 = 1_700_000_000_000


def track(badge: str, rows: list[tuple[int, float, float, bool]]) -> Track:
    return Track.from_rows(badge, [(T0 + t * S, x, y, g) for t, x, y, g in rows])


def by_zone(rows: list[ExposureRow]) -> dict[tuple[str, str, str], ExposureRow]:
    return {(r.badge, r.shift, r.zone): r for r in rows}


def test_time_held_until_next_position() -> None:
    # in the furnace zone from 0 s, still (no reports) until 100 s, into acid at 100 s, out at 160 s
    tr = track("p1", [(0, 5, 5, True), (100, 25, 5, True), (130, 26, 6, True), (160, 50, 50, True)])
    rows = by_zone(exposure([tr], ZONES, [Window("A", T0, T0 + 3600 * S)]))
    assert rows[("p1", "A", "furnace")].seconds == 100
    assert rows[("p1", "A", "acid")].seconds == 60
    assert rows[("p1", "A", "acid")].entries == 1
    assert rows[("p1", "A", "furnace")].first_ms == T0 and rows[("p1", "A", "furnace")].last_ms == T0 + 100 * S
    assert len(rows) == 2  # nothing for the place outside every zone


def test_clipped_to_shift_windows_and_entries() -> None:
    # enters the furnace zone twice, the second stay crosses the shift change at 300 s
    tr = track("p1", [(0, 5, 5, True), (50, 40, 40, True), (200, 5, 5, True), (400, 40, 40, True)])
    windows = [Window("A", T0, T0 + 300 * S), Window("B", T0 + 300 * S, T0 + 600 * S)]
    rows = by_zone(exposure([tr], ZONES, windows))
    a, b = rows[("p1", "A", "furnace")], rows[("p1", "B", "furnace")]
    assert a.seconds == 50 + 100 and a.entries == 2
    assert b.seconds == 100 and b.entries == 1  # already inside when shift B began: one entry
    assert b.first_ms == T0 + 300 * S


def test_off_site_position_holds_nothing() -> None:
    # a not-good position (left at the gate) ends the stay; the badge returns at 500 s
    tr = track("p1", [(0, 5, 5, True), (60, 5, 5, False), (500, 6, 6, True), (520, 50, 50, True)])
    rows = by_zone(exposure([tr], ZONES, [Window("A", T0, T0 + 3600 * S)]))
    assert rows[("p1", "A", "furnace")].seconds == 60 + 20
    assert rows[("p1", "A", "furnace")].entries == 2


def test_hold_is_capped_by_max_hold_and_now() -> None:
    tr = track("p1", [(0, 5, 5, True)])
    w = [Window("A", T0, T0 + 3600 * S)]
    assert exposure([tr], ZONES, w)[0].seconds == 3600  # holds to the window's end
    assert exposure([tr], ZONES, w, max_hold_ms=600 * S)[0].seconds == 600
    assert exposure([tr], ZONES, w, now_ms=T0 + 90 * S)[0].seconds == 90


def test_position_before_window_gives_state_at_start() -> None:
    tr = track("p1", [(-1000, 25, 5, True), (120, 50, 50, True)])
    rows = exposure([tr], ZONES, [Window("A", T0, T0 + 3600 * S)])
    assert [(r.zone, r.seconds, r.entries) for r in rows] == [("acid", 120, 1)]


def test_nan_positions_and_unsorted_input() -> None:
    tr = Track(
        "p1",
        np.array([T0 + 100 * S, T0, T0 + 50 * S], dtype=np.int64),
        np.array([50.0, 5.0, math.nan]),
        np.array([50.0, 5.0, 5.0]),
        np.array([True, True, True]),
    )
    tr.good &= np.isfinite(tr.x) & np.isfinite(tr.y)
    rows = exposure([tr], ZONES, [Window("A", T0, T0 + 3600 * S)])
    assert [(r.zone, r.seconds) for r in rows] == [("furnace", 50)]  # the NaN position holds nothing


def test_bad_windows_fail_loudly() -> None:
    with pytest.raises(ValueError, match="ends before"):
        exposure([], ZONES, [Window("A", T0, T0)])
    with pytest.raises(ValueError, match="max_hold"):
        exposure([], ZONES, [Window("A", T0, T0 + 1)], max_hold_ms=0)
    assert exposure([track("p", [])], ZONES, [Window("A", T0, T0 + S)]) == []


def test_shift_windows_in_plant_time_zone() -> None:
    plant = load_plant(MINI_PLANT)  # A 08:00, B 16:00, C 00:00, 8 h each, in the plant's zone
    windows = shift_windows(plant, date(2024, 3, 5))
    assert [w.shift for w in windows] == ["C", "A", "B"]
    c = windows[0]
    assert c.start_ms == plant_ms(plant, 2024, 3, 5, 0, 0)  # Asia/Shanghai: 2024-03-04 16:00 UTC
    if plant.site.timezone == "Asia/Shanghai":
        assert datetime.fromtimestamp(c.start_ms / 1000, UTC) == datetime(2024, 3, 4, 16, 0, tzinfo=UTC)
    assert all(w.end_ms - w.start_ms == 8 * 3600 * S for w in windows)
    assert {z.id for z in zone_areas(plant, ["red"])} <= {z.id for z in zone_areas(plant, None)}
    assert all(z.level == "red" for z in zone_areas(plant, ["red"]))


def test_csv_bom_header_chinese_and_formula_escaping() -> None:
    data = to_csv(
        ["badge", "name", "seconds"],
        [
            ["P1", "张伟", 12.5],
            ["P2", '=HYPERLINK("http://x")', 3],
            ["P3", "+1", 0],
            ["P4", "-cmd", -2],
            ["P5", "@SUM(A1)", None],
            ["P6", 'a,b "quoted"\nline', True],
        ],
    )
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["badge", "name", "seconds"]
    assert rows[1] == ["P1", "张伟", "12.5"]
    assert rows[2][1] == '\'=HYPERLINK("http://x")'
    assert rows[3][1] == "'+1" and rows[4][1] == "'-cmd" and rows[5][1] == "'@SUM(A1)"
    assert rows[4][2] == "-2"  # numbers are numbers, never escaped
    assert rows[5][2] == ""
    assert rows[6][1] == 'a,b "quoted"\nline' and rows[6][2] == "1"
    assert text.count("\r\n") >= 7
