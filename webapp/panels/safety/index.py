"""The safety page's early-warning index (``engine.safety_index``): the plant's value and colour (its worst zone's),
a radar chart of the worst zone's seven parts, and every zone with its value, colour and its (at most five) largest
contributors, linked to its place on the 3D scene; recomputed every ``REFRESH_TICKS`` shell ticks (4 s). Every text
is a Dash child (a text node), never markup."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from dash.exceptions import PreventUpdate

from engine.safety_index import PARTS, Contributor
from i18n import label, t
from plant import Plant
from webapp import context as web
from webapp.live.safety_index import IndexView, current
from webapp.panels import panel_callback
from webapp.shell import ids as shell_ids

REFRESH_TICKS = 2  # shell ticks of 2 s: at least every 5 s


class ids:  # noqa: N801 - a namespace of this panel's component ids
    BODY = "safety-si-body"


def _why(c: Contributor, lang: str) -> str:
    return f"{t(f'si.part.{c.part}', lang)} +{c.points:.1f}"


def _radar(view: IndexView, plant: Plant, lang: str) -> go.Figure:
    z = view.zones.get(view.worst_zone or "")
    values = [z.parts[p] if z else 0.0 for p in PARTS]
    names = [t(f"si.part.{p}", lang) for p in PARTS]
    fig = go.Figure(
        go.Scatterpolar(r=[*values, values[0]], theta=[*names, names[0]], fill="toself", line={"color": "#f76b15"})
    )
    fig.update_layout(
        template="plotly_dark",
        height=320,
        margin={"l": 70, "r": 70, "t": 20, "b": 20},
        paper_bgcolor="rgba(0,0,0,0)",
        polar={"radialaxis": {"range": [0, 100]}, "bgcolor": "rgba(0,0,0,0)"},
        font={"family": "system-ui, 'Noto Sans CJK SC', sans-serif", "color": "#e6edf3"},
        showlegend=False,
    )
    return fig


def body(lang: str) -> list[Any]:
    plant = web.plant()
    view = current(plant)
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


def layout(lang: str) -> html.Div:
    return html.Div([html.H5(t("si.title", lang)), html.Div(body(lang), id=ids.BODY)], className="sw-si")


@panel_callback(Output(ids.BODY, "children"), Input(shell_ids.TICK, "n_intervals"), prevent_initial_call=True)
def refresh_index(n: int | None) -> Any:
    if (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    return body(web.lang())
