"""The safety index at a moment gone by (the demo's history pass) takes the hidden dangers as their state log says
they stood then, not as they stand now: on a real SQLite store, with the register written after the fact (as the
demo's backfill writes it), a danger moves the stored index only from the moment it was reported, its grade and
its being overdue only from theirs, and a danger closed since still counts while it was open."""

from __future__ import annotations

from pathlib import Path

from engine.safety_index import PLANT
from plant import load_plant
from services.safety import SafetyService
from store.db import make_engine, migrate, session_scope
from store.hidden_dangers import act, report
from store.safety_index import gather, series
from tests.webutil import MINI_PLANT

MIN = 60_000
T0 = 1_780_000_020_000 - 1_780_000_020_000 % (5 * MIN)  # a fixed clock, on a 5-minute step
ZONE = "acid-plant"


def test_a_hidden_danger_moves_the_backfilled_index_only_from_its_report_on(tmp_path: Path) -> None:
    plant = load_plant(MINI_PLANT)
    zones = [z.id for z in plant.zones]
    url = f"sqlite:///{tmp_path / 'past.db'}"
    migrate(url)
    engine = make_engine(url)
    try:

        def at(minute: int) -> int:
            return T0 + minute * MIN

        with session_scope(engine) as s:  # the whole register written at the end, as the demo's backfill does
            b = report(s, title="loose rail", description="", zone=ZONE, x=None, y=None, source="dispatcher",
                       actor="wang.lei", now_ms=at(10), zones=zones)  # fmt: skip
            act(s, b.id, "assess", "chen.jing", at(15), grade="general")
            act(s, b.id, "assign", "chen.jing", at(20), owner="zhang.wei", deadline_ms=at(200))
            act(s, b.id, "rectify", "zhang.wei", at(40), note="bolted")
            act(s, b.id, "verify", "chen.jing", at(50))
            a = report(s, title="weeping flange", description="", zone=ZONE, x=None, y=None, source="phone",
                       actor="liu.yang", now_ms=at(30), zones=zones)  # fmt: skip
            act(s, a.id, "assess", "chen.jing", at(35), grade="major")
            act(s, a.id, "assign", "chen.jing", at(36), owner="li.ming", deadline_ms=at(60))
            live = gather(s, plant, at(0))[ZONE]
        # live, the register is taken as it stands: the open major danger counts even at a moment before its report
        assert (live.dangers_open, live.dangers_major) == (1, 1)
        service = SafetyService(plant, engine)
        for minute in range(0, 75, 5):
            service.record_index(at(minute), past=True)
        with session_scope(engine) as s:
            pts = series(s, [ZONE, PLANT], at(0), at(70))
            before = gather(s, plant, at(5), past=True)[ZONE]
        assert (before.dangers_open, before.dangers_major, before.dangers_overdue) == (0, 0, 0)
        got = {(p.ts - T0) // MIN: p.parts["hidden_dangers"] for p in pts[ZONE]}
        # 10 a point per open danger, 50 more for a major one, 20 more for an overdue one (engine.safety_index)
        assert got == {
            0: 0, 5: 0,  # nothing reported yet
            10: 10, 15: 10, 20: 10, 25: 10,  # B reported at 10
            30: 20,  # A reported at 30
            35: 70, 40: 70, 45: 70,  # A assessed major at 35 (B rectified at 40 is still open)
            50: 60, 55: 60, 60: 60,  # B verified and closed at 50; A's deadline is 60
            65: 80, 70: 80,  # A overdue after 60
        }  # fmt: skip
        values = [p.value for p in pts[ZONE]]
        assert values[0] == values[1] < values[2] < values[6] and values[-1] > values[-5]
    finally:
        engine.dispose()
