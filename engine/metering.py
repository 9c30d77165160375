"""Which meters add up to the site's consumption of each medium (pure, no I/O).

With a metering hierarchy (``meters`` in the plant file) the site total of a medium is the sum of the
topmost metered nodes: a node that reads a tag counts, and then nothing below it does (its children are a
breakdown of the same flow). Without one, every energy tag of the medium counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from plant.schema import Medium, Plant, TagKind

logger = logging.getLogger(__name__)

MEDIUM_ORDER = (
    Medium.ELECTRICITY,
    Medium.WATER,
    Medium.NATURAL_GAS,
    Medium.OXYGEN,
    Medium.STEAM,
    Medium.COMPRESSED_AIR,
)


@dataclass(frozen=True, slots=True)
class SiteMeter:
    medium: Medium
    unit: str
    tags: tuple[str, ...]


def site_meters(plant: Plant) -> list[SiteMeter]:
    """One entry per medium the plant meters, in ``MEDIUM_ORDER``."""
    tags = {t.id: t for t in plant.tags if t.kind == TagKind.ENERGY}
    meters = {m.id: m for m in plant.meters}
    out: list[SiteMeter] = []
    for medium in MEDIUM_ORDER:
        in_tree = [m for m in plant.meters if m.medium == medium]
        if in_tree:
            chosen = []
            for m in in_tree:
                if m.tag is None or m.tag not in tags:
                    continue
                parent = meters.get(m.parent or "")
                covered = False
                while parent is not None:
                    if parent.tag is not None and parent.tag in tags:
                        covered = True
                        break
                    parent = meters.get(parent.parent or "")
                if not covered:
                    chosen.append(m.tag)
        else:
            chosen = [t.id for t in tags.values() if t.medium == medium]
        if not chosen:
            continue
        units = {tags[c].unit for c in chosen}
        if len(units) > 1:
            logger.warning("%s meters in several units %s: the site total adds them as they are", medium, units)
        out.append(SiteMeter(medium, tags[chosen[0]].unit, tuple(dict.fromkeys(chosen))))
    return out
