"""Materials and spare-parts stock: the moving-average valuation of an item's ledger, on hand and projected
quantities, the reorder test, and a stock list's rows checked cell by cell (pure, no I/O).

**Ledger.** An item's stock is the sum of its ledger entries, in order: a *receipt* adds a quantity at its unit
cost, an *issue* takes a quantity out at the moving average cost, an *adjustment* (a stock count, a correction)
adds or takes out a signed quantity (in at the given cost, or at the average cost when none is given). An issue
or a negative adjustment larger than what is on hand is refused: stock never goes below zero.

**Moving average cost.** Quantities and money are :class:`~decimal.Decimal`, so a ledger values the same on every
machine: quantities to 0.001, values to 0.01 (the currency's cents), the average cost to 0.0001. A receipt adds
``qty x cost`` to the value; the average is value / on hand; an issue takes ``qty x average`` out of the value
(rounded to the cent), and the last unit out takes the value left, so an empty item is worth exactly 0.

**Projected** = on hand + ordered - reserved (what will be there when the open orders arrive and the
reservations are drawn). An item is **low** when on hand is below its reorder level (a reorder level of 0 means
no level); a low item stays low until on hand is back at or above the level.

**Stock list.** One table (a CSV file or an Excel sheet), one row per item, headers in English or Chinese (any
order, case and spaces ignored):

===========  =================================================  ==========================================
column       headers                                            value
===========  =================================================  ==========================================
code         code, item code, 物料编码, 物料代码, 编码, 料号     the item's code: letters, digits, ``.-_/``
name         name, item name, description, 英文名称              the English name (or name_zh)
name_zh      name_zh, 物料名称, 名称, 中文名称                   the Chinese name (or name)
unit         unit, uom, 单位, 计量单位                          a unit of :data:`UNITS` (``pcs``, 个, 吨 ...)
quantity     quantity, qty, on hand, 数量, 库存, 库存数量, 结存  the counted quantity on hand, 0 or more
unit_cost    unit cost, unit price, price, 单价, 单位成本        optional: cost per unit, 0 or more
reorder      reorder level, safety stock, 安全库存, 再订货点      optional: the reorder level, 0 or more
warehouse    warehouse, store, location, 仓库, 库位, 库房        optional: where it is kept
===========  =================================================  ==========================================

The whole table is checked before anything is stored; every problem is named by its line and cell, in the
reader's language (:meth:`Problem.text`): a missing column, a code that is not one or repeats another, a unit
that is not known, a number cell holding text, NaN, infinity or a negative amount. Names are kept as text
(whatever they hold is shown as text, never run).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from engine.plan import cell
from i18n import t

QTY = Decimal("0.001")
MONEY = Decimal("0.01")
COST = Decimal("0.0001")
ZERO = Decimal(0)
MAX_AMOUNT = Decimal("1e12")  # a quantity or cost above this is a typo, not a stock
MAX_TEXT = 120


class Kind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    ADJUST = "adjust"


# Units by their key, with the ways a stock list writes them (English and Chinese).
UNITS: dict[str, tuple[str, ...]] = {
    "pcs": ("pcs", "pc", "piece", "pieces", "ea", "each", "个", "件", "只", "根", "块", "台"),
    "set": ("set", "sets", "套"),
    "pair": ("pair", "pairs", "对", "副"),
    "kg": ("kg", "kgs", "千克", "公斤"),
    "t": ("t", "ton", "tonne", "tonnes", "吨"),
    "m": ("m", "metre", "meter", "米"),
    "m2": ("m2", "m²", "平方米"),
    "l": ("l", "litre", "liter", "升"),
    "roll": ("roll", "rolls", "卷"),
    "box": ("box", "boxes", "箱", "盒"),
    "drum": ("drum", "drums", "桶"),
    "bag": ("bag", "bags", "袋"),
}
_UNIT_OF = {alias.lower(): key for key, aliases in UNITS.items() for alias in aliases}

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "item code", "item", "material code", "物料编码", "物料代码", "编码", "料号", "物料号"),
    "name": ("name", "item name", "description", "name en", "英文名称"),
    "name_zh": ("name_zh", "name zh", "chinese name", "物料名称", "名称", "中文名称", "品名"),
    "unit": ("unit", "uom", "单位", "计量单位"),
    "quantity": ("quantity", "qty", "on hand", "stock", "数量", "库存", "库存数量", "结存", "结存数量", "现存量"),
    "unit_cost": ("unit cost", "unit price", "price", "cost", "单价", "单位成本", "成本单价"),
    "reorder": ("reorder level", "reorder", "reorder point", "safety stock", "min stock", "安全库存", "再订货点"),
    "warehouse": ("warehouse", "store", "location", "area", "仓库", "库位", "库房", "存放地点"),
}
REQUIRED = ("code", "unit", "quantity")
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/]{0,31}")


class StockError(ValueError):
    """An entry the ledger refuses (an issue larger than on hand, a quantity that is no amount). ``key`` and
    ``values`` build the reason in the reader's language (:meth:`text`)."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values
        super().__init__(t(key, "en", **values))

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.values)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a stock list: where (``line`` of the file, from 1, and the cell) and why."""

    line: int
    cell: str
    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return t("stock.problem", lang, line=self.line, cell=self.cell, reason=t(self.key, lang, **self.values))


class StockFileError(ValueError):
    """A stock list refused: every problem with its line and cell."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(f"{source}: " + "; ".join(p.text("en") for p in self.problems[:20]))

    def lines(self, lang: str, limit: int = 50) -> list[str]:
        out = [p.text(lang) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            out.append(t("stock.problem.more", lang, n=len(self.problems) - limit))
        return out


@dataclass(frozen=True, slots=True)
class Entry:
    """A ledger entry as the valuation sees it: ``qty`` > 0 for receipts and issues, signed for adjustments;
    ``unit_cost`` for receipts (and adjustments in at a given cost)."""

    kind: Kind
    qty: Decimal
    unit_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Position:
    on_hand: Decimal = ZERO
    avg_cost: Decimal = ZERO
    value: Decimal = ZERO


def amount(value: Any) -> Decimal:
    """``value`` as a Decimal amount, or :class:`StockError` for NaN, infinity, booleans and text."""
    if isinstance(value, bool):
        raise StockError("stock.error.not_number", value=str(value)[:40])
    try:
        d = Decimal(str(value).strip().replace(",", "")) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise StockError("stock.error.not_number", value=str(value)[:40]) from None
    if not d.is_finite() or abs(d) > MAX_AMOUNT:
        raise StockError("stock.error.not_finite", value=str(value)[:40])
    return d


def _qty(d: Decimal) -> Decimal:
    return d.quantize(QTY, rounding=ROUND_HALF_UP)


def _money(d: Decimal) -> Decimal:
    return d.quantize(MONEY, rounding=ROUND_HALF_UP)


def _avg(value: Decimal, on_hand: Decimal) -> Decimal:
    return (value / on_hand).quantize(COST, rounding=ROUND_HALF_UP) if on_hand > 0 else ZERO


def _take(pos: Position, qty: Decimal) -> Position:
    """``qty`` (> 0) out at the average cost; refused when more than on hand."""
    if qty > pos.on_hand:
        raise StockError("stock.error.short", qty=_fmt(qty), on_hand=_fmt(pos.on_hand))
    left = pos.on_hand - qty
    if left == 0:
        return Position()
    value = pos.value - _money(qty * pos.avg_cost)
    return Position(left, pos.avg_cost, value)


def _put(pos: Position, qty: Decimal, cost: Decimal) -> Position:
    on_hand = pos.on_hand + qty
    value = pos.value + _money(qty * cost)
    return Position(on_hand, _avg(value, on_hand), value)


def apply(pos: Position, entry: Entry) -> Position:
    """The position after ``entry``, or :class:`StockError` (the position is unchanged: nothing half done)."""
    qty = _qty(amount(entry.qty))
    cost = None if entry.unit_cost is None else amount(entry.unit_cost)
    if cost is not None and cost < 0:
        raise StockError("stock.error.negative", value=_fmt(cost))
    if entry.kind in (Kind.RECEIPT, Kind.ISSUE) and qty <= 0:
        raise StockError("stock.error.not_positive", value=_fmt(qty))
    if entry.kind == Kind.RECEIPT:
        if cost is None:
            raise StockError("stock.error.no_cost")
        return _put(pos, qty, cost)
    if entry.kind == Kind.ISSUE:
        return _take(pos, qty)
    if qty == 0:
        raise StockError("stock.error.not_positive", value=_fmt(qty))
    if qty < 0:
        return _take(pos, -qty)
    return _put(pos, qty, cost if cost is not None else pos.avg_cost)


def valuate(entries: Iterable[Entry], start: Position | None = None) -> Position:
    """The position after every entry in order (:class:`StockError` at the first refused one)."""
    pos = start or Position()
    for e in entries:
        pos = apply(pos, e)
    return pos


def projected(on_hand: Decimal, ordered: Decimal, reserved: Decimal) -> Decimal:
    """What will be there when the open orders arrive and the reservations are drawn."""
    return on_hand + ordered - reserved


def is_low(on_hand: Decimal, reorder: Decimal) -> bool:
    """On hand below the reorder level (a level of 0 is none). A low item returns at the level itself."""
    return reorder > 0 and on_hand < reorder


def count_adjustment(on_hand: Decimal, counted: Decimal) -> Decimal:
    """The signed adjustment that makes on hand the counted quantity (0: none needed)."""
    return _qty(counted) - on_hand


def _fmt(d: Decimal) -> str:
    s = format(d.normalize(), "f") if d == d.to_integral() else format(d, "f").rstrip("0").rstrip(".")
    return s or "0"


def fmt(d: Decimal | float | None, places: int = 3) -> str:
    """A quantity or amount for people: no trailing zeros, thousands separated."""
    if d is None:
        return ""
    q = Decimal(str(d)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{q:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unit_key(text: Any) -> str | None:
    """The unit's key (``"pcs"``) for any way of writing it (``"个"``, ``"PCS"``), or None."""
    return _UNIT_OF.get(str(text or "").strip().lower())


# --- the stock list -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListRow:
    line: int
    code: str
    name: str
    name_zh: str
    unit: str
    quantity: Decimal
    unit_cost: Decimal | None
    reorder: Decimal | None
    warehouse: str


def _norm(text: Any) -> str:
    return re.sub(r"[\s_（）()]+", "", str(text or "")).lower()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number_cell(value: Any, r: int, c: int, problems: list[Problem], *, optional: bool) -> Decimal | None:
    raw = _text(value)
    if raw == "":
        if not optional:
            problems.append(Problem(r + 1, cell(r, c), "stock.bad.empty"))
        return None
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(r + 1, cell(r, c), "stock.bad.not_finite", {"value": raw[:40]}))
        return None
    try:
        d = amount(value if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else raw)
    except StockError as exc:
        key = "stock.bad.not_finite" if exc.key == "stock.error.not_finite" else "stock.bad.not_number"
        problems.append(Problem(r + 1, cell(r, c), key, {"value": raw[:40]}))
        return None
    if d < 0:
        problems.append(Problem(r + 1, cell(r, c), "stock.bad.negative", {"value": raw[:40]}))
        return None
    return d


def parse_stock_list(rows: Sequence[Sequence[Any]], source: str = "stock") -> list[ListRow]:
    """The items of a stock list (first row the headers), or :class:`StockFileError` naming every bad cell."""
    problems: list[Problem] = []
    if not rows:
        raise StockFileError(source, [Problem(1, "A1", "stock.bad.file_empty")])
    header = [_norm(h) for h in rows[0]]
    where: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        wanted = {_norm(a) for a in aliases}
        for i, h in enumerate(header):
            if h and h in wanted:
                if name in where:
                    problems.append(Problem(1, cell(0, i), "stock.bad.second_column", {"column": name}))
                else:
                    where[name] = i
    for name in REQUIRED:
        if name not in where:
            problems.append(
                Problem(1, "-", "stock.bad.no_column", {"column": name, "headers": ", ".join(COLUMNS[name][:5])})
            )
    if "name" not in where and "name_zh" not in where:
        problems.append(Problem(1, "-", "stock.bad.no_column", {"column": "name", "headers": "name, 物料名称"}))
    if problems:
        raise StockFileError(source, problems)
    seen: dict[str, int] = {}
    out: list[ListRow] = []
    for r, row in enumerate(rows[1:], start=1):
        values = list(row) + [None] * (len(header) - len(row))
        if all(_text(v) == "" for v in values):
            continue  # blank lines are no rows
        n0 = len(problems)

        def get(col: str, values: list[Any] = values) -> str:
            return _text(values[where[col]]) if col in where else ""

        code = get("code")
        if not CODE.fullmatch(code):
            problems.append(Problem(r + 1, cell(r, where["code"]), "stock.bad.code", {"value": code[:40]}))
        elif code.lower() in seen:
            problems.append(
                Problem(
                    r + 1, cell(r, where["code"]), "stock.bad.duplicate", {"value": code, "first": seen[code.lower()]}
                )
            )
        else:
            seen[code.lower()] = r + 1
        name, name_zh = get("name"), get("name_zh")
        if not name and not name_zh:
            at = where.get("name_zh", where.get("name", 0))
            problems.append(Problem(r + 1, cell(r, at), "stock.bad.no_name"))
        for column, text in (("name", name), ("name_zh", name_zh), ("warehouse", get("warehouse"))):
            if len(text) > MAX_TEXT:
                problems.append(Problem(r + 1, cell(r, where[column]), "stock.bad.too_long", {"n": MAX_TEXT}))
        unit_raw = get("unit")
        unit = unit_key(unit_raw)
        if unit is None:
            problems.append(Problem(r + 1, cell(r, where["unit"]), "stock.bad.unit", {"value": unit_raw[:40]}))
        qty = _number_cell(values[where["quantity"]], r, where["quantity"], problems, optional=False)
        cost = (
            _number_cell(values[where["unit_cost"]], r, where["unit_cost"], problems, optional=True)
            if "unit_cost" in where
            else None
        )
        reorder = (
            _number_cell(values[where["reorder"]], r, where["reorder"], problems, optional=True)
            if "reorder" in where
            else None
        )
        if len(problems) > n0 or qty is None or unit is None:
            continue
        out.append(
            ListRow(
                line=r + 1,
                code=code,
                name=name,
                name_zh=name_zh,
                unit=unit,
                quantity=_qty(qty),
                unit_cost=cost,
                reorder=None if reorder is None else _qty(reorder),
                warehouse=get("warehouse")[:MAX_TEXT],
            )
        )
    if problems:
        raise StockFileError(source, problems)
    if not out:
        raise StockFileError(source, [Problem(2, "-", "stock.bad.no_rows")])
    return out
