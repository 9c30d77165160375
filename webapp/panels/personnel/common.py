"""Small renderers shared by the personnel panels: names in the reader's language, durations, rule texts,
dots and the panel card."""

from __future__ import annotations

from typing import Any

from dash import html

from i18n import label, t
from scene import colors
from store import people
from webapp.live import personnel as data


def names_of(items: list[Any], lang: str) -> dict[str, str]:
    """Names of plant items (zones, cameras, muster points) by id, in ``lang``."""
    return {x.id: label(x.name, x.name_zh, lang) for x in items}


def person_name(who: dict[str, people.Identity], badge: str | None, lang: str) -> str:
    """The name of a badge's holder as the viewer may see it, else the badge."""
    if not badge:
        return "-"
    ident = who.get(badge)
    if ident is None or not ident.name:
        return badge
    return label(ident.name, ident.name_zh, lang)


def rule_text(rule: str, lang: str) -> str:
    """A personnel rule's name in ``lang`` (an unknown rule as is)."""
    return t(f"personnel.rule.{rule}", lang) if rule in data.RULES else rule


def dot(rgb: tuple[int, int, int]) -> html.Span:
    return html.Span(className="sw-dot", style={"background": colors.hex_color(rgb)})


def level_dot(level: str) -> html.Span:
    return html.Span(className=f"sw-dot sw-lv-{level}")


def card(title: str, body: Any, extra: Any = None, cls: str = "") -> html.Div:
    """A panel card of the page: a head with ``title`` (and ``extra``) over ``body``."""
    return html.Div(
        [html.Div([html.Span(title), extra], className="sw-card-head"), body],
        className=f"sw-card sw-panel sw-pm-card {cls}",
    )
