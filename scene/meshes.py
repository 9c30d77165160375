"""Equipment meshes built with trimesh from the plant model, in plant metres (x east, y north, z up).

Each equipment kind has a builder that draws it inside its box ``size = (length, width, height)``: length
along local x, width along y, base at z = 0, footprint centred on the origin. A builder always draws the
long side along x; when the plant gives ``width > length`` the part is built the other way and turned by
90 degrees, so a pipe rack or a cell bank runs the way the plant file says. ``yaw_deg`` then turns the
footprint counter-clockwise (0 = length along east) and ``position`` moves its base centre into place.

A mesh is a list of parts; each part is a closed trimesh body with a ``shade`` (0..1) that darkens it
(roofs, supports), so one instance colour per equipment (its live state) still shows the structure.
Triangle counts are kept modest: the demo smelter comes to roughly 45,000 triangles.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import trimesh

from plant.schema import Equipment, EquipmentKind

logger = logging.getLogger(__name__)

ROUND = 20  # sections of a vertical round body (a multiple of 4: the bounding box stays exact)
ROUND_H = 16  # sections of a horizontal cylinder
SMOOTH_ANGLE = math.radians(35)  # edges sharper than this stay sharp when shading


@dataclass(frozen=True)
class Part:
    mesh: trimesh.Trimesh
    shade: float = 1.0


Builder = Callable[[float, float, float], list[Part]]


# --- primitives (local frame) -------------------------------------------------------------------------


def box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> trimesh.Trimesh:
    """An axis-aligned box between the given planes."""
    extents = (x1 - x0, y1 - y0, z1 - z0)
    centre = ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2)
    mesh: trimesh.Trimesh = trimesh.creation.box(
        extents=extents, transform=trimesh.transformations.translation_matrix(centre)
    )
    return mesh


def revolved(
    profile: list[tuple[float, float]],
    rx: float,
    ry: float | None = None,
    centre: tuple[float, float] = (0.0, 0.0),
    sections: int = ROUND,
) -> trimesh.Trimesh:
    """A body of revolution about the vertical axis through ``centre``.

    ``profile`` lists ``(r, z)`` with r as a fraction of the radius, from the axis at the bottom round to
    the axis at the top, so the body is closed. ``rx``/``ry`` scale the radius along x/y (an elliptic body
    fills a non-square footprint).
    """
    mesh = trimesh.creation.revolve(np.asarray(profile, dtype=float), sections=sections)
    ry = rx if ry is None else ry
    scale = np.diag([rx, ry, 1.0, 1.0])
    scale[0, 3], scale[1, 3] = centre
    mesh.apply_transform(scale)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def vcylinder(cx: float, cy: float, r: float, z0: float, z1: float, sections: int = ROUND) -> trimesh.Trimesh:
    return revolved([(0, z0), (1, z0), (1, z1), (0, z1)], r, centre=(cx, cy), sections=sections)


def hcylinder(x0: float, x1: float, cy: float, cz: float, r: float, sections: int = ROUND_H) -> trimesh.Trimesh:
    """A cylinder lying along x from ``x0`` to ``x1`` with its axis at ``(y=cy, z=cz)``."""
    mesh = revolved([(0, x0), (1, x0), (1, x1), (0, x1)], r, sections=sections)
    # the revolve axis is z: turn it onto x (z -> x, x -> -z), then move the axis into place
    turn = trimesh.transformations.rotation_matrix(math.pi / 2, (0, 1, 0))
    mesh.apply_transform(turn)
    mesh.apply_translation((0, cy, cz))
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def hull(points: list[tuple[float, float, float]]) -> trimesh.Trimesh:
    """The convex hull of a few points (roof prisms, hoppers, inclined galleries)."""
    mesh: trimesh.Trimesh = trimesh.convex.convex_hull(np.asarray(points, dtype=float))
    return mesh


# --- builders, one per kind (local frame, length >= width) --------------------------------------------


def _plain(length: float, width: float, height: float) -> list[Part]:
    return [Part(box(-length / 2, length / 2, -width / 2, width / 2, 0, height))]


def _building(length: float, width: float, height: float) -> list[Part]:
    """A hall with a pitched roof (ridge along its length)."""
    lx, wy = length / 2, width / 2
    eave = height * 0.8 if height > 6 else height * 0.9
    roof = hull([(x, y, eave) for x in (-lx, lx) for y in (-wy, wy)] + [(x, 0, height) for x in (-lx, lx)])
    return [Part(box(-lx, lx, -wy, wy, 0, eave)), Part(roof, 0.72)]


def _flash_furnace(length: float, width: float, height: float) -> list[Part]:
    """Settler (long low body), reaction shaft (cylinder at the feed end), uptake (tall at the far end)."""
    lx, wy = length / 2, width / 2
    settler_top = height * 0.28
    shaft_r = min(0.32 * width, 0.12 * length)
    shaft_x = -lx + shaft_r + 0.04 * length
    shaft_top = height * 0.72
    burner_r = shaft_r * 0.35
    uptake_x0 = lx - 0.16 * length
    return [
        Part(box(-lx, lx, -wy, wy, 0, settler_top), 0.85),
        Part(vcylinder(shaft_x, 0, shaft_r, settler_top, shaft_top), 1.0),
        Part(vcylinder(shaft_x, 0, burner_r, shaft_top, shaft_top + 0.08 * height, sections=12), 0.7),
        Part(box(uptake_x0, lx, -0.32 * width, 0.32 * width, settler_top, height), 0.95),
    ]


def _horizontal_vessel(mouth: bool, radius_frac: float) -> Builder:
    """A horizontal cylinder on two saddles (converter, anode furnace, rotary dryer, mill)."""

    def build(length: float, width: float, height: float) -> list[Part]:
        lx, wy = length / 2, width / 2
        top = height * 0.88 if mouth else height
        r = min(wy, top * radius_frac)
        axis = top - r
        parts = [Part(hcylinder(-lx, lx, 0, axis, r), 1.0)]
        for sx in (-0.3 * length, 0.3 * length):
            half = max(0.04 * length, 0.3)
            parts.append(Part(box(sx - half, sx + half, -wy, wy, 0, axis), 0.6))
        if mouth:
            parts.append(Part(box(-0.08 * length, 0.08 * length, -0.35 * r, 0.35 * r, axis, height), 0.75))
        return parts

    return build


def _tank(length: float, width: float, height: float) -> list[Part]:
    """A vertical cylinder with a low dome."""
    return [
        Part(revolved([(0, 0), (1, 0), (1, 0.86 * height), (0.6, 0.96 * height), (0, height)], length / 2, width / 2))
    ]


def _tower(length: float, width: float, height: float) -> list[Part]:
    shell = revolved(
        [(0, 0), (1, 0), (1, 0.93 * height), (0.45, height), (0, height)], length / 2, width / 2, sections=16
    )
    return [Part(shell, 1.0)]


def _stack(length: float, width: float, height: float) -> list[Part]:
    """A tall tapered chimney with a dark band at the top."""
    taper = 0.6
    band = 0.96

    def r(z: float) -> float:
        return 1 - (1 - taper) * z

    body = revolved([(0, 0), (1, 0), (r(band), band * height), (0, band * height)], length / 2, width / 2)
    top = revolved([(0, band * height), (r(band), band * height), (taper, height), (0, height)], length / 2, width / 2)
    return [Part(body, 1.0), Part(top, 0.35)]


def _bin(length: float, width: float, height: float) -> list[Part]:
    """A silo: cylinder over a cone hopper, on four legs."""
    lx, wy = length / 2, width / 2
    hopper = revolved([(0, 0.25 * height), (0.25, 0.25 * height), (1, 0.45 * height), (1, height), (0, height)], lx, wy)
    parts = [Part(hopper, 1.0)]
    leg = 0.08 * min(length, width)
    for sx in (-1, 1):
        for sy in (-1, 1):
            cx, cy = sx * 0.55 * lx, sy * 0.55 * wy
            parts.append(Part(box(cx - leg, cx + leg, cy - leg, cy + leg, 0, 0.3 * height), 0.55))
    return parts


def _clarifier(length: float, width: float, height: float) -> list[Part]:
    """A wide round basin with a bridge across it."""
    lx, wy = length / 2, width / 2
    basin = revolved([(0, 0), (1, 0), (1, 0.6 * height), (0, 0.6 * height)], lx, wy, sections=24)
    bridge = box(-lx, lx, -0.05 * width, 0.05 * width, 0.75 * height, height)
    hub = vcylinder(0, 0, 0.08 * min(length, width), 0.6 * height, 0.75 * height, sections=8)
    return [Part(basin, 0.8), Part(bridge, 1.0), Part(hub, 0.7)]


def _casting_wheel(length: float, width: float, height: float) -> list[Part]:
    profile = [(0, 0), (0.3, 0), (0.3, 0.5 * height), (1, 0.5 * height), (1, height), (0, height)]
    return [Part(revolved(profile, length / 2, width / 2, sections=24))]


def _cooling_tower(length: float, width: float, height: float) -> list[Part]:
    """Mechanical-draft cells with a fan stack on each."""
    lx, wy = length / 2, width / 2
    deck = 0.8 * height
    cells = max(1, round(length / width))
    pitch = length / cells
    parts = [Part(box(-lx, lx, -wy, wy, 0, deck), 0.9)]
    r = 0.36 * min(pitch, width)
    for i in range(cells):
        parts.append(Part(vcylinder(-lx + pitch * (i + 0.5), 0, r, deck, height, sections=12), 0.7))
    return parts


def _cells(length: float, width: float, height: float) -> list[Part]:
    """A bank of electrolytic cells: rows of small boxes along the length, an aisle between two rows."""
    lx, wy = length / 2, width / 2
    pitch, gap = 2.5, 0.3
    n = max(1, math.floor((length + gap) / pitch))
    cell = (length - gap * (n - 1)) / n
    rows = [(-wy, wy)] if width < 8 else [(-wy, -0.05 * width), (0.05 * width, wy)]
    parts = []
    for y0, y1 in rows:
        for i in range(n):
            x0 = -lx + i * (cell + gap)
            parts.append(Part(box(x0, x0 + cell, y0, y1, 0, height), 1.0 if i % 2 == 0 else 0.9))
    return parts


def _pipe_rack(length: float, width: float, height: float) -> list[Part]:
    """Portal frames every ~8 m, two stringers and three pipes on the top tier."""
    lx, wy = length / 2, width / 2
    post = min(0.4, width / 6)
    frames = max(2, round(length / 8) + 1)
    xs = np.linspace(-lx + post, lx - post, frames)
    beam_z0, beam_z1 = 0.8 * height, 0.85 * height
    parts: list[Part] = []
    for x in xs:
        for y in (-wy + post, wy - post):
            parts.append(Part(box(x - post, x + post, y - post, y + post, 0, height), 0.6))
        parts.append(Part(box(x - post, x + post, -wy, wy, beam_z0, beam_z1), 0.6))
        parts.append(Part(box(x - post, x + post, -wy, wy, 0.45 * height, 0.45 * height + 0.3), 0.6))
    for y0, y1 in ((-wy, -wy + post), (wy - post, wy)):
        parts.append(Part(box(-lx, lx, y0, y1, beam_z0, beam_z1), 0.6))
    r = min(width / 10, 0.07 * height)
    for y in (-0.25 * width, 0.0, 0.25 * width):
        parts.append(Part(hcylinder(-lx, lx, y, beam_z1 + r, r, sections=8), 1.0))
    return parts


def _conveyor(length: float, width: float, height: float) -> list[Part]:
    """An inclined belt gallery from the ground at the west end up to full height, on two trestles."""
    lx, wy = length / 2, width / 2
    t = min(2.0, 0.35 * height)
    gw = min(width, 3.0) / 2
    pts = [(-lx, y, z) for y in (-gw, gw) for z in (0, t)] + [
        (lx, y, z) for y in (-gw, gw) for z in (height - t, height)
    ]
    parts = [Part(hull(pts), 1.0)]
    for f in (0.4, 0.75):
        x = -lx + f * length
        bottom = (height - t) * f
        parts.append(Part(box(x - 0.4, x + 0.4, -wy, wy, 0, bottom), 0.6))
    return parts


def _crane(length: float, width: float, height: float) -> list[Part]:
    """A portal: four legs, two girders along the length, two end beams."""
    lx, wy = length / 2, width / 2
    leg = min(0.8, width / 8)
    g = min(1.2, height / 4)
    parts = []
    for x in (-lx, lx - 2 * leg):
        for y in (-wy, wy - 2 * leg):
            parts.append(Part(box(x, x + 2 * leg, y, y + 2 * leg, 0, height), 0.6))
    for y in (-wy, wy - 2 * leg):
        parts.append(Part(box(-lx, lx, y, y + 2 * leg, height - g, height), 1.0))
    for x in (-lx, lx - 2 * leg):
        parts.append(Part(box(x, x + 2 * leg, -wy, wy, height - g, height), 0.8))
    return parts


def _skid(length: float, width: float, height: float) -> list[Part]:
    """Pump, blower, compressor: a base skid, a motor cylinder and the machine casing."""
    lx, wy = length / 2, width / 2
    base = 0.25 * height
    r = min(0.4 * width, 0.37 * (height - base))
    return [
        Part(box(-lx, lx, -wy, wy, 0, base), 0.55),
        Part(hcylinder(-lx + 0.05 * length, 0.1 * length, 0, base + r, r, sections=12), 0.9),
        Part(box(0.15 * length, lx, -0.4 * width, 0.4 * width, base, height), 1.0),
    ]


def _transformer(length: float, width: float, height: float) -> list[Part]:
    lx, wy = length / 2, width / 2
    body_top = 0.7 * height
    parts = [Part(box(-lx, lx, -0.7 * wy, 0.7 * wy, 0, body_top), 1.0)]
    parts.append(Part(box(-0.8 * lx, 0.8 * lx, -wy, -0.7 * wy, 0.1 * height, 0.6 * height), 0.6))
    parts.append(Part(box(-0.8 * lx, 0.8 * lx, 0.7 * wy, wy, 0.1 * height, 0.6 * height), 0.6))
    for x in (-0.5 * lx, 0, 0.5 * lx):
        parts.append(Part(vcylinder(x, 0, 0.06 * min(length, width), body_top, height, sections=8), 0.45))
    return parts


def _esp(length: float, width: float, height: float) -> list[Part]:
    """Electrostatic precipitator: casing on columns with hoppers underneath."""
    lx, wy = length / 2, width / 2
    base = 0.3 * height
    parts = [Part(box(-lx, lx, -wy, wy, base, height), 1.0)]
    n = 2 if length >= width else 1
    pitch = length / n
    for i in range(n):
        cx = -lx + pitch * (i + 0.5)
        top = [(cx + sx * pitch * 0.45, sy * wy * 0.9, base) for sx in (-1, 1) for sy in (-1, 1)]
        bot = [(cx + sx * pitch * 0.08, sy * wy * 0.1, 0.08 * height) for sx in (-1, 1) for sy in (-1, 1)]
        parts.append(Part(hull(top + bot), 0.7))
    col = min(0.5, width / 12)
    for x in (-lx, lx - 2 * col):
        for y in (-wy, wy - 2 * col):
            parts.append(Part(box(x, x + 2 * col, y, y + 2 * col, 0, base), 0.55))
    return parts


def _boiler(length: float, width: float, height: float) -> list[Part]:
    lx, wy = length / 2, width / 2
    r = min(0.06 * height, 0.2 * width)
    top = height - 2 * r
    return [Part(box(-lx, lx, -wy, wy, 0, top), 1.0), Part(hcylinder(-0.8 * lx, 0.8 * lx, 0, top + r, r), 0.75)]


def _air_separation(length: float, width: float, height: float) -> list[Part]:
    """Cold box beside a distillation column."""
    lx, wy = length / 2, width / 2
    r = min(0.2 * length, 0.45 * width)
    cx = lx - r
    return [
        Part(box(-lx, cx - r - 0.5, -wy, wy, 0, 0.85 * height), 0.9),
        Part(
            revolved([(0, 0), (1, 0), (1, 0.95 * height), (0.5, height), (0, height)], r, centre=(cx, 0), sections=16)
        ),
    ]


def _slag_furnace(length: float, width: float, height: float) -> list[Part]:
    """Electric furnace: a low body with three electrodes."""
    lx, wy = length / 2, width / 2
    body = 0.7 * height
    parts = [Part(box(-lx, lx, -wy, wy, 0, body), 1.0)]
    for x in (-0.25 * length, 0, 0.25 * length):
        parts.append(Part(vcylinder(x, 0, 0.07 * width, body, height, sections=8), 0.45))
    return parts


BUILDERS: dict[EquipmentKind, Builder] = {
    EquipmentKind.BUILDING: _building,
    EquipmentKind.FLASH_FURNACE: _flash_furnace,
    EquipmentKind.CONVERTER: _horizontal_vessel(mouth=True, radius_frac=0.5),
    EquipmentKind.ANODE_FURNACE: _horizontal_vessel(mouth=False, radius_frac=0.42),
    EquipmentKind.DRYER: _horizontal_vessel(mouth=False, radius_frac=0.4),
    EquipmentKind.MILL: _horizontal_vessel(mouth=False, radius_frac=0.45),
    EquipmentKind.CASTING_WHEEL: _casting_wheel,
    EquipmentKind.SLAG_FURNACE: _slag_furnace,
    EquipmentKind.ELECTROLYTIC_CELLS: _cells,
    EquipmentKind.TANK: _tank,
    EquipmentKind.STACK: _stack,
    EquipmentKind.TOWER: _tower,
    EquipmentKind.PIPE_RACK: _pipe_rack,
    EquipmentKind.CONVEYOR: _conveyor,
    EquipmentKind.BIN: _bin,
    EquipmentKind.BLOWER: _skid,
    EquipmentKind.PUMP: _skid,
    EquipmentKind.COMPRESSOR: _skid,
    EquipmentKind.TRANSFORMER: _transformer,
    EquipmentKind.BOILER: _boiler,
    EquipmentKind.AIR_SEPARATION: _air_separation,
    EquipmentKind.CRANE: _crane,
    EquipmentKind.COOLING_TOWER: _cooling_tower,
    EquipmentKind.CLARIFIER: _clarifier,
    EquipmentKind.ESP: _esp,
}


# --- placing ------------------------------------------------------------------------------------------


def local_parts(kind: EquipmentKind, size: tuple[float, float, float], yaw_deg: float = 0.0) -> list[Part]:
    """The parts of one equipment about its base centre, turned by ``yaw_deg`` (not moved)."""
    length, width, height = size
    build = BUILDERS.get(kind, _plain)
    turn = yaw_deg
    if width > length:  # builders draw the long side along x
        length, width = width, length
        turn += 90.0
    parts = build(length, width, height)
    if turn % 360:
        rot = trimesh.transformations.rotation_matrix(math.radians(turn), (0, 0, 1))
        for p in parts:
            p.mesh.apply_transform(rot)
    return parts


def equipment_parts(eq: Equipment) -> list[Part]:
    """The parts of ``eq`` in plant coordinates."""
    parts = local_parts(eq.kind, eq.size, eq.yaw_deg)
    for p in parts:
        p.mesh.apply_translation(eq.position)
    return parts


def merge(parts: list[Part]) -> trimesh.Trimesh:
    """All parts as one mesh (closed parts stay closed: the result is watertight when they are)."""
    merged = trimesh.util.concatenate([p.mesh for p in parts])
    assert isinstance(merged, trimesh.Trimesh)  # meshes (or none) concatenate to one mesh
    return merged


def equipment_mesh(eq: Equipment) -> trimesh.Trimesh:
    return merge(equipment_parts(eq))


@dataclass(frozen=True)
class RenderMesh:
    """Flat arrays ready for a GPU: positions, normals, per-vertex shade (as RGB), triangle indices."""

    positions: np.ndarray  # (n, 3) float32
    normals: np.ndarray  # (n, 3) float32
    colors: np.ndarray  # (n, 3) float32, 0..1
    indices: np.ndarray  # (m * 3,) uint32

    @property
    def triangles(self) -> int:
        return len(self.indices) // 3


def _corner_normals(vertices: np.ndarray, faces: np.ndarray, angle: float) -> np.ndarray:
    """A normal per face corner: the area-weighted mean of the normals of the faces around the corner's
    vertex that lie within ``angle`` of the corner's own face (sharp edges stay sharp)."""
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    fn = cross / np.maximum(area, 1e-12)[:, None]
    cv = faces.ravel()
    cf = np.repeat(np.arange(len(faces)), 3)
    order = np.argsort(cv, kind="stable")
    sv, sf = cv[order], cf[order]
    start = np.searchsorted(sv, sv, "left")
    count = np.bincount(sv, minlength=len(vertices))[sv]
    owner = np.repeat(np.arange(len(sv)), count)  # one row per (corner, face around its vertex)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    other = sf[start[owner] + step]
    keep = (fn[sf[owner]] * fn[other]).sum(axis=1) > math.cos(angle)
    acc = np.zeros((len(sv), 3))
    np.add.at(acc, owner[keep], fn[other[keep]] * area[other[keep], None])
    acc /= np.maximum(np.linalg.norm(acc, axis=1), 1e-12)[:, None]
    normals = np.empty_like(acc)
    normals[order] = acc
    return normals


def render_mesh(parts: list[Part]) -> RenderMesh:
    """Shared vertices split where edges are sharp, smooth normals elsewhere, shades as vertex colours."""
    mesh = merge(parts)
    vertices = np.asarray(mesh.vertices, dtype=float)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    shade = np.concatenate([np.full(len(p.mesh.vertices), p.shade) for p in parts])
    normals = _corner_normals(vertices, faces, SMOOTH_ANGLE)
    # one output vertex per distinct (vertex, normal) pair
    key = np.column_stack([faces.ravel(), np.round(normals * 1000).astype(np.int64)])
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    src = uniq[:, 0]
    return RenderMesh(
        positions=vertices[src].astype(np.float32),
        normals=normals[first].astype(np.float32),
        colors=np.repeat(shade[src, None], 3, axis=1).astype(np.float32),
        indices=inverse.astype(np.uint32),
    )
