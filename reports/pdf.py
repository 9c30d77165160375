"""Reports as PDF (fpdf2) with the Simplified Chinese face of Noto Sans CJK embedded (subset), so Chinese text
is extractable and searchable as the characters it is (日, 厂, 乙 stay themselves, not Kangxi radicals), and
charts drawn as vector graphics (lines, rectangles and text of the PDF itself).

The font: ``SW_REPORT_FONT`` (a .ttf/.otf/.ttc), else Debian's ``fonts-noto-cjk``. In a collection the face
named "Noto Sans CJK SC" is chosen (the default face of the collection is Japanese). Without a CJK font
:class:`FontMissingError` says what to install: a report is never printed with empty boxes.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from i18n import t
from reports.content import Chart, Report, Table

logger = logging.getLogger(__name__)

FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
)
FACE = "Noto Sans CJK SC"
FAMILY = "cjk"
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))
MAX_TABLE_ROWS = 400  # a longer table is cut, with a note (the workbook has every row)


class FontMissingError(RuntimeError):
    """No CJK font to embed."""


@lru_cache(maxsize=4)
def _face_index(path: str) -> int:
    """Index of the Simplified Chinese face in a collection (2 in Noto Sans CJK's; checked, not assumed)."""
    from fontTools.ttLib import TTCollection

    names = [f["name"].getDebugName(1) for f in TTCollection(path, lazy=True).fonts]
    for i, name in enumerate(names):
        if name == FACE:
            return i
    for i, name in enumerate(names):
        if name and name.endswith(" SC"):
            return i
    raise FontMissingError(f"{path}: no Simplified Chinese face in the collection ({names})")


def find_font() -> tuple[Path, int | None]:
    """The CJK font file and, for a collection, the face number; :class:`FontMissingError` when none."""
    own = os.environ.get("SW_REPORT_FONT")
    candidates = [Path(own)] if own else list(FONT_CANDIDATES)
    for path in candidates:
        if path.is_file():
            return path, _face_index(str(path)) if path.suffix.lower() == ".ttc" else None
    raise FontMissingError(
        "no CJK font for PDF reports: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) "
        f"or set SW_REPORT_FONT to a .ttf/.otf/.ttc with Chinese; looked at {', '.join(map(str, candidates))}"
    )


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        if v.is_integer() and abs(v) < 1e12:
            return f"{int(v):,}"
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def blank() -> Any:
    """An empty A4 document with the CJK font loaded (about a second: :func:`prepare` starts it early)."""
    from fpdf import FPDF

    path, index = find_font()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_compression(True)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(14, 18, 14)
    if index is None:
        pdf.add_font(FAMILY, fname=str(path))
    else:
        pdf.add_font(FAMILY, fname=str(path), collection_font_number=index)
    for font in pdf.fonts.values():  # keep the font's own bounding box: recomputing it from every outline
        ttfont = getattr(font, "ttfont", None)  # of the subset doubles the time of a report
        if ttfont is not None:
            ttfont.recalcBBoxes = False
    return pdf


def prepare() -> Future[Any]:
    """Load the font for the next PDF in a thread while the caller reads the store (the queries leave the
    interpreter free): a report's PDF then starts with its font ready. :class:`FontMissingError` comes out of
    the future's result."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-font")
    future = pool.submit(blank)
    pool.shutdown(wait=False)
    return future


class _Doc:
    def __init__(self, report: Report, pdf: Any = None) -> None:
        self.report = report
        pdf = pdf if pdf is not None else blank()
        pdf.set_title(f"{report.title} {report.plant_name} {report.period_label}")
        pdf.set_author(report.plant_name)
        pdf.set_creator("SmeltWatch")
        pdf.set_lang("zh-CN" if report.lang == "zh" else "en")
        lang = report.lang
        title = f"{report.plant_name} · {report.title} · {report.period_label}"

        def header() -> None:
            pdf.set_font(FAMILY, size=8)
            pdf.set_text_color(90, 90, 90)
            pdf.set_xy(14, 8)
            pdf.cell(0, 5, title)
            pdf.set_draw_color(200, 200, 200)
            pdf.line(14, 14, 196, 14)
            pdf.set_text_color(0, 0, 0)
            pdf.set_xy(pdf.l_margin, pdf.t_margin)

        def footer() -> None:
            pdf.set_y(-12)
            pdf.set_font(FAMILY, size=8)
            pdf.set_text_color(90, 90, 90)
            pdf.cell(0, 5, t("report.page", lang, page=pdf.page_no(), generated=report.generated), align="C")
            pdf.set_text_color(0, 0, 0)

        pdf.header = header
        pdf.footer = footer
        self.pdf = pdf

    # --- pieces ---------------------------------------------------------------------------------------------

    def cover(self) -> None:
        r, pdf = self.report, self.pdf
        pdf.add_page()
        pdf.set_font(FAMILY, size=20)
        pdf.multi_cell(0, 10, r.plant_name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=16)
        pdf.multi_cell(0, 9, f"{r.title} · {r.period_label}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=9)
        pdf.set_text_color(90, 90, 90)
        pdf.multi_cell(0, 6, t("report.generated", r.lang, at=r.generated), new_x="LMARGIN", new_y="NEXT")
        if not r.named:
            pdf.multi_cell(0, 6, t("report.no_names", r.lang), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)

    def heading(self, text: str, size: int = 14) -> None:
        pdf = self.pdf
        if pdf.get_y() > (225 if size >= 14 else 250):  # a section's title not alone at the foot of a page
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font(FAMILY, size=size)
        pdf.set_fill_color(230, 236, 245)
        pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT", fill=True)
        pdf.ln(1)

    def note(self, text: str) -> None:
        self.pdf.set_font(FAMILY, size=9)
        self.pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    def table(self, tb: Table) -> None:
        pdf = self.pdf
        self.heading(tb.title, 11)
        if not tb.rows:
            self.note(t("report.none", self.report.lang))
            return
        rows = tb.rows[:MAX_TABLE_ROWS]
        n = len(tb.header)
        full = pdf.w - pdf.l_margin - pdf.r_margin
        first = 2.4 if n > 2 else 1.5
        unit = full / (first + n - 1)
        widths = [first * unit, *([unit] * (n - 1))]
        size = 7.0 if n > 6 else 8.0
        line = 4.8

        def head() -> None:
            pdf.set_font(FAMILY, size=size - 0.5)
            pdf.set_fill_color(235, 238, 242)
            for j, h in enumerate(tb.header):
                text = str(h)
                pdf.cell(widths[j], line + 0.6, _fit(pdf, text, widths[j] - 1), align="L" if j == 0 else "R", fill=True)
            pdf.ln(line + 0.6)
            pdf.set_font(FAMILY, size=size)

        head()
        pdf.set_draw_color(225, 225, 225)
        bottom = pdf.h - 18
        for row in rows:
            if pdf.get_y() + line > bottom:
                pdf.add_page()
                head()
            y = pdf.get_y()
            for j, v in enumerate(row):
                text = _num(v)
                pdf.cell(widths[j], line, _fit(pdf, text, widths[j] - 1), align="L" if j == 0 else "R")
            pdf.ln(line)
            pdf.line(pdf.l_margin, y + line, pdf.l_margin + full, y + line)
        if len(tb.rows) > MAX_TABLE_ROWS:
            self.note(t("report.cut", self.report.lang, shown=MAX_TABLE_ROWS, total=len(tb.rows)))

    def chart(self, ch: Chart, height: float = 62.0) -> None:
        """A bar or line chart drawn with the PDF's own vector operators."""
        pdf = self.pdf
        if pdf.get_y() + height + 12 > pdf.h - 16:
            pdf.add_page()
        pdf.set_font(FAMILY, size=10)
        pdf.cell(
            0,
            6,
            ch.title + (f" ({ch.unit})" if ch.unit and ch.unit not in ch.title else ""),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        x0, y0 = 30.0, pdf.get_y() + 2
        w, h = 160.0, height - 22
        values = [v for _, vs in ch.series for v in vs if v is not None]
        top = max([0.0, *values])
        bottom = min([0.0, *values])
        if top == bottom:
            top = bottom + 1.0
        top, step = _nice(top - bottom)
        top += bottom

        def y_of(v: float) -> float:
            return float(y0 + h - (v - bottom) / (top - bottom) * h)

        pdf.set_draw_color(210, 210, 210)
        pdf.set_line_width(0.15)
        pdf.set_font(FAMILY, size=6.5)
        tick = bottom
        while tick <= top + 1e-9:
            yy = y_of(tick)
            pdf.line(x0, yy, x0 + w, yy)
            pdf.set_xy(x0 - 16, yy - 2)
            pdf.cell(15, 4, _num(round(tick, 6)), align="R")
            tick += step
        pdf.set_draw_color(60, 60, 60)
        pdf.line(x0, y0 + h, x0 + w, y0 + h)
        n = max(1, len(ch.labels))
        slot = w / n
        if ch.kind == "bar":
            k = max(1, len(ch.series))
            bw = slot * 0.8 / k
            for si, (_, vs) in enumerate(ch.series):
                pdf.set_fill_color(*PALETTE[si % len(PALETTE)])
                for i, v in enumerate(vs):
                    if v is None:
                        continue
                    x = x0 + i * slot + slot * 0.1 + si * bw
                    ya, yb = y_of(max(v, 0.0)), y_of(min(v, 0.0))
                    pdf.rect(x, ya, bw, max(yb - ya, 0.05), style="F")
        else:
            pdf.set_line_width(0.45)
            for si, (_, vs) in enumerate(ch.series):
                pdf.set_draw_color(*PALETTE[si % len(PALETTE)])
                pts: list[tuple[float, float]] = []
                for i, v in enumerate(vs):
                    if v is None:
                        if len(pts) > 1:
                            pdf.polyline(pts)
                        pts = []
                        continue
                    pts.append((x0 + (i + 0.5) * slot, y_of(v)))
                if len(pts) > 1:
                    pdf.polyline(pts)
                elif len(pts) == 1:
                    pdf.set_fill_color(*PALETTE[si % len(PALETTE)])
                    pdf.circle(x=pts[0][0], y=pts[0][1], radius=0.7, style="F")
        pdf.set_line_width(0.2)
        # category labels: every one when they fit, else a thinned set
        pdf.set_font(FAMILY, size=6 if n > 12 else 6.5)
        every = max(1, math.ceil(n / 16)) if any(len(lb) > 4 for lb in ch.labels) else max(1, math.ceil(n / 32))
        for i, lb in enumerate(ch.labels):
            if i % every:
                continue
            text = lb if pdf.get_string_width(lb) <= slot * every - 0.5 else _fit(pdf, lb, slot * every - 0.5)
            pdf.set_xy(x0 + i * slot, y0 + h + 0.8)
            pdf.cell(slot * every, 3.5, text, align="C" if every == 1 else "L")
        # legend
        lx = x0
        ly = y0 + h + 6
        pdf.set_font(FAMILY, size=7)
        for si, (name, _) in enumerate(ch.series):
            pdf.set_fill_color(*PALETTE[si % len(PALETTE)])
            pdf.rect(lx, ly + 1, 3, 2.5, style="F")
            pdf.set_xy(lx + 4, ly)
            pdf.cell(pdf.get_string_width(name) + 2, 4.5, name)
            lx += pdf.get_string_width(name) + 10
        pdf.set_y(ly + 7)
        pdf.set_draw_color(0, 0, 0)

    def render(self) -> bytes:
        self.cover()
        for sec in self.report.sections:
            self.heading(sec.title)
            for text in sec.notes:
                self.note(text)
            for ch in sec.charts:
                self.chart(ch)
            for tb in sec.tables:
                self.table(tb)
        return bytes(self.pdf.output())


def _fit(pdf: Any, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    out = text
    while out and pdf.get_string_width(out + "…") > width:
        out = out[:-1]
    return out + "…" if out != text else out


def _nice(span: float) -> tuple[float, float]:
    """A round top for the axis and its tick step (4-6 ticks)."""
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return math.ceil(span / step) * step, step


def to_pdf(report: Report, prepared: Future[Any] | None = None) -> bytes:
    """The report as PDF bytes (in the document of :func:`prepare` when given)."""
    return _Doc(report, prepared.result() if prepared is not None else None).render()
