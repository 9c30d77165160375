"""Production plan vs actual per shift and day (pure, no I/O).

Products are the plant's production counters (``kind: counter``) grouped by their measurement name, the
part of the tag id after the last dot: ``CW1.ANODE_CAST`` and ``CW2.ANODE_CAST`` are both anode copper.
A product's plan rate is the sum of its counters' ``nominal`` (per hour); the plan of a period is that
rate times the period's hours, and the plan *to date* the rate times the hours elapsed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from engine.shifts import current_shift, day_start
from plant.schema import Plant, Tag, TagKind

logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000

# Display order of known products: the headline products of a copper smelter first.
PRODUCT_ORDER = (
    "anode_cast",
    "cathode_copper",
    "acid_produced",
    "acid",
    "conc_fed",
    "blister",
    "slag_treated",
    "o2_produced",
)
ON_PACE = 0.98  # completion to date at or above: on plan
BEHIND = 0.90  # below: clearly behind plan


@dataclass(frozen=True, slots=True)
class Product:
    key: str  # measurement name shared by its counters, lower case: "anode_cast"
    unit: str
    tags: tuple[str, ...]
    rate_per_h: float  # plan rate: sum of the counters' nominal per hour
    name: str  # description of the first counter, for products without a catalog name
    name_zh: str | None


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "shift" or "day"
    label: str  # shift id, or the local date
    start_ms: int
    end_ms: int

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / HOUR_MS

    def elapsed_hours(self, now_ms: int) -> float:
        return min(max(now_ms - self.start_ms, 0), self.end_ms - self.start_ms) / HOUR_MS


@dataclass(frozen=True, slots=True)
class PlanActual:
    actual: float
    plan_to_date: float
    plan_full: float

    @property
    def completion(self) -> float | None:
        """Actual over the plan to date (1.0 = exactly on plan), None before any plan accrued."""
        return self.actual / self.plan_to_date if self.plan_to_date > 0 else None

    @property
    def progress(self) -> float:
        """Actual over the whole period's plan (how far the bar is filled)."""
        return self.actual / self.plan_full if self.plan_full > 0 else 0.0

    @property
    def expected(self) -> float:
        """Where the bar should be by now: plan to date over the whole period's plan."""
        return self.plan_to_date / self.plan_full if self.plan_full > 0 else 0.0

    @property
    def status(self) -> str:
        """``ok`` on plan, ``warn`` slightly behind, ``bad`` clearly behind, ``none`` without a plan."""
        c = self.completion
        if c is None:
            return "none"
        if c >= ON_PACE:
            return "ok"
        return "warn" if c >= BEHIND else "bad"


def product_key(tag_id: str) -> str:
    return tag_id.rsplit(".", 1)[-1].lower()


def products(plant: Plant) -> list[Product]:
    """The plant's products, known ones in ``PRODUCT_ORDER``, the others after them in plant-file order."""
    groups: dict[tuple[str, str], list[Tag]] = {}
    for tag in plant.tags:
        if tag.kind == TagKind.COUNTER:
            groups.setdefault((product_key(tag.id), tag.unit), []).append(tag)
    out = [
        Product(
            key=key,
            unit=unit,
            tags=tuple(t.id for t in tags),
            rate_per_h=math.fsum(float(t.nominal or 0.0) for t in tags),
            name=tags[0].description or tags[0].id,
            name_zh=tags[0].description_zh,
        )
        for (key, unit), tags in groups.items()
    ]
    rank = {k: i for i, k in enumerate(PRODUCT_ORDER)}
    return sorted(out, key=lambda p: rank.get(p.key, len(rank)))  # stable: plant order among the unknown


def periods(plant: Plant, now_ms: int) -> dict[str, Period]:
    """The current shift (absent in a break between shifts) and the current plant day, local time."""
    out: dict[str, Period] = {}
    found = current_shift(plant, now_ms)
    if found is not None:
        shift, start = found
        start_ms = int(start.timestamp() * 1000)
        out["shift"] = Period("shift", shift.id, start_ms, start_ms + int(shift.hours * HOUR_MS))
    day = day_start(plant, now_ms)
    # Wall-clock arithmetic on an aware datetime: the next local midnight, 23 or 25 h away on DST days.
    following = day + timedelta(days=1)
    out["day"] = Period("day", day.date().isoformat(), int(day.timestamp() * 1000), int(following.timestamp() * 1000))
    return out


def plan_actual(actual: float, rate_per_h: float, period: Period, now_ms: int) -> PlanActual:
    return PlanActual(
        actual=actual,
        plan_to_date=rate_per_h * period.elapsed_hours(now_ms),
        plan_full=rate_per_h * period.hours,
    )
