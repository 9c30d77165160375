"""The pages' small tables of figures: a header row and body rows, or a muted line when there are none."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html


def kpi_table(head: list[str], rows: list[list[Any]], empty: str, tid: str | None = None, cls: str = "") -> Any:
    """A compact table (header ``head``, cells ``rows``) with the id ``tid`` and the extra classes ``cls`` when
    given, or ``empty`` as a muted line when there are no rows."""
    if not rows:
        return html.Div(empty, className="sw-muted py-2")
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody([html.Tr(r) for r in rows])],
        className=f"sw-kpi-table sw-table {cls}".strip(),
        size="sm",
        responsive=True,
        **({"id": tid} if tid else {}),
    )
