"""Environment (``/environment``): stack emissions (CEMS) against their limits.

Per stack and pollutant: the hourly averages of the last week up to the chosen day (valid hours, invalid or
flagged hours and exceedances told apart, the hourly limit drawn), the daily averages of the month, the
exceedance log of the month and the mass emitted in the month; the standard the limits come from and its
review note; downloads (``/environment/export.csv``, ``/environment/export.xlsx``). The data comes from
``webapp.live.environment`` (the hours the emissions service judged at each close). Dark theme for the wall,
stacked on phones.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from i18n import label, t
from plant import Plant
from store.emissions import pollutants
from webapp import context as web
from webapp.live.environment import (
    TABLES,
    ViewError,
    flags_text,
    hour_label,
    month_data,
    parse_day,
    pollutant_name,
    stack_name,
)
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/environment", name="nav.environment", order=16, title=web.page_title("nav.environment")
)

REFRESH_TICKS = 30  # shell ticks (2 s) between refreshes
CHART_HEIGHT = 340
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}
OK, OVER, FLAGGED, LIMIT = "#3e9bff", "#e5484d", "#6e7781", "#ffc53d"


class ids:  # noqa: N801 - a namespace of this page's component ids
    POLLUTANT = "env-pollutant"
    DATE = "env-date"
    CARDS = "env-cards"
    HOURS = "env-hours"
    DAYS = "env-days"
    EXCEED = "env-exceedances"
    MASS = "env-mass"
    EXPORTS = "env-exports"
    ERROR = "env-error"


def _layout(fig: go.Figure, height: int = CHART_HEIGHT) -> go.Figure:
    fig.update_layout(
        template="plotly_dark",
        height=height,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 14, "color": "#e6edf3", "family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        margin={"l": 52, "r": 12, "t": 30, "b": 44},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        bargap=0.15,
    )
    fig.update_xaxes(gridcolor="#222a35", zeroline=False)
    fig.update_yaxes(gridcolor="#222a35", zeroline=False, rangemode="tozero")
    return fig


def _unit(plant: Plant, tag: str) -> str:
    return next((tg.unit for tg in plant.tags if tg.id == tag), "")


def _bars(fig: go.Figure, xs: list[str], ys: list[float | None], kinds: list[str], texts: list[str], lang: str) -> None:
    """One bar trace per kind (compliant, over the limit or a day with exceedances, invalid or flagged), so the
    legend explains the colours; kinds without a bar are left out."""
    for kind, color in (("ok", OK), ("over", OVER), ("exc_day", OVER), ("flagged", FLAGGED)):
        sel = [i for i, k in enumerate(kinds) if k == kind]
        if not sel:
            continue
        fig.add_trace(
            go.Bar(
                x=[xs[i] for i in sel],
                y=[ys[i] for i in sel],
                name=t(f"env.legend.{kind}", lang),
                marker_color=color,
                customdata=[texts[i] for i in sel],
                hovertemplate="%{x}: %{y:.4g}<br>%{customdata}<extra></extra>",
                showlegend=True,
            )
        )


def hours_figure(data: dict[str, Any], tag: str, plant: Plant, lang: str) -> go.Figure:
    p = (data.get("pollutants") or {}).get(tag)
    fig = go.Figure()
    if p:
        hs = p["hours"]
        kinds = [
            "over" if h["exceedance"] else ("flagged" if not h["valid"] or set(h["flags"]) & set("MCD") else "ok")
            for h in hs
        ]
        texts = [
            t("env.hover.hour", lang, normal=h["normal"], flags=flags_text(h["flags"], lang) or "-")
            + ("" if h["valid"] else " · " + t("env.invalid", lang))
            for h in hs
        ]
        _bars(fig, [hour_label(h["hour"], plant) for h in hs], [h["value"] for h in hs], kinds, texts, lang)
        _limit(fig, p["limit"], lang)
        fig.update_yaxes(title_text=_unit(plant, tag))
    # a date axis keeps the hours in order whatever their colour; numeric dates (plotly names months in English)
    fig.update_xaxes(type="date", nticks=5, tickangle=0, tickformat="%H:%M<br>%m-%d", hoverformat="%Y-%m-%d %H:%M")
    return _layout(fig)


def days_figure(data: dict[str, Any], tag: str, plant: Plant, lang: str) -> go.Figure:
    p = (data.get("pollutants") or {}).get(tag)
    fig = go.Figure()
    if p:
        ds = p["days"]
        kinds = ["exc_day" if d["exceedances"] else ("ok" if d["valid"] else "flagged") for d in ds]
        texts = [t("env.hover.day", lang, hours=d["valid_hours"], n=d["exceedances"]) for d in ds]
        _bars(fig, [d["day"] for d in ds], [d["value"] for d in ds], kinds, texts, lang)
        _limit(fig, p["limit"], lang)
        fig.update_yaxes(title_text=_unit(plant, tag))
    fig.update_xaxes(type="date", tickangle=0, tickformat="%m-%d", hoverformat="%Y-%m-%d", dtick=86_400_000)
    return _layout(fig)


def _limit(fig: go.Figure, limit: float, lang: str) -> None:
    fig.add_hline(
        y=limit,
        line={"color": LIMIT, "width": 2, "dash": "dash"},
        annotation_text=t("env.limit", lang, limit=f"{limit:g}"),
        annotation_position="top left",
        annotation_font={"color": LIMIT},
    )


def _table(head: list[str], rows: list[list[Any]], empty: str) -> Any:
    if not rows:
        return html.Div(empty, className="sw-muted py-2")
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody([html.Tr(r) for r in rows])],
        className="sw-kpi-table sw-table",
        size="sm",
        responsive=True,
    )


def _num(v: Any, fmt: str = "{:.4g}") -> str:
    return "-" if v is None else fmt.format(v)


def exceed_table(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    rows = [
        [
            html.Td(hour_label(e["hour"], plant), className="text-nowrap"),
            html.Td(stack_name(plant, e["stack"], lang)),
            html.Td(pollutant_name(plant, e["tag"], lang)),
            html.Td(_num(e["value"]), className="text-end sw-env-over"),
            html.Td(_num(e["limit"], "{:g}"), className="text-end"),
            html.Td(flags_text(e["flags"], lang)),
        ]
        for e in (data.get("exceedances") or [])[:200]
    ]
    head = [t(f"env.col.{k}", lang) for k in ("hour", "stack", "pollutant", "value", "limit", "flags")]
    return _table(head, rows, t("env.none.exceedances", lang))


def mass_table(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    rows = [
        [
            html.Td(stack_name(plant, p["stack"], lang)),
            html.Td(pollutant_name(plant, tag, lang)),
            html.Td(_num(p["mass_kg"] / 1000, "{:.3f}"), className="text-end"),
            html.Td(str(p["hours_judged"]), className="text-end"),
            html.Td(str(p["hours_without_mass"]), className="text-end"),
        ]
        for tag, p in (data.get("pollutants") or {}).items()
    ]
    head = [t(f"env.col.{k}", lang) for k in ("stack", "pollutant", "mass_t", "hours_judged", "hours_without_mass")]
    return _table(head, rows, t("env.none.mass", lang))


def _card(value: str, text: str, status: str = "") -> html.Div:
    return html.Div(
        [html.Div(value, className="sw-kpi-v"), html.Div(text, className="sw-kpi-l")],
        className=f"sw-kpi-card {status}".strip(),
    )


def cards(data: dict[str, Any], tag: str, lang: str) -> list[html.Div]:
    p = (data.get("pollutants") or {}).get(tag) or {}
    hours = p.get("hours") or []
    last = hours[-1] if hours else None
    n_exc = sum(1 for e in data.get("exceedances") or [] if e["tag"] == tag)
    valid = sum(1 for d in p.get("days") or [] if d["valid"])
    return [
        _card(
            _num(last["value"]) if last else "-",
            t("env.card.last_hour", lang, limit=f"{p.get('limit', 0):g}"),
            ("sw-kpi-bad" if last["exceedance"] else "sw-kpi-good") if last else "",
        ),
        _card(str(n_exc), t("env.card.exceedances", lang), "sw-kpi-bad" if n_exc else "sw-kpi-good"),
        _card(f"{valid}/{len(p.get('days') or [])}", t("env.card.valid_days", lang)),
        _card(_num((p.get("mass_kg") or 0) / 1000, "{:.2f}"), t("env.card.mass", lang)),
    ]


def _exports(day: str, lang: str) -> list[Any]:
    q = {"date": day, "lang": lang}
    links: list[Any] = [
        html.A(
            t(f"env.export.{table}", lang),
            href="/environment/export.csv?" + urlencode({**q, "table": table}),
            className="sw-energy-export",
            download="",
        )
        for table in TABLES
    ]
    links.append(
        html.A(
            t("env.export.xlsx", lang),
            href="/environment/export.xlsx?" + urlencode(q),
            className="sw-energy-export",
            download="",
        )
    )
    return links


def render(data: dict[str, Any] | None, tag: str, plant: Plant, lang: str) -> dict[str, Any]:
    if data is None:
        empty = html.Div(t("env.unavailable", lang), className="sw-muted")
        return {"cards": [], "hours": _layout(go.Figure()), "days": _layout(go.Figure()), "exceed": empty} | {
            "mass": empty,
            "exports": [],
        }
    return {
        "cards": cards(data, tag, lang),
        "hours": hours_figure(data, tag, plant, lang),
        "days": days_figure(data, tag, plant, lang),
        "exceed": exceed_table(data, plant, lang),
        "mass": mass_table(data, plant, lang),
        "exports": _exports(str(data.get("day") or ""), lang),
    }


def _box(title: str, body: Any, wide: bool = False, cls: str = "") -> html.Div:
    return html.Div(
        [html.H2(title), body], className=" ".join(c for c in ("sw-kpi-chart", "sw-kpi-wide" if wide else "", cls) if c)
    )


def _graph(gid: str, fig: go.Figure) -> dcc.Graph:
    return dcc.Graph(id=gid, figure=fig, config=GRAPH_CONFIG, style={"height": f"{CHART_HEIGHT / 16:.2f}rem"})


def _options(plant: Plant, lang: str) -> list[dict[str, str]]:
    return [
        {"label": f"{stack_name(plant, p.stack, lang)} · {pollutant_name(plant, p.tag, lang)}", "value": p.tag}
        for p in pollutants(plant)
    ]


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    opts = _options(plant, lang)
    tag = opts[0]["value"] if opts else ""
    day = parse_day(plant, None, web.now_ms())
    try:
        data: dict[str, Any] | None = month_data(day)
    except Exception:
        logger.exception("environment: store not readable, showing the page without data")
        data = None
    b = render(data, tag, plant, lang)
    em = plant.emissions
    note = " · ".join(
        x
        for x in (
            t("env.standard", lang, standard=label(em.standard, em.standard_zh, lang)) if em.standard else "",
            t("env.review", lang) if em.review else "",
            t("env.rule", lang, minutes=em.valid_minutes, hours=em.valid_hours_per_day),
        )
        if x
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("env.title", lang), className="sw-page-title"),
                    dbc.Select(id=ids.POLLUTANT, options=opts, value=tag, size="sm", style={"width": "auto"}),
                    dcc.DatePickerSingle(
                        id=ids.DATE,
                        date=day.isoformat(),
                        display_format="YYYY-MM-DD",
                        first_day_of_week=1,
                        className="sw-energy-date",
                    ),
                ],
                className="sw-al-head sw-energy-head",
            ),
            html.Div(note, className="sw-muted sw-env-note"),
            html.Div(id=ids.ERROR, className="text-danger", role="alert"),
            html.Div(b["cards"], id=ids.CARDS, className="sw-kpi-grid"),
            html.Div(
                [
                    _box(t("env.hours", lang), _graph(ids.HOURS, b["hours"]), wide=True),
                    _box(t("env.days", lang), _graph(ids.DAYS, b["days"]), wide=True),
                    _box(t("env.exceedances", lang), html.Div(b["exceed"], id=ids.EXCEED), cls="sw-env-exceed"),
                    _box(t("env.mass", lang), html.Div(b["mass"], id=ids.MASS)),
                    _box(
                        t("env.exports", lang),
                        html.Div(b["exports"], id=ids.EXPORTS, className="sw-energy-exports"),
                        wide=True,
                    ),
                ],
                className="sw-kpi-charts",
            ),
        ],
        className="sw-en-page",
    )


@callback(
    Output(ids.CARDS, "children"),
    Output(ids.HOURS, "figure"),
    Output(ids.DAYS, "figure"),
    Output(ids.EXCEED, "children"),
    Output(ids.MASS, "children"),
    Output(ids.EXPORTS, "children"),
    Output(ids.ERROR, "children"),
    Input(ids.POLLUTANT, "value"),
    Input(ids.DATE, "date"),
    Input(shell_ids.TICK, "n_intervals"),
    prevent_initial_call=True,
)
def refresh(tag: str | None, day: str | None, n: int | None) -> tuple[Any, ...]:
    if dash.ctx.triggered_id == shell_ids.TICK and (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    known = {p.tag for p in pollutants(plant)}
    if tag not in known:
        return (*[dash.no_update] * 6, t("env.bad_pollutant", lang))
    try:
        when = parse_day(plant, day, web.now_ms())
    except ViewError as exc:
        return (*[dash.no_update] * 6, t(exc.key, lang))
    b = render(month_data(when), str(tag), plant, lang)
    return (b["cards"], b["hours"], b["days"], b["exceed"], b["mass"], b["exports"], "")
