"""Message texts in the reader's language: a subject, a plain text and a markdown variant (pure).

Alarm texts are built here in the reader's language from the alarm's structured fields
(``engine.alarm_text``), without people's names. Everything that comes from labels, alarm messages or tag
descriptions is data, not markup: in plain text
it is kept on one line without control characters; in markdown its markup characters are escaped, so
``<script>`` or ``[x](http://...)`` in a label shows as those characters and does nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.alarm_text import RULES, VIDEO_CLASSES, PlantNames, alarm_text, source_text
from engine.clock import DATE_TIME, format_local
from i18n import label, t
from notify.policy import AlarmInfo, Outgoing

SUBJECT_MAX = 180
FIELD_MAX = 300
DIGEST_LIST_MAX = 10
ALARM_TEXTS_MAX = 500  # alarm texts a rendered message carries for machine-readable channels

PRIORITY_KEYS = {
    "urgent": "notify.priority.urgent",
    "high": "notify.priority.high",
    "medium": "notify.priority.medium",
    "low": "notify.priority.low",
}
SOURCE_TYPE_KEYS = {
    "process": "notify.source_type.process",
    "quality": "notify.source_type.quality",
    "personnel": "notify.source_type.personnel",
    "video": "notify.source_type.video",
    "energy": "notify.source_type.energy",
    "hazard": "notify.source_type.hazard",
}

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")
# Characters that make markup in the robots' markdown when they are inside a line (every value is).
_MD_RE = re.compile(r"([\\`*_\[\]#!|~])")


def inline(text: object, limit: int = FIELD_MAX) -> str:
    """One line of plain text: control characters and line breaks become spaces; long text is cut."""
    s = " ".join(_CONTROL_RE.sub(" ", str(text)).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def md_escape(text: str) -> str:
    """Escape markdown markup and HTML brackets so that data shows as typed and links nothing."""
    html = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_RE.sub(r"\\\1", html)


# Names from the plant file for areas, zones, equipment, fences, cameras, badges and tags, in either
# language: the one index the alarm texts use (``engine.alarm_text``).
Labels = PlantNames


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    markdown: str
    lang: str
    alarm_texts: tuple[str, ...] = ()  # each alarm's text in ``lang``, in the order of the message's alarms


def _fmt_value(value: float | None, unit: str = "") -> str | None:
    if value is None or not math.isfinite(value):
        return None if value is None else str(value)
    text = f"{value:.6g}"
    return f"{text} {unit}".strip()


class _Writer:
    """Collects lines twice: plain, and markdown with the dynamic values escaped."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.md: list[str] = []

    def line(self, key: str, lang: str, *, trusted: tuple[str, ...] = (), **values: object) -> None:
        """Add a catalog line; values named in ``trusted`` (from the on-call file) are not escaped."""
        plain = {k: inline(v) for k, v in values.items()}
        self.plain.append(t(key, lang, **plain))
        self.md.append(t(key, lang, **{k: v if k in trusted else md_escape(v) for k, v in plain.items()}))


def _where(a: AlarmInfo, labels: Labels, lang: str) -> str:
    parts = [
        labels.name(labels.areas, a.area, lang),
        labels.name(labels.zones, a.zone, lang),
        labels.name(labels.equipment, a.equipment, lang),
    ]
    named = [p for p in parts if p]
    return " / ".join(dict.fromkeys(named)) if named else t("notify.where.unknown", lang)


def _what(a: AlarmInfo, labels: Labels, lang: str) -> str:
    """Source, condition and, for a tag, its description: "FSF.T101 HH Furnace temperature"."""
    source = source_text(a, labels, lang) or a.alarm_id
    condition = a.condition
    if condition in RULES or condition in VIDEO_CLASSES:
        condition = t(f"alarm.cond.{condition}", lang)
    description = labels.tag_text(a.source, lang) if a.source_type in ("process", "quality") else None
    return " ".join(p for p in (source, condition, description or "") if p)


def alarm_line(a: AlarmInfo, labels: Labels, lang: str) -> str:
    """The alarm's text for a message, built in the reader's language. Messages leave the plant (mail, group
    robots) and reach on-call people, who see no names on screen either (``auth.policy.viewer_of``): a person is
    their badge id, and an old row's sentence about a person is left out. A tag's description is already
    in :func:`_what`."""
    if a.source_type in ("process", "quality") and labels.tag_text(a.source, lang):
        return ""
    return alarm_text(a, labels, lang, show_names=False)


def _alarm_lines(w: _Writer, a: AlarmInfo, labels: Labels, tz: ZoneInfo, lang: str) -> None:
    priority = t(PRIORITY_KEYS.get(a.priority, "notify.priority.unknown"), lang)
    w.line("notify.line.alarm", lang, id=a.alarm_id)
    w.line("notify.line.priority", lang, priority=priority)
    source_type = t(SOURCE_TYPE_KEYS.get(a.source_type, "notify.source_type.other"), lang)
    w.line("notify.line.source", lang, source=_what(a, labels, lang), source_type=source_type)
    w.line("notify.line.where", lang, where=_where(a, labels, lang))
    text = alarm_line(a, labels, lang)
    if text:
        w.line("notify.line.message", lang, message=text)
    unit = labels.tags.get(a.source, ("", None, ""))[2] if a.source else ""
    value, limit = _fmt_value(a.value, unit), _fmt_value(a.limit, unit)
    if value is not None and limit is not None:
        w.line("notify.line.value_limit", lang, value=value, limit=limit)
    elif value is not None:
        w.line("notify.line.value", lang, value=value)
    w.line("notify.line.since", lang, time=format_local(a.ts, tz, DATE_TIME))
    if a.count > 1:
        w.line("notify.line.repeats", lang, count=a.count)


def _items(pairs: list[tuple[str, int]], lang: str) -> str:
    return t("notify.sep", lang).join(f"{name} {count}" for name, count in pairs)


def render(
    message: Outgoing,
    lang: str,
    labels: Labels,
    tz: ZoneInfo,
    *,
    app_url: str | None = None,
    escalate_after_min: Mapping[str, float] | None = None,
    digest_every_min: float = 5.0,
    flood_window_min: float = 10.0,
) -> Rendered:
    """The subject and texts of ``message`` for a reader of ``lang``."""
    w = _Writer()
    after = escalate_after_min or {}
    if message.kind in ("alarm", "escalation"):
        a = message.alarms[0]
        priority = t(PRIORITY_KEYS.get(a.priority, "notify.priority.unknown"), lang)
        what, where = _what(a, labels, lang), _where(a, labels, lang)
        if message.kind == "alarm":
            subject = t("notify.subject.alarm", lang, priority=priority, what=inline(what), where=inline(where))
        else:
            subject = t("notify.subject.escalation", lang, level=message.level, priority=priority, what=inline(what))
            previous = message.previous.name if message.previous else "-"
            w.line("notify.line.escalated", lang, name=previous, minutes=_minutes(after.get(a.priority)))
        _alarm_lines(w, a, labels, tz, lang)
    else:
        digest = message.digest
        assert digest is not None, "a digest message carries its summary"
        since = format_local(digest.since_ms, tz, DATE_TIME)
        if message.level == 0:
            window = max(digest.window, digest.count)
            subject = t(
                "notify.subject.digest",
                lang,
                count=digest.count,
                since=since,
                window=window,
                minutes=_minutes(flood_window_min),
            )
            w.line("notify.digest.intro", lang, count=digest.count, since=since, every=_minutes(digest_every_min))
        else:
            subject = t("notify.subject.escalation_digest", lang, level=message.level, count=digest.count)
            previous = message.previous.name if message.previous else "-"
            w.line("notify.digest.escalated", lang, count=digest.count, name=previous)
        by_priority = [(t(PRIORITY_KEYS.get(p, "notify.priority.unknown"), lang), n) for p, n in digest.by_priority]
        w.line("notify.digest.by_priority", lang, items=_items(by_priority, lang))
        unknown = t("notify.where.unknown", lang)
        by_area = [(labels.name(labels.areas, a, lang) or unknown, n) for a, n in digest.by_area]
        w.line("notify.digest.by_area", lang, items=_items(by_area[:DIGEST_LIST_MAX], lang))
        w.line("notify.digest.top_sources", lang, items=_items(list(digest.top_sources), lang))
        urgent = [a for a in message.alarms if a.priority == "urgent"][:DIGEST_LIST_MAX]
        if urgent:
            w.line("notify.digest.urgent", lang, items=t("notify.sep", lang).join(a.alarm_id for a in urgent))
    if app_url:
        w.line("notify.line.ack", lang, trusted=("url",), url=f"{app_url}/alarms")
    if labels.site[0]:
        w.line("notify.footer", lang, site=label(labels.site[0], labels.site[1], lang))
    subject = inline(subject, SUBJECT_MAX)
    text = "\n".join(w.plain)
    markdown = f"### {md_escape(subject)}\n\n" + "\n\n".join(w.md)
    texts = tuple(inline(alarm_text(a, labels, lang, show_names=False)) for a in message.alarms[:ALARM_TEXTS_MAX])
    return Rendered(subject=subject, text=text, markdown=markdown, lang=lang, alarm_texts=texts)


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def emergency_message(
    plan: str,
    zone: str,
    level: int,
    declared_ms: int,
    lang: str,
    tz: ZoneInfo,
    *,
    app_url: str | None = None,
    site: tuple[str, str | None] = ("", None),
) -> Rendered:
    """A declared emergency for a person on its plan's call list: the plan and zone (names in ``lang``, from
    the plant file), the response level, when, and where to follow it. Values are data, never markup."""
    w = _Writer()
    subject = t("notify.subject.emergency", lang, plan=inline(plan), zone=inline(zone))
    w.line("notify.emergency.line", lang, plan=inline(plan), zone=inline(zone), level=level)
    w.line("notify.emergency.declared", lang, time=format_local(declared_ms, tz, DATE_TIME))
    if app_url:
        w.line("notify.emergency.follow", lang, trusted=("url",), url=f"{app_url}/emergency")
    if site[0]:
        w.line("notify.footer", lang, site=label(site[0], site[1], lang))
    subject = inline(subject, SUBJECT_MAX)
    return Rendered(
        subject=subject,
        text="\n".join(w.plain),
        markdown=f"### {md_escape(subject)}\n\n" + "\n\n".join(w.md),
        lang=lang,
    )
