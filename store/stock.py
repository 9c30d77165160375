"""Materials and spare-parts stock in the store: items, their append-only ledger (receipts, issues, adjustments,
each with its user and time), on hand, projected and value per item, and the import of a stock list (all of it
or nothing).

The ledger is append-only: this module has no path that changes or removes a ledger row, and the database
refuses one (triggers of migration 0016). An entry is checked against the item's position
(:func:`engine.stock.apply`: an issue larger than on hand is refused) and stored with the position after it, so
the newest row of an item is its stock.

Like every repository here, functions take a session and never commit: the caller's unit of work commits, so
a refused import leaves nothing.

    python -m store.stock import FILE --user NAME [--db URL]
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.plan import PlanFileError
from engine.stock import (
    COST,
    MONEY,
    QTY,
    Entry,
    Kind,
    ListRow,
    Position,
    Problem,
    StockError,
    StockFileError,
    amount,
    apply,
    count_adjustment,
    is_low,
    parse_stock_list,
    projected,
)
from store.models import StockItem, StockLedger

logger = logging.getLogger(__name__)

MAX_REF = 120


def _milli(d: Decimal) -> int:
    return int(d.quantize(QTY) * 1000)


def _cents(d: Decimal) -> int:
    return int(d.quantize(MONEY) * 100)


def _e4(d: Decimal) -> int:
    return int(d.quantize(COST) * 10000)


def qty_of(milli: int) -> Decimal:
    return (Decimal(milli) / 1000).quantize(QTY)


def money_of(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(MONEY)


def cost_of(e4: int) -> Decimal:
    return (Decimal(e4) / 10000).quantize(COST)


@dataclass(frozen=True, slots=True)
class Stock:
    """An item and its position: what the page, the export and the alarms read."""

    id: int
    code: str
    name: str
    name_zh: str
    unit: str
    warehouse: str
    on_hand: Decimal
    ordered: Decimal
    reserved: Decimal
    reorder: Decimal
    avg_cost: Decimal
    value: Decimal
    last_ts: int | None

    @property
    def projected(self) -> Decimal:
        return projected(self.on_hand, self.ordered, self.reserved)

    @property
    def low(self) -> bool:
        return is_low(self.on_hand, self.reorder)


def item_by_code(session: Session, code: str) -> StockItem | None:
    return session.scalars(select(StockItem).where(func.lower(StockItem.code) == code.lower())).first()


def add_item(
    session: Session,
    code: str,
    *,
    unit: str,
    user: str,
    now_ms: int,
    name: str = "",
    name_zh: str = "",
    warehouse: str = "",
    reorder: Decimal = Decimal(0),
) -> StockItem:
    item = StockItem(
        code=code,
        name=name,
        name_zh=name_zh,
        unit=unit,
        warehouse=warehouse,
        reorder_milli=_milli(reorder),
        ordered_milli=0,
        reserved_milli=0,
        created_at=now_ms,
        created_by=user[:64],
    )
    session.add(item)
    session.flush()
    return item


def position(session: Session, item_id: int) -> Position:
    """The item's position after its newest ledger entry."""
    row = session.execute(
        select(StockLedger.on_hand_milli, StockLedger.avg_cost_e4, StockLedger.stock_value_cents)
        .where(StockLedger.item_id == item_id)
        .order_by(StockLedger.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return Position()
    return Position(qty_of(row[0]), cost_of(row[1]), money_of(row[2]))


def append(
    session: Session,
    item: StockItem,
    kind: Kind,
    qty: Decimal,
    *,
    user: str,
    ts: int,
    unit_cost: Decimal | None = None,
    reference: str = "",
    note: str = "",
    against_order: bool = False,
) -> StockLedger:
    """Append one entry (``qty`` > 0 for receipts and issues, signed for adjustments), or :class:`StockError`
    with nothing stored. A receipt ``against_order`` takes its quantity off the item's open orders."""
    if len(reference) > MAX_REF:
        raise StockError("stock.error.bad_reference")
    before = position(session, item.id)
    after = apply(before, Entry(kind, qty, unit_cost))
    signed = after.on_hand - before.on_hand
    row = StockLedger(
        item_id=item.id,
        ts=ts,
        kind=kind.value,
        qty_milli=_milli(signed),
        unit_cost_e4=None if unit_cost is None else _e4(amount(unit_cost)),
        value_cents=_cents(after.value - before.value),
        on_hand_milli=_milli(after.on_hand),
        avg_cost_e4=_e4(after.avg_cost),
        stock_value_cents=_cents(after.value),
        user=user[:64],
        reference=reference,
        note=note,
    )
    session.add(row)
    if against_order and kind == Kind.RECEIPT:
        item.ordered_milli = max(0, item.ordered_milli - _milli(signed))
    session.flush()
    return row


def receive(
    session: Session,
    code: str,
    qty: Decimal,
    unit_cost: Decimal,
    *,
    user: str,
    ts: int,
    reference: str = "",
    against_order: bool = False,
) -> StockLedger:
    return append(
        session,
        _item(session, code),
        Kind.RECEIPT,
        qty,
        unit_cost=unit_cost,
        user=user,
        ts=ts,
        reference=reference,
        against_order=against_order,
    )


def issue(
    session: Session, code: str, qty: Decimal, *, user: str, ts: int, reference: str = "", note: str = ""
) -> StockLedger:
    return append(session, _item(session, code), Kind.ISSUE, qty, user=user, ts=ts, reference=reference, note=note)


def adjust(
    session: Session, code: str, qty: Decimal, *, user: str, ts: int, note: str = "", reference: str = ""
) -> StockLedger:
    return append(session, _item(session, code), Kind.ADJUST, qty, user=user, ts=ts, note=note, reference=reference)


def set_planning(
    session: Session, code: str, *, ordered: Decimal | None = None, reserved: Decimal | None = None
) -> StockItem:
    """The quantities on open orders and reserved (each 0 or more)."""
    item = _item(session, code)
    for attr, value in (("ordered_milli", ordered), ("reserved_milli", reserved)):
        if value is not None:
            d = amount(value)
            if d < 0:
                raise StockError("stock.error.negative", value=str(d))
            setattr(item, attr, _milli(d))
    session.flush()
    return item


def _item(session: Session, code: str) -> StockItem:
    item = item_by_code(session, code)
    if item is None:
        raise StockError("stock.error.unknown_item", code=code[:40])
    return item


def stock_list(session: Session, *, at_ms: int | None = None) -> list[Stock]:
    """Every item with its position, by code (as of ``at_ms``: after its newest entry at or before it)."""
    last = select(StockLedger.item_id, func.max(StockLedger.id).label("last_id"))
    if at_ms is not None:
        last = last.where(StockLedger.ts <= at_ms)
    newest = last.group_by(StockLedger.item_id).subquery()
    rows = session.execute(
        select(StockItem, StockLedger)
        .outerjoin(newest, newest.c.item_id == StockItem.id)
        .outerjoin(StockLedger, StockLedger.id == newest.c.last_id)
        .order_by(StockItem.code)
    ).all()
    out: list[Stock] = []
    for item, last in rows:
        out.append(
            Stock(
                id=item.id,
                code=item.code,
                name=item.name,
                name_zh=item.name_zh,
                unit=item.unit,
                warehouse=item.warehouse,
                on_hand=qty_of(last.on_hand_milli) if last else Decimal("0.000"),
                ordered=qty_of(item.ordered_milli),
                reserved=qty_of(item.reserved_milli),
                reorder=qty_of(item.reorder_milli),
                avg_cost=cost_of(last.avg_cost_e4) if last else Decimal("0.0000"),
                value=money_of(last.stock_value_cents) if last else Decimal("0.00"),
                last_ts=last.ts if last else None,
            )
        )
    return out


def ledger(
    session: Session, *, code: str | None = None, since_ms: int | None = None, limit: int = 500
) -> list[tuple[StockLedger, str]]:
    """Ledger entries newest first (by time, then as appended), with their item's code (one item's, or all; from
    ``since_ms``)."""
    stmt = select(StockLedger, StockItem.code).join(StockItem, StockItem.id == StockLedger.item_id)
    if code is not None:
        stmt = stmt.where(func.lower(StockItem.code) == code.lower())
    if since_ms is not None:
        stmt = stmt.where(StockLedger.ts >= since_ms)
    stmt = stmt.order_by(StockLedger.ts.desc(), StockLedger.id.desc()).limit(limit)
    return [(row, c) for row, c in session.execute(stmt).all()]


@dataclass(frozen=True, slots=True)
class ImportResult:
    items_added: int
    items_updated: int
    entries: int


def import_rows(session: Session, rows: list[ListRow], *, source: str, user: str, now_ms: int) -> ImportResult:
    """Store a checked stock list: a new item gets an opening receipt of its quantity at its unit cost; a known
    item gets its names, unit, reorder level and warehouse from the list and an adjustment to the counted
    quantity (at its own average cost; a count above on hand at the list's cost when it gives one). Flushes;
    the caller commits. A row the ledger refuses refuses the whole list, with its line."""
    added = updated = entries = 0
    ref = Path(source).name[:MAX_REF]
    problems: list[Problem] = []
    for r in rows:
        item = item_by_code(session, r.code)
        if item is None:
            if r.quantity > 0 and r.unit_cost is None:
                problems.append(Problem(r.line, "-", "stock.error.no_cost"))
                continue
            item = add_item(
                session,
                r.code,
                unit=r.unit,
                user=user,
                now_ms=now_ms,
                name=r.name,
                name_zh=r.name_zh,
                warehouse=r.warehouse,
                reorder=r.reorder or Decimal(0),
            )
            added += 1
            if r.quantity > 0:
                append(
                    session,
                    item,
                    Kind.RECEIPT,
                    r.quantity,
                    unit_cost=r.unit_cost,
                    user=user,
                    ts=now_ms,
                    reference=ref,
                    note="import",
                )
                entries += 1
            continue
        if item.unit != r.unit:
            problems.append(Problem(r.line, "-", "stock.bad.unit_changed", {"old": item.unit, "new": r.unit}))
            continue
        item.name = r.name or item.name
        item.name_zh = r.name_zh or item.name_zh
        item.warehouse = r.warehouse or item.warehouse
        if r.reorder is not None:
            item.reorder_milli = _milli(r.reorder)
        updated += 1
        delta = count_adjustment(position(session, item.id).on_hand, r.quantity)
        if delta != 0:
            append(
                session,
                item,
                Kind.ADJUST,
                delta,
                unit_cost=r.unit_cost if delta > 0 else None,
                user=user,
                ts=now_ms,
                reference=ref,
                note="import",
            )
            entries += 1
    if problems:
        raise StockFileError(source, problems)
    session.flush()
    logger.info("stock list %s by %s: %d items added, %d updated, %d entries", source, user, added, updated, entries)
    return ImportResult(added, updated, entries)


def import_stock_list(session: Session, data: bytes, name: str, *, user: str, now_ms: int) -> ImportResult:
    """Check the whole file (CSV in UTF-8 with or without BOM or GB18030, or Excel), then store it; a refused
    file raises :class:`engine.stock.StockFileError` naming every bad line and cell, and stores nothing."""
    from store.plan import read_table

    try:
        table = read_table(data, name)
    except PlanFileError as exc:
        raise StockFileError(name, [Problem(1, "-", "stock.bad.file", {"reason": "; ".join(exc.problems)})]) from exc
    return import_rows(session, parse_stock_list(table, source=name), source=name, user=user, now_ms=now_ms)


def main(argv: list[str] | None = None) -> int:
    from engine.clock import now_ms
    from settings import get_settings
    from store.db import make_engine, migrate, session_scope

    p = argparse.ArgumentParser(prog="python -m store.stock", description="Import a stock list (CSV or Excel).")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import")
    imp.add_argument("file", type=Path)
    imp.add_argument("--user", required=True)
    imp.add_argument("--db", default=None)
    args = p.parse_args(argv)
    url = args.db or get_settings().db_url
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            got = import_stock_list(session, args.file.read_bytes(), args.file.name, user=args.user, now_ms=now_ms())
    except StockFileError as exc:
        for line in exc.lines("en", limit=200):
            print(line, file=sys.stderr)
        return 1
    print(f"{got.items_added} items added, {got.items_updated} updated, {got.entries} ledger entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
