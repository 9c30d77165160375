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

This module assembles the page from its panels (``webapp.panels.video``: the camera grid, the alarm feed,
the event dialog and its actions).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from i18n import t
from plant import Plant
from webapp import context as web
from webapp.commands import NotAllowedError
from webapp.live.video_health import fallback_text, model_fallbacks
from webapp.panels import register_panels
from webapp.panels.video import actions, cameras, event, feed
from webapp.panels.video.common import may_act, may_view, scope_of
from webapp.panels.video.ids import ids

dash.register_page(__name__, path="/video", name="nav.video", order=30, title=web.page_title("nav.video"), nav="more")

register_panels(cameras, feed, event, actions)

# names the page has always offered
act = actions.act
FEED_PAGE = feed.FEED_PAGE

__all__ = ["FEED_PAGE", "NotAllowedError", "act", "fallbacks", "ids", "layout", "may_act", "may_view", "scope_of"]


def fallbacks(plant: Plant, lang: str) -> list[dbc.Alert]:
    """The models the video service refused at its start, of the viewer's areas (a health warning): each
    camera, class, model file and why, and what runs instead; the loader's own error as the line's tooltip."""
    rows = model_fallbacks(scope_of(plant))
    if not rows:
        return []
    items = [html.Li(fallback_text(r, plant, lang), title=r.get("detail") or None) for r in rows]
    return [
        dbc.Alert(
            [html.Div(t("health.video.title", lang), className="fw-bold"), html.Ul(items, className="mb-0")],
            id=ids.FALLBACKS,
            color="warning",
            className="sw-video-fallbacks",
        )
    ]


def layout(**_query: str) -> html.Div:
    """The page; ``?camera=<id>`` sets the feed's camera filter, ``?event=<id>`` opens that detection (links
    from the 3D scene, the alarm list and notifications)."""
    lang = web.lang()
    plant = web.plant()
    opened = event.from_query(_query.get("event"), plant)
    return html.Div(
        [
            *fallbacks(plant, lang),
            html.Div(
                [cameras.section(plant, lang), feed.panel(plant, lang, _query.get("camera"))],
                className="sw-video-layout",
            ),
            dcc.Interval(id=ids.TICK, interval=cameras.REFRESH_MS),
            cameras.live_dialog(),
            event.dialog(lang, opened),
            dcc.Store(id=ids.EV_SELECTED, data=opened.event_id if opened else None),
            dcc.Store(id=ids.SENT, data=None),
        ],
        className="sw-video",
    )
