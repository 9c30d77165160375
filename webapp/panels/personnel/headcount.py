"""Headcount of the personnel page: the people and vehicles on site by role and status (the page head) and
the headcount per zone against its limits. Refreshed by the page's tick (``webapp.pages.personnel.refresh``)."""

from __future__ import annotations

from typing import Any

from dash import html

from i18n import t
from plant import Plant
from scene import colors
from webapp.panels.personnel.common import dot, level_dot, names_of


def summary(live: dict[str, Any], lang: str) -> list[Any]:
    """The page head's counts: people and vehicles on site, by role, in violation and SOS."""
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
            html.Span([dot(rgb), f" {t(f'scene.role.{role}', lang)} {by_role.get(role, 0)}"], className="sw-stat")
        )
    v, s = status.get("violation", 0), status.get("sos", 0)
    items.append(stat(v, t("personnel.summary.violation", lang), "sw-st-warn" if v else ""))
    items.append(stat(s, t("personnel.summary.sos", lang), "sw-st-bad" if s else ""))
    return items


def shift_text(live: dict[str, Any], lang: str) -> str:
    """The current shift, or between shifts."""
    shift = live.get("shift")
    return t("personnel.shift", lang, shift=shift) if shift else t("personnel.no_shift", lang)


def headcount_table(live: dict[str, Any], plant: Plant, lang: str) -> html.Div | html.Table:
    """People per zone against the zone's limits, zones out of limits first."""
    names = names_of(plant.zones, lang)
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
                    html.Td([level_dot(r["level"]), " ", names.get(r["zone"], r["zone"])], className="sw-hc-zone"),
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
