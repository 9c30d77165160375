"""Compaction of raw samples: swinging-door compression (``engine.compression``) of what has settled.

Samples are stored as received (``store.samples.write_samples``), and the minute and hour rollups take every
good reading there, so everything computed from rollups (consumption, averages, KPIs) is exactly what it would
be without compression. Once samples are older than the plant's ``storage.compact_after_minutes`` (live screens
and the alarm, equipment and emission services have read them as received by then), a pass replaces each
compressed tag's run of samples by the points a swinging door with the tag's deviation keeps
(``plant.schema.StorageSettings.deviation``): the rows in between are deleted. A trend drawn from what is left
lies within the deviation of every original reading; bad-quality readings, the readings around them, around a
gap and around every change of a state or SOS tag are kept. Emissions and assays are never compressed; cumulative
meters and counters are, when the plant's ``storage.counters`` is ``minute``, thinned to the readings around each
minute boundary and around every drop (reset, exchange), gap and bad reading
(``engine.compression.thin_counter``): what they counted between whole minutes reads exactly as before.

Each transaction takes a few thousand rows (of one tag or of several, found through the primary key), the
pass stops after ``budget_s`` and the next one goes on from ``sample_compaction``, which records per tag the
last point kept (``through_ts``). A sample written later at or before that point (a replay of something already
compacted away) is stored as it comes, raw, but does not enter the rollups a second time
(``store.samples.write_samples``).

Badge positions are compressed the same way once settled (:func:`compact_positions`,
``engine.compression.compress_track``): the fixes a straight line in time reproduces within the plant's
``storage.position_deviation_m`` are deleted, with a fix kept at least every ``position_max_span_s`` and both fixes
around every change of floor, quality, zone or muster point; ``position_compaction`` records per badge the
last fix kept.

Compaction and :func:`store.samples.rebuild_rollups` do not mix: rollups rebuilt from compacted samples are
those of the kept points, so a rebuild is for ranges not compacted yet (a fresh backfill).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.orm import Session

from engine.compression import Regions, compress, compress_track, thin_counter
from store.db import session_scope
from store.models import Position, PositionCompaction, Sample, SampleCompaction
from store.samples import upsert

logger = logging.getLogger(__name__)

SAMPLE = Sample.__table__
COMPACTION = SampleCompaction.__table__
POSITION = Position.__table__
POSITION_COMPACTION = PositionCompaction.__table__
_DELETE_CHUNK = 500
COUNTER_PERIOD_MS = 60_000  # counters keep the readings around each minute boundary


@dataclass
class CompactResult:
    examined: int = 0  # samples read
    deleted: int = 0
    transactions: int = 0
    finished: bool = True  # False: the budget ran out with settled samples left (the next pass goes on)
    next_tag: int | None = None  # where the next pass starts when not finished
    next_badge: str | None = None  # the same for a pass over positions
    seconds: float = 0.0
    per_tag: dict[int, int] = field(default_factory=dict)  # tag id -> samples deleted


def watermarks(session: Session, tag_ids: list[int] | None = None) -> dict[int, int]:
    """``through_ts`` of each compacted tag (of ``tag_ids``, or all)."""
    stmt = select(COMPACTION.c.tag_id, COMPACTION.c.through_ts)
    if tag_ids is not None:
        stmt = stmt.where(COMPACTION.c.tag_id.in_(tag_ids))
    return {int(t): int(ts) for t, ts in session.execute(stmt)}


def compact_tag(
    session: Session,
    tag_id: int,
    deviation: float,
    upto_ms: int,
    max_gap_ms: int,
    rows: int,
    max_span_ms: int | None = None,
    marks: dict[int, int] | None = None,
    counter: bool = False,
) -> tuple[int, int, bool]:
    """Compress one run of up to ``rows`` samples of ``tag_id`` older than ``upto_ms``, from its last kept point
    (``counter``: a cumulative counter, thinned to the readings around each minute boundary by
    ``engine.compression.thin_counter``).

    ``marks``: the pass's :func:`watermarks`, kept up to date here (else the tag's is looked up). Returns
    ``(examined, deleted, more)``; ``more``: the run was cut at ``rows`` (call again). Does not commit.
    """
    s = SAMPLE.c
    if marks is None:
        through = session.execute(select(COMPACTION.c.through_ts).where(COMPACTION.c.tag_id == tag_id)).scalar()
    else:
        through = marks.get(tag_id)
    stmt = select(s.ts, s.value, s.quality).where(s.tag_id == tag_id, s.ts < upto_ms)
    if through is not None:
        stmt = stmt.where(s.ts >= through)
    points = [
        (int(ts), None if v is None else float(v), int(q))
        for ts, v, q in session.execute(stmt.order_by(s.ts).limit(rows))
    ]
    if len(points) < 2:
        return len(points), 0, False
    more = len(points) == rows
    if counter:
        result = thin_counter(points, COUNTER_PERIOD_MS, max_gap_ms)
    else:
        result = compress(points, deviation, max_gap_ms, max_span_ms)
    keep, anchor = set(result.keep), result.anchor
    if more and anchor == 0:
        # one straight line through the whole run: the held point closes it (every point is within the doors)
        anchor = len(points) - 1
        keep.add(anchor)
    gone = [points[i][0] for i in range(1, anchor) if i not in keep]
    assert isinstance(SAMPLE, Table)  # a mapped class's __table__ is typed as any FromClause
    for i in range(0, len(gone), _DELETE_CHUNK):
        session.execute(delete(SAMPLE).where(s.tag_id == tag_id, s.ts.in_(gone[i : i + _DELETE_CHUNK])))
    new_through = points[anchor][0]
    if marks is not None:
        marks[tag_id] = new_through
    if through is None or new_through != through:
        stmt_up = upsert(session, COMPACTION).values(tag_id=tag_id, through_ts=new_through)
        session.execute(
            stmt_up.on_conflict_do_update(index_elements=["tag_id"], set_={"through_ts": stmt_up.excluded.through_ts})
        )
    return len(points), len(gone), more


def compact(
    engine: Engine,
    deviations: dict[int, float],
    upto_ms: int,
    *,
    max_gap_ms: int,
    max_span_ms: int | None = None,
    rows: int = 5000,
    budget_s: float = 10.0,
    start_tag: int | None = None,
    counters: Collection[int] = (),
) -> CompactResult:
    """Compress the samples older than ``upto_ms`` of every tag in ``deviations`` (tag id -> deviation in the
    tag's unit) and thin those of the cumulative counters ``counters`` (tag ids) to the readings around each
    minute boundary, about ``rows`` samples a transaction, for at most ``budget_s`` seconds, starting at tag
    ``start_tag`` (the previous result's ``next_tag``)."""
    started = time.monotonic()
    out = CompactResult()
    counted = set(counters)
    order = sorted(set(deviations) | counted)
    if start_tag is not None:
        order = [t for t in order if t >= start_tag] + [t for t in order if t < start_tag]
    pending = order[::-1]  # a stack: the next tag last
    with session_scope(engine) as session:
        marks = watermarks(session)
    while pending:
        if time.monotonic() - started > budget_s:
            out.finished = False
            out.next_tag = pending[-1]
            out.seconds = time.monotonic() - started
            return out
        with session_scope(engine) as session:  # several tags a transaction, about ``rows`` samples in all
            weight = 0
            while pending and weight < rows:
                tag_id = pending[-1]
                examined, deleted, more = compact_tag(
                    session,
                    tag_id,
                    deviations.get(tag_id, 0.0),
                    upto_ms,
                    max_gap_ms,
                    rows,
                    max_span_ms,
                    marks,
                    counter=tag_id in counted,
                )
                weight += examined + 20  # a tag with nothing to do still costs a look-up
                out.examined += examined
                out.deleted += deleted
                if deleted:
                    out.per_tag[tag_id] = out.per_tag.get(tag_id, 0) + deleted
                if not more:
                    pending.pop()
        out.transactions += 1
    out.seconds = time.monotonic() - started
    return out


def compact_badge(
    session: Session,
    badge: str,
    deviation_m: float,
    upto_ms: int,
    regions: Regions,
    *,
    max_gap_ms: int,
    max_span_ms: int,
    rows: int,
    marks: dict[str, int],
) -> tuple[int, int, bool]:
    """Compress one run of up to ``rows`` positions of ``badge`` older than ``upto_ms``, from its last kept
    fix (``marks``: the badges' ``through_ts``, kept up to date here). Returns ``(examined, deleted, more)``.
    Does not commit."""
    p = POSITION.c
    through = marks.get(badge)
    stmt = select(p.ts, p.x, p.y, p.floor, p.quality).where(p.badge == badge, p.ts < upto_ms)
    if through is not None:
        stmt = stmt.where(p.ts >= through)
    fetched = session.execute(stmt.order_by(p.ts).limit(rows)).all()
    if len(fetched) < 2:
        return len(fetched), 0, False
    more = len(fetched) == rows
    keys = regions.keys([float(r[1]) for r in fetched], [float(r[2]) for r in fetched])
    points = [
        (int(ts), float(x), float(y), int(floor or 0), int(q or 0), key)
        for (ts, x, y, floor, q), key in zip(fetched, keys, strict=True)
    ]
    result = compress_track(points, deviation_m, max_gap_ms, max_span_ms)
    keep, anchor = set(result.keep), result.anchor
    if more and anchor == 0:
        anchor = len(points) - 1
        keep.add(anchor)
    gone = [points[i][0] for i in range(1, anchor) if i not in keep]
    assert isinstance(POSITION, Table)
    for i in range(0, len(gone), _DELETE_CHUNK):
        session.execute(delete(POSITION).where(p.badge == badge, p.ts.in_(gone[i : i + _DELETE_CHUNK])))
    new_through = points[anchor][0]
    marks[badge] = new_through
    if through is None or new_through != through:
        up = upsert(session, POSITION_COMPACTION).values(badge=badge, through_ts=new_through)
        session.execute(up.on_conflict_do_update(index_elements=["badge"], set_={"through_ts": up.excluded.through_ts}))
    return len(points), len(gone), more


def compact_positions(
    engine: Engine,
    badges: list[str],
    deviation_m: float,
    upto_ms: int,
    regions: Regions,
    *,
    max_gap_ms: int,
    max_span_ms: int,
    rows: int = 5000,
    budget_s: float = 10.0,
    start_badge: str | None = None,
) -> CompactResult:
    """Compress the positions older than ``upto_ms`` of every badge of ``badges`` (``compress_track`` with
    ``deviation_m``, both fixes around a change of ``regions``' key kept), about ``rows`` fixes a transaction,
    for at most ``budget_s`` seconds, starting at ``start_badge`` (the previous result's ``next_tag``)."""
    started = time.monotonic()
    out = CompactResult()
    order = sorted(set(badges))
    if start_badge is not None:
        order = [b for b in order if b >= start_badge] + [b for b in order if b < start_badge]
    pending = order[::-1]
    with session_scope(engine) as session:
        marks = {
            str(b): int(ts)
            for b, ts in session.execute(select(POSITION_COMPACTION.c.badge, POSITION_COMPACTION.c.through_ts))
        }
    while pending:
        if time.monotonic() - started > budget_s:
            out.finished = False
            out.next_badge = pending[-1]
            out.seconds = time.monotonic() - started
            return out
        with session_scope(engine) as session:
            weight = 0
            while pending and weight < rows:
                badge = pending[-1]
                examined, deleted, more = compact_badge(
                    session,
                    badge,
                    deviation_m,
                    upto_ms,
                    regions,
                    max_gap_ms=max_gap_ms,
                    max_span_ms=max_span_ms,
                    rows=rows,
                    marks=marks,
                )
                weight += examined + 20
                out.examined += examined
                out.deleted += deleted
                if not more:
                    pending.pop()
        out.transactions += 1
    out.seconds = time.monotonic() - started
    return out


def incremental_vacuum(engine: Engine, min_free_fraction: float = 0.05, max_pages: int = 20_000) -> int:
    """On SQLite opened with ``auto_vacuum=INCREMENTAL``: return up to ``max_pages`` free pages to the file
    system when at least ``min_free_fraction`` of the file is free (deleted rows); pages returned. A no-op
    elsewhere (PostgreSQL's autovacuum, and partitions dropped whole, give space back there)."""
    if engine.dialect.name != "sqlite":
        return 0
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA auto_vacuum").scalar()
        if mode != 2:  # 0 none, 1 full, 2 incremental
            return 0
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
        if not pages or free < pages * min_free_fraction:
            return 0
        n = min(free, max_pages)
        conn.commit()
        raw = conn.connection.driver_connection
        assert raw is not None
        # The pragma frees one page per step, and the driver's execute() steps once: executescript runs it to the end.
        raw.executescript(f"PRAGMA incremental_vacuum({n});")
    logger.info("incremental vacuum: %d of %d free pages returned", n, free)
    return n
