"""Data of the on-call page (``/oncall``): my alerts, the zone map, the nearest camera, plant headcount.

* **My alerts**: the annunciated alarms (active unacknowledged, active acknowledged, returned unacknowledged)
  of the shared alarm snapshot (``webapp.live.alarms``) in the user's areas (``Principal.areas``; a user
  without areas sees every area), unacknowledged first, then newest first.
* **Zone map**: a small SVG of the site outline and every zone, the alarm's zone highlighted, as a
  ``data:`` image (a few hundred bytes, no map library). It holds only coordinates, never plant text.
* **Nearest camera**: the alarm's own camera, else the camera nearest the alarm (its equipment, else its
  zone's centre), preferring the cameras of the alarm's zone. :func:`snapshot_url` gives a video alarm's
  event snapshot (``/video/media/<event id>/snapshot.jpg``, which the media route lets an on-call user see
  for the events of their areas); other alarms have no image (live camera pictures stay off for on-call
  users) and the page shows a placeholder in the same slot.
* **Headcount**: people on site and per zone, read through ``store.people.live_people`` with the user's
  viewer (an on-call user sees counts only), shared per access level like the personnel page.
"""

from __future__ import annotations

import base64
import logging
import math
from typing import Any

from auth.policy import Principal
from plant import Plant
from plant.schema import Camera
from store import people
from store.alarm_views import ANNUNCIATED, PRIORITY_RANK, AlarmView
from store.db import session_scope
from store.models import AppUser, WorkPermit
from store.people import Access, Viewer
from store.permits import mine
from webapp import context as web
from webapp.gate import current_user
from webapp.live.alarms import alarm_snapshot, snapshot_alarms

logger = logging.getLogger(__name__)

MAX_ALERTS = 50  # cards drawn on a phone; beyond, a "more" note
HEADCOUNT_SECONDS = 5
MAP_W = 320  # px of the map image's intrinsic width (scaled by CSS)


# --- who -------------------------------------------------------------------------------------------------


def current_principal() -> Principal | None:
    return current_user()


def my_areas(principal: Principal | None) -> tuple[str, ...]:
    """The areas whose alerts are the user's; () means every area."""
    return principal.areas if principal is not None else ()


# --- alerts ----------------------------------------------------------------------------------------------


def alert_order(a: AlarmView) -> tuple[Any, ...]:
    """Unacknowledged first, then newest first, then the most urgent, then by id (stable)."""
    return (a.acked, -(a.activated_at or 0), PRIORITY_RANK.get(a.priority, 9), a.id)


def my_alerts(snap: dict[str, Any], areas: tuple[str, ...]) -> list[AlarmView]:
    """The annunciated alarms of ``snap`` in ``areas`` (all when empty), in :func:`alert_order`."""
    wanted = set(areas)
    rows = [a for a in snapshot_alarms(snap) if a.state in ANNUNCIATED and (not wanted or a.area in wanted)]
    return sorted(rows, key=alert_order)


def alerts_now(principal: Principal | None) -> tuple[list[AlarmView], dict[str, Any]]:
    """The user's alerts and the snapshot they come from (nobody logged in: no alerts)."""
    snap = alarm_snapshot()
    if principal is None:
        return [], snap
    return my_alerts(snap, my_areas(principal)), snap


# --- geometry: zone map, camera ------------------------------------------------------------------------------


def _centroid(poly: list[tuple[float, float]]) -> tuple[float, float]:
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return (sum(xs) / len(xs), sum(ys) / len(ys)) if poly else (0.0, 0.0)


def _bounds(plant: Plant) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of the site (its extent, widened to any zone drawn outside it)."""
    xs = [0.0, plant.site.width_m] + [p[0] for z in plant.zones for p in z.polygon]
    ys = [0.0, plant.site.depth_m] + [p[1] for z in plant.zones for p in z.polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _points(poly: list[tuple[float, float]], bounds: tuple[float, float, float, float], scale: float) -> str:
    x0, _y0, _x1, y1 = bounds
    # plant y grows north, SVG y grows down
    return " ".join(f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}" for x, y in poly)


def _zone_map(zone: str | None, plant: Plant) -> str:
    bounds = _bounds(plant)
    x0, y0, x1, y1 = bounds
    width = max(x1 - x0, 1.0)
    scale = MAP_W / width
    h = max((y1 - y0) * scale, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 {MAP_W + 4} {h + 4:.0f}" '
        f'width="{MAP_W + 4}" height="{h + 4:.0f}">',
        f'<rect x="0" y="0" width="{MAP_W}" height="{h:.1f}" rx="4" fill="#0d1117" stroke="#6e7681" '
        'stroke-width="1.5"/>',
    ]
    hit = None
    for z in plant.zones:
        if z.id == zone:
            hit = z
            continue
        parts.append(f'<polygon points="{_points(z.polygon, bounds, scale)}" fill="#21262d" stroke="#484f58"/>')
    if hit is not None:
        cx, cy = _centroid(hit.polygon)
        pts = _points(hit.polygon, bounds, scale)
        parts.append(f'<polygon points="{pts}" fill="#ffc53d" fill-opacity=".55" stroke="#ffc53d" stroke-width="2.5"/>')
        parts.append(
            f'<circle cx="{(cx - x0) * scale:.1f}" cy="{(y1 - cy) * scale:.1f}" r="5" fill="#fff" '
            'stroke="#0d1117" stroke-width="2"/>'
        )
    parts.append("</svg>")
    svg = "".join(parts)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def zone_map(plant: Plant, zone: str | None) -> str:
    """A ``data:`` URL of the site map with ``zone`` highlighted (no highlight for an unknown zone)."""
    key = (id(plant), zone)
    hit = _MAP_CACHE.get(key)
    if hit is None or hit[0] is not plant:
        if len(_MAP_CACHE) > 512:
            _MAP_CACHE.clear()
        hit = (plant, _zone_map(zone, plant))
        _MAP_CACHE[key] = hit
    return hit[1]


_MAP_CACHE: dict[tuple[int, str | None], tuple[Plant, str]] = {}


def alarm_point(plant: Plant, a: AlarmView) -> tuple[float, float] | None:
    """Where the alarm is: its equipment's position, else its zone's centre, else None."""
    if a.equipment:
        for e in plant.equipment:
            if e.id == a.equipment:
                return float(e.position[0]), float(e.position[1])
    if a.zone:
        for z in plant.zones:
            if z.id == a.zone:
                return _centroid(z.polygon)
    return None


def nearest_camera(plant: Plant, a: AlarmView) -> Camera | None:
    """The alarm's own camera, else the camera nearest to it (those of its zone first), else None."""
    if not plant.cameras:
        return None
    if a.camera:
        for c in plant.cameras:
            if c.id == a.camera:
                return c
    at = alarm_point(plant, a)
    if at is None:
        return None
    in_zone = [c for c in plant.cameras if a.zone and c.zone == a.zone]
    pool = in_zone or list(plant.cameras)
    return min(pool, key=lambda c: (math.hypot(c.position[0] - at[0], c.position[1] - at[1]), c.id))


def snapshot_url(camera: Camera | None, alarm: AlarmView | None = None) -> str | None:
    """The image for the alarm's snapshot slot: a video alarm's event snapshot
    (``/video/media/<event id>/snapshot.jpg``), else None (the page shows a placeholder).

    Live camera snapshots (``/video/snapshot/<camera>.jpg``) need ``Perm.VIDEO``, which on-call users do not
    have, so other alarms keep the nearest camera's name without a picture."""
    if alarm is None or alarm.source_type != "video":
        return None
    kind, _, number = alarm.id.partition(":")
    if kind != "video" or not number.isdigit():
        return None
    return f"/video/media/{int(number)}/snapshot.jpg"


# --- headcount -----------------------------------------------------------------------------------------------


def _headcount_producer(level: Access) -> web.Shared[dict[str, Any]]:
    def produce() -> dict[str, Any]:
        now = web.now_ms()
        with session_scope(web.engine()) as session:
            view = people.live_people(session, web.plant(), now, people.viewer_for(level))
        return {"persons": int(view.on_site.get("person", 0)), "zones": dict(view.headcount)}

    produce.__qualname__ = f"oncall_headcount_{level.value}"
    return web.Shared(produce, HEADCOUNT_SECONDS)


_HEADCOUNT = {level: _headcount_producer(level) for level in Access}


def headcount(viewer: Viewer | None) -> dict[str, Any]:
    """People on site (``persons``) and per zone (``zones``), as ``viewer`` may see them (counts only)."""
    return _HEADCOUNT[people.access(viewer)]()


# --- my special-work permits -------------------------------------------------------------------------------------

MY_PERMITS_SINCE_MS = 24 * 3_600_000  # those that ended in the last day too


def my_permits(principal: Principal | None, now_ms: int) -> list[tuple[WorkPermit, tuple[str, ...]]]:
    """The special-work permits the user is on (``store.permits.mine``: guardian or crew by the badge on their
    account, applicant or approver by their user name), open now or ended in the last day; none for nobody."""
    if principal is None:
        return []
    with session_scope(web.engine()) as session:
        user = session.get(AppUser, principal.user_id)
        badge = user.badge if user is not None else None
        rows = mine(session, principal.username, badge, now_ms - MY_PERMITS_SINCE_MS)
        session.expunge_all()
    return rows
