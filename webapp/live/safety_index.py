"""The data of the safety early-warning index (``engine.safety_index``) for the screens: each zone's inputs from the
store and the shared snapshot (annunciated alarms, open violations, open hidden dangers, active permits, staffing,
gas detectors over their limits), the zones' and the plant's index, their colours (with hysteresis: the previous
colours are kept in the shared cache for ``COLOUR_MEMORY_S``). Plain data; the page renders it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import permits as pr
from engine.hidden_dangers import MAJOR, overdue
from engine.safety_index import ZoneIndex, ZoneInputs, check_weights, colour, plant_index, zone_index
from plant import Plant
from store.alarm_views import open_alarms
from store.db import session_scope
from store.events import VIOLATION, open_events
from store.hidden_dangers import as_danger, open_dangers
from store.permits import live
from webapp import context as web
from webapp.live.snapshot import snapshot

COLOUR_KEY = "safety-index-colours"
COLOUR_MEMORY_S = 3600
STAFFING_RULES = {"under_staffed", "over_staffed"}


@dataclass(frozen=True)
class IndexView:
    value: float
    worst_zone: str | None
    colour: str
    zones: dict[str, ZoneIndex]
    colours: dict[str, str]


def gather(plant: Plant) -> dict[str, ZoneInputs]:
    """Every zone's inputs now."""
    snap = snapshot()
    now = web.now_ms()
    out = {z.id: ZoneInputs(level=z.lec.level.value) for z in plant.zones}
    for zone, r in (snap.get("risk") or {}).items():
        z_in = out.get(zone)
        if z_in is None:
            continue
        for reason in r.get("reasons", []):
            code = reason.get("code")
            if code == "gas_h":
                z_in.gas_h += 1
            elif code == "gas_hh":
                z_in.gas_hh += 1
            elif code == "over_staffed":
                z_in.staffing_off = True
    with session_scope(web.engine()) as session:
        for a in open_alarms(session, now, limit=1000):
            if a.zone in out and a.active:
                out[a.zone].alarms.append(a.priority)
        for ev in open_events(session, VIOLATION):
            if ev.zone not in out:
                continue
            if ev.source in STAFFING_RULES:
                out[ev.zone].staffing_off = True
            else:
                out[ev.zone].violations += 1
        for row in open_dangers(session):
            if row.zone not in out:
                continue
            d = as_danger(row)
            z_in = out[row.zone]
            z_in.dangers_open += 1
            z_in.dangers_overdue += overdue(d, now)
            z_in.dangers_major += d.grade == MAJOR
        for p in live(session):
            if p.state != pr.ACTIVE or p.zone not in out:
                continue
            if p.kind in pr.GAS_KINDS:
                out[p.zone].permits_high += 1
            else:
                out[p.zone].permits_other += 1
    return out


def current(plant: Plant) -> IndexView:
    cfg = plant.safety_index
    weights = check_weights(cfg.weights)
    zones = {zid: zone_index(zid, z_in, weights) for zid, z_in in gather(plant).items()}
    value, worst = plant_index(zones)
    previous: dict[str, Any] = web.cache_get(COLOUR_KEY) or {}
    colours = {zid: colour(z.value, previous.get(zid), cfg.thresholds, cfg.hysteresis) for zid, z in zones.items()}
    colours["_plant"] = colour(value, previous.get("_plant"), cfg.thresholds, cfg.hysteresis)
    web.cache_set(COLOUR_KEY, colours, COLOUR_MEMORY_S)
    return IndexView(value, worst, colours["_plant"], zones, colours)
