"""The environment page on a store the simulator filled (the small plant's stack with an SO2 exceedance and a NOx
analyser maintenance each day, two days, hours judged by the backfill): the page and its callback for an
executive, the exceedance log, the maintenance hour flagged and invalid, CSV and Excel exports, bad requests;
in headless Chromium on the wall and on a phone, English and Chinese, screenshots kept."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from i18n import t
from plant.loader import load_plant
from plant.schema import Plant
from settings import Settings
from simulator.backfill import backfill
from tests.emissionsutil import MINI, stack_plant_data
from tests.fakeclock import plant_ms
from tests.webutil import (
    ARTIFACTS,
    WAIT_MS,
    browser,
    callback_body,
    callback_key,
    logged_in_client,
    router_body,
    seed_store,
    serve_app,
    watch_page,
)

DAY = 86_400_000
T0 = plant_ms(load_plant(MINI), 2026, 3, 2)  # 2 Mar 00:00 in the plant file's zone (the sweep may replace it)
NOW = T0 + 2 * DAY - 2 * 3_600_000  # 3 Mar 22:00; the backfill starts 1 Mar 22:00
# The SO2 exceedance runs 2 h after the start for 100 min: 2 and 3 Mar 00:00-01:40 (hours 00:00 and 01:00
# over 400); the NOx analyser maintenance 10 h after the start for 30 min: 2 and 3 Mar 08:00-08:30.


@dataclass
class Store:
    settings: Settings
    plant: Plant


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("environment-page")
    data = stack_plant_data(incidents=True)
    path = tmp / "plant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    settings = seed_store(tmp, path)
    backfill(Plant.model_validate(data), settings.db_url, 2, step_s=60, seed=5, end_ms=NOW, progress=False)
    yield Store(settings, Plant.model_validate(data))


def _app(store: Store) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    app = create_app(store.settings)
    web.set_clock(app.server, lambda: NOW / 1000)
    return app


def _refresh(app: Any, client: Any, tag: str, date: str) -> list[Any]:
    key = callback_key(app, "env-hours.figure")
    inputs = [
        {"id": "env-pollutant", "property": "value", "value": tag},
        {"id": "env-date", "property": "date", "value": date},
        {"id": "shell-tick", "property": "n_intervals", "value": 0},
    ]
    resp = client.post("/_dash-update-component", json=callback_body(key, inputs, [], ["env-pollutant.value"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    out = resp.get_json()["response"]
    return [next(iter(out[k].values())) for k in out]


def _texts(tree: Any) -> list[str]:
    if isinstance(tree, str):
        return [tree]
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in _texts(v)]
    if isinstance(tree, list):
        return [x for v in tree for x in _texts(v)]
    return []


def _csv(client: Any, query: str) -> list[list[str]]:
    resp = client.get(f"/environment/export.csv?{query}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv", resp.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


def test_page_for_an_executive_exceedances_and_the_maintenance_hour(store: Store) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    resp = client.post("/_dash-update-component", json=router_body("/environment"))
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "env-hours" in body and "GB 25467-2010 Table 5" in body
    cards, hours, days, exceed, mass, exports, error = _refresh(app, client, "STK-1.SO2", "2026-03-03")
    assert error == ""
    # the exceedance log of March: SO2 at 00:00 and 01:00 on both days, nothing of NOx
    log = _texts(exceed)
    for hour in ("2026-03-02 00:00", "2026-03-02 01:00", "2026-03-03 00:00", "2026-03-03 01:00"):
        assert hour in log, (hour, log)
    assert t("env.pollutant.NOX", "en") not in log
    # hourly chart: the over-limit bars are those hours; the limit line at 400
    traces = {tr["name"]: tr for tr in hours["data"]}
    over = traces[t("env.legend.over", "en")]
    assert set(over["x"]) == {"2026-03-02 00:00", "2026-03-02 01:00", "2026-03-03 00:00", "2026-03-03 01:00"}
    assert all(y > 400 for y in over["y"])
    assert [s["y0"] for s in hours["layout"]["shapes"]] == [400]
    assert "4" in _texts(cards)  # exceedances this month
    # daily averages: both days counted, each with its exceedances
    dtr = {tr["name"]: tr for tr in days["data"]}
    assert dtr[t("env.legend.exc_day", "en")]["x"] == ["2026-03-02", "2026-03-03"]
    assert days["layout"]["xaxis"]["type"] == "date"  # days in order whatever their colour
    assert "export.xlsx" in str(exports) and mass
    # NOx: the maintenance hour 08:00 is invalid and flagged, never over the limit
    nox = _refresh(app, client, "STK-1.NOX", "2026-03-03")[1]
    flagged = {tr["name"]: tr for tr in nox["data"]}[t("env.legend.flagged", "en")]
    assert "2026-03-03 08:00" in flagged["x"] and "2026-03-02 08:00" in flagged["x"]
    i = flagged["x"].index("2026-03-03 08:00")
    assert (
        t("env.flag.maintenance", "en") in flagged["customdata"][i]
        and t("env.invalid", "en") in flagged["customdata"][i]
    )
    # in Chinese
    client.set_cookie("sw_lang", "zh")
    zh = _refresh(app, client, "STK-1.SO2", "2026-03-03")
    assert "二氧化硫" in _texts(zh[3]) and "2026-03-03 00:00" in _texts(zh[3])
    # bad requests answer with a message only
    assert _refresh(app, client, "FF-1.TEMP", "2026-03-03") == [t("env.bad_pollutant", "zh")]
    assert _refresh(app, client, "STK-1.SO2", "2027-01-01") == [t("env.bad_date", "zh")]


def test_exports_csv_and_excel(store: Store) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    q = "date=2026-03-03&lang=en"
    rows = _csv(client, f"{q}&table=exceedances")
    assert rows[0] == [t(f"env.col.{k}", "en") for k in ("hour", "stack", "pollutant", "value", "limit", "flags")]
    assert sorted(r[0] for r in rows[1:]) == [
        "2026-03-02 00:00",
        "2026-03-02 01:00",
        "2026-03-03 00:00",
        "2026-03-03 01:00",
    ]
    assert all(r[1] == "Main stack" and r[2] == "SO2" and float(r[3]) > 400 and r[4] == "400" for r in rows[1:])
    hours = _csv(client, f"{q}&table=hours")
    nox8 = next(r for r in hours[1:] if r[0] == "2026-03-03 08:00" and r[2] == "NOx")
    assert nox8[5] == "no" and "maintenance" in nox8[6] and nox8[8] == ""  # invalid: no mass
    mass = _csv(client, f"{q}&table=mass")
    so2 = next(r for r in mass[1:] if r[2] == "SO2")
    assert float(so2[3]) > 0 and int(so2[4]) >= 40
    xlsx = client.get(f"/environment/export.xlsx?{q}")
    assert xlsx.status_code == 200
    sheets = [n for n in zipfile.ZipFile(io.BytesIO(xlsx.data)).namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 4
    assert client.get(f"/environment/export.csv?{q}&table=nope").status_code == 400
    assert client.get("/environment/export.csv?date=03/03/2026").status_code == 400
    assert logged_in_client(app, store.settings, "on-call").get(f"/environment/export.csv?{q}").status_code == 403


@pytest.mark.slow
def test_environment_page_wall_and_phone_in_the_browser(store: Store) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(store.settings, role="executive", clock=lambda: NOW / 1000) as base, browser() as b:
        for width, height, lang in ((1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")):
            context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/environment")
            page.wait_for_selector("#env-hours .main-svg", timeout=WAIT_MS)
            page.wait_for_selector("#env-days .main-svg", timeout=WAIT_MS)
            page.wait_for_timeout(800)
            text = page.inner_text("body")
            assert t("env.title", lang) in text and "2026-03-03 01:00" in text
            assert not errors, errors
            assert not foreign, foreign
            page.screenshot(path=str(ARTIFACTS / f"environment-{width}x{height}-{lang}.png"), full_page=(width < 500))
            context.close()
    assert Path(ARTIFACTS / "environment-1920x1080-zh.png").exists()
