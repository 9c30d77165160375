"""``/admin/users``: the users and their own badges (administrators only, see ``auth.policy``).

Lists every user (name, display name, role, areas, badge, active) and sets a user's own badge, by which the on-call
phone lists the special-work permits they are on. The badge must be one of the plant file's people's badges (an
unknown one is refused, saying so); the change goes through ``auth.users.set_badge`` and is audited with the badge
before and after, in one transaction. Every value is a Dash text child: hostile text shows as text.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from auth.policy import Perm, Role
from auth.users import UnknownBadgeError, UserError, list_users, set_badge
from i18n import label, t
from plant.schema import BadgeKind, Plant
from store.db import session_scope
from webapp import context as web
from webapp.commands import REFUSALS, operator_session, refusal_message

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/admin/users", name="nav.users", order=91, title=web.page_title("nav.users"))


class ids:  # noqa: N801 - the page's component ids, defined once
    USER = "users-user"
    BADGE = "users-badge"
    BADGES = "users-badges"  # the datalist of the plant's people's badges
    SAVE = "users-save"
    MSG = "users-badge-msg"
    TABLE = "users-table"


def _people(plant: Plant, lang: str) -> dict[str, str]:
    """The plant's people's badges: id -> name in the reader's language."""
    return {b.id: label(b.name, b.name_zh, lang) for b in plant.badges if b.kind == BadgeKind.PERSON}


def _role(role: str, lang: str) -> str:
    return t(f"role.{role}", lang) if role in {r.value for r in Role} else role


def table(lang: str) -> Any:
    people = _people(web.plant(), lang)
    with session_scope(web.engine()) as session:
        rows = [
            (u.username, u.display_name or "", u.role, ", ".join(u.areas or []), u.badge, bool(u.active))
            for u in list_users(session)
        ]
    head = html.Thead(
        html.Tr([html.Th(t(f"users.col.{c}", lang)) for c in ("user", "name", "role", "areas", "badge", "active")])
    )
    body = []
    for name, display, role, areas, badge, active in rows:
        shown = f"{badge} · {people[badge]}" if badge and badge in people else (badge or "—")
        body.append(
            html.Tr(
                [
                    html.Td(name, className="sw-users-name"),
                    html.Td(display),
                    html.Td(_role(role, lang)),
                    html.Td(areas or t("users.all_areas", lang)),
                    html.Td(shown, className="sw-users-badge"),
                    html.Td(t("users.yes", lang) if active else t("users.no", lang)),
                ],
                className=None if active else "sw-muted",
            )
        )
    return dbc.Table(
        [head, html.Tbody(body)], size="sm", hover=True, responsive=True, className="sw-table sw-users-table"
    )


def layout(**_query: Any) -> html.Div:
    lang = web.lang()
    people = _people(web.plant(), lang)
    with session_scope(web.engine()) as session:
        names = [u.username for u in list_users(session)]
    form = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(t("users.col.user", lang), html_for=ids.USER, className="mb-1 sw-muted"),
                    dbc.Select(id=ids.USER, options=[{"label": n, "value": n} for n in names]),
                ],
                xs=12,
                sm=6,
                lg=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("users.badge", lang), html_for=ids.BADGE, className="mb-1 sw-muted"),
                    dcc.Input(
                        id=ids.BADGE,
                        type="text",
                        list=ids.BADGES,
                        className="form-control",
                        autoComplete="off",
                        maxLength=64,
                        placeholder=t("users.badge_hint", lang),
                    ),
                    html.Datalist(
                        id=ids.BADGES, children=[html.Option(value=b, label=n) for b, n in sorted(people.items())]
                    ),
                ],
                xs=12,
                sm=6,
                lg=3,
            ),
            dbc.Col(
                dbc.Button(t("users.save_badge", lang), id=ids.SAVE, color="primary", className="w-100"),
                xs=12,
                sm=6,
                lg=2,
                className="d-flex align-items-end mt-2",
            ),
        ],
        className="g-2 mb-2",
    )
    return html.Div(
        [
            html.H1(t("users.title", lang), className="sw-page-title"),
            html.P(t("users.badge_note", lang), className="sw-muted"),
            form,
            html.Div(id=ids.MSG, className="mb-2"),
            html.Div(table(lang), id=ids.TABLE),
        ]
    )


@callback(
    Output(ids.MSG, "children"),
    Output(ids.TABLE, "children"),
    Input(ids.SAVE, "n_clicks"),
    State(ids.USER, "value"),
    State(ids.BADGE, "value"),
    prevent_initial_call=True,
)
def save_badge(_n: int | None, user: str | None, badge: str | None) -> tuple[Any, Any]:
    """Set the chosen user's badge (blank: none), refused with the reason in the reader's language."""
    lang = web.lang()
    if not user:
        return dbc.Alert(t("users.pick_user", lang), color="warning"), dash.no_update
    badge = str(badge or "").strip()[:64] or None
    known = set(_people(web.plant(), lang))
    try:
        with operator_session((Perm.USERS,)) as (session, op):
            row = set_badge(session, str(user)[:64], badge, known=known, actor=op.user, address=op.address)
            name, now = row.username, row.badge
    except UnknownBadgeError as exc:
        return dbc.Alert(t("users.unknown_badge", lang, badge=exc.badge), color="danger"), dash.no_update
    except UserError:
        return dbc.Alert(t("users.unknown_user", lang), color="danger"), dash.no_update
    except REFUSALS as exc:
        return dbc.Alert(refusal_message(exc, lang, what="badge"), color="danger"), dash.no_update
    key = "users.badge_set" if now else "users.badge_cleared"
    return dbc.Alert(t(key, lang, user=name, badge=now or ""), color="success"), table(lang)
