"""Login and logout: ``/login`` (a plain server-rendered form, ``webapp.login_pages``: no script, works on a
phone and in the dark theme) and ``/logout`` (POST). Sessions are kept in the store; the cookie ``sw_session`` is
HttpOnly, SameSite=Lax, Secure over HTTPS."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import flask
from werkzeug.wrappers import Response as BaseResponse

from auth import auditlog
from auth.login import Outcome, attempt_login
from auth.policy import Principal, allowed
from auth.sessions import end_session, purge_expired
from engine.clock import now_ms
from store.db import session_scope
from webapp import context as web
from webapp.gate import (
    LOGIN_PATH,
    SESSION_COOKIE,
    Gate,
    clear_cookie,
    client_address,
    current_gate,
    current_user,
    home_for,
    safe_next,
    secure_request,
    set_cookie,
)
from webapp.login_pages import login_page


def login() -> BaseResponse:
    """``GET /login``: the form (a logged-in user goes home), ``?lang=`` switches its language; ``POST``: log in."""
    request = flask.request
    lang_switch = request.args.get("lang")
    target = safe_next(request.values.get("next"))
    if request.method == "GET" and lang_switch in ("en", "zh"):
        resp = flask.redirect(LOGIN_PATH + (f"?next={quote(target, safe='/')}" if target else ""), 303)
        resp.set_cookie(web.LANG_COOKIE, lang_switch, max_age=365 * 24 * 3600, path="/", samesite="Lax")
        return resp
    principal = current_user()
    if request.method == "GET":
        if principal is not None:
            return flask.redirect(target or home_for(principal) or "/", 303)
        note = "expired" if request.args.get("expired") else ("bye" if request.args.get("bye") else None)
        return login_page(target, note=note)
    return _login_post(current_gate(), target)


def logout() -> BaseResponse:
    """``POST /logout``: ends the caller's own session, if any."""
    token = flask.request.cookies.get(SESSION_COOKIE)
    principal = current_user()
    with session_scope(flask.current_app.extensions["sw_engine"]) as session:
        ended = end_session(session, token)
        if ended is not None and principal is not None:
            auditlog.record(
                session,
                auditlog.LOGOUT,
                user=principal.username,
                role=principal.role.value,
                address=client_address(),
            )
    resp = flask.redirect(f"{LOGIN_PATH}?bye=1", 303)
    clear_cookie(resp, secure_request(current_gate().settings, flask.request))
    return resp


def _login_post(gate: Gate, target: str | None) -> BaseResponse:

    request = flask.request
    form = request.form
    now = now_ms()
    with session_scope(flask.current_app.extensions["sw_engine"]) as session:
        result = attempt_login(
            session,
            form.get("username", ""),
            form.get("password", ""),
            address=client_address(),
            user_agent=request.headers.get("User-Agent"),
            limits=gate.limits,
            now_ms=now,
        )
        if result.outcome is Outcome.OK:
            end_session(session, request.cookies.get(SESSION_COOKIE))  # the browser's previous session, if any
            purge_expired(session, now_ms=now, idle_ms=gate.limits.idle_ms)
            user = result.user
            assert user is not None
            principal = Principal.of(user.id, user.username, user.role, user.display_name, user.areas or ())
    typed = str(form.get("username", ""))[:64]
    if result.outcome is Outcome.OK and result.token is not None:
        if target is not None and not allowed(principal, gate.page_decision(urlsplit(target).path, True).need):
            target = None  # a page of another role: go home instead of to a 403
        resp = flask.redirect(target or home_for(principal) or "/", 303)
        set_cookie(resp, result.token, gate.limits.max_ms // 1000, secure_request(gate.settings, request))
        return resp
    if result.outcome is Outcome.BAD:
        return login_page(target, note="failed", username=typed)  # the form again, with the message
    resp = login_page(
        target,
        note="locked" if result.outcome is Outcome.LOCKED else "rate_limited",
        username=typed,
        status=429,
        minutes=max(1, -(-result.retry_after_s // 60)),
    )
    resp.headers["Retry-After"] = str(result.retry_after_s)
    return resp
