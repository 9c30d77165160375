"""The import rules of pyproject.toml hold (import-linter): layers from the web tier down to the plant, engine/
and scene/ free of Dash, Flask and SQL, no cycle between the modules of a package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from settings import ROOT


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
    assert out.stdout.count("KEPT") == 3, out.stdout[-2000:]
