"""Production, energy and key-trend summary for the overview, cached across screens.

Production totals and energy use move slowly, so :func:`summary` is computed at most once per
``SUMMARY_SECONDS`` (one SQL statement per window for every counter and meter, see ``store.counters``), and
the two-hour sparklines of the smelting chain once per ``TRENDS_SECONDS`` (one pixel-aware trend query per
key tag, see ``store.trend``). Both are plain JSON-able dicts kept in flask-caching like the live
snapshot, so any number of wall screens cost one computation.

Also the number formatting shared by the overview tiles: amounts with a unit scaled for a wall screen.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from engine.chain import chain
from engine.clock import to_local
from engine.metering import site_meters
from engine.plan import planned_rate
from engine.production import periods, plan_actual, products
from store.counters import counter_increase
from store.db import session_scope
from store.plan import plan_in_force
from store.tags import tag_ids
from store.trend import trend
from webapp import context as web

logger = logging.getLogger(__name__)

SUMMARY_SECONDS = 10
TRENDS_SECONDS = 30
TREND_SPAN_MS = 2 * 3_600_000
SPARK_BUCKETS = 60  # 2 h in 2-minute buckets, a low and a high each: 120 points for a ~120 px sparkline

# Display unit of a plant unit, with a scale step: (catalog key of the small unit, of the large one, factor).
_UNITS: dict[str, tuple[str, str | None, float]] = {
    "kWh": ("unit.MWh", "unit.GWh", 1000.0),  # shown in MWh from the start: executives read MWh
    "t": ("unit.t", "unit.kt", 1000.0),
    "Nm3": ("unit.Nm3", "unit.kNm3", 1000.0),
    "m3": ("unit.m3", "unit.km3", 1000.0),
}
_UNIT_SYMBOLS = {
    "degC": "°C",
    "m3": "m³",
    "Nm3": "Nm³",
    "Nm3/h": "Nm³/h",
    "m3/h": "m³/h",
    "A/m2": "A/m²",
    "mg/m3": "mg/m³",
    "mg/Nm3": "mg/Nm³",
}


def unit_symbol(unit: str) -> str:
    """Typographic form of a plant-file unit (``degC`` -> ``°C``, ``m3`` -> ``m³``)."""
    return _UNIT_SYMBOLS.get(unit, unit)


def fmt_number(value: float | None, digits: int | None = None, coarse: bool = False) -> str:
    """Thousands separators; digits after the point by magnitude (fewer when ``coarse``) unless given."""
    if value is None or not math.isfinite(value):
        return "–"
    if digits is None:
        if value == 0:
            return "0"
        a = abs(value)
        whole = 100 if coarse else 1000
        digits = 0 if a >= whole else 1 if a >= 10 else 2
    return f"{value:,.{digits}f}"


def amount(value: float | None, unit: str, coarse: bool = False) -> tuple[str, str]:
    """(number, unit catalog key or plain unit) for an amount, scaled so it reads at a glance.

    kWh are always shown as MWh (GWh from a million); t, Nm3 and m3 switch to the thousand unit from
    100,000. The unit comes back as a catalog key (``unit.*``) when there is one, else as the plant unit.
    """
    scale = _UNITS.get(unit)
    if value is None or scale is None:
        return fmt_number(value, coarse=coarse), unit_symbol(unit)
    small, large, factor = scale
    if unit == "kWh":
        value = value / factor
        if abs(value) >= 1000 and large:
            return fmt_number(value / factor, coarse=coarse), large
        return fmt_number(value, coarse=coarse), small
    if abs(value) >= 100_000 and large:
        return fmt_number(value / factor, coarse=coarse), large
    return fmt_number(value, coarse=coarse), small


def pct(ratio: float | None) -> str:
    return "–" if ratio is None or not math.isfinite(ratio) else f"{ratio * 100:.0f} %"


@web.shared(SUMMARY_SECONDS)
def summary() -> dict[str, Any]:
    """Production this shift and today per product vs plan (the imported plan in force today, or the counters'
    nominal rates without one), and energy used today per medium."""
    plant = web.plant()
    now = web.now_ms()
    prods = products(plant)
    meters = site_meters(plant)
    windows = periods(plant, now)
    with session_scope(web.engine()) as session:
        ids = tag_ids(session)
        wanted = [t for p in prods for t in p.tags] + [t for m in meters for t in m.tags]
        by_name = {name: ids[name] for name in wanted if name in ids}
        today = to_local(now, plant.tz()).date()
        plan = plan_in_force(session, today, today)  # the imported plan where there is one, else nominal rates
        amounts: dict[str, dict[str, float]] = {}
        for kind, period in windows.items():
            got = counter_increase(session, list(by_name.values()), period.start_ms, now)
            amounts[kind] = {name: got[i] for name, i in by_name.items() if i in got}
    production = []
    for p in prods:
        row: dict[str, Any] = {
            "key": p.key,
            "unit": p.unit,
            "name": p.name,
            "name_zh": p.name_zh,
            "rate_per_h": p.rate_per_h,
        }
        day_plan = plan.get(p.key, {}).get(today)
        for kind, period in windows.items():
            parts = [amounts[kind][t] for t in p.tags if t in amounts[kind]]
            rate = p.rate_per_h if day_plan is None else planned_rate(day_plan, period)
            pa = plan_actual(math.fsum(parts) if parts else 0.0, rate, period, now)
            row[kind] = {
                "actual": pa.actual if parts else None,
                "plan_to_date": pa.plan_to_date,
                "plan_full": pa.plan_full,
                "completion": pa.completion if parts else None,
                "progress": pa.progress,
                "expected": pa.expected,
                "status": pa.status if parts else "none",
            }
        production.append(row)
    energy = []
    for m in meters:
        parts = [amounts["day"][t] for t in m.tags if t in amounts["day"]]
        energy.append({"medium": m.medium.value, "unit": m.unit, "day": math.fsum(parts) if parts else None})
    return {
        "now_ms": now,
        "periods": {
            k: {"label": p.label, "start_ms": p.start_ms, "end_ms": p.end_ms, "hours": p.hours}
            for k, p in windows.items()
        },
        "production": production,
        "energy": energy,
    }


def _sig(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}")


@web.shared(TRENDS_SECONDS)
def sparklines() -> dict[str, Any]:
    """The last two hours of every key tag of the smelting chain, x in minutes before now."""
    plant = web.plant()
    now = web.now_ms()
    tags = [item.tag for stage in chain(plant) for item in stage.items]
    series: dict[str, dict[str, list[float | None]]] = {}
    with session_scope(web.engine()) as session:
        ids = tag_ids(session)
        for name in tags:
            if name not in ids:
                continue
            tr = trend(session, ids[name], now - TREND_SPAN_MS, now, SPARK_BUCKETS)
            ts, values = tr.with_breaks()
            series[name] = {"x": [round((t - now) / 60_000, 1) for t in ts], "y": [_sig(v) for v in values]}
    return {"version": now, "series": series}
