"""Emergency mode (``/emergency``, issue 16, H5).

While none runs: the proposals the emergency service made from urgent alarms (accept or dismiss), the form that
declares one (plan, zone, note) and the summaries of the ended ones (also opened as ``/emergency?summary=N``,
e.g. from the incident replay). While one runs: the plan and zone, the counts of the roll (at a muster point,
left the site, on a route, unaccounted; in the danger area, without a safe route), the plant map with the danger
area (the zone, the radius round it and the downwind sector from the wind tag), every route to a safe muster
point and every badge coloured by class, the plan's checklist (who did what, when), the nearest resources, the
people to look for, the timeline; grow the danger area, end the emergency (which writes its summary).

Acting needs ``Perm.MUSTER`` (dispatchers, administrators; the gate checks the ``emergency-msg`` output, and
``webapp.commands`` checks again and audits). Executives see badge ids and classes without names; wall screens
in kiosk mode switch here on their own (``assets/40_kiosk.js``), other screens get a banner.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import dash
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from auth import Perm
from engine.clock import DATE_TIME, format_local, to_local
from i18n import label, t
from plant import Plant
from store import people
from webapp import context as web
from webapp.commands import REFUSALS, emergency_command, operator_session, refusal_message
from webapp.gate import current_user
from webapp.live import emergency as data
from webapp.live.personnel import current_viewer
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/emergency", name="nav.emergency", order=17, title=web.page_title("nav.emergency"))

GRAPH_CONFIG: dcc.Graph.Config = {"displayModeBar": False, "responsive": True, "scrollZoom": True}
LIST_ROWS = 60
CLASS_COLOR = {"on_route": "#3e9bff", "unaccounted": "#e5484d", "at_point": "#22c55e", "left_site": "#8b949e"}
FLAG_COLOR = {"in_danger": "#ff8a00", "no_route": "#d946ef"}
RESOURCE_SYMBOL = {
    "breathing_apparatus": "diamond",
    "gas_detector": "triangle-up",
    "fire_equipment": "square",
    "rescue_vehicle": "star",
    "first_aid": "cross",
    "spill_kit": "hexagon",
    "rescue_team": "star-diamond",
}
COUNTS = ("on_roll", "at_point", "on_route", "left_site", "unaccounted", "in_danger", "no_route")


class ids:  # noqa: N801 - a namespace of this page's component ids
    STATUS = "emergency-status"
    MSG = "emergency-msg"  # an action's result: the gate checks Perm.MUSTER for callbacks writing it
    DONE = "emergency-done"
    PROPOSALS = "emergency-proposals"
    DECLARE_BOX = "emergency-declare-box"
    PLAN = "emergency-plan"
    ZONE = "emergency-zone"
    NOTE = "emergency-note"
    DECLARE = "emergency-declare"
    DECLARE_CONFIRM = "emergency-declare-confirm"
    ACTIVE_BOX = "emergency-active-box"
    RADIUS = "emergency-radius"
    GROW = "emergency-grow"
    END = "emergency-end"
    END_CONFIRM = "emergency-end-confirm"
    HEAD = "emergency-head"
    KPIS = "emergency-kpis"
    MAP = "emergency-map"
    CHECKLIST = "emergency-checklist"
    RESOURCES = "emergency-resources"
    PEOPLE = "emergency-people"
    TIMELINE = "emergency-timeline"
    LIVE_BOX = "emergency-live"
    PAST = "emergency-past"
    SUMMARY = "emergency-summary"
    ACCEPT = "emergency-accept"  # pattern-matching: {"type": ACCEPT, "id": n}
    DISMISS = "emergency-dismiss"
    TICK = "emergency-tick"  # {"type": TICK, "action": id, "done": 0 | 1}


# --- helpers -------------------------------------------------------------------------------------------------


def _can_act() -> bool:
    p = current_user()
    return p is not None and p.can(Perm.MUSTER)


def _plan(plant: Plant, plan_id: str) -> Any:
    return next((p for p in plant.emergency.plans if p.id == plan_id), None)


def _zone_name(plant: Plant, zone_id: str | None, lang: str) -> str:
    z = next((z for z in plant.zones if z.id == zone_id), None)
    return label(z.name, z.name_zh, lang) if z else (zone_id or t("em.outside", lang))


def _plan_name(plant: Plant, plan_id: str, lang: str) -> str:
    p = _plan(plant, plan_id)
    return label(p.name, p.name_zh, lang) if p else plan_id


def _time(ms: int | None, plant: Plant, now_ms: int | None = None) -> str:
    return format_local(ms, plant.tz(), now_ms=now_ms)


def _names(plant: Plant) -> dict[str, people.Identity]:
    try:
        return people.identities(plant, current_viewer())
    except people.NotAllowedError:
        return {}


def _who(names: dict[str, people.Identity], badge: str, lang: str) -> str:
    ident = names.get(badge)
    if ident is None or not ident.name:
        return badge
    return f"{label(ident.name, ident.name_zh, lang)} ({badge})"


def _card(value: Any, text: str, status: str = "", cid: str | None = None) -> html.Div:
    v = html.Div(str(value), className="sw-kpi-v", id=cid) if cid else html.Div(str(value), className="sw-kpi-v")
    return html.Div([v, html.Div(text, className="sw-kpi-l")], className=f"sw-kpi-card {status}".strip())


def _table(head: list[str], rows: list[list[Any]], empty: str, tid: str | None = None, cls: str = "") -> Any:
    if not rows:
        return html.Div(empty, className="sw-muted py-2")
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody([html.Tr(r) for r in rows])],
        className=f"sw-kpi-table sw-table {cls}".strip(),
        size="sm",
        responsive=True,
        **({"id": tid} if tid else {}),
    )


def _box(title: str, body: Any, wide: bool = False) -> html.Div:
    return html.Div([html.H2(title), body], className="sw-kpi-chart" + (" sw-kpi-wide" if wide else ""))


def step_text(step: dict[str, Any], plant: Plant, plan_id: str, lang: str) -> str:
    """One timeline entry in words, built from its fields in the reader's language."""
    kind = step["kind"]
    d = step.get("data") or {}
    if kind in ("action_done", "action_reopened"):
        return t(f"em.step.{kind}", lang, action=action_text(plant, plan_id, step.get("action") or "", lang))
    if kind == "danger_grown":
        return t("em.step.danger_grown", lang, before=f"{d.get('before', 0):g}", after=f"{d.get('after', 0):g}")
    if kind == "notified":
        return t("em.step.notified", lang, n=len(d.get("recipients") or []))
    if kind == "declared":
        return t("em.step.declared", lang, plan=_plan_name(plant, d.get("plan") or plan_id, lang))
    return t(f"em.step.{kind}", lang)


def action_text(plant: Plant, plan_id: str, action_id: str, lang: str) -> str:
    p = _plan(plant, plan_id)
    a = next((a for a in p.actions if a.id == action_id), None) if p else None
    return label(a.text, a.text_zh, lang) if a else action_id


# --- the map ---------------------------------------------------------------------------------------------------


def _lines(polys: list[list[tuple[float, float]] | list[list[float]]], closed: bool) -> tuple[list[Any], list[Any]]:
    xs: list[Any] = []
    ys: list[Any] = []
    for poly in polys:
        pts = list(poly) + ([poly[0]] if closed and poly else [])
        xs += [p[0] for p in pts] + [None]
        ys += [p[1] for p in pts] + [None]
    return xs, ys


def map_figure(live: dict[str, Any], plant: Plant, lang: str) -> go.Figure:
    """The plant from above: zones, roads, the danger area, routes, people by class, muster points, resources."""
    fig = go.Figure()
    zx, zy = _lines([list(z.polygon) for z in plant.zones], closed=True)
    fig.add_trace(go.Scatter(x=zx, y=zy, mode="lines", line={"color": "#3a4350", "width": 1}, hoverinfo="skip"))
    rx, ry = _lines([list(r.polyline) for r in plant.roads], closed=False)
    fig.add_trace(go.Scatter(x=rx, y=ry, mode="lines", line={"color": "#5b6472", "width": 4}, hoverinfo="skip"))
    active = live.get("active")
    sit = live.get("situation") or {}
    if active:
        for poly in sit.get("danger") or []:
            dx, dy = _lines([poly], closed=True)
            fig.add_trace(
                go.Scatter(
                    x=dx,
                    y=dy,
                    fill="toself",
                    mode="lines",
                    fillcolor="rgba(229,72,77,0.28)",
                    line={"color": "#e5484d", "width": 2},
                    name=t("em.map.danger", lang),
                    hoverinfo="name",
                    showlegend=False,
                )
            )
        zone = next((z for z in plant.zones if z.id == active["zone"]), None)
        if zone is not None:
            ix, iy = _lines([list(zone.polygon)], closed=True)
            fig.add_trace(
                go.Scatter(
                    x=ix,
                    y=iy,
                    mode="lines",
                    line={"color": "#ff2d2d", "width": 3},
                    name=_zone_name(plant, zone.id, lang),
                    hoverinfo="name",
                    showlegend=False,
                )
            )
    rows = sit.get("people") or []
    for status, color, width in (("route", "#22c55e", 2), ("in_danger", FLAG_COLOR["in_danger"], 3)):
        paths = [r["path"] for r in rows if r.get("route") == status and r["path"] and r["class"] != "at_point"]
        if paths:
            px, py = _lines(paths, closed=False)
            fig.add_trace(
                go.Scatter(
                    x=px,
                    y=py,
                    mode="lines",
                    line={"color": color, "width": width},
                    opacity=0.75,
                    name=t(f"em.map.route.{status}", lang),
                    hoverinfo="name",
                )
            )
    safe = set(sit.get("safe_points") or [m.id for m in plant.muster_points])
    fig.add_trace(
        go.Scatter(
            x=[m.position[0] for m in plant.muster_points],
            y=[m.position[1] for m in plant.muster_points],
            mode="markers+text",
            marker={
                "size": 18,
                "symbol": "circle",
                "color": ["#22c55e" if m.id in safe else "#6e7781" for m in plant.muster_points],
                "line": {"color": "#0b0f14", "width": 2},
            },
            text=[label(m.name, m.name_zh, lang) for m in plant.muster_points],
            textposition="top center",
            textfont={"color": "#b8f5c9", "size": 11},
            name=t("em.map.muster", lang),
            hovertemplate="%{text}<extra></extra>",
        )
    )
    res = plant.emergency.resources
    if res:
        fig.add_trace(
            go.Scatter(
                x=[r.position[0] for r in res],
                y=[r.position[1] for r in res],
                mode="markers",
                marker={
                    "size": 11,
                    "color": "#ffc53d",
                    "symbol": [RESOURCE_SYMBOL.get(r.kind.value, "diamond") for r in res],
                    "line": {"color": "#0b0f14", "width": 1},
                },
                text=[f"{label(r.name, r.name_zh, lang)} × {r.count}" for r in res],
                name=t("em.map.resources", lang),
                hovertemplate="%{text}<extra></extra>",
            )
        )
    names = _names(plant) if rows else {}
    for cls, color in CLASS_COLOR.items():
        pts = [r for r in rows if r["class"] == cls and r["x"] is not None and cls != "left_site"]
        if not pts:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["x"] for r in pts],
                y=[r["y"] for r in pts],
                mode="markers",
                marker={
                    "size": [11 if r.get("route") in FLAG_COLOR else 7 for r in pts],
                    "color": color,
                    "symbol": ["x" if cls == "unaccounted" else "circle" for _ in pts],
                    "line": {"color": [FLAG_COLOR.get(r.get("route") or "", "#0b0f14") for r in pts], "width": 2},
                },
                text=[_who(names, r["badge"], lang) for r in pts],
                name=t(f"em.class.{cls}", lang),
                hovertemplate="%{text}<extra>" + t(f"em.class.{cls}", lang) + "</extra>",
            )
        )
    if active and sit.get("wind_from") is not None:
        fig.add_annotation(
            text=t("em.map.wind", lang, deg=f"{sit['wind_from']:.0f}"),
            xref="paper",
            yref="paper",
            x=0.01,
            y=0.99,
            showarrow=False,
            font={"color": "#e6edf3", "size": 12},
            bgcolor="rgba(11,15,20,0.7)",
        )
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="#11161d",
        margin={"l": 4, "r": 4, "t": 4, "b": 48},
        font={"family": "system-ui, 'Noto Sans CJK SC', sans-serif", "color": "#e6edf3"},
        legend={"orientation": "h", "y": -0.01, "yanchor": "top", "x": 0, "font": {"size": 11}},
        uirevision="emergency-map",
        showlegend=True,
    )
    fig.update_xaxes(range=[0, plant.site.width_m], visible=False, constrain="domain")
    fig.update_yaxes(range=[0, plant.site.depth_m], visible=False, scaleanchor="x", scaleratio=1)
    for trace in fig.data[:2]:
        trace.showlegend = False
    return fig


# --- the parts of the page ------------------------------------------------------------------------------------


def status_line(live: dict[str, Any], plant: Plant, lang: str) -> Any:
    a = live.get("active")
    if not a:
        n = len(live.get("proposals") or [])
        text = t("em.status.proposed", lang, n=n) if n else t("em.status.none", lang)
        return html.Span(text, className="sw-em-pill " + ("sw-em-pill-warn" if n else "sw-em-pill-calm"))
    return html.Span(
        t(
            "em.status.active",
            lang,
            plan=_plan_name(plant, a["plan"], lang),
            zone=_zone_name(plant, a["zone"], lang),
            time=_time(a["declared_ms"], plant, live.get("now_ms")),
        ),
        className="sw-em-pill sw-em-pill-on",
        role="alert",
    )


def proposals(live: dict[str, Any], plant: Plant, lang: str, can_act: bool) -> Any:
    rows = live.get("proposals") or []
    if not rows:
        return None
    items = []
    for p in rows:
        buttons = (
            [
                dbc.Button(t("em.accept", lang), id={"type": ids.ACCEPT, "id": p["id"]}, color="danger", size="sm"),
                dbc.Button(
                    t("em.dismiss", lang),
                    id={"type": ids.DISMISS, "id": p["id"]},
                    color="secondary",
                    outline=True,
                    size="sm",
                ),
            ]
            if can_act
            else []
        )
        items.append(
            html.Div(
                [
                    html.Div(
                        t(
                            "em.proposal",
                            lang,
                            plan=_plan_name(plant, p["plan"], lang),
                            zone=_zone_name(plant, p["zone"], lang),
                            alarm=p.get("alarm") or "-",
                            time=_time(p.get("proposed_ms"), plant, live.get("now_ms")),
                        ),
                        className="sw-em-proposal-text",
                    ),
                    html.Div(buttons, className="d-flex gap-2"),
                ],
                className="sw-em-proposal",
            )
        )
    return html.Div(items, className="sw-em-proposals")


def kpis(live: dict[str, Any], lang: str) -> list[Any]:
    c = (live.get("situation") or {}).get("counts") or {}
    bad = {"unaccounted", "in_danger", "no_route"}
    return [
        _card(
            c.get(k, 0),
            t(f"em.count.{k}", lang),
            ("sw-kpi-bad" if c.get(k) else "sw-kpi-good") if k in bad else "",
            cid=f"emergency-count-{k}",
        )
        for k in COUNTS
    ]


def checklist(live: dict[str, Any], plant: Plant, lang: str, can_act: bool) -> Any:
    a = live.get("active")
    plan = _plan(plant, a["plan"]) if a else None
    if plan is None:
        return None
    state = live.get("checklist") or {}
    rows = []
    for act in plan.actions:
        done, who, ts = state.get(act.id, [False, "", None])
        when = t("em.done_by", lang, who=who or "-", time=_time(ts, plant, live.get("now_ms"))) if ts else ""
        button = (
            dbc.Button(
                t("em.reopen" if done else "em.mark_done", lang),
                id={"type": ids.TICK, "action": act.id, "done": 0 if done else 1},
                color="secondary" if done else "success",
                outline=bool(done),
                size="sm",
            )
            if can_act
            else None
        )
        owner = label(act.owner, act.owner_zh, lang)
        rows.append(
            [
                html.Td("✔" if done else "○", className="sw-em-check " + ("sw-st-ok" if done else "sw-muted")),
                html.Td(
                    [
                        label(act.text, act.text_zh, lang),
                        # on a phone the owner and who did it go under the action (their columns are hidden)
                        html.Div(" · ".join(x for x in (owner, when) if x), className="sw-em-sub small sw-muted"),
                    ]
                ),
                html.Td(owner, className="sw-muted sw-em-wide"),
                html.Td(when, className="small sw-muted sw-em-wide"),
                html.Td(button, className="sw-em-btn"),
            ]
        )
    head = ["", t("em.col.action", lang), t("em.col.owner", lang), t("em.col.done", lang), ""]
    return _table(head, rows, "", tid="emergency-checklist-table", cls="sw-em-checklist")


def resources(live: dict[str, Any], plant: Plant, lang: str) -> Any:
    by_id = {r.id: r for r in plant.emergency.resources}
    today = to_local(live.get("now_ms") or web.now_ms(), plant.tz()).date()
    rows = []
    for rid, dist in live.get("resources") or []:
        r = by_id.get(rid)
        if r is None:
            continue
        due: date | None = r.next_inspection
        overdue = due is not None and due < today
        rows.append(
            [
                html.Td(label(r.name, r.name_zh, lang)),
                html.Td(t(f"em.resource.{r.kind.value}", lang)),
                html.Td(str(r.count), className="text-end"),
                html.Td(f"{dist:.0f}", className="text-end"),
                html.Td(
                    (due.isoformat() if due else "-") + (" · " + t("em.overdue", lang) if overdue else ""),
                    className="sw-env-over" if overdue else "",
                ),
            ]
        )
    head = [t(f"em.col.{k}", lang) for k in ("resource", "kind", "count", "distance", "next_inspection")]
    return _table(head, rows, t("em.none.resources", lang))


def people_list(live: dict[str, Any], plant: Plant, lang: str) -> Any:
    sit = live.get("situation") or {}
    if live.get("level") == people.Access.COUNTS.value:
        return html.Div(t("em.counts_only", lang), className="sw-muted")
    rows = sit.get("people") or []
    wanted = [
        r for r in rows if r["class"] == "unaccounted" or (r.get("route") in FLAG_COLOR and r["class"] != "at_point")
    ]
    wanted.sort(key=lambda r: (0 if r.get("route") == "in_danger" else 1, r["badge"]))
    names = _names(plant)
    out = []
    for r in wanted[:LIST_ROWS]:
        flags = [t(f"em.class.{r['class']}", lang)]
        if r.get("route") in FLAG_COLOR:
            flags.append(t(f"em.flag.{r['route']}", lang))
        out.append(
            [
                html.Td(_who(names, r["badge"], lang), className="fw-semibold"),
                html.Td(" · ".join(flags), className="sw-env-over"),
                html.Td(_zone_name(plant, r.get("zone"), lang)),
                html.Td(_time(r.get("ts"), plant, live.get("now_ms")), className="text-nowrap"),
            ]
        )
    if len(wanted) > LIST_ROWS:
        out.append([html.Td(t("em.more", lang, n=len(wanted) - LIST_ROWS), colSpan=4, className="sw-muted")])
    head = [t(f"em.col.{k}", lang) for k in ("person", "state", "zone", "last_seen")]
    return _table(head, out, t("em.none.people", lang), tid="emergency-people-table")


def timeline(steps: list[dict[str, Any]], plant: Plant, plan_id: str, lang: str, now_ms: int | None) -> Any:
    rows = [
        [
            html.Td(_time(s["ts"], plant, now_ms), className="text-nowrap"),
            html.Td(step_text(s, plant, plan_id, lang)),
            html.Td(s.get("user") or "", className="sw-muted"),
        ]
        for s in reversed(steps)
    ]
    head = [t(f"em.col.{k}", lang) for k in ("time", "what", "who")]
    return _table(head, rows, t("em.none.steps", lang))


def summary_view(s: dict[str, Any] | None, plant: Plant, lang: str) -> Any:
    if not s:
        return html.Div(t("em.none.summary", lang), className="sw-muted")
    summ = s.get("summary") or {}
    counts = summ.get("counts") or {}
    cards = html.Div([_card(counts.get(k, 0), t(f"em.count.{k}", lang)) for k in COUNTS], className="sw-kpi-grid")
    head = html.Div(
        t(
            "em.summary.head",
            lang,
            plan=_plan_name(plant, s["plan"], lang),
            zone=_zone_name(plant, s["zone"], lang),
            start=format_local(s.get("declared_ms"), plant.tz(), DATE_TIME),
            end=format_local(s.get("ended_ms"), plant.tz(), DATE_TIME),
        ),
        className="sw-muted mb-2",
    )
    names = _names(plant)
    rows = []
    for r in summ.get("people") or []:
        if r["class"] in ("at_point", "left_site") and not r.get("flag"):
            continue
        rows.append(
            [
                html.Td(_who(names, r["badge"], lang)),
                html.Td(
                    t(f"em.class.{r['class']}", lang)
                    + (" · " + t(f"em.flag.{r['flag']}", lang) if r.get("flag") else "")
                ),
                html.Td(_zone_name(plant, r.get("zone"), lang)),
                html.Td(format_local(r.get("last_ms"), plant.tz(), DATE_TIME)),
                html.Td(t("em.seconds", lang, s=r["unaccounted_s"]) if r.get("unaccounted_s") is not None else ""),
            ]
        )
    people_table = _table(
        [t(f"em.col.{k}", lang) for k in ("person", "state", "zone", "last_accounted", "unaccounted_for")],
        rows,
        t("em.none.unaccounted", lang),
        tid="emergency-summary-people",
    )
    replay = None
    principal = current_user()
    if s.get("declared_ms") and principal is not None and principal.can(Perm.REPLAY):
        # the window from the declaration to the end, its muster among the steps
        replay = dcc.Link(t("em.replay", lang), href=f"/replay?emergency={int(s['id'])}", id="emergency-replay-link")
    return html.Div(
        [
            head,
            replay,
            cards,
            html.H3(t("em.summary.people", lang), className="sw-panel-h mt-2"),
            people_table,
            html.H3(t("em.timeline", lang), className="sw-panel-h mt-2"),
            timeline(s.get("steps") or [], plant, s["plan"], lang, None),
        ]
    )


def past_options(live: dict[str, Any], plant: Plant, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "label": format_local(e.get("declared_ms"), plant.tz(), DATE_TIME)
            + " · "
            + _plan_name(plant, e["plan"], lang),
            "value": str(e["id"]),
        }
        for e in live.get("ended") or []
    ]


def render(live: dict[str, Any], plant: Plant, lang: str, can_act: bool) -> dict[str, Any]:
    a = live.get("active")
    show: dict[str, str] = {}
    hide = {"display": "none"}
    head = None
    if a:
        head = html.Div(
            [
                html.Span(t("em.level", lang, level=a["level"]), className="sw-em-level"),
                html.Span(t("em.radius", lang, radius=f"{a['radius_m']:g}"), className="sw-muted"),
                html.Span(a.get("note") or "", className="sw-em-note"),
            ],
            className="d-flex flex-wrap gap-3 align-items-center",
        )
    return {
        "status": status_line(live, plant, lang),
        "proposals": proposals(live, plant, lang, can_act),
        "head": head,
        "kpis": kpis(live, lang) if a else [],
        "map": map_figure(live, plant, lang),
        "checklist": checklist(live, plant, lang, can_act),
        "resources": resources(live, plant, lang) if a else None,
        "people": people_list(live, plant, lang) if a else None,
        "timeline": timeline(live.get("steps") or [], plant, a["plan"], lang, live.get("now_ms")) if a else None,
        "declare_style": hide if a or not can_act else show,
        "active_style": show if a and can_act else hide,
        "live_style": show if a else hide,
        "past": past_options(live, plant, lang),
    }


def _plan_options(plant: Plant, lang: str) -> list[dict[str, str]]:
    return [{"label": label(p.name, p.name_zh, lang), "value": p.id} for p in plant.emergency.plans]


def _zone_options(plant: Plant, plan_id: str | None, lang: str) -> list[dict[str, str]]:
    p = _plan(plant, plan_id or "")
    return [{"label": _zone_name(plant, z, lang), "value": z} for z in (p.zones if p else [])]


def layout(summary: str | None = None, **_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    can_act = _can_act()
    try:
        live: dict[str, Any] = data.view(current_viewer())
    except Exception:
        logger.exception("emergency: store not readable, showing the page without data")
        live = {"now_ms": web.now_ms(), "proposals": [], "ended": [], "active": None}
    b = render(live, plant, lang, can_act)
    plans = _plan_options(plant, lang)
    first = plans[0]["value"] if plans else None
    zones = _zone_options(plant, first, lang)
    chosen = summary if summary and summary.isdigit() else None
    try:
        opened = data.summary(int(chosen), current_viewer()) if chosen else None
    except Exception:
        logger.exception("emergency: summary %s not readable", chosen)
        opened = None
    declare = html.Div(
        [
            html.H2(t("em.declare.title", lang)),
            html.Div(
                [
                    dbc.Select(id=ids.PLAN, options=plans, value=first, size="sm"),
                    dbc.Select(id=ids.ZONE, options=zones, value=zones[0]["value"] if zones else None, size="sm"),
                    dcc.Input(
                        id=ids.NOTE,
                        type="text",
                        placeholder=t("em.note", lang),
                        className="form-control form-control-sm",
                        maxLength=300,
                    ),
                    dcc.ConfirmDialogProvider(
                        dbc.Button(t("em.declare", lang), id=ids.DECLARE, color="danger", size="sm"),
                        id=ids.DECLARE_CONFIRM,
                        message=t("em.declare.confirm", lang),
                    ),
                ],
                className="sw-em-form",
            ),
        ],
        id=ids.DECLARE_BOX,
        className="sw-kpi-chart sw-kpi-wide",
        style=b["declare_style"],
    )
    controls = html.Div(
        [
            html.Div(
                [
                    dcc.Input(
                        id=ids.RADIUS,
                        type="number",
                        min=1,
                        max=2000,
                        step=10,
                        placeholder=t("em.radius.placeholder", lang),
                        className="form-control form-control-sm sw-em-radius",
                    ),
                    dbc.Button(t("em.grow", lang), id=ids.GROW, color="warning", size="sm"),
                ],
                className="d-flex gap-2",
            ),
            dcc.ConfirmDialogProvider(
                dbc.Button(t("em.end", lang), id=ids.END, color="secondary", outline=True, size="sm"),
                id=ids.END_CONFIRM,
                message=t("em.end.confirm", lang),
            ),
        ],
        id=ids.ACTIVE_BOX,
        className="sw-em-controls",
        style=b["active_style"],
    )
    live_box = html.Div(
        [
            html.Div(b["head"], id=ids.HEAD),
            html.Div(b["kpis"], id=ids.KPIS, className="sw-kpi-grid sw-em-kpis"),
            html.Div(
                [
                    _box(
                        t("em.map", lang),
                        dcc.Graph(
                            id=ids.MAP,
                            figure=b["map"],
                            config=GRAPH_CONFIG,
                            className="sw-em-map",
                            style={"height": "min(34rem, 70vh)"},
                        ),
                        wide=True,
                    ),
                    _box(t("em.checklist", lang), html.Div(b["checklist"], id=ids.CHECKLIST)),
                    _box(t("em.people", lang), html.Div(b["people"], id=ids.PEOPLE)),
                    _box(t("em.resources", lang), html.Div(b["resources"], id=ids.RESOURCES)),
                    _box(t("em.timeline", lang), html.Div(b["timeline"], id=ids.TIMELINE)),
                ],
                className="sw-kpi-charts",
            ),
        ],
        id=ids.LIVE_BOX,
        style=b["live_style"],
    )
    past = html.Div(
        [
            html.H2(t("em.past", lang)),
            dbc.Select(
                id=ids.PAST,
                options=b["past"],
                value=chosen,
                placeholder=t("em.past.choose", lang),
                size="sm",
                className="mb-2 sw-em-past",
            ),
            html.Div(summary_view(opened, plant, lang) if chosen else None, id=ids.SUMMARY),
        ],
        className="sw-kpi-chart sw-kpi-wide",
    )
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("em.title", lang), className="sw-page-title"),
                    html.Div(b["status"], id=ids.STATUS),
                    controls,
                ],
                className="sw-al-head sw-em-head",
            ),
            html.Div(id=ids.MSG, className="sw-pm-msg", role="status"),
            dcc.Store(id=ids.DONE, data=0),
            html.Div(b["proposals"], id=ids.PROPOSALS),
            live_box,
            html.Div([declare, past], className="sw-kpi-charts"),
        ],
        className="sw-en-page sw-em-page",
    )


# --- callbacks ---------------------------------------------------------------------------------------------------


@callback(
    Output(ids.STATUS, "children"),
    Output(ids.PROPOSALS, "children"),
    Output(ids.HEAD, "children"),
    Output(ids.KPIS, "children"),
    Output(ids.MAP, "figure"),
    Output(ids.CHECKLIST, "children"),
    Output(ids.RESOURCES, "children"),
    Output(ids.PEOPLE, "children"),
    Output(ids.TIMELINE, "children"),
    Output(ids.DECLARE_BOX, "style"),
    Output(ids.ACTIVE_BOX, "style"),
    Output(ids.LIVE_BOX, "style"),
    Output(ids.PAST, "options"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.DONE, "data"),
    prevent_initial_call=True,
)
def refresh(_n: int | None, _done: int | None) -> tuple[Any, ...]:
    lang = web.lang()
    plant = web.plant()
    b = render(data.view(current_viewer()), plant, lang, _can_act())
    keys = ("status", "proposals", "head", "kpis", "map", "checklist", "resources", "people", "timeline")
    return (*(b[k] for k in keys), b["declare_style"], b["active_style"], b["live_style"], b["past"])


@callback(Output(ids.ZONE, "options"), Output(ids.ZONE, "value"), Input(ids.PLAN, "value"), prevent_initial_call=True)
def zones_of_plan(plan_id: str | None) -> tuple[Any, Any]:
    opts = _zone_options(web.plant(), plan_id, web.lang())
    return opts, opts[0]["value"] if opts else None


@callback(Output(ids.SUMMARY, "children"), Input(ids.PAST, "value"), prevent_initial_call=True)
def open_summary(value: str | None) -> Any:
    if not value or not str(value).isdigit():
        return None
    return summary_view(data.summary(int(value), current_viewer()), web.plant(), web.lang())


@callback(
    Output(ids.MSG, "children"),
    Output(ids.DONE, "data"),
    Input(ids.DECLARE_CONFIRM, "submit_n_clicks"),
    Input(ids.GROW, "n_clicks"),
    Input(ids.END_CONFIRM, "submit_n_clicks"),
    Input({"type": ids.ACCEPT, "id": ALL}, "n_clicks"),
    Input({"type": ids.DISMISS, "id": ALL}, "n_clicks"),
    Input({"type": ids.TICK, "action": ALL, "done": ALL}, "n_clicks"),
    State(ids.PLAN, "value"),
    State(ids.ZONE, "value"),
    State(ids.NOTE, "value"),
    State(ids.RADIUS, "value"),
    State(ids.DONE, "data"),
    prevent_initial_call=True,
)
def act(*args: Any) -> tuple[Any, Any]:
    plan, zone, note, radius, done = args[-5:]
    trig = dash.ctx.triggered_id
    value = dash.ctx.triggered[0]["value"] if dash.ctx.triggered else None
    if trig is None or not value:
        raise PreventUpdate  # a button drawn anew, not clicked
    lang = web.lang()
    what, kw = command_of(trig, plan, zone, note, radius)
    if what is None:
        return t("em.bad_radius", lang), dash.no_update
    try:
        with operator_session((Perm.MUSTER,)) as (session, op):
            emergency_command(session, op, web.plant(), what, now_ms=web.now_ms(), **kw)
    except REFUSALS as exc:
        return refusal_message(exc, lang, what=f"emergency {what}", refused_key="em.refused"), dash.no_update
    data.expire()
    return t(f"em.ok.{what}", lang), (done or 0) + 1


def command_of(trig: Any, plan: Any, zone: Any, note: Any, radius: Any) -> tuple[str | None, dict[str, Any]]:
    """The emergency command a click asks for, with its arguments; (None, {}) for a radius that is no number."""
    if trig == ids.DECLARE_CONFIRM:
        return "declare", {"plan": plan or "", "zone": zone or "", "note": note}
    if trig == ids.END_CONFIRM:
        return "end", {}
    if trig == ids.GROW:
        try:
            return "grow", {"radius_m": float(radius)}
        except (TypeError, ValueError):
            return None, {}
    kind = trig.get("type") if isinstance(trig, dict) else None
    if kind == ids.ACCEPT:
        return "accept", {"proposal": int(trig["id"])}
    if kind == ids.DISMISS:
        return "dismiss", {"proposal": int(trig["id"])}
    if kind == ids.TICK:
        return "action", {"action": str(trig["action"]), "done": bool(trig["done"])}
    raise PreventUpdate
