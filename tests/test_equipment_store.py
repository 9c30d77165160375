"""Equipment state spells in the store (store.equipment): made from STATE samples, idempotent, incremental;
downtime reasons refused when wrong; the backfill writes spells with reasons from the simulator's play."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.equipment import FAULT, IDLE, MAINTENANCE, equipment_kpi
from engine.types import GOOD, SampleIn
from plant.loader import load_plant
from plant.schema import EquipmentState, Plant
from simulator.backfill import backfill
from simulator.model import SmelterModel
from store.db import make_engine, migrate, session_scope
from store.equipment import KIND, Cursors, ReasonError, assign_reason, state_spans, sync_states
from store.models import Event
from store.samples import write_samples
from store.tags import sync_tags
from tests.fakeclock import plant_ms

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "fixtures" / "mini_plant.yaml"
DEMO = ROOT / "plant" / "demo_smelter.yaml"
M = 60_000


def code(state: str) -> float:
    return float(EquipmentState(state).code)


@pytest.fixture
def plant() -> Plant:
    return load_plant(MINI)


def test_sync_states_from_samples(plant: Plant, db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    t0 = plant_ms(plant, 2026, 1, 5, 8)
    with session_scope(engine) as session:
        ids = sync_tags(session, plant)
        tid = ids["CV-1.STATE"]
        series = [(0, "run"), (10, "run"), (20, "fault"), (30, "fault"), (50, "maintenance"), (70, "run"), (80, "run")]
        write_samples(session, [SampleIn(tid, t0 + m * M, code(s), GOOD) for m, s in series])
        write_samples(session, [SampleIn(tid, t0 + 75 * M, None, 0x80000000)])  # bad quality: ignored
        assert sync_states(session, plant, t0 + 60 * M) == 2  # fault opened, then maintenance (still open)
    cursors = Cursors()
    with session_scope(engine) as session:
        assert sync_states(session, plant, t0 + 100 * M, cursors) == 1  # back to run at 70 min
        assert sync_states(session, plant, t0 + 100 * M) == 0  # again from the events: nothing new
        write_samples(session, [SampleIn(tid, t0 + 90 * M, code("idle"), GOOD)])
        assert sync_states(session, plant, t0 + 100 * M, cursors) == 1
        spans = state_spans(session, t0, t0 + 200 * M)["CV-1"]
        got = [(s.state, (s.start_ms - t0) // M, None if s.end_ms is None else (s.end_ms - t0) // M) for s in spans]
        assert got == [
            (FAULT, 20, 50),
            (MAINTENANCE, 50, 70),
            (IDLE, 90, None),
        ]
        k = equipment_kpi("CV-1", spans, t0, t0 + 100 * M)
        assert k.run_ms == 40 * M and k.planned_busy_ms == 80 * M and (k.failures, k.restorations) == (1, 1)
        assert (k.stops, k.starts) == (2, 1)
        fault_id = spans[0].event_id
        maint_id = spans[1].event_id
        assert fault_id is not None and maint_id is not None
        demo = load_plant(DEMO)
        with pytest.raises(ReasonError, match="unknown downtime reason"):
            assign_reason(session, fault_id, "<script>", "alice", t0, demo)
        with pytest.raises(ReasonError, match="planned maintenance"):
            assign_reason(session, maint_id, "mech.bearing", "alice", t0, demo)
        with pytest.raises(ReasonError, match="no downtime event"):
            assign_reason(session, 999_999, "mech.bearing", "alice", t0, demo)
        assign_reason(session, fault_id, "mech.bearing", "alice", t0 + 120 * M, demo)
    with session_scope(engine) as session:
        again = state_spans(session, t0, t0 + 200 * M)["CV-1"]
        assert again[0].reason == "mech.bearing"
        ev = session.get(Event, fault_id)
        assert ev is not None and ev.data is not None and ev.data["reason_by"] == "alice"
    engine.dispose()


def test_backfill_writes_spells_like_the_model_played_them(sqlite_url: str) -> None:
    plant = load_plant(DEMO)
    end = plant_ms(plant, 2026, 3, 12, 6)
    days = 4 / 24
    backfill(plant, sqlite_url, days, step_s=60, seed=5, end_ms=end, chunk_hours=6, progress=False)
    # the model's own states, stepped the same way
    start = end - int(days * 86_400_000)
    model = SmelterModel(plant, seed=5, start_ms=start)
    state_tags = {t.id: t.equipment for t in plant.tags if t.kind.value == "state"}
    values = model.initial_values()
    changes: dict[str, list[tuple[int, int]]] = {}
    t = start
    while True:
        for name, v in values.items():
            if name in state_tags:
                seq = changes.setdefault(name, [])
                if not seq or seq[-1][1] != int(v):  # type: ignore[arg-type]
                    seq.append((t, int(v)))  # type: ignore[arg-type]
        if t + 60_000 > end:
            break
        t += 60_000
        values = model.step(t)
    expected = sum(1 for seq in changes.values() for i, (_, c) in enumerate(seq) if c != EquipmentState.RUN.code)
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Event).where(Event.kind == KIND))
        assert stored == expected > 0
        spans = [s for ss in state_spans(session, start, end + 1).values() for s in ss]
        short = [s for s in spans if s.end_ms is not None and s.end_ms - s.start_ms < 5 * M]
        assert short, "the simulator plays short stops"
        assert all(s.reason is None for s in short)
    engine.dispose()
