"""Reports (K5) on ten hours of the demo plant written by the backfill: the Chinese PDF's text is extractable
and searchable (日报, 乙班, the plant's names; no Kangxi look-alikes, no empty boxes), a report's figure is the
screen's for the same period, every issue is archived as a new version with its SHA-256, Excel keeps numbers
as numbers and units in the headings, the CSV has its BOM, a plant's template with Chinese sheet names and
merged cells is filled, a scheduled run missed while the service was down is issued once on its return,
and reports go out by e-mail (attached), DingTalk and WeCom (a link) through the real channel code."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from sqlalchemy import func, select

from plant.loader import load_plant
from plant.schema import Plant
from reports.content import build
from reports.issue import issue, read_file
from reports.period import PeriodError, day_period, last_complete, month_period, parse, shift_period
from settings import ROOT, Settings
from simulator.backfill import backfill
from store import figures
from store.db import make_engine, migrate, session_scope
from store.events import VIOLATION, add_event
from store.models import AlarmJournal, ReportIssue, ReportSchedule
from store.people import MUSTER
from store.reports import add_schedule
from tests.fakeclock import plant_ms

DEMO = ROOT / "plant" / "demo_smelter.yaml"
KANGXI = range(0x2F00, 0x2FE0)  # Kangxi radicals: 厂 as ⼚, 日 as ⽇ in a broken PDF
CJK_RADICALS = range(0x2E80, 0x2F00)


@dataclass
class Seeded:
    settings: Settings
    plant: Plant
    end_ms: int  # the end of the history: 2026-03-12 17:00 plant time

    @property
    def now(self) -> int:  # the next morning: the day is over
        return plant_ms(self.plant, 2026, 3, 13, 1, 0)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    tmp = tmp_path_factory.mktemp("reports")
    plant = load_plant(DEMO)
    end = plant_ms(plant, 2026, 3, 12, 17, 0)
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'r.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    backfill(plant, settings.db_url, 10 / 24, step_s=60, seed=3, end_ms=end, progress=False)
    engine = make_engine(settings.db_url)
    b = plant_ms(plant, 2026, 3, 12, 9, 0)
    with session_scope(engine) as session:
        for i, rule in enumerate(("forbidden_zone", "forbidden_zone", "lone_worker")):
            add_event(
                session,
                VIOLATION,
                rule,
                b + i * 600_000,
                b + i * 600_000 + 60_000,
                severity="high",
                badge="P0001",
                zone=plant.zones[0].id,
                message="Huang Jie in zone",
            )
        add_event(
            session,
            MUSTER,
            "ops.chen",
            b + 3_600_000,
            b + 4_200_000,
            severity="urgent",
            data={"declared_by": "ops.chen"},
        )
        for i in range(12):  # alarm activations: one chattering bad actor, two others
            aid = "FSF.T101:HH" if i < 8 else f"CNV1.P20{i}:H"
            session.add(
                AlarmJournal(
                    ts=b + i * 300_000,
                    alarm_id=aid,
                    kind="active",
                    source_type="process",
                    priority="high" if i < 8 else "medium",
                    area="smelting",
                    zone=None,
                    active=True,
                    acked=False,
                )
            )
        from store import hidden_dangers

        for i in range(2):
            hidden_dangers.report(
                session,
                title=f"Guard rail loose {i}",
                description="",
                zone=plant.zones[0].id,
                x=None,
                y=None,
                source="dispatcher",
                actor="ops.chen",
                now_ms=b + i * 60_000,
                zones=[z.id for z in plant.zones],
            )
    return Seeded(settings, plant, end)


def _pdf_text(pdf: bytes, tmp: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed: python3 run.py test installs it")
    path = tmp / "r.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout.decode()


def test_periods_are_the_plants_local_shifts_days_and_months() -> None:
    plant = load_plant(DEMO)
    p = parse(plant, "shift", "2026-03-12/B")
    assert (p.t0, p.t1) == (plant_ms(plant, 2026, 3, 12, 8, 0), plant_ms(plant, 2026, 3, 12, 16, 0))
    assert parse(plant, "day", "2026-03-12") == day_period(plant, date(2026, 3, 12))
    m = parse(plant, "month", "2026-02")
    assert (m.t0, m.t1) == (plant_ms(plant, 2026, 2, 1), plant_ms(plant, 2026, 3, 1))
    assert last_complete(plant, parse(plant, "shift", "2026-03-12/B").kind, plant_ms(plant, 2026, 3, 12, 17, 0)) == p
    for kind, key, said in (
        ("shift", "2026-03-12/Z", "unknown shift"),
        ("day", "12.3.2026", "not a day"),
        ("week", "x", "kind"),
    ):
        with pytest.raises(PeriodError, match=said):
            parse(plant, kind, key)


def test_chinese_pdf_text_is_searchable_with_the_plants_names(seeded: Seeded, tmp_path: Path) -> None:
    from reports.pdf import to_pdf

    plant = seeded.plant
    engine = make_engine(seeded.settings.db_url)
    with session_scope(engine) as session:
        report = build(session, plant, day_period(plant, date(2026, 3, 12)), "zh", named=True, now_ms=seeded.now)
    pdf = to_pdf(report)
    text = _pdf_text(pdf, tmp_path)
    assert "日报" in text and "乙班" in text and "甲班" in text
    assert plant.site.name_zh and plant.site.name_zh in text
    units = [e for e in plant.equipment if e.name_zh][:3]
    assert any(u.name_zh in text for u in units if u.name_zh)
    assert not [c for c in text if ord(c) in KANGXI or ord(c) in CJK_RADICALS], "look-alike radicals in the text"
    assert "\ufffd" not in text and "□" not in text
    # the font is embedded (a subset of Noto Sans CJK SC)
    if shutil.which("pdffonts"):
        (tmp_path / "f.pdf").write_bytes(pdf)
        fonts = subprocess.run(["pdffonts", str(tmp_path / "f.pdf")], check=True, capture_output=True, text=True).stdout
        line = next(x for x in fonts.splitlines() if "NotoSansCJK" in x)
        assert " yes yes yes " in f" {' '.join(line.split()[-5:-2])} "  # emb sub uni
    # charts are drawn, not pasted: no image in the file
    assert b"/Subtype /Image" not in pdf and b"/Subtype/Image" not in pdf


def test_english_pdf_and_a_missing_font_is_a_clear_error(
    seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reports.pdf import FontMissingError, to_pdf

    plant = seeded.plant
    with session_scope(make_engine(seeded.settings.db_url)) as session:
        report = build(session, plant, shift_period(plant, date(2026, 3, 12), "B"), "en", named=True, now_ms=seeded.now)
    text = _pdf_text(to_pdf(report), tmp_path)
    assert "Shift report" in text and "Shift B" in text and plant.site.name in text
    monkeypatch.setenv("SW_REPORT_FONT", str(tmp_path / "none.ttc"))
    with pytest.raises(FontMissingError, match="fonts-noto-cjk"):
        to_pdf(report)


def test_a_reports_figures_are_the_screens_for_the_same_period(seeded: Seeded) -> None:
    """The energy page's shift rows of a past day, the alarm KPI page's last 24 h and the production page's
    shift window, against the shift and day reports' figures of the same periods."""
    from tests.webutil import request_as
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.energy import build_view
    from webapp.live.production import production_data

    plant = seeded.plant
    day = day_period(plant, date(2026, 3, 12))
    shift = shift_period(plant, date(2026, 3, 12), "B")
    with session_scope(make_engine(seeded.settings.db_url)) as session:
        by_day = build(session, plant, day, "en", named=True, now_ms=seeded.now)
        by_shift = build(session, plant, shift, "en", named=True, now_ms=seeded.now)
    app = create_app(seeded.settings)
    from webapp.pages.alarm_kpi import kpi_data  # pages are registered by the app

    clock = {"now": day.t1}
    web.set_clock(app.server, lambda: clock["now"] / 1000)
    with request_as(app, seeded.settings, "/energy", "executive"):
        view = build_view(plant, "electricity", "day", plant_ms(plant, 2026, 3, 12, 12, 0), day.t1)
    row = next(r for r in view["shifts"] if r["start"] == shift.t0)
    assert row["value"] is not None and row["value"] > 0
    assert by_shift.values["energy.electricity"] == pytest.approx(row["value"], rel=1e-9)
    with request_as(app, seeded.settings, "/alarms/kpi", "executive"):
        kpis = kpi_data("24h", None)  # the page's last 24 h at midnight: the day
    assert by_day.values["alarms.total"] == kpis["total"] == 12
    [bad] = next(t for t in by_day.sections if t.key == "alarms").tables[2].rows[:1]
    assert bad[0] == kpis["top_bad_actors"][0]["alarm_id"] == "FSF.T101:HH" and bad[2] == 8
    clock["now"] = shift.t1 - 1  # the production page's shift window at the shift's last millisecond
    with request_as(app, seeded.settings, "/production", "executive"):
        prod = production_data("shift")
    assert by_shift.values["equipment.availability_pct"] == pytest.approx(100 * prod["total"]["availability"], abs=1e-3)
    assert by_day.values["safety.violations"] == 3 and by_day.values["safety.musters"] == 1
    hd = by_day.values  # the two reported above and those the demo's history brings
    assert hd["safety.hidden_dangers_reported"] >= 2 and hd["safety.hidden_dangers_open"] >= 2


def test_energy_cost_by_time_of_use_band_and_the_months_cost_plan_in_pdf_excel_and_csv(
    seeded: Seeded, tmp_path: Path
) -> None:
    """The day report splits the electricity cost by shift and time-of-use band, the month report by day and
    sets the cost plan against actual with its volume and price effects; the same figures as the energy page's
    (``store.figures``), in English and Chinese, in the PDF's text, the workbook and the CSV."""
    from plant.schema import CostPlan
    from reports.pdf import to_pdf
    from reports.tables import to_report_csv, to_workbook

    plant = seeded.plant
    meter = plant.energy.cost_plan[0].meter
    plan = [CostPlan(meter=meter, month="2026-03", quantity=1_000_000, price=0.6)]
    plant = plant.model_copy(update={"energy": plant.energy.model_copy(update={"cost_plan": plan})})
    day = day_period(plant, date(2026, 3, 12))
    month = month_period(plant, 2026, 3)
    with session_scope(make_engine(seeded.settings.db_url)) as session:
        reports = {
            (p.kind.value, lang): build(session, plant, p, lang, named=False, now_ms=seeded.now)
            for p in (day, month)
            for lang in ("en", "zh")
        }
        split = figures.energy_tou_split(session, plant, day.t0, day.t1, "day")
        cp = figures.cost_plan_month(session, plant, "electricity", month.t0, month.t1)

    def table(report: Any, key: str) -> Any:
        return next(tb for sec in report.sections for tb in sec.tables if tb.key == key)

    bands = list(plant.energy.tou)
    en = table(reports[("day", "en")], "tou_periods")
    assert en.title == "Electricity cost by shift and time-of-use band"
    assert en.header[1 : 1 + len(bands)] == [f"{b.name} (CNY)" for b in bands]
    assert len(en.rows) == len(plant.site.shifts)
    by_band = table(reports[("day", "en")], "tou")
    total = sum(r[-1] for r in by_band.rows)
    assert total > 0 and sum(r[-2] for r in en.rows) == pytest.approx(total, rel=1e-9)
    assert [r[-2] for r in en.rows] == pytest.approx([r["cost"] for r in split["periods"]], rel=1e-9)
    for i in range(len(bands)):  # each band's column adds up to the band's cost of the day
        assert sum(r[1 + i] for r in en.rows) == pytest.approx(by_band.rows[i][-1], rel=1e-9)
    # the consumption table's electricity cost is the same hour-by-hour pricing
    media_rows = table(reports[("day", "en")], "media").rows
    elec = next(r for r in media_rows if r[0] == "Electricity")
    assert elec[-1] == pytest.approx(total, abs=0.01)
    zh = table(reports[("day", "zh")], "tou_periods")
    assert zh.title == "分班次、分时段电费" and zh.header[1] == f"{bands[0].name_zh} (CNY)"
    # the month: split by day, and the cost plan against actual, variance = volume + price
    by_day = table(reports[("month", "en")], "tou_periods")
    assert by_day.header[0] == "Day" and by_day.rows[0][0] == "2026-03-01"
    # the days before the history are unknown (empty), not a cost of zero; the history's last day is known
    assert by_day.rows[0][1:-1] == [None] * (len(bands) + 2) and by_day.rows[0][-1] == 24
    assert by_day.rows[11][0] == "2026-03-12" and by_day.rows[11][-2] > 0
    (row,) = table(reports[("month", "en")], "cost_plan").rows
    (want,) = cp["rows"]
    assert row[1:] == pytest.approx(
        [want[k] for k in ("plan_qty", "plan_cost", "actual_qty", "actual_cost", "variance", "volume", "price")]
    )
    assert row[1] == pytest.approx(1_000_000) and row[2] == pytest.approx(600_000)
    assert row[5] == pytest.approx(row[6] + row[7], abs=1e-6) and row[5] == pytest.approx(row[4] - row[2])
    assert reports[("month", "en")].values["energy.cost_plan.variance"] == pytest.approx(row[5])
    zh_plan = table(reports[("month", "zh")], "cost_plan")
    assert zh_plan.title.startswith("成本计划与实际") and "量差" in zh_plan.header and "CNY" in zh_plan.title
    # in the files: the PDF's text (both languages), the workbook's sheet and the CSV
    text = _pdf_text(to_pdf(reports[("month", "zh")]), tmp_path)
    assert "成本计划与实际" in text and "分日、分时段电费" in text and "量差" in text and "价差" in text
    (tmp_path / "en").mkdir()
    text = _pdf_text(to_pdf(reports[("day", "en")]), tmp_path / "en")
    assert "Electricity cost by shift and time-of-use band" in text and "Peak (CNY)" in text
    book = openpyxl.load_workbook(io.BytesIO(to_workbook(reports[("month", "en")])))
    sheet = next(ws for ws in book.worksheets if ws.title.startswith("Cost plan"))
    values = [c.value for c in next(r for r in sheet.iter_rows() if r[0].value and str(r[0].value).endswith("(kWh)"))]
    assert values[5] == pytest.approx(row[5])
    csv_text = to_report_csv(reports[("month", "zh")]).decode("utf-8-sig")
    assert "成本计划与实际" in csv_text and "分日、分时段电费" in csv_text


def test_issues_are_archived_with_sha256_and_reissue_is_a_new_version(seeded: Seeded) -> None:
    plant, s = seeded.plant, seeded.settings
    engine = make_engine(s.db_url)
    p = shift_period(plant, date(2026, 3, 12), "B")
    first = issue(
        engine, plant, s.reports_path, p, "zh", ["pdf", "csv"], named=True, now_ms=seeded.now, user="ops.chen"
    )
    again = issue(
        engine, plant, s.reports_path, p, "zh", ["pdf"], named=True, now_ms=seeded.now + 60_000, user="ops.li"
    )
    assert [i.version for i in first] == [1, 1] and again[0].version == 2
    assert first[0].path != again[0].path and first[0].path.exists() and again[0].path.exists()
    with session_scope(engine) as session:
        rows = session.scalars(select(ReportIssue).where(ReportIssue.period == p.key, ReportIssue.fmt == "pdf")).all()
        assert sorted((r.version, r.user) for r in rows) == [(1, "ops.chen"), (2, "ops.li")]
        for r in rows:
            data = read_file(s.reports_path, r)
            assert hashlib.sha256(data).hexdigest() == r.sha256 and data.startswith(b"%PDF")
        assert rows[0].path.startswith("shift/2026-03-12-B/") and rows[0].t0 == p.t0
        # a changed file is refused, not served
        target = s.reports_path / rows[0].path
        target.write_bytes(target.read_bytes() + b"x")
        with pytest.raises(ValueError, match="SHA-256"):
            read_file(s.reports_path, rows[0])


def test_excel_numbers_are_numbers_with_units_in_headings_and_csv_has_a_bom(seeded: Seeded) -> None:
    import openpyxl

    from reports.tables import to_report_csv, to_workbook

    plant = seeded.plant
    with session_scope(make_engine(seeded.settings.db_url)) as session:
        report = build(session, plant, day_period(plant, date(2026, 3, 12)), "zh", named=False, now_ms=seeded.now)
    book = openpyxl.load_workbook(io.BytesIO(to_workbook(report)))
    units = next(ws for ws in book.worksheets if ws.title == "各设备可用率")
    head = [c.value for c in units[1]]
    assert "可用率 (%)" in head
    col = head.index("可用率 (%)") + 1
    values = [units.cell(row=r, column=col).value for r in range(2, units.max_row + 1)]
    assert values and all(isinstance(v, int | float) for v in values)
    assert units.cell(row=2, column=1).value in {e.name_zh for e in plant.equipment}
    raw = to_report_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [plant.site.name_zh] and ["日报", "2026-03-12"] in rows
    # no person names nor badges in an edition without names
    text = raw.decode("utf-8-sig")
    assert "P0001" not in text and "Huang Jie" not in text and "ops.chen" not in text


def test_a_plants_template_with_chinese_sheets_and_merged_cells_is_filled(seeded: Seeded, tmp_path: Path) -> None:
    import openpyxl
    from openpyxl.workbook.defined_name import DefinedName

    from reports.tables import TemplateError, fill_template

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "生产日报"
    ws.merge_cells("A1:D1")
    ws["A1"] = "{{plant}}"
    ws.merge_cells("A2:D2")
    ws["A2"] = "{{title}} {{period}}"  # not a whole-cell marker: left as written
    ws["A3"] = "报警总数"
    ws.merge_cells("B3:C3")
    ws["B3"] = "{{alarms.total}}"
    ws["A4"] = "可用率"
    ws.merge_cells("B4:C4")
    book.defined_names["sw_equipment_availability_pct"] = DefinedName(
        "sw_equipment_availability_pct", attr_text="'生产日报'!$B$4"
    )
    other = book.create_sheet("能源（电）")
    other["A1"] = "{{energy.electricity}}"
    other["A3"] = "{{table:alarms.priority}}"
    path = tmp_path / "日报模板.xlsx"
    book.save(path)

    plant = seeded.plant
    with session_scope(make_engine(seeded.settings.db_url)) as session:
        report = build(session, plant, shift_period(plant, date(2026, 3, 12), "B"), "zh", named=True, now_ms=seeded.now)
    got = openpyxl.load_workbook(io.BytesIO(fill_template(report, path)))
    ws2 = got["生产日报"]
    assert ws2["A1"].value == plant.site.name_zh
    assert ws2["B3"].value == report.values["alarms.total"]
    assert ws2["B4"].value == report.values["equipment.availability_pct"]
    assert "A1:D1" in {str(r) for r in ws2.merged_cells.ranges}
    e = got["能源（电）"]
    assert isinstance(e["A1"].value, float) and e["A1"].value == pytest.approx(report.values["energy.electricity"])
    assert e["A3"].value == "优先级"
    bad = openpyxl.Workbook()
    bad.active.title = "表一"
    bad.active["C7"] = "{{nonsense}}"
    bad.save(tmp_path / "bad.xlsx")
    with pytest.raises(TemplateError, match=r"sheet '表一' cell C7: unknown marker"):
        fill_template(report, tmp_path / "bad.xlsx")


def test_a_run_missed_while_the_service_was_down_is_issued_once_on_return(seeded: Seeded) -> None:
    from services.reports import ReportService

    plant, s = seeded.plant, seeded.settings
    engine = make_engine(s.db_url)
    start = plant_ms(plant, 2026, 3, 12, 17, 30)
    with session_scope(engine) as session:
        sid = add_schedule(
            session,
            kind="shift",
            lang="zh",
            formats=["pdf"],
            by="admin",
            now_ms=start,
            at_minute=20,
            last_end=plant_ms(plant, 2026, 3, 12, 16, 0),
        ).id

    def count() -> int:
        with session_scope(engine) as session:
            return int(
                session.scalar(select(func.count()).select_from(ReportIssue).where(ReportIssue.schedule_id == sid)) or 0
            )

    service = ReportService(plant, engine, s.reports_path)
    assert service.interval_s <= 300  # a returning service steps at once, then at this interval
    service.step(start)  # running: shift C (16:00-24:00) is not over
    assert count() == 0
    # the service is down from 18:00 to 00:40: shift C's report was due at 00:20
    back = plant_ms(plant, 2026, 3, 13, 0, 40)
    ReportService(plant, engine, s.reports_path).step(back)
    assert count() == 1
    returned = ReportService(plant, engine, s.reports_path)
    returned.step(back + 60_000)
    returned.step(back + 120_000)
    assert count() == 1
    with session_scope(engine) as session:
        row = session.scalars(select(ReportIssue).where(ReportIssue.schedule_id == sid)).one()
        assert row.period == "2026-03-12/C" and row.fmt == "pdf" and row.user is None
        assert session.get(ReportSchedule, sid).last_end == plant_ms(plant, 2026, 3, 13, 0, 0)  # type: ignore[union-attr]


def test_reports_go_out_attached_to_mail_and_as_a_link_to_dingtalk_and_wecom(seeded: Seeded, tmp_path: Path) -> None:
    from services.reports import ReportService
    from tests.notifyutil import HttpReceiver, SmtpServer

    plant, s = seeded.plant, seeded.settings
    engine = make_engine(s.db_url)
    with SmtpServer() as smtp, HttpReceiver() as rx:
        oncall = {
            "app_url": "https://sw.example",
            "channels": [
                {"id": "mail", "type": "email", "host": "127.0.0.1", "port": smtp.port, "sender": "sw@localhost"},
                {"id": "ding", "type": "dingtalk", "url": rx.url("/robot/send?access_token=t"), "format": "markdown"},
                {"id": "wx", "type": "wecom", "url": rx.url("/cgi-bin/webhook/send?key=k"), "format": "markdown"},
            ],
            "people": [
                {
                    "id": "li.wei",
                    "name": "李伟",
                    "lang": "zh",
                    "email": "li.wei@localhost",
                    "channels": ["mail", "ding", "wx"],
                }
            ],
            "rota": [{"id": "all", "chain": ["li.wei"]}],
        }
        path = tmp_path / "oncall.yaml"
        path.write_text(yaml.safe_dump(oncall, allow_unicode=True), encoding="utf-8")
        with session_scope(engine) as session:
            add_schedule(
                session,
                kind="day",
                lang="zh",
                formats=["pdf", "xlsx"],
                by="admin",
                now_ms=seeded.now,
                at_minute=30,
                recipients=["li.wei"],
                last_end=plant_ms(plant, 2026, 3, 12, 0, 0),
            )
        service = ReportService(plant, engine, s.reports_path, oncall_path=path)
        service.step(plant_ms(plant, 2026, 3, 13, 0, 31))
        assert {(p, c, st) for p, c, st in service.deliveries} == {
            ("li.wei", "mail", "sent"),
            ("li.wei", "ding", "sent"),
            ("li.wei", "wx", "sent"),
        }
    [mail] = smtp.mails
    msg = mail.message()
    assert "日报" in str(msg["Subject"]) and plant.site.name_zh in str(msg["Subject"])
    [att] = list(msg.iter_attachments())
    assert att.get_content_type() == "application/pdf" and att.get_content().startswith(b"%PDF")
    assert sorted(r.path.split("?")[0] for r in rx.requests) == ["/cgi-bin/webhook/send", "/robot/send"]
    for req in rx.requests:  # DingTalk and WeCom: a markdown message with the link to the PDF
        body: dict[str, Any] = req.json()
        md = body["markdown"]["content" if req.path.startswith("/cgi-bin/") else "text"]  # WeCom's key: content
        assert body["msgtype"] == "markdown" and "https://sw.example/reports/file/" in md


def _text(resp: Any) -> str:
    """A Dash answer's JSON as text (Dash writes "/" as \\u002f)."""
    return json.dumps(resp.get_json(), ensure_ascii=False)


def _make_body(app: Any, kind: str, period: str, lang: str, formats: list[str]) -> dict[str, Any]:
    from tests.webutil import callback_body, callback_key

    key = callback_key(app, "reports-make-msg.children")
    return callback_body(
        key,
        [{"id": "reports-make", "property": "n_clicks", "value": 1}],
        [
            {"id": "reports-kind", "property": "value", "value": kind},
            {"id": "reports-period", "property": "value", "value": period},
            {"id": "reports-lang", "property": "value", "value": lang},
            {"id": "reports-formats", "property": "value", "value": formats},
        ],
        ["reports-make.n_clicks"],
    )


def test_the_reports_page_makes_lists_and_serves_reports_per_role_audited(seeded: Seeded) -> None:
    from auth.auditlog import REPORT_DOWNLOADED, REPORT_ISSUED
    from store.models import SecurityAudit
    from tests.webutil import logged_in_client, router_body
    from webapp import context as web
    from webapp.app import create_app

    app = create_app(seeded.settings)
    web.set_clock(app.server, lambda: seeded.now / 1000)
    dispatcher = logged_in_client(app, seeded.settings, "dispatcher")
    executive = logged_in_client(app, seeded.settings, "executive")
    oncall = logged_in_client(app, seeded.settings, "on-call")
    assert dispatcher.get("/_dash-dependencies").status_code == 200  # Dash set up: the callbacks are in its map
    # a period not over yet, a made-up period and hostile text are refused with what is wrong
    for period, said in (("2026-03-13", "not over"), ("<script>alert(1)</script>", "not a day")):
        resp = dispatcher.post("/_dash-update-component", json=_make_body(app, "day", period, "zh", ["pdf"]))
        assert resp.status_code == 200 and said in _text(resp)
    ok = dispatcher.post("/_dash-update-component", json=_make_body(app, "day", "2026-03-12", "zh", ["pdf", "xlsx"]))
    assert ok.status_code == 200 and "/reports/file/" in _text(ok)
    exe = executive.post("/_dash-update-component", json=_make_body(app, "day", "2026-03-12", "zh", ["csv"]))
    assert exe.status_code == 200 and "/reports/file/" in _text(exe)
    assert (
        oncall.post("/_dash-update-component", json=_make_body(app, "day", "2026-03-12", "zh", ["pdf"])).status_code
        == 403
    )
    engine = make_engine(seeded.settings.db_url)
    with session_scope(engine) as session:
        made = session.scalars(
            select(ReportIssue).where(ReportIssue.period == "2026-03-12", ReportIssue.user.is_not(None))
        ).all()
        named = {r.fmt: r.id for r in made if r.named}
        bare = {r.fmt: r.id for r in made if not r.named}
        assert set(named) == {"pdf", "xlsx"} and set(bare) == {"csv"}
        assert {r.user for r in made} == {"test-dispatcher", "test-executive"}
    # the file: PDF for the dispatcher; the edition with names refused to the executive, its own served
    got = dispatcher.get(f"/reports/file/{named['pdf']}")
    assert (
        got.status_code == 200 and got.data.startswith(b"%PDF") and got.headers["X-Content-Type-Options"] == "nosniff"
    )
    assert "attachment" in got.headers["Content-Disposition"] and ".pdf" in got.headers["Content-Disposition"]
    assert executive.get(f"/reports/file/{named['pdf']}").status_code == 403
    csv_resp = executive.get(f"/reports/file/{bare['csv']}")
    assert csv_resp.status_code == 200 and csv_resp.data.startswith(b"\xef\xbb\xbf")
    assert b"P0001" not in csv_resp.data and "黄杰".encode() not in csv_resp.data
    assert oncall.get(f"/reports/file/{bare['csv']}").status_code == 403
    assert dispatcher.get("/reports/file/999999").status_code == 404
    # the list: the executive sees only editions without names and not who made them
    page = _text(executive.post("/_dash-update-component", json=router_body("/reports")))
    assert f"/reports/file/{bare['csv']}" in page and f"/reports/file/{named['pdf']}" not in page
    assert "test-dispatcher" not in page
    page = _text(dispatcher.post("/_dash-update-component", json=router_body("/reports")))
    assert f"/reports/file/{named['pdf']}" in page and "test-dispatcher" in page
    with session_scope(engine) as session:
        events = [(a.event, a.user) for a in session.scalars(select(SecurityAudit).order_by(SecurityAudit.id))]
    assert events.count((REPORT_ISSUED, "test-dispatcher")) == 1 and (REPORT_ISSUED, "test-executive") in events
    assert (REPORT_DOWNLOADED, "test-dispatcher") in events and (REPORT_DOWNLOADED, "test-executive") in events


def test_the_demo_schedules_report_its_backfilled_history_at_start(tmp_path: Path) -> None:
    """The demo's schedules (plantctl) start at the history's start: the services' first step issues the
    reports of the backfilled shifts and days, once."""
    import plantctl
    from services.reports import make_service

    plant = load_plant(DEMO)
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'd.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    now = plant_ms(plant, 2026, 3, 12, 9, 0)
    plantctl._seed_report_schedules(settings, plant_ms(plant, 2026, 3, 11, 20, 0))
    plantctl._seed_report_schedules(settings, now)  # a second start adds none
    engine = make_engine(settings.db_url)
    service = make_service(plant, engine, settings)
    service.step(now)
    service.step(now + 60_000)
    with session_scope(engine) as session:
        got = sorted((r.kind, r.period, r.lang, r.fmt) for r in session.scalars(select(ReportIssue)))
        assert len(session.scalars(select(ReportSchedule)).all()) == 4
    assert got == [
        ("day", "2026-03-11", "en", "pdf"),
        ("day", "2026-03-11", "zh", "pdf"),
        ("day", "2026-03-11", "zh", "xlsx"),
        ("shift", "2026-03-11/C", "zh", "pdf"),
        ("shift", "2026-03-12/A", "zh", "pdf"),
    ]
