"""Who is on site now, pure: each located badge's zone, status and staleness, and the counts the live views
show (people per zone, badges on site by kind, by role and by status). ``store.people.live_people`` reads the
newest positions, the SOS buttons and the open violations and applies the viewer's scope.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.geometry import locate
from engine.personnel import is_alarm_rule
from engine.tracks import located
from engine.types import BAD_NO_COMMUNICATION, PositionIn
from plant.schema import BadgeKind, Plant

MINUTE_MS = 60_000
STALE_MS = 5 * MINUTE_MS  # not heard of for this long: drawn as "last known position"


@dataclass(frozen=True)
class LivePerson:
    badge: str
    kind: str
    role: str
    x: float
    y: float
    floor: int
    ts: int
    zone: str | None
    sos: bool
    rules: tuple[str, ...]  # open violations of this badge (rule names)
    status: str  # normal | violation | sos (SOS button or man-down)
    stale: bool  # not heard of for a while: last known position


@dataclass(frozen=True)
class LiveView:
    now_ms: int
    people: list[LivePerson]  # empty for COUNTS viewers
    headcount: dict[str, int]  # zone -> people (not vehicles) inside now
    on_site: dict[str, int]  # person / vehicle -> count on site
    by_role: dict[str, int]
    by_status: dict[str, int]


def live_view(
    plant: Plant,
    now_ms: int,
    newest: Iterable[PositionIn],
    sos: Collection[str],
    rules: Mapping[str, Sequence[str]],
) -> LiveView:
    """Who is on site at ``now_ms``, where, in which zone and state, from each badge's ``newest`` position
    (badges not in the plant file and positions that place nobody are left out); ``sos``: the badges whose SOS
    button is pressed; ``rules``: badge -> the rules of its open violations."""
    meta = {b.id: b for b in plant.badges}
    fixes = [p for p in newest if p.badge in meta and located(p.quality, p.x, p.y)]
    zones = locate(
        np.array([p.x for p in fixes], dtype=float),
        np.array([p.y for p in fixes], dtype=float),
        [(z.id, z.polygon) for z in plant.zones],
    )
    people: list[LivePerson] = []
    headcount: dict[str, int] = {}
    on_site = {"person": 0, "vehicle": 0}
    by_role: dict[str, int] = {}
    by_status = {"normal": 0, "violation": 0, "sos": 0}
    for p, zone in zip(fixes, zones, strict=True):
        b = meta[p.badge]
        mine = tuple(rules.get(p.badge, ()))
        is_sos = p.badge in sos
        status = "sos" if is_sos or any(is_alarm_rule(r) for r in mine) else "violation" if mine else "normal"
        people.append(
            LivePerson(
                badge=p.badge,
                kind=b.kind.value,
                role=b.role.value,
                x=float(p.x),
                y=float(p.y),
                floor=int(p.floor),
                ts=int(p.ts),
                zone=zone,
                sos=is_sos,
                rules=mine,
                status=status,
                stale=now_ms - p.ts > STALE_MS or int(p.quality) == BAD_NO_COMMUNICATION,
            )
        )
        on_site[b.kind.value] = on_site.get(b.kind.value, 0) + 1
        by_role[b.role.value] = by_role.get(b.role.value, 0) + 1
        by_status[status] += 1
        if zone is not None and b.kind == BadgeKind.PERSON:
            headcount[zone] = headcount.get(zone, 0) + 1
    return LiveView(
        now_ms=now_ms,
        people=people,
        headcount=headcount,
        on_site=on_site,
        by_role=by_role,
        by_status=by_status,
    )
