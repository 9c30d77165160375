"""The one translation helper: ``t(key, lang, **values)`` with English and Simplified Chinese catalogs.

Catalogs are flat JSON files (``en.json``, ``zh.json``) with the same keys; a missing key falls back to
English, then to the key itself, and is logged once so it gets fixed.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

LANGS: tuple[str, ...] = ("en", "zh")
DEFAULT_LANG = "en"
_DIR = Path(__file__).parent


@cache
def catalog(lang: str) -> dict[str, str]:
    data = json.loads((_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"catalog {lang}.json must be a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def normalize_lang(lang: str | None) -> str:
    if not lang:
        return DEFAULT_LANG
    lang = lang.lower().replace("_", "-")
    if lang.startswith("zh"):
        return "zh"
    return lang if lang in LANGS else DEFAULT_LANG


@cache
def _warn_missing(key: str, lang: str) -> None:
    logger.warning("translation missing: %r in %s", key, lang)


def t(key: str, lang: str | None = DEFAULT_LANG, **values: object) -> str:
    """Translate ``key``; ``values`` fill ``{name}`` placeholders."""
    lang = normalize_lang(lang)
    text = catalog(lang).get(key)
    if text is None:
        _warn_missing(key, lang)
        text = catalog(DEFAULT_LANG).get(key, key)
    return text.format(**values) if values else text


def label(name: str, name_zh: str | None, lang: str | None) -> str:
    """A plant-file name in the user's language (names may be given in either language)."""
    return name_zh if normalize_lang(lang) == "zh" and name_zh else name
