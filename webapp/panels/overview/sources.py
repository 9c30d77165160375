"""The data sources: one card per collector endpoint, connected or not, data age and batch counts."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from i18n import label, t
from webapp.live.snapshot import format_age
from webapp.panels.overview.ids import ids
from webapp.panels.overview.view import View, txt


def fill_sources(v: View, snap: dict[str, Any], lang: str) -> None:
    v.blocks["sources"] = [[h["endpoint"], h["name"], h["name_zh"]] for h in snap["health"]]
    for h in snap["health"]:
        k = f"src.{h['endpoint']}"
        v.group = k
        ok = h["connected"]
        v.text[f"{k}.state"] = t("health.connected", lang) if ok else t("health.disconnected", lang)
        v.status[f"{k}.state"] = f"badge ms-2 {'bg-success' if ok else 'bg-danger'}"
        v.status[k] = f"sw-card sw-src {'' if ok else 'sw-card-bad'}"
        v.text[f"{k}.age"] = t("health.age", lang, age=format_age(h["data_age_s"], lang))
        v.text[f"{k}.written"] = f"{h['written']:,}"
        v.text[f"{k}.spooled"] = f"{h['spooled']:,}"
        v.text[f"{k}.rejected"] = f"{h['rejected']:,}"
        v.text[f"{k}.lag"] = f"{h['lag_ms_p50']:.0f} ms"


def source_cards(v: View, lang: str) -> list[Any]:
    cards = []
    for endpoint, name, name_zh in v.blocks["sources"]:
        k = f"src.{endpoint}"
        stats = [
            ("health.written", f"{k}.written"),
            ("health.spooled", f"{k}.spooled"),
            ("health.rejected", f"{k}.rejected"),
            ("health.lag", f"{k}.lag"),
        ]
        cards.append(
            dbc.Col(
                html.Div(
                    [
                        html.Div(
                            [
                                html.Span(label(name, name_zh, lang), className="sw-card-title"),
                                html.Span(
                                    txt(v, f"{k}.state"),
                                    id=ids.status(f"{k}.state"),
                                    className=v.status.get(f"{k}.state"),
                                ),
                                html.Span(txt(v, f"{k}.age"), className="sw-src-age ms-auto"),
                            ],
                            className="d-flex align-items-center",
                        ),
                        html.Div(
                            [
                                html.Span([t(lk, lang), " ", txt(v, tk, "sw-stat-v")], className="sw-stat")
                                for lk, tk in stats
                            ],
                            className="sw-stats",
                        ),
                    ],
                    id=ids.status(k),
                    className=v.status.get(k),
                ),
                xs=12,
            )
        )
    return cards or [dbc.Col(html.Div(t("health.never", lang), className="sw-muted"))]
