"""Run the suite at a chosen moment of the plant day, for the time sweep (``python -m tests.timesweep``).

Two environment variables, both unset in an ordinary run:

- ``SW_TEST_CLOCK``: an ISO 8601 moment with its UTC offset. The process must run under libfaketime
  (``LD_PRELOAD`` and ``FAKETIME_TIMESTAMP_FILE``, as the sweep sets them). Every test module starts at that
  moment: before its first test (and so before its module fixtures) the offset of this process's own clock
  file is set so that the wall clock reads the moment, and the clock then runs on at its normal pace. Every
  process the tests start (servers, Chromium, subprocesses) inherits the file and reads the same clock.
  Each pytest-xdist worker has a file of its own, so one worker's reset never moves another's clock.
- Tests marked ``real_clock`` are skipped under the sweep: libfaketime 0.9.10 shifts CLOCK_MONOTONIC with the
  wall clock, and a thread's timed wait (``threading.Condition.wait(timeout)``) then never times out, which
  such tests rely on (a camera going offline); ``FAKETIME_DONT_FAKE_MONOTONIC`` breaks ``time.sleep`` there.
- ``SW_TEST_PLANT_TZ``: a time zone name that replaces the ``site.timezone`` of every plant file parsed in
  this process, to run the suite for a plant in a zone with daylight saving time.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from plant.schema import Plant

CLOCK_ENV = "SW_TEST_CLOCK"
TZ_ENV = "SW_TEST_PLANT_TZ"
CACHE_S = 1.0  # FAKETIME_CACHE_DURATION set by the sweep: how long libfaketime keeps a file's offset
# libfaketime counts the cache's age in whole seconds, so a new offset takes up to three seconds to be read
SEEN_WITHIN_S = 6.0


class _Clock:
    def __init__(self, target: float, path: Path) -> None:
        self.target = target
        self.path = path
        self.offset = read_offset(path)
        self.module: str | None = None

    def reset(self) -> None:
        """Set the offset so that the wall clock reads the target now, and wait until libfaketime reads it."""
        old = self.offset
        real_at_reset, up_at_reset = time.time() - old, _uptime()
        self.offset = round(self.target - real_at_reset)
        if self.offset == old:
            return
        write_offset(self.path, self.offset)
        for _ in range(int(SEEN_WITHIN_S / 0.05)):
            # the real time from the kernel's uptime, which libfaketime does not change
            expected = real_at_reset + (_uptime() - up_at_reset) + self.offset
            if abs(time.time() - expected) < 0.5:
                return
            time.sleep(0.05)
        raise RuntimeError(f"libfaketime did not read the offset in {self.path} within {SEEN_WITHIN_S} s")


def _uptime() -> float:
    with open("/proc/uptime", encoding="ascii") as f:
        return float(f.read().split()[0])


def read_offset(path: Path) -> int:
    return int(path.read_text().strip() or "0")


def write_offset(path: Path, offset: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{offset:+d}\n")
    tmp.replace(path)


_clock: _Clock | None = None


def plant_ms(plant: Plant, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Epoch ms of a wall-clock moment in the plant's own zone: tests that mean "10:30 at the plant" say so,
    and keep their meaning when the sweep runs them for a plant in another zone."""
    tz = ZoneInfo(plant.site.timezone)
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp() * 1000)


def _override_timezone(zone: str) -> None:
    import plant.loader as loader

    ZoneInfo(zone)  # an unknown zone fails here, not in the middle of a test
    parse = loader.parse_plant

    def parse_plant(text: str, path: Path) -> object:
        plant = parse(text, path)
        return plant.model_copy(update={"site": plant.site.model_copy(update={"timezone": zone})})

    loader.parse_plant = parse_plant  # type: ignore[assignment]
    loader.load_plant_cached.cache_clear()


def pytest_configure(config: pytest.Config) -> None:
    global _clock
    zone = os.environ.get(TZ_ENV)
    if zone:
        _override_timezone(zone)
    at = os.environ.get(CLOCK_ENV)
    if not at:
        return
    if "faketime" not in os.environ.get("LD_PRELOAD", "") or "FAKETIME_TIMESTAMP_FILE" not in os.environ:
        raise pytest.UsageError(f"{CLOCK_ENV} needs libfaketime: run the sweep with python -m tests.timesweep")
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"{CLOCK_ENV}={at}: give the UTC offset, e.g. 2026-12-07T07:59:00+08:00")
    shared = Path(os.environ["FAKETIME_TIMESTAMP_FILE"])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    own = shared.with_name(f"{shared.stem}-{worker}.offset")
    write_offset(own, read_offset(shared))
    os.environ["FAKETIME_TIMESTAMP_FILE"] = str(own)  # libfaketime reads the variable again at each refresh
    _clock = _Clock(moment.timestamp(), own)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _clock is None:
        return
    marker = item.get_closest_marker("real_clock")
    if marker is not None:
        pytest.skip(f"needs the real monotonic clock: {marker.args[0] if marker.args else 'timed waits'}")
    module = item.nodeid.split("::", 1)[0]
    if module != _clock.module:
        _clock.module = module
        _clock.reset()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    if os.environ.get(CLOCK_ENV):
        lines.append(f"fake clock: every test module starts at {os.environ[CLOCK_ENV]}")
    if os.environ.get(TZ_ENV):
        lines.append(f"plant time zone replaced by {os.environ[TZ_ENV]}")
    return lines
