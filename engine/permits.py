"""Special-work permits (GB 30871-2022, 危险化学品企业特殊作业安全规范): kinds and grades, validity, gas analysis,
approvals, the lifecycle and the live checks against people's positions and gas readings. Pure Python.

Kinds (chapters 5-12 of the standard): ``hot_work`` 动火 (grades special 特级, first 一级, second 二级),
``confined_space`` 受限空间, ``blinding`` 盲板抽堵, ``height`` 高处 (grades I-IV by the working height, 2-5 m,
5-15 m, 15-30 m, over 30 m), ``lifting`` 吊装 (grades I-III by the load: over 100 t, 40-100 t, under 40 t),
``temp_power`` 临时用电, ``excavation`` 动土, ``road_closure`` 断路.

Rules kept here (each test cites its clause; numbers as read for this product, to be checked against the text in
force, like ``engine.hazards``):

- **Validity**: hot work of the special and first grade at most 8 h, of the second grade at most 72 h (5.2);
  confined space at most 24 h (6.2); the other kinds by the plant's own limit (``DEFAULT_MAX_H``).
- **Gas analysis** (hot work 5.3, confined space 6.4): taken at most 30 min before the work starts; again when the
  work pauses for more than 60 min. Combustible gas at most 0.5 % vol where its lower explosive limit (LEL) is 4 %
  or more, at most 0.2 % vol where it is below 4 %; in a confined space also oxygen 19.5-21 % vol and toxic gases
  at most their occupational exposure limit (GBZ 2.1, given in ppm per gas).
- **Approvals** (5.2 and the chapters of each kind): hot work special: the work unit, the safety department and the
  plant's principal (主要负责人); first: the unit and the safety department; second: the unit; the other kinds: the
  unit; each sign-off by a different person, none by the applicant.
- **Lifecycle**: applied -> approved -> (gas tested ->) isolations confirmed -> active <-> suspended -> closed;
  any permit not closed whose validity has ended is expired. Activation needs the approvals, the isolations
  confirmed, a passing gas analysis no older than 30 min where the kind needs one, a guardian and the time inside
  the validity.
- **Live checks** (every evaluation, :class:`Checker`): the guardian more than ``GUARDIAN_MAX_M`` (10 m) from the
  work point, or not located, for ``GUARDIAN_GRACE_S`` suspends the permit (within 10 s) and alarms; a badge inside
  the permit's work area that is neither its crew nor its guardian is a violation; a gas detector near an active
  hot-work or confined-space permit (within ``GAS_RADIUS_M`` of the work point, or inside its area) over the
  permit's limit suspends it and alarms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

STANDARD = "GB 30871-2022"

HOT_WORK, CONFINED_SPACE, BLINDING, HEIGHT = "hot_work", "confined_space", "blinding", "height"
LIFTING, TEMP_POWER, EXCAVATION, ROAD_CLOSURE = "lifting", "temp_power", "excavation", "road_closure"
KINDS: tuple[str, ...] = (HOT_WORK, CONFINED_SPACE, BLINDING, HEIGHT, LIFTING, TEMP_POWER, EXCAVATION, ROAD_CLOSURE)
CHAPTER: dict[str, int] = {k: 5 + i for i, k in enumerate(KINDS)}  # the standard's chapter of each kind

SPECIAL, FIRST, SECOND = "special", "first", "second"
GRADES: dict[str, tuple[str, ...]] = {
    HOT_WORK: (SPECIAL, FIRST, SECOND),
    HEIGHT: ("I", "II", "III", "IV"),
    LIFTING: ("I", "II", "III"),
}
GAS_KINDS = frozenset({HOT_WORK, CONFINED_SPACE})

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
MAX_H: dict[tuple[str, str | None], float] = {
    (HOT_WORK, SPECIAL): 8.0,
    (HOT_WORK, FIRST): 8.0,
    (HOT_WORK, SECOND): 72.0,
    (CONFINED_SPACE, None): 24.0,
}
DEFAULT_MAX_H = 24.0  # the other kinds: the plant's own limit (the standard leaves it to the permit)
ANALYSIS_MAX_AGE_MS = 30 * MINUTE_MS
PAUSE_REANALYSIS_MS = 60 * MINUTE_MS
LEL_THRESHOLD_PCT = 4.0
COMBUSTIBLE_LIMIT_HIGH_LEL = 0.5  # % vol, where the gas's LEL >= 4 %
COMBUSTIBLE_LIMIT_LOW_LEL = 0.2  # % vol, where the gas's LEL < 4 %
OXYGEN_MIN, OXYGEN_MAX = 19.5, 21.0  # % vol, confined space
PPM_PER_VOL_PCT = 10_000.0
# Occupational exposure limits (GBZ 2.1-2019, as ppm at 20 degC): SO2 PC-STEL 10 mg/m3, H2S MAC 10 mg/m3,
# CO PC-STEL 30 mg/m3 (non-plateau). To be checked against the text in force.
TOXIC_PPM: dict[str, float] = {"SO2": 3.75, "H2S": 7.05, "CO": 25.7}
# The lower explosive limit (% vol) of the combustible gases the detectors read.
LEL_PCT: dict[str, float] = {"CO": 12.5, "H2S": 4.0, "CH4": 5.0, "H2": 4.0, "C2H2": 2.5, "C3H8": 2.1}

UNIT, SAFETY, PRINCIPAL = "unit", "safety", "principal"
APPROVERS: dict[tuple[str, str | None], tuple[str, ...]] = {
    (HOT_WORK, SPECIAL): (UNIT, SAFETY, PRINCIPAL),
    (HOT_WORK, FIRST): (UNIT, SAFETY),
    (HOT_WORK, SECOND): (UNIT,),
}

APPLIED, APPROVED, GAS_TESTED, ISOLATED = "applied", "approved", "gas_tested", "isolated"
ACTIVE, SUSPENDED, CLOSED, EXPIRED = "active", "suspended", "closed", "expired"
STATES: tuple[str, ...] = (APPLIED, APPROVED, GAS_TESTED, ISOLATED, ACTIVE, SUSPENDED, CLOSED, EXPIRED)
LIVE_STATES = frozenset({ACTIVE, SUSPENDED})
DONE_STATES = frozenset({CLOSED, EXPIRED})

GUARDIAN_MAX_M = 10.0
GUARDIAN_GRACE_S = 5.0  # the guardian away this long suspends (well within the 10 s the issue asks)
GAS_RADIUS_M = 30.0
GUARDIAN_AWAY, AREA_INTRUSION, GAS_OVER = "permit_guardian_away", "permit_area_intrusion", "permit_gas_over"


class PermitRefusedError(ValueError):
    """A move or a permit the rules refuse; ``key`` names why (catalog text ``permit.err.<key>``)."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"{key}: {detail}" if detail else key)
        self.key = key


def grade_for_height(height_m: float) -> str:
    """The work-at-height grade by the working height (GB 30871-2022 8.1, after GB/T 3608): I 2-5 m, II 5-15 m,
    III 15-30 m, IV over 30 m; under 2 m is no work at height."""
    if not math.isfinite(height_m) or height_m < 2.0:
        raise PermitRefusedError("not_height", f"{height_m} m")
    return "I" if height_m <= 5 else "II" if height_m <= 15 else "III" if height_m <= 30 else "IV"


def grade_for_load(load_t: float) -> str:
    """The lifting grade by the load (GB 30871-2022 9.1): I over 100 t, II 40-100 t, III under 40 t."""
    if not math.isfinite(load_t) or load_t <= 0:
        raise PermitRefusedError("bad_load", f"{load_t} t")
    return "I" if load_t > 100 else "II" if load_t >= 40 else "III"


def max_validity_ms(kind: str, grade: str | None) -> int:
    """The longest a permit of ``kind`` and ``grade`` may be valid (5.2, 6.2; the others ``DEFAULT_MAX_H``)."""
    key = (kind, grade if kind == HOT_WORK else None)
    return round(MAX_H.get(key, DEFAULT_MAX_H) * HOUR_MS)


def approvers(kind: str, grade: str | None) -> tuple[str, ...]:
    """The sign-offs a permit needs, in order (5.2 for hot work; the work unit for the other kinds)."""
    return APPROVERS.get((kind, grade), (UNIT,))


def combustible_limit(lel_pct: float) -> float:
    """The most combustible gas (% vol) allowed for hot work (5.3): 0.5 % where LEL >= 4 %, 0.2 % below."""
    if not math.isfinite(lel_pct) or lel_pct <= 0:
        raise PermitRefusedError("bad_lel", str(lel_pct))
    return COMBUSTIBLE_LIMIT_HIGH_LEL if lel_pct >= LEL_THRESHOLD_PCT else COMBUSTIBLE_LIMIT_LOW_LEL


@dataclass(frozen=True, slots=True)
class GasReading:
    """One result of a gas analysis: the gas (``O2``, a combustible such as ``CH4``, a toxic such as ``SO2``),
    its value and unit (``%vol`` or ``ppm``)."""

    gas: str
    value: float
    unit: str = "%vol"

    @property
    def vol_pct(self) -> float:
        return self.value / PPM_PER_VOL_PCT if self.unit == "ppm" else self.value

    @property
    def ppm(self) -> float:
        return self.value if self.unit == "ppm" else self.value * PPM_PER_VOL_PCT


@dataclass(frozen=True, slots=True)
class GasFinding:
    gas: str
    value: float
    unit: str
    limit: str  # "<= 0.5 %vol", "19.5-21 %vol", "<= 3.75 ppm"
    ok: bool
    rule: str  # combustible, oxygen, toxic


def judge_gas(kind: str, readings: Sequence[GasReading]) -> list[GasFinding]:
    """Each reading against the limits of ``kind`` (5.3 hot work, 6.4 confined space); an empty analysis, or a
    confined space without oxygen, is refused."""
    if kind not in GAS_KINDS:
        return []
    if not readings:
        raise PermitRefusedError("need_gas")
    out = []
    for r in readings:
        if not math.isfinite(r.value) or r.value < 0 or r.unit not in ("%vol", "ppm"):
            raise PermitRefusedError("bad_gas", f"{r.gas} {r.value} {r.unit}")
        gas = r.gas.upper()
        if gas == "O2":
            if kind != CONFINED_SPACE:
                continue
            ok = OXYGEN_MIN <= r.vol_pct <= OXYGEN_MAX
            out.append(GasFinding(r.gas, r.value, r.unit, f"{OXYGEN_MIN}-{OXYGEN_MAX} %vol", ok, "oxygen"))
            continue
        if gas in LEL_PCT:
            limit = combustible_limit(LEL_PCT[gas])
            out.append(GasFinding(r.gas, r.value, r.unit, f"<= {limit} %vol", r.vol_pct <= limit, "combustible"))
        if kind == CONFINED_SPACE and gas in TOXIC_PPM:
            tox = TOXIC_PPM[gas]
            out.append(GasFinding(r.gas, r.value, r.unit, f"<= {tox} ppm", r.ppm <= tox, "toxic"))
    if kind == CONFINED_SPACE and not any(f.rule == "oxygen" for f in out):
        raise PermitRefusedError("need_oxygen")
    return out


@dataclass(frozen=True, slots=True)
class GasTest:
    ts: int
    by: str
    findings: tuple[GasFinding, ...]

    @property
    def passed(self) -> bool:
        return all(f.ok for f in self.findings)


@dataclass(frozen=True)
class Permit:
    """A permit as the rules see it. ``area``: the work area's polygon in plant metres; ``point``: the work point."""

    id: int
    kind: str
    grade: str | None
    state: str
    applicant: str
    valid_from: int
    valid_to: int
    point: tuple[float, float]
    area: tuple[tuple[float, float], ...]
    guardian: str | None = None  # badge
    crew: tuple[str, ...] = ()  # badges
    approvals: tuple[tuple[str, str], ...] = ()  # (sign-off, user)
    isolations: tuple[str, ...] = ()  # what must be isolated (blinds, valves, power)
    isolations_confirmed: bool = False
    gas_test: GasTest | None = None
    activated_at: int | None = None
    paused_at: int | None = None  # when it was last suspended
    suspend_reason: str | None = None
    zone: str | None = None
    gas_tags: tuple[str, ...] = field(default=(), compare=False)  # detectors near the work (set by the checker)


def check_new(p: Permit) -> None:
    """A new permit's kind, grade, validity, guardian and area (``PermitRefusedError`` naming the rule)."""
    if p.kind not in KINDS:
        raise PermitRefusedError("bad_kind", p.kind)
    grades = GRADES.get(p.kind)
    if grades is not None and p.grade not in grades:
        raise PermitRefusedError("bad_grade", str(p.grade))
    if grades is None and p.grade is not None:
        raise PermitRefusedError("bad_grade", str(p.grade))
    if p.valid_to <= p.valid_from:
        raise PermitRefusedError("bad_validity")
    if p.valid_to - p.valid_from > max_validity_ms(p.kind, p.grade):
        raise PermitRefusedError("too_long", f"{max_validity_ms(p.kind, p.grade) / HOUR_MS:g} h")
    if not p.guardian:
        raise PermitRefusedError("need_guardian")
    if p.guardian in p.crew:
        raise PermitRefusedError("guardian_in_crew")
    if not p.crew:
        raise PermitRefusedError("need_crew")
    if len(p.area) < 3 or not point_in_polygon(p.point[0], p.point[1], p.area):
        raise PermitRefusedError("bad_area")


def approve(p: Permit, signoff: str, user: str) -> Permit:
    """Add one sign-off (the next one due, by someone who has not signed and is not the applicant)."""
    if p.state != APPLIED:
        raise PermitRefusedError("not_now", f"approve in {p.state}")
    needed = approvers(p.kind, p.grade)
    done = [s for s, _ in p.approvals]
    due = next((s for s in needed if s not in done), None)
    if signoff != due:
        raise PermitRefusedError("wrong_signoff", f"{signoff}, due {due}")
    if user == p.applicant or any(u == user for _, u in p.approvals):
        raise PermitRefusedError("same_person")
    approvals = (*p.approvals, (signoff, user))
    state = APPROVED if len(approvals) == len(needed) else APPLIED
    if state == APPROVED and p.kind not in GAS_KINDS:
        state = GAS_TESTED  # nothing to analyse: straight to the isolations
    return replace(p, approvals=approvals, state=state)


def gas_test(p: Permit, readings: Sequence[GasReading], by: str, now_ms: int) -> Permit:
    """Record a gas analysis (5.3, 6.4). A failing one is kept (the page shows it) and the permit stays where it
    is; a passing one moves an approved permit on. Allowed before activation and while suspended."""
    if p.kind not in GAS_KINDS:
        raise PermitRefusedError("no_gas_for_kind")
    if p.state not in (APPROVED, GAS_TESTED, ISOLATED, SUSPENDED):
        raise PermitRefusedError("not_now", f"gas test in {p.state}")
    test = GasTest(now_ms, by, tuple(judge_gas(p.kind, readings)))
    state = GAS_TESTED if p.state == APPROVED and test.passed else p.state
    return replace(p, gas_test=test, state=state)


def confirm_isolations(p: Permit, by: str) -> Permit:
    if p.state != GAS_TESTED:
        raise PermitRefusedError("not_now", f"isolations in {p.state}")
    if not by:
        raise PermitRefusedError("need_actor")
    return replace(p, isolations_confirmed=True, state=ISOLATED)


def _gas_fresh(p: Permit, now_ms: int) -> None:
    if p.kind not in GAS_KINDS:
        return
    t = p.gas_test
    if t is None:
        raise PermitRefusedError("need_gas")
    if not t.passed:
        raise PermitRefusedError("gas_failed")
    if now_ms - t.ts > ANALYSIS_MAX_AGE_MS:
        raise PermitRefusedError("gas_stale")


def activate(p: Permit, now_ms: int) -> Permit:
    """Start the work (5.3: a passing analysis at most 30 min old; the approvals, isolations, the validity)."""
    if p.state != ISOLATED:
        raise PermitRefusedError("not_now", f"activate in {p.state}")
    if not (p.valid_from <= now_ms < p.valid_to):
        raise PermitRefusedError("outside_validity")
    _gas_fresh(p, now_ms)
    return replace(p, state=ACTIVE, activated_at=now_ms)


def suspend(p: Permit, reason: str, now_ms: int) -> Permit:
    if p.state != ACTIVE:
        raise PermitRefusedError("not_now", f"suspend in {p.state}")
    return replace(p, state=SUSPENDED, paused_at=now_ms, suspend_reason=reason)


def resume(p: Permit, now_ms: int) -> Permit:
    """Resume suspended work: inside the validity; after a pause of more than 60 min, or a suspension for gas, a
    new passing analysis taken since (5.3, 6.4)."""
    if p.state != SUSPENDED:
        raise PermitRefusedError("not_now", f"resume in {p.state}")
    if now_ms >= p.valid_to:
        raise PermitRefusedError("outside_validity")
    if p.kind in GAS_KINDS:
        paused = p.paused_at or now_ms
        needs_new = now_ms - paused > PAUSE_REANALYSIS_MS or p.suspend_reason == GAS_OVER
        t = p.gas_test
        if needs_new and (t is None or t.ts < paused):
            raise PermitRefusedError("reanalysis")
        _gas_fresh(p, now_ms)
    return replace(p, state=ACTIVE, paused_at=None, suspend_reason=None)


def close(p: Permit, by: str) -> Permit:
    if p.state not in LIVE_STATES:
        raise PermitRefusedError("not_now", f"close in {p.state}")
    if not by:
        raise PermitRefusedError("need_actor")
    return replace(p, state=CLOSED)


def expire(p: Permit, now_ms: int) -> Permit | None:
    """The permit expired at ``now_ms`` (its validity ended while it was not closed), or None."""
    if p.state in DONE_STATES or now_ms < p.valid_to:
        return None
    return replace(p, state=EXPIRED)


def point_in_polygon(x: float, y: float, poly: Sequence[Sequence[float]]) -> bool:
    inside = False
    n = len(poly)
    for i in range(n):
        x0, y0 = poly[i][0], poly[i][1]
        x1, y1 = poly[(i + 1) % n][0], poly[(i + 1) % n][1]
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            inside = not inside
    return inside


# ------------------------------------------------------------------------------------------------ live checks


@dataclass(frozen=True, slots=True)
class Finding:
    """What one evaluation found on one permit: ``rule`` (guardian away, a badge in the area not on the permit, a
    gas reading over the limit), the badge or tag, the value and limit, and whether the permit is to be suspended."""

    permit: int
    rule: str
    badge: str | None = None
    tag: str | None = None
    value: float | None = None
    limit: float | None = None
    suspend: bool = False

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.permit, self.rule, self.badge or self.tag or "")


@dataclass(frozen=True, slots=True)
class Detector:
    tag: str
    gas: str  # SO2, CO, H2S, O2 ...
    unit: str  # ppm or %vol
    x: float
    y: float


class Checker:
    """The live checks of the active permits, every evaluation: positions (badge -> (x, y), located ones only) and
    the latest gas values (tag -> value). The guardian rule holds for ``GUARDIAN_GRACE_S`` before it suspends;
    findings of the other rules are reported at once (the caller's violation timing applies)."""

    def __init__(self, detectors: Iterable[Detector], grace_s: float = GUARDIAN_GRACE_S) -> None:
        self.detectors = list(detectors)
        self.grace_ms = round(grace_s * 1000)
        self._away_since: dict[int, int] = {}

    def near(self, p: Permit) -> list[Detector]:
        """The detectors within ``GAS_RADIUS_M`` of the work point or inside the permit's area."""
        px, py = p.point
        return [
            d
            for d in self.detectors
            if math.hypot(d.x - px, d.y - py) <= GAS_RADIUS_M or point_in_polygon(d.x, d.y, p.area)
        ]

    def gas_limit(self, p: Permit, d: Detector) -> float | None:
        """The permit's limit for a detector, in the detector's unit (None: no limit applies): the lower of the
        combustible limit (5.3) and, for the crew's breath, the toxic exposure limit (6.4; GBZ 2.1 for hot work too)."""
        gas = d.gas.upper()
        limits_ppm = []
        if gas in LEL_PCT:
            limits_ppm.append(combustible_limit(LEL_PCT[gas]) * PPM_PER_VOL_PCT)
        if gas in TOXIC_PPM:
            limits_ppm.append(TOXIC_PPM[gas])
        if not limits_ppm:
            return None
        low = min(limits_ppm)
        return low if d.unit == "ppm" else low / PPM_PER_VOL_PCT

    def evaluate(
        self,
        now_ms: int,
        permits: Iterable[Permit],
        positions: Mapping[str, tuple[float, float]],
        gas: Mapping[str, float | None],
        detectors_of: Mapping[int, Sequence[Detector]] | None = None,
    ) -> list[Finding]:
        out: list[Finding] = []
        seen: set[int] = set()
        names = list(positions)
        xy = np.array([positions[b] for b in names], dtype=np.float64).reshape(-1, 2)
        for p in permits:
            if p.state != ACTIVE:
                continue
            seen.add(p.id)
            # the guardian at the work point (4.x: the guardian stays at the work for its whole time)
            where = positions.get(p.guardian or "")
            dist = math.hypot(where[0] - p.point[0], where[1] - p.point[1]) if where is not None else math.inf
            if dist > GUARDIAN_MAX_M:
                since = self._away_since.setdefault(p.id, now_ms)
                if now_ms - since >= self.grace_ms:
                    value = None if math.isinf(dist) else round(dist, 1)
                    out.append(Finding(p.id, GUARDIAN_AWAY, p.guardian, None, value, GUARDIAN_MAX_M, True))
            else:
                self._away_since.pop(p.id, None)
            # badges in the work area that are not on the permit (bounding box first, over all badges at once)
            allowed = {*p.crew, p.guardian}
            ax, ay = [q[0] for q in p.area], [q[1] for q in p.area]
            box = (xy[:, 0] >= min(ax)) & (xy[:, 0] <= max(ax)) & (xy[:, 1] >= min(ay)) & (xy[:, 1] <= max(ay))
            for i in np.flatnonzero(box).tolist():
                badge = names[i]
                if badge not in allowed and point_in_polygon(float(xy[i, 0]), float(xy[i, 1]), p.area):
                    out.append(Finding(p.id, AREA_INTRUSION, badge))
            # gas near an active hot work or confined space
            if p.kind in GAS_KINDS:
                near = detectors_of.get(p.id) if detectors_of is not None else None
                for d in near if near is not None else self.near(p):
                    v = gas.get(d.tag)
                    limit = self.gas_limit(p, d)
                    if v is None or limit is None or not math.isfinite(v):
                        continue
                    if v > limit:
                        out.append(Finding(p.id, GAS_OVER, None, d.tag, float(v), limit, True))
        for pid in list(self._away_since):
            if pid not in seen:
                del self._away_since[pid]
        return out


def as_dict(p: Permit) -> dict[str, Any]:
    """The permit's fields as JSON-able data (the store keeps them)."""
    return {
        "approvals": [list(a) for a in p.approvals],
        "isolations": list(p.isolations),
        "gas_test": None
        if p.gas_test is None
        else {
            "ts": p.gas_test.ts,
            "by": p.gas_test.by,
            "findings": [
                {"gas": f.gas, "value": f.value, "unit": f.unit, "limit": f.limit, "ok": f.ok, "rule": f.rule}
                for f in p.gas_test.findings
            ],
        },
    }


def gas_test_from(data: Mapping[str, Any] | None) -> GasTest | None:
    if not data:
        return None
    findings = tuple(
        GasFinding(str(f["gas"]), float(f["value"]), str(f["unit"]), str(f["limit"]), bool(f["ok"]), str(f["rule"]))
        for f in data.get("findings", [])
    )
    return GasTest(int(data["ts"]), str(data["by"]), findings)
