"""Demo alarm load: what the demo smelter asks of its operators, from a deterministic run of the model.

    python -m bench demo_alarm_rate                 3 simulated hours at 1 s, seed 1, from 10:00 plant time
    python -m bench demo_alarm_rate --quick         30 simulated minutes
    python -m bench demo_alarm_rate --smoke         6 simulated minutes: checks that it runs, not a measurement
    python -m bench demo_alarm_rate --hours 8 --seed 3 --plant plant/demo_smelter.yaml

No sleeping, no database, no OPC UA: :class:`simulator.model.SmelterModel` is stepped at ``--step-s``
(1 s) of simulated time; every value it reports goes into :class:`engine.alarms.AlarmEngine` (built from
the plant as ``services.alarms`` builds it, equipment state tags included, so suppression by design
works), and every badge position (off site = uncertain quality, as the collectors store it) and SOS value
into :class:`engine.personnel.RulesEngine`. Violations become alarms as the alarm service makes them.

Figures (ISA-18.2 / EEMUA 191 style):

- ``process_per_area_10min``: annunciated process and quality alarms (journal ``active`` with ``acked``
  false: nobody acknowledges during the run, so each activation counts) per area per 10 minutes: the mean
  over the plant's areas, the busiest area, and ``site_process_per_10min`` for the whole site.
  ``all_per_area_10min`` adds the personnel violation alarms.
- ``priority_mix``: share of annunciated alarms per priority (process and quality; ``priority_mix_all``
  with personnel alarms).
- ``chattering``: alarms annunciated 3 times or more within a minute; ``top_alarms``: the ten most
  frequent alarm ids.
- ``violations_per_h``: personnel violations opened per simulated hour, per rule (``dwell_exceeded`` also
  per dwell zone or fence).
- ``incidents``: each scripted incident occurrence in the run and whether it raised what it should (gas
  leak and over-temperature: an HH alarm of the tag; forbidden entry, man-down, SOS: the violation of the
  badge), and ``faults``: equipment that went to fault and whether an alarm of it was annunciated within
  10 minutes.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import _smoke
from engine.alarms import ACTIVE, PERSONNEL, QUALITY, AlarmEngine
from engine.personnel import DWELL_EXCEEDED, RulesEngine, SosChange
from engine.types import GOOD, UNCERTAIN, PositionIn
from plant.loader import DEMO_PLANT, load_plant
from plant.schema import EquipmentState, IncidentKind, Plant, TagKind
from simulator.model import SmelterModel

logger = logging.getLogger(__name__)

START_MS = int(datetime(2026, 5, 6, 2, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday, 10:00 in the plant
FAULT_CODE = EquipmentState.FAULT.code
FAULT_WINDOW_MS = 600_000
CHATTER_MS = 60_000
_INCIDENT_RULE = {
    IncidentKind.FORBIDDEN_ENTRY: "forbidden_zone",
    IncidentKind.MAN_DOWN: "man_down",
    IncidentKind.SOS: "sos",
}


def run(plant: Plant, hours: float, seed: int, step_s: float, start_ms: int = START_MS) -> dict[str, Any]:
    """Step the model, the alarm engine and the personnel rules through ``hours``; return the figures."""
    model = SmelterModel(plant, seed=seed, start_ms=start_ms)
    alarms = AlarmEngine(plant)
    rules = RulesEngine(plant)
    tags = {t.id: t for t in plant.tags}
    alarmed = alarms.alarmed_tags() | set(alarms.state_tags())
    pos_tags = {t.id: t.badge for t in plant.tags if t.kind == TagKind.POSITION and t.badge}
    sos_tags = {t.id: t.badge for t in plant.tags if t.kind == TagKind.SOS and t.badge}
    state_tags = {t.id: t.equipment for t in plant.tags if t.kind == TagKind.STATE and t.equipment}
    positions: dict[str, PositionIn] = {}

    annunciated: list[tuple[int, str, str, str | None, str]] = []  # ts, alarm id, priority, area, source type
    violations: list[tuple[int, str, str | None, str | None]] = []  # ts, rule, badge, region
    faults: list[tuple[int, str]] = []
    event_ids: dict[tuple[str, str, str], str] = {}
    next_event = 1

    def feed(values: dict[str, Any], ts: int) -> list[SosChange]:
        sos: list[SosChange] = []
        for tid, v in values.items():
            if tid in pos_tags:
                badge = pos_tags[tid]
                quality = UNCERTAIN if model.off_site(tid) else GOOD
                positions[badge] = PositionIn(badge, ts, float(v[0]), float(v[1]), int(v[2]), quality)
            elif tid in sos_tags:
                sos.append(SosChange(sos_tags[tid], ts, bool(v)))
            elif tid in alarmed:
                if tid in state_tags and int(v) == FAULT_CODE and ts > start_ms:
                    faults.append((ts, state_tags[tid]))
                alarms.process(tid, ts, float(v), GOOD)
        return sos

    defs = {d.id: d for d in alarms.definitions}
    sos = feed(model.initial_values(), start_ms)
    steps = round(hours * 3600 / step_s)
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        now = start_ms + round(k * step_s * 1000)
        sos += feed(model.step(now), now)
        tick = rules.evaluate(now, positions.values(), sos)
        sos = []
        for v in tick.opened:
            violations.append((v.start_ms, v.rule, v.badge, v.region if v.rule == DWELL_EXCEEDED else None))
            aid = alarms.event_open(
                "violation",
                next_event,
                v.start_ms,
                source=v.rule,
                badge=v.badge,
                zone=v.zone,
                severity=v.severity,
                data=v.data(),
            )
            next_event += 1
            if aid is not None:
                event_ids[v.key] = aid
        for v in tick.closed:
            aid = event_ids.pop(v.key, None)
            if aid is not None and v.end_ms is not None:
                alarms.event_close(aid, v.end_ms)
        alarms.tick(now)
        for tr in alarms.drain().transitions:
            if tr.kind != ACTIVE or tr.acked:
                continue
            d = defs.get(tr.alarm_id)
            if d is None:
                view = alarms.get(tr.alarm_id)
                if view is None:
                    continue
                annunciated.append((tr.ts, tr.alarm_id, view.priority, view.area, view.source_type))
            else:
                annunciated.append((tr.ts, tr.alarm_id, d.priority, d.area, d.source_type))
    wall_s = time.perf_counter() - t0
    end_ms = start_ms + round(steps * step_s * 1000)
    return _figures(plant, model, tags, annunciated, violations, faults, start_ms, end_ms, wall_s)


def _share(counter: Counter[str], keys: tuple[str, ...]) -> dict[str, float]:
    total = sum(counter.values())
    return {k: round(100.0 * counter.get(k, 0) / total, 1) if total else 0.0 for k in keys}


def _figures(
    plant: Plant,
    model: SmelterModel,
    tags: dict[str, Any],
    annunciated: list[tuple[int, str, str, str | None, str]],
    violations: list[tuple[int, str, str | None, str | None]],
    faults: list[tuple[int, str]],
    start_ms: int,
    end_ms: int,
    wall_s: float,
) -> dict[str, Any]:
    hours = (end_ms - start_ms) / 3_600_000
    tens = hours * 6
    areas = [a.id for a in plant.areas]
    process = [a for a in annunciated if a[4] != PERSONNEL]
    per_area: Counter[str] = Counter(a[3] or "-" for a in process)
    per_area_all: Counter[str] = Counter(a[3] or "-" for a in annunciated)
    prio = ("urgent", "high", "medium", "low")
    times: dict[str, list[int]] = defaultdict(list)
    for ts, aid, *_ in process:
        times[aid].append(ts)
    chattering = sorted(
        aid for aid, ts in times.items() if any(ts[i + 2] - ts[i] <= CHATTER_MS for i in range(len(ts) - 2))
    )
    top = Counter(a[1] for a in process).most_common(10)

    # scripted incidents: did each raise its alarm / violation?
    incidents: list[dict[str, Any]] = []
    by_id = {inc.id: inc for inc in plant.incidents}
    for w in model.incident_windows(start_ms, end_ms):
        inc = by_id[w.incident]
        if w.end_ms > end_ms:
            continue
        if inc.kind in (IncidentKind.GAS_LEAK, IncidentKind.OVER_TEMPERATURE) and inc.tag:
            want = f"{inc.tag}:HH"
            hit = any(a[1] == want and w.start_ms <= a[0] <= w.end_ms for a in annunciated)
        elif inc.kind in _INCIDENT_RULE:
            rule = _INCIDENT_RULE[inc.kind]
            hit = any(r == rule and b == inc.badge and w.start_ms <= ts <= w.end_ms for ts, r, b, _ in violations)
        else:
            continue
        incidents.append({"incident": w.incident, "start_s": (w.start_ms - start_ms) // 1000, "raised": hit})
    fault_rows = []
    for ts, eq in faults:
        hit = any(ts <= a[0] <= ts + FAULT_WINDOW_MS and a[1].split(":")[0] in _eq_tags(tags, eq) for a in process)
        fault_rows.append({"equipment": eq, "at_s": (ts - start_ms) // 1000, "alarmed": hit})
    rules = Counter(v[1] for v in violations)
    dwell = Counter(v[3] or "-" for v in violations if v[1] == DWELL_EXCEEDED)
    return {
        "hours": round(hours, 2),
        "wall_s": round(wall_s, 1),
        "areas": len(areas),
        "annunciated_process": len(process),
        "annunciated_quality": sum(1 for a in process if a[4] == QUALITY),
        "annunciated_personnel": len(annunciated) - len(process),
        "site_process_per_10min": round(len(process) / tens, 2),
        "process_per_area_10min": round(len(process) / tens / len(areas), 2),
        "process_per_area_10min_max": round(max(per_area.values(), default=0) / tens, 2),
        "process_per_area_10min_by_area": {a: round(per_area.get(a, 0) / tens, 2) for a in areas},
        "all_per_area_10min": round(len(annunciated) / tens / len(areas), 2),
        "all_per_area_10min_max": round(max(per_area_all.values(), default=0) / tens, 2),
        "priority_mix": _share(Counter(a[2] for a in process), prio),
        "priority_mix_all": _share(Counter(a[2] for a in annunciated), prio),
        "chattering": len(chattering),
        "top_alarms": [f"{aid} x{n}" for aid, n in top],
        "violations_per_h": {r: round(n / hours, 2) for r, n in sorted(rules.items())},
        "dwell_per_h_by_region": {r: round(n / hours, 2) for r, n in sorted(dwell.items())},
        "incidents": incidents,
        "incidents_raised": f"{sum(1 for i in incidents if i['raised'])}/{len(incidents)}",
        "faults": fault_rows,
        "faults_alarmed": f"{sum(1 for f in fault_rows if f['alarmed'])}/{len(fault_rows)}",
    }


def _eq_tags(tags: dict[str, Any], equipment: str) -> set[str]:
    return {tid for tid, t in tags.items() if t.equipment == equipment}


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench demo_alarm_rate")
    p.add_argument("--quick", action="store_true", help="30 simulated minutes")
    _smoke.add_flag(p)
    p.add_argument("--hours", type=float, default=None, help="simulated hours (default 3, quick 0.5, smoke 0.1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--step-s", type=float, default=1.0)
    p.add_argument("--plant", type=Path, default=DEMO_PLANT)
    args = p.parse_args(argv)
    hours = args.hours or (0.1 if args.smoke else 0.5 if args.quick else 3.0)
    if not hours > 0 or not args.step_s > 0:
        raise SystemExit("--hours and --step-s must be positive")
    plant = load_plant(args.plant)
    figures = run(plant, hours, args.seed, args.step_s)
    figures["seed"] = args.seed
    return _smoke.mark(figures, args.smoke)
