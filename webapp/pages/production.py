"""Production equipment (``/production``): availability, MTBF and MTTR per unit and per class, OEE on the units
that count production, the downtime Pareto and the downtime events still waiting for a reason.

Every figure comes from ``webapp.live.production`` (one KPI engine, ``engine.equipment``, over the stored
state spells and counters, cached per window for every screen); the tables on the page and their CSV and
Excel downloads are the same rows. A dispatcher gives an unassigned downtime event its reason in two
clicks (open the row's list, pick the reason): the action is checked (``Perm.DOWNTIME``), stored and
audited in one transaction. Executives see the same page without the pickers. Dark theme for wall screens,
one column on phones.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth.policy import Perm
from engine.clock import DATE_MINUTE, DAY_MINUTE, format_local
from engine.equipment import pareto, unassigned
from engine.plan import HORIZONS, PlanFileError
from i18n import label, t
from plant.schema import Plant
from webapp import commands
from webapp import context as web
from webapp.gate import current_user
from webapp.live.production import (
    PARETO_BY,
    WINDOWS,
    availability_now,
    events,
    forget,
    forget_plan,
    plan_data,
    plan_table,
    plan_versions,
    production_data,
    reason_labels,
    table,
)
from webapp.live.snapshot import snapshot
from webapp.live.summary import pct
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/production", name="nav.production", order=15, title=web.page_title("nav.production")
)

REFRESH_TICKS = 15  # shell ticks (2 s) between refreshes of the figures
MAX_UNASSIGNED = 40  # rows of the unassigned list shown (the oldest wait below the fold in the download)
PARETO_BARS = 12
CHART_HEIGHT = 360
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}
BAR_COLOR = "#58a6ff"
LINE_COLOR = "#ffc53d"


class ids:  # noqa: N801 - a namespace of this page's component ids
    WINDOW = "production-window"
    HORIZON = "production-horizon"
    PLAN = "production-plan"
    PLAN_UPLOAD = "production-plan-upload"
    PLAN_MSG = "production-plan-msg"  # the import's answer (its line in auth.policy.ACTION_OUTPUTS)
    PLAN_VERSIONS = "production-plan-versions"
    BY = "production-by"
    CARDS = "production-cards"
    PARETO = "production-pareto"
    OEE = "production-oee"
    CLASSES = "production-classes"
    SHIFTS = "production-shifts"
    UNITS = "production-units"
    UNASSIGNED = "production-unassigned"
    DOWNLOADS = "production-downloads"
    REASON = "production-reason"  # pattern-matching: {"type": REASON, "event": id}
    MSG = "production-reason-msg"  # the action's answer (its line in auth.policy.ACTION_OUTPUTS)
    SHOWN = "production-shown"
    ERROR = "production-error"


# --- blocks --------------------------------------------------------------------------------------------


def _card(value: str, text: str, cid: str | None = None) -> html.Div:
    v = html.Div(value, className="sw-kpi-v", id=cid) if cid else html.Div(value, className="sw-kpi-v")
    return html.Div([v, html.Div(text, className="sw-kpi-l")], className="sw-kpi-card")


def _hours(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f} h"


def cards(data: dict[str, Any], states: dict[str, str], lang: str) -> list[html.Div]:
    total = data["total"]
    up, known = availability_now(states)
    evs = events(data)
    waiting = unassigned(evs)
    oees = [r["oee"] for r in data["oee"] if r["oee"] is not None]
    return [
        _card(
            pct(up / known) if known else "–",
            t("production.card.available_now", lang, n=f"{up} / {known}"),
            "production-available-now",
        ),
        _card(pct(total["availability"]), t("production.card.availability", lang), "production-availability"),
        _card(_hours(total["mtbf_h"]), t("production.card.mtbf", lang)),
        _card(_hours(total["mttr_h"]), t("production.card.mttr", lang)),
        _card(str(total["failures"]), t("production.card.failures", lang)),
        _card(f"{sum(d.minutes for d in evs if not d.short) / 60:,.1f} h", t("production.card.downtime", lang)),
        _card(str(sum(1 for d in evs if d.short)), t("production.card.short_stops", lang)),
        _card(str(len(waiting)), t("production.card.unassigned", lang), "production-unassigned-count"),
        _card(pct(sum(oees) / len(oees)) if oees else "–", t("production.card.oee", lang)),
    ]


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        template="plotly_dark",
        height=height,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 14, "color": "#e6edf3", "family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        margin={"l": 48, "r": 48, "t": 8, "b": 110},
        showlegend=False,
    )
    fig.update_xaxes(gridcolor="#222a35", zeroline=False, automargin=True)
    fig.update_yaxes(gridcolor="#222a35", zeroline=False)
    return fig


def _short(name: str, most: int = 24) -> str:
    """A bar's label: the reason without its category, cut to ``most`` characters (phones, wall screens)."""
    leaf = name.rsplit(" / ", 1)[-1]
    return leaf if len(leaf) <= most else leaf[: most - 1] + "…"


def pareto_figure(data: dict[str, Any], plant: Plant, lang: str, by: str) -> go.Figure:
    """Downtime by reason, largest first (minutes, events or lost tonnes), with the cumulative share."""
    rows = pareto(events(data), by=by)[:PARETO_BARS]
    names = reason_labels(plant, lang)
    fig = go.Figure()
    x = [_short(names.get(r.key, r.key)) for r in rows]
    fig.add_trace(
        go.Bar(
            x=x,
            y=[getattr(r, by) for r in rows],
            marker_color=BAR_COLOR,
            customdata=[names.get(r.key, r.key) for r in rows],
            hovertemplate="%{customdata}<br>%{y:,.1f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r.cumulative * 100 for r in rows],
            yaxis="y2",
            mode="lines+markers",
            line={"color": LINE_COLOR, "width": 2},
            hovertemplate="%{y:.0f} %<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"title": {"text": t(f"production.by.{by}.axis", lang)}, "rangemode": "tozero"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 105],
            "tickvals": [0, 25, 50, 75, 100],
            "ticksuffix": " %",
            "showgrid": False,
        },
    )
    fig.update_xaxes(tickangle=-30)
    return _layout(fig, CHART_HEIGHT)


def _table(head: list[str], rows: list[list[str]], empty: str, text_cols: tuple[int, ...] = (0,)) -> Any:
    """A table of texts: the ``text_cols`` left, the numbers right-aligned."""
    if not rows:
        return html.Div(empty, className="sw-muted py-2")
    body = [
        html.Tr([html.Td(c, className="" if i in text_cols else "text-end text-nowrap") for i, c in enumerate(r)])
        for r in rows
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="sw-kpi-table sw-table",
        size="sm",
        responsive=True,
    )


def reason_options(plant: Plant, lang: str) -> list[dict[str, Any]]:
    """The reason tree as one list: each category a disabled heading, its reasons under it."""
    out: list[dict[str, Any]] = []
    for c in plant.production.downtime_reasons:
        out.append({"label": label(c.name, c.name_zh, lang), "value": f"category:{c.id}", "disabled": True})
        for r in c.children:
            out.append({"label": "\u2003" + label(r.name, r.name_zh, lang), "value": r.id, "search": r.id})
    return out


def may_assign() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.DOWNTIME)


def _can(perm: Perm) -> bool:
    user = current_user()
    return user is not None and user.can(perm)


def versions_block(lang: str) -> Any:
    """The newest plan versions; who imported them only for those who may see names."""
    rows = plan_versions()
    if not rows:
        return html.Div(t("production.no_versions", lang), className="sw-muted small")
    names = _can(Perm.NAMES)
    tz = web.plant().tz()
    head = [t(f"production.col.{k}", lang) for k in ("version", "days", "targets", "imported")]
    head += [t("production.col.by", lang)] if names else []
    head += [t("production.col.file", lang)]
    body = []
    for v in rows:
        cells = [
            f"v{v['id']}",
            f"{v['first_day']} – {v['last_day']}",
            str(v["rows"]),
            format_local(v["ts"], tz, DATE_MINUTE),
        ]
        cells += [v["user"]] if names else []
        cells += [v["source"]]
        body.append(html.Tr([html.Td(c) for c in cells]))
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        className="sw-kpi-table sw-table small",
        size="sm",
        responsive=True,
    )


def upload_block(lang: str) -> Any:
    if not _can(Perm.PLAN):
        return html.Div()
    return dcc.Upload(
        id=ids.PLAN_UPLOAD,
        children=html.Div(t("production.upload", lang)),
        accept=".csv,.xlsx",
        multiple=False,
        max_size=20 * 1024 * 1024,
        className="sw-upload",
    )


def unassigned_block(data: dict[str, Any], plant: Plant, lang: str, pickers: bool) -> Any:
    waiting = unassigned(events(data))[:MAX_UNASSIGNED]
    if not waiting:
        return html.Div(t("production.none_unassigned", lang), className="sw-muted py-2")
    names = {e.id: label(e.name, e.name_zh, lang) for e in plant.equipment}
    options = reason_options(plant, lang)
    tz = plant.tz()
    head = [t(f"production.col.{k}", lang) for k in ("unit", "state", "start", "minutes", "lost_t", "reason")]
    rows = []
    for d in waiting:
        picker: Any = (
            dcc.Dropdown(
                id={"type": ids.REASON, "event": d.event_id},
                options=options,
                placeholder=t("production.pick_reason", lang),
                clearable=False,
                className="sw-reason-pick",
            )
            if pickers and d.event_id is not None
            else t("production.unassigned", lang)
        )
        rows.append(
            html.Tr(
                [
                    html.Td(names.get(d.equipment, d.equipment), className="sw-unit-cell"),
                    html.Td(t(f"overview.state.{d.state}", lang)),
                    html.Td(format_local(d.start_ms, tz, DAY_MINUTE), className="text-nowrap"),
                    html.Td(f"{d.minutes:,.0f}", className="text-end"),
                    html.Td(f"{d.lost:,.1f}", className="text-end"),
                    html.Td(picker, className="sw-reason-cell"),
                ],
                className="sw-unassigned-row",
            )
        )
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
        className="sw-kpi-table sw-table sw-unassigned",
        size="sm",
        responsive=False,
    )


def downloads(window: str, lang: str, by: str, horizon: str = "month") -> list[Any]:
    links: list[Any] = [html.Span(t("production.download", lang), className="sw-muted me-1")]
    for name in ("plan", "units", "classes", "shifts", "oee", "downtime", "pareto"):
        q = f"?window={window}&lang={lang}&by={by}&horizon={horizon}"
        links.append(
            html.Span(
                [
                    t(f"production.table.{name}", lang),
                    " ",
                    html.A("CSV", href=f"/production/{name}.csv{q}", className="sw-dl"),
                    " · ",
                    html.A("Excel", href=f"/production/{name}.xlsx{q}", className="sw-dl"),
                ],
                className="sw-dl-item",
            )
        )
    return links


def plan_block(plant: Plant, lang: str, horizon: str) -> Any:
    try:
        data = plan_data()
    except Exception:  # the equipment figures must show even when the plan cannot be read
        logger.exception("production: plan against actual not readable")
        return html.Div(t("production.plan_unavailable", lang), className="sw-muted py-2")
    head, rows = plan_table(data, horizon, plant, lang)
    return _table(head, rows, t("production.no_plan", lang), text_cols=(0, 1, 2))


def render(
    data: dict[str, Any], states: dict[str, str], plant: Plant, lang: str, window: str, by: str, horizon: str = "month"
) -> dict[str, Any]:
    none = t("production.none", lang)
    return {
        "plan": plan_block(plant, lang, horizon),
        "cards": cards(data, states, lang),
        "pareto": pareto_figure(data, plant, lang, by),
        "oee": _table(*table(data, "oee", plant, lang), none, text_cols=(0, 3)),
        "classes": _table(*table(data, "classes", plant, lang), none),
        "shifts": _table(*table(data, "shifts", plant, lang), none),
        "units": _table(*table(data, "units", plant, lang), none, text_cols=(0, 1)),
        "unassigned": unassigned_block(data, plant, lang, may_assign()),
        "downloads": downloads(window, lang, by, horizon),
    }


# --- layout ---------------------------------------------------------------------------------------------


def _panel(title: str, body: Any, extra: str = "") -> html.Div:
    return html.Div([html.H2(title), body], className=f"sw-kpi-chart {extra}".strip())


def _shown(data: dict[str, Any]) -> list[int]:
    return [d.event_id for d in unassigned(events(data))[:MAX_UNASSIGNED] if d.event_id is not None]


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    window, by = "day", "minutes"
    data = production_data(window)
    states = snapshot()["equipment_state"]
    b = render(data, states, plant, lang, window, by)
    windows = [{"label": t(f"production.window.{k}", lang), "value": k} for k in WINDOWS]
    measures = [{"label": t(f"production.by.{k}", lang), "value": k} for k in PARETO_BY]
    horizons = [{"label": t(f"production.horizon.{k}", lang), "value": k} for k in HORIZONS]
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("production.title", lang), className="sw-page-title"),
                    dbc.Select(id=ids.WINDOW, options=windows, value=window, size="sm", style={"width": "auto"}),
                    dcc.Link(t("nav.quality", lang), href="/production/quality", id="production-quality-link"),
                    dcc.Link(t("production.flow_link", lang), href="/production/flow", id="production-flow-link"),
                    dcc.Link(t("nav.reports", lang), href="/reports", id="production-reports-link"),
                ],
                className="sw-al-head",
            ),
            html.Div(id=ids.ERROR, className="text-danger", role="alert"),
            html.Div(b["cards"], id=ids.CARDS, className="sw-kpi-grid"),
            html.Div(
                [
                    _panel(
                        t("production.plan_title", lang),
                        html.Div(
                            [
                                dbc.RadioItems(
                                    id=ids.HORIZON, options=horizons, value="month", inline=True, className="sw-by"
                                ),
                                html.Div(b["plan"], id=ids.PLAN),
                                html.Div(
                                    [
                                        html.Div(versions_block(lang), id=ids.PLAN_VERSIONS, className="sw-versions"),
                                        html.Div(
                                            [
                                                upload_block(lang),
                                                html.Div(id=ids.PLAN_MSG, className="sw-plan-msg small", role="status"),
                                            ],
                                            className="sw-upload-box",
                                        ),
                                    ],
                                    className="sw-plan-foot",
                                ),
                            ]
                        ),
                        "sw-kpi-wide",
                    ),
                    _panel(
                        t("production.pareto", lang),
                        html.Div(
                            [
                                dbc.RadioItems(id=ids.BY, options=measures, value=by, inline=True, className="sw-by"),
                                dcc.Graph(
                                    id=ids.PARETO,
                                    figure=b["pareto"],
                                    config=GRAPH_CONFIG,
                                    style={"height": f"{CHART_HEIGHT / 16:.2f}rem"},
                                ),
                            ]
                        ),
                    ),
                    _panel(
                        t("production.unassigned_title", lang),
                        html.Div(
                            [
                                html.Div(id=ids.MSG, className="sw-muted small", role="status"),
                                html.Div(b["unassigned"], id=ids.UNASSIGNED, className="sw-scroll"),
                            ]
                        ),
                    ),
                    _panel(
                        t("production.oee_title", lang),
                        html.Div(
                            [
                                html.Div(t("production.oee_note", lang), className="sw-muted small mb-1"),
                                html.Div(b["oee"], id=ids.OEE, className="sw-scroll"),
                            ]
                        ),
                    ),
                    _panel(t("production.classes_title", lang), html.Div(b["classes"], id=ids.CLASSES)),
                    _panel(
                        t("production.shifts_title", lang), html.Div(b["shifts"], id=ids.SHIFTS, className="sw-scroll")
                    ),
                    _panel(
                        t("production.units_title", lang),
                        html.Div(b["units"], id=ids.UNITS, className="sw-scroll"),
                        "sw-kpi-wide",
                    ),
                ],
                className="sw-kpi-charts",
            ),
            html.Div(b["downloads"], id=ids.DOWNLOADS, className="sw-downloads"),
            dcc.Store(id=ids.SHOWN, data={"events": _shown(data), "window": window}),
        ],
        className="sw-production",
    )


@callback(
    Output(ids.PLAN, "children"),
    Output(ids.CARDS, "children"),
    Output(ids.PARETO, "figure"),
    Output(ids.OEE, "children"),
    Output(ids.CLASSES, "children"),
    Output(ids.SHIFTS, "children"),
    Output(ids.UNITS, "children"),
    Output(ids.UNASSIGNED, "children"),
    Output(ids.DOWNLOADS, "children"),
    Output(ids.SHOWN, "data"),
    Output(ids.ERROR, "children"),
    Input(ids.WINDOW, "value"),
    Input(ids.BY, "value"),
    Input(ids.HORIZON, "value"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.MSG, "children"),
    Input(ids.PLAN_MSG, "children"),
    State(ids.SHOWN, "data"),
    prevent_initial_call=True,
)
def refresh(
    window: str | None,
    by: str | None,
    horizon: str | None,
    n: int | None,
    _msg: Any,
    _plan_msg: Any,
    shown: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """The figures for the window; the unassigned list only when its events changed (a picker that is open
    is not redrawn under the user's hand)."""
    if dash.ctx.triggered_id == shell_ids.TICK and (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    window = window if window in WINDOWS else "day"
    by = by if by in PARETO_BY else "minutes"
    horizon = horizon if horizon in HORIZONS else "month"
    data = production_data(window)
    b = render(data, snapshot()["equipment_state"], plant, lang, window, by, horizon)
    now_shown = {"events": _shown(data), "window": window}
    same_list = bool(shown) and shown == now_shown and dash.ctx.triggered_id != ids.MSG
    return (
        b["plan"],
        b["cards"],
        b["pareto"],
        b["oee"],
        b["classes"],
        b["shifts"],
        b["units"],
        no_update if same_list else b["unassigned"],
        b["downloads"],
        now_shown,
        "",
    )


@callback(
    Output(ids.MSG, "children"),
    Input({"type": ids.REASON, "event": ALL}, "value"),
    prevent_initial_call=True,
)
def assign(values: list[str | None]) -> str:
    """Store the reason picked for one downtime event (checked, audited), and say so."""
    trigger = dash.ctx.triggered_id
    if not isinstance(trigger, dict) or not dash.ctx.triggered or dash.ctx.triggered[0].get("value") in (None, ""):
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    reason = str(dash.ctx.triggered[0]["value"])
    try:
        event_id = int(trigger["event"])
        with commands.operator_session((Perm.DOWNTIME,)) as (session, op):
            commands.downtime_reason(session, op, event_id, reason, now_ms=web.now_ms(), plant=plant)
    except commands.REFUSALS as exc:
        return commands.refusal_message(exc, lang, what="downtime reason", refused_key="production.refused")
    forget()
    names = reason_labels(plant, lang)
    return t("production.assigned", lang, reason=names.get(reason, reason))


@callback(
    Output(ids.PLAN_MSG, "children"),
    Output(ids.PLAN_VERSIONS, "children"),
    Input(ids.PLAN_UPLOAD, "contents"),
    State(ids.PLAN_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def import_plan(contents: str | None, filename: str | None) -> tuple[Any, Any]:
    """Import the uploaded plan file as a new version (checked, audited), or list why it was refused."""
    if not contents:
        raise PreventUpdate
    lang = web.lang()
    name = str(filename or "plan.csv")[:200]
    try:
        data = base64.b64decode(contents.split(",", 1)[1] if "," in contents else contents, validate=False)
        with commands.operator_session((Perm.PLAN,)) as (session, op):
            v = commands.import_plan_file(session, op, data, name, now_ms=web.now_ms(), plant=web.plant())
            answer: Any = t(
                "production.imported", lang, version=f"v{v.id}", rows=v.rows, first=v.first_day, last=v.last_day
            )
    except PlanFileError as exc:
        items = [html.Li(p) for p in exc.problems[:30]]
        return html.Div(
            [html.Div(t("production.import_refused", lang, file=name)), html.Ul(items)], className="text-danger"
        ), no_update
    except commands.REFUSALS as exc:
        return commands.refusal_message(exc, lang, what="plan import", refused_key="production.refused"), no_update
    forget_plan()
    return answer, versions_block(lang)
