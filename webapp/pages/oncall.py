"""The on-call page (``/oncall``): my open alerts on a phone, acknowledge with a comment.

Phone first (390 px wide and up): one card per alert in the user's areas (``webapp.live.oncall``),
unacknowledged first and newest first, in its priority's colour, with the alarm's zone on a small site map
(an SVG image of a few hundred bytes, no map library), the nearest camera and the slot for its snapshot,
and a large acknowledge button. Plant headcount sits at the top. Below the alerts: my special-work permits
(``webapp.live.oncall.my_permits``: those the user is on as guardian or crew by their account's badge, or as
applicant or approver), each with kind, grade, title, my part, state (why a suspended one is) and validity; read when
the page opens.

Acknowledge asks for confirmation and an optional comment, then queues an operator command
(``store.alarms.submit_command``) restricted to the user's areas (``Principal.command_areas``: a hand-made
request for another area's alarm is refused there, on the server) and writes the security audit log; the
page reports what the alarm service answered.

Refresh: every shell tick the page compares a fingerprint per card with what the browser shows and sends
nothing when nothing changed, only the changed cards when the list kept its order (a ``Patch``), the whole
list otherwise. Alarm and plant texts are Dash children and attributes (text), never markup.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth import Perm
from auth.policy import viewer_of
from engine.clock import DAY_MINUTE, format_local
from i18n import label, t
from plant import Plant
from store.alarm_views import AlarmView
from store.alarms import CommandError, command_results
from store.db import session_scope
from webapp import context as web
from webapp.attrs import wildcard
from webapp.commands import REFUSALS, alarm_command, operator_session, refusal_message, who_line
from webapp.live import oncall as data
from webapp.live.alarms import (
    alarm_banner,
    alarm_snapshot,
    alarm_text,
    condition_text,
    digest,
    source_text,
    value_text,
)
from webapp.shell import ids as shell_ids

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/oncall", name="nav.oncall", order=90, title=web.page_title("nav.oncall"))

MAX_COMMENT = 500
RESULT_WAIT_MS = 15_000  # after this, an acknowledge nobody answered is reported as such


class ids:  # noqa: N801 - a namespace of this page's component ids
    PERMITS = "oncall-permits"
    HEAD = "oncall-head"
    AREAS = "oncall-areas"
    RESULT = "oncall-result"
    LIST = "oncall-list"
    NOTE = "oncall-note"  # empty list / "more" note
    SHOWN = "oncall-shown"  # what the browser shows: a fingerprint per card
    PENDING = "oncall-pending"  # the alert waiting for confirmation
    SENT = "oncall-sent"  # command ids waiting for the alarm service's answer
    MODAL = "oncall-modal"
    MODAL_BODY = "oncall-modal-body"
    MODAL_COMMENT = "oncall-modal-comment"
    MODAL_ERROR = "oncall-modal-error"
    MODAL_CONFIRM = "oncall-modal-confirm"
    MODAL_CANCEL = "oncall-modal-cancel"
    ACK = "oncall-ack"

    @staticmethod
    def ack(alarm_id: str) -> dict[str, str]:
        return {"type": ids.ACK, "index": alarm_id}


# --- pieces --------------------------------------------------------------------------------------------------


def _zone_name(plant: Plant, zone: str | None, lang: str) -> str | None:
    for z in plant.zones:
        if z.id == zone:
            return label(z.name, z.name_zh, lang)
    return zone


def _area_names(plant: Plant, areas: tuple[str, ...], lang: str) -> str:
    names = {a.id: label(a.name, a.name_zh, lang) for a in plant.areas}
    return ", ".join(names.get(a, a) for a in areas)


def _headcount(hc: dict[str, Any], lang: str) -> list[Any]:
    return [
        html.Span(str(hc.get("persons", 0)), className="sw-oc-hc-n"),
        html.Span(t("oncall.headcount", lang), className="sw-oc-hc-l"),
    ]


def _camera(plant: Plant, a: AlarmView, lang: str) -> html.Div:
    cam = data.nearest_camera(plant, a)
    url = data.snapshot_url(cam, a)
    if cam is None:
        name = t("oncall.no_camera", lang)
    else:
        name = t("oncall.camera", lang, name=label(cam.name, cam.name_zh, lang))
    if url:
        slot: Any = html.Img(src=url, alt=name, className="sw-oc-snap-img")
    else:
        slot = html.Span(t("oncall.no_snapshot", lang), className="sw-oc-snap-none")
    return html.Div(
        [
            html.Div(slot, className="sw-oc-snap", **wildcard({"data-camera": cam.id if cam else ""})),
            html.Div(name, className="sw-oc-cam-name"),
        ],
        className="sw-oc-cam",
    )


def card(a: AlarmView, plant: Plant, hc: dict[str, Any], now: int, lang: str) -> html.Div:
    """One alert: priority, state, time; what; where (map); the nearest camera; acknowledge."""
    zone = _zone_name(plant, a.zone, lang)
    place = zone or (_area_names(plant, (a.area,), lang) if a.area else t("oncall.unknown_place", lang))
    in_zone = (hc.get("zones") or {}).get(a.zone or "", 0) if a.zone else None
    what = alarm_text(a, plant, lang)
    value = value_text(a, plant)
    if a.acked:
        action: Any = html.Div(t("oncall.acked_by", lang, user=a.acked_by or "-"), className="sw-oc-acked")
    else:
        action = html.Button(t("oncall.ack", lang), id=ids.ack(a.id), className="sw-oc-ack", type="button")
    return html.Div(
        [
            html.Div(
                [
                    html.Span(t(f"alarm.priority.{a.priority}", lang), className="sw-oc-prio"),
                    html.Span(t(f"alarm.state.{a.state}", lang), className=f"sw-oc-state sw-oc-state-{a.state}"),
                    html.Span(format_local(a.activated_at, plant.tz(), now_ms=now), className="sw-oc-time"),
                ],
                className="sw-oc-top",
            ),
            html.Div(
                [
                    html.Span(source_text(a, plant, lang), className="sw-oc-source"),
                    html.Span(condition_text(a.condition, lang), className="sw-oc-cond"),
                    html.Span(value, className="sw-oc-value") if value else None,
                ],
                className="sw-oc-what",
            ),
            html.Div(what, className="sw-oc-text") if what else None,
            html.Div(
                [
                    html.Span(place, className="sw-oc-place"),
                    html.Span(t("oncall.zone_people", lang, n=in_zone), className="sw-oc-zone-hc")
                    if in_zone is not None
                    else None,
                ],
                className="sw-oc-where",
            ),
            html.Div(
                [
                    html.Img(
                        src=data.zone_map(plant, a.zone),
                        alt=t("oncall.map_alt", lang, zone=place),
                        className="sw-oc-map",
                    ),
                    _camera(plant, a, lang),
                ],
                className="sw-oc-media",
            ),
            action,
        ],
        className=f"sw-oc-card sw-prio-{a.priority}" + ("" if a.acked else " sw-oc-unacked"),
        **wildcard({"data-alarm": a.id}),
    )


def _modal(lang: str) -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle(t("oncall.confirm.title", lang)), close_button=False),
            dbc.ModalBody(
                [
                    html.Div(id=ids.MODAL_BODY, className="sw-oc-modal-what"),
                    dbc.Label(t("oncall.confirm.comment", lang), html_for=ids.MODAL_COMMENT),
                    dbc.Textarea(id=ids.MODAL_COMMENT, rows=3, maxLength=MAX_COMMENT, className="sw-oc-comment"),
                    html.Div(who_line("oncall.confirm.who", lang), className="sw-muted"),
                    html.Div(id=ids.MODAL_ERROR, className="text-danger mt-2", role="alert"),
                ]
            ),
            dbc.ModalFooter(
                [
                    html.Button(
                        t("oncall.confirm.cancel", lang), id=ids.MODAL_CANCEL, className="sw-oc-btn", type="button"
                    ),
                    html.Button(
                        t("oncall.confirm.ok", lang),
                        id=ids.MODAL_CONFIRM,
                        className="sw-oc-btn sw-oc-btn-ok",
                        type="button",
                    ),
                ],
                className="sw-oc-modal-foot",
            ),
        ],
        id=ids.MODAL,
        is_open=False,
        centered=True,
        fullscreen="sm-down",
        class_name="sw-oc-modal",
    )


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    principal = data.current_principal()
    areas = data.my_areas(principal)
    if principal is None:  # the gate lets nobody here without a login; refuse anyway
        scope = t("login.required", lang)
    elif areas:
        scope = t("oncall.areas.some", lang, areas=_area_names(plant, areas, lang))
    else:
        scope = t("oncall.areas.all", lang)
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H1(t("oncall.title", lang), className="sw-oc-title"),
                            html.Div(scope, id=ids.AREAS, className="sw-oc-areas"),
                        ]
                    ),
                    html.Div(id=ids.HEAD, className="sw-oc-hc", title=t("oncall.headcount.title", lang)),
                ],
                className="sw-oc-head",
            ),
            html.Div(id=ids.RESULT, className="sw-oc-result", role="status", **wildcard({"aria-live": "polite"})),
            html.Div(id=ids.LIST, className="sw-oc-list"),
            html.Div(id=ids.NOTE, className="sw-oc-note"),
            html.A(t("hd.report_link", lang), href="/safety/report", className="btn btn-outline-warning w-100 mt-3"),
            _my_permits(plant, principal, lang),
            dcc.Store(id=ids.SHOWN),
            dcc.Store(id=ids.PENDING),
            dcc.Store(id=ids.SENT),
            _modal(lang),
        ],
        className="sw-oc",
    )


def _my_permits(plant: Plant, principal: Any, lang: str) -> html.Div:
    try:
        rows = data.my_permits(principal, web.now_ms())
    except Exception:  # the alerts above matter more: the page comes up without the list
        logger.exception("oncall: my permits not readable")
        rows = []
    tz = plant.tz()
    cards = []
    for row, parts in rows:
        grade = f" · {t(f'permit.grade.{row.grade}', lang)}" if row.grade else ""
        state = t(f"permit.state.{row.state}", lang)
        if row.state == "suspended" and row.suspend_reason:
            state += f" · {t(f'permit.reason.{row.suspend_reason}', lang)}"
        cards.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(f"#{row.id} {t(f'permit.kind.{row.kind}', lang)}{grade}", className="fw-bold"),
                            html.Span(state, className=f"badge sw-oc-pt-state sw-oc-pt-{row.state}"),
                        ],
                        className="d-flex justify-content-between gap-2",
                    ),
                    html.Div(row.title, className="sw-oc-pt-title"),
                    html.Div(
                        [
                            html.Span(", ".join(t(f"oncall.permits.part.{p}", lang) for p in parts)),
                            html.Span(
                                t(
                                    "oncall.permits.valid",
                                    lang,
                                    start=format_local(row.valid_from, tz, DAY_MINUTE),
                                    end=format_local(row.valid_to, tz, DAY_MINUTE),
                                )
                            ),
                        ],
                        className="sw-oc-pt-meta",
                    ),
                ],
                className="sw-card sw-oc-pt",
            )
        )
    return html.Div(
        [
            html.H2(t("oncall.permits.title", lang), className="sw-oc-sub"),
            *(cards or [html.Div(t("oncall.permits.none", lang), className="sw-muted")]),
        ],
        id=ids.PERMITS,
        className="sw-oc-permits mt-3",
    )


# --- refresh: send only what changed ------------------------------------------------------------------------


def plan_update(old: Any, new: list[tuple[str, str]]) -> list[int] | None:
    """Indexes of the cards to resend when the list kept its alerts and order (None: resend the whole list,
    also when what the browser says it shows is not a list of ``[id, fingerprint]`` pairs)."""
    if not isinstance(old, list) or not old or len(old) != len(new):
        return None
    if not all(isinstance(o, list | tuple) and len(o) == 2 and all(isinstance(x, str) for x in o) for o in old):
        return None
    if [o[0] for o in old] != [n[0] for n in new]:
        return None
    return [i for i, (o, n) in enumerate(zip(old, new, strict=True)) if o[1] != n[1]]


@callback(
    Output(ids.LIST, "children"),
    Output(ids.HEAD, "children"),
    Output(ids.NOTE, "children"),
    Output(ids.SHOWN, "data"),
    Input(shell_ids.TICK, "n_intervals"),
    Input(ids.SENT, "data"),  # the alarm service answered: show the new states at once
    State(ids.SHOWN, "data"),
)
def refresh(_n: int | None, _sent: Any, shown: dict[str, Any] | None) -> tuple[Any, ...]:
    lang = web.lang()
    plant = web.plant()
    principal = data.current_principal()
    if principal is None:  # nobody logged in: no alerts, no headcount
        return [], "", t("login.required", lang), {}
    alerts, snap = data.alerts_now(principal)
    hc = data.headcount(viewer_of(principal))
    now = int(snap["now_ms"])
    drawn = alerts[: data.MAX_ALERTS]
    zones = hc.get("zones") or {}
    cards = [
        (
            a.id,
            digest([a.as_dict(), zones.get(a.zone or ""), lang, format_local(a.activated_at, plant.tz(), now_ms=now)]),
        )
        for a in drawn
    ]
    head_key = digest([hc.get("persons"), lang])
    note_key = digest([len(alerts), len(drawn), bool(snap.get("truncated")), lang])
    shown = shown if isinstance(shown, dict) else {}
    changed = plan_update(shown.get("cards"), cards)
    same_head = shown.get("head") == head_key
    same_note = shown.get("note") == note_key
    if changed == [] and same_head and same_note:
        raise PreventUpdate  # the browser already shows all of it
    by_id = {a.id: a for a in drawn}
    if changed is None:
        listed: Any = [card(a, plant, hc, now, lang) for a in drawn]
    elif changed:
        patch = Patch()
        for i in changed:
            patch[i] = card(by_id[cards[i][0]], plant, hc, now, lang)
        listed = patch
    else:
        listed = no_update
    head = no_update if same_head else _headcount(hc, lang)
    if same_note:
        note: Any = no_update
    elif not alerts:
        note = html.Div(t("oncall.empty", lang), className="sw-oc-empty")
    elif len(alerts) > len(drawn) or snap.get("truncated"):
        note = html.Div(t("oncall.more", lang, n=len(alerts) - len(drawn)), className="sw-oc-more")
    else:
        note = None
    return listed, head, note, {"cards": [list(c) for c in cards], "head": head_key, "note": note_key}


# --- acknowledge: ask, confirm, send, report --------------------------------------------------------------------


@callback(
    Output(ids.PENDING, "data"),
    Output(ids.MODAL, "is_open"),
    Output(ids.MODAL_BODY, "children"),
    Output(ids.MODAL_COMMENT, "value"),
    Output(ids.MODAL_ERROR, "children"),
    Input({"type": ids.ACK, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def ask(_clicks: list[int | None]) -> tuple[Any, ...]:
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # cards re-rendered, nobody tapped
    alarm_id = str(trig.get("index") or "")
    if not alarm_id:
        raise PreventUpdate
    lang = web.lang()
    plant = web.plant()
    alerts, _snap = data.alerts_now(data.current_principal())
    a = next((x for x in alerts if x.id == alarm_id), None)
    if a is None:
        body: Any = html.Div(alarm_id, className="sw-oc-source")
    else:
        body = [
            html.Div(
                [
                    html.Span(source_text(a, plant, lang), className="sw-oc-source"),
                    html.Span(condition_text(a.condition, lang)),
                ],
                className="sw-oc-what",
            ),
            html.Div(alarm_text(a, plant, lang), className="sw-oc-text"),
        ]
    return {"id": alarm_id}, True, body, "", ""


@callback(
    Output(ids.MODAL, "is_open", allow_duplicate=True),
    Input(ids.MODAL_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def cancel(_n: int | None) -> bool:
    if not _n:
        raise PreventUpdate
    return False


def acknowledge(alarm_id: str, comment: str | None, now_ms: int) -> list[int]:
    """Queue the acknowledge of ``alarm_id`` for the logged-in user (only in their areas) and audit it;
    :class:`store.alarms.CommandError` (a ``ValueError``) when it is refused."""
    if comment is not None and not isinstance(comment, str):
        raise CommandError("the comment must be text")
    text = (comment or "").strip() if isinstance(comment, str) else ""
    with operator_session((Perm.ACK,)) as (session, op):  # NotLoggedInError: nobody is logged in
        return alarm_command(
            session,
            op,
            [alarm_id],
            "ack",
            now_ms=now_ms,
            audit_event="alarm_ack",
            comment=text or None,
            data={"alarms": [alarm_id], "page": "oncall"},
        )


@callback(
    Output(ids.MODAL, "is_open", allow_duplicate=True),
    Output(ids.MODAL_ERROR, "children", allow_duplicate=True),
    Output(ids.SENT, "data"),
    Output(ids.RESULT, "children"),
    Input(ids.MODAL_CONFIRM, "n_clicks"),
    State(ids.PENDING, "data"),
    State(ids.MODAL_COMMENT, "value"),
    prevent_initial_call=True,
)
def confirm(_n: int | None, pending: dict[str, Any] | None, comment: Any) -> tuple[Any, ...]:
    if not _n or not isinstance(pending, dict) or not pending.get("id"):
        raise PreventUpdate
    lang = web.lang()
    now = web.now_ms()
    alarm_id = str(pending["id"])
    try:
        command_ids = acknowledge(alarm_id, comment, now)
    except REFUSALS as exc:
        what = f"on-call acknowledge of {alarm_id[:128]!r}"
        return True, refusal_message(exc, lang, what=what, refused_key="oncall.result.refused"), no_update, no_update
    except Exception:
        logger.exception("on-call acknowledge could not be stored")
        return True, t("oncall.result.failed", lang), no_update, no_update
    note = dbc.Alert(t("oncall.result.sent", lang), color="info", class_name="sw-oc-alert")
    return False, "", {"ids": command_ids, "at": now, "alarm": alarm_id}, note


@callback(
    Output(ids.RESULT, "children", allow_duplicate=True),
    Output(ids.SENT, "data", allow_duplicate=True),
    Input(shell_ids.TICK, "n_intervals"),
    State(ids.SENT, "data"),
    prevent_initial_call=True,
)
def report(_n: int | None, sent: dict[str, Any] | None) -> tuple[Any, Any]:
    if not isinstance(sent, dict) or not sent.get("ids"):
        raise PreventUpdate
    lang = web.lang()
    try:
        command_list = [int(i) for i in sent["ids"]]
    except (TypeError, ValueError):
        return None, None
    with session_scope(web.engine()) as session:
        results = command_results(session, command_list)
    alarm = str(sent.get("alarm") or "")
    if any(results.get(i) is None for i in command_list):
        if web.now_ms() - int(sent.get("at") or 0) < RESULT_WAIT_MS:
            raise PreventUpdate
        return dbc.Alert(t("oncall.result.no_answer", lang), color="warning", class_name="sw-oc-alert"), None
    alarm_snapshot.expire()  # the next refresh shows the new state at once
    alarm_banner.expire()
    bad = [r for r in results.values() if r and r != "ok"]
    if bad:
        text = t("oncall.result.rejected", lang, alarm=alarm, reason=bad[0])
        return dbc.Alert(text, color="danger", dismissable=True, class_name="sw-oc-alert"), None
    return dbc.Alert(
        t("oncall.result.done", lang, alarm=alarm), color="success", dismissable=True, class_name="sw-oc-alert"
    ), None
