"""The stock page's data: every item with on hand, projected, reorder level and value, and the ledger's newest
entries, as rows of texts in the reader's language. The page's tables and its CSV and Excel downloads are the
same rows; who made an entry is in them only for readers that may see names (``names``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.clock import DATE_MINUTE, format_local
from engine.stock import fmt
from i18n import label, t
from plant.schema import Plant
from store.db import session_scope
from store.stock import Stock, ledger, money_of, qty_of, stock_list
from webapp import context as web

ITEM_COLUMNS = (
    "code",
    "name",
    "warehouse",
    "unit",
    "on_hand",
    "ordered",
    "reserved",
    "projected",
    "reorder",
    "avg_cost",
    "value",
    "status",
)
LEDGER_COLUMNS = ("time", "code", "kind", "qty", "unit_cost", "value", "on_hand", "user", "reference")
TABLES = ("items", "ledger")
LEDGER_ROWS = 60  # on the page; the download takes up to EXPORT_ROWS
EXPORT_ROWS = 20_000


def currency(plant: Plant) -> str:
    return plant.energy.currency


def items() -> list[Stock]:
    with session_scope(web.engine()) as session:
        return stock_list(session)


def entries(limit: int) -> list[tuple[Any, str]]:
    with session_scope(web.engine()) as session:
        return ledger(session, limit=limit)


def unit_text(unit: str, lang: str) -> str:
    return t(f"stock.unit.{unit}", lang)


def status(s: Stock, lang: str) -> str:
    if s.low:
        return t("stock.status.low", lang)
    if s.reorder > 0 and s.projected < s.reorder:
        return t("stock.status.reorder", lang)
    return t("stock.status.ok", lang)


def item_table(stock: list[Stock], lang: str, plant: Plant) -> tuple[list[str], list[list[str]]]:
    cur = currency(plant)
    head = [t(f"stock.col.{c}", lang, currency=cur) for c in ITEM_COLUMNS]
    rows = [
        [
            s.code,
            label(s.name or s.name_zh, s.name_zh or None, lang),
            s.warehouse,
            unit_text(s.unit, lang),
            fmt(s.on_hand),
            fmt(s.ordered),
            fmt(s.reserved),
            fmt(s.projected),
            fmt(s.reorder) if s.reorder > 0 else "",
            fmt(s.avg_cost, 2),
            fmt(s.value, 2),
            status(s, lang),
        ]
        for s in sorted(stock, key=lambda s: (not s.low, s.code))  # the low ones first
    ]
    return head, rows


def ledger_table(
    rows: list[tuple[Any, str]], lang: str, plant: Plant, *, names: bool
) -> tuple[list[str], list[list[str]]]:
    cur = currency(plant)
    cols = [c for c in LEDGER_COLUMNS if names or c != "user"]
    head = [t(f"stock.col.{c}", lang, currency=cur) for c in cols]
    tz = plant.tz()
    out: list[list[str]] = []
    for r, code in rows:
        cells = {
            "time": format_local(r.ts, tz, DATE_MINUTE),
            "code": code,
            "kind": t(f"stock.kind.{r.kind}", lang),
            "qty": fmt(qty_of(r.qty_milli)),
            "unit_cost": "" if r.unit_cost_e4 is None else fmt(Decimal(r.unit_cost_e4) / 10000, 2),
            "value": fmt(money_of(r.value_cents), 2),
            "on_hand": fmt(qty_of(r.on_hand_milli)),
            "user": r.user,
            "reference": r.reference,
        }
        out.append([cells[c] for c in cols])
    return head, out


def totals(stock: list[Stock]) -> dict[str, Any]:
    return {
        "items": len(stock),
        "value": sum((s.value for s in stock), Decimal(0)),
        "low": sum(1 for s in stock if s.low),
        "reorder": sum(1 for s in stock if not s.low and s.reorder > 0 and s.projected < s.reorder),
    }
