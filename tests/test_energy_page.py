"""The energy page on a store the simulator filled (the small plant with its meter trees, three days): the
page and its callback for an executive, the Sankey at four levels with the flagged leak, money, the previous
period, CSV and Excel exports, bad requests, hostile names shown as text; in headless Chromium on the wall
and on a phone, English and Chinese, screenshots kept."""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from i18n import t
from plant.loader import load_plant
from plant.schema import Plant
from services.energy import EnergyService
from settings import Settings
from simulator.backfill import backfill
from store.db import make_engine, session_scope
from tests.energyutil import MINI, energy_plant_data
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
from webapp.live.summary import fmt_number

DAY = 86_400_000
T0 = plant_ms(load_plant(MINI), 2026, 3, 2)  # 2 Mar 00:00 in the plant file's zone (the sweep may replace it)
NOW = T0 + 3 * DAY - 2 * 3_600_000  # 22:00 on the third day
HOSTILE = "<script>alert(1)</script>=cmd"


@dataclass
class Store:
    settings: Settings
    plant: Plant


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("energy-page")
    data = energy_plant_data()
    data["energy"] = {
        "currency": "CNY",
        "prices": {"electricity": 0.6, "compressed_air": 0.12},
        "price_periods": [{"medium": "electricity", "price": 0.7, "valid_from": "2026-03-03"}],  # a new tariff
        "demand_charge": 38,
        "kgce_basis": "equivalent",
        "kgce": {"electricity": 0.3, "compressed_air": 0.04},
        "intensities": [
            {"id": "blow-power", "name": "Smelting area power per t of concentrate", "name_zh": "吨精矿熔炼电耗",
             "meters": ["E-SM"], "counters": ["FF-1.CONC_FED"], "limit": 5},
            {"id": "site-kgce", "name": "Site energy per t of acid", "name_zh": "吨酸综合能耗",
             "meters": ["E", "A"], "counters": ["AP-1.ACID"], "measure": "kgce", "limit": 1000},
        ],
        "tou": [
            {"id": "peak", "name": "Peak", "name_zh": "峰", "price": 1.05, "hours": ["08:00-11:00", "18:00-21:00"]},
            {"id": "flat", "name": "Flat", "name_zh": "平", "price": 0.65,
             "hours": ["07:00-08:00", "11:00-18:00", "21:00-23:00"]},
            {"id": "valley", "name": "Valley", "name_zh": "谷", "price": 0.32, "hours": ["23:00-07:00"]},
        ],
        "cost_plan": [
            {"meter": "E-SM", "month": "2026-03", "quantity": 60000, "price": 0.6},
            {"meter": "A", "month": "2026-03", "quantity": 5000000, "price": 0.1},
        ],
    }  # fmt: skip
    for m in data["meters"]:
        if m["id"] == "A-CV2":
            m["name"] = HOSTILE
    path = tmp / "plant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    settings = seed_store(tmp, path)
    # twelve days: three to look at, and the days before them for the baseline
    backfill(Plant.model_validate(data), settings.db_url, 12, step_s=120, seed=5, end_ms=NOW, progress=False)
    # the energy service over the backfilled days, as demo.history runs it: each plant day's forecast issued
    engine = make_engine(settings.db_url)
    service = EnergyService(Plant.model_validate(data), engine)
    issued = [service.issue(t) for t in range(NOW - 12 * DAY, NOW + 1, 900_000)]
    engine.dispose()
    assert sum(1 for n in issued if n) >= 3
    yield Store(settings, Plant.model_validate(data))


def _app(store: Store) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    app = create_app(store.settings)
    web.set_clock(app.server, lambda: NOW / 1000)
    return app


def _refresh(app: Any, client: Any, medium: str, kind: str, date: str, unit: str) -> list[Any]:
    key = callback_key(app, "energy-sankey.figure")
    inputs = [
        {"id": "energy-medium", "property": "value", "value": medium},
        {"id": "energy-period", "property": "value", "value": kind},
        {"id": "energy-date", "property": "date", "value": date},
        {"id": "energy-unit", "property": "value", "value": unit},
        {"id": "shell-tick", "property": "n_intervals", "value": 0},
    ]
    resp = client.post("/_dash-update-component", json=callback_body(key, inputs, [], ["energy-medium.value"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    out = resp.get_json()["response"]
    return [next(iter(out[k].values())) for k in out]


def _find(tree: Any, pred: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(tree, dict):
        if pred(tree):
            found.append(tree)
        for v in tree.values():
            found.extend(_find(v, pred))
    elif isinstance(tree, list):
        for v in tree:
            found.extend(_find(v, pred))
    return found


def _texts(tree: Any) -> list[str]:
    out: list[str] = []
    if isinstance(tree, str):
        out.append(tree)
    elif isinstance(tree, dict):
        for v in tree.values():
            out.extend(_texts(v))
    elif isinstance(tree, list):
        for v in tree:
            out.extend(_texts(v))
    return out


def test_page_for_an_executive_sankey_money_and_previous_period(store: Store) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    resp = client.post("/_dash-update-component", json=router_body("/energy", "?medium=compressed_air"))
    assert resp.status_code == 200
    assert "energy-sankey" in resp.get_data(as_text=True)
    outs = _refresh(app, client, "compressed_air", "day", "2026-03-03", "energy")
    cards, sankey, trend, top, balance, _shifts, _crews, intensity, baseline, tou, _cost, forecast, exports, error = (
        outs
    )
    # the forecast of today and the six days after it from the demo plan the backfill imported, and its
    # backtest over the few days stored: too few forecasts to claim it beats the naive one
    today = datetime.fromtimestamp(NOW / 1000, load_plant(MINI).tz()).date()
    f_rows = [r for r in _find(forecast, lambda d: d.get("type") == "Tr") if _texts(r)[:1] != ["Day"]]
    f_cells = [[_texts(td)[0] for td in r["props"]["children"]] for r in f_rows]
    assert [c[0] for c in f_cells[:7]] == [(today + timedelta(days=i)).isoformat() for i in range(7)]
    for c in f_cells[:7]:
        plan, value = (float(c[i].replace(",", "")) for i in (1, 2))
        low, high = (float(x.replace(",", "")) for x in c[3].split(" – "))
        assert plan > 0 and low < value < high
    assert "1 d ahead" in [c[0] for c in f_cells[7:]]
    assert t("energy.forecast.too_few", "en") in _texts(forecast)
    words = [x for x in _texts(baseline) if not x[:1].isupper() or " " in x or x in ("R²", "CV(RMSE)", "NMBE")]
    words = [x for x in words if not x.startswith("dash_") and x not in ("Th", "Td", "Tr")]
    r2 = float(words[words.index("R²") + 1])
    assert 0 <= r2 <= 1 and any(x.startswith("E = ") for x in words)
    assert any(d.get("props", {}).get("id") == "energy-cusum" for d in _find(baseline, lambda d: "props" in d))
    rows = _find(intensity, lambda d: d.get("type") == "Tr" and d.get("namespace") == "dash_html_components")
    cells = [[_texts(td) for td in r["props"]["children"]] for r in rows[1:]]
    assert [c[0][0] for c in cells] == ["Smelting area power per t of concentrate", "Site energy per t of acid"]
    energy, made, per_t = (float(cells[0][i][0].split()[0].replace(",", "")) for i in (1, 2, 3))
    assert per_t == pytest.approx(energy / made, rel=0.01) and cells[0][3][0].endswith("kWh/t")
    assert cells[0][5][0] == t("energy.status.over", "en") and cells[1][5][0] == "OK"  # a limit of 5 kWh/t: over
    assert cells[1][3][0].endswith("kgce/t") and "equivalent" in cells[1][6][0]
    card_texts = _texts(cards)
    assert "1" in card_texts  # one meter above the threshold: the smelting area's compressed-air main
    assert error == ""
    s = sankey["data"][0]
    labels = s["node"]["label"]
    # four levels (site, area, process, equipment) and the flagged losses node of the smelting area's main
    assert {"A", "A SM", "A SM conv", "A CV1"} <= set(labels)
    flagged = [lb for lb, c in zip(labels, s["node"]["color"], strict=True) if c == "#e5484d"]
    assert len(flagged) == 1 and flagged[0].startswith(t("energy.losses", "en"))
    assert HOSTILE not in labels and "&lt;script&gt;alert(1)&lt;/script&gt;=cmd" in labels
    energy_total = sum(s["link"]["value"][i] for i, src in enumerate(s["link"]["source"]) if labels[src] == "A")
    total = next(x for x in card_texts if x.endswith(" Nm3"))
    assert float(total.split()[0].replace(",", "")) == pytest.approx(energy_total, abs=1)
    assert next(x for x in _texts(top) if x.startswith("A ")) == "A CV1"  # the biggest first
    texts = _texts(balance)
    assert t("energy.status.flagged", "en") in texts and texts.count(t("energy.status.flagged", "en")) == 1
    assert len(trend["data"]) == 2 and len(trend["data"][0]["y"]) == 24  # hours of the day, and the day before
    assert all(v is not None for v in trend["data"][1]["y"])
    assert "export.xlsx" in json.dumps(exports)
    # in money: the same flows priced hour by hour (compressed air has one price: the flows times it)
    money = _refresh(app, client, "compressed_air", "day", "2026-03-03", "money")[1]["data"][0]
    money_total = sum(money["link"]["value"][i] for i, src in enumerate(money["link"]["source"]) if labels[src] == "A")
    assert money_total == pytest.approx(energy_total * 0.12)
    # a week in Chinese: the area and losses names in Chinese
    client.set_cookie("sw_lang", "zh")
    zh = _refresh(app, client, "electricity", "week", "2026-03-03", "energy")
    assert "表E-SM" in zh[1]["data"][0]["node"]["label"]
    assert zh[13] == ""
    # electricity by time of use: the bands add up to the site's electricity of the day, each at its price
    client.set_cookie("sw_lang", "en")
    elec = _refresh(app, client, "electricity", "day", "2026-03-03", "energy")
    s_el = elec[1]["data"][0]
    root = s_el["node"]["label"].index("E")
    site_kwh = sum(v for src, v in zip(s_el["link"]["source"], s_el["link"]["value"], strict=True) if src == root)
    resp = client.get("/energy/export.csv?medium=electricity&period=day&date=2026-03-03&lang=en&table=tou")
    bands = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))[1:]
    assert [b[0] for b in bands] == ["Peak", "Flat", "Valley"]
    assert sum(float(b[2]) for b in bands) == pytest.approx(site_kwh, rel=1e-3)
    assert all(float(b[4]) == pytest.approx(float(b[2]) * float(b[3]), rel=1e-6) for b in bands)
    assert [b[6] for b in bands] == ["0", "0", "0"]
    assert _texts(tou).count("Peak") == 1
    # a bad request answers with a message, never a server error
    bad = _refresh(app, client, "plutonium", "day", "2026-03-03", "energy")
    assert bad == [t("energy.bad_medium", "en")]  # only the message changes


def test_exports_csv_and_excel(store: Store) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    q = "medium=compressed_air&period=day&date=2026-03-03&lang=en"
    resp = client.get(f"/energy/export.csv?{q}&table=balance")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == t("energy.col.parent", "en")
    status = {r[0]: r[-1] for r in rows[1:]}
    assert status == {"A": "OK", "A SM": t("energy.status.flagged", "en")}
    top = list(csv.reader(io.StringIO(client.get(f"/energy/export.csv?{q}&table=top").get_data(as_text=True))))
    names = [r[0] for r in top[1:]]
    assert "'" + HOSTILE not in names and HOSTILE in names  # starts with "<": no formula
    assert all(float(r[1]) > 0 for r in top[1:])
    xlsx = client.get(f"/energy/export.xlsx?{q}")
    assert xlsx.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(xlsx.data))
    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 14  # one per table
    # the cost of electricity over the week so far: each day at its price (0.6 on Monday, 0.7 from the new
    # tariff on Tuesday), the demand charge on the highest hour, the cost per tonne of acid
    wk = "medium=electricity&period=week&date=2026-03-03&lang=en"
    cost = dict(_csv_rows(client, f"{wk}&table=cost")[1:])
    days = _csv_rows(client, f"{wk}&table=trend")[1:]
    assert [d[0][:10] for d in days] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    # electricity is priced hour by hour at its time-of-use band (the dated flat price does not apply), band by
    # band in the cost table, and split by day: each day's bands add up to the day's use and to the week's bands
    bands = _csv_rows(client, f"{wk}&table=tou")[1:]
    assert [k for k in cost if " kWh at " in k] == [f"{b[0]}: {float(b[2]):,.0f} kWh at {b[3]} CNY/kWh" for b in bands]
    assert not [k for k in cost if k.startswith("Price ")]
    priced = sum(float(b[4]) for b in bands)
    assert float(cost["Energy cost (CNY)"]) == pytest.approx(priced, rel=1e-6)
    split = _csv_rows(client, f"{wk}&table=tou_periods")
    assert split[0][0] == "Day" and [r[0] for r in split[1:]] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    for r, d in zip(split[1:], days, strict=True):
        assert float(r[-3]) == pytest.approx(float(d[1]), rel=1e-6)  # the day's kWh
        assert float(r[-2]) == pytest.approx(sum(float(x) for x in r[2:-3:2]), rel=1e-6)  # its bands' cost
    for i, b in enumerate(bands):
        assert sum(float(r[2 + 2 * i]) for r in split[1:]) == pytest.approx(float(b[4]), rel=1e-6)
    hours = _csv_rows(client, "medium=electricity&period=week&date=2026-03-03&lang=en&table=trend")
    peak_key = next(k for k in cost if k.startswith("Maximum demand"))
    peak = float(cost[peak_key])
    share = (2 + 22 / 24) / 31  # two days and 22 h of a 31-day month
    assert f"{share:.2f} of a month" in next(k for k in cost if k.startswith("Demand charge for"))
    demand = float(cost[next(k for k in cost if k.startswith("Demand charge for"))])
    assert demand == pytest.approx(peak * 38 * share, rel=1e-3)
    day_hours = _csv_rows(client, "medium=electricity&period=day&date=" + peak_key[-17:-7] + "&lang=en&table=trend")
    assert peak == pytest.approx(max(float(h[1]) for h in day_hours[1:] if h[1]), rel=1e-6)  # the highest hour
    total = float(cost["Total cost (CNY)"])
    assert total == pytest.approx(float(cost["Energy cost (CNY)"]) + demand, rel=1e-6)
    made_key = next(k for k in cost if k.startswith("Production"))
    known = int(made_key.rsplit("; ", 1)[1].split(" ")[0])  # days with their production known
    assert 1 <= known <= 3 and made_key.endswith(f"; {known} of 3 days known)")
    # the cost of the days whose production is known (and their share of the demand charge) per tonne made then
    parts = [(float(r[-2]), (1 if i < 2 else 22 / 24) / 31) for i, r in enumerate(split[1:])]
    per_t = float(cost["Cost per tonne (CNY/t)"])
    made = float(cost[made_key])
    assert any(
        per_t == pytest.approx(sum(c + demand * sh / share for c, sh in pick) / made, rel=1e-6)
        for pick in itertools.combinations(parts, known)
    )
    assert len(hours) > 1
    # the forecast and its backtest as plain numbers: seven days with their plan inside their interval
    fc = list(csv.reader(io.StringIO(client.get(f"/energy/export.csv?{q}&table=forecast").get_data(as_text=True))))
    assert len(fc) == 8 and all(float(r[3]) < float(r[2]) < float(r[4]) and float(r[1]) > 0 for r in fc[1:])
    bt = list(csv.reader(io.StringIO(client.get(f"/energy/export.csv?{q}&table=backtest").get_data(as_text=True))))
    assert [r[0] for r in bt[1:]] == ["1", "2", "3", "7"]
    assert client.get(f"/energy/export.csv?{q}&table=nope").status_code == 400
    assert client.get("/energy/export.csv?medium=x&period=day").status_code == 400
    assert client.get("/energy/export.xlsx?medium=electricity&period=day&date=03/03/2026").status_code == 400
    # the on-call role may not
    assert logged_in_client(app, store.settings, "on-call").get(f"/energy/export.csv?{q}").status_code == 403


def test_issued_forecasts_stored_once_a_day_never_changed_and_judged(store: Store) -> None:
    from engine.energy import PeriodKind, meter_tree, period_of, shift_starts
    from plant.schema import Medium
    from store.figures import daily_energy, issue_forecasts
    from store.models import EnergyForecast

    plant = store.plant
    engine = make_engine(store.settings.db_url)
    try:
        with session_scope(engine) as s:
            rows = s.scalars(select(EnergyForecast).order_by(EnergyForecast.id)).all()
            before = [(r.id, r.issue_day, r.target_day, r.value, r.low, r.high, r.version) for r in rows]
            days = sorted({r.issue_day for r in rows})
        assert len(days) >= 3 and {v for *_, v in before} == {1}  # once a day, one version each
        assert all(r.model == rows[0].model and len(r.inputs) == 16 for r in rows)
        today = datetime.fromtimestamp(NOW / 1000, plant.tz()).date().isoformat()
        assert days[-1] == today and all(r.horizon == 1 for r in rows if r.target_day == r.issue_day)
        # the service again on the same day (a restart, another process): nothing new
        assert EnergyService(plant, engine).issue(NOW) == 0
        # issued again on purpose: a new version beside the first, which stays as it was
        with session_scope(engine) as s:
            assert issue_forecasts(s, plant, NOW, again=True) > 0
        with session_scope(engine) as s:
            after = s.scalars(select(EnergyForecast).order_by(EnergyForecast.id)).all()
            old = [(r.id, r.issue_day, r.target_day, r.value, r.low, r.high, r.version) for r in after[: len(before)]]
            assert old == before and {r.version for r in after[len(before) :]} == {2}
            # the actual of each judged day: the site's metered total of that day
            tree = meter_tree(plant, Medium.COMPRESSED_AIR)  # (the mini plant's furnace feed has too few known days)
            judged = sorted({r.target_day for r in rows if r.target_day < today and r.medium == "compressed_air"})
            spans = [
                period_of(PeriodKind.DAY, plant_ms(plant, *map(int, d.split("-"))) + 3_600_000, plant.tz(),
                          shift_starts(plant))
                for d in judged
            ]  # fmt: skip
            actual = {d: daily_energy(s, plant, tree, [], [p])[0][0] for d, p in zip(judged, spans, strict=True)}
    finally:
        engine.dispose()
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    q = "medium=compressed_air&period=day&date=2026-03-03&lang=en"
    got = _csv_rows(client, f"{q}&table=issued")[1:]
    assert got and {r[0] for r in got} == set(judged)
    errs: dict[int, list[float]] = {}
    for day, _at, horizon, value, _low, _high, act, err, model in got:
        assert float(act) == pytest.approx(actual[day], rel=1e-9)
        assert float(err) == pytest.approx((float(value) - actual[day]) / actual[day], abs=2e-6)  # CSV: 6 decimals
        assert model == rows[0].model
        errs.setdefault(int(horizon), []).append(abs(float(err)))
        # the first issue is judged: its value is the stored version 1
        assert any(b[2] == day and b[3] == pytest.approx(float(value)) for b in before)
    per_h = _csv_rows(client, f"{q}&table=issued_error")[1:]
    assert [int(r[0]) for r in per_h] == sorted(errs)
    for h, n, mape, *_ in per_h:
        assert int(n) == len(errs[int(h)]) and float(mape) == pytest.approx(sum(errs[int(h)]) / int(n), abs=2e-6)
    # on the page, in both languages
    for lang in ("en", "zh"):
        client.set_cookie("sw_lang", lang)
        forecast = _refresh(app, client, "compressed_air", "day", "2026-03-03", "energy")[11]
        texts = _texts(forecast)
        assert t("energy.issued", lang) in texts and t("energy.issued.real_error", lang) in texts
        assert judged[-1] in texts


def test_cost_plan_against_actual_volume_and_price(store: Store) -> None:
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    # compressed air has one price (0.12 a Nm3): the month so far at that price against the plan prorated
    m = "period=month&date=2026-03-03&lang=en"
    (row,) = _csv_rows(client, f"medium=compressed_air&{m}&table=cost_plan")[1:]
    share = (NOW - plant_ms(store.plant, 2026, 3, 1)) / (31 * DAY)
    days = _csv_rows(client, f"medium=compressed_air&{m}&table=trend")[1:]
    used = sum(float(d[1]) for d in days)
    name = row[0]
    pq_, pp_, pc_, aq_, ap_, ac_, var_, vol_, price_ = (float(x) for x in row[1:])
    assert name == "A" and pq_ == pytest.approx(5_000_000 * share, rel=1e-6) and pp_ == 0.1
    assert aq_ == pytest.approx(used, rel=1e-6) and ap_ == pytest.approx(0.12) and ac_ == pytest.approx(used * 0.12)
    assert pc_ == pytest.approx(pq_ * 0.1, rel=1e-6) and var_ == pytest.approx(ac_ - pc_, abs=1e-3)
    assert vol_ == pytest.approx((aq_ - pq_) * 0.1, abs=1e-3) and price_ == pytest.approx((ap_ - 0.1) * aq_, abs=1e-3)
    # electricity at its time-of-use bands: the price paid lies between the valley's and the peak's
    (el,) = _csv_rows(client, f"medium=electricity&{m}&table=cost_plan")[1:]
    assert el[0] == "E SM" and 0.32 < float(el[5]) < 1.05
    assert float(el[7]) == pytest.approx(float(el[8]) + float(el[9]), abs=1e-3)
    # a day split by shift: the shifts' time-of-use cost adds up to the day's bands
    d = "medium=electricity&period=day&date=2026-03-03&lang=en"
    shifts = _csv_rows(client, f"{d}&table=tou_periods")
    bands = _csv_rows(client, f"{d}&table=tou")[1:]
    assert shifts[0][0] == "Shift" and len(shifts) - 1 == len(store.plant.site.shifts)
    assert all(r[0].startswith("2026-03-0") and " " in r[0] for r in shifts[1:])
    total = sum(float(b[4]) for b in bands)
    assert sum(float(r[-2]) for r in shifts[1:]) == pytest.approx(total, rel=1e-6)
    # a month without a plan says so, in both languages
    for lang in ("en", "zh"):
        client.set_cookie("sw_lang", lang)
        outs = _refresh(app, client, "compressed_air", "month", "2026-02-10", "energy")
        assert t("energy.plan.none", lang, month="2026-02") in _texts(outs[10])
        outs = _refresh(app, client, "compressed_air", "month", "2026-03-03", "energy")
        assert t("energy.plan.volume", lang) + " (CNY)" in _texts(outs[10])


def test_the_same_periods_cost_is_one_number_on_every_table_of_the_page(store: Store) -> None:
    """Electricity at its time-of-use bands: the shifts, the trend, the top consumers, the card, the Sankey in
    money and the cost table price every hour at its band, so a period costs the same wherever it is shown."""
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    for kind in ("day", "week"):
        q = f"medium=electricity&period={kind}&date=2026-03-03&lang=en"
        bands = _csv_rows(client, f"{q}&table=tou")[1:]
        by_band = sum(float(b[4]) for b in bands)
        cost = dict(_csv_rows(client, f"{q}&table=cost")[1:])
        assert float(cost["Energy cost (CNY)"]) == pytest.approx(by_band, rel=1e-9)
        shifts = _csv_rows(client, f"{q}&table=shifts")
        assert shifts[0][3] == "Cost (CNY)" and len(shifts) > 3
        assert sum(float(r[3]) for r in shifts[1:] if r[3]) == pytest.approx(by_band, rel=1e-9)
        trend = _csv_rows(client, f"{q}&table=trend")[1:]
        assert sum(float(r[2]) for r in trend if r[2]) == pytest.approx(by_band, rel=1e-9)
        split = _csv_rows(client, f"{q}&table=tou_periods")[1:]
        if kind == "day":  # the same shifts, one by one
            assert [float(r[3]) for r in shifts[1:]] == pytest.approx([float(r[-2]) for r in split], rel=1e-9)
        else:  # the same days
            assert [float(r[2]) for r in trend] == pytest.approx([float(r[-2]) for r in split], rel=1e-9)
        # not the flat price: the cost of a kWh differs between shifts (the valley's night against the day)
        per_kwh = {round(float(r[3]) / float(r[2]), 4) for r in shifts[1:] if r[2] and float(r[2]) > 0}
        assert len(per_kwh) > 1 and all(0.32 - 1e-9 <= x <= 1.05 + 1e-9 for x in per_kwh)
        # top consumers: each leaf priced hour by hour at the same bands, between the valley and the peak
        top = _csv_rows(client, f"{q}&table=top")[1:]
        assert top and all(0.32 <= float(r[2]) / float(r[1]) <= 1.05 for r in top if float(r[1]) > 0)
    # the card and the Sankey in money say the same as the tables
    outs = _refresh(app, client, "electricity", "day", "2026-03-03", "money")
    day_cost = sum(
        float(b[4]) for b in _csv_rows(client, "medium=electricity&period=day&date=2026-03-03&lang=en&table=tou")[1:]
    )
    assert f"{fmt_number(day_cost)} CNY" in _texts(outs[0])
    sankey = outs[1]["data"][0] if isinstance(outs[1], dict) else outs[1].to_plotly_json()["data"][0]
    top = _csv_rows(client, "medium=electricity&period=day&date=2026-03-03&lang=en&table=top")[1:]
    links = sankey["link"]["value"]
    assert any(v == pytest.approx(float(top[0][2]), rel=1e-9) for v in links)


def test_per_crew_energy_production_intensity_and_cost_add_up_to_the_shifts(store: Store) -> None:
    """The per-crew table sums the period's shifts by crew (no rota in this plant file: shift X is crew X's):
    energy and cost as the shift table has them, production from the driver's counter, energy per tonne and
    its place against all crews; CSV and Excel, English and Chinese."""
    app = _app(store)
    client = logged_in_client(app, store.settings, "executive")
    q = "medium=electricity&period=week&date=2026-03-03&lang=en"
    shifts = _csv_rows(client, f"{q}&table=shifts")[1:]
    crews = _csv_rows(client, f"{q}&table=crews")
    assert crews[0] == [
        "Crew",
        "Shifts",
        "Amount (kWh)",
        "Production (t)",
        "Per tonne (kWh/t)",
        "Against all crews",
        "Cost (CNY)",
        "Shifts unknown",
    ]
    names = {s.id: s.name or s.id for s in store.plant.site.shifts}
    assert [r[0] for r in crews[1:]] == [names[s.id] for s in store.plant.site.shifts]
    for s_id, row in zip(names, crews[1:], strict=True):
        mine = [r for r in shifts if r[1] == s_id]
        assert int(row[1]) == len(mine)
        assert float(row[2]) == pytest.approx(sum(float(r[2]) for r in mine if r[2]), rel=1e-9)
        assert float(row[6]) == pytest.approx(sum(float(r[3]) for r in mine if r[3]), rel=1e-9)
        # per tonne over the shifts whose production is known too: that energy is the crew's or less
        assert float(row[3]) > 0 and 0 < float(row[4]) * float(row[3]) <= float(row[2]) * (1 + 1e-9)
    # the crews' costs add up to the period's energy cost; their intensities straddle all crews' together
    cost = dict(_csv_rows(client, f"{q}&table=cost")[1:])
    assert sum(float(r[6]) for r in crews[1:]) == pytest.approx(float(cost["Energy cost (CNY)"]), rel=1e-9)
    vs = [float(r[5]) for r in crews[1:]]
    assert min(vs) < 0 < max(vs) or all(abs(v) < 1e-9 for v in vs)
    overall = sum(float(r[4]) * float(r[3]) for r in crews[1:]) / sum(float(r[3]) for r in crews[1:])
    assert [float(r[4]) for r in crews[1:]] == pytest.approx(
        [overall * (1 + float(r[5])) for r in crews[1:]], rel=1e-6
    ), crews
    zh = _csv_rows(client, q.replace("lang=en", "lang=zh") + "&table=crews")
    first = store.plant.site.shifts[0]
    assert zh[0][0] == "班组" and zh[1][0] == (first.name_zh or first.name or first.id)
    book = zipfile.ZipFile(io.BytesIO(client.get(f"/energy/export.xlsx?{q}").data))
    assert "Crews" in book.read("xl/workbook.xml").decode()
    # on the page, in both languages
    for lang in ("en", "zh"):
        client.set_cookie("sw_lang", lang)
        texts = _texts(_refresh(app, client, "electricity", "week", "2026-03-03", "energy")[6])
        assert t("energy.col.crew", lang) in texts and t("energy.col.vs_crews", lang) in texts


def _csv_rows(client: Any, query: str) -> list[list[str]]:
    resp = client.get(f"/energy/export.csv?{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.slow
def test_energy_page_wall_and_phone_in_the_browser(store: Store) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with serve_app(store.settings, role="executive", clock=lambda: NOW / 1000) as base, browser() as b:
        for width, height, lang in ((1920, 1080, "en"), (1920, 1080, "zh"), (390, 844, "en"), (390, 844, "zh")):
            context = b.new_context(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            context.add_cookies([{"name": "sw_lang", "value": lang, "url": base}])
            page = context.new_page()
            errors, foreign = watch_page(page)
            page.goto(base + "/energy?medium=compressed_air&period=day&date=2026-03-03")
            page.wait_for_selector("#energy-sankey .sankey-node", timeout=WAIT_MS)
            page.wait_for_selector("#energy-trend .main-svg", timeout=WAIT_MS)
            page.wait_for_timeout(800)
            assert page.locator("#energy-sankey .sankey-node").count() >= 7
            text = page.inner_text("body")
            assert t("energy.status.flagged", lang) in text
            assert HOSTILE in text or lang == "zh"  # shown as text, not run (its Chinese name is plain)
            assert t("energy.forecast", lang) in text and t("energy.forecast.too_few", lang) in text
            assert t("energy.cost.total", lang, cur="CNY") in text
            assert not errors, errors
            assert not foreign, foreign
            page.screenshot(path=str(ARTIFACTS / f"energy-{width}x{height}-{lang}.png"), full_page=(width < 500))
            cost = page.locator("#energy-cost")
            cost.scroll_into_view_if_needed()
            cost.screenshot(path=str(ARTIFACTS / f"energy-cost-{width}x{height}-{lang}.png"))
            crews = page.locator("#energy-crews")
            crews.scroll_into_view_if_needed()
            assert t("energy.col.crew", lang) in crews.inner_text()
            crews.screenshot(path=str(ARTIFACTS / f"energy-crews-{width}x{height}-{lang}.png"))
            # nothing wider than the screen: the wall and the phone never scroll sideways
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            forecast = page.locator("#energy-forecast")
            forecast.scroll_into_view_if_needed()
            forecast.screenshot(path=str(ARTIFACTS / f"energy-forecast-{width}x{height}-{lang}.png"))
            context.close()
    assert Path(ARTIFACTS / "energy-1920x1080-zh.png").exists()


def test_an_empty_period_is_said_in_words_not_drawn_as_an_empty_sankey() -> None:
    """Plotly's Sankey throws "Invalid array length" in the browser on a diagram with no flow (a plant without
    meters of a medium); the page says "nothing in this period" instead."""
    from webapp.panels.energy.figures import sankey_figure

    empty = {"nodes": {}, "losses": {}, "price": None, "currency": "CNY", "unit": "kWh"}
    for lang, text in (("en", "Nothing in this period."), ("zh", None)):
        fig = sankey_figure(empty, "energy", lang)
        assert not [tr for tr in fig.data if tr.type == "sankey"]
        note = fig.layout.annotations[0].text
        assert note and (text is None or note == text)
