"""Special-work permit checks benchmark (issue 15, H1-H3): the live checks of ``engine.permits.Checker`` (guardian
within 10 m of the work point, badges in each work area not on its permit, gas detectors near hot work and confined
spaces against the permit's limits) and the hazard-source fence test with its permitted crews
(``engine.personnel.RulesEngine`` with ``set_permitted``), on the demo plant.

    python -m bench permits            2,000 badges, 50 active permits, 61 evaluations
    python -m bench permits --quick    2,000 badges, 50 active permits, 21 evaluations
    python -m bench permits --smoke    200 badges, 5 permits, 3 evaluations: checks that it runs, not a measurement

Badges stand at seeded random points of the site (a tenth of them in the permits' work areas); permits are hot
work and confined space (half each) at seeded points, each with a guardian and three workers, detectors the gas
tags of their zone. ``checks_ms`` (median): one ``Checker.evaluate`` over all permits and badges; ``rules_ms``: one
``RulesEngine.evaluate`` (every personnel rule, the hazard fences included) with the permits' crews allowed;
``index_ms``: the safety index of every zone and the plant from those findings (``engine.safety_index``).
Target: both together under the 1 s service step (``target_ms``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from bench import _smoke
from engine import permits as pr
from engine.personnel import RuleConfig, RulesEngine
from engine.safety_index import ZoneInputs, check_weights, colour, plant_index, zone_index
from engine.types import GOOD, PositionIn
from plant import load_plant

TARGET_MS = 1000.0
T0 = 1_796_000_000_000


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench permits", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="21 evaluations")
    _smoke.add_flag(p)
    args = p.parse_args(argv)
    n, n_permits, reps = (200, 5, 3) if args.smoke else (2000, 50, 21) if args.quick else (2000, 50, 61)
    plant = load_plant()
    rng = np.random.default_rng(15)
    w, d = plant.site.width_m, plant.site.depth_m
    badge_ids = [b.id for b in plant.badges if b.kind.value == "person"]
    badges = [badge_ids[i % len(badge_ids)] if i < len(badge_ids) else f"X{i:05d}" for i in range(n)]
    zones = plant.zones
    detectors: dict[str, list[pr.Detector]] = {}
    for tag in plant.tags:
        if tag.kind.value == "gas" and tag.zone:
            z = next(z for z in zones if z.id == tag.zone)
            cx = sum(q[0] for q in z.polygon) / len(z.polygon)
            cy = sum(q[1] for q in z.polygon) / len(z.polygon)
            detectors.setdefault(tag.zone, []).append(pr.Detector(tag.id, tag.id.rsplit(".", 1)[-1], "ppm", cx, cy))
    permits = []
    for k in range(n_permits):
        z = zones[k % len(zones)]
        xs, ys = [q[0] for q in z.polygon], [q[1] for q in z.polygon]
        x, y = float(rng.uniform(min(xs), max(xs))), float(rng.uniform(min(ys), max(ys)))
        crew = tuple(badges[(4 * k + j) % n] for j in range(1, 4))
        permits.append(
            pr.Permit(
                id=k + 1,
                kind=pr.HOT_WORK if k % 2 == 0 else pr.CONFINED_SPACE,
                grade=pr.FIRST if k % 2 == 0 else None,
                state=pr.ACTIVE,
                applicant="bench",
                valid_from=T0,
                valid_to=T0 + 8 * pr.HOUR_MS,
                point=(x, y),
                area=((x - 10, y - 10), (x + 10, y - 10), (x + 10, y + 10), (x - 10, y + 10)),
                guardian=badges[(4 * k) % n],
                crew=crew,
                zone=z.id,
            )
        )
    where: dict[str, tuple[float, float]] = {}
    for i, b in enumerate(badges):
        if i % 10 == 0:
            pm = permits[i % len(permits)]
            where[b] = (pm.point[0] + float(rng.uniform(-9, 9)), pm.point[1] + float(rng.uniform(-9, 9)))
        else:
            where[b] = (float(rng.uniform(5, w - 5)), float(rng.uniform(5, d - 5)))
    gas = {d_.tag: float(rng.uniform(0, 5)) for ds in detectors.values() for d_ in ds}
    detectors_of = {pm.id: detectors.get(pm.zone or "", []) for pm in permits}
    checker = pr.Checker([d_ for ds in detectors.values() for d_ in ds])
    rules = RulesEngine(plant, RuleConfig())
    allowed: dict[str, set[str]] = {}
    for pm in permits:
        for hs in plant.hazards.sources:
            if pr.point_in_polygon(pm.point[0], pm.point[1], hs.fence):
                allowed.setdefault(hs.id, set()).update((*pm.crew, pm.guardian or ""))
    positions = [PositionIn(b, T0, x, y, 0, GOOD) for b, (x, y) in where.items()]
    weights = check_weights(plant.safety_index.weights)
    checks, rule_ms, index_ms = [], [], []
    found = 0
    for r in range(reps):
        now = T0 + r * 1000
        t0 = time.perf_counter()
        findings = checker.evaluate(now, permits, where, gas, detectors_of)
        checks.append((time.perf_counter() - t0) * 1000)
        found = len(findings)
        t0 = time.perf_counter()
        rules.set_permitted(allowed)
        rules.evaluate(now, positions)
        rule_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        inputs = {z.id: ZoneInputs(level=z.lec.level.value) for z in zones}
        for f in findings:
            zone = permits[f.permit - 1].zone or ""
            if zone in inputs:
                inputs[zone].violations += 1
        for pm in permits:
            inputs[pm.zone or zones[0].id].permits_high += 1
        indexes = {zid: zone_index(zid, z_in, weights) for zid, z_in in inputs.items()}
        value, _worst = plant_index(indexes)
        colour(value)
        index_ms.append((time.perf_counter() - t0) * 1000)
    med_c, med_r, med_i = statistics.median(checks), statistics.median(rule_ms), statistics.median(index_ms)
    return _smoke.mark(
        {
            "badges": n,
            "permits": n_permits,
            "evaluations": reps,
            "findings": found,
            "checks_ms": round(med_c, 2),
            "rules_ms": round(med_r, 2),
            "index_ms": round(med_i, 2),
            "zones": len(zones),
            "step_ms": round(med_c + med_r + med_i, 2),
            "target_ms": TARGET_MS,
            "within_target": med_c + med_r + med_i < TARGET_MS,
        },
        args.smoke,
    )
