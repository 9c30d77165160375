"""Alarm-system KPIs (``/alarms/kpi``): how well the alarm system serves its operators (ISA-18.2, EEMUA 191).

Alarms per operator position (a plant area) per 10 minutes over time, with the 1-per-10-min target and
the 10-per-10-min flood line, flood periods shaded; chattering alarms; standing (stale) alarms; the priority
distribution against 80/15/5; the top-10 bad actors; what is shelved now. The figures come from
``store.alarm_kpi.alarm_kpis`` (SQL over the journal), cached for ``KPI_SECONDS`` per window and area so
any number of screens cost one query set; the page refreshes every ``REFRESH_TICKS`` shell ticks and sends
the figures only when they changed. Dark theme, sized for wall screens, stacked on phones.
"""

from __future__ import annotations

import dataclasses
import logging
from html import escape as html_escape
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from engine.clock import DATE_MINUTE, DATE_TIME, format_local
from i18n import label, t
from plant import Plant
from store.alarm_kpi import FLOOD_PER_10MIN, NO_AREA, SITE, TARGET_PER_10MIN, alarm_kpis
from store.alarm_views import alarms_by_id
from store.db import session_scope
from webapp import context as web
from webapp.live.alarms import alarm_text, digest
from webapp.shell import ids as shell_ids
from webapp.shell.tables import kpi_table

logger = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/alarms/kpi", name="nav.alarm_kpi", order=21, title=web.page_title("nav.alarm_kpi"), nav=False
)

WINDOWS = {"24h": 24 * 3_600_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000}
KPI_SECONDS = 15  # one KPI computation per window and area per this period, shared by every screen
REFRESH_TICKS = 8  # shell ticks (2 s) between refreshes
MAX_LINES = 5  # positions drawn besides the site total on long windows (the busiest)
PRIORITY_COLORS = {"urgent": "#e5484d", "high": "#f76b15", "medium": "#ffc53d", "low": "#3e9bff"}
LINE_COLORS = ["#58a6ff", "#a371f7", "#3fb950", "#f778ba", "#79c0ff", "#d29922", "#56d4dd", "#ff9492"]
TARGET_COLOR = "#3fb950"
FLOOD_COLOR = "#e5484d"
RATE_HEIGHT = 340
CHART_HEIGHT = 360
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}


class ids:  # noqa: N801 - a namespace of this page's component ids
    WINDOW = "alarm-kpi-window"
    AREA = "alarm-kpi-area"
    CARDS = "alarm-kpi-cards"
    RATE = "alarm-kpi-rate"
    PRIORITY = "alarm-kpi-priority"
    BAD_ACTORS = "alarm-kpi-bad-actors"
    CHATTER = "alarm-kpi-chatter"
    FLOODS = "alarm-kpi-floods"
    STANDING = "alarm-kpi-standing"
    SHELVED = "alarm-kpi-shelved"
    SHOWN = "alarm-kpi-shown"
    SCALE = "alarm-kpi-scale"  # the screen's root font size / 16, from the browser
    ERROR = "alarm-kpi-error"


# --- data --------------------------------------------------------------------------------------------


def kpi_data(window: str, area: str | None) -> dict[str, Any]:
    """The KPIs of the last ``window`` for ``area`` (None = whole site) as plain data, shared for a while."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}")

    def build() -> dict[str, Any]:
        now = web.now_ms()
        with session_scope(web.engine()) as session:
            kpis = alarm_kpis(session, now - WINDOWS[window], now, now, area=area)
            named = {
                *(x.alarm_id for x in kpis.top_bad_actors),
                *(x.alarm_id for x in kpis.chattering),
                *(x.alarm_id for x in kpis.standing),
                *(x.alarm_id for x in kpis.shelved),
            }
            rows = alarms_by_id(session, named, now)
        out = dataclasses.asdict(kpis)
        # the listed alarms' structured fields: each screen builds their texts in its user's language
        out["alarms"] = {alarm_id: view.as_dict() for alarm_id, view in rows.items()}
        return out

    return web.cached(f"sw:alarm_kpi:{window}:{area or ''}", KPI_SECONDS, build)


# --- figures -----------------------------------------------------------------------------------------


def _margin(scale: float, l: int = 48, r: int = 12, t: int = 8, b: int = 36) -> dict[str, float]:  # noqa: E741
    return {"l": l * scale, "r": r * scale, "t": t * scale, "b": b * scale}


def _layout(fig: go.Figure, height: int, scale: float = 1.0, **extra: Any) -> go.Figure:
    """Dark, transparent, fonts and margins times ``scale`` (the screen's root font size / 16: 2 on 4K walls)."""
    extra.setdefault("margin", _margin(scale))
    extra.setdefault("legend", {"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 13 * scale}})
    fig.update_layout(
        template="plotly_dark",
        height=height * scale,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 14 * scale, "color": "#e6edf3", "family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        hoverlabel={"font": {"size": 14 * scale}},
        **extra,
    )
    fig.update_xaxes(gridcolor="#222a35", zeroline=False)
    fig.update_yaxes(gridcolor="#222a35", zeroline=False)
    return fig


def position_name(position: str, plant: Plant, lang: str) -> str:
    if position == SITE:
        return t("alarm.kpi.site", lang)
    if position == NO_AREA:
        return t("alarm.kpi.unassigned", lang)
    for a in plant.areas:
        if a.id == position:
            return label(a.name, a.name_zh, lang)
    return position


def rate_figure(data: dict[str, Any], plant: Plant, lang: str, scale: float = 1.0) -> go.Figure:
    """Alarms per position per 10 minutes, the target and flood lines, the site's flood periods shaded."""
    series = list(data.get("rate") or [])
    main, rest = series[:1], series[1:]
    if len(rest) > MAX_LINES:
        rest = sorted(rest, key=lambda s: -s["total"])[:MAX_LINES]
    fig = go.Figure()
    for i, s in enumerate(main + rest):
        is_main = i == 0
        fig.add_trace(
            go.Scatter(
                x=[format_local(b, plant.tz(), DATE_MINUTE) for b in s["buckets"]],
                y=s["counts"],
                name=position_name(s["position"], plant, lang),
                mode="lines",
                line={
                    "shape": "hv",
                    "width": (2.5 if is_main else 1.4) * scale,
                    "color": "#e6edf3" if is_main else LINE_COLORS[(i - 1) % len(LINE_COLORS)],
                },
                hovertemplate="%{x}<br>%{y}<extra>%{fullData.name}</extra>",
            )
        )
    main_pos = main[0]["position"] if main else None
    for f in data.get("floods") or []:
        if f["position"] == main_pos:
            fig.add_vrect(
                x0=format_local(f["start"], plant.tz(), DATE_MINUTE),
                x1=format_local(f["end"], plant.tz(), DATE_MINUTE),
                fillcolor=FLOOD_COLOR,
                opacity=0.16,
                line_width=0,
                layer="below",
            )
    for value, color, key in ((TARGET_PER_10MIN, TARGET_COLOR, "target"), (FLOOD_PER_10MIN, FLOOD_COLOR, "flood")):
        fig.add_hline(
            y=value,
            line={"color": color, "width": 2 * scale, "dash": "dash"},
            annotation_text=t(f"alarm.kpi.line.{key}", lang, n=value),
            annotation_position="top left",
            annotation_font={"color": color, "size": 13 * scale},
        )
    peak = max([1, *[max(s["counts"] or [0]) for s in series]])
    fig.update_yaxes(title_text=t("alarm.kpi.per_10min", lang), rangemode="tozero", range=[0, max(12, peak * 1.1)])
    # numeric dates: plotly's own date ticks name the month in English ("Dec 7")
    fig.update_xaxes(tickangle=0, nticks=8, tickformat="%H:%M<br>%m-%d", hoverformat=DATE_MINUTE)
    legend = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "font": {"size": 13 * scale}}
    return _layout(fig, RATE_HEIGHT, scale, legend=legend, margin=_margin(scale, t=30, b=44))


def priority_figure(data: dict[str, Any], lang: str, scale: float = 1.0) -> go.Figure:
    """Actual share per priority against ISA-18.2's 80 % low, 15 % medium, 5 % high (urgent with high)."""
    counts = {p["priority"]: p for p in data.get("priority_counts") or []}
    order = ["low", "medium", "high", "urgent"]
    names = [t(f"alarm.priority.{p}", lang) for p in order]
    actual = [100 * float(counts.get(p, {}).get("share") or 0) for p in order]
    targets = {"low": 80.0, "medium": 15.0, "high": 5.0}
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=names,
            y=actual,
            name=t("alarm.kpi.actual", lang),
            marker_color=[PRIORITY_COLORS[p] for p in order],
            text=[f"{v:.0f} %" for v in actual],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1f} %<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[names[0], names[1], names[2]],
            y=[targets["low"], targets["medium"], targets["high"]],
            name=t("alarm.kpi.target", lang),
            mode="markers",
            marker={"symbol": "line-ew", "size": 44 * scale, "line": {"width": 4 * scale, "color": "#e6edf3"}},
            hovertemplate="%{x}: %{y:.0f} %<extra></extra>",
        )
    )
    fig.update_yaxes(ticksuffix=" %", range=[0, 105])
    return _layout(fig, CHART_HEIGHT, scale, showlegend=True, bargap=0.35)


def bad_actor_figure(data: dict[str, Any], plant: Plant, lang: str, scale: float = 1.0) -> go.Figure:
    rows = list(data.get("top_bad_actors") or [])[::-1]
    fig = go.Figure(
        go.Bar(
            y=[r["alarm_id"] for r in rows],
            x=[r["count"] for r in rows],
            orientation="h",
            marker_color=[PRIORITY_COLORS.get(r["priority"], "#8b949e") for r in rows],
            text=[f"{r['count']} · {100 * r['share']:.0f} %" for r in rows],
            textposition="auto",
            # plotly reads hover text as a little HTML: plant names are escaped to stay text
            customdata=[html_escape(_what(data, r["alarm_id"], plant, lang)) for r in rows],
            hovertemplate="%{y}: %{x}<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=t("alarm.kpi.activations", lang))
    fig.update_yaxes(automargin=True, tickfont={"family": "ui-monospace, monospace", "size": 13 * scale})
    return _layout(fig, CHART_HEIGHT, scale, margin=_margin(scale, l=8, b=40))


# --- tables and cards --------------------------------------------------------------------------------


def _what(data: dict[str, Any], alarm_id: str, plant: Plant, lang: str) -> str:
    """What a listed alarm is about, built in the user's language (empty for an alarm no longer stored)."""
    row = (data.get("alarms") or {}).get(alarm_id)
    return alarm_text(row, plant, lang) if isinstance(row, dict) else ""


def _prio(p: str, lang: str) -> html.Td:
    return html.Td(html.Span(t(f"alarm.priority.{p}", lang), className=f"sw-al-prio sw-prio-{p}"))


def _card(value: str, text: str, status: str = "") -> html.Div:
    return html.Div(
        [html.Div(value, className="sw-kpi-v"), html.Div(text, className="sw-kpi-l")],
        className=f"sw-kpi-card {status}".strip(),
    )


def cards(data: dict[str, Any], lang: str) -> list[html.Div]:
    avg = float(data.get("average_per_10min") or 0)
    peak = int(data.get("peak_per_10min") or 0)
    main = (data.get("rate") or [{}])[0]
    flood_share = 100 * float(main.get("share_in_flood") or 0)
    return [
        _card(str(data.get("total") or 0), t("alarm.kpi.total", lang)),
        _card(
            f"{avg:.2f}",
            t("alarm.kpi.average", lang, n=TARGET_PER_10MIN),
            "sw-kpi-good" if avg <= TARGET_PER_10MIN else "sw-kpi-bad",
        ),
        _card(str(peak), t("alarm.kpi.peak", lang), "sw-kpi-bad" if peak > FLOOD_PER_10MIN else ""),
        _card(f"{flood_share:.1f} %", t("alarm.kpi.flood_share", lang), "sw-kpi-bad" if flood_share > 1 else ""),
        _card(str(len(data.get("chattering") or [])), t("alarm.kpi.chattering", lang)),
        _card(str(len(data.get("standing") or [])), t("alarm.kpi.standing", lang)),
        _card(str(len(data.get("shelved") or [])), t("alarm.kpi.shelved", lang)),
    ]


def flood_table(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    rows = [
        [
            html.Td(position_name(f["position"], plant, lang)),
            html.Td(format_local(f["start"], plant.tz(), DATE_MINUTE), className="text-nowrap"),
            html.Td(format_local(f["end"], plant.tz(), DATE_MINUTE), className="text-nowrap"),
            html.Td(str(f["count"]), className="text-end"),
            html.Td(str(f["peak"]), className="text-end"),
        ]
        for f in sorted(data.get("floods") or [], key=lambda f: -f["start"])[:50]
    ]
    head = [t(f"alarm.kpi.col.{k}", lang) for k in ("position", "start", "end", "alarms", "peak")]
    return kpi_table(head, rows, t("alarm.kpi.none.floods", lang))


def chatter_table(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    rows = [
        [
            html.Td(c["alarm_id"], className="sw-al-mono"),
            html.Td(_what(data, c["alarm_id"], plant, lang)),
            _prio(c["priority"], lang),
            html.Td(str(c["activations"]), className="text-end"),
            html.Td(str(c["peak_per_minute"]), className="text-end"),
            html.Td(str(c["episodes"]), className="text-end"),
        ]
        for c in (data.get("chattering") or [])[:20]
    ]
    cols = ("alarm", "what", "priority", "activations", "per_minute", "episodes")
    head = [t(f"alarm.kpi.col.{k}", lang) for k in cols]
    return kpi_table(head, rows, t("alarm.kpi.none.chattering", lang))


def standing_table(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    rows = [
        [
            html.Td(s["alarm_id"], className="sw-al-mono"),
            html.Td(_what(data, s["alarm_id"], plant, lang)),
            _prio(s["priority"], lang),
            html.Td(format_local(s["since"], plant.tz(), DATE_TIME), className="text-nowrap"),
            html.Td(f"{s['hours']:.1f}", className="text-end"),
            html.Td(t("alarm.state.shelved", lang) if s["shelved"] else ""),
        ]
        for s in (data.get("standing") or [])[:50]
    ]
    head = [t(f"alarm.kpi.col.{k}", lang) for k in ("alarm", "what", "priority", "since", "hours", "note")]
    return kpi_table(head, rows, t("alarm.kpi.none.standing", lang))


def shelved_table(data: dict[str, Any], plant: Plant, lang: str) -> Any:
    rows = [
        [
            html.Td(s["alarm_id"], className="sw-al-mono"),
            html.Td(_what(data, s["alarm_id"], plant, lang)),
            _prio(s["priority"], lang),
            html.Td(s["by"] or "-"),
            html.Td(format_local(s["since"], plant.tz(), DATE_TIME), className="text-nowrap"),
            html.Td(format_local(s["until"], plant.tz(), DATE_TIME), className="text-nowrap"),
            html.Td(s["reason"] or ""),
        ]
        for s in (data.get("shelved") or [])[:100]
    ]
    head = [t(f"alarm.kpi.col.{k}", lang) for k in ("alarm", "what", "priority", "by", "since", "until", "reason")]
    return kpi_table(head, rows, t("alarm.kpi.none.shelved", lang))


# --- layout ------------------------------------------------------------------------------------------


def _chart(title: str, body: Any, wide: bool = False) -> html.Div:
    return html.Div([html.H2(title), body], className="sw-kpi-chart" + (" sw-kpi-wide" if wide else ""))


def _graph(gid: str, fig: go.Figure, height: int) -> dcc.Graph:
    # rem: the box grows with the root font size on 4K walls; the figure's fonts follow (``ids.SCALE``)
    return dcc.Graph(id=gid, figure=fig, config=GRAPH_CONFIG, style={"height": f"{height / 16:.2f}rem"})


def render(data: dict[str, Any] | None, plant: Plant, lang: str, scale: float = 1.0) -> dict[str, Any]:
    """Every block of the page for ``data`` (None: empty blocks); charts sized for ``scale``."""
    if data is None:
        empty = html.Div(t("alarm.kpi.unavailable", lang), className="sw-muted")
        blank = _layout(go.Figure(), CHART_HEIGHT, scale)
        return {k: empty for k in ("cards", "floods", "chatter", "standing", "shelved")} | {
            "rate": blank,
            "priority": blank,
            "bad": blank,
        }
    return {
        "cards": cards(data, lang),
        "rate": rate_figure(data, plant, lang, scale),
        "priority": priority_figure(data, lang, scale),
        "bad": bad_actor_figure(data, plant, lang, scale),
        "floods": flood_table(data, plant, lang),
        "chatter": chatter_table(data, plant, lang),
        "standing": standing_table(data, plant, lang),
        "shelved": shelved_table(data, plant, lang),
    }


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    try:
        data: dict[str, Any] | None = kpi_data("24h", None)
    except Exception:
        logger.exception("alarm KPIs: store not readable, showing the page without data")
        data = None
    blocks = render(data, plant, lang)
    windows = [{"label": t(f"alarm.time.{k}", lang), "value": k} for k in WINDOWS]
    areas = [{"label": t("alarm.kpi.site", lang), "value": SITE}] + [
        {"label": label(a.name, a.name_zh, lang), "value": a.id} for a in plant.areas
    ]
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("alarm.kpi.title", lang), className="sw-page-title"),
                    dbc.Select(id=ids.WINDOW, options=windows, value="24h", size="sm", style={"width": "auto"}),
                    dbc.Select(id=ids.AREA, options=areas, value=SITE, size="sm", style={"width": "auto"}),
                    dcc.Link(t("alarm.kpi.back", lang), href="/alarms", className="ms-auto"),
                ],
                className="sw-al-head",
            ),
            html.Div(id=ids.ERROR, className="text-danger", role="alert"),
            html.Div(blocks["cards"], id=ids.CARDS, className="sw-kpi-grid"),
            html.Div(
                [
                    _chart(t("alarm.kpi.rate", lang), _graph(ids.RATE, blocks["rate"], RATE_HEIGHT), wide=True),
                    _chart(t("alarm.kpi.priorities", lang), _graph(ids.PRIORITY, blocks["priority"], CHART_HEIGHT)),
                    _chart(t("alarm.kpi.bad_actors", lang), _graph(ids.BAD_ACTORS, blocks["bad"], CHART_HEIGHT)),
                    _chart(t("alarm.kpi.floods", lang), html.Div(blocks["floods"], id=ids.FLOODS)),
                    _chart(t("alarm.kpi.chatter", lang), html.Div(blocks["chatter"], id=ids.CHATTER)),
                    _chart(t("alarm.kpi.standing_title", lang), html.Div(blocks["standing"], id=ids.STANDING)),
                    _chart(t("alarm.kpi.shelved_title", lang), html.Div(blocks["shelved"], id=ids.SHELVED), wide=True),
                ],
                className="sw-kpi-charts",
            ),
            dcc.Store(id=ids.SHOWN, data={"key": _key(data, lang, "24h", "", 1.0)}),
            dcc.Store(id=ids.SCALE),
        ]
    )


def _key(data: dict[str, Any] | None, lang: str, window: str, area: str, scale: float) -> str:
    if data is None:
        return "none"
    stable = {k: v for k, v in data.items() if k not in ("now_ms", "start_ms", "end_ms")}
    return digest([stable, lang, window, area, scale])


clientside_callback(
    ClientsideFunction(namespace="swAlarms", function_name="scale"),
    Output(ids.SCALE, "data"),
    Input(ids.CARDS, "id"),
)


@callback(
    Output(ids.CARDS, "children"),
    Output(ids.RATE, "figure"),
    Output(ids.PRIORITY, "figure"),
    Output(ids.BAD_ACTORS, "figure"),
    Output(ids.FLOODS, "children"),
    Output(ids.CHATTER, "children"),
    Output(ids.STANDING, "children"),
    Output(ids.SHELVED, "children"),
    Output(ids.SHOWN, "data"),
    Output(ids.ERROR, "children"),
    Input(ids.WINDOW, "value"),
    Input(ids.AREA, "value"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.SCALE, "data"),
    State(ids.SHOWN, "data"),
    prevent_initial_call=True,
)
def refresh(
    window: str | None, area: str | None, n: int | None, scale: Any, shown: dict[str, Any] | None
) -> tuple[Any, ...]:
    if dash.ctx.triggered_id == shell_ids.TICK and (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    window = window or "24h"
    area = "" if area in (None, "", SITE) else area
    if area and area not in {a.id for a in plant.areas}:
        return (*[dash.no_update] * 9, t("alarm.kpi.bad_area", lang))
    try:
        data = kpi_data(window, area or None)
    except ValueError as exc:
        return (*[dash.no_update] * 9, t("alarm.filter.bad", lang, error=str(exc)))
    scale = min(3.0, max(1.0, float(scale))) if isinstance(scale, int | float) else 1.0
    scale = round(scale, 2)
    key = _key(data, lang, window, area, scale)
    if shown and shown.get("key") == key:
        raise PreventUpdate  # nothing new since the last answer
    b = render(data, plant, lang, scale)
    return (
        b["cards"],
        b["rate"],
        b["priority"],
        b["bad"],
        b["floods"],
        b["chatter"],
        b["standing"],
        b["shelved"],
        {"key": key},
        "",
    )
