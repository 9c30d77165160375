"""An emergency on the real simulator (the demo plant's model through ``simulator.backfill``, positions in a
real SQLite store): a molten-metal breakout in the flash smelting hall with a man-down inside it and the site
evacuating; declared at the evacuation's start, one minute later every badge on the roll is classified, no
route of anyone outside the danger area touches it, and the person lying in the hall is flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import evacuation as ev
from plant import load_plant
from plant.schema import Incident, IncidentKind
from simulator.backfill import backfill
from store import emergency as em
from store.db import make_engine, session_scope
from store.people import SYSTEM
from tests.fakeclock import plant_ms

pytestmark = pytest.mark.slow

S = 1000
PLAN, ZONE = "plan-fsf-breakout", "fsf-hall"


def test_every_badge_classified_within_a_minute(tmp_path: Path) -> None:
    demo = load_plant()
    down = next(b.id for b in demo.badges if b.kind.value == "person" and b.shift == "B" and "fsf-hall" in b.work_zones)
    incidents = [
        Incident(
            id="breakout-down", kind=IncidentKind.MAN_DOWN, badge=down, zone=ZONE, first_after_s=60, duration_s=900
        ),
        Incident(
            id="evacuate", kind=IncidentKind.EVACUATION, tag="fsf-hall.GD01.SO2", first_after_s=120, duration_s=600
        ),
    ]
    plant = demo.model_copy(update={"incidents": incidents})
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    end = plant_ms(plant, 2026, 3, 4, 10, 5)  # a weekday morning: crews and day staff on site
    start = end - 240 * S
    backfill(plant, url, 240 / 86400, step_s=2, seed=16, end_ms=end, progress=False)
    engine = make_engine(url)
    declared = start + 120 * S
    with session_scope(engine) as session:
        e = em.declare(session, plant, "wu", PLAN, ZONE, declared, note="breakout at the matte tap hole")
    with session_scope(engine) as session:
        sit = em.situation(session, plant, declared + 60 * S, SYSTEM, em.get(session, int(e.id)))
        assert sit is not None
        danger = em.danger_of(plant, em.get(session, int(e.id)), sit.wind_from)  # type: ignore[arg-type]
    engine.dispose()
    c = sit.counts
    assert c["on_roll"] > 50  # a working morning
    assert set(sit.classes.values()) <= set(ev.CLASSES) and len(sit.classes) == c["on_roll"]
    assert sum(c[k] for k in ev.CLASSES) == c["on_roll"]  # every badge on the roll in exactly one class
    assert c["on_route"] > 0
    routed = [r for r in sit.routes.values() if r.status == ev.ROUTE]
    assert routed and not [r.badge for r in routed if ev.path_hits(danger, r.path)]
    assert down in sit.classes and sit.routes[down].status == ev.IN_DANGER  # lying in the hall: flagged
    assert sit.classes[down] == ev.UNACCOUNTED  # a badge standing still reports nothing: unaccounted after a minute
