"""Personnel and vehicles (``/personnel``): live map, headcount, violations, follow, playback, heatmap,
muster and exposure (P1-P6).

The map (``assets/60_personnel.js``) draws with the scene's offline deck.gl in plant metres, in a top view
(OrthographicView) or in 3D (OrbitView), and is created once per visit: live refreshes, playback windows,
heatmaps and trajectories only replace layers. Every refresh reads one shared live build per access level
(:func:`webapp.live.personnel.live`), so any number of screens cost one set of queries. Every read of
positions and identities goes through :mod:`store.people` with the viewer.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html

from auth import Perm
from auth.auditlog import MUSTER_DECLARED, MUSTER_ENDED
from i18n import label, t
from plant import Plant
from scene import colors
from store import people
from store.db import session_scope
from webapp import context as web
from webapp.audit import audit
from webapp.gate import current_user
from webapp.live import personnel as data
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/personnel", name="nav.personnel", order=20, title=web.page_title("nav.personnel"))

EXPOSURE_ROWS = 100
MISSING_ROWS = 60
SEVERITY_CLASS = {"urgent": "sw-sev-urgent", "high": "sw-sev-high", "medium": "sw-sev-medium", "low": "sw-sev-low"}


class ids:  # noqa: N801 - a namespace of this page's component ids
    ROOT = "personnel-root"
    DECK = "personnel-deck"
    STATIC = "personnel-static"
    LIVE = "personnel-live"
    TRIPS = "personnel-trips"
    HEAT = "personnel-heat"
    PATH = "personnel-path"
    RENDERED = "personnel-rendered"
    SUMMARY = "personnel-summary"
    SHIFT = "personnel-shift"
    MODE = "personnel-mode"
    VIEW = "personnel-view"
    FOLLOW = "personnel-follow"
    FOLLOW_PANEL = "personnel-follow-panel"
    HEADCOUNT = "personnel-headcount"
    FEED = "personnel-feed"
    FEED_COUNT = "personnel-feed-count"
    HISTORY = "personnel-history"
    END = "personnel-end"
    DURATION = "personnel-duration"
    ZONE = "personnel-zone"
    RELOAD = "personnel-reload"
    PATH_BTN = "personnel-path-btn"
    HISTORY_MSG = "personnel-history-msg"
    PLAYBAR = "personnel-playbar"
    LEGEND = "personnel-legend"
    MUSTER_BANNER = "personnel-muster-banner"
    MUSTER_BODY = "personnel-muster-body"
    MUSTER_NAME = "personnel-muster-name"
    MUSTER_NOTE = "personnel-muster-note"
    DECLARE = "personnel-declare"
    DECLARE_CONFIRM = "personnel-declare-confirm"
    END_MUSTER = "personnel-end-muster"
    MUSTER_MSG = "personnel-muster-msg"
    EXP_DAY = "personnel-exp-day"
    EXP_SHIFT = "personnel-exp-shift"
    EXP_LEVELS = "personnel-exp-levels"
    EXP_TABLE = "personnel-exp-table"
    EXP_CSV = "personnel-exp-csv"


# --- small renderers ------------------------------------------------------------------------------------


def _names(items: list[Any], lang: str) -> dict[str, str]:
    return {x.id: label(x.name, x.name_zh, lang) for x in items}


def _person_name(who: dict[str, people.Identity], badge: str | None, lang: str) -> str:
    if not badge:
        return "-"
    ident = who.get(badge)
    if ident is None or not ident.name:
        return badge
    return label(ident.name, ident.name_zh, lang)


def _age(seconds: float | None, lang: str) -> str:
    """A duration in the user's language: seconds, minutes or hours."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return t("personnel.age.s", lang, n=f"{seconds:.0f}")
    if seconds < 3600:
        return t("personnel.age.min", lang, n=f"{seconds / 60:.0f}")
    return t("personnel.age.h", lang, n=f"{seconds / 3600:.1f}")


def _rule_text(rule: str, lang: str) -> str:
    return t(f"personnel.rule.{rule}", lang) if rule in data.RULES else rule


def _dot(rgb: tuple[int, int, int]) -> html.Span:
    return html.Span(className="sw-dot", style={"background": colors.hex_color(rgb)})


def _level_dot(level: str) -> html.Span:
    return html.Span(className=f"sw-dot sw-lv-{level}")


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


def _summary(live: dict[str, Any], lang: str) -> list[Any]:
    on = live.get("on_site") or {}
    by_role = live.get("by_role") or {}
    status = live.get("by_status") or {}

    def stat(value: Any, text: str, cls: str = "") -> html.Span:
        return html.Span([html.Span(str(value), className=f"sw-stat-v {cls}"), " ", text], className="sw-stat")

    items = [
        stat(on.get("person", 0), t("personnel.summary.people", lang)),
        stat(on.get("vehicle", 0), t("personnel.summary.vehicles", lang)),
    ]
    for role, rgb in colors.ROLE.items():
        if role == "driver":
            continue
        items.append(
            html.Span([_dot(rgb), f" {t(f'scene.role.{role}', lang)} {by_role.get(role, 0)}"], className="sw-stat")
        )
    v, s = status.get("violation", 0), status.get("sos", 0)
    items.append(stat(v, t("personnel.summary.violation", lang), "sw-st-warn" if v else ""))
    items.append(stat(s, t("personnel.summary.sos", lang), "sw-st-bad" if s else ""))
    return items


def _shift_text(live: dict[str, Any], lang: str) -> str:
    shift = live.get("shift")
    return t("personnel.shift", lang, shift=shift) if shift else t("personnel.no_shift", lang)


def _headcount(live: dict[str, Any], plant: Plant, lang: str) -> html.Div:
    names = _names(plant.zones, lang)
    rows = sorted(
        live.get("headcount") or [],
        key=lambda r: (r["state"] == "ok", -r["n"], names.get(r["zone"], r["zone"])),
    )
    body = []
    for r in rows:
        limits = "-" if r["max"] is None else f"{r['min']}-{r['max']}"
        chip = html.Span(t(f"personnel.hc.{r['state']}", lang), className=f"sw-hc-chip sw-hc-{r['state']}")
        body.append(
            html.Tr(
                [
                    html.Td([_level_dot(r["level"]), " ", names.get(r["zone"], r["zone"])], className="sw-hc-zone"),
                    html.Td(str(r["n"]), className="sw-num"),
                    html.Td(limits, className="sw-num sw-muted"),
                    html.Td(chip),
                ],
                className=f"sw-hc-row-{r['state']}",
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("personnel.hc.zone", lang)),
                html.Th(t("personnel.hc.people", lang), className="sw-num"),
                html.Th(t("personnel.hc.limits", lang), className="sw-num"),
                html.Th(t("personnel.hc.state", lang)),
            ]
        )
    )
    return html.Table([head, html.Tbody(body)], className="table table-sm sw-table sw-hc mb-0")


def _feed(live: dict[str, Any], plant: Plant, lang: str) -> html.Div:
    items = live.get("violations") or []
    if not items:
        return html.Div(t("personnel.feed.none", lang), className="sw-muted")
    who = people.identities(plant, data.current_viewer())
    zones = _names(plant.zones, lang)
    cams = _names(plant.cameras, lang)
    now = int(live.get("now_ms") or 0)
    out = []
    for v in items:
        is_open = v["end"] is None
        when = data.local_time(plant, v["start"])
        dur = (now if is_open else v["end"]) - v["start"]
        meta = [
            html.Span(_person_name(who, v["badge"], lang), className="sw-pv-who"),
            html.Span(zones.get(v["zone"] or "", v["zone"] or "-"), className="sw-pv-zone"),
        ]
        if v.get("camera"):
            meta.append(
                html.Span(
                    [html.Span("◉ ", className="sw-pv-cam-icon"), cams.get(v["camera"], v["camera"])],
                    className="sw-pv-cam",
                    title=t("personnel.feed.camera", lang),
                )
            )
        out.append(
            html.Li(
                [
                    html.Div(
                        [
                            html.Span(
                                t(f"personnel.severity.{v['severity']}", lang)
                                if v["severity"] in data.SEVERITIES
                                else v["severity"],
                                className=f"sw-sev {SEVERITY_CLASS.get(v['severity'], '')}",
                            ),
                            html.Span(_rule_text(v["rule"], lang), className="sw-pv-rule"),
                            html.Span(
                                t("personnel.feed.open", lang) if is_open else t("personnel.feed.closed", lang),
                                className="sw-pv-state",
                            ),
                        ],
                        className="sw-pv-head",
                    ),
                    html.Div(meta, className="sw-pv-meta"),
                    html.Div(
                        [
                            html.Span(when, className="sw-num"),
                            html.Span(_age(max(0, dur) / 1000, lang), className="sw-muted ms-2"),
                        ],
                        className="sw-pv-time",
                    ),
                ],
                className="sw-pv" + (" sw-pv-open" if is_open else ""),
                **{"data-rule": v["rule"], "data-open": "1" if is_open else "0"},
            )
        )
    return html.Ul(out, className="sw-pv-list")


def _muster_banner(live: dict[str, Any], lang: str) -> Any:
    m = live.get("muster")
    if not m:
        return None
    return html.Div(
        [
            html.Span(t("personnel.muster.active", lang), className="sw-mb-title"),
            html.Span(
                t("personnel.muster.counts", lang, arrived=m["arrived"], roll=m["on_roll"], missing=m["missing_count"]),
                className="sw-mb-counts",
            ),
        ],
        className="sw-muster-banner",
        role="alert",
    )


def _muster_body(live: dict[str, Any], plant: Plant, lang: str) -> html.Div:
    m = live.get("muster")
    if not m:
        return html.Div(t("personnel.muster.none", lang), className="sw-muted mb-2")
    points = _names(plant.muster_points, lang)
    zones = _names(plant.zones, lang)
    who = people.identities(plant, data.current_viewer())
    declared = t(
        "personnel.muster.declared",
        lang,
        time=data.local_time(plant, m["declared_ms"]),
        who=m["declared_by"] or "-",
    )
    big = html.Div(
        [
            html.Div(
                [html.Div(str(m["arrived"]), className="sw-kpi-md sw-st-ok"), t("personnel.muster.arrived", lang)],
                className="sw-mu-k",
            ),
            html.Div(
                [html.Div(str(m["on_roll"]), className="sw-kpi-md"), t("personnel.muster.roll", lang)],
                className="sw-mu-k",
            ),
            html.Div(
                [
                    html.Div(
                        str(m["missing_count"]),
                        className="sw-kpi-md " + ("sw-st-bad" if m["missing_count"] else "sw-st-ok"),
                        id="personnel-muster-missing-count",
                    ),
                    t("personnel.muster.missing", lang),
                ],
                className="sw-mu-k",
            ),
        ],
        className="sw-mu-kpis",
    )
    point_rows = [
        html.Tr(
            [
                html.Td(points.get(p["id"], p["id"])),
                html.Td(str(p["arrived"]), className="sw-num"),
                html.Td(str(p["assigned"]), className="sw-num sw-muted"),
                html.Td(
                    t("personnel.muster.from_other", lang, n=p["from_other"]) if p["from_other"] else "",
                    className="sw-muted small",
                ),
            ]
        )
        for p in m["points"]
    ]
    point_table = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(t("personnel.muster.point", lang)),
                        html.Th(t("personnel.muster.here", lang), className="sw-num"),
                        html.Th(t("personnel.muster.assigned", lang), className="sw-num"),
                        html.Th(""),
                    ]
                )
            ),
            html.Tbody(point_rows),
        ],
        className="table table-sm sw-table mb-2",
    )
    missing_items = [
        html.Li(
            [
                html.Span(_person_name(who, x["badge"], lang), className="fw-semibold"),
                html.Span(x["badge"], className="font-monospace sw-muted ms-2 small"),
                html.Div(
                    t(
                        "personnel.muster.last_seen",
                        lang,
                        zone=zones.get(x["zone"] or "", t("personnel.tip.outside", lang)),
                        x=f"{x['x']:.0f}",
                        y=f"{x['y']:.0f}",
                        age=_age(x["age_s"], lang),
                    ),
                    className="sw-muted small",
                ),
            ],
            className="sw-mu-missing",
        )
        for x in m["missing"][:MISSING_ROWS]
    ]
    if len(m["missing"]) > MISSING_ROWS:
        missing_items.append(
            html.Li(t("personnel.more", lang, n=len(m["missing"]) - MISSING_ROWS), className="sw-muted")
        )
    at_other = m.get("at_other") or {}
    notes = []
    if at_other:
        notes.append(
            html.Div(
                t("personnel.muster.at_other", lang, n=len(at_other))
                + ": "
                + ", ".join(
                    f"{_person_name(who, b, lang)} → {points.get(p, p)}" for b, p in sorted(at_other.items())[:20]
                ),
                className="sw-muted small mb-1",
            )
        )
    if m.get("extra"):
        notes.append(html.Div(t("personnel.muster.extra", lang, n=m["extra"]), className="sw-muted small mb-1"))
    return html.Div(
        [
            html.Div(declared, className="sw-muted small mb-1"),
            html.Div(m["note"], className="sw-mu-note mb-1") if m.get("note") else None,
            big,
            point_table,
            *notes,
            html.H3(t("personnel.muster.missing_list", lang), className="sw-panel-h mt-2"),
            html.Ul(missing_items, className="sw-mu-list", id="personnel-muster-missing")
            if missing_items
            else html.Div(t("personnel.muster.all_in", lang), className="sw-st-ok"),
        ]
    )


def _follow_panel(badge: str | None, live: dict[str, Any], plant: Plant, lang: str) -> Any:
    if not badge:
        return html.Div(t("personnel.follow.hint", lang), className="sw-muted")
    viewer = data.current_viewer()
    try:
        ident = people.identity(plant, badge, viewer)
    except people.UnknownBadgeError:
        return html.Div(t("personnel.follow.unknown", lang), className="text-warning")
    except people.NotAllowedError:
        return html.Div(t("personnel.not_allowed", lang), className="text-warning")
    index = {b.id: i for i, b in enumerate(plant.badges)}.get(badge)
    row = next((r for r in live.get("people") or [] if r[0] == index), None)
    zones = _names(plant.zones, lang)
    name = label(ident.name, ident.name_zh, lang) if ident.name else badge
    head = html.Div(
        [
            html.Span(name, className="sw-fl-name"),
            html.Span(badge, className="font-monospace sw-muted ms-2"),
        ],
        className="sw-fl-head",
    )
    kind = t("scene.tip.vehicle", lang) if ident.vehicle else t(f"scene.role.{ident.role}", lang)
    chips = [html.Span(kind, className=f"sw-role-chip sw-role-{ident.role}")]
    if row is None:
        chips.append(html.Span(t("personnel.follow.off_site", lang), className="sw-hc-chip sw-hc-ok ms-1"))
        return html.Div([head, html.Div(chips, className="mb-1")], **{"data-badge": badge})
    status = {0: "normal", 1: "violation", 2: "sos"}[row[4]]
    chips.append(html.Span(t(f"personnel.status.{status}", lang), className=f"sw-st-chip sw-st-chip-{status} ms-1"))
    zone_id = _zone_of(plant, row[1], row[2])
    open_rules = [
        _rule_text(v["rule"], lang) for v in live.get("violations") or [] if v["badge"] == badge and v["end"] is None
    ]
    cam = data._camera_for(plant, None, zone_id, (row[1], row[2]))
    cams = _names(plant.cameras, lang)
    rows = [
        (t("scene.panel.zone", lang), zones.get(zone_id or "", t("personnel.tip.outside", lang))),
        (t("personnel.follow.position", lang), f"{row[1]:.1f}, {row[2]:.1f} m"),
        (t("personnel.follow.seen", lang), _age(row[6], lang)),
        (t("scene.panel.team", lang), ident.team or "-"),
        (t("scene.panel.camera", lang), cams.get(cam or "", "-")),
    ]
    return html.Div(
        [
            head,
            html.Div(chips, className="mb-1"),
            html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))], className="sw-dl mb-1"),
            html.Div(
                [html.Span(t("personnel.follow.rules", lang) + ": ", className="sw-muted"), ", ".join(open_rules)],
                className="sw-fl-rules",
            )
            if open_rules
            else None,
        ],
        **{"data-badge": badge},
    )


def _zone_of(plant: Plant, x: float, y: float) -> str | None:
    from engine.geometry import point_in_polygon

    for z in plant.zones:
        if point_in_polygon(x, y, z.polygon):
            return z.id
    return None


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
    zones = _names(plant.zones, lang)
    body = [
        html.Tr(
            [
                html.Td(_person_name(who, r["badge"], lang), className="sw-ex-name"),
                html.Td(r["shift"]),
                html.Td([_level_dot(r["level"]), " ", zones.get(r["zone"], r["zone"])], className="sw-ex-zone"),
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


# --- layout ---------------------------------------------------------------------------------------------


def _card(title: str, body: Any, extra: Any = None, cls: str = "") -> html.Div:
    return html.Div(
        [html.Div([html.Span(title), extra], className="sw-card-head"), body],
        className=f"sw-card sw-panel sw-pm-card {cls}",
    )


def layout(follow: str | None = None, **_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    viewer = data.current_viewer()
    if viewer is None:  # the gate lets nobody here without a login; refuse anyway, never show everything
        return html.Div(t("login.required", lang), id=ids.ROOT, className="sw-pm-refused", role="alert")
    level = people.access(viewer)
    spec = data.static_spec(
        str(web.settings().plant_file),
        lang,
        level.value,
        (
            ("deck", ids.DECK),
            ("follow", ids.FOLLOW),
            ("playbar", ids.PLAYBAR),
            ("mode", ids.MODE),
        ),
    )
    try:
        live = data.live(viewer)
    except Exception:  # the page still draws without a store; the first refresh fills it in
        logger.exception("personnel: no live data for the first paint")
        live = {"now_ms": web.now_ms(), "people": [], "headcount": [], "violations": [], "muster": None}
    who = people.identities(plant, viewer)
    follow_options = [
        {
            "label": f"{label(i.name, i.name_zh, lang)} · {i.badge}" if i.name else i.badge,
            "value": i.badge,
        }
        for i in who.values()
    ]
    initial_follow = follow if follow in who else None
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
            dcc.Dropdown(
                id=ids.FOLLOW,
                options=follow_options,
                value=initial_follow,
                placeholder=t("personnel.follow.search", lang),
                searchable=True,
                clearable=True,
                className="sw-pm-follow",
                maxHeight=320,
            ),
        ],
        className="sw-pm-toolbar",
    )
    zones = _names(plant.zones, lang)
    history = html.Div(
        [
            html.Label(
                [
                    html.Span(t("personnel.window.end", lang), className="sw-muted"),
                    dcc.Input(
                        id=ids.END,
                        type="text",
                        debounce=True,
                        placeholder=t("personnel.window.end_placeholder", lang),
                        className="form-control form-control-sm sw-pm-end",
                        maxLength=20,
                    ),
                ],
                className="sw-pm-field",
            ),
            html.Label(
                [
                    html.Span(t("personnel.window.duration", lang), className="sw-muted"),
                    dcc.Dropdown(
                        id=ids.DURATION,
                        options=[
                            {
                                "label": t("personnel.window.minutes", lang, n=m)
                                if m < 60
                                else t("personnel.window.hours", lang, n=m // 60),
                                "value": m,
                            }
                            for m in data.DURATIONS_MIN
                        ],
                        value=60,
                        clearable=False,
                        searchable=False,
                        className="sw-pm-dd",
                    ),
                ],
                className="sw-pm-field",
            ),
            html.Label(
                [
                    html.Span(t("personnel.window.zone", lang), className="sw-muted"),
                    dcc.Dropdown(
                        id=ids.ZONE,
                        options=[{"label": t("personnel.window.all_zones", lang), "value": ""}]
                        + [{"label": zones[z.id], "value": z.id} for z in plant.zones],
                        value="",
                        clearable=False,
                        className="sw-pm-dd sw-pm-dd-wide",
                    ),
                ],
                className="sw-pm-field",
            ),
            dbc.Button(t("personnel.window.reload", lang), id=ids.RELOAD, size="sm", color="secondary", outline=True),
            dbc.Button(t("personnel.window.path", lang), id=ids.PATH_BTN, size="sm", color="info", outline=True),
            html.Span(id=ids.HISTORY_MSG, className="sw-pm-msg", role="status"),
        ],
        id=ids.HISTORY,
        className="sw-pm-history",
    )
    map_card = html.Div(
        [
            toolbar,
            html.Div(html.Div(id=ids.DECK, className="sw-pm-deck"), className="sw-pm-deck-wrap"),
            html.Div(id=ids.PLAYBAR, className="sw-pm-playbar", hidden=True),
            history,
            _legend(lang),
        ],
        className="sw-card sw-panel sw-pm-map",
    )
    muster_form = html.Div(
        [
            dcc.Input(  # who acts: the logged-in user, shown, never typed
                id=ids.MUSTER_NAME,
                type="text",
                value=viewer.user,
                disabled=True,
                placeholder=t("personnel.muster.your_name", lang),
                className="form-control form-control-sm",
                maxLength=64,
            ),
            dcc.Input(
                id=ids.MUSTER_NOTE,
                type="text",
                placeholder=t("personnel.muster.note", lang),
                className="form-control form-control-sm",
                maxLength=200,
            ),
            dcc.ConfirmDialogProvider(
                dbc.Button(t("personnel.muster.declare", lang), id=ids.DECLARE, color="danger", size="sm"),
                id=ids.DECLARE_CONFIRM,
                message=t("personnel.muster.confirm", lang),
            ),
            dbc.Button(t("personnel.muster.end", lang), id=ids.END_MUSTER, color="secondary", outline=True, size="sm"),
            html.Div(id=ids.MUSTER_MSG, className="sw-pm-msg w-100", role="status"),
        ],
        className="sw-mu-form",
    )
    days = data.history_days(plant, web.now_ms())
    exposure_controls = html.Div(
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
    return html.Div(
        [
            dcc.Store(id=ids.STATIC, data=spec),
            dcc.Store(id=ids.LIVE, data=live),
            dcc.Store(id=ids.TRIPS),
            dcc.Store(id=ids.HEAT),
            dcc.Store(id=ids.PATH),
            dcc.Store(id=ids.RENDERED),
            html.Div(
                [
                    html.H1(t("personnel.title", lang), className="sw-page-title"),
                    html.Span(_shift_text(live, lang), id=ids.SHIFT, className="sw-shift"),
                    html.Div(_summary(live, lang), id=ids.SUMMARY, className="sw-stats sw-pm-summary"),
                ],
                className="sw-page-head",
            ),
            html.Div(_muster_banner(live, lang), id=ids.MUSTER_BANNER),
            dbc.Row(
                [
                    dbc.Col(map_card, lg=8, className="mb-2"),
                    dbc.Col(
                        html.Div(
                            [
                                _card(
                                    t("personnel.follow.title", lang),
                                    html.Div(_follow_panel(initial_follow, live, plant, lang), id=ids.FOLLOW_PANEL),
                                    cls="sw-pm-follow-card",
                                ),
                                _card(
                                    t("personnel.feed.title", lang),
                                    html.Div(_feed(live, plant, lang), id=ids.FEED, className="sw-pm-scroll"),
                                    cls="sw-pm-feed-card",
                                ),
                                _card(
                                    t("personnel.hc.title", lang),
                                    html.Div(_headcount(live, plant, lang), id=ids.HEADCOUNT, className="sw-pm-scroll"),
                                    cls="sw-pm-hc-card",
                                ),
                            ],
                            className="sw-pm-side",
                        ),
                        lg=4,
                        className="mb-2",
                    ),
                ],
                className="g-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        _card(
                            t("personnel.muster.title", lang),
                            html.Div([html.Div(_muster_body(live, plant, lang), id=ids.MUSTER_BODY), muster_form]),
                            cls="sw-pm-muster",
                        ),
                        lg=5,
                        className="mb-2",
                    ),
                    dbc.Col(
                        _card(
                            t("personnel.exposure.title", lang),
                            html.Div([exposure_controls, html.Div(id=ids.EXP_TABLE)]),
                            cls="sw-pm-exposure",
                        ),
                        lg=7,
                        className="mb-2",
                    ),
                ],
                className="g-2",
            ),
        ],
        id=ids.ROOT,
        className="sw-personnel",
    )


# --- callbacks ------------------------------------------------------------------------------------------

clientside_callback(
    ClientsideFunction(namespace="swpersonnel", function_name="render"),
    Output(ids.RENDERED, "data"),
    Input(ids.STATIC, "data"),
    Input(ids.LIVE, "data"),
    Input(ids.MODE, "value"),
    Input(ids.VIEW, "value"),
    Input(ids.FOLLOW, "value"),
    Input(ids.TRIPS, "data"),
    Input(ids.HEAT, "data"),
    Input(ids.PATH, "data"),
)


@callback(
    Output(ids.LIVE, "data"),
    Output(ids.SUMMARY, "children"),
    Output(ids.SHIFT, "children"),
    Output(ids.HEADCOUNT, "children"),
    Output(ids.FEED, "children"),
    Output(ids.MUSTER_BANNER, "children"),
    Output(ids.MUSTER_BODY, "children"),
    Output(ids.DECLARE, "disabled"),
    Output(ids.END_MUSTER, "disabled"),
    Input(shell_ids.TICK, "n_intervals"),
    prevent_initial_call=True,
)
def refresh(_n: int | None) -> tuple[Any, ...]:
    lang = web.lang()
    plant = web.plant()
    live = data.live(data.current_viewer())
    active = bool(live.get("muster"))
    return (
        live,
        _summary(live, lang),
        _shift_text(live, lang),
        _headcount(live, plant, lang),
        _feed(live, plant, lang),
        _muster_banner(live, lang),
        _muster_body(live, plant, lang),
        active,
        not active,
    )


@callback(
    Output(ids.FOLLOW_PANEL, "children"),
    Input(ids.FOLLOW, "value"),
    Input(ids.LIVE, "data"),
)
def follow_panel(badge: str | None, live: dict[str, Any] | None) -> Any:
    return _follow_panel(badge, live or {}, web.plant(), web.lang())


@callback(
    Output(ids.TRIPS, "data"),
    Output(ids.HEAT, "data"),
    Output(ids.HISTORY_MSG, "children"),
    Input(ids.MODE, "value"),
    Input(ids.END, "value"),
    Input(ids.DURATION, "value"),
    Input(ids.ZONE, "value"),
    Input(ids.RELOAD, "n_clicks"),
    prevent_initial_call=True,
)
def load_history(mode: str, end: str | None, minutes: Any, zone: str | None, _n: int | None) -> tuple[Any, Any, Any]:
    if mode not in ("playback", "heatmap"):
        return dash.no_update, dash.no_update, ""
    lang = web.lang()
    plant = web.plant()
    try:
        t0, t1 = data.parse_window(end, minutes, plant, web.now_ms())
    except data.WindowError as exc:
        return dash.no_update, dash.no_update, t(exc.key, lang)
    viewer = data.current_viewer()
    zone = zone or None
    try:
        if mode == "playback":
            trips = data.playback(t0, t1, zone, viewer)
            msg = t("personnel.playback.loaded", lang, n=len(trips["badges"]), points=trips["points"])
            return trips, dash.no_update, msg
        hm = data.heat(t0, t1, zone, viewer)
        return dash.no_update, hm, t("personnel.heat.loaded", lang, hours=f"{hm['total_s'] / 3600:.1f}")
    except (ValueError, KeyError) as exc:
        logger.info("personnel: history window refused: %s", exc)
        return dash.no_update, dash.no_update, t("personnel.window.bad", lang)


@callback(
    Output(ids.PATH, "data"),
    Output(ids.HISTORY_MSG, "children", allow_duplicate=True),
    Input(ids.PATH_BTN, "n_clicks"),
    State(ids.FOLLOW, "value"),
    State(ids.END, "value"),
    State(ids.DURATION, "value"),
    prevent_initial_call=True,
)
def load_path(_n: int | None, badge: str | None, end: str | None, minutes: Any) -> tuple[Any, Any]:
    lang = web.lang()
    if not badge:
        return None, t("personnel.path.no_badge", lang)
    plant = web.plant()
    try:
        t0, t1 = data.parse_window(end, minutes, plant, web.now_ms())
        tr = data.path(badge, t0, t1, data.current_viewer())
    except data.WindowError as exc:
        return dash.no_update, t(exc.key, lang)
    except people.UnknownBadgeError:
        return None, t("personnel.follow.unknown", lang)
    except people.NotAllowedError:
        return None, t("personnel.not_allowed", lang)
    if not tr["points"]:
        return tr, t("personnel.path.empty", lang)
    return tr, t("personnel.path.loaded", lang, points=tr["points"], km=f"{tr['distance_m'] / 1000:.2f}")


@callback(
    Output(ids.MUSTER_MSG, "children"),
    Output(ids.LIVE, "data", allow_duplicate=True),
    Input(ids.DECLARE_CONFIRM, "submit_n_clicks"),
    Input(ids.END_MUSTER, "n_clicks"),
    State(ids.MUSTER_NOTE, "value"),
    prevent_initial_call=True,
)
def muster_action(_declare: int | None, _end: int | None, note: str | None) -> tuple[Any, Any]:
    action = "declare" if dash.ctx.triggered_id == ids.DECLARE_CONFIRM else "end"
    msg, changed = do_muster(action, note, web.lang())
    return msg, data.live(data.current_viewer()) if changed else dash.no_update


def do_muster(action: str, note: str | None, lang: str) -> tuple[str, bool]:
    """Declare or end the muster as the logged-in user; the message to show and whether anything changed.
    Nobody logged in, or a role without ``Perm.MUSTER``: refused, nothing done."""
    principal = current_user()
    if principal is None:
        logger.warning("personnel: muster %s refused: nobody is logged in", action)
        return t("login.required", lang), False
    if not principal.can(Perm.MUSTER):
        logger.warning("personnel: muster %s refused to %s (%s)", action, principal.username, principal.role)
        return t("personnel.not_allowed", lang), False
    name = principal.username
    now = web.now_ms()
    try:
        with session_scope(web.engine()) as session:
            if action == "declare":
                people.declare_muster(session, name, now, note=note or "")
                msg, changed = t("personnel.muster.declared_ok", lang), True
            elif people.end_muster(session, name, now):
                msg, changed = t("personnel.muster.ended_ok", lang), True
            else:
                msg, changed = t("personnel.muster.no_active", lang), False
            if changed:  # the security audit log: the logged-in user, time and address
                event = MUSTER_DECLARED if action == "declare" else MUSTER_ENDED
                audit(event, target=name, detail=note or None, session=session)
    except (ValueError, TypeError) as exc:
        logger.info("personnel: muster action refused: %s", exc)
        return t("personnel.muster.bad_note", lang), False
    if changed:
        data.expire_live()
    return msg, changed


@callback(
    Output(ids.EXP_TABLE, "children"),
    Output(ids.EXP_CSV, "href"),
    Input(ids.EXP_DAY, "value"),
    Input(ids.EXP_SHIFT, "value"),
    Input(ids.EXP_LEVELS, "value"),
)
def exposure(day: str | None, shift: str | None, levels: str | None) -> tuple[Any, str]:
    return _exposure(day, shift, levels, web.lang())
