"""Helpers for the video tests: the small test plant with cameras, and waiting for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.webutil import MINI_PLANT

# Cameras on the mini plant's zones (ids sort in grid order).
CAMERAS: list[dict[str, Any]] = [
    {
        "id": "CAM-A",
        "name": "Smelter hall east",
        "zone": "smelter-hall",
        "position": [52, 152, 8],
        "yaw_deg": 45,
        "fov_deg": 80,
    },
    {
        "id": "CAM-B",
        "name": "Converter aisle",
        "zone": "converter-aisle",
        "position": [162, 152, 8],
        "yaw_deg": 60,
        "fov_deg": 70,
    },
    {
        "id": "CAM-C",
        "name": "Tank farm <script>x</script>",
        "zone": "tank-farm",
        "position": [262, 32, 8],
        "yaw_deg": 30,
        "fov_deg": 90,
    },
]


def plant_with_cameras(tmp_path: Path, sources: dict[str, str] | None = None) -> Path:
    """The mini plant with :data:`CAMERAS` (``sources``: camera id -> source URL) as a YAML file."""
    data = yaml.safe_load(MINI_PLANT.read_text(encoding="utf-8"))
    cams = []
    for cam in CAMERAS:
        c = dict(cam)
        if sources and cam["id"] in sources:
            c["source"] = sources[cam["id"]]
        cams.append(c)
    data["cameras"] = cams
    path = tmp_path / "plant_cams.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def camera_sources(port: int, dead_port: int | None = None) -> dict[str, str]:
    """The sources of :data:`CAMERAS` on the simulator's camera server at ``port``; with ``dead_port`` (where
    nothing listens) CAM-C's points there instead: a dead camera."""
    sources = {c["id"]: f"http://127.0.0.1:{port}/camera/{c['id']}.mjpg" for c in CAMERAS}
    if dead_port is not None:
        sources["CAM-C"] = f"http://127.0.0.1:{dead_port}/camera/CAM-C.mjpg"
    return sources


def figures() -> list[tuple[float, float, str]]:
    return [(80.0, 180.0, "person"), (90.0, 175.0, "person"), (185.0, 175.0, "vehicle")]


def wait_for(cond: Callable[[], Any], timeout: float = 30.0, step: float = 0.05) -> Any:
    """Poll ``cond`` until it gives a true value (returned); AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)
