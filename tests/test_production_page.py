"""The production page without a browser, on ten hours of the demo plant written by the backfill: the page's
figures are the engine's over the stored spells, one KPI shows the same on the overview and here, the
tables download as CSV and Excel with the page's rows, and giving a downtime event its reason is checked,
stored and audited (refused to executives and for reasons not in the plant's tree)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.equipment import combine, equipment_kpi, unassigned
from plant.loader import load_plant
from settings import ROOT, Settings
from simulator.backfill import backfill
from store.db import make_engine, migrate, session_scope
from store.equipment import state_spans
from store.models import Event, PlanVersion, SecurityAudit
from tests.fakeclock import plant_ms
from tests.webutil import callback_key, logged_in_client, request_as

DEMO = ROOT / "plant" / "demo_smelter.yaml"
HOURS = 10


@dataclass
class Seeded:
    settings: Settings
    end_ms: int

    def clock(self) -> float:
        return self.end_ms / 1000 + 30


def seed_production(tmp: Path) -> Seeded:
    """Ten hours of the demo plant up to 2026-03-12 10:00 plant time, from the plant's midnight (spells,
    counters, reasons for the older)."""
    plant = load_plant(DEMO)
    end = plant_ms(plant, 2026, 3, 12, 10, 0)
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'web.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    backfill(plant, settings.db_url, HOURS / 24, step_s=60, seed=3, end_ms=end, progress=False)
    return Seeded(settings, end)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_production(tmp_path_factory.mktemp("production"))


@pytest.fixture(scope="module")
def app(seeded: Seeded) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    a = create_app(seeded.settings)
    web.set_clock(a.server, seeded.clock)
    return a


def test_page_figures_are_the_engines_over_the_store(app: Any, seeded: Seeded) -> None:
    from webapp.live.production import production_data, window_bounds

    plant = load_plant(DEMO)
    with request_as(app, seeded.settings, "/production", "executive"):
        data = production_data("day")
        now = int(seeded.clock() * 1000)
        t0, _ = window_bounds(plant, now, "day")
    assert t0 == plant_ms(plant, 2026, 3, 12, 0, 0)
    engine = make_engine(seeded.settings.db_url)
    with session_scope(engine) as session:
        spans = state_spans(session, t0, now + 1)
    engine.dispose()
    units = [r["id"] for r in data["units"]]
    kpis = [equipment_kpi(u, spans.get(u, []), t0, now, now) for u in units]
    whole = combine("plant", kpis)
    assert data["total"]["availability"] == pytest.approx(whole.availability)
    assert data["total"]["failures"] == whole.failures
    # a plant's worth of stops, faults and short stops in ten hours (18 with seed 3 since the hazard-source
    # incident joined the simulator's random stream; the figure depends on the stream, the equalities above do not)
    assert sum(len(v) for v in spans.values()) >= 10
    assert any(d["short"] for d in data["downtime"]) and any(not d["short"] for d in data["downtime"])
    # the simulator feeds the furnace at its design rate while it runs: performance near 100 %
    furnace = next(r for r in data["oee"] if r["id"] == "FSF1")
    assert furnace["continuous"] and 0.85 < furnace["performance"] < 1.15, furnace


def _text_of(component: Any, cid: str) -> str:
    found: list[str] = []

    def walk(c: Any) -> None:
        if getattr(c, "id", None) == cid:
            found.append(str(c.children))
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, list | tuple) else [kids] if kids is not None else []:
            if hasattr(k, "to_plotly_json"):
                walk(k)

    walk(component)
    assert found, cid
    return found[0]


def test_available_now_is_the_same_on_the_overview_and_here(app: Any, seeded: Seeded) -> None:
    """One definition of the KPI: the overview's equipment tile and the production page show one number."""
    from webapp.live.snapshot import snapshot
    from webapp.pages import overview, production

    with request_as(app, seeded.settings, "/production", "executive"):
        view = overview.build_view(load_plant(DEMO), snapshot(), overview.summary(), "en")
        page = production.layout()
        states = snapshot()["equipment_state"]
    shown_here = _text_of(page, "production-available-now")
    assert shown_here == view.text["eq.available"]
    down = sum(1 for s in states.values() if s in ("fault", "maintenance"))
    assert view.text["eq.total"] == f"{len(states) - down} / {len(states)}"


def test_tables_download_as_csv_and_excel(app: Any, seeded: Seeded) -> None:
    from webapp.live.production import production_data, table

    client = logged_in_client(app, seeded.settings, "executive")
    resp = client.get("/production/units.csv?window=day&lang=zh")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["设备", "类别", "可用率"]
    with request_as(app, seeded.settings, "/production", "executive"):
        head, page_rows = table(production_data("day"), "units", load_plant(DEMO), "zh")
    assert rows[0] == head and rows[1:] == page_rows  # the same rows as on the page
    xlsx = client.get("/production/pareto.xlsx?window=day&lang=en&by=count")
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.get_data())) as z:
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "Reason" in strings and "Cumulative" in strings
    assert re.search(r'<c r="C2"[^>]*><v>\d+</v>', sheet), "counts are numbers, not text"
    assert client.get("/production/nothing.csv").status_code == 404
    assert client.get("/production/units.csv?window=<script>").status_code == 400
    assert logged_in_client(app, seeded.settings, "on-call").get("/production/units.csv").status_code == 403


def _assign_body(app: Any, event_id: int, reason: str) -> dict[str, Any]:
    key = callback_key(app, "production-reason-msg.children")
    cid = {"event": event_id, "type": "production-reason"}
    return {
        "output": key,
        "outputs": {"id": "production-reason-msg", "property": "children"},
        "inputs": [[{"id": cid, "property": "value", "value": reason}]],
        "state": [],
        "changedPropIds": [json.dumps(cid, separators=(",", ":")) + ".value"],
    }


def test_assign_a_reason_checked_stored_audited(app: Any, seeded: Seeded) -> None:
    from webapp.live.production import events, production_data

    with request_as(app, seeded.settings, "/production", "dispatcher"):
        waiting = unassigned(events(production_data("day")))
    assert waiting, "the recent downtime waits for reasons"
    target = waiting[0].event_id
    assert target is not None
    executive = logged_in_client(app, seeded.settings, "executive")
    assert executive.post("/_dash-update-component", json=_assign_body(app, target, "mech.belt")).status_code == 403
    dispatcher = logged_in_client(app, seeded.settings, "dispatcher")
    bad = dispatcher.post("/_dash-update-component", json=_assign_body(app, target, "<script>alert(1)</script>"))
    assert bad.status_code == 200 and "Not recorded" in bad.get_data(as_text=True)
    ok = dispatcher.post("/_dash-update-component", json=_assign_body(app, target, "mech.belt"))
    assert ok.status_code == 200 and "Reason recorded" in ok.get_data(as_text=True)
    engine = make_engine(seeded.settings.db_url)
    with session_scope(engine) as session:
        ev = session.get(Event, target)
        assert ev is not None and ev.data is not None
        assert ev.data["reason"] == "mech.belt" and ev.data["reason_by"] == "test-dispatcher"
        rows = session.scalars(select(SecurityAudit).where(SecurityAudit.event == "downtime_reason")).all()
        assert [(r.user, r.target, r.detail) for r in rows] == [("test-dispatcher", f"downtime:{target}", "mech.belt")]
    engine.dispose()
    with request_as(app, seeded.settings, "/production", "dispatcher"):
        still = [d.event_id for d in unassigned(events(production_data("day")))]
    assert target not in still  # the cache was dropped: every screen sees it at its next refresh


def test_plan_against_actual_from_the_shipped_plan(app: Any, seeded: Seeded) -> None:
    """The backfill ships the demo plan; the month's plan, plan to date, actual and the daily rate still
    needed for anode copper follow from it and from the counters (by hand)."""
    from store.counters import counter_increase
    from store.tags import tag_ids
    from webapp.live.production import plan_data, plan_table

    plant = load_plant(DEMO)
    with request_as(app, seeded.settings, "/production", "executive"):
        data = plan_data()
        head, rows = plan_table(data, "month", plant, "zh")
    anode = next(r for r in data["products"] if r["key"] == "anode_cast")
    per_day = 50 * 24 * 0.96
    month = anode["month"]
    assert month["label"] == "2026-03"
    # the demo plan starts with the history (the 12th): 20 days of March but the 20th, a planned shutdown
    assert month["plan_full"] == pytest.approx(19 * per_day)
    now = int(seeded.clock() * 1000)
    day0 = plant_ms(plant, 2026, 3, 12)
    fraction = (now - day0) / 86_400_000
    assert month["plan_to_date"] == pytest.approx(per_day * fraction)
    engine = make_engine(seeded.settings.db_url)
    with session_scope(engine) as session:
        ids = tag_ids(session)
        got = counter_increase(session, [ids["CW1.ANODE_CAST"], ids["CW2.ANODE_CAST"]], day0, now)
    engine.dispose()
    today = sum(got.values())
    assert anode["day"]["actual"] == pytest.approx(today, rel=0.01)  # hourly rollups against the exact amount
    assert month["actual"] == anode["day"]["actual"]  # no history before today in this store
    assert month["rate_needed"] == pytest.approx((19 * per_day - month["actual"]) / (18 + 1 - fraction))
    assert head[:2] == ["产品", "工序"] and ["阳极铜", "阳极浇铸"] in [r[:2] for r in rows]
    assert anode["shift"]["label"] == "B" and anode["year"]["label"] == "2026"


def test_overview_tiles_use_the_same_plan(app: Any, seeded: Seeded) -> None:
    """The overview's production tiles take their plan from the imported plan, through the same engine:
    plan and plan to date of the shift and the day equal those of plan against actual."""
    from webapp.live.production import plan_data
    from webapp.live.summary import summary

    with request_as(app, seeded.settings, "/", "executive"):
        summ = summary()
        plan = plan_data()
    tiles = {r["key"]: r for r in summ["production"]}
    for row in plan["products"]:
        for kind in ("shift", "day"):
            tile, ours = tiles[row["key"]][kind], row[kind]
            assert tile["plan_full"] == pytest.approx(ours["plan_full"]), (row["key"], kind)
            assert tile["plan_to_date"] == pytest.approx(ours["plan_to_date"]), (row["key"], kind)
    assert tiles["anode_cast"]["day"]["plan_full"] == pytest.approx(50 * 24 * 0.96)  # not the nominal 50 t/h x 24


def _upload_body(app: Any, name: str, data: bytes) -> dict[str, Any]:
    import base64

    key = callback_key(app, "production-plan-msg.children")
    encoded = "data:text/csv;base64," + base64.b64encode(data).decode()
    return {
        "output": key,
        "outputs": [
            {"id": "production-plan-msg", "property": "children"},
            {"id": "production-plan-versions", "property": "children"},
        ],
        "inputs": [{"id": "production-plan-upload", "property": "contents", "value": encoded}],
        "state": [{"id": "production-plan-upload", "property": "filename", "value": name}],
        "changedPropIds": ["production-plan-upload.contents"],
    }


def test_import_a_plan_file_from_the_page(app: Any, seeded: Seeded) -> None:
    """A dispatcher imports a plan file as a new version (audited); a bad file is refused with its cells and
    stores nothing; an executive may not import."""
    from webapp.live.production import plan_data

    good = "日期,班次,产品,计划量\n2026-03-12,A,阳极铜,300\n2026-03-12,B,阳极铜,420\n2026-03-12,C,阳极铜,420\n".encode()
    bad = b"date,product,target\n2026-03-13,anode_cast,12O0\n"
    executive = logged_in_client(app, seeded.settings, "executive")
    assert executive.post("/_dash-update-component", json=_upload_body(app, "p.csv", good)).status_code == 403
    dispatcher = logged_in_client(app, seeded.settings, "dispatcher")
    refused = dispatcher.post("/_dash-update-component", json=_upload_body(app, "<b>p</b>.csv", bad))
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "C2: '12O0' is not a number" in text and "nothing imported" in text
    engine = make_engine(seeded.settings.db_url)
    with session_scope(engine) as session:
        before = session.scalars(select(PlanVersion)).all()
    ok = dispatcher.post("/_dash-update-component", json=_upload_body(app, "3月12日调整.csv", good))
    assert ok.status_code == 200 and "Imported as v" in ok.get_data(as_text=True)
    with session_scope(engine) as session:
        after = session.scalars(select(PlanVersion).order_by(PlanVersion.id)).all()
        audit = session.scalars(select(SecurityAudit).where(SecurityAudit.event == "plan_imported")).all()
    engine.dispose()
    assert len(after) == len(before) + 1 and after[-1].user == "test-dispatcher" and after[-1].rows == 3
    assert [(a.user, a.detail) for a in audit] == [("test-dispatcher", "3月12日调整.csv")]
    with request_as(app, seeded.settings, "/production", "executive"):
        anode = next(r for r in plan_data()["products"] if r["key"] == "anode_cast")
    assert anode["day"]["plan_full"] == pytest.approx(1140.0) and anode["shift"]["plan_full"] == pytest.approx(420.0)


def test_by_shift_adds_up_to_the_day(app: Any, seeded: Seeded) -> None:
    """The shifts of today split the day's times and count each failure once."""
    from webapp.live.production import production_data

    with request_as(app, seeded.settings, "/production", "executive"):
        data = production_data("day")
    shifts = data["shifts"]
    assert [r["shift"] for r in shifts] == ["B", "A"]  # newest first: 08:00-10:00 and 00:00-08:00
    assert sum(r["run_h"] for r in shifts) == pytest.approx(data["total"]["run_h"])
    assert sum(r["failures"] for r in shifts) == data["total"]["failures"]
    assert sum(r["short_stops"] for r in shifts) == sum(1 for d in data["downtime"] if d["short"])
