"""Incident records (``/incidents``): the replays saved as incidents, searched by title, notes, findings, who
saved them or what they were opened from; each opens its replay at its moment and, for those who may, exports
its bundle. On-call users see only the incidents of their areas; executives see no notes or findings (they may
name people)."""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from auth.policy import Perm, Role
from engine.clock import DAY_MINUTE, format_local
from i18n import t
from store.db import session_scope
from store.incidents import search_incidents
from webapp import context as web
from webapp.attrs import wildcard
from webapp.gate import current_user

logger = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/incidents", name="nav.incidents", order=28, title=web.page_title("nav.incidents"), nav="more"
)


class ids:  # noqa: N801 - a namespace of this page's component ids
    SEARCH = "incidents-search"
    TABLE = "incidents-table"
    COUNT = "incidents-count"


def layout(**query: str) -> html.Div:
    lang = web.lang()
    q = str(query.get("q") or "")[:100]
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("incidents.title", lang), className="sw-page-title me-3"),
                    dcc.Input(
                        id=ids.SEARCH,
                        type="search",
                        value=q,
                        debounce=True,
                        maxLength=100,
                        placeholder=t("incidents.search", lang),
                        className="form-control form-control-sm sw-in-search",
                    ),
                    html.Span(id=ids.COUNT, className="sw-muted", role="status"),
                ],
                className="sw-in-head",
            ),
            html.Div(id=ids.TABLE),
        ]
    )


def _areas() -> tuple[str, ...] | None:
    user = current_user()
    if user is not None and user.role == Role.ON_CALL:
        return user.areas
    return None


@callback(Output(ids.TABLE, "children"), Output(ids.COUNT, "children"), Input(ids.SEARCH, "value"))
def refresh(query: str | None) -> tuple[Any, str]:
    lang = web.lang()
    plant = web.plant()
    user = current_user()
    details = user is not None and user.can(Perm.NAMES)
    export = user is not None and user.can(Perm.INCIDENT)
    with session_scope(web.engine()) as session:
        rows = search_incidents(session, str(query or ""), areas=_areas())
    if not rows:
        return html.Div(t("incidents.empty", lang), className="sw-muted"), ""
    tz = plant.tz()
    head = [
        t("incidents.col.title", lang),
        t("incidents.col.window", lang),
        t("incidents.col.source", lang),
        t("incidents.col.by", lang),
    ]
    if details:
        head.append(t("incidents.col.notes", lang))
    head.append("")
    body = []
    for r in rows:
        at = r.at if r.at is not None else r.t0
        links: list[Any] = [dcc.Link(t("incidents.open", lang), href=f"/replay?incident={r.id}&at={at}")]
        if export:
            links += [" · ", html.A(t("incidents.export", lang), href=f"/replay/incident/{r.id}/export.zip")]
        cells = [
            html.Td(r.title),
            html.Td(
                f"{format_local(r.t0, tz, DAY_MINUTE)} – {format_local(r.t1, tz, DAY_MINUTE)}", className="text-nowrap"
            ),
            html.Td(t(f"incidents.source.{r.source}", lang) + (f" {r.ref}" if r.ref else "")),
            html.Td(r.created_by if details else ""),
        ]
        if details:
            cells.append(html.Td("\n\n".join(x for x in (r.notes, r.findings) if x), className="sw-in-notes"))
        cells.append(html.Td(links, className="text-nowrap"))
        body.append(html.Tr(cells, **wildcard({"data-incident": str(r.id)})))
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="sw-table",
        size="sm",
        hover=True,
        responsive=True,
    )
    return table, t("incidents.count", lang, n=len(rows))
