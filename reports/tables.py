"""Reports as Excel (XlsxWriter, numbers as numbers, units in the headings), CSV (UTF-8 with BOM, the one CSV
rule of ``engine.tables``) and a plant's own Excel template filled in (openpyxl).

A template is an ordinary workbook (any sheet names, Chinese included; merged cells allowed) marked in either
or both of two ways:

* **named cells** (Formulas > Define Name): a name ``sw_<figure>`` (the figure's key with dots as
  underscores, e.g. ``sw_alarms_total``, ``sw_energy_electricity``) gets that figure; ``sw_plant``,
  ``sw_period``, ``sw_title``, ``sw_generated`` get the texts;
* **markers** in cells: ``{{alarms.total}}`` (a figure, written as a number), ``{{plant}}``, ``{{period}}``,
  ``{{title}}``, ``{{generated}}``; and ``{{table:<section>.<table>}}`` (e.g. ``{{table:alarms.bad_actors}}``)
  which writes that table's heading row there and its rows below.

A marker naming no figure is a clear error naming the sheet and cell; a merged cell is written in its
top-left cell.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.tables import Sheet, to_csv, to_xlsx
from reports.content import Report, Table

MARKER = re.compile(r"^\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}$")
GROUPS = {"production", "equipment", "energy", "intensity", "alarms", "safety", "emissions"}
SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


class TemplateError(ValueError):
    """A template that cannot be filled: the message names the file, the sheet and the cell."""


def _tables(report: Report) -> Iterable[tuple[str, Table]]:
    for sec in report.sections:
        for tb in sec.tables:
            yield sec.key, tb


def to_workbook(report: Report) -> bytes:
    """One summary sheet (the key figures) and a sheet per table."""
    used: set[str] = set()

    def name(text: str) -> str:
        base = SHEET_BAD.sub(" ", text).strip()[:28] or "sheet"
        out, i = base, 2
        while out.lower() in used:
            out = f"{base[:26]} {i}"
            i += 1
        used.add(out.lower())
        return out

    head = [report.plant_name, f"{report.title} {report.period_label}"]
    summary = Sheet(name(report.title), head, [[k, v] for k, v in report.values.items()], width=16, first_width=40)
    sheets = [summary]
    for _, tb in _tables(report):
        sheets.append(Sheet(name(tb.title), tb.header, tb.rows, width=16, first_width=34))
    return to_xlsx(sheets)


def to_report_csv(report: Report) -> bytes:
    """Every table one after another: its title row, its headings, its rows, an empty row."""
    rows: list[list[Any]] = [[report.title, report.period_label], []]
    for key, tb in _tables(report):
        rows.append([f"{key}.{tb.key}", tb.title])
        rows.append(list(tb.header))
        rows.extend(list(r) for r in tb.rows)
        rows.append([])
    return to_csv([report.plant_name], rows)


def _texts(report: Report) -> dict[str, str]:
    return {
        "plant": report.plant_name,
        "period": report.period_label,
        "title": report.title,
        "generated": report.generated,
    }


def _write(ws: Any, coord: str, value: Any) -> None:
    """Write ``value`` at ``coord``; into a merged range's top-left cell when ``coord`` lies in one."""
    for rng in ws.merged_cells.ranges:
        if coord in rng:
            ws.cell(row=rng.min_row, column=rng.min_col).value = value
            return
    ws[coord] = value


def fill_template(report: Report, template: Path) -> bytes:
    """The plant's template with the report's figures, texts and tables in the marked places."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    try:
        book = openpyxl.load_workbook(template)
    except Exception as exc:  # a file that is no workbook: say which
        raise TemplateError(f"{template}: not an Excel workbook ({exc})") from None
    texts = _texts(report)
    figures = {k.replace(".", "_").replace("-", "_").lower(): v for k, v in report.values.items()}
    tables = {f"{key}.{tb.key}": tb for key, tb in _tables(report)}

    for dn_name, dn in list(book.defined_names.items()):
        low = dn_name.lower()
        if not low.startswith("sw_"):
            continue
        key = low[3:]
        if key in texts:
            value: Any = texts[key]
        elif key in figures:
            value = figures[key]
        else:
            continue  # a figure the period has none of (a product without a plan): left as it is
        for sheet_name, coord in dn.destinations:
            if sheet_name not in book.sheetnames:
                raise TemplateError(f"{template}: the name {dn_name} points at a missing sheet {sheet_name!r}")
            _write(book[sheet_name], coord.replace("$", "").split(":")[0], value)

    for ws in book.worksheets:
        found: list[tuple[int, int, str]] = []
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    m = MARKER.match(c.value.strip())
                    if m:
                        found.append((c.row, c.column, m.group(1)))
        for r, col, key in found:
            coord = f"{get_column_letter(col)}{r}"
            if key.startswith("table:"):
                tb = tables.get(key[6:])
                if tb is None:
                    raise TemplateError(
                        f"{template}: sheet {ws.title!r} cell {coord}: no table {key[6:]!r} "
                        f"(there are {', '.join(sorted(tables))})"
                    )
                for j, h in enumerate(tb.header):
                    ws.cell(row=r, column=col + j).value = h
                for i, trow in enumerate(tb.rows, start=1):
                    for j, v in enumerate(trow):
                        ws.cell(row=r + i, column=col + j).value = v
                continue
            low = key.lower()
            if low in texts:
                _write(ws, coord, texts[low])
            elif low.replace(".", "_").replace("-", "_") in figures:
                _write(ws, coord, figures[low.replace(".", "_").replace("-", "_")])
            elif low.split(".")[0] in GROUPS and "." in low:
                _write(ws, coord, None)  # a figure of a kind the period has none of (no plan, no emissions)
            else:
                raise TemplateError(f"{template}: sheet {ws.title!r} cell {coord}: unknown marker {{{{{key}}}}}")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
