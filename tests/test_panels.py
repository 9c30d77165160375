"""Panel modules (``webapp.panels.<page>.<panel>``) register their callbacks for every app, as pages do.

Dash executes each page module again for every app it creates; a panel module is imported once per process.
Several apps in one process (the tests, a server started twice) must each get every panel's callbacks, each
as often as its page's own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tests.webutil import logged_in_client, seed_store

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


def test_every_app_gets_the_panels_callbacks(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    for _ in range(3):
        found = _outputs(create_app(settings), settings)
        for page, outputs in OUTPUTS.items():
            counts = {o: found[o] for o in outputs}
            assert min(counts.values()) >= 1 and len(set(counts.values())) == 1, (page, counts)
