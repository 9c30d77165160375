"""Scene data shared by the 3D page and the overview's compact view: the static spec and the live payload."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import web
from dashboards._alarm_live import alarm_snapshot
from dashboards._live import snapshot
from plant.loader import load_plant_cached
from scene.bundle import plant_bundle
from scene.layers import alarm_markers, hazard_sources, live_scene, static_scene
from scene.routes import deck_url, mesh_url

logger = logging.getLogger(__name__)


@lru_cache(maxsize=16)
def static_spec(plant_file: str, lang: str, deck_id: str, selected_id: str) -> dict[str, Any]:
    """Geometry, names and meshes' address, sent once with a page; ``deck_id`` is where it draws."""
    plant = load_plant_cached(plant_file)
    bundle = plant_bundle(plant_file)
    return static_scene(
        plant,
        bundle,
        lang,
        mesh_url=mesh_url(bundle.digest),
        deck_url=deck_url(),
        ids={"deck": deck_id, "selected": selected_id},
    )


@lru_cache(maxsize=4)
def _hazards(plant_file: str) -> list[Any]:
    return hazard_sources(load_plant_cached(plant_file))


@web.shared(web.SNAPSHOT_SECONDS)
def live_payload() -> dict[str, Any]:
    """This refresh period's live fields (states, levels, badges, hazard values, alarm markers), shared by
    every scene."""
    plant_file = str(web.settings().plant_file)
    plant = load_plant_cached(plant_file)
    live = live_scene(plant, snapshot(), _hazards(plant_file))
    try:
        live["al"] = alarm_markers(plant, alarm_snapshot()["alarms"])
    except Exception:  # the scene still draws without the alarm store
        logger.exception("scene: no alarm markers this refresh")
        live["al"] = []
    return live
