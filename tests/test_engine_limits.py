from __future__ import annotations

import math

from engine.limits import check_limits, limit_violations
from engine.types import BAD_OUT_OF_RANGE, GOOD
from plant.schema import Limits, Tag

LIM = Limits(ll=10, l=20, h=80, hh=90)


def _tag(tag_id: str, limits: Limits | None = LIM) -> Tag:
    return Tag(id=tag_id, node_id=f"ns=2;s={tag_id}", endpoint="dcs", kind="process", limits=limits)


def test_most_severe_limit_wins() -> None:
    assert check_limits(LIM, 95) == ("hh", 90)
    assert check_limits(LIM, 85) == ("h", 80)
    assert check_limits(LIM, 50) is None
    assert check_limits(LIM, 15) == ("l", 20)
    assert check_limits(LIM, 5) == ("ll", 10)


def test_limits_are_exclusive_and_partial_sets_work() -> None:
    assert check_limits(LIM, 80) is None  # at the limit is not beyond it
    assert check_limits(Limits(h=5), 6) == ("h", 5)
    assert check_limits(Limits(h=5), -1000) is None
    assert check_limits(None, 1e9) is None


def test_non_finite_values_never_violate() -> None:
    assert check_limits(LIM, math.nan) is None
    assert check_limits(LIM, math.inf) is None


def test_violations_skip_bad_quality_and_sort_by_severity() -> None:
    tags = [_tag("A"), _tag("B"), _tag("C"), _tag("D", None), _tag("E")]
    latest = {
        "A": (1, 85.0, GOOD),
        "B": (2, 99.0, GOOD),
        "C": (3, None, BAD_OUT_OF_RANGE),
        "D": (4, 1e6, GOOD),
        "E": (5, 99.0, BAD_OUT_OF_RANGE),
    }
    got = limit_violations(tags, latest)
    assert [(v.tag, v.limit, v.threshold, v.ts) for v in got] == [("B", "hh", 90, 2), ("A", "h", 80, 1)]
