"""Panel modules (``webapp.panels.<page>.<panel>``) register their callbacks for every app, as pages do.

Dash executes each page module again for every app it creates; a panel module is imported once per process.
Several apps in one process (the tests, a server started twice) must each get every panel's callbacks, each
as often as its page's own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.webutil import logged_in_client, seed_store

# (a callback output of the page module, one of each of its panels), by page
OUTPUTS = {
    "personnel": (
        "personnel-summary.children",
        [
            "personnel-rendered.data",
            "personnel-follow-panel.children",
            "personnel-trips.data",
            "personnel-muster-msg.children",
            "personnel-exp-table.children",
        ],
    ),
}


def _outputs(app, settings) -> Counter[str]:  # type: ignore[no-untyped-def]
    resp = logged_in_client(app, settings, "admin").get("/_dash-dependencies")
    assert resp.status_code == 200
    found: Counter[str] = Counter()
    for dep in resp.get_json():
        for part in dep["output"].strip(".").split("..."):
            found[part] += 1
    return found


def test_every_app_gets_the_panels_callbacks(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    for _ in range(3):
        found = _outputs(create_app(settings), settings)
        for page, (own, panel_outputs) in OUTPUTS.items():
            assert found[own] >= 1, page
            for output in panel_outputs:
                assert found[output] == found[own], (page, output, found[output], found[own])
