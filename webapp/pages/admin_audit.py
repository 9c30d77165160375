"""``/admin/audit``: search the security audit log (administrators only, see ``auth.policy``).

Filters by user, event, text in target or detail, client address and a time window in plant time; newest
first, at most ``LIMIT`` rows with the total count. Every value is a Dash text child: hostile text that was
typed into a login form or a comment shows as text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from auth.auditlog import KNOWN_EVENTS, ROLE_CHANGED, USER_ADDED, AuditQuery, search
from auth.policy import Role
from engine.clock import DATE_TIME, format_local
from i18n import t
from store.db import session_scope
from store.models import SecurityAudit
from webapp import context as web

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/admin/audit", name="nav.audit", order=90, title=web.page_title("nav.audit"))

LIMIT = 500
TIME_HINT = "YYYY-MM-DD HH:MM"
FAILURES = frozenset({"login_failed", "login_locked", "login_rate_limited"})


class ids:  # noqa: N801 - the page's component ids, defined once
    USER = "audit-user"
    EVENT = "audit-event"
    TEXT = "audit-text"
    ADDRESS = "audit-address"
    FROM = "audit-from"
    TO = "audit-to"
    SEARCH = "audit-search"
    RESULT = "audit-result"


def _event_label(event: str, lang: str) -> str:
    return t(f"audit.event.{event}", lang) if event in KNOWN_EVENTS else event


def _zone() -> ZoneInfo:
    try:
        return web.plant().tz()
    except Exception:
        return ZoneInfo("UTC")


def parse_time(text: str | None, tz: ZoneInfo) -> int | None:
    """``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` or the browser's ``YYYY-MM-DDTHH:MM``, in plant time -> UTC ms."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(value, fmt).replace(tzinfo=tz).timestamp() * 1000)
        except ValueError:
            continue
    raise ValueError(value)


def _input(cid: str, label: str, placeholder: str = "", width: int = 2) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=cid, className="mb-1 sw-muted"),
            dcc.Input(
                id=cid,
                type="text",
                debounce=True,
                className="form-control",
                autoComplete="off",
                placeholder=placeholder,
            ),
        ],
        xs=12,
        sm=6,
        lg=width,
    )


def layout(**_query: Any) -> html.Div:
    lang = web.lang()
    events = [{"label": t("audit.filter.any_event", lang), "value": ""}] + [
        {"label": _event_label(e, lang), "value": e} for e in KNOWN_EVENTS
    ]
    filters = dbc.Row(
        [
            _input(ids.USER, t("audit.filter.user", lang)),
            dbc.Col(
                [
                    dbc.Label(t("audit.filter.event", lang), html_for=ids.EVENT, className="mb-1 sw-muted"),
                    dbc.Select(id=ids.EVENT, options=events, value=""),
                ],
                xs=12,
                sm=6,
                lg=2,
            ),
            _input(ids.TEXT, t("audit.filter.text", lang)),
            _input(ids.ADDRESS, t("audit.filter.address", lang)),
            _input(ids.FROM, t("audit.filter.from", lang), TIME_HINT),
            _input(ids.TO, t("audit.filter.to", lang), TIME_HINT),
            dbc.Col(
                dbc.Button(t("audit.search", lang), id=ids.SEARCH, color="primary", className="w-100"),
                xs=12,
                sm=6,
                lg=2,
                className="d-flex align-items-end mt-2",
            ),
        ],
        className="g-2 sw-audit-filters mb-3",
    )
    return html.Div(
        [
            html.H1(t("audit.title", lang), className="sw-page-title"),
            filters,
            html.Div(results(AuditQuery(limit=LIMIT), lang), id=ids.RESULT),
        ]
    )


def _role(role: object, lang: str) -> str:
    return t(f"role.{role}", lang) if role in {r.value for r in Role} else str(role)


def _detail(r: SecurityAudit, lang: str) -> str:
    """The row's detail in the reader's language where it is made of roles; else as recorded (a comment, a
    reason, or a row written before its facts were kept)."""
    data = r.data if isinstance(r.data, dict) else {}
    if r.event == USER_ADDED and data.get("role"):
        return t("audit.detail.role", lang, role=_role(data["role"], lang))
    if r.event == ROLE_CHANGED and data.get("from") and data.get("to"):
        return t("audit.detail.role_changed", lang, old=_role(data["from"], lang), new=_role(data["to"], lang))
    return r.detail or ""


def _row(r: SecurityAudit, lang: str, tz: ZoneInfo) -> html.Tr:
    when = format_local(r.ts, tz, DATE_TIME)
    cells = [
        html.Td(when, className="sw-audit-time"),
        html.Td(_event_label(r.event, lang)),
        html.Td(r.user or ""),
        html.Td(t(f"role.{r.role}", lang) if r.role else ""),
        html.Td(r.address or ""),
        html.Td(r.target or ""),
        html.Td(_detail(r, lang)),
    ]
    return html.Tr(cells, className="sw-audit-bad" if r.event in FAILURES else None)


def results(query: AuditQuery, lang: str) -> list[Any]:
    tz = _zone()
    with session_scope(web.engine()) as session:
        rows, total = search(session, query)
    if not rows:
        return [html.P(t("audit.none", lang), className="sw-muted")]
    head = html.Thead(
        html.Tr(
            [
                html.Th(t(f"audit.col.{c}", lang))
                for c in ("time", "event", "user", "role", "address", "target", "detail")
            ]
        )
    )
    table = dbc.Table(
        [head, html.Tbody([_row(r, lang, tz) for r in rows])],
        size="sm",
        hover=True,
        responsive=True,
        className="sw-table sw-audit-table",
    )
    return [html.P(t("audit.count", lang, shown=len(rows), total=total), className="sw-muted mb-1"), table]


@callback(
    Output(ids.RESULT, "children"),
    Input(ids.SEARCH, "n_clicks"),
    Input(ids.USER, "value"),
    Input(ids.EVENT, "value"),
    Input(ids.TEXT, "value"),
    Input(ids.ADDRESS, "value"),
    Input(ids.FROM, "value"),
    Input(ids.TO, "value"),
    prevent_initial_call=True,
)
def refresh(
    _n: int | None,
    user: str | None,
    event: str | None,
    text: str | None,
    address: str | None,
    since: str | None,
    until: str | None,
) -> list[Any]:
    lang = web.lang()
    tz = _zone()
    try:
        t0, t1 = parse_time(since, tz), parse_time(until, tz)
    except ValueError:
        return [dbc.Alert(t("audit.bad_date", lang), color="warning")]
    query = AuditQuery(
        user=str(user)[:64] if user else None,
        event=str(event) if event else None,
        text=str(text)[:200] if text else None,
        address=str(address)[:64] if address else None,
        since=t0,
        until=t1,
        limit=LIMIT,
    )
    return results(query, lang)
