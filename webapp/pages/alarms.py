"""The alarm list (``/alarms``): live and historical views, filters, acknowledge, shelve, comment.

* **Live**: the open alarms of the shared alarm snapshot (``webapp.live.alarms``), filtered here with
  the same rules as the SQL (``store.alarm_views.matches``), most urgent then newest first. It refreshes
  every shell tick and sends the list only when what it shows changed.
* **History**: the alarm journal with the same filters, newest first, a page at a time.
* **Actions**: acknowledge one alarm (its row) or every unacknowledged alarm shown, shelve for a chosen time
  with a reason, unshelve, take out of service and return to service with a reason, comment. Each asks for
  confirmation, then becomes operator commands
  (``store.alarms.submit_command``) carrying the user, time, browser address and comment; the alarm service
  applies and journals them, and the page reports what it answered. The web app never changes alarm state
  itself. Acknowledging needs ``Perm.ACK``; shelving, unshelving and the service actions need
  ``Perm.SHELVE`` (``ACTION_PERMS``), checked here on the server as well as by the policy's action output.

Alarm, plant and journal texts are Dash children (text nodes), never markup.

The panels live in ``webapp.panels.alarms`` (filters, live list, history, details, actions), each with its
layout and callbacks; this module assembles the page and switches between the live and history views.
"""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from i18n import t
from webapp import context as web
from webapp.attrs import wildcard
from webapp.panels import register_panels

# Imported ``as`` themselves (``ask as ask``): the panels' callbacks that callers reach through the page.
from webapp.panels.alarms import actions, detail, filters, history, live
from webapp.panels.alarms.actions import _may as _may
from webapp.panels.alarms.actions import action_modal
from webapp.panels.alarms.actions import ask as ask
from webapp.panels.alarms.actions import confirm as confirm
from webapp.panels.alarms.actions import report as report
from webapp.panels.alarms.actions import submit as submit
from webapp.panels.alarms.detail import detail_panel
from webapp.panels.alarms.detail import refresh_detail as refresh_detail
from webapp.panels.alarms.filters import filters_panel, state_options
from webapp.panels.alarms.history import history_panel
from webapp.panels.alarms.history import refresh_history as refresh_history
from webapp.panels.alarms.ids import ids
from webapp.panels.alarms.live import live_panel
from webapp.panels.alarms.live import refresh_live as refresh_live

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/alarms", name="nav.alarms", order=20, title=web.page_title("nav.alarms"))
register_panels(filters, live, history, detail, actions)


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("alarm.title", lang), className="sw-page-title"),
                    dbc.Tabs(
                        [
                            dbc.Tab(label=t("alarm.view.live", lang), tab_id="live"),
                            dbc.Tab(label=t("alarm.view.history", lang), tab_id="history"),
                        ],
                        id=ids.VIEW,
                        active_tab="live",
                        class_name="sw-al-tabs",
                    ),
                    dbc.Button(
                        t("alarm.filter.toggle", lang),
                        id=ids.FILTERS_TOGGLE,
                        size="sm",
                        color="secondary",
                        outline=True,
                        className="d-md-none",
                    ),
                    dcc.Link(t("alarm.kpi.link", lang), href="/alarms/kpi", className="ms-auto"),
                ],
                className="sw-al-head",
            ),
            filters_panel(plant, lang),
            html.Div(id=ids.RESULT, className="sw-al-result", role="status", **wildcard({"aria-live": "polite"})),
            live_panel(lang),
            history_panel(),
            dcc.Store(id=ids.SHOWN),
            dcc.Store(id=ids.HIST_SHOWN),
            dcc.Store(id=ids.SENT),
            dcc.Store(id=ids.PENDING),
            dcc.Store(id=ids.SELECTED),
            action_modal(lang),
            detail_panel(lang),
        ]
    )


@callback(
    Output(ids.RANGE, "hidden"),
    Output(ids.LIVE, "hidden"),
    Output(ids.HISTORY, "hidden"),
    Output(ids.STATE, "options"),
    Input(ids.TIME, "value"),
    Input(ids.VIEW, "active_tab"),
)
def show_parts(preset: str | None, view: str | None) -> tuple[bool, bool, bool, list[dict[str, str]]]:
    history = view == "history"
    return preset != "custom", history, not history, state_options(view, web.lang())
