"""The energy page's figures: the meter tree as a Sankey diagram, the trend against the previous period."""

from __future__ import annotations

from html import escape as html_escape
from typing import Any

import plotly.graph_objects as go

from engine.clock import to_local
from engine.energy import LOSSES
from i18n import t
from plant import Plant
from webapp.live.energy import node_name

SANKEY_HEIGHT = 520
CHART_HEIGHT = 340
LEVEL_COLORS = {"site": "#58a6ff", "area": "#a371f7", "process": "#3fb950", "equipment": "#d29922"}
LOSS_COLOR, FLAG_COLOR = "#8b949e", "#e5484d"


def layout_of(fig: go.Figure, height: int, **extra: Any) -> go.Figure:
    extra.setdefault("margin", {"l": 56, "r": 12, "t": 12, "b": 40})
    fig.update_layout(
        template="plotly_dark",
        height=height,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"size": 14, "color": "#e6edf3", "family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        **extra,
    )
    fig.update_xaxes(gridcolor="#222a35", zeroline=False)
    fig.update_yaxes(gridcolor="#222a35", zeroline=False)
    return fig


def sankey_figure(data: dict[str, Any], unit_mode: str, lang: str) -> go.Figure:
    """The hierarchy as flows (energy or money: each node's cost priced hour by hour, as every cost column of
    the page): parent -> child for every known, positive value; losses."""
    key = "cost" if unit_mode == "money" else "value"
    nodes = data["nodes"]
    order: list[str] = []
    index: dict[str, int] = {}

    def at(nid: str) -> int:
        if nid not in index:
            index[nid] = len(order)
            order.append(nid)
        return index[nid]

    src: list[int] = []
    dst: list[int] = []
    val: list[float] = []
    colors: list[str] = []
    for nid, n in nodes.items():
        parent = n.get("parent")
        v = n.get(key)
        if parent and v is not None and v > 0 and nodes.get(parent, {}).get(key):
            src.append(at(parent))
            dst.append(at(nid))
            val.append(v)
            colors.append("rgba(88,166,255,0.28)")
    for pid, b in data["losses"].items():
        v = b.get(key)
        if v is not None and v > 0 and pid in nodes:
            src.append(at(pid))
            dst.append(at(f"{pid}/{LOSSES}"))
            val.append(v)
            colors.append("rgba(229,72,77,0.55)" if b["flagged"] else "rgba(139,148,158,0.35)")
    labels, node_colors = [], []
    for nid in order:
        name = html_escape(node_name(data, nid, lang))  # plotly reads labels as a little HTML: names stay text
        if nid.endswith("/" + LOSSES):
            b = data["losses"][nid.rsplit("/", 1)[0]]
            share = b.get("share")
            labels.append(f"{name} {share * 100:.1f} %" if share is not None else name)
            node_colors.append(FLAG_COLOR if b["flagged"] else LOSS_COLOR)
        else:
            labels.append(name)
            node_colors.append(LEVEL_COLORS.get(nodes[nid]["level"] or "", "#8b949e"))
    if not src:
        # no metered flow in the period (a plant without meters of this medium, or all unknown): plotly's
        # Sankey throws on an empty diagram in the browser, so say so in words instead
        empty = go.Figure()
        empty.add_annotation(
            text=html_escape(t("energy.none", lang)), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
        empty.update_xaxes(visible=False)
        empty.update_yaxes(visible=False)
        return layout_of(empty, SANKEY_HEIGHT, margin={"l": 8, "r": 8, "t": 8, "b": 8})
    unit = data["currency"] if unit_mode == "money" else data["unit"]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=",.0f",
            valuesuffix=f" {unit}",
            node={"label": labels, "color": node_colors, "pad": 8, "thickness": 14, "line": {"width": 0}},
            link={"source": src, "target": dst, "value": val, "color": colors},
        )
    )
    return layout_of(fig, SANKEY_HEIGHT, margin={"l": 8, "r": 8, "t": 8, "b": 8})


def trend_figure(data: dict[str, Any], unit_mode: str, plant: Plant, lang: str) -> go.Figure:
    """This period's consumption per hour, day or month (bars; a gap: no bar) against the period before (line)."""
    tz = plant.tz()
    tr = data["trend"]
    money = unit_mode == "money"  # each bar's cost priced hour by hour, as the page's cost columns
    fmt = "%H:%M" if data["trend_kind"] == "hour" else ("%Y-%m" if data["trend_kind"] == "month" else "%m-%d")
    x = [to_local(s, tz).strftime(fmt) for s in tr["starts"]]
    px = [to_local(s, tz).strftime(fmt) for s in tr["prev_starts"]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=list(range(len(x))),
            y=tr["costs"] if money else tr["values"],
            name=t("energy.this_period", lang),
            marker_color="#58a6ff",
            customdata=x,
            hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=list(range(len(px))),
            y=tr["prev_costs"] if money else tr["prev"],
            name=t("energy.prev_period", lang),
            mode="lines+markers",
            line={"color": "#d29922", "width": 2},
            customdata=px,
            hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>",
        )
    )
    n = max(len(x), len(px))
    labels = (x + px[len(x) :])[:n] if len(x) < n else x
    step = max(1, n // 12)
    fig.update_xaxes(tickmode="array", tickvals=list(range(0, n, step)), ticktext=labels[::step])
    unit = data["currency"] if money else data["unit"]
    fig.update_yaxes(title_text=unit, rangemode="tozero")
    legend = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}
    return layout_of(fig, CHART_HEIGHT, legend=legend, margin={"l": 64, "r": 12, "t": 30, "b": 40})
