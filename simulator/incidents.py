"""The seeded schedule of the plant's scripted incidents.

Occurrence ``k`` of an incident starts at ``start + first_after_s + k * every_s + jitter_k`` (simulated
seconds) with ``jitter_k`` uniform in ``[0, jitter_s)`` from a counter-based hash of (seed, incident,
k): any window can be computed directly, without stepping, and the same seed gives the same schedule.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

from plant.schema import Incident, IncidentKind

logger = logging.getLogger(__name__)

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def hash_unit(*keys: int) -> float:
    """A deterministic pseudo-random number in [0, 1) from integer keys."""
    h = 0x1234567
    for k in keys:
        h = _splitmix64(h ^ (k & _MASK64))
    return (h >> 11) / float(1 << 53)


class Window(NamedTuple):
    incident: str
    kind: str
    start_ms: int
    end_ms: int


class IncidentSchedule:
    def __init__(self, incidents: list[Incident], seed: int, start_ms: int) -> None:
        self.incidents = incidents
        self.seed = seed
        self.start_ms = start_ms

    def occurrence(self, i: int, k: int) -> tuple[int, int]:
        inc = self.incidents[i]
        jitter = inc.jitter_s * hash_unit(self.seed, i, k) if inc.jitter_s > 0 else 0.0
        every = inc.every_s or 0.0
        start = self.start_ms + round((inc.first_after_s + k * every + jitter) * 1000)
        return start, start + round(inc.duration_s * 1000)

    def occurrences(self, i: int, t0_ms: float, t1_ms: float, pad_ms: float = 0.0) -> list[tuple[int, int]]:
        """Occurrences of incident ``i`` whose ``[start - pad, end + pad)`` overlaps ``[t0, t1)``."""
        inc = self.incidents[i]
        if inc.every_s is None:
            ks: range = range(1)
        else:
            every_ms = inc.every_s * 1000
            base = self.start_ms + inc.first_after_s * 1000
            reach = (inc.jitter_s + inc.duration_s) * 1000 + pad_ms
            k0 = max(0, math.floor((t0_ms - base - reach) / every_ms))
            k1 = max(0, math.floor((t1_ms - base + pad_ms) / every_ms) + 1)
            ks = range(k0, k1 + 1)
        out = []
        for k in ks:
            s, e = self.occurrence(i, k)
            if s - pad_ms < t1_ms and e + pad_ms > t0_ms:
                out.append((s, e))
        return out

    def windows(self, t0_ms: float, t1_ms: float) -> list[Window]:
        out = [
            Window(inc.id, inc.kind.value, s, e)
            for i, inc in enumerate(self.incidents)
            for s, e in self.occurrences(i, t0_ms, t1_ms)
        ]
        out.sort(key=lambda w: (w.start_ms, w.incident))
        return out

    def active(self, now_ms: float) -> list[tuple[int, int, int]]:
        """(incident index, start, end) of the occurrences active at ``now_ms``."""
        out = []
        for i in range(len(self.incidents)):
            for s, e in self.occurrences(i, now_ms, now_ms + 1):
                if s <= now_ms < e:
                    out.append((i, s, e))
        return out

    def badge_incidents(self, badge: str) -> list[int]:
        return [
            i
            for i, inc in enumerate(self.incidents)
            if inc.badge == badge
            and inc.kind in (IncidentKind.FORBIDDEN_ENTRY, IncidentKind.MAN_DOWN, IncidentKind.SOS)
        ]
