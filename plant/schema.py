"""The plant model: a validated description of one plant.

Every collection is keyed by a stable ``id``; cross references are checked after parsing so that a
typo in a plant file fails at start with the entry and the problem named (see ``plant.loader``).
Coordinates are plant-local metres: x east, y north, z up, origin at the south-west corner of the site.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Point = tuple[float, float]
Point3 = tuple[float, float, float]

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
# C0 and C1 control characters (tab, line feed and carriage return are handled apart) and the
# bidirectional overrides that make text display differently from what it is.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK_RE = re.compile(r"[\t\n\r\u2028\u2029]")

Id = Annotated[str, Field(pattern=_ID_RE.pattern)]


def _clean_label(value: str) -> str:
    """Labels are one-line free text shown in the UI (escaped there); control characters are refused here."""
    _clean_text(value)
    if _LINE_BREAK_RE.search(value):
        raise ValueError("contains a tab or line break (labels are one line)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _clean_text(value: str) -> str:
    """Descriptions: free text, may be empty or span lines, but no control characters."""
    if _CONTROL_RE.search(value):
        raise ValueError("contains control characters")
    return value


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


class Named(StrictModel):
    id: Id
    name: str = Field(max_length=120)
    name_zh: str | None = Field(default=None, max_length=120)

    @field_validator("name", "name_zh")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        return None if v is None else _clean_label(v)


class RiskLevel(StrEnum):
    """Four-color risk zoning, most severe first."""

    RED = "red"  # major risk
    ORANGE = "orange"  # large risk
    YELLOW = "yellow"  # general risk
    BLUE = "blue"  # low risk

    @property
    def rank(self) -> int:
        return {"blue": 0, "yellow": 1, "orange": 2, "red": 3}[self.value]

    @classmethod
    def from_rank(cls, rank: int) -> RiskLevel:
        return [cls.BLUE, cls.YELLOW, cls.ORANGE, cls.RED][max(0, min(3, rank))]


# Graham-Kinney LEC scales as used in Chinese risk registers (作业条件危险性评价法).
LEC_L = (0.1, 0.2, 0.5, 1, 3, 6, 10)
LEC_E = (0.5, 1, 2, 3, 6, 10)
LEC_C = (1, 3, 7, 15, 40, 100)


def lec_level(score: float) -> RiskLevel:
    """D = L x E x C. >320 red, 160-320 orange, 70-160 yellow, below 70 blue."""
    if score > 320:
        return RiskLevel.RED
    if score >= 160:
        return RiskLevel.ORANGE
    if score >= 70:
        return RiskLevel.YELLOW
    return RiskLevel.BLUE


class LEC(StrictModel):
    l: float  # noqa: E741 - the method's own letter: likelihood
    e: float  # exposure frequency
    c: float  # consequence

    @model_validator(mode="after")
    def _scales(self) -> LEC:
        for letter, value, scale in (("l", self.l, LEC_L), ("e", self.e, LEC_E), ("c", self.c, LEC_C)):
            if value not in scale:
                raise ValueError(f"{letter}={value} is not on the LEC scale {scale}")
        return self

    @property
    def score(self) -> float:
        return self.l * self.e * self.c

    @property
    def level(self) -> RiskLevel:
        return lec_level(self.score)


class Role(StrEnum):
    EMPLOYEE = "employee"
    CONTRACTOR = "contractor"
    VISITOR = "visitor"
    DRIVER = "driver"


class Shift(StrictModel):
    id: Id
    name: str | None = Field(default=None, max_length=60)  # "Shift B"; reports and screens fall back to the id
    name_zh: str | None = Field(default=None, max_length=60)  # 乙班
    start: time
    hours: float = Field(gt=0, le=24)

    @field_validator("start", mode="before")
    @classmethod
    def _quoted(cls, v: object) -> object:
        # YAML 1.1 reads an unquoted 16:00 as the base-60 integer 960, which would become 00:16.
        if isinstance(v, int | float) and not isinstance(v, bool):
            hint = f" (an unquoted {int(v) // 60}:{int(v) % 60:02d} reads as the number {v})" if v == int(v) else ""
            raise ValueError(f"start must be a quoted time such as '16:00'{hint}")
        return v


class Crew(StrictModel):
    id: Id
    name: str | None = Field(default=None, max_length=60)  # "Crew 1"; screens fall back to the id
    name_zh: str | None = Field(default=None, max_length=60)  # 一班


class Rota(StrictModel):
    """Which crew works which shift, day by day, in a cycle (four crews on three shifts, say): ``cycle[i]``
    maps each shift id to its crew on the i-th day after ``start`` (modulo the cycle's length). Without a rota
    a shift is worked by the crew of the same id (the people whose ``shift`` it is)."""

    start: date  # the plant day the cycle's first day falls on
    crews: list[Crew] = Field(min_length=1)
    cycle: list[dict[Id, Id]] = Field(min_length=1)

    @model_validator(mode="after")
    def _crews_known(self) -> Rota:
        ids = [c.id for c in self.crews]
        if len(set(ids)) != len(ids):
            raise ValueError("rota: duplicate crew id")
        for i, day in enumerate(self.cycle):
            unknown = sorted(set(day.values()) - set(ids))
            if unknown:
                raise ValueError(f"rota.cycle[{i}]: unknown crew {', '.join(map(repr, unknown))}")
        return self


class Site(StrictModel):
    name: str = Field(max_length=120)
    name_zh: str | None = Field(default=None, max_length=120)
    timezone: str
    width_m: float = Field(gt=0)  # extent along x
    depth_m: float = Field(gt=0)  # extent along y
    shifts: list[Shift] = Field(min_length=1)
    rota: Rota | None = None  # crews on shifts by day; None: shift X is crew X's

    @model_validator(mode="after")
    def _rota_shifts(self) -> Site:
        if self.rota is not None:
            ids = {s.id for s in self.shifts}
            for i, day in enumerate(self.rota.cycle):
                if set(day) != ids:
                    raise ValueError(f"rota.cycle[{i}] must name the crew of every shift ({', '.join(sorted(ids))})")
        return self

    @field_validator("name", "name_zh")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        return None if v is None else _clean_label(v)

    @field_validator("shifts")
    @classmethod
    def _unique_shifts(cls, v: list[Shift]) -> list[Shift]:
        ids = [s.id for s in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate shift id {', '.join(map(repr, dup))}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v


class SecurityPolicy(StrEnum):
    """OPC UA security policies the collectors offer (the deprecated Basic128Rsa15 and Basic256 are not)."""

    NONE = "None"
    BASIC256SHA256 = "Basic256Sha256"
    AES128_SHA256_RSAOAEP = "Aes128_Sha256_RsaOaep"
    AES256_SHA256_RSAPSS = "Aes256_Sha256_RsaPss"


class SecurityMode(StrEnum):
    NONE = "None"
    SIGN = "Sign"
    SIGN_AND_ENCRYPT = "SignAndEncrypt"


_ENV_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_LOOPBACK_RE = re.compile(r"^opc\.tcp://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)", re.IGNORECASE)


class EndpointSecurity(StrictModel):
    """How a collector authenticates to an endpoint and protects the channel.

    The password is never in the plant file: it comes from an environment variable (``password_env``) or a
    file readable by the collector only (``password_file``). The client's certificate and key and the trust
    list live in the PKI directory (``python -m collectors cert`` and ``python -m collectors trust``).
    """

    policy: SecurityPolicy
    mode: SecurityMode
    user: str | None = Field(default=None, min_length=1, max_length=128)
    password_env: str | None = Field(default=None, pattern=_ENV_RE)
    password_file: str | None = Field(default=None, min_length=1, max_length=1024)
    application_uri: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _consistent(self) -> EndpointSecurity:
        if (self.policy == SecurityPolicy.NONE) != (self.mode == SecurityMode.NONE):
            raise ValueError(
                f"policy {self.policy.value} with mode {self.mode.value}: policy None goes with mode None only,"
                " and a policy other than None needs mode Sign or SignAndEncrypt"
            )
        if self.user is None and (self.password_env or self.password_file):
            raise ValueError("a password without a user: set user as well")
        if self.user is not None and not (self.password_env or self.password_file):
            raise ValueError(
                f"user {self.user!r} has no password source: set password_env (an environment variable) or"
                " password_file (the password is never written in the plant file)"
            )
        if self.password_env and self.password_file:
            raise ValueError("set one of password_env and password_file, not both")
        return self

    @property
    def secured(self) -> bool:
        return self.policy != SecurityPolicy.NONE


class Endpoint(Named):
    """An OPC UA server the collectors subscribe to (DCS, RTLS gateway, ...).

    ``security`` may be left out only for a server on this machine (loopback address, such as the demo's
    simulator): a connection without security across the network has to be asked for explicitly with
    ``security: {policy: None, mode: None}``.
    """

    url: str = Field(pattern=r"^opc\.tcp://[^\s]+$")
    namespace: str = "urn:smeltwatch:demo"
    security: EndpointSecurity | None = None
    # after an outage (lost link, stopped collector) read the missed values back from the server's history
    # where its variables offer it (OPC UA HistoryRead); false: the gap stays a gap
    backfill: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: object) -> object:
        if isinstance(data, dict):
            sec = data.get("security")
            if isinstance(sec, dict) and "password" in sec:
                raise ValueError(
                    "security.password: a password is never written in the plant file; name an environment"
                    " variable (password_env) or a file (password_file) that holds it"
                )
        return data

    @model_validator(mode="after")
    def _explicit_security(self) -> Endpoint:
        if self.security is None and not _LOOPBACK_RE.match(self.url):
            raise ValueError(
                f"{self.url} is on another machine and names no security: set security (policy"
                " Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss with mode Sign or SignAndEncrypt),"
                " or write security: {policy: None, mode: None} to connect without security"
            )
        return self

    @property
    def secured(self) -> bool:
        return self.security is not None and self.security.secured


class Area(Named):
    """A plant area (energy hierarchy level 'area')."""


class HeadcountLimits(StrictModel):
    min: int = Field(default=0, ge=0)
    max: int = Field(ge=0)

    @model_validator(mode="after")
    def _order(self) -> HeadcountLimits:
        if self.min > self.max:
            raise ValueError(f"min headcount {self.min} is above max {self.max}")
        return self


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(p1: Point, p2: Point, p3: Point, p4: Point) -> bool:
    """True when the segments properly cross (touching at an end point does not count)."""
    d1, d2 = _cross(p3, p4, p1), _cross(p3, p4, p2)
    d3, d4 = _cross(p1, p2, p3), _cross(p1, p2, p4)
    return ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4))


def _check_polygon(points: list[Point]) -> list[Point]:
    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points")
    area2 = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        area2 += x1 * y2 - x2 * y1
    if abs(area2) < 1e-6:
        raise ValueError("polygon has zero area")
    n = len(points)
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            a1, a2, b1, b2 = points[i], points[(i + 1) % n], points[j], points[(j + 1) % n]
            if _segments_cross(a1, a2, b1, b2):
                raise ValueError(f"polygon edges cross each other (edges {i} and {j}): it must not self-intersect")
    return points


class Zone(Named):
    area: Id
    polygon: list[Point]
    floors: int = Field(default=1, ge=1, le=50)
    height_m: float = Field(gt=0, le=300)
    lec: LEC
    headcount: dict[str, HeadcountLimits] = Field(default_factory=dict)  # shift id -> limits
    roles_allowed: list[Role] = Field(default_factory=lambda: [Role.EMPLOYEE])
    forbidden: bool = False  # nobody may enter without a permit
    visitors_escorted: bool = True
    two_person: bool = False  # lone working forbidden
    hazard: bool = False  # counts for exposure and man-down
    dwell_limit_s: int | None = Field(default=None, gt=0)

    _poly = field_validator("polygon")(classmethod(lambda cls, v: _check_polygon(v)))

    @property
    def level(self) -> RiskLevel:
        return self.lec.level


class EquipmentKind(StrEnum):
    BUILDING = "building"
    FLASH_FURNACE = "flash_furnace"
    CONVERTER = "converter"
    ANODE_FURNACE = "anode_furnace"
    CASTING_WHEEL = "casting_wheel"
    SLAG_FURNACE = "slag_furnace"
    ELECTROLYTIC_CELLS = "electrolytic_cells"
    TANK = "tank"
    STACK = "stack"
    TOWER = "tower"
    PIPE_RACK = "pipe_rack"
    CONVEYOR = "conveyor"
    BIN = "bin"
    DRYER = "dryer"
    BLOWER = "blower"
    PUMP = "pump"
    COMPRESSOR = "compressor"
    TRANSFORMER = "transformer"
    BOILER = "boiler"
    AIR_SEPARATION = "air_separation"
    CRANE = "crane"
    MILL = "mill"
    COOLING_TOWER = "cooling_tower"
    CLARIFIER = "clarifier"
    ESP = "esp"  # electrostatic precipitator


class EquipmentModel(StrictModel):
    """The plant's own 3D model of an equipment (glTF/GLB, OBJ or STL), drawn instead of the built-in mesh.

    ``file`` is relative to the plant file. ``units`` are the model's length units, ``up`` its up axis (glTF
    is y-up, most CAD exports z-up). With ``fit`` (the default) the model is scaled uniformly to fit the
    equipment's ``size``; without, it keeps its own size. It is placed, turned and coloured by state like a
    built-in mesh. A model that does not load, is over the scene's triangle budget or lies outside the site
    is refused with its entry named, and the built-in mesh of the kind is drawn.
    """

    file: str = Field(min_length=1, max_length=500)
    units: Literal["m", "cm", "mm", "in", "ft"] = "m"
    up: Literal["z", "y"] = "z"
    fit: bool = True


class Equipment(Named):
    kind: EquipmentKind
    zone: Id
    process: str = Field(pattern=r"^[a-z_]+$")
    position: Point3  # centre of the footprint at its base
    size: Point3  # length (x before yaw), width, height in metres
    yaw_deg: float = 0.0
    model: EquipmentModel | None = None

    @field_validator("size")
    @classmethod
    def _positive(cls, v: Point3) -> Point3:
        if min(v) <= 0:
            raise ValueError("every dimension must be positive")
        return v


class DowntimeReason(Named):
    """One reason of the downtime reason tree (``production.downtime_reasons``): a category with its
    reasons as ``children`` (two levels: a dispatcher picks a reason, the category groups the Pareto)."""

    children: list[DowntimeReason] = Field(default_factory=list)


class FlowUnit(Named):
    """One unit of the process flow view (K4): the plant's equipment of one ``process`` drawn as one box.

    ``at`` is its place on the flowsheet's grid, ``[column, row]`` (the chain runs along the columns; a wall
    screen draws it left to right, a phone top to bottom); without it the unit takes the column of its
    depth along the streams. ``tags`` are the key values shown in the box (at most four); without them the
    smelting chain's picks for the process (``engine.chain``) are shown."""

    process: str = Field(pattern=r"^[a-z_]+$")
    at: tuple[int, int] | None = None
    tags: list[Id] = Field(default_factory=list, max_length=4)


class FlowStream(Named):
    """A material or gas stream of the flowsheet from one unit to another, with an optional live value."""

    source: Id
    target: Id
    tag: Id | None = None


class Flowsheet(StrictModel):
    units: list[FlowUnit] = Field(default_factory=list)
    streams: list[FlowStream] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> Flowsheet:
        seen: set[str] = set()
        for u in self.units:
            if u.id in seen:
                raise ValueError(f"duplicate flowsheet unit id {u.id!r}")
            seen.add(u.id)
        names: set[str] = set()
        for s in self.streams:
            if s.id in names:
                raise ValueError(f"duplicate flowsheet stream id {s.id!r}")
            names.add(s.id)
            for end in (s.source, s.target):
                if end not in seen:
                    raise ValueError(f"stream {s.id!r}: unknown flowsheet unit {end!r}")
            if s.source == s.target:
                raise ValueError(f"stream {s.id!r} goes from {s.source!r} to itself")
        return self


class ProductionSettings(StrictModel):
    """Equipment performance settings: stops shorter than ``short_stop_minutes`` are short stops (counted,
    never asked for a reason); the reason tree for the rest; the process flow view's units and streams."""

    short_stop_minutes: float = Field(default=5.0, ge=0, le=120)
    downtime_reasons: list[DowntimeReason] = Field(default_factory=list)
    flowsheet: Flowsheet = Field(default_factory=Flowsheet)

    @model_validator(mode="after")
    def _unique_reasons(self) -> ProductionSettings:
        seen: set[str] = set()
        for category in self.downtime_reasons:
            for r in (category, *category.children):
                if r.id in seen:
                    raise ValueError(f"duplicate downtime reason id {r.id!r}")
                seen.add(r.id)
                if r is not category and r.children:
                    raise ValueError(f"downtime reason {r.id!r}: the tree has two levels (category, reason)")
        return self


class TagKind(StrEnum):
    PROCESS = "process"
    GAS = "gas"
    EMISSION = "emission"
    ENERGY = "energy"  # cumulative meter
    STATE = "state"  # equipment state, EquipmentState code
    COUNTER = "counter"  # production counter, cumulative
    POSITION = "position"  # RTLS badge position [x, y, floor]
    SOS = "sos"  # RTLS badge SOS button, boolean
    ASSAY = "assay"  # a lab result, published a few times a day (SPC charts, engine.spc)


class EquipmentState(StrEnum):
    """Codes published by equipment state tags (value = index)."""

    STOPPED = "stopped"
    RUN = "run"
    IDLE = "idle"
    FAULT = "fault"
    MAINTENANCE = "maintenance"

    @property
    def code(self) -> int:
        return list(EquipmentState).index(self)


class Medium(StrEnum):
    ELECTRICITY = "electricity"
    WATER = "water"
    STEAM = "steam"
    NATURAL_GAS = "natural_gas"
    OXYGEN = "oxygen"
    COMPRESSED_AIR = "compressed_air"


class Limits(StrictModel):
    ll: float | None = None
    l: float | None = None  # noqa: E741 - ISA name of the low limit
    h: float | None = None
    hh: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Limits:
        values = [(n, v) for n, v in (("ll", self.ll), ("l", self.l), ("h", self.h), ("hh", self.hh)) if v is not None]
        for (n1, v1), (n2, v2) in itertools.pairwise(values):
            if not v1 < v2:
                raise ValueError(f"limits out of order: {n1}={v1} must be below {n2}={v2}")
        return self


class AlarmPriority(StrEnum):
    """Alarm priorities, most urgent first (ISA-18.2 / IEC 62682)."""

    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


PRIORITIES: tuple[AlarmPriority, ...] = tuple(AlarmPriority)  # most urgent first: the one list of priorities


AlarmCondition = Literal["hh", "h", "l", "ll", "roc", "bad"]


class AlarmSettings(StrictModel):
    """A tag's alarm settings; anything left out takes the alarm engine's default (``engine.alarms``).

    ``priority`` overrides the default priority per condition; ``deadband`` is in engineering units;
    ``on_delay_s``/``off_delay_s`` are how long a condition must hold before the alarm activates/returns;
    ``roc_per_min`` adds a rate-of-change alarm on the change over the last ``roc_window_s``.
    """

    enabled: bool = True
    priority: dict[AlarmCondition, AlarmPriority] = Field(default_factory=dict)
    deadband: float | None = Field(default=None, ge=0)
    on_delay_s: float | None = Field(default=None, ge=0, le=3600)
    off_delay_s: float | None = Field(default=None, ge=0, le=3600)
    roc_per_min: float | None = Field(default=None, gt=0)
    roc_window_s: float = Field(default=60, ge=1, le=3600)


class Tag(StrictModel):
    """One OPC UA variable. ``id`` is the tag name used everywhere in the product."""

    id: Id
    node_id: str = Field(pattern=r"^(ns=\d+|nsu=[^;\s]+);[isgb]=.+$")  # nsu=<uri>: resolved at every connect
    endpoint: Id
    kind: TagKind
    description: str = Field(default="", max_length=200)
    description_zh: str | None = Field(default=None, max_length=200)
    unit: str = Field(default="", max_length=16)
    medium: Medium | None = None
    limits: Limits | None = None
    nominal: float | None = None  # normal operating value, used by the simulator and the UI
    range: tuple[float, float] | None = None  # plausible engineering range
    equipment: Id | None = None
    zone: Id | None = None
    badge: Id | None = None
    alarm: AlarmSettings | None = None
    spec: tuple[float | None, float | None] | None = None  # assay specification (low, high): Cpk and Ppk
    review: str | None = Field(default=None, max_length=300)  # set by the tag import: check, then delete the line
    deviation: float | None = Field(default=None, ge=0, allow_inf_nan=False)  # compression deviation, tag's unit

    @field_validator("description", "description_zh", "review")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return None if v is None else _clean_text(v)

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        return _clean_label(v) if v else v

    @model_validator(mode="after")
    def _kind_rules(self) -> Tag:
        if (self.kind == TagKind.ENERGY) != (self.medium is not None):
            raise ValueError("energy tags need a medium, and only energy tags have one")
        if self.kind in (TagKind.POSITION, TagKind.SOS) and self.badge is None:
            raise ValueError(f"{self.kind.value} tags must name their badge")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError("range must be (low, high) with low < high")
        if self.spec is not None:
            low, high = self.spec
            if self.kind != TagKind.ASSAY:
                raise ValueError("only assay tags have a spec")
            if (low is None and high is None) or (low is not None and high is not None and not low < high):
                raise ValueError("spec must be (low, high) with low < high, one of them may be null")
        if self.alarm is not None:
            self._check_alarm(self.alarm)
        if self.deviation is not None and self.kind in (*CUMULATIVE_KINDS, TagKind.POSITION):
            raise ValueError(f"{self.kind.value} tags are stored raw and take no compression deviation")
        return self

    def _check_alarm(self, alarm: AlarmSettings) -> None:
        if self.kind in (TagKind.POSITION, TagKind.SOS):
            raise ValueError(f"{self.kind.value} tags have no alarm settings")
        for cond in alarm.priority:
            if cond == "roc":
                if alarm.roc_per_min is None:
                    raise ValueError("alarm.priority.roc is set but alarm.roc_per_min is not")
            elif cond != "bad" and (self.limits is None or getattr(self.limits, cond) is None):
                raise ValueError(f"alarm.priority.{cond} is set but the tag has no {cond} limit")

    @property
    def numeric(self) -> bool:
        return self.kind not in (TagKind.POSITION,)


CUMULATIVE_KINDS = (TagKind.ENERGY, TagKind.COUNTER)  # counted amounts: read at exact times, never compressed


class StorageSettings(StrictModel):
    """Swinging-door compression of the raw samples (``engine.compression``, applied by ``store.compaction``
        once samples are ``compact_after_minutes`` old, after the rollups took every reading).

        ``deviation_pct``: per tag kind, the compression deviation in percent of the tag's ``range`` (its EURange);
        0 keeps only the points where the signal changes (states, SOS). A kind left out is stored raw: cumulative
        meters and counters (consumption is read at exact times), emissions (CEMS data is kept as measured), assays,
        and every tag without a ``range`` when its kind's percentage is above 0. A tag's own ``deviation`` (in its
        unit) overrides its kind's. Readings around a gap longer than ``max_gap_s`` are always kept, and a reading at
    least every ``max_span_minutes``."""

    deviation_pct: dict[TagKind, float] = Field(
        default_factory=lambda: {TagKind.PROCESS: 2.0, TagKind.GAS: 2.0, TagKind.STATE: 0.0, TagKind.SOS: 0.0}
    )
    max_gap_s: float = Field(default=600.0, gt=0)
    max_span_minutes: float = Field(default=60.0, gt=0)  # a point kept at least this often (PI's CompMax)
    compact_after_minutes: float = Field(default=60.0, ge=1)
    # Cumulative counters (energy meters, production counters): "raw" keeps every reading; "minute" keeps both
    # readings around each minute boundary and around every drop, gap and bad reading (``thin_counter``): what
    # they counted over whole minutes (and from the rollups: every period) reads exactly as with every reading.
    counters: Literal["raw", "minute"] = "raw"
    # Badge positions (``engine.compression.compress_track``): kept where a straight line from the last kept fix
    # no longer passes within this many metres of the fixes in between; None: stored as thinned at ingest.
    position_deviation_m: float | None = Field(default=1.0, ge=0, le=50)
    # a fix kept at least this often (at most engine.tracks.HOLD_MIN_MS: a replay draws shorter gaps as lines)
    position_max_span_s: float = Field(default=60.0, gt=0, le=60)

    @field_validator("deviation_pct")
    @classmethod
    def _kinds(cls, v: dict[TagKind, float]) -> dict[TagKind, float]:
        for kind, pct in v.items():
            if kind in (*CUMULATIVE_KINDS, TagKind.POSITION):
                raise ValueError(f"{kind.value} tags are not compressed (counted amounts and positions are kept)")
            if not 0 <= pct <= 50:
                raise ValueError(f"deviation_pct.{kind.value} must be between 0 and 50 (percent of the range)")
        return v

    def deviation(self, tag: Tag) -> float | None:
        """The compression deviation of ``tag`` in its unit, or None when it is stored raw."""
        if tag.deviation is not None:
            return tag.deviation
        pct = self.deviation_pct.get(tag.kind)
        if pct is None:
            return None
        if pct == 0:
            return 0.0
        if tag.range is None:
            return None
        return (tag.range[1] - tag.range[0]) * pct / 100.0


class VideoClass(StrEnum):
    """What the video analytics look for (``video.detect``)."""

    INTRUSION = "intrusion"  # a person inside a restricted area drawn on the image
    FLAME = "flame"
    SMOKE = "smoke"
    NO_HARDHAT = "no_hardhat"  # a person without a hard hat
    SPILL = "spill"  # a spill or leak on the floor
    MAN_DOWN = "man_down"  # a tracked person lying still for analytics.man_down_s (needs people: model, pose)


# Classes that need the trained person detector and its pose (video.models, video.pose): the demo's rendered
# cameras, whose cartoon people only the hi-vis colour rules find, cannot show them.
MODEL_ONLY_CLASSES: frozenset[VideoClass] = frozenset({VideoClass.MAN_DOWN})


class VideoModel(StrictModel):
    """A site's own trained detector for one video class (``video.plugins``): an ONNX file run by OpenCV's DNN
    module, with the common SSD or YOLO output layouts. ``classes`` names the model's outputs in order (an SSD
    label ``i`` is ``classes[i]``: put ``background`` first when the model has one); ``fire`` names those that
    count as the camera class (default: all but ``background``). A relative ``path`` is from the directory
    the services run in (the project root)."""

    path: str = Field(min_length=1, max_length=500)
    layout: Literal["ssd", "yolo"]
    input: tuple[int, int] = (640, 640)  # width, height the model takes
    classes: list[str] = Field(min_length=1)
    fire: list[str] = Field(default_factory=list)
    min_confidence: float = Field(default=0.5, gt=0, le=1)
    scale: float = Field(default=1 / 255, gt=0)  # pixel value multiplier
    swap_rb: bool = True  # the model takes RGB

    @model_validator(mode="after")
    def _check(self) -> VideoModel:
        if min(self.input) < 8 or max(self.input) > 4096:
            raise ValueError(f"input {list(self.input)} is not a plausible model input size")
        unknown = [n for n in self.fire if n not in self.classes]
        if unknown:
            raise ValueError(f"fire names {unknown} not among classes {self.classes}")
        return self


class CameraAnalytics(StrictModel):
    """Which detectors run on a camera, and where (image coordinates as fractions of width and height,
    so a polygon survives a change of stream resolution)."""

    detect: list[VideoClass] = Field(min_length=1)
    restricted: list[list[Point]] = Field(default_factory=list)  # polygons for intrusion, 0..1 image coords
    fps: float = Field(default=2.0, gt=0, le=15)  # frames analysed per second
    # How people are found (intrusion, hard hats, counting): "model" = the trained SSD person detector
    # (video.models), "hi-vis" = the colour rules of video.detect (people in hi-vis vests: the demo's
    # rendered cameras draw such cartoons, which a trained detector does not see), "auto" = the model for a
    # camera with a source, the rules for the demo's rendered cameras (no source).
    people: Literal["auto", "model", "hi-vis"] = "auto"
    # Vehicles (the trained detector's cars, trucks, buses, motorcycles, bicycles) inside a restricted polygon
    # are intrusions too (needs people: model, i.e. a camera with a source or people: model).
    vehicles_forbidden: bool = False
    # A site's own models, per class (flame, smoke, no_hardhat, spill): used instead of the rules.
    models: dict[VideoClass, VideoModel] = Field(default_factory=dict)
    # man_down: how long a tracked person must lie (pose) without their box moving before it is an event.
    man_down_s: float = Field(default=10.0, ge=2, le=600)

    @model_validator(mode="after")
    def _check(self) -> CameraAnalytics:
        if len(set(self.detect)) != len(self.detect):
            raise ValueError("detect lists a class twice")
        for cls in self.models:
            if cls not in self.detect:
                raise ValueError(f"models.{cls.value}: the class is not in detect")
            if cls in (VideoClass.INTRUSION, VideoClass.MAN_DOWN):
                raise ValueError(f"models.{cls.value}: {cls.value} uses the person detector (people: model)")
        if VideoClass.MAN_DOWN in self.detect and self.people == "hi-vis":
            raise ValueError("man_down needs the trained person detector and its pose (people: model or auto)")
        if VideoClass.INTRUSION in self.detect and not self.restricted:
            raise ValueError("intrusion detection needs at least one restricted polygon")
        for i, poly in enumerate(self.restricted):
            if len(poly) < 3:
                raise ValueError(f"restricted[{i}] needs at least 3 points")
            for x, y in poly:
                if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                    raise ValueError(f"restricted[{i}] point ({x}, {y}) is outside the image (0..1)")
        return self


class Camera(Named):
    zone: Id
    position: Point3
    yaw_deg: float = Field(ge=-360, le=360)  # 0 = looking east (+x), counter-clockwise
    pitch_deg: float = Field(default=-20, ge=-90, le=90)
    fov_deg: float = Field(gt=0, le=180)
    range_m: float = Field(default=60, gt=0)
    # Where its images come from: rtsp://, http(s):// (MJPEG) or a video file path; None = the demo
    # simulator's MJPEG stream for this camera id (video.capture.camera_source).
    source: str | None = Field(default=None, min_length=1, max_length=500)
    analytics: CameraAnalytics | None = None  # None = live view only, no detection


class BadgeKind(StrEnum):
    PERSON = "person"
    VEHICLE = "vehicle"


class Badge(Named):
    kind: BadgeKind
    role: Role
    team: str = Field(default="", max_length=40)
    shift: Id | None = None  # shift crew; None = day staff / visitors
    work_zones: list[Id] = Field(default_factory=list)  # where the simulator sends them
    max_speed_mps: float = Field(default=2.5, gt=0, le=40)
    escort: Id | None = None  # visitor's escorting employee badge

    @field_validator("team")
    @classmethod
    def _team(cls, v: str) -> str:
        return _clean_label(v) if v else v

    @model_validator(mode="after")
    def _roles(self) -> Badge:
        if self.kind == BadgeKind.VEHICLE and self.role != Role.DRIVER:
            raise ValueError("vehicle badges have role 'driver'")
        return self


class FenceKind(StrEnum):
    FORBIDDEN = "forbidden"
    AUTHORIZED = "authorized"  # roles_allowed only
    DWELL = "dwell"
    SPEED = "speed"


class Fence(Named):
    kind: FenceKind
    polygon: list[Point]
    roles_allowed: list[Role] = Field(default_factory=list)
    dwell_limit_s: int | None = Field(default=None, gt=0)
    speed_limit_kmh: float | None = Field(default=None, gt=0)

    _poly = field_validator("polygon")(classmethod(lambda cls, v: _check_polygon(v)))


class Road(Named):
    polyline: list[Point] = Field(min_length=2)
    width_m: float = Field(default=8, gt=0)
    speed_limit_kmh: float = Field(default=20, gt=0)


class Gate(Named):
    position: Point


class MusterPoint(Named):
    position: Point
    radius_m: float = Field(default=15, gt=0)
    capacity: int = Field(default=100, gt=0)


class MeterLevel(StrEnum):
    SITE = "site"
    AREA = "area"
    PROCESS = "process"
    EQUIPMENT = "equipment"

    @property
    def depth(self) -> int:
        return list(MeterLevel).index(self)


class Meter(Named):
    """A node of the energy metering hierarchy; leaves read a tag, parents may have one too.

    A parent with a tag is a real meter on the parent's feeder (reconciled against its children); a parent
    without one is the sum of its children. ``tag`` must be a cumulative energy tag of the same medium.
    """

    level: MeterLevel
    medium: Medium
    parent: Id | None = None
    tag: Id | None = None


class MeterEventKind(StrEnum):
    """What the simulator can do to a meter (``meter_events`` in the plant file)."""

    RESET = "reset"  # the register goes back to zero and counts on
    SWAP = "swap"  # the meter is replaced; the new one starts at ``value``
    OUTAGE = "outage"  # nothing is read for ``duration_s`` (the plant keeps consuming)
    LEAK = "leak"  # ``value`` units per hour flow through the meter and reach none of its children


class MeterEvent(StrictModel):
    """A scripted event of a meter, played once by the simulator ``after_s`` simulated seconds after its start."""

    id: Id
    kind: MeterEventKind
    meter: Id
    after_s: float = Field(ge=0)
    duration_s: float = Field(default=60, gt=0)
    value: float | None = None

    @model_validator(mode="after")
    def _value(self) -> MeterEvent:
        needs_value = self.kind in (MeterEventKind.SWAP, MeterEventKind.LEAK)
        if needs_value and (self.value is None or not math.isfinite(self.value) or self.value < 0):
            raise ValueError(f"{self.kind.value} events need a finite value >= 0")
        return self


class Intensity(Named):
    """Energy per tonne of product: what ``meters`` read over what the production ``counters`` counted.

    ``measure`` "native" keeps the meters' own unit (kWh/t; the meters must share one medium), "kgce" converts
    every medium to kilograms of standard coal equivalent with the plant's ``kgce`` factors (on its
    ``kgce_basis``). ``limit`` is drawn as the limit line, ``limit_source`` says where it comes from."""

    meters: list[Id] = Field(min_length=1)
    counters: list[Id] = Field(min_length=1)
    measure: Literal["native", "kgce"] = "native"
    limit: float | None = Field(default=None, gt=0)
    limit_source: str = Field(default="", max_length=200)


class EnergyThreshold(Named):
    """A limit on a key meter's rate (``meter``: its units per hour over the last ``window_min``) or on an
    intensity (``intensity``: per tonne over the last ``window_min``); crossing it raises an alarm of
    ``priority`` through the alarm engine (the energy service opens an event, ``services.energy``)."""

    meter: Id | None = None
    intensity: Id | None = None
    limit: float = Field(gt=0)
    window_min: float = Field(default=15, ge=1, le=24 * 60)
    priority: AlarmPriority = AlarmPriority.MEDIUM

    @model_validator(mode="after")
    def _one_target(self) -> EnergyThreshold:
        if (self.meter is None) == (self.intensity is None):
            raise ValueError("a threshold names either a meter or an intensity")
        return self


class TouBand(StrictModel):
    """A time-of-use band of the electricity tariff: its price (currency per kWh) and its hours, local time,
    as ``"HH:MM-HH:MM"`` ranges (``"23:00-07:00"`` runs across midnight); on whole hours."""

    id: Id
    name: str = Field(max_length=60)
    name_zh: str | None = Field(default=None, max_length=60)
    price: float = Field(ge=0)
    hours: list[str] = Field(min_length=1)

    @field_validator("hours")
    @classmethod
    def _ranges(cls, v: list[str]) -> list[str]:
        for r in v:
            m = re.fullmatch(r"([01]\d|2[0-3]):00-([01]\d|2[0-4]):00", r)
            if m is None or m.group(1) == m.group(2):
                raise ValueError(f"{r!r} is not a range of whole hours like 08:00-11:00")
        return v

    def hour_set(self) -> set[int]:
        out: set[int] = set()
        for r in self.hours:
            a, b = int(r[:2]), int(r[6:8])
            out.update(range(a, b) if a < b else [*range(a, 24), *range(0, b)])
        return out


class PricePeriod(StrictModel):
    """A medium's price (``currency`` per meter unit) valid over plant days, both ends included; no end: valid
    from its first day on. On its days it replaces the medium's price in ``prices``; a period across a change
    is priced day by day."""

    medium: Medium
    price: float = Field(ge=0)
    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _order(self) -> PricePeriod:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class CostPlan(StrictModel):
    """The planned consumption and price of one meter (an area's, as a rule) in one month: the cost plan
    (``quantity`` in the meter's unit, ``price`` in ``currency`` per unit); the energy page sets the month's
    actual against it, the variance split into volume and price effects."""

    meter: Id
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")  # 2026-03
    quantity: float = Field(ge=0)
    price: float = Field(ge=0)


class EnergySettings(StrictModel):
    """Prices of the media (``currency`` per the meters' unit: kWh, m3, t, Nm3) for the money view of the
    energy page, the share of a parent meter beyond its children above which reconciliation flags it, and
    energy per tonne: conversion to standard coal (kgce per meter unit, on the basis stated: the calorific
    ("当量值") and the equivalent ("等价值") values of electricity differ about threefold) and the intensities."""

    currency: str = Field(default="CNY", min_length=1, max_length=8)
    prices: dict[Medium, float] = Field(default_factory=dict)
    reconciliation_threshold: float = Field(default=0.03, gt=0, lt=1)
    kgce_basis: Literal["calorific", "equivalent"] = "calorific"
    kgce: dict[Medium, float] = Field(default_factory=dict)
    kgce_source: str = Field(default="", max_length=200)
    intensities: list[Intensity] = Field(default_factory=list)
    thresholds: list[EnergyThreshold] = Field(default_factory=list)
    tou: list[TouBand] = Field(default_factory=list)  # electricity by time of use; empty: the flat price
    price_periods: list[PricePeriod] = Field(default_factory=list)  # prices valid from/to (see PricePeriod)
    # the demand (capacity) charge: currency per kW of the month's maximum demand (the highest hourly mean of the
    # site's electricity), billed per month; None: none
    demand_charge: float | None = Field(default=None, ge=0)
    cost_plan: list[CostPlan] = Field(default_factory=list)  # planned quantity and price per meter and month

    @model_validator(mode="after")
    def _price_periods_apart(self) -> EnergySettings:
        for (i, a), (j, b) in itertools.combinations(enumerate(self.price_periods), 2):
            if (
                a.medium == b.medium
                and a.valid_from <= (b.valid_to or date.max)
                and b.valid_from <= (a.valid_to or date.max)
            ):
                raise ValueError(
                    f"price_periods[{i}] and price_periods[{j}] give {a.medium.value} two prices on the same days"
                    f" (from {max(a.valid_from, b.valid_from)})"
                )
        return self

    def price_on(self, medium: Medium, day: date) -> float | None:
        """The medium's price on a plant day: its price period's, else ``prices``; None: no price."""
        for pp in self.price_periods:
            if pp.medium == medium and pp.covers(day):
                return pp.price
        return self.prices.get(medium)

    @model_validator(mode="after")
    def _tou_day(self) -> EnergySettings:
        if self.tou:
            seen: dict[int, str] = {}
            for band in self.tou:
                for h in band.hour_set():
                    if h in seen:
                        raise ValueError(f"tou: hour {h:02d}:00 is in both {seen[h]!r} and {band.id!r}")
                    seen[h] = band.id
            missing = [f"{h:02d}:00" for h in range(24) if h not in seen]
            if missing:
                raise ValueError(f"tou: the bands leave out {', '.join(missing)}")
        return self

    @field_validator("prices", "kgce")
    @classmethod
    def _prices(cls, v: dict[Medium, float]) -> dict[Medium, float]:
        for medium, price in v.items():
            if not math.isfinite(price) or price < 0:
                raise ValueError(f"the value for {medium.value} must be a finite number >= 0")
        return v


class IncidentKind(StrEnum):
    GAS_LEAK = "gas_leak"
    FORBIDDEN_ENTRY = "forbidden_entry"
    MAN_DOWN = "man_down"
    SOS = "sos"
    OVER_TEMPERATURE = "over_temperature"
    EMISSION_EXCEEDANCE = "emission_exceedance"  # a stack pollutant held above its hourly limit
    ASSAY_SHIFT = "assay_shift"  # a lab assay's mean shifted by 2.5 sigma: an out-of-control run
    ANALYSER_MAINTENANCE = "analyser_maintenance"  # a CEMS analyser out of service (its data flagged M)
    HAZARD_LEVEL = "hazard_level"  # a major hazard source's reading rising over its threshold
    EVACUATION = "evacuation"  # a release over HH on ``tag``; everyone on site walks to the nearest muster point


class Incident(StrictModel):
    """A scripted incident the simulator plays on a seeded schedule."""

    id: Id
    kind: IncidentKind
    first_after_s: float = Field(ge=0)  # first occurrence after simulator start (simulated seconds)
    every_s: float | None = Field(default=None, gt=0)  # repeat period; None = once
    jitter_s: float = Field(default=0, ge=0)  # seeded random offset added to each occurrence
    duration_s: float = Field(gt=0)
    tag: Id | None = None  # gas_leak, over_temperature, emission_exceedance, analyser_maintenance, hazard_level
    zone: Id | None = None  # forbidden_entry target
    badge: Id | None = None  # forbidden_entry, man_down, sos

    @model_validator(mode="after")
    def _targets(self) -> Incident:
        need = {
            IncidentKind.GAS_LEAK: ("tag",),
            IncidentKind.OVER_TEMPERATURE: ("tag",),
            IncidentKind.EMISSION_EXCEEDANCE: ("tag",),
            IncidentKind.ASSAY_SHIFT: ("tag",),
            IncidentKind.ANALYSER_MAINTENANCE: ("tag",),
            IncidentKind.HAZARD_LEVEL: ("tag",),
            IncidentKind.EVACUATION: ("tag",),
            IncidentKind.FORBIDDEN_ENTRY: ("zone", "badge"),
            IncidentKind.MAN_DOWN: ("badge",),
            IncidentKind.SOS: ("badge",),
        }[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"{self.kind.value} incidents need {', '.join(missing)}")
        return self


class EmissionLimit(StrictModel):
    """One pollutant of a stack: its CEMS tag and its hourly emission limit (same unit as the tag, mg/m3)."""

    tag: Id
    limit: float = Field(gt=0)

    @field_validator("limit")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("the limit must be a finite number")
        return v


class EmissionStack(StrictModel):
    """A monitored discharge point: a stack (``flue_gas``: concentrations in mg/m3, flow in Nm3/h) or a
    wastewater outfall (``wastewater``: concentrations in mg/L, flow in m3/h); the same hourly validity rules."""

    equipment: Id
    flow_tag: Id
    pollutants: list[EmissionLimit] = Field(min_length=1)
    medium: Literal["flue_gas", "wastewater"] = "flue_gas"


class EmissionSettings(StrictModel):
    """Stack emissions (CEMS): the standard the limits come from, a note on their status, the validity rules
    (an hour is valid with ``valid_minutes`` normal minutes, a day with ``valid_hours_per_day`` valid hours)."""

    standard: str = Field(default="", max_length=200)
    standard_zh: str | None = Field(default=None, max_length=200)
    review: str | None = Field(default=None, max_length=300)  # e.g. limits to be checked against the text in force
    valid_minutes: int = Field(default=45, ge=1, le=60)
    valid_hours_per_day: int = Field(default=20, ge=1, le=24)
    stacks: list[EmissionStack] = Field(default_factory=list)


class HazardSubstance(StrictModel):
    """One hazardous substance of a hazard-source unit (GB 18218-2018): its design maximum quantity ``q_t`` in
    tonnes, its critical quantity ``critical_t`` (Q, table 1 by name or table 2 by hazard class; None for a
    substance kept for display that neither table lists, which counts nothing), its correction factor ``beta``
    (table 3 for the toxic gases it names, else table 4 by hazard class), and ``basis``: the table and row."""

    name: str = Field(max_length=120)
    name_zh: str | None = Field(default=None, max_length=120)
    cas: str | None = Field(default=None, pattern=r"^\d{2,7}-\d{2}-\d$")
    q_t: float = Field(ge=0)
    critical_t: float | None = Field(default=None, gt=0)
    beta: float = Field(default=1.0, gt=0)
    basis: str = Field(default="", max_length=200)

    @field_validator("name", "name_zh")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        return None if v is None else _clean_label(v)

    @field_validator("basis")
    @classmethod
    def _basis(cls, v: str) -> str:
        return _clean_text(v)


class HazardLeadRole(StrEnum):
    """The three safety leads of a major hazard source (安全包保: 主要负责人, 技术负责人, 操作负责人)."""

    MAIN = "main"
    TECHNICAL = "technical"
    OPERATION = "operation"


class HazardLead(StrictModel):
    """A responsible person of a hazard source: a badge of the plant file or a user id of the web app."""

    role: HazardLeadRole
    badge: Id | None = None
    user: Id | None = None

    @model_validator(mode="after")
    def _one(self) -> HazardLead:
        if (self.badge is None) == (self.user is None):
            raise ValueError("a responsible person names either a badge or a user")
        return self


class HazardReading(StrictModel):
    """A live reading of a hazard source (level, pressure, temperature, gas): a numeric tag and its thresholds
    for this source (``high``: above it is over; ``low``: below it is under)."""

    tag: Id
    high: float | None = None
    low: float | None = None
    priority: AlarmPriority = AlarmPriority.HIGH

    @model_validator(mode="after")
    def _thresholds(self) -> HazardReading:
        if self.high is None and self.low is None:
            raise ValueError("a reading needs a high or a low threshold")
        if self.high is not None and self.low is not None and not self.low < self.high:
            raise ValueError(f"low threshold {self.low} must be below high threshold {self.high}")
        return self


class HazardSource(Named):
    """A production or storage unit assessed under GB 18218-2018: its substances, the people within 500 m
    outside the plant (for the exposure correction alpha, table 5), its zone, fence, leads and live readings."""

    unit: Literal["production", "storage"]
    zone: Id
    equipment: list[Id] = Field(default_factory=list)
    fence: list[Point]
    people_500m: int = Field(ge=0)
    substances: list[HazardSubstance] = Field(min_length=1)
    responsible: list[HazardLead] = Field(min_length=1)
    # Badges allowed inside the fence (the unit's operators); the leads' badges and, while a work permit
    # covering the place is valid, its crew are allowed too. Anyone else inside alarms (hazard_intrusion).
    authorized: list[Id] = Field(default_factory=list)
    readings: list[HazardReading] = Field(default_factory=list)
    note: str = Field(default="", max_length=300)
    note_zh: str | None = Field(default=None, max_length=300)

    _poly = field_validator("fence")(classmethod(lambda cls, v: _check_polygon(v)))

    @field_validator("note", "note_zh")
    @classmethod
    def _note(cls, v: str | None) -> str | None:
        return None if v is None else _clean_text(v)


# The safety early-warning index's parts and their default weights, colour thresholds and hysteresis: the plant
# file's defaults and ``engine.safety_index``'s.
SAFETY_INDEX_WEIGHTS: dict[str, float] = {
    "static": 0.20,
    "alarms": 0.20,
    "violations": 0.15,
    "hidden_dangers": 0.15,
    "permits": 0.10,
    "staffing": 0.05,
    "environment": 0.15,
}
SAFETY_INDEX_THRESHOLDS: tuple[float, float, float] = (25.0, 50.0, 75.0)
SAFETY_INDEX_HYSTERESIS = 5.0


class SafetyIndexSettings(StrictModel):
    """The safety early-warning index (``engine.safety_index``): each part's weight (summing to 1), the colour
    thresholds (yellow, orange, red) and the hysteresis on the way down, in index points."""

    weights: dict[str, float] = Field(default_factory=lambda: dict(SAFETY_INDEX_WEIGHTS))
    thresholds: tuple[float, float, float] = SAFETY_INDEX_THRESHOLDS
    hysteresis: float = Field(default=SAFETY_INDEX_HYSTERESIS, ge=0, le=25)

    @model_validator(mode="after")
    def _check(self) -> SafetyIndexSettings:
        parts = tuple(SAFETY_INDEX_WEIGHTS)
        unknown = sorted(set(self.weights) - set(parts))
        if unknown:
            raise ValueError(f"weights: unknown part(s) {unknown}; parts: {list(parts)}")
        if any(not math.isfinite(v) or v < 0 for v in self.weights.values()):
            raise ValueError("weights must be finite numbers >= 0")
        if abs(sum(self.weights.values()) - 1.0) > 0.001:
            raise ValueError(f"weights must sum to 1, not {sum(self.weights.values()):.3f}")
        t = self.thresholds
        if not (0 < t[0] < t[1] < t[2] < 100):
            raise ValueError(f"thresholds must rise between 0 and 100: {list(t)}")
        return self


class HazardSettings(StrictModel):
    """Major hazard sources (GB 18218-2018): the standard, a note on the values' status, the sources."""

    standard: str = Field(default="GB 18218-2018", max_length=200)
    standard_zh: str | None = Field(default=None, max_length=200)
    review: str | None = Field(default=None, max_length=300)
    sources: list[HazardSource] = Field(default_factory=list)


class EmergencyKind(StrEnum):
    """Kinds of incident an emergency plan answers (GB/T 29639-2020: special plans per kind of accident)."""

    GAS_RELEASE = "gas_release"  # toxic or asphyxiant gas (SO2, CO, O2 depletion): the danger area goes downwind
    FIRE = "fire"
    EXPLOSION = "explosion"
    MOLTEN_METAL = "molten_metal"  # breakout or eruption of matte, slag or copper
    CHEMICAL_SPILL = "chemical_spill"  # acid or reagent spill
    ELECTRICAL = "electrical"


class PlanAction(StrictModel):
    """One action of a plan's checklist: what to do and who owns it (a post or team, not a person)."""

    id: Id
    text: str = Field(min_length=1, max_length=200)
    text_zh: str | None = Field(default=None, max_length=200)
    owner: str = Field(min_length=1, max_length=80)
    owner_zh: str | None = Field(default=None, max_length=80)

    @field_validator("text", "text_zh", "owner", "owner_zh")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        return None if v is None else _clean_label(v)


class EmergencyPlan(Named):
    """An on-site emergency plan (GB/T 29639-2020 special plan or on-site disposal plan): the kind of incident,
    the zones it applies to, its response level (1 the highest), the danger area it declares (the incident
    zone and ``danger_radius_m`` around it; for a gas release also ``downwind_m`` downwind, a sector of
    ``downwind_half_angle_deg`` either side of the wind), the actions with their owners, the users it calls
    (``call_list``, by user name, through the notification channels) and the tags whose urgent alarm proposes
    it."""

    kind: EmergencyKind
    zones: list[Id] = Field(min_length=1)
    level: int = Field(default=2, ge=1, le=4)
    danger_radius_m: float = Field(default=50, gt=0, le=2000)
    downwind_m: float = Field(default=0, ge=0, le=5000)
    downwind_half_angle_deg: float = Field(default=20, gt=0, le=90)
    actions: list[PlanAction] = Field(min_length=1)
    call_list: list[str] = Field(default_factory=list)
    triggers: list[Id] = Field(default_factory=list)

    @field_validator("call_list")
    @classmethod
    def _users(cls, v: list[str]) -> list[str]:
        for u in v:
            if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", u):
                raise ValueError(f"{u[:64]!r} is no user name")
        return v

    @model_validator(mode="after")
    def _unique_actions(self) -> EmergencyPlan:
        seen: set[str] = set()
        for a in self.actions:
            if a.id in seen:
                raise ValueError(f"action {a.id!r} is listed twice")
            seen.add(a.id)
        return self


class ResourceKind(StrEnum):
    BREATHING_APPARATUS = "breathing_apparatus"
    GAS_DETECTOR = "gas_detector"
    FIRE_EQUIPMENT = "fire_equipment"
    RESCUE_VEHICLE = "rescue_vehicle"
    FIRST_AID = "first_aid"
    SPILL_KIT = "spill_kit"
    RESCUE_TEAM = "rescue_team"


class EmergencyResource(Named):
    """Emergency equipment or a team where it is kept: kind, position, how many, last and next inspection."""

    kind: ResourceKind
    position: Point
    count: int = Field(default=1, ge=1, le=100_000)
    inspected: date | None = None
    next_inspection: date | None = None


class EmergencySettings(StrictModel):
    """Emergency plans and resources, the wind tag (direction the wind comes from, degrees clockwise from
    north) and the spacing of the walkway graph the evacuation routes run on (the plant's roads)."""

    standard: str = Field(default="GB/T 29639-2020", max_length=200)
    standard_zh: str | None = Field(default=None, max_length=200)
    wind_from_tag: Id | None = None
    wind_from_deg: float = Field(default=0, ge=0, lt=360)  # used while the wind tag has no value
    walkway_step_m: float = Field(default=10, ge=2, le=100)
    plans: list[EmergencyPlan] = Field(default_factory=list)
    resources: list[EmergencyResource] = Field(default_factory=list)


COLLECTIONS: tuple[str, ...] = (
    "endpoints",
    "areas",
    "zones",
    "roads",
    "gates",
    "equipment",
    "tags",
    "cameras",
    "badges",
    "fences",
    "muster_points",
    "meters",
    "meter_events",
    "incidents",
)  # the plant's collections of entries with an ``id``


class Plant(StrictModel):
    schema_version: Literal[1]
    site: Site
    endpoints: list[Endpoint] = Field(min_length=1)
    areas: list[Area] = Field(min_length=1)
    zones: list[Zone] = Field(min_length=1)
    roads: list[Road] = Field(default_factory=list)
    gates: list[Gate] = Field(default_factory=list)
    equipment: list[Equipment] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    cameras: list[Camera] = Field(default_factory=list)
    badges: list[Badge] = Field(default_factory=list)
    fences: list[Fence] = Field(default_factory=list)
    muster_points: list[MusterPoint] = Field(default_factory=list)
    meters: list[Meter] = Field(default_factory=list)
    meter_events: list[MeterEvent] = Field(default_factory=list)
    energy: EnergySettings = Field(default_factory=EnergySettings)
    incidents: list[Incident] = Field(default_factory=list)
    production: ProductionSettings = Field(default_factory=ProductionSettings)
    emissions: EmissionSettings = Field(default_factory=EmissionSettings)
    hazards: HazardSettings = Field(default_factory=HazardSettings)
    safety_index: SafetyIndexSettings = Field(default_factory=SafetyIndexSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    emergency: EmergencySettings = Field(default_factory=EmergencySettings)

    @model_validator(mode="after")
    def _references(self) -> Plant:
        problems = PlantReferenceError()
        ids: dict[str, set[str]] = {}
        for coll in COLLECTIONS:
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, coll)):
                if item.id in seen:
                    problems.add(coll, i, "id", f"duplicate id {item.id!r}")
                seen.add(item.id)
            ids[coll] = seen
        node_ids: set[tuple[str, str]] = set()
        shift_ids = {s.id for s in self.site.shifts}

        def ref(coll: str, i: int, field: str, value: str | None, target: str) -> None:
            if value is not None and value not in ids[target]:
                problems.add(coll, i, field, f"unknown {target.rstrip('s')} {value!r}")

        def inside(coll: str, i: int, field: str, pts: list[Point] | list[Point3]) -> None:
            for p in pts:
                if not (0 <= p[0] <= self.site.width_m and 0 <= p[1] <= self.site.depth_m):
                    problems.add(coll, i, field, f"point ({p[0]}, {p[1]}) is outside the site")
                    return

        for i, z in enumerate(self.zones):
            ref("zones", i, "area", z.area, "areas")
            inside("zones", i, "polygon", z.polygon)
            for s in z.headcount:
                if s not in shift_ids:
                    problems.add("zones", i, "headcount", f"unknown shift {s!r}")
        for i, e in enumerate(self.equipment):
            ref("equipment", i, "zone", e.zone, "zones")
            inside("equipment", i, "position", [e.position])
        for i, t in enumerate(self.tags):
            ref("tags", i, "endpoint", t.endpoint, "endpoints")
            ref("tags", i, "equipment", t.equipment, "equipment")
            ref("tags", i, "zone", t.zone, "zones")
            ref("tags", i, "badge", t.badge, "badges")
            key = (t.endpoint, t.node_id)
            if key in node_ids:
                problems.add("tags", i, "node_id", f"node id {t.node_id!r} is used twice on {t.endpoint!r}")
            node_ids.add(key)
        for i, c in enumerate(self.cameras):
            ref("cameras", i, "zone", c.zone, "zones")
            inside("cameras", i, "position", [c.position])
        for i, b in enumerate(self.badges):
            if b.shift is not None and b.shift not in shift_ids:
                problems.add("badges", i, "shift", f"unknown shift {b.shift!r}")
            for zone_id in b.work_zones:
                ref("badges", i, "work_zones", zone_id, "zones")
            ref("badges", i, "escort", b.escort, "badges")
        for i, f in enumerate(self.fences):
            inside("fences", i, "polygon", f.polygon)
        for i, r in enumerate(self.roads):
            inside("roads", i, "polyline", r.polyline)
        for i, g in enumerate(self.gates):
            inside("gates", i, "position", [g.position])
        for i, mp in enumerate(self.muster_points):
            inside("muster_points", i, "position", [mp.position])
        meters = {m.id: m for m in self.meters}
        energy_tags = {tg.id: tg for tg in self.tags}
        metered: dict[str, str] = {}
        for i, m in enumerate(self.meters):
            ref("meters", i, "tag", m.tag, "tags")
            mt = energy_tags.get(m.tag or "")
            if mt is not None:
                if mt.kind != TagKind.ENERGY:
                    what = f"tag {mt.id!r} is a {mt.kind.value} tag, not a cumulative energy tag"
                    problems.add("meters", i, "tag", what)
                elif mt.medium != m.medium:
                    medium = mt.medium.value if mt.medium else "?"
                    problems.add("meters", i, "tag", f"tag {mt.id!r} meters {medium}, the meter {m.medium.value}")
                if mt.id in metered:
                    problems.add("meters", i, "tag", f"tag {mt.id!r} is already read by meter {metered[mt.id]!r}")
                metered.setdefault(mt.id, m.id)
            if m.parent is None:
                if m.level != MeterLevel.SITE:
                    problems.add("meters", i, "parent", "only site meters may have no parent")
            elif m.parent not in meters:
                problems.add("meters", i, "parent", f"unknown meter {m.parent!r}")
            else:
                parent = meters[m.parent]
                if parent.level.depth >= m.level.depth:
                    problems.add("meters", i, "level", f"{m.level.value} meter under {parent.level.value} meter")
                if parent.medium != m.medium:
                    problems.add("meters", i, "medium", f"{m.medium.value} meter under {parent.medium.value} meter")
        counters = {t.id for t in self.tags if t.kind == TagKind.COUNTER}
        for i, ki in enumerate(self.energy.intensities):
            here = "energy.intensities"
            found = [meters[mid] for mid in ki.meters if mid in meters]
            for mid in ki.meters:
                if mid not in meters:
                    problems.add(here, i, "meters", f"unknown meter {mid!r}")
            for counter in ki.counters:
                if counter not in counters:
                    problems.add(here, i, "counters", f"{counter!r} is not a production counter tag")
            mediums = {mt.medium for mt in found}
            if ki.measure == "native" and len(mediums) > 1:
                problems.add(here, i, "meters", "a native intensity needs meters of one medium (or measure: kgce)")
            if ki.measure == "kgce":
                for medium in sorted(mediums - set(self.energy.kgce)):
                    problems.add(here, i, "meters", f"no kgce factor for {medium.value} in energy.kgce")
        planned: set[tuple[str, str]] = set()
        for i, cp in enumerate(self.energy.cost_plan):
            if cp.meter not in meters:
                problems.add("energy.cost_plan", i, "meter", f"unknown meter {cp.meter!r}")
            if (cp.meter, cp.month) in planned:
                problems.add("energy.cost_plan", i, "month", f"{cp.meter!r} is planned twice for {cp.month}")
            planned.add((cp.meter, cp.month))
        known_intensities = {ki.id for ki in self.energy.intensities}
        for i, th in enumerate(self.energy.thresholds):
            if th.meter is not None and (th.meter not in meters or meters[th.meter].tag is None):
                problems.add("energy.thresholds", i, "meter", f"{th.meter!r} is no meter that reads a tag")
            if th.intensity is not None and th.intensity not in known_intensities:
                problems.add("energy.thresholds", i, "intensity", f"unknown intensity {th.intensity!r}")
        children = {m.parent for m in self.meters if m.parent}
        for i, ev in enumerate(self.meter_events):
            target = meters.get(ev.meter)
            if target is None:
                problems.add("meter_events", i, "meter", f"unknown meter {ev.meter!r}")
            elif target.tag is None:
                problems.add("meter_events", i, "meter", f"meter {ev.meter!r} reads no tag")
            elif ev.kind == MeterEventKind.LEAK and ev.meter not in children:
                problems.add("meter_events", i, "meter", f"a leak needs a parent meter; {ev.meter!r} has no children")
        for i, inc in enumerate(self.incidents):
            ref("incidents", i, "tag", inc.tag, "tags")
            ref("incidents", i, "zone", inc.zone, "zones")
            ref("incidents", i, "badge", inc.badge, "badges")
        tags_by_id = {tg.id: tg for tg in self.tags}
        processes = {e.process for e in self.equipment}
        for i, fu in enumerate(self.production.flowsheet.units):
            where = "production.flowsheet.units"
            if fu.process not in processes:
                problems.add(where, i, "process", f"no equipment has process {fu.process!r}")
            for tg_id in fu.tags:
                if tg_id not in tags_by_id:
                    problems.add(where, i, "tags", f"unknown tag {tg_id!r}")
        for i, fs in enumerate(self.production.flowsheet.streams):
            if fs.tag is not None and fs.tag not in tags_by_id:
                problems.add("production.flowsheet.streams", i, "tag", f"unknown tag {fs.tag!r}")
        for i, st in enumerate(self.emissions.stacks):
            where = "emissions.stacks"
            ref(where, i, "equipment", st.equipment, "equipment")
            if st.flow_tag not in tags_by_id:
                problems.add(where, i, "flow_tag", f"unknown tag {st.flow_tag!r}")
            seen_tags: set[str] = set()
            for p in st.pollutants:
                tg = tags_by_id.get(p.tag)
                if tg is None:
                    problems.add(where, i, "pollutants", f"unknown tag {p.tag!r}")
                elif tg.kind != TagKind.EMISSION:
                    problems.add(where, i, "pollutants", f"tag {p.tag!r} is a {tg.kind.value} tag, not an emission tag")
                if p.tag in seen_tags:
                    problems.add(where, i, "pollutants", f"tag {p.tag!r} is listed twice")
                seen_tags.add(p.tag)
        self._check_hazards(problems, ids, tags_by_id, inside)
        self._check_emergency(problems, ids, tags_by_id, inside)
        high_readings = {r.tag for hs in self.hazards.sources for r in hs.readings if r.high is not None}
        for i, inc in enumerate(self.incidents):
            if inc.kind == IncidentKind.HAZARD_LEVEL and inc.tag is not None and inc.tag not in high_readings:
                problems.add("incidents", i, "tag", f"{inc.tag!r} is no hazard-source reading with a high threshold")
        problems.raise_if_any()
        return self

    def _check_hazards(
        self,
        problems: PlantReferenceError,
        ids: dict[str, set[str]],
        tags: dict[str, Tag],
        inside: Callable[[str, int, str, list[Point]], None],
    ) -> None:
        where = "hazards.sources"
        seen: set[str] = set()
        read_by: dict[str, str] = {}
        for i, hs in enumerate(self.hazards.sources):
            if hs.id in seen:
                problems.add(where, i, "id", f"duplicate id {hs.id!r}")
            seen.add(hs.id)
            if hs.zone not in ids["zones"]:
                problems.add(where, i, "zone", f"unknown zone {hs.zone!r}")
            for eq in hs.equipment:
                if eq not in ids["equipment"]:
                    problems.add(where, i, "equipment", f"unknown equipment {eq!r}")
            inside(where, i, "fence", hs.fence)
            for lead in hs.responsible:
                if lead.badge is not None and lead.badge not in ids["badges"]:
                    problems.add(where, i, "responsible", f"unknown badge {lead.badge!r}")
            for badge in hs.authorized:
                if badge not in ids["badges"]:
                    problems.add(where, i, "authorized", f"unknown badge {badge!r}")
            if not any(s.critical_t is not None for s in hs.substances):
                problems.add(where, i, "substances", "no substance has a critical quantity (critical_t)")
            read: set[str] = set()
            for r in hs.readings:
                tg = tags.get(r.tag)
                if tg is None:
                    problems.add(where, i, "readings", f"unknown tag {r.tag!r}")
                elif tg.kind not in (TagKind.PROCESS, TagKind.GAS):
                    what = f"tag {r.tag!r} is a {tg.kind.value} tag, not a process or gas tag"
                    problems.add(where, i, "readings", what)
                if r.tag in read:
                    problems.add(where, i, "readings", f"tag {r.tag!r} is listed twice")
                elif r.tag in read_by:
                    problems.add(where, i, "readings", f"tag {r.tag!r} is already a reading of {read_by[r.tag]!r}")
                read.add(r.tag)
                read_by.setdefault(r.tag, hs.id)

    def _check_emergency(
        self,
        problems: PlantReferenceError,
        ids: dict[str, set[str]],
        tags: dict[str, Tag],
        inside: Callable[[str, int, str, list[Point]], None],
    ) -> None:
        em = self.emergency
        if em.wind_from_tag is not None and em.wind_from_tag not in tags:
            problems.add("emergency", 0, "wind_from_tag", f"unknown tag {em.wind_from_tag!r}")
        seen: set[str] = set()
        for i, pl in enumerate(em.plans):
            where = "emergency.plans"
            if pl.id in seen:
                problems.add(where, i, "id", f"duplicate id {pl.id!r}")
            seen.add(pl.id)
            for z in pl.zones:
                if z not in ids["zones"]:
                    problems.add(where, i, "zones", f"unknown zone {z!r}")
            for tg in pl.triggers:
                if tg not in tags:
                    problems.add(where, i, "triggers", f"unknown tag {tg!r}")
        seen = set()
        for i, r in enumerate(em.resources):
            where = "emergency.resources"
            if r.id in seen:
                problems.add(where, i, "id", f"duplicate id {r.id!r}")
            seen.add(r.id)
            inside(where, i, "position", [r.position])
            if r.inspected is not None and r.next_inspection is not None and r.next_inspection < r.inspected:
                problems.add(where, i, "next_inspection", "the next inspection is before the last one")

    # Lookups used everywhere; cheap enough to rebuild, the model is frozen.
    def by_id(self, collection: str) -> dict[str, BaseModel]:
        return {item.id: item for item in getattr(self, collection)}

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)


class PlantReferenceError(ValueError):
    """Cross-reference problems, each located as (collection, index, field)."""

    def __init__(self) -> None:
        super().__init__("plant references")
        self.items: list[tuple[str, int, str, str]] = []

    def add(self, coll: str, index: int, field: str, message: str) -> None:
        self.items.append((coll, index, field, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise self

    def __str__(self) -> str:
        return "; ".join(f"{c}[{i}].{f}: {m}" for c, i, f, m in self.items)
