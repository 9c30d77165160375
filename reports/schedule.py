"""A report schedule as a person sets it up: after each shift (a delay after its end), daily at a local time,
or monthly on a day of the next month at a local time; language, formats, names, recipients, on or off.

:func:`check` turns what was typed into the stored fields (``store.models.ReportSchedule``) or refuses it with
a :class:`ScheduleError` that names what is wrong by a catalog key (``reports.sched.err.*``) and its values, so
the refusal is shown in the reader's language. :func:`when` gives the stored ``at_minute`` back as the form
shows it. Recipients are people of the on-call file (their channels carry the report: e-mail attachment,
DingTalk/WeCom/webhook link), given by their id or their e-mail address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from notify.config import OncallConfig
from reports.period import Kind
from store.reports import FORMATS

LANGS = ("en", "zh")
MONTH_DAYS = 7  # a monthly report runs on one of the first days of the next month (stored delay: up to a week)
MAX_TEXT = 400  # the longest recipients text taken
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


class ScheduleError(ValueError):
    """A schedule refused: ``key`` is the catalog text (``reports.sched.err.<key>``), ``values`` fill it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"{key}: {values}" if values else key)
        self.key = key
        self.values = values


@dataclass(frozen=True, slots=True)
class ScheduleFields:
    kind: str
    at_minute: int
    lang: str
    formats: tuple[str, ...]
    named: bool
    recipients: tuple[str, ...]  # on-call person ids
    enabled: bool


def _clip(text: object, n: int = 60) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def parse_time(text: str | None) -> int:
    """Minutes of ``HH:MM`` (00:00 to 23:59)."""
    m = _TIME.match(str(text or ""))
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ScheduleError("time", value=_clip(text or ""))
    return int(m.group(1)) * 60 + int(m.group(2))


def resolve_recipients(text: str | None, oncall: OncallConfig | None) -> tuple[str, ...]:
    """The on-call person ids named in ``text`` (ids or e-mail addresses, separated by commas, semicolons,
    spaces or new lines), each once, in the order given."""
    text = str(text or "")
    if len(text) > MAX_TEXT:
        raise ScheduleError("recipients_long", n=MAX_TEXT)
    words = [w for w in re.split(r"[,;，；\s]+", text) if w]
    if not words:
        return ()
    if oncall is None:
        raise ScheduleError("no_oncall")
    by_id = {p.id: p.id for p in oncall.people}
    by_mail = {p.email.lower(): p.id for p in oncall.people if p.email}
    out: list[str] = []
    for w in words:
        pid = by_id.get(w) or by_mail.get(w.lower())
        if pid is None:
            raise ScheduleError("recipient_mail" if "@" in w else "recipient", value=_clip(w))
        if pid not in out:
            out.append(pid)
    return tuple(out)


def check(
    *,
    kind: str | None,
    time_text: str | None,
    month_day: object,
    lang: str | None,
    formats: Sequence[str] | None,
    named: bool,
    recipients: str | None,
    enabled: bool,
    oncall: OncallConfig | None,
    template: bool,
) -> ScheduleFields:
    """The stored fields of a schedule from the form's values; :class:`ScheduleError` for the first thing wrong."""
    if kind not in {k.value for k in Kind}:
        raise ScheduleError("kind", value=_clip(kind or ""))
    minute = parse_time(time_text)
    if kind == Kind.MONTH.value:
        try:
            day = int(str(month_day).strip())
        except ValueError:
            raise ScheduleError(
                "month_day", value=_clip(month_day if month_day is not None else ""), n=MONTH_DAYS
            ) from None
        if not 1 <= day <= MONTH_DAYS:
            raise ScheduleError("month_day", value=day, n=MONTH_DAYS)
        minute += (day - 1) * 1440
    if lang not in LANGS:
        raise ScheduleError("lang", value=_clip(lang or ""))
    offered = [f for f in FORMATS if f != "template" or template]
    fmts = tuple(f for f in offered if f in set(formats or ()))
    bad = [f for f in formats or () if f not in offered]
    if bad:
        raise ScheduleError("format", value=_clip(bad[0]))
    if not fmts:
        raise ScheduleError("no_format")
    return ScheduleFields(
        kind=str(kind),
        at_minute=minute,
        lang=str(lang),
        formats=fmts,
        named=bool(named),
        recipients=resolve_recipients(recipients, oncall),
        enabled=bool(enabled),
    )


def when(kind: str, at_minute: int) -> tuple[str, int]:
    """The form's time (``HH:MM``) and day of the month (1 for other kinds) of a stored ``at_minute``."""
    day, minute = (at_minute // 1440 + 1, at_minute % 1440) if kind == Kind.MONTH.value else (1, at_minute % 1440)
    return f"{minute // 60:02d}:{minute % 60:02d}", day
