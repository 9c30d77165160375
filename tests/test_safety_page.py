"""The safety page's major hazard sources on the demo plant's store: grade, R and inputs, a reading over its
threshold, the leads' names for dispatchers and not for executives; English and Chinese in headless Chromium on
the wall and on a phone, screenshots kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.types import SampleIn
from i18n import label, t
from plant.loader import DEMO_PLANT, load_plant
from settings import Settings
from store.db import make_engine, session_scope
from store.samples import write_samples
from store.tags import tag_ids
from tests.webutil import (
    ARTIFACTS,
    alarm_row,
    browser,
    callback_body,
    callback_key,
    logged_in_client,
    page_body,
    router_body,
    screens,
    seed_store,
    serve_app,
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    tmp = tmp_path_factory.mktemp("safety-page")
    settings = seed_store(tmp, DEMO_PLANT)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        ids = tag_ids(s)
        now = int(time.time() * 1000)
        write_samples(s, [SampleIn(ids["AP-TK6.LEVEL"], now, 12.2), SampleIn(ids["HZ-BLD.ROOM_TEMP"], now, 24.0)])
        leads = [{"role": "main", "user": "liu.yang"}]
        s.add(
            alarm_row(
                "AP-TK6.LEVEL:HZH",
                now,
                source_type="hazard",
                source="HS-ACID-TANKS",
                zone="acid-tank-farm",
                area="acid-plant",
                value=12.2,
                limit=12.0,
                data={"hazard_source": "HS-ACID-TANKS", "tag": "AP-TK6.LEVEL", "responsible": leads},
            )
        )
        s.add(
            alarm_row(
                "violation:9",
                now,
                source_type="personnel",
                condition="hazard_intrusion",
                source="P0039",
                badge="P0039",
                zone="hazchem-store",
                area="acid-plant",
                data={
                    "event_id": 9,
                    "rule": "hazard_intrusion",
                    "hazard_source": "HS-HAZCHEM",
                    "responsible": leads,
                    "facts": {"hazard_source": "HS-HAZCHEM"},
                },
            )
        )
    engine.dispose()
    yield settings


def _body(settings: Settings, role: str, lang: str = "en") -> str:
    return page_body(settings, role, "/safety", lang=lang)


def _lead_names() -> list[str]:
    plant = load_plant(DEMO_PLANT)
    badges = {b.id: b for b in plant.badges}
    acid = next(hs for hs in plant.hazards.sources if hs.id == "HS-ACID-TANKS")
    return [label(badges[x.badge].name, None, "en") for x in acid.responsible if x.badge]


def test_executives_see_grades_inputs_and_readings_but_no_lead_names(settings: Settings) -> None:
    body = _body(settings, "executive")
    # GB 18218-2018 4.3.2/4.3.5 on the demo's values: acid tank farm R = 1.5 x 12 = 18, third grade
    assert "Acid tank farm (storage unit)" in body and t("safety.grade.3", "en") in body and '"18"' in body
    assert "8014-95-7" in body and t("safety.unlisted", "en") in body  # sulfuric acid: no Q, counts nothing
    assert t("safety.state.over", "en") in body  # the oleum tank at 12.2 m over its 12 m threshold
    assert t("safety.lead.main", "en") in body and "liu.yang" not in body
    assert not any(name in body for name in _lead_names())


def test_dispatchers_see_lead_names_and_chinese_reads_chinese(settings: Settings) -> None:
    body = _body(settings, "dispatcher")
    assert all(name in body for name in _lead_names()) and "liu.yang" in body
    zh = _body(settings, "dispatcher", "zh")
    assert "硫酸罐区（储存单元）" in zh and "三级" in zh and "超过阈值" in zh


def test_each_source_lists_its_alarms_links_the_map_and_refreshes(settings: Settings) -> None:
    from webapp.app import create_app

    body = _body(settings, "executive")
    # the oleum tank's level over its hazard threshold, and an intrusion into the hazchem store's fence
    assert "Oleum tank" in body or "AP-TK6" in body
    assert "entered major hazard source Hazardous-chemicals store (storage unit) without authorization" in body
    assert "Badge P0039" in body  # executives read the badge, not the name
    assert "/scene?at=1225,130" in body and t("safety.on_map", "en") in body  # the acid tank farm's fence centre
    zh = _body(settings, "dispatcher", "zh")
    assert "未经授权进入重大危险源：危险化学品库（储存单元）" in zh and "在三维地图上查看" in zh
    app = create_app(settings)
    client = logged_in_client(app, settings, "executive")
    assert client.post("/_dash-update-component", json=router_body("/safety")).status_code == 200
    key = callback_key(app, "safety-hz-cards.children")
    tick = [{"id": "shell-tick", "property": "n_intervals", "value": 3}]
    resp = client.post("/_dash-update-component", json=callback_body(key, tick, [], ["shell-tick.n_intervals"]))
    assert resp.status_code == 200 and "HS-HAZCHEM" in resp.get_data(as_text=True)
    tick[0]["value"] = 4  # between refreshes: nothing
    resp = client.post("/_dash-update-component", json=callback_body(key, tick, [], ["shell-tick.n_intervals"]))
    assert resp.status_code == 204


@pytest.mark.slow
def test_safety_page_wall_and_phone_in_the_browser(settings: Settings) -> None:
    with serve_app(settings, role="executive") as base, browser() as b:
        for page, lang in screens(b, base, "/safety?tab=sources", "#hz-HS-ACID-TANKS", "safety", settle_ms=500):
            text = page.inner_text("body")
            assert t("safety.title", lang) in text and t("safety.grade.3", lang) in text
    assert Path(ARTIFACTS / "safety-390x844-zh.png").exists()
