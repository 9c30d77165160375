"""Save the replay on screen as an incident record: title, notes, findings; the window, the trends, the zones and
the alarms and events it was opened from come with it, and the cursor's moment is where the record opens.
Saving needs ``Perm.INCIDENT`` (checked here as well as by the policy's action output) and is audited."""

from __future__ import annotations

import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from auth.policy import Perm
from i18n import t
from store.db import session_scope
from store.incidents import IncidentError, create_incident
from webapp import context as web
from webapp.audit import audit
from webapp.gate import current_user
from webapp.panels import panel_callback
from webapp.panels.replay.ids import ids

logger = logging.getLogger(__name__)


def may_save() -> bool:
    user = current_user()
    return user is not None and user.can(Perm.INCIDENT)


def save_panel(lang: str, params: dict[str, Any] | None) -> html.Div:
    """The form that saves the replay as an incident (only for users who may)."""
    if not may_save() or not params:
        return html.Div(id=ids.SAVE_PANEL, hidden=True)
    return html.Div(
        [
            html.H2(t("replay.save.title", lang), className="sw-rp-h2"),
            dcc.Input(
                id=ids.SAVE_TITLE,
                type="text",
                maxLength=200,
                placeholder=t("replay.save.name", lang),
                className="form-control form-control-sm mb-1",
            ),
            dcc.Textarea(
                id=ids.SAVE_NOTES,
                maxLength=10_000,
                placeholder=t("replay.save.notes", lang),
                className="form-control form-control-sm mb-1 sw-rp-area",
            ),
            dcc.Textarea(
                id=ids.SAVE_FINDINGS,
                maxLength=10_000,
                placeholder=t("replay.save.findings", lang),
                className="form-control form-control-sm mb-1 sw-rp-area",
            ),
            dbc.Button(t("replay.save.button", lang), id=ids.SAVE, size="sm", color="primary"),
            html.Span(id=ids.SAVE_MSG, className="sw-rp-msg ms-2", role="status"),
        ],
        id=ids.SAVE_PANEL,
        className="sw-rp-save",
    )


@panel_callback(
    Output(ids.SAVE_MSG, "children"),
    Input(ids.SAVE, "n_clicks"),
    State(ids.SAVE_TITLE, "value"),
    State(ids.SAVE_NOTES, "value"),
    State(ids.SAVE_FINDINGS, "value"),
    State(ids.PARAMS, "data"),
    State(ids.CURSOR, "data"),
    prevent_initial_call=True,
)
def save(_n: int | None, title: Any, notes: Any, findings: Any, params: Any, cursor: Any) -> Any:
    lang = web.lang()
    user = current_user()
    if user is None or not user.can(Perm.INCIDENT):
        return t("replay.save.refused", lang)
    if not isinstance(params, dict):
        return t("replay.error.window", lang)
    t0, t1 = int(params.get("t0") or 0), int(params.get("t1") or 0)
    at = int(cursor) if isinstance(cursor, int | float) and t0 <= cursor <= t1 else None
    try:
        with session_scope(web.engine()) as session:
            new_id = create_incident(
                session,
                web.plant(),
                title=title,
                t0=t0,
                t1=t1,
                at=at,
                user=user.username,
                now_ms=web.now_ms(),
                tags=params.get("tags"),
                zones=params.get("zones"),
                alarms=params.get("alarms"),
                events=[str(e) for e in params.get("events") or []],
                notes=notes,
                findings=findings,
                source=str(params.get("source") or "range"),
                ref=str(params.get("ref") or ""),
            )
            audit("incident_save", target=f"incident:{new_id}", detail=str(title)[:200], session=session)
    except IncidentError as exc:
        return t("replay.save.bad", lang, error=str(exc))
    return dcc.Link(t("replay.save.done", lang, id=new_id), href=f"/replay?incident={new_id}")
