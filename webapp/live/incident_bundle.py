"""An incident's export bundle for investigators (S5): the replay's data as JSON and CSV, the snapshots and clips
of its video detections, a summary (HTML and plain text) and ``manifest.json`` with the SHA-256 of every file
(``engine.manifest``; ``python -m engine.manifest verify BUNDLE.zip`` finds a changed file).

The summary is also a PDF (``summary.pdf``, fpdf2 with the Noto CJK face ``reports.pdf`` loads), when the font is
installed; without it the bundle has the HTML and text summaries only.
The data is what the exporting user may see (``webapp.live.replay.Who``): no names without ``NAMES``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
from pathlib import Path
from typing import Any

from engine.clock import DATE_TIME, format_local
from engine.manifest import write_bundle
from i18n import t
from plant import Plant
from reports.pdf import FAMILY, FontMissingError, blank
from store.incidents import IncidentView
from video.media import CLIP, SNAPSHOT, media_file
from webapp.live.replay import Who, load

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 200 * 1024 * 1024  # snapshots and clips in one bundle at most


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        # a cell a spreadsheet would run as a formula is written as text
        w.writerow(["'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def build(
    engine: Any, plant: Plant, inc: IncidentView, who: Who, lang: str, *, now_ms: int, media_root: Path | None
) -> tuple[bytes, dict[str, Any]]:
    """The zip of ``inc`` and what it holds (for the audit log)."""
    packed = load(engine, plant, inc.t0, inc.t1, who, lang, tags=inc.tags, now_ms=now_ms)
    tz = plant.tz()
    files: dict[str, bytes] = {}
    record = inc.as_dict() if who.names else dict(inc.as_dict(), created_by="", notes="", findings="")
    files["incident.json"] = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    files["data/replay.json"] = json.dumps(packed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    files["data/journal.csv"] = _csv(
        [
            "time",
            "kind",
            "priority",
            "alarm",
            "source",
            "condition",
            "text",
            "area",
            "zone",
            "value",
            "user",
            "comment",
        ],
        [
            [
                format_local(r["ts"], tz, DATE_TIME),
                r["kind"],
                r["prio"],
                r["alarm"],
                r["src"],
                r["cond"],
                r["text"],
                r["area"],
                r["zone"],
                r["value"],
                r["user"],
                r["comment"],
            ]
            for r in packed["journal"]
        ],
    )
    files["data/video.csv"] = _csv(
        ["time", "event", "camera", "class", "confidence", "zone", "alarm"],
        [
            [
                format_local(packed["t0"] + v["s"] * 1000, tz, DATE_TIME),
                v["id"],
                v["cam"],
                v["cls"],
                v["conf"],
                v["zone"],
                v["alarm"],
            ]
            for v in packed["video"]
        ],
    )
    trend_rows: list[list[Any]] = []
    for tr in packed["trends"]:
        trend_rows += [[tr["tag"], x, y] for x, y in zip(tr["x"], tr["y"], strict=True) if y is not None]
    files["data/trends.csv"] = _csv(["tag", "time", "value"], trend_rows)
    pos_rows: list[list[Any]] = []
    for trip in packed["trips"]:
        b = packed["badges"][trip["b"]]
        for s, (x, y) in zip(trip["t"], trip["p"], strict=True):
            pos_rows.append([b["id"], b["r"], format_local(packed["t0"] + s * 1000, tz, DATE_TIME), x, y])
    files["data/positions.csv"] = _csv(["badge", "role", "time", "x_m", "y_m"], pos_rows)
    media_bytes = 0
    if media_root is not None and who.video:
        for v in packed["video"]:
            for name in (SNAPSHOT, CLIP):
                path = media_file(media_root, int(v["id"]), name)
                if not path.is_file():
                    continue
                data = path.read_bytes()
                if media_bytes + len(data) > MAX_MEDIA_BYTES:
                    logger.warning("incident %d: media over %d bytes left out", inc.id, MAX_MEDIA_BYTES)
                    break
                media_bytes += len(data)
                files[f"media/{v['id']}/{name}"] = data
    files["summary.html"] = summary_html(inc, packed, plant, who, lang, sorted(files)).encode("utf-8")
    files["summary.txt"] = summary_text(inc, packed, plant, who, lang).encode("utf-8")
    pdf = summary_pdf(files["summary.txt"].decode("utf-8"))
    if pdf is not None:
        files["summary.pdf"] = pdf
    about = {"incident": inc.id, "title": inc.title, "window": [inc.t0, inc.t1], "exported_at": now_ms}
    return write_bundle(files, **about), {"files": len(files) + 1, "media_bytes": media_bytes}


def summary_text(inc: IncidentView, packed: dict[str, Any], plant: Plant, who: Who, lang: str) -> str:
    tz = plant.tz()
    lines = [
        t("incidents.summary.title", lang, id=inc.id, title=inc.title),
        f"{t('incidents.summary.window', lang)}: {format_local(inc.t0, tz, DATE_TIME)}"
        f" – {format_local(inc.t1, tz, DATE_TIME)} ({plant.site.timezone})",
    ]
    if who.names:
        lines.append(
            t("incidents.summary.saved", lang, by=inc.created_by, at=format_local(inc.created_at, tz, DATE_TIME))
        )
        for key, text in (("notes", inc.notes), ("findings", inc.findings)):
            if text:
                lines += ["", t(f"incidents.summary.{key}", lang) + ":", text]
    if inc.alarms:
        lines += ["", t("incidents.summary.alarms", lang) + ": " + ", ".join(inc.alarms)]
    lines += ["", t("incidents.summary.journal", lang) + ":"]
    for r in packed["journal"]:
        lines.append(
            f"  {format_local(r['ts'], tz, DATE_TIME)}  {r['k']}  {r['p']}  {r['src']}  {r['text'] or r['cond']}"
        )
    lines += ["", t("incidents.summary.video", lang) + ":"]
    for v in packed["video"]:
        lines.append(
            f"  {format_local(packed['t0'] + v['s'] * 1000, tz, DATE_TIME)}  {v['cls']}  {v['cam']}  {v['zone']}"
        )
    return "\n".join(lines) + "\n"


def summary_html(inc: IncidentView, packed: dict[str, Any], plant: Plant, who: Who, lang: str, files: list[str]) -> str:
    """A printable summary; every plant or person text escaped."""
    e = html.escape
    body = "".join(
        f"<p>{e(line)}</p>" if line else "" for line in summary_text(inc, packed, plant, who, lang).splitlines()[:2]
    )
    rows = "".join(
        f"<tr><td>{e(format_local(r['ts'], plant.tz(), DATE_TIME))}</td><td>{e(r['k'])}</td><td>{e(r['p'])}</td>"
        f"<td>{e(r['src'])}</td><td>{e(r['text'] or r['cond'])}</td><td>{e(r['user'])}</td></tr>"
        for r in packed["journal"]
    )
    notes = ""
    if who.names:
        for key, text in (("notes", inc.notes), ("findings", inc.findings)):
            if text:
                notes += f"<h2>{e(t(f'incidents.summary.{key}', lang))}</h2><pre>{e(text)}</pre>"
    listing = "".join(f"<li>{e(f)}</li>" for f in [*files, "summary.html", "summary.txt"])
    return (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        f"<title>{e(t('incidents.summary.title', lang, id=inc.id, title=inc.title))}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td{border:1px solid #999;padding:2px 6px;font-size:12px}</style></head><body>"
        f"<h1>{e(t('incidents.summary.title', lang, id=inc.id, title=inc.title))}</h1>{body}{notes}"
        f"<h2>{e(t('incidents.summary.journal', lang))}</h2><table>{rows}</table>"
        f"<h2>{e(t('incidents.summary.files', lang))}</h2><ul>{listing}</ul></body></html>"
    )


def summary_pdf(text: str) -> bytes | None:
    """The text summary as an A4 PDF in the CJK face (None when the font is not installed)."""
    try:
        pdf = blank()
    except FontMissingError:
        logger.warning("incident bundle: no CJK font, no PDF summary")
        return None
    pdf.add_page()
    pdf.set_font(FAMILY, size=14)
    lines = text.splitlines()
    pdf.multi_cell(0, 7, lines[0] if lines else "", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    for line in lines[1:]:
        pdf.multi_cell(0, 4.6, line if line else " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
