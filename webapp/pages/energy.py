"""Energy (``/energy``): one medium's metering hierarchy over a period, in energy or in money.

The Sankey diagram runs from the site's meter through areas and processes to the equipment (four levels), a
"losses / unmetered" node under each metered parent with what its meter read beyond its children (red when
above the plant's reconciliation threshold); the trend of the period against the one before; the top
consumers; reconciliation; the shifts. Every table downloads as CSV, all of them as one Excel workbook
(``/energy/export.csv``, ``/energy/export.xlsx``). The data comes from ``webapp.live.energy`` (hourly rollups,
shared by every screen for ``ENERGY_SECONDS``). Dark, sized for wall screens, stacked on phones.
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

from engine.clock import to_local
from engine.energy import media, meter_tree
from i18n import label, t
from plant import Plant
from plant.schema import Medium
from store.figures import forecast_driver
from webapp import context as web
from webapp.attrs import wildcard
from webapp.live.energy import BASELINE_DAYS, KINDS, ViewError, change, full_view, parse_view, table_rows
from webapp.live.summary import fmt_number
from webapp.panels.energy.figures import CHART_HEIGHT, SANKEY_HEIGHT, layout_of, sankey_figure, trend_figure
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/energy", name="nav.energy", order=15, title=web.page_title("nav.energy"))

REFRESH_TICKS = 30  # shell ticks (2 s) between refreshes
TOP_N = 15
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}


class ids:  # noqa: N801 - a namespace of this page's component ids
    MEDIUM = "energy-medium"
    PERIOD = "energy-period"
    DATE = "energy-date"
    UNIT = "energy-unit"
    CARDS = "energy-cards"
    SANKEY = "energy-sankey"
    TREND = "energy-trend"
    TOP = "energy-top"
    BALANCE = "energy-balance"
    SHIFTS = "energy-shifts"
    CREWS = "energy-crews"
    INTENSITY = "energy-intensity"
    BASELINE = "energy-baseline"
    TOU = "energy-tou"
    CUSUM = "energy-cusum"
    FORECAST = "energy-forecast"
    COST = "energy-cost"
    EXPORTS = "energy-exports"
    ERROR = "energy-error"


def _fmt(v: float | None, digits: int | None = None) -> str:
    return fmt_number(v, digits)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:+.1f} %"


def _share(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.1f} %"


def _card(value: str, text: str, status: str = "", key: str = "") -> html.Div:
    return html.Div(
        [html.Div(value, className="sw-kpi-v", **wildcard({"data-key": key})), html.Div(text, className="sw-kpi-l")],
        className=f"sw-kpi-card {status}".strip(),
    )


def cards(data: dict[str, Any], lang: str) -> list[html.Div]:
    unit, cur = data["unit"], data["currency"]
    total, before = data.get("total"), data.get("total_prev")
    ch = change(total, before)
    flagged = sum(1 for b in data["losses"].values() if b["flagged"])
    return [
        _card(f"{_fmt(total)} {unit}", t("energy.card.total", lang), key="total"),
        _card(f"{_fmt(data.get('energy_cost'))} {cur}", t("energy.card.cost", lang), key="cost"),
        _card(f"{_fmt(before)} {unit}", t("energy.card.prev", lang), key="prev"),
        _card(_pct(ch), t("energy.card.change", lang), "sw-kpi-bad" if ch is not None and ch > 0.05 else "", "change"),
        _card(str(flagged), t("energy.card.flagged", lang), "sw-kpi-bad" if flagged else "sw-kpi-good", "flagged"),
    ]


def _table(data: dict[str, Any], table: str, plant: Plant, lang: str, limit: int | None = None) -> Any:
    head, rows = table_rows(data, table, plant, lang)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return html.Div(t("energy.none", lang), className="sw-muted py-2")
    pcts = (t("energy.col.share", lang), t("energy.col.change", lang), t("energy.col.vs_crews", lang))
    share_cols = {i for i, h in enumerate(head) if h in pcts}

    def cell(i: int, v: Any) -> html.Td:
        if isinstance(v, float | int) and not isinstance(v, bool):
            if i in share_cols:
                text = f"{v * 100:.1f} %"
            elif isinstance(v, int):  # a count (hours unknown): no decimals
                text = f"{v:,}"
            else:
                text = _fmt(float(v), 1 if abs(v) < 100 else 0)
            return html.Td(text, className="text-end text-nowrap")
        if v is None:
            return html.Td("–", className="text-end sw-muted", title=t("energy.unknown", lang))
        flagged = v in (t("energy.status.flagged", lang), t("energy.status.over", lang))
        return html.Td(str(v), className="sw-energy-flag" if flagged else "")

    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody([html.Tr([cell(i, v) for i, v in enumerate(r)]) for r in rows]),
        ],
        className="sw-kpi-table sw-table",
        size="sm",
        responsive=True,
    )


def baseline_block(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    """The ISO 50001 baseline: its fit and validity, and the CUSUM of savings over the period's days."""
    b = data.get("baseline") or {}
    status = b.get("status")
    if status == "no_driver":
        return html.Div(t("energy.baseline.no_driver", lang), className="sw-muted py-2")
    driver = label(b.get("driver_name") or "", b.get("driver_name_zh"), lang)
    if status != "ok":
        return html.Div(
            t("energy.baseline.few_days", lang, n=b.get("n", 0), days=BASELINE_DAYS), className="sw-muted py-2"
        )
    verdict = t("energy.baseline.valid" if b["valid"] else "energy.baseline.not_valid", lang)
    facts = [
        (t("energy.baseline.model", lang), f"E = {_fmt(b['intercept'])} + {_fmt(b['slope'])} × P ({driver})"),
        ("R²", f"{b['r2']:.3f}"),
        (t("energy.baseline.p", lang), f"{b['p']:.3g}"),
        ("CV(RMSE)", "–" if b["cv_rmse"] is None else f"{b['cv_rmse'] * 100:.1f} %"),
        ("NMBE", "–" if b["nmbe"] is None else f"{b['nmbe'] * 100:.2f} %"),
        (t("energy.baseline.days", lang), str(b["n"])),
        (t("energy.baseline.verdict", lang), verdict),
    ]
    rows = [
        html.Tr([html.Th(k), html.Td(v, className="sw-energy-flag" if k == facts[-1][0] and not b["valid"] else "")])
        for k, v in facts
    ]
    tz = plant.tz()
    fig = go.Figure(
        go.Scatter(
            x=[to_local(d, tz).strftime("%m-%d") for d in b["days"]],
            y=b["cusum"],
            mode="lines+markers",
            line={"color": "#3fb950", "width": 2},
            name=t("energy.baseline.cusum", lang),
        )
    )
    fig.update_yaxes(title_text=data["unit"], zeroline=True, zerolinecolor="#8b949e")
    fig.update_xaxes(type="category")  # "03-03" is a day of the plant, not a date plotly should guess
    graph = _graph(ids.CUSUM, layout_of(fig, 220, margin={"l": 64, "r": 12, "t": 8, "b": 32}), 220)
    return html.Div(
        [
            dbc.Table(html.Tbody(rows), className="sw-kpi-table sw-table", size="sm"),
            html.Div(t("energy.baseline.cusum", lang), className="sw-muted"),
            graph,
        ]
    )


def forecast_block(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    """The forecast of today and the coming days from the production plan, and its backtest error per horizon
    beside the naive "same day last week" (``engine.forecast``)."""
    f = data.get("forecast") or {}
    status = f.get("status")
    if status == "no_driver":
        return html.Div(t("energy.baseline.no_driver", lang), className="sw-muted py-2")
    unit = f.get("unit", "")
    driver = label(f.get("driver_name") or "", f.get("driver_name_zh"), lang)
    parts: list[Any] = [html.Div(t("energy.forecast.note", lang, driver=driver), className="sw-muted")]
    if status == "ok":
        head = [
            t("energy.forecast.day", lang),
            t("energy.forecast.plan", lang),
            f"{t('energy.forecast.value', lang)} ({unit})",
            t("energy.forecast.interval", lang),
        ]
        rows = [
            html.Tr(
                [
                    html.Td(d["day"]),
                    html.Td(_fmt(d["plan"])),
                    html.Td(_fmt(d["value"])),
                    html.Td("–" if d["low"] is None else f"{_fmt(d['low'])} – {_fmt(d['high'])}"),
                ]
            )
            for d in f["days"]
        ]
        parts.append(
            dbc.Table(
                [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                className="sw-kpi-table sw-table",
                size="sm",
                responsive=True,
            )
        )
    else:
        parts.append(html.Div(t(f"energy.forecast.{status or 'few_days'}", lang), className="sw-muted py-2"))
    bt = f.get("backtest") or {}
    hs = bt.get("horizons") or []
    if bt.get("origins"):
        head = [
            t("energy.forecast.horizon", lang),
            t("energy.forecast.n", lang),
            "MAPE",
            f"RMSE ({unit})",
            t("energy.forecast.mase", lang),
            t("energy.forecast.coverage", lang),
        ]
        rows = [
            html.Tr(
                [
                    html.Td(t("energy.forecast.days_ahead", lang, n=h["horizon"])),
                    html.Td(str(h["n"])),
                    html.Td(_share(h["mape"])),
                    html.Td(_fmt(h["rmse"])),
                    html.Td("–" if h["mase"] is None else f"{h['mase']:.2f}"),
                    html.Td(_share(h["coverage"])),
                ]
            )
            for h in hs
        ]
        verdict = t(
            "energy.forecast.too_few"
            if not bt.get("judged")
            else "energy.forecast.beats"
            if bt.get("beats_naive")
            else "energy.forecast.not_beats",
            lang,
        )
        parts += [
            html.Div(
                t("energy.forecast.backtest", lang, origins=bt["origins"], plan_days=bt.get("plan_days", 0)),
                className="sw-muted mt-2",
            ),
            dbc.Table(
                [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                className="sw-kpi-table sw-table",
                size="sm",
                responsive=True,
            ),
            html.Div(verdict, className="" if bt.get("beats_naive") else "sw-energy-flag"),
        ]
    else:
        parts.append(html.Div(t("energy.forecast.no_backtest", lang), className="sw-muted py-2"))
    return html.Div([*parts, *issued_block(data, plant, lang)])


def crews_block(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    """The period's shifts per crew: energy, production, energy per tonne against all crews, cost."""
    ki = forecast_driver(plant, meter_tree(plant, Medium(data["medium"])))
    driver = label(ki.name, ki.name_zh, lang) if ki is not None else "–"
    return html.Div(
        [
            html.Div(t("energy.crews.note", lang, driver=driver), className="sw-muted"),
            _table(data, "crews", plant, lang),
        ]
    )


def cost_plan_block(data: dict[str, Any], plant: Plant, lang: str) -> list[Any]:
    """The month's cost plan against actual per planned meter, the variance split into volume and price."""
    cp = data.get("cost_plan") or {}
    note = t("energy.plan.note", lang, month=cp.get("month", ""), share=f"{(cp.get('share') or 0) * 100:.0f} %")
    parts: list[Any] = [
        html.H3(t("energy.plan", lang), className="sw-energy-sub mt-3"),
        html.Div(note, className="sw-muted"),
    ]
    if not cp.get("rows"):
        return [*parts, html.Div(t("energy.plan.none", lang, month=cp.get("month", "")), className="sw-muted py-2")]
    return [*parts, _table(data, "cost_plan", plant, lang)]


ISSUED_SHOWN = 14  # the latest issued forecasts listed on the page (the export has them all)


def _plain_table(head: list[str], rows: list[list[Any]]) -> Any:
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows]),
        ],
        className="sw-kpi-table sw-table",
        size="sm",
        responsive=True,
    )


def issued_block(data: dict[str, Any], plant: Plant, lang: str) -> list[Any]:
    """The forecasts as issued (stored, never changed) against what came: their real error per horizon and
    the latest of them one by one."""
    iss = data.get("issued") or {}
    unit = iss.get("unit", "")
    parts: list[Any] = [
        html.H3(t("energy.issued", lang), className="sw-energy-sub mt-3"),
        html.Div(t("energy.issued.note", lang, days=iss.get("days", 30)), className="sw-muted"),
    ]
    judged = [r for r in iss.get("rows") or [] if r["actual"] is not None]
    if not judged:
        return [*parts, html.Div(t("energy.issued.none", lang), className="sw-muted py-2")]
    head = [
        t("energy.forecast.horizon", lang),
        t("energy.forecast.n", lang),
        "MAPE",
        f"RMSE ({unit})",
        t("energy.forecast.coverage", lang),
    ]
    rows = [
        [
            t("energy.forecast.days_ahead", lang, n=h["horizon"]),
            str(h["n"]),
            _share(h["mape"]),
            _fmt(h["rmse"]),
            _share(h["coverage"]),
        ]
        for h in iss.get("horizons") or []
    ]
    parts += [html.Div(t("energy.issued.real_error", lang), className="sw-muted mt-2"), _plain_table(head, rows)]
    tz = plant.tz()
    recent = [r for r in iss["rows"] if r["horizon"] <= 2][:ISSUED_SHOWN]
    head = [
        t("energy.forecast.day", lang),
        t("energy.issued.at", lang),
        t("energy.forecast.horizon", lang),
        f"{t('energy.forecast.value', lang)} ({unit})",
        t("energy.forecast.interval", lang),
        f"{t('energy.issued.actual', lang)} ({unit})",
        t("energy.issued.error", lang),
    ]
    rows = [
        [
            r["target_day"],
            to_local(r["issued_at"], tz).strftime("%m-%d %H:%M"),
            t("energy.forecast.days_ahead", lang, n=r["horizon"]),
            _fmt(r["value"]),
            f"{_fmt(r['low'])} – {_fmt(r['high'])}",
            _fmt(r["actual"]) if r["actual"] is not None else t("energy.issued.pending", lang),
            _pct(r["error"]),
        ]
        for r in recent
    ]
    parts += [html.Div(t("energy.issued.recent", lang), className="sw-muted mt-2"), _plain_table(head, rows)]
    return parts


def _exports(view: dict[str, Any], lang: str) -> list[Any]:
    q = {"medium": view["medium"], "period": view["kind"], "date": view.get("date") or "", "lang": lang}
    links: list[Any] = [
        html.A(
            t(f"energy.export.{table}", lang),
            href="/energy/export.csv?" + urlencode({**q, "table": table}),
            className="sw-energy-export",
            download="",
        )
        for table in (
            "intensity",
            "tou",
            "cost",
            "top",
            "balance",
            "shifts",
            "crews",
            "trend",
            "forecast",
            "backtest",
            "issued",
            "issued_error",
            "cost_plan",
            "tou_periods",
        )
    ]
    links.append(
        html.A(
            t("energy.export.xlsx", lang),
            href="/energy/export.xlsx?" + urlencode(q),
            className="sw-energy-export",
            download="",
        )
    )
    return links


def render(view: dict[str, Any], unit_mode: str, plant: Plant, lang: str) -> dict[str, Any]:
    data = full_view(view["medium"], view["kind"], view["anchor"])
    return {
        "cards": cards(data, lang),
        "sankey": sankey_figure(data, unit_mode, lang),
        "trend": trend_figure(data, unit_mode, plant, lang),
        "top": _table(data, "top", plant, lang, TOP_N),
        "balance": _table(data, "balance", plant, lang),
        "shifts": _table(data, "shifts", plant, lang),
        "crews": crews_block(data, plant, lang),
        "intensity": _table(data, "intensity", plant, lang),
        "baseline": baseline_block(data, plant, lang),
        "tou": html.Div(
            [
                _table(data, "tou", plant, lang),
                html.Div(t("energy.tou.split", lang), className="sw-muted mt-2"),
                _table(data, "tou_periods", plant, lang),
            ]
        ),
        "cost": html.Div([_table(data, "cost", plant, lang), *cost_plan_block(data, plant, lang)]),
        "forecast": forecast_block(data, plant, lang),
        "exports": _exports(view, lang),
    }


def _graph(gid: str, fig: go.Figure, height: int) -> dcc.Graph:
    return dcc.Graph(id=gid, figure=fig, config=GRAPH_CONFIG, style={"height": f"{height / 16:.2f}rem"})


def _box(title: str, body: Any, wide: bool = False) -> html.Div:
    return html.Div([html.H2(title), body], className="sw-kpi-chart" + (" sw-kpi-wide" if wide else ""))


def layout(**query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    now = web.now_ms()
    try:
        view = parse_view(plant, query.get("medium"), query.get("period"), query.get("date"), now)
    except ViewError:
        view = parse_view(plant, None, None, None, now)
    view["date"] = to_local(view["anchor"], plant.tz()).date().isoformat()
    unit_mode = "money" if query.get("unit") == "money" else "energy"
    try:
        blocks: dict[str, Any] | None = render(view, unit_mode, plant, lang)
    except Exception:
        logger.exception("energy: store not readable, showing the page without data")
        blocks = None
    empty = html.Div(t("energy.unavailable", lang), className="sw-muted")
    blank = layout_of(go.Figure(), CHART_HEIGHT)
    b = blocks or {
        "cards": empty,
        "sankey": blank,
        "trend": blank,
        "top": empty,
        "balance": empty,
        "shifts": empty,
        "crews": empty,
        "intensity": empty,
        "baseline": empty,
        "tou": empty,
        "cost": empty,
        "forecast": empty,
        "exports": [],
    }
    media_opts = [{"label": t(f"overview.medium.{m.value}", lang), "value": m.value} for m in media(plant)]
    kinds = [{"label": t(f"energy.period.{k.value}", lang), "value": k.value} for k in KINDS]
    units = [{"label": t(f"energy.unit.{u}", lang), "value": u} for u in ("energy", "money")]
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("energy.title", lang), className="sw-page-title"),
                    dbc.Select(
                        id=ids.MEDIUM, options=media_opts, value=view["medium"], size="sm", style={"width": "auto"}
                    ),
                    dbc.Select(id=ids.PERIOD, options=kinds, value=view["kind"], size="sm", style={"width": "auto"}),
                    dcc.DatePickerSingle(
                        id=ids.DATE,
                        date=view["date"],
                        display_format="YYYY-MM-DD",
                        first_day_of_week=1,
                        className="sw-energy-date",
                    ),
                    dbc.Select(id=ids.UNIT, options=units, value=unit_mode, size="sm", style={"width": "auto"}),
                ],
                className="sw-al-head sw-energy-head",
            ),
            html.Div(id=ids.ERROR, className="text-danger", role="alert"),
            html.Div(b["cards"], id=ids.CARDS, className="sw-kpi-grid"),
            html.Div(
                [
                    _box(
                        t("energy.sankey", lang),
                        _graph(ids.SANKEY, b["sankey"], SANKEY_HEIGHT),
                        wide=True,
                    ),
                    _box(t("energy.trend", lang), _graph(ids.TREND, b["trend"], CHART_HEIGHT)),
                    _box(t("energy.top", lang), html.Div(b["top"], id=ids.TOP)),
                    _box(t("energy.balance", lang), html.Div(b["balance"], id=ids.BALANCE)),
                    _box(t("energy.shifts", lang), html.Div(b["shifts"], id=ids.SHIFTS)),
                    _box(t("energy.crews", lang), html.Div(b["crews"], id=ids.CREWS)),
                    _box(t("energy.baseline", lang), html.Div(b["baseline"], id=ids.BASELINE)),
                    _box(t("energy.intensity", lang), html.Div(b["intensity"], id=ids.INTENSITY), wide=True),
                    _box(t("energy.tou", lang), html.Div(b["tou"], id=ids.TOU), wide=True),
                    _box(t("energy.cost", lang), html.Div(b["cost"], id=ids.COST), wide=True),
                    _box(t("energy.forecast", lang), html.Div(b["forecast"], id=ids.FORECAST), wide=True),
                    _box(
                        t("energy.exports", lang),
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
    Output(ids.SANKEY, "figure"),
    Output(ids.TREND, "figure"),
    Output(ids.TOP, "children"),
    Output(ids.BALANCE, "children"),
    Output(ids.SHIFTS, "children"),
    Output(ids.CREWS, "children"),
    Output(ids.INTENSITY, "children"),
    Output(ids.BASELINE, "children"),
    Output(ids.TOU, "children"),
    Output(ids.COST, "children"),
    Output(ids.FORECAST, "children"),
    Output(ids.EXPORTS, "children"),
    Output(ids.ERROR, "children"),
    Input(ids.MEDIUM, "value"),
    Input(ids.PERIOD, "value"),
    Input(ids.DATE, "date"),
    Input(ids.UNIT, "value"),
    Input(shell_ids.TICK, "n_intervals"),
    prevent_initial_call=True,
)
def refresh(medium: str | None, kind: str | None, day: str | None, unit: str | None, n: int | None) -> tuple[Any, ...]:
    if dash.ctx.triggered_id == shell_ids.TICK and (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    try:
        view = parse_view(plant, medium, kind, day, web.now_ms())
    except ViewError as exc:
        return (*[dash.no_update] * 13, t(exc.key, lang))
    view["date"] = day or ""
    b = render(view, "money" if unit == "money" else "energy", plant, lang)
    blocks = (
        "cards",
        "sankey",
        "trend",
        "top",
        "balance",
        "shifts",
        "crews",
        "intensity",
        "baseline",
        "tou",
        "cost",
        "forecast",
        "exports",
    )
    return (*[b[k] for k in blocks], "")
