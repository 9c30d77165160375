"""The safety early-warning index (H1): parts, weights, the plant's value, contributors and colour hysteresis."""

from __future__ import annotations

import pytest

from engine.safety_index import (
    DEFAULT_WEIGHTS,
    PARTS,
    ZoneInputs,
    check_weights,
    colour,
    plant_index,
    zone_index,
)


def test_a_quiet_blue_zone_is_zero_and_has_no_contributor() -> None:
    z = zone_index("z", ZoneInputs())
    assert z.value == 0.0 and z.contributors == () and set(z.parts) == set(PARTS)


def test_parts_weights_and_the_five_largest_contributors() -> None:
    inputs = ZoneInputs(level="red", alarms=["urgent", "low"], violations=1, dangers_open=2, dangers_overdue=1,
                        dangers_major=1, permits_high=1, permits_other=1, staffing_off=True, gas_h=1)  # fmt: skip
    z = zone_index("z", inputs)
    assert z.parts == {"static": 100.0, "alarms": 100.0, "violations": 35.0, "hidden_dangers": 90.0,
                       "permits": 60.0, "staffing": 100.0, "environment": 60.0}  # fmt: skip
    # 0.2x100 + 0.2x100 + 0.15x35 + 0.15x90 + 0.1x60 + 0.05x100 + 0.15x60 = 78.75
    assert z.value == pytest.approx(78.8, abs=0.05)
    assert [c.part for c in z.contributors] == ["static", "alarms", "hidden_dangers", "environment", "permits"]
    assert len(z.contributors) == 5 and z.contributors[0].detail == {"level": "red"}


def test_each_part_is_capped_at_100_and_the_index_too() -> None:
    z = zone_index("z", ZoneInputs(level="red", alarms=["urgent"] * 9, violations=9, dangers_major=9,
                                   permits_high=9, staffing_off=True, gas_hh=9))  # fmt: skip
    assert all(v <= 100 for v in z.parts.values()) and z.value == 100.0


def test_the_plant_is_its_worst_zone() -> None:
    zs = {k: zone_index(k, ZoneInputs(level=lv)) for k, lv in (("a", "blue"), ("b", "orange"), ("c", "yellow"))}
    value, zone = plant_index(zs)
    assert zone == "b" and value == zs["b"].value
    assert plant_index({}) == (0.0, None)


def test_weights_are_checked() -> None:
    assert check_weights(DEFAULT_WEIGHTS) == DEFAULT_WEIGHTS
    with pytest.raises(ValueError, match="sum to 1"):
        check_weights({**DEFAULT_WEIGHTS, "static": 0.5})
    with pytest.raises(ValueError, match="unknown"):
        check_weights({"<script>": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        check_weights({**DEFAULT_WEIGHTS, "static": -0.2, "alarms": 0.6})


def test_colours_go_up_at_once_and_down_with_hysteresis() -> None:
    assert [colour(v) for v in (0, 24.9, 25, 50, 74.9, 75, 100)] == [
        "blue", "blue", "yellow", "orange", "orange", "red", "red"
    ]  # fmt: skip
    assert colour(72, "red") == "red"  # within 5 points below 75: stays red
    assert colour(69.9, "red") == "orange"
    assert colour(21, "orange") == "yellow"  # far below 50: down, but held at yellow within 5 of 25
    assert colour(19, "orange") == "blue"
    assert colour(80, "blue") == "red"
