"""Issuing a report: build the content once, render each format, store the files under the data directory
(``<var>/reports/<kind>/<period>/``) and archive each with its SHA-256 as the next version of that period.
A file once written is never overwritten; a reissue is a new version beside it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from plant.schema import Plant
from reports.content import Report, build
from reports.period import Period
from store.db import session_scope
from store.models import ReportIssue
from store.reports import FORMATS, add_issue, next_version

logger = logging.getLogger(__name__)

MIME = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "template": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
EXT = {"pdf": "pdf", "xlsx": "xlsx", "template": "xlsx", "csv": "csv"}


@dataclass(frozen=True)
class Issued:
    id: int
    kind: str
    period: str
    lang: str
    fmt: str
    version: int
    sha256: str
    size: int
    path: Path
    named: bool


def render(report: Report, fmt: str, template: Path | None = None, prepared: Future[Any] | None = None) -> bytes:
    """The report's file in ``fmt`` (pdf, xlsx, csv, template); ``prepared``: a PDF begun by
    ``reports.pdf.prepare``."""
    if fmt == "pdf":
        from reports.pdf import to_pdf

        return to_pdf(report, prepared)
    if fmt == "xlsx":
        from reports.tables import to_workbook

        return to_workbook(report)
    if fmt == "csv":
        from reports.tables import to_report_csv

        return to_report_csv(report)
    if fmt == "template":
        if template is None:
            raise ValueError("no report template is set (SW_REPORT_TEMPLATE)")
        from reports.tables import fill_template

        return fill_template(report, template)
    raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")


def file_name(p: Period, lang: str, fmt: str, named: bool, version: int) -> str:
    period = p.key.replace("/", "-")
    tail = "" if named else "-nonames"
    kind = "template-" if fmt == "template" else ""
    return f"{p.kind.value}-{period}-{lang}{tail}-{kind}v{version}.{EXT[fmt]}"


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file (never over an existing one), durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.link(tmp, path)  # fails if the name exists: an archived file is never replaced
    tmp.unlink()


def issue(
    engine: Engine,
    plant: Plant,
    reports_dir: Path,
    p: Period,
    lang: str,
    formats: list[str] | tuple[str, ...],
    *,
    named: bool,
    now_ms: int,
    user: str | None = None,
    schedule_id: int | None = None,
    template: Path | None = None,
    report: Report | None = None,
) -> list[Issued]:
    """Build ``p``'s report once (or use ``report``), render each format, archive each as a new version."""
    prepared = None
    if "pdf" in formats:
        from reports.pdf import prepare

        prepared = prepare()  # the font loads while the store is read
    if report is None:
        with session_scope(engine) as session:
            report = build(session, plant, p, lang, named=named, now_ms=now_ms)
    out: list[Issued] = []
    for fmt in formats:
        data = render(report, fmt, template, prepared if fmt == "pdf" else None)
        digest = hashlib.sha256(data).hexdigest()
        for _attempt in range(5):  # two issuers of the same period at once: the loser takes the next version
            try:
                with session_scope(engine) as session:
                    version = next_version(session, p.kind.value, p.key, lang, fmt, named)
                    rel = Path(p.kind.value) / p.key.replace("/", "-") / file_name(p, lang, fmt, named, version)
                    target = reports_dir / rel
                    if target.exists():  # a file of a version whose row was lost: keep it, take another
                        raise FileExistsError(target)
                    row = add_issue(
                        session,
                        ReportIssue(
                            kind=p.kind.value,
                            period=p.key,
                            t0=p.t0,
                            t1=p.t1,
                            lang=lang,
                            fmt=fmt,
                            named=named,
                            version=version,
                            ts=int(now_ms),
                            user=user,
                            schedule_id=schedule_id,
                            sha256=digest,
                            size=len(data),
                            path=rel.as_posix(),
                        ),
                    )
                    _write_new(target, data)
                    out.append(
                        Issued(row.id, p.kind.value, p.key, lang, fmt, version, digest, len(data), target, named)
                    )
                break
            except (IntegrityError, FileExistsError):
                logger.info("report %s %s %s: version taken, trying the next", p.key, lang, fmt)
        else:
            raise RuntimeError(f"could not archive the report {p.key} {lang} {fmt}")
        logger.info("report %s %s %s v%d issued (%d bytes)", p.key, lang, fmt, out[-1].version, len(data))
    return out


def read_file(reports_dir: Path, row: ReportIssue) -> bytes:
    """An archived file, checked against its SHA-256 (a changed file is refused, not served)."""
    path = (reports_dir / row.path).resolve()
    if reports_dir.resolve() not in path.parents:
        raise PermissionError(f"report {row.id}: path outside the archive")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise ValueError(f"report {row.id}: the archived file does not match its SHA-256")
    return data
