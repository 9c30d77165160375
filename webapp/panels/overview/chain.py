"""The smelting chain: each stage's key values with their status and two-hour sparklines."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from engine.chain import Stage, chain, decimals, value_status
from i18n import t
from plant.schema import Plant
from webapp.live.summary import fmt_number, unit_symbol
from webapp.panels.overview.ids import ids
from webapp.panels.overview.view import View, txt

SPARK_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "staticPlot": True, "responsive": True}
SPARK_COLOR = "#58a6ff"


def fill_chain(v: View, plant: Plant, snap: dict[str, Any], lang: str) -> None:
    tags = {tg.id: tg for tg in plant.tags}
    latest = snap["latest"]
    for stage in chain(plant):
        for item in stage.items:
            v.group = f"kv.{item.tag}"
            tag = tags[item.tag]
            current = latest.get(item.tag)
            status = value_status(tag, current)
            value = current[1] if current is not None and status != "none" else None
            v.text[f"kv.{item.tag}"] = fmt_number(value, decimals(tag))
            v.status[f"kv.{item.tag}"] = f"sw-kv-value sw-st sw-st-{status}"
            if item.phase_tag is not None:
                phase = latest.get(item.phase_tag)
                code = int(phase[1]) if phase is not None and phase[1] is not None else None
                v.text[f"kv.{item.tag}.phase"] = t(f"overview.phase.{code}", lang) if code in (0, 1, 2, 3) else ""
                v.status[f"kv.{item.tag}.phase"] = f"sw-phase sw-phase-{code}"


def spark_figure(series: dict[str, list[Any]] | None) -> dict[str, Any]:
    x, y = (series or {}).get("x", []), (series or {}).get("y", [])
    last = [(a, b) for a, b in zip(x, y, strict=True) if b is not None][-1:]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": y,
                "line": {"width": 1.5, "color": SPARK_COLOR},
                "connectgaps": False,
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": [p[0] for p in last],
                "y": [p[1] for p in last],
                "marker": {"size": 5, "color": "#e6edf3"},
                "hoverinfo": "skip",
            },
        ],
        "layout": {
            "margin": {"l": 0, "r": 3, "t": 3, "b": 3},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "xaxis": {"visible": False, "range": [-120, 0], "fixedrange": True},
            "yaxis": {"visible": False, "fixedrange": True},
            "showlegend": False,
            "autosize": True,
        },
    }


def _measure(tag_id: str, lang: str) -> str:
    key = f"overview.measure.{tag_id.rsplit('.', 1)[-1].lower()}"
    text = t(key, lang)
    return tag_id if text == key else text


def chain_card(v: View, plant: Plant, stages: list[Stage], spark: dict[str, Any], lang: str) -> html.Div:
    units = {tg.id: tg.unit for tg in plant.tags}
    columns = []
    for i, stage in enumerate(stages):
        items = []
        for item in stage.items:
            equipment = item.tag.rsplit(".", 1)[0]
            head = [html.Span(equipment, className="sw-kv-eq"), html.Span(_measure(item.tag, lang))]
            if item.phase_tag is not None:
                k = f"kv.{item.tag}.phase"
                head.append(html.Span(txt(v, k), id=ids.status(k), className=v.status.get(k)))
            items.append(
                html.Div(
                    [
                        html.Div(head, className="sw-kv-label"),
                        html.Div(
                            [
                                html.Span(
                                    [
                                        txt(v, f"kv.{item.tag}"),
                                        html.Span(unit_symbol(units.get(item.tag, "")), className="sw-unit"),
                                    ],
                                    id=ids.status(f"kv.{item.tag}"),
                                    className=v.status.get(f"kv.{item.tag}"),
                                ),
                                dcc.Graph(
                                    id=ids.spark(item.tag),
                                    figure=spark_figure(spark["series"].get(item.tag)),
                                    config=SPARK_CONFIG,
                                    responsive=True,
                                    className="sw-spark",
                                    style={"height": "2.2rem"},
                                ),
                            ],
                            className="sw-kv-row",
                        ),
                    ],
                    className="sw-kv",
                )
            )
        columns.append(
            html.Div(
                [
                    html.Div(
                        [
                            dcc.Link(
                                t(f"overview.stage.{stage.key}", lang),
                                href=f"/production/flow?unit={stage.key}",
                                className="sw-stage-link",
                            ),
                            html.Span("›", className="sw-stage-arrow") if i < len(stages) - 1 else None,
                        ],
                        className="sw-stage-title",
                    ),
                    *items,
                ],
                className="sw-stage",
            )
        )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(t("overview.chain", lang), className="sw-card-title"),
                    dcc.Link(t("overview.chain_flow", lang), href="/production/flow", className="sw-chain-flow ms-3"),
                    html.Span(t("overview.trend_span", lang), className="sw-muted ms-auto"),
                ],
                className="sw-card-head",
            ),
            html.Div(columns, className="sw-chain"),
        ],
        className="sw-card sw-panel",
    )
