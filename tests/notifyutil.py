"""Real local servers for the notification tests: an SMTP server (plain, STARTTLS, implicit TLS, AUTH PLAIN)
and an HTTP receiver for webhooks and group robots, each in a thread on a free port; a self-signed
certificate for them."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import ipaddress
import json
import socketserver
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (CA:true, so it can be its own trust anchor)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, False, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


# -- SMTP -------------------------------------------------------------------------------------------------
@dataclass
class Mail:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    tls: bool
    user: str | None

    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class _SmtpState:
    tls: bool = False
    user: str | None = None
    mail_from: str = ""
    rcpt: list[str] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpTCPServer

    def _send(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def _readline(self) -> str:
        return self.rfile.readline(65536).decode("utf-8", "replace").rstrip("\r\n")

    def handle(self) -> None:
        owner = self.server.owner
        state = _SmtpState(tls=owner.implicit_tls)
        self._send("220 localhost ESMTP test server")
        while True:
            line = self._readline()
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                caps = ["localhost"]
                if owner.starttls_context is not None and not state.tls:
                    caps.append("STARTTLS")
                if owner.users:
                    caps.append("AUTH PLAIN")
                caps.append("8BITMIME")
                for cap in caps[:-1]:
                    self._send(f"250-{cap}")
                self._send(f"250 {caps[-1]}")
            elif verb == "STARTTLS" and owner.starttls_context is not None and not state.tls:
                self._send("220 ready to start TLS")
                self.connection = owner.starttls_context.wrap_socket(self.connection, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                state = _SmtpState(tls=True)
            elif verb == "AUTH":
                mech, _, initial = arg.partition(" ")
                if mech.upper() != "PLAIN":
                    self._send("504 unrecognized authentication type")
                    continue
                if not initial:
                    self._send("334 ")
                    initial = self._readline()
                try:
                    _, user, password = base64.b64decode(initial).decode("utf-8").split("\0")
                except ValueError:
                    self._send("501 cannot decode")
                    continue
                if owner.users.get(user) == password:
                    state.user = user
                    self._send("235 authentication successful")
                else:
                    self._send("535 authentication credentials invalid")
            elif verb == "MAIL":
                if owner.users and state.user is None:
                    self._send("530 authentication required")
                    continue
                if owner.fail_mail:
                    self._send(owner.fail_mail.popleft())
                    continue
                state.mail_from = arg.partition(":")[2].split(" ")[0].strip("<>")
                state.rcpt = []
                self._send("250 ok")
            elif verb == "RCPT":
                state.rcpt.append(arg.partition(":")[2].split(" ")[0].strip("<>"))
                self._send("250 ok")
            elif verb == "DATA":
                self._send("354 end data with <CR><LF>.<CR><LF>")
                chunks: list[bytes] = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if raw in (b".\r\n", b".\n", b""):
                        break
                    chunks.append(raw[1:] if raw.startswith(b"..") else raw)
                owner.mails.append(Mail(state.mail_from, list(state.rcpt), b"".join(chunks), state.tls, state.user))
                self._send("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._send("250 ok")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            elif not line:
                return
            else:
                self._send("502 command not implemented")


class _SmtpTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: SmtpServer

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        if self.owner.implicit_tls and self.owner.context is not None:
            sock = self.owner.context.wrap_socket(sock, server_side=True)
        return sock, addr


class SmtpServer:
    """``with SmtpServer(...) as smtp:`` -> ``smtp.port``, ``smtp.mails``."""

    def __init__(
        self,
        *,
        cert: tuple[Path, Path] | None = None,
        mode: str = "plain",  # plain | starttls | ssl
        users: dict[str, str] | None = None,
    ) -> None:
        self.context: ssl.SSLContext | None = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.implicit_tls = mode == "ssl"
        self.starttls_context = self.context if mode == "starttls" else None
        self.users = users or {}
        self.mails: list[Mail] = []
        self.fail_mail: deque[str] = deque()  # replies to the next MAIL commands, e.g. "451 try again later"
        self._server = _SmtpTCPServer(("127.0.0.1", 0), _SmtpHandler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- HTTP -------------------------------------------------------------------------------------------------
@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class _HttpHandler(BaseHTTPRequestHandler):
    server: _HttpServer

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner.requests.append(Request(parts.path, parse_qs(parts.query), headers, body))
        status, reply, extra = owner.replies.popleft() if owner.replies else (200, owner.default_reply, {})
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args: Any) -> None:
        return


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: HttpReceiver


class HttpReceiver:
    """``with HttpReceiver() as rx:`` -> ``rx.url("/path")``, ``rx.requests``; ``rx.replies`` scripts answers."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.replies: deque[tuple[int, bytes, dict[str, str]]] = deque()
        self.default_reply = b'{"errcode":0,"errmsg":"ok"}'
        self._server = _HttpServer(("127.0.0.1", 0), _HttpHandler)
        self._server.owner = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, status: int, body: bytes | dict[str, Any] = b"{}", headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        self.replies.append((status, data, headers or {}))

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
