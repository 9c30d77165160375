"""The stock page without a browser: a dispatcher imports a stock list (a bad one is refused by line and cell and
stores nothing), records an issue and a receipt (an issue larger than on hand refused), all audited; an executive
reads quantities and values but not who made an entry, and may neither import nor record; the downloads are the
page's rows, hostile names kept as text (a formula-looking cell escaped in the CSV)."""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from settings import Settings
from store.db import make_engine, session_scope
from store.models import SecurityAudit, StockLedger
from tests.webutil import callback_key, logged_in_client, seed_store

GOOD = (
    "物料编码,物料名称,英文名称,单位,数量,单价,安全库存,仓库\n"
    "NZ-O2,氧枪喷头,Oxygen lance tip,个,6,2300,4,备件库\n"
    'BRG-6312,轴承 6312,=HYPERLINK("x"),个,20,420.5,8,备件库\n'
).encode()
BAD = "物料编码,物料名称,单位,数量,单价\nA-1,螺栓,个,abc,1\nA-2,螺母,furlong,1,1\n".encode()


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Settings]:
    from webapp.app import create_app

    settings = seed_store(tmp_path_factory.mktemp("stock"))
    return create_app(settings), settings


def _upload(app: Any, name: str, data: bytes) -> dict[str, Any]:
    key = callback_key(app, "stock-import-msg.children")
    return {
        "output": key,
        "outputs": {"id": "stock-import-msg", "property": "children"},
        "inputs": [
            {"id": "stock-upload", "property": "contents", "value": "data:;base64," + base64.b64encode(data).decode()}
        ],
        "state": [{"id": "stock-upload", "property": "filename", "value": name}],
        "changedPropIds": ["stock-upload.contents"],
    }


def _entry(app: Any, code: str, kind: str, qty: str, cost: str = "", ref: str = "") -> dict[str, Any]:
    key = callback_key(app, "stock-entry-msg.children")
    values = {"stock-item": code, "stock-kind": kind, "stock-qty": qty, "stock-cost": cost, "stock-ref": ref}
    return {
        "output": key,
        "outputs": {"id": "stock-entry-msg", "property": "children"},
        "inputs": [{"id": "stock-record", "property": "n_clicks", "value": 1}],
        "state": [{"id": k, "property": "value", "value": v} for k, v in values.items()],
        "changedPropIds": ["stock-record.n_clicks"],
    }


def _post(client: Any, body: dict[str, Any]) -> tuple[int, str]:
    resp = client.post("/_dash-update-component", json=body)
    return resp.status_code, resp.get_data(as_text=True)


def test_import_record_and_read(app_settings: tuple[Any, Settings]) -> None:
    app, settings = app_settings
    executive = logged_in_client(app, settings, "executive")
    dispatcher = logged_in_client(app, settings, "dispatcher")
    assert _post(executive, _upload(app, "s.csv", GOOD))[0] == 403
    status, text = _post(dispatcher, _upload(app, "bad.csv", BAD))
    assert status == 200 and "line 2, D2: 'abc' is not a number" in text and "line 3, C3" in text
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert s.scalars(select(StockLedger)).all() == []  # nothing half imported
    status, text = _post(dispatcher, _upload(app, "库存.csv", GOOD))
    assert status == 200 and "2 items added" in text
    assert _post(executive, _entry(app, "NZ-O2", "issue", "1"))[0] == 403
    status, text = _post(dispatcher, _entry(app, "NZ-O2", "issue", "3", ref="WO-88"))
    assert status == 200 and "3 pcs on hand" in text
    status, text = _post(dispatcher, _entry(app, "NZ-O2", "issue", "4"))
    assert status == 200 and "4 is more than the 3 on hand" in text
    status, text = _post(dispatcher, _entry(app, "NZ-O2", "receipt", "2", cost="2400", ref="DN-5"))
    assert status == 200 and "5 pcs on hand" in text
    with session_scope(engine) as s:
        rows = s.scalars(select(StockLedger).order_by(StockLedger.id)).all()
        audit = s.scalars(select(SecurityAudit).where(SecurityAudit.event.like("stock_%"))).all()
    engine.dispose()
    assert [(r.kind, r.qty_milli, r.user) for r in rows[2:]] == [
        ("issue", -3000, "test-dispatcher"),
        ("receipt", 2000, "test-dispatcher"),
    ]
    assert [(a.event, a.user) for a in audit] == [
        ("stock_imported", "test-dispatcher"),
        ("stock_entry", "test-dispatcher"),
        ("stock_entry", "test-dispatcher"),
    ]
    # the downloads: the dispatcher's ledger names who; the executive's does not
    got = dispatcher.get("/stock/export.csv?table=ledger&lang=en")
    assert got.status_code == 200 and "test-dispatcher" in got.get_data(as_text=True)
    got = executive.get("/stock/export.csv?table=ledger&lang=zh")
    body = got.get_data(as_text=True)
    assert got.status_code == 200 and "test-dispatcher" not in body and "经办人" not in body and "出库" in body
    items = list(csv.reader(io.StringIO(executive.get("/stock/export.csv?table=items&lang=en").get_data(as_text=True))))
    by_code = {r[0].lstrip("\ufeff"): r for r in items[1:]}
    # 6 x 2300 - 3 x 2300 + 2 x 2400 = 11700 for 5: 2340 each
    assert by_code["NZ-O2"][4] == "5" and by_code["NZ-O2"][9] == "2,340" and by_code["NZ-O2"][10] == "11,700"
    assert by_code["NZ-O2"][11] == "OK"
    assert by_code["BRG-6312"][1].startswith("'=HYPERLINK")  # a formula-looking name is text in Excel
    xlsx = executive.get("/stock/export.xlsx?lang=zh")
    assert xlsx.status_code == 200 and zipfile.is_zipfile(io.BytesIO(xlsx.data))
    assert executive.get("/stock/export.csv?table=nope").status_code == 400
    assert logged_in_client(app, settings, "on-call").get("/stock/export.csv").status_code == 403
    assert Path(settings.db_url.split("///", 1)[1]).exists()
