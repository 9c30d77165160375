"""Tables for people's spreadsheets: one rule for every CSV download (exposure, energy, production, emissions,
reports) and one workbook writer (XlsxWriter) for every Excel download.

Cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) get a leading apostrophe, so plant names and free text are never executed when a download
is opened; numbers pass unchanged (give them as numbers, not as formatted text). Files are
UTF-8 with a byte-order mark, so that Excel shows Chinese names, and CRLF lines.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def number_of(text: str) -> float | None:
    """The number a displayed cell holds (``1,234.5``, ``-5``, ``12.5 %`` as 12.5), or None for text."""
    body = text.strip().replace(",", "")
    if body.endswith("%"):
        body = body[:-1].rstrip()
    if not body:
        return None
    try:
        number = float(body)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # "nan" and "inf" are names, not numbers


def cell(value: object) -> object:
    """A CSV cell: None (and NaN) empty, booleans 1/0, numbers to 6 decimals, formula-looking text escaped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        value = round(value, 6)  # a measured value, not float noise
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if isinstance(value, int):
        return value
    text = str(value)
    if text.startswith(CSV_FORMULA_PREFIXES):  # even "+1" or "-5" as text: a number is passed as a number
        return "'" + text
    return text


def to_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, a header row, CRLF lines and formula-looking cells escaped."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sheet:
    name: str  # at most 31 characters are kept (Excel's limit)
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    width: float = 18.0  # column width, characters
    first_width: float | None = None  # the first column's, when it holds long names


def to_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """A workbook, one sheet per table, headings bold. Numbers are numbers: real ones, and displayed text
    that is a number (``1,234.5``; ``12.5 %`` as 0.125 with a percent format). None and NaN are empty cells;
    other text is text (never a formula or a link)."""
    import xlsxwriter  # only a download needs it

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0.0%"})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name[:31])
        ws.write_row(0, 0, list(sheet.header), bold)
        for i, row in enumerate(sheet.rows, start=1):
            for j, value in enumerate(row):
                if value is None or (isinstance(value, float) and not math.isfinite(value)):
                    continue
                if isinstance(value, int | float) and not isinstance(value, bool):
                    ws.write_number(i, j, float(value))
                    continue
                text = str(value)
                number = number_of(text)
                if number is None:
                    ws.write_string(i, j, text)
                elif text.rstrip().endswith("%"):
                    ws.write_number(i, j, number / 100, percent)
                else:
                    ws.write_number(i, j, number)
        ws.set_column(0, max(0, len(sheet.header) - 1), sheet.width)
        if sheet.first_width is not None:
            ws.set_column(0, 0, sheet.first_width)
    book.close()
    return buf.getvalue()
