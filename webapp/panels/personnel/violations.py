"""The violation feed of the personnel page: open and recent violations, newest first, with person, zone,
camera and time. Refreshed by the page's tick (``webapp.pages.personnel.refresh``)."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from auth.policy import Perm
from engine.clock import format_local
from i18n import t
from plant import Plant
from store import people
from webapp.attrs import wildcard
from webapp.gate import current_user
from webapp.live import personnel as data
from webapp.live.snapshot import format_age
from webapp.panels.personnel.common import names_of, person_name, rule_text

SEVERITY_CLASS = {"urgent": "sw-sev-urgent", "high": "sw-sev-high", "medium": "sw-sev-medium", "low": "sw-sev-low"}


def feed(live: dict[str, Any], plant: Plant, lang: str) -> html.Div | html.Ul:
    """The violation feed, newest first; open violations flagged."""
    items = live.get("violations") or []
    if not items:
        return html.Div(t("personnel.feed.none", lang), className="sw-muted")
    who = people.identities(plant, data.current_viewer())
    zones = names_of(plant.zones, lang)
    cams = names_of(plant.cameras, lang)
    now = int(live.get("now_ms") or 0)
    principal = current_user()
    replay = principal is not None and principal.can(Perm.REPLAY)
    out = []
    for v in items:
        is_open = v["end"] is None
        when = format_local(v["start"], plant.tz())
        dur = (now if is_open else v["end"]) - v["start"]
        meta = [
            html.Span(person_name(who, v["badge"], lang), className="sw-pv-who"),
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
                            html.Span(rule_text(v["rule"], lang), className="sw-pv-rule"),
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
                            html.Span(format_age(max(0, dur) / 1000, lang), className="sw-muted ms-2"),
                            # the minutes around it in the incident replay (opened at its start)
                            dcc.Link(
                                t("replay.link", lang),
                                href=f"/replay?event={int(v['id'])}",
                                title=t("replay.open", lang),
                                className="sw-pv-replay ms-2",
                            )
                            if replay and v.get("id") is not None
                            else None,
                        ],
                        className="sw-pv-time",
                    ),
                ],
                className="sw-pv" + (" sw-pv-open" if is_open else ""),
                **wildcard({"data-rule": v["rule"], "data-open": "1" if is_open else "0"}),
            )
        )
    return html.Ul(out, className="sw-pv-list")
