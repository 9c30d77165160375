"""What the video panels share: who may see and act on detections and in which zones, the names of
cameras, zones, detection classes and alarm states in the reader's language, and the toolbars' dropdown."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from auth.policy import Perm
from i18n import label, t
from plant import Plant
from store.video import FeedItem, Scope
from webapp.gate import current_user
from webapp.live.alarms import condition_text

ANY = "*"


def may_view() -> bool:
    """Whether the logged-in user may see video alarms (nobody logged in: no)."""
    p = current_user()
    return p is not None and p.can(Perm.VIDEO)


def may_act() -> bool:
    """Whether the logged-in user may acknowledge and review detections (nobody logged in: no)."""
    p = current_user()
    return p is not None and p.can(Perm.ACK)


def scope_of(plant: Plant) -> Scope | None:
    """The zones whose detections the logged-in user may see and act on: an on-call user's areas, None for
    every zone, no zone at all when nobody is logged in."""
    p = current_user()
    return Scope() if p is None else Scope.of_areas(plant, p.command_areas())


def class_name(cls: str, lang: str) -> str:
    """``flame`` -> "Flame" (the alarm condition's name, as on the alarm list); an unknown class as is."""
    return condition_text(cls, lang)


def select(
    cid: str,
    text: str,
    options: list[Any],
    value: str | int = ANY,
    css: str = "sw-vf-filter",
) -> html.Div:
    """A labelled dropdown of the toolbars (camera grid and feed)."""
    return html.Div(
        [
            dbc.Label(text, html_for=cid, className="mb-1 sw-muted"),
            dcc.Dropdown(id=cid, options=options, value=value, clearable=False),
        ],
        className=css,
    )


def names(plant: Plant, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The names of the cameras and of the zones by id, in ``lang``."""
    cams = {c.id: label(c.name, c.name_zh, lang) for c in plant.cameras}
    zones = {z.id: label(z.name, z.name_zh, lang) for z in plant.zones}
    return cams, zones


def state_text(item: FeedItem, lang: str) -> str:
    """The state of a detection's alarm: pending (no alarm yet), normal, or the alarm's state."""
    if item.alarm_state is None:
        return t("video.state.pending", lang)
    if item.alarm_state == "normal":
        return t("video.state.normal", lang)
    return t(f"alarm.state.{item.alarm_state}", lang)
