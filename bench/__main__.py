"""Dispatch ``python -m bench <name> [args]`` to ``bench/<name>.py``'s ``main(argv) -> dict``.

Every benchmark takes ``--quick`` (shorter) and ``--smoke`` (the same code path on tiny sizes, in seconds;
the figures then say ``"smoke": true`` and are not measurements).
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] not in available():
        sys.stderr.write(f"usage: python -m bench <{'|'.join(available())}> [--quick | --smoke]\n")
        return 2
    module = importlib.import_module(f"bench.{argv[0]}")
    figures = module.main(argv[1:])
    sys.stdout.write(json.dumps(figures, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
