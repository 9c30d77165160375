"""Limit checks of the latest values against a tag's LL/L/H/HH limits (pure, no I/O).

This is the instantaneous view the overview shows; the alarm engine adds deadband, delays and states.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.types import is_good
from plant.schema import Limits, Tag

SEVERITY = {"hh": 0, "ll": 0, "h": 1, "l": 1}


@dataclass(frozen=True, slots=True)
class LimitViolation:
    tag: str
    value: float
    limit: str  # "hh", "h", "l" or "ll"
    threshold: float
    ts: int


def check_limits(limits: Limits | None, value: float) -> tuple[str, float] | None:
    """The most severe limit ``value`` is beyond, as (name, threshold), or None."""
    if limits is None or not math.isfinite(value):
        return None
    for name in ("hh", "ll", "h", "l"):
        threshold = getattr(limits, name)
        if threshold is None:
            continue
        if (name in ("hh", "h") and value > threshold) or (name in ("ll", "l") and value < threshold):
            return name, threshold
    return None


def limit_violations(tags: Iterable[Tag], latest: Mapping[str, tuple[int, float | None, int]]) -> list[LimitViolation]:
    """Violations of the good-quality latest values, most severe first, then by tag."""
    out: list[LimitViolation] = []
    for tag in tags:
        current = latest.get(tag.id)
        if tag.limits is None or current is None:
            continue
        ts, value, quality = current
        if value is None or not is_good(quality):
            continue
        hit = check_limits(tag.limits, value)
        if hit is not None:
            out.append(LimitViolation(tag.id, value, hit[0], hit[1], ts))
    out.sort(key=lambda v: (SEVERITY[v.limit], v.tag))
    return out
