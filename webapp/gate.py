"""The web side of auth: the check of every request, security headers, who is asking. The login and logout
routes are ``webapp.routes.login``.

``install(app)`` (called by ``create_app``) adds:

- a ``before_request`` check of EVERY request against ``auth.policy``: page loads (no session: a redirect
  to the login page), ``/_dash-layout``, ``/_dash-dependencies``, every ``/_dash-update-component`` POST
  (the callback its output names, then the page of the module that defined it; Dash's page router by the
  path asked for), every data and media route. 401 without a session, 403 with the wrong role, deny by
  default. A POST from another site is refused (403) whatever its cookies;
- security headers on every answer: a Content-Security-Policy without ``unsafe-eval`` whose script-src
  lists only this server and the hashes of Dash's own inline scripts, ``nosniff``, no framing, no referrer
  to other sites, HSTS over HTTPS.

Pages and callbacks ask :func:`current_user` who is looking (None: nobody, which they refuse, raising
:class:`auth.policy.NotLoggedInError` for an action) and :func:`client_address` from where.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import dash
import flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse

from auth.login import Limits
from auth.policy import (
    ACTION_OUTPUTS,
    CALLBACK_MODULES,
    PUBLIC_ASSET_SUFFIXES,
    ROUTES,
    Access,
    Need,
    Principal,
    allowed,
    home_page,
    page_need,
)
from auth.sessions import SessionState, resolve
from engine.clock import now_ms
from settings import Settings
from store.db import session_scope
from webapp.login_pages import forbidden_page

logger = logging.getLogger(__name__)

SESSION_COOKIE = "sw_session"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
CALLBACK_RULE = "/_dash-update-component"
PAGE_RULES = frozenset({"/", "/<path:path>"})
ASSET_RULE = "/assets/<path:filename>"
ROUTER_OUTPUT = "_pages_content.children"
ROUTER_LOCATION = "_pages_location"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Content-Security-Policy. Scripts: only files from this server plus the hashes of Dash's inline scripts
# (the renderer start and inline clientside callbacks); never 'unsafe-eval' and never inline script. The
# deck.gl bundle compiles a tiny WebAssembly module for 64-bit integers at load ('wasm-unsafe-eval' allows
# WebAssembly only, not JavaScript eval). Styles: Dash's renderer, dcc and plotly.js insert <style>
# elements, which CSP allows only with 'unsafe-inline' for styles (checked in headless Chromium; scripts
# stay strict). deck.gl decodes textures and meshes from blob: and data: URLs and may start blob: workers.
CSP_BASE = {
    "default-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "worker-src": "'self' blob:",
    "media-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


# --- who is asking ------------------------------------------------------------------------------------


def current_user() -> Principal | None:
    """The logged-in user of the current request (None: no session, or outside a request)."""
    try:
        return flask.g.get("sw_user")  # type: ignore[no-any-return]
    except RuntimeError:
        return None


def client_address() -> str:
    """The browser's address (with ``SW_TRUSTED_PROXIES`` set, the one the proxies forwarded)."""
    try:
        addr = flask.request.remote_addr
    except RuntimeError:
        return "unknown"
    return _CONTROL.sub("", addr or "").strip()[:64] or "unknown"


PANELS_PACKAGE = "webapp.panels"


def page_module_of(module: str) -> str:
    """The page module a callback's module belongs to: a panel module ``webapp.panels.<page>.<panel>``
    belongs to the page ``webapp.pages.<page>`` (its callbacks take that page's line of the policy); any
    other module is its own."""
    if module.startswith(PANELS_PACKAGE + "."):
        parts = module.split(".")
        if len(parts) >= 4:
            return f"webapp.pages.{parts[2]}"
    return module


def may_see_page(path: str) -> bool:
    """Whether the current user may open the page at ``path`` (for navigation; the server checks anyway)."""
    return allowed(current_user(), page_need(path))


def nav_paths() -> list[str]:
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") or 0, p["path"]))
    return [p["path"] for p in pages]


def home_for(principal: Principal) -> str | None:
    return home_page(principal, nav_paths())


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this server (no open redirect), else None."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith(("//", "/\\")) or _CONTROL.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith((LOGIN_PATH, LOGOUT_PATH)):
        return None
    return target


# --- the check of every request -----------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    need: Need | None  # None: nothing in the policy allows it
    page_load: bool = False  # a browser navigating to a page (redirect to login rather than 401)
    status: int = 0  # a malformed request: refused with this status (after the login check)
    also: tuple[Need, ...] = ()  # needed as well (the actions a callback carries out)

    def allows(self, principal: Principal | None) -> bool:
        return allowed(principal, self.need) and all(allowed(principal, n) for n in self.also)


class Gate:
    """The policy applied to the requests of one Dash app."""

    def __init__(self, app: dash.Dash, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limits = Limits.from_settings(settings)
        self._csp_lock = threading.Lock()

    # which line of the policy a request falls under

    def page(self, path: str) -> dict[str, Any] | None:
        """The registered page Dash's router shows at ``path`` (None: Dash's "not found" page)."""
        from dash._pages import _path_to_page  # the router's own resolution, so both always agree

        found, _ = _path_to_page(self.app.strip_relative_path(path) or "")
        return found or None

    def page_decision(self, path: str, page_load: bool) -> Decision:
        found = self.page(path)
        if found is None:
            return Decision(Access.AUTHENTICATED, page_load)  # "not found", nothing to protect
        key = found.get("path_template") or found["path"]
        return Decision(page_need(key), page_load)

    def callback_decision(self, body: Any) -> Decision:
        if not isinstance(body, dict) or not isinstance(body.get("output"), str):
            return Decision(None, status=400)
        spec = self.app.callback_map.get(body["output"])
        if spec is None or "callback" not in spec:
            return Decision(None)  # no such server-side callback: refused like one not in the policy
        module = getattr(spec["callback"], "__module__", None)
        if module == "dash.dash" and ROUTER_OUTPUT in body["output"]:
            path = next(
                (
                    i.get("value")
                    for i in body.get("inputs") or []
                    if isinstance(i, dict) and i.get("id") == ROUTER_LOCATION and i.get("property") == "pathname"
                ),
                None,
            )
            if not isinstance(path, str):
                return Decision(None, status=400)
            return self.page_decision(path, page_load=False)
        also = tuple(ACTION_OUTPUTS[i] for i in output_ids(body["output"]) if i in ACTION_OUTPUTS)
        owner = page_module_of(module or "")
        for page in dash.page_registry.values():
            if page.get("module") == owner:
                return Decision(page_need(page.get("path_template") or page["path"]), also=also)
        return Decision(CALLBACK_MODULES.get(module or ""), also=also)

    def decide(self, request: flask.Request) -> Decision:
        rule = request.url_rule.rule if request.url_rule is not None else None
        if rule is None:
            return Decision(Access.PUBLIC)  # no route: Flask answers 404 or 405, nothing is served
        if rule == CALLBACK_RULE:
            return self.callback_decision(request.get_json(silent=True))
        if rule in PAGE_RULES:
            return self.page_decision(request.path, page_load=request.method in ("GET", "HEAD"))
        if rule == ASSET_RULE:
            filename = (request.view_args or {}).get("filename", "")
            public = str(filename).lower().endswith(PUBLIC_ASSET_SUFFIXES)
            return Decision(Access.PUBLIC if public else Access.AUTHENTICATED)
        return Decision(ROUTES.get(rule))

    # the hooks

    def _load_user(self) -> None:
        flask.g.sw_user = None
        flask.g.sw_session_state = SessionState.NONE
        token = flask.request.cookies.get(SESSION_COOKIE)
        if not token:
            return
        now = now_ms()
        with session_scope(flask.current_app.extensions["sw_engine"]) as session:
            found = resolve(session, token, now_ms=now, idle_ms=self.limits.idle_ms)
            if found.user is not None:
                u = found.user
                flask.g.sw_user = Principal.of(u.id, u.username, u.role, u.display_name, u.areas or ())
        flask.g.sw_session_state = found.state

    def check(self) -> BaseResponse | None:
        request = flask.request
        decision = self.decide(request)
        if decision.need == Access.PUBLIC and request.path != LOGIN_PATH and request.path != LOGOUT_PATH:
            flask.g.sw_user = None
            return None  # public files: no session lookup
        self._load_user()
        if request.method not in ("GET", "HEAD", "OPTIONS") and _cross_site(request):
            logger.warning("refused a cross-site %s to %s", request.method, request.path)
            return _deny(403, "cross-site request refused")
        principal = current_user()
        if decision.status and (principal is not None or decision.need == Access.PUBLIC):
            return _deny(decision.status, "malformed request")
        if not decision.status and decision.allows(principal):
            return None
        if principal is None:
            if decision.page_load:
                target = request.full_path if request.query_string else request.path
                expired = flask.g.sw_session_state == SessionState.EXPIRED
                return flask.redirect(
                    f"{LOGIN_PATH}?next={quote(target, safe='/')}" + ("&expired=1" if expired else ""), 302
                )
            return _deny(401, "login required")
        logger.warning("refused %s %s to %s (%s)", request.method, request.path, principal.username, principal.role)
        if decision.page_load:
            return forbidden_page(principal, home_for(principal))
        return _deny(403, "forbidden for your role")

    def finish(self, response: flask.Response) -> flask.Response:
        request = flask.request
        secure = secure_request(self.settings, request)
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
        headers["Content-Security-Policy"] = self.csp()
        if secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype in ("text/html", "application/json") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        state = flask.g.get("sw_session_state")
        if state in (SessionState.EXPIRED, SessionState.DISABLED) and not flask.g.get("sw_cookie_set"):
            clear_cookie(response, secure)
        return response

    def csp(self) -> str:
        with self._csp_lock:  # csp_hashes() moves Dash's pending inline scripts into the app's list
            hashes = " ".join(self.app.csp_hashes())
        parts = {"script-src": f"'self' 'wasm-unsafe-eval' {hashes}".strip(), **CSP_BASE}
        return "; ".join(f"{k} {v}" for k, v in parts.items())


def output_ids(key: str) -> list[str]:
    """The component ids of a callback's outputs, from Dash's output key (``..a.children...b.data..``);
    for a pattern-matching id its ``type`` (or ``component``/``subcomponent``)."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    found = []
    for part in parts:
        cid = part.split("@", 1)[0].rsplit(".", 1)[0]
        if cid.startswith("{"):
            try:
                spec = json.loads(cid)
            except ValueError:
                continue
            cid = str(spec.get("type") or f"{spec.get('component')}-{spec.get('subcomponent')}")
        found.append(cid)
    return found


def _cross_site(request: flask.Request) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # not a browser, or an old one: SameSite=Lax keeps the cookie off cross-site POSTs
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != request.host.lower()


def _deny(status: int, message: str) -> flask.Response:
    resp = flask.jsonify({"error": message, "status": status})
    resp.status_code = status
    return resp


def secure_request(settings: Settings, request: flask.Request) -> bool:
    """Whether cookies go out Secure: the setting, or else whether the request came over HTTPS."""
    return settings.cookie_secure if settings.cookie_secure is not None else request.is_secure


def set_cookie(response: BaseResponse, token: str, max_age_s: int, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age_s, path="/", httponly=True, samesite="Lax", secure=secure
    )
    flask.g.sw_cookie_set = True


def clear_cookie(response: BaseResponse, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=secure)


# --- installing it -------------------------------------------------------------------------------------


def current_gate() -> Gate:
    """The gate of the current request's app (:func:`install`)."""
    return flask.current_app.extensions["sw_auth"]  # type: ignore[no-any-return]


def install(app: dash.Dash) -> Gate:
    """Put the check of every request and the security headers on ``webapp.app``'s server.

    Call it after the Dash app is built (its page router and Dash's own hooks then run first).
    """
    server: flask.Flask = app.server
    settings: Settings = server.extensions["sw_settings"]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    gate = Gate(app, settings)
    server.extensions["sw_auth"] = gate
    server.before_request(gate.check)
    server.after_request(gate.finish)
    return gate
