"""A small plant with a metering hierarchy and its scripted meter events, for the energy tests and bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plant.schema import Plant

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini_plant.yaml"

LEAK_NM3_H = 900.0
RESET_AFTER_S = 20 * 3600 + 30  # between two readings, inside an hour
SWAP_AFTER_S = 30 * 3600  # on the hour
OUTAGE_AFTER_S, OUTAGE_S = 34 * 3600 + 25 * 60, 3 * 3600


def _tag(tid: str, medium: str, unit: str, nominal: float | None = None, equipment: str | None = None) -> Any:
    t: dict[str, Any] = {"id": tid, "node_id": f"ns=2;s={tid}", "endpoint": "dcs", "kind": "energy"}
    t.update(medium=medium, unit=unit)
    if nominal is not None:
        t["nominal"] = nominal
    if equipment is not None:
        t["equipment"] = equipment
    return t


def energy_plant_data() -> dict[str, Any]:
    """The mini plant with four-level meter trees for electricity and compressed air (incomers on the site and
    the smelting area), a compressed-air leak under the smelting area's main, a reset, an exchange, an outage."""
    data: dict[str, Any] = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    data["tags"] += [
        _tag("SITE.ELEC", "electricity", "kWh"),
        _tag("SM.ELEC", "electricity", "kWh"),
        _tag("AP-1.ELEC", "electricity", "kWh", 900, "AP-1"),
        _tag("SITE.AIR", "compressed_air", "Nm3"),
        _tag("SM.AIR", "compressed_air", "Nm3"),
        _tag("CV-1.AIR", "compressed_air", "Nm3", 3000, "CV-1"),
        _tag("CV-2.AIR", "compressed_air", "Nm3", 3000, "CV-2"),
        _tag("FF-1.AIR", "compressed_air", "Nm3", 1500, "FF-1"),
    ]

    def m(mid: str, level: str, medium: str, parent: str | None, tag: str | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"id": mid, "name": mid.replace("-", " "), "name_zh": f"表{mid}", "level": level}
        item.update(medium=medium)
        if parent:
            item["parent"] = parent
        if tag:
            item["tag"] = tag
        return item

    data["meters"] = [
        m("E", "site", "electricity", None, "SITE.ELEC"),
        m("E-SM", "area", "electricity", "E", "SM.ELEC"),
        m("E-SM-smelt", "process", "electricity", "E-SM"),
        m("E-FF", "equipment", "electricity", "E-SM-smelt", "FF-1.ELEC"),
        m("E-SM-conv", "process", "electricity", "E-SM"),
        m("E-BL", "equipment", "electricity", "E-SM-conv", "BL-1.ELEC"),
        m("E-AC", "area", "electricity", "E"),
        m("E-AC-acid", "process", "electricity", "E-AC"),
        m("E-AP", "equipment", "electricity", "E-AC-acid", "AP-1.ELEC"),
        m("A", "site", "compressed_air", None, "SITE.AIR"),
        m("A-SM", "area", "compressed_air", "A", "SM.AIR"),
        m("A-SM-conv", "process", "compressed_air", "A-SM"),
        m("A-CV1", "equipment", "compressed_air", "A-SM-conv", "CV-1.AIR"),
        m("A-CV2", "equipment", "compressed_air", "A-SM-conv", "CV-2.AIR"),
        m("A-SM-smelt", "process", "compressed_air", "A-SM"),
        m("A-FF", "equipment", "compressed_air", "A-SM-smelt", "FF-1.AIR"),
    ]
    data["meter_events"] = [
        {"id": "air-leak", "kind": "leak", "meter": "A-SM", "after_s": 6 * 3600, "duration_s": 30 * 86400,
         "value": LEAK_NM3_H},
        {"id": "blower-reset", "kind": "reset", "meter": "E-BL", "after_s": RESET_AFTER_S},
        {"id": "ff-swap", "kind": "swap", "meter": "E-FF", "after_s": SWAP_AFTER_S, "value": 512.25},
        {"id": "acid-outage", "kind": "outage", "meter": "E-AP", "after_s": OUTAGE_AFTER_S, "duration_s": OUTAGE_S},
    ]  # fmt: skip
    return data


def energy_plant() -> Plant:
    return Plant.model_validate(energy_plant_data())
