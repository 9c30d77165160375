"""``/reports``: the report archive (list, filter, download) and a report made on demand for a chosen past
period (shift, day, month) in English or Chinese, as PDF, Excel, CSV or the plant's template.

Who may: ``Perm.REPORTS`` (executives, dispatchers, administrators). Those without ``Perm.NAMES``
(executives) make and see only editions without person names, and the list does not show who made a report.
Making a report is audited (``report_issued``), as is each download (``webapp.routes.reports``).
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
from reports.content import period_label
from reports.issue import issue
from reports.period import Kind, PeriodError, check_past, last_complete, parse
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


def _named() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.NAMES)


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
                        _field(
                            t("reports.language", lang),
                            dbc.Select(id=ids.LANG, options=_lang_options(lang), value=lang),
                            ids.LANG,
                        ),
                        _field(
                            t("reports.formats", lang),
                            dbc.Checklist(
                                id=ids.FORMATS,
                                options=[{"label": t(f"reports.fmt.{f}", lang), "value": f} for f in _formats()],
                                value=["pdf"],
                                inline=True,
                            ),
                            ids.FORMATS,
                            lg=3,
                        ),
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
        data = [(s.id, s.kind, s.at_minute, s.lang, s.formats, s.enabled, s.last_end) for s in rows]
    if not data:
        return html.Div(t("reports.no_schedules", lang), className="sw-muted")
    head = [
        ("#", WIDE),
        (t("reports.kind", lang), ""),
        (t("reports.col.when", lang), ""),
        (t("reports.language", lang), ""),
        (t("reports.formats", lang), WIDE),
        (t("reports.col.last", lang), WIDE),
    ]
    body = []
    for sid, kind, at, rlang, fmts, enabled, last_end in data:
        when = t(f"reports.when.{kind}", lang, h=at // 60, m=f"{at % 60:02d}")
        body.append(
            html.Tr(
                [
                    html.Td(str(sid), className=WIDE),
                    html.Td(t(f"report.title.{kind}", lang)),
                    html.Td(when + ("" if enabled else " · " + t("reports.disabled", lang))),
                    html.Td(t(f"reports.lang.{rlang}", lang)),
                    html.Td(", ".join(t(f"reports.fmt.{f}", lang) for f in fmts.split(",") if f), className=WIDE),
                    html.Td("" if last_end is None else format_local(int(last_end), tz, DATE_MINUTE), className=WIDE),
                ]
            )
        )
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h, className=c) for h, c in head])), html.Tbody(body)],
        size="sm",
        responsive=True,
        className="sw-table",
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
