"""The figures of a period that the screens show and the reports print, from one place.

Energy (a medium's meter tree over a period and the one before it, energy per tonne, electricity by time-of-use
band) and equipment performance (per unit, per class and for the plant, OEE, downtime events) as plain data.
The web tier's live builders cache them per view (``webapp.live.energy``, ``webapp.live.production``), the
reports (``reports``) print them for any past period: a number is the same on screen and in a report.
Functions take a session and never commit.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import to_local
from engine.energy import (
    LOSSES,
    MeterTree,
    PeriodKind,
    cost_variance,
    group_costs,
    hour_prices,
    intensities,
    max_rates,
    media,
    meter_tree,
    node_values,
    period_of,
    periods,
    reconcile,
    reconcile_series,
    series_cost,
    shift_starts,
    tou_split,
)
from engine.equipment import (
    HOUR_MS,
    Downtime,
    EquipmentKpi,
    StateSpan,
    combine,
    downtime_events,
    equipment_kpi,
    oee,
)
from engine.forecast import (
    FORECAST_DAYS,
    HISTORY_DAYS,
    MODEL,
    WINDOW,
    backtest,
    forecast,
    inputs_version,
    issued_errors,
)
from engine.plan import plan_report
from engine.production import periods as running_periods
from engine.shifts import crew_of, shift_windows
from i18n import label, t
from plant.schema import EquipmentKind, Medium, MeterLevel, Plant, TagKind
from store.counters import counter_increase
from store.energy import consumption
from store.equipment import state_spans
from store.forecasts import Issued, add_issue, first_issues, has_issue
from store.models import PlanVersion
from store.plan import plan_in_force, product_days, product_tags
from store.tags import tag_ids

SITE = "__site__"  # the sum of a meter tree's roots, among its nodes' hourly series
MAX_SHIFTS = 21  # shifts shown by shift (a week of three shifts)
# Batch units: their OEE performance is ISO 22400-2's effectiveness (planned unit time x produced / APT);
# every other unit with a counter runs continuously and shows actual feed rate against design rate.
BATCH_KINDS = {EquipmentKind.CASTING_WHEEL, EquipmentKind.CONVERTER, EquipmentKind.ANODE_FURNACE}


TREND_OF = {
    PeriodKind.SHIFT: PeriodKind.HOUR,
    PeriodKind.DAY: PeriodKind.HOUR,
    PeriodKind.WEEK: PeriodKind.DAY,
    PeriodKind.MONTH: PeriodKind.DAY,
    PeriodKind.YEAR: PeriodKind.MONTH,
}


def _names(plant: Plant, tree: MeterTree) -> dict[str, dict[str, Any]]:
    return {
        nid: {
            "name": n.name,
            "name_zh": n.name_zh,
            "level": n.level.value if n.level else None,
            "parent": n.parent,
            "tag": n.tag,
        }
        for nid, n in tree.nodes.items()
    }


def energy_view(session: Session, plant: Plant, medium: str, kind: str, anchor: int, now_ms: int) -> dict[str, Any]:
    """Every figure of one view as plain data (see the module docstring)."""
    tree = meter_tree(plant, Medium(medium))
    tz = plant.tz()
    pk = PeriodKind(kind)
    starts = shift_starts(plant)
    this = period_of(pk, anchor, tz, starts)
    end = min(this[1], now_ms)
    prev = period_of(pk, this[0] - 1, tz, starts)
    prev_end = min(prev[1], prev[0] + (end - this[0]))  # the same length of the previous period, to compare
    trend_kind = TREND_OF[pk]
    threshold = plant.energy.reconciliation_threshold
    ids = tag_ids(session)
    tags = [tg for tg in tree.tags() if tg in ids]
    rates = {ids[tg]: r for tg, r in max_rates(plant).items() if tg in ids}
    tid = [ids[tg] for tg in tags]
    whole = consumption(session, tid, [(this[0], end)], rates) if end > this[0] else None
    same_prev = consumption(session, tid, [(prev[0], prev_end)], rates) if prev_end > prev[0] else None
    full_prev = consumption(session, tid, [prev], rates)
    trend = consumption(session, tid, periods(trend_kind, this[0], end, tz, starts), rates) if end > this[0] else None
    trend_prev = consumption(session, tid, periods(trend_kind, prev[0], prev[1], tz, starts), rates)
    shifts = (
        consumption(session, tid, periods(PeriodKind.SHIFT, this[0], end, tz, starts), rates) if end > this[0] else None
    )

    def readings(c: Any, i: int) -> dict[str, float | None]:
        return {tg: (c.values.get(ids[tg]) or [None] * (i + 1))[i] if c is not None else None for tg in tags}

    now_flows = reconcile(tree, readings(whole, 0), threshold)
    prev_flows = reconcile(tree, readings(same_prev, 0), threshold)
    full_flows = reconcile(tree, readings(full_prev, 0), threshold)

    def root_total(flows: Any) -> float | None:
        vals = [flows.values.get(r) for r in tree.roots]
        return None if not vals or any(v is None for v in vals) else math.fsum(vals)

    def series(c: Any) -> tuple[list[int], list[float | None]]:
        if c is None:
            return [], []
        out: list[float | None] = []
        for i in range(len(c.periods)):
            out.append(root_total(reconcile(tree, readings(c, i), threshold)))
        return [p[0] for p in c.periods], out

    t_starts, t_values = series(trend)
    p_starts, p_values = series(trend_prev)
    es = plant.energy
    node_ids = [*tree.nodes, *(f"{p}/{LOSSES}" for p, n in tree.nodes.items() if n.tag and n.children)]

    def priced(t0: int, t1: int) -> tuple[list[int], list[float | None], dict[str, Any]]:
        # every node's (and the site's) use hour by hour with each hour's price: the one pricing of the page
        if t1 <= t0:
            return [], [], {}
        hours = periods(PeriodKind.HOUR, t0, t1, tz)
        c = consumption(session, tid, hours, rates)
        per = reconcile_series(tree, {tg: c.values.get(ids[tg]) or [None] * len(hours) for tg in tags}, len(hours))
        per[SITE] = np.sum([per[r] for r in tree.roots], axis=0) if tree.roots else np.full(len(hours), np.nan)
        starts_h = [a for a, _ in hours]
        return starts_h, hour_prices(es, tree.medium, starts_h, tz), per

    h_now, pr_now, per_now = priced(this[0], end)
    h_prev, pr_prev, per_prev = priced(prev[0], prev[1])

    def costs(
        hours: list[int], prices: list[float | None], per: dict[str, Any], nid: str, groups: list[int]
    ) -> list[float | None]:
        if not hours or not groups:
            return [None] * len(groups)
        vals = [None if math.isnan(v) else float(v) for v in per[nid]]
        return [g.cost for g in group_costs(hours, vals, prices, groups)]

    price_now = np.array([np.nan if p is None else p for p in pr_now], dtype=float)
    node_cost = {n: series_cost(per_now[n], price_now) if h_now else None for n in node_ids}
    total_cost = costs(h_now, pr_now, per_now, SITE, [this[0]])[0]
    t_costs = costs(h_now, pr_now, per_now, SITE, t_starts)
    p_costs = costs(h_prev, pr_prev, per_prev, SITE, p_starts)
    shift_rows: list[dict[str, Any]] = []
    shift_costs = costs(h_now, pr_now, per_now, SITE, [a for a, _ in shifts.periods]) if shifts is not None else []
    if shifts is not None:
        for i, (a, b) in enumerate(shifts.periods):
            local = to_local(a, tz)
            minute = local.hour * 60 + local.minute
            sid = next((s.id for s in plant.site.shifts if s.start.hour * 60 + s.start.minute == minute), "?")
            shift_rows.append(
                {
                    "start": a,
                    "end": b,
                    "shift": sid,
                    "value": root_total(reconcile(tree, readings(shifts, i), threshold)),
                    "cost": shift_costs[i],
                }
            )
    _shift_production(session, plant, tree, shifts, shift_rows, rates)
    nodes = _names(plant, tree)
    for nid, info in nodes.items():
        info["value"] = now_flows.values.get(nid)
        info["prev"] = prev_flows.values.get(nid) if prev_flows is not None else None
        info["cost"] = node_cost.get(nid)
    losses = {
        pid: {
            "metered": b.metered,
            "children": b.children,
            "value": b.unaccounted,
            "share": b.share,
            "flagged": b.flagged,
            "missing": list(b.missing),
            "cost": node_cost.get(f"{pid}/{LOSSES}"),
        }
        for pid, b in now_flows.balances.items()
    }
    leaf_level = MeterLevel.EQUIPMENT.value
    top = sorted(
        (
            {"id": nid, "value": n["value"], "prev": n["prev"], "cost": n["cost"]}
            for nid, n in nodes.items()
            if n["level"] == leaf_level and n["value"] is not None
        ),
        key=lambda r: -(r["value"] or 0.0),
    )
    return {
        "medium": medium,
        "unit": tree.unit,
        "currency": plant.energy.currency,
        "price": plant.energy.prices.get(Medium(medium)),
        "kind": kind,
        "trend_kind": trend_kind.value,
        "period": [this[0], end],
        "period_end": this[1],
        "previous": [prev[0], prev_end],
        "total": root_total(now_flows),
        "energy_cost": total_cost,  # the period's use priced hour by hour (as the cost table prices it)
        "total_prev": root_total(prev_flows) if prev_flows is not None else None,
        "total_prev_full": root_total(full_flows),
        "roots": list(tree.roots),
        "nodes": nodes,
        "losses": losses,
        "threshold": threshold,
        "trend": {
            "starts": t_starts,
            "values": t_values,
            "prev_starts": p_starts,
            "prev": p_values,
            "costs": t_costs,
            "prev_costs": p_costs,
        },
        "shifts": shift_rows,
        "crews": crew_rows(plant, shift_rows),
        "top": top,
    }


def _shift_production(
    session: Session, plant: Plant, tree: MeterTree, shifts: Any, rows: list[dict[str, Any]], rates: dict[int, float]
) -> None:
    """Each shift row's production (``made``, t): the counters of the medium's first intensity (its forecast
    driver, :func:`forecast_driver`); None when a counter is unknown or the medium has no driver."""
    ki = forecast_driver(plant, tree)
    ids = tag_ids(session)
    counters = [c for c in ki.counters if c in ids] if ki is not None else []
    got = consumption(session, [ids[c] for c in counters], list(shifts.periods), rates) if counters and rows else None
    for i, r in enumerate(rows):
        vals = [got.values[ids[c]][i] for c in counters] if got is not None else []
        r["made"] = None if not vals or any(v is None for v in vals) else math.fsum(v for v in vals if v is not None)


def crew_rows(plant: Plant, shift_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shifts of a view summed per crew (``engine.shifts.crew_of``: the plant file's rota, else the crew
    of the shift's id): shifts worked, energy and cost (of the shifts whose use is known), production, energy
    per tonne over the shifts whose energy and production are both known, and that intensity against all
    crews' (``vs_all``: +0.05 is 5 % above)."""
    tz = plant.tz()
    out: dict[str, dict[str, Any]] = {}
    for r in shift_rows:
        if r["shift"] not in {s.id for s in plant.site.shifts}:
            continue
        cid, name, name_zh = crew_of(plant, r["shift"], to_local(r["start"], tz).date())
        c = out.setdefault(
            cid,
            {
                "crew": cid,
                "name": name,
                "name_zh": name_zh,
                "shifts": 0,
                "unknown": 0,
                "energy": 0.0,
                "cost": None,
                "production": None,
                "both_e": 0.0,
                "both_p": 0.0,
            },
        )
        c["shifts"] += 1
        v, made, cost = r["value"], r.get("made"), r.get("cost")
        if v is None:
            c["unknown"] += 1
            continue
        c["energy"] += v
        if cost is not None:
            c["cost"] = (c["cost"] or 0.0) + cost
        if made is not None:
            c["production"] = (c["production"] or 0.0) + made
            c["both_e"] += v
            c["both_p"] += made
    rows = sorted(out.values(), key=lambda c: c["crew"])
    all_e = math.fsum(c["both_e"] for c in rows)
    all_p = math.fsum(c["both_p"] for c in rows)
    overall = all_e / all_p if all_p > 0 else None
    for c in rows:
        e, p = c.pop("both_e"), c.pop("both_p")
        c["intensity"] = e / p if p > 0 else None
        c["vs_all"] = c["intensity"] / overall - 1 if c["intensity"] is not None and overall else None
        if c["energy"] == 0.0 and c["unknown"] == c["shifts"]:
            c["energy"] = None
    return rows


def energy_intensity(session: Session, plant: Plant, t0: int, t1: int) -> list[dict[str, Any]]:
    """The plant file's energy per tonne over ``[t0, t1)``: every meter of every medium and the counters."""
    if t1 <= t0 or not plant.energy.intensities:
        return []
    return meter_period(session, plant, t0, t1)[1]


def meter_period(
    session: Session, plant: Plant, t0: int, t1: int
) -> tuple[dict[str, float | None], list[dict[str, Any]]]:
    """Every meter node's value over ``[t0, t1)`` (:func:`engine.energy.node_values`, by meter id) and the plant
    file's intensities (as :func:`energy_intensity`), from one read of every meter and counter."""
    if t1 <= t0:
        return {}, []
    counters = sorted({c for ki in plant.energy.intensities for c in ki.counters})
    ids = tag_ids(session)
    meter_tags = [m.tag for m in plant.meters if m.tag and m.tag in ids]
    rates = {ids[tg]: r for tg, r in max_rates(plant).items() if tg in ids}
    got = consumption(session, [ids[tg] for tg in meter_tags + counters if tg in ids], [(t0, t1)], rates)
    readings = {tg: (got.values.get(ids[tg]) or [None])[0] for tg in meter_tags}
    production = {c: (got.values.get(ids[c]) or [None])[0] if c in ids else None for c in counters}
    nodes = node_values(plant, readings)
    return nodes, [dataclasses.asdict(v) for v in intensities(plant, nodes, production)]


# the periods the time-of-use cost is split into, per view: a day by shift, a week or month by day, a year by month
TOU_SPLIT_OF = {
    PeriodKind.SHIFT: PeriodKind.SHIFT,
    PeriodKind.DAY: PeriodKind.SHIFT,
    PeriodKind.WEEK: PeriodKind.DAY,
    PeriodKind.MONTH: PeriodKind.DAY,
    PeriodKind.YEAR: PeriodKind.MONTH,
}


def energy_tou_split(session: Session, plant: Plant, t0: int, t1: int, kind: str = "day") -> dict[str, Any]:
    """Electricity of the site over ``[t0, t1)`` with every hour's use priced by its time-of-use band
    (``engine.energy.tou_split``): the bands, the split by the view's shifts, days or months
    (:data:`TOU_SPLIT_OF`, with their labels), and the cost of each day (``days``: day start -> cost, None
    when an hour of it is unknown) for the cost per tonne."""
    bands = plant.energy.tou
    out: dict[str, Any] = {"bands": [], "periods": [], "days": {}, "split": TOU_SPLIT_OF[PeriodKind(kind)].value}
    if not bands or t1 <= t0 or Medium.ELECTRICITY not in media(plant):
        return out
    tree = meter_tree(plant, Medium.ELECTRICITY)
    tz = plant.tz()
    starts = shift_starts(plant)
    hours = periods(PeriodKind.HOUR, t0, t1, tz)
    ids = tag_ids(session)
    tags = [tg for tg in tree.tags() if tg in ids]
    rates = {ids[tg]: r for tg, r in max_rates(plant).items() if tg in ids}
    got = consumption(session, [ids[tg] for tg in tags], hours, rates)
    kwh: list[float | None] = []
    for i in range(len(hours)):
        vals = [reconcile(tree, {tg: got.values[ids[tg]][i] for tg in tags}).values.get(r) for r in tree.roots]
        kwh.append(None if any(v is None for v in vals) else math.fsum(v for v in vals if v is not None))
    starts_h = [a for a, _ in hours]
    split = TOU_SPLIT_OF[PeriodKind(kind)]
    groups = [a for a, _ in periods(split, t0, t1, tz, starts)]
    out["bands"], rows = tou_split(starts_h, kwh, bands, tz, groups)
    for r in rows:
        local = to_local(r["start"], tz)
        if split == PeriodKind.SHIFT:
            minute = local.hour * 60 + local.minute
            sid = next((s.id for s in plant.site.shifts if s.start.hour * 60 + s.start.minute == minute), "")
            r["label"] = f"{local:%Y-%m-%d %H:%M} {sid}".strip()
        else:
            r["label"] = f"{local:%Y-%m}" if split == PeriodKind.MONTH else f"{local:%Y-%m-%d}"
    out["periods"] = rows
    day_starts = [a for a, _ in periods(PeriodKind.DAY, t0, t1, tz, starts)]
    _, days = tou_split(starts_h, kwh, bands, tz, day_starts)
    out["days"] = {d["start"]: (None if d["unknown_h"] else d["cost"]) for d in days}
    return out


# --- cost plan ---


def priced_nodes(
    session: Session, plant: Plant, tree: MeterTree, nids: list[str], t0: int, t1: int
) -> dict[str, dict[str, Any]]:
    """What each node in ``nids`` used over ``[t0, t1)`` and what it cost: electricity hour by hour at its
    time-of-use band's price when the plant file has bands, any other medium (or electricity without bands) day
    by day at the day's price (``EnergySettings.price_on``). ``{nid: {"qty", "cost", "unknown"}}``; qty and cost
    leave out the unknown hours or days (counted in ``unknown``), cost is None without a price."""
    es = plant.energy
    tz = plant.tz()
    by_tou = tree.medium == Medium.ELECTRICITY and bool(es.tou)
    spans = periods(PeriodKind.HOUR if by_tou else PeriodKind.DAY, t0, t1, tz, shift_starts(plant)) if t1 > t0 else []
    out: dict[str, dict[str, Any]] = {n: {"qty": 0.0, "cost": 0.0, "unknown": 0} for n in nids}
    if not spans:
        return out
    ids = tag_ids(session)
    tags = [tg for tg in tree.tags() if tg in ids]
    rates = {ids[tg]: r for tg, r in max_rates(plant).items() if tg in ids}
    got = consumption(session, [ids[tg] for tg in tags], spans, rates)
    band_price = {h: b.price for b in es.tou for h in b.hour_set()}
    for i, (a, _) in enumerate(spans):
        local = to_local(a, tz)
        price = band_price.get(local.hour) if by_tou else es.price_on(tree.medium, local.date())
        flows = reconcile(tree, {tg: got.values[ids[tg]][i] for tg in tags})
        for n in nids:
            v = flows.values.get(n)
            row = out[n]
            if v is None:
                row["unknown"] += 1
                continue
            row["qty"] += v
            row["cost"] = None if price is None or row["cost"] is None else row["cost"] + v * price
    return out


def cost_plan_month(session: Session, plant: Plant, medium: str, anchor: int, now_ms: int) -> dict[str, Any]:
    """The cost plan against actual of the month holding ``anchor`` for the medium's planned meters
    (``energy.cost_plan``): per meter plan quantity, price and cost, actual quantity, price and cost, the
    variance and its volume and price effects (``engine.energy.cost_variance``). A month still running is set
    against the plan prorated by the share of the month gone by."""
    tree = meter_tree(plant, Medium(medium))
    tz = plant.tz()
    m0, m1 = period_of(PeriodKind.MONTH, anchor, tz, shift_starts(plant))
    month = to_local(m0, tz).strftime("%Y-%m")
    plans = [cp for cp in plant.energy.cost_plan if cp.month == month and cp.meter in tree.nodes]
    end = min(m1, now_ms)
    share = max(0.0, min(1.0, (end - m0) / (m1 - m0)))
    out: dict[str, Any] = {"month": month, "share": share, "unit": tree.unit, "rows": []}
    if not plans or end <= m0:
        return out
    got = priced_nodes(session, plant, tree, [cp.meter for cp in plans], m0, end)
    for cp in plans:
        g = got[cp.meter]
        n = tree.nodes[cp.meter]
        row: dict[str, Any] = {"meter": cp.meter, "name": n.name, "name_zh": n.name_zh, "unknown": g["unknown"]}
        if g["cost"] is None:
            out["rows"].append(row | {"plan_qty": cp.quantity * share, "plan_price": cp.price})
            continue
        row |= dataclasses.asdict(cost_variance(cp.quantity * share, cp.price, g["qty"], g["cost"]))
        out["rows"].append(row)
    return out


# --- forecast ---

DAY_MS = 86_400_000
ISSUED_DAYS = 30  # the issued forecasts judged on the page: those of the days before today, this many


def daily_energy(
    session: Session, plant: Plant, tree: MeterTree, counters: list[str], days: list[tuple[int, int]]
) -> tuple[list[float | None], list[float | None]]:
    """Each day's energy (the sum of the tree's roots, reconciled) and production (the sum of ``counters``);
    None where a meter or counter is unknown."""
    if not days:
        return [], []
    ids = tag_ids(session)
    tags = [tg for tg in tree.tags() if tg in ids]
    known = [c for c in counters if c in ids]
    rates = {ids[tg]: r for tg, r in max_rates(plant).items() if tg in ids}
    c = consumption(session, [ids[tg] for tg in tags + known], days, rates)
    energy: list[float | None] = []
    made: list[float | None] = []
    for i in range(len(c.periods)):
        readings = {tg: c.values[ids[tg]][i] for tg in tags}
        vals = [reconcile(tree, readings).values.get(r) for r in tree.roots]
        energy.append(None if any(v is None for v in vals) else math.fsum(v for v in vals if v is not None))
        got = [c.values[ids[cn]][i] for cn in known]
        made.append(None if not got or any(v is None for v in got) else math.fsum(v for v in got if v is not None))
    return energy, made


def plan_per_day(session: Session, counters: list[str], first: date, last: date) -> dict[date, float]:
    """The plan of the products the ``counters`` count (a product is a counter's last name part, as
    ``store.plan.product_tags`` has it), per day: a day's target or the sum of its shift targets."""
    products = {c.rsplit(".", 1)[-1].lower() for c in counters}
    plan = plan_in_force(session, first, last)
    out: dict[date, float] = {}
    for product in products & set(plan):
        for d, by_shift in plan[product].items():
            out[d] = out.get(d, 0.0) + (by_shift[""] if "" in by_shift else math.fsum(by_shift.values()))
    return out


def forecast_driver(plant: Plant, tree: MeterTree) -> Any:
    """The intensity whose counters drive the medium's forecast: the first that uses the tree's meters."""
    return next((k for k in plant.energy.intensities if any(m in tree.nodes for m in k.meters)), None)


def _forecast_days(
    session: Session, plant: Plant, medium: str, now_ms: int, history_days: int
) -> dict[str, Any] | None:
    tree = meter_tree(plant, Medium(medium))
    ki = forecast_driver(plant, tree)
    if ki is None:
        return None
    tz = plant.tz()
    starts = shift_starts(plant)
    today = period_of(PeriodKind.DAY, now_ms, tz, starts)
    past = periods(PeriodKind.DAY, today[0] - history_days * DAY_MS, today[0], tz, starts)
    coming = periods(PeriodKind.DAY, today[0], today[0] + FORECAST_DAYS * DAY_MS - 1, tz, starts)
    energy, made = daily_energy(session, plant, tree, ki.counters, past)
    days = [to_local(a, tz).date() for a, _ in past + coming]
    plan = plan_per_day(session, ki.counters, days[0], days[-1]) if days else {}
    past_plan = [plan.get(d) for d in days[: len(past)]]
    next_plan = [plan.get(d) for d in days[len(past) :]]
    return {
        "tree": tree,
        "ki": ki,
        "coming": coming,
        "coming_days": days[len(past) :],
        "energy": energy,
        "made": made,
        "past_plan": past_plan,
        "next_plan": next_plan,
        "points": forecast(energy, made, next_plan),
    }


def energy_forecast(session: Session, plant: Plant, medium: str, now_ms: int) -> dict[str, Any]:
    """The medium's site total forecast for today and the coming days from the production plan
    (``engine.forecast``), and the backtest of the same model over the :data:`HISTORY_DAYS` days before
    today, with the stored plan of each past day as its input where there is one."""
    f = _forecast_days(session, plant, medium, now_ms, HISTORY_DAYS)
    if f is None:
        return {"status": "no_driver"}
    ki, points, next_plan, past_plan = f["ki"], f["points"], f["next_plan"], f["past_plan"]
    bt = backtest(f["energy"], f["made"], past_plan)
    out: dict[str, Any] = {"driver": ki.id, "driver_name": ki.name, "driver_name_zh": ki.name_zh}
    return out | {
        "status": "ok" if any(p is not None for p in points) else ("no_plan" if not any(next_plan) else "few_days"),
        "unit": f["tree"].unit,
        "days": [
            {
                "day": d.isoformat(),
                "plan": pl,
                "value": pt.value if pt else None,
                "low": pt.low if pt else None,
                "high": pt.high if pt else None,
            }
            for d, pl, pt in zip(f["coming_days"], next_plan, points, strict=True)
        ],
        "backtest": {
            "origins": bt.origins,
            "plan_days": sum(p is not None for p in past_plan),
            "judged": bt.judged,
            "beats_naive": bt.beats_naive,
            "horizons": [dataclasses.asdict(h) for h in bt.horizons],
        },
    }


def forecast_meter(tree: MeterTree) -> str:
    """The name an issued forecast gives what it forecasts: the tree's roots (their sum), "+" joined."""
    return "+".join(tree.roots)[:200]


def issue_forecasts(session: Session, plant: Plant, now_ms: int, *, again: bool = False) -> int:
    """Issue today's forecast of every medium with a driver (``energy_forecast``), unless one was issued on
    this plant day already (``again``: issue a new version all the same). Only the last :data:`WINDOW` days
    are read: the model is fitted on them. Returns the number of forecasts stored (none: no plan, too little
    history, or issued already)."""
    tz = plant.tz()
    issue_day = to_local(period_of(PeriodKind.DAY, now_ms, tz, shift_starts(plant))[0], tz).date().isoformat()
    stored = 0
    for m in media(plant):
        tree = meter_tree(plant, m)
        meter = forecast_meter(tree)
        if forecast_driver(plant, tree) is None or (not again and has_issue(session, m.value, meter, issue_day)):
            continue
        f = _forecast_days(session, plant, m.value, now_ms, WINDOW)
        if f is None:
            continue
        rows = [
            Issued(d.isoformat(), a, b, i + 1, pt.value, pt.low, pt.high, pl)
            for i, (d, (a, b), pl, pt) in enumerate(
                zip(f["coming_days"], f["coming"], f["next_plan"], f["points"], strict=True)
            )
            if pt is not None
        ]
        if not rows:
            continue
        first, last = f["coming_days"][0].isoformat(), f["coming_days"][-1].isoformat()
        plan_version = session.scalar(
            select(func.max(PlanVersion.id)).where(PlanVersion.first_day <= last, PlanVersion.last_day >= first)
        )
        add_issue(
            session,
            medium=m.value,
            meter=meter,
            issue_day=issue_day,
            issued_at=now_ms,
            unit=tree.unit,
            driver=f["ki"].id,
            model=MODEL,
            inputs=inputs_version(f["energy"], f["made"], f["next_plan"]),
            plan_version=plan_version,
            rows=rows,
        )
        stored += len(rows)
    return stored


def issued_vs_actual(
    session: Session, plant: Plant, medium: str, now_ms: int, days: int = ISSUED_DAYS
) -> dict[str, Any]:
    """The forecasts issued for the :data:`ISSUED_DAYS` days before today (the first version of each: what was
    said before the day, never a later one) against each day's actual site total, and their real error per
    horizon (``engine.forecast.issued_errors``)."""
    tree = meter_tree(plant, Medium(medium))
    tz = plant.tz()
    starts = shift_starts(plant)
    today = period_of(PeriodKind.DAY, now_ms, tz, starts)
    past = periods(PeriodKind.DAY, today[0] - days * DAY_MS, today[0], tz, starts)
    if not past:
        return {"rows": [], "horizons": [], "unit": tree.unit}
    first = to_local(past[0][0], tz).date().isoformat()
    last = to_local(past[-1][0], tz).date().isoformat()
    issued = first_issues(session, medium, first, last)
    if not issued:
        return {"rows": [], "horizons": [], "unit": tree.unit}
    wanted = sorted({r.target_day for r in issued})
    spans = [p for p in past if to_local(p[0], tz).date().isoformat() in wanted]
    actual: dict[str, float | None] = {}
    # the actual day totals, read over contiguous runs of the judged days
    run: list[tuple[int, int]] = []
    for p in [*spans, None]:
        if p is not None and (not run or run[-1][1] == p[0]):
            run.append(p)
            continue
        if run:
            energy, _ = daily_energy(session, plant, tree, [], run)
            for (a, _), e in zip(run, energy, strict=True):
                actual[to_local(a, tz).date().isoformat()] = e
        run = [p] if p is not None else []
    rows: list[dict[str, Any]] = []
    for r in issued:
        got = actual.get(r.target_day)
        rows.append(
            {
                "target_day": r.target_day,
                "issued_at": r.issued_at,
                "horizon": r.horizon,
                "value": r.value,
                "low": r.low,
                "high": r.high,
                "actual": got,
                "error": None if got is None or not got else (r.value - got) / got,
                "inside": None if got is None else r.low <= got <= r.high,
                "model": r.model,
                "version": r.version,
            }
        )
    known = [(r["horizon"], r["value"], r["low"], r["high"], r["actual"]) for r in rows if r["actual"] is not None]
    return {
        "rows": rows,
        "horizons": [dataclasses.asdict(h) for h in issued_errors(known)],
        "unit": tree.unit,
        "days": days,
    }


# --- equipment ---


def units(plant: Plant) -> list[Any]:
    """The units with a state tag, in plant-file order."""
    with_state = {t.equipment for t in plant.tags if t.kind == TagKind.STATE and t.equipment}
    return [e for e in plant.equipment if e.id in with_state]


def reason_labels(plant: Plant, lang: str) -> dict[str, str]:
    """Downtime reason and category id -> its name in ``lang`` ("Mechanical / Pump seal leak" for a reason), with
    the unassigned and short stops: the production page and the reports name a reason alike."""
    out: dict[str, str] = {
        "unassigned": t("production.unassigned", lang),
        "short_stop": t("production.short_stop", lang),
    }
    for c in plant.production.downtime_reasons:
        cat = label(c.name, c.name_zh, lang)
        out[c.id] = cat
        for r in c.children:
            out[r.id] = f"{cat} / {label(r.name, r.name_zh, lang)}"
    return out


def product_label(product: dict[str, Any], lang: str) -> str:
    """A plan product's name in ``lang`` (a row of ``engine.plan.plan_report``: key, name, name_zh): the
    translation of its key where there is one, else the plant file's name."""
    key = f"kpi.product.{product['key']}"
    text = t(key, lang)
    return label(product["name"], product["name_zh"], lang) if text == key else text


def _kpi_dict(k: EquipmentKpi) -> dict[str, Any]:
    return {
        "run_h": k.run_ms / HOUR_MS,
        "state_h": {s: v / HOUR_MS for s, v in k.state_ms.items()},
        "pbt_h": k.planned_busy_ms / HOUR_MS,
        "availability": k.availability,
        "starts": k.starts,
        "stops": k.stops,
        "failures": k.failures,
        "restorations": k.restorations,
        "mtbf_h": k.mtbf_h,
        "mttr_h": k.mttr_h,
    }


def compute(plant: Plant, spans: dict[str, list[Any]], produced: dict[str, float], t0: int, now: int) -> dict[str, Any]:
    """Every figure of the page from the spells and the amounts counted per unit (pure apart from the plant)."""
    kinds = {e.id: e.kind for e in plant.equipment}
    rates: dict[str, float] = defaultdict(float)
    for tag in plant.tags:
        if tag.kind == TagKind.COUNTER and tag.equipment and tag.unit == "t":
            rates[tag.equipment] += float(tag.nominal or 0.0)
    unit_rows = []
    kpis: dict[str, EquipmentKpi] = {}
    for e in units(plant):
        k = equipment_kpi(e.id, spans.get(e.id, []), t0, now, now)
        kpis[e.id] = k
        unit_rows.append({"id": e.id, "name": e.name, "name_zh": e.name_zh, "kind": e.kind.value, **_kpi_dict(k)})
    by_kind: dict[str, list[EquipmentKpi]] = defaultdict(list)
    for e in units(plant):
        by_kind[e.kind.value].append(kpis[e.id])
    class_rows = [{"kind": kind, "n": len(ks), **_kpi_dict(combine(kind, ks))} for kind, ks in by_kind.items()]
    class_rows.sort(key=lambda r: r["kind"])
    total = _kpi_dict(combine("plant", list(kpis.values())))
    oee_rows = []
    for e in units(plant):
        if e.id not in rates or rates[e.id] <= 0:
            continue
        continuous = e.kind not in BATCH_KINDS
        o = oee(kpis[e.id], produced.get(e.id, 0.0), rates[e.id], continuous=continuous)
        oee_rows.append(
            {
                "id": e.id,
                "name": e.name,
                "name_zh": e.name_zh,
                "continuous": continuous,
                "produced": o.produced,
                "design_rate": rates[e.id],
                "availability": o.availability,
                "performance": o.effectiveness,
                "quality": o.quality,
                "oee": o.oee,
            }
        )
    events: list[Downtime] = []
    for eq, ss in spans.items():
        if eq in kinds:
            events += downtime_events(
                ss, t0, now, now, short_stop_minutes=plant.production.short_stop_minutes, design_rates=dict(rates)
            )
    events.sort(key=lambda d: (-d.start_ms, d.equipment))
    shift_rows = []
    for sid, day, s0, s1 in shift_windows(plant, t0, now)[-MAX_SHIFTS:]:
        k = combine("plant", [equipment_kpi(e, spans.get(e, []), s0, s1, now) for e in kpis])
        evs = [d for d in events if d.start_ms < s1 and (d.end_ms is None or d.end_ms > s0)]
        shift_rows.append(
            {
                "shift": sid,
                "day": day,
                "start_ms": s0,
                **_kpi_dict(k),
                "downtime_min": math.fsum(
                    StateSpan(d.equipment, d.state, d.start_ms, d.end_ms).clipped(s0, min(s1, now)) / 60_000
                    for d in evs
                    if not d.short
                ),
                "short_stops": sum(1 for d in evs if d.short and s0 <= d.start_ms < s1),
            }
        )
    return {
        "t0": t0,
        "now_ms": now,
        "units": unit_rows,
        "classes": class_rows,
        "total": total,
        "oee": oee_rows,
        "shifts": shift_rows[::-1],
        "downtime": [
            {
                "event_id": d.event_id,
                "equipment": d.equipment,
                "state": d.state,
                "start_ms": d.start_ms,
                "end_ms": d.end_ms,
                "minutes": d.minutes,
                "reason": d.reason,
                "lost": d.lost,
                "short": d.short,
            }
            for d in events
        ],
    }


def production_figures(session: Session, plant: Plant, t0: int, now: int) -> dict[str, Any]:
    """Equipment performance over ``[t0, now)``: the state spells and the amounts counted per unit, then
    :func:`compute` (the production page's figures for a window, a report's for its period)."""
    counters = [t for t in plant.tags if t.kind == TagKind.COUNTER and t.equipment and t.unit == "t"]
    spans = state_spans(session, t0, now + 1)
    ids = tag_ids(session)
    got = counter_increase(session, [ids[c.id] for c in counters if c.id in ids], t0, now)
    produced: dict[str, float] = defaultdict(float)
    for c in counters:
        if c.id in ids and ids[c.id] in got and c.equipment:
            produced[c.equipment] += got[ids[c.id]]
    return compute(plant, spans, dict(produced), t0, now)


def product_amounts(session: Session, plant: Plant, t0: int, t1: int) -> dict[str, float]:
    """product -> amount its counters counted in ``[t0, t1]`` (``store.counters``, exact at the edges)."""
    tags = product_tags(plant)
    ids = tag_ids(session)
    wanted = {name: ids[name] for names in tags.values() for name in names if name in ids}
    got = counter_increase(session, list(wanted.values()), t0, t1)
    return {p: math.fsum(got.get(wanted[n], 0.0) for n in names if n in wanted) for p, names in tags.items()}


# --- plan against actual ---


def year_actual(session: Session, plant: Plant, now: int) -> dict[str, dict[date, float]]:
    """product -> plant day -> amount counted, for the plant year holding ``now`` up to ``now`` (the ended days
    one kept row a day and counter, ``store.counter_days``; today from its hours)."""
    year = to_local(now, plant.tz()).year
    return product_days(session, plant, date(year, 1, 1), date(year, 12, 31), now)


def plan_against_actual(
    session: Session, plant: Plant, now: int, actual: dict[str, dict[date, float]] | None = None
) -> dict[str, Any]:
    """Plan against actual for every product at every horizon as at ``now`` (``engine.plan.plan_report``): the
    plan in force for the year, the amounts per day (:func:`year_actual`, or ``actual`` when the caller has
    read them) and the running shift's (``store.counters``, exact at its edges). The production page, the
    overview's tiles and the reports all take it from here."""
    year = to_local(now, plant.tz()).year
    plan = plan_in_force(session, date(year, 1, 1), date(year, 12, 31))
    days = year_actual(session, plant, now) if actual is None else actual
    shift = running_periods(plant, now).get("shift")
    shift_got = product_amounts(session, plant, shift.start_ms, now) if shift is not None else {}
    return plan_report(plant, plan, days, shift_got, now)
