"""The time sweep keeps working: under it, each test module starts at the chosen moment in every process it
starts, the clock runs on, and a DST moment replaces the plant's time zone (``tests/timesweep.py``)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from settings import ROOT
from tests import timesweep

PROBE = """
import subprocess, sys, time
from datetime import datetime
from plant.loader import load_plant

TARGET = datetime.fromisoformat({target!r}).timestamp()


def test_clock_reads_the_moment_in_this_process_and_in_a_child():
    assert abs(time.time() - TARGET) < 60, time.time() - TARGET
    child = float(subprocess.run([sys.executable, "-c", "import time; print(time.time())"],
                                 capture_output=True, text=True, check=True).stdout)
    assert abs(child - TARGET) < 60, child - TARGET


def test_the_clock_runs_on():
    before = time.time()
    time.sleep(0.3)
    assert 0.2 < time.time() - before < 5


def test_plant_zone():
    assert load_plant().site.timezone == {zone!r}
"""


def test_moments_cover_the_plant_day_and_both_dst_changes() -> None:
    names = {m.name: m for m in timesweep.moments()}
    assert {"after-midnight", "before-shift", "after-shift", "afternoon", "before-midnight"} <= set(names)
    spring, autumn = names["dst-spring"], names["dst-autumn"]
    for moment in (spring, autumn):
        assert moment.plant_tz is not None
        an_hour_later = datetime.fromtimestamp(moment.local.timestamp() + 3600, moment.local.tzinfo)
        assert moment.local.utcoffset() != an_hour_later.utcoffset(), moment.name  # the zone changes within it


@pytest.mark.skipif(timesweep.library() is None, reason="libfaketime is not installed (Debian: faketime)")
@pytest.mark.parametrize("name", ["before-midnight", "dst-spring"])
def test_sweep_runs_a_module_at_the_moment(name: str, tmp_path: Path) -> None:
    moment = next(m for m in timesweep.moments() if m.name == name)
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE.format(target=moment.local.isoformat(), zone=moment.plant_tz or "Asia/Shanghai"))
    args = ["-q", "-p", "tests.fakeclock", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(probe)]
    out = subprocess.run(
        [sys.executable, "-m", "tests.timesweep", "--only", name, "--", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 passed" in out.stdout, out.stdout[-3000:]
    summary = out.stdout.split("=== time sweep")[-1]
    assert summary.split()[0] == "passed" and name in summary, summary
