"""The demo's production plan: a year of day targets per product, with a planned shutdown day each month.

    python -m simulator.plan --year 2026 --out plan.xlsx [--lang zh]   write it as a plan file

A day's target is what the plant's counters make at 96 % of their design rate (the simulator's long-run
availability); on the 20th of each month the smelter line (concentrate, blister, anodes, slag) and the
acid plant fed by its gas are planned down for maintenance (target 0), and the simulator stops those units for the
day (``simulator.model``: their state is maintenance, their counters stand still). The backfill imports it as the
first version when no plan covers today (``store.plan``), so the demo's plan-against-actual has a plan.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from engine.clock import to_local
from engine.plan import Target
from plant.schema import Plant, TagKind
from simulator.model import SHUTDOWN_DAY
from store.plan import plan_in_force, store_targets

SHUTDOWN_PRODUCTS = {"conc_fed", "blister", "anode_cast", "slag_treated", "acid_produced"}
PLAN_SHARE = 0.96
DEMO_PLANNER = "demo-planner"
HEADERS = {"en": ("date", "product", "target", "process"), "zh": ("日期", "产品", "计划量", "工序")}


def demo_plan(plant: Plant, first: date, last: date) -> list[Target]:
    rate: dict[str, float] = defaultdict(float)
    for tag in plant.tags:
        if tag.kind == TagKind.COUNTER and tag.unit == "t":
            rate[tag.id.rsplit(".", 1)[-1].lower()] += float(tag.nominal or 0.0)
    out: list[Target] = []
    d = first
    while d <= last:
        for product, per_h in sorted(rate.items()):
            down = d.day == SHUTDOWN_DAY and product in SHUTDOWN_PRODUCTS
            out.append(Target(d, "", product, 0.0 if down else round(per_h * 24 * PLAN_SHARE, 1)))
        d += timedelta(days=1)
    return out


def ship_demo_plan(session: Session, plant: Plant, now_ms: int, history_from_ms: int | None = None) -> bool:
    """Import the demo plan for the rest of the year of ``now_ms`` (plant time) unless a plan already covers
    today: from the first whole day of the history (``history_from_ms``), so that plan against actual does not
    count days the demo has no history of, else from the year's first day."""
    today = to_local(now_ms, plant.tz()).date()
    if plan_in_force(session, today, today):
        return False
    first = date(today.year, 1, 1)
    if history_from_ms is not None:
        start = to_local(history_from_ms, plant.tz())
        whole = (
            start.date() if (start.hour, start.minute, start.second) == (0, 0, 0) else start.date() + timedelta(days=1)
        )
        first = max(first, min(whole, today))
    targets = demo_plan(plant, first, date(today.year, 12, 31))
    store_targets(session, targets, f"demo-plan-{today.year}.xlsx", DEMO_PLANNER, now_ms, "the demo's plan")
    return True


def _process(plant: Plant) -> dict[str, str]:
    eq = {e.id: e.process for e in plant.equipment}
    return {
        t.id.rsplit(".", 1)[-1].lower(): eq.get(t.equipment or "", "") for t in plant.tags if t.kind == TagKind.COUNTER
    }


def to_xlsx(plant: Plant, targets: list[Target], lang: str = "zh") -> bytes:
    import xlsxwriter

    proc = _process(plant)
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = book.add_worksheet("plan")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, HEADERS[lang])
    for i, t in enumerate(targets, start=1):
        ws.write_datetime(i, 0, _dt(t.day), dates)
        ws.write_string(i, 1, t.product)
        ws.write_number(i, 2, t.target)
        ws.write_string(i, 3, proc.get(t.product, ""))
    book.close()
    return buf.getvalue()


def to_csv(plant: Plant, targets: list[Target], lang: str = "en") -> bytes:
    proc = _process(plant)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS[lang])
    for t in targets:
        w.writerow(
            [t.day.isoformat(), t.product, f"{t.target:g}" if math.isfinite(t.target) else "", proc.get(t.product, "")]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _dt(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def main(argv: list[str] | None = None) -> int:
    from plant.loader import load_plant
    from settings import get_settings

    p = argparse.ArgumentParser(prog="python -m simulator.plan", description=__doc__.split("\n\n")[0])
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="a .xlsx or .csv file")
    p.add_argument("--lang", choices=("en", "zh"), default="zh", help="language of the headers")
    p.add_argument("--plant", type=Path, default=get_settings().plant_file)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    plant = load_plant(args.plant)
    targets = demo_plan(plant, date(args.year, 1, 1), date(args.year, 12, 31))
    data = to_xlsx(plant, targets, args.lang) if args.out.suffix == ".xlsx" else to_csv(plant, targets, args.lang)
    args.out.write_bytes(data)
    sys.stdout.write(f"wrote {args.out} ({len(targets)} targets)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
