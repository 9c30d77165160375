"""Plain records that travel from the coordinators through the writer queue and the spool to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.types import PositionIn, SampleIn

# Event kinds written by the collectors.
GAP = "gap"
DATA_QUALITY = "data_quality"


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What a coordinator needs to know about one subscribed OPC UA variable.

    ``tag_id`` is the store's integer id (0 for a badge that is not in the plant file, ``known=False``).
    """

    name: str
    tag_id: int
    kind: str  # plant.schema.TagKind value
    node_id: str
    badge: str | None = None
    known: bool = True

    @property
    def is_position(self) -> bool:
        return self.kind == "position"


class EventIn(NamedTuple):
    """An event for ``store.events.add_event``; times in UTC epoch milliseconds."""

    kind: str
    source: str
    ts_start: int
    ts_end: int | None = None
    severity: str = "info"
    tag_id: int | None = None
    badge: str | None = None
    zone: str | None = None
    message: str = ""
    data: dict[str, Any] | None = None


@dataclass(slots=True)
class Chunk:
    """Validated records of one endpoint, queued for the writer as one unit."""

    endpoint: str
    samples: list[SampleIn] = field(default_factory=list)
    positions: list[PositionIn] = field(default_factory=list)
    events: list[EventIn] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples) + len(self.positions) + len(self.events)

    def extend(self, other: Chunk) -> None:
        self.samples.extend(other.samples)
        self.positions.extend(other.positions)
        self.events.extend(other.events)
