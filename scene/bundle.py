"""The equipment meshes of a plant as one binary bundle the browser fetches once.

Equipment with the same kind, size and yaw share one mesh (pumps, tanks, cell banks, ...): the bundle holds
each distinct mesh once, in the mesh's local frame (base centre at the origin, yaw applied), and the page
draws one deck.gl ``SimpleMeshLayer`` per mesh with an instance per equipment at its position. Instance
colours carry the live state, so a state change costs a few bytes, never a mesh upload.

Layout of the bundle: for each group in order, ``positions`` (float32, 3 per vertex), ``normals`` (float32,
3 per vertex), ``colors`` (float32 RGB shades, 3 per vertex), ``indices`` (uint32, 3 per triangle), all
little-endian and 4-byte aligned. The manifest (:attr:`MeshBundle.groups`) gives each group's vertex and
index counts and byte offset; the bundle's URL carries its digest so it can be cached forever.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from plant import Plant
from plant.loader import load_plant_cached
from scene.meshes import local_parts, render_mesh

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeshBundle:
    data: bytes
    digest: str
    groups: list[dict[str, int | str]] = field(default_factory=list)  # kind, vertices, indices, offset
    members: list[int] = field(default_factory=list)  # equipment index (plant order) -> group index
    triangles: int = 0  # drawn triangles (each instance counted)

    @property
    def mesh_triangles(self) -> int:
        """Triangles stored in the bundle (each distinct mesh once)."""
        return sum(int(g["indices"]) for g in self.groups) // 3


def deck_version() -> str:
    """The version of the deck.gl bundle that the installed pydeck ships (part of its URL)."""
    import pydeck  # only when a page asks: pydeck is not needed to build meshes

    return str(pydeck.__version__)


def deck_url() -> str:
    """Where the web app serves the deck.gl bundle: the URL changes with the version, so browsers keep it."""
    return f"/scene/deck-{deck_version()}.js"


def mesh_url(digest: str) -> str:
    """Where the web app serves a mesh bundle by its digest."""
    return f"/scene/mesh/{digest}.bin"


def _key(kind: str, size: tuple[float, float, float], yaw: float) -> tuple[str, int, int, int, int]:
    cm = [round(v * 100) for v in size]
    return (kind, cm[0], cm[1], cm[2], round((yaw % 360) * 10))


def build_bundle(plant: Plant) -> MeshBundle:
    """Group equipment by geometry, build each group's mesh once and pack them all into one buffer."""
    keys: dict[tuple[str, int, int, int, int], int] = {}
    members: list[int] = []
    chunks: list[bytes] = []
    groups: list[dict[str, int | str]] = []
    offset = 0
    triangles = 0
    for eq in plant.equipment:
        key = _key(eq.kind.value, eq.size, eq.yaw_deg)
        if key not in keys:
            mesh = render_mesh(local_parts(eq.kind, eq.size, eq.yaw_deg))
            arrays = [
                mesh.positions.astype("<f4"),
                mesh.normals.astype("<f4"),
                mesh.colors.astype("<f4"),
                mesh.indices.astype("<u4"),
            ]
            blob = b"".join(a.tobytes() for a in arrays)
            keys[key] = len(groups)
            groups.append(
                {"kind": eq.kind.value, "vertices": len(mesh.positions), "indices": len(mesh.indices), "offset": offset}
            )
            chunks.append(blob)
            offset += len(blob)
        gi = keys[key]
        members.append(gi)
        triangles += int(groups[gi]["indices"]) // 3
    data = b"".join(chunks)
    digest = hashlib.sha256(data).hexdigest()[:16]
    logger.info(
        "scene meshes: %d equipment, %d meshes, %d triangles drawn, %.0f KB",
        len(members),
        len(groups),
        triangles,
        len(data) / 1024,
    )
    return MeshBundle(data=data, digest=digest, groups=groups, members=members, triangles=triangles)


@lru_cache(maxsize=4)
def plant_bundle(plant_file: str) -> MeshBundle:
    """The bundle of the plant file (built once per process; the plant model is cached the same way)."""
    return build_bundle(load_plant_cached(plant_file))


def unpack(bundle: MeshBundle, group: int) -> dict[str, np.ndarray]:
    """One group's arrays read back from the buffer (what the browser does, for tests)."""
    g = bundle.groups[group]
    n, m, off = int(g["vertices"]), int(g["indices"]), int(g["offset"])
    out: dict[str, np.ndarray] = {}
    for name, count, dtype in (
        ("positions", n * 3, "<f4"),
        ("normals", n * 3, "<f4"),
        ("colors", n * 3, "<f4"),
        ("indices", m, "<u4"),
    ):
        out[name] = np.frombuffer(bundle.data, dtype=dtype, count=count, offset=off)
        off += count * 4
    return out
