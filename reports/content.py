"""A report's content: the figures of a past period as tables and charts in the reader's language.

Every number comes from the function a screen uses for the same figure: equipment and energy from
``store.figures`` (the production and energy pages' builders), plan against actual from
``engine.plan.plan_report`` (the production page's plan table), alarms from ``store.alarm_kpi.alarm_kpis``
(the alarm KPI page), violations and musters from ``store.people``, stack emissions from the judged hours
(``store.emissions``). Texts are built here from structured fields, in the language asked for; person names
only when ``named`` (executives' reports carry counts, never names).
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from engine.alarm_text import plant_names
from engine.clock import DATE_MINUTE, format_local
from engine.energy import PeriodKind, media
from engine.equipment import MAINTENANCE, Downtime, pareto
from engine.hidden_dangers import on_time as hd_on_time
from engine.hidden_dangers import overdue as hd_overdue
from i18n import label, t
from plant.schema import Plant
from reports.period import Kind, Period
from store import figures
from store.alarm_kpi import alarm_kpis
from store.emissions import hours_between
from store.events import events_between
from store.hidden_dangers import reported_before
from store.people import MUSTER, SYSTEM, Access, viewer_for, violations_between
from store.permits import overlapping
from store.tags import keep_tag_ids

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000


@dataclass
class Table:
    key: str  # stable id: the sheet of a workbook, the CSV block
    title: str
    header: list[str]  # units in the headings
    rows: list[list[Any]]  # numbers as numbers (None: empty)


@dataclass
class Chart:
    key: str
    title: str
    kind: str  # bar | line
    labels: list[str]
    series: Sequence[tuple[str, Sequence[float | None]]]
    unit: str = ""


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    kind: str
    period: str
    lang: str
    named: bool
    title: str
    plant_name: str
    period_label: str
    generated: str  # local time it was made, text
    sections: list[Section]
    values: dict[str, float | None]  # key figures by stable name (templates' named cells, tests)


def _f(v: Any) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _pct(v: Any) -> float | None:
    x = _f(v)
    return None if x is None else 100 * x  # full precision: files and templates round as they show it


def shift_name(plant: Plant, shift_id: str, lang: str) -> str:
    shift = next((s for s in plant.site.shifts if s.id == shift_id), None)
    if shift is None:
        return shift_id
    return label(shift.name or t("report.shift_named", lang, id=shift.id), shift.name_zh, lang)


def period_label(plant: Plant, p: Period, lang: str) -> str:
    if p.kind == Kind.SHIFT and p.shift:
        return t("report.period.shift", lang, day=p.day.isoformat(), shift=shift_name(plant, p.shift, lang))
    if p.kind == Kind.DAY:
        return t("report.period.day", lang, day=p.day.isoformat())
    return t("report.period.month", lang, year=p.day.year, month=f"{p.day.month:02d}")


def _days(p: Period) -> list[date]:
    out = []
    d = p.day
    while True:
        out.append(d)
        d += timedelta(days=1)
        if p.kind != Kind.MONTH or d.month != p.day.month:
            return out


# --- sections ----------------------------------------------------------------------------------------------


def production_section(
    session: Session, plant: Plant, p: Period, lang: str, values: dict[str, float | None]
) -> Section:
    """Plan against actual at the period's horizon (the production page's ``plan_report``, as at the period's
    last millisecond) and, for a month, the amounts of each day."""
    sec = Section("production", t("report.section.production", lang))
    end = p.t1 - 1
    actual = figures.year_actual(session, plant, end)
    rep = figures.plan_against_actual(session, plant, end, actual)
    horizon = {Kind.SHIFT: "shift", Kind.DAY: "day", Kind.MONTH: "month"}[p.kind]
    rows = []
    chart_labels: list[str] = []
    plan_vals: list[float | None] = []
    act_vals: list[float | None] = []
    for r in rep["products"]:
        s = r.get(horizon)
        if s is None:
            continue
        name = figures.product_label(r, lang)
        rows.append([name, r["unit"], _f(s["plan_to_date"]), _f(s["actual"]), _pct(s["completion"])])
        chart_labels.append(name)
        plan_vals.append(_f(s["plan_to_date"]))
        act_vals.append(_f(s["actual"]))
        values[f"production.{r['key']}.actual"] = _f(s["actual"])
        values[f"production.{r['key']}.plan"] = _f(s["plan_to_date"])
        values[f"production.{r['key']}.completion_pct"] = _pct(s["completion"])
    sec.tables.append(
        Table(
            "plan",
            t("report.plan_vs_actual", lang),
            [
                t("report.col.product", lang),
                t("report.col.unit", lang),
                t("report.col.plan", lang),
                t("report.col.actual", lang),
                t("report.col.completion_pct", lang),
            ],
            rows,
        )
    )
    if rows:
        sec.charts.append(
            Chart(
                "plan",
                t("report.plan_vs_actual", lang),
                "bar",
                chart_labels,
                [(t("report.col.plan", lang), plan_vals), (t("report.col.actual", lang), act_vals)],
            )
        )
    else:
        sec.notes.append(t("report.no_plan", lang))
    if p.kind == Kind.MONTH:
        days = _days(p)
        head = [t("report.col.day", lang)]
        keys = sorted(actual)
        for k in keys:
            nm = t(f"kpi.product.{k}", lang)
            head.append(f"{k if nm == f'kpi.product.{k}' else nm} (t)")
        daily_rows = [[d.isoformat(), *[_f(actual.get(k, {}).get(d)) for k in keys]] for d in days]
        sec.tables.append(Table("daily", t("report.daily_production", lang), head, daily_rows))
        if keys:
            sec.charts.append(
                Chart(
                    "daily",
                    t("report.daily_production", lang),
                    "line",
                    [d.strftime("%d") for d in days],
                    [(head[i + 1], [_f(r[i + 1]) for r in daily_rows]) for i in range(len(keys))][:4],
                    "t",
                )
            )
    return sec


def equipment_section(session: Session, plant: Plant, p: Period, lang: str, values: dict[str, float | None]) -> Section:
    """Availability, OEE and downtime by reason (the production page's ``store.figures.production_figures``)."""
    sec = Section("equipment", t("report.section.equipment", lang))
    data = figures.production_figures(session, plant, p.t0, p.t1)
    names = {e.id: label(e.name, e.name_zh, lang) for e in plant.equipment}
    total = data["total"]
    values["equipment.availability_pct"] = _pct(total["availability"])
    values["equipment.failures"] = _f(total["failures"])
    h = t
    sec.tables.append(
        Table(
            "units",
            t("report.availability", lang),
            [
                h("production.col.unit", lang),
                f"{h('production.col.availability', lang)} (%)",
                h("production.col.run_h", lang),
                h("production.col.fault_h", lang),
                h("production.col.maintenance_h", lang),
                h("production.col.failures", lang),
                h("production.col.mtbf_h", lang),
                h("production.col.mttr_h", lang),
            ],
            [
                [
                    names.get(r["id"], r["id"]),
                    _pct(r["availability"]),
                    _f(r["run_h"]),
                    _f(r["state_h"].get("fault")),
                    _f(r["state_h"].get(MAINTENANCE)),
                    r["failures"],
                    _f(r["mtbf_h"]),
                    _f(r["mttr_h"]),
                ]
                for r in data["units"]
            ],
        )
    )
    sec.charts.append(
        Chart(
            "availability",
            t("report.availability", lang),
            "bar",
            [names.get(r["id"], r["id"]) for r in data["units"]][:16],
            [(t("production.col.availability", lang), [_pct(r["availability"]) for r in data["units"]][:16])],
            "%",
        )
    )
    if data["oee"]:
        sec.tables.append(
            Table(
                "oee",
                "OEE",
                [
                    h("production.col.unit", lang),
                    f"{h('production.col.availability', lang)} (%)",
                    f"{h('production.col.performance', lang)} (%)",
                    f"{h('production.col.quality', lang)} (%)",
                    "OEE (%)",
                    h("production.col.produced_t", lang),
                ],
                [
                    [
                        names.get(r["id"], r["id"]),
                        _pct(r["availability"]),
                        _pct(r["performance"]),
                        _pct(r["quality"]),
                        _pct(r["oee"]),
                        _f(r["produced"]),
                    ]
                    for r in data["oee"]
                ],
            )
        )
    if p.kind == Kind.DAY and data["shifts"]:
        sec.tables.append(
            Table(
                "shifts",
                t("report.by_shift", lang),
                [
                    t("report.col.shift", lang),
                    f"{h('production.col.availability', lang)} (%)",
                    h("production.col.run_h", lang),
                    h("production.col.failures", lang),
                    h("production.col.downtime_min", lang),
                    h("production.col.short_stops", lang),
                ],
                [
                    [
                        shift_name(plant, r["shift"], lang),
                        _pct(r["availability"]),
                        _f(r["run_h"]),
                        r["failures"],
                        _f(r["downtime_min"]),
                        r["short_stops"],
                    ]
                    for r in sorted(data["shifts"], key=lambda r: r["start_ms"])
                ],
            )
        )
    reasons = figures.reason_labels(plant, lang)
    events = [Downtime(**d) for d in data["downtime"]]
    par = pareto(events, by="minutes")
    sec.tables.append(
        Table(
            "downtime",
            t("report.downtime_by_reason", lang),
            [
                h("production.col.reason", lang),
                h("production.col.minutes", lang),
                h("production.col.count", lang),
                h("production.col.lost_t", lang),
                f"{h('production.col.cumulative', lang)} (%)",
            ],
            [[reasons.get(r.key, r.key), _f(r.minutes), r.count, _f(r.lost), _pct(r.cumulative)] for r in par],
        )
    )
    values["equipment.downtime_min"] = math.fsum(r.minutes for r in par) if par else 0.0
    if par:
        sec.charts.append(
            Chart(
                "pareto",
                t("report.downtime_by_reason", lang),
                "bar",
                [reasons.get(r.key, r.key) for r in par][:10],
                [(t("production.col.minutes", lang), [_f(r.minutes) for r in par][:10])],
                "min",
            )
        )
    return sec


def energy_section(session: Session, plant: Plant, p: Period, lang: str, values: dict[str, float | None]) -> Section:
    """Consumption per medium (the energy page's ``store.figures.energy_view``), energy per tonne and the
    electricity cost by time-of-use band."""
    sec = Section("energy", t("report.section.energy", lang))
    pk = {Kind.SHIFT: PeriodKind.SHIFT, Kind.DAY: PeriodKind.DAY, Kind.MONTH: PeriodKind.MONTH}[p.kind]
    rows = []
    daily_cols: list[tuple[str, dict[int, Any]]] = []
    for m in media(plant):
        view = figures.energy_view(session, plant, m.value, pk.value, p.t0, p.t1)
        name = t(f"overview.medium.{m.value}", lang)
        total = _f(view["total"])
        values[f"energy.{m.value}"] = total
        cost = _f(view.get("energy_cost"))  # priced hour by hour (time-of-use bands), as the energy page
        values[f"energy.{m.value}.cost"] = cost
        rows.append([name, view["unit"], total, _f(view["total_prev"]), None if cost is None else round(cost, 2)])
        tr = view["trend"]
        if p.kind == Kind.MONTH:
            daily_cols.append((f"{name} ({view['unit']})", dict(zip(tr["starts"], tr["values"], strict=True))))
        if tr["values"]:
            tz = plant.tz()
            fmt = "%H" if p.kind != Kind.MONTH else "%d"
            sec.charts.append(
                Chart(
                    f"trend.{m.value}",
                    f"{name} ({view['unit']})",
                    "bar" if p.kind == Kind.MONTH else "line",
                    [format_local(s, tz, fmt) for s in tr["starts"]],
                    [(name, [_f(v) for v in tr["values"]])],
                    view["unit"],
                )
            )
    cur = plant.energy.currency
    if daily_cols:
        starts = sorted({s for _, col in daily_cols for s in col})
        sec.tables.append(
            Table(
                "daily",
                t("report.energy_by_day", lang),
                [t("report.col.day", lang), *[h for h, _ in daily_cols]],
                [[format_local(s, plant.tz(), "%Y-%m-%d"), *[_f(col.get(s)) for _, col in daily_cols]] for s in starts],
            )
        )
    sec.tables.append(
        Table(
            "media",
            t("report.consumption", lang),
            [
                t("report.col.medium", lang),
                t("report.col.unit", lang),
                t("report.col.total", lang),
                t("report.col.previous", lang),
                f"{t('report.col.cost', lang)} ({cur})",
            ],
            rows,
        )
    )
    inten = figures.energy_intensity(session, plant, p.t0, p.t1)
    if inten:
        sec.tables.append(
            Table(
                "intensity",
                t("report.intensity", lang),
                [t("report.col.indicator", lang), t("report.col.value", lang), t("report.col.unit", lang)],
                [
                    [label(r.get("name", r.get("id", "")), r.get("name_zh"), lang), _f(r.get("value")), r.get("unit")]
                    for r in inten
                ],
            )
        )
        for r in inten:
            values[f"intensity.{r.get('id')}"] = _f(r.get("value"))
    split = figures.energy_tou_split(session, plant, p.t0, p.t1, pk.value)
    tou = split["bands"]
    if tou:
        sec.tables.append(
            Table(
                "tou",
                t("report.tou", lang),
                [
                    t("report.col.band", lang),
                    t("report.col.hours", lang),
                    t("report.col.kwh", lang),
                    f"{t('report.col.price', lang)} ({cur}/kWh)",
                    f"{t('report.col.cost', lang)} ({cur})",
                ],
                [
                    [label(r["name"], r["name_zh"], lang), r["hours"], _f(r["kwh"]), _f(r["price"]), _f(r["cost"])]
                    for r in tou
                ],
            )
        )
        values["energy.tou_cost"] = math.fsum(r["cost"] for r in tou)
        sec.charts.append(
            Chart(
                "tou",
                t("report.tou", lang),
                "bar",
                [label(r["name"], r["name_zh"], lang) for r in tou],
                [(f"{t('report.col.cost', lang)} ({cur})", [_f(r["cost"]) for r in tou])],
                cur,
            )
        )
        if p.kind != Kind.SHIFT:  # a shift is one row: the table above
            sec.tables.append(tou_periods_table(split, cur, lang))
    if p.kind == Kind.MONTH:
        sec.tables += cost_plan_tables(session, plant, p, lang, values)
    return sec


def tou_periods_table(split: dict[str, Any], cur: str, lang: str) -> Table:
    """The electricity cost of each shift (a day's report) or day (a month's) by time-of-use band
    (``store.figures.energy_tou_split``, the energy page's split)."""
    bands = split["bands"]
    return Table(
        "tou_periods",
        t(f"report.tou_by.{split['split']}", lang),
        [
            t(f"energy.tou.split.{split['split']}", lang),
            *[f"{label(b['name'], b['name_zh'], lang)} ({cur})" for b in bands],
            t("report.col.kwh", lang),
            f"{t('report.col.cost', lang)} ({cur})",
            t("energy.col.unknown_h", lang),
        ],
        [
            [r["label"], *[_f(r["bands"][b["id"]]["cost"]) for b in bands], _f(r["kwh"]), _f(r["cost"]), r["unknown_h"]]
            for r in split["periods"]
        ],
    )


def cost_plan_tables(
    session: Session, plant: Plant, p: Period, lang: str, values: dict[str, float | None]
) -> list[Table]:
    """The month's cost plan against actual per planned meter of every medium (``store.figures.cost_plan_month``,
    the energy page's table), the variance split into its volume and price effects."""
    cur = plant.energy.currency
    rows: list[list[Any]] = []
    for m in media(plant):
        cp = figures.cost_plan_month(session, plant, m.value, p.t0, p.t1)
        for r in cp["rows"]:
            rows.append(
                [
                    f"{label(r['name'], r.get('name_zh'), lang)} ({cp['unit']})",
                    _f(r.get("plan_qty")),
                    _f(r.get("plan_cost")),
                    _f(r.get("actual_qty")),
                    _f(r.get("actual_cost")),
                    _f(r.get("variance")),
                    _f(r.get("volume")),
                    _f(r.get("price")),
                ]
            )
    if not rows:
        return []
    values["energy.cost_plan.variance"] = math.fsum(r[5] or 0.0 for r in rows)
    return [
        Table(
            "cost_plan",
            t("report.cost_plan", lang, cur=cur),  # the currency in the title: the headings fit a page's width
            [
                t("report.col.meter", lang),
                t("energy.plan.plan_qty", lang),
                t("energy.plan.plan_cost", lang),
                t("energy.plan.actual_qty", lang),
                t("energy.plan.actual_cost", lang),
                t("energy.plan.variance", lang),
                t("energy.plan.volume", lang),
                t("energy.plan.price", lang),
            ],
            rows,
        )
    ]


def alarm_section(session: Session, p: Period, now_ms: int, lang: str, values: dict[str, float | None]) -> Section:
    """ISA-18.2 figures and the top bad actors (the alarm KPI page's ``store.alarm_kpi.alarm_kpis``)."""
    sec = Section("alarms", t("report.section.alarms", lang))
    k = alarm_kpis(session, p.t0, p.t1, max(now_ms, p.t1))
    main = k.rate[0] if k.rate else None
    values["alarms.total"] = float(k.total)
    values["alarms.average_per_10min"] = _f(k.average_per_10min)
    values["alarms.peak_per_10min"] = float(k.peak_per_10min)
    sec.tables.append(
        Table(
            "isa",
            t("report.isa", lang),
            [t("report.col.indicator", lang), t("report.col.value", lang), t("report.col.target", lang)],
            [
                [t("report.alarm.total", lang), k.total, None],
                [t("report.alarm.average", lang), _f(round(k.average_per_10min, 3)), k.target_per_10min],
                [t("report.alarm.peak", lang), k.peak_per_10min, k.flood_per_10min],
                [t("report.alarm.over_target_pct", lang), _pct(main.share_over_target) if main else None, None],
                [t("report.alarm.flood_pct", lang), _pct(main.share_in_flood) if main else None, 1],
                [t("report.alarm.floods", lang), len(k.floods), None],
                [t("report.alarm.chattering", lang), len(k.chattering), 0],
                [t("report.alarm.standing", lang), len(k.standing), None],
            ],
        )
    )
    sec.tables.append(
        Table(
            "priority",
            t("report.priorities", lang),
            [
                t("report.col.priority", lang),
                t("report.col.count", lang),
                t("report.col.share_pct", lang),
                t("report.col.target_pct", lang),
            ],
            [
                [t(f"alarm.priority.{c.priority}", lang), c.count, _pct(c.share), _pct(c.target)]
                for c in k.priority_counts
            ],
        )
    )
    sec.tables.append(
        Table(
            "bad_actors",
            t("report.bad_actors", lang),
            [
                t("report.col.alarm", lang),
                t("report.col.priority", lang),
                t("report.col.count", lang),
                t("report.col.share_pct", lang),
            ],
            [[b.alarm_id, t(f"alarm.priority.{b.priority}", lang), b.count, _pct(b.share)] for b in k.top_bad_actors],
        )
    )
    if main and main.buckets:
        step = max(1, len(main.buckets) // 48)
        tz_labels = [str(i) for i in range(0, len(main.buckets), step)]
        counts: list[float | None] = []
        for i in range(0, len(main.buckets), step):
            counts.append(float(max(main.counts[i : i + step])))
        sec.charts.append(
            Chart(
                "rate",
                t("report.alarm.rate_chart", lang),
                "line",
                tz_labels,
                [(t("report.alarm.peak", lang), counts)],
                "/10 min",
            )
        )
    if k.priority_counts:
        sec.charts.append(
            Chart(
                "priority",
                t("report.priorities", lang),
                "bar",
                [t(f"alarm.priority.{c.priority}", lang) for c in k.priority_counts],
                [(t("report.col.count", lang), [float(c.count) for c in k.priority_counts])],
            )
        )
    if k.top_bad_actors:
        sec.charts.append(
            Chart(
                "bad_actors",
                t("report.bad_actors", lang),
                "bar",
                [b.alarm_id for b in k.top_bad_actors][:10],
                [(t("report.col.count", lang), [float(b.count) for b in k.top_bad_actors][:10])],
            )
        )
    return sec


def safety_section(
    session: Session, plant: Plant, p: Period, lang: str, named: bool, values: dict[str, float | None]
) -> Section:
    """Personnel rule violations, musters and stack emissions of the period. Without ``named`` no badge,
    no person and no free text (which may carry names) is printed."""
    sec = Section("safety", t("report.section.safety", lang))
    viewer = SYSTEM if named else viewer_for(Access.COUNTS)
    seen: dict[int, Any] = {}
    for day0 in range(p.t0, p.t1, DAY_MS):  # the store answers a day at a time (its playback window)
        for v in violations_between(session, day0, min(day0 + DAY_MS, p.t1) - 1, viewer, limit=20_000):
            seen.setdefault(v.id, v)
    vs = sorted(seen.values(), key=lambda v: (v.start_ms, v.id))
    values["safety.violations"] = float(len(vs))
    by_rule = Counter(v.rule for v in vs)
    by_sev = Counter(v.severity for v in vs)
    zones = {z.id: label(z.name, z.name_zh, lang) for z in plant.zones}
    sec.tables.append(
        Table(
            "violations_by_rule",
            t("report.violations_by_rule", lang),
            [t("report.col.rule", lang), t("report.col.count", lang)],
            [[t(f"personnel.rule.{r}", lang), n] for r, n in by_rule.most_common()],
        )
    )
    if by_rule:
        sec.charts.append(
            Chart(
                "violations",
                t("report.violations_by_rule", lang),
                "bar",
                [t(f"personnel.rule.{r}", lang) for r, _ in by_rule.most_common()],
                [(t("report.col.count", lang), [float(n) for _, n in by_rule.most_common()])],
            )
        )
    tz = plant.tz()
    head = [
        t("report.col.start", lang),
        t("report.col.rule", lang),
        t("report.col.zone", lang),
        t("report.col.severity", lang),
    ]
    if named:
        head.append(t("report.col.badge", lang))
    rows: list[list[Any]] = []
    for v in vs[-200:]:
        row: list[Any] = [
            format_local(v.start_ms, tz, DATE_MINUTE),
            t(f"personnel.rule.{v.rule}", lang),
            zones.get(v.zone or "", v.zone or ""),
            t(f"report.severity.{v.severity}", lang),
        ]
        if named:
            row.append(v.badge or "")
        rows.append(row)
    sec.tables.append(Table("violations", t("report.violations", lang), head, rows))
    sec.notes.append(t("report.severity_counts", lang, **{k: by_sev.get(k, 0) for k in ("high", "medium", "low")}))
    musters = events_between(session, p.t0, p.t1 - 1, [MUSTER])
    values["safety.musters"] = float(len(musters))
    mhead = [t("report.col.start", lang), t("report.col.end", lang)]
    if named:
        mhead.append(t("report.col.declared_by", lang))
    mrows: list[list[Any]] = []
    for ev in musters:
        r2: list[Any] = [
            format_local(int(ev.ts_start), tz, DATE_MINUTE),
            "" if ev.ts_end is None else format_local(int(ev.ts_end), tz, DATE_MINUTE),
        ]
        if named:
            data = ev.data if isinstance(ev.data, dict) else {}
            r2.append(str(data.get("declared_by") or ""))
        mrows.append(r2)
    sec.tables.append(Table("musters", t("report.musters", lang), mhead, mrows))
    dangers = [d for d in reported_before(session, p.t1) if d.closed_at is None or d.closed_at >= p.t0]
    if dangers:
        closed = [d for d in dangers if d.closed_at is not None and d.closed_at < p.t1]
        open_end = [d for d in dangers if d.closed_at is None or d.closed_at >= p.t1]
        reported = [d for d in dangers if d.reported_at >= p.t0]
        values["safety.hidden_dangers_reported"] = float(len(reported))
        values["safety.hidden_dangers_closed"] = float(len(closed))
        values["safety.hidden_dangers_open"] = float(len(open_end))
        sec.tables.append(
            Table(
                "hidden_dangers",
                t("report.hidden_dangers", lang),
                [t("report.col.indicator", lang), t("report.col.count", lang)],
                [
                    [t("report.hd.reported", lang), len(reported)],
                    [t("report.hd.major_reported", lang), sum(1 for d in reported if d.grade == "major")],
                    [t("report.hd.closed", lang), len(closed)],
                    [t("report.hd.closed_on_time", lang), sum(1 for d in closed if hd_on_time(d))],
                    [t("report.hd.open_end", lang), len(open_end)],
                    [t("report.hd.overdue_end", lang), sum(1 for d in open_end if hd_overdue(d, p.t1))],
                ],
            )
        )
    permits = overlapping(session, p.t0, p.t1)
    if permits:
        kinds = Counter(w.kind for w in permits)
        worked = Counter(w.kind for w in permits if w.activated_at is not None and w.activated_at < p.t1)
        values["safety.permits"] = float(len(permits))
        sec.tables.append(
            Table(
                "permits",
                t("report.permits", lang),
                [t("report.col.kind", lang), t("report.col.count", lang), t("report.col.activated", lang)],
                [[t(f"permit.kind.{k}", lang), n, worked.get(k, 0)] for k, n in kinds.most_common()],
            )
        )
    hours = hours_between(session, p.t0, p.t1)
    if hours:
        tags = {tg.id: tg for tg in plant.tags}
        names = plant_names(plant)
        acc: dict[str, list[Any]] = defaultdict(lambda: [0, 0, [], None])
        for hr in hours:
            a = acc[hr.tag]
            a[0] += 1 if hr.valid else 0
            a[1] += 1 if hr.exceedance else 0
            if hr.valid and hr.value is not None:
                a[2].append(hr.value)
            a[3] = hr.limit if hr.limit is not None else a[3]
        erows = []
        for tag, (valid, exc, vals, limit) in sorted(acc.items()):
            tg = tags.get(tag)
            name = names.tag_text(tag, lang) or tag
            unit = (tg.unit if tg else "") or ""
            erows.append([name, unit, valid, exc, _f(math.fsum(vals) / len(vals)) if vals else None, _f(limit)])
        values["emissions.exceedance_hours"] = float(sum(r[3] for r in erows))
        sec.tables.append(
            Table(
                "emissions",
                t("report.emissions", lang),
                [
                    t("report.col.pollutant", lang),
                    t("report.col.unit", lang),
                    t("report.col.valid_h", lang),
                    t("report.col.exceed_h", lang),
                    t("report.col.mean", lang),
                    t("report.col.limit", lang),
                ],
                erows,
            )
        )
        sec.charts.append(
            Chart(
                "emissions",
                t("report.emissions", lang),
                "bar",
                [r[0] for r in erows][:12],
                [
                    (t("report.col.mean", lang), [r[4] for r in erows][:12]),
                    (t("report.col.limit", lang), [r[5] for r in erows][:12]),
                ],
            )
        )
    return sec


def build(session: Session, plant: Plant, p: Period, lang: str, *, named: bool, now_ms: int) -> Report:
    """The whole report of ``p`` in ``lang`` (reads only: the tag names are read once)."""
    keep_tag_ids(session)
    values: dict[str, float | None] = {}
    sections = [
        production_section(session, plant, p, lang, values),
        equipment_section(session, plant, p, lang, values),
        energy_section(session, plant, p, lang, values),
        alarm_section(session, p, now_ms, lang, values),
        safety_section(session, plant, p, lang, named, values),
    ]
    plant_name = label(plant.site.name, plant.site.name_zh, lang)
    return Report(
        kind=p.kind.value,
        period=p.key,
        lang=lang,
        named=named,
        title=t(f"report.title.{p.kind.value}", lang),
        plant_name=plant_name,
        period_label=period_label(plant, p, lang),
        generated=format_local(now_ms, plant.tz(), DATE_MINUTE),
        sections=sections,
        values=values,
    )
