"""The safety early-warning index (H1, 安全预警指数): 0-100 per zone and for the plant, 0 calm, 100 the most
dangerous, from seven parts. No national formula exists; this is ours, with its weights and colour thresholds in
the plant file (``safety_index:``) and every value explained by its largest contributors. Pure Python.

Parts, each scored 0-100 for a zone:

- ``static``: the zone's LEC level (blue 0, yellow 33, orange 67, red 100);
- ``alarms``: annunciated alarms in the zone, 25 points per priority step (low 1, medium 2, high 3, urgent 4);
- ``violations``: open personnel violations in the zone, 35 each;
- ``hidden_dangers``: open hidden dangers, 10 each, overdue 30, major 60;
- ``permits``: active special-work permits, hot work and confined space 40 each, the other kinds 20;
- ``staffing``: over or under the shift's headcount limits, 100;
- ``environment``: gas detectors over H 60, over HH 100.

Each part is capped at 100. The zone's index is the weighted sum (weights summing to 1); the plant's index is the
highest zone's (the worst place sets the plant's state). Colour: blue, yellow, orange, red at the thresholds
(default 25, 50, 75), with hysteresis: a colour is left only when the value is ``hysteresis`` (default 5) points
past the threshold on the way down, so a value hovering at a threshold does not flicker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plant.schema import SAFETY_INDEX_HYSTERESIS, SAFETY_INDEX_THRESHOLDS, SAFETY_INDEX_WEIGHTS

PARTS: tuple[str, ...] = tuple(SAFETY_INDEX_WEIGHTS)
DEFAULT_WEIGHTS: dict[str, float] = dict(SAFETY_INDEX_WEIGHTS)
COLOURS: tuple[str, ...] = ("blue", "yellow", "orange", "red")
DEFAULT_THRESHOLDS: tuple[float, float, float] = SAFETY_INDEX_THRESHOLDS
DEFAULT_HYSTERESIS = SAFETY_INDEX_HYSTERESIS
PRIORITY_STEPS = {"low": 1, "medium": 2, "high": 3, "urgent": 4}
LEVEL_POINTS = {"blue": 0.0, "yellow": 100 / 3, "orange": 200 / 3, "red": 100.0}
TOP = 5


@dataclass
class ZoneInputs:
    """What is going on in one zone now."""

    level: str = "blue"  # static LEC level
    alarms: list[str] = field(default_factory=list)  # priorities of the annunciated alarms
    violations: int = 0
    dangers_open: int = 0
    dangers_overdue: int = 0
    dangers_major: int = 0
    permits_high: int = 0  # active hot work and confined space
    permits_other: int = 0
    staffing_off: bool = False
    gas_h: int = 0
    gas_hh: int = 0


@dataclass(frozen=True)
class Contributor:
    part: str
    points: float  # weight x part score: what it adds to the index
    score: float  # the part's own 0-100
    detail: dict[str, Any]


@dataclass(frozen=True)
class ZoneIndex:
    zone: str
    value: float
    parts: dict[str, float]  # part -> 0-100
    contributors: tuple[Contributor, ...]  # the largest first, at most five, none of zero


def _cap(v: float) -> float:
    return max(0.0, min(100.0, v))


def part_scores(z: ZoneInputs) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Each part's 0-100 score for a zone and the facts behind it."""
    steps = sum(PRIORITY_STEPS.get(p, 1) for p in z.alarms)
    scores = {
        "static": LEVEL_POINTS.get(z.level, 0.0),
        "alarms": _cap(25.0 * steps),
        "violations": _cap(35.0 * z.violations),
        "hidden_dangers": _cap(10.0 * z.dangers_open + 20.0 * z.dangers_overdue + 50.0 * z.dangers_major),
        "permits": _cap(40.0 * z.permits_high + 20.0 * z.permits_other),
        "staffing": 100.0 if z.staffing_off else 0.0,
        "environment": _cap(60.0 * z.gas_h + 100.0 * z.gas_hh),
    }
    facts: dict[str, dict[str, Any]] = {
        "static": {"level": z.level},
        "alarms": {"count": len(z.alarms)},
        "violations": {"count": z.violations},
        "hidden_dangers": {"open": z.dangers_open, "overdue": z.dangers_overdue, "major": z.dangers_major},
        "permits": {"high": z.permits_high, "other": z.permits_other},
        "staffing": {},
        "environment": {"h": z.gas_h, "hh": z.gas_hh},
    }
    return scores, facts


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Weights for every part, each >= 0, summing to 1 (within 0.001); ``ValueError`` naming what is wrong."""
    unknown = set(weights) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown part(s) {sorted(unknown)}; parts: {list(PARTS)}")
    out = {p: float(weights.get(p, 0.0)) for p in PARTS}
    if any(v < 0 for v in out.values()):
        raise ValueError("weights must be >= 0")
    if abs(sum(out.values()) - 1.0) > 0.001:
        raise ValueError(f"weights must sum to 1, not {sum(out.values()):.3f}")
    return out


def zone_index(zone: str, z: ZoneInputs, weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> ZoneIndex:
    scores, facts = part_scores(z)
    contributions = [Contributor(p, weights.get(p, 0.0) * scores[p], scores[p], facts[p]) for p in PARTS]
    value = round(_cap(sum(c.points for c in contributions)), 1)
    top = sorted((c for c in contributions if c.points > 0), key=lambda c: -c.points)[:TOP]
    return ZoneIndex(zone, value, scores, tuple(top))


def plant_index(zones: Mapping[str, ZoneIndex]) -> tuple[float, str | None]:
    """The plant's index (the highest zone's) and that zone."""
    if not zones:
        return 0.0, None
    worst = max(zones.values(), key=lambda z: z.value)
    return worst.value, worst.zone


def colour(
    value: float,
    previous: str | None = None,
    thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
    hysteresis: float = DEFAULT_HYSTERESIS,
) -> str:
    """The colour of ``value``: up as soon as a threshold is reached, down only ``hysteresis`` points below it."""
    up = sum(1 for t in thresholds if value >= t)
    if previous in COLOURS:
        prev = COLOURS.index(previous)
        if prev > up:
            held = sum(1 for t in thresholds if value >= t - hysteresis)
            return COLOURS[max(up, min(prev, held))]
    return COLOURS[up]


PLANT = "_plant"  # the plant's own series among the zones' (stored index points, colour memory)


@dataclass(frozen=True)
class IndexView:
    """The index of every zone and of the plant at one moment, with their colours (``colours[PLANT]`` the
    plant's)."""

    value: float
    worst_zone: str | None
    colour: str
    zones: dict[str, ZoneIndex]
    colours: dict[str, str]


def evaluate(
    inputs: Mapping[str, ZoneInputs],
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS,
    hysteresis: float = DEFAULT_HYSTERESIS,
    previous: Mapping[str, str] | None = None,
) -> IndexView:
    """Every zone's index and the plant's from the zones' inputs, coloured with hysteresis against the
    ``previous`` colours (zone -> colour, ``PLANT`` for the plant's). The one formula of the screens and the
    stored series."""
    w = check_weights(weights)
    prev = previous or {}
    zones = {zid: zone_index(zid, z_in, w) for zid, z_in in inputs.items()}
    value, worst = plant_index(zones)
    colours = {zid: colour(z.value, prev.get(zid), thresholds, hysteresis) for zid, z in zones.items()}
    colours[PLANT] = colour(value, prev.get(PLANT), thresholds, hysteresis)
    return IndexView(value, worst, colours[PLANT], zones, colours)
