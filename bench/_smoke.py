"""Smoke mode shared by every benchmark: ``python -m bench <name> --smoke``.

A smoke run takes the benchmark's own code path on tiny sizes, in seconds, so the test suite can check
that every benchmark still runs against what has landed. Its figures say that they come from a smoke run:
they are not measurements. A smoke run never reads or writes the benchmarks' cache under ``var/bench/``.
"""

from __future__ import annotations

import argparse
from typing import Any

NOTE = "smoke run: tiny sizes to check that the benchmark runs; these figures are not measurements"


def add_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the same code path on tiny sizes, in seconds, without the cache (figures are not measurements)",
    )


def mark(figures: dict[str, Any], smoke: bool) -> dict[str, Any]:
    """``figures`` with ``smoke`` set (and the note when it is a smoke run)."""
    figures["smoke"] = smoke
    if smoke:
        figures["note"] = NOTE
    return figures
