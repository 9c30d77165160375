"""The time sweep: the test suite run at several moments of the plant day, under libfaketime.

    .venv/bin/python -m tests.timesweep                    every moment, the whole suite
    .venv/bin/python -m tests.timesweep --only before-shift,dst-spring -- tests/test_overview.py
    .venv/bin/python -m tests.timesweep --list

Arguments after ``--`` go to pytest. Each moment is a separate pytest run in which every test module starts
at that moment of the plant's day (``tests/fakeclock.py``); the DST moments also replace the plant files'
time zone by Europe/Berlin, which changes between CET and CEST. The plant day is today's in the plant zone,
so a sweep run on another day tests other dates; the DST and new-year moments are fixed dates.
Needs Debian's ``faketime`` package (libfaketime); ``python3 run.py test`` installs it when run as root.
Exit status: 0 when every moment passed.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PLANT_TZ = "Asia/Shanghai"  # the zone of the demo and test plant files
DST_TZ = "Europe/Berlin"
LIBRARY_GLOBS = ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1")


@dataclass(frozen=True)
class Moment:
    name: str
    local: datetime  # aware, in the plant's zone for that run
    plant_tz: str | None = None  # replaces the plant files' zone when set

    def describe(self) -> str:
        zone = f" (plant zone {self.plant_tz})" if self.plant_tz else ""
        return f"{self.name:15} {self.local.isoformat()}{zone}"


def moments(today: date | None = None) -> list[Moment]:
    """The moments of the sweep: around midnight and a shift change (the plant files' shifts start at 00:00,
    08:00 and 16:00), the afternoon, a new year, and both daylight-saving changes of a zone that has them."""
    tz = ZoneInfo(PLANT_TZ)
    day = today or datetime.now(tz).date()

    def at(h: int, m: int, s: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, h, m, s, tzinfo=tz)

    berlin = ZoneInfo(DST_TZ)
    return [
        Moment("after-midnight", at(0, 0, 30)),
        Moment("before-shift", at(7, 59)),
        Moment("after-shift", at(8, 1)),
        Moment("afternoon", at(14, 30)),
        Moment("before-midnight", at(23, 59)),
        Moment("new-year", datetime(2027, 1, 1, 0, 0, 30, tzinfo=tz)),
        # 2027-03-28 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back to 02:00 CET.
        Moment("dst-spring", datetime(2027, 3, 28, 1, 59, tzinfo=berlin), DST_TZ),
        Moment("dst-autumn", datetime(2026, 10, 25, 2, 59, tzinfo=berlin), DST_TZ),
    ]


def library() -> str | None:
    for pattern in LIBRARY_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def run(moment: Moment, pytest_args: list[str], lib: str, workdir: Path) -> tuple[int, float]:
    stamp = workdir / f"{moment.name}.offset"
    stamp.write_text(f"{round(moment.local.timestamp() - time.time()):+d}\n")
    env = {
        **os.environ,
        "LD_PRELOAD": lib,
        "FAKETIME_TIMESTAMP_FILE": str(stamp),
        "FAKETIME_CACHE_DURATION": "1",
        "SW_TEST_CLOCK": moment.local.isoformat(),
    }
    if moment.plant_tz:
        env["SW_TEST_PLANT_TZ"] = moment.plant_tz
    else:
        env.pop("SW_TEST_PLANT_TZ", None)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
    return code, time.monotonic() - started


def pytest_args(given: list[str]) -> list[str]:
    """The arguments of each run: the given ones, on the cores with pytest-xdist as ``run.py test`` does
    (every worker keeps its own clock file), unless they choose the workers themselves."""
    if any(a.startswith("-n") or a.startswith("--numprocesses") for a in given) or "no:xdist" in given:
        return given
    workers = os.environ.get("SW_TEST_WORKERS") or str(max(1, min(os.cpu_count() or 1, 4)))
    return ["-n", workers, "--dist", "loadscope", *(given or ["-q"])]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.timesweep", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated moment names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the moments and exit")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)
    chosen = moments()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - {m.name for m in chosen}
        if unknown:
            parser.error(f"unknown moment(s): {', '.join(sorted(unknown))}; --list shows them")
        chosen = [m for m in chosen if m.name in wanted]
    if args.list:
        for m in chosen:
            print(m.describe())
        return 0
    lib = library()
    if lib is None:
        print("libfaketime is not installed (Debian: apt-get install faketime)", file=sys.stderr)
        return 2
    results: list[tuple[Moment, int, float]] = []
    with tempfile.TemporaryDirectory(prefix="sw-timesweep-") as tmp:
        for m in chosen:
            print(f"\n=== {m.describe()}", flush=True)
            code, seconds = run(m, pytest_args(args.pytest_args), lib, Path(tmp))
            results.append((m, code, seconds))
    print("\n=== time sweep")
    for m, code, seconds in results:
        print(f"{'passed' if code == 0 else f'FAILED ({code})':12} {seconds:7.0f} s  {m.describe()}")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
