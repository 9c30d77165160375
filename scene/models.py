"""The plant's own 3D models of its equipment (``equipment[].model`` in the plant file), loaded with trimesh.

A model is read once, converted to metres and to z-up, put with its base centre at the origin, scaled to the
equipment's size (``fit``) and turned by the equipment's yaw, so it takes the place of the built-in mesh in
the bundle (:mod:`scene.bundle`) and gets the same state colours. It is refused, with the entry named and
the built-in mesh drawn instead, when:

- the file is missing, unreadable, not a mesh trimesh knows, or holds no triangles;
- it is larger than ``MAX_FILE_MB`` or has more than ``MAX_MODEL_TRIANGLES`` triangles;
- drawing it would take the scene over its triangle budget (``SCENE_TRIANGLE_BUDGET`` triangles drawn,
  each instance counted);
- placed at the equipment's position it reaches outside the site.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from plant.schema import Equipment, Site

logger = logging.getLogger(__name__)

UNITS_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
MAX_FILE_MB = 64.0
MAX_MODEL_TRIANGLES = 500_000
SCENE_TRIANGLE_BUDGET = 3_000_000  # drawn triangles for the whole scene: SwiftShader and phones stay usable


class ModelRefusedError(Exception):
    """A model that cannot be drawn; the message names the reason (the caller adds the entry)."""


@dataclass(frozen=True)
class LoadedModel:
    mesh: trimesh.Trimesh  # metres, z up, base centre at the origin, yaw applied
    triangles: int
    source_triangles: int


def load_model(eq: Equipment, base: Path, site: Site | None = None) -> LoadedModel:
    """``eq``'s model ready for the bundle, or :class:`ModelRefusedError`."""
    spec = eq.model
    if spec is None:
        raise ModelRefusedError("no model")
    path = (base / spec.file).resolve()
    if not path.is_file():
        raise ModelRefusedError(f"{spec.file}: file not found")
    size_mb = path.stat().st_size / 1e6
    if size_mb > MAX_FILE_MB:
        raise ModelRefusedError(f"{spec.file}: {size_mb:.0f} MB is more than {MAX_FILE_MB:.0f} MB")
    try:
        loaded = trimesh.load(str(path), force="mesh")
    except Exception as error:
        raise ModelRefusedError(f"{spec.file}: cannot read it ({type(error).__name__}: {error})") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise ModelRefusedError(f"{spec.file}: holds no triangles")
    mesh = loaded.copy()
    source_triangles = len(mesh.faces)
    if source_triangles > MAX_MODEL_TRIANGLES:
        raise ModelRefusedError(f"{spec.file}: {source_triangles:,} triangles, more than {MAX_MODEL_TRIANGLES:,}")
    if not np.isfinite(mesh.vertices).all():
        raise ModelRefusedError(f"{spec.file}: has vertices that are not numbers")
    mesh.apply_scale(UNITS_M[spec.units])  # type: ignore[no-untyped-call]
    if spec.up == "y":  # y-up (glTF) to z-up: +90 degrees about x
        mesh.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (1, 0, 0)))
    lo, hi = mesh.bounds
    mesh.apply_translation((-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]))
    extent = hi - lo
    if spec.fit:
        if (extent <= 0).any():
            raise ModelRefusedError(f"{spec.file}: is flat ({extent[0]:.3g} x {extent[1]:.3g} x {extent[2]:.3g})")
        length, width, height = eq.size
        mesh.apply_scale(min(length / extent[0], width / extent[1], height / extent[2]))  # type: ignore[no-untyped-call]
    if eq.yaw_deg % 360:
        mesh.apply_transform(trimesh.transformations.rotation_matrix(math.radians(eq.yaw_deg), (0, 0, 1)))
    if site is not None:
        lo, hi = mesh.bounds
        x0, y0 = eq.position[0] + lo[0], eq.position[1] + lo[1]
        x1, y1 = eq.position[0] + hi[0], eq.position[1] + hi[1]
        if x0 < 0 or y0 < 0 or x1 > site.width_m or y1 > site.depth_m:
            raise ModelRefusedError(
                f"{spec.file}: placed at ({eq.position[0]:g}, {eq.position[1]:g}) it spans x {x0:.1f}..{x1:.1f},"
                f" y {y0:.1f}..{y1:.1f} m, outside the site (0..{site.width_m:g} x 0..{site.depth_m:g} m)"
            )
    return LoadedModel(mesh=mesh, triangles=len(mesh.faces), source_triangles=source_triangles)
