"""Crews on shifts: the plant file's rota (four crews on three shifts, a cycle of days) names the crew of each
shift on each day; without one, shift X is crew X's. The energy page's per-crew table sums the shifts so."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from engine.shifts import crew_of
from plant.loader import load_plant
from plant.schema import Plant
from settings import ROOT
from store.figures import crew_rows

DEMO = ROOT / "plant" / "demo_smelter.yaml"
ROTA = {
    "start": "2026-03-01",
    "crews": [
        {"id": "c1", "name": "Crew 1", "name_zh": "一班"},
        {"id": "c2", "name": "Crew 2", "name_zh": "二班"},
        {"id": "c3", "name": "Crew 3", "name_zh": "三班"},
        {"id": "c4", "name": "Crew 4", "name_zh": "四班"},
    ],
    # four crews, three shifts, one resting each day; the cycle moves every crew on a shift a day
    "cycle": [
        {"A": "c1", "B": "c2", "C": "c3"},
        {"A": "c4", "B": "c1", "C": "c2"},
        {"A": "c3", "B": "c4", "C": "c1"},
        {"A": "c2", "B": "c3", "C": "c4"},
    ],
}


def _with_rota(rota: dict[str, Any]) -> Plant:
    data = load_plant(DEMO).model_dump(mode="json", exclude_none=True)
    data["site"]["rota"] = rota
    return Plant.model_validate(data)


def test_the_rota_names_each_shifts_crew_by_its_day_in_the_cycle() -> None:
    plant = _with_rota(ROTA)
    assert crew_of(plant, "A", date(2026, 3, 1)) == ("c1", "Crew 1", "一班")
    assert crew_of(plant, "B", date(2026, 3, 2)) == ("c1", "Crew 1", "一班")
    assert crew_of(plant, "C", date(2026, 3, 3)) == ("c1", "Crew 1", "一班")
    assert crew_of(plant, "A", date(2026, 3, 5))[0] == "c1"  # the cycle again, four days on
    assert crew_of(plant, "A", date(2026, 2, 28))[0] == "c2"  # and before its start
    plain = load_plant(DEMO)
    b = next(s for s in plain.site.shifts if s.id == "B")
    assert crew_of(plain, "B", date(2026, 3, 1)) == ("B", b.name, b.name_zh)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"cycle": [{"A": "c1", "B": "c2"}]}, "must name the crew of every shift"),
        ({"cycle": [{"A": "c1", "B": "c2", "C": "c9"}]}, "unknown crew 'c9'"),
        ({"crews": [{"id": "c1"}, {"id": "c1"}]}, "duplicate crew id"),
    ],
)
def test_a_rota_naming_an_unknown_crew_or_leaving_a_shift_out_is_refused(change: dict[str, Any], said: str) -> None:
    with pytest.raises(ValidationError, match=said):
        _with_rota(ROTA | change)


def test_per_crew_rows_sum_the_shifts_of_each_crew_with_energy_per_tonne_against_all_crews() -> None:
    plant = _with_rota(ROTA)
    tz = plant.tz()
    starts = {"A": 0, "B": 8, "C": 16}
    rows = []
    for day in (1, 2, 3, 4):
        for sid, hour in starts.items():
            ms = int(datetime(2026, 3, day, hour, tzinfo=tz).timestamp() * 1000)
            rows.append({"start": ms, "shift": sid, "value": 100.0 * day, "cost": 60.0 * day, "made": 1.0})
    rows[-1]["value"] = None  # day 4's shift C (crew c4) is unknown
    got = {c["crew"]: c for c in crew_rows(plant, rows)}
    assert sorted(got) == ["c1", "c2", "c3", "c4"]
    c1 = got["c1"]  # worked A on the 1st, B on the 2nd, C on the 3rd
    assert (c1["shifts"], c1["energy"], c1["cost"], c1["production"]) == (3, 600.0, 360.0, 3.0)
    assert c1["intensity"] == pytest.approx(200.0) and c1["name_zh"] == "一班"
    c4 = got["c4"]  # A on the 2nd, B on the 3rd, C on the 4th (unknown)
    assert (c4["shifts"], c4["unknown"], c4["energy"], c4["production"]) == (3, 1, 500.0, 2.0)
    overall = sum(c["intensity"] * c["production"] for c in got.values()) / sum(c["production"] for c in got.values())
    for c in got.values():
        assert c["vs_all"] == pytest.approx(c["intensity"] / overall - 1)
