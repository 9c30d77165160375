"""The production plan: a good Excel file with Chinese headers imports as a version; bad files (missing column,
text in a number cell, overlapping targets, repeats, unknown product or shift, NaN) are refused with the cell
named and nothing stored; newer versions replace older ones day by day; plan against actual and the daily rate
still needed against hand-computed values; daily amounts from the rollups equal the counters' amounts."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.plan import PlanFileError, cell, day_plans, horizon, parse_plan, plan_status
from engine.types import GOOD, SampleIn
from plant.loader import load_plant
from simulator.plan import demo_plan, to_csv, to_xlsx
from store.counters import counter_increase
from store.db import make_engine, migrate, session_scope
from store.models import PlanTarget, PlanVersion
from store.plan import DAY_MS, daily_amounts, import_plan, plan_in_force
from store.samples import bulk_load_samples, rebuild_rollups
from store.tags import sync_tags
from tests.fakeclock import plant_ms

ROOT = Path(__file__).resolve().parent.parent
PLANT = load_plant(ROOT / "plant" / "demo_smelter.yaml")
NOW = 1_800_000_000_000


def refused(data: bytes, name: str = "plan.csv") -> str:
    with pytest.raises(PlanFileError) as info:
        parse_plan_bytes(data, name)
    return str(info.value)


def parse_plan_bytes(data: bytes, name: str) -> list:  # type: ignore[type-arg]
    from store.plan import read_table

    return parse_plan(read_table(data, name), PLANT, source=name)


def test_cell_names() -> None:
    assert (cell(0, 0), cell(6, 3), cell(9, 26), cell(0, 27)) == ("A1", "D7", "AA10", "AB1")


def test_good_excel_with_chinese_headers_imports_as_a_version(sqlite_url: str) -> None:
    targets = demo_plan(PLANT, date(2026, 3, 1), date(2026, 3, 31))
    data = to_xlsx(PLANT, targets, "zh")
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        v = import_plan(session, data, "2026年3月计划.xlsx", PLANT, "planner-li", NOW)
        assert (v.first_day, v.last_day, v.rows, v.user) == ("2026-03-01", "2026-03-31", len(targets), "planner-li")
    with session_scope(engine) as session:
        plan = plan_in_force(session, date(2026, 3, 1), date(2026, 3, 31))
    anode = plan["anode_cast"]
    assert anode[date(2026, 3, 5)][""] == pytest.approx(50 * 24 * 0.96)  # two casting wheels of 25 t/h
    assert anode[date(2026, 3, 20)][""] == 0.0  # the planned shutdown day
    assert plan["cathode_copper"][date(2026, 3, 20)][""] > 0  # the tankhouse runs on
    engine.dispose()


def test_bad_files_are_refused_naming_the_cell(sqlite_url: str) -> None:
    missing = "日期,产品\n2026-03-01,anode_cast\n".encode()
    assert "row 1: no 'target' column" in refused(missing)
    text = b"date,product,target\n2026-03-01,anode_cast,1100\n2026-03-02,anode_cast,abc\n"
    assert "C3: 'abc' is not a number" in refused(text)
    nan = b"date,product,target\n2026-03-01,anode_cast,nan\n"
    assert "C2: nan is not an amount" in refused(nan)
    overlap = b"date,shift,product,target\n2026-03-01,,anode_cast,1100\n2026-03-01,A,anode_cast,400\n"
    msg = refused(overlap)
    assert "C3: a shift target overlaps C2" in msg
    repeat = b"date,product,target\n2026-03-01,anode_cast,1100\n2026-03-01,Anode casting wheel 1 anode copper cast,1\n"
    assert "B3: repeats B2" in refused(repeat)
    unknown = b"date,shift,product,target\n2026-02-30,X,<script>,1\n"
    msg = refused(unknown)
    assert "A2: '2026-02-30' is not a date" in msg and "B2: 'X' is not a shift" in msg
    assert "C2: '<script>' is not a product" in msg
    wrong_process = b"date,product,target,process\n2026-03-01,anode_cast,1,acid\n"
    assert "D2: 'acid' is not the process of anode_cast" in refused(wrong_process)
    assert "not an Excel workbook" in refused(b"not a zip", "plan.xlsx")
    # a file refused half way down stores nothing, not even its good rows
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    with pytest.raises(PlanFileError), session_scope(engine) as session:
        import_plan(session, text, "plan.csv", PLANT, "planner-li", NOW)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(PlanVersion)) == 0
        assert session.scalar(select(func.count()).select_from(PlanTarget)) == 0
    engine.dispose()


def test_newer_versions_replace_days_and_keep_history(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    month = to_csv(PLANT, demo_plan(PLANT, date(2026, 3, 1), date(2026, 3, 31)))
    change = (
        "日期,班次,产品,计划量\n2026-03-10,A,anode_cast,300\n2026-03-10,B,anode_cast,350\n2026-03-10,C,anode_cast,350\n"
    )
    with session_scope(engine) as session:
        import_plan(session, month, "march.csv", PLANT, "planner-li", NOW)
        import_plan(session, change.encode(), "march-10.csv", PLANT, "planner-wang", NOW + 1000)
    with session_scope(engine) as session:
        plan = plan_in_force(session, date(2026, 3, 9), date(2026, 3, 11))
        history = session.scalars(select(PlanVersion).order_by(PlanVersion.id)).all()
    assert plan["anode_cast"][date(2026, 3, 10)] == {"A": 300.0, "B": 350.0, "C": 350.0}
    assert plan["anode_cast"][date(2026, 3, 9)] == {"": pytest.approx(1152.0)}
    assert "acid_produced" not in {p for p, days in plan.items() if date(2026, 3, 10) in days}  # the day is v2's
    assert [(v.user, v.source) for v in history] == [("planner-li", "march.csv"), ("planner-wang", "march-10.csv")]
    engine.dispose()


def test_plan_status_by_hand() -> None:
    # March 2026: 31 days of 100 t, none on the 20th (3,000 t); today the 11th, 06:00 (a quarter of the day)
    plan = {date(2026, 3, d): (0.0 if d == 20 else 100.0) for d in range(1, 32)}
    actual = {date(2026, 3, d): 90.0 for d in range(1, 11)} | {date(2026, 3, 11): 20.0}
    today = date(2026, 3, 11)
    month = plan_status(plan, actual, horizon("month", today), today, 0.25)
    assert month.plan_full == 3000.0 and month.plan_to_date == 1025.0 and month.actual == 920.0
    assert month.completion == pytest.approx(920 / 1025)
    assert month.days_left == pytest.approx(19.75)  # the 12th to the 31st but the 20th, and 3/4 of today
    assert month.rate_needed == pytest.approx((3000 - 920) / 19.75)
    week = plan_status(plan, actual, horizon("week", today), today, 0.25)  # Monday 9th to Sunday 15th
    assert (week.plan_full, week.plan_to_date, week.actual) == (700.0, 225.0, 200.0)
    q = horizon("quarter", today)
    assert (q.first, q.last, q.label) == (date(2026, 1, 1), date(2026, 3, 31), "2026-Q1")
    assert horizon("quarter", date(2026, 11, 5)).last == date(2026, 12, 31)
    past = plan_status(plan, actual, horizon("month", date(2026, 4, 2)), date(2026, 4, 2), 0.5)
    assert past.plan_full == 0 and past.completion is None
    assert day_plans([]) == {}


def test_daily_amounts_equal_the_counters(db_url: str) -> None:
    """A counter read every minute for two days (with a reset): each plant day's amount from the hourly
    rollups equals ``store.counters.counter_increase`` over the same day."""
    migrate(db_url)
    engine = make_engine(db_url)
    d0 = plant_ms(PLANT, 2026, 3, 10)
    with session_scope(engine) as session:
        tid = sync_tags(session, PLANT)["CW1.ANODE_CAST"]
        value, samples = 5000.0, []
        for m in range(-60, 2 * 1440):
            value += 0.4 if (m // 60) % 5 else 0.1
            if m == 1700:
                value = 3.0  # the counter was reset
            samples.append(SampleIn(tid, d0 + m * 60_000, value, GOOD))
        bulk_load_samples(session, samples)
        rebuild_rollups(session, [tid], d0 - 3_600_000, d0 + 2 * DAY_MS)
    at = datetime.fromtimestamp(d0 / 1000, tz=PLANT.tz())
    offset = int(at.utcoffset().total_seconds() * 1000)  # type: ignore[union-attr]  # the plant's zone then
    with session_scope(engine) as session:
        days = daily_amounts(session, [tid], d0, d0 + 2 * DAY_MS, offset)[tid]
        for k in range(2):
            exact = counter_increase(session, [tid], d0 + k * DAY_MS, d0 + (k + 1) * DAY_MS - 1)[tid]
            assert days[(d0 + k * DAY_MS + offset) // DAY_MS] == pytest.approx(exact, abs=0.5), k
    engine.dispose()


def test_import_command(sqlite_url: str, tmp_path: Path) -> None:
    """``python -m store.plan import``: a bad file exits 1 naming the cell and stores nothing; a good one is
    a version listed by ``versions``."""
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date,product,target\n2026-03-01,anode_cast,-5\n")
    good = tmp_path / "good.xlsx"
    good.write_bytes(to_xlsx(PLANT, demo_plan(PLANT, date(2026, 3, 1), date(2026, 3, 2)), "zh"))
    plant_file = str(ROOT / "plant" / "demo_smelter.yaml")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "store.plan", *args, "--db", sqlite_url, "--plant", plant_file]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)

    refused_run = run("import", str(bad), "--user", "planner-li")
    assert refused_run.returncode == 1 and "C2: -5.0 is not an amount" in refused_run.stderr
    ok = run("import", str(good), "--user", "planner-li")
    assert ok.returncode == 0 and "version 1: 12 targets, 2026-03-01 to 2026-03-02" in ok.stdout, ok.stderr
    listed = run("versions")
    assert listed.stdout.splitlines() == ["1\t2026-03-01..2026-03-02\t12\tplanner-li\tgood.xlsx"]
