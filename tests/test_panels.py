"""Every app gets the callbacks of the pages' panels (``webapp.panels``), not only the first app of a process
(Dash executes each page module again for every app it creates; a panel module is imported once): a page
registers its panels' callbacks each time Dash loads it, as often as its own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from settings import ROOT
from tests.webutil import logged_in_client, seed_store


def _panel_modules() -> set[str]:
    """Modules under webapp/panels/ that declare a callback."""
    out = set()
    for path in (ROOT / "webapp" / "panels").rglob("*.py"):
        if "@panel_callback(" in path.read_text(encoding="utf-8"):
            out.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return out


def test_every_app_gets_the_panels_callbacks(tmp_path: Path) -> None:
    from webapp.app import create_app

    expected = _panel_modules()
    assert "webapp.panels.alarms.actions" in expected
    settings = seed_store(tmp_path)
    for _ in range(2):
        app = create_app(settings)
        app.server.test_client().get("/_dash-dependencies")  # Dash sets itself up on the first request
        modules = {v["callback"].__module__ for v in app.callback_map.values() if "callback" in v}
        assert expected <= modules, sorted(expected - modules)


# an output of the page module's own callbacks (if it has any) and one of each of its panels, by page
OUTPUTS = {
    "personnel": [
        "personnel-summary.children",  # the page's refresh
        "personnel-rendered.data",
        "personnel-follow-panel.children",
        "personnel-trips.data",
        "personnel-muster-msg.children",
        "personnel-exp-table.children",
    ],
    "video": [
        "video-grid.children",
        "video-feed.children",
        "video-event-title.children",
        "video-sent.data",
    ],
}


def _outputs(app: Any, settings: Any) -> Counter[str]:
    resp = logged_in_client(app, settings, "admin").get("/_dash-dependencies")
    assert resp.status_code == 200
    found: Counter[str] = Counter()
    for dep in resp.get_json():
        for part in dep["output"].strip(".").split("..."):
            found[part] += 1
    return found


def test_each_app_gets_each_panels_callbacks_as_often_as_its_pages(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    for _ in range(3):
        found = _outputs(create_app(settings), settings)
        for page, outputs in OUTPUTS.items():
            counts = {o: found[o] for o in outputs}
            assert min(counts.values()) >= 1 and len(set(counts.values())) == 1, (page, counts)
