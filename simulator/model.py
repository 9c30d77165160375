"""The plant's dynamics, without I/O: ``SmelterModel(plant, seed, start_ms).step(now_ms)``.

Everything is driven by simulated time in UTC epoch milliseconds and one seeded random generator: the
same plant, seed, start and sequence of step times give identical values.

How the values move (all stepping is exact for any step length, so 1 s live steps and 60 s backfill
steps give the same statistics):

- **Equipment** with a ``STATE`` tag runs, and now and then goes idle, stops, faults (random, per kind
  mean time between failures, repaired after an exponential time), has short stops of a few minutes
  (conveyors, casting wheels, pumps, mills, cranes, every 1.5 days on average) or goes to planned
  maintenance every 3-5 weeks. Its *load* (run x throughput, a slow Ornstein-Uhlenbeck around 1) drives its tags.
- **Planned shutdown**: on the demo plan's shutdown day (the :data:`SHUTDOWN_DAY` of every month, plant time,
  ``simulator.plan``) the smelter line (:data:`SHUTDOWN_PROCESSES`: smelting, converting, fire refining,
  casting, slag treatment and the acid plant fed by their gas) is in maintenance from midnight to midnight:
  nothing runs, counts or faults there, and it starts again at the next midnight.
- **Converters** cycle charge -> blow -> skim -> charge -> blow -> skim -> idle (each phase's length
  varies by +-20 %). Blowing sets the load (blast air, off-gas SO2, blower power); the bath heats while
  blowing and cools when charging, skimming or idle.
- **Analog tags** (process, gas, emission) are ``off + (nominal - off) * lag(driver)`` plus an
  Ornstein-Uhlenbeck deviation and a little white noise. The driver is the equipment's load (flows,
  pressures, currents: lag ~1 min), its "hot" state (temperatures: lag 15 min to 1.5 h) or the smelter's
  off-gas load (acid plant SO2, stack SO2); compositions (acid strength, O2, purity) do not follow the load,
  nor do regulated electrical quantities (voltages, power factor, a rectifier's current): they sit at their
  set point while the unit is energised. The deviation's size comes from the limits (H or L 4 sigma away,
  :data:`SIGMAS_TO_H`), so H alarms in normal operation are occasional, not constant.
  A stopped unit's values decay towards ``off`` (ambient temperature, zero flow) with the same lags.
- **Tank and bin levels** fill with their process's production and are dispatched (emptied at a few
  times the fill rate) between seeded thresholds.
- **Counters** (production, t) and **energy meters** integrate ``nominal per hour x load``; a unit that
  is idle or stopped still draws a base load of energy. Their starting value is the average-load
  integral since 2020-01-01, or a value passed in ``initial`` (to continue a backfilled history).
- **Gas detectors** sit near their (small) nominal with noise; **badges** are moved by
  :class:`simulator.people.Crowd`.
- **Reporting by exception**, as a DCS does: :meth:`SmelterModel.step` returns an analog value only when
  it moved by ``deadband`` (0.25) sigmas since it was last reported, a counter when it counted 10 s worth
  of its full-load rate, and anything that changed at all at least every 10 simulated minutes; states,
  phases, SOS and badge positions whenever they change. Values are rounded to a resolution that suits
  their range (0.1 for 0-1600 degC, 0.01 for 0-100 %, ...), counters to 0.001.
- **Incidents** from ``plant.incidents`` follow :class:`simulator.incidents.IncidentSchedule`: gas leaks
  and over-temperatures ramp the tag above HH (a trapezoid: up in the first 25 % of the window, down in
  the last 25 %), SOS holds the badge's SOS tag true, forbidden entries and man-downs move the badge; an
  emission exceedance holds a stack pollutant at 1.4 times its hourly limit, an analyser maintenance
  publishes a pollutant with the Bad_OutOfService status (:meth:`SmelterModel.status`).
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import numpy as np

from engine.emissions import BAD_OUT_OF_SERVICE
from plant.schema import EquipmentKind, EquipmentState, IncidentKind, Medium, MeterEventKind, Plant, Tag, TagKind
from simulator.incidents import IncidentSchedule, Window
from simulator.people import Crowd

logger = logging.getLogger(__name__)

Value = float | int | bool | list[float]

REF_MS = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)  # counters integrate from here
AMBIENT_C = 25.0
EXCEEDANCE_FACTOR = 1.4  # an emission exceedance holds the pollutant at this multiple of its hourly limit
RUN, IDLE, STOPPED, FAULT, MAINT = (
    EquipmentState.RUN.code,
    EquipmentState.IDLE.code,
    EquipmentState.STOPPED.code,
    EquipmentState.FAULT.code,
    EquipmentState.MAINTENANCE.code,
)

# Converter cycle: (phase code, minutes). 0 idle, 1 charge, 2 blow, 3 skim.
CONVERTER_CYCLE: tuple[tuple[int, float], ...] = ((1, 20), (2, 70), (3, 12), (1, 15), (2, 80), (3, 15), (0, 25))
PHASE_LOAD = {0: 0.03, 1: 0.2, 2: 1.0, 3: 0.12}
PHASE_BATH_C = {0: -70.0, 1: -90.0, 2: 40.0, 3: -20.0}  # bath target offset from nominal

FURNACES = {EquipmentKind.FLASH_FURNACE, EquipmentKind.ANODE_FURNACE, EquipmentKind.SLAG_FURNACE}
GAS_SOURCES = {EquipmentKind.FLASH_FURNACE: 0.6, EquipmentKind.CONVERTER: 0.4}
STORAGE = {EquipmentKind.TANK, EquipmentKind.BIN}
MTBF_DAYS: dict[EquipmentKind, float] = {
    EquipmentKind.FLASH_FURNACE: 40,
    EquipmentKind.CONVERTER: 12,
    EquipmentKind.ANODE_FURNACE: 25,
    EquipmentKind.CASTING_WHEEL: 8,
    EquipmentKind.SLAG_FURNACE: 20,
    EquipmentKind.ELECTROLYTIC_CELLS: 30,
    EquipmentKind.CONVEYOR: 6,
    EquipmentKind.PUMP: 10,
    EquipmentKind.MILL: 8,
    EquipmentKind.CRANE: 8,
}
MTTR_H = 2.5
# The demo plan's planned shutdown (simulator.plan writes target 0 on that day for these processes' products).
SHUTDOWN_DAY = 20
SHUTDOWN_PROCESSES = frozenset({"smelting", "converting", "fire_refining", "casting", "slag", "acid"})
AVAILABILITY = 0.965  # what the fault, idle, stop and maintenance rates above add up to, roughly
DEADBAND_SIGMA = 0.25  # analog values are reported when they moved this many sigmas ...
COUNTER_DEADBAND_S = 10.0  # ... counters when they counted this many seconds of full-load rate ...
HEARTBEAT_MS = 600_000  # ... and anything that changed at all at least every 10 simulated minutes
ASSAY_EVERY_MS = 8 * 3_600_000  # the lab publishes each assay three times a day ...
ASSAY_SHIFT_SIGMAS = 2.5  # ... and an ``assay_shift`` incident moves its mean this many sigmas
IDLE_EVERY_DAYS = 4.0
SIGMAS_TO_H = 4.0  # the process noise: H and L limits are this many sigmas from the nominal value ...
SIGMAS_TO_HH = 6.0  # ... HH and LL (when there is no H or L) this many
STOP_EVERY_DAYS = 20.0
# Short stops (a jammed chute, a tripped belt, a ladle late): a few minutes out of run, restarted by the
# operator, on the units that have them; under the plant's short-stop threshold, so nobody is asked why.
SHORT_STOP_EVERY_DAYS = 1.5
SHORT_STOP_MINUTES = (1.0, 4.0)
SHORT_STOP_KINDS = {
    EquipmentKind.CONVEYOR,
    EquipmentKind.CASTING_WHEEL,
    EquipmentKind.PUMP,
    EquipmentKind.MILL,
    EquipmentKind.CRANE,
}
# Losses between a parent meter and its children (transformers, leaks of a healthy network), a share of what the
# children read, and the day-night swing of a medium's use (cooling, lighting; peak at 15:00 local time).
LOSSES = {
    Medium.ELECTRICITY: 0.012,
    Medium.WATER: 0.015,
    Medium.STEAM: 0.02,
    Medium.NATURAL_GAS: 0.005,
    Medium.OXYGEN: 0.01,
    Medium.COMPRESSED_AIR: 0.015,
}
DAYNIGHT = {Medium.ELECTRICITY: 0.05, Medium.WATER: 0.12, Medium.COMPRESSED_AIR: 0.04, Medium.STEAM: -0.08}

_TOKEN = re.compile(r"[A-Z][A-Z0-9]*")
TEMP_UNITS = {"°C", "℃", "degC", "C", "K"}
FLOW_UNITS = {"Nm3/h", "Nm³/h", "m3/h", "m³/h", "t/h", "kg/h", "L/min", "l/min", "L/s", "l/s", "m3/s", "kg/s"}
PRESSURE_UNITS = {"Pa", "kPa", "MPa", "bar", "mbar", "mmH2O"}
ELECTRIC_UNITS = {"A", "kA", "V", "kV", "kW", "MW", "rpm", "Hz", "mm/s", "%FLA"}
COMPOSITION_WORDS = {
    "CONC",
    "STRENGTH",
    "H2SO4",
    "ACID",
    "PURITY",
    "GRADE",
    "O2",
    "CU",
    "FE",
    "SIO2",
    "PH",
    "DENSITY",
    "RATIO",
    "MOIST",
    "MOISTURE",
    "CONVERSION",
    "EFF",
    "EFFICIENCY",
    "HUMIDITY",
}
LEVEL_WORDS = {"LEVEL", "LVL", "LT", "INVENTORY", "STOCK"}
# Regulated electrical quantities (bus and field voltages, power factor, frequency; the current a rectifier
# holds on its cells): held at their set point while the unit is energised, not moved by its throughput.
REGULATED_WORDS = {"VOLTAGE", "VOLT", "FACTOR", "FREQ", "FREQUENCY"}
REGULATED_CURRENT_KINDS = {EquipmentKind.ELECTROLYTIC_CELLS, EquipmentKind.TRANSFORMER}


@dataclass(frozen=True)
class Profile:
    """How one analog tag moves (exposed for tests and tools)."""

    category: str
    driver: str
    off: float
    nominal: float
    sigma: float
    tau_lag_s: float
    tau_ou_s: float
    decimals: int


def measurement(tag: Tag) -> str:
    if tag.equipment and tag.id.startswith(tag.equipment + "."):
        return tag.id[len(tag.equipment) + 1 :].upper()
    return tag.id.rsplit(".", 1)[-1].upper()


def _tokens(text: str) -> set[str]:
    return set(_TOKEN.findall(text.upper()))


def _decimals(span: float) -> int:
    span = abs(span) if span else 1.0
    return int(min(6, max(0, math.ceil(-math.log10(span)) + 4)))


def _nominal(tag: Tag) -> float:
    if tag.nominal is not None:
        return float(tag.nominal)
    lim = tag.limits
    if lim is not None and lim.l is not None and lim.h is not None:
        return (lim.l + lim.h) / 2
    if tag.range is not None:
        return (tag.range[0] + tag.range[1]) / 2
    return 0.0


def _sigma(tag: Tag, nominal: float, fallback_frac: float = 0.02) -> float:
    lim = tag.limits
    cands = []
    if lim is not None:
        for v in (lim.h, lim.hh):
            if v is not None and v > nominal:
                cands.append((v - nominal) / (SIGMAS_TO_H if v == lim.h else SIGMAS_TO_HH))
                break
        for v in (lim.l, lim.ll):
            if v is not None and v < nominal:
                cands.append((nominal - v) / (SIGMAS_TO_H if v == lim.l else SIGMAS_TO_HH))
                break
    if cands:
        return min(cands)
    if tag.range is not None:
        return fallback_frac * (tag.range[1] - tag.range[0])
    return fallback_frac * abs(nominal) if nominal else 0.1


class SmelterModel:
    """Dynamics of one plant. Not thread-safe; one instance per simulator or backfill run."""

    def __init__(
        self,
        plant: Plant,
        seed: int = 7,
        start_ms: int | None = None,
        initial: Mapping[str, float] | None = None,
        deadband: float = DEADBAND_SIGMA,
    ) -> None:
        self.plant = plant
        self.seed = seed
        self.deadband = deadband
        self.start_ms = int(start_ms if start_ms is not None else datetime.now(UTC).timestamp() * 1000)
        self.now_ms = self.start_ms
        ss = np.random.SeedSequence(seed)
        setup_seq, run_seq, people_seq = ss.spawn(3)
        setup = np.random.default_rng(setup_seq)
        self.rng = np.random.default_rng(run_seq)
        self.schedule = IncidentSchedule(list(plant.incidents), seed, self.start_ms)
        self.tags = {t.id: t for t in plant.tags}
        self._init_equipment(setup)
        self._init_analog(setup)
        self._init_cumulative(initial or {})
        self._init_discrete()
        self.crowd = Crowd(plant, np.random.default_rng(people_seq), self.schedule, self.start_ms)
        self._init_badge_tags()
        self._init_incidents()
        self._init_assays()
        self._published: dict[str, Value] = {}
        self._compute(0.0)
        self._snapshot = self._collect(initial=True)

    # ------------------------------------------------------------------------------------------ set-up

    def _init_equipment(self, rng: np.random.Generator) -> None:
        eqs = self.plant.equipment
        self.eq_ids = [e.id for e in eqs]
        self.eq_index = {e.id: i for i, e in enumerate(eqs)}
        n = len(eqs)
        state_tags = {t.equipment for t in self.plant.tags if t.kind == TagKind.STATE and t.equipment}
        self.eq_has_state = np.array([e.id in state_tags for e in eqs], dtype=bool)
        self.eq_kind = [e.kind for e in eqs]
        self.eq_state = np.full(n, RUN, dtype=np.int64)
        self.eq_until = np.full(n, np.inf)
        self.eq_mtbf_s = np.array([MTBF_DAYS.get(k, 15.0) * 86400 for k in self.eq_kind])
        no_idle = FURNACES | {EquipmentKind.CONVERTER, EquipmentKind.ELECTROLYTIC_CELLS}
        self.eq_idle_ok = np.array([k not in no_idle for k in self.eq_kind], dtype=bool)
        self.eq_short_ok = np.array([k in SHORT_STOP_KINDS for k in self.eq_kind], dtype=bool)
        period_s = rng.uniform(21, 35, n) * 86400
        self.eq_maint_period_ms = period_s * 1000
        self.eq_next_maint = self.start_ms + rng.uniform(0.05, 1.0, n) * self.eq_maint_period_ms
        self.eq_tp = rng.normal(0, 0.03, n)  # throughput deviation (OU around 0)
        for i in range(n):
            if not self.eq_has_state[i]:
                continue
            u = rng.random()
            # Start in fault with the steady-state chance MTTR / MTBF of its kind (0.26 % for a flash
            # furnace, 1.7 % for a conveyor), not one flat rate that faults the plant's heart too often.
            p_fault = MTTR_H * 3600 / self.eq_mtbf_s[i]
            if u < p_fault:
                self._set_state(i, FAULT, self.start_ms, rng)
            elif 0.015 <= u < 0.03:
                self._set_state(i, MAINT, self.start_ms, rng)
            elif u < 0.06 and self.eq_idle_ok[i]:
                self._set_state(i, IDLE, self.start_ms, rng)
        # converters
        self.conv = [i for i, k in enumerate(self.eq_kind) if k == EquipmentKind.CONVERTER]
        self.conv_step = {i: int(rng.integers(len(CONVERTER_CYCLE))) for i in self.conv}
        self.conv_until = {
            i: self.start_ms + rng.uniform(0.05, 1.0) * CONVERTER_CYCLE[self.conv_step[i]][1] * 60_000
            for i in self.conv
        }
        self.eq_phase = np.zeros(n, dtype=np.int64)
        self.eq_phase_load = np.ones(n)
        self.eq_bath = np.zeros(n)
        cycle_min = sum(m for _, m in CONVERTER_CYCLE)
        self.conv_duty = sum(PHASE_LOAD[p] * m for p, m in CONVERTER_CYCLE) / cycle_min
        self.gas_w = np.zeros(n)
        for kind, weight in GAS_SOURCES.items():
            members = np.array([k == kind for k in self.eq_kind], dtype=bool)
            if members.any():
                self.gas_w[members] = weight / members.sum()
        duty = np.array([self.conv_duty if k == EquipmentKind.CONVERTER else 1.0 for k in self.eq_kind])
        self.gas_expect = float((self.gas_w * duty).sum()) * 0.95 or 1.0
        self.has_gas = bool(self.gas_w.any())
        self.eq_acid = np.array(["acid" in e.process or "gas_clean" in e.process for e in eqs], dtype=bool)
        self.eq_zone = [e.zone for e in eqs]
        self.eq_shutdown = np.array([e.process in SHUTDOWN_PROCESSES for e in eqs], dtype=bool) & self.eq_has_state
        self.tz = self.plant.tz()
        self._down_until = -math.inf  # end of the planned shutdown under way (ms), if any ...
        self._next_day = -math.inf  # ... and the next local midnight, when the day is looked at again
        # storage levels (per equipment with a level tag) are set up in _init_analog
        self.gas_load = 1.0

    def _set_state(self, i: int, state: int, t: float, rng: np.random.Generator, short: bool = False) -> None:
        self.eq_state[i] = state
        if short:
            hours = float(rng.uniform(*SHORT_STOP_MINUTES)) / 60
        elif state == FAULT:
            hours = min(12.0, max(0.25, rng.exponential(MTTR_H)))
        elif state == MAINT:
            hours = float(rng.uniform(4, 12))
        elif state == IDLE:
            hours = float(rng.uniform(0.25, 1.5))
        elif state == STOPPED:
            hours = float(rng.uniform(1, 6))
        else:
            self.eq_until[i] = np.inf
            return
        self.eq_until[i] = t + hours * 3_600_000

    def _init_analog(self, rng: np.random.Generator) -> None:
        """Analog tags as parallel arrays; drivers index a vector rebuilt every step (see ``_drivers``)."""
        n_eq = len(self.eq_ids)
        zones = [z.id for z in self.plant.zones]
        self.zone_pos = {z: i for i, z in enumerate(zones)}
        nz = len(zones)
        # driver vector layout
        self.D_CONST, self.D_GAS = 0, 1
        self.D_PROD = 2
        self.D_HOT = self.D_PROD + n_eq
        self.D_ENERGY = self.D_HOT + n_eq
        self.D_GASPROD = self.D_ENERGY + n_eq
        self.D_ZPROD = self.D_GASPROD + n_eq
        self.D_ZENERGY = self.D_ZPROD + nz
        self.D_LEVEL = self.D_ZENERGY + nz
        zone_m = np.zeros((nz, n_eq))
        for e, z in enumerate(self.eq_zone):
            zone_m[self.zone_pos[z], e] = 1.0
        counts = zone_m.sum(axis=1, keepdims=True)
        self.zone_mean = np.where(counts > 0, zone_m / np.maximum(counts, 1), 0.0)
        self.zone_empty = counts[:, 0] == 0

        self.analog: list[Tag] = []
        self.profiles: dict[str, Profile] = {}
        self.levels: list[dict[str, float]] = []  # storage level state machines
        rows: list[tuple[float, float, float, float, float, int, float, float, float, int]] = []
        for tag in self.plant.tags:
            if tag.kind not in (TagKind.PROCESS, TagKind.GAS, TagKind.EMISSION) or measurement(tag) == "PHASE":
                continue
            prof, drv = self._profile(tag, rng)
            lo, hi = tag.range if tag.range is not None else (-math.inf, math.inf)
            if tag.kind in (TagKind.GAS, TagKind.EMISSION):
                lo = max(lo, 0.0)
            white = {"temp": 0.05, "composition": 0.05, "level": 0.0, "gas": 0.35}.get(prof.category, 0.15)
            self.analog.append(tag)
            self.profiles[tag.id] = prof
            rows.append(
                (prof.off, prof.nominal, prof.sigma, prof.tau_lag_s, prof.tau_ou_s, drv, lo, hi, white, prof.decimals)
            )
        arr = np.array(rows, dtype=float).reshape(-1, 10)
        (self.a_off, self.a_nom, self.a_sigma, self.a_tau_lag, self.a_tau_ou) = (arr[:, k].copy() for k in range(5))
        self.a_drv = arr[:, 5].astype(np.int64)
        self.a_lo, self.a_hi, self.a_white = arr[:, 6].copy(), arr[:, 7].copy(), arr[:, 8].copy()
        self.a_dec = arr[:, 9].astype(np.int64)
        self.a_dec_groups = [(d, np.flatnonzero(self.a_dec == d)) for d in np.unique(self.a_dec).tolist()]
        self.a_follow = self.a_off != self.a_nom
        self.a_ou = rng.standard_normal(len(self.analog)) * self.a_sigma
        self.a_lag = np.zeros(len(self.analog))  # set from the drivers in the first _compute
        self.a_first = True
        self.a_ids = np.array([t.id for t in self.analog], dtype=object)
        self.a_index = {t.id: i for i, t in enumerate(self.analog)}
        self.a_value = np.zeros(len(self.analog))
        self._last_a = np.zeros(len(self.analog))
        self._last_a_t = np.zeros(len(self.analog))

    def _profile(self, tag: Tag, rng: np.random.Generator) -> tuple[Profile, int]:
        meas = measurement(tag)
        words = _tokens(meas)
        unit = tag.unit.strip()
        nominal = _nominal(tag)
        e = self.eq_index.get(tag.equipment) if tag.equipment else None
        kind = self.eq_kind[e] if e is not None else None
        rlo = tag.range[0] if tag.range is not None else -math.inf
        span = (tag.range[1] - tag.range[0]) if tag.range is not None else max(abs(nominal), 1.0)

        def clip_off(v: float) -> float:
            return max(v, rlo)

        if e is not None:
            prod, hot = self.D_PROD + e, self.D_HOT + e
            gasprod = self.D_GASPROD + e
        elif tag.zone is not None:
            prod = hot = gasprod = self.D_ZPROD + self.zone_pos[tag.zone]
        else:
            prod = hot = gasprod = self.D_CONST
        so2 = "SO2" in words or "SO2" in meas
        if tag.kind == TagKind.GAS:
            sigma = _sigma(tag, nominal)
            lim = tag.limits
            top = (lim.h if lim and lim.h is not None else None) or (lim.hh if lim and lim.hh is not None else None)
            sigma = max(abs(nominal) * 0.3, 0.01 * (top or 10.0))
            if top is not None:
                sigma = min(sigma, max(top - nominal, 0.0) / 8 or top / 8)
            return Profile("gas", "const", nominal, nominal, sigma, 0.0, 300.0, _decimals(span)), self.D_CONST
        if tag.kind == TagKind.EMISSION:
            drv, dname = (self.D_GAS, "gas_load") if so2 and self.has_gas else (prod, "load")
            off = nominal * 0.1
            return (
                Profile("emission", dname, off, nominal, _sigma(tag, nominal, 0.04), 600.0, 600.0, _decimals(span)),
                drv,
            )
        if kind in STORAGE and words & LEVEL_WORDS:
            lvl = self._new_level(tag, e, nominal, rng)
            idx = self.D_LEVEL + len(self.levels)
            self.levels.append(lvl)
            sigma = 0.002 * span
            return Profile("level", "level", 0.0, 1.0, sigma, 0.0, 120.0, _decimals(span)), idx
        is_temp = unit in TEMP_UNITS or bool(words & {"TEMP", "TEMPERATURE", "TI", "TE", "BATH"})
        if is_temp and unit not in FLOW_UNITS | PRESSURE_UNITS:
            furnace = kind in FURNACES
            tau = 900.0 if kind == EquipmentKind.CONVERTER else (5400.0 if furnace else 1200.0)
            off = clip_off(AMBIENT_C) if nominal > AMBIENT_C else nominal
            return (
                Profile("temp", "hot", off, nominal, _sigma(tag, nominal, 0.01), tau, 900.0, _decimals(span)),
                hot,
            )
        if so2 and (e is not None and (self.eq_acid[e])):
            return (
                Profile(
                    "so2", "gas_load", clip_off(0.0), nominal, _sigma(tag, nominal, 0.03), 120.0, 300.0, _decimals(span)
                ),
                gasprod,
            )
        if words & COMPOSITION_WORDS and not so2 and unit not in FLOW_UNITS:
            return (
                Profile(
                    "composition", "const", nominal, nominal, _sigma(tag, nominal, 0.01), 0.0, 1800.0, _decimals(span)
                ),
                self.D_CONST,
            )
        if words & LEVEL_WORDS:
            return (
                Profile(
                    "composition", "const", nominal, nominal, _sigma(tag, nominal, 0.03), 0.0, 1200.0, _decimals(span)
                ),
                self.D_CONST,
            )
        if words & REGULATED_WORDS or (kind in REGULATED_CURRENT_KINDS and words & {"CURRENT", "DENSITY"}):
            off = clip_off(0.0) if nominal >= 0 else min(0.0, nominal * 0.05)
            return Profile("electric", "hot", off, nominal, _sigma(tag, nominal), 20.0, 120.0, _decimals(span)), hot
        if unit in PRESSURE_UNITS or words & {"PRESS", "PRESSURE", "DP", "DRAFT", "PT", "PI"}:
            cat, tau, tau_ou = "pressure", 30.0, 60.0
        elif unit in FLOW_UNITS or words & {"FLOW", "AIR", "BLAST", "FEED", "RATE", "FT", "FI"}:
            cat, tau, tau_ou = "flow", 45.0, 120.0
        elif unit in ELECTRIC_UNITS or words & {"CURRENT", "POWER", "SPEED", "VIB", "LOAD", "AMP"}:
            cat, tau, tau_ou = "electric", 20.0, 120.0
        else:
            cat, tau, tau_ou = "process", 300.0, 300.0
        off = clip_off(0.0) if nominal >= 0 else min(0.0, nominal * 0.05)
        return Profile(cat, "load", off, nominal, _sigma(tag, nominal), tau, tau_ou, _decimals(span)), prod

    def _new_level(self, tag: Tag, e: int | None, nominal: float, rng: np.random.Generator) -> dict[str, float]:
        lo_r, hi_r = tag.range if tag.range is not None else (0.0, max(100.0, nominal * 2))
        span = hi_r - lo_r
        lim = tag.limits
        low = (lim.l if lim and lim.l is not None else lo_r + 0.15 * span) + 0.05 * span
        high = (lim.h if lim and lim.h is not None else lo_r + 0.9 * span) - 0.05 * span
        if high <= low:
            low, high = lo_r + 0.2 * span, lo_r + 0.8 * span
        fill_h = float(rng.uniform(24, 72))
        return {
            "eq": -1 if e is None else e,
            "value": float(rng.uniform(low, high)),
            "low": low,
            "high": high,
            "lo_thr": float(rng.uniform(low, low + 0.3 * (high - low))),
            "hi_thr": float(rng.uniform(high - 0.3 * (high - low), high)),
            "fill": (high - low) / (fill_h * 3600),
            "drain": (high - low) / (float(rng.uniform(4, 10)) * 3600),
            "dispatch": float(rng.random() < 0.25),
        }

    def _init_cumulative(self, initial: Mapping[str, float]) -> None:
        self.cum: list[Tag] = [t for t in self.plant.tags if t.kind in (TagKind.COUNTER, TagKind.ENERGY)]
        self.c_rate = np.array([float(t.nominal or 0.0) for t in self.cum]) / 3600.0  # per second at load 1
        drv = []
        for t in self.cum:
            e = self.eq_index.get(t.equipment) if t.equipment else None
            energy = t.kind == TagKind.ENERGY
            if e is not None:
                if energy and t.medium == Medium.OXYGEN:
                    drv.append(self.D_PROD + e)  # oxygen follows the feed (the converters': their blowing)
                elif energy:
                    drv.append(self.D_ENERGY + e)
                else:
                    drv.append(self.D_GASPROD + e if self.eq_acid[e] and self.has_gas else self.D_PROD + e)
            elif t.zone is not None:
                drv.append((self.D_ZENERGY if energy else self.D_ZPROD) + self.zone_pos[t.zone])
            else:
                drv.append(self.D_CONST)
        self.c_drv = np.array(drv, dtype=np.int64)
        # Starting reading: the expected consumption/production since REF_MS, so that a model started later
        # (the live simulator after a backfill) starts close to where the earlier one has counted to.
        hours = max(0.0, (self.start_ms - REF_MS) / 3_600_000)
        self.c_value = np.array(
            [hours * float(t.nominal or 0.0) * self._expected_load(t) for t in self.cum], dtype=float
        )
        for k, t in enumerate(self.cum):
            if t.id in initial and initial[t.id] is not None and math.isfinite(float(initial[t.id])):
                self.c_value[k] = float(initial[t.id])
        self.c_ids = np.array([t.id for t in self.cum], dtype=object)
        self._init_meters(initial)
        self._last_c = np.zeros(len(self.cum))
        self._last_c_t = np.zeros(len(self.cum))
        # a meter reports when it has counted COUNTER_DEADBAND_S of full-load production or consumption
        self.c_deadband = self.c_rate * COUNTER_DEADBAND_S

    def _init_meters(self, initial: Mapping[str, float]) -> None:
        """The metering hierarchy's parent meters (their reading: what their children read, plus the losses
        of the medium and any scripted leak), the day-night pattern and the scripted meter events."""
        index = {t.id: k for k, t in enumerate(self.cum)}
        meters = {m.id: m for m in self.plant.meters}
        kids: dict[str, list[str]] = {}
        for m in self.plant.meters:
            if m.parent:
                kids.setdefault(m.parent, []).append(m.id)

        def metered_below(mid: str) -> list[int]:
            out: list[int] = []
            for c in kids.get(mid, []):
                tag = meters[c].tag
                out.extend([index[tag]] if tag in index else metered_below(c))
            return out

        parents = [m for m in self.plant.meters if m.tag in index and kids.get(m.id)]
        parents.sort(key=lambda m: -m.level.depth)  # areas before the site
        self.m_parents = [(index[m.tag or ""], np.array(metered_below(m.id), dtype=np.int64)) for m in parents]
        self.m_loss = np.array([LOSSES.get(m.medium, 0.01) for m in parents])
        for k, below in self.m_parents:
            self.c_rate[k] = 0.0
            if self.cum[k].id not in initial:
                self.c_value[k] = float(self.c_value[below].sum()) * 1.01
        self.c_daynight = np.array(
            [
                0.0
                if t.kind != TagKind.ENERGY
                or (t.equipment and self.eq_kind[self.eq_index[t.equipment]] == EquipmentKind.ELECTROLYTIC_CELLS)
                else DAYNIGHT.get(t.medium, 0.0)
                if t.medium
                else 0.0
                for t in self.cum
            ]
        )
        self.tz = self.plant.tz()
        self.m_rng = np.random.default_rng([self.seed, 50001])  # its own stream: the others stay as they were
        self.c_true = np.zeros(len(self.cum))  # what each meter's flow really was since the start (no resets)
        self.m_events: list[tuple[MeterEventKind, int, int, int, float]] = []
        for ev in self.plant.meter_events:
            tag = meters[ev.meter].tag
            if tag not in index:
                continue
            start = self.start_ms + round(ev.after_s * 1000)
            self.m_events.append((ev.kind, index[tag], start, start + round(ev.duration_s * 1000), ev.value or 0.0))
        self.c_outage: set[str] = set()

    def _expected_load(self, tag: Tag) -> float:
        """Long-run mean of a counter's or meter's driver (availability ~96.5 % with faults, idle spells,
        stops and maintenance; converters blow part of their cycle)."""
        e = self.eq_index.get(tag.equipment) if tag.equipment else None
        if e is None:
            return 0.9 if tag.kind == TagKind.COUNTER else 0.8
        avail = AVAILABILITY if self.eq_has_state[e] else 1.0
        duty = self.conv_duty if self.eq_kind[e] == EquipmentKind.CONVERTER else 1.0
        if tag.kind == TagKind.ENERGY:
            return avail * (0.25 + 0.75 * duty) + (1 - avail) * 0.1
        return avail * duty

    def _init_discrete(self) -> None:
        self.state_tags: list[tuple[str, int]] = []
        self.phase_tags: list[tuple[str, int]] = []
        for t in self.plant.tags:
            e = self.eq_index.get(t.equipment) if t.equipment else None
            if t.kind == TagKind.STATE and e is not None:
                self.state_tags.append((t.id, e))
            elif measurement(t) == "PHASE" and e is not None and t.kind in (TagKind.PROCESS, TagKind.STATE):
                self.phase_tags.append((t.id, e))
        phase_ids = {tid for tid, _ in self.phase_tags}
        self.state_tags = [(tid, e) for tid, e in self.state_tags if tid not in phase_ids]

    def _init_badge_tags(self) -> None:
        b_index = {b.id: i for i, b in enumerate(self.plant.badges)}
        self.pos_tags: list[tuple[str, int]] = []
        self.sos_tags: list[tuple[str, str]] = []
        for t in self.plant.tags:
            if t.kind == TagKind.POSITION and t.badge in b_index:
                self.pos_tags.append((t.id, b_index[t.badge]))
            elif t.kind == TagKind.SOS and t.badge is not None:
                self.sos_tags.append((t.id, t.badge))
        self._pos_walker = dict(self.pos_tags)
        self._pos_off: dict[str, bool] = {}  # position tag -> off site when last reported

    def _init_incidents(self) -> None:
        self.inc_tag: dict[int, tuple[int, float]] = {}  # incident index -> (analog index, peak)
        self.inc_step: dict[int, float] = {}  # incident index -> how far the peak is above HH
        self.plateau: set[int] = set()  # incidents held at their peak (emission exceedances)
        self.maint_incidents: dict[str, list[int]] = {}  # analyser maintenance: tag -> incident indexes
        emission_limits = {p.tag: p.limit for st in self.plant.emissions.stacks for p in st.pollutants}
        hazard_high = {r.tag: r.high for hs in self.plant.hazards.sources for r in hs.readings if r.high is not None}
        for i, inc in enumerate(self.schedule.incidents):
            if inc.kind == IncidentKind.ANALYSER_MAINTENANCE and inc.tag is not None:
                self.maint_incidents.setdefault(inc.tag, []).append(i)
                continue
            driven = (
                IncidentKind.GAS_LEAK,
                IncidentKind.EVACUATION,
                IncidentKind.OVER_TEMPERATURE,
                IncidentKind.EMISSION_EXCEEDANCE,
                IncidentKind.HAZARD_LEVEL,
            )
            if inc.kind not in driven or inc.tag is None:
                continue
            k = self.a_index.get(inc.tag)
            if k is None:
                logger.warning("incident %s: tag %s is not an analog tag; ignored", inc.id, inc.tag)
                continue
            peak, step = self._peak(self.analog[k])
            if inc.kind == IncidentKind.EMISSION_EXCEEDANCE:
                # held at 1.4 times the hourly limit (ramps of 2 %): a window of 90 min or more holds a clock
                # hour with at least 45 minutes over the limit, whose average is then over it
                peak = EXCEEDANCE_FACTOR * emission_limits.get(inc.tag, peak / EXCEEDANCE_FACTOR)
                step = abs(peak - _nominal(self.analog[k])) * 0.1
                self.plateau.add(i)
            elif inc.kind == IncidentKind.HAZARD_LEVEL and inc.tag in hazard_high:
                peak, step = self._hazard_peak(self.analog[k], hazard_high[inc.tag])
            self.inc_tag[i] = (k, peak)
            self.inc_step[i] = step
        self.sos_incidents: dict[str, list[int]] = {}
        for i, inc in enumerate(self.schedule.incidents):
            if inc.kind == IncidentKind.SOS and inc.badge:
                self.sos_incidents.setdefault(inc.badge, []).append(i)

    def _init_assays(self) -> None:
        """The lab's assays: one result every :data:`ASSAY_EVERY_MS` per tag (each tag at its own minute of
        the period), independent draws around the nominal with a capability near 1.33 (sigma a quarter of
        the way to the nearer spec limit), shifted by :data:`ASSAY_SHIFT_SIGMAS` inside an ``assay_shift``
        incident. A result is a pure function of (seed, tag, sample number), so every run agrees."""
        self.assays: list[tuple[str, float, float, int, int, list[int]]] = []
        self._assay_k: dict[str, int] = {}  # tag -> the sample number last published
        shifts: dict[str, list[int]] = {}
        for i, inc in enumerate(self.schedule.incidents):
            if inc.kind == IncidentKind.ASSAY_SHIFT and inc.tag is not None:
                shifts.setdefault(inc.tag, []).append(i)
        for t in self.plant.tags:
            if t.kind != TagKind.ASSAY:
                continue
            nominal = _nominal(t)
            low, high = t.spec or (None, None)
            gaps = [abs(v - nominal) for v in (low, high) if v is not None]
            sigma = min(gaps) / 4 if gaps and min(gaps) > 0 else abs(nominal) * 0.01 or 0.1
            decimals = max(0, math.ceil(-math.log10(sigma)) + 2)
            offset = (zlib.crc32(t.id.encode()) % 96) * 300_000  # 0-8 h in 5 min steps
            self.assays.append((t.id, nominal, sigma, decimals, offset, shifts.get(t.id, [])))

    def assay_value(self, tag_id: str, k: int) -> tuple[int, float]:
        """The ``k``-th result of an assay tag since the epoch: (sample time ms, value)."""
        for tid, nominal, sigma, decimals, offset, shifts in self.assays:
            if tid == tag_id:
                ts = k * ASSAY_EVERY_MS + offset
                z = float(np.random.default_rng([self.seed, zlib.crc32(tid.encode()), k]).standard_normal())
                shifted = any(self.schedule.occurrences(i, ts, ts + 1) for i in shifts)
                value = nominal + sigma * (z + (ASSAY_SHIFT_SIGMAS if shifted else 0.0))
                return ts, round(value, decimals)
        raise KeyError(tag_id)

    @staticmethod
    def _hazard_peak(tag: Tag, threshold: float) -> tuple[float, float]:
        """Where a hazard-level incident drives ``tag``: over its hazard-source ``threshold`` by a third of the
        way to the tag's own H limit when that is above it (else by 3 % of the tag's range), ramping up from
        the normal value; the noise (8 % of the step) stays well inside the margin."""
        lim = tag.limits
        h = lim.h if lim is not None and lim.h is not None and lim.h > threshold else None
        span = (tag.range[1] - tag.range[0]) if tag.range is not None else max(abs(threshold), 1.0)
        margin = (h - threshold) / 3 if h is not None else 0.03 * span
        peak = threshold + margin
        return peak, margin / 2

    def _peak(self, tag: Tag) -> tuple[float, float]:
        """Where an incident drives ``tag``: above HH (or H) by a margin, inside the range when it can be."""
        nominal = _nominal(tag)
        lim = tag.limits
        hh = lim.hh if lim and lim.hh is not None else (lim.h if lim and lim.h is not None else None)
        if hh is None:
            hh = nominal + 5 * max(_sigma(tag, nominal), 1e-3)
        step = max(abs(hh - nominal) * 0.3, abs(hh) * 0.02, 1e-3)
        if tag.range is not None and tag.range[1] > hh:
            step = min(step, 0.8 * (tag.range[1] - hh))
        return hh + step, step

    # ------------------------------------------------------------------------------------------ stepping

    def _local_midnight_after(self, now: float) -> tuple[int, float]:
        """The plant-time day of month at ``now`` and the epoch ms of the next local midnight."""
        local = datetime.fromtimestamp(now / 1000, self.tz)
        nxt = datetime.combine(local.date() + timedelta(days=1), time(0), self.tz)
        return local.day, nxt.timestamp() * 1000

    def planned_shutdown(self, now: float) -> bool:
        """Whether ``now`` falls on the plan's shutdown day (plant time); the day is looked at once a day."""
        if now >= self._next_day:
            day, self._next_day = self._local_midnight_after(now)
            self._down_until = self._next_day if day == SHUTDOWN_DAY else -math.inf
        return now < self._down_until

    def _equipment(self, dt: float, now: float) -> None:
        rng = self.rng
        n = len(self.eq_ids)
        u = rng.random(n)
        if self.planned_shutdown(now) and self.eq_shutdown.any():
            down = self.eq_shutdown & ((self.eq_state != MAINT) | (self.eq_until < self._down_until))
            self.eq_state[down] = MAINT
            self.eq_until[down] = self._down_until
        if dt > 0:
            p_fault = -np.expm1(-dt / self.eq_mtbf_s)
            p_idle = np.where(self.eq_idle_ok, -np.expm1(-dt / (IDLE_EVERY_DAYS * 86400)), 0.0)
            p_stop = -np.expm1(-dt / (STOP_EVERY_DAYS * 86400))
            p_short = np.where(self.eq_short_ok, -np.expm1(-dt / (SHORT_STOP_EVERY_DAYS * 86400)), 0.0)
            running = (self.eq_state == RUN) & self.eq_has_state
            events = running & (u < p_fault + p_idle + p_stop + p_short)
            for i in np.flatnonzero(events).tolist():
                if u[i] < p_fault[i]:
                    self._set_state(i, FAULT, now, rng)
                elif u[i] < p_fault[i] + p_idle[i]:
                    self._set_state(i, IDLE, now, rng)
                elif u[i] < p_fault[i] + p_idle[i] + p_stop:
                    self._set_state(i, STOPPED, now, rng)
                else:
                    self._set_state(i, STOPPED, now, rng, short=True)
            due = running & ~events & (now >= self.eq_next_maint)
            for i in np.flatnonzero(due).tolist():
                self._set_state(i, MAINT, now, rng)
            self.eq_next_maint = np.where(
                now >= self.eq_next_maint, self.eq_next_maint + self.eq_maint_period_ms, self.eq_next_maint
            )
            back = (self.eq_state != RUN) & (now >= self.eq_until)
            for i in np.flatnonzero(back).tolist():
                self._set_state(i, RUN, now, rng)
            a = math.exp(-dt / (3 * 3600))
            self.eq_tp = self.eq_tp * a + 0.03 * math.sqrt(1 - a * a) * rng.standard_normal(n)
        # converters
        for i in self.conv:
            if self.eq_state[i] != RUN:
                self.eq_phase[i] = 0
                self.conv_until[i] = max(self.conv_until[i], now)
                continue
            guard = 0
            while now >= self.conv_until[i] and guard < 100:
                guard += 1
                self.conv_step[i] = (self.conv_step[i] + 1) % len(CONVERTER_CYCLE)
                minutes = CONVERTER_CYCLE[self.conv_step[i]][1] * float(rng.uniform(0.8, 1.2))
                self.conv_until[i] += minutes * 60_000
            phase = CONVERTER_CYCLE[self.conv_step[i]][0]
            self.eq_phase[i] = phase
            self.eq_phase_load[i] = PHASE_LOAD[phase]
            self.eq_bath[i] = PHASE_BATH_C[phase] / 1175.0

    def _drivers(self, dt: float) -> np.ndarray:
        run = (self.eq_state == RUN).astype(float)
        idle = (self.eq_state == IDLE).astype(float)
        prod = run * (1.0 + self.eq_tp) * self.eq_phase_load
        hot = run * (1.0 + self.eq_bath) + 0.9 * idle
        energy = np.select(
            [self.eq_state == RUN, self.eq_state == IDLE, self.eq_state == MAINT],
            [0.25 + 0.75 * prod, np.full_like(prod, 0.3), np.full_like(prod, 0.08)],
            default=0.03,
        )
        if self.has_gas:
            gas = float((self.gas_w * prod).sum()) / self.gas_expect
            a = math.exp(-dt / 60.0) if dt > 0 else 0.0
            self.gas_load = self.gas_load * a + gas * (1 - a) if not self.a_first else gas
        gasprod = np.where(self.eq_acid, self.gas_load * run * (1.0 + self.eq_tp), prod)
        zprod = np.where(self.zone_empty, 0.9, self.zone_mean @ prod)
        zenergy = np.where(self.zone_empty, 0.8, self.zone_mean @ energy)
        levels = self._levels(dt, gasprod)
        return np.concatenate([[1.0, self.gas_load], prod, hot, energy, gasprod, zprod, zenergy, levels])

    def _levels(self, dt: float, gasprod: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.levels))
        for k, lv in enumerate(self.levels):
            e = int(lv["eq"])
            feed = float(gasprod[e]) if e >= 0 else 0.9
            if lv["dispatch"]:
                lv["value"] += (feed * lv["fill"] - lv["drain"]) * dt
                if lv["value"] <= lv["lo_thr"]:
                    lv["dispatch"] = 0.0
                    lv["hi_thr"] = float(self.rng.uniform(lv["high"] - 0.3 * (lv["high"] - lv["low"]), lv["high"]))
            else:
                lv["value"] += feed * lv["fill"] * dt
                if lv["value"] >= lv["hi_thr"]:
                    lv["dispatch"] = 1.0
                    lv["lo_thr"] = float(self.rng.uniform(lv["low"], lv["low"] + 0.3 * (lv["high"] - lv["low"])))
            out[k] = lv["value"]
        return out

    def _compute(self, dt: float) -> None:
        now = self.now_ms
        self._equipment(dt, now)
        drivers = self._drivers(dt)
        rng = self.rng
        # analog
        target = drivers[self.a_drv]
        if self.a_first:
            self.a_lag = target.copy()
            self.a_first = False
        else:
            with np.errstate(divide="ignore", over="ignore"):
                a = np.where(self.a_tau_lag > 0, np.exp(-dt / np.maximum(self.a_tau_lag, 1e-9)), 0.0)
            self.a_lag = target + (self.a_lag - target) * a
            b = np.exp(-dt / self.a_tau_ou)
            self.a_ou = self.a_ou * b + self.a_sigma * np.sqrt(1 - b * b) * rng.standard_normal(len(self.analog))
        amp = np.where(self.a_follow, 0.15 + 0.85 * np.clip(self.a_lag, 0.0, 1.2), 1.0)
        white = self.a_white * self.a_sigma * rng.standard_normal(len(self.analog))
        value = self.a_off + (self.a_nom - self.a_off) * self.a_lag + (self.a_ou + white) * amp
        value = np.clip(value, self.a_lo, self.a_hi)
        for i, (k, peak) in self.inc_tag.items():
            for s, e in self.schedule.occurrences(i, now, now + 1):
                if s <= now < e:
                    f = _trapezoid((now - s) / (e - s), 0.02 if i in self.plateau else 0.25)
                    noise = 0.08 * self.inc_step[i] * float(rng.standard_normal()) * f
                    value[k] = value[k] + (peak - value[k]) * f + noise
        self.a_value = value
        # cumulative
        if dt > 0 and len(self.cum):
            load = drivers[self.c_drv]
            mult = np.clip(1.0 + 0.03 * rng.standard_normal(len(self.cum)), 0.0, None)
            local = datetime.fromtimestamp(now / 1000, self.tz)
            hour = local.hour + local.minute / 60
            mult = mult * (1.0 + self.c_daynight * math.cos(2 * math.pi * (hour - 15.0) / 24))
            self._count(self.c_rate * load * mult * dt, now - dt * 1000, now)
        # badges
        self.crowd.step(now)

    def _count(self, inc: np.ndarray, t0: float, t1: float) -> None:
        """Add ``inc`` (what each counter and meter counted in ``(t0, t1]``), parents from their children,
        and play the meter events of the step."""
        span = max(t1 - t0, 1.0)
        leak = np.zeros(len(inc))
        for kind, k, s, e, value in self.m_events:
            if kind == MeterEventKind.LEAK and s < t1 and e > t0:
                leak[k] += value / 3_600_000 * (min(e, t1) - max(s, t0))
        for (k, below), loss in zip(self.m_parents, self.m_loss, strict=True):
            noise = 1.0 + 0.1 * float(self.m_rng.standard_normal())
            inc[k] = float(inc[below].sum()) * (1.0 + loss * noise) + leak[k]
        self.c_true = self.c_true + inc
        self.c_value = self.c_value + inc
        self.c_outage = set()
        for kind, k, s, e, value in self.m_events:
            if kind in (MeterEventKind.RESET, MeterEventKind.SWAP) and t0 < s <= t1:
                start = 0.0 if kind == MeterEventKind.RESET else value
                self.c_value[k] = start + inc[k] * (t1 - s) / span
            elif kind == MeterEventKind.OUTAGE and s <= t1 < e:
                self.c_outage.add(str(self.c_ids[k]))

    def meter_truth(self) -> dict[str, float]:
        """What each counter and meter really counted since the model's start (resets and swaps aside)."""
        return dict(zip(self.c_ids.tolist(), self.c_true.tolist(), strict=True))

    def _collect(self, initial: bool = False) -> dict[str, Value]:
        out: dict[str, Value] = {}
        pub = self._published
        now = self.now_ms
        # analog: rounded per decimals, reported by exception (deadband) with a heartbeat
        rounded = np.empty_like(self.a_value)
        for d, idx in self.a_dec_groups:
            rounded[idx] = np.round(self.a_value[idx], d)
        self._last_a, self._last_a_t = _report(
            self.a_ids, rounded, self._last_a, self._last_a_t, self.a_sigma * self.deadband, now, initial, out
        )
        crounded = np.round(self.c_value, 3)
        self._last_c, self._last_c_t = _report(
            self.c_ids, crounded, self._last_c, self._last_c_t, self.c_deadband, now, initial, out
        )
        for tid in self.c_outage:  # a meter that does not answer is not read
            out.pop(tid, None)
        for tid, e in self.state_tags:
            v = int(self.eq_state[e])
            if initial or pub.get(tid) != v:
                out[tid] = v
        for tid, e in self.phase_tags:
            v = int(self.eq_phase[e]) if self.eq_state[e] == RUN else 0
            if initial or pub.get(tid) != v:
                out[tid] = v
        positions = self.crowd.positions()
        off = self._pos_off
        for tid, b in self.pos_tags:
            x, y, f = positions[b]
            pv = [round(x, 2), round(y, 2), float(f)]
            gone = not self.crowd.on_site(b)
            if initial or pub.get(tid) != pv or off.get(tid) != gone:  # a status change is news too
                out[tid] = pv
                off[tid] = gone
        now = self.now_ms
        for tid, badge in self.sos_tags:
            sv = False
            for i in self.sos_incidents.get(badge, ()):
                if any(s <= now < e for s, e in self.schedule.occurrences(i, now, now + 1)):
                    sv = True
            if initial or pub.get(tid) != sv:
                out[tid] = sv
        for tid, *_rest, offset, _shifts in self.assays:
            k = (now - offset) // ASSAY_EVERY_MS
            if initial or self._assay_k.get(tid) != k:
                out[tid] = self.assay_value(tid, k)[1]
                self._assay_k[tid] = k
        pub.update(out)
        return out

    # ------------------------------------------------------------------------------------------ public

    def step(self, now_ms: float) -> dict[str, Value]:
        """Advance to ``now_ms`` (epoch ms, simulated) and return the values that changed."""
        now_ms = int(now_ms)
        if now_ms <= self.now_ms:
            return {}
        dt = (now_ms - self.now_ms) / 1000.0
        self.now_ms = now_ms
        self._compute(dt)
        return self._collect()

    def initial_values(self) -> dict[str, Value]:
        """Every tag's value at ``start_ms`` (what a server publishes before the first step)."""
        return dict(self._snapshot)

    def current_values(self) -> dict[str, Value]:
        """Every tag's last published value."""
        return dict(self._published)

    def incident_windows(self, t0_ms: float, t1_ms: float) -> list[Window]:
        """Scripted incidents overlapping ``[t0_ms, t1_ms)``: (incident id, kind, start_ms, end_ms)."""
        return self.schedule.windows(t0_ms, t1_ms)

    def equipment_state(self, equipment: str) -> int:
        return int(self.eq_state[self.eq_index[equipment]])

    def converter_phase(self, equipment: str) -> int:
        i = self.eq_index[equipment]
        return int(self.eq_phase[i]) if self.eq_state[i] == RUN else 0

    def badge_on_site(self, badge: str) -> bool:
        for k, w in enumerate(self.crowd.walkers):
            if w.badge.id == badge:
                return self.crowd.on_site(k)
        raise KeyError(badge)

    def status(self, tag_id: str) -> int:
        """The OPC UA status a tag's value is published with now: Bad_OutOfService while its CEMS analyser is in
        maintenance (``analyser_maintenance`` incidents), else Good (0)."""
        for i in self.maint_incidents.get(tag_id, ()):
            for s, e in self.schedule.occurrences(i, self.now_ms, self.now_ms + 1):
                if s <= self.now_ms < e:
                    return BAD_OUT_OF_SERVICE
        return 0

    def off_site(self, tag_id: str) -> bool:
        """True for the position tag of a badge that is off site: its value is the gate it left by,
        published with an *uncertain* status (out of RTLS coverage, last usable value)."""
        k = self._pos_walker.get(tag_id)
        return k is not None and not self.crowd.on_site(k)


def _trapezoid(f: float, ramp: float = 0.25) -> float:
    """0 -> 1 over the first ``ramp`` (a quarter), 1 in the middle, 1 -> 0 over the last ``ramp``."""
    if f < ramp:
        return f / ramp
    if f > 1.0 - ramp:
        return max(0.0, (1.0 - f) / ramp)
    return 1.0


def _report(
    ids: np.ndarray,
    values: np.ndarray,
    last: np.ndarray,
    last_t: np.ndarray,
    deadband: np.ndarray,
    now: int,
    initial: bool,
    out: dict[str, Value],
) -> tuple[np.ndarray, np.ndarray]:
    """Report by exception: a value goes out when it moved by at least ``deadband`` from the last one
    reported (and differs from it), or when the last report is ``HEARTBEAT_MS`` old. Returns the new
    last-reported values and times."""
    if not len(ids):
        return last, last_t
    if initial:
        mask = np.ones(len(ids), dtype=bool)
    else:
        moved = np.abs(values - last)
        mask = (moved > 0) & ((moved >= deadband) | (now - last_t >= HEARTBEAT_MS))
    if mask.any():
        out.update(zip(ids[mask].tolist(), values[mask].tolist(), strict=True))
        last = np.where(mask, values, last)
        last_t = np.where(mask, float(now), last_t)
    return last, last_t


def variant_kind(tag: Tag) -> str:
    """How a tag is published: ``"double"``, ``"int"`` (state, phase), ``"bool"`` (SOS) or ``"pos"``."""
    if tag.kind == TagKind.POSITION:
        return "pos"
    if tag.kind == TagKind.SOS:
        return "bool"
    if tag.kind == TagKind.STATE or (tag.equipment is not None and measurement(tag) == "PHASE"):
        return "int"
    return "double"
