"""Overview: the pure parts (products, plan vs actual, periods, site meters, smelting chain), the cached
summary on a store seeded with a day of counter and meter readings, and a refresh that sends only what
changed."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dash import no_update

from engine.chain import chain, decimals, value_status
from engine.energy import MeterTree, meter_tree
from engine.energy import media as energy_media
from engine.metering import site_meters
from engine.production import Period, periods, plan_actual, products
from engine.types import GOOD, PositionIn, SampleIn
from plant import load_plant
from plant.schema import Medium, Meter, MeterLevel, Plant, TagKind
from settings import ROOT, Settings
from store.db import make_engine, session_scope
from store.positions import write_positions
from store.samples import latest_values, write_samples
from store.tags import tag_ids
from tests.fakeclock import plant_ms
from tests.webutil import MINI_PLANT, seed_store

DEMO_PLANT = ROOT / "plant" / "demo_smelter.yaml"
HOUR = 3_600_000
LOAD = 0.9  # seeded counters run at 90 % of their nominal rate


@dataclass
class SeededDay:
    settings: Settings
    reading_ts: int  # time of the newest counter reading
    day_start: int
    shift_start: int | None
    rate_per_ms: dict[str, float]  # counter or meter tag -> seeded rate

    def expected(self, tag: str, start: int) -> float:
        return self.rate_per_ms[tag] * (self.reading_ts - start)


def _nominal_rates(plant: Plant) -> dict[str, float]:
    """Each counter's and meter's nominal rate per hour; a parent meter's is the sum of the meters below it."""
    rates = {t.id: float(t.nominal or 0.0) for t in plant.tags if t.kind in (TagKind.COUNTER, TagKind.ENERGY)}
    for medium in energy_media(plant):
        tree = meter_tree(plant, medium)

        def below(nid: str, tree: MeterTree = tree) -> float:
            total = 0.0
            for c in tree.nodes[nid].children:
                tag = tree.nodes[c].tag
                total += rate(c) if tag else below(c)
            return total

        def rate(nid: str, tree: MeterTree = tree) -> float:
            node = tree.nodes[nid]
            if node.tag and node.children:
                rates[node.tag] = below(nid)
            return rates.get(node.tag or "", 0.0)

        for root in tree.roots:
            rate(root)
    return rates


def seed_day(tmp_path: Path, plant_file: Path = DEMO_PLANT, step_ms: int = 120_000, people: int = 48) -> SeededDay:
    """``seed_store`` plus a day of readings: every counter and meter counts at 90 % of its nominal rate
    from two hours before the plant's midnight to the seeded reading; two hours of history for the
    smelting chain's key tags; people on site in their work zones."""
    settings = seed_store(tmp_path, plant_file)
    plant = load_plant(plant_file)
    engine = make_engine(settings.db_url)
    cumulative = [t for t in plant.tags if t.kind in (TagKind.COUNTER, TagKind.ENERGY)]
    with session_scope(engine) as session:
        ids = tag_ids(session)
        seeded = latest_values(session, [ids[t.id] for t in cumulative])
    reading_ts = max(s.ts for s in seeded.values())
    windows = periods(plant, reading_ts)
    day_start = windows["day"].start_ms
    first = day_start - 2 * HOUR
    rates: dict[str, float] = {}
    samples: list[SampleIn] = []
    nominal = _nominal_rates(plant)
    for tag in cumulative:
        sample = seeded[ids[tag.id]]
        rate = LOAD * nominal.get(tag.id, 0.0) / HOUR
        rates[tag.id] = rate
        # Readings run through the value seed_store wrote, so the newest reading is the seeded one.
        ts = sample.ts - step_ms
        while ts >= first:
            samples.append(SampleIn(ids[tag.id], ts, round(sample.value - rate * (sample.ts - ts), 4), GOOD))
            ts -= step_ms
    tags = {t.id: t for t in plant.tags}
    for stage in chain(plant):
        for item in stage.items:
            tag = tags[item.tag]
            nominal = float(tag.nominal or 1.0)
            for k in range(1, 121):
                ts = reading_ts - 1000 - k * 60_000
                value = nominal * (1 + 0.01 * math.sin(k / 9)) if tag.limits is None else nominal
                samples.append(SampleIn(ids[item.tag], ts, value + 0.002 * nominal * math.sin(k / 4), GOOD))
    zones = {z.id: z for z in plant.zones}
    positions = []
    for badge in [b for b in plant.badges if b.kind.value == "person" and b.work_zones][:people]:
        poly = zones[badge.work_zones[0]].polygon
        cx, cy = sum(p[0] for p in poly) / len(poly), sum(p[1] for p in poly) / len(poly)
        positions.append(PositionIn(badge.id, int(time.time() * 1000) - 1500, cx, cy, 0, GOOD))
    for i in range(0, len(samples), 20_000):
        with session_scope(engine) as session:
            write_samples(session, samples[i : i + 20_000])
    with session_scope(engine) as session:
        write_positions(session, positions)
    engine.dispose()
    shift = windows.get("shift")
    return SeededDay(settings, reading_ts, day_start, shift.start_ms if shift else None, rates)


# --- pure parts --------------------------------------------------------------------------------------------


def test_products_group_counters_by_measurement_headline_first() -> None:
    plant = load_plant(DEMO_PLANT)
    prods = products(plant)
    assert [p.key for p in prods[:4]] == ["anode_cast", "cathode_copper", "acid_produced", "conc_fed"]
    cathode = next(p for p in prods if p.key == "cathode_copper")
    assert len(cathode.tags) == 10 and cathode.rate_per_h == pytest.approx(48.0) and cathode.unit == "t"
    mini = products(load_plant(MINI_PLANT))
    assert [p.key for p in mini] == ["acid", "conc_fed", "blister"]


def test_plan_vs_actual() -> None:
    shift = Period("shift", "B", 0, 8 * HOUR)
    pa = plan_actual(actual=270.0, rate_per_h=100.0, period=shift, now_ms=3 * HOUR)
    assert (pa.plan_to_date, pa.plan_full) == (300.0, 800.0)
    assert pa.completion == pytest.approx(0.9) and pa.status == "warn"
    assert pa.progress == pytest.approx(270 / 800) and pa.expected == pytest.approx(3 / 8)
    assert plan_actual(300.0, 100.0, shift, 3 * HOUR).status == "ok"
    assert plan_actual(200.0, 100.0, shift, 3 * HOUR).status == "bad"
    before = plan_actual(0.0, 100.0, shift, -5)
    assert before.completion is None and before.status == "none" and before.plan_to_date == 0.0
    after = plan_actual(900.0, 100.0, shift, 9 * HOUR)  # elapsed is capped at the period's end
    assert after.plan_to_date == 800.0


def test_periods_follow_shifts_and_local_days_with_dst() -> None:
    plant = load_plant(DEMO_PLANT)  # shifts A 00:00, B 08:00, C 16:00, 8 h each, in the plant's zone
    now = plant_ms(plant, 2026, 5, 4, 17, 30)  # Asia/Shanghai: 09:30 UTC
    got = periods(plant, now)
    assert got["shift"].label == "C"
    assert got["shift"].start_ms == plant_ms(plant, 2026, 5, 4, 16, 0)
    assert got["shift"].hours == 8
    assert got["day"].start_ms == plant_ms(plant, 2026, 5, 4)
    assert got["day"].hours == 24
    berlin = _with_timezone(plant, "Europe/Berlin")
    spring = int(datetime(2026, 3, 29, 12, 0, tzinfo=UTC).timestamp() * 1000)  # clocks go forward that night
    assert periods(berlin, spring)["day"].hours == 23
    autumn = int(datetime(2026, 10, 25, 12, 0, tzinfo=UTC).timestamp() * 1000)
    assert periods(berlin, autumn)["day"].hours == 25


def _with_timezone(plant: Plant, tz: str) -> Plant:
    return plant.model_copy(update={"site": plant.site.model_copy(update={"timezone": tz})})


def test_site_meters_count_the_topmost_metered_nodes() -> None:
    mini = load_plant(MINI_PLANT)
    got = {m.medium: m for m in site_meters(mini)}
    assert set(got[Medium.ELECTRICITY].tags) == {"FF-1.ELEC", "BL-1.ELEC"}  # hierarchy leaves
    assert got[Medium.OXYGEN].tags == ("FF-1.O2",)  # no hierarchy for oxygen: every oxygen meter
    # A site meter that reads a tag itself counts alone (its children are a breakdown of the same flow).
    site = next(m for m in mini.meters if m.level == MeterLevel.SITE)
    metered = [m for m in mini.meters if m.id != site.id] + [
        Meter(id=site.id, name=site.name, level=site.level, medium=site.medium, tag="BL-1.ELEC")
    ]
    variant = mini.model_copy(update={"meters": metered})
    assert {m.medium: m.tags for m in site_meters(variant)}[Medium.ELECTRICITY] == ("BL-1.ELEC",)
    demo = {m.medium: m for m in site_meters(load_plant(DEMO_PLANT))}
    assert demo[Medium.ELECTRICITY].unit == "kWh" and demo[Medium.ELECTRICITY].tags == ("EM.SITE.EL_KWH",)
    assert list(demo)[:5] == [Medium.ELECTRICITY, Medium.WATER, Medium.NATURAL_GAS, Medium.OXYGEN, Medium.STEAM]


def test_smelting_chain_picks_key_tags() -> None:
    plant = load_plant(DEMO_PLANT)
    stages = {s.key: s for s in chain(plant)}
    assert list(stages) == ["smelting", "converting", "fire_refining", "electrorefining", "acid"]
    assert [i.tag for i in stages["smelting"].items] == [
        "FSF1.MATTE_TEMP",
        "FSF1.REACTION_SHAFT_TEMP",
        "FSF1.CONC_FEED_RATE",
    ]
    assert [(i.tag, i.phase_tag) for i in stages["converting"].items] == [
        (f"CV{n}.BATH_TEMP", f"CV{n}.PHASE") for n in (1, 2, 3)
    ]
    assert [i.tag for i in stages["acid"].items] == ["AP-CONV1.CONVERSION", "AP-FAT1.ACID_STRENGTH", "STK-TG.SO2"]
    mini = {s.key: [i.tag for i in s.items] for s in chain(load_plant(MINI_PLANT))}
    assert mini == {
        "smelting": ["FF-1.MATTE_TEMP", "FF-1.TEMP", "FF-1.FEED_FLOW"],
        "converting": ["CV-1.BATH_TEMP", "CV-2.BATH_TEMP"],
        "acid": ["AP-1.SO2_IN", "AP-1.ACID_STRENGTH", "STK-1.SO2"],
    }
    tags = {t.id: t for t in plant.tags}
    assert decimals(tags["FSF1.MATTE_TEMP"]) == 0
    assert decimals(tags["AP-FAT1.ACID_STRENGTH"]) == 2
    assert decimals(tags["TH-RECT1.DC_CURRENT"]) == 1
    acid = tags["AP-FAT1.ACID_STRENGTH"]  # ll 98.0, l 98.2, h 98.8
    assert value_status(acid, (0, 98.5, GOOD)) == "ok"
    assert value_status(acid, (0, 98.1, GOOD)) == "warn"
    assert value_status(acid, (0, 97.9, GOOD)) == "alarm"
    assert value_status(acid, (0, 97.9, 0x80000000)) == "none"
    assert value_status(acid, None) == "none"


# --- summary and refresh on a seeded store -------------------------------------------------------------------


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> SeededDay:
    return seed_day(tmp_path_factory.mktemp("overview"))


def test_summary_totals_match_the_seeded_rates(day: SeededDay) -> None:
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.summary import summary

    app = create_app(day.settings)
    web.set_clock(app.server, lambda: day.reading_ts / 1000 + 1)  # the seeded day, even if midnight has passed since
    with app.server.test_request_context("/"):
        summ = summary()
    rows = {r["key"]: r for r in summ["production"]}
    conc = rows["conc_fed"]["day"]
    assert conc["actual"] == pytest.approx(day.expected("FSF1.CONC_FED", day.day_start), abs=0.01)
    hours = periods(load_plant(DEMO_PLANT), day.reading_ts)["day"].hours  # 23 or 25 on a day the clocks change
    assert conc["plan_full"] == pytest.approx(180 * hours)
    assert conc["completion"] == pytest.approx(conc["actual"] / conc["plan_to_date"])
    cathode = rows["cathode_copper"]["day"]["actual"]
    assert cathode == pytest.approx(
        sum(day.expected(f"CB{n}.CATHODE_COPPER", day.day_start) for n in (11, 12, 13, 14, 21, 22, 23, 24, 31, 32)),
        abs=0.05,
    )
    if day.shift_start is not None:
        anode = rows["anode_cast"]["shift"]["actual"]
        want = day.expected("CW1.ANODE_CAST", day.shift_start) + day.expected("CW2.ANODE_CAST", day.shift_start)
        assert anode == pytest.approx(want, abs=0.01)
    energy = {e["medium"]: e for e in summ["energy"]}
    plant = load_plant(DEMO_PLANT)
    elec = next(m for m in site_meters(plant) if m.medium == Medium.ELECTRICITY)
    assert energy["electricity"]["day"] == pytest.approx(
        sum(day.expected(t, day.day_start) for t in elec.tags), rel=1e-6, abs=0.5
    )


def test_refresh_sends_only_what_changed(day: SeededDay) -> None:
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot
    from webapp.pages import overview

    app = create_app(day.settings)
    web.set_clock(app.server, lambda: day.reading_ts / 1000 + 1)  # the seeded day and shift, whatever the hour
    with app.server.test_request_context("/"):
        page = overview.layout()
        sent = _find(page, overview.ids.SENT).data
        assert any(k.startswith("g:prod.") for k in sent) and "spark" in sent
        delta, sources, new_sent = overview.refresh(1, sent)
        # Nothing new in the store: no numbers, no blocks; only the data age of the sources may move on.
        assert sources is no_update
        if delta is not no_update:
            assert set(delta["text"]) <= {k for k in delta["text"] if k.startswith(("src.", "shift"))}
            assert "spark" not in delta
        # A new matte temperature beyond its H limit: that key value group changes, production does not.
        engine = web.engine()
        with session_scope(engine) as session:
            tag_id = tag_ids(session)["FSF1.MATTE_TEMP"]
            write_samples(session, [SampleIn(tag_id, day.reading_ts + 500, 1255.4, GOOD)])
        snapshot.expire()
        assert new_sent is no_update or all(
            op["operation"] == "Assign" for op in new_sent.to_plotly_json()["operations"]
        )
        delta, _sources, patch = overview.refresh(2, sent)
        changed = {op["location"][0]: op["params"]["value"] for op in patch.to_plotly_json()["operations"]}
        assert delta["text"]["kv.FSF1.MATTE_TEMP"] == "1,255"
        assert delta["status"]["kv.FSF1.MATTE_TEMP"].endswith("sw-st-warn")
        assert not any(k.startswith(("prod.", "energy.", "kv.CV")) for k in delta["text"])
        # The browser's digests are patched, not re-sent: the changed group is among the few keys sent.
        assert changed["g:kv.FSF1.MATTE_TEMP"] != sent["g:kv.FSF1.MATTE_TEMP"]
        assert len(changed) < len(sent) / 3


def _find(component: object, cid: str) -> object:
    if getattr(component, "id", None) == cid:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = _find(child, cid)
            if found is not None:
                return found
    return None  # type: ignore[return-value]
