"""The environment page's data: stack emissions (CEMS) of one plant month as plain data shared by every screen
(``web.cached``): per stack pollutant its judged hours (``store.emissions``, written at each hour's close by
the emissions service), daily averages and emitted mass (``engine.emissions``), the exceedance log; and the
tables of the CSV and Excel downloads, in the reader's language.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from engine.emissions import daily, monthly_mass
from engine.tables import to_csv
from i18n import label, t
from plant.schema import Plant
from store.db import session_scope
from store.emissions import as_hour, hours_between, pollutants
from webapp import context as web
from webapp.live.export import Sheet, to_xlsx

logger = logging.getLogger(__name__)

ENV_SECONDS = 30  # one computation per month per this period, shared by every screen
TABLES = ("hours", "days", "exceedances", "mass")
HOURS_SHOWN_DAYS = 7  # the hourly chart: the last days up to the chosen day


class ViewError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _local_midnight_ms(day: date, plant: Plant) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=plant.tz()).timestamp() * 1000)


def parse_day(plant: Plant, text: str | None, now_ms: int) -> date:
    """The chosen plant day (``YYYY-MM-DD``; default today)."""
    today = datetime.fromtimestamp(now_ms / 1000, tz=plant.tz()).date()
    if not text:
        return today
    try:
        day = date.fromisoformat(str(text)[:10])
    except ValueError as exc:
        raise ViewError("env.bad_date") from exc
    if day > today or day.year < 2000:
        raise ViewError("env.bad_date")
    return day


def month_data(day: date) -> dict[str, Any]:
    """Hours, days, exceedances and mass of ``day``'s month (and the week before the day, for the hourly
    chart), shared for a while by every screen."""
    return web.cached(f"sw:environment:{day.isoformat()}", ENV_SECONDS, lambda: build(web.plant(), day))


def build(plant: Plant, day: date) -> dict[str, Any]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    week0 = day - timedelta(days=HOURS_SHOWN_DAYS - 1)
    t0 = _local_midnight_ms(min(first, week0), plant)
    t1 = _local_midnight_ms(nxt, plant)
    with session_scope(web.engine()) as session:
        rows = hours_between(session, t0, t1)
    tz = plant.tz()
    by_tag: dict[str, list[Any]] = {}
    for r in rows:
        by_tag.setdefault(r.tag, []).append(r)
    out: dict[str, Any] = {"day": day.isoformat(), "month": first.isoformat()[:7], "pollutants": {}}
    week_t0 = _local_midnight_ms(week0, plant)
    day_t1 = _local_midnight_ms(day + timedelta(days=1), plant)
    m0 = _local_midnight_ms(first, plant)
    exceed: list[dict[str, Any]] = []
    for p in pollutants(plant):
        rs = by_tag.get(p.tag, [])
        hours = [
            {
                "hour": r.hour,
                "value": r.value,
                "valid": r.valid,
                "flags": r.flags,
                "normal": r.normal,
                "exceedance": r.exceedance,
                "mass_kg": r.mass_kg,
            }
            for r in rs
            if week_t0 <= r.hour < day_t1
        ]
        month_hours = [as_hour(r) for r in rs if m0 <= r.hour < t1]
        days = daily(month_hours, tz, plant.emissions.valid_hours_per_day)
        mass = monthly_mass(days)
        out["pollutants"][p.tag] = {
            "stack": p.stack,
            "limit": p.limit,
            "hours": hours,
            "days": [
                {
                    "day": d.day.isoformat(),
                    "value": d.value,
                    "valid_hours": d.valid_hours,
                    "valid": d.valid,
                    "exceedances": d.exceedances,
                    "mass_kg": d.mass_kg,
                }
                for d in days
            ],
            "mass_kg": sum(mass.values()),
            "hours_judged": len(month_hours),
            "hours_without_mass": sum(d.hours_without_mass for d in days),
        }
        exceed += [
            {"tag": p.tag, "stack": p.stack, "hour": h.start_ms, "value": h.value, "limit": h.limit, "flags": h.flags}
            for h in month_hours
            if h.exceedance
        ]
    out["exceedances"] = sorted(exceed, key=lambda e: (-e["hour"], e["tag"]))
    return out


# --- names and tables ----------------------------------------------------------------------------------


def stack_name(plant: Plant, stack: str, lang: str) -> str:
    for e in plant.equipment:
        if e.id == stack:
            return label(e.name, e.name_zh, lang)
    return stack


def pollutant_name(plant: Plant, tag: str, lang: str) -> str:
    """``STK-MAIN.SO2`` -> "SO2 concentration" / "二氧化硫浓度" from the tag's description (stack name left out)."""
    meas = tag.rsplit(".", 1)[-1]
    key = f"env.pollutant.{meas}"
    text = t(key, lang)
    return meas if text == key else text


def hour_label(ms: int, plant: Plant) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=plant.tz()).strftime("%Y-%m-%d %H:%M")


FLAG_NAMES = {"N": "normal", "M": "maintenance", "C": "calibration", "D": "fault", "-": "missing"}


def flags_text(flags: str, lang: str) -> str:
    """The flags kept with an hour in words ("maintenance, missing data"); empty for a clean hour."""
    if flags == "N":
        return ""
    return t("env.sep", lang).join(t(f"env.flag.{FLAG_NAMES[f]}", lang) if f in FLAG_NAMES else f for f in flags)


def table_rows(data: dict[str, Any], table: str, plant: Plant, lang: str) -> tuple[list[str], list[list[Any]]]:
    """One table of the month as header and rows (numbers as numbers, None for no value)."""
    pols = data.get("pollutants") or {}
    if table == "hours":
        head = ["hour", "stack", "pollutant", "value", "limit", "valid", "flags", "normal_minutes", "mass_kg"]
        rows = [
            [
                hour_label(h["hour"], plant),
                stack_name(plant, p["stack"], lang),
                pollutant_name(plant, tag, lang),
                h["value"],
                p["limit"],
                t("env.yes" if h["valid"] else "env.no", lang),
                flags_text(h["flags"], lang),
                h["normal"],
                h["mass_kg"],
            ]
            for tag, p in pols.items()
            for h in p["hours"]
        ]
    elif table == "days":
        head = ["day", "stack", "pollutant", "value", "limit", "valid_hours", "valid", "exceedances", "mass_kg"]
        rows = [
            [
                d["day"],
                stack_name(plant, p["stack"], lang),
                pollutant_name(plant, tag, lang),
                d["value"],
                p["limit"],
                d["valid_hours"],
                t("env.yes" if d["valid"] else "env.no", lang),
                d["exceedances"],
                d["mass_kg"],
            ]
            for tag, p in pols.items()
            for d in p["days"]
        ]
    elif table == "exceedances":
        head = ["hour", "stack", "pollutant", "value", "limit", "flags"]
        rows = [
            [
                hour_label(e["hour"], plant),
                stack_name(plant, e["stack"], lang),
                pollutant_name(plant, e["tag"], lang),
                e["value"],
                e["limit"],
                flags_text(e["flags"], lang),
            ]
            for e in data.get("exceedances") or []
        ]
    elif table == "mass":
        head = ["month", "stack", "pollutant", "mass_t", "hours_judged", "hours_without_mass"]
        rows = [
            [
                data.get("month"),
                stack_name(plant, p["stack"], lang),
                pollutant_name(plant, tag, lang),
                round(p["mass_kg"] / 1000, 3),
                p["hours_judged"],
                p["hours_without_mass"],
            ]
            for tag, p in pols.items()
        ]
    else:
        raise ViewError("env.bad_table")
    return [t(f"env.col.{h}", lang) for h in head], rows


def export_csv(data: dict[str, Any], table: str, plant: Plant, lang: str) -> bytes:
    head, rows = table_rows(data, table, plant, lang)
    return to_csv(head, rows)


def export_xlsx(data: dict[str, Any], plant: Plant, lang: str) -> bytes:
    """Every table of the view, one sheet each; unknown amounts are empty cells."""
    return to_xlsx(Sheet(t(f"env.table.{table}", lang), *table_rows(data, table, plant, lang)) for table in TABLES)
