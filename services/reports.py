"""Scheduled reports: after each shift, daily, monthly, each at its minutes after the period's end.

Every step (once a minute, and at once when the service starts) looks at each enabled schedule in the store:
the period after its ``last_end`` is due when its end plus the schedule's delay has passed. A due period is
issued (each format archived by ``reports.issue``) and ``last_end`` moves on to its end. So a run missed while
the service was down is issued on the service's first step after its return (well within 5 minutes), and only
once: before issuing, the archive is asked whether this schedule already issued this period in that format
(a crash between the archive's commit and the schedule's is not issued twice).

Issued reports go to the schedule's recipients (people of the on-call file) over their channels: e-mail with
the file attached, a link in DingTalk, WeCom and webhook messages (``notify.channels.send_report``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from i18n import label, t
from notify.channels import ReportFile, send_report
from notify.config import OncallConfig, OncallFileError, load_oncall
from plant.schema import Plant
from reports.content import period_label
from reports.issue import MIME, Issued, issue
from reports.period import Kind, Period, containing, following, last_complete
from store.db import session_scope
from store.models import ReportIssue, ReportSchedule
from store.reports import schedules

logger = logging.getLogger(__name__)

MAX_CATCH_UP = 93  # periods one schedule issues in one step (a month of shifts); the rest in the next steps


def due_periods(plant: Plant, s: ReportSchedule, now_ms: int, limit: int = MAX_CATCH_UP) -> list[Period]:
    """The periods of schedule ``s`` due at ``now_ms`` and not yet issued by it, oldest first."""
    kind = Kind(s.kind)
    delay = int(s.at_minute) * 60_000
    if s.last_end is None:
        return []
    out: list[Period] = []
    p = containing(plant, kind, int(s.last_end))
    while p.t1 + delay <= now_ms and len(out) < limit:
        out.append(p)
        p = following(plant, p)
    return out


def first_last_end(plant: Plant, kind: str, at_minute: int, now_ms: int) -> int:
    """A new schedule's ``last_end``: the end of the newest period already due, so it starts with the next."""
    return last_complete(plant, Kind(kind), now_ms - at_minute * 60_000).t1


class ReportService:
    name = "reports"
    interval_s = 60.0

    def __init__(
        self,
        plant: Plant,
        engine: Engine,
        reports_dir: Path,
        *,
        template: Path | None = None,
        oncall_path: Path | None = None,
        app_url: str | None = None,
    ) -> None:
        self.plant = plant
        self.engine = engine
        self.reports_dir = reports_dir
        self.template = template
        self.oncall_path = oncall_path
        self.app_url = app_url
        self.issued: list[Issued] = []  # this process's issues, newest last (tests, logs)
        self.deliveries: list[tuple[str, str, str]] = []  # (person, channel, status)

    def step(self, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            todo = [(s.id, s.kind) for s in schedules(session, enabled_only=True)]
        for sid, _kind in todo:
            self._run(sid, now_ms)

    def _run(self, sid: int, now_ms: int) -> None:
        with session_scope(self.engine) as session:
            s = session.get(ReportSchedule, sid)
            if s is None or not s.enabled:
                return
            if s.last_end is None:
                s.last_end = first_last_end(self.plant, s.kind, int(s.at_minute), now_ms)
                return
            due = due_periods(self.plant, s, now_ms)
            kind, lang, named = s.kind, s.lang, bool(s.named)
            formats = [f for f in s.formats.split(",") if f and (f != "template" or self.template is not None)]
            recipients = [r for r in (s.recipients or "").split(",") if r]
        for p in due:
            with session_scope(self.engine) as session:
                done = set(
                    session.scalars(
                        select(ReportIssue.fmt).where(ReportIssue.schedule_id == sid, ReportIssue.period == p.key)
                    )
                )
            missing = [f for f in formats if f not in done]
            got: list[Issued] = []
            if missing:
                got = issue(
                    self.engine,
                    self.plant,
                    self.reports_dir,
                    p,
                    lang,
                    missing,
                    named=named,
                    now_ms=now_ms,
                    schedule_id=sid,
                    template=self.template,
                )
                self.issued.extend(got)
            with session_scope(self.engine) as session:
                s2 = session.get(ReportSchedule, sid)
                # changed while this period was issued (switched off, on again or to another kind: its
                # last_end was set afresh): its new settings apply from the next step, not the rest of this list
                changed = s2 is None or not s2.enabled or s2.kind != kind or s2.last_end is None
                if s2 is not None and not changed and int(s2.last_end or 0) < p.t1:
                    s2.last_end = p.t1
            if got and recipients:
                self.deliver(got, p, lang, recipients, now_ms)
            if changed:
                break

    # -- delivery ---------------------------------------------------------------------------------------------
    def _oncall(self) -> OncallConfig | None:
        if self.oncall_path is None:
            return None
        try:
            return load_oncall(self.oncall_path)
        except OncallFileError as exc:
            logger.error("reports are not sent until the on-call file is fixed: %s", exc)
            return None

    def deliver(self, got: list[Issued], p: Period, lang: str, recipients: list[str], now_ms: int) -> None:
        config = self._oncall()
        if config is None:
            return
        people = {x.id: x for x in config.people}
        channels = {c.id: c for c in config.channels if c.enabled}
        base = (self.app_url or config.app_url or "").rstrip("/")
        first = got[0]
        plant_name = label(self.plant.site.name, self.plant.site.name_zh, lang)
        title = t(f"report.title.{first.kind}", lang)
        subject = f"{plant_name} · {title} · {period_label(self.plant, p, lang)}"
        for pid in recipients:
            person = people.get(pid)
            if person is None:
                logger.warning("report recipient %s is not in the on-call file", pid)
                continue
            for cid in person.channels:
                channel = channels.get(cid)
                if channel is None:
                    continue
                pick = next((g for g in got if g.fmt == "pdf"), first)
                link = f"{base}/reports/file/{pick.id}" if base else None
                text = t("report.message", lang, title=title, period=period_label(self.plant, p, lang), v=pick.version)
                rf = ReportFile(subject, text, pick.path.name, pick.path.read_bytes(), MIME[pick.fmt], link, lang)
                d = send_report(channel, rf, person, retry=config.retry)
                self.deliveries.append((pid, cid, d.status))


def make_service(plant: Plant, engine: Engine, settings: Any) -> ReportService:
    """Factory for ``python -m services`` (``FACTORIES["reports"]``)."""
    return ReportService(
        plant,
        engine,
        Path(settings.reports_path),
        template=settings.report_template,
        oncall_path=Path(settings.oncall_file),
    )
