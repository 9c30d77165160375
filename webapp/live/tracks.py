"""People's tracks packed for the personnel map (the browser's side of ``store.people``'s history reads).

* :func:`pack_playback` - a replay (``store.people.playback``) compact for a deck.gl TripsLayer;
* :func:`pack_heatmap` - presence per grid cell (``store.people.heatmap``) as bytes for a bitmap.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from engine.tracks import SECOND_MS
from store.people import Heatmap, Playback


def pack_playback(pb: Playback) -> dict[str, Any]:
    """``{"t0", "t1", "step_s", "zone", "badges": [{"id", "n", "nz", "r", "v"}], "trips": [{"b": badge index,
    "p": [[x, y], ...], "t": [s, ...]}], "violations": [[start_s, end_s or null, severity, rule, badge index
    or null, zone]], "points", "access"}``: x/y to 0.1 m, times in seconds from ``t0`` to 0.1 s, ``step_s``
    the time bucket, ``points`` the positions in all trips."""
    out: dict[str, Any] = {
        "t0": pb.t0,
        "t1": pb.t1,
        "step_s": pb.step_ms / SECOND_MS if pb.step_ms else 0,
        "zone": pb.zone,
        "badges": [
            {"id": ident.badge, "n": ident.name, "nz": ident.name_zh, "r": ident.role, "v": int(ident.vehicle)}
            for ident in pb.badges
        ],
        "trips": [],
        "violations": [],
        "points": 0,
        "access": pb.access.value,
    }
    n_points = 0
    for b, trip in pb.trips:
        out["trips"].append(
            {
                "b": b,
                "p": [[round(float(x), 1), round(float(y), 1)] for x, y in zip(trip.x, trip.y, strict=True)],
                "t": [round(float(s), 1) for s in trip.t],
            }
        )
        n_points += len(trip.t)
    out["points"] = n_points
    index = {ident.badge: i for i, ident in enumerate(pb.badges)}
    for v in pb.violations:
        out["violations"].append(
            [
                round(max(0, v.start_ms - pb.t0) / SECOND_MS, 1),
                None if v.end_ms is None else round((min(pb.t1, v.end_ms) - pb.t0) / SECOND_MS, 1),
                v.severity,
                v.rule,
                index.get(v.badge) if v.badge else None,
                v.zone,
            ]
        )
    return out


def pack_heatmap(hm: Heatmap) -> dict[str, Any]:
    """``{"t0", "t1", "cell", "nx", "ny", "max_s", "total_s", "zone", "data"}``: ``data`` is base64 of
    ``nx * ny`` bytes, row by row from the south-west corner (row ``j`` = y from ``j * cell``), each the cell's
    share of the busiest cell on a square-root scale (0 empty, 255 busiest); empty when the viewer may not see
    positions."""
    out: dict[str, Any] = {"t0": hm.t0, "t1": hm.t1, "cell": hm.cell, "nx": hm.nx, "ny": hm.ny}
    out.update({"max_s": 0.0, "total_s": 0.0, "zone": hm.zone})
    if hm.grid is None:
        out["data"] = ""
        return out
    grid = hm.grid
    peak = float(grid.max())
    out["max_s"] = round(peak, 1)
    out["total_s"] = round(float(grid.sum()), 1)
    scaled = np.zeros_like(grid) if peak <= 0 else np.sqrt(grid / peak) * 255
    raw = np.clip(np.ceil(scaled), 0, 255).astype(np.uint8)
    out["data"] = base64.b64encode(raw.tobytes()).decode("ascii")
    return out
