"""Executive overview (``/``): a wall screen readable from across the room.

Production this shift and today vs plan, people on site, equipment availability, the smelting chain's key
values with two-hour sparklines, energy used today, the safety early-warning index (its own tile and callback,
``webapp.panels.overview.safety``), zones at orange or red, limit violations, data
sources, and a compact 3D view drawn by the scene's own renderer (``ids.SCENE``).

The page is rendered complete by :func:`layout` and its structure stays fixed: lists (zones, busiest
areas, violations) are rows of slots shown or hidden by class. After that the refresh callback (every
shell tick) sends only what changed. Every text, class and bar style is filed in a group (a production
tile, one key value, one list row, one data source); the browser keeps a digest per group (``ids.SENT``)
and the server answers with the groups whose digest moved, as one small dict (``ids.DELTA``) that a
clientside callback (``assets/30_overview.js``) spreads onto the pattern-matching components, so neither
the request nor the answer carries the page's ids; the digests come back as a ``Patch``. Sparkline data
goes the same way when the cached trends moved on. The callback reads the cached snapshot, summary and
trends and never queries the database itself.

The panels live in ``webapp.panels.overview``: each fills its part of the view and renders its slots;
this module assembles them, and holds the page's callbacks.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from engine.chain import chain
from engine.clock import HOUR_MINUTE, format_local
from engine.metering import site_meters
from engine.production import products
from i18n import t
from plant.schema import Plant
from webapp import context as web
from webapp.live.scene import live_payload
from webapp.live.snapshot import snapshot
from webapp.live.summary import sparklines, summary
from webapp.panels.overview import safety as si
from webapp.panels.overview.chain import chain_card, fill_chain
from webapp.panels.overview.energy import energy_card, fill_energy
from webapp.panels.overview.ids import ids
from webapp.panels.overview.lists import fill_violations, fill_zones, violations_table, zones_list
from webapp.panels.overview.scene import compact_scene
from webapp.panels.overview.sources import fill_sources, source_cards
from webapp.panels.overview.tiles import (
    HEADLINE_PRODUCTS,
    equipment_tile,
    fill_equipment,
    fill_people,
    fill_production,
    people_tile,
    production_tile,
)
from webapp.panels.overview.view import View, txt
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/", name="nav.overview", order=0, title=web.page_title("nav.overview"))


# --- the view: every value the page shows, as plain data, each panel filling its part --------------------


def build_view(plant: Plant, snap: dict[str, Any], summ: dict[str, Any], lang: str) -> View:
    v = View()
    now = snap["now_ms"]
    _view_header(v, plant, summ, now, lang)
    fill_production(v, summ, lang)
    fill_people(v, plant, snap, lang)
    fill_equipment(v, snap)
    fill_energy(v, summ, lang)
    fill_chain(v, plant, snap, lang)
    fill_zones(v, plant, snap, lang)
    fill_violations(v, plant, snap, lang)
    fill_sources(v, snap, lang)
    return v


def _duration(ms: int, lang: str) -> str:
    minutes = max(0, ms) // 60_000
    return t("overview.duration", lang, h=minutes // 60, m=f"{minutes % 60:02d}")


def _view_header(v: View, plant: Plant, summ: dict[str, Any], now: int, lang: str) -> None:
    v.group = "shift"
    shift = summ["periods"].get("shift")
    if shift is None:
        v.text["shift"] = t("overview.no_shift", lang)
        return
    v.text["shift"] = t(
        "overview.shift_now",
        lang,
        shift=shift["label"],
        start=format_local(shift["start_ms"], plant.tz(), HOUR_MINUTE),
        end=format_local(shift["end_ms"], plant.tz(), HOUR_MINUTE),
        elapsed=_duration(now - shift["start_ms"], lang),
    )


def _placeholder_view(plant: Plant, lang: str) -> tuple[View, dict[str, Any]]:
    """What the page shows while the store cannot be read: the structure with dashes."""
    now = web.now_ms()
    snap = {
        "now_ms": now,
        "health": [],
        "latest": {},
        "equipment_state": {},
        "badges": [],
        "risk": {},
        "violations": [],
    }
    summ = {
        "periods": {},
        "production": [
            {"key": p.key, "unit": p.unit, "name": p.name, "name_zh": p.name_zh, "shift": None, "day": None}
            for p in products(plant)
        ],
        "energy": [{"medium": m.medium.value, "unit": m.unit, "day": None} for m in site_meters(plant)],
    }
    return build_view(plant, snap, summ, lang), summ


# --- layout ----------------------------------------------------------------------------------------------


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    try:
        summ = summary()
        view = build_view(plant, snapshot(), summ, lang)
        spark = sparklines()
    except Exception:  # the page must come up even when the store does not; the refresh fills it in
        logger.exception("overview: store not readable, showing the page without data")
        view, summ = _placeholder_view(plant, lang)
        spark = {"version": 0, "series": {}}
    sent = view.digests() | {"spark": spark["version"]}
    stages = chain(plant)
    tiles = [production_tile(view, row, lang) for row in summ["production"][:HEADLINE_PRODUCTS]]
    tiles += [people_tile(view, lang), equipment_tile(view, lang)]
    return html.Div(
        [
            dcc.Store(id=ids.SENT, data=sent),
            dcc.Store(id=ids.DELTA),
            html.Div(
                [
                    html.H1(t("overview.title", lang), className="sw-page-title"),
                    html.Span(txt(view, "shift"), className="sw-shift"),
                ],
                className="sw-page-head",
            ),
            dbc.Row(tiles, className="g-2 mb-2"),
            dbc.Row(
                [
                    dbc.Col(chain_card(view, plant, stages, spark, lang), xs=12, xxl=9),
                    dbc.Col(
                        html.Div(
                            [
                                html.Div(
                                    [
                                        html.Span(t("overview.scene", lang)),
                                        dcc.Link(t("overview.scene_open", lang), href="/scene", className="sw-more"),
                                    ],
                                    className="sw-card-title sw-card-head d-flex justify-content-between",
                                ),
                                compact_scene(lang),
                            ],
                            className="sw-card sw-panel sw-scene-card",
                        ),
                        xs=12,
                        xxl=3,
                        className="d-none d-md-block",
                    ),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            energy_card(view, plant, lang),
                            html.Div(t("overview.sources", lang), className="sw-section-sm"),
                            dbc.Row(source_cards(view, lang), id=ids.SOURCES, className="g-2"),
                        ],
                        xs=12,
                        lg=6,
                        xxl=3,
                    ),
                    dbc.Col(
                        [
                            *([si.safety_card(plant, lang)] if si.may_see() else []),
                            html.Div(
                                [
                                    html.Div(t("overview.zones", lang), className="sw-card-title sw-card-head"),
                                    html.Div(zones_list(view, lang)),
                                ],
                                className="sw-card sw-panel sw-panel-auto flex-grow-1",
                            ),
                        ],
                        className="d-flex flex-column",
                        xs=12,
                        lg=6,
                        xxl=4,
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                html.Div(
                                    [
                                        html.Span(t("overview.violations", lang), className="sw-card-title"),
                                        dbc.Badge(
                                            txt(view, "violations.count"),
                                            id=ids.VIOLATION_COUNT,
                                            color="danger",
                                            className="ms-2",
                                        ),
                                    ],
                                    className="sw-card-head",
                                ),
                                html.Div(violations_table(view, lang), id=ids.VIOLATIONS),
                            ],
                            className="sw-card sw-panel",
                        ),
                        xs=12,
                        xxl=5,
                    ),
                ],
                className="g-2",
            ),
        ],
        className="sw-overview",
    )


# --- refresh ---------------------------------------------------------------------------------------------


@callback(
    Output(ids.DELTA, "data"),
    Output(ids.SOURCES, "children"),
    Output(ids.SENT, "data"),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def refresh(_n: int | None, sent: dict[str, Any] | None) -> tuple[Any, ...]:
    """What changed since the browser's last update: whole groups of numbers (applied in the browser by
    ``swOverview.apply``), list blocks re-rendered, sparkline data when the cached trends moved on."""
    lang = web.lang()
    view = build_view(web.plant(), snapshot(), summary(), lang)
    spark = sparklines()
    before = dict(sent or {})
    sent = dict(before)
    digests = view.digests()
    delta: dict[str, Any] = {"text": {}, "status": {}, "style": {}}
    for name, values in view.grouped().items():
        key = f"g:{name}"
        if sent.get(key) != digests[key]:
            sent[key] = digests[key]
            for prop in ("text", "status", "style"):
                delta[prop].update(values[prop])
    if sent.get("spark") != spark["version"]:
        sent["spark"] = spark["version"]
        delta["spark"] = spark["series"]

    def block(name: str, render: Any) -> Any:
        if sent.get(name) == digests[name]:
            return no_update
        sent[name] = digests[name]
        return render()

    changed = any(delta[p] for p in ("text", "status", "style")) or "spark" in delta
    return (
        delta if changed else no_update,
        block("sources", lambda: source_cards(view, lang)),
        _patch(before, sent),
    )


def _patch(before: dict[str, Any], after: dict[str, Any]) -> Any:
    """Only the digests that moved, as a ``Patch`` of the browser's store (or nothing)."""
    changed = {k: val for k, val in after.items() if before.get(k) != val}
    if not changed:
        return no_update
    p = Patch()
    for k, val in changed.items():
        p[k] = val
    return p


clientside_callback(
    ClientsideFunction(namespace="swOverview", function_name="apply"),
    Output({"type": ids.TEXT, "key": ALL}, "children"),
    Output({"type": ids.STATUS, "key": ALL}, "className"),
    Output({"type": ids.BAR, "key": ALL}, "style"),
    Output({"type": ids.SPARK, "key": ALL}, "figure"),
    Input(ids.DELTA, "data"),
    State({"type": ids.SPARK, "key": ALL}, "figure"),
    prevent_initial_call=True,
)


clientside_callback(
    ClientsideFunction(namespace="swOverview", function_name="scene"),
    Output(ids.SCENE_RENDERED, "data"),
    Input(ids.SCENE_STATIC, "data"),
    Input(ids.SCENE_LIVE, "data"),
    Input(ids.SCENE_LAYERS, "data"),
)


@callback(Output(si.BODY, "children"), Input(shell_ids.TICK, "n_intervals"), prevent_initial_call=True)
def refresh_safety(n: int | None) -> Any:
    """The safety tile, every ``si.REFRESH_TICKS`` ticks (it reads the store, unlike the cached groups above)."""
    if (n or 0) % si.REFRESH_TICKS or not si.may_see():
        raise PreventUpdate
    return si.safety_body(web.plant(), web.lang())


@callback(Output(ids.SCENE_LIVE, "data"), Input(shell_ids.TICK, "n_intervals"), prevent_initial_call=True)
def refresh_scene(_n: int | None) -> dict[str, Any]:
    return live_payload()
