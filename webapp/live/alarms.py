"""The live alarm snapshot: one set of alarm queries per refresh period, shared by every open screen.

The live list of ``/alarms`` and the alarm markers of the 3D scene read :func:`alarm_snapshot`, the banner
on every page reads the small :func:`alarm_banner`; both are cached like ``webapp.live.snapshot.snapshot``, so
twenty screens refreshing every second or two cost one query set. The live list filters the snapshot with
``store.alarm_views.matches``, the same rules its SQL uses.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from engine.alarm_text import alarm_text as build_alarm_text
from engine.alarm_text import plant_names
from engine.alarm_text import source_text as build_source_text
from i18n import catalog, t
from plant import Plant
from store.alarm_views import OPEN_STATES, AlarmFilter, AlarmView, banner_summary, open_alarms
from store.db import session_scope
from webapp import context as web
from webapp.live.personnel import names_visible
from webapp.live.summary import fmt_number, unit_symbol

logger = logging.getLogger(__name__)

LIVE_LIMIT = 2000  # open alarms kept in the snapshot (a flood beyond this shows a "more" note)


@web.shared(web.SNAPSHOT_SECONDS)
def alarm_snapshot() -> dict[str, Any]:
    """Every open alarm (annunciated, shelved, suppressed, out of service) and the banner's summary."""
    now = web.now_ms()
    with session_scope(web.engine()) as session:
        rows = open_alarms(session, now, AlarmFilter(states=OPEN_STATES), limit=LIVE_LIMIT + 1)
        banner = banner_summary(session, now)
    return {
        "now_ms": now,
        "alarms": [r.as_dict() for r in rows[:LIVE_LIMIT]],
        "truncated": len(rows) > LIVE_LIMIT,
        "banner": banner.as_dict(),
    }


@web.shared(web.SNAPSHOT_SECONDS)
def alarm_banner() -> dict[str, Any]:
    """Only what the banner shows (a few hundred bytes): every page's banner reads this, not the whole list,
    so a shared cache in Redis is not asked for every open alarm by every screen each refresh."""
    now = web.now_ms()
    with session_scope(web.engine()) as session:
        banner = banner_summary(session, now)
    return {"now_ms": now, "banner": banner.as_dict()}


def snapshot_alarms(snap: dict[str, Any]) -> list[AlarmView]:
    return [AlarmView.from_dict(d) for d in snap.get("alarms") or []]


def digest(model: Any) -> str:
    """A short fingerprint of JSON-able data: a refresh whose fingerprint did not move sends nothing."""
    raw = json.dumps(model, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


# --- words shared by the banner, the list and the scene ---------------------------------------------------


def condition_text(condition: str, lang: str) -> str:
    """``HH`` -> "High-high" (``alarm.cond.<condition>``); a rule or detection class without a key as is."""
    key = f"alarm.cond.{condition}"
    return t(key, lang) if key in catalog("en") else condition


def alarm_text(alarm: AlarmView | dict[str, Any], plant: Plant, lang: str) -> str:
    """What the alarm is about, in the user's language, built now from the row's structured fields
    (``engine.alarm_text``); people are named only for users who may see names (``auth.policy.viewer_of`` decides)."""
    return build_alarm_text(alarm, plant_names(plant), lang, show_names=names_visible())


def source_text(alarm: AlarmView | dict[str, Any], plant: Plant, lang: str) -> str:
    """The alarm's source as a list shows it: tag, badge or camera id; a zone rule's zone name."""
    return build_source_text(alarm, plant_names(plant), lang)


def value_text(alarm: AlarmView | dict[str, Any], plant: Plant) -> str:
    """``1,350 / 1,300 °C``: the value at the last transition against its limit, if the alarm has them."""
    a = alarm if isinstance(alarm, dict) else alarm.as_dict()
    value, limit = a.get("value"), a.get("limit")
    if value is None:
        return ""
    tag = _tags(plant).get(str(a.get("source")))
    unit = unit_symbol(tag.unit) if tag is not None else ""
    text = fmt_number(value) + ("" if limit is None else f" / {fmt_number(limit)}")
    return f"{text} {unit}".strip()


def _tags(plant: Plant) -> dict[str, Any]:
    return _tag_index(id(plant), plant)


_TAG_CACHE: dict[int, tuple[Plant, dict[str, Any]]] = {}


def _tag_index(key: int, plant: Plant) -> dict[str, Any]:
    hit = _TAG_CACHE.get(key)
    if hit is None or hit[0] is not plant:
        hit = (plant, {tg.id: tg for tg in plant.tags})
        if len(_TAG_CACHE) > 8:
            _TAG_CACHE.clear()
        _TAG_CACHE[key] = hit
    return hit[1]
