"""Special-work permit rules (GB 30871-2022), each test citing its clause (numbers as read for this product):
kinds and grades, validity, gas analysis limits and age, approvals, the lifecycle, and the live checks (guardian
away, a badge in the work area not on the permit, gas over the limit)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from engine.permits import (
    ACTIVE,
    APPLIED,
    APPROVED,
    AREA_INTRUSION,
    CLOSED,
    CONFINED_SPACE,
    EXPIRED,
    GAS_OVER,
    GAS_TESTED,
    GUARDIAN_AWAY,
    HEIGHT,
    HOT_WORK,
    ISOLATED,
    KINDS,
    LIFTING,
    SUSPENDED,
    TEMP_POWER,
    Checker,
    Detector,
    GasReading,
    Permit,
    PermitRefusedError,
    activate,
    approve,
    approvers,
    check_new,
    close,
    combustible_limit,
    confirm_isolations,
    expire,
    gas_test,
    grade_for_height,
    grade_for_load,
    judge_gas,
    max_validity_ms,
    resume,
    suspend,
)

H = 3_600_000
MIN = 60_000
T0 = 1_796_000_000_000
AREA = ((0.0, 0.0), (20.0, 0.0), (20.0, 20.0), (0.0, 20.0))


def permit(kind: str = HOT_WORK, grade: str | None = "first", hours: float = 8, **kw: object) -> Permit:
    base = Permit(
        id=1,
        kind=kind,
        grade=grade,
        state=APPLIED,
        applicant="app",
        valid_from=T0,
        valid_to=T0 + round(hours * H),
        point=(10.0, 10.0),
        area=AREA,
        guardian="G1",
        crew=("W1", "W2"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def refused(key: str, fn: object, *args: object) -> None:
    with pytest.raises(PermitRefusedError) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.key == key, info.value


def ready(p: Permit, now: int = T0) -> Permit:
    """Approved by every sign-off, gas tested (where the kind needs it) and isolations confirmed."""
    for i, s in enumerate(approvers(p.kind, p.grade)):
        p = approve(p, s, f"u{i}")
    if p.state == APPROVED:
        gases = [GasReading("CH4", 0.1), GasReading("O2", 20.9)]
        p = gas_test(p, gases, "tester", now)
    return confirm_isolations(p, "op")


# -- kinds and grades -----------------------------------------------------------------------------------------


def test_the_eight_kinds_of_chapters_5_to_12() -> None:
    # GB 30871-2022 chapters 5-12: hot work, confined space, blinding, height, lifting, temporary power, excavation,
    # road closure
    assert len(KINDS) == 8 and KINDS[0] == HOT_WORK and KINDS[-1] == "road_closure"


@pytest.mark.parametrize("grade", ["special", "first", "second"])
def test_hot_work_grades_5_1(grade: str) -> None:
    # GB 30871-2022 5.1: hot work is special, first or second grade
    check_new(permit(grade=grade, hours=8))


def test_hot_work_needs_its_grade_5_1() -> None:
    # GB 30871-2022 5.1: a hot-work permit without one of the three grades is refused
    refused("bad_grade", check_new, permit(grade=None))
    refused("bad_grade", check_new, permit(grade="third"))


def test_a_kind_without_grades_takes_none() -> None:
    # GB 30871-2022 10 (temporary power) has no grades
    refused("bad_grade", check_new, permit(kind=TEMP_POWER, grade="first"))
    check_new(permit(kind=TEMP_POWER, grade=None))


@pytest.mark.parametrize(("height", "grade"), [(2.0, "I"), (5.0, "I"), (5.1, "II"), (15, "II"), (15.5, "III"),
                                               (30, "III"), (30.1, "IV")])  # fmt: skip
def test_work_at_height_grade_by_height_8_1(height: float, grade: str) -> None:
    # GB 30871-2022 8.1 (heights after GB/T 3608): I 2-5 m, II 5-15 m, III 15-30 m, IV over 30 m
    assert grade_for_height(height) == grade


def test_under_two_metres_is_no_work_at_height_8_1() -> None:
    # GB 30871-2022 3 / 8.1: work at height starts at 2 m
    refused("not_height", grade_for_height, 1.9)
    refused("not_height", grade_for_height, math.nan)


@pytest.mark.parametrize(("load", "grade"), [(100.1, "I"), (100, "II"), (40, "II"), (39.9, "III"), (1, "III")])
def test_lifting_grade_by_load_9_1(load: float, grade: str) -> None:
    # GB 30871-2022 9.1: I over 100 t, II 40-100 t, III under 40 t
    assert grade_for_load(load) == grade


def test_a_height_permit_takes_the_height_grades_8_1() -> None:
    check_new(permit(kind=HEIGHT, grade="III"))
    refused("bad_grade", check_new, permit(kind=LIFTING, grade="IV"))


# -- validity -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("grade", "hours"), [("special", 8), ("first", 8), ("second", 72)])
def test_hot_work_validity_at_its_limit_5_2(grade: str, hours: float) -> None:
    # GB 30871-2022 5.2: special and first grade at most 8 h, second grade at most 72 h
    assert max_validity_ms(HOT_WORK, grade) == hours * H
    check_new(permit(grade=grade, hours=hours))


@pytest.mark.parametrize(("grade", "hours"), [("special", 8.01), ("first", 9), ("second", 72.5)])
def test_hot_work_validity_over_its_limit_is_refused_5_2(grade: str, hours: float) -> None:
    # GB 30871-2022 5.2
    refused("too_long", check_new, permit(grade=grade, hours=hours))


def test_confined_space_at_most_24_hours_6_2() -> None:
    # GB 30871-2022 6.2: a confined-space permit is valid at most 24 h
    check_new(permit(kind=CONFINED_SPACE, grade=None, hours=24))
    refused("too_long", check_new, permit(kind=CONFINED_SPACE, grade=None, hours=24.5))


def test_a_permit_ends_after_it_starts_and_names_guardian_crew_area_4() -> None:
    # GB 30871-2022 4 (basic requirements): a permit has its time, its guardian, its workers and its place
    refused("bad_validity", check_new, permit(hours=0))
    refused("need_guardian", check_new, permit(guardian=None))
    refused("guardian_in_crew", check_new, permit(guardian="W1"))
    refused("need_crew", check_new, permit(crew=()))
    refused("bad_area", check_new, permit(point=(50.0, 50.0)))


# -- gas analysis ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lel", "limit"), [(4.0, 0.5), (5.0, 0.5), (12.5, 0.5), (3.99, 0.2), (2.1, 0.2)])
def test_combustible_limit_by_lel_5_3(lel: float, limit: float) -> None:
    # GB 30871-2022 5.3: at most 0.5 % vol where the LEL is 4 % or more, at most 0.2 % vol below
    assert combustible_limit(lel) == limit


@pytest.mark.parametrize(("gas", "value", "ok"), [("CH4", 0.5, True), ("CH4", 0.51, False), ("C3H8", 0.2, True),
                                                  ("C3H8", 0.21, False)])  # fmt: skip
def test_hot_work_combustible_gas_at_its_limit_5_3(gas: str, value: float, ok: bool) -> None:
    # GB 30871-2022 5.3: methane (LEL 5 %) 0.5 % vol, propane (LEL 2.1 %) 0.2 % vol; equal is within
    (f,) = judge_gas(HOT_WORK, [GasReading(gas, value)])
    assert f.ok is ok and f.rule == "combustible"


def test_a_combustible_read_in_ppm_counts_as_volume_5_3() -> None:
    # GB 30871-2022 5.3: 5,000 ppm CO is 0.5 % vol, within; 5,001 ppm is over (CO LEL 12.5 %)
    assert judge_gas(HOT_WORK, [GasReading("CO", 5000, "ppm")])[0].ok
    assert not judge_gas(HOT_WORK, [GasReading("CO", 5001, "ppm")])[0].ok


@pytest.mark.parametrize(("o2", "ok"), [(19.5, True), (21.0, True), (19.4, False), (21.1, False), (20.9, True)])
def test_confined_space_oxygen_19_5_to_21_6_4(o2: float, ok: bool) -> None:
    # GB 30871-2022 6.4: oxygen 19.5-21 % vol in a confined space
    (f,) = judge_gas(CONFINED_SPACE, [GasReading("O2", o2)])
    assert f.ok is ok and f.rule == "oxygen"


def test_confined_space_needs_oxygen_and_toxic_within_its_limit_6_4() -> None:
    # GB 30871-2022 6.4: oxygen measured; toxic gases at most their exposure limit (GBZ 2.1)
    refused("need_oxygen", judge_gas, CONFINED_SPACE, [GasReading("CH4", 0.1)])
    fs = judge_gas(CONFINED_SPACE, [GasReading("O2", 20.8), GasReading("H2S", 8, "ppm")])
    assert [(f.rule, f.ok) for f in fs] == [("oxygen", True), ("combustible", True), ("toxic", False)]


def test_an_empty_or_bad_analysis_is_refused_5_3() -> None:
    # GB 30871-2022 5.3: no analysis, no hot work
    refused("need_gas", judge_gas, HOT_WORK, [])
    refused("bad_gas", judge_gas, HOT_WORK, [GasReading("CH4", -1)])
    refused("bad_gas", judge_gas, HOT_WORK, [GasReading("CH4", math.nan)])


def test_activation_needs_an_analysis_at_most_30_min_old_5_3() -> None:
    # GB 30871-2022 5.3: the analysis at most 30 min before the work starts
    p = ready(permit(), T0)
    assert activate(p, T0 + 30 * MIN).state == ACTIVE
    refused("gas_stale", activate, p, T0 + 30 * MIN + 1)


def test_a_failing_gas_test_is_kept_and_stops_the_permit_5_3() -> None:
    # GB 30871-2022 5.3: over the limit, no hot work; the result is recorded
    p = permit()
    for i, s in enumerate(approvers(p.kind, p.grade)):
        p = approve(p, s, f"u{i}")
    failed = gas_test(p, [GasReading("CH4", 0.8)], "tester", T0)
    assert failed.state == APPROVED and failed.gas_test is not None and not failed.gas_test.passed
    refused("not_now", confirm_isolations, failed, "op")


def test_a_kind_without_analysis_skips_it_and_refuses_one() -> None:
    # GB 30871-2022 8 (work at height) asks no gas analysis
    p = permit(kind=HEIGHT, grade="II")
    p = approve(p, "unit", "u1")
    assert p.state == GAS_TESTED
    refused("no_gas_for_kind", gas_test, p, [GasReading("CH4", 0.1)], "t", T0)
    assert activate(confirm_isolations(p, "op"), T0).state == ACTIVE


# -- approvals ------------------------------------------------------------------------------------------------


CHAINS = [("special", ("unit", "safety", "principal")), ("first", ("unit", "safety")), ("second", ("unit",))]


@pytest.mark.parametrize(("grade", "chain"), CHAINS)
def test_hot_work_approvals_by_grade_5_2(grade: str, chain: tuple[str, ...]) -> None:
    # GB 30871-2022 5.2: special grade up to the principal, first grade the safety department, second the unit
    assert approvers(HOT_WORK, grade) == chain


def test_sign_offs_in_order_by_different_people_not_the_applicant_5_2() -> None:
    # GB 30871-2022 5.2: each approval by its own person
    p = permit(grade="special")
    refused("wrong_signoff", approve, p, "safety", "s1")
    refused("same_person", approve, p, "unit", "app")
    p = approve(p, "unit", "u1")
    refused("same_person", approve, p, "safety", "u1")
    p = approve(approve(p, "safety", "s1"), "principal", "boss")
    assert p.state == APPROVED and [s for s, _ in p.approvals] == ["unit", "safety", "principal"]
    refused("not_now", approve, p, "unit", "x")


# -- lifecycle ------------------------------------------------------------------------------------------------


def test_activation_needs_isolations_confirmed_and_the_validity_4() -> None:
    # GB 30871-2022 4: isolations confirmed before the work; inside the permit's time
    p = permit()
    for i, s in enumerate(approvers(p.kind, p.grade)):
        p = approve(p, s, f"u{i}")
    p = gas_test(p, [GasReading("CH4", 0.1)], "t", T0)
    refused("not_now", activate, p, T0)
    p = confirm_isolations(p, "op")
    assert p.state == ISOLATED
    refused("outside_validity", activate, replace(p, valid_from=T0 + H), T0)


def test_resume_after_a_pause_over_60_min_needs_a_new_analysis_5_3() -> None:
    # GB 30871-2022 5.3: the work paused for more than 60 min is analysed again
    a = activate(ready(permit()), T0)
    s = suspend(a, "break", T0 + MIN)
    assert resume(s, T0 + 25 * MIN).state == ACTIVE  # short pause, analysis still fresh
    refused("reanalysis", resume, s, T0 + 62 * MIN)
    again = gas_test(s, [GasReading("CH4", 0.1)], "t", T0 + 62 * MIN)
    assert resume(again, T0 + 63 * MIN).state == ACTIVE


def test_resume_after_a_gas_suspension_needs_a_new_passing_analysis_5_3() -> None:
    # GB 30871-2022 5.3 / 6.4: over the limit during the work, the work stops until the analysis passes
    a = activate(ready(permit(kind=CONFINED_SPACE, grade=None)), T0)
    s = suspend(a, GAS_OVER, T0 + 5 * MIN)
    refused("reanalysis", resume, s, T0 + 6 * MIN)
    bad = gas_test(s, [GasReading("O2", 18.0)], "t", T0 + 7 * MIN)
    refused("gas_failed", resume, bad, T0 + 8 * MIN)
    good = gas_test(bad, [GasReading("O2", 20.5)], "t", T0 + 9 * MIN)
    assert resume(good, T0 + 10 * MIN).state == ACTIVE


def test_close_and_expiry_4() -> None:
    # GB 30871-2022 4: a permit ends closed, or expired when its time ran out
    a = activate(ready(permit()), T0)
    assert close(a, "op").state == CLOSED
    refused("not_now", close, close(a, "op"), "op")
    assert expire(a, T0 + 8 * H - 1) is None
    exp = expire(a, T0 + 8 * H)
    assert exp is not None and exp.state == EXPIRED
    assert expire(close(a, "op"), T0 + 9 * H) is None
    refused("outside_validity", resume, suspend(a, "x", T0), T0 + 8 * H)


# -- live checks ----------------------------------------------------------------------------------------------


def active() -> Permit:
    return activate(ready(permit()), T0)


def test_the_guardian_more_than_10_m_away_suspends_within_10_s_5_2() -> None:
    # GB 30871-2022 4/5.2: the guardian stays at the work; away (over 10 m) for the grace time -> suspend, alarm
    c = Checker([])
    p = active()
    crew = {"W1": (10.0, 10.0), "W2": (11.0, 10.0)}
    assert c.evaluate(T0, [p], {**crew, "G1": (19.9, 10.0)}, {}) == []  # 9.9 m: at the work
    assert c.evaluate(T0 + 1000, [p], {**crew, "G1": (25.0, 10.0)}, {}) == []  # away, grace starts
    assert c.evaluate(T0 + 5000, [p], {**crew, "G1": (25.0, 10.0)}, {}) == []
    (f,) = c.evaluate(T0 + 6000, [p], {**crew, "G1": (25.0, 10.0)}, {})
    assert f.rule == GUARDIAN_AWAY and f.suspend and f.value == 15.0 and f.limit == 10.0
    assert c.evaluate(T0 + 7000, [p], {**crew, "G1": (12.0, 10.0)}, {}) == []  # back: the clock restarts


def test_a_guardian_not_located_counts_as_away_5_2() -> None:
    # GB 30871-2022 5.2: nobody watching is as bad as a guardian walking off
    c = Checker([], grace_s=0)
    (f,) = c.evaluate(T0, [active()], {"W1": (10.0, 10.0)}, {})
    assert f.rule == GUARDIAN_AWAY and f.value is None


def test_a_badge_in_the_work_area_not_on_the_permit_is_a_violation_4() -> None:
    # GB 30871-2022 4: only the permit's workers (and its guardian) in the work area
    c = Checker([])
    found = c.evaluate(T0, [active()], {"W1": (1.0, 1.0), "G1": (10.0, 12.0), "X9": (5.0, 5.0), "Y1": (30, 30)}, {})
    assert [(f.rule, f.badge, f.suspend) for f in found] == [(AREA_INTRUSION, "X9", False)]


def test_gas_near_an_active_hot_work_over_its_limit_suspends_5_3() -> None:
    # GB 30871-2022 5.3: gas checked during the work; for CO the lower limit is its exposure limit (GBZ 2.1,
    # 25.7 ppm), well under its combustible limit (0.5 % vol, 5,000 ppm)
    near = Detector("GD-CO", "CO", "ppm", 15.0, 10.0)
    far = Detector("GD-FAR", "CO", "ppm", 200.0, 200.0)
    c = Checker([near, far])
    p = active()
    assert c.near(p) == [near]
    pos = {"G1": (10.0, 10.0)}
    assert c.evaluate(T0, [p], pos, {"GD-CO": 20.0, "GD-FAR": 9999.0}) == []
    (f,) = c.evaluate(T0, [p], pos, {"GD-CO": 26.0})
    assert f.rule == GAS_OVER and f.tag == "GD-CO" and f.suspend


def test_gas_in_a_confined_space_against_its_toxic_limit_6_4() -> None:
    # GB 30871-2022 6.4: toxic gas at most its exposure limit (SO2 3.75 ppm from GBZ 2.1 PC-STEL 10 mg/m3)
    c = Checker([Detector("GD-SO2", "SO2", "ppm", 5.0, 5.0)])
    p = activate(ready(permit(kind=CONFINED_SPACE, grade=None)), T0)
    pos = {"G1": (10.0, 10.0)}
    assert c.evaluate(T0, [p], pos, {"GD-SO2": 3.75}) == []
    (f,) = c.evaluate(T0, [p], pos, {"GD-SO2": 3.8})
    assert f.rule == GAS_OVER and f.limit == 3.75


def test_only_active_permits_are_checked_and_work_at_height_has_no_gas_rule() -> None:
    # GB 30871-2022 8: no gas rule for work at height; a suspended permit waits for its resumption
    c = Checker([Detector("GD", "CO", "ppm", 10.0, 10.0)], grace_s=0)
    h = activate(confirm_isolations(approve(permit(kind=HEIGHT, grade="I"), "unit", "u"), "op"), T0)
    assert c.evaluate(T0, [h], {"G1": (10.0, 10.0)}, {"GD": 99999.0}) == []
    assert c.evaluate(T0, [suspend(active(), "x", T0)], {}, {"GD": 99999.0}) == []


def test_suspended_state_constant() -> None:
    assert suspend(active(), GUARDIAN_AWAY, T0).state == SUSPENDED
