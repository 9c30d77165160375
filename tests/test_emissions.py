"""Stack emissions (CEMS): hourly validity, flags, exceedances, daily averages and mass against worked
examples written out by hand below; the demo plant's limits; bad emission settings named in the error."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.emissions import (
    BAD_DEVICE_FAILURE,
    BAD_OUT_OF_SERVICE,
    HOUR_MS,
    MG_PER_L_TO_KG,
    MINUTE_MS,
    Flag,
    Minute,
    closed_hours,
    daily,
    exceedances,
    hour_average,
    hourly,
    minute_flag,
    monthly_mass,
    quality_flag,
)
from plant.loader import PlantFileError, default_plant_path, load_plant, parse_plant

SHANGHAI = ZoneInfo("Asia/Shanghai")
H0 = int(datetime(2026, 12, 7, 2, 0, tzinfo=UTC).timestamp() * 1000)  # 10:00 plant time


def minutes(*runs: tuple[int, float | None, Flag], start: int = H0) -> list[Minute]:
    """Consecutive minutes from ``start``: runs of (count, value, flag)."""
    out: list[Minute] = []
    for count, value, flag in runs:
        for _ in range(count):
            out.append(Minute(start + len(out) * MINUTE_MS, value, flag))
    return out


N, M, D, C = Flag.NORMAL, Flag.MAINTENANCE, Flag.FAULT, Flag.CALIBRATION


def test_45_normal_minutes_make_a_valid_hour_averaged_over_them() -> None:
    # 30 min at 100 and 15 min at 130 mg/m3, then 15 min without data:
    # (30 x 100 + 15 x 130) / 45 = (3000 + 1950) / 45 = 110 mg/m3, 45 normal minutes -> valid.
    h = hour_average(H0, minutes((30, 100.0, N), (15, 130.0, N)), limit=400)
    assert h.value == pytest.approx(110.0)
    assert (h.normal, h.missing, h.valid, h.exceedance) == (45, 15, True, False)
    assert h.flags == "-"  # the missing quarter is kept with the value


def test_44_normal_minutes_make_an_invalid_hour_that_is_never_an_exceedance() -> None:
    # 44 min at 500 mg/m3 (over the 400 limit), 16 without data: 44 < 45 -> invalid, not an exceedance.
    h = hour_average(H0, minutes((44, 500.0, N)), limit=400)
    assert (h.value, h.normal, h.missing, h.valid, h.exceedance) == (500.0, 44, 16, False, False)
    # One minute more, 45 at 500: valid and 500 > 400 -> an exceedance.
    h45 = hour_average(H0, minutes((45, 500.0, N)), limit=400)
    assert (h45.valid, h45.exceedance) == (True, True)
    assert exceedances([h, h45]) == [h45]


def test_an_hour_over_its_limit_and_one_at_it() -> None:
    # 60 min: 20 at 380, 40 at 440 -> (7600 + 17600) / 60 = 420 > 400: exceedance.
    over = hour_average(H0, minutes((20, 380.0, N), (40, 440.0, N)), limit=400)
    assert over.value == pytest.approx(420.0)
    assert (over.valid, over.flags, over.exceedance) == (True, "N", True)
    # 60 min at exactly 400: equal to the limit is compliant.
    at = hour_average(H0, minutes((60, 400.0, N)), limit=400)
    assert (at.valid, at.exceedance) == (True, False)


def test_a_maintenance_hour_is_flagged_and_never_an_exceedance() -> None:
    # 50 normal min at 450 (over 400) and 10 min of analyser maintenance: valid (50 >= 45), value 450 kept,
    # flagged M, and not an exceedance.
    h = hour_average(H0, minutes((10, None, M), (50, 450.0, N)), limit=400)
    assert (h.value, h.normal, h.maintenance, h.valid, h.flags) == (450.0, 50, 10, True, "M")
    assert h.maintenance_hour and not h.exceedance
    # 20 min of maintenance and 40 normal: invalid as well.
    long = hour_average(H0, minutes((20, None, M), (40, 450.0, N)), limit=400)
    assert (long.valid, long.flags, long.exceedance) == (False, "M", False)
    # Calibration counts like maintenance.
    cal = hour_average(H0, minutes((5, None, C), (55, 450.0, N)), limit=400)
    assert (cal.valid, cal.flags, cal.exceedance) == (True, "C", False)


def test_a_fault_flags_the_hour_but_does_not_excuse_an_exceedance() -> None:
    # 48 normal min at 450, 12 fault minutes: valid (48 >= 45), flagged D, and over the limit -> exceedance.
    h = hour_average(H0, minutes((48, 450.0, N), (12, None, D)), limit=400)
    assert (h.fault, h.valid, h.flags, h.exceedance) == (12, True, "D", True)
    # 10 fault + 5 maintenance + 45 normal: flags in M, C, D, - order.
    both = hour_average(H0, minutes((5, None, M), (10, None, D), (45, 450.0, N)), limit=400)
    assert (both.valid, both.flags, both.exceedance) == (True, "MD", False)


def test_non_finite_values_count_as_missing_and_minutes_outside_the_hour_are_ignored() -> None:
    ms = minutes((44, 100.0, N), (1, float("nan"), N), (1, float("inf"), N))
    ms.append(Minute(H0 + HOUR_MS, 999.0, N))  # the next hour's first minute
    h = hour_average(H0, ms, limit=400)
    assert (h.value, h.normal, h.missing, h.valid) == (100.0, 44, 16, False)


def test_hourly_mass_daily_average_and_monthly_mass() -> None:
    # Hourly mass = concentration x flow: 110 mg/m3 x 250,000 Nm3/h x 1 h = 27,500,000 mg = 27.5 kg.
    conc = minutes((30, 100.0, N), (15, 130.0, N))
    flow = minutes((60, 250_000.0, N))
    [h] = hourly(conc, limit=400, flow_minutes=flow)
    assert h.flow == pytest.approx(250_000.0)
    assert h.mass_kg == pytest.approx(27.5)
    # An invalid hour has no mass.
    [bad] = hourly(minutes((44, 100.0, N)), limit=400, flow_minutes=flow)
    assert bad.mass_kg is None

    # The plant day of 7 Dec 2026 in Shanghai runs from 6 Dec 16:00 UTC. 20 valid hours at 100 mg/m3 with
    # 200,000 Nm3/h (20 kg each) and 4 hours of 30 normal minutes (invalid): daily average 100, valid day
    # (20 valid hours), mass 20 x 20 kg = 400 kg, 4 hours without mass.
    day0 = int(datetime(2026, 12, 6, 16, 0, tzinfo=UTC).timestamp() * 1000)
    conc, flow = [], []
    for k in range(24):
        start = day0 + k * HOUR_MS
        conc += minutes((60 if k < 20 else 30, 100.0, N), start=start)
        flow += minutes((60, 200_000.0, N), start=start)
    hours = hourly(conc, limit=400, flow_minutes=flow)
    [d] = daily(hours, SHANGHAI)
    assert d.day == date(2026, 12, 7)
    assert (d.value, d.valid_hours, d.valid, d.exceedances, d.hours_without_mass) == (100.0, 20, True, 0, 4)
    assert d.mass_kg == pytest.approx(400.0)
    # With one valid hour fewer (19 < 20) the day is not valid; its average of the valid hours stays.
    [d19] = daily(hours[1:], SHANGHAI)
    assert (d19.valid_hours, d19.valid, d19.value) == (19, False, 100.0)

    # The hour before day0 belongs to 6 Dec; 30 Nov 23:00 plant time to November. Month sums:
    nov = int(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp() * 1000)
    extra = hourly(
        minutes((60, 50.0, N), start=nov) + minutes((60, 50.0, N), start=day0 - HOUR_MS),
        limit=400,
        flow_minutes=minutes((60, 100_000.0, N), start=nov) + minutes((60, 100_000.0, N), start=day0 - HOUR_MS),
    )
    days = daily(hours + extra, SHANGHAI)
    assert [x.day for x in days] == [date(2026, 11, 30), date(2026, 12, 6), date(2026, 12, 7)]
    # 50 mg/m3 x 100,000 Nm3/h = 5 kg per hour.
    assert monthly_mass(days) == pytest.approx({(2026, 11): 5.0, (2026, 12): 405.0})


def test_hours_asked_for_without_data_are_all_missing() -> None:
    [h] = hourly([], limit=400, hours=[H0])
    assert (h.value, h.missing, h.valid, h.flags) == (None, 60, False, "-")
    # The hours closed since the end of the last judged one.
    assert closed_hours(H0, H0 + 2 * HOUR_MS + 90_000) == [H0, H0 + HOUR_MS]
    assert closed_hours(H0 + HOUR_MS, H0 + HOUR_MS + 59 * MINUTE_MS) == []


def test_quality_codes_set_minute_flags() -> None:
    assert quality_flag(BAD_OUT_OF_SERVICE) == M
    assert quality_flag(BAD_DEVICE_FAILURE) == D
    assert quality_flag(0) is None
    assert minute_flag(True) == N
    assert minute_flag(False) == Flag.MISSING
    assert minute_flag(True, [D, M]) == M  # maintenance wins: the fault is then the servicing itself
    assert minute_flag(True, [D]) == D


def test_demo_plant_carries_the_limits_marked_for_review() -> None:
    plant = load_plant(default_plant_path())
    em = plant.emissions
    assert "GB 25467" in em.standard and em.review and "checked" in em.review
    assert (em.valid_minutes, em.valid_hours_per_day) == (45, 20)
    limits = {p.tag: p.limit for st in em.stacks for p in st.pollutants}
    assert limits["STK-MAIN.SO2"] == 400 and limits["STK-TG.H2SO4_MIST"] == 40
    # the wastewater outfall: GB 25467-2010 Table 2, direct discharge
    assert (limits["WT-CL2.COD"], limits["WT-CL2.NH3N"], limits["WT-CL2.CU"], limits["WT-CL2.AS"]) == (60, 8, 0.5, 0.5)
    tags = {t.id: t for t in plant.tags}
    for st in em.stacks:
        water = st.medium == "wastewater"
        assert tags[st.flow_tag].unit == ("m3/h" if water else "Nm3/h")
        assert all(tags[p.tag].unit == ("mg/L" if water else "mg/m3") for p in st.pollutants)
    assert [st.medium for st in em.stacks].count("wastewater") == 1


def test_wastewater_mass_is_mg_per_litre_times_cubic_metres() -> None:
    """An outfall's hour: 40 mg/L at 500 m3/h for a valid hour is 20 kg (1 mg/L = 1 g/m3); the same figures as a
    flue gas (mg/m3, Nm3/h) are 20 g."""
    conc = minutes((60, 40.0, Flag.NORMAL))
    flow = minutes((60, 500.0, Flag.NORMAL))
    (water,) = hourly(conc, 60.0, flow, mass_factor=MG_PER_L_TO_KG)
    (gas,) = hourly(conc, 60.0, flow)
    assert water.valid and water.mass_kg == pytest.approx(20.0) and gas.mass_kg == pytest.approx(0.02)


def test_bad_emission_settings_are_named(tmp_path: Path) -> None:
    text = default_plant_path().read_text(encoding="utf-8")
    bad = text.replace("flow_tag: STK-TG.GAS_FLOW", "flow_tag: STK-TG.NOPE").replace(
        "- tag: STK-MAIN.PM\n      limit: 80", "- tag: STK-MAIN.GAS_TEMP\n      limit: .nan"
    )
    assert bad.count("NOPE") == 1 and "STK-MAIN.GAS_TEMP\n      limit: .nan" in bad
    with pytest.raises(PlantFileError) as err:
        parse_plant(bad, tmp_path / "plant.yaml")
    msg = str(err.value)
    assert "limit" in msg and "finite" in msg
    bad2 = text.replace("flow_tag: STK-TG.GAS_FLOW", "flow_tag: STK-TG.NOPE").replace(
        "- tag: STK-MAIN.PM\n      limit: 80", "- tag: STK-MAIN.GAS_TEMP\n      limit: 80"
    )
    with pytest.raises(PlantFileError) as err2:
        parse_plant(bad2, tmp_path / "plant.yaml")
    msg2 = str(err2.value)
    assert "emissions.stacks[1].flow_tag: unknown tag 'STK-TG.NOPE'" in msg2
    assert "STK-MAIN.GAS_TEMP' is a process tag, not an emission tag" in msg2
