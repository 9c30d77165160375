"""Evacuation-route benchmark (issue 16, H5): routes for 2,000 people on the demo plant's walkway graph to the
nearest safe muster point, around the danger area of an SO2 release in the acid plant (zone, 60 m round it and
320 m downwind), then again after the danger area grows (``engine.evacuation``).

    python -m bench evacuation            2,000 people, 21 repetitions
    python -m bench evacuation --quick    2,000 people, 7 repetitions
    python -m bench evacuation --smoke    200 people, 3 repetitions: checks that it runs, not a measurement

People stand at seeded random points of the site. ``routes_ms`` (median) covers one whole computation: the danger
tests of every walkway edge and leg, the Dijkstra runs from the safe muster points, and every person's path;
``grown_ms`` the same after the danger radius doubles and the plume lengthens by half (a recomputation starts
from scratch: nothing is kept between the two). Target under 1 s each (``target_ms``). ``graph_ms``: building
the walkway graph from the roads, done once per plant file.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from bench import _smoke
from engine import evacuation as ev
from plant import load_plant

TARGET_MS = 1000.0
ZONE = "acid-gas-cleaning"
PLAN = "plan-so2-release"


def main(argv: list[str]) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m bench evacuation", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="7 repetitions")
    _smoke.add_flag(p)
    args = p.parse_args(argv)
    n, reps = (200, 3) if args.smoke else (2000, 7) if args.quick else (2000, 21)
    plant = load_plant()
    plan = next(pl for pl in plant.emergency.plans if pl.id == PLAN)
    zone = next(z for z in plant.zones if z.id == ZONE)
    t0 = time.perf_counter()
    walk = ev.walkway_graph([r.polyline for r in plant.roads], plant.emergency.walkway_step_m)
    graph_ms = (time.perf_counter() - t0) * 1000
    rng = np.random.default_rng(16)
    w, d = plant.site.width_m, plant.site.depth_m
    people = {f"P{i:04d}": (float(rng.uniform(5, w - 5)), float(rng.uniform(5, d - 5))) for i in range(n)}
    spots = [ev.MusterSpot(m.id, float(m.position[0]), float(m.position[1])) for m in plant.muster_points]
    wind = plant.emergency.wind_from_deg

    def danger(grow: float) -> ev.DangerArea:
        return ev.danger_area(
            [zone.polygon],
            plan.danger_radius_m * grow,
            wind_from_deg=wind,
            downwind_m=plan.downwind_m * (1 + (grow - 1) / 2),
            half_angle_deg=plan.downwind_half_angle_deg,
        )

    first, grown = danger(1.0), danger(2.0)
    times, gtimes = [], []
    plan_a = plan_b = None
    for _ in range(reps):
        t0 = time.perf_counter()
        plan_a = ev.plan_routes(walk, first, spots, people)
        times.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        plan_b = ev.plan_routes(walk, grown, spots, people)
        gtimes.append((time.perf_counter() - t0) * 1000)
    assert plan_a is not None and plan_b is not None
    crossing = sum(1 for r in plan_a.routes.values() if r.status == ev.ROUTE and ev.path_hits(first, r.path))
    crossing += sum(1 for r in plan_b.routes.values() if r.status == ev.ROUTE and ev.path_hits(grown, r.path))
    return _smoke.mark(
        {
            "people": n,
            "repetitions": reps,
            "graph_nodes": walk.nodes,
            "graph_edges": len(walk.edges),
            "graph_ms": round(graph_ms, 1),
            "routes_ms": round(statistics.median(times), 1),
            "routes_ms_max": round(max(times), 1),
            "grown_ms": round(statistics.median(gtimes), 1),
            "grown_ms_max": round(max(gtimes), 1),
            "target_ms": TARGET_MS,
            "routed": plan_a.count(ev.ROUTE),
            "in_danger": plan_a.count(ev.IN_DANGER),
            "no_route": plan_a.count(ev.NO_ROUTE),
            "routed_grown": plan_b.count(ev.ROUTE),
            "in_danger_grown": plan_b.count(ev.IN_DANGER),
            "no_route_grown": plan_b.count(ev.NO_ROUTE),
            "blocked_edges": plan_a.blocked_edges,
            "blocked_edges_grown": plan_b.blocked_edges,
            "routes_crossing_danger": crossing,
        },
        args.smoke,
    )
