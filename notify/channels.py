"""Sending one rendered message to one person over one channel, with timeouts and retries.

- ``email``: SMTP with ``smtplib``; plain connection, STARTTLS or implicit TLS (certificates verified,
  optionally against a private CA), optional login; a ``text/plain`` UTF-8 message.
- ``webhook``: ``POST`` of a JSON document (schema below); with a ``secret``, the headers
  ``X-SmeltWatch-Timestamp: <ms>`` and ``X-SmeltWatch-Signature: sha256=<hex HMAC-SHA256 of
  "<timestamp>.<body>">`` let the receiver check it came from us.
- ``dingtalk``: a DingTalk custom group robot, ``msgtype`` ``text`` or ``markdown`` with ``at.atMobiles``;
  with a ``secret`` ("加签") the URL gets ``timestamp`` (ms) and ``sign`` = URL-encoded base64 of
  HMAC-SHA256(key=secret, msg="<timestamp>\\n<secret>").
- ``wecom``: a WeCom (企业微信) group robot, ``msgtype`` ``text`` (``mentioned_mobile_list``) or ``markdown``.
- ``log``: the service log only.

Network errors, timeouts, HTTP 429 and 5xx, SMTP 4xx replies and the robots' rate-limit codes are retried
with exponential backoff; anything else fails at once. Nothing secret (passwords, robot tokens in URLs,
signing secrets) goes into a log line or the stored error text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import math
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

from engine.clock import now_ms
from notify.config import EmailChannel, LogChannel, Person, Retry, WebhookChannel
from notify.messages import Rendered, inline
from notify.policy import AlarmInfo, Outgoing

logger = logging.getLogger(__name__)

USER_AGENT = "SmeltWatch-notify/1"
ERROR_MAX = 500
WEBHOOK_ALARMS_MAX = 500
# Robots' documented limits: WeCom text 2048 bytes and markdown 4096 bytes; DingTalk is looser.
BODY_LIMITS = {("wecom", "text"): 2000, ("wecom", "markdown"): 4000, ("dingtalk", "text"): 6000}
BODY_LIMITS[("dingtalk", "markdown")] = 6000
# errcodes meaning "too fast" or "busy, try again": DingTalk 130101, WeCom 45009 and -1.
RETRY_ERRCODES = {"dingtalk": {130101, -1}, "wecom": {45009, -1}}

AnyChannel = EmailChannel | WebhookChannel | LogChannel


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | failed
    attempts: int
    error: str | None = None


class SendError(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def send(
    channel: AnyChannel,
    rendered: Rendered,
    person: Person,
    message: Outgoing,
    *,
    retry: Retry,
    now_ms: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send with retries; never raises for a delivery problem, it returns a failed :class:`Delivery`."""
    secrets = _secrets(channel)
    attempts = 0
    error = ""
    for attempt in range(1, retry.attempts + 1):
        attempts = attempt
        try:
            _send_once(channel, rendered, person, message, now_ms)
            if attempt > 1:
                logger.info("%s: sent to %s on try %d", channel.id, person.id, attempt)
            return Delivery("sent", attempts)
        except SendError as exc:
            error, again = str(exc), exc.retry
        except (OSError, smtplib.SMTPException) as exc:  # socket errors, timeouts, TLS errors, SMTP replies
            error, again = _describe(exc), _retryable(exc)
        except http.client.HTTPException as exc:  # a broken HTTP reply
            error, again = _describe(exc), True
        except Exception as exc:  # a message this code cannot build is a failed delivery, not a dead service
            logger.exception("%s: cannot send to %s", channel.id, person.id)
            error, again = _describe(exc), False
        error = _scrub(error, secrets)
        if not again or attempt == retry.attempts:
            break
        wait = retry.backoff_s * 2 ** (attempt - 1)
        logger.warning("%s: try %d to %s failed (%s); again in %.1f s", channel.id, attempt, person.id, error, wait)
        sleep(wait)
    logger.error("%s: giving up on %s after %d tries: %s", channel.id, person.id, attempts, error)
    return Delivery("failed", attempts, inline(error, ERROR_MAX) or "failed")


def _send_once(channel: AnyChannel, rendered: Rendered, person: Person, message: Outgoing, now_ms: int) -> None:
    if isinstance(channel, EmailChannel):
        send_email(channel, rendered, person)
    elif isinstance(channel, LogChannel):
        logger.info("%s: to %s (%s): %s\n%s", channel.id, person.id, message.kind, rendered.subject, rendered.text)
    elif channel.type == "webhook":
        body = json.dumps(webhook_payload(rendered, person, message, now_ms), ensure_ascii=False, allow_nan=False)
        post_json(channel, body.encode("utf-8"))
    else:
        body = json.dumps(robot_payload(channel, rendered, person), ensure_ascii=False, allow_nan=False)
        post_json(channel, body.encode("utf-8"))


# -- e-mail -----------------------------------------------------------------------------------------------
def email_message(channel: EmailChannel, rendered: Rendered, person: Person) -> EmailMessage:
    if not person.email:
        raise SendError(f"{person.id} has no e-mail address", retry=False)
    msg = EmailMessage()
    msg["From"] = channel.sender
    local, _, domain = person.email.partition("@")
    msg["To"] = Address(display_name=inline(person.name, 80), username=local, domain=domain)
    msg["Subject"] = inline(rendered.subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=channel.sender.partition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alarm mail
    msg["Content-Language"] = "zh-CN" if rendered.lang == "zh" else "en"
    msg.set_content(rendered.text, charset="utf-8")
    return msg


def send_email(channel: EmailChannel, rendered: Rendered, person: Person) -> None:
    smtp_send(channel, email_message(channel, rendered, person), person)


def smtp_send(channel: EmailChannel, msg: EmailMessage, person: Person) -> None:
    """Deliver a built message to ``person`` over the channel's SMTP server (TLS and login as configured)."""
    context = ssl.create_default_context(cafile=str(channel.ca_file) if channel.ca_file else None)
    port = channel.effective_port
    smtp: smtplib.SMTP
    if channel.security == "ssl":
        smtp = smtplib.SMTP_SSL(channel.host, port, timeout=channel.timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(channel.host, port, timeout=channel.timeout_s)
    with smtp:
        smtp.ehlo()
        if channel.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SendError("the server does not offer STARTTLS", retry=False)
            smtp.starttls(context=context)
            smtp.ehlo()
        if channel.username:
            password = channel.password.get_secret_value() if channel.password else ""
            smtp.login(channel.username, password)
        refused = smtp.send_message(msg, from_addr=channel.sender, to_addrs=[person.email or ""])
        if refused:
            raise SendError(f"recipient refused: {refused}", retry=False)


# -- webhooks ---------------------------------------------------------------------------------------------
def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _num(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _alarm_json(a: AlarmInfo, text: str) -> dict[str, Any]:
    return {
        "id": a.alarm_id,
        "priority": a.priority,
        "source_type": a.source_type,
        "source": a.source,
        "condition": a.condition,
        "area": a.area,
        "zone": a.zone,
        "equipment": a.equipment,
        "message": a.message,  # a sentence stored with old rows, as stored
        "text": text,  # what the alarm is about, in the recipient's language
        "value": _num(a.value),
        "limit": _num(a.limit),
        "activated_at": _iso(a.ts),
        "count": a.count,
    }


def webhook_payload(rendered: Rendered, person: Person, message: Outgoing, now_ms: int) -> dict[str, Any]:
    """The generic webhook's JSON document (version 1)."""
    digest = message.digest
    return {
        "source": "smeltwatch",
        "version": 1,
        "kind": message.kind,
        "level": message.level,
        "sent_at": _iso(now_ms),
        "lang": rendered.lang,
        "subject": rendered.subject,
        "text": rendered.text,
        "recipient": {"id": person.id, "name": person.name, "email": person.email, "mobile": person.mobile},
        "rota_entry": message.rota_entry,
        "alarm_count": len(message.alarms),
        "alarms": [
            _alarm_json(a, rendered.alarm_texts[i] if i < len(rendered.alarm_texts) else "")
            for i, a in enumerate(message.alarms[:WEBHOOK_ALARMS_MAX])
        ],
        "digest": None
        if digest is None
        else {
            "count": digest.count,
            "since": _iso(digest.since_ms),
            "by_priority": dict(digest.by_priority),
            "by_area": {area or "": n for area, n in digest.by_area},
            "top_sources": [[source, n] for source, n in digest.top_sources],
        },
    }


def _cut_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def robot_payload(channel: WebhookChannel, rendered: Rendered, person: Person) -> dict[str, Any]:
    """A DingTalk or WeCom group-robot message in their documented ``text``/``markdown`` formats."""
    mobiles = [person.mobile] if channel.mention and person.mobile else []
    limit = BODY_LIMITS[(channel.type, channel.format)]
    if channel.type == "dingtalk":
        at = {"atMobiles": mobiles, "isAtAll": False}
        mention = "".join(f" @{m}" for m in mobiles)  # DingTalk highlights @<mobile> written in the text
        if channel.format == "markdown":
            text = _cut_bytes(rendered.markdown, limit) + (f"\n\n{mention.strip()}" if mention else "")
            return {"msgtype": "markdown", "markdown": {"title": rendered.subject, "text": text}, "at": at}
        content = _cut_bytes(f"{rendered.subject}\n{rendered.text}", limit)
        content += f"\n{mention.strip()}" if mention else ""
        return {"msgtype": "text", "text": {"content": content}, "at": at}
    if channel.format == "markdown":  # WeCom markdown cannot mention by mobile number
        return {"msgtype": "markdown", "markdown": {"content": _cut_bytes(rendered.markdown, limit)}}
    content = _cut_bytes(f"{rendered.subject}\n{rendered.text}", limit)
    return {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mobiles}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's "加签": base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def webhook_signature(secret: str, timestamp_ms: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a redirected POST is an error here, not something to follow elsewhere


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(channel: WebhookChannel, body: bytes) -> None:
    url = channel.url.get_secret_value()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    secret = channel.secret.get_secret_value() if channel.secret else None
    timestamp = now_ms()  # the robots check it against their own clock: wall time
    if channel.type == "dingtalk" and secret:
        url += ("&" if urlsplit(url).query else "?") + f"timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"
    if channel.type == "webhook":
        headers.update(channel.headers)
        if secret:
            headers["X-SmeltWatch-Timestamp"] = str(timestamp)
            headers["X-SmeltWatch-Signature"] = webhook_signature(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=channel.timeout_s) as response:
            status = response.status
            reply = response.read(65536)
    except urllib.error.HTTPError as exc:
        status = exc.code
        raise SendError(f"HTTP {status} {exc.reason}", retry=status == 429 or status >= 500) from None
    except urllib.error.URLError as exc:
        raise SendError(f"cannot reach {_safe_url(url)}: {_describe(exc.reason)}", retry=True) from None
    if not 200 <= status < 300:
        raise SendError(f"HTTP {status}", retry=status >= 500)
    if channel.type in ("dingtalk", "wecom"):
        _check_robot_reply(channel.type, reply)


def _check_robot_reply(kind: str, reply: bytes) -> None:
    try:
        data = json.loads(reply.decode("utf-8"))
        code = int(data.get("errcode", 0))
    except (ValueError, AttributeError, TypeError):
        raise SendError(f"unexpected reply from the {kind} robot: {inline(reply[:200])}", retry=True) from None
    if code != 0:
        message = inline(data.get("errmsg", ""), 200)
        raise SendError(f"{kind} errcode {code}: {message}", retry=code in RETRY_ERRCODES[kind])


# -- errors and secrets -----------------------------------------------------------------------------------
def _safe_url(url: str) -> str:
    """scheme://host:port/path without the query (robot tokens live there) or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _secrets(channel: AnyChannel) -> list[str]:
    out: list[str] = []
    if isinstance(channel, EmailChannel) and channel.password:
        out.append(channel.password.get_secret_value())
    if isinstance(channel, WebhookChannel):
        url = channel.url.get_secret_value()
        out.append(url)
        out.extend(v for _, v in parse_qsl(urlsplit(url).query) if len(v) >= 6)
        if urlsplit(url).password:
            out.append(urlsplit(url).password or "")
        if channel.secret:
            out.append(channel.secret.get_secret_value())
    return sorted((s for s in out if s), key=len, reverse=True)


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _describe(exc: BaseException | str) -> str:
    if isinstance(exc, str):
        return exc
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"SMTP {exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"SMTP recipients refused: {exc.recipients}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPAuthenticationError | ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    return True


# -- reports (K5): an issued report to one person, attached to e-mail, linked in group-robot messages ------
@dataclass(frozen=True)
class ReportFile:
    subject: str  # e.g. "示范铜冶炼厂 · 日报 · 2026-12-06"
    text: str  # one or two lines in the person's language
    filename: str
    data: bytes
    mime: str  # e.g. application/pdf
    link: str | None  # where the archived file is downloaded (robots carry the link, not the file)
    lang: str


def report_email(channel: EmailChannel, report: ReportFile, person: Person) -> EmailMessage:
    """The report as an e-mail to ``person`` with the file attached."""
    body = report.text + (f"\n\n{report.link}" if report.link else "")
    msg = email_message(channel, Rendered(report.subject, body, body, report.lang), person)
    maintype, _, subtype = report.mime.partition(";")[0].strip().partition("/")
    msg.add_attachment(report.data, maintype=maintype, subtype=subtype, filename=report.filename)
    return msg


def _send_report_once(channel: AnyChannel, report: ReportFile, person: Person) -> None:
    if isinstance(channel, EmailChannel):
        smtp_send(channel, report_email(channel, report, person), person)
        return
    if isinstance(channel, LogChannel):
        logger.info("%s: report to %s: %s %s", channel.id, person.id, report.subject, report.link or report.filename)
        return
    link = report.link or report.filename
    if channel.type == "webhook":
        payload: dict[str, Any] = {
            "kind": "report",
            "subject": report.subject,
            "text": report.text,
            "file": report.filename,
            "link": report.link,
            "lang": report.lang,
        }
    else:
        md = f"### {report.subject}\n\n{report.text}\n\n[{report.filename}]({link})" if report.link else report.text
        rendered = Rendered(report.subject, f"{report.text}\n{link}", md, report.lang)
        payload = robot_payload(channel, rendered, person)
    post_json(channel, json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8"))


def send_report(
    channel: AnyChannel,
    report: ReportFile,
    person: Person,
    *,
    retry: Retry,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send an issued report with retries (as :func:`send`); never raises for a delivery problem."""
    secrets = _secrets(channel)
    error, attempts = "", 0
    for attempt in range(1, retry.attempts + 1):
        attempts = attempt
        try:
            _send_report_once(channel, report, person)
            return Delivery("sent", attempts)
        except SendError as exc:
            error, again = str(exc), exc.retry
        except (OSError, smtplib.SMTPException) as exc:
            error, again = _describe(exc), _retryable(exc)
        except http.client.HTTPException as exc:
            error, again = _describe(exc), True
        except Exception as exc:
            logger.exception("%s: cannot send the report to %s", channel.id, person.id)
            error, again = _describe(exc), False
        error = _scrub(error, secrets)
        if not again or attempt == retry.attempts:
            break
        sleep(retry.backoff_s * 2 ** (attempt - 1))
    logger.error("%s: report to %s failed after %d tries: %s", channel.id, person.id, attempts, error)
    return Delivery("failed", attempts, inline(error, ERROR_MAX) or "failed")
