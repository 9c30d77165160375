"""Where an alarm is, in the reader's language: the names of the plant's areas, zones and equipment."""

from __future__ import annotations

from i18n import label
from plant import Plant
from store.alarm_views import AlarmView


def plant_names(plant: Plant, lang: str) -> dict[str, dict[str, str]]:
    return {
        "area": {a.id: label(a.name, a.name_zh, lang) for a in plant.areas},
        "zone": {z.id: label(z.name, z.name_zh, lang) for z in plant.zones},
        "equipment": {e.id: label(e.name, e.name_zh, lang) for e in plant.equipment},
    }


def place(a: AlarmView, names: dict[str, dict[str, str]]) -> str:
    """Where, in a few words: the zone, else the area."""
    if a.zone:
        return names["zone"].get(a.zone, a.zone)
    if a.area:
        return names["area"].get(a.area, a.area)
    return "-"


def where(a: AlarmView, names: dict[str, dict[str, str]]) -> str:
    parts = []
    if a.area:
        parts.append(names["area"].get(a.area, a.area))
    if a.zone:
        parts.append(names["zone"].get(a.zone, a.zone))
    return " · ".join(parts) or "-"
