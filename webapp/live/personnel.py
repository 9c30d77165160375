"""Data of the personnel page (``/personnel``), all read through :mod:`store.people` with a viewer.

* :func:`live` - this refresh period's people, statuses, headcount per zone, violation feed and muster,
  built once per period and access level and shared by every open screen (``webapp.context.Shared``), so N screens
  cost about one set of queries;
* :func:`static_spec` - what the map draws that does not change while the page is open (the scene's
  geometry and meshes, badge names as the viewer may see them, translated words);
* :func:`playback`, :func:`heat`, :func:`path` - windows of history for the map, cached briefly (packed by
  :mod:`webapp.live.tracks`);
* :func:`exposure_table` and :func:`exposure_csv` (served as ``/personnel/exposure.csv`` by ``webapp.routes``).

Plant strings travel as data; the browser shows them with ``textContent`` only.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from auth.policy import viewer_of
from engine import exposure as exp
from engine.clock import DATE_TIME, format_local, to_local
from engine.personnel import RULES
from engine.shifts import current_shift
from engine.tables import to_csv
from i18n import label, t
from plant import Plant
from plant.loader import load_plant_cached
from plant.schema import PRIORITIES
from scene.bundle import deck_url, mesh_url, plant_bundle
from scene.layers import nearest_camera, polygon_centroid, static_scene, text_table
from store import people
from store.db import session_scope
from store.people import Access, Viewer
from webapp import context as web
from webapp.gate import current_user
from webapp.live.tracks import pack_heatmap, pack_playback

logger = logging.getLogger(__name__)

STATUS_CODE = {"normal": 0, "violation": 1, "sos": 2}
STATUS_COLORS = {"normal": (125, 133, 144), "violation": (249, 115, 22), "sos": (255, 40, 40)}
MISSING_COLOR = (232, 121, 249)
FOLLOW_COLOR = (255, 255, 255)
FEED_LIMIT = 40
MISSING_LIMIT = 200
DURATIONS_MIN = (15, 30, 60, 120, 240, 480, 1440)
HISTORY_DAYS = 14
HISTORY_CACHE_S = 20
EXPOSURE_CACHE_S = 60
SEVERITIES = PRIORITIES
EXPOSURE_LEVELS = {"hazard": ("red", "orange"), "all": None}


def current_viewer() -> Viewer | None:
    """Who is looking: the logged-in user's scope (:func:`auth.policy.viewer_of` decides what that user sees).
    Every request that reaches this page has one (``auth.policy``); None (nobody logged in) is refused by
    ``store.people`` (:class:`store.people.NoViewerError`), never read as everybody."""
    return viewer_of(current_user())


def names_visible() -> bool:
    """Whether the user of this request may see who a badge is: names and teams (dispatchers, admins), or
    only where badges are and their role (executives, on-call phones). ``auth.policy.viewer_of`` decides, as
    for the personnel page; alarm texts follow it too (``webapp.live.alarms.alarm_text``)."""
    viewer = current_viewer()  # nobody logged in: no names
    return viewer is not None and people.access(viewer) == Access.FULL


# --- live, shared per access level -------------------------------------------------------------------


def _floor_height(plant: Plant) -> dict[str, float]:
    return {z.id: z.height_m / max(1, z.floors) for z in plant.zones}


def _camera_for(plant: Plant, camera: str | None, zone: str | None, xy: tuple[float, float] | None) -> str | None:
    """The violation's camera (the rules engine names it), else the nearest to the person, else to the zone."""
    if camera:
        return camera
    if xy is None and zone is not None:
        z = next((z for z in plant.zones if z.id == zone), None)
        xy = polygon_centroid(z.polygon) if z is not None else None
    if xy is None:
        return None
    found = nearest_camera(plant, xy[0], xy[1])
    return found[0].id if found else None


def build_live(level: Access) -> dict[str, Any]:
    """Everything the page shows live, for viewers of ``level``, as plain JSON-able data."""
    plant = web.plant()
    now = web.now_ms()
    viewer = people.viewer_for(level)
    with session_scope(web.engine()) as session:
        view = people.live_people(session, plant, now, viewer)
        feed = people.violation_feed(session, now, viewer, limit=FEED_LIMIT)
        muster = people.muster_view(session, plant, now, viewer)
    found = current_shift(plant, now)
    shift = found[0].id if found else None
    index = {b.id: i for i, b in enumerate(plant.badges)}
    floors = _floor_height(plant)
    where: dict[str, tuple[float, float]] = {}
    rows = []
    for p in view.people:
        z = 0.0 if p.kind == "vehicle" or p.zone is None else p.floor * floors.get(p.zone, 0.0)
        rows.append(
            [
                index[p.badge],
                round(p.x, 1),
                round(p.y, 1),
                round(z, 1),
                STATUS_CODE[p.status],
                int(p.stale),
                round((now - p.ts) / 1000),
            ]
        )
        where[p.badge] = (p.x, p.y)
    headcount = []
    for zone in plant.zones:
        n = int(view.headcount.get(zone.id, 0))
        limits = zone.headcount.get(shift) if shift else None
        lo = limits.min if limits else None
        hi = limits.max if limits else None
        state = "over" if hi is not None and n > hi else "under" if lo is not None and n < lo else "ok"
        headcount.append({"zone": zone.id, "n": n, "min": lo, "max": hi, "state": state, "level": zone.level.value})
    violations = [
        {
            "id": v.id,
            "rule": v.rule,
            "badge": v.badge,
            "zone": v.zone,
            "severity": v.severity,
            "start": v.start_ms,
            "end": v.end_ms,
            "message": v.message,
            "camera": _camera_for(plant, v.camera, v.zone, where.get(v.badge or "")),
        }
        for v in feed
    ]
    out: dict[str, Any] = {
        "now_ms": now,
        "shift": shift,
        "access": level.value,
        "people": rows,
        "on_site": view.on_site,
        "by_role": view.by_role,
        "by_status": view.by_status,
        "headcount": headcount,
        "violations": violations,
        "muster": None if muster is None else _muster_dict(plant, muster, index, now),
    }
    return out


def _muster_dict(plant: Plant, m: people.MusterView, index: dict[str, int], now: int) -> dict[str, Any]:
    st = m.status
    missing = [
        {
            "badge": x.badge,
            "i": index.get(x.badge),
            "x": round(x.x, 1),
            "y": round(x.y, 1),
            "ts": x.ts,
            "age_s": max(0, round((now - x.ts) / 1000)),
            "assigned": x.assigned,
            "zone": m.last_zone.get(x.badge),
        }
        for x in st.missing
    ]
    return {
        "id": m.event_id,
        "declared_ms": m.declared_ms,
        "declared_by": m.declared_by,
        "note": m.note,
        "on_roll": st.on_roll,
        "arrived": st.arrived,
        "missing_count": st.missing_count,
        "missing": missing,
        "points": [
            {
                "id": p.point,
                "arrived": p.arrived,
                "assigned": p.assigned,
                "from_other": p.from_other,
                "elsewhere": p.elsewhere,
                "capacity": p.capacity,
            }
            for p in st.points
        ],
        "at_other": st.at_other,
        "extra": len(st.extra),
    }


def _producer(level: Access) -> Callable[[], dict[str, Any]]:
    def produce() -> dict[str, Any]:
        return build_live(level)

    produce.__qualname__ = f"personnel_live_{level.value}"
    produce.__name__ = produce.__qualname__
    return produce


_LIVE: dict[Access, web.Shared[dict[str, Any]]] = {
    level: web.Shared(_producer(level), web.SNAPSHOT_SECONDS) for level in Access
}


def live(viewer: Viewer | None) -> dict[str, Any]:
    """This period's live data for ``viewer`` (one build per period and access level, for every screen)."""
    return _LIVE[people.access(viewer)]()


def expire_live() -> None:
    """Forget the shared live data (after a muster is declared or ended: screens show it at once)."""
    for shared in _LIVE.values():
        shared.expire()


# --- static map spec ----------------------------------------------------------------------------------


PERSONNEL_TEXT = (
    "personnel.tip.status.normal",
    "personnel.tip.status.violation",
    "personnel.tip.status.sos",
    "personnel.tip.stale",
    "personnel.tip.missing",
    "personnel.tip.zone",
    "personnel.tip.outside",
    "personnel.tip.heat",
    "personnel.play",
    "personnel.pause",
    "personnel.speed",
    "personnel.playback.people",
    "personnel.loading",
)


@lru_cache(maxsize=16)
def static_spec(plant_file: str, lang: str, level: str, ids: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """The map's static part for viewers of ``level`` in ``lang``; ``ids`` names the page's components."""
    plant = load_plant_cached(plant_file)
    bundle = plant_bundle(plant_file)
    idmap = dict(ids)
    spec = dict(
        static_scene(
            plant,
            bundle,
            lang,
            mesh_url=mesh_url(bundle.digest),
            deck_url=deck_url(),
            ids=idmap,
        )
    )
    who = people.identities(plant, people.viewer_for(Access(level)))
    spec["badges"] = [
        {
            "id": b.id,
            "n": label(i.name, i.name_zh, lang) if i.name else b.id,
            "r": i.role,
            "v": int(i.vehicle),
        }
        for b in plant.badges
        if (i := who.get(b.id)) is not None
    ]
    text = text_table(lang)
    text.update({k.removeprefix("personnel."): t(k, lang) for k in PERSONNEL_TEXT})
    text.update({f"rule.{r}": t(f"personnel.rule.{r}", lang) for r in RULES})
    spec["text"] = text
    spec["tz"] = plant.site.timezone
    spec["access"] = level
    spec["colors"] = dict(spec["colors"]) | {
        "status": {str(STATUS_CODE[k]): v for k, v in STATUS_COLORS.items()},
        "missing": MISSING_COLOR,
        "follow": FOLLOW_COLOR,
        "severity_ev": {
            "urgent": (255, 40, 40),
            "high": (249, 115, 22),
            "medium": (234, 179, 8),
            "low": (96, 165, 250),
        },
    }
    return spec


# --- windows of history ---------------------------------------------------------------------------------


class WindowError(ValueError):
    """A window the user typed that cannot be used; ``key`` is the translation key of the message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_DT_RE = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})[ T]+)?(\d{1,2}):(\d{2})\s*$")


def parse_window(end_text: str | None, minutes: Any, plant: Plant, now_ms: int) -> tuple[int, int]:
    """``[end - minutes, end]`` in UTC ms; ``end_text`` empty or "now", ``HH:MM`` (today, plant time) or
    ``YYYY-MM-DD HH:MM`` in the plant's time zone. Raises :class:`WindowError`."""
    try:
        mins = float(minutes)
    except (TypeError, ValueError):
        raise WindowError("personnel.window.bad_duration") from None
    if not math.isfinite(mins) or mins <= 0 or mins > 24 * 60:
        raise WindowError("personnel.window.bad_duration")
    text = (end_text or "").strip()
    if text == "" or text.lower() in ("now", "现在"):
        end = now_ms
    else:
        m = _DT_RE.match(text)
        if m is None:
            raise WindowError("personnel.window.bad_end")
        tz = plant.tz()
        local_now = to_local(now_ms, tz)
        try:
            day = date(int(m[1]), int(m[2]), int(m[3])) if m[1] else local_now.date()
            when = datetime(day.year, day.month, day.day, int(m[4]), int(m[5]), tzinfo=tz)
        except ValueError:
            raise WindowError("personnel.window.bad_end") from None
        end = int(when.timestamp() * 1000)
        if end > now_ms + 60_000:
            raise WindowError("personnel.window.future")
    return end - int(mins * 60_000), end


def playback(t0: int, t1: int, zone: str | None, viewer: Viewer | None) -> dict[str, Any]:
    level = people.access(viewer)

    def build() -> dict[str, Any]:
        with session_scope(web.engine()) as session:
            found = people.playback(session, web.plant(), t0, t1, zone=zone, viewer=viewer)
        return pack_playback(found)

    return web.cached(f"sw:personnel:trips:{level}:{t0 // 1000}:{t1 // 1000}:{zone}", HISTORY_CACHE_S, build)


def heat(t0: int, t1: int, zone: str | None, viewer: Viewer | None) -> dict[str, Any]:
    level = people.access(viewer)

    def build() -> dict[str, Any]:
        with session_scope(web.engine()) as session:
            found = people.heatmap(session, web.plant(), t0, t1, zone=zone, viewer=viewer)
        return pack_heatmap(found)

    return web.cached(f"sw:personnel:heat:{level}:{t0 // 1000}:{t1 // 1000}:{zone}", HISTORY_CACHE_S, build)


def path(badge: str, t0: int, t1: int, viewer: Viewer | None) -> dict[str, Any]:
    """A trajectory for the map: segments of [x, y, z] and a summary."""
    with session_scope(web.engine()) as session:
        tr = people.trajectory(session, web.plant(), badge, t0, t1, viewer)
    return {
        "badge": badge,
        "t0": t0,
        "t1": t1,
        "segments": [[[round(x, 1), round(y, 1), 0.6] for _ts, x, y, _f in seg] for seg in tr.segments],
        "points": tr.points,
        "distance_m": tr.distance_m,
        "zones": tr.zones,
        "first_ms": tr.segments[0][0][0] if tr.segments else None,
        "last_ms": tr.segments[-1][-1][0] if tr.segments else None,
    }


# --- exposure -----------------------------------------------------------------------------------------


def plant_today(plant: Plant, now_ms: int) -> date:
    return to_local(now_ms, plant.tz()).date()


def history_days(plant: Plant, now_ms: int) -> list[date]:
    today = plant_today(plant, now_ms)
    return [today - timedelta(days=k) for k in range(HISTORY_DAYS)]


def parse_day(text: str | None, plant: Plant, now_ms: int) -> date:
    if not text:
        return plant_today(plant, now_ms)
    try:
        day = date.fromisoformat(str(text).strip())
    except ValueError:
        raise WindowError("personnel.exposure.bad_day") from None
    if day > plant_today(plant, now_ms):
        raise WindowError("personnel.exposure.bad_day")
    return day


def exposure_windows(plant: Plant, day: date, shift: str | None) -> list[exp.Window]:
    windows = exp.shift_windows(plant, day)
    if shift in (None, "", "all"):
        return windows
    chosen = [w for w in windows if w.shift == shift]
    if not chosen:
        raise WindowError("personnel.exposure.bad_shift")
    return chosen


def exposure_table(day: date, shift: str | None, levels: str, viewer: Viewer | None) -> list[dict[str, Any]]:
    """Exposure rows (JSON-able) for ``day`` and ``shift`` ("all" for every shift of the day), most time first."""
    if levels not in EXPOSURE_LEVELS:
        raise WindowError("personnel.exposure.bad_levels")
    plant = web.plant()
    now = web.now_ms()
    windows = exposure_windows(plant, day, shift)
    level = people.access(viewer)
    finished = max(w.end_ms for w in windows) < now

    def build() -> list[dict[str, Any]]:
        with session_scope(web.engine()) as session:
            rows = people.exposure(session, plant, windows, viewer, levels=EXPOSURE_LEVELS[levels], now_ms=now)
        return [
            {
                "badge": r.badge,
                "shift": r.shift,
                "zone": r.zone,
                "level": r.level,
                "seconds": r.seconds,
                "entries": r.entries,
                "first_ms": r.first_ms,
                "last_ms": r.last_ms,
            }
            for r in sorted(rows, key=lambda r: (-r.seconds, r.badge, r.zone))
        ]

    key = f"sw:personnel:exposure:{level}:{day.isoformat()}:{shift}:{levels}"
    return web.cached(key, 600 if finished else EXPOSURE_CACHE_S, build)


def fmt_duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def exposure_csv(day: date, shift: str | None, levels: str, viewer: Viewer | None, lang: str) -> bytes:
    plant = web.plant()
    rows = exposure_table(day, shift, levels, viewer)
    who = people.identities(plant, viewer)
    zones = {z.id: z for z in plant.zones}
    header = [
        t(f"personnel.csv.{k}", lang)
        for k in (
            "badge",
            "name",
            "role",
            "team",
            "shift",
            "zone_id",
            "zone",
            "level",
            "minutes",
            "seconds",
            "entries",
            "first",
            "last",
        )
    ]
    body = []
    for r in rows:
        ident = who.get(r["badge"])
        zone = zones.get(r["zone"])
        body.append(
            [
                r["badge"],
                (label(ident.name, ident.name_zh, lang) if ident and ident.name else ""),
                t(f"scene.role.{ident.role}", lang) if ident else "",
                ident.team if ident else "",
                r["shift"],
                r["zone"],
                label(zone.name, zone.name_zh, lang) if zone else r["zone"],
                t(f"scene.level.{r['level']}", lang),
                round(r["seconds"] / 60, 1),
                round(r["seconds"]),
                r["entries"],
                format_local(r["first_ms"], plant.tz(), DATE_TIME),
                format_local(r["last_ms"], plant.tz(), DATE_TIME),
            ]
        )
    return to_csv(header, body)
