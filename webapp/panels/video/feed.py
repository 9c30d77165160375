"""The video alarm feed of the video page: the detections of ``store.video.video_feed`` newest first,
filtered by camera, zone and class, a page at a time, with the last 24 hours' counts per class; refreshed on
the shell's tick and sent to the browser only when what it shows changed. Each item (its thumbnail, class,
camera, zone, time, confidence, alarm state and latest review) opens the event dialog
(:mod:`webapp.panels.video.event`)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from engine.clock import DATE_TIME, format_local
from i18n import label, t
from plant import Plant
from plant.schema import Camera
from store.db import session_scope
from store.video import CLASSES, FeedItem, Scope, VideoFilter, class_counts, video_feed
from webapp import context as web
from webapp.attrs import wildcard
from webapp.panels import panel_callback
from webapp.panels.video.common import ANY, class_name, may_view, names, scope_of, select, state_text
from webapp.panels.video.ids import ids
from webapp.shell import ids as shell_ids

FEED_PAGE = 30  # detections per page of the feed
COUNTS_MS = 24 * 3600_000  # the per-class counts cover the last 24 hours
FEED_CACHE_S = 2  # screens asking for the same feed page share one query this long


def _cameras_in(plant: Plant, scope: Scope | None) -> list[Camera]:
    return [c for c in sorted(plant.cameras, key=lambda c: c.id) if scope is None or scope.admits(c.zone)]


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


def panel(plant: Plant, lang: str, camera: Any = None) -> html.Section:
    """The feed: its filters (camera preset by ``camera`` when the user may see it), counts, list and pager."""
    cam_opts, zone_opts, cls_opts = _feed_options(plant, lang, scope_of(plant))
    camera = camera if isinstance(camera, str) and any(o["value"] == camera for o in cam_opts) else ANY
    return html.Section(
        [
            html.H2(t("video.feed.title", lang), className="sw-vf-title"),
            html.Div(
                [
                    select(ids.FEED_CAMERA, t("video.feed.camera", lang), cam_opts, camera),
                    select(ids.FEED_ZONE, t("video.zone", lang), zone_opts),
                    select(ids.FEED_CLASS, t("video.feed.class", lang), cls_opts),
                ],
                className="sw-vf-toolbar",
            ),
            html.Div(id=ids.FEED_COUNTS, className="sw-vf-counts"),
            html.Div(id=ids.FEED, className="sw-vf-list", **wildcard({"aria-live": "polite"})),
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
        **wildcard({"aria-label": t("video.feed.title", lang)}),
    )


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
    """One detection of the feed (a button opening its dialog); ``names``: :func:`.common.names`, once per feed."""
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
                                format_local(item.ts_start, plant.tz(), now_ms=now),
                                className="sw-vf-time",
                                title=format_local(item.ts_start, plant.tz(), DATE_TIME),
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


@panel_callback(
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
    day = format_local(now, plant.tz())[:2]
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
        shown_names = names(plant, lang)
        items: Any = [feed_item(i, plant, lang, now, shown_names) for i in page.items]
    else:
        items = html.Div(t("video.feed.none", lang), className="sw-muted sw-vf-empty")
    data = {"digest": digest, "before": list(page.before) if page.before else None}
    return items, data, _counts_view(counts, lang), before is None, page.before is None


@panel_callback(
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
