"""Channels against real local servers: an SMTP server (plain, STARTTLS with login, implicit TLS) and an HTTP
receiver playing a generic webhook, a DingTalk robot (with its signature) and a WeCom robot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from notify.channels import Delivery, send
from notify.config import OncallConfig, Retry
from notify.messages import Labels, Rendered, render
from notify.policy import AlarmInfo, Outgoing, summarize
from tests.conftest import free_port
from tests.notifyutil import HttpReceiver, SmtpServer, make_cert

TZ = ZoneInfo("Asia/Shanghai")
NOW = 1_800_000_000_000
HOSTILE = '<script>alert("x")</script> [click](http://evil.example) **bold** \u202eevil'
TOKEN = "tok-SECRET-98765"
SIGN_SECRET = "SECd1f2a3b4c5d6e7f8"


def _config(channel: dict[str, Any], **person: Any) -> OncallConfig:
    people = [
        {
            "id": "li.wei",
            "name": "李伟",
            "lang": "zh",
            "email": "li.wei@localhost",
            "mobile": "13800000001",
            "channels": [channel["id"]],
            **person,
        }
    ]
    return OncallConfig.model_validate(
        {"channels": [channel], "people": people, "rota": [{"id": "all", "chain": ["li.wei"]}]}
    )


def _alarm(i: int = 0, **kw: Any) -> AlarmInfo:
    base: dict[str, Any] = {
        "alarm_id": f"FSF.T{101 + i}:HH",
        "ts": NOW - 60_000,
        "priority": "urgent",
        "area": "smelting",
        "zone": "smelter-hall",
        "source": f"FSF.T{101 + i}",
        "condition": "HH",
        "message": HOSTILE,
        "value": 1351.5,
        "limit": 1300.0,
    }
    base.update(kw)
    return AlarmInfo(**base)


def _send(
    config: OncallConfig, message: Outgoing | None = None, *, attempts: int = 3, lang: str | None = None
) -> tuple[Delivery, Rendered, list[float]]:
    person = config.people[0]
    message = message or Outgoing("alarm", 0, (_alarm(),), person, "all")
    rendered = render(message, lang or config.lang_of(person), Labels(), TZ, app_url="http://127.0.0.1:8050")
    sleeps: list[float] = []
    delivery = send(
        config.channels[0],
        rendered,
        person,
        message,
        retry=Retry(attempts=attempts, backoff_s=0.5),
        now_ms=NOW,
        sleep=sleeps.append,
    )
    return delivery, rendered, sleeps


# -- e-mail ---------------------------------------------------------------------------------------------------
def test_email_plain_utf8_and_hostile_text_stays_text() -> None:
    with SmtpServer() as smtp:
        config = _config(
            {"id": "mail", "type": "email", "host": "127.0.0.1", "port": smtp.port, "sender": "sw@localhost"}
        )
        delivery, rendered, _ = _send(config)
    assert delivery == Delivery("sent", 1)
    [mail] = smtp.mails
    assert mail.mail_from == "sw@localhost" and mail.rcpt_to == ["li.wei@localhost"] and not mail.tls
    msg = mail.message()
    assert msg["Subject"] == rendered.subject and rendered.subject.startswith("紧急报警：FSF.T101 HH")
    assert msg["To"].addresses[0].display_name == "李伟" and msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert "报警：FSF.T101:HH" in body and "数值：1351.5（限值 1300）" in body
    # Plain text: the label arrives as typed (minus the bidi override), on one line, inert.
    assert '<script>alert("x")</script> [click](http://evil.example) **bold**' in body
    assert "\u202e" not in body and "\u202e" not in msg["Subject"]


def test_email_starttls_with_login_verifies_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cert = make_cert(tmp_path)
    monkeypatch.setenv("SW_TEST_SMTP_PASSWORD", "pw-Very-Secret-42")
    caplog.set_level(logging.DEBUG)
    with SmtpServer(cert=cert, mode="starttls", users={"smeltwatch": "pw-Very-Secret-42"}) as smtp:
        channel = {
            "id": "mail",
            "type": "email",
            "host": "localhost",
            "port": smtp.port,
            "security": "starttls",
            "ca_file": str(cert[0]),
            "username": "smeltwatch",
            "password_env": "SW_TEST_SMTP_PASSWORD",
            "sender": "sw@localhost",
        }
        config = _config(channel)
        assert "pw-Very-Secret-42" not in repr(config)
        delivery, _, _ = _send(config)
        assert delivery.status == "sent", delivery
        [mail] = smtp.mails
        assert mail.tls and mail.user == "smeltwatch"

        # The wrong password: refused once, not retried, the password not in the error or the log.
        monkeypatch.setenv("SW_TEST_SMTP_PASSWORD", "pw-Wrong-Secret-43")
        delivery, _, sleeps = _send(_config(channel))
    assert delivery.status == "failed" and delivery.attempts == 1 and sleeps == []
    assert "535" in (delivery.error or "")
    assert "Secret-4" not in caplog.text and "Secret-4" not in (delivery.error or "")


def test_email_implicit_tls(tmp_path: Path) -> None:
    cert = make_cert(tmp_path)
    with SmtpServer(cert=cert, mode="ssl") as smtp:
        channel = {
            "id": "mail",
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "ssl",
            "ca_file": str(cert[0]),
            "sender": "sw@localhost",
        }
        delivery, _, _ = _send(_config(channel, lang="en"), lang="en")
        assert delivery.status == "sent"
        [mail] = smtp.mails
        assert mail.tls and mail.message()["Subject"].startswith("Urgent alarm: FSF.T101 HH")

        # Without the private CA the self-signed certificate is refused: a configuration problem, no retry.
        delivery, _, sleeps = _send(_config({**channel, "ca_file": None}))
    assert delivery.status == "failed" and delivery.attempts == 1 and sleeps == []
    assert "certificate" in (delivery.error or "").lower()


def test_email_temporary_refusal_is_retried_with_backoff() -> None:
    with SmtpServer() as smtp:
        smtp.fail_mail.extend(["451 4.3.0 try again later", "421 4.7.0 too busy"])
        config = _config(
            {"id": "mail", "type": "email", "host": "127.0.0.1", "port": smtp.port, "sender": "sw@localhost"}
        )
        delivery, _, sleeps = _send(config)
    assert delivery == Delivery("sent", 3) and sleeps == [0.5, 1.0]
    assert len(smtp.mails) == 1


def test_email_server_down_fails_after_the_tries() -> None:
    port = free_port()  # nothing listens there
    config = _config({"id": "mail", "type": "email", "host": "127.0.0.1", "port": port, "sender": "sw@localhost"})
    delivery, _, sleeps = _send(config, attempts=2)
    assert delivery.status == "failed" and delivery.attempts == 2 and sleeps == [0.5]
    assert "Connection" in (delivery.error or "") and "refused" in (delivery.error or "").lower()


# -- generic webhook -----------------------------------------------------------------------------------------
def test_webhook_posts_json_with_signature_and_inert_text() -> None:
    alarms = (_alarm(0), _alarm(1, value=float("nan"), priority="high", area="acid"), _alarm(2, value=float("inf")))
    person_stub = _config({"id": "x", "type": "log"}).people[0]
    digest = Outgoing("digest", 0, alarms, person_stub, "all", digest=summarize(alarms, 5))
    with HttpReceiver() as rx:
        channel = {
            "id": "hook",
            "type": "webhook",
            "url": rx.url(f"/alarms?token={TOKEN}"),
            "secret": "whsec-123456",
            "headers": {"X-Plant": "demo"},
        }
        delivery, rendered, _ = _send(_config(channel), digest)
    assert delivery == Delivery("sent", 1)
    [req] = rx.requests
    assert req.path == "/alarms" and req.query["token"] == [TOKEN]
    assert req.headers["content-type"] == "application/json; charset=utf-8" and req.headers["x-plant"] == "demo"
    doc = req.json()  # valid JSON despite NaN and inf values
    assert doc["kind"] == "digest" and doc["level"] == 0 and doc["alarm_count"] == 3 and doc["lang"] == "zh"
    assert doc["subject"] == rendered.subject and doc["recipient"]["id"] == "li.wei"
    assert [a["value"] for a in doc["alarms"]] == [1351.5, None, None]
    assert doc["digest"]["by_priority"] == {"urgent": 2, "high": 1} and doc["digest"]["count"] == 3
    assert doc["alarms"][0]["message"] == HOSTILE  # data, JSON-encoded, not interpreted
    assert "报警泛滥" in doc["subject"]
    # The signature: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret.
    ts = req.headers["x-smeltwatch-timestamp"]
    expected = hmac.new(b"whsec-123456", ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-smeltwatch-signature"] == f"sha256={expected}"


def test_webhook_5xx_is_retried_4xx_and_redirects_are_not() -> None:
    with HttpReceiver() as rx:
        config = _config({"id": "hook", "type": "webhook", "url": rx.url("/in")})
        rx.reply(500)
        rx.reply(503)
        delivery, _, sleeps = _send(config)
        assert delivery == Delivery("sent", 3) and sleeps == [0.5, 1.0] and len(rx.requests) == 3

        rx.reply(400)
        delivery, _, sleeps = _send(config)
        assert delivery.status == "failed" and delivery.attempts == 1 and "HTTP 400" in (delivery.error or "")

        rx.reply(429)
        rx.reply(429)
        rx.reply(429)
        delivery, _, sleeps = _send(config)
        assert delivery.status == "failed" and delivery.attempts == 3 and "HTTP 429" in (delivery.error or "")

        rx.reply(302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
        delivery, _, _ = _send(config, attempts=1)
        assert delivery.status == "failed" and "HTTP 302" in (delivery.error or "")
    assert len(rx.requests) == 3 + 1 + 3 + 1


# -- DingTalk --------------------------------------------------------------------------------------------------
def test_dingtalk_text_with_signature_and_mention() -> None:
    with HttpReceiver() as rx:
        channel = {"id": "ding", "type": "dingtalk", "url": rx.url(f"/robot/send?access_token={TOKEN}")}
        delivery, rendered, _ = _send(_config({**channel, "secret": SIGN_SECRET}))
    assert delivery == Delivery("sent", 1)
    [req] = rx.requests
    assert req.path == "/robot/send" and req.query["access_token"] == [TOKEN]
    timestamp, sign = req.query["timestamp"][0], req.query["sign"][0]
    assert abs(int(timestamp) - time.time() * 1000) < 3_600_000  # DingTalk refuses more than an hour off
    mac = hmac.new(SIGN_SECRET.encode(), f"{timestamp}\n{SIGN_SECRET}".encode(), hashlib.sha256).digest()
    assert sign == base64.b64encode(mac).decode()  # parse_qs undid the URL encoding
    body = req.json()
    assert body["msgtype"] == "text" and body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    content = body["text"]["content"]
    assert content.startswith(rendered.subject) and content.endswith("@13800000001")
    assert '<script>alert("x")</script> [click](http://evil.example) **bold** evil' in content


def test_dingtalk_markdown_escapes_markup_from_labels() -> None:
    with HttpReceiver() as rx:
        channel = {"id": "ding", "type": "dingtalk", "url": rx.url("/robot/send?access_token=x"), "format": "markdown"}
        delivery, _, _ = _send(_config(channel, mobile=None))
    assert delivery.status == "sent"
    body = rx.requests[0].json()
    assert body["msgtype"] == "markdown" and body["at"]["atMobiles"] == []
    assert "timestamp" not in rx.requests[0].query  # no secret, no signature
    text = body["markdown"]["text"]
    assert body["markdown"]["title"].startswith("紧急报警")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "[click](" not in text and "\\[click\\]" in text and "\\*\\*bold\\*\\*" in text


def test_dingtalk_error_codes() -> None:
    with HttpReceiver() as rx:
        config = _config({"id": "ding", "type": "dingtalk", "url": rx.url("/robot/send?access_token=x")})
        rx.reply(200, {"errcode": 310000, "errmsg": "sign not match"})
        delivery, _, _ = _send(config)
        assert delivery.status == "failed" and delivery.attempts == 1
        assert delivery.error == "dingtalk errcode 310000: sign not match"
        rx.reply(200, {"errcode": 130101, "errmsg": "send too fast"})
        delivery, _, sleeps = _send(config)
        assert delivery == Delivery("sent", 2) and sleeps == [0.5]
        rx.reply(200, b"<html>proxy error</html>")
        rx.reply(200, b"<html>proxy error</html>")
        delivery, _, _ = _send(config, attempts=2)
        assert delivery.status == "failed" and "unexpected reply" in (delivery.error or "")


# -- WeCom -------------------------------------------------------------------------------------------------------
def test_wecom_text_mentions_and_byte_limit() -> None:
    alarms = tuple(_alarm(i, message="长" * 300) for i in range(40))
    person_stub = _config({"id": "x", "type": "log"}).people[0]
    big = Outgoing("digest", 0, alarms, person_stub, "all", digest=summarize(alarms, 5))
    with HttpReceiver() as rx:
        config = _config({"id": "wc", "type": "wecom", "url": rx.url("/cgi-bin/webhook/send?key=k-123456")})
        assert _send(config)[0].status == "sent"
        assert _send(config, big)[0].status == "sent"
        md = _config({"id": "wc", "type": "wecom", "url": rx.url("/cgi-bin/webhook/send?key=k"), "format": "markdown"})
        assert _send(md)[0].status == "sent"
    single, digest, markdown = (r.json() for r in rx.requests)
    assert single["msgtype"] == "text" and single["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert "报警：FSF.T101:HH" in single["text"]["content"]
    assert len(digest["text"]["content"].encode("utf-8")) <= 2048  # WeCom's documented limit for text
    assert markdown["msgtype"] == "markdown" and "&lt;script&gt;" in markdown["markdown"]["content"]
    assert rx.requests[0].query["key"] == ["k-123456"]


# -- secrets and the log channel ---------------------------------------------------------------------------------
def test_secrets_stay_out_of_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    channel = {
        "id": "ding",
        "type": "dingtalk",
        "url": f"http://127.0.0.1:{port}/robot/send?access_token={TOKEN}",
        "secret": SIGN_SECRET,
    }
    config = _config(channel)
    assert TOKEN not in repr(config) and SIGN_SECRET not in repr(config)
    delivery, _, _ = _send(config, attempts=2)
    assert delivery.status == "failed" and f"cannot reach http://127.0.0.1:{port}/robot/send" in (delivery.error or "")
    for text in (caplog.text, delivery.error or ""):
        assert TOKEN not in text and SIGN_SECRET not in text
    with HttpReceiver() as rx:
        rx.reply(200, {"errcode": 300001, "errmsg": f"token {TOKEN} is invalid"})  # a reply that echoes the token
        channel["url"] = rx.url(f"/robot/send?access_token={TOKEN}")
        delivery, _, _ = _send(_config(channel))
    assert delivery.status == "failed" and TOKEN not in (delivery.error or "") and "***" in (delivery.error or "")
    assert TOKEN not in caplog.text


def test_log_channel_writes_the_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notify.channels")
    delivery, rendered, _ = _send(_config({"id": "log", "type": "log"}))
    assert delivery == Delivery("sent", 1)
    assert rendered.subject in caplog.text and "li.wei" in caplog.text
