"""store.emergency on SQLite and PostgreSQL with the demo plant: an alarm proposes a plan, a dispatcher declares
it (with its muster), ticks actions, grows the danger area and ends it; the situation classifies every badge on
the roll, routes avoid the danger area, a person inside it is flagged; the summary keeps who was unaccounted
and for how long; a counts-only viewer gets counts and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from engine import evacuation as ev
from engine.types import BAD_NO_COMMUNICATION, PositionIn
from plant import load_plant
from store import emergency as em
from store import people
from store.db import make_engine, migrate, session_scope
from store.people import SYSTEM, Access, Viewer
from store.positions import write_positions
from store.tags import sync_tags

S = 1000
T0 = 1_750_000_000_000 - (1_750_000_000_000 % (3600 * S))
OFF = 0x40900000  # UncertainLastUsableValue: off site, at the gate
PLAN, ZONE = "plan-so2-release", "acid-gas-cleaning"


@pytest.fixture
def store(db_url: str):  # type: ignore[no-untyped-def]
    migrate(db_url)
    engine = make_engine(db_url)
    plant = load_plant()
    with session_scope(engine) as session:
        sync_tags(session, plant)
    yield engine, plant
    engine.dispose()


def _badges(plant, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.id for b in plant.badges if b.kind.value == "person"][:n]


def test_propose_declare_tick_grow_end(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    inside, walker, arriving, leaving, lost, silent = _badges(plant, 6)
    t = T0 + 600 * S
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn(inside, t - 5 * S, 1150, 500),  # in the gas cleaning zone: in the danger area
                PositionIn(walker, t - 5 * S, 640, 200),  # oxygen plant, far from the danger
                PositionIn(arriving, t - 5 * S, 300, 260),  # near the office muster point
                PositionIn(leaving, t - 5 * S, 1000, 100),
                PositionIn(lost, t - 5 * S, 800, 150),
                PositionIn(silent, t - 5 * S, 100, 700),
            ],
        )
        pid = em.propose(session, plant, PLAN, ZONE, "acid-gas-cleaning.GD01.SO2:HH", t - S)
        assert pid is not None
        assert em.propose(session, plant, PLAN, ZONE, "acid-gas-cleaning.GD01.SO2:HH", t) is None  # once
        e = em.declare(session, plant, "wu", PLAN, ZONE, t, note="<script>x</script>", proposal=pid)
        assert e.id == pid and e.state == em.ACTIVE and e.muster_event is not None
        assert people.active_muster(session) is not None
        with pytest.raises(em.EmergencyError, match="already"):
            em.declare(session, plant, "li", PLAN, ZONE, t + S)
        with pytest.raises(em.EmergencyError, match="does not cover"):
            em.propose(session, plant, PLAN, "fsf-hall", "x:HH", t)
        with pytest.raises(em.EmergencyError, match="unknown plan"):
            em.declare(session, plant, "wu", "nope", ZONE, t)
    with session_scope(engine) as session:
        write_positions(
            session,
            [
                PositionIn(walker, t + 20 * S, 650, 180),
                PositionIn(arriving, t + 30 * S, 276, 220),  # inside mp-admin's circle
                PositionIn(leaving, t + 40 * S, 1080, 0, 0, OFF),  # out through the logistics gate
                PositionIn(lost, t + 10 * S, 800, 150, 0, BAD_NO_COMMUNICATION),
                PositionIn(inside, t + 15 * S, 1152, 505),
            ],
        )
        em.set_action(session, plant, "alarm", True, "wu", t + 45 * S)
        em.set_action(session, plant, "isolate", True, "li", t + 50 * S)
        em.set_action(session, plant, "isolate", False, "li", t + 55 * S)
        with pytest.raises(em.EmergencyError, match="no action"):
            em.set_action(session, plant, "dance", True, "wu", t)
    now = t + 61 * S
    with session_scope(engine) as session:
        sit = em.situation(session, plant, now, SYSTEM)
        assert sit is not None
        assert sit.classes == {
            inside: ev.ON_ROUTE,
            walker: ev.ON_ROUTE,
            arriving: ev.AT_POINT,
            leaving: ev.LEFT_SITE,
            lost: ev.UNACCOUNTED,
            silent: ev.UNACCOUNTED,  # no report in the minute since the declaration
        }
        assert sit.counts["on_roll"] == 6 and sit.counts["in_danger"] == 1
        assert sit.routes[inside].status == ev.IN_DANGER
        danger = em.danger_of(plant, em.active(session), sit.wind_from)  # type: ignore[arg-type]
        for b in (walker, silent, lost):
            r = sit.routes[b]
            assert r.status == ev.ROUTE and not ev.path_hits(danger, r.path), b
        assert sit.wind_from == pytest.approx(135.0)  # no wind sample: the plant file's value
        counts_only = em.situation(session, plant, now, Viewer(access=Access.COUNTS))
        assert counts_only is not None and counts_only.counts == sit.counts
        assert counts_only.classes == {} and counts_only.routes == {} and counts_only.last_seen == {}
        with pytest.raises(people.NoViewerError):
            em.situation(session, plant, now, None)
        before = sit.danger
        with pytest.raises(em.EmergencyError, match="only grow"):
            em.grow(session, 30.0, "wu", now)
        em.grow(session, 200.0, "wu", now)
    with session_scope(engine) as session:
        grown = em.situation(session, plant, now + S, SYSTEM)
        assert grown is not None

        def area(poly: list[tuple[float, float]]) -> float:
            return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1], strict=True)))

        assert area(grown.danger[0]) > area(before[0])
        e = em.end(session, plant, "wu", now + 120 * S)
        assert e.state == em.ENDED and people.active_muster(session) is None
        summary = e.summary
        assert summary is not None and summary["counts"]["at_point"] == 1
        rows = {r["badge"]: r for r in summary["people"]}
        # unaccounted from the declaration (or the last position) to the end
        assert rows[silent]["class"] == ev.UNACCOUNTED and rows[silent]["unaccounted_s"] == 181
        assert rows[lost]["class"] == ev.UNACCOUNTED and rows[lost]["unaccounted_s"] == 171
        assert rows[arriving]["last_ms"] == t + 30 * S
        assert rows[inside]["flag"] == ev.IN_DANGER
        kinds = [s.kind for s in em.steps(session, e.id)]
        assert kinds == ["declared", "action_done", "action_done", "action_reopened", "danger_grown", "ended"]
        state = em.checklist(em.steps(session, e.id))
        assert state["alarm"][:2] == (True, "wu") and state["isolate"][:2] == (False, "li")
        with pytest.raises(em.EmergencyError, match="no emergency"):
            em.end(session, plant, "wu", now + 200 * S)
        assert em.ended(session)[0].id == e.id


def test_dismissed_proposal_is_not_proposed_again_soon(store) -> None:  # type: ignore[no-untyped-def]
    engine, plant = store
    with session_scope(engine) as session:
        pid = em.propose(session, plant, PLAN, ZONE, "a:HH", T0)
        assert pid is not None
        em.dismiss(session, pid, "wu", T0 + S)
        assert em.propose(session, plant, PLAN, ZONE, "a:HH", T0 + 60 * S) is None
        assert em.propose(session, plant, PLAN, ZONE, "a:HH", T0 + em.REPROPOSE_MS + 2 * S) is not None
        with pytest.raises(em.EmergencyError, match="no longer open"):
            em.dismiss(session, pid, "wu", T0)
        assert np.isfinite(len(em.proposals(session)))
