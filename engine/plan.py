"""The production plan: a plan file's rows checked cell by cell, and plan against actual at every horizon
(pure, no I/O).

A plan file is one table (a CSV file or an Excel sheet), one row per target, with a header row in English
or Chinese (any order, case and spaces ignored):

==========  ==========================  =====================================================
column      headers                     value
==========  ==========================  =====================================================
date        date, day, 日期             the plant day, ``YYYY-MM-DD`` (an Excel date cell too)
shift       shift, 班次, 班             optional: a shift of the plant file; empty = the whole day
product     product, 产品               a product key (``anode_cast``) or its name in either language
target      target, plan, 计划, 计划量  the amount planned, in the product's unit (t); 0 = planned shutdown
process     process, 工序               optional: must be the product's process when given
==========  ==========================  =====================================================

Everything is checked before anything is stored: a missing column, a date, shift or product that is not
one, a number cell holding text (or NaN, infinity, a negative amount), a row that repeats another, and a
day target given beside shift targets of the same day and product (the two would overlap) each refuse the
whole file, every problem named by its cell (``D7``). A day's plan is its day row, or the sum of its shift
rows.

Plan against actual: for a period (shift, day, week, month, quarter, year) the plan to date is the plan of
the days before today plus today's plan times the share of today already past (for a shift, its target
times its share past); completion = actual / plan to date; the **daily rate still needed** to make the
period's plan is (whole plan - actual) / planned days left (days with a plan above 0: a planned shutdown
day is no day to make it up on), today counted by what is left of it.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from engine.clock import to_local
from engine.production import Period, periods, products
from engine.shifts import day_start
from i18n import LANGS, t
from plant.schema import Plant, TagKind

logger = logging.getLogger(__name__)

COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "日期"),
    "shift": ("shift", "班次", "班"),
    "product": ("product", "产品", "产品名称"),
    "target": ("target", "plan", "计划", "计划量", "计划产量", "目标"),
    "process": ("process", "工序"),
}
REQUIRED = ("date", "product", "target")
HORIZONS = ("shift", "day", "week", "month", "quarter", "year")


class PlanFileError(ValueError):
    """A plan file refused: every problem with its cell (``"D7: 'abc' is not a number"``)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = "; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20 else "")
        super().__init__(f"{source}: {shown}")


@dataclass(frozen=True, slots=True)
class Target:
    day: date
    shift: str  # "" for the whole day
    product: str
    target: float


def cell(row: int, col: int) -> str:
    """Spreadsheet name of a cell, both indexes from 0: (0, 0) -> A1, (6, 27) -> AB7."""
    letters = ""
    n = col + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return f"{letters}{row + 1}"


def _norm(text: Any) -> str:
    return re.sub(r"[\s_（）()]+", "", str(text or "")).lower()


def product_index(plant: Plant) -> dict[str, tuple[str, str]]:
    """Every way a plan may name a product (its key, its counters' descriptions and its catalog name in each
    language: ``anode_cast``, ``Anode copper``, ``阳极铜``) -> (product key, its process)."""
    process_of = {e.id: e.process for e in plant.equipment}
    out: dict[str, tuple[str, str]] = {}
    for tag in plant.tags:
        if tag.kind != TagKind.COUNTER:
            continue
        key = tag.id.rsplit(".", 1)[-1].lower()
        proc = process_of.get(tag.equipment or "", "")
        catalog = [t(f"kpi.product.{key}", lang) for lang in LANGS]
        for name in (key, tag.description, tag.description_zh, *[c for c in catalog if c != f"kpi.product.{key}"]):
            if name:
                out.setdefault(_norm(name), (key, proc))
    return out


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?", text)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value or "").strip().replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def parse_plan(rows: Sequence[Sequence[Any]], plant: Plant, source: str = "plan") -> list[Target]:
    """The targets of a plan table (first row the headers), or :class:`PlanFileError` naming every bad cell."""
    problems: list[str] = []
    if not rows:
        raise PlanFileError(source, ["the file is empty"])
    header = [_norm(h) for h in rows[0]]
    where: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for i, h in enumerate(header):
            if h and h in {_norm(a) for a in aliases}:
                if name in where:
                    problems.append(f"{cell(0, i)}: a second '{name}' column (first at {cell(0, where[name])})")
                else:
                    where[name] = i
    for name in REQUIRED:
        if name not in where:
            problems.append(f"row 1: no '{name}' column (a header such as {', '.join(COLUMNS[name])})")
    if problems:
        raise PlanFileError(source, problems)
    products = product_index(plant)
    shifts = {s.id.lower(): s.id for s in plant.site.shifts}
    seen: dict[tuple[date, str, str], str] = {}
    out: list[Target] = []
    for r, row in enumerate(rows[1:], start=1):
        values = list(row) + [None] * (len(header) - len(row))
        if all(v is None or str(v).strip() == "" for v in values):
            continue  # blank lines are no rows
        d_col, p_col, t_col = where["date"], where["product"], where["target"]
        day = _date(values[d_col])
        if day is None:
            problems.append(f"{cell(r, d_col)}: {str(values[d_col])[:40]!r} is not a date (YYYY-MM-DD)")
        shift = ""
        if "shift" in where:
            raw = str(values[where["shift"]] or "").strip()
            if raw:
                found = shifts.get(raw.lower())
                if found is None:
                    known = ", ".join(s.id for s in plant.site.shifts)
                    problems.append(f"{cell(r, where['shift'])}: {raw[:40]!r} is not a shift ({known}, or empty)")
                else:
                    shift = found
        product = products.get(_norm(values[p_col]))
        if product is None:
            problems.append(f"{cell(r, p_col)}: {str(values[p_col])[:40]!r} is not a product of the plant")
        elif "process" in where:
            raw = str(values[where["process"]] or "").strip()
            if raw and _norm(raw) != _norm(product[1]):
                problems.append(f"{cell(r, where['process'])}: {raw[:40]!r} is not the process of {product[0]}")
        amount = _number(values[t_col])
        if amount is None:
            problems.append(f"{cell(r, t_col)}: {str(values[t_col])[:40]!r} is not a number")
        elif not math.isfinite(amount) or amount < 0:
            problems.append(f"{cell(r, t_col)}: {amount} is not an amount (finite, 0 or more)")
        if day is None or product is None or amount is None or not math.isfinite(amount) or amount < 0:
            continue
        key = (day, shift, product[0])
        if key in seen:
            problems.append(f"{cell(r, p_col)}: repeats {seen[key]} ({day}, {shift or 'day'}, {product[0]})")
            continue
        other = [k for k in seen if k[0] == day and k[2] == product[0] and (k[1] == "") != (shift == "")]
        if other:
            problems.append(
                f"{cell(r, p_col)}: {'a day target' if not shift else 'a shift target'} overlaps {seen[other[0]]}"
                f" ({day}, {product[0]}: give the day or its shifts, not both)"
            )
            continue
        seen[key] = cell(r, p_col)
        out.append(Target(day, shift, product[0], amount))
    if problems:
        raise PlanFileError(source, problems)
    if not out:
        raise PlanFileError(source, ["no targets below the header row"])
    return out


def day_plans(targets: Iterable[Target]) -> dict[tuple[date, str], float]:
    """(day, product) -> the day's plan: its day row, or the sum of its shift rows."""
    out: dict[tuple[date, str], float] = defaultdict(float)
    for target in targets:
        out[(target.day, target.product)] += target.target
    return dict(out)


# --- plan against actual ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Horizon:
    kind: str
    label: str
    first: date
    last: date  # inclusive


def horizon(kind: str, today: date) -> Horizon:
    """The calendar period of ``kind`` holding ``today`` (weeks from Monday, ISO 8601)."""
    if kind == "day":
        return Horizon(kind, today.isoformat(), today, today)
    if kind == "week":
        first = today - timedelta(days=today.weekday())
        y, w, _ = today.isocalendar()
        return Horizon(kind, f"{y}-W{w:02d}", first, first + timedelta(days=6))
    if kind == "month":
        first = today.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return Horizon(kind, first.strftime("%Y-%m"), first, nxt - timedelta(days=1))
    if kind == "quarter":
        q = (today.month - 1) // 3
        first = date(today.year, 3 * q + 1, 1)
        nxt = date(today.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
        return Horizon(kind, f"{today.year}-Q{q + 1}", first, nxt - timedelta(days=1))
    if kind == "year":
        return Horizon(kind, str(today.year), date(today.year, 1, 1), date(today.year, 12, 31))
    raise ValueError(f"unknown horizon {kind!r}")


@dataclass(frozen=True, slots=True)
class PlanStatus:
    plan_full: float
    plan_to_date: float
    actual: float
    days_left: float  # planned days ahead (plan > 0), today's remainder counted

    @property
    def completion(self) -> float | None:
        return self.actual / self.plan_to_date if self.plan_to_date > 0 else None

    @property
    def progress(self) -> float | None:
        return self.actual / self.plan_full if self.plan_full > 0 else None

    @property
    def rate_needed(self) -> float | None:
        """Amount a day still needed to make the whole period's plan (0 once made; None when no time is left)."""
        if self.days_left <= 0:
            return None
        return max(0.0, self.plan_full - self.actual) / self.days_left


def plan_status(
    plan_by_day: dict[date, float],
    actual_by_day: dict[date, float],
    h: Horizon,
    today: date,
    day_fraction: float,
) -> PlanStatus:
    """Plan against actual for one product over ``h`` at ``today`` with ``day_fraction`` of today past."""
    full = to_date = actual = 0.0
    d = h.first
    while d <= h.last:
        p = plan_by_day.get(d, 0.0)
        full += p
        if d < today:
            to_date += p
            actual += actual_by_day.get(d, 0.0)
        elif d == today:
            to_date += p * day_fraction
            actual += actual_by_day.get(d, 0.0)
        d += timedelta(days=1)
    left = 0.0  # planned days still ahead (a planned shutdown day is no day to make up on), today's remainder
    d = max(h.first, today)
    while d <= h.last:
        if plan_by_day.get(d, 0.0) > 0:
            left += (1.0 - day_fraction) if d == today else 1.0
        d += timedelta(days=1)
    return PlanStatus(full, to_date, actual, left)


def planned_rate(day_plan: dict[str, float], period: Period) -> float:
    """Plan per hour of a shift or day from the day's plan (shift -> target, "" for the day): a shift's own
    target over its hours, else the day's plan spread evenly over the day's hours (23 or 25 on DST days).
    The overview's tiles and plan against actual both use it, so their plans to date agree."""
    total = math.fsum(day_plan.values())
    if period.kind == "shift":
        if period.label in day_plan:
            return day_plan[period.label] / period.hours
        return total / 24
    return total / period.hours


def plan_report(
    plant: Plant,
    plan: dict[str, dict[Any, dict[str, float]]],
    actual_by_day: dict[str, dict[Any, float]],
    shift_actual: dict[str, float],
    now: int,
) -> dict[str, Any]:
    """Plan against actual for every product with a plan, at every horizon (pure apart from the plant)."""
    tz = plant.tz()
    local = to_local(now, tz)
    today = local.date()
    start = day_start(plant, now)
    following = start + timedelta(days=1)
    day_fraction = (now - start.timestamp() * 1000) / ((following.timestamp() - start.timestamp()) * 1000)
    shift_period = periods(plant, now).get("shift")
    rows = []
    for p in products(plant):
        days = plan.get(p.key)
        if not days:
            continue
        by_day = {d: math.fsum(v.values()) for d, v in days.items()}
        actual = actual_by_day.get(p.key, {})
        row: dict[str, Any] = {"key": p.key, "unit": p.unit, "name": p.name, "name_zh": p.name_zh}
        for kind in HORIZONS:
            if kind == "shift":
                if shift_period is None:
                    row[kind] = None
                    continue
                target = planned_rate(days.get(today, {}), shift_period) * shift_period.hours
                share = shift_period.elapsed_hours(now) / shift_period.hours
                left = 1.0 - share
                done = shift_actual.get(p.key, 0.0)
                row[kind] = {
                    "label": shift_period.label,
                    "plan_full": target,
                    "plan_to_date": target * share,
                    "actual": done,
                    "completion": done / (target * share) if target * share > 0 else None,
                    "rate_needed": None if left <= 0 else max(0.0, target - done) / (left * shift_period.hours / 24),
                }
                continue
            h = horizon(kind, today)
            s = plan_status(by_day, actual, h, today, day_fraction)
            row[kind] = {
                "label": h.label,
                "plan_full": s.plan_full,
                "plan_to_date": s.plan_to_date,
                "actual": s.actual,
                "completion": s.completion,
                "rate_needed": s.rate_needed,
            }
        rows.append(row)
    return {"now_ms": now, "today": today.isoformat(), "products": rows}
