"""The data of the safety page's hazard-source section: each major hazard source's identification and grade
(``engine.hazards``, with every input) and its live readings against their thresholds, from the newest stored
samples. Plain data; the page renders it."""

from __future__ import annotations

from typing import Any

from engine.hazards import Assessment, ReadingState, assess, readings
from plant import Plant
from plant.schema import HazardSource
from store.alarm_views import AlarmFilter, AlarmView, open_alarms
from store.db import session_scope
from store.samples import latest_values
from store.tags import tag_ids
from webapp import context as web


def latest_readings(plant: Plant) -> dict[str, float | None]:
    """The newest stored value of every hazard-source reading tag (None: no value, or a bad one)."""
    wanted = {r.tag for hs in plant.hazards.sources for r in hs.readings}
    if not wanted:
        return {}
    with session_scope(web.engine()) as session:
        ids = {name: i for name, i in tag_ids(session).items() if name in wanted}
        latest = latest_values(session, list(ids.values()))
    by_id = {i: name for name, i in ids.items()}
    return {by_id[i]: s.value for i, s in latest.items() if i in by_id}


def sources(plant: Plant, values: dict[str, Any]) -> list[tuple[Assessment, list[ReadingState]]]:
    """Every hazard source of the plant file with its assessment and its readings now."""
    return [(assess(hs), readings(hs, values)) for hs in plant.hazards.sources]


def source_alarms(plant: Plant) -> dict[str, list[AlarmView]]:
    """The annunciated alarms of each hazard source, most urgent first: its readings over their thresholds
    (source type ``hazard``) and intrusions into its fence (personnel alarms naming it)."""
    known = {hs.id for hs in plant.hazards.sources}
    out: dict[str, list[AlarmView]] = {}
    if not known:
        return out
    flt = AlarmFilter(source_types=("hazard", "personnel"))
    with session_scope(web.engine()) as session:
        views = open_alarms(session, web.now_ms(), flt, limit=500)
    for a in views:
        source = a.source if a.source_type == "hazard" else (a.data or {}).get("hazard_source")
        if isinstance(source, str) and source in known:
            out.setdefault(source, []).append(a)
    return out


def fence_centre(hs: HazardSource) -> tuple[float, float]:
    """The middle of a hazard source's fence (its vertices' mean), where the map opens on it."""
    xs = [p[0] for p in hs.fence]
    ys = [p[1] for p in hs.fence]
    return sum(xs) / len(xs), sum(ys) / len(ys)
