"""The demo cameras' scripted visual incidents: a deterministic schedule, drawn in the frames, and the ground
truth per frame (classes present) that the detection benchmark scores against."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from plant import load_plant
from plant.loader import DEMO_PLANT as DEMO_FILE
from plant.schema import MODEL_ONLY_CLASSES, Plant, VideoClass
from simulator.cameras import CameraRenderer, View
from simulator.video_scenes import DURATION_S, EVERY_S, NO_HAT, Scenes, ground_point

T0 = 1_800_000_000_000  # an epoch time in ms (the schedule is anchored to the epoch)


@pytest.fixture(scope="module")
def demo() -> Plant:
    return load_plant(DEMO_FILE)


def test_demo_has_analysed_cameras_with_restricted_areas(demo: Plant) -> None:
    analysed = [c for c in demo.cameras if c.analytics is not None]
    assert 6 <= len(analysed) <= 10
    classes = {cls for c in analysed for cls in c.analytics.detect}  # type: ignore[union-attr]
    assert classes == set(VideoClass) - MODEL_ONLY_CLASSES  # man-down needs real people (pose)
    zones = {z.id: z for z in demo.zones}
    perimeter = [c for c in analysed if c.analytics and c.analytics.restricted]
    assert len(perimeter) >= 2
    for cam in perimeter:
        zone = zones[cam.zone]
        assert zone.forbidden
        poly = np.array(cam.analytics.restricted[0], np.float32) * np.float32([1280, 720])  # type: ignore[union-attr]
        view = View(cam, 1280, 720)
        # A point 3 m inside the zone's near edge is in the polygon, one 3 m outside is not.
        (_, y0), (_, y1) = zone.polygon[0], zone.polygon[2]
        near_y = max(y0, y1) if cam.position[1] > max(y0, y1) else min(y0, y1)
        inward = -1.0 if near_y == max(y0, y1) else 1.0
        cx = cam.position[0]
        for dy, inside in ((3.0 * inward, True), (-3.0 * inward, False)):
            (px, py), _ = view.project((cx, near_y + dy, 0.0))  # type: ignore[misc]
            assert (cv2.pointPolygonTest(poly, (float(px), float(py)), False) > 0) is inside


def test_schedule_is_deterministic_and_as_configured(demo: Plant) -> None:
    a, b = Scenes(demo), Scenes(demo)
    hours = 4
    for cam_id, cam in a.cameras.items():
        incs = a.incidents(cam_id, T0, T0 + hours * 3_600_000)
        assert incs == b.incidents(cam_id, T0, T0 + hours * 3_600_000)
        assert hours * 3600 / EVERY_S[1] - 1 <= len(incs) <= hours * 3600 / EVERY_S[0] + 1
        for inc in incs:
            assert DURATION_S[0] * 1000 <= inc.end_ms - inc.start_ms <= DURATION_S[1] * 1000
        for prev, nxt in itertools.pairwise(incs):
            assert nxt.start_ms > prev.end_ms  # one at a time per camera
        assert {i.cls for i in incs} == set(cam.analytics.detect)  # type: ignore[union-attr]
        mid = incs[1]
        assert a.active(cam_id, (mid.start_ms + mid.end_ms) / 2) == [mid]
        assert a.active(cam_id, mid.end_ms + 1000) == []
    assert Scenes(demo, seed=1).incidents("CAM26", T0, T0 + 7_200_000) != a.incidents("CAM26", T0, T0 + 7_200_000)


def test_truth_follows_the_schedule(demo: Plant) -> None:
    scenes = Scenes(demo)
    seen: set[VideoClass] = set()
    for cam_id in scenes.cameras:
        for inc in scenes.incidents(cam_id, T0, T0 + 3 * 3_600_000):
            mid = (inc.start_ms + inc.end_ms) / 2
            if inc.cls == VideoClass.INTRUSION:  # the intruder stands inside during the middle part
                mid = inc.start_ms + 0.5 * (inc.end_ms - inc.start_ms)
            assert scenes.truth(cam_id, mid, []) == {inc.cls}, (cam_id, inc)
            assert scenes.truth(cam_id, inc.end_ms + 2000, []) == set()
            assert scenes.truth(cam_id, inc.start_ms - 2000, []) == set()
            seen.add(inc.cls)
    assert seen == set(VideoClass) - MODEL_ONLY_CLASSES
    assert scenes.truth("CAM01", T0, []) == set()  # not analysed


def test_intrusion_truth_from_any_person_drawn(demo: Plant) -> None:
    """The store's people count too (e.g. the forbidden-entry incident's badge): feet inside the restricted
    polygon, big enough to see, not a vehicle."""
    scenes = Scenes(demo)
    cam = next(c for c in scenes.cameras.values() if c.analytics and c.analytics.restricted)
    quiet = next(
        t
        for t in range(T0, T0 + 3_600_000, 5000)
        if not scenes.active(cam.id, t) and not scenes.active(cam.id, t + 5000)
    )
    edge = max(y for _, y in cam.analytics.restricted[0])  # type: ignore[union-attr]
    inside = ground_point(cam, 0.5, edge - 0.1)
    outside = ground_point(cam, 0.5, min(0.97, edge + 0.1))
    assert inside and outside
    assert scenes.truth(cam.id, quiet, [(*inside, "person")]) == {VideoClass.INTRUSION}
    assert scenes.truth(cam.id, quiet, [(*outside, "person")]) == set()
    assert scenes.truth(cam.id, quiet, [(*inside, "vehicle")]) == set()
    yaw = math.radians(cam.yaw_deg)
    far = (cam.position[0] + 100 * math.cos(yaw), cam.position[1] + 100 * math.sin(yaw))
    assert scenes.truth(cam.id, quiet, [(*far, "person")]) == set()  # 100 m away: too small to tell
    assert scenes.truth(cam.id, quiet, [(*inside, NO_HAT)]) >= {VideoClass.INTRUSION}


def test_incidents_are_drawn(demo: Plant) -> None:
    scenes = Scenes(demo)
    for cam_id in ("CAM26", "CAM42", "CAM61"):
        cam = scenes.cameras[cam_id]
        r = CameraRenderer(demo, cam, 640, 360, scenes=scenes)
        plain = CameraRenderer(demo, cam, 640, 360, scenes=None, noise=False)
        for inc in scenes.incidents(cam_id, T0, T0 + 3 * 3_600_000)[:3]:
            t = inc.start_ms + 0.5 * (inc.end_ms - inc.start_ms)
            img = r.frame([], t / 1000).astype(np.int16)
            base = plain.frame([], t / 1000).astype(np.int16)
            changed = np.abs(img - base).max(axis=2) > 40
            assert changed.mean() > 0.0005, (cam_id, inc.cls)
            # Noise everywhere else: never two identical frames.
            again = r.frame([], t / 1000).astype(np.int16)
            assert np.abs(again - img).mean() > 0.5


def test_flame_flickers_and_spill_spreads(demo: Plant) -> None:
    scenes = Scenes(demo)
    flame = next(i for i in scenes.incidents("CAM26", T0, T0 + 7_200_000) if i.cls == VideoClass.FLAME)
    spill = next(i for i in scenes.incidents("CAM42", T0, T0 + 7_200_000) if i.cls == VideoClass.SPILL)
    r = CameraRenderer(demo, scenes.cameras["CAM26"], 640, 360, scenes=scenes, noise=False)
    t = flame.start_ms + 10_000
    a, b = r.frame([], t / 1000), r.frame([], (t + 250) / 1000)
    assert np.abs(a.astype(int) - b.astype(int)).max(axis=2).astype(bool).sum() > 20  # the flame moved
    r2 = CameraRenderer(demo, scenes.cameras["CAM42"], 640, 360, scenes=scenes, noise=False)

    def wet(t_ms: float) -> int:
        hsv = cv2.cvtColor(r2.frame([], t_ms / 1000), cv2.COLOR_BGR2HSV)
        return int(cv2.inRange(hsv, (86, 110, 100), (108, 255, 255)).astype(bool).sum())

    d = spill.end_ms - spill.start_ms
    early, grown, late = wet(spill.start_ms + 0.05 * d), wet(spill.start_ms + 0.5 * d), wet(spill.start_ms + 0.9 * d)
    assert early < grown and math.isclose(grown, late, rel_tol=0.05)
