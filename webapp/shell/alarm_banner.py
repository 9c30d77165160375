"""The alarm banner on every page: an All-in-One component (pattern-matching ids, one ``aio_id`` per banner).

It shows the unacknowledged annunciated alarms by priority in the plant's colors (shelved and suppressed
ones do not count), the newest unacknowledged alarm, and takes the user to ``/alarms`` in one click. An
on-call user sees only the alarms of their areas (``Principal.command_areas()``, filtered here from the
shared summary, so nothing of other areas leaves the server) and is taken to ``/oncall``. A
"sound" toggle (``assets/50_alarms.js``) sounds a tone while an urgent or high alarm is unacknowledged,
once the user has switched it on with a click (browsers allow audio only after a user gesture); the choice
is remembered in the browser.

Its callbacks are in ``webapp/shell/banner_callbacks.py``: every ``REFRESH_MS`` the banner asks for the shared alarm
snapshot and gets an answer only when what it shows changed. Plant and alarm texts are Dash children
(text nodes), never markup; the newest alarm's text is built in the user's language
(``webapp.live.alarms.alarm_text``), naming a person only for users who may see names.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html
from dash.dependencies import Wildcard

from auth.policy import Role
from engine.clock import format_local
from i18n import t
from plant import Plant
from plant.schema import PRIORITIES
from store.alarm_views import banner_for_areas
from webapp.attrs import wildcard
from webapp.gate import current_user
from webapp.live.alarms import alarm_text, condition_text, digest, source_text

REFRESH_MS = 1500
SHELL_BANNER = "shell"  # aio_id of the banner the shell places under the navbar
ALARMS_PATH = "/alarms"
ONCALL_PATH = "/oncall"

# A banner's aio_id, or a wildcard (MATCH) in the ids of its callbacks.
AioId = str | Wildcard


def viewer_banner(banner: dict[str, Any] | None) -> dict[str, Any] | None:
    """The shared banner summary as the user of this request may see it: an on-call user's areas only;
    nothing (None, drawn as "unknown") when nobody is logged in."""
    principal = current_user()
    if principal is None:
        return None
    return banner_for_areas(banner, principal.command_areas())


def banner_path() -> str:
    """Where the banner takes the user of this request: on-call users to their page, others to the list."""

    principal = current_user()
    return ONCALL_PATH if principal is not None and principal.role == Role.ON_CALL else ALARMS_PATH


class AlarmBanner(html.Div):
    """``AlarmBanner(aio_id, lang, plant, banner)``: ``banner`` is the snapshot's banner dict (or None)."""

    class ids:  # noqa: N801 - the component's id factories
        @staticmethod
        def _id(sub: str, aio_id: AioId) -> dict[str, AioId]:
            return {"component": "AlarmBanner", "subcomponent": sub, "aio_id": aio_id}

        @staticmethod
        def root(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("root", aio_id)

        @staticmethod
        def counts(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("counts", aio_id)

        @staticmethod
        def newest(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("newest", aio_id)

        @staticmethod
        def data(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("data", aio_id)

        @staticmethod
        def tick(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("tick", aio_id)

        @staticmethod
        def sound(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("sound", aio_id)

        @staticmethod
        def sink(aio_id: AioId) -> dict[str, AioId]:
            return AlarmBanner.ids._id("sink", aio_id)

    def __init__(self, aio_id: str, lang: str, plant: Plant, banner: dict[str, Any] | None, now_ms: int) -> None:
        counts, newest, data = render(banner, plant, lang, now_ms)
        sound = html.Button(
            t("alarm.sound.off", lang),
            id=self.ids.sound(aio_id),
            type="button",
            className="sw-ab-sound",
            title=t("alarm.sound.title", lang),
            **wildcard(
                {
                    "aria-pressed": "false",
                    "data-on": t("alarm.sound.on", lang),
                    "data-off": t("alarm.sound.off", lang),
                    "data-wait": t("alarm.sound.wait", lang),
                }
            ),
        )
        super().__init__(
            [
                dcc.Link(
                    [
                        html.Div(counts, id=self.ids.counts(aio_id), className="sw-ab-counts"),
                        html.Div(newest, id=self.ids.newest(aio_id), className="sw-ab-newest"),
                        html.Span(t("alarm.banner.open", lang), className="sw-ab-open"),
                    ],
                    href=banner_path(),
                    className="sw-ab-link",
                    title=t("alarm.banner.title", lang),
                ),
                sound,
                dcc.Store(id=self.ids.data(aio_id), data=data),
                dcc.Store(id=self.ids.sink(aio_id)),
                dcc.Interval(id=self.ids.tick(aio_id), interval=REFRESH_MS),
            ],
            id=self.ids.root(aio_id),
            className="sw-alarm-banner",
            role="status",
            **wildcard({"aria-live": "polite"}),
        )


def render(
    banner: dict[str, Any] | None, plant: Plant, lang: str, now_ms: int
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """The banner's counts and newest-alarm children and its data (tone, total, fingerprint), for the user of
    this request (:func:`viewer_banner`)."""
    banner = viewer_banner(banner)
    if banner is None:
        counts_children = [html.Span(t("alarm.banner.unknown", lang), className="sw-ab-none")]
        return counts_children, [], {"tone": None, "unacked": None, "key": "none"}
    counts = banner.get("counts") or {}
    chips = []
    for p in PRIORITIES:
        n = int(counts.get(p) or 0)
        chips.append(
            html.Span(
                [
                    html.Span(t(f"alarm.priority.{p}", lang), className="sw-ab-label"),
                    html.Span(str(n), className="sw-ab-n"),
                ],
                className=f"sw-ab-chip sw-prio-{p}" + ("" if n else " sw-ab-zero"),
                title=t("alarm.banner.count", lang, n=n, priority=t(f"alarm.priority.{p}", lang)),
            )
        )
    newest = banner.get("newest")
    if newest is None:
        newest_children: list[Any] = [html.Span(t("alarm.banner.none", lang), className="sw-ab-quiet")]
    else:
        prio = str(newest.get("priority"))
        newest_children = [
            html.Span(t(f"alarm.priority.{prio}", lang), className=f"sw-ab-prio sw-prio-{prio}"),
            html.Span(format_local(newest.get("activated_at"), plant.tz(), now_ms=now_ms), className="sw-ab-time"),
            html.Span(source_text(newest, plant, lang), className="sw-ab-source"),
            html.Span(condition_text(str(newest.get("condition") or ""), lang), className="sw-ab-cond"),
            html.Span(alarm_text(newest, plant, lang), className="sw-ab-text"),
        ]
    shown = {"counts": counts, "newest": None if newest is None else newest.get("id"), "lang": lang}
    if newest is not None:
        shown["newest_at"] = newest.get("activated_at")
        shown["newest_msg"] = newest.get("message")
        shown["newest_data"] = newest.get("data")
    data = {"tone": banner.get("tone"), "unacked": banner.get("unacked"), "key": digest(shown)}
    return chips, newest_children, data
