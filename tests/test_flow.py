"""The process flow view: the flowsheet from the plant file (placement, key tags, refused references), a unit's
status from live states, and the page over ten backfilled hours of the demo plant (every unit drawn with its
live state, hostile plant-file text escaped, a unit's detail and trends)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.flow import flowsheet, unit_status
from plant.loader import PlantFileError, load_plant
from plant.schema import Flowsheet
from tests.test_production_page import DEMO, Seeded, seed_production
from tests.webutil import request_as


def _sheet(units: list[dict[str, Any]], streams: list[dict[str, Any]]) -> Flowsheet:
    return Flowsheet.model_validate({"units": units, "streams": streams})


def test_demo_flowsheet_places_every_unit_with_its_equipment_and_key_tags() -> None:
    plant = load_plant(DEMO)
    flow = flowsheet(plant)
    by_id = {u.id: u for u in flow.units}
    assert list(by_id) == [u.id for u in plant.production.flowsheet.units]
    assert (by_id["smelting"].col, by_id["smelting"].row) == (1, 1)
    assert by_id["smelting"].tags == ("FSF1.CONC_FEED_RATE", "FSF1.MATTE_TEMP", "FSF1.MATTE_GRADE")
    assert "FSF1" in by_id["smelting"].equipment and "CV1" in by_id["converting"].equipment
    # a unit without tags in the plant file takes the smelting chain's picks for its process
    assert by_id["converting"].tags and all(t.startswith("CV") for t in by_id["converting"].tags)
    assert flow.columns == 6 and flow.rows == 3
    assert {s.id for s in flow.streams} >= {"matte", "blister", "anodes"}
    assert all(s.source in by_id and s.target in by_id for s in flow.streams)


def test_units_without_a_place_take_their_depth_along_the_streams() -> None:
    plant = load_plant(DEMO)
    units = [
        {"id": "a", "name": "A", "process": "smelting"},
        {"id": "b", "name": "B", "process": "converting"},
        {"id": "c", "name": "C", "process": "acid"},
        {"id": "d", "name": "D", "process": "fire_refining"},
    ]
    streams = [
        {"id": "ab", "name": "ab", "source": "a", "target": "b"},
        {"id": "ac", "name": "ac", "source": "a", "target": "c"},
        {"id": "bd", "name": "bd", "source": "b", "target": "d"},
        {"id": "da", "name": "back", "source": "d", "target": "a"},  # a cycle does not loop for ever
    ]
    other = plant.model_copy(
        update={"production": plant.production.model_copy(update={"flowsheet": _sheet(units, streams)})}
    )
    placed = {u.id: (u.col, u.row) for u in flowsheet(other).units}
    assert placed["b"][0] == placed["c"][0] == placed["a"][0] + 1
    assert placed["b"][1] != placed["c"][1]
    assert placed["d"][0] > placed["b"][0]


def test_bad_flowsheets_are_refused_naming_the_entry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown flowsheet unit 'nowhere'"):
        _sheet(
            [{"id": "a", "name": "A", "process": "smelting"}],
            [{"id": "s", "name": "s", "source": "a", "target": "nowhere"}],
        )
    with pytest.raises(ValueError, match="duplicate flowsheet unit id 'a'"):
        _sheet([{"id": "a", "name": "A", "process": "x"}, {"id": "a", "name": "A2", "process": "x"}], [])
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw["production"]["flowsheet"]["units"][2]["tags"] = ["FSF1.NO_SUCH_TAG"]
    raw["production"]["flowsheet"]["units"][1]["process"] = "no_process"
    raw["production"]["flowsheet"]["streams"][0]["tag"] = "NOPE.X"
    bad = tmp_path / "plant.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PlantFileError) as err:
        load_plant(bad)
    text = str(err.value)
    assert "production.flowsheet.units[2] (smelting).tags: unknown tag 'FSF1.NO_SUCH_TAG'" in text
    assert "production.flowsheet.units[1] (oxygen).process: no equipment has process 'no_process'" in text
    assert "production.flowsheet.streams[0] (conc).tag: unknown tag 'NOPE.X'" in text


def test_unit_status_is_its_worst_state() -> None:
    flow = flowsheet(load_plant(DEMO))
    conv = next(u for u in flow.units if u.id == "converting")
    states = dict.fromkeys(conv.equipment, "run")
    st = unit_status(conv, states, alarms=2)
    assert (st.state, st.running, st.known, st.alarms) == ("run", len(conv.equipment), len(conv.equipment), 2)
    states[conv.equipment[0]] = "maintenance"
    assert unit_status(conv, states).state == "maintenance"
    states[conv.equipment[1]] = "fault"
    st = unit_status(conv, states)
    assert st.state == "fault" and st.running == len(conv.equipment) - 2
    assert unit_status(conv, {}).state == "none"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_production(tmp_path_factory.mktemp("flow"))


def _texts(fig: Any) -> str:
    return " ".join(str(a.text) for a in fig.layout.annotations)


def smelting_tags(flow: Any) -> tuple[str, ...]:
    return next(u.tags for u in flow.units if u.id == "smelting")


def test_page_draws_the_live_flowsheet_and_a_units_detail(seeded: Seeded) -> None:
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.flow import flow_live

    app = create_app(seeded.settings)
    web.set_clock(app.server, seeded.clock)
    plant = load_plant(DEMO)
    flow = flowsheet(plant)
    with request_as(app, seeded.settings, "/production/flow", "executive"):
        from webapp.pages import flow as page

        live = flow_live(plant, flow)
        assert set(live["units"]) == {u.id for u in flow.units}
        smelting = live["units"]["smelting"]
        assert smelting["known"] >= 1 and smelting["state"] in ("run", "idle", "stopped", "maintenance", "fault")
        assert smelting["values"][0]["text"] != "–"  # ten hours of history: the feed rate has a value
        assert live["streams"]["conc"] is not None and live["streams"]["blister"] is None
        fig = page.flow_figure(flow, live, "zh", phone=False, selected="smelting")
        text = _texts(fig)
        assert "闪速熔炼" in text and "冰铜" in text
        assert len(fig.data[0].customdata) == len(flow.units)
        # every value drawn is its own click target, named after its tag: a unit's and a stream's
        targets = [a.name for a in fig.layout.annotations if a.captureevents]
        assert {f"tag:{tg}" for tg in smelting_tags(flow)} <= set(targets)
        assert "tag:FSF1.OXYGEN_FLOW" in targets
        one = page.trends_figure(plant, None, "en", "FSF1.MATTE_TEMP")
        assert [tr.name for tr in one.data] == ["FSF1.MATTE_TEMP"] and len(one.data[0].y) > 10
        detail = page.detail_block(flow, plant, live, "smelting", "en")
        assert "Flash smelting" in str(detail) and "Flash smelting furnace" in str(detail)
        trends = page.trends_figure(plant, next(u for u in flow.units if u.id == "smelting"), "en")
        assert len(trends.data) == 3 and all(len(tr.y) > 10 for tr in trends.data)
        # hostile text of a plant file is shown as text, never as markup
        evil = dataclasses.replace(flow.units[0], name="<script>alert(1)</script>", name_zh=None)
        hostile = flow.__class__((evil, *flow.units[1:]), flow.streams)
        text = _texts(page.flow_figure(hostile, live, "en", phone=True))
        assert "<script>" not in text and "&lt;script&gt;" in text
        layout = page.layout(unit="acid")
        assert "Acid plant" in str(layout)
        linked = str(page.layout(unit="smelting", tag="FSF1.MATTE_TEMP"))  # a link to one value's trend
        assert "'name': 'FSF1.MATTE_TEMP'" in linked and "'name': 'FSF1.MATTE_GRADE'" not in linked
