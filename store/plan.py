"""The production plan in the store: importing a plan file as a new version (all of it or nothing), the plan in
force for each day (the newest version covering it), and the amounts the production counters counted per
plant day (``store.counter_days``).

    python -m store.plan import FILE --user NAME [--db URL] [--plant FILE]
    python -m store.plan versions [--db URL]
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Float, bindparam, case, cast, func, select
from sqlalchemy.orm import Session

from engine.plan import PlanFileError, Target, parse_plan
from plant.schema import Plant, TagKind
from store.models import PlanTarget, PlanVersion, Rollup1h

logger = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
DAY_MS = 86_400_000


def read_table(data: bytes, name: str) -> list[list[Any]]:
    """The rows of a CSV file (UTF-8 with or without BOM, or GB18030) or of an Excel file's first sheet."""
    if len(data) > MAX_BYTES:
        raise PlanFileError(name, [f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB"])
    if name.lower().endswith((".xlsx", ".xlsm")):
        import openpyxl  # only the import needs it

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # a corrupt or foreign file: say so, name the file
            raise PlanFileError(name, [f"not an Excel workbook ({type(exc).__name__})"]) from exc
        try:
            sheet = book.worksheets[0]
            return [list(r) for r in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise PlanFileError(name, ["not a text file in UTF-8 or GB18030"])
    return [list(r) for r in csv.reader(io.StringIO(text))]


def import_plan(
    session: Session, data: bytes, name: str, plant: Plant, user: str, now_ms: int, note: str = ""
) -> PlanVersion:
    """Check the whole file, then store it as a new version (flushes; the caller commits, so a refused file
    or a failure half way leaves nothing). :class:`engine.plan.PlanFileError` names the cells at fault."""
    targets = parse_plan(read_table(data, name), plant, source=name)
    return store_targets(session, targets, name, user, now_ms, note)


def store_targets(
    session: Session, targets: Sequence[Target], name: str, user: str, now_ms: int, note: str = ""
) -> PlanVersion:
    days = sorted({t.day for t in targets})
    version = PlanVersion(
        ts=now_ms,
        user=user,
        source=Path(name).name[:255],
        first_day=days[0].isoformat(),
        last_day=days[-1].isoformat(),
        rows=len(targets),
        note=note,
    )
    session.add(version)
    session.flush()
    session.add_all(
        PlanTarget(version_id=version.id, day=t.day.isoformat(), shift=t.shift, product=t.product, target=t.target)
        for t in targets
    )
    session.flush()
    logger.info(
        "plan version %d from %s by %s: %d targets, %s..%s", version.id, name, user, len(targets), days[0], days[-1]
    )
    return version


def versions(session: Session) -> list[PlanVersion]:
    return list(session.scalars(select(PlanVersion).order_by(PlanVersion.id.desc())))


def plan_in_force(session: Session, first: date, last: date) -> dict[str, dict[date, dict[str, float]]]:
    """product -> day -> shift ("" for the whole day) -> target, each day from the newest version covering it."""
    lo, hi = first.isoformat(), last.isoformat()
    vs = session.execute(
        select(PlanVersion.id, PlanVersion.first_day, PlanVersion.last_day)
        .where(PlanVersion.first_day <= hi, PlanVersion.last_day >= lo)
        .order_by(PlanVersion.id)
    ).all()
    if not vs:
        return {}
    owner: dict[str, int] = {}
    for vid, f, last_day in vs:  # newer versions overwrite older ones day by day
        d = max(date.fromisoformat(f), first)
        end = min(date.fromisoformat(last_day), last)
        while d <= end:
            owner[d.isoformat()] = vid
            d += timedelta(days=1)
    rows = session.execute(
        select(PlanTarget.version_id, PlanTarget.day, PlanTarget.shift, PlanTarget.product, PlanTarget.target).where(
            PlanTarget.day >= lo, PlanTarget.day <= hi, PlanTarget.version_id.in_(sorted(set(owner.values())))
        )
    )
    out: dict[str, dict[date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for vid, day, shift, product, target in rows:
        if owner.get(day) == vid:
            out[product][date.fromisoformat(day)][shift] = float(target)
    return {p: dict(days) for p, days in out.items()}


def daily_amounts(
    session: Session, tag_ids: Sequence[int], t0: int, t1: int, offset_ms: int, *, period_ms: int = DAY_MS
) -> dict[int, dict[int, float]]:
    """tag id -> day number (``(ts + offset_ms) // DAY_MS``: plant days for a zone ``offset_ms`` ahead of UTC)
    -> amount counted, from the hourly rollups of ``[t0, t1)``, in one statement: what each hour counted inside
    itself (a reset as in ``store.counters``) plus the positive step from the hour before. ``period_ms`` (a
    multiple of an hour) groups by other periods: ``HOUR_MS`` with offset 0 gives hour numbers (``ts // HOUR_MS``).
    The first hour of the range has no step from the hour before: begin an hour early when it matters."""
    ids = sorted({int(i) for i in tag_ids})
    if not ids:
        return {}
    r = Rollup1h.__table__.c
    inner = case((r["last"] >= r["first"], r["last"] - r["first"]), else_=(r.vmax - r["first"]) + (r["last"] - r.vmin))
    step = r["first"] - func.lag(r["last"]).over(partition_by=r.tag_id, order_by=r.bucket)
    off = bindparam("off", offset_ms, type_=BigInteger)
    period = bindparam("period", period_ms, type_=BigInteger)
    day = (r.bucket + off) // period  # floor division on both (a plain / is true division on PostgreSQL)
    per_hour = (
        select(r.tag_id.label("tag_id"), day.label("day"), cast(inner, Float).label("inner"), step.label("step"))
        .where(r.tag_id.in_(ids), r.bucket >= t0, r.bucket < t1)
        .subquery()
    )
    h = per_hour.c
    counted = h.inner + case((h.step > 0, h.step), else_=0.0)
    stmt = select(h.tag_id, h.day, func.sum(counted)).group_by(h.tag_id, h.day)
    out: dict[int, dict[int, float]] = defaultdict(dict)
    for tag_id, d, total in session.execute(stmt):
        out[int(tag_id)][int(d)] = max(0.0, float(total or 0.0))
    return dict(out)


def product_days(session: Session, plant: Plant, first: date, last: date, now_ms: int) -> dict[str, dict[date, float]]:
    """product -> plant day -> amount its counters counted, for the days ``first`` .. ``last`` up to ``now_ms``
    (``store.counter_days``: the ended days kept one row a day and counter, the running one from its hours)."""
    from store.counter_days import counter_days
    from store.tags import tag_ids

    ids = tag_ids(session)
    tags = product_tags(plant)
    wanted = {name: ids[name] for names in tags.values() for name in names if name in ids}
    per_tag = counter_days(session, list(wanted.values()), first, last, plant.tz(), now_ms)
    out: dict[str, dict[date, float]] = {}
    for product, names in tags.items():
        days: dict[date, float] = defaultdict(float)
        for name in names:
            for d, amount in per_tag.get(wanted.get(name, -1), {}).items():
                days[d] += amount
        out[product] = dict(days)
    return out


def product_tags(plant: Plant) -> dict[str, list[str]]:
    """product key -> its counter tags (``engine.production`` groups them the same way)."""
    out: dict[str, list[str]] = defaultdict(list)
    for tag in plant.tags:
        if tag.kind == TagKind.COUNTER:
            out[tag.id.rsplit(".", 1)[-1].lower()].append(tag.id)
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    from plant.loader import load_plant
    from settings import get_settings
    from store.db import make_engine, migrate, session_scope

    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m store.plan", description="Import and list production plan versions.")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="import a plan file (CSV or Excel) as a new version")
    imp.add_argument("file", type=Path)
    imp.add_argument("--user", required=True, help="who imports it (recorded with the version)")
    imp.add_argument("--note", default="")
    sub.add_parser("versions", help="list the versions, newest first")
    for sp in (imp, sub.choices["versions"]):
        sp.add_argument("--db", default=s.db_url)
        sp.add_argument("--plant", type=Path, default=s.plant_file)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    migrate(args.db)
    engine = make_engine(args.db)
    try:
        with session_scope(engine) as session:
            if args.cmd == "import":
                from engine.clock import now_ms

                try:
                    v = import_plan(
                        session,
                        args.file.read_bytes(),
                        args.file.name,
                        load_plant(args.plant),
                        args.user,
                        now_ms(),
                        args.note,
                    )
                except PlanFileError as exc:
                    sys.stderr.write(f"refused, nothing imported: {exc}\n")
                    return 1
                sys.stdout.write(f"version {v.id}: {v.rows} targets, {v.first_day} to {v.last_day}\n")
            else:
                for v in versions(session):
                    sys.stdout.write(f"{v.id}\t{v.first_day}..{v.last_day}\t{v.rows}\t{v.user}\t{v.source}\n")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
