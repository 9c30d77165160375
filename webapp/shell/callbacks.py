"""Shell callbacks: the plant clock (in the browser), data-source health (the collectors, and the video
models refused at the video service's start), the language switch."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, html

from i18n import label, t
from webapp import context as web
from webapp.live.snapshot import format_age, snapshot
from webapp.live.video_health import fallback_text, model_fallbacks
from webapp.shell import ids


def register(app: Dash) -> None:
    """Attach the shell's callbacks to ``webapp.app`` (per app, so several apps in one process each get them)."""
    app.clientside_callback(
        ClientsideFunction(namespace="sw", function_name="clock"),
        Output(ids.CLOCK, "children"),
        Input(ids.CLOCK_TICK, "n_intervals"),
        Input(ids.CONFIG, "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="sw", function_name="toggleLang"),
        Output(ids.LANG_SINK, "data"),
        Input(ids.LANG, "n_clicks"),
        Input(ids.CONFIG, "data"),
    )
    app.callback(Output(ids.HEALTH, "children"), Input(ids.TICK, "n_intervals"))(update_health)


def update_health(_n: int | None) -> list[dbc.Badge]:
    lang = web.lang()
    snap = snapshot()
    video = video_badges(lang)
    if not snap["health"]:
        return [dbc.Badge(t("health.never", lang), color="warning", className="sw-health-badge"), *video]
    badges = []
    for h in snap["health"]:
        age = h["data_age_s"]
        if h.get("refused"):
            color, text = "danger", t("health.refused", lang)
        elif not h["connected"]:
            color, text = "danger", t("health.disconnected", lang)
        elif age is None or age > 30:
            color, text = "warning", t("health.stale", lang, age=format_age(age, lang))
        else:
            color, text = "success", t("health.age", lang, age=format_age(age, lang))
        badges.append(
            dbc.Badge(
                [html.Span(label(h["name"], h["name_zh"], lang), className="fw-bold me-1"), text],
                color=color,
                className="sw-health-badge",
                title=f"{label(h['name'], h['name_zh'], lang)} {text}",  # the whole text where a wall cuts it
            )
        )
    return badges + video


def video_badges(lang: str) -> list[dbc.Badge]:
    """A warning badge when the video service refused models at its start: how many, each in the tooltip;
    it links to ``/video``, which lists them."""
    rows = model_fallbacks()
    if not rows:
        return []
    plant = web.plant()
    return [
        dbc.Badge(
            t("health.video.badge", lang, n=len(rows)),
            color="warning",
            href="/video",
            className="sw-health-badge sw-health-video",
            title="\n".join(fallback_text(r, plant, lang) for r in rows),
        )
    ]
