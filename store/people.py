"""People's positions and identities, read within a viewer's scope (issue 4, item 6).

Every read of where people and vehicles are or were (live positions, trajectories, playback, heatmap,
exposure, muster lists) and of who a badge is (names, roles, teams) that a page makes goes through the
functions here, each with an explicit ``viewer``: a plain scope (:class:`Viewer`) saying what its reader may
see. Which scope a logged-in user gets is decided in one place, ``auth.policy.viewer_of`` (executives:
positions without names; on-call users: counts only). No viewer (``None``) is refused
(:class:`NoViewerError`), never taken for everything: services, background jobs, benchmarks and tests that
read without a web user say so with :data:`SYSTEM`, the one named full-access viewer that stands for no person.

Levels: ``FULL`` names and positions; ``ANONYMOUS`` positions, roles and badge ids, but no names, teams or
free-text messages (which may carry names); ``COUNTS`` only counts (headcount per zone, muster totals), no
positions and no lists of people.

Times are UTC epoch ms, coordinates plant metres. Positions are reported by exception (a badge standing
still publishes nothing; one leaving the site publishes one position of uncertain quality at its gate), so
a good position holds until the badge's next one. The collectors' RTLS outage marker (the last position again
at ``BAD_NO_COMMUNICATION``) keeps the badge where it was, shown as its last known position. Like every
repository here, functions take a session and never commit (muster declarations flush).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import String, and_, case, column, func, literal, or_, select, values
from sqlalchemy.orm import Session

from engine import exposure as exp
from engine import muster as mus
from engine import replay as replay_engine
from engine.geometry import locate
from engine.onsite import LiveView, live_view
from engine.tracks import (
    HOUR_MS,
    ON_SITE_MAX_AGE_MS,
    SECOND_MS,
    Track,
    Trip,
    grid_of,
    located,
    path_length,
    presence,
    replay,
    segments,
    step_for,
    zones_visited,
)
from engine.types import BAD_NO_COMMUNICATION, is_good
from plant.schema import Badge, BadgeKind, Plant, TagKind
from store.events import VIOLATION, add_event, close_event
from store.models import BadgeCurrent, Event, Position
from store.positions import current_positions, gc_paused
from store.samples import good_quality, latest_values
from store.tags import tag_ids

logger = logging.getLogger(__name__)

MUSTER = "muster"
MAX_WINDOW_MS = 24 * HOUR_MS  # longest trajectory / playback / heatmap window
PLAYBACK_POINTS = 720  # time buckets per badge in a playback window (before simplification)
PLAYBACK_BUDGET = 400_000  # positions read for a plant-wide playback or heatmap (all badges together)
EXPOSURE_BUDGET = 1_000_000  # positions read for an exposure table
PLAYBACK_TOLERANCE_M = 0.5  # simplification: a dropped point is within this of the replayed path
VIOLATION_FEED_MS = 12 * HOUR_MS
NAME_MAX = 64

_POS = Position.__table__
_CUR = BadgeCurrent.__table__
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# --- what a viewer may see (auth.policy.viewer_of decides which viewer a user is) ------------------------


class Access(StrEnum):
    FULL = "full"
    ANONYMOUS = "anonymous"
    COUNTS = "counts"


@dataclass(frozen=True, kw_only=True)
class Viewer:
    """Who is asking and what they may see: ``access`` of positions and identities, ``user`` for the record."""

    user: str | None = None
    access: Access


# The server itself, reading for no web user: services, background jobs, benchmarks, tests of the store.
# Pages never use it; they pass the logged-in user's viewer.
SYSTEM = Viewer(user="system", access=Access.FULL)


def access(viewer: Viewer | None) -> Access:
    """What ``viewer`` may see of positions and identities.
    :class:`NoViewerError` for no viewer: nobody is not everybody."""
    if viewer is None:
        raise NoViewerError("no viewer: positions and identities are refused")
    return Access(viewer.access)


def viewer_for(level: Access) -> Viewer:
    """A viewer standing for everyone with ``level`` (shared caches build one payload per level)."""
    return Viewer(access=level)


class UnknownBadgeError(KeyError):
    """A badge id that is not in the plant file."""

    def __str__(self) -> str:
        return f"unknown badge {self.args[0]!r}"


class NotAllowedError(PermissionError):
    """The viewer may not see this (a list of people or positions at the COUNTS level)."""


class NoViewerError(NotAllowedError):
    """No viewer was given (nobody logged in, or a caller that forgot to say who asks): everything is refused."""


def _may_locate(viewer: Viewer | None) -> bool:
    return access(viewer) in (Access.FULL, Access.ANONYMOUS)


def _may_name(viewer: Viewer | None) -> bool:
    return access(viewer) == Access.FULL


# --- identities ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    badge: str
    kind: str  # person | vehicle
    role: str  # employee | contractor | visitor | driver
    name: str | None  # None when the viewer may not see names
    name_zh: str | None
    team: str
    shift: str | None
    escort: str | None

    @property
    def vehicle(self) -> bool:
        return self.kind == BadgeKind.VEHICLE.value


def _identity(b: Badge, named: bool) -> Identity:
    return Identity(
        badge=b.id,
        kind=b.kind.value,
        role=b.role.value,
        name=b.name if named else None,
        name_zh=b.name_zh if named else None,
        team=b.team if named else "",
        shift=b.shift,
        escort=b.escort,
    )


def identities(plant: Plant, viewer: Viewer | None) -> dict[str, Identity]:
    """Every badge of the plant by id (no names unless the viewer may see them; none at COUNTS)."""
    if not _may_locate(viewer):
        return {}
    named = _may_name(viewer)
    return {b.id: _identity(b, named) for b in plant.badges}


def identity(plant: Plant, badge: str, viewer: Viewer | None) -> Identity:
    if not _may_locate(viewer):
        raise NotAllowedError("badge details are not available to this viewer")
    for b in plant.badges:
        if b.id == badge:
            return _identity(b, _may_name(viewer))
    raise UnknownBadgeError(badge)


def search(plant: Plant, query: str, viewer: Viewer | None, limit: int = 20) -> list[Identity]:
    """Badges whose id, name (either language) or team contains ``query`` (case-insensitive), exact id first.
    Viewers without names search by id only."""
    if not isinstance(query, str):
        raise TypeError("query must be text")
    located = _may_locate(viewer)  # no viewer: refused whatever the query
    q = query.strip().casefold()
    if not q or not located:
        return []
    named = _may_name(viewer)
    hits: list[tuple[int, str, Identity]] = []
    for b in plant.badges:
        fields = [b.id] + ([b.name, b.name_zh or "", b.team] if named else [])
        texts = [f.casefold() for f in fields]
        if not any(q in f for f in texts):
            continue
        rank = 0 if texts[0] == q else 1 if texts[0].startswith(q) else 2
        hits.append((rank, b.id, _identity(b, named)))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits[: max(0, limit)]]


# --- validation -----------------------------------------------------------------------------------------


def _ms(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be epoch milliseconds, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return int(value)


def _window(t0: Any, t1: Any, longest: int = MAX_WINDOW_MS) -> tuple[int, int]:
    a, b = _ms(t0, "start"), _ms(t1, "end")
    if b <= a:
        raise ValueError("the end of the window must be after its start")
    if b - a > longest:
        raise ValueError(f"the window is longer than {longest // HOUR_MS} h")
    return a, b


def _zone(plant: Plant, zone: str | None) -> Any:
    if zone is None or zone == "":
        return None
    for z in plant.zones:
        if z.id == zone:
            return z
    raise KeyError(f"unknown zone {zone!r}")


def _plant_badges(plant: Plant, kinds: Iterable[str] | None = None) -> list[str]:
    wanted = None if kinds is None else set(kinds)
    return [b.id for b in plant.badges if wanted is None or b.kind.value in wanted]


# --- position queries (SQL lives here, nowhere in the pages) ---------------------------------------------


def _badge_values(badges: Sequence[str]) -> Any:
    return values(column("badge", String(64)), name="wanted").data([(b,) for b in badges]).cte("wanted")


@dataclass(frozen=True)
class Fix:
    """One position: ``good`` is False for a badge that is off site or not located."""

    badge: str
    ts: int
    x: float
    y: float
    floor: int
    good: bool


def positions_at(
    session: Session, badges: Sequence[str], t_ms: int, lookback_ms: int = ON_SITE_MAX_AGE_MS
) -> dict[str, Fix]:
    """Each badge's newest position at or before ``t_ms`` (within ``lookback_ms``): where everybody was then.
    One index seek per badge."""
    out: dict[str, Fix] = {}
    ids = sorted(set(badges))
    for i in range(0, len(ids), 500):
        wanted = _badge_values(ids[i : i + 500])
        newest = (
            select(_POS.c.ts)
            .where(_POS.c.badge == wanted.c.badge, _POS.c.ts <= t_ms, _POS.c.ts >= t_ms - lookback_ms)
            .order_by(_POS.c.ts.desc())
            .limit(1)
            .scalar_subquery()
        )
        pairs = select(wanted.c.badge.label("badge"), newest.label("ts")).subquery("pairs")
        stmt = select(_POS.c.badge, _POS.c.ts, _POS.c.x, _POS.c.y, _POS.c.floor, _POS.c.quality).join(
            pairs, and_(_POS.c.badge == pairs.c.badge, _POS.c.ts == pairs.c.ts)
        )
        for badge, ts, x, y, floor, quality in session.execute(stmt):
            good = located(quality, x, y)
            out[badge] = Fix(badge, int(ts), float(x), float(y), int(floor), good)
    return out


def newest_in_window(session: Session, badges: Sequence[str], t0_ms: int, t1_ms: int) -> dict[str, Fix]:
    """Each badge's newest position with ``t0_ms < ts <= t1_ms``: :func:`positions_at` for a short window, read as
    one range of the primary key per 500 badges instead of a seek per badge (about nine times faster for the demo's
    334 people and a minute; the rows of the whole window come back, so keep it short)."""
    out: dict[str, Fix] = {}
    ids = sorted(set(badges))
    for i in range(0, len(ids), 500):
        stmt = (
            select(_POS.c.badge, _POS.c.ts, _POS.c.x, _POS.c.y, _POS.c.floor, _POS.c.quality)
            .where(_POS.c.badge.in_(ids[i : i + 500]), _POS.c.ts > t0_ms, _POS.c.ts <= t1_ms)
            .order_by(_POS.c.badge, _POS.c.ts)
        )
        for badge, ts, x, y, floor, quality in session.execute(stmt):
            out[badge] = Fix(badge, int(ts), float(x), float(y), int(floor), located(quality, x, y))
    return out


def _buckets(session: Session, badges: Sequence[str], t0: int, t1: int, step_ms: int) -> list[tuple[Any, ...]]:
    """Good positions averaged per (badge, time bucket): badge, mean ts, mean x, mean y, top floor."""
    k = (_POS.c.ts // step_ms).label("k")
    out: list[tuple[Any, ...]] = []
    ids = sorted(set(badges))
    for i in range(0, len(ids), 500):
        stmt = (
            select(_POS.c.badge, func.avg(_POS.c.ts), func.avg(_POS.c.x), func.avg(_POS.c.y), func.max(_POS.c.floor), k)
            .where(
                _POS.c.badge.in_(ids[i : i + 500]),
                _POS.c.ts >= t0,
                _POS.c.ts <= t1,
                or_(good_quality(_POS.c.quality), _POS.c.quality == BAD_NO_COMMUNICATION),
            )
            .group_by(_POS.c.badge, k)
            .order_by(_POS.c.badge, k)
        )
        out.extend(tuple(r) for r in session.execute(stmt))
    return out


def _raw(session: Session, badges: Sequence[str], t0: int, t1: int, good: bool | None) -> list[tuple[Any, ...]]:
    """Raw positions (badge, ts, x, y, floor, quality), all or only good / only not-good ones."""
    ids = sorted(set(badges))
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(ids), 500):
        stmt = select(_POS.c.badge, _POS.c.ts, _POS.c.x, _POS.c.y, _POS.c.floor, _POS.c.quality).where(
            _POS.c.badge.in_(ids[i : i + 500]), _POS.c.ts >= t0, _POS.c.ts <= t1
        )
        if good is True:
            stmt = stmt.where(good_quality(_POS.c.quality))
        elif good is False:  # what places the badge nowhere (the outage marker still places it)
            stmt = stmt.where(~good_quality(_POS.c.quality), _POS.c.quality != BAD_NO_COMMUNICATION)
        out.extend(tuple(r) for r in session.execute(stmt.order_by(_POS.c.badge, _POS.c.ts)))
    return out


def _driver_rows(session: Session, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders) straight from the driver's cursor: plant-wide windows are
    hundreds of thousands of rows, and building SQLAlchemy rows for them would cost more than the query."""
    conn = session.connection()
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("no database connection")
    if conn.dialect.name != "sqlite":
        sql = sql.replace("%", "%%").replace("?", "%s")
    cursor = raw.cursor()
    try:
        with gc_paused():
            cursor.execute(sql, tuple(args))
            return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def _sampled(
    session: Session, badges: Sequence[str], t0: int, t1: int, step_ms: int
) -> list[tuple[str, int, float, float, int, bool]]:
    """The last position of each badge in each ``step_ms`` bucket of ``[t0, t1]``, by badge and time.

    One index seek per badge and bucket (the primary key ``(badge, ts)``), so a plant-wide hour at 1 Hz
    costs a few hundred thousand seeks instead of a scan of millions of rows. The last position of a
    bucket is the one that matters: a badge that stops moving stops reporting, and one that leaves the site
    reports its gate (not good) last, so both are caught exactly."""
    out: list[tuple[str, int, float, float, int, bool]] = []
    ids = sorted(set(badges))
    first = t0 - t0 % step_ms
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        sql = (
            "WITH RECURSIVE k(t) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT t + ? FROM k WHERE t + ? <= ?),"
            f" w(badge) AS (VALUES {','.join('(?)' for _ in chunk)}),"
            " f AS (SELECT w.badge AS badge, (SELECT p.ts FROM position p WHERE p.badge = w.badge"
            " AND p.ts >= k.t AND p.ts < k.t + ? AND p.ts >= ? AND p.ts <= ? ORDER BY p.ts DESC LIMIT 1) AS ts"
            " FROM w CROSS JOIN k)"
            " SELECT p.badge, p.ts, p.x, p.y, p.floor, p.quality FROM f"
            " JOIN position p ON p.badge = f.badge AND p.ts = f.ts ORDER BY p.badge, p.ts"
        )
        rows = _driver_rows(session, sql, [first, step_ms, step_ms, t1, *chunk, step_ms, t0, t1])
        with gc_paused():
            for badge, ts, x, y, floor, quality in rows:
                good = located(quality, x, y)
                out.append((badge, int(ts), float(x), float(y), int(floor or 0), good))
    return out


def _tracks(
    session: Session,
    badges: Sequence[str],
    t0: int,
    t1: int,
    step_ms: int,
    *,
    raw: bool = False,
    sample: bool = False,
) -> dict[str, Track]:
    """Per badge: its position at ``t0`` (when on site then), its positions in ``(t0, t1]`` (bucket means;
    one position per bucket when ``sample``; every one when ``raw``) and its off-site markers, in time
    order."""
    tracks: dict[str, Track] = {}
    start = positions_at(session, badges, t0)
    for b, f in start.items():
        tracks.setdefault(b, Track(b)).add(t0, f.x, f.y, f.floor, f.good)
    if sample:
        for b, ts, x, y, fl, good in _sampled(session, badges, t0 + 1, t1, step_ms):
            tr = tracks.get(b)
            if tr is None:
                tr = tracks[b] = Track(b)
            tr.ts.append(ts)
            tr.x.append(x)
            tr.y.append(y)
            tr.floor.append(fl)
            tr.good.append(good)
        return tracks  # already in time order: the start fix, then the rows by time
    if raw:
        for b, ts, x, y, fl, q in _raw(session, badges, t0 + 1, t1, None):
            tracks.setdefault(b, Track(b)).add(ts, x, y, fl, located(q, x, y))
    else:
        for b, ts, x, y, fl, _k in _buckets(session, badges, t0 + 1, t1, step_ms):
            if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
                continue
            tracks.setdefault(b, Track(b)).add(round(float(ts)), x, y, fl or 0, True)
        for b, ts, x, y, fl, _q in _raw(session, badges, t0 + 1, t1, False):
            tracks.setdefault(b, Track(b)).add(ts, x, y, fl, False)
    return {b: tr.sorted() for b, tr in tracks.items()}


# --- live ------------------------------------------------------------------------------------------------


def open_violations(session: Session) -> list[Event]:
    stmt = select(Event).where(Event.kind == VIOLATION, Event.ts_end.is_(None)).order_by(Event.ts_start.desc())
    return list(session.scalars(stmt))


def live_people(session: Session, plant: Plant, now_ms: int, viewer: Viewer | None) -> LiveView:
    """Who is on site now, where, in which zone and state; headcount per zone. Positions only for viewers
    who may see them."""
    access(viewer)  # no viewer: refused before anything is read
    now = _ms(now_ms, "now")
    newest = current_positions(session, since=now - ON_SITE_MAX_AGE_MS)
    sos_tags = {t.id: t.badge for t in plant.tags if t.kind == TagKind.SOS and t.badge}
    known = tag_ids(session)
    by_tag_id = {known[t]: b for t, b in sos_tags.items() if t in known}
    sos = {
        by_tag_id[i]
        for i, s in latest_values(session, list(by_tag_id)).items()
        if s.value is not None and s.value >= 0.5 and is_good(s.quality)
    }
    rules: dict[str, list[str]] = {}
    for ev in open_violations(session):
        if ev.badge:
            rules.setdefault(ev.badge, []).append(ev.source)
    view = live_view(plant, now, newest, sos, rules)
    return view if _may_locate(viewer) else replace(view, people=[])


# --- violations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    id: int
    rule: str
    badge: str | None
    zone: str | None
    severity: str
    start_ms: int
    end_ms: int | None
    message: str  # empty for viewers without names (messages may carry them)
    camera: str | None
    fence: str | None
    value: Any
    limit: Any

    @property
    def open(self) -> bool:
        return self.end_ms is None


def _violation(ev: Event, viewer: Viewer | None) -> Violation:
    data = ev.data if isinstance(ev.data, dict) else {}
    named = _may_name(viewer)
    return Violation(
        id=int(ev.id),
        rule=str(ev.source),
        badge=ev.badge if _may_locate(viewer) else None,
        zone=ev.zone,
        severity=str(ev.severity or "medium"),
        start_ms=int(ev.ts_start),
        end_ms=None if ev.ts_end is None else int(ev.ts_end),
        message=str(ev.message or "") if named else "",
        camera=data.get("camera") if isinstance(data.get("camera"), str) else None,
        fence=data.get("fence") if isinstance(data.get("fence"), str) else None,
        value=data.get("value"),
        limit=data.get("limit"),
    )


def violation_feed(
    session: Session, now_ms: int, viewer: Viewer | None, since_ms: int | None = None, limit: int = 50
) -> list[Violation]:
    """Open violations and those started since ``since_ms`` (default: the last 12 h), newest first."""
    access(viewer)
    now = _ms(now_ms, "now")
    since = now - VIOLATION_FEED_MS if since_ms is None else _ms(since_ms, "since")
    stmt = (
        select(Event)
        .where(Event.kind == VIOLATION, or_(Event.ts_end.is_(None), Event.ts_start >= since))
        .order_by(Event.ts_start.desc(), Event.id.desc())
        .limit(max(1, int(limit)))
    )
    return [_violation(ev, viewer) for ev in session.scalars(stmt)]


def violations_between(session: Session, t0: int, t1: int, viewer: Viewer | None, limit: int = 2000) -> list[Violation]:
    """Violations overlapping ``[t0, t1]``, oldest first (for a playback timeline)."""
    access(viewer)
    a, b = _window(t0, t1)
    stmt = (
        select(Event)
        .where(Event.kind == VIOLATION, Event.ts_start <= b, or_(Event.ts_end.is_(None), Event.ts_end >= a))
        .order_by(Event.ts_start, Event.id)
        .limit(max(1, int(limit)))
    )
    return [_violation(ev, viewer) for ev in session.scalars(stmt)]


# --- trajectory ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trajectory:
    badge: str
    start_ms: int
    end_ms: int
    segments: list[list[tuple[int, float, float, int]]]  # on-site stretches: (ts, x, y, floor)
    distance_m: float
    step_ms: int  # 0: raw positions; else bucket size of the means
    zones: list[str]  # zones visited, in order of first visit

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.segments)


def trajectory(
    session: Session, plant: Plant, badge: str, t0: int, t1: int, viewer: Viewer | None, max_points: int = 2000
) -> Trajectory:
    """Where ``badge`` was in ``[t0, t1]``: its on-site stretches (split where it left the site), raw
    positions when they fit in ``max_points``, else time-bucket means; distance walked or driven."""
    if not _may_locate(viewer):
        raise NotAllowedError("positions are not available to this viewer")
    if not any(b.id == badge for b in plant.badges):
        raise UnknownBadgeError(badge)
    a, b = _window(t0, t1)
    raw_count = session.execute(
        select(func.count()).select_from(_POS).where(_POS.c.badge == badge, _POS.c.ts > a, _POS.c.ts <= b)
    ).scalar_one()
    step = 0 if raw_count <= max_points else step_for(b - a, max_points)
    tr = _tracks(session, [badge], a, b, step or SECOND_MS, raw=step == 0).get(badge, Track(badge))
    stretches = segments(tr)
    dist = path_length(stretches)
    visited = zones_visited(stretches, [(z.id, z.polygon) for z in plant.zones])
    return Trajectory(badge, a, b, stretches, round(dist, 1), step, visited)


# --- playback --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Playback:
    """Everybody's movements in a window (in one zone, or the whole plant) for a replay: ``trips`` are
    (index into ``badges``, trip), ``step_ms`` the time bucket (0 when the viewer may not see positions:
    no badges, trips or violations then)."""

    t0: int
    t1: int
    step_ms: int
    zone: str | None
    access: Access
    badges: list[Identity]  # in order of their first trip
    trips: list[tuple[int, Trip]]
    violations: list[Violation]  # overlapping the window (in the zone), oldest first


def playback(
    session: Session,
    plant: Plant,
    start_ms: int,
    end_ms: int,
    zone: str | None = None,
    *,
    viewer: Viewer | None,
    points: int = PLAYBACK_POINTS,
    tolerance_m: float = PLAYBACK_TOLERANCE_M,
) -> Playback:
    """Everybody's movements in ``[start_ms, end_ms]`` (in one zone, or the whole plant): one position per
    time bucket (at most ``points`` buckets per badge and :data:`PLAYBACK_BUDGET` positions for the whole
    plant); a badge has one trip per stretch on site (inside the zone), and points the replay would
    interpolate to within ``tolerance_m`` are left out (:func:`engine.tracks.replay`).
    A badge standing still keeps its place; one that left the site disappears until it comes back.
    ``webapp.live.tracks.pack_playback`` packs it for the map.
    """
    a, b = _window(start_ms, end_ms)
    z = _zone(plant, zone)
    level = access(viewer)
    zone_id = z.id if z is not None else None
    if not _may_locate(viewer):
        return Playback(a, b, 0, zone_id, level, [], [], [])
    badges = _plant_badges(plant)
    step = max(step_for(b - a, points), step_for((b - a) * len(badges), PLAYBACK_BUDGET))
    ids = identities(plant, viewer)
    tracks = _tracks(session, badges, a, b, step, sample=True)
    index: dict[str, int] = {}
    shown: list[Identity] = []
    trips: list[tuple[int, Trip]] = []
    for badge in sorted(tracks):
        for trip in replay(tracks[badge], step, a, b, z.polygon if z is not None else None, tolerance_m):
            if badge not in index:
                index[badge] = len(shown)
                shown.append(ids[badge])
            trips.append((index[badge], trip))
    found = [v for v in violations_between(session, a, b, viewer) if z is None or v.zone == z.id]
    return Playback(a, b, step, zone_id, level, shown, trips, found)


def replay_people(
    session: Session,
    plant: Plant,
    start_ms: int,
    end_ms: int,
    times: Sequence[int],
    *,
    viewer: Viewer | None,
    max_age_ms: int,
    points: int = PLAYBACK_POINTS,
    tolerance_m: float = PLAYBACK_TOLERANCE_M,
) -> tuple[Playback, list[dict[str, int]]]:
    """An incident replay's people (``engine.replay``): the plant-wide :func:`playback` of the window and the
    headcount per zone at each of ``times``, from one read of the positions. Headcounts are counts, which
    every viewer may see; the playback is empty for a viewer who may not see positions."""
    a, b = _window(start_ms, end_ms)
    level = access(viewer)
    badges = _plant_badges(plant)
    step = max(step_for(b - a, points), step_for((b - a) * len(badges), PLAYBACK_BUDGET))
    tracks = _tracks(session, badges, a, b, step, sample=True)
    persons = {bd.id for bd in plant.badges if bd.kind == BadgeKind.PERSON}
    counts = replay_engine.headcounts(
        [tr for bd, tr in tracks.items() if bd in persons], times, [(z.id, z.polygon) for z in plant.zones], max_age_ms
    )
    if not _may_locate(viewer):
        return Playback(a, b, 0, None, level, [], [], []), counts
    ids = identities(plant, viewer)
    index: dict[str, int] = {}
    shown: list[Identity] = []
    trips: list[tuple[int, Trip]] = []
    for badge in sorted(tracks):
        for trip in replay(tracks[badge], step, a, b, None, tolerance_m):
            if badge not in index:
                index[badge] = len(shown)
                shown.append(ids[badge])
            trips.append((index[badge], trip))
    found = violations_between(session, a, b, viewer)
    return Playback(a, b, step, None, level, shown, trips, found), counts


# --- heatmap ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heatmap:
    """Seconds of presence per grid cell in a window (in one zone, or the whole plant): ``grid`` has ``ny``
    rows of ``nx`` cells of ``cell`` metres from the south-west corner (row ``j`` = y from ``j * cell``);
    None when the viewer may not see positions."""

    t0: int
    t1: int
    cell: float
    nx: int
    ny: int
    zone: str | None
    grid: np.ndarray | None


def heatmap(
    session: Session,
    plant: Plant,
    start_ms: int,
    end_ms: int,
    zone: str | None = None,
    *,
    viewer: Viewer | None,
    cell_m: float | None = None,
    vehicles: bool = False,
) -> Heatmap:
    """Person-seconds of presence per grid cell in ``[start_ms, end_ms]`` (in one zone, or the whole plant),
    from one position per time bucket (:func:`engine.tracks.presence`). ``webapp.live.tracks.pack_heatmap``
    packs it for the map."""
    a, b = _window(start_ms, end_ms, longest=7 * 24 * HOUR_MS)
    z = _zone(plant, zone)
    cell, nx, ny = grid_of(plant.site.width_m, plant.site.depth_m, cell_m)
    zone_id = z.id if z is not None else None
    if not _may_locate(viewer):
        return Heatmap(a, b, cell, nx, ny, zone_id, None)
    kinds = ("person", "vehicle") if vehicles else ("person",)
    badges = _plant_badges(plant, kinds)
    step = max(step_for(b - a, PLAYBACK_POINTS), step_for((b - a) * len(badges), PLAYBACK_BUDGET))
    tracks = _tracks(session, badges, a, b, step, sample=True).values()
    grid = presence(tracks, a, b, cell, nx, ny, z.polygon if z is not None else None)
    return Heatmap(a, b, cell, nx, ny, zone_id, grid)


# --- exposure -------------------------------------------------------------------------------------------------


def exposure(
    session: Session,
    plant: Plant,
    windows: Sequence[exp.Window],
    viewer: Viewer | None,
    *,
    levels: Iterable[str] | None = ("red", "orange"),
    now_ms: int | None = None,
    step_ms: int | None = None,
) -> list[exp.ExposureRow]:
    """Time each person spent in each zone at one of ``levels`` (None: every zone) per window (shift), from
    position history (one position per ``step_ms`` bucket; by default at least 5 s, at most about 2,000
    buckets per badge and a million positions in all). Rows by badge, window, zone."""
    if not _may_locate(viewer):
        raise NotAllowedError("exposure per person is not available to this viewer")
    if not windows:
        return []
    a = min(w.start_ms for w in windows)
    b = max(w.end_ms for w in windows)
    a, b = _window(a, b, longest=8 * 24 * HOUR_MS)
    if now_ms is not None:
        b = min(b, _ms(now_ms, "now"))
        if b <= a:
            return []
    badges = _plant_badges(plant, ("person",))
    step = step_ms or max(5 * SECOND_MS, step_for(b - a, 2000), step_for((b - a) * len(badges), EXPOSURE_BUDGET))
    zones = exp.zone_areas(plant, levels)
    tracks = _tracks(session, badges, a, b, step, sample=True)
    rows = exp.exposure(
        (
            exp.Track(
                tr.badge,
                np.array(tr.ts, dtype=np.int64),
                np.array(tr.x, dtype=float),
                np.array(tr.y, dtype=float),
                np.array(tr.good, dtype=bool),
            )
            for tr in tracks.values()
        ),
        zones,
        windows,
        max_hold_ms=ON_SITE_MAX_AGE_MS,
        now_ms=b,
    )
    return sorted(rows, key=lambda r: (r.badge, r.first_ms, r.zone))


# --- muster ---------------------------------------------------------------------------------------------------


def _clean_user(user: Any) -> str:
    if not isinstance(user, str):
        raise TypeError("the name of who declares or ends a muster must be text")
    text = user.strip()
    if not text:
        raise ValueError("say who declares or ends the muster")
    if len(text) > NAME_MAX:
        raise ValueError(f"the name is longer than {NAME_MAX} characters")
    if _CONTROL_RE.search(text):
        raise ValueError("the name contains control characters")
    return text


def active_muster(session: Session) -> Event | None:
    stmt = select(Event).where(Event.kind == MUSTER, Event.ts_end.is_(None)).order_by(Event.ts_start.desc()).limit(1)
    return session.scalars(stmt).first()


def last_muster(session: Session) -> Event | None:
    """The open muster, or the newest one that ended."""
    stmt = select(Event).where(Event.kind == MUSTER).order_by(Event.ts_end.isnot(None), Event.ts_start.desc())
    return session.scalars(stmt.limit(1)).first()


def declare_muster(session: Session, user: str, now_ms: int, note: str = "") -> int:
    """Declare an emergency muster (an open event of kind ``muster`` naming who declared it); when one is
    already running, its id is returned and nothing is added."""
    who = _clean_user(user)
    now = _ms(now_ms, "now")
    if not isinstance(note, str) or _CONTROL_RE.search(note.replace("\n", " ")):
        raise ValueError("the note must be plain text")
    running = active_muster(session)
    if running is not None:
        return int(running.id)
    event_id = add_event(
        session,
        MUSTER,
        source=who,
        ts_start=now,
        severity="urgent",
        message=note.strip()[:500],
        data={"declared_by": who},
    )
    logger.warning("muster declared by %s (event %d)", who, event_id)
    return event_id


def end_muster(session: Session, user: str, now_ms: int, event_id: int | None = None) -> bool:
    """End the running muster (or ``event_id``); records who ended it. False when none is running."""
    who = _clean_user(user)
    now = _ms(now_ms, "now")
    ev = active_muster(session) if event_id is None else session.get(Event, int(event_id))
    if ev is None or ev.kind != MUSTER or ev.ts_end is not None:
        return False
    if not close_event(session, int(ev.id), max(now, int(ev.ts_start))):
        return False
    data = dict(ev.data) if isinstance(ev.data, dict) else {}
    data["ended_by"] = who
    ev.data = data
    ev.ts_end = max(now, int(ev.ts_start))
    session.flush()
    logger.warning("muster %d ended by %s", ev.id, who)
    return True


def muster_arrivals(session: Session, plant: Plant, badges: Sequence[str], t0: int, t1: int) -> dict[str, mus.Arrival]:
    """Arrivals at muster points in ``[t0, t1]``: per badge first time inside any point, point seen last.
    The circles are tested in SQL, so only positions inside one come back (grouped per badge and point)."""
    points = mus.points_of(plant)
    if not points or not badges:
        return {}
    conds = [
        (_POS.c.x - literal(p.x)) * (_POS.c.x - literal(p.x)) + (_POS.c.y - literal(p.y)) * (_POS.c.y - literal(p.y))
        <= literal(p.radius * p.radius)
        for p in points
    ]
    which = case(*[(c, literal(p.id)) for c, p in zip(conds, points, strict=True)], else_=literal(None))
    rows: list[tuple[str, str, int, int]] = []
    ids = sorted(set(badges))
    for i in range(0, len(ids), 500):
        inner = (
            select(_POS.c.badge.label("badge"), which.label("pt"), _POS.c.ts.label("ts"))
            .where(
                _POS.c.badge.in_(ids[i : i + 500]),
                _POS.c.ts >= t0,
                _POS.c.ts <= t1,
                good_quality(_POS.c.quality),
                or_(*conds),
            )
            .subquery()
        )
        stmt = select(inner.c.badge, inner.c.pt, func.min(inner.c.ts), func.max(inner.c.ts)).group_by(
            inner.c.badge, inner.c.pt
        )
        rows.extend((r[0], r[1], int(r[2]), int(r[3])) for r in session.execute(stmt) if r[1] is not None)
    return mus.merge_arrivals(rows)


@dataclass(frozen=True)
class MusterView:
    event_id: int
    declared_ms: int
    ended_ms: int | None
    declared_by: str
    ended_by: str | None
    note: str
    status: mus.MusterStatus  # missing list empty for COUNTS viewers
    last_zone: dict[str, str | None]  # badge -> zone of its last known position

    @property
    def active(self) -> bool:
        return self.ended_ms is None


def muster_view(
    session: Session, plant: Plant, now_ms: int, viewer: Viewer | None, event: Event | None = None
) -> MusterView | None:
    """The running muster (or ``event``): roll, arrivals per point, the missing with their last known
    position (as of ``now_ms``, or the muster's end). None when there is no muster."""
    access(viewer)
    ev = event if event is not None else active_muster(session)
    if ev is None:
        return None
    now = _ms(now_ms, "now")
    t0 = int(ev.ts_start)
    t1 = min(now, int(ev.ts_end)) if ev.ts_end is not None else now
    t1 = max(t1, t0)
    people = _plant_badges(plant, ("person",))
    at_start = positions_at(session, people, t0)
    roll = {b: mus.Seen(b, f.ts, f.x, f.y) for b, f in at_start.items() if f.good}
    arrivals = muster_arrivals(session, plant, people, t0, t1)
    last = positions_at(session, list(roll), t1)
    last_seen = {b: mus.Seen(b, f.ts, f.x, f.y) for b, f in last.items() if f.good}
    status = mus.muster_status(mus.points_of(plant), t0, roll, arrivals, last_seen)
    polys = [(z.id, z.polygon) for z in plant.zones]
    missing = status.missing
    found = locate(np.array([m.x for m in missing], dtype=float), np.array([m.y for m in missing], dtype=float), polys)
    last_zone = {m.badge: zid for m, zid in zip(missing, found, strict=True)}
    if not _may_locate(viewer):
        status = replace(status, missing=[], at_other={}, extra=[], arrivals={}, assigned={})
        last_zone = {}
    data = ev.data if isinstance(ev.data, dict) else {}
    named = _may_name(viewer)
    return MusterView(
        event_id=int(ev.id),
        declared_ms=t0,
        ended_ms=None if ev.ts_end is None else int(ev.ts_end),
        declared_by=str(data.get("declared_by") or ev.source) if named else "",
        ended_by=(str(data["ended_by"]) if data.get("ended_by") else None) if named else None,
        note=str(ev.message or "") if named else "",
        status=status,
        last_zone=last_zone,
    )
