"""Materials and spare-parts stock: the moving-average valuation worked by hand, issues larger than on hand
refused, the ledger append-only (the store has no path to change a row and the database refuses one), and
stock lists in CSV and Excel with Chinese headers imported all or nothing, bad rows named by line and cell."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.stock import (
    Entry,
    Kind,
    Position,
    StockError,
    StockFileError,
    apply,
    is_low,
    parse_stock_list,
    projected,
    valuate,
)
from store.db import make_engine, migrate, session_scope
from store.models import StockItem, StockLedger
from store.stock import adjust, import_stock_list, issue, ledger, receive, set_planning, stock_list

NOW = 1_790_000_000_000
R, ISS, A = Kind.RECEIPT, Kind.ISSUE, Kind.ADJUST


def test_moving_average_worked_example() -> None:
    """10 at 5.00 = 50.00; 30 at 6.00 = 180.00 -> 40 worth 230.00, average 5.75; issue 15 -> 86.25 out, 25 worth
    143.75 at 5.75; 5 at 7.00 -> 30 worth 178.75, average 5.9583 (rounded to 1/10000); adjustment -1 at the
    average -> 29 worth 172.79; +2 without a cost at the average -> 31 worth 184.71; issue all 31 -> 0 worth 0."""
    pos = Position()
    pos = apply(pos, Entry(R, Decimal(10), Decimal("5.00")))
    assert pos == Position(Decimal("10.000"), Decimal("5.0000"), Decimal("50.00"))
    pos = apply(pos, Entry(R, Decimal(30), Decimal("6.00")))
    assert (pos.on_hand, pos.avg_cost, pos.value) == (Decimal(40), Decimal("5.75"), Decimal("230.00"))
    pos = apply(pos, Entry(ISS, Decimal(15)))
    assert (pos.on_hand, pos.avg_cost, pos.value) == (Decimal(25), Decimal("5.75"), Decimal("143.75"))
    pos = apply(pos, Entry(R, Decimal(5), Decimal("7.00")))
    assert (pos.on_hand, pos.avg_cost, pos.value) == (Decimal(30), Decimal("5.9583"), Decimal("178.75"))
    pos = apply(pos, Entry(A, Decimal(-1)))
    assert (pos.on_hand, pos.value) == (Decimal(29), Decimal("172.79"))  # 178.75 - 5.9583 rounded to the cent
    pos = apply(pos, Entry(A, Decimal(2)))
    assert (pos.on_hand, pos.value) == (Decimal(31), Decimal("184.71"))  # 172.79 + 11.92
    pos = apply(pos, Entry(ISS, Decimal(31)))
    assert pos == Position()  # the last unit out takes the value left: an empty item is worth exactly 0


def test_fractions_do_not_drift() -> None:
    """A thousand issues of 0.1 kg out of 100 kg bought at 3.33/kg leave exactly 0 kg worth exactly 0."""
    entries = [Entry(R, Decimal(100), Decimal("3.33"))] + [Entry(ISS, Decimal("0.1"))] * 1000
    assert valuate(entries) == Position()
    half = valuate(entries[:501])
    assert half.on_hand == Decimal("50.000")
    assert half.value == Decimal("333.00") - 500 * Decimal("0.33")  # each 0.1 kg out at 3.33 -> 0.333 -> 0.33


def test_refusals() -> None:
    pos = valuate([Entry(R, Decimal(3), Decimal(10))])
    with pytest.raises(StockError) as exc:
        apply(pos, Entry(ISS, Decimal(4)))
    assert exc.value.key == "stock.error.short"
    assert "3" in exc.value.text("zh") and "超过" in exc.value.text("zh")
    with pytest.raises(StockError):
        apply(pos, Entry(A, Decimal(-4)))  # a count can not take stock below zero either
    for bad in (
        Entry(ISS, Decimal(0)),
        Entry(R, Decimal(-1), Decimal(1)),
        Entry(R, Decimal(1)),
        Entry(R, Decimal(1), Decimal(-2)),
        Entry(A, Decimal(0)),
    ):
        with pytest.raises(StockError):
            apply(pos, bad)
    for bad_qty in ("nan", "inf", "-Infinity", "abc", True):
        with pytest.raises(StockError):
            apply(pos, Entry(ISS, bad_qty))  # type: ignore[arg-type]


def test_projected_and_reorder() -> None:
    assert projected(Decimal(5), Decimal(20), Decimal(8)) == Decimal(17)
    assert is_low(Decimal("9.999"), Decimal(10)) and not is_low(Decimal(10), Decimal(10))
    assert not is_low(Decimal(0), Decimal(0))  # no level, never low


def _db(url: str):  # type: ignore[no-untyped-def]
    migrate(url)
    return make_engine(url)


def test_ledger_in_the_store_and_append_only(db_url: str) -> None:
    engine = _db(db_url)
    with session_scope(engine) as s:
        import_stock_list(
            s,
            "物料编码,物料名称,单位,数量,单价,安全库存\nBRG-6312,轴承 6312,个,10,420.5,4\n".encode(),
            "count.csv",
            user="store-wang",
            now_ms=NOW,
        )
        receive(s, "BRG-6312", Decimal(6), Decimal("450"), user="store-wang", ts=NOW + 1, reference="DN-1")
        issue(s, "brg-6312", Decimal(12), user="fitter-li", ts=NOW + 2, reference="WO-7")
        set_planning(s, "BRG-6312", ordered=Decimal(20), reserved=Decimal(3))
    with session_scope(engine) as s, pytest.raises(StockError):
        issue(s, "BRG-6312", Decimal(5), user="fitter-li", ts=NOW + 3)  # 4 on hand
    with session_scope(engine) as s:
        adjust(s, "BRG-6312", Decimal(-1), user="store-wang", ts=NOW + 4, note="count")
        (item,) = stock_list(s)
        rows = ledger(s)
    # 10 x 420.50 + 6 x 450 = 6905.00 / 16 = 431.5625; 12 out = 5178.75 -> 4 worth 1726.25; 1 out -> 3 worth 1294.69
    assert (item.on_hand, item.avg_cost, item.value) == (Decimal(3), Decimal("431.5625"), Decimal("1294.69"))
    assert (item.ordered, item.reserved, item.projected, item.reorder, item.low) == (
        Decimal(20),
        Decimal(3),
        Decimal(20),
        Decimal(4),
        True,
    )
    assert item.name_zh == "轴承 6312" and item.unit == "pcs"
    assert [(r.kind, r.qty_milli, r.user) for r, _ in rows] == [
        ("adjust", -1000, "store-wang"),
        ("issue", -12000, "fitter-li"),
        ("receipt", 6000, "store-wang"),
        ("receipt", 10000, "store-wang"),
    ]
    assert sum(r.value_cents for r, _ in rows) == 129469  # the entries' values add up to the stock value
    with session_scope(engine) as s:  # as of a moment: after the newest entry stamped at or before it
        (then,) = stock_list(s, at_ms=NOW + 1)
        (before,) = stock_list(s, at_ms=NOW - 1)
        assert [len(ledger(s, code="brg-6312")), ledger(s, code="NOPE")] == [4, []]
    assert (then.on_hand, then.avg_cost, then.value, then.last_ts) == (
        16,
        Decimal("431.5625"),
        Decimal("6905.00"),
        NOW + 1,
    )
    assert (before.on_hand, before.value, before.last_ts, before.low) == (0, 0, None, True)
    # append-only: the database refuses to change or remove a ledger row, whatever path tries
    for stmt in (update(StockLedger).values(qty_milli=0), delete(StockLedger), text("DELETE FROM stock_ledger")):
        with pytest.raises(DBAPIError), session_scope(engine) as s:
            s.execute(stmt)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(StockLedger)) == 4
    # ... and the store offers no such path
    import store.stock as mod

    source = Path(str(mod.__file__)).read_text(encoding="utf-8")
    assert "update(" not in source and "delete(" not in source and ".delete" not in source


def _xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_excel_with_chinese_headers_and_recount(sqlite_url: str) -> None:
    engine = _db(sqlite_url)
    data = _xlsx(
        [
            ["物料编码", "物料名称", "英文名称", "单位", "数量", "单价", "安全库存", "仓库"],
            ["LIN-MGO", "镁铬砖", "Magnesia-chrome brick", "吨", 12.5, 6800, 20, "耐材库"],
            ["<script>x</script>", "x", "", "个", 1, 1, 0, ""],  # refused: not a code
        ]
    )
    with pytest.raises(StockFileError) as exc, session_scope(engine) as s:
        import_stock_list(s, data, "库存.xlsx", user="store-wang", now_ms=NOW)
    assert [(p.line, p.cell, p.key) for p in exc.value.problems] == [(3, "A3", "stock.bad.code")]
    assert exc.value.lines("zh")[0].startswith("第 3 行，A3：")
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(StockItem)) == 0  # nothing half imported
    good = _xlsx(
        [
            ["物料编码", "物料名称", "英文名称", "单位", "数量", "单价", "安全库存", "仓库"],
            ["LIN-MGO", "镁铬砖", "<script>alert(1)</script>", "吨", 12.5, 6800, 20, "耐材库"],
        ]
    )
    with session_scope(engine) as s:
        got = import_stock_list(s, good, "库存.xlsx", user="store-wang", now_ms=NOW)
    assert (got.items_added, got.entries) == (1, 1)
    recount = (
        "\ufeffcode,name,unit,qty,unit price,reorder level\nLIN-MGO,<img src=x onerror=alert(1)>,t,10.25,,25\n"
    ).encode()
    with session_scope(engine) as s:
        got = import_stock_list(s, recount, "recount.csv", user="store-zhao", now_ms=NOW + 1)
        (item,) = stock_list(s)
        (last, _), *_ = ledger(s)
    assert (got.items_added, got.items_updated, got.entries) == (0, 1, 1)
    assert (last.kind, last.qty_milli, last.user, last.reference) == ("adjust", -2250, "store-zhao", "recount.csv")
    assert (item.on_hand, item.value, item.reorder, item.low) == (
        Decimal("10.25"),
        Decimal("69700.00"),
        Decimal(25),
        True,
    )
    assert item.name == "<img src=x onerror=alert(1)>"  # hostile text kept as text (the page shows it as text)
    assert item.name_zh == "镁铬砖"  # a list without the Chinese name keeps it


def test_bad_stock_lists_name_every_line_and_cell() -> None:
    rows: list[list[Any]] = [
        ["物料编码", "物料名称", "单位", "数量", "单价"],
        ["A-1", "螺栓", "个", "abc", "1"],
        ["A-2", "螺母", "furlong", "1", "1"],
        ["A-1", "垫片", "个", "1", "1"],
        ["A-3", "", "个", "1", "1"],
        ["A-4", "管", "米", float("nan"), "1"],
        ["A-5", "管", "米", "inf", "1"],
        ["A-6", "管", "米", "-2", "1"],
        ["A-7", "管", "米", "", "1"],
        [],
        ["A-8", "阀门", "台", "1,200", "35.5"],
    ]
    with pytest.raises(StockFileError) as exc:
        parse_stock_list(rows, "bad.csv")
    got = [(p.line, p.cell, p.key) for p in exc.value.problems]
    assert got == [
        (2, "D2", "stock.bad.not_number"),
        (3, "C3", "stock.bad.unit"),
        (4, "A4", "stock.bad.duplicate"),
        (5, "B5", "stock.bad.no_name"),
        (6, "D6", "stock.bad.not_finite"),
        (7, "D7", "stock.bad.not_finite"),
        (8, "D8", "stock.bad.negative"),
        (9, "D9", "stock.bad.empty"),
    ]
    assert "line 4, A4: the code 'A-1' repeats line 2" in str(exc.value)
    with pytest.raises(StockFileError) as missing:
        parse_stock_list([["名称", "数量"], ["x", 1]])
    assert {p.values.get("column") for p in missing.value.problems} == {"code", "unit"}
    ok = parse_stock_list([rows[0], rows[-1]])
    assert (ok[0].quantity, ok[0].unit, ok[0].unit_cost) == (Decimal(1200), "pcs", Decimal("35.5"))
