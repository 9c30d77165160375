"""Plane geometry shared by the engine, the simulator and the scene (plant metres, pure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Pt = tuple[float, float]


def point_in_polygon(x: float, y: float, polygon: Sequence[Pt]) -> bool:
    """Even-odd rule; points on an edge may fall either way."""
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def points_in_polygon(xs: np.ndarray, ys: np.ndarray, polygon: Sequence[Pt]) -> np.ndarray:
    """Vectorised :func:`point_in_polygon` for many points."""
    inside = np.zeros(xs.shape, dtype=bool)
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        crosses = (yi > ys) != (yj > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = (xj - xi) * (ys - yi) / (yj - yi) + xi
        inside ^= crosses & (xs < xcross)
        j = i
    return inside


def locate(xs: np.ndarray, ys: np.ndarray, polygons: Sequence[tuple[str, Sequence[Pt]]]) -> list[str | None]:
    """The id of the first polygon containing each point (None outside all), vectorised per polygon."""
    found: np.ndarray = np.full(xs.shape, -1, dtype=np.int64)  # unannotated, the stubs take it for 0-d
    for k, (_pid, poly) in enumerate(polygons):
        hit = points_in_polygon(xs, ys, poly) & (found < 0)
        found[hit] = k
    return [polygons[k][0] if k >= 0 else None for k in found.tolist()]
