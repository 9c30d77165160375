"""The on-call file: channels, people, the rota (primary and escalation chain) and the notification policy.

A YAML file (setting ``oncall_file``, env ``SW_ONCALL_FILE``; the demo's is ``plant/oncall_demo.yaml``)
validated by the pydantic models below with ``extra="forbid"``: a typo fails at start with the file, the
entry and the problem named, as plant files do (``plant.loader``).

Secrets (SMTP password, robot tokens in webhook URLs, signing secrets) may be written in the file or,
better, named by an environment variable (``password_env``, ``url_env``, ``secret_env``); they are kept as
``SecretStr`` so that they never appear in a repr or a log line.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import types
import typing
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from plant.loader import _entry, _short, read_mapping, read_text
from plant.schema import AlarmPriority, Id, StrictModel

logger = logging.getLogger(__name__)

DEMO_ONCALL = Path(__file__).resolve().parent.parent / "plant" / "oncall_demo.yaml"

Priority = AlarmPriority
Lang = Literal["en", "zh"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
CHANNEL_TYPES: tuple[str, ...] = ("email", "webhook", "dingtalk", "wecom", "log")

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$|^[^@\s<>\"',;]+@localhost$")
_MOBILE_RE = re.compile(r"^\+?[0-9][0-9\-]{4,19}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_RE = re.compile(r"^[A-Za-z0-9\-]{1,64}$")


def _one_line(value: str, what: str = "text") -> str:
    if _CONTROL_RE.search(value):
        raise ValueError(f"{what} contains a control character or line break (one line expected)")
    if not value.strip():
        raise ValueError(f"{what} must not be blank")
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if _CONTROL_RE.search(value) or " " in value:
        raise ValueError("URL contains spaces or control characters")
    return value


def _from_env(data: Any, field: str, *, required_if: bool) -> Any:
    """Move the value of the environment variable named by ``<field>_env`` into ``field``."""
    if not isinstance(data, dict) or data.get(f"{field}_env") is None:
        return data
    name = data[f"{field}_env"]
    if not isinstance(name, str) or not _ENV_RE.match(name):
        raise ValueError(f"{field}_env must name an environment variable (got {_short(name)})")
    if data.get(field) is not None:
        raise ValueError(f"give either {field} or {field}_env, not both")
    value = os.environ.get(name)
    if value:
        return {**data, field: value}
    if required_if:
        raise ValueError(f"{field}_env: environment variable {name} is not set")
    return data


def _quoted_time(v: object) -> object:
    # YAML 1.1 reads an unquoted 16:00 as the base-60 integer 960, which would become 00:16.
    if isinstance(v, int | float) and not isinstance(v, bool):
        hint = f" (an unquoted {int(v) // 60}:{int(v) % 60:02d} reads as the number {v})" if v == int(v) else ""
        raise ValueError(f"must be a quoted time such as '08:00'{hint}")
    return v


class Retry(StrictModel):
    """Tries per message; the wait before try n+1 is ``backoff_s * 2**(n-1)``."""

    attempts: int = Field(default=3, ge=1, le=10)
    backoff_s: float = Field(default=2.0, ge=0, le=300)


class _ChannelBase(StrictModel):
    id: Id
    enabled: bool = True
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    retry: Retry | None = None  # None: the file's ``retry``


class EmailChannel(_ChannelBase):
    """E-mail over SMTP to each person's ``email``; STARTTLS or implicit TLS and login are optional."""

    type: Literal["email"]
    host: str = Field(min_length=1, max_length=255, pattern=r"^[^\s/]+$")
    port: int | None = Field(default=None, ge=1, le=65535)  # default 25, 587 with starttls, 465 with ssl
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = Field(default=None, max_length=255)
    password: SecretStr | None = None
    password_env: str | None = None
    sender: str = Field(max_length=255)  # the From address
    ca_file: Path | None = None  # a private CA (or self-signed certificate) the server's certificate chains to

    @model_validator(mode="before")
    @classmethod
    def _env(cls, data: Any) -> Any:
        enabled = not isinstance(data, dict) or data.get("enabled", True) is not False
        return _from_env(data, "password", required_if=enabled)

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        if not _EMAIL_RE.match(v):
            raise ValueError(f"not an e-mail address: {_short(v)}")
        return v

    @model_validator(mode="after")
    def _login(self) -> EmailChannel:
        if self.username and self.security == "none" and self.host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("login over an unencrypted connection: set security to starttls or ssl")
        if self.username and self.password is None and self.enabled:
            raise ValueError("username given without password or password_env")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ValueError(f"ca_file {self.ca_file} not found")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"none": 25, "starttls": 587, "ssl": 465}[self.security]


class WebhookChannel(_ChannelBase):
    """An HTTP POST of JSON: a generic webhook, a DingTalk group robot or a WeCom group robot.

    ``secret`` signs DingTalk requests (``timestamp`` and ``sign`` query parameters) and generic webhooks
    (``X-SmeltWatch-Signature: sha256=<hex HMAC of the body>``); WeCom robots have no signature.
    """

    type: Literal["webhook", "dingtalk", "wecom"]
    url: SecretStr
    url_env: str | None = None
    secret: SecretStr | None = None
    secret_env: str | None = None
    format: Literal["text", "markdown"] = "text"
    mention: bool = True  # @ the recipient's mobile number in the group (DingTalk, WeCom)
    headers: dict[str, str] = Field(default_factory=dict)  # extra headers (generic webhook only)

    @model_validator(mode="before")
    @classmethod
    def _env(cls, data: Any) -> Any:
        enabled = not isinstance(data, dict) or data.get("enabled", True) is not False
        data = _from_env(data, "url", required_if=enabled)
        if isinstance(data, dict) and data.get("url") is None and data.get("url_env") is not None:
            data = {**data, "url": "http://unset.invalid/"}  # disabled channel whose variable is not set
        return _from_env(data, "secret", required_if=enabled)

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, v: object) -> object:
        if isinstance(v, str):
            return _http_url(v)
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not _HEADER_RE.match(name):
                raise ValueError(f"bad header name {_short(name)}")
            _one_line(value, f"header {name}")
        return v

    @model_validator(mode="after")
    def _kind(self) -> WebhookChannel:
        if self.headers and self.type != "webhook":
            raise ValueError(f"headers are only for type webhook, not {self.type}")
        if self.format == "markdown" and self.type == "webhook":
            raise ValueError("format markdown is for dingtalk and wecom robots")
        return self


class LogChannel(_ChannelBase):
    """Writes the message to the service log only: for trials and offline demos."""

    type: Literal["log"]


Channel = Annotated[EmailChannel | WebhookChannel | LogChannel, Field(discriminator="type")]


class Person(StrictModel):
    id: Id
    name: str = Field(max_length=120)
    lang: Lang | None = None  # None: the file's ``language``
    email: str | None = Field(default=None, max_length=255)
    mobile: str | None = None  # for @-mentions in group robots
    badge: Id | None = None  # the person's badge in the plant file: a hazard-source lead named by badge is them
    channels: list[Id] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _one_line(v, "name")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not _EMAIL_RE.match(v):
            raise ValueError(f"not an e-mail address: {_short(v)}")
        return v

    @field_validator("mobile", mode="before")
    @classmethod
    def _mobile(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and not _MOBILE_RE.match(v):
            raise ValueError(f"not a phone number (digits, optional + and -): {_short(v)}")
        return v


class RotaEntry(StrictModel):
    """Who is on call on these weekdays between ``start`` and ``end`` (plant local time).

    ``end`` at or before ``start`` runs past midnight into the next day (``start == end`` is 24 hours);
    the part after midnight belongs to the weekday it started on. ``chain`` is the primary first, then the
    people escalated to, in order. The first entry that matches wins.
    """

    id: Id
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    start: time = time(0, 0)
    end: time = time(0, 0)
    chain: list[Id] = Field(min_length=1)

    _quoted = field_validator("start", "end", mode="before")(_quoted_time)

    @field_validator("days", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return [d.lower() if isinstance(d, str) else d for d in v] if isinstance(v, list) else v


class Override(StrictModel):
    """A fixed period (holiday, sick leave) with its own chain, before the rota; local times."""

    id: Id
    start: datetime
    end: datetime
    chain: list[Id] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> Override:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give start and end both with or both without a UTC offset")
        return self


class Flood(StrictModel):
    """More than ``threshold`` alarms within ``window_min``: one digest every ``digest_every_min`` instead."""

    threshold: int = Field(default=5, ge=1, le=10_000)
    window_min: float = Field(default=10.0, gt=0, le=1440)
    digest_every_min: float = Field(default=5.0, gt=0, le=1440)
    top_sources: int = Field(default=5, ge=1, le=50)


class Policy(StrictModel):
    priorities: list[Priority] = Field(default_factory=lambda: [Priority.URGENT, Priority.HIGH], min_length=1)
    # Not acknowledged this long after the previous level's message: the next person in the chain.
    escalate_after_min: dict[Priority, float] = Field(
        default_factory=lambda: {Priority.URGENT: 5.0, Priority.HIGH: 15.0}
    )
    # An alarm that comes back within this time of its last message, still unacknowledged, is not sent again.
    dedup_min: float = Field(default=10.0, ge=0, le=1440)
    flood: Flood = Field(default_factory=Flood)
    # On start, activations up to this old that were never notified are still sent.
    catch_up_min: float = Field(default=30.0, ge=0, le=1440)
    # On start, messages this far back are read to know what was sent (escalations in progress).
    resume_h: float = Field(default=12.0, gt=0, le=168)

    @field_validator("priorities")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a priority is listed twice")
        return v

    @field_validator("escalate_after_min")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for key, minutes in v.items():
            if not minutes > 0:
                raise ValueError(f"{key}: minutes must be more than 0")
        return v

    @model_validator(mode="after")
    def _escalated_notify(self) -> Policy:
        extra = [p for p in self.escalate_after_min if p not in self.priorities]
        if extra:
            raise ValueError(f"escalate_after_min names {', '.join(extra)}, which is not in priorities")
        return self

    def escalation_minutes(self) -> dict[str, float]:
        """``escalate_after_min`` keyed by the priority's name, as alarms carry it."""
        return {p.value: minutes for p, minutes in self.escalate_after_min.items()}


class OncallReferenceError(ValueError):
    """Cross-reference problems, each located as (collection, index, field, message)."""

    def __init__(self, items: list[tuple[str, int, str, str]]) -> None:
        super().__init__("on-call references")
        self.items = items


class OncallConfig(StrictModel):
    schema_version: Literal[1] = 1
    timezone: str | None = None  # None: the plant's time zone
    language: Lang = "en"  # for people without their own ``lang``
    app_url: str | None = None  # the command center's address, put in messages as the place to acknowledge
    retry: Retry = Field(default_factory=Retry)
    channels: list[Channel] = Field(min_length=1)
    people: list[Person] = Field(min_length=1)
    rota: list[RotaEntry] = Field(min_length=1)
    overrides: list[Override] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("app_url")
    @classmethod
    def _app_url(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v).rstrip("/")

    @model_validator(mode="after")
    def _references(self) -> OncallConfig:
        items: list[tuple[str, int, str, str]] = []
        for coll in ("channels", "people", "rota", "overrides"):
            seen: set[str] = set()
            for i, item in enumerate(getattr(self, coll)):
                if item.id in seen:
                    items.append((coll, i, "id", f"duplicate id {item.id!r}"))
                seen.add(item.id)
        channels = {c.id: c for c in self.channels}
        people = {p.id for p in self.people}
        for i, person in enumerate(self.people):
            for ch in person.channels:
                if ch not in channels:
                    close = difflib.get_close_matches(ch, list(channels), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    items.append(("people", i, "channels", f"unknown channel {ch!r}{hint}"))
                elif channels[ch].type == "email" and not person.email:
                    items.append(("people", i, "email", f"channel {ch!r} is e-mail but the person has no email"))
            if len(set(person.channels)) != len(person.channels):
                items.append(("people", i, "channels", "a channel is listed twice"))
        for coll in ("rota", "overrides"):
            for i, entry in enumerate(getattr(self, coll)):
                for pid in entry.chain:
                    if pid not in people:
                        close = difflib.get_close_matches(pid, list(people), n=1)
                        hint = f"; did you mean {close[0]!r}?" if close else ""
                        items.append((coll, i, "chain", f"unknown person {pid!r}{hint}"))
                if len(set(entry.chain)) != len(entry.chain):
                    items.append((coll, i, "chain", "a person is listed twice"))
        if items:
            raise OncallReferenceError(items)
        return self

    # Lookups
    def person(self, person_id: str) -> Person:
        return next(p for p in self.people if p.id == person_id)

    def channel(self, channel_id: str) -> EmailChannel | WebhookChannel | LogChannel:
        return next(c for c in self.channels if c.id == channel_id)

    def tz(self, plant_tz: str) -> ZoneInfo:
        return ZoneInfo(self.timezone or plant_tz)

    def lang_of(self, person: Person) -> str:
        return person.lang or self.language

    def retry_of(self, channel: EmailChannel | WebhookChannel | LogChannel) -> Retry:
        return channel.retry or self.retry


class OncallFileError(ValueError):
    """An on-call file that cannot be used. ``problems`` lists 'entry: problem' lines."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        shown = problems[:20]
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"on-call file {path}: {len(problems)} problem(s)\n  " + "\n  ".join(shown) + more)


def _union_member(annotation: Any, node: Any) -> Any:
    """The member of a discriminated channel union that the raw mapping ``node`` selects by ``type``."""
    for member in typing.get_args(annotation):
        if not (isinstance(member, type) and issubclass(member, BaseModel) and "type" in member.model_fields):
            continue
        if isinstance(node, dict) and node.get("type") in typing.get_args(member.model_fields["type"].annotation):
            return member
    return None


def _model_at(raw: Any, loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose mapping sits at ``loc`` in the raw file (None when the path leaves the schema)."""
    model: type[BaseModel] = OncallConfig
    node = raw
    for key in loc:
        node = _child(node, key)
        if not isinstance(key, str) or key not in model.model_fields:
            if isinstance(key, int):
                continue
            return None
        annotation: Any = model.model_fields[key].annotation
        while True:
            origin = typing.get_origin(annotation)
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            unwrap = (origin is list and args) or origin is Annotated
            if unwrap or (origin in (typing.Union, types.UnionType) and len(args) == 1):
                annotation = args[0]
            else:
                break
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            element = node[0] if isinstance(node, list) and node else node
            annotation = _union_member(annotation, element)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _child(node: Any, key: int | str) -> Any:
    """``node[key]`` of the raw file; None where it has no such entry."""
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _unknown_key(raw: Any, loc: tuple[int | str, ...]) -> str:
    model = _model_at(raw, loc[:-1])
    key = loc[-1]
    if model is None or not isinstance(key, str):
        return "unknown key (not part of the on-call schema)"
    fields = list(model.model_fields)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; expected one of: {', '.join(fields)}"


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop the union tags pydantic inserts (``channels.0.email.host`` -> ``channels.0.host``)."""
    out: list[int | str] = []
    for i, key in enumerate(loc):
        if isinstance(key, str) and key.startswith("function-"):
            continue
        if i >= 2 and loc[0] == "channels" and isinstance(loc[i - 1], int) and key in CHANNEL_TYPES:
            continue
        out.append(key)
    return tuple(out)


def _problems(raw: Any, exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors(include_url=False):
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, OncallReferenceError):
            for coll, index, field, message in cause.items:
                out.append(f"{_entry(raw, (coll, index, field))}: {message}")
            continue
        loc = _clean_loc(tuple(err["loc"]))
        secret = any(k in ("password", "secret", "url") for k in loc if isinstance(k, str))  # never echo those
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = _unknown_key(raw, loc)
        elif err["type"] == "missing":
            msg = "missing field (required)"
        elif err["type"] == "union_tag_invalid":
            msg = f"type must be one of: {', '.join(CHANNEL_TYPES)}"
        elif err["type"] == "union_tag_not_found":
            msg = f"missing field type (one of: {', '.join(CHANNEL_TYPES)})"
        elif err["type"] not in ("value_error", "assertion_error") and _short(err.get("input")) and not secret:
            msg = f"{msg} (got {_short(err['input'])})"
        out.append(f"{_entry(raw, loc)}: {msg}")
    return out


def parse_oncall(text: str, path: Path) -> OncallConfig:
    raw = read_mapping(text, path, OncallFileError, "channels, people, rota")
    try:
        return OncallConfig.model_validate(raw)
    except ValidationError as exc:
        raise OncallFileError(path, _problems(raw, exc)) from exc


def load_oncall(path: str | Path | None = None) -> OncallConfig:
    """Read, parse and validate an on-call file (the demo's by default)."""
    p = Path(path) if path is not None else DEMO_ONCALL
    config = parse_oncall(read_text(p, OncallFileError, "an on-call file"), p)
    enabled = [c.id for c in config.channels if c.enabled]
    logger.info(
        "on-call file %s: %d people, %d rota entries, channels enabled: %s",
        p.name,
        len(config.people),
        len(config.rota),
        ", ".join(enabled) or "none",
    )
    return config
