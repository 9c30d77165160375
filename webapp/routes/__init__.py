"""Every Flask route of the web app, in one table beside its line of the policy.

:data:`ROUTE_TABLE` lists each route: its URL rule, its view (the endpoint is the view's name; None for the
routes Dash registers itself), what it needs, and its methods. What it needs is its line of
``auth.policy.ROUTES``, which the gate reads (deny by default: a route without a line is refused to
everyone), written out here so that who may use a route is read beside it. :func:`register_routes` refuses
to build the app (:class:`RouteTableError`) when a route has no line, a line has no route, the two disagree,
or the server has a route that is neither in the table nor one the gate decides by its own rules (pages,
callbacks and asset files: ``auth.policy.PAGES`` and ``CALLBACK_MODULES``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import flask
from flask.typing import RouteCallable

from auth.policy import ROUTES, Access, Need, Perm
from settings import Settings
from webapp.gate import ASSET_RULE, CALLBACK_RULE, LOGIN_PATH, LOGOUT_PATH, PAGE_RULES
from webapp.routes import (
    emergency,
    energy,
    environment,
    health,
    login,
    metrics,
    personnel,
    production,
    replay,
    reports,
    safety,
    scene,
    stock,
    video_live,
    video_media,
)

VIDEO_MEDIA: Need = (Perm.VIDEO, Perm.ONCALL)  # on-call users: their areas' events only (video_media.may_see)


@dataclass(frozen=True)
class Route:
    """A Flask route and its line of the policy (``auth.policy.ROUTES[rule]``)."""

    rule: str
    view: RouteCallable | None  # None: Dash registers it
    need: Need
    methods: tuple[str, ...] = ("GET",)


ROUTE_TABLE: tuple[Route, ...] = (
    Route(LOGIN_PATH, login.login, Access.PUBLIC, ("GET", "POST")),
    Route(LOGOUT_PATH, login.logout, Access.PUBLIC, ("POST",)),  # ends the caller's own session, if any
    Route("/api/health", health.api_health, Access.PUBLIC),  # counts and ages per data source, nothing else
    Route("/api/emergency", emergency.api_emergency, Access.AUTHENTICATED),  # whether one runs: id and time only
    Route("/metrics", metrics.metrics, Access.PUBLIC),  # Prometheus: token or local callers (checked in the route)
    # Dash's own
    Route("/_favicon.ico", None, Access.PUBLIC),
    Route("/_dash-layout", None, Access.AUTHENTICATED),
    Route("/_dash-dependencies", None, Access.AUTHENTICATED),
    Route("/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>", None, Access.AUTHENTICATED),
    Route("/_reload-hash", None, Access.AUTHENTICATED),
    # the 3D scene: the deck.gl library and the plant's geometry
    Route("/scene/deck-<version>.js", scene.scene_deck_js, Access.AUTHENTICATED),
    Route("/scene/mesh/<digest>.bin", scene.scene_mesh, Perm.SCENE),
    # names in it only for those who may see names (store.people decides)
    Route("/personnel/exposure.csv", personnel.personnel_exposure_csv, Perm.PERSONNEL),
    # the energy page's tables (no names of people in them)
    Route("/energy/export.csv", energy.energy_export_csv, Perm.ENERGY),
    Route("/energy/export.xlsx", energy.energy_export_xlsx, Perm.ENERGY),
    # the environment page's tables: stack emissions of a month (no people)
    Route("/environment/export.csv", environment.environment_export_csv, Perm.ENVIRONMENT),
    Route("/environment/export.xlsx", environment.environment_export_xlsx, Perm.ENVIRONMENT),
    # camera images and their online status
    Route("/video/live/<camera>.mjpg", video_live.video_live, Perm.VIDEO),
    Route("/video/snapshot/<camera>.jpg", video_live.video_snapshot, Perm.VIDEO),
    Route("/video/status.json", video_live.video_status, Perm.VIDEO),
    # video event media
    Route("/video/media/<int:event_id>/snapshot.jpg", video_media.video_media_snapshot, VIDEO_MEDIA),
    Route("/video/media/<int:event_id>/thumb.jpg", video_media.video_media_thumb, VIDEO_MEDIA),
    Route("/video/media/<int:event_id>/clip.avi", video_media.video_media_clip, VIDEO_MEDIA),
    Route("/video/media/<int:event_id>/clip.mjpg", video_media.video_media_replay, VIDEO_MEDIA),
    # the production page's tables as files
    # a hidden danger's report photo
    Route("/safety/hidden-danger/<int:danger_id>/photo", safety.hidden_danger_photo, Perm.SAFETY),
    Route("/stock/export.csv", stock.stock_export_csv, Perm.STOCK),  # items or ledger; who made entries only for NAMES
    Route("/stock/export.xlsx", stock.stock_export_xlsx, Perm.STOCK),
    Route("/production/<table>.csv", production.production_csv, Perm.KPI),
    Route("/production/<table>.xlsx", production.production_xlsx, Perm.KPI),
    # an incident's bundle for investigators (audited)
    Route("/replay/incident/<int:incident_id>/export.zip", replay.incident_export, Perm.INCIDENT),
    # an archived report (names only for NAMES, checked in the route)
    Route("/reports/file/<int:issue_id>", reports.report_file, Perm.REPORTS),
)

# Rules of the server that have no line in ROUTES: the gate decides pages, callbacks and asset files by its own
# rules; Flask's own static folder is refused to everyone (the app serves its files from assets/).
GATE_RULES = PAGE_RULES | {CALLBACK_RULE, ASSET_RULE}
REFUSED_RULES = frozenset({"/static/<path:filename>"})


class RouteTableError(RuntimeError):
    """The route table, the policy's lines and the server's routes do not agree."""


def check_table(table: Iterable[Route], lines: Mapping[str, Need]) -> None:
    """Each route of ``table`` has its line in ``lines`` (the policy's ``ROUTES``) with the same need, and each
    line has its route; else :class:`RouteTableError` naming every difference."""
    table = tuple(table)
    problems = [f"{rule}: twice in the table" for rule, n in Counter(r.rule for r in table).items() if n > 1]
    for route in table:
        if route.rule not in lines:
            problems.append(f"{route.rule}: no line in auth.policy.ROUTES")
        elif lines[route.rule] != route.need:
            problems.append(f"{route.rule}: the table says {route.need!r}, auth.policy.ROUTES {lines[route.rule]!r}")
    rules = {r.rule for r in table}
    problems += [f"{rule}: a line of auth.policy.ROUTES with no route" for rule in lines if rule not in rules]
    if problems:
        raise RouteTableError("routes and policy disagree:\n" + "\n".join(problems))


def check_server(server_rules: Iterable[str], table: Iterable[Route]) -> None:
    """The server has every route of ``table`` (Dash's own included) and no route outside it but those the
    gate decides by its own rules; else :class:`RouteTableError`."""
    have = set(server_rules)
    listed = {r.rule for r in table}
    problems = [f"{rule}: in the table, not on the server" for rule in sorted(listed - have)]
    extra = have - listed - GATE_RULES - REFUSED_RULES
    problems += [f"{rule}: on the server, not in the table (so without a line of the policy)" for rule in sorted(extra)]
    if problems:
        raise RouteTableError("routes of the server and the table disagree:\n" + "\n".join(problems))


def register_routes(server: flask.Flask, settings: Settings) -> None:
    """Every route of :data:`ROUTE_TABLE` on ``server``, once Dash has registered its own (``create_app``)."""
    check_table(ROUTE_TABLE, ROUTES)
    video_live.install(server, settings)
    video_media.install(server, settings)
    for route in ROUTE_TABLE:
        if route.view is not None:
            server.add_url_rule(route.rule, view_func=route.view, methods=list(route.methods))
    check_server((r.rule for r in server.url_map.iter_rules()), ROUTE_TABLE)
