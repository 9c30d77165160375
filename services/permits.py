"""The live checks of the special-work permits, run by the personnel service every second with the positions it read
(one transaction with its violations):

1. Permits whose validity ended are expired.
2. ``engine.permits.Checker`` on the active permits: the guardian more than 10 m from the work point (or not
   located) for 5 s suspends the permit; a badge inside the work area not on the permit is a violation; a gas
   detector of the permit's zone over the permit's limit (GB 30871-2022 5.3, 6.4; the exposure limits of GBZ 2.1)
   suspends an active hot-work or confined-space permit.
3. Each finding is one ``violation`` event (``source`` the rule, ``data`` the permit, the tag, value and limit), so
   it alarms as every violation does; it is closed when the finding goes (a suspended permit is not checked).
4. The crews and guardians of active permits whose work point lies in a major hazard source's fence are allowed
   inside that fence (``RulesEngine.set_permitted``).

Detectors of a permit: the plant's gas tags of the permit's zone (their place in the zone is not in the plant
file). A restart takes the open permit violations back from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session

from engine import permits as rules
from engine.permits import Checker, Detector, Finding
from engine.types import PositionIn
from plant.schema import Plant, TagKind
from store.events import VIOLATION, add_event, close_event, open_events
from store.permits import as_permit, expire_due, live, suspend_for
from store.samples import latest_values
from store.tags import tag_ids

logger = logging.getLogger(__name__)

RULES: tuple[str, ...] = (rules.GUARDIAN_AWAY, rules.AREA_INTRUSION, rules.GAS_OVER)
SEVERITY = {rules.GUARDIAN_AWAY: "high", rules.AREA_INTRUSION: "medium", rules.GAS_OVER: "urgent"}
KNOWN_GASES = {"SO2", "CO", "H2S", "O2", "CH4", "H2", "C2H2", "C3H8"}


def _centroid(poly: list[list[float]] | list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in poly) / len(poly), sum(p[1] for p in poly) / len(poly)


class PermitWatch:
    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        zones = {z.id: z for z in plant.zones}
        self.by_zone: dict[str, list[Detector]] = {}
        for tag in plant.tags:
            gas = tag.id.rsplit(".", 1)[-1].upper()
            if tag.kind != TagKind.GAS or tag.zone not in zones or gas not in KNOWN_GASES:
                continue
            x, y = _centroid(zones[tag.zone].polygon)
            unit = "ppm" if tag.unit.lower() == "ppm" else "%vol"
            self.by_zone.setdefault(tag.zone, []).append(Detector(tag.id, gas, unit, x, y))
        self.checker = Checker([d for ds in self.by_zone.values() for d in ds])
        self.hazard_fences = [(hs.id, hs.fence) for hs in plant.hazards.sources]
        self.open: dict[tuple[int, str, str], int] = {}  # finding key -> event id
        self._tag_ids: dict[str, int] = {}
        self.started = False

    def start(self, session: Session) -> None:
        """Take back the open permit violations (after a restart)."""
        for ev in open_events(session, VIOLATION):
            if ev.source in RULES:
                data = dict(ev.data or {})
                key = (int(data.get("permit") or 0), ev.source, str(ev.badge or data.get("tag") or ""))
                self.open[key] = int(ev.id)
        self.started = True

    def step(
        self, session: Session, now_ms: int, positions: Iterable[PositionIn], *, past: bool = False
    ) -> dict[str, set[str]]:
        """Run the checks; returns the badges allowed in each hazard source's fence by an active permit. ``past``:
        ``now_ms`` is a moment gone by (the demo's history pass), the gas readings those stored by then."""
        if not self.started:
            self.start(session)
        rows = live(session)
        for row in expire_due(session, rows, now_ms):
            logger.info("permit %d expired", row.id)
        rows = [r for r in rows if r.state in rules.LIVE_STATES]
        active = [r for r in rows if r.state == rules.ACTIVE]
        permits = [as_permit(r) for r in active]
        where = {p.badge: (p.x, p.y) for p in positions if p.x is not None and p.y is not None and p.quality == 0}
        detectors_of = {p.id: self.by_zone.get(p.zone or "", []) for p in permits}
        wanted = {d.tag for p in permits if p.kind in rules.GAS_KINDS for d in detectors_of[p.id]}
        gas = self._gas(session, wanted, now_ms if past else None) if wanted else {}
        findings = self.checker.evaluate(now_ms, permits, where, gas, detectors_of)
        by_id = {r.id: r for r in active}
        found: dict[tuple[int, str, str], Finding] = {f.key: f for f in findings}
        for key, f in found.items():
            row = by_id[f.permit]
            if key not in self.open:
                data = {"permit": f.permit, "region": f"permit:{f.permit}", "tag": f.tag, "value": f.value,
                        "limit": f.limit, "kind": row.kind}  # fmt: skip
                self.open[key] = add_event(
                    session, VIOLATION, f.rule, now_ms, severity=SEVERITY[f.rule], badge=f.badge, zone=row.zone,
                    data=data,
                )  # fmt: skip
                logger.info("permit %d: %s %s", f.permit, f.rule, f.badge or f.tag or "")
            if f.suspend and suspend_for(session, row, f.rule, now_ms, {"badge": f.badge, "tag": f.tag,
                                                                         "value": f.value}):  # fmt: skip
                logger.warning("permit %d suspended: %s", f.permit, f.rule)
        for key in [k for k in self.open if k not in found]:
            close_event(session, self.open.pop(key), now_ms)
        allowed: dict[str, set[str]] = {}
        for p in permits:
            for source, fence in self.hazard_fences:
                if rules.point_in_polygon(p.point[0], p.point[1], fence):
                    allowed.setdefault(source, set()).update(b for b in (*p.crew, p.guardian) if b)
        return allowed

    def _gas(self, session: Session, tags: set[str], until: int | None = None) -> dict[str, float | None]:
        missing = [t for t in tags if t not in self._tag_ids]
        if missing:
            self._tag_ids.update({k: v for k, v in tag_ids(session).items() if k in tags})
        ids = {self._tag_ids[t]: t for t in tags if t in self._tag_ids}
        latest = latest_values(session, list(ids), until=until)
        return {ids[i]: s.value for i, s in latest.items() if i in ids and s.quality == 0}
