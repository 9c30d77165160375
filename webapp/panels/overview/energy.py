"""Energy used today, per medium of the site meters."""

from __future__ import annotations

from typing import Any

from dash import html

from engine.metering import site_meters
from i18n import t
from plant.schema import Plant
from webapp.live.summary import amount
from webapp.panels.overview.view import View, txt, unit_text


def fill_energy(v: View, summ: dict[str, Any], lang: str) -> None:
    v.group = "energy"
    for row in summ["energy"]:
        number, unit = amount(row["day"], row["unit"])
        v.text[f"energy.{row['medium']}"] = number
        v.text[f"energy.{row['medium']}.unit"] = unit_text(unit, lang)


def energy_card(v: View, plant: Plant, lang: str) -> html.Div:
    cells = [
        html.Div(
            [
                html.Div(t(f"overview.medium.{m.medium.value}", lang), className="sw-tile-label"),
                html.Div(
                    [
                        txt(v, f"energy.{m.medium.value}"),
                        " ",
                        txt(v, f"energy.{m.medium.value}.unit", "sw-unit-sm"),
                    ],
                    className="sw-kpi-md",
                ),
            ],
            className="sw-energy-cell",
        )
        for m in site_meters(plant)
    ]
    return html.Div(
        [
            html.Div(t("overview.energy", lang), className="sw-card-title sw-card-head"),
            html.Div(cells, className="sw-energy"),
        ],
        className="sw-card sw-panel sw-panel-auto",
    )
