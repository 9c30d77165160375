"""HTML's free-form attributes (``data-*``, ``aria-*``) on Dash components.

Dash takes them as keyword arguments whose names are no Python names (``data-alarm``). Spread straight from a
``dict[str, str]``, the type checker matches each value against every typed parameter of the component
(``hidden: bool``, ``n_clicks: int``...) and refuses the call; through :func:`wildcard` they go to the
component's ``**kwargs``, which is where Dash takes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WILDCARD_PREFIXES = ("data-", "aria-")


def wildcard(attrs: Mapping[str, str]) -> dict[str, Any]:
    """``attrs`` as keyword arguments of a Dash html component: ``html.Div(**wildcard({"aria-live": "polite"}))``.
    Only ``data-*`` and ``aria-*`` names (Dash refuses any other unknown keyword)."""
    wrong = [name for name in attrs if not name.startswith(WILDCARD_PREFIXES)]
    if wrong:
        raise ValueError(f"not a data-* or aria-* attribute: {', '.join(wrong)}")
    return dict(attrs)
