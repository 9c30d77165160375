"""Four-color risk zoning: the static level from the LEC register, raised by live conditions (pure).

Rules, each giving a floor for the zone's level (the highest wins, never below the static level):
- a gas detector of the zone over H: one level above static; over HH: red;
- equipment of the zone in fault: one level above static;
- headcount over the zone's maximum for the current shift: one level above static;
- an open major hidden danger in the zone (``engine.hidden_dangers``): at least orange.
Every rule that fires is kept as a reason, so a screen can say why a zone has its color.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.limits import check_limits
from engine.types import is_good
from plant.schema import Plant, RiskLevel, TagKind


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # "gas_h", "gas_hh", "equipment_fault", "over_staffed"
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, **self.params}


@dataclass(frozen=True, slots=True)
class ZoneRisk:
    zone: str
    static: RiskLevel
    level: RiskLevel
    score: float  # LEC score D = L x E x C
    reasons: tuple[Reason, ...]

    @property
    def raised(self) -> bool:
        return self.level.rank > self.static.rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "static": self.static.value,
            "score": self.score,
            "reasons": [r.as_dict() for r in self.reasons],
        }


_INDEX: dict[int, tuple[Plant, dict[str, list[Any]], dict[str, list[str]]]] = {}


def _index(plant: Plant) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
    """The gas detectors and the equipment of each zone, found once per plant object (a replay computes the
    levels of hundreds of moments)."""
    found = _INDEX.get(id(plant))
    if found is not None and found[0] is plant:
        return found[1], found[2]
    gas_by_zone: dict[str, list[Any]] = {}
    for tag in plant.tags:
        if tag.kind == TagKind.GAS and tag.zone is not None:
            gas_by_zone.setdefault(tag.zone, []).append(tag)
    equipment_by_zone: dict[str, list[str]] = {}
    for eq in plant.equipment:
        equipment_by_zone.setdefault(eq.zone, []).append(eq.id)
    if len(_INDEX) > 8:
        _INDEX.clear()
    _INDEX[id(plant)] = (plant, gas_by_zone, equipment_by_zone)
    return gas_by_zone, equipment_by_zone


def zone_risks(
    plant: Plant,
    latest: Mapping[str, tuple[int, float | None, int]],
    equipment_state: Mapping[str, str],
    headcount: Mapping[str, int],
    shift: str | None,
    major_dangers: Mapping[str, int] | None = None,
) -> dict[str, ZoneRisk]:
    """The dynamic level of every zone from the latest values, equipment states, headcounts and the open major
    hidden dangers per zone."""
    gas_by_zone, equipment_by_zone = _index(plant)

    out: dict[str, ZoneRisk] = {}
    for zone in plant.zones:
        static = zone.lec.level
        floor = static.rank
        reasons: list[Reason] = []
        for tag in gas_by_zone.get(zone.id, ()):
            current = latest.get(tag.id)
            if current is None or current[1] is None or not is_good(current[2]):
                continue
            hit = check_limits(tag.limits, current[1])
            if hit is None or hit[0] not in ("h", "hh"):
                continue
            floor = max(floor, RiskLevel.RED.rank if hit[0] == "hh" else static.rank + 1)
            reasons.append(Reason(f"gas_{hit[0]}", {"tag": tag.id, "value": current[1], "limit": hit[1]}))
        for eq_id in equipment_by_zone.get(zone.id, ()):
            if equipment_state.get(eq_id) == "fault":
                floor = max(floor, static.rank + 1)
                reasons.append(Reason("equipment_fault", {"equipment": eq_id}))
        limits = zone.headcount.get(shift or "")
        count = headcount.get(zone.id, 0)
        if limits is not None and count > limits.max:
            floor = max(floor, static.rank + 1)
            reasons.append(Reason("over_staffed", {"count": count, "max": limits.max}))
        majors = (major_dangers or {}).get(zone.id, 0)
        if majors:
            floor = max(floor, RiskLevel.ORANGE.rank)
            reasons.append(Reason("hidden_danger_major", {"count": majors}))
        out[zone.id] = ZoneRisk(zone.id, static, RiskLevel.from_rank(floor), zone.lec.score, tuple(reasons))
    return out
