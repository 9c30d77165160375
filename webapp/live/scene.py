"""Scene data shared by the 3D page and the overview's compact view: the static spec and the live payload."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from auth.policy import Perm
from plant.loader import load_plant_cached
from scene.bundle import deck_url, mesh_url, plant_bundle
from scene.layers import (
    alarm_markers,
    energy_zones,
    hazard_sources,
    live_scene,
    static_scene,
    video_markers,
)
from store.db import session_scope
from store.figures import meter_period
from store.people import Access, Viewer
from webapp import context as web
from webapp.gate import current_user
from webapp.live import emergency as emergency_live
from webapp.live.alarms import alarm_snapshot
from webapp.live.snapshot import snapshot

logger = logging.getLogger(__name__)


@lru_cache(maxsize=16)
def static_spec(plant_file: str, lang: str, deck_id: str, selected_id: str, names: bool) -> dict[str, Any]:
    """Geometry, names and meshes' address, sent once with a page; ``deck_id`` is where it draws. Badge
    names only with ``names`` (:func:`webapp.live.personnel.names_visible`), so the cache keeps one spec
    for each."""
    plant = load_plant_cached(plant_file)
    bundle = plant_bundle(plant_file)
    return static_scene(
        plant,
        bundle,
        lang,
        mesh_url=mesh_url(bundle.digest),
        deck_url=deck_url(),
        ids={"deck": deck_id, "selected": selected_id},
        names=names,
    )


def redact_details(data: dict[str, Any]) -> dict[str, Any]:
    """A side panel's data (``scene.details``) without who anyone is: a badge keeps its role, kind, zone and
    SOS, a zone's list of people keeps their roles; names and teams are blank."""
    out = dict(data)
    if out.get("type") == "badge":
        out.update(name="", name_zh=None, team="")
    if out.get("people"):
        rows = [dict(p, name="", name_zh=None, team="") for p in out["people"]]
        rows.sort(key=lambda r: (not r.get("sos"), str(r.get("role")), str(r.get("id"))))
        out["people"] = rows
    return out


@lru_cache(maxsize=4)
def _hazards(plant_file: str) -> list[Any]:
    return hazard_sources(load_plant_cached(plant_file))


@web.shared(web.SNAPSHOT_SECONDS)
def live_payload() -> dict[str, Any]:
    """This refresh period's live fields (states, levels, badges, hazard values, alarm markers, cameras and
    zones of video alarms), shared by every scene."""
    plant_file = str(web.settings().plant_file)
    plant = load_plant_cached(plant_file)
    live = live_scene(plant, snapshot(), _hazards(plant_file))
    try:
        alarms = alarm_snapshot()["alarms"]
        live["al"] = alarm_markers(plant, alarms)
        # cameras and zones of video alarms: only while there are any (a few bytes each)
        live.update({k: v for k, v in video_markers(plant, alarms).items() if v})
    except Exception:  # the scene still draws without the alarm store
        logger.exception("scene: no alarm markers this refresh")
        live["al"] = []
    try:
        em = emergency_layer()
        if em:
            live["em"] = em
    except Exception:  # the scene still draws without the emergency
        logger.exception("scene: no emergency layer this refresh")
    return live


ENERGY_WINDOW_MS = 24 * 3_600_000  # the energy layer shows the last 24 hours


@web.shared(60)
def energy_layer() -> list[list[Any]]:
    """The optional energy layer (``scene.layers.energy_zones``) over the last 24 hours, read from the hourly
    rollups like the energy page (a minute old at most: it moves by the hour)."""
    plant = web.plant()
    now = web.now_ms()
    with session_scope(web.engine()) as session:
        readings, intensities = meter_period(session, plant, now - ENERGY_WINDOW_MS, now)
    return energy_zones(plant, readings, intensities)


def with_energy(live: dict[str, Any]) -> dict[str, Any]:
    """``live`` with the energy layer (``en``) for a viewer who may see energy figures (``Perm.ENERGY``);
    without the store's figures the scene draws without it."""
    user = current_user()
    if user is None or not user.can(Perm.ENERGY):
        return live
    try:
        return {**live, "en": energy_layer()}
    except Exception:
        logger.exception("scene: no energy layer this refresh")
        return live


def emergency_layer() -> dict[str, Any] | None:
    """While an emergency runs: its danger area (``d``, polygons) and the evacuation routes (``r``: paths of
    the people still to reach safety; ``x``: those that start inside the danger area). Positions without names,
    as every scene viewer may see them."""
    if emergency_live.state()["active"] is None:
        return None
    view = emergency_live.view(Viewer(access=Access.ANONYMOUS))
    sit = view.get("situation") or {}
    routes: list[list[list[float]]] = []
    out: list[list[list[float]]] = []
    for r in sit.get("people") or []:
        if r["class"] in ("at_point", "left_site") or not r["path"]:
            continue
        path = [[round(x, 1), round(y, 1), 0.6] for x, y in r["path"]]
        (out if r["route"] == "in_danger" else routes).append(path)
    return {"d": sit.get("danger") or [], "r": routes, "x": out}
