"""Special-work permits on a real store with the personnel service running its steps (GB 30871-2022): a hot-work
permit applied, approved, gas tested, isolated and activated; its guardian walks away and the permit is suspended
within 10 s with a violation (and an alarm from it); a badge not on the permit in the work area is a violation; the
SO2 near an active confined-space permit over its limit suspends it; validity ends, the permit expires; a refused
move writes nothing. Each step logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from engine.alarms import AlarmEngine
from engine.permits import AREA_INTRUSION, GAS_OVER, GUARDIAN_AWAY, PermitRefusedError
from engine.types import GOOD, PositionIn, SampleIn
from plant import load_plant
from services.personnel import PersonnelService
from store.db import make_engine, migrate, session_scope
from store.events import VIOLATION
from store.models import Event, WorkPermit, WorkPermitLog
from store.permits import apply, history, move
from store.positions import write_positions
from store.samples import write_samples
from store.tags import sync_tags
from tests.webutil import MINI_PLANT

T0 = 1_796_000_000_000
S = 1000
MIN = 60 * S
SQUARE = [(290.0, 180.0), (310.0, 180.0), (310.0, 200.0), (290.0, 200.0)]  # in the acid plant


def _apply(s: object, kind: str, grade: str | None, hours: float = 8) -> int:
    plant = load_plant(MINI_PLANT)
    row = apply(
        s,  # type: ignore[arg-type]
        kind=kind,
        grade=grade,
        title="<b>weld</b> the SO2 duct flange",
        zone="acid-plant",
        point=(300.0, 190.0),
        area=SQUARE,
        guardian="P003",
        crew=["P001", "P002"],
        valid_from=T0,
        valid_to=T0 + round(hours * 3_600_000),
        isolations=["blind at V-12"],
        applicant="planner",
        now_ms=T0,
        badges=[b.id for b in plant.badges],
        zones=[z.id for z in plant.zones],
    )
    return row.id


def _positions(s: object, ts: int, where: dict[str, tuple[float, float]]) -> None:
    write_positions(s, [PositionIn(b, ts, x, y, 0, GOOD) for b, (x, y) in where.items()])  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> object:
    url = f"sqlite:///{tmp_path / 'permits.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        sync_tags(s, load_plant(MINI_PLANT))
    yield engine
    engine.dispose()


def test_guardian_away_suspends_within_10_s_and_a_stranger_in_the_area_is_a_violation(db: object) -> None:
    plant = load_plant(MINI_PLANT)
    with session_scope(db) as s:  # type: ignore[arg-type]
        pid = _apply(s, "hot_work", "first")
        with pytest.raises(PermitRefusedError):
            move(s, pid, "activate", "op", T0)  # GB 30871-2022 5.2: not approved yet
        move(s, pid, "approve", "unit.head", T0, signoff="unit")
        move(s, pid, "approve", "safety.dept", T0, signoff="safety")
        move(s, pid, "gas_test", "tester", T0 + MIN, readings=[("CO", 12, "ppm"), ("CH4", 0.1, "%vol")])
        move(s, pid, "isolate", "op", T0 + 2 * MIN)
        move(s, pid, "activate", "op", T0 + 3 * MIN)
    service = PersonnelService(plant, db)  # type: ignore[arg-type]
    t = T0 + 4 * MIN
    crew = {"P001": (299.0, 190.0), "P002": (301.0, 191.0), "P003": (300.0, 185.0)}
    with session_scope(db) as s:  # type: ignore[arg-type]
        _positions(s, t, crew)
    for k in range(3):
        service.step(t + k * S)
    with session_scope(db) as s:  # type: ignore[arg-type]
        assert s.get(WorkPermit, pid).state == "active"  # type: ignore[union-attr]
        _positions(s, t + 3 * S, {"P003": (330.0, 190.0), "P004": (295.0, 195.0)})  # guardian 30 m off; P004 in
    away_at = t + 3 * S
    k = 3
    while k < 20:
        service.step(t + k * S)
        with session_scope(db) as s:  # type: ignore[arg-type]
            if s.get(WorkPermit, pid).state == "suspended":  # type: ignore[union-attr]
                break
        k += 1
    assert t + k * S - away_at <= 10 * S  # suspended within 10 s of the guardian walking off
    with session_scope(db) as s:  # type: ignore[arg-type]
        events = list(s.scalars(select(Event).where(Event.kind == VIOLATION).order_by(Event.id)))
        rules = {(e.source, e.badge) for e in events}
        assert (GUARDIAN_AWAY, "P003") in rules and (AREA_INTRUSION, "P004") in rules
        row = s.get(WorkPermit, pid)
        assert row is not None and row.suspend_reason == GUARDIAN_AWAY
        assert [h.action for h in history(s, pid)][-1] == "suspend"
        guardian = next(e for e in events if e.source == GUARDIAN_AWAY)
        alarms = AlarmEngine(plant)
        assert alarms.event_open("violation", guardian.id, guardian.ts_start, source=guardian.source,
                                 badge=guardian.badge, zone=guardian.zone, severity=guardian.severity,
                                 data=guardian.data) is not None  # fmt: skip
    # resuming 40 min after the analysis: it is older than 30 min, so the work needs a new one (5.3)
    with session_scope(db) as s:  # type: ignore[arg-type]
        with pytest.raises(PermitRefusedError) as info:
            move(s, pid, "resume", "op", T0 + 40 * MIN)
        assert info.value.key == "gas_stale"
    with session_scope(db) as s:  # type: ignore[arg-type]
        n = s.scalar(select(WorkPermitLog.id).order_by(WorkPermitLog.id.desc()).limit(1))
        assert [h.action for h in history(s, pid)] == ["apply", "approve", "approve", "gas_test", "isolate",
                                                        "activate", "suspend"] and n  # fmt: skip


def test_gas_over_the_limit_suspends_a_confined_space_and_validity_ends_in_expiry(db: object) -> None:
    plant = load_plant(MINI_PLANT)
    with session_scope(db) as s:  # type: ignore[arg-type]
        pid = _apply(s, "confined_space", None, hours=2)
        move(s, pid, "approve", "unit.head", T0, signoff="unit")
        move(s, pid, "gas_test", "tester", T0, readings=[("O2", 18.0, "%vol")])  # too little oxygen
        assert s.get(WorkPermit, pid).state == "approved"  # type: ignore[union-attr]
        move(s, pid, "gas_test", "tester", T0 + MIN, readings=[("O2", 20.8, "%vol"), ("H2S", 1, "ppm")])
        move(s, pid, "isolate", "op", T0 + MIN)
        move(s, pid, "activate", "op", T0 + 2 * MIN)
        ids = sync_tags(s, plant)
        write_samples(s, [SampleIn(ids["GD-AP-1.SO2"], T0 + 2 * MIN, 1.0)])
        _positions(s, T0 + 2 * MIN, {"P001": (300.0, 190.0), "P002": (301.0, 190.0), "P003": (300.0, 192.0)})
    service = PersonnelService(plant, db)  # type: ignore[arg-type]
    service.step(T0 + 3 * MIN)
    with session_scope(db) as s:  # type: ignore[arg-type]
        assert s.get(WorkPermit, pid).state == "active"  # type: ignore[union-attr]
        write_samples(s, [SampleIn(ids["GD-AP-1.SO2"], T0 + 3 * MIN + S, 4.2)])  # over 3.75 ppm (GBZ 2.1)
    service.step(T0 + 3 * MIN + 2 * S)
    with session_scope(db) as s:  # type: ignore[arg-type]
        row = s.get(WorkPermit, pid)
        assert row is not None and row.state == "suspended" and row.suspend_reason == GAS_OVER
        ev = s.scalars(select(Event).where(Event.source == GAS_OVER)).one()
        assert ev.data["tag"] == "GD-AP-1.SO2" and ev.data["value"] == 4.2 and ev.data["limit"] == 3.75
    service.step(T0 + 2 * 3_600_000)  # the validity ends
    with session_scope(db) as s:  # type: ignore[arg-type]
        assert s.get(WorkPermit, pid).state == "expired"  # type: ignore[union-attr]
        assert s.scalars(select(Event).where(Event.source == GAS_OVER)).one().ts_end is not None


def test_the_demo_day_of_permits(tmp_path: Path) -> None:
    # the simulator plays it: a guardian who walked away, a gas analysis too high, a gas rise suspending a permit
    from plant.loader import default_plant_path
    from simulator.safety import play_permits

    plant = load_plant(default_plant_path())
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        assert play_permits(s, plant, T0) == 5 and play_permits(s, plant, T0) == 0
    with session_scope(engine) as s:
        rows = {r.kind: r for r in s.scalars(select(WorkPermit))}
        assert {k: r.state for k, r in rows.items()} == {
            "hot_work": "closed",
            "confined_space": "suspended",
            "lifting": "closed",
            "height": "gas_tested",
            "temp_power": "applied",
        }
        assert rows["confined_space"].suspend_reason == GAS_OVER
        hot = [h.action for h in history(s, rows["hot_work"].id)]
        assert hot == ["apply", "approve", "approve", "gas_test", "isolate", "activate", "suspend", "gas_test",
                       "resume", "close"]  # fmt: skip
        cs = [h.data for h in history(s, rows["confined_space"].id) if h.action == "gas_test"]
        assert [d["passed"] for d in cs] == [False, True]  # the first analysis came back too high
    engine.dispose()


def test_the_permit_alarms_read_in_english_and_chinese() -> None:
    from engine.alarm_text import alarm_text, plant_names

    names = plant_names(load_plant(MINI_PLANT))

    def row(rule: str, badge: str | None, **facts: object) -> dict[str, object]:
        data = {"rule": rule, "facts": {"permit": 7, **facts}}
        return {"source_type": "personnel", "condition": rule, "source": badge or rule, "badge": badge,
                "zone": "acid-plant", "message": "", "data": data}  # fmt: skip

    away = row(GUARDIAN_AWAY, "P003", limit=10.0)
    assert alarm_text(away, names, "en", show_names=False) == (
        "Badge P003, guardian of permit #7, is away from the work (over 10 m): permit suspended"
    )
    assert "作业票 #7 的监护人" in alarm_text(away, names, "zh", show_names=False)
    gas = row(GAS_OVER, None, tag="GD-AP-1.SO2", value=4.2, limit=3.75)
    assert "4.2" in alarm_text(gas, names, "en", show_names=False) and "3.75" in alarm_text(
        gas, names, "zh", show_names=False
    )
    assert "#7" in alarm_text(row(AREA_INTRUSION, "P004"), names, "zh", show_names=False)
