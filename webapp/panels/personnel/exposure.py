"""Exposure of the personnel page: time per person and zone for a plant day and shift, by zone level, with
its CSV download (``/personnel/exposure.csv``, served by ``webapp.routes``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import Input, Output, dcc, html

from i18n import t
from plant import Plant
from store import people
from webapp import context as web
from webapp.live import personnel as data
from webapp.panels import panel_callback
from webapp.panels.personnel.common import level_dot, names_of, person_name
from webapp.panels.personnel.ids import ids

EXPOSURE_ROWS = 100


def panel(plant: Plant, live: dict[str, Any], lang: str) -> html.Div:
    """The exposure card's body: day, shift and zone levels, the CSV link and the table (filled by
    :func:`exposure`)."""
    days = data.history_days(plant, web.now_ms())
    controls = html.Div(
        [
            dcc.Dropdown(
                id=ids.EXP_DAY,
                options=[{"label": d.isoformat(), "value": d.isoformat()} for d in days],
                value=days[0].isoformat(),
                clearable=False,
                searchable=False,
                className="sw-pm-dd",
            ),
            dcc.Dropdown(
                id=ids.EXP_SHIFT,
                options=[{"label": t("personnel.exposure.all_shifts", lang), "value": "all"}]
                + [{"label": t("personnel.shift", lang, shift=s.id), "value": s.id} for s in plant.site.shifts],
                value=live.get("shift") or "all",
                clearable=False,
                searchable=False,
                className="sw-pm-dd",
            ),
            dbc.RadioItems(
                id=ids.EXP_LEVELS,
                options=[
                    {"label": t(f"personnel.exposure.levels.{k}", lang), "value": k} for k in data.EXPOSURE_LEVELS
                ],
                value="hazard",
                inline=True,
                className="sw-ex-levels",
            ),
            html.A(
                t("personnel.exposure.csv", lang),
                id=ids.EXP_CSV,
                href="",
                className="btn btn-sm btn-outline-info ms-auto",
                download="",
            ),
        ],
        className="sw-ex-controls",
    )
    return html.Div([controls, html.Div(id=ids.EXP_TABLE)])


def _exposure(day_text: str | None, shift: str | None, levels: str | None, lang: str) -> tuple[Any, str]:
    plant = web.plant()
    now = web.now_ms()
    levels = levels or "hazard"
    try:
        day = data.parse_day(day_text, plant, now)
        rows = data.exposure_table(day, shift or "all", levels, data.current_viewer())
    except data.WindowError as exc:
        return html.Div(t(exc.key, lang), className="text-warning"), ""
    except people.NotAllowedError:
        return html.Div(t("personnel.not_allowed", lang), className="text-warning"), ""
    href = "/personnel/exposure.csv?" + urlencode(
        {"day": day.isoformat(), "shift": shift or "all", "levels": levels, "lang": lang}
    )
    if not rows:
        return html.Div(t("personnel.exposure.none", lang), className="sw-muted"), href
    who = people.identities(plant, data.current_viewer())
    zones = names_of(plant.zones, lang)
    body = [
        html.Tr(
            [
                html.Td(person_name(who, r["badge"], lang), className="sw-ex-name"),
                html.Td(r["shift"]),
                html.Td([level_dot(r["level"]), " ", zones.get(r["zone"], r["zone"])], className="sw-ex-zone"),
                html.Td(data.fmt_duration(r["seconds"]), className="sw-num"),
                html.Td(str(r["entries"]), className="sw-num sw-muted"),
            ]
        )
        for r in rows[:EXPOSURE_ROWS]
    ]
    table = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(t("personnel.exposure.person", lang)),
                        html.Th(t("personnel.exposure.shift", lang)),
                        html.Th(t("personnel.exposure.zone", lang)),
                        html.Th(t("personnel.exposure.time", lang), className="sw-num"),
                        html.Th(t("personnel.exposure.entries", lang), className="sw-num"),
                    ]
                )
            ),
            html.Tbody(body),
        ],
        className="table table-sm sw-table sw-ex mb-0",
    )
    more = (
        html.Div(t("personnel.exposure.more", lang, n=len(rows) - EXPOSURE_ROWS), className="sw-muted small mt-1")
        if len(rows) > EXPOSURE_ROWS
        else None
    )
    return html.Div([html.Div(table, className="sw-ex-scroll"), more]), href


@panel_callback(
    Output(ids.EXP_TABLE, "children"),
    Output(ids.EXP_CSV, "href"),
    Input(ids.EXP_DAY, "value"),
    Input(ids.EXP_SHIFT, "value"),
    Input(ids.EXP_LEVELS, "value"),
)
def exposure(day: str | None, shift: str | None, levels: str | None) -> tuple[Any, str]:
    return _exposure(day, shift, levels, web.lang())
