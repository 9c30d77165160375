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
from pathlib import Path

import numpy as np

from plant import Plant
from plant.loader import load_plant_cached
from scene.meshes import Part, local_parts, render_mesh
from scene.models import SCENE_TRIANGLE_BUDGET, ModelRefusedError, load_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeshBundle:
    data: bytes
    digest: str
    groups: list[dict[str, int | str]] = field(default_factory=list)  # kind, vertices, indices, offset
    members: list[int] = field(default_factory=list)  # equipment index (plant order) -> group index
    triangles: int = 0  # drawn triangles (each instance counted)
    models: int = 0  # equipment drawn with the plant's own model
    budget: int = SCENE_TRIANGLE_BUDGET  # drawn triangles allowed; models beyond it are refused
    problems: list[str] = field(default_factory=list)  # refused models, with their entries

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


def build_bundle(plant: Plant, base: Path | None = None, budget: int = SCENE_TRIANGLE_BUDGET) -> MeshBundle:
    """Group equipment by geometry, build each group's mesh once and pack them all into one buffer.

    Equipment with a model of its own (``model`` in the plant file, files relative to ``base``) gets it
    when it loads and fits (:mod:`scene.models`); a refused model is reported in ``problems`` with its
    entry named, and the built-in mesh is drawn. Models are added after the built-in meshes, in plant
    order, while the drawn triangles stay within ``budget``.
    """
    keys: dict[tuple[object, ...], int] = {}
    members: list[int] = [-1] * len(plant.equipment)
    chunks: list[bytes] = []
    groups: list[dict[str, int | str]] = []
    problems: list[str] = []
    offset = 0
    triangles = 0

    def add(key: tuple[object, ...], kind: str, parts: list[Part]) -> int:
        nonlocal offset
        if key not in keys:
            mesh = render_mesh(parts)
            arrays = [
                mesh.positions.astype("<f4"),
                mesh.normals.astype("<f4"),
                mesh.colors.astype("<f4"),
                mesh.indices.astype("<u4"),
            ]
            blob = b"".join(a.tobytes() for a in arrays)
            keys[key] = len(groups)
            groups.append(
                {"kind": kind, "vertices": len(mesh.positions), "indices": len(mesh.indices), "offset": offset}
            )
            chunks.append(blob)
            offset += len(blob)
        return keys[key]

    def builtin(i: int) -> None:
        nonlocal triangles
        eq = plant.equipment[i]
        key = _key(eq.kind.value, eq.size, eq.yaw_deg)
        gi = keys[key] if key in keys else add(key, eq.kind.value, local_parts(eq.kind, eq.size, eq.yaw_deg))
        members[i] = gi
        triangles += int(groups[gi]["indices"]) // 3

    with_model = [i for i, eq in enumerate(plant.equipment) if eq.model is not None]
    for i, eq in enumerate(plant.equipment):
        if eq.model is None:
            builtin(i)
    models = 0
    for i in with_model:
        eq = plant.equipment[i]
        assert eq.model is not None
        where = f"equipment[{i}] ({eq.id}).model"
        if base is None:
            problems.append(f"{where}: no plant file to find {eq.model.file} from")
            builtin(i)
            continue
        try:
            loaded = load_model(eq, base, plant.site)
            if triangles + loaded.triangles > budget:
                raise ModelRefusedError(
                    f"{eq.model.file}: {loaded.triangles:,} triangles would take the scene over its budget"
                    f" of {budget:,} ({triangles:,} drawn already)"
                )
        except ModelRefusedError as error:
            problems.append(f"{where}: {error}; the built-in {eq.kind.value} mesh is drawn")
            builtin(i)
            continue
        spec = eq.model
        key = (
            "model",
            str((base / spec.file).resolve()),
            spec.units,
            spec.up,
            spec.fit,
            *_key("", eq.size, eq.yaw_deg),
        )
        gi = add(key, eq.kind.value, [Part(loaded.mesh, shade=0.9)])
        members[i] = gi
        triangles += int(groups[gi]["indices"]) // 3
        models += 1
    for problem in problems:
        logger.warning("scene: %s", problem)
    data = b"".join(chunks)
    digest = hashlib.sha256(data).hexdigest()[:16]
    logger.info(
        "scene meshes: %d equipment (%d with their own model), %d meshes, %d triangles drawn of a budget of %d,"
        " %.0f KB",
        len(members),
        models,
        len(groups),
        triangles,
        budget,
        len(data) / 1024,
    )
    return MeshBundle(
        data=data,
        digest=digest,
        groups=groups,
        members=members,
        triangles=triangles,
        models=models,
        budget=budget,
        problems=problems,
    )


@lru_cache(maxsize=4)
def plant_bundle(plant_file: str) -> MeshBundle:
    """The bundle of the plant file (built once per process; the plant model is cached the same way)."""
    return build_bundle(load_plant_cached(plant_file), base=Path(plant_file).parent)


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
