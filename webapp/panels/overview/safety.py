"""The overview's safety tile: the plant's early-warning index (``engine.safety_index``, its worst zone's), its
colour, the worst zone and that zone's largest contributors (parts and index points: no person is named), linking
to ``/safety``. Read from the store by ``webapp.live.safety_index.current``; the page refreshes it every
``REFRESH_TICKS`` shell ticks with its own callback, apart from the cached groups of the rest of the page. Shown
only to those who may see ``/safety``."""

from __future__ import annotations

import logging
from typing import Any

from dash import dcc, html

from auth.policy import Perm
from i18n import label, t
from plant.schema import Plant
from webapp.gate import current_user
from webapp.live.safety_index import current

logger = logging.getLogger(__name__)

BODY = "overview-safety-body"
REFRESH_TICKS = 3  # shell ticks of 2 s
TOP = 3


def may_see() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.SAFETY)


def safety_body(plant: Plant, lang: str) -> list[Any]:
    try:
        view = current(plant)
    except Exception:  # the page comes up without the store; the refresh fills it in
        logger.exception("overview: safety index not readable")
        return [html.Div("–", className="sw-kpi"), html.Div(t("overview.si_none", lang), className="sw-tile-caption")]
    zones = {z.id: z for z in plant.zones}
    worst = zones.get(view.worst_zone or "")
    top = view.zones[worst.id].contributors[:TOP] if worst is not None and worst.id in view.zones else ()
    why = [
        html.Div(
            [html.Span(t(f"si.part.{c.part}", lang), className="sw-area-name"), html.Span(f"+{c.points:.1f}")],
            className="sw-si-why",
        )
        for c in top
    ]
    return [
        html.Div(
            [
                html.Div(
                    [
                        html.Span(f"{view.value:.0f}", className=f"sw-si-value sw-si-{view.colour}"),
                        html.Span(t(f"si.colour.{view.colour}", lang), className=f"badge sw-si-{view.colour} ms-2"),
                    ],
                    className="sw-si-tile-head",
                ),
                html.Div(
                    t("si.worst", lang, zone=label(worst.name, worst.name_zh, lang))
                    if worst
                    else t("overview.si_calm", lang),
                    className="sw-tile-caption",
                ),
            ]
        ),
        html.Div(why or t("overview.si_calm", lang), className="sw-si-whys"),
    ]


def safety_card(plant: Plant, lang: str) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Span(t("si.title", lang)),
                    dcc.Link(t("overview.si_open", lang), href="/safety?tab=index", className="sw-more"),
                ],
                className="sw-card-title sw-card-head d-flex justify-content-between",
            ),
            html.Div(safety_body(plant, lang), id=BODY, className="sw-si-tile-body"),
        ],
        className="sw-card sw-panel sw-panel-auto sw-si-tile mb-2",
    )
