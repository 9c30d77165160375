"""The live map of the personnel page: mode and view switches, the deck.gl map (``assets/60_personnel.js``,
created once per visit, its layers replaced on every change), the playback bar and the legend; the
clientside callback that draws it."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from i18n import t
from scene import colors
from webapp.live import personnel as data
from webapp.panels.personnel.ids import ids


def _swatch(rgb: tuple[int, int, int], text: str, ring: bool = False) -> html.Span:
    style = {"borderColor": colors.hex_color(rgb)} if ring else {"background": colors.hex_color(rgb)}
    return html.Span(
        [html.Span(className="sw-pm-swatch" + (" sw-pm-ring" if ring else ""), style=style), text],
        className="sw-legend-item",
    )


def _legend(lang: str) -> html.Div:
    roles = [_swatch(c, t(f"scene.role.{k}", lang)) for k, c in colors.ROLE.items()]
    states = [
        _swatch(data.STATUS_COLORS["violation"], t("personnel.status.violation", lang), ring=True),
        _swatch(data.STATUS_COLORS["sos"], t("personnel.status.sos", lang), ring=True),
        _swatch(data.MISSING_COLOR, t("personnel.status.missing", lang), ring=True),
    ]
    return html.Div([html.Div(roles), html.Div(states)], id=ids.LEGEND, className="sw-pm-legend")


def map_card(follow: Any, history: Any, lang: str) -> html.Div:
    """The map card: the toolbar (mode, view and ``follow``, the search of a person), the map, the playback
    bar, ``history`` (the window of playback and heatmap) and the legend."""
    mode = dbc.RadioItems(
        id=ids.MODE,
        options=[{"label": t(f"personnel.mode.{m}", lang), "value": m} for m in ("live", "playback", "heatmap")],
        value="live",
        inline=True,
        className="btn-group sw-seg",
        inputClassName="btn-check",
        labelClassName="btn btn-sm btn-outline-secondary",
        labelCheckedClassName="active",
    )
    view = dbc.RadioItems(
        id=ids.VIEW,
        options=[{"label": t(f"personnel.view.{v}", lang), "value": v} for v in ("top", "3d")],
        value="top",
        inline=True,
        className="btn-group sw-seg",
        inputClassName="btn-check",
        labelClassName="btn btn-sm btn-outline-secondary",
        labelCheckedClassName="active",
    )
    toolbar = html.Div(
        [
            mode,
            view,
            follow,
        ],
        className="sw-pm-toolbar",
    )
    return html.Div(
        [
            toolbar,
            html.Div(html.Div(id=ids.DECK, className="sw-pm-deck"), className="sw-pm-deck-wrap"),
            html.Div(id=ids.PLAYBAR, className="sw-pm-playbar", hidden=True),
            history,
            _legend(lang),
        ],
        className="sw-card sw-panel sw-pm-map",
    )
