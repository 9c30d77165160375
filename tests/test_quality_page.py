"""The quality view (/production/quality): its figures are the SPC engine's over the stored assay results,
exclusions show their reason as text, rule selection changes what is flagged, and it reads in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.spc import chart_capability, imr_chart
from plant.loader import load_plant
from settings import ROOT, Settings
from store.db import make_engine, migrate, session_scope
from store.spc import exclude, import_lab_csv
from store.tags import sync_tags
from tests.fakeclock import plant_ms
from tests.webutil import request_as

DEMO = ROOT / "plant" / "demo_smelter.yaml"
TAG = "FSF1.LAB_MATTE_CU"
VALUES = [62.1, 61.4, 62.8, 61.9, 62.5, 60.9, 62.2, 63.0, 61.7, 62.4, 61.8, 62.6, 62.0, 61.5, 62.9] * 2 + [66.5]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, int, list[int]]:
    tmp: Path = tmp_path_factory.mktemp("quality")
    plant = load_plant(DEMO)
    end = plant_ms(plant, 2026, 3, 12, 10, 0)
    settings = Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'web.db'}", plant_file=DEMO)
    migrate(settings.db_url)
    ts = [end - (len(VALUES) - i) * 8 * 3_600_000 for i in range(len(VALUES))]
    text = "time,tag,value\n" + "".join(f"{_iso(t)},{TAG},{v}\n" for t, v in zip(ts, VALUES, strict=True))
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        import_lab_csv(s, plant, sync_tags(s, plant), text, "lab.csv")
        exclude(s, TAG, ts[5], "<script>alert(1)</script> retest", "lab.chief", end)
    engine.dispose()
    return settings, end, ts


@pytest.fixture(scope="module")
def app(seeded: tuple[Settings, int, list[int]]) -> Any:
    from webapp import context as web
    from webapp.app import create_app

    settings, end, _ = seeded
    a = create_app(settings)
    web.set_clock(a.server, lambda: end / 1000 + 30)
    return a


def _texts(c: Any) -> list[str]:
    out: list[str] = []

    def walk(x: Any) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, list | tuple):
            for k in x:
                walk(k)
        elif hasattr(x, "to_plotly_json"):
            walk(getattr(x, "children", None))

    walk(c)
    return out


def test_figures_are_the_engines(app: Any, seeded: tuple[Settings, int, list[int]]) -> None:
    from webapp.pages import quality

    settings, _end, ts = seeded
    with request_as(app, settings, "/production/quality", "executive"):
        v = quality.view(TAG, [1, 2, 3, 5], 30, "all")
        page = quality.layout()
    chart = imr_chart(ts, VALUES, excluded={ts[5]: "x"}, rules=[1, 2, 3, 5])
    cpk, ppk = chart_capability(chart, lsl=58.0, usl=66.0) or (None, None)
    assert cpk is not None and ppk is not None
    texts = _texts(v["figures"])
    assert f"{cpk.index:.2f}" in texts and f"{ppk.index:.2f}" in texts
    assert any(f"{cpk.low:.2f} – {cpk.high:.2f}" in x for x in texts)
    assert str(len(chart.flagged())) in texts and len(chart.flagged()) >= 1  # 66.5 beyond 3 sigma
    # the exclusion's reason is text, never markup
    assert any("<script>alert(1)</script> retest" in x for x in _texts(v["excluded"]))
    assert "Quality (SPC)" in _texts(page)
    # fewer rules, fewer flags: rule 7 alone flags nothing on these results
    with request_as(app, settings, "/production/quality", "executive"):
        only7 = quality.view(TAG, [7], 30, "all")
    assert "0" in _texts(only7["figures"])


def test_chinese_and_too_few_results(app: Any, seeded: tuple[Settings, int, list[int]]) -> None:
    from webapp.pages import quality

    settings = seeded[0]
    with request_as(app, settings, "/production/quality", "dispatcher", cookies={"sw_lang": "zh"}):
        page = quality.layout()
        empty = quality.view("SF1.LAB_SLAG_CU", [1], 7, "first10")
    assert "质量（SPC）" in _texts(page)
    assert any("结果太少" in x for x in _texts(empty["warn"]))


def _exclude_body(app: Any, button: str, ts: int, reason: str | None) -> dict[str, Any]:
    from tests.webutil import callback_key

    key = callback_key(app, "quality-exclude-msg.children")
    return {
        "output": key,
        "outputs": {"id": "quality-exclude-msg", "property": "children"},
        "inputs": [
            {"id": "quality-exclude", "property": "n_clicks", "value": 1 if button == "quality-exclude" else None},
            {"id": "quality-include", "property": "n_clicks", "value": 1 if button == "quality-include" else None},
        ],
        "state": [
            {"id": "quality-picked", "property": "data", "value": {"tag": TAG, "ts": ts, "text": "x"}},
            {"id": "quality-reason", "property": "value", "value": reason},
        ],
        "changedPropIds": [f"{button}.n_clicks"],
    }


def test_exclude_a_result_checked_stored_audited(app: Any, seeded: tuple[Settings, int, list[int]]) -> None:
    from sqlalchemy import select

    from store.models import SecurityAudit
    from store.spc import exclusions
    from tests.webutil import logged_in_client

    settings, _end, ts = seeded
    target = ts[-1]  # the 66.5 out of control
    executive = logged_in_client(app, settings, "executive")
    assert (
        executive.post("/_dash-update-component", json=_exclude_body(app, "quality-exclude", target, "x")).status_code
        == 403
    )
    dispatcher = logged_in_client(app, settings, "dispatcher")
    empty = dispatcher.post("/_dash-update-component", json=_exclude_body(app, "quality-exclude", target, "  "))
    assert "Give a reason first" in empty.get_data(as_text=True)
    ok = dispatcher.post(
        "/_dash-update-component", json=_exclude_body(app, "quality-exclude", target, "furnace tap sample")
    )
    assert ok.status_code == 200 and "Excluded" in ok.get_data(as_text=True)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as s:
        assert exclusions(s, TAG)[target].reason == "furnace tap sample"
    back = dispatcher.post("/_dash-update-component", json=_exclude_body(app, "quality-include", target, None))
    assert "Taken back" in back.get_data(as_text=True)
    with session_scope(engine) as s:
        assert target not in exclusions(s, TAG)
        rows = s.scalars(select(SecurityAudit).where(SecurityAudit.event.in_(("spc_excluded", "spc_included")))).all()
        assert [(r.event, r.user, r.target) for r in rows] == [
            ("spc_excluded", "test-dispatcher", f"spc:{TAG}:{target}"),
            ("spc_included", "test-dispatcher", f"spc:{TAG}:{target}"),
        ]
    engine.dispose()
