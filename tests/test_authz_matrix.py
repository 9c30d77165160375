"""Role-by-route matrix: every page, every server-side callback registered in the app (enumerated from its
callback map, so new pages are covered without touching this file) and every Flask route, against every role
and no session. 100 % of the unauthorized requests must get 401/403 (a page load without a session: a
redirect to the login page), every authorized one must succeed. Hand-made hostile requests too.

The expected answer comes from the policy table (``auth.policy``); ``test_roles_match_the_requirements``
pins the table itself to the requirements (C3: what executives, dispatchers, on-call staff and
administrators may see)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import dash
import pytest
from werkzeug.routing.converters import NumberConverter

from auth import policy
from auth.policy import Access, Principal, Role, allowed
from settings import Settings
from store import people
from tests.webutil import ROUTER_KEY, router_body, seed_store, session_token
from webapp.gate import (
    ASSET_RULE,
    CALLBACK_RULE,
    LOGIN_PATH,
    LOGOUT_PATH,
    PAGE_RULES,
    SESSION_COOKIE,
    output_ids,
    page_module_of,
)

ROLES: list[Role | None] = [None, *Role]
# Flask rules refused to everyone on purpose (Flask's own static folder: the app serves files from assets/).
REFUSED_RULES = {"/static/<path:filename>"}


class Matrix:
    def __init__(self, app: dash.Dash, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.clients: dict[Role | None, Any] = {None: app.server.test_client()}
        self.principals: dict[Role | None, Principal | None] = {None: None}
        for i, role in enumerate(Role):
            client = app.server.test_client()
            client.set_cookie(SESSION_COOKIE, session_token(settings, role.value))
            self.clients[role] = client
            self.principals[role] = Principal.of(i + 1, f"test-{role.value}", role)
        self.results: list[tuple[str, Role | None, bool, int]] = []

    def record(self, what: str, role: Role | None, authorized: bool, status: int) -> None:
        self.results.append((what, role, authorized, status))


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    from webapp.app import create_app

    settings = seed_store(tmp_path_factory.mktemp("authz"))
    app = create_app(settings)
    m = Matrix(app, settings)
    assert m.clients[Role.ADMIN].get("/_dash-dependencies").status_code == 200  # Dash set up, router registered
    return m


def _page_paths() -> list[str]:
    return sorted(p["path"] for p in dash.page_registry.values())


def _server_callbacks(app: dash.Dash) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in app.callback_map.items() if "callback" in v}


def _expected_callback(app: dash.Dash, key: str, principal: Principal | None) -> bool:
    module = app.callback_map[key]["callback"].__module__
    owner = page_module_of(module)  # a panel's callbacks take their page's line
    page = next((p for p in dash.page_registry.values() if p["module"] == owner), None)
    need = policy.PAGES.get(page["path"]) if page else policy.CALLBACK_MODULES.get(module)
    extra = [policy.ACTION_OUTPUTS[i] for i in output_ids(key) if i in policy.ACTION_OUTPUTS]
    return allowed(principal, need) and all(allowed(principal, n) for n in extra)


# --- building requests ------------------------------------------------------------------------------------


def _concrete(cid: Any, for_output: bool) -> Any:
    """A pattern-matching id made concrete: ALL matches nothing ([]), MATCH one component."""
    if isinstance(cid, str) and cid.startswith("{"):
        spec = json.loads(cid)
        wild = [v for v in spec.values() if isinstance(v, list)]
        if any(v == ["ALL"] for v in wild):
            return None
        return {k: ("x" if isinstance(v, list) else v) for k, v in spec.items()}
    return cid


def _entry(dep: dict[str, Any]) -> Any:
    cid = _concrete(dep["id"], False)
    if cid is None:
        return []
    return {"id": cid, "property": dep["property"], "value": None}


def callback_body(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    outs = []
    for part in key[2:-2].split("...") if key.startswith("..") else [key]:
        cid_text, prop = part.rsplit(".", 1)
        cid = _concrete(cid_text, True)
        outs.append([] if cid is None else {"id": cid, "property": prop.split("@", 1)[0]})
    return {
        "output": key,
        "outputs": outs if key.startswith("..") else outs[0],
        "inputs": [_entry(d) for d in spec["inputs"]],
        "state": [_entry(d) for d in spec["state"]],
        "changedPropIds": [],
    }


def _check(m: Matrix, what: str, role: Role | None, authorized: bool, resp: Any, page_load: bool = False) -> None:
    status = resp.status_code
    m.record(what, role, authorized, status)
    if authorized:
        assert status in (200, 204, 304), f"{what} as {role}: {status} {resp.get_data(as_text=True)[:300]}"
    elif role is None and page_load:
        assert status == 302 and resp.headers["Location"].startswith(f"{LOGIN_PATH}?next="), (what, status)
    elif role is None:
        assert status == 401, (what, status)
    else:
        assert status == 403, (what, role, status)


# --- the matrix -----------------------------------------------------------------------------------------------


def test_every_page_callback_and_route_has_a_policy(matrix: Matrix) -> None:
    """Deny by default holds at run time; here a page, callback or route without a line fails, so that it gets
    one (otherwise nobody could use it)."""
    app = matrix.app
    missing_pages = [p for p in _page_paths() if policy.page_need(p) is None]
    assert not missing_pages, f"pages without a line in auth.policy.PAGES: {missing_pages}"
    page_modules = {p["module"] for p in dash.page_registry.values()}
    missing_cb = sorted(
        {
            v["callback"].__module__
            for v in _server_callbacks(app).values()
            if page_module_of(v["callback"].__module__) not in page_modules
            and v["callback"].__module__ not in policy.CALLBACK_MODULES
            and v["callback"].__module__ != "dash.dash"
        }
    )
    assert not missing_cb, f"callback modules without a line in auth.policy.CALLBACK_MODULES: {missing_cb}"
    special = PAGE_RULES | {CALLBACK_RULE, ASSET_RULE} | REFUSED_RULES
    rules = {r.rule for r in app.server.url_map.iter_rules()}
    missing_routes = sorted(rules - special - set(policy.ROUTES))
    assert not missing_routes, f"routes without a line in auth.policy.ROUTES: {missing_routes}"
    assert len(_server_callbacks(app)) >= 10 and len(_page_paths()) >= 3


def test_page_loads(matrix: Matrix) -> None:
    for path in _page_paths():
        for role in ROLES:
            ok = allowed(matrix.principals[role], policy.page_need(path))
            resp = matrix.clients[role].get(path)
            _check(matrix, f"GET {path}", role, ok, resp, page_load=True)
            if ok:
                assert resp.mimetype == "text/html" and b"_dash-renderer" in resp.data
            elif role is not None:
                assert b"sw-forbidden-logout" in resp.data  # a page that says so, with a way out


def test_page_router_callback(matrix: Matrix) -> None:
    """Dash's page router renders a page's layout for the path asked: the page's line decides."""
    for path in _page_paths():
        for role in ROLES:
            ok = allowed(matrix.principals[role], policy.page_need(path))
            resp = matrix.clients[role].post(CALLBACK_RULE, json=router_body(path))
            _check(matrix, f"router {path}", role, ok, resp)


def test_every_callback_output(matrix: Matrix) -> None:
    callbacks = _server_callbacks(matrix.app)
    for key, spec in callbacks.items():
        if key == ROUTER_KEY:
            continue
        body = callback_body(key, spec)
        for role in ROLES:
            ok = _expected_callback(matrix.app, key, matrix.principals[role])
            resp = matrix.clients[role].post(CALLBACK_RULE, json=body)
            _check(matrix, f"callback {key}", role, ok, resp)


def _examples(matrix: Matrix) -> dict[str, str]:
    from scene.bundle import deck_url, mesh_url, plant_bundle

    index = matrix.clients[Role.ADMIN].get("/").get_data(as_text=True)
    suite = re.search(r'src="(/_dash-component-suites/[^"]+)"', index)
    assert suite is not None
    return {
        "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": suite.group(1),
        "/scene/deck-<version>.js": deck_url(),
        "/scene/mesh/<digest>.bin": mesh_url(plant_bundle(str(matrix.settings.plant_file)).digest),
    }


def test_every_data_and_media_route(matrix: Matrix) -> None:
    examples = _examples(matrix)
    adapter = matrix.app.server.url_map.bind("localhost")
    for rule in matrix.app.server.url_map.iter_rules():
        if rule.rule in PAGE_RULES or rule.rule in (CALLBACK_RULE, ASSET_RULE, LOGIN_PATH, LOGOUT_PATH):
            continue
        made_up = {a: 1 if isinstance(rule._converters.get(a), NumberConverter) else "x" for a in rule.arguments}
        url = examples.get(rule.rule) or adapter.build(rule.endpoint, made_up)
        need = None if rule.rule in REFUSED_RULES else policy.ROUTES[rule.rule]
        for role in ROLES:
            ok = allowed(matrix.principals[role], need)
            resp = matrix.clients[role].get(url)
            if ok and rule.rule not in examples and resp.status_code == 404:
                m_status = 200  # a made-up argument (no example here): the policy let it through
                matrix.record(f"GET {url}", role, ok, m_status)
                continue
            _check(matrix, f"GET {url}", role, ok, resp)
    for asset, public in (("/assets/10_style.css", True), ("/assets/20_shell.js", False)):
        for role in ROLES:
            _check(matrix, f"GET {asset}", role, public or role is not None, matrix.clients[role].get(asset))


def test_login_and_logout_are_open(matrix: Matrix) -> None:
    for role in ROLES:
        login = matrix.clients[role].get(LOGIN_PATH)
        assert login.status_code == (200 if role is None else 303)
        matrix.record("GET /login", role, True, 200)


def test_hostile_hand_made_requests(matrix: Matrix) -> None:
    dispatcher, executive, anon = matrix.clients[Role.DISPATCHER], matrix.clients[Role.EXECUTIVE], matrix.clients[None]
    # an output no callback has, garbage, a missing pathname: refused, never a server error
    for body in ({"output": "no-such.children", "inputs": []}, {"output": 42}, [], "x"):
        assert dispatcher.post(CALLBACK_RULE, json=body).status_code in (400, 403)
        assert anon.post(CALLBACK_RULE, json=body).status_code == 401
    assert dispatcher.post(CALLBACK_RULE, data="not json", content_type="application/json").status_code == 400
    no_path = router_body("/")
    no_path["inputs"] = []
    assert dispatcher.post(CALLBACK_RULE, json=no_path).status_code == 400
    # a forged session cookie is no session
    forged = matrix.app.server.test_client()
    forged.set_cookie(SESSION_COOKIE, "forged-" + "a" * 40)
    assert forged.post(CALLBACK_RULE, json=router_body("/")).status_code == 401
    assert forged.get("/scene").status_code == 302
    # actions need their permission even on a page the role may open: an executive declaring a muster
    muster = next((k for k in _server_callbacks(matrix.app) if "personnel-muster-msg" in k), None)
    if muster is not None:
        body = callback_body(muster, matrix.app.callback_map[muster])
        assert executive.post(CALLBACK_RULE, json=body).status_code == 403
    # a cross-site POST with a valid session is refused (with SameSite=Lax a browser would not even send it)
    assert (
        dispatcher.post(CALLBACK_RULE, json=router_body("/"), headers={"Origin": "http://evil.example"}).status_code
        == 403
    )
    assert (
        dispatcher.post(CALLBACK_RULE, json=router_body("/"), headers={"Sec-Fetch-Site": "cross-site"}).status_code
        == 403
    )
    ok = dispatcher.post(CALLBACK_RULE, json=router_body("/"), headers={"Origin": "http://localhost"})
    assert ok.status_code == 200
    # a path that is no page: Dash's "not found" page, for any logged-in user only
    assert dispatcher.post(CALLBACK_RULE, json=router_body("/no/such/page")).status_code == 200
    assert anon.post(CALLBACK_RULE, json=router_body("/no/such/page")).status_code == 401
    assert anon.get("/no/such/page").status_code == 302


def test_every_unauthorized_request_was_refused(matrix: Matrix) -> None:
    """The sum of the matrix (runs last in this module): 100 % of unauthorized requests got 401/403 (or the
    login redirect), every authorized one succeeded, and every role was tried on every target."""
    if not matrix.results:
        pytest.skip("run with the other tests of this module")
    unauthorized = [r for r in matrix.results if not r[2]]
    refused = [r for r in unauthorized if r[3] in (401, 403) or (r[1] is None and r[3] == 302)]
    authorized = [r for r in matrix.results if r[2]]
    succeeded = [r for r in authorized if r[3] in (200, 204, 304)]
    assert len(refused) == len(unauthorized) and len(succeeded) == len(authorized)
    per_target = Counter(r[0] for r in matrix.results)
    assert all(n == len(ROLES) for n in per_target.values()), per_target
    assert len(unauthorized) > 100 and len(authorized) > 50
    Path(matrix.settings.var_dir / "matrix.txt").write_text(
        f"{len(matrix.results)} requests, {len(unauthorized)} unauthorized all refused, {len(authorized)} authorized"
    )


# --- the table itself against the requirements -------------------------------------------------------------


def test_roles_match_the_requirements() -> None:
    p = {role: Principal.of(1, "u", role) for role in Role}

    def sees(role: Role, path: str) -> bool:
        return allowed(p[role], policy.page_need(path))

    # executive: aggregates, overview, KPIs, energy; positions without names; no video, no alarm actions
    assert sees(Role.EXECUTIVE, "/") and sees(Role.EXECUTIVE, "/alarms/kpi") and sees(Role.EXECUTIVE, "/scene")
    assert not sees(Role.EXECUTIVE, "/alarms") and not sees(Role.EXECUTIVE, "/admin/audit")
    # energy and cost (E1-E4): executives, dispatchers and administrators; its downloads the same
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/energy"), role
        for route in ("/energy/export.csv", "/energy/export.xlsx"):
            assert allowed(p[role], policy.ROUTES[route]), (role, route)
    assert not sees(Role.ON_CALL, "/energy") and not allowed(p[Role.ON_CALL], policy.ROUTES["/energy/export.csv"])
    # environment: stack emissions against their limits (H5): executives, dispatchers, administrators; downloads too
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/environment"), role
        for route in ("/environment/export.csv", "/environment/export.xlsx"):
            assert allowed(p[role], policy.ROUTES[route]), (role, route)
    assert not sees(Role.ON_CALL, "/environment")
    # safety: major hazard sources (H2, issue 15 item 1): executives, dispatchers, administrators; not on-call phones
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/safety"), role
    assert not sees(Role.ON_CALL, "/safety")
    # hidden dangers (H3, issue 15 item 2): reported from the control room or an on-call phone; moved through their
    # workflow (assess, assign, plan, rectify, verify) by dispatchers and administrators; executives read the register
    for role in (Role.DISPATCHER, Role.ON_CALL, Role.ADMIN):
        assert sees(role, "/safety/report") and p[role].can(policy.Perm.HD_REPORT), role
    assert not sees(Role.EXECUTIVE, "/safety/report") and not p[Role.EXECUTIVE].can(policy.Perm.HD_MANAGE)
    assert not p[Role.ON_CALL].can(policy.Perm.HD_MANAGE) and p[Role.DISPATCHER].can(policy.Perm.HD_MANAGE)
    assert policy.ACTION_OUTPUTS["safety-hd-msg"] == policy.Perm.HD_MANAGE
    assert policy.ACTION_OUTPUTS["hd-report-msg"] == policy.Perm.HD_REPORT
    # special-work permits (issue 15 item 3): applied for and moved by dispatchers and administrators
    assert p[Role.DISPATCHER].can(policy.Perm.PERMIT) and p[Role.ADMIN].can(policy.Perm.PERMIT)
    assert not p[Role.EXECUTIVE].can(policy.Perm.PERMIT) and not p[Role.ON_CALL].can(policy.Perm.PERMIT)
    assert policy.ACTION_OUTPUTS["safety-pt-msg"] == policy.Perm.PERMIT
    photo = policy.ROUTES["/safety/hidden-danger/<int:danger_id>/photo"]
    assert allowed(p[Role.EXECUTIVE], photo) and not allowed(p[Role.ON_CALL], photo)
    assert not allowed(p[Role.ON_CALL], policy.ROUTES["/environment/export.xlsx"])
    # emergency mode (H5, issue 16): executives see it (counts and dots, no names), dispatchers and administrators
    # act on it (declare, checklist, danger area, end: the muster permission); every logged-in screen may ask
    # whether one runs, to switch to it; nobody without a session
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/emergency"), role
    assert not sees(Role.ON_CALL, "/emergency")
    assert policy.ACTION_OUTPUTS["emergency-msg"] == policy.Perm.MUSTER
    assert [r for r in Role if p[r].can(policy.Perm.MUSTER)] == [Role.DISPATCHER, Role.ADMIN]
    assert policy.ROUTES["/api/emergency"] == Access.AUTHENTICATED
    exe = p[Role.EXECUTIVE]
    assert not exe.can(policy.Perm.NAMES) and not exe.can(policy.Perm.VIDEO) and not exe.can(policy.Perm.MUSTER)
    assert not exe.can(policy.Perm.ACK) and not exe.can(policy.Perm.SHELVE)
    # production KPIs for executives too; giving downtime a reason is the control room's
    assert sees(Role.EXECUTIVE, "/production") and not exe.can(policy.Perm.DOWNTIME)
    assert sees(Role.DISPATCHER, "/production") and p[Role.DISPATCHER].can(policy.Perm.DOWNTIME)
    assert sees(Role.ADMIN, "/production") and not sees(Role.ON_CALL, "/production")
    # the quality (SPC) view: the same readers as the production page, read only
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/production/quality"), role
    assert not sees(Role.ON_CALL, "/production/quality")
    assert not exe.can(policy.Perm.PLAN) and p[Role.DISPATCHER].can(policy.Perm.PLAN)
    # reports (K5): executives, dispatchers, administrators list, make and download them; executives only
    # editions without person names (no NAMES); nothing of it on on-call phones
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/reports") and allowed(p[role], policy.ROUTES["/reports/file/<int:issue_id>"]), role
        assert allowed(p[role], policy.ACTION_OUTPUTS["reports-make-msg"]), role
    assert not sees(Role.ON_CALL, "/reports") and not p[Role.ON_CALL].can(policy.Perm.REPORTS)
    assert exe.can(policy.Perm.REPORTS) and not exe.can(policy.Perm.NAMES)
    # materials and spare parts (issue 13 item 8): executives read quantities and values (no names of who made an
    # entry), dispatchers and administrators also record entries and import stock lists; nothing on on-call phones
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN):
        assert sees(role, "/stock"), role
        for route in ("/stock/export.csv", "/stock/export.xlsx"):
            assert allowed(p[role], policy.ROUTES[route]), (role, route)
    assert not sees(Role.ON_CALL, "/stock") and not allowed(p[Role.ON_CALL], policy.ROUTES["/stock/export.csv"])
    for perm in (policy.Perm.STOCK_ENTRY, policy.Perm.STOCK_IMPORT):
        assert [r for r in Role if p[r].can(perm)] == [Role.DISPATCHER, Role.ADMIN], perm
    assert policy.ACTION_OUTPUTS["stock-entry-msg"] == policy.Perm.STOCK_ENTRY
    assert policy.ACTION_OUTPUTS["stock-import-msg"] == policy.Perm.STOCK_IMPORT
    # report schedules: set up and changed (recipients, on or off) by administrators only, audited; the other
    # readers of /reports see the list of schedules
    assert [r for r in Role if p[r].can(policy.Perm.REPORT_SCHEDULES)] == [Role.ADMIN]
    for out in ("reports-sched-msg", "reports-sched-recipients"):
        assert policy.ACTION_OUTPUTS[out] == policy.Perm.REPORT_SCHEDULES, out
    # dispatcher: everything operational, not the administration
    for path in ("/", "/scene", "/alarms", "/alarms/kpi", "/personnel"):
        assert sees(Role.DISPATCHER, path), path
    assert not sees(Role.DISPATCHER, "/admin/audit")
    disp = p[Role.DISPATCHER]
    for perm in (policy.Perm.NAMES, policy.Perm.VIDEO, policy.Perm.ACK, policy.Perm.SHELVE, policy.Perm.MUSTER):
        assert disp.can(perm), perm
    assert not disp.can(policy.Perm.USERS) and not disp.can(policy.Perm.AUDIT)
    # on-call: their alerts and acknowledge, nothing of the control room's screens
    for path in ("/", "/scene", "/alarms", "/personnel", "/admin/audit"):
        assert not sees(Role.ON_CALL, path), path
    assert sees(Role.ON_CALL, "/oncall") and p[Role.ON_CALL].can(policy.Perm.ACK)
    assert not p[Role.ON_CALL].can(policy.Perm.MUSTER)
    # incident replay (S5): dispatchers and administrators; executives too, without names or images; on-call
    # users only the incident records of their areas; saving an incident and its export bundle: not executives
    for role in (Role.EXECUTIVE, Role.DISPATCHER, Role.ADMIN, Role.ON_CALL):
        assert sees(role, "/replay") and sees(role, "/incidents"), role
    assert not exe.can(policy.Perm.INCIDENT) and not p[Role.ON_CALL].can(policy.Perm.INCIDENT)
    assert disp.can(policy.Perm.INCIDENT) and p[Role.ADMIN].can(policy.Perm.INCIDENT)
    export = policy.ROUTES["/replay/incident/<int:incident_id>/export.zip"]
    assert allowed(disp, export) and not allowed(exe, export) and not allowed(p[Role.ON_CALL], export)
    assert policy.ACTION_OUTPUTS["replay-save-msg"] == policy.Perm.INCIDENT
    assert policy.viewer_of(exe) is not None and policy.viewer_of(exe).access == people.Access.ANONYMOUS  # type: ignore[union-attr]
    # admin: users, settings, audit (and the screens, to set the plant up)
    assert sees(Role.ADMIN, "/admin/audit") and p[Role.ADMIN].can(policy.Perm.USERS)
    # no session: only the login page, the liveness check and style sheets
    public = {rule for rule, need in policy.ROUTES.items() if need == Access.PUBLIC}
    assert public == {"/login", "/logout", "/api/health", "/_favicon.ico", "/metrics"}  # /metrics: token or local
    assert not any(need == Access.PUBLIC for need in policy.PAGES.values())


def test_a_panel_belongs_to_its_page() -> None:
    assert page_module_of("webapp.panels.alarms.journal") == "webapp.pages.alarms"
    assert page_module_of("webapp.pages.alarms") == "webapp.pages.alarms"
    assert page_module_of("webapp.panels.alarms") == "webapp.panels.alarms"  # the package itself: no page
    assert page_module_of("webapp.shell.callbacks") == "webapp.shell.callbacks"
