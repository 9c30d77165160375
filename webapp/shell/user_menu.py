"""The logged-in user in the navbar: name, role and a logout button (a plain form POST to ``/logout``)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from i18n import t
from webapp.gate import LOGOUT_PATH, current_user

USER = "shell-user"
LOGOUT = "shell-logout"


def user_menu(lang: str) -> html.Div:
    """Empty when nobody is logged in (the server then refuses the page anyway)."""
    principal = current_user()
    if principal is None:
        return html.Div(id=USER, className="sw-user")
    return html.Div(
        [
            html.Span(principal.name, className="sw-user-name", title=t("user.title", lang, user=principal.username)),
            html.Span(t(f"role.{principal.role.value}", lang), className="sw-user-role"),
            html.Form(
                dbc.Button(t("nav.logout", lang), id=LOGOUT, type="submit", size="sm", color="secondary", outline=True),
                action=LOGOUT_PATH,
                method="POST",
            ),
        ],
        id=USER,
        className="sw-user me-2 sw-kiosk-hide",
    )
