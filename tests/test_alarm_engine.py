"""Alarm engine (pure): definitions, every state transition, deadband, delays, shelving, suppression,
out of service, bad quality, rate of change and event alarms."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from engine.alarms import (
    ACK,
    ACTIVE,
    COMMENT,
    IN_SERVICE,
    MAX_SHELVE_S,
    OUT_OF_SERVICE,
    RETURN,
    SHELVE,
    SHELVE_EXPIRED,
    SUPPRESS,
    UNSHELVE,
    UNSUPPRESS,
    AlarmEngine,
    Transition,
    default_deadband,
)
from engine.types import BAD, BAD_NO_COMMUNICATION, GOOD, UNCERTAIN
from plant.schema import EquipmentState, Plant

MINI = Path(__file__).parent / "fixtures" / "mini_plant.yaml"
T0 = 1_767_225_600_000
S = 1000

ALARM_SETTINGS: dict[str, dict[str, Any]] = {
    "FF-1.TEMP": {"deadband": 5},
    "TK-1.LEVEL": {"deadband": 1, "on_delay_s": 10, "off_delay_s": 20},
    "GD-AP-1.SO2": {"roc_per_min": 2, "roc_window_s": 60, "deadband": 1},
    "BL-1.CURRENT": {"priority": {"hh": "urgent"}, "deadband": 2},
    "AP-1.SO2_IN": {"enabled": False},
}


def plant_data() -> dict[str, Any]:
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for tag in data["tags"]:
        if tag["id"] in ALARM_SETTINGS:
            tag["alarm"] = ALARM_SETTINGS[tag["id"]]
    return data


@pytest.fixture(scope="module")
def plant() -> Plant:
    return Plant.model_validate(plant_data())


@pytest.fixture
def eng(plant: Plant) -> AlarmEngine:
    return AlarmEngine(plant)


def drain(eng: AlarmEngine) -> list[Transition]:
    return eng.drain().transitions


def kinds(trs: list[Transition], alarm_id: str | None = None) -> list[str]:
    return [t.kind for t in trs if alarm_id is None or t.alarm_id == alarm_id]


# ------------------------------------------------------------------------------------------ definitions


def test_definitions_from_the_plant(eng: AlarmEngine) -> None:
    defs = {d.id: d for d in eng.definitions}
    assert {"FF-1.TEMP:L", "FF-1.TEMP:H", "FF-1.TEMP:HH", "FF-1.TEMP:BAD"} <= set(defs)
    assert "FF-1.TEMP:LL" not in defs and "FF-1.TEMP:ROC" not in defs
    assert {"TK-1.LEVEL:LL", "TK-1.LEVEL:L", "TK-1.LEVEL:H", "TK-1.LEVEL:HH"} <= set(defs)
    assert "GD-AP-1.SO2:ROC" in defs and defs["GD-AP-1.SO2:ROC"].limit == 2
    assert not any(i.startswith("AP-1.SO2_IN:") for i in defs)  # alarms disabled in the plant file
    assert not any(i.startswith(("FF-1.OFFGAS_SO2:", "FF-1.STATE:", "RTLS.", "FF-1.ELEC")) for i in defs)
    # gas detector HH urgent, H high; process HH medium, H/L low; quality low; override applied
    assert defs["GD-AP-1.SO2:HH"].priority == "urgent"
    assert defs["GD-AP-1.SO2:H"].priority == "high"
    assert defs["FF-1.TEMP:HH"].priority == "medium"
    assert defs["FF-1.TEMP:H"].priority == "low"
    assert defs["FF-1.TEMP:L"].priority == "low"
    assert defs["TK-1.LEVEL:LL"].priority == "medium"
    assert defs["STK-1.SO2:HH"].priority == "high" and defs["STK-1.SO2:H"].priority == "medium"
    assert defs["FF-1.TEMP:BAD"].priority == "low" and defs["FF-1.TEMP:BAD"].source_type == "quality"
    assert defs["BL-1.CURRENT:HH"].priority == "urgent"
    # zone and area: from the tag, else from its equipment
    assert (defs["FF-1.TEMP:H"].zone, defs["FF-1.TEMP:H"].area) == ("smelter-hall", "smelting")
    assert (defs["CV-1.BATH_TEMP:H"].zone, defs["CV-1.BATH_TEMP:H"].area) == ("converter-aisle", "smelting")
    assert defs["CV-1.BATH_TEMP:H"].equipment == "CV-1"
    assert defs["TK-1.LEVEL:H"].area == "acid"
    assert defs["FF-1.TEMP:H"].deadband == 5
    assert defs["TK-1.LEVEL:H"].on_delay_ms == 10_000 and defs["TK-1.LEVEL:H"].off_delay_ms == 20_000


def test_default_deadband(plant: Plant) -> None:
    tags = {t.id: t for t in plant.tags}
    # temperature: 1 % of the range 0-1600, capped at half the way from limit to nominal
    assert default_deadband(tags["CV-1.BATH_TEMP"], 1290) == pytest.approx(14.5)
    assert default_deadband(tags["CV-1.BATH_TEMP"], 1320) == pytest.approx(14.5)
    assert default_deadband(tags["FF-1.MATTE_TEMP"], 1260) == pytest.approx(15.0)
    assert default_deadband(tags["FF-1.MATTE_TEMP"], 1210) == pytest.approx(5.0)  # half of 1210 - 1200
    assert default_deadband(tags["CV-1.AIR_FLOW"], 50000) == pytest.approx(2750)  # flow: 5 % of 55,000
    assert default_deadband(tags["GD-AP-1.SO2"], 5) == pytest.approx(1.0)  # other: 2 % of 50


def test_plant_file_alarm_settings_are_checked() -> None:
    data = plant_data()
    tag = next(t for t in data["tags"] if t["id"] == "FF-1.TEMP")
    tag["alarm"] = {"priority": {"ll": "high"}}  # FF-1.TEMP has no LL limit
    with pytest.raises(ValidationError, match="no ll limit"):
        Plant.model_validate(data)
    tag["alarm"] = {"priority": {"roc": "high"}}
    with pytest.raises(ValidationError, match="roc_per_min"):
        Plant.model_validate(data)
    tag["alarm"] = {"priority": {"h": "critical"}}
    with pytest.raises(ValidationError):
        Plant.model_validate(data)
    tag["alarm"] = {"deadbnad": 3}  # a typo fails loudly
    with pytest.raises(ValidationError, match="deadbnad"):
        Plant.model_validate(data)
    tag["alarm"] = {"on_delay_s": -1}
    with pytest.raises(ValidationError):
        Plant.model_validate(data)


# ------------------------------------------------------------------------------------ limit transitions


def test_active_ack_return_and_returned_unacked(eng: AlarmEngine) -> None:
    a = "FF-1.TEMP:H"
    eng.process("FF-1.TEMP", T0, 1250.0, GOOD)
    assert drain(eng) == []
    eng.process("FF-1.TEMP", T0 + S, 1305.0, GOOD)
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.active, t.acked, t.ts, t.value) for t in trs] == [
        (a, ACTIVE, True, False, T0 + S, 1305.0)
    ]
    assert trs[0].data == {"limit": 1300}
    view = eng.get(a)
    assert view is not None and view.active and not view.acked and view.activated_at == T0 + S
    # active unacked -> active acked
    assert eng.command(ACK, a, T0 + 2 * S, "li.na", comment="checking burner") == "ok"
    trs = drain(eng)
    assert [(t.kind, t.active, t.acked, t.user, t.comment) for t in trs] == [
        (ACK, True, True, "li.na", "checking burner")
    ]
    assert eng.command(ACK, a, T0 + 3 * S, "li.na") == "rejected: already acknowledged"
    # active acked -> normal
    eng.process("FF-1.TEMP", T0 + 4 * S, 1290.0, GOOD)
    assert [(t.kind, t.active, t.acked) for t in drain(eng)] == [(RETURN, False, True)]
    # normal -> active unacked -> returned unacked (stays listed) -> normal by ack
    eng.process("FF-1.TEMP", T0 + 5 * S, 1310.0, GOOD)
    eng.process("FF-1.TEMP", T0 + 6 * S, 1250.0, GOOD)
    assert [(t.kind, t.active, t.acked) for t in drain(eng)] == [(ACTIVE, True, False), (RETURN, False, False)]
    view = eng.get(a)
    assert view is not None and not view.active and not view.acked
    assert eng.command(ACK, a, T0 + 7 * S, "wang") == "ok"
    assert [(t.kind, t.active, t.acked) for t in drain(eng)] == [(ACK, False, True)]
    view = eng.get(a)
    assert view is not None and view.acked_by == "wang" and view.acked_at == T0 + 7 * S
    # a new activation after an acknowledgement needs a new acknowledgement
    eng.process("FF-1.TEMP", T0 + 8 * S, 1320.0, GOOD)
    assert [(t.kind, t.acked) for t in drain(eng)] == [(ACTIVE, False)]


def test_h_and_hh_are_separate_alarms(eng: AlarmEngine) -> None:
    eng.process("FF-1.TEMP", T0, 1350.0, GOOD)
    trs = drain(eng)
    assert sorted((t.alarm_id, t.kind) for t in trs) == [("FF-1.TEMP:H", ACTIVE), ("FF-1.TEMP:HH", ACTIVE)]
    eng.process("FF-1.TEMP", T0 + S, 1320.0, GOOD)  # below HH - deadband 5, above H
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("FF-1.TEMP:HH", RETURN)]
    eng.process("FF-1.TEMP", T0 + 2 * S, 1100.0, GOOD)  # straight to below L
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("FF-1.TEMP:H", RETURN), ("FF-1.TEMP:L", ACTIVE)]


def test_deadband(eng: AlarmEngine) -> None:
    a = "FF-1.TEMP:H"  # H 1300, deadband 5: returns at 1295 or below
    eng.process("FF-1.TEMP", T0, 1300.0, GOOD)  # at the limit: not above it
    assert drain(eng) == []
    eng.process("FF-1.TEMP", T0 + S, 1300.5, GOOD)
    assert kinds(drain(eng)) == [ACTIVE]
    for i, v in enumerate((1299.0, 1296.0, 1301.0, 1295.5), start=2):  # inside the deadband: stays active
        eng.process("FF-1.TEMP", T0 + i * S, v, GOOD)
    assert drain(eng) == []
    eng.process("FF-1.TEMP", T0 + 10 * S, 1295.0, GOOD)
    assert [(t.alarm_id, t.kind, t.ts) for t in drain(eng)] == [(a, RETURN, T0 + 10 * S)]
    # a low alarm's deadband is above its limit (L 1180: returns at 1185 or above)
    eng.process("FF-1.TEMP", T0 + 11 * S, 1179.0, GOOD)
    eng.process("FF-1.TEMP", T0 + 12 * S, 1184.0, GOOD)
    eng.process("FF-1.TEMP", T0 + 13 * S, 1185.0, GOOD)
    assert [(t.kind, t.ts) for t in drain(eng)] == [(ACTIVE, T0 + 11 * S), (RETURN, T0 + 13 * S)]


def test_on_delay(eng: AlarmEngine) -> None:
    a = "TK-1.LEVEL:H"  # H 90, on delay 10 s, off delay 20 s, deadband 1
    eng.process("TK-1.LEVEL", T0, 91.0, GOOD)
    eng.process("TK-1.LEVEL", T0 + 5 * S, 92.0, GOOD)
    eng.tick(T0 + 9 * S)
    eng.process("TK-1.LEVEL", T0 + 9 * S, 88.0, GOOD)  # back below H - deadband before 10 s: nothing
    eng.tick(T0 + 60 * S)
    assert drain(eng) == []
    # held for 10 s: activates at the end of the delay, noticed by a later sample
    eng.process("TK-1.LEVEL", T0 + 100 * S, 91.0, GOOD)
    eng.process("TK-1.LEVEL", T0 + 125 * S, 91.5, GOOD)
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.ts, t.value) for t in trs] == [(a, ACTIVE, T0 + 110 * S, 91.0)]
    # a value inside the deadband during the on delay does not restart it; the tick notices the end
    eng.process("TK-1.LEVEL", T0 + 300 * S, 80.0, GOOD)
    eng.tick(T0 + 400 * S)
    assert kinds(drain(eng), a) == [RETURN]
    eng.process("TK-1.LEVEL", T0 + 500 * S, 90.5, GOOD)
    eng.process("TK-1.LEVEL", T0 + 505 * S, 89.5, GOOD)  # 89.5 > 90 - 1: still in the condition
    eng.tick(T0 + 509 * S)
    assert drain(eng) == []
    eng.tick(T0 + 511 * S)
    assert [(t.kind, t.ts) for t in drain(eng)] == [(ACTIVE, T0 + 510 * S)]


def test_off_delay(eng: AlarmEngine) -> None:
    a = "TK-1.LEVEL:H"
    eng.process("TK-1.LEVEL", T0, 95.0 - 2, GOOD)
    eng.tick(T0 + 10 * S)
    assert kinds(drain(eng), a) == [ACTIVE]
    eng.process("TK-1.LEVEL", T0 + 20 * S, 85.0, GOOD)
    eng.tick(T0 + 39 * S)
    eng.process("TK-1.LEVEL", T0 + 39 * S, 92.0, GOOD)  # back in before the 20 s off delay: no return
    eng.tick(T0 + 100 * S)
    assert drain(eng) == []
    eng.process("TK-1.LEVEL", T0 + 200 * S, 80.0, GOOD)
    eng.tick(T0 + 219 * S)
    assert drain(eng) == []
    eng.tick(T0 + 221 * S)
    assert [(t.alarm_id, t.kind, t.ts) for t in drain(eng)] == [(a, RETURN, T0 + 220 * S)]


# ----------------------------------------------------------------------------------------- bad quality


@pytest.mark.parametrize(
    ("value", "quality"),
    [
        (1350.0, BAD_NO_COMMUNICATION),
        (1350.0, BAD),
        (1350.0, UNCERTAIN),
        (None, GOOD),
        (math.nan, GOOD),
        (math.inf, GOOD),
        (-math.inf, GOOD),
        ("1350", GOOD),
    ],
)
def test_bad_quality_never_raises_or_clears_a_process_alarm(eng: AlarmEngine, value: Any, quality: int) -> None:
    eng.process("FF-1.TEMP", T0, value, quality)  # would be HH if it counted
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.active, t.acked, t.value) for t in trs] == [
        ("FF-1.TEMP:BAD", ACTIVE, True, False, None)
    ]
    assert trs[0].data is not None and "quality" in trs[0].data
    eng.process("FF-1.TEMP", T0 + S, value, quality)  # still bad: nothing new
    assert drain(eng) == []
    eng.process("FF-1.TEMP", T0 + 2 * S, 1310.0, GOOD)  # good again: BAD returns, H evaluated
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("FF-1.TEMP:BAD", RETURN), ("FF-1.TEMP:H", ACTIVE)]
    eng.process("FF-1.TEMP", T0 + 3 * S, value, quality)  # bad while H is active: H stays active
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("FF-1.TEMP:BAD", ACTIVE)]
    view = eng.get("FF-1.TEMP:H")
    assert view is not None and view.active
    eng.process("FF-1.TEMP", T0 + 4 * S, 1310.0, GOOD)
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("FF-1.TEMP:BAD", RETURN)]


def test_bad_quality_cancels_a_running_delay(eng: AlarmEngine) -> None:
    eng.process("TK-1.LEVEL", T0, 93.0, GOOD)  # H on delay starts
    eng.process("TK-1.LEVEL", T0 + 5 * S, None, BAD_NO_COMMUNICATION)
    eng.tick(T0 + 30 * S)
    assert kinds(drain(eng)) == [ACTIVE]  # only TK-1.LEVEL:BAD
    eng.process("TK-1.LEVEL", T0 + 31 * S, 93.0, GOOD)  # the delay starts again from here
    eng.tick(T0 + 40 * S)
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("TK-1.LEVEL:BAD", RETURN)]
    eng.tick(T0 + 41 * S)
    assert [(t.alarm_id, t.kind, t.ts) for t in drain(eng)] == [("TK-1.LEVEL:H", ACTIVE, T0 + 41 * S)]


def test_late_and_repeated_samples_are_skipped(eng: AlarmEngine) -> None:
    eng.process("FF-1.TEMP", T0 + 10 * S, 1250.0, GOOD)
    eng.process("FF-1.TEMP", T0 + 5 * S, 1400.0, GOOD)  # older than what the tag has seen
    eng.process("FF-1.TEMP", T0 + 10 * S, 1400.0, GOOD)  # the same timestamp again
    assert drain(eng) == []
    assert eng.skipped_late == 2
    assert eng.values == 1


# --------------------------------------------------------------------------------------------- shelving


def test_shelve_expires_by_itself_and_reannunciates(eng: AlarmEngine) -> None:
    a = "FF-1.TEMP:H"
    eng.process("FF-1.TEMP", T0, 1310.0, GOOD)
    drain(eng)
    assert eng.command(SHELVE, a, T0 + S, "li.na", comment="sensor drifting", duration_s=600) == "ok"
    trs = drain(eng)
    assert [(t.kind, t.active, t.acked, t.user, t.comment) for t in trs] == [
        (SHELVE, True, True, "li.na", "sensor drifting")
    ]
    assert trs[0].data == {"until": T0 + S + 600_000, "duration_s": 600}
    view = eng.get(a)
    assert view is not None and view.shelved_until == T0 + 601 * S and view.shelved_by == "li.na"
    assert view.shelve_reason == "sensor drifting"
    # while shelved the condition is still followed but not annunciated
    eng.process("FF-1.TEMP", T0 + 10 * S, 1250.0, GOOD)
    eng.process("FF-1.TEMP", T0 + 20 * S, 1310.0, GOOD)
    trs = drain(eng)
    assert [(t.kind, t.active, t.acked) for t in trs] == [(RETURN, False, True), (ACTIVE, True, True)]
    assert trs[1].data is not None and trs[1].data["annunciated"] is False
    eng.tick(T0 + 600 * S)
    assert drain(eng) == []
    eng.tick(T0 + 700 * S)  # expired at T0 + 601 s while still active: annunciated again
    trs = drain(eng)
    assert [(t.kind, t.ts, t.active, t.acked) for t in trs] == [
        (SHELVE_EXPIRED, T0 + 601 * S, True, True),
        (ACTIVE, T0 + 601 * S, True, False),
    ]
    assert trs[1].data == {"reannunciated": True}
    view = eng.get(a)
    assert view is not None and view.shelved_until is None and view.activated_at == T0 + 20 * S


def test_shelve_rules_and_unshelve(eng: AlarmEngine) -> None:
    a = "FF-1.TEMP:HH"
    assert eng.command(SHELVE, a, T0, "u", comment="r", duration_s=MAX_SHELVE_S + 1).startswith(
        "rejected: shelving for"
    )
    assert eng.command(SHELVE, a, T0, "u", comment="r", duration_s=0) == "rejected: shelving needs a duration"
    assert eng.command(SHELVE, a, T0, "u", comment="r") == "rejected: shelving needs a duration"
    assert eng.command(SHELVE, a, T0, "u", comment="  ", duration_s=60) == "rejected: shelving needs a reason"
    assert eng.command(SHELVE, "nope:H", T0, "u", comment="r", duration_s=60) == "rejected: unknown alarm"
    assert eng.command(UNSHELVE, a, T0, "u") == "rejected: not shelved"
    assert drain(eng) == []
    # shelving a normal alarm is allowed (a known nuisance); unshelving when it is normal annunciates nothing
    assert eng.command(SHELVE, a, T0, "u", comment="r", duration_s=MAX_SHELVE_S) == "ok"
    assert eng.command(UNSHELVE, a, T0 + S, "v", comment="fixed") == "ok"
    assert [(t.kind, t.user, t.comment, t.active, t.acked) for t in drain(eng)] == [
        (SHELVE, "u", "r", False, True),
        (UNSHELVE, "v", "fixed", False, True),
    ]
    # an unacknowledged alarm that is shelved no longer waits for an acknowledgement
    eng.process("FF-1.TEMP", T0 + 2 * S, 1350.0, GOOD)
    drain(eng)
    assert eng.command(SHELVE, a, T0 + 3 * S, "u", comment="r", duration_s=60) == "ok"
    assert eng.command(ACK, a, T0 + 4 * S, "u") == "rejected: already acknowledged"
    assert eng.command(UNSHELVE, a, T0 + 5 * S, "u") == "ok"
    assert [(t.kind, t.active, t.acked) for t in drain(eng)] == [
        (SHELVE, True, True),
        (UNSHELVE, True, True),
        (ACTIVE, True, False),
    ]


def test_engine_maximum_is_configurable(plant: Plant) -> None:
    eng = AlarmEngine(plant, max_shelve_s=60)
    assert eng.command(SHELVE, "FF-1.TEMP:H", T0, "u", comment="r", duration_s=61) == (
        "rejected: shelving for 61 s is over the maximum of 60 s"
    )
    assert eng.command(SHELVE, "FF-1.TEMP:H", T0, "u", comment="r", duration_s=60) == "ok"


# ------------------------------------------------------------------------------------------ suppression


def test_maintenance_suppresses_all_equipment_alarms(eng: AlarmEngine) -> None:
    eng.process("BL-1.CURRENT", T0, 400.0, GOOD)  # H 380 active
    eng.process("BL-1.STATE", T0, float(EquipmentState.RUN.code), GOOD)
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("BL-1.CURRENT:H", ACTIVE)]
    eng.process("BL-1.STATE", T0 + S, float(EquipmentState.MAINTENANCE.code), GOOD)
    trs = drain(eng)
    assert sorted((t.alarm_id, t.kind, t.acked) for t in trs) == [
        ("BL-1.CURRENT:BAD", SUPPRESS, True),
        ("BL-1.CURRENT:H", SUPPRESS, True),
        ("BL-1.CURRENT:HH", SUPPRESS, True),
    ]
    assert all(t.data == {"state": "maintenance"} for t in trs)
    # other equipment is not touched
    assert eng.get("CV-1.BATH_TEMP:H") is not None and not eng.get("CV-1.BATH_TEMP:H").suppressed  # type: ignore[union-attr]
    # alarms in maintenance are followed but not annunciated, bad quality included
    eng.process("BL-1.CURRENT", T0 + 2 * S, 430.0, GOOD)
    eng.process("BL-1.CURRENT", T0 + 3 * S, None, BAD_NO_COMMUNICATION)
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.acked) for t in trs] == [
        ("BL-1.CURRENT:HH", ACTIVE, True),
        ("BL-1.CURRENT:BAD", ACTIVE, True),
    ]
    eng.process("BL-1.CURRENT", T0 + 4 * S, 300.0, GOOD)
    drain(eng)
    eng.process("BL-1.CURRENT", T0 + 5 * S, 390.0, GOOD)
    drain(eng)
    # back to run: unsuppressed; H still active is annunciated again
    eng.process("BL-1.STATE", T0 + 6 * S, float(EquipmentState.RUN.code), GOOD)
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.active, t.acked) for t in trs if t.alarm_id == "BL-1.CURRENT:H"] == [
        ("BL-1.CURRENT:H", UNSUPPRESS, True, True),
        ("BL-1.CURRENT:H", ACTIVE, True, False),
    ]
    assert kinds(trs, "BL-1.CURRENT:HH") == [UNSUPPRESS]
    assert kinds(trs, "BL-1.CURRENT:BAD") == [UNSUPPRESS]


def test_idle_and_stopped_suppress_only_low_alarms(plant: Plant) -> None:
    data = plant_data()
    data["equipment"].append(
        {
            "id": "P-1",
            "name": "Pump",
            "kind": "pump",
            "zone": "acid-plant",
            "process": "acid",
            "position": [300, 180, 0],
            "size": [2, 1, 1],
        }
    )
    for n, meas, limits in (("P-1.STATE", None, None), ("P-1.FLOW", "FLOW", {"ll": 10, "l": 20, "h": 80, "hh": 90})):
        tag: dict[str, Any] = {"id": n, "node_id": f"ns=2;s={n}", "endpoint": "dcs", "equipment": "P-1"}
        tag.update({"kind": "process", "limits": limits, "alarm": {"deadband": 1}} if meas else {"kind": "state"})
        data["tags"].append(tag)
    eng = AlarmEngine(Plant.model_validate(data))
    eng.process("P-1.STATE", T0, float(EquipmentState.RUN.code), GOOD)
    eng.process("P-1.FLOW", T0, 50.0, GOOD)
    assert drain(eng) == []
    eng.process("P-1.STATE", T0 + S, float(EquipmentState.IDLE.code), GOOD)
    trs = drain(eng)
    assert sorted((t.alarm_id, t.kind) for t in trs) == [("P-1.FLOW:L", SUPPRESS), ("P-1.FLOW:LL", SUPPRESS)]
    eng.process("P-1.FLOW", T0 + 2 * S, 0.0, GOOD)  # an idle pump has no flow: not annunciated
    assert [(t.alarm_id, t.acked) for t in drain(eng)] == [("P-1.FLOW:L", True), ("P-1.FLOW:LL", True)]
    eng.process("P-1.FLOW", T0 + 3 * S, 95.0, GOOD)  # high alarms of idle equipment are annunciated
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.acked) for t in trs if t.alarm_id.endswith((":H", ":HH"))] == [
        ("P-1.FLOW:HH", ACTIVE, False),
        ("P-1.FLOW:H", ACTIVE, False),
    ]
    eng.process("P-1.FLOW", T0 + 4 * S, 5.0, GOOD)
    drain(eng)
    eng.process("P-1.STATE", T0 + 5 * S, float(EquipmentState.STOPPED.code), GOOD)  # standby too: no change
    assert drain(eng) == []
    eng.process("P-1.STATE", T0 + 6 * S, float(EquipmentState.FAULT.code), GOOD)  # a fault hides nothing
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.acked) for t in trs] == [
        ("P-1.FLOW:L", UNSUPPRESS, True),
        ("P-1.FLOW:L", ACTIVE, False),
        ("P-1.FLOW:LL", UNSUPPRESS, True),
        ("P-1.FLOW:LL", ACTIVE, False),
    ]
    eng.process("P-1.STATE", T0 + 7 * S, 7.0, GOOD)  # not a state code: ignored
    eng.process("P-1.STATE", T0 + 8 * S, float(EquipmentState.IDLE.code), BAD)  # bad quality: ignored
    assert drain(eng) == []
    assert eng.equipment_state["P-1"] == EquipmentState.FAULT


# -------------------------------------------------------------------------------------- out of service


def test_out_of_service(eng: AlarmEngine) -> None:
    a = "CV-1.BATH_TEMP:H"
    eng.process("CV-1.BATH_TEMP", T0, 1300.0, GOOD)
    drain(eng)
    assert eng.command(OUT_OF_SERVICE, a, T0 + S, "u") == "rejected: removing an alarm from service needs a reason"
    assert eng.command(IN_SERVICE, a, T0 + S, "u") == "rejected: not out of service"
    assert eng.command(OUT_OF_SERVICE, a, T0 + S, "u", comment="thermocouple replaced") == "ok"
    assert eng.command(OUT_OF_SERVICE, a, T0 + S, "u", comment="again") == "rejected: already out of service"
    assert eng.command(SHELVE, a, T0 + S, "u", comment="r", duration_s=60) == "rejected: out of service"
    assert [(t.kind, t.active, t.acked, t.comment) for t in drain(eng)] == [
        (OUT_OF_SERVICE, True, True, "thermocouple replaced")
    ]
    view = eng.get(a)
    assert view is not None and view.out_of_service
    eng.process("CV-1.BATH_TEMP", T0 + 2 * S, 1200.0, GOOD)
    eng.process("CV-1.BATH_TEMP", T0 + 3 * S, 1300.0, GOOD)
    assert [(t.kind, t.acked) for t in drain(eng)] == [(RETURN, True), (ACTIVE, True)]
    assert eng.command(IN_SERVICE, a, T0 + 4 * S, "v") == "ok"
    assert [(t.kind, t.active, t.acked, t.user) for t in drain(eng)] == [
        (IN_SERVICE, True, True, "v"),
        (ACTIVE, True, False, None),
    ]


def test_out_of_service_supersedes_shelving(eng: AlarmEngine) -> None:
    a = "CV-1.BATH_TEMP:HH"
    assert eng.command(SHELVE, a, T0, "u", comment="r", duration_s=60) == "ok"
    assert eng.command(OUT_OF_SERVICE, a, T0 + S, "u", comment="broken") == "ok"
    view = eng.get(a)
    assert view is not None and view.shelved_until is None and view.out_of_service
    eng.tick(T0 + 120 * S)  # no shelve expiry for it any more
    assert kinds(drain(eng)) == [SHELVE, OUT_OF_SERVICE]


def test_comment_and_unknown_commands(eng: AlarmEngine) -> None:
    a = "FF-1.TEMP:H"
    assert eng.command(COMMENT, a, T0, "u", comment="<script>alert(1)</script>") == "ok"
    assert eng.command(COMMENT, a, T0, "u", comment="") == "rejected: empty comment"
    assert eng.command("delete", a, T0, "u") == "rejected: unknown action 'delete'"
    assert eng.command(ACK, a, T0, "") == "rejected: no user"
    trs = drain(eng)
    assert [(t.kind, t.comment) for t in trs] == [(COMMENT, "<script>alert(1)</script>")]


# ---------------------------------------------------------------------------------------- rate of change


def test_rate_of_change(eng: AlarmEngine) -> None:
    a = "GD-AP-1.SO2:ROC"  # 2 ppm/min over 60 s; H is 5 ppm
    for i in range(0, 120, 5):  # noise around 0.3 ppm: no ROC
        eng.process("GD-AP-1.SO2", T0 + i * S, 0.3 + (0.2 if i % 10 else -0.2), GOOD)
    assert drain(eng) == []
    # a leak: +0.5 ppm every 5 s = 6 ppm/min; over the 60 s window the change passes 2 ppm after 20 s
    v = 0.3
    for i in range(120, 150, 5):
        v += 0.5
        eng.process("GD-AP-1.SO2", T0 + i * S, v, GOOD)
    trs = drain(eng)
    roc = [t for t in trs if t.alarm_id == a]
    assert [(t.kind, t.ts, t.acked) for t in roc] == [(ACTIVE, T0 + 140 * S, False)]
    assert roc[0].data == {"limit": 2}
    # the value then holds (reported by exception: no new samples); the window moves on with the ticks
    eng.tick(T0 + 170 * S)
    assert drain(eng) == []
    eng.tick(T0 + 210 * S)  # 60 s after the last change the rate is 0
    assert [(t.alarm_id, t.kind, t.ts) for t in drain(eng)] == [(a, RETURN, T0 + 210 * S)]
    # a fall counts too
    eng.process("GD-AP-1.SO2", T0 + 220 * S, 0.3, GOOD)
    assert (a, ACTIVE) in [(t.alarm_id, t.kind) for t in drain(eng)]


def test_rate_of_change_ignores_bad_values(eng: AlarmEngine) -> None:
    eng.process("GD-AP-1.SO2", T0, 0.3, GOOD)
    eng.process("GD-AP-1.SO2", T0 + S, None, BAD_NO_COMMUNICATION)
    eng.process("GD-AP-1.SO2", T0 + 2 * S, 2.9, GOOD)  # +2.6 ppm, but the window restarted after the bad value
    assert [(t.alarm_id, t.kind) for t in drain(eng)] == [("GD-AP-1.SO2:BAD", ACTIVE), ("GD-AP-1.SO2:BAD", RETURN)]


# ----------------------------------------------------------------------------------------- event alarms


def test_violation_and_video_alarms(eng: AlarmEngine) -> None:
    a = eng.event_open(
        "violation",
        17,
        T0,
        source="forbidden_zone",
        badge="P003",
        zone="tank-farm",
        severity="high",
        message="P003 in the tank farm",
        data={"camera": "CAM-7"},
    )
    assert a == "violation:17"
    assert eng.event_open("violation", 17, T0, source="forbidden_zone") is None  # known already
    assert eng.event_open("gap", 18, T0, source="dcs") is None  # not an alarm kind
    v = eng.event_open(
        "video", 21, T0 + S, source="CAM-2", zone="smelter-hall", severity="urgent", data={"class": "smoke"}
    )
    trs = drain(eng)
    assert [(t.alarm_id, t.kind, t.active, t.acked) for t in trs] == [
        (a, ACTIVE, True, False),
        (v, ACTIVE, True, False),
    ]
    va, vv = eng.get(a), eng.get(v)
    assert va is not None and vv is not None
    assert (va.source_type, va.condition, va.source, va.badge, va.zone, va.area, va.camera, va.priority) == (
        "personnel",
        "forbidden_zone",
        "P003",
        "P003",
        "tank-farm",
        "acid",
        "CAM-7",
        "high",
    )
    assert (vv.source_type, vv.condition, vv.source, vv.camera, vv.priority, vv.area) == (
        "video",
        "smoke",
        "CAM-2",
        "CAM-2",
        "urgent",
        "smelting",
    )
    assert eng.open_event_alarms() == {a: 17, v: 21}
    assert eng.event_close(a, T0 + 60 * S)
    assert not eng.event_close(a, T0 + 61 * S)
    assert [(t.alarm_id, t.kind, t.active, t.acked) for t in drain(eng)] == [(a, RETURN, False, False)]
    assert eng.get(a) is not None  # returned but unacknowledged: still there
    assert eng.command(ACK, a, T0 + 70 * S, "li.na") == "ok"
    batch = eng.drain()
    assert [(v.id, v.active, v.acked) for v in batch.alarms] == [(a, False, True)]
    assert eng.get(a) is None  # over: forgotten by the engine (its row and journal stay in the store)
    assert eng.open_event_alarms() == {v: 21}


def test_event_severity_mapping(eng: AlarmEngine) -> None:
    for i, (severity, priority) in enumerate(
        [("low", "low"), ("warning", "medium"), ("critical", "urgent"), ("info", "low"), (None, "high"), ("?", "high")]
    ):
        alarm_id = eng.event_open("violation", 100 + i, T0, source="r", severity=severity)
        assert alarm_id is not None
        view = eng.get(alarm_id)
        assert view is not None and view.priority == priority


# ---------------------------------------------------------------------------------------------- restore


def test_restore_continues_where_it_stopped(plant: Plant) -> None:
    first = AlarmEngine(plant)
    first.process("FF-1.TEMP", T0, 1310.0, GOOD)
    first.process("TK-1.LEVEL", T0, 50.0, GOOD)
    first.command(SHELVE, "TK-1.LEVEL:HH", T0, "u", comment="r", duration_s=60)
    first.event_open("violation", 5, T0, source="sos", badge="P005", severity="urgent")
    first.drain()
    views = first.views()

    second = AlarmEngine(plant)
    assert second.restore([_asdict(v) for v in views]) == len(views)
    assert second.drain().transitions == []
    second.process("FF-1.TEMP", T0 + S, 1315.0, GOOD)  # still above H: no second activation
    assert drain(second) == []
    second.process("FF-1.TEMP", T0 + 2 * S, 1200.0, GOOD)
    assert [(t.alarm_id, t.kind, t.acked) for t in drain(second)] == [("FF-1.TEMP:H", RETURN, False)]
    second.tick(T0 + 61 * S)
    assert [(t.alarm_id, t.kind) for t in drain(second)] == [("TK-1.LEVEL:HH", SHELVE_EXPIRED)]
    assert second.open_event_alarms() == {"violation:5": 5}
    assert second.event_close("violation:5", T0 + 90 * S)
    # a process alarm the plant file no longer defines is not restored
    assert second.restore([{**_asdict(views[0]), "id": "GONE.TAG:H"}]) == 0


def _asdict(view: Any) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__slots__}


def test_demo_plant_definitions() -> None:
    from plant.loader import DEMO_PLANT, load_plant

    demo = load_plant(DEMO_PLANT)
    eng = AlarmEngine(demo)
    defs = {d.id: d for d in eng.definitions}
    limited = [t for t in demo.tags if t.limits is not None]
    n_limits = sum(sum(v is not None for v in (t.limits.ll, t.limits.l, t.limits.h, t.limits.hh)) for t in limited)  # type: ignore[union-attr]
    n_roc = sum(1 for t in demo.tags if t.alarm is not None and t.alarm.roc_per_min is not None)
    assert n_roc == 46  # every gas detector and the flash furnace's matte temperature
    readings = [r for hs in demo.hazards.sources for r in hs.readings]
    n_hazard = sum((r.high is not None) + (r.low is not None) for r in readings)
    assert n_hazard == 7  # major hazard sources' readings (every reading's tag has limits, so no extra BAD)
    assert len(defs) == n_limits + n_roc + len(limited) + n_hazard
    leak = defs["acid-gas-cleaning.GD01.SO2:ROC"]
    assert (leak.priority, leak.limit, leak.area) == ("high", 2.0, "acid-plant")
    assert defs["acid-gas-cleaning.GD01.SO2:HH"].priority == "urgent"
    assert defs["FSF1.MATTE_TEMP:ROC"].limit == 25.0
    assert all(d.area is not None for d in defs.values())  # every alarm has an operator position
