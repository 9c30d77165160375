"""Panels of the pages, one package per page (``webapp.panels.<page>``), a module per panel: its layout
builders and its callbacks, which the gate checks against the page's line of the policy.

A page module imports its panel modules and then calls :func:`load` with them. Dash executes a page module
again, in a new module object, for every app it creates (``use_pages``), and gives each app the
``dash.callback``s registered since the app before; a panel module, imported once per process, would give
its callbacks to the first app only. :func:`load` executes the panels again when their page is executed
again, so they register their callbacks exactly as often as the page registers its own. A page uses its
panels as modules (``muster.banner(...)``), never names imported from them, which would keep the
functions of an earlier execution.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


def load(page: dict[str, Any], *modules: ModuleType) -> None:
    """Register the callbacks of the panel ``modules`` for the app being created; ``page``: the ``globals()``
    of the page module that imported them. On the page's first execution in the process its imports have
    just executed the panels; on a later one (another module object is registered under the page's name)
    they are executed again, in place."""
    current = sys.modules.get(page["__name__"])
    if current is None or vars(current) is page:
        return
    for module in modules:
        importlib.reload(module)
