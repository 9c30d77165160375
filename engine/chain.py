"""The smelting chain's key process values: which tags, how precise, what state (pure, no I/O).

The chain (flash smelting -> converters -> anode furnaces -> tankhouse -> acid plant) is a list of stages,
each the equipment of some processes (``equipment.process`` in the plant file) and a few picks of tag
names by pattern. A pick lists alternatives: the first pattern that matches any tag of the stage wins and
gives up to ``count`` tags, so one description serves plant files that name things a little differently.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from fnmatch import fnmatchcase

from engine.limits import check_limits
from engine.types import is_good
from plant.schema import Plant, Tag, TagKind

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pick:
    patterns: tuple[str, ...]
    count: int = 1


@dataclass(frozen=True, slots=True)
class StageSpec:
    key: str  # catalog key suffix: "overview.stage.<key>"
    processes: tuple[str, ...]
    picks: tuple[Pick, ...]
    max_items: int = 3


SMELTER_CHAIN: tuple[StageSpec, ...] = (
    StageSpec(
        "smelting",
        ("smelting",),
        (
            Pick(("*.MATTE_TEMP",)),
            Pick(("*.REACTION_SHAFT_TEMP", "*.TEMP")),
            Pick(("*.CONC_FEED_RATE", "*.FEED_FLOW")),
        ),
    ),
    StageSpec("converting", ("converting",), (Pick(("*.BATH_TEMP",), count=3),)),
    StageSpec("fire_refining", ("fire_refining",), (Pick(("*.BATH_TEMP",), count=2), Pick(("*.COPPER_O2",)))),
    StageSpec(
        "electrorefining",
        ("electrorefining",),
        (Pick(("*.DC_CURRENT",), count=2), Pick(("*.OUTLET_TEMP", "*.ELECTROLYTE_TEMP"))),
    ),
    StageSpec(
        "acid",
        ("acid",),
        (
            Pick(("*.CONVERSION", "*.SO2_IN")),
            Pick(("*FAT*.ACID_STRENGTH", "*.ACID_STRENGTH")),
            Pick(("STK*.SO2", "*.SO2")),
        ),
    ),
)
PHASE_SUFFIX = "PHASE"  # converters publish their phase (0 idle, 1 charge, 2 blow, 3 skim) as <equipment>.PHASE


@dataclass(frozen=True, slots=True)
class KeyValue:
    tag: str
    phase_tag: str | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    items: tuple[KeyValue, ...]


def chain(plant: Plant, spec: tuple[StageSpec, ...] = SMELTER_CHAIN) -> list[Stage]:
    """The stages of ``spec`` the plant has, each with its key tags; stages without any tag are left out."""
    process_of = {e.id: e.process for e in plant.equipment}
    numeric = [t for t in plant.tags if t.kind in (TagKind.PROCESS, TagKind.EMISSION)]
    ids = {t.id for t in plant.tags}
    out: list[Stage] = []
    for stage in spec:
        candidates = [t for t in numeric if process_of.get(t.equipment or "") in stage.processes]
        chosen: list[str] = []
        for pick in stage.picks:
            for pattern in pick.patterns:
                hits = [t.id for t in candidates if fnmatchcase(t.id, pattern) and t.id not in chosen]
                if hits:
                    chosen += hits[: pick.count]
                    break
        items = []
        for tag_id in chosen[: stage.max_items]:
            equipment = tag_id.rsplit(".", 1)[0]
            phase = f"{equipment}.{PHASE_SUFFIX}"
            items.append(KeyValue(tag_id, phase if phase in ids and phase != tag_id else None))
        if items:
            out.append(Stage(stage.key, tuple(items)))
    return out


def decimals(tag: Tag) -> int:
    """Digits after the point that tell the tag's limits apart (or suit its nominal value), 0 to 3."""
    marks: list[float] = []
    if tag.limits is not None:
        marks = sorted(v for v in (tag.limits.ll, tag.limits.l, tag.limits.h, tag.limits.hh) if v is not None)
    gaps = [b - a for a, b in itertools.pairwise(marks) if b > a]
    if gaps:
        step = min(gaps) / 10
    elif tag.nominal:
        step = abs(tag.nominal) / 1000
    else:
        return 1
    return max(0, min(3, -math.floor(math.log10(step))))


def value_status(tag: Tag, current: tuple[int, float | None, int] | None) -> str:
    """``alarm`` beyond HH/LL, ``warn`` beyond H/L, ``ok`` inside, ``none`` without a good value."""
    if current is None or current[1] is None or not is_good(current[2]) or not math.isfinite(current[1]):
        return "none"
    hit = check_limits(tag.limits, current[1])
    if hit is None:
        return "ok"
    return "alarm" if hit[0] in ("hh", "ll") else "warn"
