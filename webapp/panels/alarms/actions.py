"""The actions: acknowledge one alarm (its row) or every unacknowledged alarm shown, shelve for a chosen
time with a reason, unshelve, take out of service and return to service with a reason, comment. Each asks
for confirmation, then becomes operator commands (``store.alarms.submit_command``) carrying the user,
time, browser address and comment; the alarm service applies and journals them, and the page reports
what it answered. Acknowledging needs ``Perm.ACK``; shelving, unshelving and the service actions need
``Perm.SHELVE`` (``ACTION_PERMS``), checked here on the server as well as by the policy's action output."""

from __future__ import annotations

import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from auth.policy import Perm
from engine.alarms import MAX_SHELVE_S
from i18n import t
from store.alarm_views import command_results
from store.db import session_scope
from webapp import context as web
from webapp.commands import REFUSALS, alarm_command, operator_session, refusal_message, who_line
from webapp.gate import current_user
from webapp.live.alarms import alarm_banner, alarm_snapshot
from webapp.panels import panel_callback
from webapp.panels.alarms.ids import ids
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

RESULT_WAIT_MS = 15_000  # after this, a command nobody answered is reported as such
# Shelving choices, up to the engine's maximum (a longer shelve would be refused by the alarm service).
SHELVE_DURATIONS = tuple(d for d in (900, 3600, 2 * 3600, 4 * 3600, 8 * 3600) if d <= MAX_SHELVE_S)
ACTIONS = ("ack", "shelve", "unshelve", "comment", "out_of_service", "in_service")
REASON_ACTIONS = ("shelve", "comment", "out_of_service", "in_service")  # these need a text
# The permission each action needs (a comment: either); the policy's "alarms-sent" line lets in users with
# any of them, ``submit`` checks the action's own.
ACTION_PERMS: dict[str, tuple[Perm, ...]] = {
    "ack": (Perm.ACK,),
    "shelve": (Perm.SHELVE,),
    "unshelve": (Perm.SHELVE,),
    "out_of_service": (Perm.SHELVE,),
    "in_service": (Perm.SHELVE,),
    "comment": (Perm.ACK, Perm.SHELVE),
}
MAX_COMMENT = 500


def action_modal(lang: str) -> dbc.Modal:
    durations = [{"label": t(f"alarm.duration.{s}", lang), "value": str(s)} for s in SHELVE_DURATIONS]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(id=ids.MODAL_TITLE)),
            dbc.ModalBody(
                [
                    html.Div(id=ids.MODAL_BODY, className="mb-2"),
                    html.Div(
                        [
                            dbc.Label(t("alarm.shelve.duration", lang), html_for=ids.MODAL_DURATION),
                            dbc.Select(id=ids.MODAL_DURATION, options=durations, value=str(SHELVE_DURATIONS[1])),
                        ],
                        id=ids.MODAL_DURATION_ROW,
                        className="mb-2",
                        hidden=True,
                    ),
                    dbc.Label(id=ids.MODAL_COMMENT_LABEL, html_for=ids.MODAL_COMMENT),
                    dbc.Textarea(id=ids.MODAL_COMMENT, rows=2, maxLength=MAX_COMMENT),
                    html.Div(who_line("alarm.confirm.who", lang), className="sw-muted mt-1"),
                    html.Div(id=ids.MODAL_ERROR, className="text-danger mt-2", role="alert"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button(t("alarm.confirm.cancel", lang), id=ids.MODAL_CANCEL, color="secondary", outline=True),
                    dbc.Button(t("alarm.confirm.ok", lang), id=ids.MODAL_CONFIRM, color="warning"),
                ]
            ),
        ],
        id=ids.MODAL,
        is_open=False,
        centered=True,
        class_name="sw-al-modal",
    )


# --- ask, confirm, send, report ------------------------------------------------------------------------


@panel_callback(
    Output(ids.PENDING, "data"),
    Output(ids.MODAL, "is_open"),
    Output(ids.MODAL_TITLE, "children"),
    Output(ids.MODAL_BODY, "children"),
    Output(ids.MODAL_DURATION_ROW, "hidden"),
    Output(ids.MODAL_COMMENT_LABEL, "children"),
    Output(ids.MODAL_COMMENT, "value"),
    Output(ids.MODAL_ERROR, "children"),
    Input({"type": ids.ROW_ACK, "index": ALL}, "n_clicks"),
    Input(ids.ACK_VISIBLE, "n_clicks"),
    Input(ids.DETAIL_ACK, "n_clicks"),
    Input(ids.DETAIL_SHELVE, "n_clicks"),
    Input(ids.DETAIL_UNSHELVE, "n_clicks"),
    Input(ids.DETAIL_OOS, "n_clicks"),
    Input(ids.DETAIL_IN_SERVICE, "n_clicks"),
    Input(ids.DETAIL_COMMENT, "n_clicks"),
    State(ids.SHOWN, "data"),
    State(ids.SELECTED, "data"),
    prevent_initial_call=True,
)
def ask(
    _rows: list[int | None],
    _all: int | None,
    _ack: int | None,
    _shelve: int | None,
    _unshelve: int | None,
    _oos: int | None,
    _in_service: int | None,
    _comment: int | None,
    shown: dict[str, Any] | None,
    selected: dict[str, Any] | None,
) -> tuple[Any, ...]:
    trig = ctx.triggered_id
    if trig is None or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # a row re-rendered, nobody clicked
    chosen = str((selected or {}).get("id") or "")
    if isinstance(trig, dict) and trig.get("type") == ids.ROW_ACK:
        action, targets = "ack", [str(trig["index"])]
    elif trig == ids.ACK_VISIBLE:
        action, targets = "ack", [str(i) for i in (shown or {}).get("unacked") or []]
    else:
        action = {
            ids.DETAIL_ACK: "ack",
            ids.DETAIL_SHELVE: "shelve",
            ids.DETAIL_UNSHELVE: "unshelve",
            ids.DETAIL_OOS: "out_of_service",
            ids.DETAIL_IN_SERVICE: "in_service",
        }.get(str(trig), "comment")
        targets = [chosen] if chosen else []
    if not targets:
        raise PreventUpdate
    lang = web.lang()
    title = t(f"alarm.confirm.{action}", lang, n=len(targets))
    listed = html.Ul([html.Li(i) for i in targets[:20]], className="sw-al-modal-list")
    more = (
        html.Div(t("alarm.list.more", lang, n=len(targets) - 20), className="sw-muted") if len(targets) > 20 else None
    )
    comment_label = t("alarm.confirm.reason_label" if action in REASON_ACTIONS else "alarm.confirm.comment_label", lang)
    pending = {"action": action, "ids": targets}
    return pending, True, title, [listed, more], action != "shelve", comment_label, "", ""


@panel_callback(
    Output(ids.MODAL, "is_open", allow_duplicate=True),
    Input(ids.MODAL_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def cancel(_n: int | None) -> bool:
    return False


class ReasonMissingError(ValueError):
    """Shelving, the service actions and comments need a text."""


def submit(pending: dict[str, Any], comment: str | None, duration: Any, now_ms: int) -> list[int]:
    """Send the confirmed action as operator commands; ``ValueError`` when it is not acceptable."""
    action = pending.get("action")
    targets = [str(i) for i in pending.get("ids") or []]
    if action not in ACTIONS or not targets:
        raise ValueError("nothing to do")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise ValueError(f"the comment is longer than {MAX_COMMENT} characters")
    duration_s = None
    if action == "shelve":
        try:
            duration_s = int(duration)
        except (TypeError, ValueError) as exc:
            raise ValueError("choose how long to shelve") from exc
        if duration_s not in SHELVE_DURATIONS:
            raise ValueError("choose how long to shelve")
    if action in REASON_ACTIONS and not text:
        raise ReasonMissingError("a reason is required")
    with operator_session(ACTION_PERMS.get(str(action), ())) as (session, op):  # refused: nobody or the role
        return alarm_command(
            session,
            op,
            targets,
            str(action),
            now_ms=now_ms,
            audit_event=f"alarm_{action}",  # the security audit log too: who, when, from where
            comment=text or None,
            duration_s=duration_s,
            data={"alarms": targets, "duration_s": duration_s},
        )


def _may(action: str) -> bool:
    """Whether the logged-in user holds a permission of ``action`` (nobody logged in: refused)."""
    principal = current_user()
    return principal is not None and any(principal.can(p) for p in ACTION_PERMS.get(action, ()))


@panel_callback(
    Output(ids.MODAL, "is_open", allow_duplicate=True),
    Output(ids.MODAL_ERROR, "children", allow_duplicate=True),
    Output(ids.SENT, "data"),
    Output(ids.RESULT, "children"),
    Input(ids.MODAL_CONFIRM, "n_clicks"),
    State(ids.PENDING, "data"),
    State(ids.MODAL_COMMENT, "value"),
    State(ids.MODAL_DURATION, "value"),
    prevent_initial_call=True,
)
def confirm(_n: int | None, pending: dict[str, Any] | None, comment: str | None, duration: Any) -> tuple[Any, ...]:
    if not _n or not pending:
        raise PreventUpdate
    lang = web.lang()
    now = web.now_ms()
    try:
        command_ids = submit(pending, comment, duration, now)
    except ReasonMissingError:
        return True, t("alarm.confirm.need_reason", lang), no_update, no_update
    except REFUSALS as exc:
        return True, refusal_message(exc, lang, what=f"alarm {pending.get('action')}"), no_update, no_update
    except Exception:
        logger.exception("alarm commands could not be stored")
        return True, t("alarm.result.failed", lang), no_update, no_update
    action = str(pending["action"])
    sent = {"ids": command_ids, "at": now, "action": action}
    note = dbc.Alert(
        t("alarm.result.sent", lang, action=t(f"alarm.action.{action}", lang), n=len(command_ids)), color="info"
    )
    return False, "", sent, note


@panel_callback(
    Output(ids.RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data", allow_duplicate=True),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def report(_n: int | None, sent: dict[str, Any] | None) -> tuple[Any, Any]:
    if not sent or not sent.get("ids"):
        raise PreventUpdate
    lang = web.lang()
    with session_scope(web.engine()) as session:
        done = command_results(session, list(sent["ids"]))
    finished = [c for c in done if c.done_at is not None]
    action = t(f"alarm.action.{sent.get('action')}", lang)
    if len(finished) < len(sent["ids"]):
        if web.now_ms() - int(sent.get("at") or 0) < RESULT_WAIT_MS:
            raise PreventUpdate
        alert = dbc.Alert(
            t("alarm.result.no_answer", lang, action=action, n=len(sent["ids"]) - len(finished)), color="warning"
        )
        return alert, None
    ok = [c for c in finished if c.ok]
    refused = [c for c in finished if not c.ok]
    alarm_snapshot.expire()  # the next refresh shows the new states at once
    alarm_banner.expire()
    parts: list[Any] = [html.Div(t("alarm.result.done", lang, action=action, n=len(ok)))]
    for c in refused[:10]:
        parts.append(html.Div(t("alarm.result.rejected", lang, alarm=c.alarm_id, reason=c.result or "")))
    color = "success" if not refused else "warning" if ok else "danger"
    return dbc.Alert(parts, color=color, dismissable=True), None
