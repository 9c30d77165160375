"""Report schedules (K5): the /reports page's schedule editor (administrators set up and change schedules,
every change audited with what changed, bad input refused in the reader's language, hostile text kept as text,
others refused), and the real reports service, run by the services' runner on a simulated plant clock,
stopped across a scheduled time and started again: the missed report is issued once at its return, never twice,
also after a second restart."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from plant.loader import load_plant
from plant.schema import Plant
from reports.schedule import ScheduleError, check, when
from settings import ROOT, Settings
from store.db import make_engine, migrate, session_scope
from store.models import ReportIssue, ReportSchedule, SecurityAudit
from store.reports import add_schedule
from tests.fakeclock import plant_ms

DEMO = ROOT / "plant" / "demo_smelter.yaml"


@dataclass
class Store:
    settings: Settings
    plant: Plant


@pytest.fixture
def store(tmp_path: Path) -> Store:
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 's.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    return Store(settings, load_plant(DEMO))


def test_check_turns_the_form_into_a_schedule_or_names_what_is_wrong() -> None:
    from notify.config import load_oncall

    oncall = load_oncall(ROOT / "plant" / "oncall_demo.yaml")
    base: dict[str, Any] = {
        "kind": "day",
        "time_text": "06:30",
        "month_day": "1",
        "lang": "zh",
        "formats": ["pdf", "xlsx"],
        "named": True,
        "recipients": "wang.lei, ZHAO.MIN@localhost；wang.lei",
        "enabled": True,
        "oncall": oncall,
        "template": False,
    }
    got = check(**base)
    assert (got.kind, got.at_minute, got.formats, got.recipients) == (
        "day",
        390,
        ("pdf", "xlsx"),
        ("wang.lei", "zhao.min"),
    )
    month = check(**{**base, "kind": "month", "time_text": "1:05", "month_day": " 3 "})
    assert month.at_minute == 2 * 1440 + 65 and when("month", month.at_minute) == ("01:05", 3)
    assert check(**{**base, "kind": "shift", "time_text": "00:15"}).at_minute == 15
    for change, key in (
        ({"time_text": "25:00"}, "time"),
        ({"time_text": "06:60"}, "time"),
        ({"time_text": "<script>alert(1)</script>"}, "time"),
        ({"kind": "month", "month_day": "9"}, "month_day"),
        ({"kind": "month", "month_day": "first"}, "month_day"),
        ({"kind": "week"}, "kind"),
        ({"lang": "fr"}, "lang"),
        ({"formats": []}, "no_format"),
        ({"formats": ["pdf", "template"]}, "format"),  # no template configured
        ({"recipients": "wang.lei, nobody@plant.example"}, "recipient_mail"),
        ({"recipients": "javascript:alert(1)"}, "recipient"),
        ({"recipients": "x" * 401}, "recipients_long"),
        ({"oncall": None}, "no_oncall"),
    ):
        with pytest.raises(ScheduleError) as refused:
            check(**{**base, **change})
        assert refused.value.key == key, change
    assert check(**{**base, "oncall": None, "recipients": " "}).recipients == ()


def _text(resp: Any) -> str:
    return json.dumps(resp.get_json(), ensure_ascii=False)


def _save_body(app: Any, pick: str, **form: Any) -> dict[str, Any]:
    from tests.webutil import callback_body, callback_key

    values = {
        "kind": "day",
        "time": "06:30",
        "day": "1",
        "lang": "zh",
        "formats": ["pdf"],
        "named": True,
        "recipients": "",
        "enabled": True,
        **form,
    }
    key = callback_key(app, "reports-sched-msg.children")
    return callback_body(
        key,
        [{"id": "reports-sched-save", "property": "n_clicks", "value": 1}],
        [{"id": "reports-sched-pick", "property": "value", "value": pick}]
        + [{"id": f"reports-sched-{k}", "property": "value", "value": v} for k, v in values.items()],
        ["reports-sched-save.n_clicks"],
    )


def _load_body(app: Any, pick: str) -> dict[str, Any]:
    from tests.webutil import callback_body, callback_key

    key = callback_key(app, "reports-sched-recipients.value")
    return callback_body(
        key, [{"id": "reports-sched-pick", "property": "value", "value": pick}], [], ["reports-sched-pick.value"]
    )


def test_administrators_set_up_and_change_schedules_audited_others_are_refused(store: Store) -> None:
    from auth.auditlog import REPORT_SCHEDULE_ADDED, REPORT_SCHEDULE_CHANGED
    from tests.webutil import logged_in_client, router_body
    from webapp import context as web
    from webapp.app import create_app

    plant, settings = store.plant, store.settings
    now = plant_ms(plant, 2026, 3, 13, 9, 0)
    app = create_app(settings)
    web.set_clock(app.server, lambda: now / 1000)
    admin = logged_in_client(app, settings, "admin")
    dispatcher = logged_in_client(app, settings, "dispatcher")
    executive = logged_in_client(app, settings, "executive")
    assert admin.get("/_dash-dependencies").status_code == 200
    # the editor is on the administrator's page only; the others see the list
    assert "reports-sched-save" in _text(admin.post("/_dash-update-component", json=router_body("/reports")))
    for client in (dispatcher, executive):
        page = _text(client.post("/_dash-update-component", json=router_body("/reports")))
        assert "reports-schedules" in page and "reports-sched-save" not in page
        assert client.post("/_dash-update-component", json=_save_body(app, "new")).status_code == 403
        assert client.post("/_dash-update-component", json=_load_body(app, "new")).status_code == 403
    # bad input: refused, in the reader's language, the typed text shown as text
    for form, said in (
        ({"time": "25:00"}, 'Not a time of day: \\"25:00\\"'),
        ({"recipients": "wang.lei, nobody@plant.example"}, "nobody@plant.example"),
        ({"kind": "month", "day": "12"}, "from 1 to 7"),
        ({"formats": []}, "at least one format"),
    ):
        got = _text(admin.post("/_dash-update-component", json=_save_body(app, "new", **form)))
        assert said in got and "text-danger" in got, (form, got)
    hostile = "<script>alert(1)</script>"
    got = admin.post("/_dash-update-component", json=_save_body(app, "new", recipients=hostile))
    assert hostile in _text(got)  # a string in a component's children: React renders it as text
    admin.set_cookie("sw_lang", "zh")
    got = _text(admin.post("/_dash-update-component", json=_save_body(app, "new", time="25:00")))
    assert "不是有效的时刻" in got
    admin.set_cookie("sw_lang", "en")
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ReportSchedule)) == 0
    # set up: a monthly report on the 2nd at 07:00 for two people of the on-call file
    made = admin.post(
        "/_dash-update-component",
        json=_save_body(
            app,
            "new",
            kind="month",
            time="07:00",
            day="2",
            formats=["pdf", "xlsx"],
            recipients="wang.lei, j.miller@localhost",
        ),
    )
    assert made.status_code == 200 and "set up" in _text(made)
    with session_scope(engine) as session:
        [row] = session.scalars(select(ReportSchedule)).all()
        assert (row.kind, row.at_minute, row.formats, row.recipients, row.enabled, row.created_by) == (
            "month",
            1440 + 420,
            "pdf,xlsx",
            "wang.lei,j.miller",
            True,
            "test-admin",
        )
        sid = row.id
        row.last_end = plant_ms(plant, 2026, 1, 1)  # the service issued up to December, then it was off
    answer = made.get_json()["response"]
    assert answer["reports-sched-pick"]["value"] == str(sid)
    assert "monthly on day 2 at 07:00" in json.dumps(answer["reports-schedules"])
    # the editor filled from it
    loaded = admin.post("/_dash-update-component", json=_load_body(app, str(sid))).get_json()["response"]
    assert loaded["reports-sched-time"]["value"] == "07:00" and loaded["reports-sched-day"]["value"] == "2"
    assert loaded["reports-sched-recipients"]["value"] == "wang.lei, j.miller"
    # unchanged: nothing written; changed (off, English, another time): what changed audited
    same = admin.post(
        "/_dash-update-component",
        json=_save_body(
            app, str(sid), kind="month", time="07:00", day="2", formats=["pdf", "xlsx"], recipients="wang.lei, j.miller"
        ),
    )
    assert "nothing changed" in _text(same)
    off = admin.post(
        "/_dash-update-component",
        json=_save_body(
            app,
            str(sid),
            kind="month",
            time="07:30",
            day="2",
            lang="en",
            formats=["pdf", "xlsx"],
            recipients="wang.lei, j.miller",
            enabled=False,
        ),
    )
    assert "saved" in _text(off)
    with session_scope(engine) as session:
        row2 = session.get(ReportSchedule, sid)
        assert row2 is not None and (row2.enabled, row2.lang, row2.at_minute) == (False, "en", 1440 + 450)
        assert row2.last_end == plant_ms(plant, 2026, 1, 1)  # switched off: it keeps its place
    # switched on again: it starts with the next period (not the months it was off)
    admin.post(
        "/_dash-update-component",
        json=_save_body(
            app,
            str(sid),
            kind="month",
            time="07:30",
            day="2",
            lang="en",
            formats=["pdf", "xlsx"],
            recipients="wang.lei, j.miller",
            enabled=True,
        ),
    )
    with session_scope(engine) as session:
        row3 = session.get(ReportSchedule, sid)
        assert row3 is not None and row3.enabled and row3.last_end is None
        audits = [
            (a.event, a.user, a.target, a.data or {})
            for a in session.scalars(select(SecurityAudit).where(SecurityAudit.event.like("report_schedule%")))
        ]
    assert [(e, u, tg) for e, u, tg, _ in audits] == [
        (REPORT_SCHEDULE_ADDED, "test-admin", f"report_schedule:{sid}"),
        (REPORT_SCHEDULE_CHANGED, "test-admin", f"report_schedule:{sid}"),
        (REPORT_SCHEDULE_CHANGED, "test-admin", f"report_schedule:{sid}"),
    ]
    assert audits[0][3]["recipients"] == ["wang.lei", "j.miller"]
    assert audits[1][3] == {
        "at_minute": {"before": 1860, "after": 1890},
        "lang": {"before": "zh", "after": "en"},
        "enabled": {"before": True, "after": False},
    }
    assert audits[2][3] == {"enabled": {"before": False, "after": True}}
    # the reports service then starts it with the next month due (March's, on 2 April), not January's and February's
    from services.reports import ReportService

    ReportService(plant, engine, settings.reports_path).step(now)
    with session_scope(engine) as session:
        assert session.get(ReportSchedule, sid).last_end == plant_ms(plant, 2026, 3, 1)  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(ReportIssue)) == 0
    # a schedule that does not exist
    assert "no longer exists" in _text(admin.post("/_dash-update-component", json=_save_body(app, "999")))


class SimClock:
    """The plant's clock for the services: set by the test, read by the runner at every step."""

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.lock = threading.Lock()

    def __call__(self) -> int:
        with self.lock:
            return self.ms

    def set(self, ms: int) -> None:
        with self.lock:
            self.ms = ms


def _wait(what: str, cond: Any, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.02)


def test_the_reports_service_stopped_across_a_scheduled_time_issues_the_report_once_on_return(store: Store) -> None:
    """The reports service as ``python -m services`` builds and runs it (its factory, the threaded runner),
    on a simulated plant clock. Its steps come every 50 ms of real time instead of every minute, so that a few
    seconds hold many steps: each run is watched for many steps."""
    from services.__main__ import FACTORIES
    from services.runner import Runner

    plant, settings = store.plant, store.settings
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:  # a new schedule: shift reports 20 minutes after each shift
        sid = add_schedule(session, kind="shift", lang="zh", formats=["pdf"], by="admin", now_ms=0, at_minute=20).id

    def rows() -> list[ReportIssue]:
        with session_scope(engine) as session:
            got = list(session.scalars(select(ReportIssue).where(ReportIssue.schedule_id == sid)))
            session.expunge_all()
            return got

    def run(clock: SimClock, steps: int, until: Any = None, then: Any = None) -> Runner:
        service = FACTORIES["reports"](plant, engine, settings)
        service.interval_s = 0.05
        runner = Runner([service], clock=clock)
        with runner:
            if until is not None:
                _wait("the report", until)
            if then is not None:
                then()
            base = runner.steps["reports"]
            _wait(f"{steps} steps", lambda: runner.steps["reports"] >= base + steps)
        assert runner.failures["reports"] == 0
        return runner

    clock = SimClock(plant_ms(plant, 2026, 3, 12, 17, 30))
    run(clock, 10)  # running during shift C (16:00-24:00): its report is not due
    assert rows() == []
    with session_scope(engine) as session:
        assert session.get(ReportSchedule, sid).last_end == plant_ms(plant, 2026, 3, 12, 16, 0)  # type: ignore[union-attr]
    # stopped at 17:30; shift C's report was due at 00:20; started again at 00:40
    back = plant_ms(plant, 2026, 3, 13, 0, 40)
    clock.set(back)
    run(clock, 20, until=lambda: len(rows()) >= 1)
    [got] = rows()
    assert got.period == "2026-03-12/C" and got.fmt == "pdf" and got.lang == "zh" and got.user is None
    assert back <= got.ts <= back + 5 * 60_000  # within 5 minutes of its return
    # a second restart: still that one report
    clock.set(back + 5 * 60_000)
    run(clock, 20)
    assert [r.id for r in rows()] == [got.id]
    # running on: shift A (00:00-08:00) is issued once at 08:20, while it runs
    clock.set(plant_ms(plant, 2026, 3, 13, 8, 19))
    run(clock, 20, until=None, then=lambda: clock.set(plant_ms(plant, 2026, 3, 13, 8, 21)))
    assert sorted(r.period for r in rows()) == ["2026-03-12/C", "2026-03-13/A"]
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(ReportIssue)) == 2
        assert session.get(ReportSchedule, sid).last_end == plant_ms(plant, 2026, 3, 13, 8, 0)  # type: ignore[union-attr]
