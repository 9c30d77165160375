"""Position thinning: which badge fixes go to the history.

A fix is stored when the badge has moved at least ``min_distance_m`` from its last stored fix, when
``max_interval_ms`` has passed since that one, or when its floor or quality changed; the others are dropped
from the history (the badge's current position still takes every fix). When a badge starts moving after
standing, the last fix it stood at is stored too (once), so the track shows when it left, not only where it
arrived: the same idea as a historian's exception reporting, which sends the value before the exception.

Fixes older than or as old as the badge's last stored one (a replay, a late arrival) are passed through
unchanged: the store drops the true duplicates, and thinning never loses a fix it has not judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.types import PositionIn


@dataclass
class PositionThinning:
    min_distance_m: float = 0.5
    max_interval_ms: int = 30_000
    kept: int = 0
    dropped: int = 0
    _stored: dict[str, PositionIn] = field(default_factory=dict)  # last fix stored, per badge
    _held: dict[str, PositionIn] = field(default_factory=dict)  # last fix dropped since then, per badge

    def filter(self, fixes: Iterable[PositionIn]) -> list[PositionIn]:
        """The fixes of ``fixes`` (in arrival order) to store, in order; updates the state."""
        out: list[PositionIn] = []
        for p in fixes:
            last = self._stored.get(p.badge)
            if last is not None and p.ts <= last.ts:
                out.append(p)  # late or replayed: not judged
                continue
            if last is None or self._significant(last, p):
                held = self._held.pop(p.badge, None)
                if held is not None and last is not None and held.ts > last.ts and self._moved(last, p):
                    out.append(held)  # where it stood until it moved
                    self.kept += 1
                    self.dropped -= 1
                out.append(p)
                self._stored[p.badge] = p
                self.kept += 1
            else:
                self._held[p.badge] = p
                self.dropped += 1
        return out

    def _moved(self, a: PositionIn, b: PositionIn) -> bool:
        return math.hypot(b.x - a.x, b.y - a.y) >= self.min_distance_m

    def _significant(self, last: PositionIn, p: PositionIn) -> bool:
        return (
            p.floor != last.floor
            or p.quality != last.quality
            or p.ts - last.ts >= self.max_interval_ms
            or self._moved(last, p)
            or not (math.isfinite(p.x) and math.isfinite(p.y))
        )
