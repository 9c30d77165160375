"""Downtime reasons in the demo's history: what dispatchers would have said about the older spells.

The backfill assigns a reason to most unplanned spells that ended more than ``RECENT_HOURS`` before its
end (a few are left unassigned, and every recent one, so the "unassigned" list has work in it), picked
from the plant's reason tree with weights that suit the unit: belts on conveyors, seals on pumps,
refractory on furnaces, ladles and cranes on casting wheels. The pick is seeded by the spell, so a second
run gives the same reasons. Short stops are left alone (they never need one).
"""

from __future__ import annotations

import logging
import random

from sqlalchemy.orm import Session

from engine.equipment import MINUTE_MS, UNPLANNED
from plant.schema import EquipmentKind, Plant
from store.equipment import assign_reason, state_spans

logger = logging.getLogger(__name__)

RECENT_HOURS = 8.0
ASSIGNED_SHARE = 0.85
DEMO_USER = "demo-dispatcher"

# Reason id -> weight, by unit kind (reasons missing from the plant's tree are skipped).
_COMMON = {"elec.motor": 3, "elec.instrument": 3, "elec.dcs": 1, "elec.power": 1, "ops.safety": 1}
_BY_KIND: dict[EquipmentKind, dict[str, float]] = {
    EquipmentKind.CONVEYOR: {"mech.belt": 8, "mech.bearing": 4, "proc.blockage": 6, "supply.no_feed": 4},
    EquipmentKind.PUMP: {"mech.pump_seal": 8, "mech.bearing": 4, "proc.blockage": 2},
    EquipmentKind.MILL: {"mech.bearing": 6, "proc.blockage": 4, "supply.no_feed": 3},
    EquipmentKind.CRANE: {"mech.hydraulic": 6, "elec.motor": 4, "ops.operator": 2},
    EquipmentKind.CASTING_WHEEL: {"mech.hydraulic": 5, "supply.crane": 6, "ops.changeover": 3, "proc.temperature": 2},
    EquipmentKind.FLASH_FURNACE: {"mech.refractory": 6, "proc.accretion": 5, "proc.offgas": 4, "supply.no_feed": 3},
    EquipmentKind.CONVERTER: {"mech.refractory": 5, "supply.crane": 5, "proc.offgas": 4, "proc.temperature": 2},
    EquipmentKind.ANODE_FURNACE: {"mech.refractory": 4, "supply.crane": 3, "proc.temperature": 3},
    EquipmentKind.SLAG_FURNACE: {"mech.refractory": 4, "proc.accretion": 3, "supply.downstream_full": 2},
    EquipmentKind.ELECTROLYTIC_CELLS: {"elec.power": 4, "ext.grid": 3, "ops.changeover": 3},
}
_IDLE = {"supply.no_feed": 6, "supply.downstream_full": 4, "ops.operator": 2, "ops.changeover": 3, "ext.utilities": 1}


def assign_demo_reasons(session: Session, plant: Plant, t0: int, t1: int, seed: int = 7) -> int:
    """Give reasons to the older unplanned spells of ``[t0, t1)``; returns how many were assigned."""
    leaves = {r.id for c in plant.production.downtime_reasons for r in c.children}
    if not leaves:
        return 0
    kinds = {e.id: e.kind for e in plant.equipment}
    short_ms = plant.production.short_stop_minutes * MINUTE_MS
    before = t1 - int(RECENT_HOURS * 3_600_000)
    done = 0
    for equipment, spans in state_spans(session, t0, t1).items():
        for s in spans:
            if s.state not in UNPLANNED or s.reason or s.end_ms is None or s.end_ms > before or s.event_id is None:
                continue
            if s.end_ms - s.start_ms < short_ms:
                continue
            rng = random.Random(f"{seed}:{equipment}:{s.start_ms}")
            if rng.random() >= ASSIGNED_SHARE:
                continue
            table = _IDLE if s.state != "fault" else {**_COMMON, **_BY_KIND.get(kinds.get(equipment), {})}
            options = [(r, w) for r, w in table.items() if r in leaves]
            if not options:
                continue
            reason = rng.choices([r for r, _ in options], weights=[w for _, w in options])[0]
            assign_reason(session, s.event_id, reason, DEMO_USER, s.end_ms + 30 * MINUTE_MS, plant)
            done += 1
    return done
