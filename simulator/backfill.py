"""History for the store from the simulator's own model: ``python -m simulator.backfill --days N``.

The model is stepped every ``--step-s`` simulated seconds (default 60) from ``now - N days`` to now, and
what a collector subscribed to the live servers would have stored is written straight into the store:
every changed value as a sample (states, phases and SOS as numbers, like the collectors store them; the
states also as spells out of run, ``store.equipment``, with reasons for the older ones), badge
positions as positions (off-site badges with the uncertain status the live server gives them, every
``--pos-step-s``, default the step), the initial values at the start.

Samples go through ``store.samples.bulk_load_samples`` (idempotent, no rollups) one chunk of simulated
time at a time, each chunk sorted by tag and time and followed by ``rebuild_rollups`` for its hours, so a
run that is stopped half way leaves consistent rollups, and a second run over the same window adds
nothing. Tags come from ``store.tags.sync_tags``; the database is migrated first.

:func:`latest_cumulative` reads the newest counter and meter values back, so the live simulator can
continue them (``python -m simulator --resume-db URL``) instead of jumping.
"""

from __future__ import annotations

import argparse
import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tqdm import tqdm

from engine.personnel import RulesEngine, SosChange, Violation
from engine.types import GOOD, PositionIn, SampleIn
from plant.loader import PlantFileError, load_plant
from plant.schema import Plant, TagKind
from settings import get_settings
from simulator.downtime import assign_demo_reasons
from simulator.model import SmelterModel
from simulator.plan import ship_demo_plan
from simulator.safety import play_hidden_dangers, play_permits
from simulator.stock import play_stock
from store.db import make_engine, migrate, session_scope
from store.emissions import HOUR_MS, judge_hours
from store.equipment import Cursors, sync_states
from store.events import VIOLATION, add_event
from store.incidents import create_incident, search_incidents
from store.positions import write_positions
from store.samples import bulk_load_samples, latest_values, rebuild_rollups
from store.spc import judge as judge_assays
from store.tags import sync_tags

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
OFF_SITE_QUALITY = 0x40900000  # OPC UA UncertainLastUsableValue, as the live server publishes it


@dataclass
class BackfillResult:
    start_ms: int
    end_ms: int
    steps: int
    samples: int
    samples_inserted: int
    positions: int
    positions_inserted: int
    seconds: float
    violations: int = 0


def backfill(
    plant: Plant,
    db_url: str,
    days: float,
    *,
    step_s: float = 60.0,
    pos_step_s: float | None = None,
    seed: int = 7,
    end_ms: int | None = None,
    chunk_hours: float = 6.0,
    progress: bool = True,
    on_chunk: Callable[[int, int], None] | None = None,
    observe: Callable[[int, SmelterModel], None] | None = None,
    violations: bool = False,
) -> BackfillResult:
    """Write ``days`` of history ending at ``end_ms`` (default: now) into the store at ``db_url``.

    ``observe(t, model)`` is called at the start and after every step (tests read the model's truth there).
    ``violations``: the personnel rules (``engine.personnel.RulesEngine``, as the personnel service runs them)
    are evaluated on the positions and SOS buttons at every position step, and what they open and close is
    stored as violation events, as the personnel service would have stored them; one still open at the end
    stays open (the live service re-attaches to it)."""
    if days <= 0 or step_s <= 0:
        raise ValueError("days and step must be positive")
    t_wall = time.perf_counter()
    step_ms = round(step_s * 1000)
    pos_every = max(1, round((pos_step_s or step_s) / step_s))
    end = int(end_ms if end_ms is not None else time.time() * 1000)
    end -= end % step_ms
    start = end - round(days * DAY_MS)
    start -= start % step_ms
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            ids = sync_tags(session, plant)
        model = SmelterModel(plant, seed=seed, start_ms=start)
        kinds = {t.id: t.kind for t in plant.tags}
        tag_id = {name: ids[name] for name in ids if kinds.get(name) not in (TagKind.POSITION,)}
        pos_badge = {t.id: t.badge for t in plant.tags if t.kind == TagKind.POSITION and t.badge}
        n_steps = (end - start) // step_ms
        chunk_ms = max(step_ms, round(chunk_hours * 3_600_000 / step_ms) * step_ms)
        result = BackfillResult(start, end, 0, 0, 0, 0, 0, 0.0)
        bar = tqdm(total=n_steps, unit="step", desc="backfill", disable=not progress, mininterval=0.5)
        writer = _Writer(engine, plant, sorted(tag_id.values()), result, on_chunk)
        samples: list[SampleIn] = []
        positions: list[PositionIn] = []
        pending: dict[str, PositionIn] = {}
        rules = _Rules(plant) if violations else None
        t = chunk_start = start
        values = model.initial_values()
        if observe is not None:
            observe(t, model)
        k = 0
        try:
            while True:
                for name, v in values.items():
                    tid = tag_id.get(name)
                    if tid is not None:
                        q = model.status(name) if name in model.maint_incidents else GOOD
                        samples.append(SampleIn(tid, t, None if q else float(v), q))  # type: ignore[arg-type]
                    elif name in pos_badge:
                        x, y, floor = v  # type: ignore[misc]
                        q = OFF_SITE_QUALITY if model.off_site(name) else GOOD
                        pending[name] = PositionIn(pos_badge[name], t, x, y, int(floor), q)
                t_next = t + step_ms
                if k % pos_every == 0 or t_next > end:
                    if rules is not None:
                        rules.evaluate(t, pending.values(), values)
                    positions.extend(pending.values())
                    pending.clear()
                if t_next > end:
                    writer.put(samples, positions, chunk_start, t + 1)
                    break
                if t_next - chunk_start >= chunk_ms:
                    writer.put(samples, positions, chunk_start, t_next)
                    samples, positions = [], []
                    chunk_start = t_next
                values = model.step(t_next)
                t = t_next
                if observe is not None:
                    observe(t, model)
                k += 1
                bar.update(1)
        finally:
            writer.close()
        bar.close()
        result.steps = k
        with session_scope(engine) as session:
            if rules is not None:
                result.violations = rules.store(session)
                logger.info("backfill: %d violation events", result.violations)
            assign_demo_reasons(session, plant, start, end, seed=seed)
            ship_demo_plan(session, plant, end, history_from_ms=start)
            play_hidden_dangers(session, plant, end)
            play_permits(session, plant, end)
            ship_demo_incident(session, plant, model, start, end)
            play_stock(session, plant, start, end, seed=seed)
            first_hour = start - start % HOUR_MS + HOUR_MS
            hours = list(range(first_hour, end - end % HOUR_MS, HOUR_MS))
            exceeded = judge_hours(session, plant, sync_tags(session, plant), hours, end)
            logger.info("backfill: %d emission hours judged, %d exceedances", len(hours), exceeded)
            ooc = judge_assays(session, plant, sync_tags(session, plant), end, start)
            logger.info("backfill: %d out-of-control assay results", ooc)
    finally:
        engine.dispose()
    result.seconds = time.perf_counter() - t_wall
    logger.info(
        "backfill of %.3g days at %g s: %d steps, %d samples (%d new), %d positions (%d new) in %.1f s",
        days,
        step_s,
        result.steps,
        result.samples,
        result.samples_inserted,
        result.positions,
        result.positions_inserted,
        result.seconds,
    )
    return result


DEMO_INCIDENT_REF = "demo:man_down"


def ship_demo_incident(session: Session, plant: Plant, model: SmelterModel, start: int, end: int) -> int | None:
    """The demo's incident record: the newest scripted man-down of the backfilled history, saved as an
    incident a dispatcher would have kept (``/incidents`` opens its replay at the fall). Once per store."""
    if search_incidents(session, DEMO_INCIDENT_REF):
        return None
    windows = [w for w in model.incident_windows(start, end) if w.kind == "man_down" and w.end_ms <= end]
    inc = next((i for i in plant.incidents if i.kind == "man_down"), None)
    if not windows or inc is None:
        return None
    w = windows[-1]
    badge = next((b for b in plant.badges if b.id == inc.badge), None)
    zones = list(badge.work_zones[:1]) if badge is not None else []
    return create_incident(
        session,
        plant,
        title="Man-down (scripted in the demo) / 人员倒地（演示脚本）",
        t0=max(start, w.start_ms - 5 * 60_000),
        t1=min(end, w.end_ms + 3 * 60_000),
        at=w.start_ms,
        zones=zones,
        user="demo",
        now_ms=end,
        notes="The simulator's scripted man-down: the badge stops at the start and moves again at the end.",
        source="range",
        ref=DEMO_INCIDENT_REF,
    )


class _Rules:
    """The personnel rules over the simulated positions and SOS buttons, stored at the end as events."""

    def __init__(self, plant: Plant) -> None:
        self.engine = RulesEngine(plant)
        self.sos = {t.id: t.badge for t in plant.tags if t.kind == TagKind.SOS and t.badge}
        self.pressed: dict[str, bool] = {}
        self.positions: dict[str, PositionIn] = {}
        self.seen: dict[tuple[str, str, str], Violation] = {}
        self.order: list[Violation] = []

    def evaluate(self, t: int, fresh: Iterable[PositionIn], values: dict[str, Any]) -> None:
        for p in fresh:
            self.positions[p.badge] = p
        changes = []
        for tag, badge in self.sos.items():
            v = values.get(tag)
            if isinstance(v, (int, float)):
                now = float(v) >= 0.5
                if self.pressed.get(tag) != now:
                    self.pressed[tag] = now
                    changes.append(SosChange(badge, t, now))
        tick = self.engine.evaluate(t, list(self.positions.values()), changes)
        self.order.extend(tick.opened)

    def store(self, session: Session) -> int:
        for v in self.order:
            v.event_id = add_event(
                session,
                VIOLATION,
                v.rule,
                v.start_ms,
                ts_end=v.end_ms,
                severity=v.severity,
                badge=v.badge,
                zone=v.zone,
                data=v.data(),
            )
        return len(self.order)


class _Writer:
    """Writes chunks in a thread of its own, so that SQL (which releases the GIL) overlaps the model."""

    def __init__(
        self,
        engine: Engine,
        plant: Plant,
        tag_ids: list[int],
        result: BackfillResult,
        on_chunk: Callable[[int, int], None] | None,
    ) -> None:
        self.engine = engine
        self.plant = plant
        self.cursors = Cursors()
        self.tag_ids = tag_ids
        self.result = result
        self.on_chunk = on_chunk
        self.queue: queue.Queue[tuple[list[SampleIn], list[PositionIn], int, int] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="backfill-writer", daemon=True)
        self.thread.start()

    def put(self, samples: list[SampleIn], positions: list[PositionIn], c0: int, c1: int) -> None:
        if self.error is not None:
            raise RuntimeError("backfill writer failed") from self.error
        self.queue.put((samples, positions, c0, c1))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise RuntimeError("backfill writer failed") from self.error

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:
                continue  # drain: the producer sees the error at its next put
            try:
                self._write(*item)
            except BaseException as exc:
                logger.exception("writing backfill chunk")
                self.error = exc

    def _write(self, samples: list[SampleIn], positions: list[PositionIn], c0: int, c1: int) -> None:
        samples.sort(key=lambda s: (s.tag_id, s.ts))  # tag-major inserts: B-tree locality
        with session_scope(self.engine) as session:
            res = bulk_load_samples(session, samples)
            rebuild_rollups(session, self.tag_ids, c0, c1)  # by tag: the primary key leads with tag_id
            pres = write_positions(session, positions)
            sync_states(session, self.plant, c1 - 1, self.cursors)  # state spells, as the equipment service does
        r = self.result
        r.samples += len(samples)
        r.samples_inserted += res.inserted
        r.positions += len(positions)
        r.positions_inserted += pres.inserted
        if self.on_chunk is not None:
            self.on_chunk(c0, c1)


def latest_cumulative(db_url: str, plant: Plant) -> dict[str, float]:
    """The newest stored value of every counter and energy meter of ``plant`` (tags without any: absent)."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            from store.tags import tag_ids

            ids = tag_ids(session)
            wanted = {
                ids[t.id]: t.id for t in plant.tags if t.kind in (TagKind.COUNTER, TagKind.ENERGY) and t.id in ids
            }
            latest = latest_values(session, list(wanted))
    finally:
        engine.dispose()
    return {wanted[tid]: float(s.value) for tid, s in latest.items() if s.value is not None and math.isfinite(s.value)}


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    p = argparse.ArgumentParser(prog="python -m simulator.backfill", description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=float, required=True, help="days of history, ending now")
    p.add_argument("--step-s", type=float, default=60.0, help="simulated seconds between model steps")
    p.add_argument("--pos-step-s", type=float, default=None, help="seconds between stored badge positions")
    p.add_argument("--plant", default=str(settings.plant_file))
    p.add_argument("--db", default=settings.db_url, help="database URL (default: the configured store)")
    p.add_argument("--seed", type=int, default=settings.sim_seed)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--violations",
        action="store_true",
        help="also evaluate the personnel rules over the history and store their violation events",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        plant = load_plant(Path(args.plant))
    except PlantFileError as exc:
        logger.error("%s", exc)
        return 1
    result = backfill(
        plant,
        args.db,
        args.days,
        step_s=args.step_s,
        pos_step_s=args.pos_step_s,
        seed=args.seed,
        progress=not args.quiet,
        violations=args.violations,
    )
    logger.info("result: %s", asdict(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
