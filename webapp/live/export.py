"""Excel downloads (XlsxWriter): one workbook writer for every page's tables; CSV is ``engine.tables``."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.tables import number_of

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
