"""The event dialog of the video page: a detection's snapshot, its clip replayed (``clip.mjpg``, ended when
the dialog closes) and downloadable (``clip.avi``), its details, alarm state and review, with the buttons
of its actions (:mod:`webapp.panels.video.actions`). Opened from the feed or by ``?event=<id>``."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth.policy import Perm
from engine.clock import DATE_TIME, format_local
from i18n import t
from plant import Plant
from store.db import session_scope
from store.video import FALSE_POSITIVE, FeedItem, get_item
from webapp import context as web
from webapp.commands import who_line
from webapp.gate import current_user
from webapp.panels import panel_callback
from webapp.panels.video.common import class_name, may_act, may_view, names, scope_of, state_text
from webapp.panels.video.ids import ids
from webapp.shell import ids as shell_ids


def from_query(value: Any, plant: Plant) -> FeedItem | None:
    """The detection of ``?event=<id>`` when the user may see it, else None."""
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


def dialog(lang: str, opened: FeedItem | None = None) -> dbc.Modal:
    """The event dialog, open on ``opened`` when the page was asked for one."""
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


@panel_callback(
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


@panel_callback(
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
    cams, zones = names(plant, lang)
    title = f"{class_name(item.cls, lang)} · {cams.get(item.camera, item.camera)}"
    rows: list[tuple[str, Any]] = [
        (t("video.event.time", lang), format_local(item.ts_start, plant.tz(), DATE_TIME)),
        (t("video.feed.camera", lang), f"{item.camera} · {cams.get(item.camera, item.camera)}"),
        (t("video.zone", lang), zones.get(item.zone or "", item.zone or "-")),
        (t("video.feed.confidence", lang), "-" if item.confidence is None else f"{item.confidence * 100:.0f} %"),
        (t("video.event.alarm", lang), f"{item.alarm_id} · {state_text(item, lang)}"),
    ]
    if item.acked_by:
        rows.append((t("video.event.acked_by", lang), item.acked_by))
    if item.verdict:
        when = format_local(item.reviewed_at, plant.tz(), DATE_TIME)
        review = f"{t(f'video.verdict.{item.verdict}', lang)} · {item.reviewed_by} · {when}"
        rows.append((t("video.event.review", lang), review))
        if item.review_comment:
            rows.append((t("video.event.comment", lang), item.review_comment))
    if item.message:
        rows.append((t("video.event.message", lang), item.message))
    user = current_user()
    if user is not None and user.can(Perm.REPLAY):  # the minutes around it, everything together
        link = dcc.Link(t("replay.open", lang), href=f"/replay?event={item.event_id}", className="sw-vf-replay")
        rows.append((t("replay.link", lang), link))
    info = html.Dl([part for k, v in rows for part in (html.Dt(k), html.Dd(v))], className="sw-vf-dl")
    acting = may_act()
    no_ack = not acting or item.alarm_state is None or bool(item.acked)
    no_fp = not acting or item.verdict == FALSE_POSITIVE
    return title, info, no_ack, no_fp, not item.media.get("clip")
