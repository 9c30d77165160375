"""Who may do what: roles, their permissions, and the policy table of pages, callbacks and data routes.

Deny by default: a page, a callback or a Flask route that is not listed here is refused for every role
(the server answers 403, or 401 without a session). ``tests/test_authz_matrix.py`` enumerates every page,
every callback output and every route of the app against every role, and fails for anything not listed,
so a new page or route gets its line here before it can ship.

How a request finds its line (``webapp.gate``):

- a page load (``GET /scene``) and Dash's page router callback: the page registered for that path, then
  ``PAGES[path]``; a path that is no page gets Dash's "not found" page, which any logged-in user may see;
- ``/_dash-update-component``: the callback named by the request's output, then the module that defined
  the callback function: a page module (``dash.register_page``) means that page's line in ``PAGES``,
  another module needs its own line in ``CALLBACK_MODULES``; a callback with an output listed in
  ``ACTION_OUTPUTS`` (an action: acknowledge, shelve, muster) needs that permission too;
- any other route: its Flask URL rule in ``ROUTES``.

What a user may see and act on within the data is decided here too, and applied where the data is read:
people's positions and names by :func:`viewer_of` (the scope every read of ``store.people`` takes; an
executive sees positions without names), the areas an on-call user acts on by
:meth:`Principal.command_areas`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from store import people


class Role(StrEnum):
    EXECUTIVE = "executive"  # wall screens and management: aggregates, overview, KPIs, energy
    DISPATCHER = "dispatcher"  # control room: everything operational
    ON_CALL = "on-call"  # phones: their alerts, acknowledge, the cameras and zones of their alerts
    ADMIN = "admin"  # users, settings, audit log - and every screen, to set the plant up


class Perm(StrEnum):
    OVERVIEW = "overview"  # the plant overview: production, energy today, zones at risk, data health
    SCENE = "scene"  # the 3D plant and its meshes
    KPI = "kpi"  # alarm-system and production KPIs
    ENERGY = "energy"  # energy and cost
    ENVIRONMENT = "environment"  # stack emissions (CEMS) against their limits, exceedances, emitted mass
    SAFETY = "safety"  # major hazard sources: grade, inputs, readings (lead names only with NAMES)
    HD_REPORT = "hidden_danger.report"  # report a hidden danger (dispatcher screen, on-call phone)
    HD_MANAGE = "hidden_danger.manage"  # assess, assign, plan, rectify, verify or reject a hidden danger
    EMERGENCY = "emergency"  # the emergency view: danger area, counts, routes (names only with NAMES)
    PERMIT = "permit"  # apply for a special-work permit and move it (approve, gas test, activate, suspend, close)
    POSITIONS = "positions"  # people and vehicles as dots, headcounts, muster counts
    NAMES = "names"  # who is where: names on positions, trajectories, lists of the missing, exposure
    PERSONNEL = "personnel"  # the personnel page (names on it only with NAMES)
    VIDEO = "video"  # camera images and clips, video alarms
    ALARMS = "alarms"  # the alarm list with every alarm
    ACK = "alarms.ack"  # acknowledge (on-call: only the alarms of their areas)
    SHELVE = "alarms.shelve"  # shelve and unshelve, take out of service and return to service
    MUSTER = "muster"  # declare and end an emergency muster, and an emergency (its checklist, its danger area)
    DOWNTIME = "downtime.reason"  # give a downtime event its reason
    PLAN = "plan.import"  # import a production plan file as a new version
    SPC_EXCLUDE = "spc.exclude"  # leave an assay result out of its SPC chart (with a reason), or take it back
    LAB = "lab.import"  # import a lab CSV file of assay results
    STOCK = "stock"  # materials and spare parts: on hand, projected, reorder levels, value, the ledger (names: NAMES)
    STOCK_ENTRY = "stock.entry"  # record a receipt, an issue or an adjustment in the stock ledger
    STOCK_IMPORT = "stock.import"  # import a stock list (CSV or Excel) as items and counted quantities
    REPORTS = "reports"  # the report archive: list, download, make a report of a past period (names only with NAMES)
    REPORT_SCHEDULES = "reports.schedule"  # set up, change, switch on and off the report schedules and recipients
    REPLAY = "replay"  # incident replay and the incident records (names only with NAMES, images only with VIDEO)
    INCIDENT = "incident.save"  # save a replay as an incident record, export its bundle
    ONCALL = "oncall"  # my alerts, on a phone
    USERS = "users"  # add, disable, reset users
    SETTINGS = "settings"
    AUDIT = "audit"  # read the security audit log


class Access(StrEnum):
    PUBLIC = "public"  # no session needed
    AUTHENTICATED = "authenticated"  # any logged-in user, whatever the role


# What a request needs: open to all, any session, one permission, or any one of several permissions.
Need = Access | Perm | tuple[Perm, ...]

_OPERATIONS = frozenset(
    {
        Perm.OVERVIEW,
        Perm.SCENE,
        Perm.KPI,
        Perm.ENERGY,
        Perm.ENVIRONMENT,
        Perm.SAFETY,
        Perm.HD_REPORT,
        Perm.HD_MANAGE,
        Perm.EMERGENCY,
        Perm.PERMIT,
        Perm.POSITIONS,
        Perm.NAMES,
        Perm.PERSONNEL,
        Perm.VIDEO,
        Perm.ALARMS,
        Perm.ACK,
        Perm.SHELVE,
        Perm.MUSTER,
        Perm.DOWNTIME,
        Perm.PLAN,
        Perm.SPC_EXCLUDE,
        Perm.LAB,
        Perm.STOCK,
        Perm.STOCK_ENTRY,
        Perm.STOCK_IMPORT,
        Perm.REPLAY,
        Perm.INCIDENT,
        Perm.REPORTS,
    }
)

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.EXECUTIVE: frozenset(
        {
            Perm.OVERVIEW,
            Perm.SCENE,
            Perm.KPI,
            Perm.ENERGY,
            Perm.ENVIRONMENT,
            Perm.SAFETY,
            Perm.EMERGENCY,
            Perm.POSITIONS,
            Perm.PERSONNEL,
            Perm.REPLAY,
            Perm.REPORTS,
            Perm.STOCK,
        }
    ),  # no NAMES, no VIDEO, no alarm actions; the replay without names; reports without person names
    Role.DISPATCHER: _OPERATIONS,
    Role.ON_CALL: frozenset({Perm.ONCALL, Perm.ACK, Perm.HD_REPORT}),
    # The administrator sets the plant up and the first account of a new installation is one, so it sees
    # every screen; plants that separate duties give their administrators a second, dispatcher account.
    Role.ADMIN: frozenset(Perm),
}

# Pages by their registered path. A page that exists but is missing here is refused to everyone.
PAGES: dict[str, Need] = {
    "/": Perm.OVERVIEW,  # its safety-index tile and the tile's refresh callback only for those with SAFETY too
    "/scene": Perm.SCENE,
    "/alarms": Perm.ALARMS,
    "/alarms/kpi": Perm.KPI,
    "/energy": Perm.ENERGY,
    "/environment": Perm.ENVIRONMENT,  # stack emissions: executives, dispatchers, administrators
    "/safety": Perm.SAFETY,  # major hazard sources: executives (no lead names), dispatchers, administrators
    # report a hidden danger with a photo and a point (dispatchers, on-call phones, administrators)
    "/safety/report": Perm.HD_REPORT,
    # emergency mode: executives (counts, dots, no names), dispatchers and administrators
    "/emergency": Perm.EMERGENCY,
    "/personnel": Perm.PERSONNEL,
    "/oncall": Perm.ONCALL,  # my alerts; my special-work permits (only those the user is on, by badge or name)
    "/admin/audit": Perm.AUDIT,
    "/admin/users": Perm.USERS,  # the users and their own badges (administrators)
    "/video": Perm.VIDEO,
    "/production": Perm.KPI,  # equipment KPIs, OEE, downtime (no person names: reasons only)
    "/production/quality": Perm.KPI,  # SPC charts of the lab assays, Cpk/Ppk (read only; no person names)
    "/production/flow": Perm.KPI,  # the process flow view: unit states, key values, trends (read only; no names)
    # incident replay: dispatchers and administrators; executives without names or images; on-call users only
    # the incident records of their areas, with counts of people (webapp.live.replay.resolve checks)
    "/replay": (Perm.REPLAY, Perm.ONCALL),
    "/incidents": (Perm.REPLAY, Perm.ONCALL),  # the incident records (on-call: of their areas)
    "/reports": Perm.REPORTS,  # shift, day and month reports: executives get editions without person names
    # materials and spare parts: executives, dispatchers, administrators; executives see values, not who made entries
    "/stock": Perm.STOCK,
}

# Callbacks defined outside page modules (and their panels, ``webapp.panels.<page>.*``, which take their page's
# line), by the module that defines the callback function.
CALLBACK_MODULES: dict[str, Need] = {
    "webapp.shell.callbacks": Access.AUTHENTICATED,  # plant clock, data-source health badges, language switch
    # the alarm banner of every page: counts and the newest alarm
    "webapp.shell.banner_callbacks": Access.AUTHENTICATED,
}

# Callback outputs that carry out an action: a callback with one of these outputs (component id, or the
# "type" of a pattern-matching id) needs this as well as its page's line.
ACTION_OUTPUTS: dict[str, Need] = {
    "personnel-muster-msg": Perm.MUSTER,  # declare or end an emergency muster
    # declare, accept or dismiss an emergency, tick its actions, grow its danger area, end it
    "emergency-msg": Perm.MUSTER,
    "alarms-sent": (Perm.ACK, Perm.SHELVE),  # operator commands to the alarm service (each checked there too)
    "oncall-sent": Perm.ACK,  # acknowledge from the on-call page (areas checked by store.alarms.submit_command)
    # acknowledge a video detection or mark it a false positive (/video; areas checked by store.video and
    # store.alarms.submit_command)
    "video-sent": Perm.ACK,
    "production-reason-msg": Perm.DOWNTIME,  # a downtime event's reason (dispatchers, admin)
    "production-plan-msg": Perm.PLAN,  # a production plan file imported as a new version
    "quality-exclude-msg": Perm.SPC_EXCLUDE,  # an assay result excluded from its SPC chart or taken back
    "quality-lab-msg": Perm.LAB,  # a lab CSV file imported as assay results
    "users-badge-msg": Perm.USERS,  # a user's own badge set or taken away (/admin/users; audited)
    "hd-report-msg": Perm.HD_REPORT,  # a hidden danger reported (/safety/report)
    "safety-hd-msg": Perm.HD_MANAGE,  # a hidden danger moved through its workflow (/safety)
    "safety-pt-msg": Perm.PERMIT,  # a special-work permit applied for or moved through its lifecycle (/safety)
    "replay-save-msg": Perm.INCIDENT,  # a replay saved as an incident record (dispatchers, admin; audited)
    "reports-make-msg": Perm.REPORTS,  # a report of a past period made now (without names for those without NAMES)
    "stock-entry-msg": Perm.STOCK_ENTRY,  # a receipt, issue or adjustment appended to the stock ledger (audited)
    "stock-import-msg": Perm.STOCK_IMPORT,  # a stock list imported, all or nothing (audited)
    # a report schedule set up or changed (/reports; administrators; audited with what changed)
    "reports-sched-msg": Perm.REPORT_SCHEDULES,
    # the schedule editor filled from a stored schedule (its recipients: people of the on-call file)
    "reports-sched-recipients": Perm.REPORT_SCHEDULES,
}

# Flask URL rules other than pages and callbacks. Each is registered in webapp.routes.ROUTE_TABLE, which writes its
# line out beside its view; the web app does not start while a route has no line, a line has no route, or the two
# disagree.
ROUTES: dict[str, Need] = {
    "/login": Access.PUBLIC,
    "/logout": Access.PUBLIC,  # ends the caller's own session, if any
    # Liveness for monitoring and the screens' offline watchdog: counts and ages per data source, no plant
    # values, no names, no positions.
    "/api/health": Access.PUBLIC,
    # whether an emergency runs (its id and declaration time, nothing else): every screen polls it to switch to
    # the emergency view
    "/api/emergency": Access.AUTHENTICATED,
    # Prometheus metrics: no session (a scraper has none); the route itself admits only the bearer token of
    # SW_METRICS_TOKEN, or without one a caller on this machine not behind a proxy (webapp.routes.metrics).
    "/metrics": Access.PUBLIC,
    "/_favicon.ico": Access.PUBLIC,
    "/_dash-layout": Access.AUTHENTICATED,  # the shell; its navigation lists only the pages the role may see
    "/_dash-dependencies": Access.AUTHENTICATED,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": Access.AUTHENTICATED,
    "/_reload-hash": Access.AUTHENTICATED,
    "/scene/deck-<version>.js": Access.AUTHENTICATED,  # the deck.gl library
    "/scene/mesh/<digest>.bin": Perm.SCENE,  # the plant's geometry
    "/personnel/exposure.csv": Perm.PERSONNEL,
    "/energy/export.csv": Perm.ENERGY,  # the energy page's tables: meters, amounts, costs; no people
    "/energy/export.xlsx": Perm.ENERGY,  # names in it only for NAMES (viewer_of below decides)
    "/environment/export.csv": Perm.ENVIRONMENT,  # the environment page's tables: stack emissions, no people
    "/environment/export.xlsx": Perm.ENVIRONMENT,
    # Camera images (live, snapshot) and their online status; on-call: the cameras of their alerts, later.
    "/video/live/<camera>.mjpg": Perm.VIDEO,
    "/video/snapshot/<camera>.jpg": Perm.VIDEO,
    "/video/status.json": Perm.VIDEO,
    # Video event media: dispatchers and administrators all; on-call users only the events of their areas
    # (checked in the route, webapp.routes.video_media.may_see).
    "/video/media/<int:event_id>/snapshot.jpg": (Perm.VIDEO, Perm.ONCALL),
    "/video/media/<int:event_id>/thumb.jpg": (Perm.VIDEO, Perm.ONCALL),
    "/video/media/<int:event_id>/clip.avi": (Perm.VIDEO, Perm.ONCALL),
    "/video/media/<int:event_id>/clip.mjpg": (Perm.VIDEO, Perm.ONCALL),
    # a hidden danger's report photo (the safety page's readers; no names in it)
    "/safety/hidden-danger/<int:danger_id>/photo": Perm.SAFETY,
    "/production/<table>.csv": Perm.KPI,
    "/production/<table>.xlsx": Perm.KPI,
    "/stock/export.csv": Perm.STOCK,  # the items or the ledger; who made an entry only for NAMES (checked in the route)
    "/stock/export.xlsx": Perm.STOCK,
    # an incident's bundle for investigators (data, snapshots, clips, summary, manifest); audited
    "/replay/incident/<int:incident_id>/export.zip": Perm.INCIDENT,
    # an archived report file (SHA-256 checked); editions with person names only with NAMES (checked in the route)
    "/reports/file/<int:issue_id>": Perm.REPORTS,
}

# Static files of assets/: style sheets, fonts and images are public (the login page needs them); scripts
# need a session.
PUBLIC_ASSET_SUFFIXES = (".css", ".woff", ".woff2", ".ttf", ".png", ".svg", ".ico")

# Where a role lands after login, in order of preference among the pages it may see.
HOME_PREFERENCE: dict[Role, tuple[str, ...]] = {
    Role.ON_CALL: ("/oncall",),
    Role.ADMIN: ("/", "/admin/audit"),
}


class NotLoggedInError(PermissionError):
    """Nobody is logged in where a user is needed: refused (fail closed). The gate refuses such requests
    first; pages and callbacks refuse too, so that a call that got past it, or never went through it, is
    refused rather than acting for everyone. Services that act without a web user name themselves
    explicitly (``store.people.SYSTEM``); no one is ever assumed."""


@dataclass(frozen=True)
class Principal:
    """The logged-in user of a request."""

    user_id: int
    username: str
    role: Role
    display_name: str = ""
    areas: tuple[str, ...] = ()
    perms: frozenset[Perm] = field(default=frozenset(), compare=False)

    @classmethod
    def of(cls, user_id: int, username: str, role: str | Role, display_name: str = "", areas: object = ()) -> Principal:
        r = Role(role)
        got = tuple(str(a) for a in areas) if isinstance(areas, list | tuple) else ()
        return cls(user_id, username, r, display_name or "", got, ROLE_PERMS[r])

    def can(self, perm: Perm) -> bool:
        return perm in self.perms

    def command_areas(self) -> tuple[str, ...] | None:
        """The plant areas whose alarms this user may act on (``store.alarms.submit_command(areas=...)``):
        an on-call user's areas; None means every area (other roles, and on-call users without areas)."""
        if self.role == Role.ON_CALL and self.areas:
            return self.areas
        return None

    @property
    def name(self) -> str:
        return self.display_name or self.username


def viewer_of(principal: Principal | None) -> people.Viewer | None:
    """What ``principal`` may see of people's positions and identities, the one place that decides it: names
    and positions with ``NAMES`` and ``POSITIONS`` (dispatchers, administrators), positions, roles and badge
    ids without names with ``POSITIONS`` alone (executives), counts only otherwise (on-call users). None for
    nobody: ``store.people`` refuses it (fail closed)."""
    if principal is None:
        return None
    if principal.can(Perm.POSITIONS):
        level = people.Access.FULL if principal.can(Perm.NAMES) else people.Access.ANONYMOUS
    else:
        level = people.Access.COUNTS
    return people.Viewer(user=principal.username, access=level)


def allowed(principal: Principal | None, need: Need | None) -> bool:
    """Whether ``principal`` (None: no session) meets ``need`` (None: not in the policy - refused)."""
    if need is None:
        return False
    if need == Access.PUBLIC:
        return True
    if principal is None:
        return False
    if need == Access.AUTHENTICATED:
        return True
    if isinstance(need, tuple):
        return any(p in principal.perms for p in need)
    return need in principal.perms


def page_need(path: str) -> Need | None:
    return PAGES.get(normalize_path(path))


def normalize_path(path: str) -> str:
    stripped = "/" + path.strip("/")
    return stripped


def home_page(principal: Principal, pages: list[str]) -> str | None:
    """The first page of ``pages`` (in navigation order) that ``principal`` may see, preferred ones first."""
    visible = [p for p in pages if allowed(principal, page_need(p))]
    for wanted in HOME_PREFERENCE.get(principal.role, ()):
        if wanted in visible:
            return wanted
    return visible[0] if visible else None


def parse_role(text: str) -> Role:
    """A role from user input (``on-call``, ``oncall`` and ``on_call`` are the same)."""
    key = text.strip().lower().replace("_", "-")
    if key == "oncall":
        key = Role.ON_CALL.value
    try:
        return Role(key)
    except ValueError:
        raise ValueError(f"unknown role {text!r}; roles: {', '.join(r.value for r in Role)}") from None
