"""Alarm and event texts, built when they are shown, in the reader's language (pure: no I/O, no Dash, no SQL).

Nothing here is stored: the alarm and event rows keep structured fields and the screens, the banner and the
on-call messages call :func:`alarm_text` with the reader's language each time they show a row.

What each source type keeps and how its text is built:

- **process** and **quality** alarms (``<tag>:<condition>``): the tag (``source``), condition, value and
  limit are columns of the row; the text is the tag's description in the reader's language (the plant
  file's ``description`` / ``description_zh``).
- **personnel** alarms (``violation:<event id>``): the rule (``condition``), badge and zone are columns;
  the rule's facts (fence, region, value, limit, role, ...) are copied from the violation event into the
  row's ``data["facts"]`` (:data:`FACT_KEYS`). The sentence names the person only for readers that may
  see names (``show_names``, decided by ``auth.policy.viewer_of``); others read the badge id.
- **video** alarms (``video:<event id>``): the detection class (``condition``) and the camera are columns.
- a badge's and a camera's **man-down** joined (``engine.mandown``): each text ends with the other source,
  "also seen on camera X" / "also a badge man-down: B" (:func:`link_text`).

Rows written before the facts were kept (a personnel alarm with only an English ``message``) show their
stored sentence, to readers that may see names (such a sentence names the person); a row without any
structured text shows its message as stored. Names come from the plant file through
:func:`i18n.label`, the one helper for names in either language.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.energy import threshold_unit
from engine.personnel import RULES
from i18n import label, t
from plant.schema import BadgeKind, Plant, VideoClass

PROCESS, QUALITY, PERSONNEL, VIDEO, EMISSION, ENERGY = "process", "quality", "personnel", "video", "emission", "energy"
HAZARD, SPC, STOCK = "hazard", "spc", "stock"

# Keys of a violation or detection event's ``data`` that a text needs, copied into the alarm's
# ``data["facts"]`` when the alarm is raised.
FACT_KEYS: tuple[str, ...] = (
    "fence",
    "region",
    "value",
    "limit",
    "role",
    "shift",
    "class",
    "confidence",
    "hour",  # an emission exceedance: the hour judged, "YYYY-MM-DD HH:00" plant time
    "flags",
    "rules",  # an out-of-control assay: the Nelson rules its result breaks, "1,5"
    "hazard_source",  # a hazard-source intrusion: the source's id
    "permit",  # a special-work permit's finding: the permit's number ...
    "tag",  # ... and the gas detector over its limit
    "item",  # a material or spare part below its reorder level: its name, Chinese name and unit
    "item_zh",
    "unit",
)
PERMIT_RULES: tuple[str, ...] = ("permit_guardian_away", "permit_area_intrusion", "permit_gas_over")

VIDEO_CLASSES: tuple[str, ...] = tuple(c.value for c in VideoClass)

Names = Mapping[str, tuple[str, str | None]]


@dataclass(frozen=True)
class PlantNames:
    """The plant file's names by id, in both languages (``(name, name_zh)``; tags: description, zh, unit)."""

    site: tuple[str, str | None] = ("", None)
    areas: Names = field(default_factory=dict)
    zones: Names = field(default_factory=dict)
    equipment: Names = field(default_factory=dict)
    fences: Names = field(default_factory=dict)
    cameras: Names = field(default_factory=dict)
    badges: Names = field(default_factory=dict)
    vehicles: frozenset[str] = frozenset()
    tags: Mapping[str, tuple[str, str | None, str]] = field(default_factory=dict)
    thresholds: Mapping[str, tuple[str, str | None, str]] = field(default_factory=dict)  # name, zh, unit
    hazards: Names = field(default_factory=dict)  # major hazard sources

    @classmethod
    def from_plant(cls, plant: Plant) -> PlantNames:
        return cls(
            site=(plant.site.name, plant.site.name_zh),
            areas={a.id: (a.name, a.name_zh) for a in plant.areas},
            zones={z.id: (z.name, z.name_zh) for z in plant.zones},
            equipment={e.id: (e.name, e.name_zh) for e in plant.equipment},
            fences={f.id: (f.name, f.name_zh) for f in plant.fences},
            cameras={c.id: (c.name, c.name_zh) for c in plant.cameras},
            badges={b.id: (b.name, b.name_zh) for b in plant.badges},
            vehicles=frozenset(b.id for b in plant.badges if b.kind == BadgeKind.VEHICLE),
            tags={tg.id: (tg.description, tg.description_zh, tg.unit) for tg in plant.tags},
            thresholds={th.id: (th.name, th.name_zh, threshold_unit(plant, th)) for th in plant.energy.thresholds},
            hazards={hs.id: (hs.name, hs.name_zh) for hs in plant.hazards.sources},
        )

    def name(self, table: Names, key: str | None, lang: str) -> str | None:
        """``key``'s name in ``lang`` from ``table`` (the key itself when the plant does not name it)."""
        if key is None:
            return None
        names = table.get(key)
        return label(names[0], names[1], lang) if names else key

    def region(self, key: str | None, lang: str) -> str | None:
        """A zone's or a fence's name."""
        if key is None:
            return None
        return self.name(self.zones if key in self.zones else self.fences, key, lang)

    def tag_text(self, tag: str | None, lang: str) -> str | None:
        found = self.tags.get(tag or "")
        if found is None or not (found[0] or found[1]):
            return None
        return label(found[0] or found[1] or "", found[1], lang)


_CACHE: dict[int, tuple[Plant, PlantNames]] = {}


def plant_names(plant: Plant) -> PlantNames:
    """:meth:`PlantNames.from_plant`, built once per plant object."""
    hit = _CACHE.get(id(plant))
    if hit is None or hit[0] is not plant:
        if len(_CACHE) > 8:
            _CACHE.clear()
        hit = (plant, PlantNames.from_plant(plant))
        _CACHE[id(plant)] = hit
    return hit[1]


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "?" if value is None else str(value)
    if not math.isfinite(value):
        return "?"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def duration(seconds: Any, lang: str) -> str:
    """``90`` -> "1.5 min" / "1.5 分钟"."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "?"
    if seconds < 120:
        return t("personnel.age.s", lang, n=f"{seconds:.0f}")
    if seconds < 7200:
        return t("personnel.age.min", lang, n=f"{seconds / 60:.3g}")
    return t("personnel.age.h", lang, n=f"{seconds / 3600:.3g}")


def who(badge: str | None, names: PlantNames, lang: str, *, show_names: bool) -> str:
    """A badge as a reader sees it: "Wu Xiaoming (P0039)" for readers allowed names, else "Badge P0039"."""
    if not badge:
        return t("text.who.nobody", lang)
    known = names.badges.get(badge)
    if show_names and known is not None:
        return t("text.who.named", lang, name=label(known[0], known[1], lang), badge=badge)
    return t("text.who.vehicle" if badge in names.vehicles else "text.who.badge", lang, badge=badge)


def camera_text(camera: str | None, names: PlantNames, lang: str) -> str:
    """A camera as "East hall (CAM32)", or the id alone when the plant gives the camera no other name."""
    if not camera:
        return t("text.camera.unknown", lang)
    known = names.cameras.get(camera)
    name = label(known[0], known[1], lang) if known else ""
    return t("text.camera.named", lang, name=name, camera=camera) if name and name != camera else camera


def personnel_text(
    rule: str,
    badge: str | None,
    zone: str | None,
    facts: Mapping[str, Any],
    names: PlantNames,
    lang: str,
    *,
    show_names: bool,
) -> str:
    """The sentence of a personnel rule violation."""
    where = names.region(facts.get("fence"), lang) or names.region(zone, lang) or t("text.where.site", lang)
    values: dict[str, Any] = {
        "who": who(badge, names, lang, show_names=show_names),
        "where": where,
        "value": _num(facts.get("value")),
        "limit": _num(facts.get("limit")),
    }
    if rule == "role_not_allowed":
        role = facts.get("role")
        known = role in ("employee", "contractor", "visitor", "driver")
        values["role"] = t(f"scene.role.{role}", lang) if known else str(role or "?")
    elif rule == "dwell_exceeded":
        values["where"] = names.region(facts.get("region"), lang) or where
        values["limit"] = duration(facts.get("limit"), lang)
    elif rule == "man_down":
        values["limit"] = duration(facts.get("limit"), lang)
    elif rule == "hazard_intrusion":
        source = facts.get("hazard_source") or facts.get("region")
        values["where"] = names.name(names.hazards, source, lang) or str(source or "?")
    if rule in PERMIT_RULES:
        tag = facts.get("tag")
        values["permit"] = f"#{facts.get('permit') or '?'}"
        values["tag"] = names.tag_text(tag, lang) or str(tag or "?")
        return t(f"text.{rule}", lang, **values)
    if rule not in RULES:
        return t("text.personnel.other", lang, rule=rule, **values)
    return t(f"text.personnel.{rule}", lang, **values)


def video_text(cls: str, camera: str | None, names: PlantNames, lang: str) -> str:
    """The sentence of a video detection."""
    what = t(f"alarm.cond.{cls}", lang) if cls in VIDEO_CLASSES else cls
    return t("text.video", lang, what=what, camera=camera_text(camera, names, lang))


def emission_text(tag: str | None, facts: Mapping[str, Any], names: PlantNames, lang: str) -> str:
    """The sentence of a stack emission exceedance: pollutant, hour, hourly average against the limit."""
    unit = (names.tags.get(tag or "") or ("", None, ""))[2]
    what = names.tag_text(tag, lang) or str(tag or "?")
    hour = str(facts.get("hour") or "?")
    value, limit = _num(facts.get("value")), _num(facts.get("limit"))
    return t("text.emission.exceed", lang, what=what, hour=hour, value=value, limit=limit, unit=unit)


def hazard_text(alarm: Any, names: PlantNames, lang: str) -> str:
    """The sentence of a major hazard source's reading beyond its threshold: source, reading, value, limit."""
    source = _get(alarm, "source")
    data = _get(alarm, "data")
    tag = data.get("tag") if isinstance(data, Mapping) else None
    tag = tag or str(_get(alarm, "id") or "").rsplit(":", 1)[0] or None
    unit = (names.tags.get(tag or "") or ("", None, ""))[2]
    key = "text.hazard.under" if _get(alarm, "condition") == "HZL" else "text.hazard.over"
    return t(
        key,
        lang,
        source=names.name(names.hazards, source, lang) or "?",
        what=names.tag_text(tag, lang) or str(tag or "?"),
        value=_num(_get(alarm, "value")),
        limit=_num(_get(alarm, "limit")),
        unit=unit,
    )


def spc_text(tag: str | None, facts: Mapping[str, Any], names: PlantNames, lang: str) -> str:
    """The sentence of an out-of-control assay result: the assay, its value and the Nelson rules broken."""
    unit = (names.tags.get(tag or "") or ("", None, ""))[2]
    what = names.tag_text(tag, lang) or str(tag or "?")
    value, rules = _num(facts.get("value")), facts.get("rules") or "?"
    return t("text.spc.ooc", lang, what=what, value=value, unit=unit, rules=rules)


def _get(alarm: Any, key: str) -> Any:
    return alarm.get(key) if isinstance(alarm, Mapping) else getattr(alarm, key, None)


def facts_of(data: Any) -> Mapping[str, Any] | None:
    """The structured facts kept with an alarm (None: a row from before they were kept)."""
    if not isinstance(data, Mapping):
        return None
    facts = data.get("facts")
    return facts if isinstance(facts, Mapping) else None


def stock_text(code: Any, facts: Mapping[str, Any], lang: str) -> str:
    """A material or spare part below its reorder level: its name (the stock list's, in the reader's language),
    what is on hand and the level."""
    item = label(str(facts.get("item") or ""), facts.get("item_zh"), lang) or str(code or "")
    unit = str(facts.get("unit") or "")
    return t(
        "text.stock.low",
        lang,
        item=item,
        code=str(code or ""),
        value=_num(facts.get("value")),
        limit=_num(facts.get("limit")),
        unit=t(f"stock.unit.{unit}", lang) if unit else "",
    )


def alarm_text(alarm: Any, names: PlantNames, lang: str, *, show_names: bool) -> str:
    """What an alarm is about, in ``lang`` (see the module docstring). ``alarm`` is a mapping or an object with
    the ``alarm`` table's column names (``source_type``, ``condition``, ``source``, ``badge``, ``zone``,
    ``camera``, ``message``, ``data``)."""
    source_type = _get(alarm, "source_type")
    message = str(_get(alarm, "message") or "")
    condition = str(_get(alarm, "condition") or "")
    if source_type in (PROCESS, QUALITY):
        return names.tag_text(_get(alarm, "source"), lang) or message
    if source_type == PERSONNEL:
        facts = facts_of(_get(alarm, "data"))
        if facts is None:  # an old row: its sentence may name the person
            return message if show_names else ""
        badge, zone = _get(alarm, "badge"), _get(alarm, "zone")
        text = personnel_text(condition, badge, zone, facts, names, lang, show_names=show_names)
        return _linked(text, alarm, names, lang, show_names=show_names)
    if source_type == SPC:
        return spc_text(_get(alarm, "source"), facts_of(_get(alarm, "data")) or {}, names, lang)
    if source_type == EMISSION:
        return emission_text(_get(alarm, "source"), facts_of(_get(alarm, "data")) or {}, names, lang)
    if source_type == ENERGY:
        facts = facts_of(_get(alarm, "data")) or {}
        known = names.thresholds.get(condition)
        what = label(known[0], known[1], lang) if known else condition
        unit = known[2] if known else ""
        return t(
            "text.energy.over",
            lang,
            what=what,
            value=_num(facts.get("value")),
            limit=_num(facts.get("limit")),
            unit=unit,
        )
    if source_type == STOCK:
        return stock_text(_get(alarm, "source"), facts_of(_get(alarm, "data")) or {}, lang)
    if source_type == HAZARD:
        return hazard_text(alarm, names, lang)
    if source_type == VIDEO:
        if facts_of(_get(alarm, "data")) is not None or condition in VIDEO_CLASSES or not message:
            text = video_text(condition, _get(alarm, "camera") or _get(alarm, "source"), names, lang)
            return _linked(text, alarm, names, lang, show_names=show_names)
        return message
    return message


def link_text(alarm: Any, names: PlantNames, lang: str, *, show_names: bool) -> str | None:
    """The other source of a man-down joined by the alarm engine (``engine.mandown``), or None: on a badge's
    alarm the camera that also sees the person down, on a camera's the badge that also reports it."""
    data = _get(alarm, "data")
    if not isinstance(data, Mapping):
        return None
    if _get(alarm, "source_type") == PERSONNEL and data.get("seen_by"):
        return t("text.link.seen_on_camera", lang, camera=camera_text(str(data["seen_by"]), names, lang))
    if _get(alarm, "source_type") == VIDEO and data.get("badge_alarm"):
        badge = str(data["badge"]) if data.get("badge") else None
        return t("text.link.badge_down", lang, who=who(badge, names, lang, show_names=show_names))
    return None


def _linked(text: str, alarm: Any, names: PlantNames, lang: str, *, show_names: bool) -> str:
    link = link_text(alarm, names, lang, show_names=show_names)
    return t("text.linked", lang, text=text, link=link) if link else text


def source_text(alarm: Any, names: PlantNames, lang: str) -> str:
    """What the source column shows: the tag, badge or camera id; a zone rule (staffing) its zone's name."""
    source = str(_get(alarm, "source") or "")
    if _get(alarm, "source_type") == PERSONNEL and not _get(alarm, "badge") and source in RULES:
        return names.region(_get(alarm, "zone"), lang) or t("text.where.site", lang)
    return source
