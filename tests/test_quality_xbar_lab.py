"""The quality view's X-bar and R chart (a plant day's lab results as a subgroup, limits from the engine) and
the lab CSV upload from the page: refused files name the line and cell at fault and import nothing, hostile
text comes back as text, a good file is imported and audited, executives may not import; real SQLite store."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from engine.spc import xbar_r_chart
from plant.loader import load_plant
from settings import ROOT, Settings
from store.db import make_engine, migrate, session_scope
from store.models import Sample, SecurityAudit
from store.spc import import_lab_csv
from store.tags import sync_tags
from tests.fakeclock import plant_ms
from tests.webutil import callback_key, logged_in_client, request_as

DEMO = ROOT / "plant" / "demo_smelter.yaml"
TAG = "FSF1.LAB_MATTE_CU"
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, int]:
    tmp: Path = tmp_path_factory.mktemp("quality-xbar")
    plant = load_plant(DEMO)
    end = plant_ms(plant, 2026, 3, 12, 12, 0)
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'web.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    rng = np.random.default_rng(3)
    lines = ["time,tag,value"]
    for d in range(20, 0, -1):  # 20 plant days of three results (06:00, 14:00, 22:00); one day with two
        day = plant_ms(plant, 2026, 3, 12, 0, 0) - d * DAY_MS
        for k, h in enumerate((6, 14, 22)):
            if d == 7 and k == 2:
                continue
            lines.append(f"{_iso(plant, day + h * 3_600_000)},{TAG},{62 + rng.normal(0, 0.6):.2f}")
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        import_lab_csv(s, plant, sync_tags(s, plant), "\n".join(lines) + "\n", "lab.csv")
    engine.dispose()
    return settings, end


def _iso(plant: Any, ms: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ms / 1000, plant.tz()).isoformat()


@pytest.fixture(scope="module")
def app(seeded: tuple[Settings, int]) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    settings, end = seeded
    a = create_app(settings)
    web.set_clock(a.server, lambda: end / 1000)
    return a


def test_xbar_r_of_the_plant_days(app: Any, seeded: tuple[Settings, int]) -> None:
    settings, _ = seeded
    with request_as(app, settings, "/production/quality", "executive"):
        from webapp.pages import quality

        v = quality.view(TAG, [1, 2, 3, 5], 30, "all", "xbar_r")
        imr = quality.view(TAG, [1, 2, 3, 5], 30, "all", "imr")
    fig = v["figure"]
    assert fig.layout.yaxis2.title.text == "Range" and fig.layout.yaxis.title.text.startswith("Subgroup mean")
    means = np.array(fig.data[0].y, dtype=float)
    assert means.size == 19  # twenty days, the one with two results left out
    assert any("2 results of days without 3 results" in str(w) for w in v["warn"])
    assert "19 × 3" in str(v["figures"])
    assert imr["figure"].layout.yaxis2.title.text == "Moving range"
    # the limits are the engine's over the same subgroups
    ranges = np.array(fig.data[-1].y, dtype=float)
    assert ranges.size == 19
    ucl = max(s["y0"] for s in fig.layout.shapes if s["yref"] == "y")
    r = ranges.mean()
    assert ucl == pytest.approx(means.mean() + 1.023 * r, rel=1e-6)  # A2 for n = 3
    chart = xbar_r_chart(list(range(19)), [[m] * 3 for m in means])  # type check of the engine call only
    assert chart.kind == "xbar_r"


def _upload_body(app: Any, text: str, name: str) -> dict[str, Any]:
    key = callback_key(app, "quality-lab-msg.children")
    data = "data:text/csv;base64," + base64.b64encode(text.encode("utf-8")).decode()
    return {
        "output": key,
        "outputs": {"id": "quality-lab-msg", "property": "children"},
        "inputs": [{"id": "quality-lab-upload", "property": "contents", "value": data}],
        "state": [{"id": "quality-lab-upload", "property": "filename", "value": name}],
        "changedPropIds": ["quality-lab-upload.contents"],
    }


def _count(settings: Settings) -> int:
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        n = int(s.scalar(select(func.count()).select_from(Sample)) or 0)
    engine.dispose()
    return n


def test_lab_upload_refused_by_cell_harmless_and_audited(app: Any, seeded: tuple[Settings, int]) -> None:
    settings, _end = seeded
    before = _count(settings)
    executive = logged_in_client(app, settings, "executive")
    good = f"time,tag,value\n2026-03-12T08:00:00,{TAG},63.1\n2026-03-12T09:00:00,{TAG},62.7\n"
    assert executive.post("/_dash-update-component", json=_upload_body(app, good, "lab.csv")).status_code == 403
    dispatcher = logged_in_client(app, settings, "dispatcher")
    bad = f"time,tag,value\n2026-03-12T08:00:00,{TAG},6x\n2026-03-12T09:00:00,<script>alert(1)</script>,62\n"
    answer = dispatcher.post("/_dash-update-component", json=_upload_body(app, bad, "<b>evil</b>.csv"))
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "line 2, cell C2: value '6x' is not a number" in text
    assert "line 3, cell B3" in text and "nothing imported" in text
    assert "<script>" not in text and "\\u003cscript\\u003e" in text  # JSON text, which Dash renders as text
    assert _count(settings) == before
    ok = dispatcher.post("/_dash-update-component", json=_upload_body(app, good, "lab-0312.csv"))
    assert "2 results imported from lab-0312.csv" in ok.get_data(as_text=True)
    assert _count(settings) == before + 2
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        rows = s.scalars(select(SecurityAudit).where(SecurityAudit.event == "lab_imported")).all()
        assert [(r.user, r.target, r.detail) for r in rows] == [("test-dispatcher", "lab:lab-0312.csv", "2 results")]
    engine.dispose()
