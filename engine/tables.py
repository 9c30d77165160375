"""Tables for people's spreadsheets: one rule for every CSV download (exposure, energy, production, emissions).

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
