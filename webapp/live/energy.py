"""The energy page's data: one medium's meter tree over a period and the one before it, as plain data shared by
every screen asking for the same view (``web.cached``).

Consumption comes from the hourly rollups (``store.energy.consumption``), node values and losses from
``engine.energy.reconcile``; the page turns them into the Sankey, trends and tables in the reader's language,
and the export routes into CSV and Excel.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from engine.baseline import cusum, fit
from engine.clock import to_local
from engine.energy import (
    LOSSES,
    MeterTree,
    PeriodKind,
    max_rates,
    media,
    meter_tree,
    period_of,
    periods,
    reconcile,
    shift_starts,
)
from engine.tables import to_csv
from i18n import label, t
from plant.schema import Medium, Plant
from store import figures
from store.db import session_scope
from store.energy import consumption
from store.tags import tag_ids
from webapp import context as web
from webapp.live.export import Sheet, to_xlsx

logger = logging.getLogger(__name__)
T = TypeVar("T")

ENERGY_SECONDS = 30  # one computation per view per this period, shared by every screen
KINDS = (PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.YEAR)
TREND_OF = figures.TREND_OF
TABLES = (
    "top",
    "balance",
    "shifts",
    "crews",
    "trend",
    "intensity",
    "tou",
    "cost",
    "forecast",
    "backtest",
    "issued",
    "issued_error",
    "cost_plan",
    "tou_periods",
)


class ViewError(ValueError):
    """A request for a view that does not exist (medium, period kind or date); ``key`` is its message's key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_view(plant: Plant, medium: str | None, kind: str | None, day: str | None, now_ms: int) -> dict[str, Any]:
    """The view asked for, checked: medium of the plant, period kind, the anchor date (default today)."""
    have = [m.value for m in media(plant)]
    medium = medium or (have[0] if have else "")
    if medium not in have:
        raise ViewError("energy.bad_medium")
    kind = kind or PeriodKind.DAY.value
    if kind not in {k.value for k in KINDS}:
        raise ViewError("energy.bad_period")
    tz = plant.tz()
    if day:
        try:
            d = date.fromisoformat(str(day)[:10])
        except ValueError:
            raise ViewError("energy.bad_date") from None
        anchor = int(datetime(d.year, d.month, d.day, 12, tzinfo=tz).timestamp() * 1000)
    else:
        anchor = now_ms
    anchor = min(anchor, now_ms)
    return {"medium": medium, "kind": kind, "anchor": anchor}


def build_view(plant: Plant, medium: str, kind: str, anchor: int, now_ms: int) -> dict[str, Any]:
    """Every figure of one view as plain data (``store.figures.energy_view``, which the reports print too)."""
    with session_scope(web.engine()) as session:
        return figures.energy_view(session, plant, medium, kind, anchor, now_ms)


def build_intensity(plant: Plant, t0: int, t1: int) -> list[dict[str, Any]]:
    """The plant file's energy per tonne over ``[t0, t1)`` (``store.figures.energy_intensity``)."""
    with session_scope(web.engine()) as session:
        return figures.energy_intensity(session, plant, t0, t1)


def view_data(medium: str, kind: str, anchor: int) -> dict[str, Any]:
    plant = web.plant()
    now = web.now_ms()
    bucket = now // (ENERGY_SECONDS * 1000)
    return web.cached(
        f"sw:energy:view:{medium}:{kind}:{anchor // 3_600_000}:{bucket}",
        ENERGY_SECONDS,
        lambda: build_view(plant, medium, kind, anchor, now),
    )


def _over_period(what: str, kind: str, anchor: int, build: Callable[[Plant, int, int], T]) -> T:
    """``build(plant, t0, t1)`` over the view's period up to now, shared by every screen for ``ENERGY_SECONDS``
    under the cache key ``sw:energy:{what}:...``."""
    plant = web.plant()
    now = web.now_ms()
    this = period_of(PeriodKind(kind), anchor, plant.tz(), shift_starts(plant))
    bucket = now // (ENERGY_SECONDS * 1000)
    return web.cached(
        f"sw:energy:{what}:{anchor // 3_600_000}:{bucket}",
        ENERGY_SECONDS,
        lambda: build(plant, this[0], min(this[1], now)),
    )


def intensity_data(kind: str, anchor: int) -> list[dict[str, Any]]:
    """Energy per tonne over the view's period (the same for every medium), shared like the view."""
    return _over_period(f"intensity:{kind}", kind, anchor, build_intensity)


def build_tou(plant: Plant, t0: int, t1: int, kind: str) -> dict[str, Any]:
    """Electricity of the site per time-of-use band over ``[t0, t1)``, split by the view's shifts, days or
    months (``store.figures.energy_tou_split``)."""
    with session_scope(web.engine()) as session:
        return figures.energy_tou_split(session, plant, t0, t1, kind)


def tou_data(kind: str, anchor: int) -> dict[str, Any]:
    return _over_period(f"tou:{kind}", kind, anchor, lambda p, t0, t1: build_tou(p, t0, t1, kind))


BASELINE_DAYS = 30  # the baseline is fitted on this many days before the reporting period


def _driver(plant: Plant, medium: str) -> tuple[MeterTree, Any]:
    """The medium's meter tree and the first intensity that uses its meters (whose counters are the production
    its energy is set against), or None."""
    tree = meter_tree(plant, Medium(medium))
    return tree, figures.forecast_driver(plant, tree)


def _daily_energy(
    plant: Plant, tree: MeterTree, counters: list[str], days: list[tuple[int, int]]
) -> tuple[list[float | None], list[float | None]]:
    """Each day's energy and production (``store.figures.daily_energy``)."""
    with session_scope(web.engine()) as session:
        return figures.daily_energy(session, plant, tree, counters, days)


def build_baseline(plant: Plant, medium: str, t0: int, t1: int) -> dict[str, Any]:
    """The ISO 50001 baseline of the medium's site total on production (the counters of the first intensity
    that uses the medium's meters), fitted on the :data:`BASELINE_DAYS` days before ``t0``, and the CUSUM of
    savings over the whole days of ``[t0, t1)``."""
    tree, ki = _driver(plant, medium)
    if ki is None:
        return {"status": "no_driver"}
    tz = plant.tz()
    starts = shift_starts(plant)
    base_days = periods(PeriodKind.DAY, t0 - BASELINE_DAYS * 86_400_000, t0, tz, starts)
    report_days = [
        p for p in periods(PeriodKind.DAY, t0, t1, tz, starts) if p[1] <= t1 and p[1] - p[0] >= 23 * 3_600_000
    ]
    e_base, p_base = _daily_energy(plant, tree, ki.counters, base_days)
    usable = [(e, p) for e, p in zip(e_base, p_base, strict=True) if e is not None and p is not None]
    model = fit([e for e, _ in usable], [[p] for _, p in usable])
    out: dict[str, Any] = {"driver": ki.id, "driver_name": ki.name, "driver_name_zh": ki.name_zh}
    if model is None:
        return out | {"status": "few_days", "n": len(usable)}
    e_rep, p_rep = _daily_energy(plant, tree, ki.counters, report_days)
    keep = [i for i, p in enumerate(p_rep) if p is not None]
    c = cusum(model, [e_rep[i] for i in keep], [[p_rep[i] or 0.0] for i in keep])
    return out | {
        "status": "ok",
        "n": model.n,
        "intercept": model.intercept,
        "slope": model.slopes[0],
        "r2": model.r2,
        "p": model.p_value,
        "cv_rmse": model.cv_rmse,
        "nmbe": model.nmbe,
        "valid": model.valid,
        "reasons": list(model.reasons),
        "days": [report_days[i][0] for i in keep],
        "cusum": c.cusum,
    }


def baseline_data(medium: str, kind: str, anchor: int) -> dict[str, Any]:
    return _over_period(f"baseline:{medium}:{kind}", kind, anchor, lambda p, t0, t1: build_baseline(p, medium, t0, t1))


FORECAST_SECONDS = 600  # one forecast and backtest per medium and plant day per this period


def build_forecast(plant: Plant, medium: str, now_ms: int) -> dict[str, Any]:
    """The medium's forecast and backtest (``store.figures.energy_forecast``)."""
    with session_scope(web.engine()) as session:
        return figures.energy_forecast(session, plant, medium, now_ms)


def build_issued(plant: Plant, medium: str, now_ms: int) -> dict[str, Any]:
    """The issued forecasts of the days before today against what came (``store.figures.issued_vs_actual``)."""
    with session_scope(web.engine()) as session:
        return figures.issued_vs_actual(session, plant, medium, now_ms)


def issued_data(medium: str) -> dict[str, Any]:
    plant = web.plant()
    now = web.now_ms()
    bucket = now // (FORECAST_SECONDS * 1000)
    return web.cached(f"sw:energy:issued:{medium}:{bucket}", FORECAST_SECONDS, lambda: build_issued(plant, medium, now))


def forecast_data(medium: str) -> dict[str, Any]:
    plant = web.plant()
    now = web.now_ms()
    bucket = now // (FORECAST_SECONDS * 1000)
    return web.cached(
        f"sw:energy:forecast:{medium}:{bucket}", FORECAST_SECONDS, lambda: build_forecast(plant, medium, now)
    )


def build_cost(plant: Plant, medium: str, t0: int, t1: int, tou: dict[str, Any] | None = None) -> dict[str, Any]:
    """The medium's cost over ``[t0, t1)``: each day's site total at that day's price (a price period of the
    plant file, else its flat price: a period across a tariff change is priced piecewise), for electricity the
    demand charge on the period's maximum demand (the highest hourly mean, in kW) prorated by the period's share
    of its months, and the cost per tonne of the production that the medium's first intensity counts (over the
    days whose production is known, with their share of the demand charge). Electricity with time-of-use bands
    (``tou``: ``store.figures.energy_tou_split`` of the same period) is priced hour by hour at its band's price
    instead of the day's price, band by band."""
    es = plant.energy
    tree, ki = _driver(plant, medium)
    tz = plant.tz()
    days = periods(PeriodKind.DAY, t0, t1, tz, shift_starts(plant)) if t1 > t0 else []
    energy, made = _daily_energy(plant, tree, ki.counters if ki else [], days)
    cost = 0.0
    unknown = 0
    segments: list[dict[str, Any]] = []
    share = 0.0  # of the months the period covers, for the demand charge
    ok_cost, ok_made, ok_share = 0.0, 0.0, 0.0  # over the days whose cost and production are both known
    by_band = bool(tou and tou.get("bands"))
    for (a, b), e, p in zip(days, energy, made, strict=True):
        day = to_local(a, tz).date()
        price = es.price_on(Medium(medium), day)
        part = (b - a) / 86_400_000 / calendar.monthrange(day.year, day.month)[1]
        share += part
        day_cost = (
            (tou or {}).get("days", {}).get(a) if by_band else (None if e is None or price is None else e * price)
        )
        if day_cost is not None and p is not None:
            ok_cost, ok_made, ok_share = ok_cost + day_cost, ok_made + p, ok_share + part
        if segments and segments[-1]["price"] == price:
            segments[-1]["to"] = day.isoformat()
        else:
            segments.append({"price": price, "from": day.isoformat(), "to": day.isoformat()})
        if e is None or price is None:
            unknown += 1
        else:
            cost += e * price
    if by_band and tou is not None:
        cost = math.fsum(bd["cost"] for bd in tou["bands"])
        unknown = sum(1 for v in tou["days"].values() if v is None)
        segments = []
    out: dict[str, Any] = {
        "bands": tou["bands"] if by_band and tou is not None else [],
        "energy_cost": cost if days and unknown < len(days) else None,
        "unknown_days": unknown,
        "days": len(days),
        "segments": segments,
        "demand_charge": None,
        "driver_name": ki.name if ki else None,
        "driver_name_zh": ki.name_zh if ki else None,
    }
    if medium == Medium.ELECTRICITY.value and es.demand_charge is not None and t1 > t0:
        hours = periods(PeriodKind.HOUR, t0, t1, tz)
        with session_scope(web.engine()) as session:
            ids = tag_ids(session)
            tags = [tg for tg in tree.tags() if tg in ids]
            rates = {ids[tg]: r for tg, r in max_rates(plant).items() if tg in ids}
            got = consumption(session, [ids[tg] for tg in tags], hours, rates)
        peak: tuple[float, int] | None = None
        for i, (a, b) in enumerate(hours):
            vals = [reconcile(tree, {tg: got.values[ids[tg]][i] for tg in tags}).values.get(r) for r in tree.roots]
            if b - a == 3_600_000 and vals and all(v is not None for v in vals):
                kw = math.fsum(v for v in vals if v is not None)  # kWh in one hour: the hour's mean kW
                if peak is None or kw > peak[0]:
                    peak = (kw, a)
        if peak is not None:
            out |= {
                "demand_charge": es.demand_charge,
                "max_kw": peak[0],
                "max_at": peak[1],
                "demand_share": share,
                "demand_cost": peak[0] * es.demand_charge * share,
            }
    total = None if out["energy_cost"] is None else out["energy_cost"] + (out.get("demand_cost") or 0.0)
    demand_ok = (out.get("demand_cost") or 0.0) * (ok_share / share if share else 0.0)
    out |= {
        "total": total,
        "production": ok_made if ok_made else None,
        "production_days": sum(p is not None for p in made),
        "per_t": (ok_cost + demand_ok) / ok_made if ok_made else None,
    }
    return out


def cost_data(medium: str, kind: str, anchor: int) -> dict[str, Any]:
    tou = tou_data(kind, anchor) if medium == Medium.ELECTRICITY.value else None
    return _over_period(f"cost:{medium}:{kind}", kind, anchor, lambda p, t0, t1: build_cost(p, medium, t0, t1, tou))


def build_cost_plan(plant: Plant, medium: str, anchor: int, now_ms: int) -> dict[str, Any]:
    """The cost plan against actual of the view's month (``store.figures.cost_plan_month``)."""
    with session_scope(web.engine()) as session:
        return figures.cost_plan_month(session, plant, medium, anchor, now_ms)


def cost_plan_data(medium: str, anchor: int) -> dict[str, Any]:
    plant = web.plant()
    now = web.now_ms()
    bucket = now // (ENERGY_SECONDS * 1000)
    return web.cached(
        f"sw:energy:costplan:{medium}:{anchor // 3_600_000}:{bucket}",
        ENERGY_SECONDS,
        lambda: build_cost_plan(plant, medium, anchor, now),
    )


def full_view(medium: str, kind: str, anchor: int) -> dict[str, Any]:
    """The view of one medium with the period's energy per tonne and baseline (a new dict: the shared ones stay
    as they are)."""
    return {
        **view_data(medium, kind, anchor),
        "intensity": intensity_data(kind, anchor),
        "baseline": baseline_data(medium, kind, anchor),
        "tou": tou_data(kind, anchor)["bands"],
        "tou_periods": tou_data(kind, anchor),
        "forecast": forecast_data(medium),
        "issued": issued_data(medium),
        "cost": cost_data(medium, kind, anchor),
        "cost_plan": cost_plan_data(medium, anchor),
    }


# --- tables (page and export share them) --------------------------------------------------------------------


def node_name(data: dict[str, Any], nid: str, lang: str) -> str:
    if nid.endswith("/" + LOSSES):
        return t("energy.losses", lang)
    n = data["nodes"].get(nid)
    return label(n["name"], n["name_zh"], lang) if n else nid


def change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return (now - before) / before


def table_rows(data: dict[str, Any], table: str, plant: Plant, lang: str) -> tuple[list[str], list[list[Any]]]:
    """A table of the view as header and rows of plain values (numbers as numbers, None when unknown)."""
    unit, cur = data["unit"], data["currency"]
    tz = plant.tz()
    if table == "top":
        head = [
            t("energy.col.meter", lang),
            f"{t('energy.col.value', lang)} ({unit})",
            f"{t('energy.col.cost', lang)} ({cur})",
            t("energy.col.share", lang),
            f"{t('energy.col.prev', lang)} ({unit})",
            t("energy.col.change", lang),
        ]
        total = data.get("total") or 0.0
        rows = [
            [
                node_name(data, r["id"], lang),
                r["value"],
                r.get("cost"),
                (r["value"] / total) if total else None,
                r["prev"],
                change(r["value"], r["prev"]),
            ]
            for r in data["top"]
        ]
        return head, rows
    if table == "balance":
        head = [
            t("energy.col.parent", lang),
            f"{t('energy.col.metered', lang)} ({unit})",
            f"{t('energy.col.children', lang)} ({unit})",
            f"{t('energy.col.losses', lang)} ({unit})",
            t("energy.col.share", lang),
            t("energy.col.status", lang),
        ]
        rows = []
        for pid, b in data["losses"].items():
            status = (
                "energy.status.unknown"
                if b["share"] is None
                else ("energy.status.flagged" if b["flagged"] else "energy.status.ok")
            )
            rows.append(
                [node_name(data, pid, lang), b["metered"], b["children"], b["value"], b["share"], t(status, lang)]
            )
        return head, rows
    if table == "shifts":
        head = [
            t("energy.col.start", lang),
            t("energy.col.shift", lang),
            f"{t('energy.col.value', lang)} ({unit})",
            f"{t('energy.col.cost', lang)} ({cur})",
        ]
        rows = [
            [to_local(r["start"], tz).strftime("%Y-%m-%d %H:%M"), r["shift"], r["value"], r.get("cost")]
            for r in data["shifts"]
        ]
        return head, rows
    if table == "crews":
        head = [
            t("energy.col.crew", lang),
            t("energy.col.shifts_worked", lang),
            f"{t('energy.col.value', lang)} ({unit})",
            f"{t('energy.col.production', lang)} (t)",
            f"{t('energy.col.intensity', lang)} ({unit}/t)",
            t("energy.col.vs_crews", lang),
            f"{t('energy.col.cost', lang)} ({cur})",
            t("energy.col.unknown_shifts", lang),
        ]
        rows = [
            [
                label(c["name"] or c["crew"], c["name_zh"], lang),
                c["shifts"],
                c["energy"],
                c["production"],
                c["intensity"],
                c["vs_all"],
                c["cost"],
                c["unknown"],
            ]
            for c in data.get("crews") or []
        ]
        return head, rows
    if table == "cost":
        return [t("energy.cost.item", lang), t("energy.cost.amount", lang)], cost_rows(data, plant, lang)
    if table == "forecast":
        f = data.get("forecast") or {}
        head = [
            t("energy.forecast.day", lang),
            t("energy.forecast.plan", lang),
            f"{t('energy.forecast.value', lang)} ({unit})",
            f"{t('energy.forecast.low', lang)} ({unit})",
            f"{t('energy.forecast.high', lang)} ({unit})",
        ]
        return head, [[d["day"], d["plan"], d["value"], d["low"], d["high"]] for d in f.get("days") or []]
    if table == "backtest":
        f = data.get("forecast") or {}
        head = [
            t("energy.forecast.horizon_days", lang),
            t("energy.forecast.n", lang),
            "MAPE",
            f"RMSE ({unit})",
            t("energy.forecast.mase", lang),
            t("energy.forecast.coverage", lang),
        ]
        hs = (f.get("backtest") or {}).get("horizons") or []
        return head, [[h["horizon"], h["n"], h["mape"], h["rmse"], h["mase"], h["coverage"]] for h in hs]
    if table == "tou_periods":
        tp = data.get("tou_periods") or {}
        bands = tp.get("bands") or []
        head = [t(f"energy.tou.split.{tp.get('split', 'day')}", lang)]
        for bd in bands:
            band = label(bd["name"], bd["name_zh"], lang)
            head += [f"{band} (kWh)", f"{band} ({cur})"]
        head += [
            f"{t('energy.col.value', lang)} (kWh)",
            f"{t('energy.col.cost', lang)} ({cur})",
            t("energy.col.unknown_h", lang),
        ]
        out_rows = []
        for r in tp.get("periods") or []:
            row: list[Any] = [r["label"]]
            for bd in bands:
                row += [r["bands"][bd["id"]]["kwh"], r["bands"][bd["id"]]["cost"]]
            out_rows.append([*row, r["kwh"], r["cost"], r["unknown_h"]])
        return head, out_rows
    if table == "cost_plan":
        cp = data.get("cost_plan") or {}
        head = [
            t("energy.col.meter", lang),
            f"{t('energy.plan.plan_qty', lang)} ({unit})",
            f"{t('energy.plan.plan_price', lang)} ({cur}/{unit})",
            f"{t('energy.plan.plan_cost', lang)} ({cur})",
            f"{t('energy.plan.actual_qty', lang)} ({unit})",
            f"{t('energy.plan.actual_price', lang)} ({cur}/{unit})",
            f"{t('energy.plan.actual_cost', lang)} ({cur})",
            f"{t('energy.plan.variance', lang)} ({cur})",
            f"{t('energy.plan.volume', lang)} ({cur})",
            f"{t('energy.plan.price', lang)} ({cur})",
        ]
        keys = (
            "plan_qty",
            "plan_price",
            "plan_cost",
            "actual_qty",
            "actual_price",
            "actual_cost",
            "variance",
            "volume",
            "price",
        )
        prices = {"plan_price", "actual_price"}  # shown like the tariff's prices, not rounded to 0.1

        def cell(r: dict[str, Any], k: str) -> Any:
            v = r.get(k)
            return f"{v:.4g}" if k in prices and v is not None else v

        return head, [[node_name(data, r["meter"], lang), *[cell(r, k) for k in keys]] for r in cp.get("rows") or []]
    if table == "issued":
        iss = data.get("issued") or {}
        head = [
            t("energy.forecast.day", lang),
            t("energy.issued.at", lang),
            t("energy.forecast.horizon_days", lang),
            f"{t('energy.forecast.value', lang)} ({unit})",
            f"{t('energy.forecast.low', lang)} ({unit})",
            f"{t('energy.forecast.high', lang)} ({unit})",
            f"{t('energy.issued.actual', lang)} ({unit})",
            t("energy.issued.error", lang),
            t("energy.issued.model", lang),
        ]
        return head, [
            [
                r["target_day"],
                to_local(r["issued_at"], tz).strftime("%Y-%m-%d %H:%M"),
                r["horizon"],
                r["value"],
                r["low"],
                r["high"],
                r["actual"],
                r["error"],
                r["model"],
            ]
            for r in iss.get("rows") or []
        ]
    if table == "issued_error":
        iss = data.get("issued") or {}
        head = [
            t("energy.forecast.horizon_days", lang),
            t("energy.forecast.n", lang),
            "MAPE",
            f"RMSE ({unit})",
            t("energy.forecast.coverage", lang),
        ]
        hs = iss.get("horizons") or []
        return head, [[h["horizon"], h["n"], h["mape"], h["rmse"], h["coverage"]] for h in hs]
    if table == "tou":
        head = [
            t("energy.col.band", lang),
            t("energy.col.hours", lang),
            f"{t('energy.col.value', lang)} (kWh)",
            f"{t('energy.col.price', lang)} ({cur}/kWh)",
            f"{t('energy.col.cost', lang)} ({cur})",
            t("energy.col.share", lang),
            t("energy.col.unknown_h", lang),
        ]
        rows_t = data.get("tou") or []
        total = math.fsum(r["cost"] for r in rows_t)
        return head, [
            [
                label(r["name"], r["name_zh"], lang),
                r["hours"],
                r["kwh"],
                f"{r['price']:.4g}",
                r["cost"],
                r["cost"] / total if total else None,
                r["unknown_h"],
            ]
            for r in rows_t
        ]
    if table == "intensity":
        head = [
            t("energy.col.kpi", lang),
            t("energy.col.energy", lang),
            t("energy.col.production", lang),
            t("energy.col.intensity", lang),
            t("energy.col.limit", lang),
            t("energy.col.status", lang),
            t("energy.col.basis", lang),
        ]
        rows = []
        for k in data.get("intensity") or []:
            energy_unit = k["unit"].removesuffix("/t")
            status = (
                "energy.status.unknown"
                if k["value"] is None
                else ("energy.status.over" if k["over"] else "energy.status.ok")
            )
            basis = t(f"energy.basis.{k['basis']}", lang) if k["basis"] else ""
            rows.append(
                [
                    label(k["name"], k["name_zh"], lang),
                    f"{k['energy']:,.0f} {energy_unit}" if k["energy"] is not None else None,
                    f"{k['production']:,.0f} t" if k["production"] is not None else None,
                    f"{k['value']:,.1f} {k['unit']}" if k["value"] is not None else None,
                    f"{k['limit']:,.0f} {k['unit']}" if k["limit"] is not None else "",
                    t(status, lang),
                    "; ".join(x for x in (basis, k["limit_source"]) if x),
                ]
            )
        return head, rows
    if table == "trend":
        head = [
            t("energy.col.start", lang),
            f"{t('energy.col.value', lang)} ({unit})",
            f"{t('energy.col.cost', lang)} ({cur})",
        ]
        tr = data["trend"]
        rows = [
            [to_local(s, tz).strftime("%Y-%m-%d %H:%M"), v, c]
            for s, v, c in zip(tr["starts"], tr["values"], tr["costs"], strict=True)
        ]
        return head, rows
    raise ViewError("energy.bad_table")


def cost_rows(data: dict[str, Any], plant: Plant, lang: str) -> list[list[Any]]:
    """The cost of the view as (item, amount) rows: the prices and their days, the energy cost, the demand
    charge, the total and the cost per tonne (plain values; None when unknown)."""
    c = data.get("cost") or {}
    unit, cur = data["unit"], data["currency"]
    rows: list[list[Any]] = []
    for bd in c.get("bands") or []:
        band = label(bd["name"], bd["name_zh"], lang)
        rows.append(
            [
                t("energy.cost.band", lang, band=band, kwh=f"{bd['kwh']:,.0f}", price=f"{bd['price']:.4g}", cur=cur),
                bd["cost"],
            ]
        )
    for seg in c.get("segments") or []:
        days = seg["from"] if seg["from"] == seg["to"] else f"{seg['from']} – {seg['to']}"
        price = None if seg["price"] is None else f"{seg['price']:.4g}"
        rows.append([t("energy.cost.price", lang, days=days, unit=f"{cur}/{unit}"), price])
    rows.append([t("energy.cost.energy", lang, cur=cur), c.get("energy_cost")])
    if c.get("unknown_days"):
        rows.append([t("energy.cost.unknown_days", lang), c["unknown_days"]])
    if c.get("demand_charge") is not None:
        at = to_local(c["max_at"], plant.tz()).strftime("%Y-%m-%d %H:%M")
        rows.append([t("energy.cost.max_kw", lang, at=at), c["max_kw"]])
        rows.append([t("energy.cost.demand_rate", lang, cur=cur), f"{c['demand_charge']:.4g}"])
        rows.append([t("energy.cost.demand", lang, cur=cur, share=f"{c['demand_share']:.2f}"), c["demand_cost"]])
    rows.append([t("energy.cost.total", lang, cur=cur), c.get("total")])
    if c.get("driver_name"):
        driver = label(c["driver_name"], c.get("driver_name_zh"), lang)
        n = c.get("production_days", 0)
        rows.append([t("energy.cost.production", lang, driver=driver, n=n, days=c.get("days", 0)), c.get("production")])
        rows.append([t("energy.cost.per_t", lang, cur=cur), c.get("per_t")])
    return rows


def export_csv(data: dict[str, Any], table: str, plant: Plant, lang: str) -> bytes:
    head, rows = table_rows(data, table, plant, lang)
    return to_csv(head, rows)


def export_xlsx(data: dict[str, Any], plant: Plant, lang: str) -> bytes:
    """Every table of the view, one sheet each; unknown amounts are empty cells."""
    return to_xlsx(
        Sheet(t(f"energy.table.{table}", lang), *table_rows(data, table, plant, lang), first_width=36)
        for table in TABLES
    )
