"""Equipment performance for the production page and its downloads, cached across screens.

:func:`production_data` reads the state spells and the production counters of a window once per
``DATA_SECONDS`` (shared by every screen asking for that window) and runs the one KPI engine
(``engine.equipment``) over them: per unit, per class (equipment kind) and for the plant; OEE on the units
that count production; the downtime events. :func:`table` turns that into the rows of each table, which
the page shows and the CSV and Excel downloads write, so a number is the same on screen and in a file.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from engine.clock import DATE_MINUTE, format_local
from engine.equipment import (
    MAINTENANCE,
    Downtime,
    available_now,
    pareto,
    unassigned,
)
from engine.plan import product_index
from engine.production import periods
from engine.shifts import day_start
from i18n import label, t
from plant.schema import Plant
from store.db import session_scope
from store.figures import plan_against_actual, product_label, production_figures, reason_labels
from store.plan import versions
from webapp import context as web

DATA_SECONDS = 15
WINDOWS = ("shift", "day", "7d", "30d")
TABLES = ("units", "classes", "shifts", "oee", "downtime", "pareto", "plan")
PARETO_BY = ("minutes", "count", "lost")


class WindowError(ValueError):
    pass


def window_bounds(plant: Plant, now: int, window: str) -> tuple[int, int]:
    """``[t0, t1)`` of a window: the current shift, today (plant time), the last 7 or 30 days."""
    if window == "shift":
        p = periods(plant, now).get("shift")
        if p is not None:
            return p.start_ms, now
        window = "day"
    if window == "day":
        return int(day_start(plant, now).timestamp() * 1000), now
    if window in ("7d", "30d"):
        days = 7 if window == "7d" else 30
        start = day_start(plant, now) - timedelta(days=days - 1)
        return int(start.timestamp() * 1000), now
    raise WindowError(f"unknown window {window!r}")


def production_data(window: str) -> dict[str, Any]:
    """The page's figures for ``window``, computed at most once per ``DATA_SECONDS`` for every screen."""
    if window not in WINDOWS:
        raise WindowError(f"unknown window {window!r}")

    def build() -> dict[str, Any]:
        plant = web.plant()
        now = web.now_ms()
        t0, _ = window_bounds(plant, now, window)
        with session_scope(web.engine()) as session:
            return production_figures(session, plant, t0, now)

    return web.cached(cache_key(window), DATA_SECONDS, build)


def cache_key(window: str) -> str:
    return f"sw:production:{window}"


def forget() -> None:
    """Drop the cached figures (after a reason was assigned, so every screen sees it at its next refresh)."""
    for w in WINDOWS:
        web.cache_delete(cache_key(w))


def availability_now(states: dict[str, str]) -> tuple[int, int]:
    """Units available now / with a known state: the overview's tile and this page use the same function."""
    return available_now(states)


# --- tables: one set of rows for the page and the downloads -----------------------------------------------


def events(data: dict[str, Any]) -> list[Downtime]:
    return [Downtime(**d) for d in data["downtime"]]


def reason_parent(plant: Plant) -> dict[str, str]:
    return {r.id: c.id for c in plant.production.downtime_reasons for r in c.children}


def _num(v: float | None, digits: int = 1) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v:,.{digits}f}"


def _pct(v: float | None) -> str:
    return "" if v is None or not math.isfinite(v) else f"{v * 100:.1f} %"


def kind_label(kind: str, lang: str) -> str:
    key = f"production.kind.{kind}"
    text = t(key, lang)
    return kind.replace("_", " ") if text == key else text


def table(
    data: dict[str, Any], name: str, plant: Plant, lang: str, *, by: str = "minutes", unassigned_only: bool = False
) -> tuple[list[str], list[list[str]]]:
    """(column headings, rows of texts) of one of :data:`TABLES` in ``lang``."""
    names = {e.id: label(e.name, e.name_zh, lang) for e in plant.equipment}
    tz = plant.tz()

    def h(key: str) -> str:
        return t(f"production.col.{key}", lang)

    if name in ("units", "classes"):
        first = [h("unit"), h("class")] if name == "units" else [h("class"), h("count")]
        head = [
            *first,
            h("availability"),
            h("run_h"),
            h("fault_h"),
            h("maintenance_h"),
            h("starts"),
            h("stops"),
            h("failures"),
            h("mtbf_h"),
            h("mttr_h"),
        ]
        rows = []
        for r in data[name]:
            lead = (
                [names.get(r["id"], r["id"]), kind_label(r["kind"], lang)]
                if name == "units"
                else [
                    kind_label(r["kind"], lang),
                    str(r["n"]),
                ]
            )
            rows.append(
                [
                    *lead,
                    _pct(r["availability"]),
                    _num(r["run_h"]),
                    _num(r["state_h"].get("fault")),
                    _num(r["state_h"].get(MAINTENANCE)),
                    str(r["starts"]),
                    str(r["stops"]),
                    str(r["failures"]),
                    _num(r["mtbf_h"]),
                    _num(r["mttr_h"], 2),
                ]
            )
        return head, rows
    if name == "shifts":
        head = [
            h("shift"),
            h("availability"),
            h("run_h"),
            h("fault_h"),
            h("failures"),
            h("mttr_h"),
            h("downtime_min"),
            h("short_stops"),
        ]
        rows = [
            [
                f"{r['day']} {r['shift']}",
                _pct(r["availability"]),
                _num(r["run_h"]),
                _num(r["state_h"].get("fault")),
                str(r["failures"]),
                _num(r["mttr_h"], 2),
                _num(r["downtime_min"], 0),
                str(r["short_stops"]),
            ]
            for r in data["shifts"]
        ]
        return head, rows
    if name == "oee":
        head = [h("unit"), h("availability"), h("performance"), h("basis"), h("quality"), h("oee"), h("produced_t")]
        rows = [
            [
                names.get(r["id"], r["id"]),
                _pct(r["availability"]),
                _pct(r["performance"]),
                t("production.basis.feed" if r["continuous"] else "production.basis.unit_time", lang),
                _pct(r["quality"]),
                _pct(r["oee"]),
                _num(r["produced"]),
            ]
            for r in data["oee"]
        ]
        return head, rows
    reasons = reason_labels(plant, lang)
    if name == "downtime":
        evs = unassigned(events(data)) if unassigned_only else events(data)
        head = [h("unit"), h("state"), h("start"), h("end"), h("minutes"), h("lost_t"), h("reason")]
        rows = [
            [
                names.get(d.equipment, d.equipment),
                t(f"overview.state.{d.state}", lang),
                format_local(d.start_ms, tz, DATE_MINUTE),
                "" if d.end_ms is None else format_local(d.end_ms, tz, DATE_MINUTE),
                _num(d.minutes),
                _num(d.lost),
                reasons.get(d.bucket, d.bucket),
            ]
            for d in evs
        ]
        return head, rows
    if name == "pareto":
        head = [h("reason"), h("minutes"), h("count"), h("lost_t"), h("cumulative")]
        rows = [
            [reasons.get(p.key, p.key), _num(p.minutes), str(p.count), _num(p.lost), _pct(p.cumulative)]
            for p in pareto(events(data), by=by)
        ]
        return head, rows
    raise WindowError(f"unknown table {name!r}")


# --- plan against actual --------------------------------------------------------------------------------

PLAN_SECONDS = 30


def plan_data() -> dict[str, Any]:
    """Plan against actual at every horizon (``store.figures.plan_against_actual``: the year's ended days read
    one kept row a day, today from its hours), computed at most once per ``PLAN_SECONDS`` for every screen."""

    def build() -> dict[str, Any]:
        with session_scope(web.engine()) as session:
            return plan_against_actual(session, web.plant(), web.now_ms())

    return web.cached("sw:production:plan", PLAN_SECONDS, build)


def plan_table(data: dict[str, Any], kind: str, plant: Plant, lang: str) -> tuple[list[str], list[list[str]]]:
    """(headings, rows) of plan against actual for one horizon, in ``lang``."""

    def h(key: str) -> str:
        return t(f"production.col.{key}", lang)

    head = [
        h("product"),
        h("process"),
        h("period"),
        h("plan_full"),
        h("plan_to_date"),
        h("actual"),
        h("completion"),
        h("rate_needed"),
    ]
    process_of = dict(product_index(plant).values())
    rows = []
    for r in data["products"]:
        s = r.get(kind)
        if s is None:
            continue
        title = product_label(r, lang)
        rows.append(
            [
                title,
                _process_label(process_of.get(r["key"], ""), lang),
                s["label"],
                _num(s["plan_full"]),
                _num(s["plan_to_date"]),
                _num(s["actual"]),
                _pct(s["completion"]),
                _num(s["rate_needed"]),
            ]
        )
    return head, rows


def _process_label(process: str, lang: str) -> str:
    key = f"production.process.{process}"
    text = t(key, lang)
    return process.replace("_", " ") if text == key else text


def plan_versions(limit: int = 6) -> list[dict[str, Any]]:
    """The newest plan versions: days covered, targets, when, by whom, from which file."""
    with session_scope(web.engine()) as session:
        return [
            {
                "id": v.id,
                "first_day": v.first_day,
                "last_day": v.last_day,
                "rows": v.rows,
                "ts": v.ts,
                "user": v.user,
                "source": v.source,
            }
            for v in versions(session)[:limit]
        ]


def forget_plan() -> None:
    """Drop the cached plan against actual (after an import, so every screen sees the new version)."""
    web.cache.delete("sw:production:plan")
