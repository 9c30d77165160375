"""The type checker passes over the packages it covers, the web tier included.

mypy runs with the configuration in ``pyproject.toml`` (``[tool.mypy]``: the packages it covers and how
strict it is) and its cache in ``.mypy_cache/`` at the repository root: a run without a cache takes
10-25 s on two busy cores, a second run about a second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 540


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_mypy_passes() -> None:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"mypy took longer than {TIMEOUT_S} s:\n{error.stdout or ''}{error.stderr or ''}")
    assert proc.returncode == 0, f"mypy exit {proc.returncode}:\n{proc.stdout}{proc.stderr}"
