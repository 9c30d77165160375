"""Alarm KPIs in SQL over a journal written by the real alarm service, on SQLite and PostgreSQL.

The flood scenario: 200 alarms in 10 minutes in one area, one chattering alarm in another, one alarm
standing for 25 hours in a third, a shelved alarm; each classified correctly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from engine.types import GOOD, SampleIn
from plant.schema import Plant
from services.alarms import AlarmService
from store.alarm_kpi import (
    BUCKET_MS,
    FLOOD_PER_10MIN,
    NO_AREA,
    SITE,
    TARGET_PER_10MIN,
    AlarmKpis,
    alarm_kpis,
)
from store.alarms import submit_command
from store.db import make_engine, migrate, session_scope
from store.samples import write_samples
from store.tags import sync_tags

MINI = Path(__file__).parent / "fixtures" / "mini_plant.yaml"
T0 = 1_767_225_600_000  # a whole hour
S = 1000
H = 3_600_000
FLOOD_AT = T0 + 24 * H
CHATTER_AT = T0 + 20 * H
NOW = T0 + 25 * H + 60 * S


def make_plant() -> Plant:
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))

    def tag(tid: str, zone: str, limits: dict[str, float], kind: str = "process") -> dict[str, Any]:
        return {
            "id": tid,
            "node_id": f"ns=2;s={tid}",
            "endpoint": "dcs",
            "kind": kind,
            "zone": zone,
            "limits": limits,
            "alarm": {"deadband": 1},
        }

    data["tags"] += [tag(f"FLOOD.T{i:03d}", "smelter-hall", {"h": 100}) for i in range(200)]
    data["tags"].append(tag("CHAT.T", "acid-plant", {"h": 50}))
    data["tags"].append(tag("SLOW.T", "acid-plant", {"h": 50}))
    data["tags"].append(tag("STAND.GAS", "office", {"h": 10, "hh": 20}, kind="gas"))
    return Plant.model_validate(data)


@pytest.fixture(scope="module")
def plant() -> Plant:
    return make_plant()


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def run(db: Engine, plant: Plant) -> None:
    """Drive the alarm service through 25 hours of samples, stepping as it would."""
    with session_scope(db) as s:
        ids = sync_tags(s, plant)
    service = AlarmService(plant, db)

    def phase(samples: list[tuple[str, int, float]], step_at: int) -> None:
        with session_scope(db) as s:
            write_samples(s, [SampleIn(ids[name], ts, value, GOOD) for name, ts, value in samples])
        service.step(step_at)

    service.step(T0 - S)
    phase([("STAND.GAS", T0, 12.0)], T0 + S)  # gas H from T0, never returns
    # a slow cycler: active/return every 5 minutes for an hour - not chattering
    phase([("SLOW.T", T0 + H + i * 150 * S, 60.0 if i % 2 == 0 else 40.0) for i in range(24)], T0 + 2 * H)
    # chattering: above/below H every 10 s for two minutes: 6 activations, 3 within any 60 s
    phase([("CHAT.T", CHATTER_AT + i * 10 * S, 60.0 if i % 2 == 0 else 40.0) for i in range(12)], CHATTER_AT + H)
    # the flood: 200 tags above H within 10 minutes (one every 3 s)
    phase([(f"FLOOD.T{i:03d}", FLOOD_AT + i * 3 * S, 150.0) for i in range(200)], FLOOD_AT + 11 * 60 * S)
    with session_scope(db) as s:
        submit_command(
            s, ["FLOOD.T007:H"], "shelve", "li.na", comment="known, fixing", duration_s=4 * 3600, now_ms=NOW - 30 * S
        )
    service.step(NOW)


@pytest.fixture
def kpis(db: Engine, plant: Plant) -> AlarmKpis:
    run(db, plant)
    with session_scope(db) as s:
        return alarm_kpis(s, T0, T0 + 26 * H, NOW)


def test_totals_and_rate(kpis: AlarmKpis) -> None:
    # 200 flood + 6 chattering + 12 slow + 1 standing annunciated activations
    assert kpis.total == 219
    assert (kpis.target_per_10min, kpis.flood_per_10min) == (TARGET_PER_10MIN, FLOOD_PER_10MIN) == (1, 10)
    assert kpis.bucket_ms == BUCKET_MS == 600_000
    positions = [s.position for s in kpis.rate]
    assert positions == [SITE, "acid", "admin", "smelting"]
    site = kpis.rate[0]
    assert len(site.buckets) == len(site.counts) == 26 * 6
    assert site.buckets[0] == T0 and all(
        b - a == BUCKET_MS for a, b in zip(site.buckets, site.buckets[1:], strict=False)
    )
    assert site.total == 219 and site.peak == 200
    assert kpis.peak_per_10min == 200
    assert site.counts[24 * 6] == 200
    assert kpis.average_per_10min == pytest.approx(219 / 156, abs=1e-3)
    smelting = next(s for s in kpis.rate if s.position == "smelting")
    assert smelting.total == 200 and smelting.share_in_flood == pytest.approx(1 / 156, abs=1e-4)
    assert sum(s.total for s in kpis.rate[1:]) == site.total


def test_floods(kpis: AlarmKpis) -> None:
    assert [(f.position, f.start, f.end, f.count, f.peak) for f in kpis.floods] == [
        (SITE, FLOOD_AT, FLOOD_AT + BUCKET_MS, 200, 200),
        ("smelting", FLOOD_AT, FLOOD_AT + BUCKET_MS, 200, 200),
    ]


def test_chattering(kpis: AlarmKpis) -> None:
    assert [(c.alarm_id, c.activations, c.peak_per_minute, c.priority, c.area) for c in kpis.chattering] == [
        ("CHAT.T:H", 6, 3, "low", "acid")
    ]
    assert kpis.chattering[0].episodes == 4  # activations at 0, 20, 40, 60 s each start a run of 3 in 60 s


def test_standing(kpis: AlarmKpis) -> None:
    assert [(s.alarm_id, s.since, s.priority, s.area, s.source_type, s.shelved) for s in kpis.standing] == [
        ("STAND.GAS:H", T0, "high", "admin", "process", False)
    ]
    assert kpis.standing[0].hours == pytest.approx(25.02, abs=0.01)


def test_priorities_and_bad_actors(kpis: AlarmKpis) -> None:
    counts = {p.priority: (p.count, p.share, p.target) for p in kpis.priority_counts}
    assert [p.priority for p in kpis.priority_counts] == ["urgent", "high", "medium", "low"]
    assert counts["urgent"] == (0, 0.0, None)
    assert counts["high"] == (1, round(1 / 219, 4), 0.05)
    assert counts["medium"] == (0, 0.0, 0.15)
    assert counts["low"] == (218, round(218 / 219, 4), 0.80)
    top = kpis.top_bad_actors
    assert len(top) == 10
    assert (top[0].alarm_id, top[0].count, top[0].share) == ("SLOW.T:H", 12, round(12 / 219, 4))
    assert (top[1].alarm_id, top[1].count, top[1].area) == ("CHAT.T:H", 6, "acid")
    assert all(b.count == 1 for b in top[2:])


def test_shelved(kpis: AlarmKpis) -> None:
    assert [(s.alarm_id, s.by, s.since, s.until, s.reason) for s in kpis.shelved] == [
        ("FLOOD.T007:H", "li.na", NOW - 30 * S, NOW - 30 * S + 4 * H, "known, fixing")
    ]


def test_area_filter_and_other_windows(db: Engine, plant: Plant) -> None:
    run(db, plant)
    with session_scope(db) as s:
        acid = alarm_kpis(s, T0, T0 + 26 * H, NOW, area="acid")
        empty = alarm_kpis(s, T0 - 48 * H, T0 - 24 * H, NOW, area="acid")
        flood_hour = alarm_kpis(s, FLOOD_AT, FLOOD_AT + H, NOW)
        nowhere = alarm_kpis(s, T0, T0 + 26 * H, NOW, area="no-such-area")
        with pytest.raises(ValueError, match="empty window"):
            alarm_kpis(s, T0, T0, NOW)
    assert acid.total == 18 and [r.position for r in acid.rate] == ["acid"]
    assert [c.alarm_id for c in acid.chattering] == ["CHAT.T:H"]
    assert acid.floods == [] and acid.standing == [] and acid.shelved == []
    assert empty.total == 0 and empty.rate[0].counts == [0] * 144 and empty.top_bad_actors == []
    assert flood_hour.total == 200 and [c.alarm_id for c in flood_hour.chattering] == []
    assert flood_hour.standing[0].alarm_id == "STAND.GAS:H"  # "now" figures do not depend on the window
    assert nowhere.total == 0 and nowhere.rate[0].position == "no-such-area"
    assert NO_AREA == "unassigned"
