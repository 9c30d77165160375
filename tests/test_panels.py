"""Every app gets the callbacks of the pages' panels (``webapp.panels``), not only the first app of a process:
a page registers its panels' callbacks each time Dash loads it."""

from __future__ import annotations

from pathlib import Path

from settings import ROOT
from tests.webutil import seed_store


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
