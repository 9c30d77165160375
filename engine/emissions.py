"""Stack emissions (CEMS): minute data -> hourly averages with China's validity rule -> daily averages, emitted
mass per day and month, exceedances.

The rules follow HJ 75-2017 (the technical specification for continuous emission monitoring of flue gas):

- **Minutes.** Every minute of a pollutant carries one data flag (the flags of HJ 212): ``N`` normal,
  ``M`` maintenance (the analyser is being serviced), ``C`` calibration, ``D`` analyser fault, ``-`` no
  data. The store derives the flag from the OPC UA status of the samples (:func:`minute_flag`):
  Bad_OutOfService marks maintenance, Bad_ConfigurationError calibration, Bad_DeviceFailure and
  Bad_SensorFailure a fault; a minute with any such sample takes that flag (maintenance before calibration
  before fault), else it is normal when it has good data.
- **Hours.** The hourly average is the mean of the *normal* minutes. An hour is **valid** only with at least
  45 normal minutes (``valid_minutes``). Maintenance, calibration and fault minutes flag the hour; the flags
  are kept with the value (:attr:`HourAverage.flags`), invalid hours keep their (informative) value too.
- **Exceedance.** A valid hour whose average is above the pollutant's hourly limit, unless the hour is a
  maintenance or calibration hour (any ``M``/``C`` minute): readings taken around servicing are not judged.
  The limit is compared strictly (equal to the limit is compliant).
- **Days.** The daily average is the mean of the day's valid hours (the plant's local day); a day is valid
  with at least 20 valid hours (``valid_hours_per_day``).
- **Mass.** An hour's emitted mass is its average concentration (mg/m3) times its average stack flow
  (Nm3/h) over one hour, in kg; only valid hours with a flow count. A day's and a month's mass are the sums
  of their hours; the hours left out are counted so a page can say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
VALID_MINUTES = 45
VALID_HOURS_PER_DAY = 20
MG_TO_KG = 1e-6  # mg/m3 x Nm3/h over an hour: kg (flue gas)
MG_PER_L_TO_KG = 1e-3  # mg/L x m3/h over an hour: kg (wastewater: 1 mg/L is 1 g/m3)

# OPC UA status codes (Part 4) a CEMS data acquisition system reports for a pollutant's value.
BAD_OUT_OF_SERVICE = 0x808D0000  # maintenance
BAD_CONFIGURATION_ERROR = 0x80890000  # calibration (zero/span check)
BAD_DEVICE_FAILURE = 0x808B0000  # analyser fault
BAD_SENSOR_FAILURE = 0x808C0000  # analyser fault


class Flag(StrEnum):
    """Data flag of a minute (HJ 212)."""

    NORMAL = "N"
    MAINTENANCE = "M"
    CALIBRATION = "C"
    FAULT = "D"
    MISSING = "-"


_QUALITY_FLAG: dict[int, Flag] = {
    BAD_OUT_OF_SERVICE: Flag.MAINTENANCE,
    BAD_CONFIGURATION_ERROR: Flag.CALIBRATION,
    BAD_DEVICE_FAILURE: Flag.FAULT,
    BAD_SENSOR_FAILURE: Flag.FAULT,
}
FLAGGING_QUALITIES: tuple[int, ...] = tuple(_QUALITY_FLAG)
_ORDER = (Flag.MAINTENANCE, Flag.CALIBRATION, Flag.FAULT)
_NOT_JUDGED = (Flag.MAINTENANCE, Flag.CALIBRATION)


def quality_flag(quality: int) -> Flag | None:
    """The flag an OPC UA status code sets on its minute, or None (good data, or a status CEMS do not report)."""
    return _QUALITY_FLAG.get(quality & 0xFFFF0000)


def minute_flag(has_good_data: bool, flags: Iterable[Flag] = ()) -> Flag:
    """One minute's flag from whether it has good data and the flags its samples set."""
    present = set(flags)
    for f in _ORDER:
        if f in present:
            return f
    return Flag.NORMAL if has_good_data else Flag.MISSING


@dataclass(frozen=True)
class Minute:
    """One minute of a pollutant (or of the flow): its start, its average of good data, its flag."""

    start_ms: int
    value: float | None
    flag: Flag = Flag.NORMAL


@dataclass(frozen=True)
class HourAverage:
    start_ms: int
    value: float | None  # mean of the normal minutes (None without any)
    normal: int  # minutes by flag
    maintenance: int
    calibration: int
    fault: int
    missing: int
    valid: bool
    flags: str  # "N" for a clean hour, else the flags present in M, C, D, - order (e.g. "MD")
    limit: float | None
    exceedance: bool
    flow: float | None = None  # mean stack flow, Nm3/h
    mass_kg: float | None = None  # emitted in the hour (valid hours with a flow only)

    @property
    def maintenance_hour(self) -> bool:
        return self.maintenance > 0 or self.calibration > 0


def hour_average(
    start_ms: int,
    minutes: Iterable[Minute],
    limit: float | None = None,
    valid_minutes: int = VALID_MINUTES,
    flow: float | None = None,
    mass_factor: float = MG_TO_KG,
) -> HourAverage:
    """The hour starting at ``start_ms`` from its minutes (minutes outside it are ignored; a minute not given is
    missing; a minute given twice counts once, the last one)."""
    end = start_ms + HOUR_MS
    by_start: dict[int, Minute] = {}
    for m in minutes:
        if start_ms <= m.start_ms < end:
            by_start[m.start_ms - (m.start_ms - start_ms) % MINUTE_MS] = m
    counts = dict.fromkeys(Flag, 0)
    values: list[float] = []
    for m in by_start.values():
        flag = m.flag
        if flag == Flag.NORMAL and (m.value is None or not math.isfinite(m.value)):
            flag = Flag.MISSING
        counts[flag] += 1
        if flag == Flag.NORMAL:
            values.append(float(m.value))  # type: ignore[arg-type]
    counts[Flag.MISSING] += 60 - len(by_start)
    value = sum(values) / len(values) if values else None
    valid = counts[Flag.NORMAL] >= valid_minutes
    marks = "".join(f.value for f in (*_ORDER, Flag.MISSING) if counts[f])
    not_judged = any(counts[f] for f in _NOT_JUDGED)
    exceed = bool(valid and not not_judged and limit is not None and value is not None and value > limit)
    mass = value * flow * mass_factor if valid and value is not None and flow is not None else None
    return HourAverage(
        start_ms=start_ms,
        value=value,
        normal=counts[Flag.NORMAL],
        maintenance=counts[Flag.MAINTENANCE],
        calibration=counts[Flag.CALIBRATION],
        fault=counts[Flag.FAULT],
        missing=counts[Flag.MISSING],
        valid=valid,
        flags=marks or Flag.NORMAL.value,
        limit=limit,
        exceedance=exceed,
        flow=flow,
        mass_kg=mass,
    )


def flow_average(minutes: Iterable[Minute]) -> float | None:
    """Mean stack flow of an hour from its normal minutes (None without any)."""
    vals = [m.value for m in minutes if m.flag == Flag.NORMAL and m.value is not None and math.isfinite(m.value)]
    return sum(vals) / len(vals) if vals else None


def hourly(
    minutes: Iterable[Minute],
    limit: float | None = None,
    flow_minutes: Iterable[Minute] = (),
    valid_minutes: int = VALID_MINUTES,
    hours: Sequence[int] | None = None,
    mass_factor: float = MG_TO_KG,
) -> list[HourAverage]:
    """Hourly averages of a pollutant's minutes (and its stack's flow), one per hour that has any minute, or
    one per start in ``hours`` when given (an hour with no minute is then all missing)."""
    by_hour: dict[int, list[Minute]] = {}
    for m in minutes:
        by_hour.setdefault(m.start_ms - m.start_ms % HOUR_MS, []).append(m)
    flows: dict[int, list[Minute]] = {}
    for m in flow_minutes:
        flows.setdefault(m.start_ms - m.start_ms % HOUR_MS, []).append(m)
    starts = sorted(by_hour) if hours is None else list(hours)
    return [
        hour_average(h, by_hour.get(h, ()), limit, valid_minutes, flow_average(flows.get(h, ())), mass_factor)
        for h in starts
    ]


@dataclass(frozen=True)
class DayAverage:
    day: date  # the plant's local day
    value: float | None  # mean of the valid hours
    valid_hours: int
    valid: bool
    exceedances: int
    mass_kg: float  # sum of the valid hours' mass
    hours_without_mass: int  # hours of the day seen but left out of the mass (invalid, or no flow)


def local_day(ms: int, tz: tzinfo) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).date()


def daily(hours: Iterable[HourAverage], tz: tzinfo, valid_hours: int = VALID_HOURS_PER_DAY) -> list[DayAverage]:
    """Daily averages from hourly ones, by the plant's local day, in day order."""
    by_day: dict[date, list[HourAverage]] = {}
    for h in hours:
        by_day.setdefault(local_day(h.start_ms, tz), []).append(h)
    out: list[DayAverage] = []
    for day in sorted(by_day):
        hs = by_day[day]
        good = [h.value for h in hs if h.valid and h.value is not None]
        masses = [h.mass_kg for h in hs if h.mass_kg is not None]
        out.append(
            DayAverage(
                day=day,
                value=sum(good) / len(good) if good else None,
                valid_hours=len(good),
                valid=len(good) >= valid_hours,
                exceedances=sum(1 for h in hs if h.exceedance),
                mass_kg=sum(masses),
                hours_without_mass=len(hs) - len(masses),
            )
        )
    return out


def monthly_mass(days: Iterable[DayAverage]) -> dict[tuple[int, int], float]:
    """Emitted mass (kg) per (year, month) of the days given."""
    out: dict[tuple[int, int], float] = {}
    for d in days:
        key = (d.day.year, d.day.month)
        out[key] = out.get(key, 0.0) + d.mass_kg
    return out


def exceedances(hours: Iterable[HourAverage]) -> list[HourAverage]:
    return [h for h in hours if h.exceedance]


def closed_hours(last_closed_ms: int, now_ms: int) -> list[int]:
    """Starts of the hours that closed after ``last_closed_ms`` (the end of the last hour already judged) and
    up to ``now_ms``."""
    first = last_closed_ms - last_closed_ms % HOUR_MS
    end = now_ms - now_ms % HOUR_MS
    return list(range(first, end, HOUR_MS))
