"""The mini plant with a monitored stack (SO2 and NOx with their hourly limits, the flue-gas flow) and the
simulator's emission incidents, for the emissions tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plant.schema import Plant

MINI = Path(__file__).resolve().parent / "fixtures" / "mini_plant.yaml"


def stack_plant_data(incidents: bool = False) -> dict[str, Any]:
    """The fixture's stack STK-1 and its SO2 analyser, plus NOx and the gas flow; with ``incidents`` an SO2
    exceedance from 2 h after the start and a NOx analyser maintenance from 10 h, both daily."""
    data: dict[str, Any] = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    for tag in data["tags"]:
        if tag["id"] == "STK-1.SO2":
            tag.update(description="Main stack SO2 (CEMS)", description_zh="主烟囱二氧化硫（在线监测）")
    for meas, unit, kind, nominal, top in (
        ("NOX", "mg/Nm3", "emission", 90, 500),
        ("GAS_FLOW", "Nm3/h", "process", 200_000, 400_000),
    ):
        data["tags"].append(
            {"id": f"STK-1.{meas}", "node_id": f"ns=2;s=STK-1.{meas}", "endpoint": "dcs", "kind": kind}
            | {"unit": unit, "equipment": "STK-1", "zone": "acid-plant", "nominal": nominal, "range": [0, top]}
        )
    data["emissions"] = {
        "standard": "GB 25467-2010 Table 5",
        "standard_zh": "GB 25467-2010 表5",
        "review": "to be checked against the text in force",
        "stacks": [
            {
                "equipment": "STK-1",
                "flow_tag": "STK-1.GAS_FLOW",
                "pollutants": [{"tag": "STK-1.SO2", "limit": 400}, {"tag": "STK-1.NOX", "limit": 200}],
            }
        ],
    }
    if incidents:
        data["incidents"] = [
            *(data.get("incidents") or []),
            {"id": "inc-so2-exceedance", "kind": "emission_exceedance", "tag": "STK-1.SO2"}
            | {"first_after_s": 7200, "every_s": 86400, "duration_s": 6000},
            {"id": "inc-nox-maintenance", "kind": "analyser_maintenance", "tag": "STK-1.NOX"}
            | {"first_after_s": 36000, "every_s": 86400, "duration_s": 1800},
        ]
    return data


def stack_plant(incidents: bool = False) -> Plant:
    return Plant.model_validate(stack_plant_data(incidents))
