"""The page shell: navbar with navigation, plant clock, data-source health and language switch.

Kiosk mode (``?kiosk=1``, optional ``&pages=/,/scene&every=30&lang=zh``) is handled in the browser by
``assets/40_kiosk.js``: it hides what carries the ``sw-kiosk-hide`` class (navigation, language switch),
leaving a slim status strip with the clock and data health, rotates the pages, and reloads the page once
the server answers again after an outage (the ``ids.OFFLINE`` banner shows meanwhile). While an emergency runs,
kiosk screens switch to ``/emergency`` and stay there, other screens show the ``ids.EMERGENCY`` strip.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from i18n import label, t
from plant import Plant
from webapp import context as web
from webapp.attrs import wildcard
from webapp.gate import may_see_page
from webapp.live.alarms import alarm_banner as alarm_summary
from webapp.shell import ids
from webapp.shell.alarm_banner import SHELL_BANNER, AlarmBanner
from webapp.shell.user_menu import user_menu

logger = logging.getLogger(__name__)

REFRESH_MS = 2000


def nav_links(lang: str) -> list[Any]:
    """The navbar's page links the user may see. Pages registered with ``nav="more"`` (also reached from other
    pages: video from the scene and the alarms; replay, incidents, reports) go into one "More" menu at the end,
    so that the links, the data sources, the clock and the user's block stay on one line on a 1920 px wall."""
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") or 0, p["path"]))
    shown = [p for p in pages if p.get("nav", True) and may_see_page(p["path"])]  # the server refuses the others
    links: list[Any] = [
        dbc.NavItem(dbc.NavLink(t(p["name"], lang), href=p["relative_path"], active="exact"))
        for p in shown
        if p.get("nav", True) is True
    ]
    more = [p for p in shown if p.get("nav") == "more"]
    if more:
        links.append(
            dbc.DropdownMenu(
                [dbc.DropdownMenuItem(t(p["name"], lang), href=p["relative_path"]) for p in more],
                label=t("nav.more", lang),
                nav=True,
                in_navbar=True,
                align_end=True,
                className="sw-nav-more",
            )
        )
    return links


def alarm_banner(lang: str, plant: Plant) -> AlarmBanner:
    """The alarm banner under the navbar, filled from the shared snapshot (empty when the store is down)."""
    try:
        snap = alarm_summary()
        return AlarmBanner(SHELL_BANNER, lang, plant, snap["banner"], snap["now_ms"])
    except Exception:
        logger.exception("shell: no alarm snapshot for the banner's first paint")
        return AlarmBanner(SHELL_BANNER, lang, plant, None, web.now_ms())


def shell_layout() -> html.Div:
    lang = web.lang()
    plant = web.plant()
    brand = html.Div(
        [
            html.Span(t("app.brand", lang), className="sw-brand"),
            html.Span(label(plant.site.name, plant.site.name_zh, lang), className="sw-site"),
        ],
        className="d-flex flex-column",
    )
    navbar = dbc.Navbar(
        dbc.Container(
            [
                brand,
                dbc.Nav(nav_links(lang), id=ids.NAV, pills=True, className="me-auto ms-3 sw-kiosk-hide"),
                html.Div(id=ids.HEALTH, className="sw-health d-flex gap-2 me-3 ms-auto"),
                html.Span(id=ids.CLOCK, className="sw-clock me-3", title=t("clock.title", lang)),
                user_menu(lang),
                dbc.Button(
                    t("nav.language", lang),
                    id=ids.LANG,
                    size="sm",
                    color="secondary",
                    outline=True,
                    className="sw-kiosk-hide",
                ),
            ],
            fluid=True,
            className="flex-wrap gap-1",
        ),
        color="dark",
        dark=True,
        className="sw-navbar py-1",
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL),
            dcc.Store(id=ids.CONFIG, data={"tz": plant.site.timezone, "lang": lang}),
            dcc.Store(id=ids.LANG_SINK),
            dcc.Interval(id=ids.TICK, interval=REFRESH_MS),
            dcc.Interval(id=ids.CLOCK_TICK, interval=1000),
            navbar,
            alarm_banner(lang, plant),
            html.A(t("em.banner", lang), id=ids.EMERGENCY, href="/emergency", className="sw-emergency-strip"),
            dbc.Container(dash.page_container, fluid=True, className="sw-main py-2"),
            html.Div(
                t("kiosk.offline", lang),
                id=ids.OFFLINE,
                className="sw-offline",
                role="status",
                **wildcard({"data-back": t("kiosk.back", lang)}),
            ),
        ],
        lang="zh-CN" if lang == "zh" else "en",
    )
