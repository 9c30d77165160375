"""OPC UA security against a real asyncua server with certificates and a user manager (issue: connect a plant).

The server offers only secured endpoints (Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss in
Sign and SignAndEncrypt), trusts only client certificates in its own trust list and knows one user. The
collector uses the plant file's security block, its own certificate made by ``python -m collectors cert``
and a trust list filled by ``python -m collectors trust``. Every refusal gives one clear line, in the log
and in the endpoint's health, with nothing secret in either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from collectors.coordinator import CoordinatorOptions, EndpointCoordinator
from collectors.records import TagInfo
from collectors.security import Pki, SecurityRefusedError, check_dates, create_certificate, describe, thumbprint
from collectors.writer import BatchWriter, WriterOptions
from plant.loader import PlantFileError, load_plant
from plant.schema import Plant
from store.db import migrate
from tests.conftest import free_port

pytestmark = [pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Pa55word"  # must never appear in a log line or a health row
NS_URI = "urn:smeltwatch:test:secure"
SERVER_URI = "urn:smeltwatch:test:secure-server"

SECURED = [
    ua.SecurityPolicyType.Basic256Sha256_Sign,
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ua.SecurityPolicyType.Aes128Sha256RsaOaep_Sign,
    ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
]


class Users:
    """The server's user manager: one operator account."""

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None):
        if username == "collector" and password == SECRET:
            return User(role=UserRole.User, name=username)
        return None


async def _secure_server(tmp: Path, port: int, *, policies: list[ua.SecurityPolicyType] | None = None) -> Server:
    key, cert = tmp / "server-key.pem", tmp / "server.der"
    await setup_self_signed_certificate(
        key, cert, SERVER_URI, "127.0.0.1", [ExtendedKeyUsageOID.SERVER_AUTH], {"commonName": "Test DCS"}
    )
    server = Server(user_manager=Users())  # type: ignore[arg-type]
    await server.init()
    await server.set_application_uri(SERVER_URI)
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
    server.set_security_policy(policies or SECURED)
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await server.load_certificate(str(cert))
    await server.load_private_key(str(key))
    trusted = tmp / "server-trusts"
    trusted.mkdir(exist_ok=True)
    checks = CertificateValidator(CertificateValidatorOptions.EXT_VALIDATION | CertificateValidatorOptions.PEER_CLIENT)

    async def validate(cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        """The server's administrator's trust list: read at every session, so adding a file takes effect."""
        await checks.validate(cert, app)
        der = cert.public_bytes(serialization.Encoding.DER)
        if not any(p.read_bytes() == der for p in trusted.glob("*.der")):
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    server.set_certificate_validator(validate)
    idx = await server.register_namespace(NS_URI)
    dcs = await server.nodes.objects.add_object(ua.NodeId("DCS", idx), "DCS")
    var = await dcs.add_variable(ua.NodeId("TI101", idx), "TI101", ua.Variant(42.5, ua.VariantType.Double))
    await var.set_writable(False)
    await server.start()
    return server


def _plant_dict(port: int, security: dict[str, Any] | None) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"id": "dcs", "name": "DCS", "url": f"opc.tcp://127.0.0.1:{port}"}
    if security is not None:
        endpoint["security"] = security
    return {
        "schema_version": 1,
        "site": {
            "name": "Test smelter",
            "timezone": "Asia/Shanghai",
            "width_m": 500,
            "depth_m": 300,
            "shifts": [{"id": "day", "start": "08:00", "hours": 12}, {"id": "night", "start": "20:00", "hours": 12}],
        },
        "endpoints": [endpoint],
        "areas": [{"id": "smelting", "name": "Smelting"}],
        "zones": [
            {
                "id": "furnace",
                "name": "Furnace hall",
                "area": "smelting",
                "polygon": [[0, 0], [200, 0], [200, 100], [0, 100]],
                "height_m": 30,
                "lec": {"l": 3, "e": 6, "c": 15},
            }
        ],
        "tags": [{"id": "TI101", "node_id": f"nsu={NS_URI};s=TI101", "endpoint": "dcs", "kind": "process"}],
    }


def _security(policy: str = "Basic256Sha256", mode: str = "SignAndEncrypt") -> dict[str, Any]:
    return {"policy": policy, "mode": mode, "user": "collector", "password_env": "SW_TEST_OPCUA_PASSWORD"}


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SW_TEST_OPCUA_PASSWORD", SECRET)
    yield


@contextlib.asynccontextmanager
async def _collector(
    plant: Plant, tmp: Path, pki: Pki
) -> AsyncIterator[tuple[EndpointCoordinator, asyncio.Task[None]]]:
    db = f"sqlite:///{tmp / 'store.db'}"
    migrate(db)
    writer = BatchWriter(db, tmp / "spool", WriterOptions(batch_ms=50))
    ep = plant.endpoints[0]
    tags = [TagInfo(t.id, i + 1, t.kind.value, t.node_id) for i, t in enumerate(plant.tags)]
    coord = EndpointCoordinator(
        ep.id,
        ep.url,
        tags,
        writer,
        options=CoordinatorOptions(refused_retry_s=0.5, discover_badges=False),
        config=ep,
        pki=pki,
    )
    task = asyncio.create_task(coord.run())
    try:
        yield coord, task
    finally:
        coord.stop()
        await asyncio.wait_for(task, 15)


async def _trust_each_other(tmp: Path, plant: Plant, pki: Pki, server_cert: Path) -> None:
    """What the two administrators do: the collector's certificate into the server's trust list, and back."""
    own = await create_certificate(plant.endpoints[0], pki, host="127.0.0.1")
    (tmp / "server-trusts" / "collector.der").write_bytes(own.read_bytes())
    pki.trust(server_cert.read_bytes())


async def _wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


POLICIES_AND_MODES = [
    ("Basic256Sha256", "Sign"),
    ("Basic256Sha256", "SignAndEncrypt"),
    ("Aes128_Sha256_RsaOaep", "Sign"),
    ("Aes128_Sha256_RsaOaep", "SignAndEncrypt"),
    ("Aes256_Sha256_RsaPss", "Sign"),
    ("Aes256_Sha256_RsaPss", "SignAndEncrypt"),
]


@pytest.mark.slow
def test_each_policy_and_mode_connects_and_reads_by_namespace_uri(
    tmp_path: Path, password: None, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        port = free_port()
        server = await _secure_server(tmp_path, port)
        try:
            for policy, mode in POLICIES_AND_MODES:
                plant = Plant.model_validate(_plant_dict(port, _security(policy, mode)))
                pki = Pki(tmp_path / "pki")
                await _trust_each_other(tmp_path, plant, pki, tmp_path / "server.der")
                async with _collector(plant, tmp_path, pki) as (coord, _task):
                    await asyncio.wait_for(coord.connected_event.wait(), 30)
                    await _wait_for(lambda c=coord: c.health.validation.received >= 1)  # type: ignore[misc]
                    assert coord.health.last_error == "", (policy, mode)
                    assert not coord.bad_nodes
        finally:
            await server.stop()

    caplog.set_level(logging.INFO)  # asyncua's DEBUG dumps requests; the collectors run it at WARNING
    caplog.set_level(logging.DEBUG, logger="collectors")
    _run(main())
    assert SECRET not in caplog.text


@pytest.mark.slow
def test_refusals_each_give_one_clear_line_and_keep_retrying(
    tmp_path: Path, password: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Untrusted server certificate, wrong password, our certificate untrusted, a policy not offered."""

    async def refused(plant: Plant, pki: Pki) -> str:
        async with _collector(plant, tmp_path, pki) as (coord, _task):
            await _wait_for(lambda: coord.health.last_error.startswith("refused:"))
            first = coord.health.last_error
            await asyncio.sleep(1.6)  # three more tries at refused_retry_s=0.5: still not connected, same line
            assert not coord.health.connected
            assert coord.health.last_error == first
            return first

    async def main() -> None:
        port = free_port()
        server = await _secure_server(tmp_path, port, policies=SECURED[:2])  # Basic256Sha256 only
        try:
            plant = Plant.model_validate(_plant_dict(port, _security()))
            ep = plant.endpoints[0]
            pki = Pki(tmp_path / "pki")
            own = await create_certificate(ep, pki, host="127.0.0.1")

            # 1. the server's certificate is not in our trust list: refused before any key is exchanged
            caplog.clear()
            line = await refused(plant, pki)
            server_thumb = thumbprint((tmp_path / "server.der").read_bytes())
            assert "server certificate not trusted" in line and server_thumb in line
            assert f"python -m collectors trust dcs {server_thumb}" in line
            assert (pki.rejected / f"{server_thumb}.der").is_file()
            assert sum("not trusted" in r.getMessage() for r in caplog.records if r.name.startswith("collectors")) == 1

            # 2. trusted now, but the server does not trust our certificate
            pki.trust((pki.rejected / f"{server_thumb}.der").read_bytes())
            line = await refused(plant, pki)
            assert "refused the collector's certificate" in line and "BadCertificateUntrusted" in line

            # 3. both trusted, wrong password
            (tmp_path / "server-trusts" / "collector.der").write_bytes(own.read_bytes())
            monkeypatch.setenv("SW_TEST_OPCUA_PASSWORD", "wrong-password")
            line = await refused(plant, pki)
            assert "refused user 'collector'" in line

            # 4. a policy the server does not offer
            monkeypatch.setenv("SW_TEST_OPCUA_PASSWORD", SECRET)
            other = Plant.model_validate(_plant_dict(port, _security("Aes256_Sha256_RsaPss", "Sign")))
            line = await refused(other, pki)
            assert "does not offer Aes256_Sha256_RsaPss/Sign" in line and "Basic256Sha256/SignAndEncrypt" in line

            # 5. no password in the environment
            monkeypatch.delenv("SW_TEST_OPCUA_PASSWORD")
            line = await refused(plant, pki)
            assert "environment variable SW_TEST_OPCUA_PASSWORD is not set" in line

            # 6. a client without security against a server that offers none
            plain = Plant.model_validate(_plant_dict(port, None))
            async with _collector(plain, tmp_path, pki) as (coord, _task):
                await _wait_for(lambda: bool(coord.health.last_error))
                await asyncio.sleep(1.0)
                assert not coord.health.connected

            # and with everything right it connects
            monkeypatch.setenv("SW_TEST_OPCUA_PASSWORD", SECRET)
            async with _collector(plant, tmp_path, pki) as (coord, _task):
                await asyncio.wait_for(coord.connected_event.wait(), 30)
        finally:
            await server.stop()

    caplog.set_level(logging.INFO)  # asyncua's DEBUG dumps requests; the collectors run it at WARNING
    caplog.set_level(logging.DEBUG, logger="collectors")
    _run(main())
    assert SECRET not in caplog.text
    assert "wrong-password" not in caplog.text


def test_expired_certificates_are_refused_with_their_date(tmp_path: Path) -> None:
    plant = Plant.model_validate(_plant_dict(4840, _security()))
    pki = Pki(tmp_path / "pki")
    _run(create_certificate(plant.endpoints[0], pki, host="127.0.0.1"))
    own = x509.load_der_x509_certificate(pki.own_cert("dcs").read_bytes())
    later = own.not_valid_after_utc + timedelta(days=1)
    with pytest.raises(SecurityRefusedError, match=f"own certificate expired on {own.not_valid_after_utc:%Y-%m-%d}"):
        check_dates(own, "the collector's own certificate", "renew", now=later)
    earlier = own.not_valid_before_utc - timedelta(days=1)
    with pytest.raises(SecurityRefusedError, match="valid only from"):
        check_dates(own, "the collector's own certificate", "renew", now=earlier)
    check_dates(own, "the collector's own certificate", "renew", now=own.not_valid_before_utc + timedelta(days=1))


@pytest.mark.slow
def test_renumbered_namespace_still_reads_the_right_variable(tmp_path: Path) -> None:
    """The server registers another namespace first after a restart: nsu= node ids follow the URI."""

    async def serve(port: int, first: str | None) -> tuple[Server, ua.NodeId]:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}")
        if first:
            other = await server.register_namespace(first)
            decoy = await server.nodes.objects.add_object(ua.NodeId("Decoy", other), "Decoy")
            # the same string id in the namespace that now has our old index: a wrong read would get 999
            await decoy.add_variable(ua.NodeId("TI101", other), "TI101", ua.Variant(999.0, ua.VariantType.Double))
        idx = await server.register_namespace(NS_URI)
        dcs = await server.nodes.objects.add_object(ua.NodeId("DCS", idx), "DCS")
        node = await dcs.add_variable(ua.NodeId("TI101", idx), "TI101", ua.Variant(42.5, ua.VariantType.Double))
        await server.start()
        return server, node.nodeid

    async def read_once(port: int) -> tuple[float, str]:
        plant = Plant.model_validate(_plant_dict(port, None))
        db = f"sqlite:///{tmp_path / 'ns.db'}"
        migrate(db)
        writer = BatchWriter(db, tmp_path / "ns-spool", WriterOptions(batch_ms=50))
        tag = TagInfo("TI101", 1, "process", plant.tags[0].node_id)
        coord = EndpointCoordinator("dcs", plant.endpoints[0].url, [tag], writer, config=plant.endpoints[0])
        seen: list[float] = []
        original = coord._on_values

        def spy(items: Any) -> None:
            seen.extend(float(i.Value.Value.Value) for i in items)
            original(items)

        coord._on_values = spy  # type: ignore[method-assign]
        task = asyncio.create_task(coord.run())
        await _wait_for(lambda: bool(seen))
        resolved = coord.resolve(tag.node_id).to_string()
        coord.stop()
        await asyncio.wait_for(task, 15)
        return seen[0], resolved

    async def main() -> None:
        port = free_port()
        server, node = await serve(port, None)
        value, resolved = await read_once(port)
        await server.stop()
        assert value == 42.5 and resolved == node.to_string()
        server, node2 = await serve(port, "urn:vendor:upgrade")
        try:
            value2, resolved2 = await read_once(port)
        finally:
            await server.stop()
        assert node2.NamespaceIndex == node.NamespaceIndex + 1  # renumbered
        assert value2 == 42.5 and resolved2 == node2.to_string()

    _run(main())


def test_plant_file_security_rules(tmp_path: Path) -> None:
    def load(endpoint: dict[str, Any]) -> str:
        data = _plant_dict(4840, None)
        data["endpoints"] = [endpoint]
        path = tmp_path / "plant.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        try:
            load_plant(path)
        except PlantFileError as error:
            return str(error)
        return ""

    base = {"id": "dcs", "name": "DCS"}
    remote = load({**base, "url": "opc.tcp://dcs.plant.example:4840"})
    assert "names no security" in remote and "security: {policy: None, mode: None}" in remote
    assert (
        load({**base, "url": "opc.tcp://dcs.plant.example:4840", "security": {"policy": "None", "mode": "None"}}) == ""
    )
    leaked = load({**base, "url": "opc.tcp://10.0.0.5:4840", "security": {**_security(), "password": SECRET}})
    assert "never written in the plant file" in leaked and SECRET not in leaked
    mixed = load({**base, "url": "opc.tcp://10.0.0.5:4840", "security": {"policy": "Basic256Sha256", "mode": "None"}})
    assert "policy Basic256Sha256 with mode None" in mixed
    nopass = load(
        {
            **base,
            "url": "opc.tcp://10.0.0.5:4840",
            "security": {"policy": "Basic256Sha256", "mode": "Sign", "user": "u"},
        }
    )
    assert "has no password source" in nopass


@pytest.mark.slow
def test_cert_and_trust_commands(tmp_path: Path, password: None) -> None:
    """``python -m collectors cert`` and ``trust`` as an administrator types them."""
    port = free_port()
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(yaml.safe_dump(_plant_dict(port, _security())), encoding="utf-8")
    pki = tmp_path / "pki"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "collectors", "--plant", str(plant_file), "--pki-dir", str(pki), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = cli("cert", "dcs", "--host", "127.0.0.1")
    assert made.returncode == 0, made.stderr
    assert "urn:smeltwatch:collector:dcs" in made.stdout and (pki / "own" / "dcs.der").is_file()
    assert (pki / "own" / "dcs.key.pem").stat().st_mode & 0o077 == 0  # the key is for the collector only

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(_secure_server(tmp_path, port))
    try:
        listed = loop.run_in_executor(None, cli, "trust", "dcs")
        out = loop.run_until_complete(listed)
        thumb = thumbprint((tmp_path / "server.der").read_bytes())
        assert out.returncode == 0, out.stderr
        assert f"{thumb}  " in out.stdout and "(not trusted)" in out.stdout
        wrong = loop.run_until_complete(loop.run_in_executor(None, cli, "trust", "dcs", "00" * 20))
        assert wrong.returncode == 1 and "does not offer" in wrong.stderr
        ok = loop.run_until_complete(loop.run_in_executor(None, cli, "trust", "dcs", thumb))
        assert ok.returncode == 0, ok.stderr
        assert (pki / "trusted" / f"{thumb}.der").is_file()
    finally:
        loop.run_until_complete(server.stop())
        loop.close()


def test_describe_keeps_secrets_out() -> None:
    plant = Plant.model_validate(_plant_dict(4840, _security()))
    ep = plant.endpoints[0]
    text = describe(ua.UaStatusCodeError(ua.StatusCodes.BadUserAccessDenied), ep)
    assert text is not None and "collector" in text and SECRET not in text
    assert describe(ConnectionRefusedError("refused"), ep) is None


def test_demo_plant_still_loads() -> None:
    plant = load_plant(ROOT / "plant" / "demo_smelter.yaml")
    assert all(e.security is None for e in plant.endpoints)  # the simulator, on this machine


def test_navbar_shows_a_refused_source_in_the_readers_language(tmp_path: Path) -> None:
    """A security refusal is a red badge that says so (not "disconnected"), with no detail that could leak."""
    from store.db import make_engine, session_scope
    from store.health import upsert_health
    from tests.webutil import seed_store
    from webapp.app import create_app
    from webapp.context import LANG_COOKIE
    from webapp.live.snapshot import snapshot
    from webapp.shell.callbacks import update_health

    settings = seed_store(tmp_path)
    reason = "refused: server certificate not trusted: thumbprint AB12 (Test DCS)"
    with session_scope(make_engine(settings.db_url)) as session:
        upsert_health(session, "dcs", connected=False, last_error=reason)
    app = create_app(settings)
    texts = {}
    for lang in ("en", "zh"):
        with app.server.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}={lang}"}):
            snapshot.expire()
            rows = {h["endpoint"]: h for h in snapshot()["health"]}
            assert rows["dcs"]["refused"] and not rows["rtls"]["refused"]
            texts[lang] = [str(b.children) for b in update_health(1) if b.color == "danger"]
    assert any("refused (security)" in t for t in texts["en"])
    assert any("安全认证被拒" in t for t in texts["zh"])
    assert not any("AB12" in t for t in texts["en"] + texts["zh"])
