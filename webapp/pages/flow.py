"""The process flow view (``/production/flow``, K4): the smelting chain as a flowsheet.

Units and streams come from the plant file (``production.flowsheet``, names in English and Chinese), placed by
``engine.flow``; each unit box is coloured by the worst state of its equipment and shows how many run, its
open alarms and its key values, each stream its live value. Clicking a unit (or arriving with
``?unit=<id>``, as the overview's chain strip links) shows its equipment with their states and today's
availability (the production page's KPI engine) and the last eight hours of its key values. Drawn with
plotly shapes and annotations: left to right on a wall screen, top to bottom on a phone. Read only.
"""

from __future__ import annotations

import html as html_text
import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from plotly.subplots import make_subplots

from engine.clock import to_local
from engine.flow import Flow, FlowUnitView, flowsheet
from i18n import label, t
from plant.schema import Plant
from webapp import context as web
from webapp.live.flow import flow_live, unit_trends
from webapp.live.production import production_data
from webapp.live.summary import pct, unit_symbol
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

# not in the navbar: the production page and the overview's chain strip link to it
dash.register_page(
    __name__,
    path="/production/flow",
    name="nav.flow",
    order=16,
    title=web.page_title("nav.flow"),
    nav=False,
)

REFRESH_TICKS = 5  # shell ticks (2 s) between refreshes
GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True}
STATE_COLORS = {
    "run": "#30a46c",
    "idle": "#3e9bff",
    "stopped": "#6e7681",
    "maintenance": "#f5a524",
    "fault": "#e5484d",
    "none": "#6e7681",
}
VALUE_COLORS = {"ok": "#e6edf3", "warn": "#f5a524", "alarm": "#ff6b6b", "none": "#8b949e"}
BOX_W, BOX_H = 0.78, 0.62  # a unit box, in grid cells
WALL_CELL_PX = (290, 215)  # one grid cell on a wall screen (width, height)
PHONE_CELL_PX = (122, 140)
STREAM_COLOR = "#8b949e"
TREND_COLORS = ("#58a6ff", "#ffc53d", "#3dd68c", "#ff7b72")


class ids:  # noqa: N801 - a namespace of this page's component ids
    WALL = "flow-wall"
    PHONE = "flow-phone"
    UNIT = "flow-unit"  # the selected unit's id
    TAG = "flow-tag"  # the value clicked: its tag, whose trend the trends box shows alone
    DETAIL = "flow-detail"
    TRENDS = "flow-trends"
    LEGEND = "flow-legend"


# --- the flowsheet figure -------------------------------------------------------------------------------


def _esc(text: str) -> str:
    """Plant-file text drawn in a plotly annotation: escaped, so no markup of its own reaches the page."""
    return html_text.escape(text, quote=True)


def _xy(unit: FlowUnitView, phone: bool) -> tuple[float, float]:
    return (float(unit.row), -float(unit.col)) if phone else (float(unit.col), -float(unit.row))


def _edge(c: tuple[float, float], o: tuple[float, float], hw: float, hh: float) -> tuple[float, float]:
    """Where the line from the centre ``c`` towards ``o`` leaves the box of half sizes ``hw``, ``hh``."""
    dx, dy = o[0] - c[0], o[1] - c[1]
    if dx == 0 and dy == 0:
        return c
    s = min(hw / abs(dx) if dx else float("inf"), hh / abs(dy) if dy else float("inf"))
    return c[0] + dx * s, c[1] + dy * s


def _measure(tag: str, lang: str) -> str:
    key = f"overview.measure.{tag.rsplit('.', 1)[-1].lower()}"
    what = t(key, lang)
    return tag if what == key else what


def _box_head(unit: FlowUnitView, live: dict[str, Any], lang: str, phone: bool) -> list[str]:
    """A unit box's first lines: its name, how many of its units run, its open alarms."""
    name = _esc(label(unit.name, unit.name_zh, lang))
    state = live.get("state", "none")
    lines = [f"<b>{name}</b>"]
    if live.get("known"):
        key = "flow.running_short" if phone else "flow.running"
        lines.append(
            f"<span style='color:{STATE_COLORS.get(state, '#6e7681')}'>"
            + _esc(t(key, lang, n=live["running"], total=live["known"]))
            + "</span>"
        )
    else:
        lines.append(_esc(t("flow.no_state", lang)))
    if live.get("alarms"):
        lines.append("<span style='color:#ff6b6b'>" + _esc(t("flow.alarms", lang, n=live["alarms"])) + "</span>")
    return lines


def _box_values(live: dict[str, Any], lang: str, phone: bool) -> list[tuple[str, str]]:
    """A unit box's key values, each ``(tag, its line)``: a line of its own, which a click opens the trend of."""
    values = live.get("values", [])[: 1 if phone else 3]
    measures = [v["tag"].rsplit(".", 1)[-1] for v in values]
    out = []
    for v in values:
        equipment, measure = v["tag"].rsplit(".", 1)
        what = _measure(v["tag"], lang)
        if measures.count(measure) > 1:  # three converters' bath temperatures: say which is which
            what = f"{equipment} {what}"
        shown = f"{v['text']} {_esc(v['unit'])}".strip()
        colour = VALUE_COLORS.get(v["status"], VALUE_COLORS["none"])
        out.append(
            (
                v["tag"],
                (f"<span style='color:#8b949e'>{_esc(what)}</span> " if not phone else "")
                + f"<span style='color:{colour};text-decoration:underline dotted'>{_esc(shown)}</span>",
            )
        )
    return out


VALUE_PREFIX = "tag:"  # an annotation's name that makes it a value's click target


def _value_note(x: float, y: float, yshift: float, tag: str, text: str, size: int, lang: str) -> dict[str, Any]:
    """One value on the drawing as its own annotation, which catches clicks (``clickAnnotationData``)."""
    return {
        "x": x,
        "y": y,
        "yshift": yshift,
        "text": text,
        "showarrow": False,
        "font": {"size": size, "color": "#e6edf3"},
        "align": "center",
        "captureevents": True,
        "name": VALUE_PREFIX + tag,
        "hovertext": _esc(t("flow.value_trend", lang, tag=tag)),
    }


def flow_figure(flow: Flow, live: dict[str, Any], lang: str, phone: bool, selected: str | None = None) -> go.Figure:
    fig = go.Figure()
    cell = PHONE_CELL_PX if phone else WALL_CELL_PX
    cols, rows = (flow.rows, flow.columns) if phone else (flow.columns, flow.rows)
    hw, hh = (0.46 if phone else BOX_W / 2), BOX_H / 2
    centre = {u.id: _xy(u, phone) for u in flow.units}
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    units = live.get("units", {})
    for u in flow.units:
        x, y = centre[u.id]
        ul = units.get(u.id, {})
        colour = STATE_COLORS.get(ul.get("state", "none"), STATE_COLORS["none"])
        shapes.append(
            {
                "type": "rect",
                "x0": x - hw,
                "x1": x + hw,
                "y0": y - hh,
                "y1": y + hh,
                "line": {"color": "#e6edf3" if u.id == selected else colour, "width": 4 if u.id == selected else 2},
                "fillcolor": "#161b22",
                "layer": "below",
            }
        )
        shapes.append(
            {
                "type": "rect",
                "x0": x - hw,
                "x1": x - hw + 0.035 * (2 if phone else 1),
                "y0": y - hh,
                "y1": y + hh,
                "line": {"width": 0},
                "fillcolor": colour,
                "layer": "below",
            }
        )
        size = 10 if phone else 15
        head = _box_head(u, ul, lang, phone)
        values = _box_values(ul, lang, phone)
        line = size * 1.3  # px between the lines of a box, as plotly sets them
        n = len(head) + len(values)

        def shift(i: int, n: int = n, line: float = line) -> float:  # line i's offset up from the box's middle
            return ((n - 1) / 2 - i) * line

        annotations.append(
            {
                "x": x,
                "y": y,
                "yshift": (shift(0) + shift(len(head) - 1)) / 2,
                "text": "<br>".join(head),
                "showarrow": False,
                "font": {"size": size, "color": "#e6edf3"},
                "align": "center",
            }
        )
        for i, (tag, text) in enumerate(values, start=len(head)):
            annotations.append(_value_note(x, y, shift(i), tag, text, size, lang))
    streams = live.get("streams", {})
    for s in flow.streams:
        a, b = centre.get(s.source), centre.get(s.target)
        if a is None or b is None:
            continue
        x0, y0 = _edge(a, b, hw + 0.01, hh + 0.01)
        x1, y1 = _edge(b, a, hw + 0.03, hh + 0.03)
        annotations.append(
            {
                "x": x1,
                "y": y1,
                "ax": x0,
                "ay": y0,
                "xref": "x",
                "yref": "y",
                "axref": "x",
                "ayref": "y",
                "showarrow": True,
                "arrowhead": 2,
                "arrowsize": 1.2,
                "arrowwidth": 2,
                "arrowcolor": STREAM_COLOR,
                "text": "",
            }
        )
        v = streams.get(s.id)
        text = _esc(label(s.name, s.name_zh, lang))
        if v is not None and not phone:
            text += f"<br><span style='color:{VALUE_COLORS.get(v['status'], '#8b949e')}'>"
            text += _esc(f"{v['text']} {v['unit']}".strip()) + "</span>"
        note: dict[str, Any] = {
            "x": x0 + (x1 - x0) * 0.5,
            "y": y0 + (y1 - y0) * 0.5,
            "text": text,
            "showarrow": False,
            "font": {"size": 9 if phone else 12, "color": "#c9d1d9"},
            "bgcolor": "rgba(14,17,22,0.85)",
            "borderpad": 2,
        }
        if v is not None and s.tag and not phone:  # the stream's value opens its trend
            note |= {
                "captureevents": True,
                "name": VALUE_PREFIX + s.tag,
                "hovertext": _esc(t("flow.value_trend", lang, tag=s.tag)),
            }
        annotations.append(note)
    # the click targets: one invisible marker per unit, as large as its box
    fig.add_trace(
        go.Scatter(
            x=[centre[u.id][0] for u in flow.units],
            y=[centre[u.id][1] for u in flow.units],
            customdata=[u.id for u in flow.units],
            text=[_esc(label(u.name, u.name_zh, lang)) for u in flow.units],
            mode="markers",
            marker={
                "symbol": "square",
                "size": min(cell) * 0.6,
                "color": "rgba(0,0,0,0)",
            },
            hovertemplate="%{text}<extra></extra>",
        )
    )
    fig.update_layout(
        template="plotly_dark",
        height=int(rows * cell[1]) + 20,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, 'Noto Sans CJK SC', sans-serif", "color": "#e6edf3"},
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        showlegend=False,
        shapes=shapes,
        annotations=annotations,
        clickmode="event",
        dragmode=False,
        hoverlabel={"font": {"family": "system-ui, 'Noto Sans CJK SC', sans-serif"}},
    )
    fig.update_xaxes(visible=False, range=[-0.5, cols - 0.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-(rows - 0.5), 0.5], fixedrange=True)
    return fig


# --- a unit's detail ------------------------------------------------------------------------------------


def _unit(flow: Flow, unit_id: str | None) -> FlowUnitView | None:
    return next((u for u in flow.units if u.id == unit_id), None)


def detail_block(flow: Flow, plant: Plant, live: dict[str, Any], unit_id: str | None, lang: str) -> Any:
    unit = _unit(flow, unit_id)
    if unit is None:
        return html.Div(t("flow.pick_unit", lang), className="sw-muted py-2")
    names = {e.id: label(e.name, e.name_zh, lang) for e in plant.equipment}
    states = live.get("states", {})
    try:
        rows = {r["id"]: r for r in production_data("day")["units"]}
    except Exception:  # the states still show when the KPI engine cannot read its history
        logger.exception("flow: today's availability not readable")
        rows = {}
    head = [t(f"flow.col.{k}", lang) for k in ("equipment", "state", "availability", "failures")]
    body = []
    for eq in unit.equipment:
        st = states.get(eq)
        r = rows.get(eq, {})
        body.append(
            html.Tr(
                [
                    html.Td(names.get(eq, eq)),
                    html.Td(
                        t(f"overview.state.{st}", lang) if st else "–",
                        className=f"sw-flow-state sw-flow-{st or 'none'}",
                    ),
                    html.Td(pct(r.get("availability")), className="text-end"),
                    html.Td(str(r.get("failures", "–")), className="text-end"),
                ]
            )
        )
    table: Any = (
        dbc.Table(
            [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
            className="sw-kpi-table sw-table",
            size="sm",
            responsive=True,
        )
        if body
        else html.Div(t("flow.no_equipment", lang), className="sw-muted")
    )
    return html.Div(
        [
            html.H2(label(unit.name, unit.name_zh, lang), id="flow-unit-title"),
            table,
            html.Div(
                [
                    html.Span(t("flow.download", lang), className="sw-muted me-1"),
                    html.A("CSV", href=f"/production/units.csv?window=day&lang={lang}", className="sw-dl"),
                    " · ",
                    html.A("Excel", href=f"/production/units.xlsx?window=day&lang={lang}", className="sw-dl"),
                    " · ",
                    dcc.Link(t("flow.to_production", lang), href="/production"),
                ],
                className="small",
            ),
        ]
    )


def _trend_tags(plant: Plant, unit: FlowUnitView | None, tag: str | None) -> tuple[str, ...]:
    """The tags the trends box shows: the value clicked alone, else the selected unit's key values."""
    if tag and any(tg.id == tag for tg in plant.tags):
        return (tag,)
    return unit.tags if unit is not None else ()


def trends_figure(plant: Plant, unit: FlowUnitView | None, lang: str, tag: str | None = None) -> go.Figure:
    tags = _trend_tags(plant, unit, tag)
    data = unit_trends(tags) if tags else {"series": {}}
    units = {tg.id: tg.unit or "" for tg in plant.tags}
    n = max(1, len(tags))
    titles = [_esc(f"{tag} · {_measure(tag, lang)} ({unit_symbol(units.get(tag, ''))})") for tag in tags]
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.12, subplot_titles=titles or None)
    tz = plant.tz()
    for i, tag in enumerate(tags, start=1):
        s = data["series"].get(tag, {"x": [], "y": []})
        x = [to_local(int(ms), tz).replace(tzinfo=None) if ms is not None else None for ms in s["x"]]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=s["y"],
                mode="lines",
                connectgaps=False,
                line={"color": TREND_COLORS[(i - 1) % len(TREND_COLORS)], "width": 1.6},
                name=tag,
                hovertemplate="%{x|%H:%M}  %{y}<extra>" + _esc(tag) + "</extra>",
            ),
            row=i,
            col=1,
        )
    fig.update_layout(
        template="plotly_dark",
        height=trend_height(n),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 12, "color": "#e6edf3", "family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        margin={"l": 48, "r": 12, "t": 24, "b": 28},
        showlegend=False,
    )
    fig.update_annotations(font={"size": 12, "color": "#adbac7"}, x=0, xanchor="left")
    fig.update_xaxes(gridcolor="#222a35", tickformat="%H:%M")
    fig.update_yaxes(gridcolor="#222a35", zeroline=False)
    return fig


def _legend(lang: str) -> list[Any]:
    return [
        html.Span(
            [
                html.Span(className="sw-flow-swatch", style={"background": STATE_COLORS[s]}),
                t(f"overview.state.{s}", lang),
            ],
            className="sw-flow-key",
        )
        for s in ("run", "idle", "stopped", "maintenance", "fault")
    ]


# --- layout ---------------------------------------------------------------------------------------------


def layout(unit: str | None = None, tag: str | None = None, **_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    flow = flowsheet(plant)
    selected = unit if _unit(flow, unit) is not None else None
    tag = tag if tag and any(tg.id == tag for tg in plant.tags) else None
    try:
        live = flow_live(plant, flow)
    except Exception:  # the flowsheet still draws without a store; the first refresh fills it in
        logger.exception("flow: no live data for the first paint")
        live = {"units": {}, "streams": {}, "states": {}}
    body = html.Div(
        [
            html.Div(t("flow.no_flowsheet", lang), className="sw-muted py-3") if not flow.units else None,
            dcc.Graph(
                id=ids.WALL,
                figure=flow_figure(flow, live, lang, phone=False, selected=selected),
                config=GRAPH_CONFIG,
                className="sw-flow-wall",
            ),
            dcc.Graph(
                id=ids.PHONE,
                figure=flow_figure(flow, live, lang, phone=True, selected=selected),
                config=GRAPH_CONFIG,
                className="sw-flow-phone",
            ),
        ]
    )
    sel = _unit(flow, selected)
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("flow.title", lang), className="sw-page-title"),
                    dcc.Link(t("nav.production", lang), href="/production"),
                    dcc.Link(t("nav.quality", lang), href="/production/quality"),
                    html.Div(_legend(lang), id=ids.LEGEND, className="sw-flow-legend"),
                ],
                className="sw-al-head",
            ),
            html.Div(t("flow.hint", lang), className="sw-muted small mb-1"),
            body,
            html.Div(
                [
                    html.Div(detail_block(flow, plant, live, selected, lang), id=ids.DETAIL, className="sw-kpi-chart"),
                    html.Div(
                        [
                            html.H2(t("flow.trends", lang)),
                            dcc.Graph(
                                id=ids.TRENDS,
                                figure=trends_figure(plant, sel, lang, tag) if sel is not None or tag else go.Figure(),
                                config=GRAPH_CONFIG,
                                style=_trend_style(_trend_tags(plant, sel, tag)),
                            ),
                        ],
                        className="sw-kpi-chart",
                    ),
                ],
                className="sw-flow-below",
            ),
            dcc.Store(id=ids.UNIT, data=selected),
            dcc.Store(id=ids.TAG, data=tag),
        ],
        className="sw-flow",
    )


@callback(
    Output(ids.UNIT, "data"),
    Output(ids.TAG, "data"),
    Input(ids.WALL, "clickData"),
    Input(ids.PHONE, "clickData"),
    Input(ids.WALL, "clickAnnotationData"),
    Input(ids.PHONE, "clickAnnotationData"),
    State(ids.UNIT, "data"),
    prevent_initial_call=True,
)
def pick(
    wall: dict[str, Any] | None,
    phone: dict[str, Any] | None,
    wall_note: dict[str, Any] | None,
    phone_note: dict[str, Any] | None,
    current: str | None,
) -> tuple[Any, Any]:
    """A unit clicked on either drawing (its id, from the click target's customdata): its detail and the trends
    of its key values; a value clicked (an annotation named ``tag:<id>``): that tag's trend alone, its unit
    selected when it is one of a unit's key values."""
    trigger = dash.ctx.triggered_id
    flow = flowsheet(web.plant())
    noted = [p for p in dash.ctx.triggered_prop_ids if p.endswith(".clickAnnotationData")]
    if noted:
        trigger = noted[0].rsplit(".", 1)[0]
        note = (wall_note if trigger == ids.WALL else phone_note) or {}
        name = str((note.get("annotation") or {}).get("name") or "")
        if not name.startswith(VALUE_PREFIX):
            raise PreventUpdate
        tag = name[len(VALUE_PREFIX) :]
        if not any(tg.id == tag for tg in web.plant().tags):
            raise PreventUpdate
        owner = next((u.id for u in flow.units if tag in u.tags), None)
        return (owner or current), tag
    click = wall if trigger == ids.WALL else phone
    unit_note = wall_note if trigger == ids.WALL else phone_note
    if unit_note and click and abs(int(unit_note.get("timestamp") or 0) - int(click.get("timestamp") or 0)) < 1000:
        raise PreventUpdate  # the click on a value reached the unit's box below it too: the value wins
    points = (click or {}).get("points") or []
    if not points or not isinstance(points[0].get("customdata"), str):
        raise PreventUpdate
    unit_id = points[0]["customdata"]
    if _unit(flow, unit_id) is None:
        raise PreventUpdate
    return str(unit_id), None


@callback(
    Output(ids.WALL, "figure"),
    Output(ids.PHONE, "figure"),
    Output(ids.DETAIL, "children"),
    Output(ids.TRENDS, "figure"),
    Output(ids.TRENDS, "style"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.UNIT, "data"),
    Input(ids.TAG, "data"),
    State(ids.WALL, "id"),
    prevent_initial_call=True,
)
def refresh(n: int | None, unit_id: str | None, tag: str | None, _wall: str) -> tuple[Any, ...]:
    """Live states and values every few ticks; the selected unit's detail and trends."""
    if dash.ctx.triggered_id == shell_ids.TICK and (n or 0) % REFRESH_TICKS:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    flow = flowsheet(plant)
    live = flow_live(plant, flow)
    unit = _unit(flow, unit_id)
    selected = unit.id if unit is not None else None
    return (
        flow_figure(flow, live, lang, phone=False, selected=selected),
        flow_figure(flow, live, lang, phone=True, selected=selected),
        detail_block(flow, plant, live, selected, lang),
        trends_figure(plant, unit, lang, tag) if unit is not None or tag else go.Figure(),
        _trend_style(_trend_tags(plant, unit, tag)),
    )


def _trend_style(tags: tuple[str, ...]) -> dict[str, str]:
    """The trends' box as high as its figure (a graph first drawn hidden has no height of its own)."""
    if not tags:
        return {"display": "none"}
    return {"height": f"{trend_height(len(tags))}px"}


def trend_height(n: int) -> int:
    return 140 * max(1, n) + 40
