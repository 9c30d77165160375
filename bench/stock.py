"""Stock benchmark: a year's ledger of 5,000 materials and spare parts in SQLite, and what reads and writes it
(``store.stock``).

    python -m bench stock            5,000 items x a year (about 120 entries each), 7 repetitions
    python -m bench stock --quick    1,000 items x a year, 5 repetitions
    python -m bench stock --smoke    50 items x 30 days, 2 repetitions: checks that it runs, not a measurement

The ledger is built through the valuation (``engine.stock.apply``: every row's on hand, moving average and
value are those the store would have appended) and bulk-inserted: an opening receipt, issues two or three times a
week and a delivery when the stock runs low, per item. Timed (medians):

- ``list_ms``: on hand, projected and moving-average value of every item (``stock_list``: the page's table);
- ``list_at_ms``: the same as of a moment (``stock_list(at_ms=...)``: the stock service's step);
- ``item_page_ms``: one item's ledger page, newest 500 entries (``ledger(code=...)``);
- ``ledger_page_ms``: the whole ledger's newest 500 entries (the page's ledger table);
- ``import_new_ms``: a stock list of every item (CSV with Chinese headers) into an empty store, committed;
- ``import_recount_ms``: the same list over the year's ledger (every item known: an adjustment where the
  count differs), committed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, insert, select

from bench import _smoke
from engine.stock import Entry, Kind, Position, apply
from store.db import make_engine, migrate, session_scope
from store.models import StockItem, StockLedger
from store.stock import _cents, _e4, _milli, import_stock_list, ledger, stock_list

DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
UNITS = ("pcs", "kg", "t", "m", "set")


def _median_ms(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def stock_csv(n: int, seed: int, scale: float = 1.0) -> bytes:
    """A stock list of ``n`` items in the way a Chinese site's export writes it."""
    rng = np.random.default_rng(seed)
    lines = ["物料编码,物料名称,英文名称,单位,数量,单价,安全库存,仓库"]
    for i in range(n):
        unit = UNITS[i % len(UNITS)]
        qty = int(rng.integers(20, 2000) * scale)
        lines.append(f"SP-{i:05d},备件{i},Spare part {i},{unit},{qty},{rng.uniform(2, 9000):.2f},{qty // 5},库{i % 9}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def build(engine: Engine, n: int, days: int, seed: int) -> int:
    """``n`` items with ``days`` of ledger; the number of ledger rows."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    total = 0
    with session_scope(engine) as s:
        s.execute(
            insert(StockItem.__table__),
            [
                {
                    "id": i + 1,
                    "code": f"SP-{i:05d}",
                    "name": f"Spare part {i}",
                    "name_zh": f"备件{i}",
                    "unit": UNITS[i % len(UNITS)],
                    "warehouse": f"库{i % 9}",
                    "reorder_milli": 50_000,
                    "ordered_milli": 0,
                    "reserved_milli": 0,
                    "created_at": T0,
                    "created_by": "bench",
                }
                for i in range(n)
            ],
        )
    for i in range(n):
        pos = Position()
        cost = float(rng.uniform(2, 9000))
        events: list[tuple[int, Entry, str]] = [(T0, Entry(Kind.RECEIPT, Decimal(400), Decimal(f"{cost:.2f}")), "open")]
        per_week = rng.uniform(2, 3)
        days_used = np.sort(rng.choice(days * 24, size=int(days / 7 * per_week), replace=False))
        for h in days_used:
            events.append((T0 + int(h) * 3_600_000, Entry(Kind.ISSUE, Decimal(int(rng.integers(1, 12)))), "WO"))
        for ts, entry, ref in events:
            if entry.kind == Kind.ISSUE and pos.on_hand < 60:  # a delivery the day before the stock runs out
                price = Decimal(f"{cost * rng.uniform(0.95, 1.06):.2f}")
                total += _add(rows, i + 1, ts - 1, Entry(Kind.RECEIPT, Decimal(300), price), pos, "PO")
                pos = apply(pos, Entry(Kind.RECEIPT, Decimal(300), price))
            if entry.kind == Kind.ISSUE and entry.qty > pos.on_hand:
                continue
            total += _add(rows, i + 1, ts, entry, pos, ref)
            pos = apply(pos, entry)
        if len(rows) >= 50_000:
            _flush(engine, rows)
    _flush(engine, rows)
    return total


def _add(rows: list[dict[str, Any]], item_id: int, ts: int, e: Entry, before: Position, ref: str) -> int:
    after = apply(before, e)
    rows.append(
        {
            "item_id": item_id,
            "ts": ts,
            "kind": e.kind.value,
            "qty_milli": _milli(after.on_hand - before.on_hand),
            "unit_cost_e4": None if e.unit_cost is None else _e4(e.unit_cost),
            "value_cents": _cents(after.value - before.value),
            "on_hand_milli": _milli(after.on_hand),
            "avg_cost_e4": _e4(after.avg_cost),
            "stock_value_cents": _cents(after.value),
            "user": "bench",
            "reference": ref,
            "note": "",
        }
    )
    return 1


def _flush(engine: Engine, rows: list[dict[str, Any]]) -> None:
    if rows:
        with session_scope(engine) as s:
            s.execute(insert(StockLedger.__table__), rows)
        rows.clear()


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench stock", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1,000 items, 5 repetitions")
    _smoke.add_flag(p)
    args = p.parse_args(argv)
    n, days, reps = (50, 30, 2) if args.smoke else (1000, 365, 5) if args.quick else (5000, 365, 7)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'stock.db'}"
        migrate(url)
        engine = make_engine(url)
        try:
            t = time.perf_counter()
            rows = build(engine, n, days, seed=7)
            build_s = time.perf_counter() - t
            code = f"SP-{n // 2:05d}"
            at = T0 + days * DAY // 2

            def whole() -> None:
                with session_scope(engine) as s:
                    items = stock_list(s)
                    assert len(items) == n and sum(it.projected for it in items) > 0
                    assert sum(it.value for it in items) > 0

            def as_of() -> None:
                with session_scope(engine) as s:
                    assert len(stock_list(s, at_ms=at)) == n

            def item_page() -> None:
                with session_scope(engine) as s:
                    assert ledger(s, code=code, limit=500)

            def ledger_page() -> None:
                with session_scope(engine) as s:
                    assert len(ledger(s, limit=500)) == 500

            figures: dict[str, Any] = {
                "items": n,
                "days": days,
                "ledger_rows": rows,
                "repetitions": reps,
                "build_s": round(build_s, 1),
                "list_ms": _median_ms(whole, reps),
                "list_at_ms": _median_ms(as_of, reps),
                "item_page_ms": _median_ms(item_page, reps),
                "ledger_page_ms": _median_ms(ledger_page, reps),
            }
            with session_scope(engine) as s:
                figures["item_entries"] = len(ledger(s, code=code, limit=100_000))
            recount = stock_csv(n, seed=7)
            imports = []
            for k in range(min(reps, 3)):
                fresh = f"sqlite:///{Path(tmp) / f'import{k}.db'}"
                migrate(fresh)
                other = make_engine(fresh)
                try:
                    t = time.perf_counter()
                    with session_scope(other) as s:
                        got = import_stock_list(s, recount, "库存.csv", user="bench", now_ms=T0)
                    imports.append((time.perf_counter() - t) * 1000)
                    assert got.items_added == n
                finally:
                    other.dispose()
            figures["import_new_ms"] = round(statistics.median(imports), 1)
            t = time.perf_counter()
            with session_scope(engine) as s:
                got = import_stock_list(s, recount, "盘点.csv", user="bench", now_ms=T0 + days * DAY)
            figures["import_recount_ms"] = round((time.perf_counter() - t) * 1000, 1)
            figures["import_recount_entries"] = got.entries
            assert got.items_updated == n
            with session_scope(engine) as s:
                figures["ledger_rows_after"] = len(s.scalars(select(StockLedger.id)).all())
        finally:
            engine.dispose()
    figures["load_avg_1m"] = round(load, 1)
    return _smoke.mark(figures, args.smoke)
