"""``python -m scene check [FILE]``: build the plant's 3D meshes as the web app will, and report.

Prints the equipment drawn with the plant's own models, the triangles drawn against the scene's budget, and
every refused model with its entry (exit 2 when a model was refused, so a deployment script notices).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from plant.loader import DEMO_PLANT, PlantFileError, load_plant
from scene.bundle import build_bundle


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scene", description="3D scene tools")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="build the meshes and report models, triangles and refused models")
    c.add_argument("file", type=Path, nargs="?", default=None, help="plant file (default: SW_PLANT_FILE or the demo)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    path = args.file or Path(os.environ.get("SW_PLANT_FILE") or DEMO_PLANT)
    try:
        plant = load_plant(path)
    except PlantFileError as error:
        print(error, file=sys.stderr)
        return 2
    bundle = build_bundle(plant, base=path.parent)
    print(
        f"{len(plant.equipment)} equipment, {bundle.models} with their own model; {len(bundle.groups)} meshes,"
        f" {bundle.triangles:,} triangles drawn of a budget of {bundle.budget:,}; {len(bundle.data) / 1e6:.1f} MB"
    )
    for problem in bundle.problems:
        print(f"refused: {problem}", file=sys.stderr)
    return 2 if bundle.problems else 0


if __name__ == "__main__":
    sys.exit(main())
