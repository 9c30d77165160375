from __future__ import annotations

import re

from i18n import LANGS, catalog, label, normalize_lang, t


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    en = catalog("en")
    for lang in LANGS:
        other = catalog(lang)
        assert set(other) == set(en), f"{lang}: {set(other) ^ set(en)}"
        for key, text in en.items():
            assert set(re.findall(r"{(\w+)}", other[key])) == set(re.findall(r"{(\w+)}", text)), (lang, key)


def test_translate_with_values_and_fallbacks() -> None:
    assert t("risk.reason.over_staffed", "zh", count=9, max=8) == "区域内 9 人，超过上限 8"
    assert t("risk.reason.over_staffed", "en", count=9, max=8) == "9 people inside, maximum 8"
    assert t("no.such.key", "zh") == "no.such.key"
    assert normalize_lang("zh-CN") == "zh" and normalize_lang("fr") == "en" and normalize_lang(None) == "en"
    assert label("Acid plant", "制酸", "zh") == "制酸" and label("Acid plant", None, "zh") == "Acid plant"
