"""Evacuation (engine.evacuation): the danger area, the walkway graph, routes that never enter the danger area,
people inside it and people cut off flagged, and the classification of the roll, on worked examples and on the
demo plant's roads."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import evacuation as ev
from plant import load_plant

# A 3 x 3 grid of roads 100 m apart: x = 0, 100, 200 and y = 0, 100, 200.
GRID = [[(0.0, y), (200.0, y)] for y in (0.0, 100.0, 200.0)] + [[(x, 0.0), (x, 200.0)] for x in (0.0, 100.0, 200.0)]
BLOCK = [(90.0, 90.0), (110.0, 90.0), (110.0, 110.0), (90.0, 110.0)]  # a small zone on the middle crossing


def _grid() -> ev.Walkways:
    return ev.walkway_graph(GRID, step_m=10.0)


def test_walkway_graph_splits_roads_where_they_cross_and_every_step() -> None:
    w = _grid()
    assert w.nodes == 3 * 21 + 3 * 21 - 9  # 21 nodes a road (every 10 m), the 9 crossings shared
    assert len(w.edges) == 6 * 20
    assert w.length.sum() == pytest.approx(6 * 200.0)
    assert w.bend.sum() == 9 + 3 * 0  # only the crossings (and the corners) may bend a path


def test_walkway_graph_joins_a_road_that_ends_on_another() -> None:
    w = ev.walkway_graph([[(0.0, 0.0), (100.0, 0.0)], [(37.0, 0.0), (37.0, 50.0)]], step_m=25.0)
    i = int(np.flatnonzero((np.abs(w.xy[:, 0] - 37.0) < 1e-6) & (np.abs(w.xy[:, 1]) < 1e-6))[0])
    degree = int(((w.edges[:, 0] == i) | (w.edges[:, 1] == i)).sum())
    assert degree == 3  # the access road's end is a node of the road it joins


def test_danger_area_buffer_and_downwind_sector() -> None:
    d = ev.danger_area([BLOCK], 15.0)
    xs, ys = np.array([100.0, 124.0, 126.0, 100.0]), np.array([100.0, 100.0, 100.0, 126.0])
    assert d.contains(xs, ys).tolist() == [True, True, False, False]
    # wind from the north blows south: the sector reaches 300 m south of the zone, not north of it
    d = ev.danger_area([BLOCK], 15.0, wind_from_deg=0.0, downwind_m=300.0, half_angle_deg=20.0)
    assert d.contains(np.array([100.0, 100.0]), np.array([-150.0, 250.0])).tolist() == [True, False]
    ux, uy = ev.downwind_vector(90.0)  # an east wind blows west
    assert (ux, uy) == (pytest.approx(-1.0), pytest.approx(0.0, abs=1e-12))


def test_danger_area_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="zone"):
        ev.danger_area([], 10.0)
    with pytest.raises(ValueError, match="radius"):
        ev.danger_area([BLOCK], math.nan)
    with pytest.raises(ValueError, match="3 points"):
        ev.Area(((0.0, 0.0), (1.0, 1.0)))


def test_route_goes_round_the_danger_area() -> None:
    w = _grid()
    d = ev.danger_area([BLOCK], 5.0)  # blocks the middle crossing only
    spots = [ev.MusterSpot("north", 100.0, 200.0)]
    plan = ev.plan_routes(w, d, spots, {"p": (100.0, 0.0)})
    r = plan.routes["p"]
    assert r.status == ev.ROUTE and r.point == "north"
    assert not ev.path_hits(d, r.path)
    # straight up the middle road would be 200 m; round the block via x = 0 or x = 200: 100 + 200 + 100
    assert r.length_m == pytest.approx(400.0)
    assert r.path[0] == (100.0, 0.0) and r.path[-1] == (100.0, 200.0)
    # without danger the straight way
    free = ev.plan_routes(w, ev.DangerArea(()), spots, {"p": (100.0, 0.0)})
    assert free.routes["p"].length_m == pytest.approx(200.0)
    assert free.routes["p"].path == [(100.0, 0.0), (100.0, 200.0)]


def test_person_inside_is_flagged_and_led_out_the_shortest_way() -> None:
    w = _grid()
    d = ev.danger_area([BLOCK], 5.0)
    plan = ev.plan_routes(w, d, [ev.MusterSpot("corner", 200.0, 200.0)], {"in": (100.0, 100.0)})
    r = plan.routes["in"]
    assert r.status == ev.IN_DANGER and r.point == "corner"
    assert r.length_m == pytest.approx(200.0)
    assert plan.count(ev.IN_DANGER) == 1


def test_no_safe_route_and_unsafe_muster_point() -> None:
    w = _grid()
    # a wall across the whole site at y = 100 cuts the south from the north
    wall = [(-10.0, 95.0), (210.0, 95.0), (210.0, 105.0), (-10.0, 105.0)]
    d = ev.danger_area([wall], 1.0)
    spots = [ev.MusterSpot("north", 100.0, 200.0), ev.MusterSpot("inside", 50.0, 100.0)]
    plan = ev.plan_routes(w, d, spots, {"south": (50.0, 0.0), "north": (50.0, 200.0)})
    assert plan.safe_points == ["north"]  # the point in the danger area is not safe
    assert plan.routes["south"].status == ev.NO_ROUTE and plan.routes["south"].path == []
    assert plan.routes["north"].status == ev.ROUTE and plan.routes["north"].point == "north"
    none = ev.plan_routes(w, d, [ev.MusterSpot("inside", 50.0, 100.0)], {"south": (50.0, 0.0)})
    assert none.safe_points == [] and none.routes["south"].status == ev.NO_ROUTE


def test_demo_plant_routes_never_enter_the_danger_area() -> None:
    plant = load_plant()
    w = ev.walkway_graph([r.polyline for r in plant.roads], plant.emergency.walkway_step_m)
    zone = next(z for z in plant.zones if z.id == "acid-gas-cleaning")
    d = ev.danger_area([zone.polygon], 60.0, wind_from_deg=135.0, downwind_m=320.0, half_angle_deg=22.0)
    rng = np.random.default_rng(3)
    people = {f"p{i}": (float(rng.uniform(5, 1395)), float(rng.uniform(5, 995))) for i in range(300)}
    spots = [ev.MusterSpot(m.id, float(m.position[0]), float(m.position[1])) for m in plant.muster_points]
    plan = ev.plan_routes(w, d, spots, people)
    assert plan.count(ev.ROUTE) > 150 and plan.count(ev.IN_DANGER) > 0
    for b, r in plan.routes.items():
        inside = bool(d.contains(np.array([people[b][0]]), np.array([people[b][1]]))[0])
        assert (r.status == ev.IN_DANGER) == inside
        if r.status == ev.ROUTE:
            assert not ev.path_hits(d, r.path), b
            assert r.path[-1] == next((s.x, s.y) for s in spots if s.id == r.point)


def test_classification_of_the_roll() -> None:
    declared, now = 1_000_000, 1_000_000 + ev.SILENT_MS
    newest = {
        "walking": ev.Newest(declared + 5_000, 10.0, 10.0, True),
        "left": ev.Newest(declared + 9_000, 0.0, 0.0, False),
        "lost": ev.Newest(declared + 2_000, 10.0, 10.0, True, lost=True),
        "silent": ev.Newest(declared - 30_000, 10.0, 10.0, True),
    }
    roll = ["walking", "left", "lost", "silent", "arrived", "never"]
    got = ev.classify(roll, ["arrived"], newest, declared, now)
    assert got == {
        "walking": ev.ON_ROUTE,
        "left": ev.LEFT_SITE,
        "lost": ev.UNACCOUNTED,
        "silent": ev.UNACCOUNTED,
        "arrived": ev.AT_POINT,
        "never": ev.UNACCOUNTED,
    }
    # within the first minute a badge that has not reported yet is still taken to be on its way
    early = ev.classify(["silent"], [], newest, declared, declared + 10_000)
    assert early == {"silent": ev.ON_ROUTE}
