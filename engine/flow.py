"""The process flow view's model (K4): units, streams, their places and their live status (pure, no I/O).

The plant file's ``production.flowsheet`` names the units (one ``process`` each: every equipment of that
process belongs to the unit) and the streams between them. :func:`flowsheet` places every unit on a grid
(its ``at``, else the column of its depth along the streams), picks its key tags (its ``tags``, else the
smelting chain's picks for the process) and lists its equipment with a state tag. :func:`unit_status` sums
one unit up from the live equipment states and open alarms: how many run, the worst state, the alarms.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from engine.chain import SMELTER_CHAIN, StageSpec, chain
from plant.schema import Plant, TagKind

logger = logging.getLogger(__name__)

# Worst first: the colour of a unit is that of its worst equipment state.
STATE_ORDER = ("fault", "maintenance", "stopped", "idle", "run")
MAX_KEY_TAGS = 4


@dataclass(frozen=True, slots=True)
class FlowUnitView:
    id: str
    name: str
    name_zh: str | None
    process: str
    col: int
    row: int
    equipment: tuple[str, ...]  # equipment with a state tag, plant-file order
    tags: tuple[str, ...]  # key values shown in the box


@dataclass(frozen=True, slots=True)
class FlowStreamView:
    id: str
    name: str
    name_zh: str | None
    source: str
    target: str
    tag: str | None


@dataclass(frozen=True, slots=True)
class Flow:
    units: tuple[FlowUnitView, ...]
    streams: tuple[FlowStreamView, ...]

    @property
    def columns(self) -> int:
        return 1 + max((u.col for u in self.units), default=0)

    @property
    def rows(self) -> int:
        return 1 + max((u.row for u in self.units), default=0)


@dataclass(frozen=True, slots=True)
class UnitStatus:
    state: str  # worst state of its equipment, or "none" without any known state
    running: int
    known: int  # equipment with a known state
    alarms: int  # open alarms on its equipment
    counts: dict[str, int]


def _depths(unit_ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a source along the streams; a stream that closes a cycle (a recycle, such as slag
    concentrate back to batching) is left out, the first streams of the file kept."""
    dag: dict[str, list[str]] = defaultdict(list)

    def reaches(a: str, b: str) -> bool:
        seen, todo = {a}, [a]
        while todo:
            x = todo.pop()
            if x == b:
                return True
            for y in dag[x]:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return False

    kept = []
    for a, b in edges:
        if not reaches(b, a):
            dag[a].append(b)
            kept.append((a, b))
    depth = dict.fromkeys(unit_ids, 0)
    for _ in range(len(unit_ids)):
        changed = False
        for a, b in kept:
            if depth[b] < depth[a] + 1:
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    return depth


def _spec(process: str) -> tuple[StageSpec, ...]:
    return tuple(s for s in SMELTER_CHAIN if process in s.processes)


def flowsheet(plant: Plant) -> Flow:
    """The plant's flowsheet, placed and with every unit's equipment and key tags."""
    sheet = plant.production.flowsheet
    with_state = {t.equipment for t in plant.tags if t.kind == TagKind.STATE and t.equipment}
    members: dict[str, list[str]] = defaultdict(list)
    for e in plant.equipment:
        if e.id in with_state:
            members[e.process].append(e.id)
    ids = [u.id for u in sheet.units]
    depth = _depths(ids, [(s.source, s.target) for s in sheet.streams])
    taken: dict[int, int] = defaultdict(int)
    units = []
    for u in sheet.units:
        if u.at is not None:
            col, row = u.at
        else:
            col = depth[u.id]
            row = taken[col]
        taken[col] = max(taken[col], row + 1)
        tags = tuple(u.tags)
        if not tags:
            tags = tuple(item.tag for stage in chain(plant, _spec(u.process)) for item in stage.items)
        units.append(
            FlowUnitView(u.id, u.name, u.name_zh, u.process, col, row, tuple(members[u.process]), tags[:MAX_KEY_TAGS])
        )
    streams = tuple(FlowStreamView(s.id, s.name, s.name_zh, s.source, s.target, s.tag) for s in sheet.streams)
    return Flow(tuple(units), streams)


def unit_status(unit: FlowUnitView, states: dict[str, str], alarms: int = 0) -> UnitStatus:
    """``alarms``: the open alarms on any equipment of the unit's process (counted by the caller)."""
    counts: dict[str, int] = defaultdict(int)
    for eq in unit.equipment:
        s = states.get(eq)
        if s is not None:
            counts[s] += 1
    known = sum(counts.values())
    worst = next((s for s in STATE_ORDER if counts.get(s)), "none")
    if worst == "none" and known:
        worst = "run" if counts.get("run") else next(iter(counts))
    return UnitStatus(worst, counts.get("run", 0), known, alarms, dict(counts))
