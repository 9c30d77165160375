"""Every Flask route is registered from one table (``webapp.routes.ROUTE_TABLE``) beside its line of the policy
(``auth.policy.ROUTES``): a route without a line, a line without a route, a table and a policy that disagree,
and a route on the server outside the table stop the app from being built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auth import policy
from auth.policy import Access, Perm
from tests.webutil import seed_store
from webapp.routes import ROUTE_TABLE, Route, RouteTableError, check_server, check_table


def _view() -> str:
    return "ok"


def test_the_table_and_the_policy_agree() -> None:
    check_table(ROUTE_TABLE, policy.ROUTES)
    assert {r.rule for r in ROUTE_TABLE} == set(policy.ROUTES)


def test_a_route_without_its_line_is_refused() -> None:
    lines = dict(policy.ROUTES)
    del lines["/scene/mesh/<digest>.bin"]
    with pytest.raises(RouteTableError, match=re.escape("/scene/mesh/<digest>.bin: no line in auth.policy.ROUTES")):
        check_table(ROUTE_TABLE, lines)


def test_a_line_without_its_route_is_refused() -> None:
    lines = {**policy.ROUTES, "/export/everything.csv": Perm.PERSONNEL}
    no_route = "/export/everything.csv: a line of auth.policy.ROUTES with no route"
    with pytest.raises(RouteTableError, match=re.escape(no_route)):
        check_table(ROUTE_TABLE, lines)


def test_a_table_that_says_otherwise_than_the_policy_is_refused() -> None:
    table = [*ROUTE_TABLE[:-1], Route(ROUTE_TABLE[-1].rule, _view, Access.PUBLIC)]
    with pytest.raises(RouteTableError, match=re.escape("the table says")):
        check_table(table, policy.ROUTES)
    with pytest.raises(RouteTableError, match=re.escape("twice in the table")):
        check_table([*ROUTE_TABLE, ROUTE_TABLE[0]], policy.ROUTES)


def test_the_server_has_the_routes_of_the_table_and_no_other() -> None:
    rules = [r.rule for r in ROUTE_TABLE] + ["/", "/<path:path>", "/_dash-update-component", "/assets/<path:filename>"]
    check_server(rules, ROUTE_TABLE)
    with pytest.raises(RouteTableError, match=re.escape("/debug: on the server, not in the table")):
        check_server([*rules, "/debug"], ROUTE_TABLE)
    with pytest.raises(RouteTableError, match=re.escape("/_reload-hash: in the table, not on the server")):
        check_server([r for r in rules if r != "/_reload-hash"], ROUTE_TABLE)


def test_the_app_is_not_built_while_a_line_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    monkeypatch.delitem(policy.ROUTES, "/personnel/exposure.csv")
    with pytest.raises(RouteTableError, match=re.escape("/personnel/exposure.csv")):
        create_app(settings)
