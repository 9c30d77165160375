"""``/video``: the plant's cameras as a grid of live views, filtered by area and zone.

Each tile is a snapshot from the relay (``/video/snapshot/<camera>.jpg``, reduced size) refreshed every
``REFRESH_MS``: browsers open only a few connections to a server at a time, so a grid of long-lived MJPEG
streams would starve the page's own requests. Opening a tile shows the camera's live stream
(``/video/live/<camera>.mjpg``), one connection, closed with the dialog. A camera that gives no frames is
shown as offline with the time since when, never as its last picture. At most ``PER_PAGE`` tiles are
shown at once, so the relay decodes only the cameras someone is looking at.

Beside the grid (below it on narrow screens, above it on phones) the **video alarm feed**: the detections of
``store.video.video_feed`` newest first, filtered by camera, zone and class, a page at a time, refreshed on
the shell's tick and sent to the browser only when what it shows changed. Each item has the event's
thumbnail (``/video/media/<event id>/thumb.jpg``), class, camera, zone, time in plant time, confidence, the
state of its alarm ``video:<event id>`` and the latest review. Opening one shows its snapshot, the clip
replayed (``clip.mjpg``, ended when the dialog closes) and a download of ``clip.avi``, with two actions:
**Acknowledge** (an operator command to the alarm service, ``store.alarms.submit_command``) and **Mark false
positive** (after a confirmation: a ``video_review`` row, and the alarm acknowledged with the comment "false
positive", or the comment alone when it already was). Both are checked on the server (``Perm.ACK``; an on-call
user only in their areas, :class:`store.video.Scope`), audited, and the page reports the service's answer.
Plant and detection texts are Dash children (text nodes), never markup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth.auditlog import VIDEO_FALSE_POSITIVE
from auth.policy import NotLoggedInError, Perm
from i18n import label, t
from plant import Plant
from plant.schema import Camera
from store.alarm_views import command_results
from store.db import session_scope
from store.video import (
    CLASSES,
    FALSE_POSITIVE,
    FeedItem,
    NotInScopeError,
    Scope,
    VideoFilter,
    class_counts,
    get_item,
    record_review,
    video_feed,
)
from video.capture import CaptureStatus
from webapp import context as web
from webapp.audit import audit
from webapp.commands import NotAllowedError, alarm_command, operator, who_line
from webapp.gate import current_user
from webapp.live.alarms import alarm_banner, alarm_snapshot, condition_text, full_time, local_time
from webapp.routes.video_live import relay
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/video", name="nav.video", order=30, title=web.page_title("nav.video"))

PER_PAGE = 12
REFRESH_MS = 1000
ANY = "*"
FEED_PAGE = 30  # detections per page of the feed
COUNTS_MS = 24 * 3600_000  # the per-class counts cover the last 24 hours
FEED_CACHE_S = 2  # screens asking for the same feed page share one query this long
RESULT_WAIT_MS = 15_000  # after this, a command nobody answered is reported as such
FP_COMMENT = "false positive"  # the comment journaled with the acknowledge of a false positive


class ids:  # noqa: N801 - the page's component ids, defined once
    AREA = "video-area"
    ZONE = "video-zone"
    PAGE = "video-page"
    GRID = "video-grid"
    COUNT = "video-count"
    TICK = "video-tick"
    TILE = "video-tile"  # pattern: {"type": TILE, "index": camera id}
    IMG = "video-img"
    STATE = "video-state"
    MODAL = "video-modal"
    LIVE = "video-live"
    LIVE_TITLE = "video-live-title"
    # the alarm feed
    FEED = "video-feed"
    FEED_CAMERA = "video-feed-camera"
    FEED_ZONE = "video-feed-zone"
    FEED_CLASS = "video-feed-class"
    FEED_COUNTS = "video-feed-counts"
    FEED_SHOWN = "video-feed-shown"  # digest of what the browser shows, and the keyset of the next page
    FEED_PAGES = "video-feed-pages"  # keysets of the pages before the one shown (newest page: [])
    FEED_NEWER = "video-feed-newer"
    FEED_OLDER = "video-feed-older"
    ITEM = "video-feed-item"  # pattern: {"type": ITEM, "index": event id}
    EV_MODAL = "video-event-modal"
    EV_TITLE = "video-event-title"
    EV_SNAP = "video-event-snapshot"
    EV_CLIP = "video-event-clip"
    EV_INFO = "video-event-info"
    EV_DOWNLOAD = "video-event-download"
    EV_ACK = "video-event-ack"
    EV_FP = "video-event-fp"
    EV_CONFIRM = "video-event-confirm"
    EV_CONFIRM_YES = "video-event-confirm-yes"
    EV_CONFIRM_NO = "video-event-confirm-no"
    EV_RESULT = "video-event-result"
    EV_SELECTED = "video-event-selected"
    SENT = "video-sent"  # command ids waiting for the alarm service's answer (an action output)


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
        since = datetime.fromtimestamp(status.since_ms / 1000, tz).strftime("%H:%M:%S")
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


def layout(**_query: str) -> html.Div:
    """The page; ``?camera=<id>`` sets the feed's camera filter, ``?event=<id>`` opens that detection (links
    from the 3D scene, the alarm list and notifications)."""
    lang = web.lang()
    plant = web.plant()
    opened = _event_from_query(_query.get("event"), plant)
    area_opts, zone_opts = _options(plant, lang, ANY)
    dialog = dbc.Modal(
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
    cameras = html.Section(
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
                    _select(ids.AREA, t("video.area", lang), area_opts, css="sw-video-filter"),
                    _select(ids.ZONE, t("video.zone", lang), zone_opts, css="sw-video-filter"),
                    _select(ids.PAGE, t("video.page", lang), [], 1, css="sw-video-filter sw-video-pager"),
                ],
                className="sw-video-toolbar",
            ),
            html.Div(id=ids.GRID, className="sw-video-grid"),
        ],
        className="sw-video-cams",
    )
    return html.Div(
        [
            html.Div([cameras, _feed_panel(plant, lang, _query.get("camera"))], className="sw-video-layout"),
            dcc.Interval(id=ids.TICK, interval=REFRESH_MS),
            dialog,
            _event_dialog(lang, opened),
            dcc.Store(id=ids.EV_SELECTED, data=opened.event_id if opened else None),
            dcc.Store(id=ids.SENT, data=None),
        ],
        className="sw-video",
    )


@callback(
    Output(ids.ZONE, "options"),
    Output(ids.ZONE, "value"),
    Input(ids.AREA, "value"),
)
def _zones_of_area(area: str | None) -> tuple[list[dict[str, str]], str]:
    _, zone_opts = _options(web.plant(), web.lang(), area)
    return zone_opts, ANY


@callback(
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
        _cams, zone_names = _names(plant, lang)
        grid = [_tile(c, zone_names, lang) for c in shown]
    return grid, options, current, t("video.count", lang, count=len(cams))


@callback(
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


@callback(
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


# --- the video alarm feed ----------------------------------------------------------------------------------


def may_view() -> bool:
    """Whether the logged-in user may see video alarms (nobody logged in: no)."""
    p = current_user()
    return p is not None and p.can(Perm.VIDEO)


def may_act() -> bool:
    """Whether the logged-in user may acknowledge and review detections (nobody logged in: no)."""
    p = current_user()
    return p is not None and p.can(Perm.ACK)


def scope_of(plant: Plant) -> Scope | None:
    """The zones whose detections the logged-in user may see and act on: an on-call user's areas, None for
    every zone, no zone at all when nobody is logged in."""
    p = current_user()
    return Scope() if p is None else Scope.of_areas(plant, p.command_areas())


def _cameras_in(plant: Plant, scope: Scope | None) -> list[Camera]:
    return [c for c in sorted(plant.cameras, key=lambda c: c.id) if scope is None or scope.admits(c.zone)]


def class_name(cls: str, lang: str) -> str:
    """``flame`` -> "Flame" (the alarm condition's name, as on the alarm list); an unknown class as is."""
    return condition_text(cls, lang)


def _feed_options(plant: Plant, lang: str, scope: Scope | None) -> tuple[list[Any], list[Any], list[Any]]:
    cams = _cameras_in(plant, scope)
    cam_opts = [{"label": t("video.feed.all_cameras", lang), "value": ANY}] + [
        {"label": f"{c.id} · {label(c.name, c.name_zh, lang)}", "value": c.id} for c in cams
    ]
    with_cams = {c.zone for c in cams}
    zone_opts = [{"label": t("video.all_zones", lang), "value": ANY}] + [
        {"label": label(z.name, z.name_zh, lang), "value": z.id} for z in plant.zones if z.id in with_cams
    ]
    cls_opts = [{"label": t("video.feed.all_classes", lang), "value": ANY}] + [
        {"label": class_name(c, lang), "value": c} for c in CLASSES
    ]
    return cam_opts, zone_opts, cls_opts


def _event_from_query(value: Any, plant: Plant) -> FeedItem | None:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 18 or not may_view():
        return None
    with session_scope(web.engine()) as session:
        return get_item(session, int(value), now_ms=web.now_ms(), scope=scope_of(plant))


def _media(item: FeedItem | None) -> tuple[str, str, str]:
    """The snapshot, clip replay and clip download URLs of a detection ("" for what it does not have)."""
    if item is None:
        return "", "", ""
    base = f"/video/media/{item.event_id}"
    has_clip = item.media.get("clip")
    return (
        f"{base}/snapshot.jpg" if item.media.get("snapshot") else "",
        f"{base}/clip.mjpg" if has_clip else "",
        f"{base}/clip.avi" if has_clip else "",
    )


def _select(
    cid: str,
    text: str,
    options: list[Any],
    value: str | int = ANY,
    css: str = "sw-vf-filter",
) -> html.Div:
    """A labelled dropdown of the toolbars (camera grid and feed)."""
    return html.Div(
        [
            dbc.Label(text, html_for=cid, className="mb-1 sw-muted"),
            dcc.Dropdown(id=cid, options=options, value=value, clearable=False),
        ],
        className=css,
    )


def _feed_panel(plant: Plant, lang: str, camera: Any = None) -> html.Section:
    cam_opts, zone_opts, cls_opts = _feed_options(plant, lang, scope_of(plant))
    camera = camera if isinstance(camera, str) and any(o["value"] == camera for o in cam_opts) else ANY
    return html.Section(
        [
            html.H2(t("video.feed.title", lang), className="sw-vf-title"),
            html.Div(
                [
                    _select(ids.FEED_CAMERA, t("video.feed.camera", lang), cam_opts, camera),
                    _select(ids.FEED_ZONE, t("video.zone", lang), zone_opts),
                    _select(ids.FEED_CLASS, t("video.feed.class", lang), cls_opts),
                ],
                className="sw-vf-toolbar",
            ),
            html.Div(id=ids.FEED_COUNTS, className="sw-vf-counts"),
            html.Div(id=ids.FEED, className="sw-vf-list", **{"aria-live": "polite"}),
            html.Div(
                [
                    dbc.Button(
                        t("video.feed.newer", lang),
                        id=ids.FEED_NEWER,
                        size="sm",
                        color="secondary",
                        outline=True,
                        disabled=True,
                    ),
                    dbc.Button(
                        t("video.feed.older", lang),
                        id=ids.FEED_OLDER,
                        size="sm",
                        color="secondary",
                        outline=True,
                        disabled=True,
                    ),
                ],
                className="sw-vf-pager",
            ),
            dcc.Store(id=ids.FEED_SHOWN, data=None),
            dcc.Store(id=ids.FEED_PAGES, data=[]),
        ],
        className="sw-video-feed",
        **{"aria-label": t("video.feed.title", lang)},
    )


def _event_dialog(lang: str, opened: FeedItem | None = None) -> dbc.Modal:
    snap, clip, download = _media(opened)
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id=ids.EV_TITLE)),
            dbc.ModalBody(
                [
                    html.Div(
                        [
                            html.Figure(
                                [
                                    html.Img(id=ids.EV_SNAP, src=snap, className="sw-vf-media-img", alt=""),
                                    html.Figcaption(t("video.event.snapshot", lang)),
                                ],
                                className="sw-vf-figure",
                            ),
                            html.Figure(
                                [
                                    html.Img(id=ids.EV_CLIP, src=clip, className="sw-vf-media-img", alt=""),
                                    html.Figcaption(t("video.event.clip", lang)),
                                ],
                                className="sw-vf-figure",
                            ),
                        ],
                        className="sw-vf-media",
                    ),
                    html.Div(id=ids.EV_INFO, className="sw-vf-info"),
                    html.Div(
                        [
                            html.Div(t("video.event.fp_confirm", lang), className="mb-2"),
                            html.Div(
                                who_line("alarm.confirm.who", lang),
                                className="sw-muted mb-2",
                            ),
                            dbc.Button(
                                t("video.event.fp_yes", lang),
                                id=ids.EV_CONFIRM_YES,
                                color="warning",
                                size="sm",
                                className="me-2",
                            ),
                            dbc.Button(
                                t("alarm.confirm.cancel", lang),
                                id=ids.EV_CONFIRM_NO,
                                color="secondary",
                                size="sm",
                                outline=True,
                            ),
                        ],
                        id=ids.EV_CONFIRM,
                        hidden=True,
                        role="alertdialog",
                        className="sw-vf-confirm",
                    ),
                    html.Div(id=ids.EV_RESULT, className="sw-vf-result"),
                ]
            ),
            dbc.ModalFooter(
                [
                    html.A(
                        t("video.event.download", lang),
                        id=ids.EV_DOWNLOAD,
                        href=download,
                        download="",
                        className="btn btn-outline-secondary btn-sm me-auto",
                    ),
                    dbc.Button(t("alarm.action.ack", lang), id=ids.EV_ACK, color="primary", size="sm"),
                    dbc.Button(t("video.event.fp", lang), id=ids.EV_FP, color="warning", outline=True, size="sm"),
                ]
            ),
        ],
        id=ids.EV_MODAL,
        size="xl",
        centered=True,
        scrollable=True,
        is_open=opened is not None,
        className="sw-video-modal sw-vf-modal",
    )


def _names(plant: Plant, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    cams = {c.id: label(c.name, c.name_zh, lang) for c in plant.cameras}
    zones = {z.id: label(z.name, z.name_zh, lang) for z in plant.zones}
    return cams, zones


def state_text(item: FeedItem, lang: str) -> str:
    if item.alarm_state is None:
        return t("video.state.pending", lang)
    if item.alarm_state == "normal":
        return t("video.state.normal", lang)
    return t(f"alarm.state.{item.alarm_state}", lang)


def _tags(item: FeedItem, lang: str) -> list[Any]:
    out: list[Any] = []
    if item.confidence is not None:
        out.append(
            html.Span(f"{item.confidence * 100:.0f} %", className="sw-vf-conf", title=t("video.feed.confidence", lang))
        )
    out.append(html.Span(state_text(item, lang), className=f"sw-vf-state is-{item.alarm_state or 'pending'}"))
    if item.verdict:
        out.append(html.Span(t(f"video.verdict.{item.verdict}", lang), className=f"sw-vf-verdict is-{item.verdict}"))
    return out


def feed_item(
    item: FeedItem, plant: Plant, lang: str, now: int, names: tuple[dict[str, str], dict[str, str]]
) -> html.Div:
    """One detection of the feed (a button opening its dialog); ``names``: :func:`_names`, once per feed."""
    cams, zones = names
    # The placeholder lies under the picture: a thumbnail deleted by retention leaves it showing, never a
    # broken-image icon.
    thumb: list[Any] = [html.Span(t("video.feed.no_image", lang), className="sw-vf-thumb-none")]
    if item.media.get("thumb"):
        src = f"/video/media/{item.event_id}/thumb.jpg"
        thumb.append(html.Div(className="sw-vf-thumb-img", style={"backgroundImage": f'url("{src}")'}))
    where = [html.Span(cams.get(item.camera, item.camera), className="sw-vf-cam")]
    if item.zone:
        where += [
            html.Span(" · ", className="sw-muted"),
            html.Span(zones.get(item.zone, item.zone), className="sw-vf-zone"),
        ]
    return html.Div(
        [
            html.Div(thumb, className="sw-vf-thumb"),
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(
                                class_name(item.cls, lang), className=f"sw-vf-class is-{item.priority or item.severity}"
                            ),
                            html.Span(
                                local_time(item.ts_start, plant, now),
                                className="sw-vf-time",
                                title=full_time(item.ts_start, plant),
                            ),
                        ],
                        className="sw-vf-line",
                    ),
                    html.Div(where, className="sw-vf-where"),
                    html.Div(_tags(item, lang), className="sw-vf-tags"),
                ],
                className="sw-vf-text",
            ),
        ],
        id={"type": ids.ITEM, "index": item.event_id},
        n_clicks=0,
        role="button",
        tabIndex="0",
        className="sw-vf-item" + (" is-unacked" if item.acked is False else ""),
        title=t("video.feed.open", lang),
    )


def _counts_view(counts: Any, lang: str) -> list[Any]:
    total = counts.total
    out: list[Any] = [html.Span(t("video.feed.counts_24h", lang, n=total.events), className="sw-vf-count-total")]
    for cls, c in counts.per_class.items():
        share = c.false_positive_share
        text = f"{class_name(cls, lang)} {c.events}"
        if share:
            text += " · " + t("video.feed.fp_share", lang, pct=f"{share * 100:.0f}")
        out.append(html.Span(text, className="sw-vf-chip"))
    return out


def _filter(camera: Any, zone: Any, cls: Any) -> VideoFilter:
    def one(v: Any) -> tuple[str, ...]:
        return (v,) if isinstance(v, str) and v and v != ANY else ()

    try:
        return VideoFilter(cameras=one(camera), zones=one(zone), classes=one(cls))
    except ValueError:
        return VideoFilter(cameras=("\x00",))  # a value no browser sends: show nothing


def feed_data(flt: VideoFilter, scope: Scope | None, before: tuple[int, int] | None, now: int) -> tuple[Any, Any]:
    """A feed page and the last 24 hours' class counts, shared for ``FEED_CACHE_S`` by every screen asking the
    same (filter, scope, page): a wall of screens on the same feed costs one set of queries per period, not one
    per screen (in the process's cache, or in Redis for several workers)."""
    key_text = json.dumps(
        [
            [flt.cameras, flt.zones, flt.classes, flt.start_ms, flt.end_ms],
            sorted(scope.zones) if scope is not None else None,
            before,
        ]
    )
    key = "sw:video-feed:" + hashlib.sha1(key_text.encode()).hexdigest()

    def build() -> tuple[Any, Any]:
        with session_scope(web.engine()) as session:
            page = video_feed(session, flt, now_ms=now, scope=scope, limit=FEED_PAGE, before=before)
            since = VideoFilter(flt.cameras, flt.zones, flt.classes, start_ms=now - COUNTS_MS)
            return page, class_counts(session, since, scope=scope)

    return web.cached(key, FEED_CACHE_S, build)


def _keyset(value: Any) -> tuple[int, int] | None:
    if isinstance(value, list | tuple) and len(value) == 2 and all(type(v) is int for v in value):
        return int(value[0]), int(value[1])
    return None


@callback(
    Output(ids.FEED, "children"),
    Output(ids.FEED_SHOWN, "data"),
    Output(ids.FEED_COUNTS, "children"),
    Output(ids.FEED_NEWER, "disabled"),
    Output(ids.FEED_OLDER, "disabled"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.FEED_CAMERA, "value"),
    Input(ids.FEED_ZONE, "value"),
    Input(ids.FEED_CLASS, "value"),
    Input(ids.FEED_PAGES, "data"),
    State(ids.FEED_SHOWN, "data"),
)
def _feed(_n: int | None, camera: Any, zone: Any, cls: Any, pages: Any, shown: Any) -> tuple[Any, Any, Any, bool, bool]:
    if not may_view():
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    now = web.now_ms()
    scope = scope_of(plant)
    flt = _filter(camera, zone, cls)
    before = _keyset(pages[-1]) if isinstance(pages, list) and pages else None
    page, counts = feed_data(flt, scope, before, now)
    # what the browser shows, as it would be drawn: unchanged -> nothing is sent
    day = local_time(now, plant)[:2]
    key = [
        lang,
        day,
        before,
        page.before,
        [i.as_dict() for i in page.items],
        [(k, v.events, v.false_positive, v.confirmed) for k, v in counts.per_class.items()],
    ]
    digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    if isinstance(shown, dict) and shown.get("digest") == digest:
        raise PreventUpdate
    if page.items:
        names = _names(plant, lang)
        items: Any = [feed_item(i, plant, lang, now, names) for i in page.items]
    else:
        items = html.Div(t("video.feed.none", lang), className="sw-muted sw-vf-empty")
    data = {"digest": digest, "before": list(page.before) if page.before else None}
    return items, data, _counts_view(counts, lang), before is None, page.before is None


@callback(
    Output(ids.FEED_PAGES, "data"),
    Input(ids.FEED_OLDER, "n_clicks"),
    Input(ids.FEED_NEWER, "n_clicks"),
    Input(ids.FEED_CAMERA, "value"),
    Input(ids.FEED_ZONE, "value"),
    Input(ids.FEED_CLASS, "value"),
    State(ids.FEED_PAGES, "data"),
    State(ids.FEED_SHOWN, "data"),
    prevent_initial_call=True,
)
def _paging(_o: Any, _w: Any, _c: Any, _z: Any, _k: Any, pages: Any, shown: Any) -> list[Any]:
    stack = [p for p in pages if _keyset(p)] if isinstance(pages, list) else []
    if ctx.triggered_id == ids.FEED_OLDER:
        nxt = _keyset(shown.get("before")) if isinstance(shown, dict) else None
        if nxt is None:
            raise PreventUpdate
        return [*stack, list(nxt)][-1000:]
    if ctx.triggered_id == ids.FEED_NEWER:
        return stack[:-1]
    return []  # another filter: back to the newest page


@callback(
    Output(ids.EV_MODAL, "is_open"),
    Output(ids.EV_SELECTED, "data"),
    Output(ids.EV_SNAP, "src"),
    Output(ids.EV_CLIP, "src"),
    Output(ids.EV_DOWNLOAD, "href"),
    Output(ids.EV_CONFIRM, "hidden"),
    Output(ids.EV_RESULT, "children"),
    Input({"type": ids.ITEM, "index": ALL}, "n_clicks"),
    Input(ids.EV_MODAL, "is_open"),
    prevent_initial_call=True,
)
def _open_event(clicks: list[int | None], is_open: bool) -> tuple[Any, ...]:
    trigger = ctx.triggered_id
    if trigger == ids.EV_MODAL:
        if is_open:
            raise PreventUpdate
        return no_update, None, "", "", "", True, None  # closed: end the clip's stream
    if not isinstance(trigger, dict) or not any(c for c in clicks or []):
        raise PreventUpdate
    if not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # the feed was redrawn, nobody clicked
    event_id = trigger.get("index")
    if type(event_id) is not int or not may_view():
        raise PreventUpdate
    plant = web.plant()
    with session_scope(web.engine()) as session:
        item = get_item(session, event_id, now_ms=web.now_ms(), scope=scope_of(plant))
    if item is None:
        raise PreventUpdate
    snap, clip, download = _media(item)
    return True, item.event_id, snap, clip, download, True, None


@callback(
    Output(ids.EV_TITLE, "children"),
    Output(ids.EV_INFO, "children"),
    Output(ids.EV_ACK, "disabled"),
    Output(ids.EV_FP, "disabled"),
    Output(ids.EV_DOWNLOAD, "hidden"),
    Input(ids.EV_SELECTED, "data"),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.EV_MODAL, "is_open"),
)
def _event_info(selected: Any, _n: int | None, is_open: bool) -> tuple[Any, ...]:
    if type(selected) is not int or (ctx.triggered_id == shell_ids.TICK and not is_open) or not may_view():
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    now = web.now_ms()
    with session_scope(web.engine()) as session:
        item = get_item(session, selected, now_ms=now, scope=scope_of(plant))
    if item is None:
        return t("video.event.gone", lang), None, True, True, True
    cams, zones = _names(plant, lang)
    title = f"{class_name(item.cls, lang)} · {cams.get(item.camera, item.camera)}"
    rows: list[tuple[str, Any]] = [
        (t("video.event.time", lang), full_time(item.ts_start, plant)),
        (t("video.feed.camera", lang), f"{item.camera} · {cams.get(item.camera, item.camera)}"),
        (t("video.zone", lang), zones.get(item.zone or "", item.zone or "-")),
        (t("video.feed.confidence", lang), "-" if item.confidence is None else f"{item.confidence * 100:.0f} %"),
        (t("video.event.alarm", lang), f"{item.alarm_id} · {state_text(item, lang)}"),
    ]
    if item.acked_by:
        rows.append((t("video.event.acked_by", lang), item.acked_by))
    if item.verdict:
        review = (
            f"{t(f'video.verdict.{item.verdict}', lang)} · {item.reviewed_by} · {full_time(item.reviewed_at, plant)}"
        )
        rows.append((t("video.event.review", lang), review))
        if item.review_comment:
            rows.append((t("video.event.comment", lang), item.review_comment))
    if item.message:
        rows.append((t("video.event.message", lang), item.message))
    info = html.Dl([part for k, v in rows for part in (html.Dt(k), html.Dd(v))], className="sw-vf-dl")
    acting = may_act()
    no_ack = not acting or item.alarm_state is None or bool(item.acked)
    no_fp = not acting or item.verdict == FALSE_POSITIVE
    return title, info, no_ack, no_fp, not item.media.get("clip")


@callback(
    Output(ids.EV_CONFIRM, "hidden", allow_duplicate=True),
    Input(ids.EV_FP, "n_clicks"),
    Input(ids.EV_CONFIRM_NO, "n_clicks"),
    prevent_initial_call=True,
)
def _ask_false_positive(fp: int | None, no: int | None) -> bool:
    if ctx.triggered_id == ids.EV_FP and fp:
        return False
    if ctx.triggered_id == ids.EV_CONFIRM_NO and no:
        return True
    raise PreventUpdate


def act(action: str, event_id: Any, now_ms: int) -> list[int]:
    """Acknowledge (``ack``) or mark as a false positive (``false_positive``) the detection ``event_id`` for
    the logged-in user: checked here (permission, the user's areas), queued as operator commands, audited.
    Returns the command ids (none when a false positive has no alarm yet). ``ValueError`` when refused."""
    if action not in ("ack", FALSE_POSITIVE):
        raise ValueError("nothing to do")
    op = operator((Perm.ACK,))  # NotLoggedInError: nobody is logged in; NotAllowedError: the role may not
    if type(event_id) is not int:
        raise NotInScopeError("no such detection")
    scope = scope_of(web.plant())
    with session_scope(web.engine()) as session:
        item = get_item(session, event_id, now_ms=now_ms, scope=scope)
        if item is None:
            raise NotInScopeError(f"no video event {event_id}")
        if action == "ack":
            if item.alarm_state is None:
                raise ValueError("this detection has no alarm yet")
            return alarm_command(
                session,
                op,
                [item.alarm_id],
                "ack",
                now_ms=now_ms,
                audit_event="alarm_ack",
                data={"alarms": [item.alarm_id], "event": item.event_id},
            )
        review_id = record_review(
            session, item.event_id, FALSE_POSITIVE, op.user, FP_COMMENT, now_ms=now_ms, address=op.address, scope=scope
        )
        if item.alarm_state is None:  # no alarm yet: the review alone, audited
            audit(
                VIDEO_FALSE_POSITIVE,
                user=op.user,
                address=op.address,
                target=item.alarm_id,
                detail=FP_COMMENT,
                data={"event": item.event_id, "review": review_id, "commands": []},
                session=session,
            )
            return []
        return alarm_command(
            session,
            op,
            [item.alarm_id],
            "ack" if item.acked is False else "comment",
            now_ms=now_ms,
            audit_event=VIDEO_FALSE_POSITIVE,
            comment=FP_COMMENT,
            data={"event": item.event_id, "review": review_id},
        )


@callback(
    Output(ids.EV_RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data"),
    Output(ids.EV_CONFIRM, "hidden", allow_duplicate=True),
    Output(ids.EV_SELECTED, "data", allow_duplicate=True),
    Input(ids.EV_ACK, "n_clicks"),
    Input(ids.EV_CONFIRM_YES, "n_clicks"),
    State(ids.EV_SELECTED, "data"),
    prevent_initial_call=True,
)
def _act(ack: int | None, yes: int | None, selected: Any) -> tuple[Any, ...]:
    trigger = ctx.triggered_id
    if not ((trigger == ids.EV_ACK and ack) or (trigger == ids.EV_CONFIRM_YES and yes)) or selected is None:
        raise PreventUpdate
    action = "ack" if trigger == ids.EV_ACK else FALSE_POSITIVE
    lang = web.lang()
    now = web.now_ms()
    try:
        command_ids = act(action, selected, now)
    except NotLoggedInError:
        logger.warning("video action %s refused: nobody is logged in", action)
        return dbc.Alert(t("login.required", lang), color="danger"), no_update, True, no_update
    except NotAllowedError:
        return dbc.Alert(t("alarm.result.not_allowed", lang), color="danger"), no_update, True, no_update
    except ValueError as exc:
        return dbc.Alert(t("alarm.result.refused", lang, error=str(exc)), color="danger"), no_update, True, no_update
    except Exception:
        logger.exception("video action %s on event %r could not be stored", action, selected)
        return dbc.Alert(t("alarm.result.failed", lang), color="danger"), no_update, True, no_update
    name = t("alarm.action.ack", lang) if action == "ack" else t("video.event.fp", lang)
    if not command_ids:
        note = dbc.Alert(t("video.event.fp_recorded", lang), color="success")
        return note, None, True, selected
    note = dbc.Alert(t("alarm.result.sent", lang, action=name, n=len(command_ids)), color="info")
    return note, {"ids": command_ids, "at": now, "action": action}, True, selected


@callback(
    Output(ids.EV_RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data", allow_duplicate=True),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def _report(_n: int | None, sent: Any) -> tuple[Any, Any]:
    if not isinstance(sent, dict) or not isinstance(sent.get("ids"), list) or not sent["ids"]:
        raise PreventUpdate
    wanted = [i for i in sent["ids"] if type(i) is int]
    lang = web.lang()
    action = t("alarm.action.ack", lang) if sent.get("action") == "ack" else t("video.event.fp", lang)
    with session_scope(web.engine()) as session:
        done = command_results(session, wanted)
    finished = [c for c in done if c.done_at is not None]
    if len(finished) < len(wanted):
        at = sent.get("at")
        if web.now_ms() - (at if type(at) is int else 0) < RESULT_WAIT_MS:
            raise PreventUpdate
        return dbc.Alert(
            t("alarm.result.no_answer", lang, action=action, n=len(wanted) - len(finished)), color="warning"
        ), None
    ok = [c for c in finished if c.ok]
    refused = [c for c in finished if not c.ok]
    alarm_snapshot.expire()  # the alarm list and banner show the new state at once
    alarm_banner.expire()
    parts: list[Any] = [html.Div(t("alarm.result.done", lang, action=action, n=len(ok)))]
    for c in refused[:10]:
        parts.append(html.Div(t("alarm.result.rejected", lang, alarm=c.alarm_id, reason=c.result or "")))
    color = "success" if not refused else "warning" if ok else "danger"
    return dbc.Alert(parts, color=color, dismissable=True), None
