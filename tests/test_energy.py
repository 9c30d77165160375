"""Energy: the meter tree in the plant file, the simulator's meters, consumption per period from the rollups
against the simulator's own truth (across a reset, an exchange and a gap), and reconciliation (the scripted
leak flagged, nothing else), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.energy import PeriodKind, max_rates, meter_tree, periods, reconcile, sankey_links, shift_starts
from engine.types import GOOD, SampleIn
from plant import PlantFileError, load_plant
from plant.schema import Medium, Plant
from simulator.backfill import backfill
from simulator.model import SmelterModel
from store.db import make_engine, migrate, session_scope
from store.energy import consumption, hourly
from store.samples import write_samples
from store.tags import sync_tags, tag_ids
from tests.energyutil import OUTAGE_AFTER_S, OUTAGE_S, energy_plant, energy_plant_data

DAY = 86_400_000
HOUR = 3_600_000
T0 = int(datetime(2026, 3, 1, 16, 0, tzinfo=UTC).timestamp() * 1000)  # local midnight, Asia/Shanghai
DAYS = 3


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    p = tmp_path / "plant.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def _problems(tmp_path: Path, data: dict[str, Any]) -> str:
    with pytest.raises(PlantFileError) as info:
        load_plant(_write(tmp_path, data))
    return str(info.value)


# ----------------------------------------------------------------------------------------------- plant file


def test_meter_tree_of_the_demo_is_four_levels_per_medium_with_incomers() -> None:
    demo = load_plant(Path(__file__).resolve().parents[1] / "plant" / "demo_smelter.yaml")
    assert {m for m in Medium} == {m.medium for m in demo.meters}
    for medium in Medium:
        tree = meter_tree(demo, medium)
        assert tree.depth() == 4, medium
        root = tree.nodes[tree.roots[0]]
        assert root.tag and all(tree.nodes[c].tag for c in root.children)  # site and area incomers
    kinds = {e.kind.value for e in demo.meter_events}
    assert kinds == {"leak", "reset", "swap", "outage"}


def test_meter_errors_name_the_entry(tmp_path: Path) -> None:
    data = energy_plant_data()
    data["meters"][3]["tag"] = "FF-1.TEMP"  # a process tag
    data["meters"][8]["tag"] = "FF-1.O2"  # oxygen on an electricity meter
    data["meters"][12]["parent"] = "E-SM"  # compressed air under electricity
    msg = _problems(tmp_path, data)
    assert "meters[3] (E-FF).tag" in msg and "not a cumulative energy tag" in msg
    assert "meters[8] (E-AP).tag" in msg and "meters oxygen" in msg
    assert "meters[12] (A-CV1).medium" in msg
    data = energy_plant_data()
    data["meter_events"][0]["meter"] = "A-SM-conv"  # reads no tag
    data["meter_events"][1]["meter"] = "nope"
    msg = _problems(tmp_path, data)
    assert "meter_events[0] (air-leak).meter" in msg and "reads no tag" in msg
    assert "meter_events[1] (blower-reset).meter" in msg and "unknown meter" in msg
    data = energy_plant_data()
    data["energy"] = {
        "kgce": {"electricity": 0.1229},
        "intensities": [
            {"id": "k1", "name": "a", "meters": ["E-SM", "nope"], "counters": ["FF-1.TEMP"]},
            {"id": "k2", "name": "b", "meters": ["E", "A"], "counters": ["FF-1.CONC_FED"]},
            {"id": "k3", "name": "c", "meters": ["E", "A"], "counters": ["FF-1.CONC_FED"], "measure": "kgce"},
        ],
    }
    msg = _problems(tmp_path, data)
    assert "energy.intensities[0] (k1).meters: unknown meter 'nope'" in msg
    assert "energy.intensities[0] (k1).counters: 'FF-1.TEMP' is not a production counter tag" in msg
    assert "energy.intensities[1] (k2).meters: a native intensity needs meters of one medium" in msg
    assert "energy.intensities[2] (k3).meters: no kgce factor for compressed_air" in msg
    data = energy_plant_data()
    data["energy"] = {"tou": [{"id": "day", "name": "Day", "price": 1, "hours": ["08:00-20:00"]},
                              {"id": "night", "name": "Night", "price": 0.5, "hours": ["19:00-07:00"]}]}  # fmt: skip
    msg = _problems(tmp_path, data)
    assert "19:00 is in both 'day' and 'night'" in msg and "leave out" not in msg
    data["energy"]["tou"][1]["hours"] = ["20:00-06:00"]
    assert "the bands leave out 06:00, 07:00" in _problems(tmp_path, data)
    data["energy"]["tou"][1]["hours"] = ["20:30-08:00"]
    assert "energy.tou.1.hours" in _problems(tmp_path, data) or "20:30-08:00" in _problems(tmp_path, data)
    data = energy_plant_data()
    data["energy"] = {
        "prices": {"electricity": 0.6},
        "price_periods": [
            {"medium": "electricity", "price": 0.7, "valid_from": "2026-03-01", "valid_to": "2026-03-31"},
            {"medium": "water", "price": 4, "valid_from": "2026-03-01"},
            {"medium": "electricity", "price": 0.8, "valid_from": "2026-03-20"},
        ],
    }
    msg = _problems(tmp_path, data)
    assert "price_periods[0] and price_periods[2] give electricity two prices on the same days (from 2026-03-20)" in msg
    data["energy"]["price_periods"][2]["valid_from"] = "2026-04-01"  # after the first: fine
    Plant.model_validate(data)
    data["energy"]["price_periods"][1].update(valid_from="2026-03-05", valid_to="2026-03-01")
    msg = _problems(tmp_path, data)
    assert "energy.price_periods[1]" in msg and "valid_to 2026-03-01 is before valid_from 2026-03-05" in msg
    data["energy"]["price_periods"][1].update(valid_to=None, price=float("inf"))
    data["energy"]["demand_charge"] = -1
    msg = _problems(tmp_path, data)
    assert "energy.price_periods[1].price: Input should be a finite number (got inf)" in msg
    assert "energy.demand_charge: Input should be greater than or equal to 0 (got -1)" in msg
    data = energy_plant_data()
    data["meter_events"][2]["value"] = float("nan")
    assert "meter_events[2] (ff-swap).value" in _problems(tmp_path, data)


# ------------------------------------------------------------------------------------------------ simulator


def test_simulator_meters_follow_the_tree_and_the_events() -> None:
    plant = energy_plant()
    model = SmelterModel(plant, seed=3, start_ms=T0)
    last: dict[str, float] = {}
    for k in range(1, 24 * 60 + 1):
        values = model.step(T0 + k * 60_000)
        last.update({t: float(v) for t, v in values.items() if isinstance(v, int | float)})  # type: ignore[arg-type]
    truth = model.meter_truth()
    kids = truth["CV-1.AIR"] + truth["CV-2.AIR"] + truth["FF-1.AIR"]
    leak_h = 18.0  # the leak starts 6 h after the start
    assert truth["SM.AIR"] == pytest.approx(kids * 1.015 + 900 * leak_h, rel=0.01)
    assert truth["SITE.ELEC"] == pytest.approx(truth["SM.ELEC"] * 1.012 + truth["AP-1.ELEC"] * 1.012, rel=0.005)
    # consumption follows production: the blower with the converters' blowing, power with the furnace's load
    assert 0 < truth["BL-1.ELEC"] < 24 * 2500


# ----------------------------------------------------------------------------------- consumption and balance


def _backfill_with_truth(plant: Plant, db_url: str) -> dict[int, dict[str, float]]:
    truth: dict[int, dict[str, float]] = {}

    def observe(t: int, model: SmelterModel) -> None:
        if t % HOUR == 0:
            truth[t] = model.meter_truth()

    backfill(plant, db_url, DAYS, step_s=60, seed=5, end_ms=T0 + DAYS * DAY, progress=False, observe=observe)
    return truth


def _read(
    plant: Plant, db_url: str, kind: PeriodKind, t0: int, t1: int, by_hour: bool = False
) -> tuple[Any, dict[str, int]]:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            ids = tag_ids(s)
            rates = {ids[t]: r for t, r in max_rates(plant).items()}
            tags = [ids[t] for t in max_rates(plant)] + [ids[t] for m in plant.meters if m.tag for t in [m.tag]]
            count = hourly if by_hour else consumption
            got = count(s, tags, periods(kind, t0, t1, plant.tz(), shift_starts(plant)), rates)
    finally:
        engine.dispose()
    return got, ids


@pytest.mark.slow
def test_consumption_equals_the_simulators_truth_and_reconciliation_flags_the_leak(db_url: str) -> None:
    plant = energy_plant()
    truth = _backfill_with_truth(plant, db_url)
    meters = [m.tag for m in plant.meters if m.tag]
    outage = (T0 + OUTAGE_AFTER_S * 1000, T0 + (OUTAGE_AFTER_S + OUTAGE_S) * 1000)
    # days: the reset (day 0), the exchange and the outage (day 1) lie inside them
    got, ids = _read(plant, db_url, PeriodKind.DAY, T0, T0 + DAYS * DAY)
    assert got.periods == [(T0 + d * DAY, T0 + (d + 1) * DAY) for d in range(DAYS)]
    for tag in meters:
        for d, (a, b) in enumerate(got.periods):
            want = truth[b][tag] - truth[a][tag]
            have = got.values[ids[tag]][d]
            assert have is not None, (tag, d)
            assert have == pytest.approx(want, rel=1e-3), (tag, d)
    # counted hour by hour (every step checked) the days come out the same
    by_hour, _ = _read(plant, db_url, PeriodKind.DAY, T0, T0 + DAYS * DAY, by_hour=True)
    for tag in meters:
        assert by_hour.values[ids[tag]] == pytest.approx(got.values[ids[tag]], rel=1e-6), tag
    # hours: within 0.1 % where the meter was read; unknown (never zero) where the outage was
    got, ids = _read(plant, db_url, PeriodKind.HOUR, T0, T0 + DAYS * DAY)
    acid = got.values[ids["AP-1.ELEC"]]
    for i, (a, b) in enumerate(got.periods):
        in_gap = a < outage[1] and b > outage[0]
        if in_gap:
            assert acid[i] is None
        else:
            assert acid[i] == pytest.approx(truth[b]["AP-1.ELEC"] - truth[a]["AP-1.ELEC"], rel=1e-3, abs=0.5)
    for tag in ("SITE.ELEC", "BL-1.ELEC", "FF-1.ELEC", "SM.AIR"):
        vals = got.values[ids[tag]]
        assert all(v is not None for v in vals), tag
        have = sum(v for v in vals if v is not None)
        assert have == pytest.approx(truth[T0 + DAYS * DAY][tag] - truth[T0][tag], rel=1e-3), tag
    # shifts, and a whole week holding the three days
    got, ids = _read(plant, db_url, PeriodKind.SHIFT, T0, T0 + DAYS * DAY)
    assert len(got.periods) == 3 * DAYS
    for tag in meters:
        for i, (a, b) in enumerate(got.periods):
            if tag == "AP-1.ELEC" and a < outage[1] and b > outage[0] and not (a <= outage[0] and outage[1] <= b):
                assert got.values[ids[tag]][i] is None
                continue
            assert got.values[ids[tag]][i] == pytest.approx(truth[b][tag] - truth[a][tag], rel=1e-3), (tag, i)
    # reconciliation per day: the compressed-air main of the smelting area is flagged, nothing else
    got, ids = _read(plant, db_url, PeriodKind.DAY, T0, T0 + DAYS * DAY)
    flagged: set[tuple[str, int]] = set()
    for medium in (Medium.ELECTRICITY, Medium.COMPRESSED_AIR):
        tree = meter_tree(plant, medium)
        for d in range(DAYS):
            readings = {t: got.values[ids[t]][d] for t in tree.tags()}
            flows = reconcile(tree, readings)
            flagged |= {(b.parent, d) for b in flows.balances.values() if b.flagged}
            assert all(b.share is not None for b in flows.balances.values())
            links = sankey_links(flows)
            assert {lk.target for lk in links} >= {"E-SM", "E-FF"} or medium != Medium.ELECTRICITY
            if medium == Medium.COMPRESSED_AIR and d >= 1:
                loss = flows.values["A-SM/losses"]
                kids = (flows.values["A-SM-conv"] or 0.0) + (flows.values["A-SM-smelt"] or 0.0)
                assert loss == pytest.approx(900 * 24 + 0.015 * kids, rel=0.02)
    assert flagged == {("A-SM", d) for d in range(DAYS)}


def test_late_and_duplicate_samples_change_nothing_and_a_gap_is_unknown(sqlite_url: str) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    rate = 100.0 / HOUR  # 100 units an hour
    ts = list(range(T0, T0 + 6 * HOUR + 1, 60_000))
    gap = (T0 + 2 * HOUR + 10 * 60_000, T0 + 3 * HOUR + 50 * 60_000)
    kept = [t for t in ts if not gap[0] < t < gap[1]]
    early, late = [t for t in kept if t % (7 * 60_000)], [t for t in kept if not t % (7 * 60_000)]
    with session_scope(engine) as s:
        tid = sync_tags(s, energy_plant())["FF-1.ELEC"]
    with session_scope(engine) as s:
        write_samples(s, [SampleIn(tid, t, round(5000 + rate * (t - T0), 3), GOOD) for t in early])
    with session_scope(engine) as s:  # late samples, and every sample once more
        write_samples(s, [SampleIn(tid, t, round(5000 + rate * (t - T0), 3), GOOD) for t in late + kept[:50]])
    hours = periods(PeriodKind.HOUR, T0, T0 + 6 * HOUR, energy_plant().tz())
    with session_scope(engine) as s:
        got = consumption(s, [tid], hours, {tid: 300.0})
        day = consumption(s, [tid], [(T0, T0 + 6 * HOUR)], {tid: 300.0})
    engine.dispose()
    vals = got.values[tid]
    assert vals[2] is None and vals[3] is None  # the gap: unknown, not zero
    assert [round(v, 3) for v in vals if v is not None] == [100.0, 100.0, 100.0, 100.0]
    assert day.values[tid][0] == pytest.approx(600.0)
