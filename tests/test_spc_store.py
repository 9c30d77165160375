"""Lab assays end to end on a real SQLite file: the lab CSV import (all or nothing, bad lines named), an
out-of-control result -> an ``spc`` event -> an advisory alarm from the alarm service, exclusions, and the
simulator's lab publishing assays with its scripted out-of-control run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from engine.alarm_text import alarm_text, plant_names
from engine.spc import imr_chart
from plant.loader import default_plant_path, load_plant
from plant.schema import Plant
from services.__main__ import FACTORIES
from services.alarms import AlarmService
from services.spc import SpcService
from simulator.model import ASSAY_EVERY_MS, SmelterModel
from store.db import make_engine, migrate, session_scope
from store.models import Alarm, Event, Sample
from store.spc import (
    DAY_MS,
    SPC_EVENT,
    LabImportError,
    assay_chart,
    default_window,
    exclude,
    import_lab_csv,
    include,
)
from store.tags import sync_tags
from tests.fakeclock import plant_ms

H0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, 08:00 in the plant (Asia/Shanghai)
TAG = "SF1.LAB_SLAG_CU"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.fixture(scope="module")
def plant() -> Plant:
    return load_plant(default_plant_path())


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Engine]:
    migrate(sqlite_url)
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


def test_lab_csv_all_or_nothing(db: Engine, plant: Plant) -> None:
    at8 = plant_ms(plant, 2026, 1, 1, 8, 0)  # the CSV's times are the plant's
    with session_scope(db) as s:
        ids = sync_tags(s, plant)
    bad = (
        "时间,位号,数值\n"
        "2026-01-01 08:00,SF1.LAB_SLAG_CU,0.61\n"
        "2026-01-01 16:00,SF1.LAB_SLAG_CU,abc\n"
        "2026-01-02 08:00,FSF1.MATTE_TEMP,1200\n"
        "yesterday,SF1.LAB_SLAG_CU,0.6\n"
        "2026-01-02 16:00,SF1.LAB_SLAG_CU,nan\n"
        "2026-01-01 08:00,SF1.LAB_SLAG_CU,0.62\n"
        "2026-01-03 08:00,<script>alert(1)</script>,1\n"
    )
    with pytest.raises(LabImportError) as err, session_scope(db) as s:
        import_lab_csv(s, plant, ids, bad, "lab.csv")
    assert [e.split(":")[0].split(",")[0] for e in err.value.errors] == [
        f"lab.csv line {n}" for n in (3, 4, 5, 6, 7, 8)
    ]
    cells = [e.split(":")[0].split(", cell ")[-1] for e in err.value.errors]
    assert cells == ["C3", "B4", "A5", "C6", "lab.csv line 7", "B8"]  # the cell at fault (a repeat: its line)
    assert "'abc' is not a number" in err.value.errors[0]
    assert "not an assay tag" in err.value.errors[1] and "not a finite number" in err.value.errors[3]
    with session_scope(db) as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 0  # nothing half-imported
    with pytest.raises(LabImportError, match="line 1: missing column"), session_scope(db) as s:
        import_lab_csv(s, plant, ids, "when,tag,value\n", "lab.csv")
    # Chinese headers, plant time without an offset (08:00 in Shanghai is 00:00 UTC)
    good = "时间,位号,数值\n2026-01-01 08:00,SF1.LAB_SLAG_CU,0.61\n2026-01-01 16:00,SF1.LAB_SLAG_CU,0.58\n"
    with session_scope(db) as s:
        assert import_lab_csv(s, plant, ids, good, "lab.csv") == 2
    with session_scope(db) as s:
        rows = s.execute(select(Sample.ts, Sample.value).where(Sample.tag_id == ids[TAG]).order_by(Sample.ts)).all()
    assert [tuple(r) for r in rows] == [(at8, 0.61), (at8 + 8 * 3_600_000, 0.58)]


def test_out_of_control_result_becomes_an_advisory_alarm_once(db: Engine, plant: Plant) -> None:
    with session_scope(db) as s:
        ids = sync_tags(s, plant)
    # 30 in-control results over the baseline (10 days, 3 a day), then one far out (rule 1)
    base = [0.60, 0.62, 0.58, 0.61, 0.59, 0.63, 0.57, 0.60]
    lines = ["time,tag,value"] + [f"{_iso(H0 + k * 8 * 3_600_000)},{TAG},{base[k % len(base)]}" for k in range(30)]
    now = H0 + 29 * DAY_MS
    with session_scope(db) as s:
        import_lab_csv(s, plant, ids, "\n".join(lines) + "\n", "lab.csv")
        t0, _t1 = default_window(now)
    # the window starts 30 days back from now: the baseline's first 10 days from the first result hold all 30
    out_ts = now - 3_600_000
    with session_scope(db) as s:
        import_lab_csv(s, plant, ids, f"time,tag,value\n{_iso(out_ts)},{TAG},0.95\n", "lab2.csv")
    alarms = AlarmService(plant, db)
    try:
        alarms.step(now - 60_000)
        spc = SpcService(plant, db)
        spc.step(now)
        spc.step(now + 60_000)  # judged again: written once
        alarms.step(now + 61_000)
    finally:
        alarms.close()
    with session_scope(db) as s:
        [ev] = s.scalars(select(Event).where(Event.kind == SPC_EVENT))
        assert (ev.source, ev.ts_start, ev.data["value"]) == (TAG, out_ts, 0.95)
        assert "1" in ev.data["rules"].split(",")
        [al] = s.scalars(select(Alarm).where(Alarm.source_type == "spc"))
        assert al.id == f"spc:{ev.id}" and al.condition == "OOC" and al.priority == "low"
        en = alarm_text(al, plant_names(plant), "en", show_names=False)
        zh = alarm_text(al, plant_names(plant), "zh", show_names=False)
        assert "slag copper (lab): result 0.95 % out of control (Nelson rules 1" in en
        assert "渣含铜（化验）" in zh and "失控" in zh
        # excluded with a reason, the result is shown but no longer judged
        exclude(s, TAG, out_ts, "  sample   contaminated ", "lab.chief", now)
    with session_scope(db) as s:
        tag = next(t for t in plant.tags if t.id == TAG)
        ac = assay_chart(s, tag, ids[TAG], t0, now + 1, (t0, t0 + 10 * DAY_MS), (1, 2, 3, 5))
        assert ac.chart is not None and ac.count == 31
        [i] = [i for i, t in enumerate(ac.chart.ts) if t == out_ts]
        assert ac.chart.excluded == {i: "sample contaminated"}
        assert all(i not in v for v in ac.chart.violations.values())
        assert include(s, TAG, out_ts) and not include(s, TAG, out_ts)
    assert "spc" in FACTORIES


def test_the_simulator_lab_publishes_assays_with_an_out_of_control_run(plant: Plant) -> None:
    model = SmelterModel(plant, start_ms=H0)
    first = model.initial_values()
    assays = [t.id for t in plant.tags if t.kind.value == "assay"]
    assert len(assays) == 8 and all(a in first for a in assays)
    got: dict[str, list[tuple[int, float]]] = {a: [] for a in assays}
    for k in range(1, 2 * 24 + 1):  # 2 days in hourly steps: each assay changes three times a day
        now = H0 + k * 3_600_000
        for tag, v in model.step(now).items():
            if tag in got:
                got[tag].append((now, float(v)))  # type: ignore[arg-type]
    assert all(len(v) == 6 for v in got.values()), {k: len(v) for k, v in got.items()}
    ks = [(t - 1) // ASSAY_EVERY_MS for t, _ in got[TAG]]
    assert [v for _, v in got[TAG]] == [model.assay_value(TAG, k)[1] for k in ks]
    # a result is a pure function of the sample number (and the incident schedule): a second run agrees
    again = SmelterModel(plant, start_ms=H0)
    assert again.assay_value(TAG, ks[0] + 20) == model.assay_value(TAG, ks[0] + 20)
    # the scripted shift (2.5 sigma for 36 h every 6 days) puts slag copper out of control on its chart
    windows = [(s, e) for i, _k, s, e in model.incident_windows(H0, H0 + 14 * DAY_MS) if i == "inc-slag-cu-shift"]
    assert len(windows) >= 2
    k0 = H0 // ASSAY_EVERY_MS
    series = [model.assay_value(TAG, k) for k in range(k0, k0 + 14 * 3)]
    ts = [t for t, _ in series]
    chart = imr_chart(ts, [v for _, v in series], baseline=(windows[0][1], windows[1][0]))
    flagged = chart.flagged()
    assert flagged, "the shift should put results out of control"
    inside = [i for i in flagged if any(s <= ts[i] < e + ASSAY_EVERY_MS for s, e in windows)]
    assert len(inside) >= 0.7 * len(flagged)
