"""The camera grid of the video page: the plant's cameras as tiles of snapshots from the relay, refreshed every
``REFRESH_MS``, filtered by area and zone, ``PER_PAGE`` at a time, each with its online or offline state;
a tile opens the camera's live stream in a dialog, closed with it."""

from __future__ import annotations

import math
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from engine.clock import format_local
from i18n import label, t
from plant import Plant
from plant.schema import Camera
from video.capture import CaptureStatus
from webapp import context as web
from webapp.panels import panel_callback
from webapp.panels.video.common import ANY, names, select
from webapp.panels.video.ids import ids
from webapp.routes.video_live import relay

PER_PAGE = 12
REFRESH_MS = 1000


def cameras_for(plant: Plant, area: str | None, zone: str | None) -> list[Camera]:
    zones = {z.id: z for z in plant.zones}
    out = []
    for cam in sorted(plant.cameras, key=lambda c: c.id):
        z = zones.get(cam.zone)
        if area and area != ANY and (z is None or z.area != area):
            continue
        if zone and zone != ANY and cam.zone != zone:
            continue
        out.append(cam)
    return out


def status_text(status: CaptureStatus | None, lang: str, tz: ZoneInfo) -> tuple[str, str]:
    """The tile's status line and its class: online with fps, offline since when, or connecting."""
    if status is None or (not status.online and status.frames == 0 and status.reconnects == 0):
        return t("video.connecting", lang), "sw-video-state is-connecting"
    if status.online:
        return t("video.online", lang, fps=f"{status.fps:.1f}"), "sw-video-state is-online"
    since = "-"
    if status.since_ms is not None:
        since = format_local(status.since_ms, tz)
    return t("video.offline_since", lang, time=since), "sw-video-state is-offline"


def _tile(cam: Camera, zone_names: dict[str, str], lang: str) -> html.Div:
    zone_name = zone_names.get(cam.zone, cam.zone)
    return html.Div(
        [
            html.Div(
                html.Img(
                    id={"type": ids.IMG, "index": cam.id},
                    src=f"/video/snapshot/{cam.id}.jpg?offline=blank",
                    alt=label(cam.name, cam.name_zh, lang),
                    className="sw-video-img",
                ),
                className="sw-video-frame",
            ),
            html.Div(
                [
                    html.Span(cam.id, className="sw-video-id"),
                    html.Span(label(cam.name, cam.name_zh, lang), className="sw-video-name"),
                ],
                className="sw-video-caption",
            ),
            html.Div(
                [
                    html.Span(zone_name, className="sw-video-zone"),
                    html.Span(t("video.connecting", lang), id={"type": ids.STATE, "index": cam.id}),
                ],
                className="sw-video-meta",
            ),
        ],
        id={"type": ids.TILE, "index": cam.id},
        n_clicks=0,
        className="sw-video-tile",
        role="button",
        tabIndex="0",
        title=t("video.open_live", lang),
    )


def _options(plant: Plant, lang: str, area: str | None) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with_cams = {c.zone for c in plant.cameras}
    zones = [z for z in plant.zones if z.id in with_cams]
    areas = [a for a in plant.areas if any(z.area == a.id for z in zones)]
    area_opts = [{"label": t("video.all_areas", lang), "value": ANY}] + [
        {"label": label(a.name, a.name_zh, lang), "value": a.id} for a in areas
    ]
    zone_opts = [{"label": t("video.all_zones", lang), "value": ANY}] + [
        {"label": label(z.name, z.name_zh, lang), "value": z.id}
        for z in zones
        if not area or area == ANY or z.area == area
    ]
    return area_opts, zone_opts


def section(plant: Plant, lang: str) -> html.Section:
    """The page's head and the camera grid with its filters (the grid is drawn by :func:`_grid`)."""
    area_opts, zone_opts = _options(plant, lang, ANY)
    return html.Section(
        [
            html.Div(
                [
                    html.H1(t("video.title", lang), className="sw-page-title"),
                    html.Span(id=ids.COUNT, className="sw-muted ms-2"),
                ],
                className="sw-page-head d-flex align-items-baseline",
            ),
            html.Div(
                [
                    select(ids.AREA, t("video.area", lang), area_opts, css="sw-video-filter"),
                    select(ids.ZONE, t("video.zone", lang), zone_opts, css="sw-video-filter"),
                    select(ids.PAGE, t("video.page", lang), [], 1, css="sw-video-filter sw-video-pager"),
                ],
                className="sw-video-toolbar",
            ),
            html.Div(id=ids.GRID, className="sw-video-grid"),
        ],
        className="sw-video-cams",
    )


def live_dialog() -> dbc.Modal:
    """The dialog of a camera's live stream (opened by a tile)."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id=ids.LIVE_TITLE)),
            dbc.ModalBody(html.Img(id=ids.LIVE, className="sw-video-live", alt="")),
        ],
        id=ids.MODAL,
        size="xl",
        centered=True,
        is_open=False,
        className="sw-video-modal",
    )


@panel_callback(
    Output(ids.ZONE, "options"),
    Output(ids.ZONE, "value"),
    Input(ids.AREA, "value"),
)
def _zones_of_area(area: str | None) -> tuple[list[dict[str, str]], str]:
    _, zone_opts = _options(web.plant(), web.lang(), area)
    return zone_opts, ANY


@panel_callback(
    Output(ids.GRID, "children"),
    Output(ids.PAGE, "options"),
    Output(ids.PAGE, "value"),
    Output(ids.COUNT, "children"),
    Input(ids.AREA, "value"),
    Input(ids.ZONE, "value"),
    Input(ids.PAGE, "value"),
)
def _grid(area: str | None, zone: str | None, page: Any) -> tuple[Any, list[dict[str, Any]], int, str]:
    lang = web.lang()
    plant = web.plant()
    cams = cameras_for(plant, area, zone)
    pages = max(1, math.ceil(len(cams) / PER_PAGE))
    try:
        current = int(page) if ctx.triggered_id == ids.PAGE else 1
    except (TypeError, ValueError):
        current = 1
    current = min(max(1, current), pages)
    shown = cams[(current - 1) * PER_PAGE : current * PER_PAGE]
    options = [{"label": t("video.page_of", lang, page=p, pages=pages), "value": p} for p in range(1, pages + 1)]
    if not shown:
        grid: Any = html.Div(t("video.none", lang), className="sw-muted sw-video-empty")
    else:
        _cams, zone_names = names(plant, lang)
        grid = [_tile(c, zone_names, lang) for c in shown]
    return grid, options, current, t("video.count", lang, count=len(cams))


@panel_callback(
    Output({"type": ids.IMG, "index": ALL}, "src"),
    Output({"type": ids.STATE, "index": ALL}, "children"),
    Output({"type": ids.STATE, "index": ALL}, "className"),
    Input(ids.TICK, "n_intervals"),
    State({"type": ids.IMG, "index": ALL}, "id"),
)
def _refresh(n: int | None, img_ids: list[dict[str, str]]) -> tuple[list[str], list[str], list[str]]:
    if not img_ids:
        raise PreventUpdate
    lang = web.lang()
    tz = web.plant().tz()
    r = relay()
    srcs, texts, classes = [], [], []
    for item in img_ids:
        cid = item["index"]
        srcs.append(f"/video/snapshot/{cid}.jpg?offline=blank&n={n or 0}")
        text, cls = status_text(r.status(cid), lang, tz)
        texts.append(text)
        classes.append(cls)
    return srcs, texts, classes


@panel_callback(
    Output(ids.MODAL, "is_open"),
    Output(ids.LIVE, "src"),
    Output(ids.LIVE_TITLE, "children"),
    Input({"type": ids.TILE, "index": ALL}, "n_clicks"),
    Input(ids.MODAL, "is_open"),
    prevent_initial_call=True,
)
def _live(clicks: list[int | None], is_open: bool) -> tuple[Any, Any, Any]:
    trigger = ctx.triggered_id
    if trigger == ids.MODAL:
        return no_update, (no_update if is_open else ""), no_update  # closed: end the stream
    if not isinstance(trigger, dict) or not any(c for c in clicks or []):
        raise PreventUpdate
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # the grid was redrawn, nobody clicked
    cid = str(trigger.get("index"))
    plant = web.plant()
    cam = next((c for c in plant.cameras if c.id == cid), None)
    if cam is None:
        raise PreventUpdate
    title = f"{cam.id} · {label(cam.name, cam.name_zh, web.lang())}"
    return True, f"/video/live/{cam.id}.mjpg", title
