"""OPC UA security for the collectors: the client's certificate, the trust list, user and password.

The PKI directory (``SW_PKI_DIR``, default ``var/pki``) holds, per endpoint id:

    own/<endpoint>.der, own/<endpoint>.key.pem   the collector's certificate and private key
                                                  (``python -m collectors cert <endpoint>``)
    trusted/<thumbprint>.der                      server certificates the collectors trust
                                                  (``python -m collectors trust <endpoint> <thumbprint>``)
    rejected/<thumbprint>.der                     server certificates seen and refused, to review

Before a secured session, :func:`secure_client` asks the server for its endpoints over an unsecured
channel (GetEndpoints is always offered without security), picks the one with the plant file's policy and
mode, and checks the server certificate against the trust list and its validity dates *before* a key is
exchanged. Every failure is a :class:`SecurityRefusedError` whose message names the cause and the command that
fixes it and holds nothing secret (no password, no key).

Thumbprints are the SHA-1 of the certificate's DER bytes in hex, as OPC UA tools and UaExpert show them.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asyncua import Client, ua
from asyncua.crypto import security_policies
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plant.schema import Endpoint, EndpointSecurity, SecurityMode, SecurityPolicy

POLICY_CLASSES: dict[SecurityPolicy, type[security_policies.SecurityPolicy]] = {
    SecurityPolicy.BASIC256SHA256: security_policies.SecurityPolicyBasic256Sha256,
    SecurityPolicy.AES128_SHA256_RSAOAEP: security_policies.SecurityPolicyAes128Sha256RsaOaep,
    SecurityPolicy.AES256_SHA256_RSAPSS: security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES = {
    SecurityMode.NONE: ua.MessageSecurityMode.None_,
    SecurityMode.SIGN: ua.MessageSecurityMode.Sign,
    SecurityMode.SIGN_AND_ENCRYPT: ua.MessageSecurityMode.SignAndEncrypt,
}
# status codes a server answers when it refuses the user (wrong name or password, token not accepted)
USER_REFUSED = {
    "BadUserAccessDenied",
    "BadIdentityTokenInvalid",
    "BadIdentityTokenRejected",
    "BadUserSignatureInvalid",
}
CERT_REFUSED = {
    "BadCertificateUntrusted",
    "BadCertificateInvalid",
    "BadCertificateTimeInvalid",
    "BadCertificateUriInvalid",
    "BadCertificateUseNotAllowed",
    "BadCertificateRevoked",
    "BadSecurityChecksFailed",
}


class SecurityRefusedError(Exception):
    """A connection refused for a security reason; the message is safe to log and to show."""


@dataclass(frozen=True)
class Pki:
    root: Path

    def own_cert(self, endpoint: str) -> Path:
        return self.root / "own" / f"{endpoint}.der"

    def own_key(self, endpoint: str) -> Path:
        return self.root / "own" / f"{endpoint}.key.pem"

    @property
    def trusted(self) -> Path:
        return self.root / "trusted"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    def is_trusted(self, der: bytes) -> bool:
        return (self.trusted / f"{thumbprint(der)}.der").is_file()

    def reject(self, der: bytes) -> Path:
        self.rejected.mkdir(parents=True, exist_ok=True)
        path = self.rejected / f"{thumbprint(der)}.der"
        path.write_bytes(der)
        return path

    def trust(self, der: bytes) -> Path:
        self.trusted.mkdir(parents=True, exist_ok=True)
        path = self.trusted / f"{thumbprint(der)}.der"
        path.write_bytes(der)
        (self.rejected / path.name).unlink(missing_ok=True)
        return path


def thumbprint(der: bytes) -> str:
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def application_uri(endpoint: Endpoint) -> str:
    sec = endpoint.security
    return sec.application_uri if sec is not None and sec.application_uri else f"urn:smeltwatch:collector:{endpoint.id}"


def _subject(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def check_dates(cert: x509.Certificate, whose: str, fix: str, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    if cert.not_valid_after_utc < now:
        raise SecurityRefusedError(f"{whose} expired on {cert.not_valid_after_utc:%Y-%m-%d}: {fix}")
    if cert.not_valid_before_utc > now:
        raise SecurityRefusedError(f"{whose} is valid only from {cert.not_valid_before_utc:%Y-%m-%d}: {fix}")


def password_of(endpoint: Endpoint) -> str | None:
    """The endpoint's password from its environment variable or file; a missing one is a SecurityRefusedError."""
    sec = endpoint.security
    if sec is None or sec.user is None:
        return None
    if sec.password_env:
        value = os.environ.get(sec.password_env)
        if not value:
            raise SecurityRefusedError(
                f"no password for user {sec.user!r}: the environment variable {sec.password_env} is not set"
            )
        return value
    assert sec.password_file is not None
    try:
        value = Path(sec.password_file).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise SecurityRefusedError(
            f"no password for user {sec.user!r}: cannot read {sec.password_file} ({error.strerror})"
        ) from None
    if not value:
        raise SecurityRefusedError(f"no password for user {sec.user!r}: {sec.password_file} is empty")
    return value


async def create_certificate(endpoint: Endpoint, pki: Pki, *, host: str | None = None) -> Path:
    """The collector's own certificate and key for ``endpoint`` (kept when they exist and are valid)."""
    cert_path, key_path = pki.own_cert(endpoint.id), pki.own_key(endpoint.id)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    host = host or socket.gethostname()
    await setup_self_signed_certificate(
        key_path,
        cert_path,
        application_uri(endpoint),
        host,
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": f"SmeltWatch collector {endpoint.id}", "organizationName": "SmeltWatch"},
    )
    key_path.chmod(0o600)
    return cert_path


async def server_certificates(url: str, timeout: float = 4.0) -> list[tuple[ua.EndpointDescription, bytes]]:
    """Every endpoint the server offers with its certificate (DER), over an unsecured GetEndpoints."""
    client = Client(url, timeout=timeout)
    endpoints = await client.connect_and_get_server_endpoints()
    out = []
    for ep in endpoints:
        der = _first_cert(ep.ServerCertificate)
        out.append((ep, der))
    return out


def _first_cert(blob: bytes | None) -> bytes:
    """A server may send its certificate chain (DER certificates back to back); the first is its own."""
    if not blob:
        return b""
    return bytes(blob[: _der_length(blob)])


def _der_length(blob: bytes) -> int:
    """Length of the first DER element of ``blob`` (its header and content)."""
    if len(blob) < 2:
        return len(blob)
    first = blob[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    return 2 + n + int.from_bytes(blob[2 : 2 + n], "big")


def _offered(endpoints: list[tuple[ua.EndpointDescription, bytes]]) -> str:
    names = sorted(
        {
            f"{ep.SecurityPolicyUri.rsplit('#', 1)[-1]}/{ua.MessageSecurityMode(ep.SecurityMode).name.rstrip('_')}"
            for ep, _der in endpoints
        }
    )
    return ", ".join(names) or "nothing"


async def secure_client(client: Client, endpoint: Endpoint, pki: Pki, *, url: str, timeout: float = 4.0) -> None:
    """Set up ``client`` (for ``url``, the endpoint's or an override) before ``connect``.

    Raises :class:`SecurityRefusedError` for a reason a person must fix, ``ConnectionError`` when the server
    cannot be asked at all.
    """
    sec: EndpointSecurity | None = endpoint.security
    password = password_of(endpoint)
    if sec is not None and sec.user is not None:
        client.set_user(sec.user)
        client.set_password(password or "")
    if sec is None or not sec.secured:
        return
    cert_path, key_path = pki.own_cert(endpoint.id), pki.own_key(endpoint.id)
    fix_own = f"create it with `python -m collectors cert {endpoint.id}`"
    if not cert_path.is_file() or not key_path.is_file():
        raise SecurityRefusedError(f"no client certificate for {endpoint.id} in {pki.root / 'own'}: {fix_own}")
    own = x509.load_der_x509_certificate(cert_path.read_bytes())
    renew = f"renew it with `python -m collectors cert {endpoint.id} --renew`"
    check_dates(own, "the collector's own certificate", renew)
    client.application_uri = application_uri(endpoint)
    policy_cls = POLICY_CLASSES[sec.policy]
    mode = MODES[sec.mode]
    try:
        offered = await server_certificates(url, timeout=timeout)
    except (OSError, TimeoutError, ua.UaError) as error:
        raise ConnectionError(f"cannot ask {url} for its endpoints: {type(error).__name__}: {error}") from None
    match = [(ep, der) for ep, der in offered if ep.SecurityPolicyUri == policy_cls.URI and ep.SecurityMode == mode]
    if not match:
        raise SecurityRefusedError(
            f"the server does not offer {sec.policy.value}/{sec.mode.value}; it offers {_offered(offered)}"
        )
    _ep, der = match[0]
    if not der:
        raise SecurityRefusedError(f"the server offers {sec.policy.value}/{sec.mode.value} without a certificate")
    server_cert = x509.load_der_x509_certificate(der)
    thumb = thumbprint(der)
    if not pki.is_trusted(der):
        pki.reject(der)
        raise SecurityRefusedError(
            f"server certificate not trusted: thumbprint {thumb} ({_subject(server_cert)}); after checking it"
            f" with the server's administrator, trust it with `python -m collectors trust {endpoint.id} {thumb}`"
        )
    check_dates(
        server_cert,
        f"the server certificate {thumb} ({_subject(server_cert)})",
        "ask the server's administrator for a new one, then trust it",
    )
    await client.set_security(policy_cls, str(cert_path), str(key_path), server_certificate=der, mode=mode)


def describe(error: BaseException, endpoint: Endpoint) -> str | None:
    """A security reason for a failed connect or session, in one line; None when it is not one."""
    if isinstance(error, SecurityRefusedError):
        return str(error)
    code = getattr(error, "code", None)
    name = ua.StatusCode(ua.UInt32(code)).name if isinstance(code, int) else ""
    if not name:
        text = str(error)
        name = next((n for n in USER_REFUSED | CERT_REFUSED if n in text), "")
    sec = endpoint.security
    if name in USER_REFUSED:
        user = sec.user if sec is not None and sec.user else "anonymous"
        return f"the server refused user {user!r} ({name}): check the user and its password"
    if name in CERT_REFUSED:
        return (
            f"the server refused the collector's certificate ({name}): the server's administrator must trust"
            f" {application_uri(endpoint)} (certificate in own/{endpoint.id}.der of the PKI directory)"
        )
    if name == "BadSecurityPolicyRejected" or "No matching endpoints" in str(error):
        return f"the server rejects the security policy or mode of {endpoint.id}: {name or error}"
    return None
