"""``/reports``: the report archive (list, filter, download) and a report made on demand for a chosen past
period (shift, day, month) in English or Chinese, as PDF, Excel, CSV or the plant's template.

Who may: ``Perm.REPORTS`` (executives, dispatchers, administrators). Those without ``Perm.NAMES``
(executives) make and see only editions without person names, and the list does not show who made a report.
Making a report is audited (``report_issued``), as is each download (``webapp.routes.reports``).

The schedules (after each shift, daily at a local time, monthly on a day at a time) are listed for every
reader; those who hold ``Perm.REPORT_SCHEDULES`` (administrators) set them up and change them in the editor
below the list: kind, time, language, formats, names, recipients (people of the on-call file by id or e-mail
address), on or off. What was typed is checked by ``reports.schedule.check`` (refusals in the reader's
language) and saved with its audit row by ``webapp.commands.report_schedule`` (``report_schedule_added``,
``report_schedule_changed`` with each field before and after).
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from auth.auditlog import REPORT_ISSUED
from auth.policy import Perm
from engine.clock import DATE_MINUTE, format_local
from i18n import t
from notify.config import OncallConfig, OncallFileError, load_oncall
from reports.content import period_label
from reports.issue import issue
from reports.period import Kind, PeriodError, check_past, last_complete, parse
from reports.schedule import MONTH_DAYS, ScheduleError, check, when
from store.db import session_scope
from store.models import ReportIssue, ReportSchedule
from store.reports import FORMATS, issues, schedules
from webapp import commands
from webapp import context as web
from webapp.audit import audit
from webapp.gate import current_user

logger = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/reports", name="nav.reports", order=40, title=web.page_title("nav.reports"), nav="more"
)

LIMIT = 200
ANY = "any"  # the filters' "any kind", "any language"
WIDE = "d-none d-lg-table-cell"  # columns a phone leaves out (the period cell then names kind and language)


class ids:  # noqa: N801 - the page's component ids, defined once
    KIND = "reports-kind"
    PERIOD = "reports-period"
    LANG = "reports-lang"
    FORMATS = "reports-formats"
    MAKE = "reports-make"
    MSG = "reports-make-msg"  # the action's answer (its line in auth.policy.ACTION_OUTPUTS)
    F_KIND = "reports-filter-kind"
    F_LANG = "reports-filter-lang"
    F_PERIOD = "reports-filter-period"
    LIST = "reports-list"
    SCHEDULES = "reports-schedules"
    # the schedule editor (Perm.REPORT_SCHEDULES)
    S_PICK = "reports-sched-pick"
    S_KIND = "reports-sched-kind"
    S_TIME = "reports-sched-time"
    S_DAY = "reports-sched-day"
    S_HINT = "reports-sched-hint"
    S_LANG = "reports-sched-lang"
    S_FORMATS = "reports-sched-formats"
    S_NAMED = "reports-sched-named"
    S_RECIPIENTS = "reports-sched-recipients"  # its line in auth.policy.ACTION_OUTPUTS (filled from the store)
    S_ENABLED = "reports-sched-enabled"
    S_SAVE = "reports-sched-save"
    S_MSG = "reports-sched-msg"  # the action's answer (its line in auth.policy.ACTION_OUTPUTS)


NEW = "new"  # the editor's "new schedule"
DEFAULT_TIME = "00:30"  # a new schedule's: the daily report half an hour after midnight


def _named() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.NAMES)


def _may_schedule() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.REPORT_SCHEDULES)


def _oncall() -> OncallConfig | None:
    try:
        return load_oncall(web.settings().oncall_file)
    except OncallFileError as exc:
        logger.warning("report recipients cannot be checked: %s", exc)
        return None


def _formats() -> list[str]:
    return [f for f in FORMATS if f != "template" or web.settings().report_template is not None]


def _default_period(kind: str) -> str:
    return last_complete(web.plant(), Kind(kind), web.now_ms()).key


def _kind_options(lang: str, any_: bool = False) -> list[dict[str, str]]:
    out = [{"label": t("reports.any", lang), "value": ANY}] if any_ else []
    return out + [{"label": t(f"report.title.{k.value}", lang), "value": k.value} for k in Kind]


def _lang_options(lang: str, any_: bool = False) -> list[dict[str, str]]:
    out = [{"label": t("reports.any", lang), "value": ANY}] if any_ else []
    return [
        *out,
        {"label": t("reports.lang.en", lang), "value": "en"},
        {"label": t("reports.lang.zh", lang), "value": "zh"},
    ]


def _field(label_text: str, control: Any, cid: str, lg: int = 2) -> dbc.Col:
    return dbc.Col([dbc.Label(label_text, html_for=cid, className="mb-1 sw-muted"), control], xs=12, sm=6, lg=lg)


def _lang_field(lang: str, field_id: str, value: str) -> dbc.Col:
    """The report language chooser (the form's and the schedule editor's)."""
    return _field(
        t("reports.language", lang), dbc.Select(id=field_id, options=_lang_options(lang), value=value), field_id
    )


def _formats_field(lang: str, field_id: str) -> dbc.Col:
    """The report formats checklist, PDF ticked (the form's and the schedule editor's)."""
    options = [{"label": t(f"reports.fmt.{f}", lang), "value": f} for f in _formats()]
    return _field(
        t("reports.formats", lang),
        dbc.Checklist(id=field_id, options=options, value=["pdf"], inline=True),
        field_id,
        lg=3,
    )


def layout(**_query: Any) -> html.Div:
    lang = web.lang()
    make = dbc.Card(
        dbc.CardBody(
            [
                html.H2(t("reports.make", lang), className="h5"),
                dbc.Row(
                    [
                        _field(
                            t("reports.kind", lang),
                            dbc.Select(id=ids.KIND, options=_kind_options(lang), value="day"),
                            ids.KIND,
                        ),
                        _field(
                            t("reports.period", lang),
                            dcc.Input(
                                id=ids.PERIOD,
                                type="text",
                                className="form-control",
                                value=_default_period("day"),
                                autoComplete="off",
                                placeholder="2026-03-12 · 2026-03-12/B · 2026-03",
                            ),
                            ids.PERIOD,
                        ),
                        _lang_field(lang, ids.LANG, lang),
                        _formats_field(lang, ids.FORMATS),
                        dbc.Col(
                            dbc.Button(t("reports.generate", lang), id=ids.MAKE, color="primary", className="w-100"),
                            xs=12,
                            sm=6,
                            lg=2,
                            className="d-flex align-items-end mt-2",
                        ),
                    ],
                    className="g-2",
                ),
                dcc.Loading(html.Div(id=ids.MSG, className="mt-2", role="status"), type="dot"),
                html.Div(
                    t("reports.no_names_note", lang) if not _named() else "",
                    className="sw-muted small mt-1",
                ),
            ]
        ),
        className="sw-card mb-3",
    )
    filters = dbc.Row(
        [
            _field(
                t("reports.kind", lang),
                dbc.Select(id=ids.F_KIND, options=_kind_options(lang, True), value=ANY),
                ids.F_KIND,
            ),
            _field(
                t("reports.language", lang),
                dbc.Select(id=ids.F_LANG, options=_lang_options(lang, True), value=ANY),
                ids.F_LANG,
            ),
            _field(
                t("reports.period_prefix", lang),
                dcc.Input(
                    id=ids.F_PERIOD,
                    type="text",
                    debounce=True,
                    className="form-control",
                    autoComplete="off",
                    placeholder="2026-03",
                ),
                ids.F_PERIOD,
            ),
        ],
        className="g-2 mb-2",
    )
    return html.Div(
        [
            html.H1(t("reports.title", lang), className="sw-page-title"),
            make,
            html.H2(t("reports.archive", lang), className="h5"),
            filters,
            html.Div(archive_table(lang, "", "", ""), id=ids.LIST),
            html.H2(t("reports.schedules", lang), className="h5 mt-3"),
            html.Div(schedule_table(lang), id=ids.SCHEDULES),
            schedule_editor(lang) if _may_schedule() else html.Div(),
        ],
        className="sw-reports",
    )


def _size(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.1f} MiB"


def archive_table(lang: str, kind: str, rlang: str, prefix: str) -> Any:
    """The archived reports the reader may have, newest first (no-name editions only without NAMES)."""
    named = _named()
    plant = web.plant()
    tz = plant.tz()
    with session_scope(web.engine()) as session:
        rows: list[ReportIssue] = issues(
            session,
            kind=kind or None,
            lang=rlang or None,
            period_prefix=(prefix or "").strip()[:32] or None,
            named=None if named else False,
            limit=LIMIT,
        )
        data: list[dict[str, Any]] = [
            {
                "id": r.id,
                "kind": r.kind,
                "period": r.period,
                "lang": r.lang,
                "fmt": r.fmt,
                "version": r.version,
                "ts": r.ts,
                "user": r.user,
                "schedule": r.schedule_id,
                "size": r.size,
                "sha": r.sha256,
                "named": r.named,
            }
            for r in rows
        ]
    if not data:
        return html.Div(t("reports.empty", lang), className="sw-muted")
    head = [
        (t("reports.col.period", lang), ""),
        (t("reports.kind", lang), WIDE),
        (t("reports.language", lang), WIDE),
        (t("reports.col.format", lang), ""),
        (t("reports.col.version", lang), ""),
        (t("reports.col.made", lang), WIDE),
        (t("reports.col.by", lang), WIDE),
        (t("reports.col.size", lang), WIDE),
        ("SHA-256", WIDE),
        ("", ""),
    ]
    body = []
    for r in data:
        try:
            plabel = period_label(plant, parse(plant, r["kind"], r["period"]), lang)
        except PeriodError:
            plabel = r["period"]
        if r["schedule"] is not None:
            by = t("reports.by_schedule", lang, id=r["schedule"])
        else:
            by = (r["user"] or "") if named else t("reports.by_user", lang)
        body.append(
            html.Tr(
                [
                    html.Td(
                        [
                            html.Div(plabel),
                            html.Div(
                                t("report.title." + r["kind"], lang) + " · " + t("reports.lang." + r["lang"], lang),
                                className="d-lg-none sw-muted small",
                            ),
                        ]
                    ),
                    html.Td(t(f"report.title.{r['kind']}", lang), className=WIDE),
                    html.Td(t(f"reports.lang.{r['lang']}", lang), className=WIDE),
                    html.Td(
                        t(f"reports.fmt.{r['fmt']}", lang) + ("" if r["named"] else " · " + t("reports.no_names", lang))
                    ),
                    html.Td(f"v{r['version']}", className="text-end"),
                    html.Td(format_local(r["ts"], tz, DATE_MINUTE), className=WIDE),
                    html.Td(by, className=WIDE),
                    html.Td(_size(int(r["size"])), className="text-end " + WIDE),
                    html.Td(html.Code(r["sha"][:12], title=r["sha"]), className="sw-mono " + WIDE),
                    html.Td(html.A(t("reports.download", lang), href=f"/reports/file/{r['id']}", download="")),
                ]
            )
        )
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h, className=c) for h, c in head])), html.Tbody(body)],
        size="sm",
        hover=True,
        responsive=True,
        className="sw-table",
    )


def schedule_table(lang: str) -> Any:
    plant = web.plant()
    tz = plant.tz()
    with session_scope(web.engine()) as session:
        rows: list[ReportSchedule] = schedules(session)
        data = [(s.id, s.kind, s.at_minute, s.lang, s.formats, s.enabled, s.last_end, s.recipients) for s in rows]
    named = _named()
    if not data:
        return html.Div(t("reports.no_schedules", lang), className="sw-muted")
    head = [
        ("#", WIDE),
        (t("reports.kind", lang), ""),
        (t("reports.col.when", lang), ""),
        (t("reports.language", lang), ""),
        (t("reports.formats", lang), WIDE),
        (t("reports.col.last", lang), WIDE),
        *([(t("reports.col.recipients", lang), WIDE)] if named else []),
    ]
    body = []
    for sid, kind, at, rlang, fmts, enabled, last_end, recipients in data:
        runs = when_text(kind, int(at), lang)
        body.append(
            html.Tr(
                [
                    html.Td(str(sid), className=WIDE),
                    html.Td(t(f"report.title.{kind}", lang)),
                    html.Td(runs + ("" if enabled else " · " + t("reports.disabled", lang))),
                    html.Td(t(f"reports.lang.{rlang}", lang)),
                    html.Td(", ".join(t(f"reports.fmt.{f}", lang) for f in fmts.split(",") if f), className=WIDE),
                    html.Td("" if last_end is None else format_local(int(last_end), tz, DATE_MINUTE), className=WIDE),
                    *([html.Td(", ".join((recipients or "").split(",")), className=WIDE)] if named else []),
                ],
                className="" if enabled else "sw-muted",
            )
        )
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h, className=c) for h, c in head])), html.Tbody(body)],
        size="sm",
        responsive=True,
        className="sw-table",
    )


def when_text(kind: str, at_minute: int, lang: str) -> str:
    """When a schedule runs, as its editor sets it: after each shift, daily at a time, monthly on a day."""
    time_text, day = when(kind, at_minute)
    if kind == Kind.MONTH.value:
        return t("reports.when.month", lang, d=day, time=time_text)
    if kind == Kind.DAY.value and at_minute < 1440:
        return t("reports.when.day", lang, time=time_text)
    return t(f"reports.when.{kind}_after", lang, h=at_minute // 60, m=f"{at_minute % 60:02d}")


def _pick_options(lang: str) -> list[dict[str, Any]]:
    with session_scope(web.engine()) as session:
        rows = [(s.id, s.kind, s.at_minute, s.lang, s.enabled) for s in schedules(session)]
    out: list[dict[str, Any]] = [{"label": t("reports.sched.new", lang), "value": NEW}]
    for sid, kind, at, rlang, enabled in rows:
        text = f"#{sid} · {t(f'report.title.{kind}', lang)} · {when_text(kind, int(at), lang)} · "
        text += t(f"reports.lang.{rlang}", lang) + ("" if enabled else " · " + t("reports.disabled", lang))
        out.append({"label": text, "value": str(sid)})
    return out


def _hint(kind: str | None, lang: str) -> str:
    return t(f"reports.sched.hint.{kind if kind in {k.value for k in Kind} else 'day'}", lang, n=MONTH_DAYS)


def schedule_editor(lang: str) -> dbc.Card:
    """Set up a schedule or change one (administrators)."""
    config = _oncall()
    people = ", ".join(p.id for p in config.people[:12]) if config is not None else ""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(t("reports.sched.editor", lang), className="h5"),
                dbc.Row(
                    [
                        _field(
                            t("reports.sched.pick", lang),
                            dbc.Select(id=ids.S_PICK, options=_pick_options(lang), value=NEW),
                            ids.S_PICK,
                            lg=4,
                        ),
                        _field(
                            t("reports.kind", lang),
                            dbc.Select(id=ids.S_KIND, options=_kind_options(lang), value="day"),
                            ids.S_KIND,
                        ),
                        _field(
                            t("reports.sched.time", lang),
                            dcc.Input(
                                id=ids.S_TIME,
                                type="text",
                                className="form-control",
                                value=DEFAULT_TIME,
                                autoComplete="off",
                                placeholder="06:30",
                                maxLength=40,
                            ),
                            ids.S_TIME,
                        ),
                        _field(
                            t("reports.sched.day", lang),
                            dcc.Input(
                                id=ids.S_DAY,
                                type="text",
                                inputMode="numeric",
                                className="form-control",
                                value="1",
                                autoComplete="off",
                                maxLength=20,
                            ),
                            ids.S_DAY,
                        ),
                        _lang_field(lang, ids.S_LANG, "zh"),
                    ],
                    className="g-2",
                ),
                html.Div(_hint("day", lang), id=ids.S_HINT, className="sw-muted small mt-1"),
                dbc.Row(
                    [
                        _formats_field(lang, ids.S_FORMATS),
                        _field(
                            t("reports.sched.recipients", lang),
                            dcc.Textarea(
                                id=ids.S_RECIPIENTS,
                                className="form-control",
                                value="",
                                rows=1,
                                maxLength=400,
                                placeholder=t("reports.sched.recipients_hint", lang),
                            ),
                            ids.S_RECIPIENTS,
                            lg=5,
                        ),
                        dbc.Col(
                            [
                                dbc.Checkbox(id=ids.S_NAMED, label=t("reports.sched.named", lang), value=True),
                                dbc.Checkbox(id=ids.S_ENABLED, label=t("reports.sched.enabled", lang), value=True),
                            ],
                            xs=12,
                            sm=6,
                            lg=2,
                            className="d-flex flex-column justify-content-end",
                        ),
                        dbc.Col(
                            dbc.Button(
                                t("reports.sched.save", lang), id=ids.S_SAVE, color="primary", className="w-100"
                            ),
                            xs=12,
                            sm=6,
                            lg=2,
                            className="d-flex align-items-end mt-2",
                        ),
                    ],
                    className="g-2 mt-1",
                ),
                html.Div(
                    t("reports.sched.people", lang, people=people) if people else t("reports.sched.no_people", lang),
                    className="sw-muted small mt-1",
                ),
                html.Div(id=ids.S_MSG, className="mt-2", role="status"),
            ]
        ),
        className="sw-card mt-2",
    )


@callback(
    Output(ids.S_HINT, "children"),
    Input(ids.S_KIND, "value"),
    prevent_initial_call=True,
)
def schedule_hint(kind: str | None) -> str:
    """What the time (and the day) mean for the kind chosen."""
    return _hint(kind, web.lang())


@callback(
    Output(ids.S_KIND, "value"),
    Output(ids.S_TIME, "value"),
    Output(ids.S_DAY, "value"),
    Output(ids.S_LANG, "value"),
    Output(ids.S_FORMATS, "value"),
    Output(ids.S_NAMED, "value"),
    Output(ids.S_RECIPIENTS, "value"),
    Output(ids.S_ENABLED, "value"),
    Input(ids.S_PICK, "value"),
    prevent_initial_call=True,
)
def load_schedule(pick: str | None) -> tuple[Any, ...]:
    """The editor filled from the schedule picked, or a new schedule's defaults."""
    if not _may_schedule():
        raise PreventUpdate
    if pick == NEW or not str(pick or "").isdigit():
        return "day", DEFAULT_TIME, "1", web.lang(), ["pdf"], True, "", True
    with session_scope(web.engine()) as session:
        row = session.get(ReportSchedule, int(str(pick)))
        if row is None:
            raise PreventUpdate
        time_text, day = when(row.kind, int(row.at_minute))
        return (
            row.kind,
            time_text,
            str(day),
            row.lang,
            [f for f in row.formats.split(",") if f],
            bool(row.named),
            ", ".join(r for r in (row.recipients or "").split(",") if r),
            bool(row.enabled),
        )


@callback(
    Output(ids.S_MSG, "children"),
    Output(ids.S_PICK, "options"),
    Output(ids.S_PICK, "value"),
    Output(ids.SCHEDULES, "children"),
    Input(ids.S_SAVE, "n_clicks"),
    State(ids.S_PICK, "value"),
    State(ids.S_KIND, "value"),
    State(ids.S_TIME, "value"),
    State(ids.S_DAY, "value"),
    State(ids.S_LANG, "value"),
    State(ids.S_FORMATS, "value"),
    State(ids.S_NAMED, "value"),
    State(ids.S_RECIPIENTS, "value"),
    State(ids.S_ENABLED, "value"),
    prevent_initial_call=True,
)
def save_schedule(
    n: int | None,
    pick: str | None,
    kind: str | None,
    time_text: str | None,
    day: Any,
    rlang: str | None,
    formats: list[str] | None,
    named: bool | None,
    recipients: str | None,
    enabled: bool | None,
) -> tuple[Any, ...]:
    """Set up or change a schedule: checked, saved and audited in one transaction; the list shows it."""
    if not n:
        raise PreventUpdate
    lang = web.lang()
    sid = None if pick == NEW else int(str(pick)) if str(pick or "").isdigit() else -1
    keep = (dash.no_update, dash.no_update, dash.no_update)
    try:
        op = commands.operator((Perm.REPORT_SCHEDULES,))
        if sid == -1:
            raise ScheduleError("pick")
        fields = check(
            kind=kind,
            time_text=time_text,
            month_day=day,
            lang=rlang,
            formats=formats,
            named=bool(named),
            recipients=recipients,
            enabled=bool(enabled),
            oncall=_oncall(),
            template=web.settings().report_template is not None,
        )
        with session_scope(web.engine()) as session:
            saved, changed = commands.report_schedule(session, op, sid, fields, now_ms=web.now_ms())
    except ScheduleError as exc:
        return (html.Span(t(f"reports.sched.err.{exc.key}", lang, **exc.values), className="text-danger"), *keep)
    except KeyError:
        return (html.Span(t("reports.sched.err.gone", lang), className="text-danger"), *keep)
    except commands.REFUSALS as exc:
        msg = commands.refusal_message(exc, lang, what="report schedule", refused_key="reports.refused")
        return (html.Span(msg, className="text-danger"), *keep)
    said = "reports.sched.added" if sid is None else "reports.sched.saved" if changed else "reports.sched.unchanged"
    return (
        html.Span(t(said, lang, id=saved), className="text-success"),
        _pick_options(lang),
        str(saved),
        schedule_table(lang),
    )


@callback(
    Output(ids.PERIOD, "value"),
    Input(ids.KIND, "value"),
    prevent_initial_call=True,
)
def default_period(kind: str | None) -> str:
    """The newest finished period of the kind chosen."""
    if kind not in {k.value for k in Kind}:
        raise PreventUpdate
    return _default_period(str(kind))


@callback(
    Output(ids.LIST, "children"),
    Input(ids.F_KIND, "value"),
    Input(ids.F_LANG, "value"),
    Input(ids.F_PERIOD, "value"),
    Input(ids.MSG, "children"),
    prevent_initial_call=True,
)
def refresh(kind: str | None, rlang: str | None, prefix: str | None, _msg: Any) -> Any:
    lang = web.lang()
    kinds = {k.value for k in Kind}
    return archive_table(lang, kind if kind in kinds else "", rlang if rlang in ("en", "zh") else "", prefix or "")


@callback(
    Output(ids.MSG, "children"),
    Input(ids.MAKE, "n_clicks"),
    State(ids.KIND, "value"),
    State(ids.PERIOD, "value"),
    State(ids.LANG, "value"),
    State(ids.FORMATS, "value"),
    prevent_initial_call=True,
)
def make(n: int | None, kind: str | None, period: str | None, rlang: str | None, formats: list[str] | None) -> Any:
    """Make the report of a past period now (checked, archived, audited) and say which versions were made."""
    if not n:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    now = web.now_ms()
    try:
        op = commands.operator((Perm.REPORTS,))
        p = parse(plant, str(kind or ""), str(period or ""))
        check_past(p, now)
        if rlang not in ("en", "zh"):
            raise ValueError(f"unknown language {rlang!r}")
        fmts = [f for f in (formats or []) if f in _formats()]
        if not fmts:
            raise ValueError(t("reports.pick_format", lang))
    except PeriodError as exc:
        return html.Span(t("reports.bad_period", lang, error=str(exc)), className="text-danger")
    except commands.REFUSALS as exc:
        return html.Span(
            commands.refusal_message(exc, lang, what="report", refused_key="reports.refused"), className="text-danger"
        )
    named = _named()
    settings = web.settings()
    try:
        got = issue(
            web.engine(),
            plant,
            settings.reports_path,
            p,
            str(rlang),
            fmts,
            named=named,
            now_ms=now,
            user=op.user,
            template=settings.report_template,
        )
    except Exception as exc:  # a missing CJK font, a broken template: say it, keep the page
        logger.exception("report %s %s failed", kind, period)
        return html.Span(t("reports.failed", lang, error=str(exc)[:300]), className="text-danger")
    audit(
        REPORT_ISSUED,
        target=f"{p.kind.value} {p.key}",
        detail=", ".join(f"{g.fmt} v{g.version}" for g in got),
        data={"kind": p.kind.value, "period": p.key, "lang": rlang, "named": named, "ids": [g.id for g in got]},
    )
    links = [
        html.A(
            f"{t(f'reports.fmt.{g.fmt}', lang)} v{g.version}",
            href=f"/reports/file/{g.id}",
            download="",
            className="me-3",
        )
        for g in got
    ]
    return html.Div([html.Span(t("reports.made", lang, period=period_label(plant, p, lang)), className="me-2"), *links])
