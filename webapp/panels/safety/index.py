"""The safety page's early-warning index (``engine.safety_index``): the plant's value and colour (its worst zone's),
a radar chart of the worst zone's seven parts, and every zone with its value, colour and its (at most five) largest
contributors, linked to its place on the 3D scene; recomputed every ``REFRESH_TICKS`` shell ticks (4 s). Between
the plant's figures and the zones, the trend: the plant's and a chosen zone's stored index (``store.safety_index``,
a point a minute from the safety service) over the last 24 h on the four colour bands, redrawn every
``TREND_TICKS`` ticks and when the zone changes. Every text is a Dash child (a text node), never markup."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, ctx, dcc, html
from dash.exceptions import PreventUpdate

from engine.clock import to_local
from engine.safety_index import COLOURS, PARTS, PLANT, Contributor
from i18n import label, t
from plant import Plant
from webapp import context as web
from webapp.live.safety_index import IndexView, current, trend
from webapp.panels import panel_callback
from webapp.shell import ids as shell_ids

REFRESH_TICKS = 2  # shell ticks of 2 s: at least every 5 s
TREND_TICKS = 30  # the stored points come a minute apart
BAND_RGBA = {  # the colour bands behind the trend (the theme's --sw-blue ... --sw-red, faint)
    "blue": "rgba(62,155,255,0.14)",
    "yellow": "rgba(255,197,61,0.14)",
    "orange": "rgba(247,107,21,0.18)",
    "red": "rgba(229,72,77,0.30)",
}


class ids:  # noqa: N801 - a namespace of this panel's component ids
    HEAD = "safety-si-head"
    BODY = "safety-si-body"
    ZONE = "safety-si-trend-zone"
    TREND = "safety-si-trend"


def _why(c: Contributor, lang: str) -> str:
    return f"{t(f'si.part.{c.part}', lang)} +{c.points:.1f}"


def wrap_label(text: str, width: int = 10) -> str:
    """A radar label longer than ``width`` characters on two lines (at the space nearest its middle), so the labels
    left and right of the chart fit a phone's width; a label without a space (Chinese) as it is."""
    if len(text) <= width or " " not in text:
        return text
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    return f"{text[:cut]}<br>{text[cut + 1 :]}"


def _radar(view: IndexView, plant: Plant, lang: str) -> go.Figure:
    z = view.zones.get(view.worst_zone or "")
    values = [z.parts[p] if z else 0.0 for p in PARTS]
    names = [wrap_label(t(f"si.part.{p}", lang)) for p in PARTS]
    fig = go.Figure(
        go.Scatterpolar(r=[*values, values[0]], theta=[*names, names[0]], fill="toself", line={"color": "#f76b15"})
    )
    fig.update_layout(
        template="plotly_dark",
        height=320,
        margin={"l": 70, "r": 70, "t": 40, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        polar={
            # the scale between the first two parts' spokes, clear of their labels
            "radialaxis": {"range": [0, 100], "tickfont": {"size": 10}, "angle": 180 / len(PARTS)},
            "angularaxis": {"tickfont": {"size": 11}},
            "bgcolor": "rgba(0,0,0,0)",
        },
        font={"family": "system-ui, 'Noto Sans CJK SC', sans-serif", "color": "#e6edf3"},
        showlegend=False,
    )
    return fig


def body(lang: str, view: IndexView | None = None) -> list[Any]:
    plant = web.plant()
    view = view or current(plant)
    zones = {z.id: z for z in plant.zones}
    worst = zones.get(view.worst_zone or "")
    head = html.Div(
        [
            html.Div(
                [
                    html.Div(f"{view.value:.0f}", className=f"sw-si-value sw-si-{view.colour}"),
                    html.Div(t("si.plant", lang), className="sw-hd-fig-k"),
                    html.Div(
                        t("si.worst", lang, zone=label(worst.name, worst.name_zh, lang)) if worst else "",
                        className="small",
                    ),
                    html.Div(t(f"si.colour.{view.colour}", lang), className=f"badge sw-si-{view.colour} mt-1"),
                ],
                className="sw-si-plant",
            ),
            dcc.Graph(figure=_radar(view, plant, lang), config={"displayModeBar": False}, className="sw-si-radar"),
        ],
        className="sw-si-head",
    )
    rows = []
    for z in sorted(view.zones.values(), key=lambda z: -z.value):
        pz = zones.get(z.zone)
        if pz is None:
            continue
        cx = sum(p[0] for p in pz.polygon) / len(pz.polygon)
        cy = sum(p[1] for p in pz.polygon) / len(pz.polygon)
        c = view.colours.get(z.zone, "blue")
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [
                            label(pz.name, pz.name_zh, lang),
                            html.A(t("hd.on_map", lang), href=f"/scene?at={cx:.0f},{cy:.0f}", className="ms-1 small"),
                        ]
                    ),
                    html.Td(html.Span(f"{z.value:.0f}", className=f"badge sw-si-{c}")),
                    html.Td(", ".join(_why(k, lang) for k in z.contributors) or "-", className="small"),
                ]
            )
        )
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th(t(f"si.col.{k}", lang)) for k in ("zone", "value", "why")])), html.Tbody(rows)],
        size="sm",
        className="sw-table",
        responsive=True,
    )
    return [head, html.Div(t("si.explain", lang), className="sw-muted small mb-2"), table]


def trend_figure(plant: Plant, zone: str | None, lang: str) -> go.Figure:
    """The plant's and ``zone``'s stored index over the last 24 h, on the four colour bands."""
    points = trend(zone)
    tz = plant.tz()
    names = {z.id: label(z.name, z.name_zh, lang) for z in plant.zones}
    fig = go.Figure()
    edges = [0.0, *plant.safety_index.thresholds, 100.0]
    for c, y0, y1 in zip(COLOURS, edges, edges[1:], strict=False):
        fig.add_hrect(y0=y0, y1=y1, fillcolor=BAND_RGBA[c], line_width=0, layer="below")
    series = [(PLANT, t("si.trend.plant", lang), "#e6edf3")]
    if zone and zone != PLANT:
        series.append((zone, names.get(zone, zone), "#f76b15"))
    for key, name, colour in series:
        pts = points.get(key, [])
        fig.add_trace(
            go.Scatter(
                x=[to_local(p.ts, tz) for p in pts],
                y=[p.value for p in pts],
                name=name,
                mode="lines",
                line={"color": colour, "width": 2, "shape": "hv"},
                hovertemplate="%{x|%H:%M} %{y:.0f}<extra>%{fullData.name}</extra>",
            )
        )
    empty = not any(points.get(k) for k, _, _ in series)
    fig.update_layout(
        template="plotly_dark",
        height=280,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        yaxis={"range": [0, 100], "title": None, "fixedrange": True},
        xaxis={"title": None, "tickformat": "%H:%M<br>%m-%d"},  # numbers: the same in either language
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        font={"family": "system-ui, 'Noto Sans CJK SC', sans-serif", "color": "#e6edf3"},
        annotations=[
            {
                "text": t("si.trend.empty", lang),
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ]
        if empty
        else [],
    )
    return fig


def trend_block(lang: str, zone: str | None) -> html.Div:
    plant = web.plant()
    options = [{"label": label(z.name, z.name_zh, lang), "value": z.id} for z in plant.zones]
    return html.Div(
        [
            html.H6(t("si.trend.title", lang), className="mt-3"),
            html.Div(
                [
                    html.Span(t("si.trend.zone", lang), className="small me-2"),
                    dcc.Dropdown(
                        id=ids.ZONE, options=options, value=zone, clearable=True, className="sw-si-trend-zone"
                    ),
                ],
                className="d-flex align-items-center mb-1",
            ),
            dcc.Graph(id=ids.TREND, figure=trend_figure(plant, zone, lang), config={"displayModeBar": False}),
        ],
        className="sw-si-trend",
    )


def layout(lang: str) -> html.Div:
    view = current(web.plant())
    head, *rest = body(lang, view)
    return html.Div(
        [
            html.H5(t("si.title", lang)),
            html.Div(head, id=ids.HEAD),
            trend_block(lang, view.worst_zone),
            html.Div(rest, id=ids.BODY),
        ],
        className="sw-si",
    )


@panel_callback(
    Output(ids.HEAD, "children"),
    Output(ids.BODY, "children"),
    Input(shell_ids.TICK, "n_intervals"),
    prevent_initial_call=True,
)
def refresh_index(n: int | None) -> Any:
    if (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    head, *rest = body(web.lang())
    return head, rest


@panel_callback(
    Output(ids.TREND, "figure"),
    Input(ids.ZONE, "value"),
    Input(shell_ids.TICK, "n_intervals"),
    prevent_initial_call=True,
)
def refresh_trend(zone: str | None, n: int | None) -> Any:
    if ctx.triggered_id == shell_ids.TICK and (n or 0) % TREND_TICKS:
        raise PreventUpdate
    plant = web.plant()
    if zone is not None and zone not in {z.id for z in plant.zones}:
        zone = None
    return trend_figure(plant, zone, web.lang())
