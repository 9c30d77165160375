"""Follow a person of the personnel page: the search of a badge (in the map's toolbar) and the panel of the
person followed: role, status, zone, position, last seen, team, camera and open violations."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, dcc, html

from i18n import label, t
from plant import Plant
from store import people
from webapp import context as web
from webapp.attrs import wildcard
from webapp.live import personnel as data
from webapp.live.snapshot import format_age
from webapp.panels import panel_callback
from webapp.panels.personnel.common import names_of, rule_text
from webapp.panels.personnel.ids import ids


def search(who: dict[str, people.Identity], value: str | None, lang: str) -> dcc.Dropdown:
    """The search of a person to follow: every badge the viewer may see, by name and badge."""
    options = [
        {
            "label": f"{label(i.name, i.name_zh, lang)} · {i.badge}" if i.name else i.badge,
            "value": i.badge,
        }
        for i in who.values()
    ]
    return dcc.Dropdown(
        id=ids.FOLLOW,
        options=options,
        value=value,
        placeholder=t("personnel.follow.search", lang),
        searchable=True,
        clearable=True,
        className="sw-pm-follow",
        maxHeight=320,
    )


def follow_body(badge: str | None, live: dict[str, Any], plant: Plant, lang: str) -> Any:
    """The panel of the person (or vehicle) followed, as the viewer may see them."""
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
    zones = names_of(plant.zones, lang)
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
        return html.Div([head, html.Div(chips, className="mb-1")], **wildcard({"data-badge": badge}))
    status = {0: "normal", 1: "violation", 2: "sos"}[row[4]]
    chips.append(html.Span(t(f"personnel.status.{status}", lang), className=f"sw-st-chip sw-st-chip-{status} ms-1"))
    zone_id = _zone_of(plant, row[1], row[2])
    open_rules = [
        rule_text(v["rule"], lang) for v in live.get("violations") or [] if v["badge"] == badge and v["end"] is None
    ]
    cam = data._camera_for(plant, None, zone_id, (row[1], row[2]))
    cams = names_of(plant.cameras, lang)
    rows = [
        (t("scene.panel.zone", lang), zones.get(zone_id or "", t("personnel.tip.outside", lang))),
        (t("personnel.follow.position", lang), f"{row[1]:.1f}, {row[2]:.1f} m"),
        (t("personnel.follow.seen", lang), format_age(row[6], lang)),
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
        **wildcard({"data-badge": badge}),
    )


def _zone_of(plant: Plant, x: float, y: float) -> str | None:
    from engine.geometry import point_in_polygon

    for z in plant.zones:
        if point_in_polygon(x, y, z.polygon):
            return z.id
    return None


@panel_callback(
    Output(ids.FOLLOW_PANEL, "children"),
    Input(ids.FOLLOW, "value"),
    Input(ids.LIVE, "data"),
)
def follow_panel(badge: str | None, live: dict[str, Any] | None) -> Any:
    return follow_body(badge, live or {}, web.plant(), web.lang())
