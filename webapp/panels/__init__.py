"""Panels of the pages, one package per page (``webapp.panels.<page>``), a module per panel: its layout
builders and its callbacks, which the gate checks against the page's line of the policy.

A panel's callbacks are declared with :func:`panel_callback` (the arguments of ``dash.callback``) and
registered by its page with :func:`register_panels` each time Dash loads the page. Dash loads every page
module afresh for each app it makes and hands the callbacks registered until then to the first app that
starts; a panel module is imported once, so callbacks it registered itself at import would reach only the
first app of a process (tests make several).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import dash

F = TypeVar("F", bound=Callable[..., Any])

_DECLARED: dict[str, list[tuple[tuple[Any, ...], dict[str, Any], Callable[..., Any]]]] = {}


def panel_callback(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """``dash.callback`` for a panel: the callback is recorded with its module and registered by the page."""

    def declare(func: F) -> F:
        _DECLARED.setdefault(func.__module__, []).append((args, kwargs, func))
        return func

    return declare


def register_panels(*panels: ModuleType) -> None:
    """Register the callbacks of ``panels`` with Dash (a page calls this when it is loaded)."""
    for panel in panels:
        for args, kwargs, func in _DECLARED.get(panel.__name__, []):
            dash.callback(*args, **kwargs)(func)
