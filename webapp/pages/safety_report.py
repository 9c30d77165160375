"""Report a hidden danger (``/safety/report``): what, where (a zone, and a point on the plant's map in metres; the
zone's middle when no point is given), a photo (JPEG, PNG or WebP, checked by its bytes), from the control room or
an on-call phone. The use case (``webapp.commands.hidden_danger_report``) checks, stores and audits it in one
transaction; the answer names the new danger's number. Built for a phone first: one column, large controls."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from auth.policy import Perm, Role
from engine.hidden_dangers import IllegalMoveError
from i18n import label, t
from store.hidden_dangers import MAX_PHOTO_BYTES
from webapp import commands
from webapp import context as web
from webapp.gate import current_user

dash.register_page(
    __name__,
    path="/safety/report",
    name="nav.hd_report",
    order=18,
    title=web.page_title("nav.hd_report"),
    nav=False,  # reached from the safety page and the on-call phone
)


class ids:  # noqa: N801 - a namespace of this page's component ids
    TITLE = "hd-report-title"
    TEXT = "hd-report-text"
    ZONE = "hd-report-zone"
    X = "hd-report-x"
    Y = "hd-report-y"
    PHOTO = "hd-report-photo"
    PHOTO_NAME = "hd-report-photo-name"
    GO = "hd-report-go"
    MSG = "hd-report-msg"  # the action's answer (its line in auth.policy.ACTION_OUTPUTS)


def layout(**_query: str) -> html.Div:
    lang = web.lang()
    plant = web.plant()
    zones = [{"label": label(z.name, z.name_zh, lang), "value": z.id} for z in plant.zones]
    user = current_user()
    who = t("hd.act.who", lang, user=user.username) if user is not None else t("login.required", lang)
    return html.Div(
        [
            html.H4(t("hd.report.title", lang)),
            html.Div(t("hd.report.intro", lang), className="sw-muted mb-2"),
            dbc.Label(t("hd.report.what", lang), html_for=ids.TITLE),
            dbc.Input(id=ids.TITLE, maxLength=200, className="mb-2"),
            dbc.Label(t("hd.report.detail", lang), html_for=ids.TEXT),
            dbc.Textarea(id=ids.TEXT, maxLength=2000, rows=3, className="mb-2"),
            dbc.Label(t("hd.report.zone", lang), html_for=ids.ZONE),
            dbc.Select(id=ids.ZONE, options=zones, className="mb-2"),
            dbc.Label(t("hd.report.point", lang)),
            html.Div(
                [
                    dbc.Input(id=ids.X, type="number", placeholder="x (m)", min=0, max=plant.site.width_m),
                    dbc.Input(id=ids.Y, type="number", placeholder="y (m)", min=0, max=plant.site.depth_m),
                ],
                className="sw-hd-xy mb-2",
            ),
            dcc.Upload(
                html.Div(t("hd.report.photo", lang)),
                id=ids.PHOTO,
                accept="image/jpeg,image/png,image/webp",
                max_size=MAX_PHOTO_BYTES,
                className="sw-hd-upload mb-1",
            ),
            html.Div(id=ids.PHOTO_NAME, className="sw-muted small mb-2"),
            html.Div(who, className="sw-muted small"),
            dbc.Button(t("hd.report.go", lang), id=ids.GO, color="warning", className="mt-1 w-100"),
            html.Div(id=ids.MSG, className="mt-2", role="status"),
        ],
        className="sw-hd-report p-3",
    )


@callback(Output(ids.PHOTO_NAME, "children"), Input(ids.PHOTO, "filename"), prevent_initial_call=True)
def photo_name(name: str | None) -> str:
    return t("hd.report.photo_taken", web.lang(), name=str(name or "")[:80]) if name else ""


def _decode(contents: str | None) -> bytes | None:
    """The bytes of a ``data:<type>;base64,<data>`` upload (None for none); ``IllegalMoveError`` when unreadable."""
    if not contents:
        return None
    _, _, data = str(contents).partition(",")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise IllegalMoveError("photo_type") from None


def _coord(v: Any) -> float | None:
    if v is None or v == "":
        return None
    return float(v)


@callback(
    Output(ids.MSG, "children"),
    Input(ids.GO, "n_clicks"),
    State(ids.TITLE, "value"),
    State(ids.TEXT, "value"),
    State(ids.ZONE, "value"),
    State(ids.X, "value"),
    State(ids.Y, "value"),
    State(ids.PHOTO, "contents"),
    prevent_initial_call=True,
)
def report(
    _n: int | None,
    title: str | None,
    text: str | None,
    zone: str | None,
    x: Any,
    y: Any,
    photo: str | None,
) -> Any:
    """Report the hidden danger (checked, stored and audited in one transaction)."""
    lang = web.lang()
    plant = web.plant()
    user = current_user()
    source = "phone" if user is not None and user.role == Role.ON_CALL else "dispatcher"
    try:
        px, py = _coord(x), _coord(y)
        if (px is None) != (py is None):
            raise IllegalMoveError("bad_point")
        z = next((z for z in plant.zones if z.id == zone), None)
        if px is None and z is not None:  # no point given: the zone's middle
            px = sum(p[0] for p in z.polygon) / len(z.polygon)
            py = sum(p[1] for p in z.polygon) / len(z.polygon)
        with commands.operator_session((Perm.HD_REPORT,)) as (session, op):
            new_id = commands.hidden_danger_report(
                session,
                op,
                title=title or "",
                description=text or "",
                zone=zone or None,
                x=px,
                y=py,
                source=source,
                photo=_decode(photo),
                now_ms=web.now_ms(),
                plant=plant,
            )
    except IllegalMoveError as exc:
        return html.Span(t(f"hd.err.{exc.key}", lang), className="text-danger")
    except commands.REFUSALS as exc:
        msg = commands.refusal_message(exc, lang, what="hidden danger report", refused_key="hd.refused")
        return html.Span(msg, className="text-danger")
    return html.Span(t("hd.report.done", lang, id=new_id), className="text-success")
