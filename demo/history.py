"""The services over the demo's backfilled history: ``python -m demo.history``.

``python -m simulator.backfill`` writes what the collectors would have stored (samples, positions, state
spells, emission hours, assay judgements and, with ``--violations``, the personnel rules' events). This pass
then lets the services that turn those into alarms run over the same hours, step by step on a simulated
clock, as they would have run live:

- the energy service (``services.energy``) every :data:`ENERGY_EVERY_MS` (15 minutes), opening and closing
  its events;
- the alarm service (``services.alarms``) every ``step_s`` (5 minutes: each step takes the samples since
  the last in time order, and delays run out at their own moments, so a longer step changes no time in the
  journal, it only saves transactions): the alarm table and the append-only journal hold days of
  transitions at their true times;
- the stock service (``services.stock``) at every step, on the positions as of that moment: an item below its
  reorder level opens its event (and the alarm service its alarm) at the ledger entry that took it there;
- the safety service's early-warning index (``services.safety``) at every step, so the safety page's trend has
  a point every ``step_s`` over the history (live, one a minute), each from that moment's state: the hidden
  dangers and permits as their state logs stood, the people where their stored positions put them, the alarms
  the alarm service had raised by then;
- the special-work permits the simulator's crews work under (``simulator.permit_jobs``): the simulated people
  file them as they do live (``simulator.safety.PermitClerk``, the same code on the simulated clock), and the
  personnel service's permit checks (``services.permits``) run every :data:`PERMIT_CHECK_MS` on the stored
  positions, so the guardian's walk suspends the permit and the stranger's entry is a violation, at most a
  minute late (the positions are stored a minute apart); the safety page has permits for every backfilled day;
- the console: the dispatcher on shift acknowledges what the alarm service raised, after a delay drawn per
  alarm (most within a few minutes, urgent ones sooner, a few never: they stand). The acknowledgements go
  through the same command queue as the web page's (``store.alarms.submit_command``), stamped at the
  simulated moment they were given.

So the alarm journal, the ISA-18.2 figures, the reports, the replay and the safety index's trend have days of data
from the first minute. It runs once, on a first start (``python3 run.py demo`` / ``plantctl demo``), on a store
whose alarm table is empty: over a store that already has alarms it refuses, since the live alarm service has
taken over. The span is that of the stored samples, unless ``--from``/``--to`` (UTC epoch ms) say otherwise.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from engine.alarms import ACTIVE
from engine.shifts import current_shift
from engine.tracks import ON_SITE_MAX_AGE_MS
from engine.types import PositionIn
from plant.loader import PlantFileError, load_plant
from plant.schema import Plant
from services.alarms import AlarmService
from services.energy import EnergyService
from services.permits import PermitWatch
from services.safety import SafetyService
from services.stock import StockService
from settings import get_settings
from simulator.safety import PermitClerk
from store.alarms import submit_command
from store.db import make_engine, migrate, session_scope
from store.models import Alarm, AlarmJournal, Sample
from store.people import Fix, newest_in_window, positions_at

logger = logging.getLogger(__name__)

PERMIT_CHECK_MS = 60_000  # the permit checks over history: a look a minute (live: every second)
ENERGY_EVERY_MS = 900_000  # the live energy service checks every minute; over history every 15 minutes will do
# The demo's dispatchers (plant/oncall_demo.yaml), who take turns by shift.
CONSOLE_USERS = ("wang.lei", "chen.jing")
# Median seconds to acknowledge by priority, and the share never acknowledged (standing alarms).
ACK_MEDIAN_S = {"urgent": 40.0, "high": 75.0, "medium": 150.0, "low": 300.0}
ACK_SIGMA = 0.8
ACK_MAX_S = 1_800.0
NEVER_ACKED = 0.03


class HistoryError(RuntimeError):
    """The pass cannot run on this store (says why)."""


@dataclass
class HistoryResult:
    start_ms: int
    end_ms: int
    steps: int
    alarms: int
    transitions: int
    acknowledged: int
    index_points: int
    permit_steps: int
    seconds: float


def ack_delay_s(alarm_id: str, activated_at: int, priority: str, seed: int) -> float | None:
    """Seconds the console takes to acknowledge this activation; None: it is never acknowledged.

    Drawn from a log-normal around :data:`ACK_MEDIAN_S` of the priority, the same for the same alarm, moment
    and seed (a second run over the same store gives the same journal)."""
    rng = random.Random(f"{seed}:{alarm_id}:{activated_at}")
    if rng.random() < NEVER_ACKED:
        return None
    median = ACK_MEDIAN_S.get(priority, ACK_MEDIAN_S["medium"])
    return min(ACK_MAX_S, median * math.exp(rng.gauss(0.0, ACK_SIGMA)))


def console_user(plant: Plant, ts: int) -> str:
    """The dispatcher on duty at ``ts``: the demo's two take turns shift by shift."""
    got = current_shift(plant, ts)
    if got is None:
        return CONSOLE_USERS[0]
    shift, started = got
    ids = [s.id for s in plant.site.shifts]
    index = ids.index(shift.id) if shift.id in ids else 0
    return CONSOLE_USERS[(started.toordinal() + index) % len(CONSOLE_USERS)]


def stored_span(engine: Engine) -> tuple[int, int] | None:
    with session_scope(engine) as session:
        lo, hi = session.execute(select(func.min(Sample.ts), func.max(Sample.ts))).one()
    return None if lo is None or hi is None else (int(lo), int(hi))


def run_history(
    plant: Plant,
    db_url: str,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    step_s: float = 300.0,
    seed: int = 7,
) -> HistoryResult:
    """Run the energy, stock, alarm and safety-index services and the console over ``[start_ms, end_ms]`` (default: the
    stored samples' span). Raises :class:`HistoryError` when the store already has alarms or no samples."""
    t_wall = time.perf_counter()
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            if session.scalar(select(Alarm.id).limit(1)) is not None:
                raise HistoryError("the store already has alarms: the alarm service has run on it")
        span = stored_span(engine)
        if span is None and (start_ms is None or end_ms is None):
            raise HistoryError("the store has no samples: run the backfill first")
        start = int(start_ms if start_ms is not None else span[0])  # type: ignore[index]
        end = int(end_ms if end_ms is not None else span[1])  # type: ignore[index]
        step_ms = max(1_000, round(step_s * 1000))
        alarms = AlarmService(plant, engine, catch_up_s=math.inf)
        energy = EnergyService(plant, engine)
        safety = SafetyService(plant, engine)
        permits = _Permits(plant, engine, seed)
        stock = StockService(plant, engine)
        index_points = 0
        asked: set[tuple[str, int]] = set()  # (alarm, activation) already acknowledged or let stand
        acknowledged = steps = 0
        next_energy = start + ENERGY_EVERY_MS
        try:
            t = start
            while t < end:
                t = min(end, t + step_ms)
                if t >= next_energy:
                    energy.step(t)
                    next_energy += ENERGY_EVERY_MS
                permits.until(t)
                stock.step(t)
                alarms.step(t)
                acknowledged += _console(plant, engine, t, asked, seed)
                index_points += safety.record_index(t, past=True)
                steps += 1
            alarms.step(end)  # the last acknowledgements
        finally:
            alarms.close()
        with session_scope(engine) as session:
            n_alarms = int(session.scalar(select(func.count()).select_from(Alarm)) or 0)
    finally:
        engine.dispose()
    result = HistoryResult(
        start,
        end,
        steps,
        n_alarms,
        int(alarms.stats["transitions"]),
        acknowledged,
        index_points,
        permits.steps,
        time.perf_counter() - t_wall,
    )
    logger.info("history: %s", asdict(result))
    return result


class _Permits:
    """The permits over history: the clerk files what is due and the checks look at the stored positions, every
    :data:`PERMIT_CHECK_MS` of simulated time, each moment in its own transaction, as live."""

    def __init__(self, plant: Plant, engine: Engine, seed: int) -> None:
        self.engine = engine
        self.clerk = PermitClerk(plant, seed)
        self.watch = PermitWatch(plant)
        self.people = sorted(b.id for b in plant.badges if b.kind.value == "person")
        self.where: dict[str, Fix] = {}  # each person's newest stored position so far
        self.at: int | None = None
        self.steps = 0

    def until(self, t: int) -> None:
        """Play every moment up to ``t``."""
        m = t - t % PERMIT_CHECK_MS if self.at is None else self.at + PERMIT_CHECK_MS
        while m <= t:
            with session_scope(self.engine) as session:
                self.steps += self.clerk.play(session, m)
                if self.at is None:  # where everybody was at the start, then what moved since the last look
                    self.where = positions_at(session, self.people, m)
                else:
                    self.where.update(newest_in_window(session, self.people, self.at, m))
                fixes = [f for f in self.where.values() if m - f.ts <= ON_SITE_MAX_AGE_MS]
                where = [PositionIn(f.badge, f.ts, f.x, f.y, f.floor, 0 if f.good else 1) for f in fixes]
                self.watch.step(session, m, where, past=True)
            self.at = m
            m += PERMIT_CHECK_MS


def _console(plant: Plant, engine: Engine, now_ms: int, asked: set[tuple[str, int]], seed: int) -> int:
    """Acknowledge every unacknowledged alarm whose drawn delay has run out by ``now_ms``.

    The delay counts from the moment the alarm was annunciated: its newest activation that asked for an
    acknowledgement (a suppressed alarm's activation asks for none; it is annunciated when it comes back)."""
    sent = 0
    with session_scope(engine) as session:
        rows = session.execute(
            select(Alarm.id, Alarm.priority).where(
                Alarm.acked.is_(False), Alarm.activated_at.is_not(None), Alarm.activated_at <= now_ms
            )
        ).all()
        for alarm_id, priority in rows:
            shown = annunciated_at(session, alarm_id, now_ms)
            if shown is None or (alarm_id, shown) in asked:
                continue
            delay = ack_delay_s(alarm_id, shown, priority, seed)
            if delay is None:
                asked.add((alarm_id, shown))
                continue
            at = shown + round(delay * 1000)
            if at > now_ms:
                continue
            asked.add((alarm_id, shown))
            submit_command(session, [alarm_id], "ack", console_user(plant, at), now_ms=at)
            sent += 1
    return sent


def annunciated_at(session: Session, alarm_id: str, until_ms: int) -> int | None:
    """The newest activation of ``alarm_id`` at or before ``until_ms`` that asked for an acknowledgement."""
    ts = session.scalar(
        select(func.max(AlarmJournal.ts)).where(
            AlarmJournal.alarm_id == alarm_id,
            AlarmJournal.kind == ACTIVE,
            AlarmJournal.acked.is_(False),
            AlarmJournal.ts <= until_ms,
        )
    )
    return None if ts is None else int(ts)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    p = argparse.ArgumentParser(prog="python -m demo.history", description=__doc__.split("\n\n")[0])
    p.add_argument("--plant", default=str(settings.plant_file))
    p.add_argument("--db", default=settings.db_url, help="database URL (default: the configured store)")
    p.add_argument("--from", dest="start", type=int, default=None, help="start, UTC epoch ms (default: first sample)")
    p.add_argument("--to", dest="end", type=int, default=None, help="end, UTC epoch ms (default: last sample)")
    p.add_argument("--step-s", type=float, default=300.0, help="simulated seconds between alarm service steps")
    p.add_argument("--seed", type=int, default=settings.sim_seed)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("store.alarms").setLevel(logging.WARNING)  # one "queued ack" line per acknowledgement
    try:
        plant = load_plant(Path(args.plant))
        run_history(plant, args.db, start_ms=args.start, end_ms=args.end, step_s=args.step_s, seed=args.seed)
    except (PlantFileError, HistoryError) as exc:
        logger.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
