"""The overview's view: every value the page shows, as plain data filed in groups, and the slots that show
them (a text span, an element whose class the refresh may change)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dash import html

from i18n import t
from webapp.panels.overview.ids import ids


class _Values(dict[str, Any]):
    """A dict that files every key it is given under its view's current group."""

    def __init__(self, view: View) -> None:
        super().__init__()
        self._view = view

    def __setitem__(self, key: str, value: Any) -> None:
        self._view.group_of[key] = self._view.group
        super().__setitem__(key, value)


class View:
    """Texts, status classes and bar styles by key, filed in groups (one tile, one key value, one list row,
    one source), and the models of the blocks re-rendered whole (the data sources). A group is sent whole
    when anything in it changed."""

    def __init__(self) -> None:
        self.group = ""
        self.group_of: dict[str, str] = {}
        self.text = _Values(self)
        self.status = _Values(self)
        self.style = _Values(self)
        self.blocks: dict[str, Any] = {}

    def grouped(self) -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for prop, values in (("text", self.text), ("status", self.status), ("style", self.style)):
            for key, value in values.items():
                out.setdefault(self.group_of[key], {"text": {}, "status": {}, "style": {}})[prop][key] = value
        return out

    def digests(self) -> dict[str, str]:
        groups = {f"g:{name}": _digest(values) for name, values in self.grouped().items()}
        return groups | {name: _digest(model) for name, model in self.blocks.items()}


def _digest(model: Any) -> str:
    raw = json.dumps(model, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(raw, digest_size=6).hexdigest()


def unit_text(key_or_unit: str, lang: str) -> str:
    return t(key_or_unit, lang) if key_or_unit.startswith("unit.") else key_or_unit


def txt(v: View, key: str, className: str | None = None) -> html.Span:  # noqa: N803 - Dash prop name
    return html.Span(v.text.get(key, "–"), id=ids.text(key), className=className)


def st(v: View, key: str, children: Any, element: Any = html.Div) -> Any:
    """An element whose class (visibility, color) the refresh may change."""
    return element(children, id=ids.status(key), className=v.status.get(key))
