"""The demo's history is whole: the backfill stores the personnel rules' violations, and the history pass runs
the energy and alarm services and the console over the same hours, so the alarm journal and the ISA-18.2
figures have data from the first minute, at their true times, as the live services would have written them."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from demo.history import CONSOLE_USERS, HistoryError, ack_delay_s, annunciated_at, console_user, run_history
from plant.loader import load_plant
from plant.schema import Plant
from services.alarms import AlarmService
from services.permits import RULES as PERMIT_RULES
from simulator.backfill import backfill
from store.alarm_kpi import alarm_kpis
from store.db import make_engine, session_scope
from store.models import Alarm, AlarmJournal, Event, Sample
from store.tags import tag_ids
from tests.conftest import ROOT
from tests.fakeclock import plant_ms

pytestmark = pytest.mark.timeout(240)

DEMO = ROOT / "plant" / "demo_smelter.yaml"
HOUR = 3_600_000
SEED = 7


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO)


@pytest.fixture(scope="module")
def history(demo: Plant, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, int, int]:
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'store.db'}"
    end = plant_ms(demo, 2026, 3, 2, 12, 0)
    result = backfill(demo, url, 4 / 24, step_s=60, seed=SEED, end_ms=end, progress=False, violations=True)
    run_history(demo, url, seed=SEED)
    return url, result.start_ms, result.end_ms, result.violations


def test_violations_alarms_and_acknowledgements_fill_the_history(
    demo: Plant, history: tuple[str, int, int, int]
) -> None:
    url, start, end, violations = history
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            # the personnel rules' events, and an alarm for each that the alarm engine raises
            n_events = s.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.kind == "violation", Event.source.not_in(PERMIT_RULES))  # those are the permit checks'
            )
            assert violations > 0 and n_events == violations
            assert s.scalar(select(func.count()).select_from(Alarm).where(Alarm.source_type == "personnel")) > 0
            assert s.scalar(select(func.count()).select_from(Alarm).where(Alarm.source_type == "process")) > 0
            # every transition at a moment of the history, none at the wall clock
            lo, hi = s.execute(select(func.min(AlarmJournal.ts), func.max(AlarmJournal.ts))).one()
            assert start <= lo and hi <= end
            # a process alarm came when its tag was past its limit (the stored sample at or before it says so)
            ids = {v: k for k, v in tag_ids(s).items()}
            highs = list(
                s.scalars(
                    select(Alarm).where(Alarm.condition.in_(("H", "HH")), Alarm.activated_at.is_not(None)).limit(5)
                )
            )
            assert highs
            for row in highs:
                value = s.scalar(
                    select(Sample.value)
                    .where(Sample.tag_id == row.tag_id, Sample.ts <= row.activated_at)
                    .order_by(Sample.ts.desc())
                    .limit(1)
                )
                assert value is not None and row.limit is not None and value > row.limit, ids.get(row.tag_id)
            # the console: acknowledged by the dispatcher on shift, after the delay drawn for that alarm
            acks = list(s.execute(select(AlarmJournal).where(AlarmJournal.kind == "ack")).scalars())
            assert acks
            for j in acks[:50]:
                assert j.user in CONSOLE_USERS and j.user == console_user(demo, j.ts)
                activated = annunciated_at(s, j.alarm_id, j.ts)
                assert activated is not None
                delay = ack_delay_s(j.alarm_id, activated, j.priority, SEED)
                assert delay is not None and j.ts == activated + round(delay * 1000)
            kpis = alarm_kpis(s, start, end, end)
        assert kpis.total > 0 and kpis.average_per_10min > 0 and kpis.top_bad_actors
    finally:
        engine.dispose()


def test_the_live_service_takes_over_without_repeating_the_history(
    demo: Plant, history: tuple[str, int, int, int]
) -> None:
    url, _start, end, _ = history
    engine = make_engine(url)
    live = AlarmService(demo, engine)
    try:
        with session_scope(engine) as s:
            before = s.scalar(select(func.count()).select_from(AlarmJournal))
        live.step(end + 1_000)
        with session_scope(engine) as s:
            after = s.scalar(select(func.count()).select_from(AlarmJournal))
            assert after == before
        with pytest.raises(HistoryError, match="already has alarms"):
            run_history(demo, url, seed=SEED)
    finally:
        live.close()
        engine.dispose()


def test_the_backfilled_low_stock_is_in_the_alarm_journal(demo: Plant, history: tuple[str, int, int, int]) -> None:
    """The stock service runs over the history on its clock: the oxygen lance tips the furnace campaign took under
    their reorder level alarm at the campaign's issue, not at the end of the history, and no other item alarms."""
    from simulator.stock import CAMPAIGN_REF, LOW_ITEM
    from store.models import StockLedger

    url, start, end, _ = history
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            campaign = s.scalars(select(StockLedger).where(StockLedger.reference == CAMPAIGN_REF)).one()
            assert start < campaign.ts < end
            (row,) = s.scalars(select(Alarm).where(Alarm.source_type == "stock"))
            assert (row.source, row.condition, row.active) == (LOW_ITEM, "LOW", True)
            journal = list(s.scalars(select(AlarmJournal).where(AlarmJournal.alarm_id == row.id)))
            assert journal and journal[0].kind == "active" and journal[0].ts == campaign.ts == row.activated_at
            ev = s.scalars(select(Event).where(Event.kind == "stock")).one()
            assert (ev.source, ev.ts_start, ev.ts_end) == (LOW_ITEM, campaign.ts, None)
    finally:
        engine.dispose()


def test_acknowledgement_delays_are_drawn_per_alarm(demo: Plant) -> None:
    delays = [ack_delay_s(f"T{i}:H", 1_000 * i, "high", SEED) for i in range(400)]
    assert delays == [ack_delay_s(f"T{i}:H", 1_000 * i, "high", SEED) for i in range(400)]  # the same each run
    never = sum(d is None for d in delays)
    assert 0 < never < 40  # a few stand unacknowledged
    given = sorted(d for d in delays if d is not None)
    assert 30 < given[len(given) // 2] < 180  # about 75 s for a high-priority alarm
    urgent = sorted(d for i in range(400) if (d := ack_delay_s(f"T{i}:HH", i, "urgent", SEED)) is not None)
    assert urgent[len(urgent) // 2] < given[len(given) // 2]
    # the two dispatchers take turns shift by shift
    day = plant_ms(demo, 2026, 3, 2, 10, 0)
    users = {console_user(demo, day + k * 12 * HOUR) for k in range(4)}
    assert users == set(CONSOLE_USERS)


def test_an_empty_store_is_refused(demo: Plant, tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no samples"):
        run_history(demo, f"sqlite:///{tmp_path / 'empty.db'}")


def test_the_demo_keeps_an_incident_record_of_its_scripted_man_down(
    demo: Plant, history: tuple[str, int, int, int]
) -> None:
    from engine.replay import Timeline
    from simulator.backfill import DEMO_INCIDENT_REF
    from store.incidents import search_incidents
    from store.people import SYSTEM
    from webapp.live.replay import Who, load

    url, start, end, _violations = history
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            (inc,) = search_incidents(s, DEMO_INCIDENT_REF)
        assert start <= inc.t0 < inc.at is not None and inc.at < inc.t1 <= end  # type: ignore[operator]
        packed = load(engine, demo, inc.t0, inc.t1, Who(SYSTEM, video=True), "en", tags=inc.tags, now_ms=end)
        badge = next(i.badge for i in demo.incidents if i.kind == "man_down")
        # the man-down's alarm (its zone's) is in the replay's journal, after the fall
        hall = next(z.name for z in demo.zones if z.id == inc.zones[0])
        rows = [r for r in packed["journal"] if r["kind"] == "active" and r["zone"] == hall and r["cond"] == "Man down"]
        assert any(inc.at <= r["ts"] <= inc.t1 for r in rows), [(r["ts"] - inc.at, r["cond"]) for r in rows]  # type: ignore[operator]
        # and the badge lies still from the fall on
        tl = Timeline(packed)
        bi = [b["id"] for b in packed["badges"]].index(badge)
        s_fall = (inc.at - inc.t0) / 1000  # type: ignore[operator]
        a, b = tl.badge_at(bi, s_fall + 90), tl.badge_at(bi, s_fall + 200)
        assert a is not None and b is not None and abs(a[0] - b[0]) + abs(a[1] - b[1]) < 1.0
    finally:
        engine.dispose()


def test_the_safety_index_has_its_trend_over_the_history(demo: Plant, history: tuple[str, int, int, int]) -> None:
    """The history pass stores the safety index at every step, its alarms part as the alarm table stood at that
    moment; at the last step the stored values are what the page computes from the store."""
    from engine.safety_index import PLANT
    from store.safety_index import current, series

    url, start, end, _violations = history
    zones = [z.id for z in demo.zones]
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            pts = series(s, [PLANT, *zones], start, end)
            ts = [p.ts for p in pts[PLANT]]
            assert len(ts) >= (end - start) // 300_000 - 1
            assert all(0 < b - a <= 300_000 for a, b in pairwise(ts))
            assert all([p.ts for p in pts[z]] == ts for z in zones)
            alarms = [p.parts["alarms"] for z in zones for p in pts[z]]
            assert max(alarms) > 0 and min(alarms) == 0
            now = current(s, demo, end)
        last = {z: pts[z][-1] for z in zones}
        assert all(p.ts == end - end % 60_000 for p in last.values())
        assert {z: p.value for z, p in last.items()} == {z: v.value for z, v in now.zones.items()}
        assert pts[PLANT][-1].value == now.value
    finally:
        engine.dispose()


def test_the_simulated_crews_permits_are_filed_over_the_history(
    demo: Plant, history: tuple[str, int, int, int]
) -> None:
    """The history plays the simulator's permit jobs (``simulator.permit_jobs``) with the live clerk's code on the
    simulated clock, and the personnel service's permit checks on the stored positions and readings: the job of the
    block in the window is applied, approved, analysed (its first analysis too high on an odd block, GB 30871-2022
    5.3) and activated at its own minutes; the checks suspend it (the guardian's walk within a minute, positions
    being stored a minute apart, when it is active then), the new analysis and the resumption follow when it is
    suspended; the stranger's entry is a violation of the permit."""
    from simulator import permit_jobs as pj
    from store.models import WorkPermit, WorkPermitLog

    url, start, end, _violations = history
    jobs = [
        j for j in pj.PermitJobs(demo, SEED).between(start, end) if start <= j.at(pj.APPLY) and j.at(pj.RESUME) <= end
    ]
    assert jobs  # the 4 h window ends at 04:00 UTC: the block of 00:00 to its resumption and beyond
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            for job in jobs:
                row = s.scalars(select(WorkPermit).where(WorkPermit.title == job.title)).one()
                assert (row.kind, row.zone, row.guardian, row.valid_from) == (
                    "hot_work",
                    job.zone,
                    job.guardian,
                    job.at(pj.VALID_FROM),
                )
                stmt = select(WorkPermitLog).where(WorkPermitLog.permit_id == row.id).order_by(WorkPermitLog.id)
                log = [((r.ts - job.start) / 60_000, r.action, r.actor, r.to_state, r.note) for r in s.scalars(stmt)]
                minutes = [(m, action) for m, action, *_ in log]
                assert minutes[:3] == [
                    (pj.APPLY, "apply"),
                    (pj.APPROVE_UNIT, "approve"),
                    (pj.APPROVE_SAFETY, "approve"),
                ]
                assert (pj.ACTIVATE, "activate") in minutes
                assert ((pj.GAS_BAD, "gas_test") in minutes) == job.bad_gas
                # the checks suspend it (the guardian away; or a detector of its zone over its limit), the clerk
                # analyses again and resumes it when it is suspended then
                suspensions = [(m, actor, note) for m, action, actor, _state, note in log if action == "suspend"]
                assert suspensions and all(
                    actor == "system" and note in PERMIT_RULES for _m, actor, note in suspensions
                )
                state_at_walk = [st for m, _a, _actor, st, _n in log if m <= pj.AWAY_FROM][-1]
                if state_at_walk == "active":
                    assert any(
                        pj.AWAY_FROM < m <= pj.AWAY_FROM + 2 and note == "permit_guardian_away"
                        for m, _actor, note in suspensions
                    ), log
                state_before_regas = [st for m, _a, _actor, st, _n in log if m < pj.REGAS][-1]
                if state_before_regas == "suspended":
                    assert (pj.REGAS, "gas_test") in minutes and (pj.RESUME, "resume") in minutes
                state_at_entry = [st for m, _a, _actor, st, _n in log if m <= pj.INTRUDE_FROM + 1][-1]
                if job.at(pj.INTRUDE_TO) <= end and state_at_entry == "active":
                    found = s.scalars(
                        select(Event).where(
                            Event.kind == "violation",
                            Event.source == "permit_area_intrusion",
                            Event.badge == job.stranger,
                        )
                    ).all()
                    assert any(job.at(pj.INTRUDE_FROM) <= ev.ts_start <= job.at(pj.INTRUDE_TO) for ev in found)
    finally:
        engine.dispose()
