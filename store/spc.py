"""Lab assays in the store: their results (samples of the plant file's ``assay`` tags), exclusions from the
SPC charts with a reason, the lab CSV import, and out-of-control results as ``spc`` events, which the alarm
service raises as advisory alarms (``engine.alarms``, source type ``spc``).

Default chart (what the service judges and the page opens on): the assay's results of the last
:data:`WINDOW_DAYS` days, limits frozen from the first :data:`BASELINE_DAYS` days of its results, the
Nelson rules :data:`ALARM_RULES`. A result breaking one of them is written once as an ``spc`` event (kind
``spc``, source the tag, at the result's time, the value and the rules in its data; low severity).

    python -m store.spc import FILE [--db URL] [--plant FILE]

Lab CSV: a header ``time,tag,value`` (or ``时间,位号,数值``), one result a line; time in ISO 8601 (with an offset,
or plant time without one); the tag an ``assay`` tag of the plant file; the value a finite number. Every
line is checked before anything is written: a file with a bad line is refused whole, each bad line named.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.plan import cell
from engine.spc import Chart, imr_chart, xbar_r_chart
from engine.types import GOOD, SampleIn
from plant.schema import Plant, Tag, TagKind
from store.models import Event, Sample, SpcExclusion
from store.samples import good_quality, write_samples

DAY_MS = 86_400_000
WINDOW_DAYS = 30
BASELINE_DAYS = 10
ALARM_RULES: tuple[int, ...] = (1, 2, 3, 5)
SPC_EVENT = "spc"
MAX_REASON = 200
MAX_ERRORS = 20
HEADERS = {"time": "time", "时间": "time", "tag": "tag", "位号": "tag", "value": "value", "数值": "value"}


class LabImportError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def assay_tags(plant: Plant) -> list[Tag]:
    return [t for t in plant.tags if t.kind == TagKind.ASSAY]


def results(session: Session, tag_id: int, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, values) of an assay's good results in ``[t0, t1)``, in time order."""
    c = Sample.__table__.c
    rows = session.execute(
        select(c.ts, c.value)
        .where(c.tag_id == tag_id, c.ts >= t0, c.ts < t1, c.value.is_not(None), good_quality(c.quality))
        .order_by(c.ts)
    ).all()
    return np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=float)


def exclusions(session: Session, tag: str, t0: int | None = None, t1: int | None = None) -> dict[int, SpcExclusion]:
    q = select(SpcExclusion).where(SpcExclusion.tag == tag)
    if t0 is not None:
        q = q.where(SpcExclusion.ts >= t0)
    if t1 is not None:
        q = q.where(SpcExclusion.ts < t1)
    return {int(r.ts): r for r in session.scalars(q)}


def exclude(session: Session, tag: str, ts: int, reason: str, user: str, now_ms: int) -> None:
    """Leave the result at ``ts`` out of ``tag``'s chart with a reason (replacing an earlier one)."""
    reason = " ".join(str(reason).split())[:MAX_REASON]
    if not reason:
        raise ValueError("an exclusion needs a reason")
    session.execute(delete(SpcExclusion).where(SpcExclusion.tag == tag, SpcExclusion.ts == ts))
    session.add(SpcExclusion(tag=tag, ts=int(ts), reason=reason, by=str(user)[:64], at=int(now_ms)))


def include(session: Session, tag: str, ts: int) -> bool:
    """Take an exclusion back; whether there was one."""
    gone = session.execute(delete(SpcExclusion).where(SpcExclusion.tag == tag, SpcExclusion.ts == ts))
    return bool(getattr(gone, "rowcount", 0))


@dataclass
class AssayChart:
    tag: Tag
    chart: Chart | None  # None: too few results for limits
    baseline: tuple[int, int]
    count: int
    raw: np.ndarray | None = None  # an X-bar chart's individual results (its Cpk and Ppk are of these)
    subgroup: int = 1  # results per subgroup (X-bar and R), 1 for individuals
    left_out: int = 0  # results of days with another number of results (X-bar and R)


CHART_KINDS = ("imr", "xbar_r")


def day_subgroups(
    ts: np.ndarray, values: np.ndarray, excluded: dict[int, str], tz: Any
) -> tuple[list[int], list[list[float]], int, int]:
    """The results grouped by plant day (a lab's samples of one day are a rational subgroup), excluded ones
    left out; only days with the most common number of results (2 to 10) are kept. Returns the subgroups'
    times (their first result), the subgroups, their size and how many results were left out."""
    days: dict[Any, tuple[int, list[float]]] = {}
    for ms, v in zip(ts.tolist(), values.tolist(), strict=True):
        if int(ms) in excluded:
            continue
        day = datetime.fromtimestamp(ms / 1000, tz).date()
        _, group = days.setdefault(day, (int(ms), []))
        group.append(float(v))
    sizes = [len(g) for _, g in days.values() if 2 <= len(g) <= 10]
    if not sizes:
        return [], [], 0, sum(len(g) for _, g in days.values())
    n = max(set(sizes), key=lambda k: (sizes.count(k), k))
    kept = [(first, g) for first, g in days.values() if len(g) == n]
    left = sum(len(g) for _, g in days.values()) - n * len(kept)
    return [f for f, _ in kept], [g for _, g in kept], n, left


def default_window(now_ms: int) -> tuple[int, int]:
    return now_ms - WINDOW_DAYS * DAY_MS, now_ms + 1


def assay_chart(
    session: Session,
    tag: Tag,
    tag_id: int,
    t0: int,
    t1: int,
    baseline: tuple[int, int] | None,
    rules: Sequence[int],
    baseline_days: float = BASELINE_DAYS,
    kind: str = "imr",
    tz: Any = None,
) -> AssayChart:
    """The I-MR chart (``kind`` "imr") or the X-bar and R chart of the plant days' results (``kind`` "xbar_r",
    ``tz`` the plant's zone) of an assay's results in ``[t0, t1)``; ``baseline`` None: the first
    ``baseline_days`` days from the window's first result."""
    ts, values = results(session, tag_id, t0, t1)
    if baseline is None:
        first = int(ts[0]) if ts.size else t0
        baseline = (first, first + int(baseline_days * DAY_MS))
    excl = {k: r.reason for k, r in exclusions(session, tag.id, t0, t1).items()}
    if kind == "xbar_r":
        times, groups, n, left = day_subgroups(ts, values, excl, tz)
        try:
            chart = xbar_r_chart(times, groups, baseline=baseline, rules=rules) if len(groups) >= 2 else None
        except ValueError:
            chart = None
        raw = np.array([v for g in groups for v in g], dtype=float)
        return AssayChart(tag, chart, baseline, int(ts.size), raw, n, left)
    try:
        chart = imr_chart(ts, values, baseline=baseline, excluded=excl, rules=rules)
    except ValueError:
        chart = None
    return AssayChart(tag, chart, baseline, int(ts.size))


def judge(session: Session, plant: Plant, tag_ids: dict[str, int], now_ms: int, since_ms: int) -> int:
    """Write an ``spc`` event for each result since ``since_ms`` that breaks an alarm rule on its default
    chart (once per tag and result). Returns how many were written."""
    t0, t1 = default_window(now_ms)
    written = 0
    for tag in assay_tags(plant):
        tid = tag_ids.get(tag.id)
        if tid is None:
            continue
        ac = assay_chart(session, tag, tid, t0, t1, None, ALARM_RULES)
        if ac.chart is None:
            continue
        for i, rules in ac.chart.flagged().items():
            ts = int(ac.chart.ts[i])
            if ts < since_ms:
                continue
            written += record_out_of_control(session, tag, ts, float(ac.chart.values[i]), rules)
    return written


def record_out_of_control(session: Session, tag: Tag, ts: int, value: float, rules: Sequence[int]) -> bool:
    dup = select(Event.id).where(Event.kind == SPC_EVENT, Event.source == tag.id, Event.ts_start == ts)
    if session.scalar(dup.limit(1)) is not None:
        return False
    data: dict[str, Any] = {"value": value, "rules": ",".join(str(r) for r in rules)}
    session.add(
        Event(
            kind=SPC_EVENT, source=tag.id, ts_start=ts, ts_end=ts, severity="low", zone=tag.zone, message="", data=data
        )
    )
    return True


def _time(text: str, plant: Plant) -> int:
    at = datetime.fromisoformat(text.strip())
    if at.tzinfo is None:
        at = at.replace(tzinfo=plant.tz())
    return int(at.timestamp() * 1000)


def parse_lab_csv(plant: Plant, text: str, filename: str = "lab.csv") -> list[tuple[str, int, float]]:
    """(tag, ms, value) of every line, or LabImportError naming every bad line (up to MAX_ERRORS)."""
    assays = {t.id for t in assay_tags(plant)}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    cols = [HEADERS.get((h or "").strip().lower()) for h in header or []]
    missing = [c for c in ("time", "tag", "value") if c not in cols]
    if missing:
        raise LabImportError([f"{filename} line 1: missing column(s) {', '.join(missing)} (time, tag, value)"])
    pos = {c: cols.index(c) for c in ("time", "tag", "value")}
    out: list[tuple[str, int, float]] = []
    errors: list[str] = []
    seen: set[tuple[str, int]] = set()
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{filename} line {line}"
        if len(row) < len(cols):
            errors.append(f"{where}: {len(row)} cells, expected {len(cols)}")
            continue
        tag, raw_t, raw_v = row[pos["tag"]].strip(), row[pos["time"]], row[pos["value"]].strip()
        at = {k: f"{where}, cell {cell(line - 1, c)}" for k, c in pos.items()}  # "lab.csv line 3, cell C3"
        if tag not in assays:
            errors.append(f"{at['tag']}: {tag[:64]!r} is not an assay tag of the plant file")
            continue
        try:
            ms = _time(raw_t, plant)
        except ValueError:
            errors.append(f"{at['time']}: time {raw_t[:40]!r} is not an ISO 8601 time")
            continue
        try:
            value = float(raw_v)
        except ValueError:
            errors.append(f"{at['value']}: value {raw_v[:40]!r} is not a number")
            continue
        if not math.isfinite(value):
            errors.append(f"{at['value']}: value {raw_v[:40]!r} is not a finite number")
            continue
        if (tag, ms) in seen:
            errors.append(f"{where}: a second result for {tag} at {raw_t.strip()[:40]}")
            continue
        seen.add((tag, ms))
        out.append((tag, ms, value))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise LabImportError(errors)
    if not out:
        raise LabImportError([f"{filename}: no results"])
    return out


def import_lab_csv(session: Session, plant: Plant, tag_ids: dict[str, int], text: str, filename: str) -> int:
    """Import a lab CSV as assay results, all or nothing; returns the number of results."""
    rows = parse_lab_csv(plant, text, filename)
    write_samples(session, [SampleIn(tag_ids[tag], ms, value, GOOD) for tag, ms, value in rows])
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    from plant.loader import load_plant
    from settings import get_settings
    from store.db import make_engine, migrate, session_scope
    from store.tags import sync_tags

    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m store.spc", description="Import lab assay results from a CSV file.")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="import a lab CSV (time,tag,value), all or nothing")
    imp.add_argument("file", type=Path)
    imp.add_argument("--db", default=s.db_url)
    imp.add_argument("--plant", type=Path, default=s.plant_file)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    plant = load_plant(args.plant)
    migrate(args.db)
    engine = make_engine(args.db)
    try:
        with session_scope(engine) as session:
            try:
                text = args.file.read_bytes().decode("utf-8-sig")
                n = import_lab_csv(session, plant, sync_tags(session, plant), text, args.file.name)
            except UnicodeDecodeError:
                sys.stderr.write(f"refused, nothing imported: {args.file.name} is not UTF-8 text\n")
                return 1
            except LabImportError as exc:
                sys.stderr.write("refused, nothing imported:\n" + "\n".join(exc.errors) + "\n")
                return 1
        sys.stdout.write(f"{n} results imported\n")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
