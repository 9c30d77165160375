"""The 3D plant scene (``/scene``): four-color zones, equipment by state, people, hazards, cameras.

The browser draws with deck.gl (``assets/30_scene.js``): the static scene comes once with the layout, the
equipment meshes once from a cached route, then every refresh brings only live fields (a few KB). The
deck is created once per visit and only its layers change, so the user's camera survives every refresh.
A click opens the side panel, rendered here on the server with live values, sparklines and, for zones,
why the zone has its color. A camera's panel shows its live view (``/video/live/<camera>.mjpg``, through the
relay) to users with the video permission, checked here on the server; the image lives in its own slot that
is emptied when the panel closes or shows something else, so the stream ends and the relay can stop the
capture. Cameras with annunciated video alarms are drawn highlighted with their zones (``vc``/``vz`` of the
live payload), and their panel lists the alarms with their class.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html

from auth.policy import Perm
from engine.clock import format_local
from i18n import catalog, label, normalize_lang, t
from scene import colors
from scene.details import details, trend_window
from scene.layers import DEFAULT_LAYERS, LAYER_KEYS
from store.db import session_scope
from store.tags import tag_ids
from store.trend import trend
from webapp import context as web
from webapp.gate import current_user
from webapp.live.alarms import alarm_snapshot, condition_text
from webapp.live.personnel import names_visible
from webapp.live.scene import live_payload, redact_details, static_spec, with_energy
from webapp.live.snapshot import snapshot
from webapp.routes.video_live import relay
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/scene", name="nav.scene", order=10, title=web.page_title("nav.scene"))

SPARKLINES = 3  # tags with a sparkline in the panel
SPARK_WIDTH = 160


class ids:  # noqa: N801 - a namespace of this page's component ids
    ROOT = "scene-root"
    DECK = "scene-deck"
    STATIC = "scene-static"
    LIVE = "scene-live"
    SELECTED = "scene-selected"
    RENDERED = "scene-rendered"
    LAYERS = "scene-layers"
    LAYERS_TOGGLE = "scene-layers-toggle"
    LAYERS_COLLAPSE = "scene-layers-collapse"
    RESET = "scene-reset"
    PANEL = "scene-panel"
    PANEL_BODY = "scene-panel-body"
    LIVE_VIEW = "scene-live-view"  # a camera's live image, apart from the refreshed body
    LIVE_IMG = "scene-live-img"


# --- data --------------------------------------------------------------------------------------------


# --- layout ------------------------------------------------------------------------------------------


def _swatch(rgb: tuple[int, int, int], text: str) -> html.Span:
    return html.Span(
        [html.Span(className="sw-swatch", style={"background": colors.hex_color(rgb)}), text],
        className="sw-legend-item",
    )


def _legend(lang: str, energy: bool) -> html.Div:
    rows = [
        (t("scene.legend.risk", lang), [_swatch(c, t(f"scene.level.{k}", lang)) for k, c in colors.RISK.items()]),
        (
            t("scene.legend.state", lang),
            [_swatch(c, t(f"scene.state.{k or 'unknown'}", lang)) for k, c in colors.STATE.items()],
        ),
        (t("scene.legend.people", lang), [_swatch(c, t(f"scene.role.{k}", lang)) for k, c in colors.ROLE.items()]),
        (
            t("scene.legend.emergency", lang),
            [
                _swatch(colors.DANGER, t("em.map.danger", lang)),
                _swatch(colors.ROUTE, t("em.map.route.route", lang)),
                _swatch(colors.ROUTE_OUT, t("em.map.route.in_danger", lang)),
                _swatch(colors.RESOURCE, t("em.map.resources", lang)),
            ],
        ),
        (
            t("scene.legend.emissions", lang),
            [_swatch(c, t(f"scene.emission.{k}", lang)) for k, c in colors.EMISSION.items()],
        ),
        (
            t("scene.legend.detectors", lang),
            [_swatch(colors.SEVERITY[k], t(f"scene.severity.{k}", lang)) for k in (0, 1, 2, -1)],
        ),
    ]
    if energy:
        rows.append(
            (
                t("scene.legend.energy", lang),
                [_swatch(c, t(f"scene.energy.{k}", lang)) for k, c in colors.ENERGY.items()],
            )
        )
    return html.Div(
        [html.Div([html.Div(title, className="sw-legend-title"), html.Div(items)]) for title, items in rows],
        className="sw-scene-legend",
    )


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    spec = static_spec(str(web.settings().plant_file), lang, ids.DECK, ids.SELECTED, names_visible())
    try:
        live = with_energy(live_payload())
    except Exception:  # the scene still draws without a store; the first refresh fills it in
        logger.exception("scene: no live data for the first paint")
        live = None
    user = current_user()
    energy = user is not None and user.can(Perm.ENERGY)  # the energy layer for who may see energy figures
    toggles = dbc.Checklist(
        id=ids.LAYERS,
        options=[{"label": t(f"scene.layer.{k}", lang), "value": k} for k in LAYER_KEYS if k != "energy" or energy],
        value=list(DEFAULT_LAYERS),
        switch=True,
        className="sw-scene-layers",
    )
    overlay = html.Div(
        [
            html.Div(
                [
                    html.H1(t("scene.title", lang), className="sw-scene-title"),
                    dbc.Button(
                        t("scene.layers", lang),
                        id=ids.LAYERS_TOGGLE,
                        size="sm",
                        color="secondary",
                        outline=True,
                        className="d-md-none ms-2",
                    ),
                    dbc.Button(
                        t("scene.reset", lang),
                        id=ids.RESET,
                        size="sm",
                        color="secondary",
                        outline=True,
                        className="ms-2",
                    ),
                ],
                className="d-flex align-items-center",
            ),
            dbc.Collapse(
                [toggles, _legend(lang, energy)], id=ids.LAYERS_COLLAPSE, is_open=False, className="sw-scene-collapse"
            ),
        ],
        className="sw-scene-overlay",
    )
    panel = dbc.Offcanvas(
        [html.Div(id=ids.LIVE_VIEW), html.Div(id=ids.PANEL_BODY)],
        id=ids.PANEL,
        title="",
        placement="end",
        is_open=False,
        backdrop=False,
        scrollable=True,
        className="sw-scene-panel",
    )
    return html.Div(
        [
            dcc.Store(id=ids.STATIC, data=spec),
            dcc.Store(id=ids.LIVE, data=live),
            dcc.Store(id=ids.SELECTED),
            dcc.Store(id=ids.RENDERED),
            html.Div(id=ids.DECK, className="sw-scene-deck"),
            overlay,
            panel,
        ],
        id=ids.ROOT,
        className="sw-scene",
    )


# --- callbacks ---------------------------------------------------------------------------------------

clientside_callback(
    ClientsideFunction(namespace="swscene", function_name="render"),
    Output(ids.RENDERED, "data"),
    Input(ids.STATIC, "data"),
    Input(ids.LIVE, "data"),
    Input(ids.LAYERS, "value"),
    Input(ids.RESET, "n_clicks"),
)


@callback(Output(ids.LIVE, "data"), Input(shell_ids.TICK, "n_intervals"), prevent_initial_call=True)
def refresh(_n: int | None) -> dict[str, Any]:
    return with_energy(live_payload())


@callback(
    Output(ids.LAYERS_COLLAPSE, "is_open"),
    Input(ids.LAYERS_TOGGLE, "n_clicks"),
    State(ids.LAYERS_COLLAPSE, "is_open"),
    prevent_initial_call=True,
)
def toggle_layers(_n: int | None, is_open: bool) -> bool:
    return not is_open


def _can_video() -> bool:
    """Whether the user of this request may see camera images (``Perm.VIDEO``; executives may not)."""
    user = current_user()
    return user is not None and user.can(Perm.VIDEO)


def _video_alarms() -> list[dict[str, Any]]:
    try:
        return list(alarm_snapshot()["alarms"])
    except Exception:  # the panel still opens without the alarm store
        logger.exception("scene: no alarms for the camera panel")
        return []


def _panel_content(selected: dict[str, Any] | None) -> tuple[str, html.Div] | None:
    if not selected or not isinstance(selected, dict):
        return None
    lang = web.lang()
    plant = web.plant()
    snap = snapshot()
    kind = str(selected.get("type"))
    alarms = _video_alarms() if kind == "camera" else None
    data = details(plant, snap, kind, str(selected.get("id")), alarms=alarms)
    if data is None:
        return None
    if not names_visible():  # positions without names: a badge is its role (or "vehicle")
        data = redact_details(data)
    render = {"zone": _zone_body, "equipment": _equipment_body, "badge": _badge_body, "camera": _camera_body}
    title = label(data["name"], data.get("name_zh"), lang) if data["name"] else _what(data, lang)
    return title, render[data["type"]](data, snap, lang)


def _what(d: dict[str, Any], lang: str) -> str:
    """A badge or person without a name: its role, or "vehicle"."""
    if d.get("kind") == "vehicle":
        return t("scene.tip.vehicle", lang)
    return t(f"scene.role.{d.get('role')}", lang)


# A click and the refresh are two callbacks: one callback for both would let a refresh that starts while
# the click is answered cancel the click's answer (Dash keeps only the newest request of a callback).
@callback(
    Output(ids.PANEL, "is_open"),
    Output(ids.PANEL, "title"),
    Output(ids.PANEL_BODY, "children"),
    Output(ids.LIVE_VIEW, "children"),
    Input(ids.SELECTED, "data"),
    prevent_initial_call=True,
)
def open_panel(selected: dict[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    content = _panel_content(selected)
    if content is None or not isinstance(selected, dict):
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update
    live = None  # anything but a camera, or no video permission: no image (an open one ends)
    if str(selected.get("type")) == "camera" and _can_video():
        live = live_view(str(selected.get("id")), web.lang())
    return True, content[0], content[1], live


# Closing the panel empties the live view at once, in the browser: the stream ends with the image.
clientside_callback(
    ClientsideFunction(namespace="swscene", function_name="closeLive"),
    Output(ids.LIVE_VIEW, "children", allow_duplicate=True),
    Input(ids.PANEL, "is_open"),
    prevent_initial_call=True,
)


def live_view(camera_id: str, lang: str) -> html.Div | None:
    """A camera's live image from the relay, its name in the image's text alternative (None for a camera the
    plant does not have). Only for users with the video permission: the caller checks it."""
    cam = next((c for c in web.plant().cameras if c.id == camera_id), None)
    if cam is None:
        return None
    name = label(cam.name, cam.name_zh, lang)
    return html.Div(
        html.Img(
            id=ids.LIVE_IMG,
            src=f"/video/live/{cam.id}.mjpg",
            alt=t("scene.camera.live_alt", lang, camera=name),
            className="sw-scene-live",
        ),
        className="sw-scene-live-frame",
    )


@callback(
    Output(ids.PANEL_BODY, "children", allow_duplicate=True),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SELECTED, "data"),
    State(ids.PANEL, "is_open"),
    prevent_initial_call=True,
)
def refresh_panel(_n: int | None, selected: dict[str, Any] | None, is_open: bool) -> Any:
    content = _panel_content(selected) if is_open else None
    return dash.no_update if content is None else content[1]


# --- panel -------------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"


def _level_badge(level: str, lang: str) -> dbc.Badge:
    return dbc.Badge(t(f"scene.level.{level}", lang), className=f"sw-level sw-level-{level}")


def _names(plant_items: list[Any], lang: str) -> dict[str, str]:
    return {x.id: label(x.name, x.name_zh, lang) for x in plant_items}


def _reason_text(reason: dict[str, Any], lang: str) -> str:
    """A dynamic risk reason in the user's language (``risk.reason.<code>``), values formatted."""
    plant = web.plant()
    code = str(reason.get("code"))
    params: dict[str, Any] = {}
    for k, v in reason.items():
        if k == "code":
            continue
        params[k] = _fmt(float(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v
    if "equipment" in params:
        params["equipment"] = _names(plant.equipment, lang).get(str(params["equipment"]), params["equipment"])
    key = f"risk.reason.{code}"
    if key in catalog(normalize_lang(lang)) or key in catalog("en"):
        try:
            return t(key, lang, **params)
        except (KeyError, IndexError, ValueError):
            logger.warning("risk reason %s: placeholders do not match %s", code, sorted(params))
    detail = ", ".join(f"{k} {v}" for k, v in params.items())
    return f"{code}: {detail}" if detail else code


def _sparklines(tag_names: list[str], now_ms: int) -> dict[str, dcc.Graph]:
    """Small trend charts of the last hour for ``tag_names`` (store queries, no SQL here)."""
    if not tag_names:
        return {}
    t0, t1 = trend_window(now_ms)
    out: dict[str, dcc.Graph] = {}
    try:
        with session_scope(web.engine()) as session:
            known = tag_ids(session)
            for name in tag_names:
                if name not in known:
                    continue
                tr = trend(session, known[name], t0, t1, SPARK_WIDTH)
                if len(tr) < 2:
                    continue
                ts, values = tr.with_breaks()
                fig = go.Figure(
                    go.Scatter(
                        x=[datetime.fromtimestamp(v / 1000, UTC) for v in ts],
                        y=values,
                        mode="lines",
                        line={"width": 1.5, "color": "#7dd3fc"},
                        hoverinfo="skip",
                    )
                )
                fig.update_layout(
                    height=34,
                    margin={"l": 0, "r": 0, "t": 2, "b": 2},
                    paper_bgcolor="rgba(0,0,0,0)",
                    plot_bgcolor="rgba(0,0,0,0)",
                    xaxis={"visible": False},
                    yaxis={"visible": False},
                    showlegend=False,
                )
                out[name] = dcc.Graph(
                    figure=fig, config={"staticPlot": True, "displayModeBar": False}, className="sw-spark"
                )
    except Exception:
        logger.exception("scene: sparklines failed")
    return out


def _limits_text(limits: dict[str, float], lang: str) -> str:
    return " · ".join(f"{t('limit.' + k, lang)} {_fmt(v)}" for k, v in limits.items())


def _tags_table(rows: list[dict[str, Any]], now_ms: int, lang: str) -> html.Div:
    if not rows:
        return html.Div(t("scene.panel.no_tags", lang), className="text-secondary small")
    sparks = _sparklines([r["id"] for r in rows[:SPARKLINES]], now_ms)
    items = []
    for r in rows:
        state = {2: "sw-tag-hh", 1: "sw-tag-h", -1: "sw-tag-none"}.get(r["state"], "")
        items.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(r["id"], className="font-monospace sw-tag-id"),
                            html.Span(f"{_fmt(r['value'])} {r['unit']}".strip(), className="sw-num ms-auto"),
                        ],
                        className="d-flex gap-2",
                    ),
                    html.Div(label(r["description"], r["description_zh"], lang), className="sw-tag-desc"),
                    html.Div(_limits_text(r["limits"], lang), className="sw-tag-limits") if r["limits"] else None,
                    sparks.get(r["id"]),
                ],
                className=f"sw-tag {state}",
            )
        )
    return html.Div(items)


def _section(title: str, *children: Any) -> html.Div:
    return html.Div([html.H3(title, className="sw-panel-h"), *children], className="sw-panel-section")


def _camera_line(cam: dict[str, Any] | None, lang: str) -> html.Div:
    if cam is None:
        return html.Div(t("scene.panel.no_camera", lang), className="text-secondary small")
    return html.Div(
        [
            html.Span(label(cam["name"], cam.get("name_zh"), lang), className="fw-semibold"),
            html.Span(t("scene.panel.distance", lang, m=f"{cam['distance_m']:.0f}"), className="text-secondary ms-2"),
        ]
    )


def _zone_body(d: dict[str, Any], snap: dict[str, Any], lang: str) -> html.Div:
    lec = d["lec"]
    reasons = [html.Li(_reason_text(r, lang)) for r in d["reasons"]]
    why = _section(
        t("scene.why", lang),
        html.Div(
            t(
                "scene.why.lec",
                lang,
                l=_fmt(lec["l"]),
                e=_fmt(lec["e"]),
                c=_fmt(lec["c"]),
                score=_fmt(lec["score"]),
                level=t(f"scene.level.{lec['level']}", lang),
            ),
            className="sw-why-lec",
        ),
        html.Ul(reasons, className="sw-why-reasons mb-0")
        if reasons
        else html.Div(t("scene.why.none", lang), className="text-secondary small"),
    )
    people_names = [
        html.Li(
            [
                html.Span(label(p["name"], p.get("name_zh"), lang) if p["name"] else _what(p, lang)),
                html.Span(t(f"scene.role.{p['role']}", lang), className="text-secondary ms-2") if p["name"] else None,
                dbc.Badge(t("scene.tip.sos", lang), color="danger", className="ms-2") if p["sos"] else None,
            ]
        )
        for p in d["people"]
    ]
    if d["people_more"]:
        people_names.append(html.Li(t("scene.panel.more", lang, n=d["people_more"]), className="text-secondary"))
    count = str(d["headcount"]) if d["headcount_max"] is None else f"{d['headcount']} / {d['headcount_max']}"
    return html.Div(
        [
            html.Div(
                [
                    _level_badge(d["level"], lang),
                    html.Span(t("scene.panel.static", lang), className="text-secondary ms-2 me-1"),
                    _level_badge(d["static_level"], lang),
                ],
                className="d-flex align-items-center mb-2",
            ),
            why,
            _section(
                t("scene.panel.people", lang),
                html.Div(count, className="sw-big"),
                html.Ul(people_names, className="sw-people mb-0") if people_names else None,
            ),
            _section(t("scene.panel.values", lang), _tags_table(d["tags"], int(snap.get("now_ms") or 0), lang)),
            _section(t("scene.panel.camera", lang), _camera_line(d["camera"], lang)),
        ]
    )


def _equipment_body(d: dict[str, Any], snap: dict[str, Any], lang: str) -> html.Div:
    plant = web.plant()
    state = d["state"] or "unknown"
    zone = _names(plant.zones, lang).get(d["zone"], d["zone"])
    return html.Div(
        [
            html.Div(
                [
                    dbc.Badge(t(f"scene.state.{state}", lang), className=f"sw-state sw-state-{state}"),
                    html.Span(t(f"scene.kind.{d['kind']}", lang), className="ms-2"),
                    html.Span(zone, className="text-secondary ms-2"),
                ],
                className="d-flex align-items-center flex-wrap mb-2",
            ),
            html.Div(d["id"], className="font-monospace text-secondary small mb-2"),
            _section(t("scene.panel.values", lang), _tags_table(d["tags"], int(snap.get("now_ms") or 0), lang)),
            _section(t("scene.panel.camera", lang), _camera_line(d["camera"], lang)),
        ]
    )


def _badge_body(d: dict[str, Any], snap: dict[str, Any], lang: str) -> html.Div:
    plant = web.plant()
    zone = _names(plant.zones, lang).get(d["zone"] or "", t("scene.panel.outside", lang))
    rows = [
        (t("scene.panel.role", lang), t(f"scene.role.{d['role']}", lang)),
        (t("scene.panel.team", lang), d["team"] or "-"),
        (t("scene.panel.zone", lang), zone if d["on_site"] else t("scene.panel.off_site", lang)),
        (t("scene.panel.floor", lang), "-" if d["floor"] is None else str(d["floor"])),
    ]
    if not d["name"]:  # a viewer without names sees no team either
        del rows[1]
    return html.Div(
        [
            dbc.Badge(t("scene.tip.sos", lang), color="danger", className="mb-2") if d["sos"] else None,
            html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))], className="sw-dl"),
            _section(t("scene.panel.camera", lang), _camera_line(d["camera"], lang)),
        ]
    )


def _camera_status(camera_id: str, lang: str) -> html.Span:
    """Online with its frame rate, offline since when, or connecting (the relay's capture of the camera)."""
    try:
        status = relay().status(camera_id)
    except Exception:  # no relay in this app
        status = None
    if status is None or (not status.online and status.frames == 0 and status.reconnects == 0):
        return html.Span(t("video.connecting", lang), className="sw-cam-state is-connecting")
    if status.online:
        return html.Span(t("video.online", lang, fps=f"{status.fps:.1f}"), className="sw-cam-state is-online")
    since = format_local(status.since_ms, web.plant().tz())
    return html.Span(t("video.offline_since", lang, time=since), className="sw-cam-state is-offline")


def _video_alarm_list(rows: list[dict[str, Any]], lang: str) -> html.Div | html.Ul:
    if not rows:
        return html.Div(t("scene.camera.no_alarms", lang), className="text-secondary small")
    plant = web.plant()
    items = []
    for a in rows:
        items.append(
            html.Li(
                [
                    dbc.Badge(condition_text(a["class"], lang), className=f"sw-vclass sw-prio-{a['priority']}"),
                    html.Span(t(f"alarm.priority.{a['priority']}", lang), className="ms-2"),
                    html.Span(t(f"alarm.state.{a['state']}", lang), className="text-secondary ms-2"),
                    html.Span(format_local(a["since"], plant.tz()), className="sw-num text-secondary ms-auto"),
                ],
                className="sw-cam-alarm d-flex align-items-center flex-wrap",
            )
        )
    return html.Ul(items, className="sw-cam-alarms list-unstyled mb-0")


def _camera_body(d: dict[str, Any], snap: dict[str, Any], lang: str) -> html.Div:
    plant = web.plant()
    video = _can_video()
    rows: list[tuple[str, Any]] = [(t("scene.panel.zone", lang), _names(plant.zones, lang).get(d["zone"], d["zone"]))]
    if video:  # the status comes from the video service: only with the video permission
        rows.append((t("scene.camera.status", lang), _camera_status(d["id"], lang)))
    rows += [
        (t("scene.panel.fov", lang), f"{d['fov_deg']:.0f}°"),
        (t("scene.panel.range", lang), f"{d['range_m']:.0f} m"),
    ]
    return html.Div(
        [
            html.Div(d["id"], className="font-monospace text-secondary small mb-2"),
            html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))], className="sw-dl"),
            _section(t("scene.camera.alarms", lang), _video_alarm_list(d.get("alarms") or [], lang)),
            html.Div(
                dcc.Link(t("scene.camera.open_video", lang), href="/video", className="sw-more")
                if video
                else html.Span(t("scene.camera.no_live", lang), className="text-secondary small"),
                className="sw-panel-section",
            ),
        ]
    )
