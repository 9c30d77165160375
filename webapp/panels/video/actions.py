"""The actions of the video page's event dialog: **Acknowledge** (an operator command to the alarm service,
``store.alarms.submit_command``) and **Mark false positive** (after a confirmation: a ``video_review`` row,
and the alarm acknowledged with the comment "false positive", or the comment alone when it already was).
Both are checked on the server (``Perm.ACK``; an on-call user only in their areas, :class:`store.video.Scope`),
audited, and the dialog reports the service's answer."""

from __future__ import annotations

import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from auth.auditlog import VIDEO_FALSE_POSITIVE
from auth.policy import Perm
from i18n import t
from store.alarm_views import command_results
from store.db import session_scope
from store.video import FALSE_POSITIVE, NotInScopeError, get_item, record_review
from webapp import context as web
from webapp.audit import audit
from webapp.commands import REFUSALS, alarm_command, operator, refusal_message
from webapp.live.alarms import alarm_banner, alarm_snapshot
from webapp.panels import panel_callback
from webapp.panels.video.common import scope_of
from webapp.panels.video.ids import ids
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

RESULT_WAIT_MS = 15_000  # after this, a command nobody answered is reported as such
FP_COMMENT = "false positive"  # the comment journaled with the acknowledge of a false positive


@panel_callback(
    Output(ids.EV_CONFIRM, "hidden", allow_duplicate=True),
    Input(ids.EV_FP, "n_clicks"),
    Input(ids.EV_CONFIRM_NO, "n_clicks"),
    prevent_initial_call=True,
)
def _ask_false_positive(fp: int | None, no: int | None) -> bool:
    if ctx.triggered_id == ids.EV_FP and fp:
        return False
    if ctx.triggered_id == ids.EV_CONFIRM_NO and no:
        return True
    raise PreventUpdate


def act(action: str, event_id: Any, now_ms: int) -> list[int]:
    """Acknowledge (``ack``) or mark as a false positive (``false_positive``) the detection ``event_id`` for
    the logged-in user: checked here (permission, the user's areas), queued as operator commands, audited.
    Returns the command ids (none when a false positive has no alarm yet). ``ValueError`` when refused."""
    if action not in ("ack", FALSE_POSITIVE):
        raise ValueError("nothing to do")
    op = operator((Perm.ACK,))  # NotLoggedInError: nobody is logged in; NotAllowedError: the role may not
    if type(event_id) is not int:
        raise NotInScopeError("no such detection")
    scope = scope_of(web.plant())
    with session_scope(web.engine()) as session:
        item = get_item(session, event_id, now_ms=now_ms, scope=scope)
        if item is None:
            raise NotInScopeError(f"no video event {event_id}")
        if action == "ack":
            if item.alarm_state is None:
                raise ValueError("this detection has no alarm yet")
            return alarm_command(
                session,
                op,
                [item.alarm_id],
                "ack",
                now_ms=now_ms,
                audit_event="alarm_ack",
                data={"alarms": [item.alarm_id], "event": item.event_id},
            )
        review_id = record_review(
            session, item.event_id, FALSE_POSITIVE, op.user, FP_COMMENT, now_ms=now_ms, address=op.address, scope=scope
        )
        if item.alarm_state is None:  # no alarm yet: the review alone, audited
            audit(
                VIDEO_FALSE_POSITIVE,
                user=op.user,
                address=op.address,
                target=item.alarm_id,
                detail=FP_COMMENT,
                data={"event": item.event_id, "review": review_id, "commands": []},
                session=session,
            )
            return []
        return alarm_command(
            session,
            op,
            [item.alarm_id],
            "ack" if item.acked is False else "comment",
            now_ms=now_ms,
            audit_event=VIDEO_FALSE_POSITIVE,
            comment=FP_COMMENT,
            data={"event": item.event_id, "review": review_id},
        )


@panel_callback(
    Output(ids.EV_RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data"),
    Output(ids.EV_CONFIRM, "hidden", allow_duplicate=True),
    Output(ids.EV_SELECTED, "data", allow_duplicate=True),
    Input(ids.EV_ACK, "n_clicks"),
    Input(ids.EV_CONFIRM_YES, "n_clicks"),
    State(ids.EV_SELECTED, "data"),
    prevent_initial_call=True,
)
def _act(ack: int | None, yes: int | None, selected: Any) -> tuple[Any, ...]:
    trigger = ctx.triggered_id
    if not ((trigger == ids.EV_ACK and ack) or (trigger == ids.EV_CONFIRM_YES and yes)) or selected is None:
        raise PreventUpdate
    action = "ack" if trigger == ids.EV_ACK else FALSE_POSITIVE
    lang = web.lang()
    now = web.now_ms()
    try:
        command_ids = act(action, selected, now)
    except REFUSALS as exc:
        message = refusal_message(exc, lang, what=f"video action {action}")
        return dbc.Alert(message, color="danger"), no_update, True, no_update
    except Exception:
        logger.exception("video action %s on event %r could not be stored", action, selected)
        return dbc.Alert(t("alarm.result.failed", lang), color="danger"), no_update, True, no_update
    name = t("alarm.action.ack", lang) if action == "ack" else t("video.event.fp", lang)
    if not command_ids:
        note = dbc.Alert(t("video.event.fp_recorded", lang), color="success")
        return note, None, True, selected
    note = dbc.Alert(t("alarm.result.sent", lang, action=name, n=len(command_ids)), color="info")
    return note, {"ids": command_ids, "at": now, "action": action}, True, selected


@panel_callback(
    Output(ids.EV_RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data", allow_duplicate=True),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def _report(_n: int | None, sent: Any) -> tuple[Any, Any]:
    if not isinstance(sent, dict) or not isinstance(sent.get("ids"), list) or not sent["ids"]:
        raise PreventUpdate
    wanted = [i for i in sent["ids"] if type(i) is int]
    lang = web.lang()
    action = t("alarm.action.ack", lang) if sent.get("action") == "ack" else t("video.event.fp", lang)
    with session_scope(web.engine()) as session:
        done = command_results(session, wanted)
    finished = [c for c in done if c.done_at is not None]
    if len(finished) < len(wanted):
        at = sent.get("at")
        if web.now_ms() - (at if type(at) is int else 0) < RESULT_WAIT_MS:
            raise PreventUpdate
        return dbc.Alert(
            t("alarm.result.no_answer", lang, action=action, n=len(wanted) - len(finished)), color="warning"
        ), None
    ok = [c for c in finished if c.ok]
    refused = [c for c in finished if not c.ok]
    alarm_snapshot.expire()  # the alarm list and banner show the new state at once
    alarm_banner.expire()
    parts: list[Any] = [html.Div(t("alarm.result.done", lang, action=action, n=len(ok)))]
    for c in refused[:10]:
        parts.append(html.Div(t("alarm.result.rejected", lang, alarm=c.alarm_id, reason=c.result or "")))
    color = "success" if not refused else "warning" if ok else "danger"
    return dbc.Alert(parts, color=color, dismissable=True), None
