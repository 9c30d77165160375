"""``python -m plant check [FILE]``: validate a plant file (and the files it includes) and summarise it.

Prints every problem with its entry, file and line, and exits 2; or prints what the plant holds (entries per
section, tags per endpoint and kind, the files read, the time it took) and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

from plant.loader import DEMO_PLANT, PlantFileError, list_sections, parse_plant_source, read_text
from plant.schema import Plant


def summary(plant: Plant, files: list[Path], seconds: float) -> str:
    lines = [f"plant {plant.site.name}: valid ({seconds:.2f} s, {len(files)} file(s))"]
    for path in files:
        lines.append(f"  file {path}")
    for name in list_sections():
        items = getattr(plant, name)
        if items:
            lines.append(f"  {name:<14}{len(items):>8}")
    per_endpoint = Counter(t.endpoint for t in plant.tags)
    for ep in plant.endpoints:
        kinds = Counter(t.kind.value for t in plant.tags if t.endpoint == ep.id)
        security = ep.security.policy.value + "/" + ep.security.mode.value if ep.security else "none (this machine)"
        shown = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        lines.append(f"  endpoint {ep.id}: {per_endpoint[ep.id]} tags ({shown}); {ep.url}; security {security}")
    return "\n".join(lines)


def check(path: Path) -> tuple[int, str]:
    started = time.perf_counter()
    try:
        plant, source = parse_plant_source(read_text(path, PlantFileError, "a plant file"), path)
    except PlantFileError as error:
        return 2, str(error) if len(error.problems) <= 20 else _all(error)
    return 0, summary(plant, source.files, time.perf_counter() - started)


def _all(error: PlantFileError) -> str:
    return f"plant file {error.path}: {len(error.problems)} problem(s)\n  " + "\n  ".join(error.problems)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m plant", description="plant file tools")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="validate a plant file and print a summary or every problem")
    c.add_argument("file", type=Path, nargs="?", default=None, help="plant file (default: SW_PLANT_FILE or the demo)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    code, text = check(args.file or Path(os.environ.get("SW_PLANT_FILE") or DEMO_PLANT))
    (sys.stdout if code == 0 else sys.stderr).write(text + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
