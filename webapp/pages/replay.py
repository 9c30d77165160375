"""Incident replay (``/replay``, S5): one time cursor over the 3D scene, trends, the alarm journal, video
detections and muster counts of a window.

Opened from an alarm (``?alarm=<id>``), a video detection or violation (``?event=<id>``), a muster
(``?muster=<event id>``), an incident record (``?incident=<id>``) or a free range (``?t0=...&t1=...``), with
``at=`` the moment to open at (``webapp.live.replay.resolve``). The window is read once on the server
(``webapp.live.replay.load``) and sent whole; the browser plays it (``assets/95_replay.js``): play, pause,
1x to 60x, step to the previous or next alarm or event, drag anywhere, without asking the server again.

Who sees what: dispatchers and administrators everything; executives the replay without names (no names
on people, no operator names or comments in the journal, no camera images); on-call users only the incident
records of their areas, with counts of people and no positions. Saving an incident needs ``Perm.INCIDENT``
and is audited (``webapp.panels.replay.incident``).
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from plotly.subplots import make_subplots

from auth.policy import Perm, Role
from engine.clock import DATE_TIME, format_local
from i18n import catalog, t
from plant import Plant
from webapp import context as web
from webapp.gate import current_user
from webapp.live import replay as data
from webapp.live.personnel import current_viewer, names_visible
from webapp.live.scene import static_spec
from webapp.panels import register_panels
from webapp.panels.replay import incident
from webapp.panels.replay.ids import ids

logger = logging.getLogger(__name__)

dash.register_page(
    __name__, path="/replay", name="nav.replay", order=27, title=web.page_title("nav.replay"), nav="more"
)
register_panels(incident)

CACHE_S = 60
TREND_ROW_PX = 96
REPLAY_LAYERS = [
    "zones",
    "equipment",
    "people",
    "vehicles",
    "alarms",
    "hazards",
    "muster",
    "fences",
    "roads",
    "permits",
]


def _areas() -> tuple[str, ...] | None:
    """The areas an on-call user's replay is limited to; None for everybody else."""
    user = current_user()
    if user is None or user.role != Role.ON_CALL:
        return None
    return user.areas


def _who() -> data.Who:
    user = current_user()
    viewer = current_viewer()
    if viewer is None or user is None:
        raise PermissionError("no user")
    return data.Who(viewer, video=user.can(Perm.VIDEO), areas=_areas())


def _texts(lang: str) -> dict[str, str]:
    """The words the browser's player shows, in the reader's language."""
    keys = [k for k in catalog("en") if k.startswith("replay.js.")]
    return {k[len("replay.js.") :]: t(k, lang) for k in keys}


def layout(**query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    params: dict[str, Any] | None = None
    error = ""
    try:
        op = data.resolve(query, plant, web.engine(), web.now_ms(), areas=_areas())
        params = {
            "t0": op.t0,
            "t1": op.t1,
            "at": op.at,
            "tags": op.tags,
            "source": op.source,
            "ref": op.ref,
            "zones": list(op.zones),
            "alarms": list(op.alarms),
            "events": list(op.events),
        }
    except data.WindowError as exc:
        error = t(exc.key, lang, **exc.values)
    user = current_user()
    scene = user is not None and user.can(Perm.SCENE)  # on-call phones: no plant geometry, counts only
    spec = static_spec(str(web.settings().plant_file), lang, ids.DECK, ids.SELECTED, names_visible()) if scene else None
    tz = plant.tz()
    start = format_local(params["t0"], tz, DATE_TIME) if params else ""
    end = format_local(params["t1"], tz, DATE_TIME) if params else ""
    head = html.Div(
        [
            html.H1(t("replay.title", lang), className="sw-page-title"),
            html.Label(
                [
                    html.Span(t("replay.window.start", lang), className="sw-muted"),
                    dcc.Input(
                        id=ids.START,
                        value=start,
                        type="text",
                        debounce=True,
                        maxLength=20,
                        className="form-control form-control-sm sw-rp-time",
                    ),
                ],
                className="sw-rp-field",
            ),
            html.Label(
                [
                    html.Span(t("replay.window.end", lang), className="sw-muted"),
                    dcc.Input(
                        id=ids.END,
                        value=end,
                        type="text",
                        debounce=True,
                        maxLength=20,
                        className="form-control form-control-sm sw-rp-time",
                    ),
                ],
                className="sw-rp-field",
            ),
            dbc.Button(t("replay.window.load", lang), id=ids.RELOAD, size="sm", color="secondary", outline=True),
            html.Span(error, id=ids.MSG, className="sw-rp-msg", role="status"),
            dcc.Link(t("replay.incidents.link", lang), href="/incidents", className="ms-auto sw-rp-link"),
        ],
        className="sw-rp-head",
    )
    side = html.Div(
        [
            html.H2(t("replay.muster", lang), className="sw-rp-h2"),
            html.Div(id=ids.MUSTER, className="sw-rp-muster"),
            html.H2(t("replay.journal", lang), className="sw-rp-h2"),
            html.Div(id=ids.JOURNAL, className="sw-rp-journal"),
            html.H2(t("replay.video", lang), className="sw-rp-h2"),
            html.Div(id=ids.VIDEO, className="sw-rp-video"),
        ],
        className="sw-rp-side",
    )
    return html.Div(
        [
            head,
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                id=ids.DECK, className="sw-scene-deck sw-scene-compact sw-rp-deck", hidden=not scene
                            ),
                            html.Div(id=ids.BAR, className="sw-rp-bar"),
                        ],
                        className="sw-rp-stage",
                    ),
                    side,
                ],
                className="sw-rp-main",
            ),
            dcc.Loading(
                dcc.Graph(id=ids.TRENDS, config={"displayModeBar": False}, className="sw-rp-trends"), type="dot"
            ),
            incident.save_panel(lang, params),
            dcc.Store(id=ids.STATIC, data=spec),
            dcc.Store(id=ids.PARAMS, data=params),
            dcc.Store(id=ids.DATA),
            dcc.Store(id=ids.CURSOR),
            dcc.Store(id=ids.SELECTED),
            dcc.Store(id=ids.RENDERED),
        ],
        id=ids.ROOT,
        className="sw-rp",
    )


def trend_figure(packed: dict[str, Any], lang: str, at_ms: int, plant: Plant) -> go.Figure:
    """The chosen tags one under the other on one time axis, with the cursor's line across them all."""
    trends = packed.get("trends") or []
    rows = max(1, len(trends))
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.25 / rows if rows > 1 else 0.05)
    for i, tr in enumerate(trends, start=1):
        fig.add_trace(
            go.Scatter(
                x=tr["x"],
                y=tr["y"],
                mode="lines",
                name=tr["tag"],
                line={"width": 1.4, "shape": "hv"},
                connectgaps=False,
                hovertemplate="%{y}<extra>" + tr["tag"] + "</extra>",
            ),
            row=i,
            col=1,
        )
        title = tr["tag"] + (f" ({tr['unit']})" if tr["unit"] else "") + (f" · {tr['desc']}" if tr.get("desc") else "")
        yref = "y domain" if i == 1 else f"y{i} domain"
        fig.add_annotation(
            text=title,
            xref="paper",
            yref=yref,
            x=0,
            y=1,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            font={"size": 11, "color": "#adbac7"},
        )
    x = format_local(at_ms, plant.tz(), DATE_TIME)
    fig.add_shape(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1, line={"color": "#f59e0b", "width": 2})
    fig.update_layout(
        template="plotly_dark",
        height=max(160, TREND_ROW_PX * rows + 40),
        margin={"l": 48, "r": 12, "t": 18, "b": 28},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        uirevision="replay",
    )
    fig.update_xaxes(
        type="date",
        range=[format_local(packed["t0"], plant.tz(), DATE_TIME), format_local(packed["t1"], plant.tz(), DATE_TIME)],
    )
    if not trends:
        fig.add_annotation(
            text=t("replay.trends.none", lang), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
    return fig


@callback(
    Output(ids.DATA, "data"),
    Output(ids.TRENDS, "figure"),
    Output(ids.MSG, "children"),
    Output(ids.PARAMS, "data"),
    Input(ids.PARAMS, "data"),
    Input(ids.RELOAD, "n_clicks"),
    State(ids.START, "value"),
    State(ids.END, "value"),
)
def load_window(
    params: dict[str, Any] | None, n_reload: int | None, start: str | None, end: str | None
) -> tuple[Any, Any, Any, Any]:
    lang = web.lang()
    plant = web.plant()
    if not params:
        return None, trend_figure({"t0": 0, "t1": 0}, lang, 0, plant), dash.no_update, dash.no_update
    new_params: Any = dash.no_update
    if dash.ctx.triggered_id == ids.RELOAD:
        try:
            a = data.parse_time(start, plant)
            b = data.parse_time(end, plant)
            if a is None or b is None:
                raise data.WindowError("replay.error.window")
            data.check_window(a, b)
        except data.WindowError as exc:
            return dash.no_update, dash.no_update, t(exc.key, lang, **exc.values), dash.no_update
        params = dict(params, t0=a, t1=b, at=min(max(int(params.get("at") or a), a), b))
        new_params = params
    who = _who()
    t0, t1 = int(params["t0"]), int(params["t1"])
    tags = [str(x) for x in params.get("tags") or []]
    key = f"sw:replay:{who.viewer.access}:{who.video}:{who.areas}:{lang}:{t0}:{t1}:{','.join(tags)}"
    try:
        packed = web.cached(
            key, CACHE_S, lambda: data.load(web.engine(), plant, t0, t1, who, lang, tags=tags, now_ms=web.now_ms())
        )
    except data.WindowError as exc:
        return None, dash.no_update, t(exc.key, lang, **exc.values), dash.no_update
    at = int(params.get("at") or t0)
    out = dict(
        packed,
        at_s=round((at - t0) / 1000, 1),
        video_ok=who.video,
        tx=_texts(lang),
        lang=lang,
        ids={
            "deck": ids.DECK,
            "bar": ids.BAR,
            "journal": ids.JOURNAL,
            "video": ids.VIDEO,
            "muster": ids.MUSTER,
            "trends": ids.TRENDS,
            "cursor": ids.CURSOR,
        },
        layers=REPLAY_LAYERS,
    )
    msg = t(
        "replay.loaded", lang, people=len(packed["badges"]), rows=len(packed["journal"]), video=len(packed["video"])
    )
    return out, trend_figure(packed, lang, at, plant), msg, new_params


clientside_callback(
    ClientsideFunction(namespace="swreplay", function_name="load"),
    Output(ids.RENDERED, "data"),
    Input(ids.DATA, "data"),
    State(ids.STATIC, "data"),
)
