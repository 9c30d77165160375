"""Major hazard sources (GB 18218-2018, 危险化学品重大危险源辨识): identification, the grade R and live readings.

Pure Python. The plant file lists the units (``hazards.sources``); this module computes what the standard
asks for, keeping every input so a page can show how a figure came about.

- **Identification** (clause 4.2.2): a unit is a major hazard source when S = sum(q / Q) >= 1 over its
  hazardous substances, q the design maximum quantity and Q the critical quantity (table 1 by name, table 2
  by hazard class). A substance neither table lists counts nothing (it is kept for display).
- **Grading** (clause 4.3): R = alpha x sum(beta x q / Q) (4.3.2), beta from table 3 (the toxic gases it
  names) or table 4 (by hazard class) (4.3.3), alpha from the number of people within 500 m outside the
  plant, table 5 (4.3.4): 100 or more 2.0, 50-99 1.5, 30-49 1.2, 1-29 1.0, none 0.5. Grade by table 6
  (4.3.5): first R >= 100, second 50 <= R < 100, third 10 <= R < 50, fourth R < 10.
- **Readings**: each live reading of a source against its thresholds (``high``: over when above, ``low``:
  under when below; equal is within); a missing or non-finite value is ``no value``, never over.

The clause numbers are those of the 2018 text as read for this product; check them against the text in force.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from plant.schema import HazardLead, HazardSource, Plant

STANDARD = "GB 18218-2018"

# Table 5: (at least this many people within 500 m outside the plant, alpha), largest first.
ALPHA_TABLE: tuple[tuple[int, float], ...] = ((100, 2.0), (50, 1.5), (30, 1.2), (1, 1.0), (0, 0.5))

# Table 6: (R at least, grade), most severe first; anything below 10 is the fourth grade.
GRADE_TABLE: tuple[tuple[float, int], ...] = ((100.0, 1), (50.0, 2), (10.0, 3))

OK, OVER, UNDER, NO_VALUE = "ok", "over", "under", "no_value"


def alpha_for(people_500m: int) -> float:
    """The exposure correction alpha of table 5 (GB 18218-2018 4.3.4) for the people within 500 m."""
    if people_500m < 0:
        raise ValueError(f"people within 500 m must be >= 0, not {people_500m}")
    return next(a for n, a in ALPHA_TABLE if people_500m >= n)


def grade_for(r: float) -> int:
    """The grade of table 6 (GB 18218-2018 4.3.5): 1 for R >= 100 ... 4 for R < 10."""
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"R must be a finite number >= 0, not {r}")
    return next((g for limit, g in GRADE_TABLE if r >= limit), 4)


@dataclass(frozen=True, slots=True)
class Term:
    """One substance's part: q / Q and beta x q / Q (zero and ``listed`` false when no Q is given)."""

    name: str
    name_zh: str | None
    cas: str | None
    q_t: float
    critical_t: float | None
    beta: float
    basis: str
    ratio: float  # q / Q
    weighted: float  # beta x q / Q

    @property
    def listed(self) -> bool:
        return self.critical_t is not None


@dataclass(frozen=True, slots=True)
class Assessment:
    """A unit's identification and grade with its inputs."""

    source: str
    people_500m: int
    alpha: float
    terms: tuple[Term, ...]
    s: float  # sum(q / Q): the unit is a major hazard source when S >= 1 (4.2.2)
    r: float  # alpha x sum(beta x q / Q) (4.3.2)
    major: bool
    grade: int | None  # 1..4 for a major hazard source, None otherwise
    leads: tuple[HazardLead, ...]


def assess(hs: HazardSource) -> Assessment:
    """Identify and grade one unit (GB 18218-2018 4.2.2, 4.3)."""
    terms = []
    for sub in hs.substances:
        ratio = sub.q_t / sub.critical_t if sub.critical_t is not None else 0.0
        terms.append(
            Term(sub.name, sub.name_zh, sub.cas, sub.q_t, sub.critical_t, sub.beta, sub.basis, ratio, sub.beta * ratio)
        )
    alpha = alpha_for(hs.people_500m)
    s = sum(t.ratio for t in terms)
    r = alpha * sum(t.weighted for t in terms)
    major = s >= 1.0
    return Assessment(
        hs.id, hs.people_500m, alpha, tuple(terms), s, r, major, grade_for(r) if major else None, tuple(hs.responsible)
    )


def assess_all(plant: Plant) -> list[Assessment]:
    return [assess(hs) for hs in plant.hazards.sources]


@dataclass(frozen=True, slots=True)
class ReadingState:
    tag: str
    value: float | None
    high: float | None
    low: float | None
    state: str  # ok, over, under, no_value


def reading_state(value: object, high: float | None, low: float | None) -> str:
    """``over`` above ``high``, ``under`` below ``low``, ``ok`` within (equal counts as within), ``no_value``
    for a missing, non-numeric or non-finite value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return NO_VALUE
    if high is not None and value > high:
        return OVER
    if low is not None and value < low:
        return UNDER
    return OK


def readings(hs: HazardSource, values: Mapping[str, object]) -> list[ReadingState]:
    """The source's live readings against its thresholds; ``values`` maps tag id -> latest value."""
    out = []
    for r in hs.readings:
        v = values.get(r.tag)
        state = reading_state(v, r.high, r.low)
        shown = float(v) if state != NO_VALUE else None  # type: ignore[arg-type]
        out.append(ReadingState(r.tag, shown, r.high, r.low, state))
    return out
