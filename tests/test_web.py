"""The web app: every page renders with unique ids; in real headless Chromium pages load with no console
error and no request to any non-local host, the language switch works; screenshots are kept."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dash
import pytest

from tests.webutil import ARTIFACTS, WAIT_MS, browser, request_as, seed_store, serve_app, watch_page


def _ids(component: object) -> list[str]:
    found: list[str] = []
    if isinstance(component, list | tuple):
        for c in component:
            found += _ids(c)
        return found
    cid = getattr(component, "id", None)
    if cid is not None:
        found.append(str(cid))
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str | int | float):
        found += _ids(children)
    return found


def test_every_page_renders_with_unique_ids(tmp_path: Path) -> None:
    from webapp.app import create_app
    from webapp.shell.layout import shell_layout

    settings = seed_store(tmp_path)
    app = create_app(settings)
    with request_as(app, settings, "/", "admin"):  # the administrator sees every page
        shell = _ids(shell_layout())
        assert len(dash.page_registry) >= 1
        for page in dash.page_registry.values():
            layout = page["layout"]
            ids = shell + _ids(layout() if callable(layout) else layout)
            dupes = [k for k, n in Counter(ids).items() if n > 1]
            assert not dupes, f"{page['path']}: duplicate ids {dupes}"


def test_health_route_reports_collectors(tmp_path: Path) -> None:
    from webapp.app import create_app

    app = create_app(seed_store(tmp_path))
    body = app.server.test_client().get("/api/health").get_json()
    assert {c["endpoint"] for c in body["collectors"]} == {"dcs", "rtls"}
    assert all(c["connected"] for c in body["collectors"])


@pytest.mark.slow
def test_pages_in_headless_chromium(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    settings = seed_store(tmp_path)
    with serve_app(settings) as base, browser() as b:
        for width, height, tag in ((1920, 1080, "wall"), (390, 844, "phone")):
            page = b.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
            errors, foreign = watch_page(page)
            page.goto(base + "/")
            page.wait_for_selector(".sw-card", timeout=WAIT_MS)
            page.wait_for_selector("#overview-violations table", timeout=WAIT_MS)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / f"overview-{tag}-en.png"))
            assert page.locator("h1").inner_text() == "Plant overview"
            page.click("#shell-lang")
            page.wait_for_selector("text=全厂总览", timeout=WAIT_MS)
            page.wait_for_selector(".sw-card", timeout=WAIT_MS)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / f"overview-{tag}-zh.png"))
            page.click("#shell-lang")  # back to English for the next viewport
            page.wait_for_selector("text=Plant overview", timeout=WAIT_MS)
            assert not errors, errors
            assert not foreign, foreign
            page.close()


def test_snapshot_places_badges_in_zones_and_raises_risk(tmp_path: Path) -> None:
    """Positions become zones and headcounts; a gas detector over HH turns its zone red, with the reason."""
    import time

    from engine.types import GOOD, PositionIn, SampleIn
    from plant import load_plant
    from store.db import make_engine, session_scope
    from store.positions import write_positions
    from store.samples import write_samples
    from store.tags import tag_ids
    from tests.webutil import MINI_PLANT
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot

    settings = seed_store(tmp_path)
    plant = load_plant(MINI_PLANT)
    zone = plant.zones[0]
    cx = sum(p[0] for p in zone.polygon) / len(zone.polygon)
    cy = sum(p[1] for p in zone.polygon) / len(zone.polygon)
    people = [b for b in plant.badges if b.kind.value == "person"][:2]
    gas = next(tg for tg in plant.tags if tg.kind.value == "gas" and tg.limits and tg.limits.hh)
    now = int(time.time() * 1000)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        write_positions(session, [PositionIn(b.id, now - 500, cx, cy, 0, GOOD) for b in people])
        write_samples(session, [SampleIn(tag_ids(session)[gas.id], now - 400, gas.limits.hh + 5, GOOD)])
    engine.dispose()
    app = create_app(settings)
    with app.server.test_request_context("/"):
        snap = snapshot()
    assert snap["headcount"].get(zone.id) == 2
    assert {b["id"] for b in snap["badges"] if b["zone"] == zone.id} == {b.id for b in people}
    risk = snap["risk"][gas.zone]
    assert risk["level"] == "red"
    assert {"code": "gas_hh", "tag": gas.id, "value": gas.limits.hh + 5, "limit": gas.limits.hh} in risk["reasons"]
