"""Shared fixtures: a real SQLite file, a real PostgreSQL database, free ports.

PostgreSQL tests skip when the server is unreachable, except when ``SW_REQUIRE_SERVICES=1`` (CI),
where an unreachable server is a failure.

The suite runs in parallel (pytest-xdist, ``python3 run.py test``): every worker has its own block of
TCP ports, its own temporary directory (``tmp_path``), its own PostgreSQL databases and its own Redis
database number, so two workers never share a port, a file or a database.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.fakeclock"]  # the time sweep's clock (inactive unless SW_TEST_CLOCK is set)

PG_ADMIN_DSN = os.environ.get("SW_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
REQUIRE_SERVICES = os.environ.get("SW_REQUIRE_SERVICES") == "1"
ROOT = Path(__file__).resolve().parent.parent


def worker_index() -> int:
    """This pytest-xdist worker's number (``gw3`` -> 3); 0 when the suite runs in one process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


PORT_BLOCKS = 6  # workers 0-5 get disjoint blocks; more workers share blocks (still checked before use)
PORT_LOW = 20_000  # above every port Chromium refuses to open (the highest is 10080)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _port_block() -> range | None:
    """This worker's block of ports below the kernel's ephemeral range, or None when there is no room."""
    high = _ephemeral_low()
    size = (high - PORT_LOW) // PORT_BLOCKS
    if size < 500:
        return None
    start = PORT_LOW + (worker_index() % PORT_BLOCKS) * size
    return range(start, start + size)


_BLOCK = _port_block()
_next_port = iter(())  # this process's walk through its block, begun at a random place on first use


def _walk(block: range) -> Iterator[int]:
    first = random.SystemRandom().randrange(len(block))  # not the tests' seeded generator
    while True:
        yield from block[first:]
        yield from block[:first]
        first = 0


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on, for a server a test is about to start.

    Ports come from this worker's own block below the kernel's ephemeral range: another worker never gets
    the same one, the kernel never hands it to an outgoing connection, and one process walks its block in
    order, so a port a test keeps free (a dead camera) is not given to the next server. Ports that are in
    use (another program, or a socket in TIME_WAIT) are skipped.
    """
    global _next_port
    if _BLOCK is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for _ in range(len(_BLOCK)):
        port = next(_next_port, None)
        if port is None:
            _next_port = _walk(_BLOCK)
            port = next(_next_port)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {_BLOCK}")


SLOW_TIMEOUT_S = 600  # the hang guard of a slow test (pyproject's timeout, 300 s, guards the others)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests get a longer hang guard (a browser test on a shared, busy machine may take minutes without
    hanging); a module's own ``timeout`` mark wins. In a pytest-xdist worker, modules with slow tests come
    first: the scheduler hands modules out in this order (``--no-loadscope-reorder``), so the many quick
    modules come last and fill the gaps, and no worker starts a long browser module while the other is done."""
    for item in items:
        if item.get_closest_marker("slow") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        heavy = {item.path for item in items if item.get_closest_marker("slow") is not None}
        items.sort(key=lambda item: item.path not in heavy)  # stable: the order inside a module stays


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except Exception as exc:
        return str(exc)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    problem = _pg_available()
    if problem is not None:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required here (SW_REQUIRE_SERVICES=1) but not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    import psycopg

    name = f"sw_test_w{worker_index()}_{uuid.uuid4().hex[:12]}"  # unique; the worker only for reading
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    yield f"postgresql+psycopg://{params.get('user', 'postgres')}@{params['host']}:{params['port']}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run the same store test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


def worker_redis_url(base: str) -> str:
    """``base`` (``redis://host:port/N``) with this worker's own database number: N + the worker's index."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base)
    number = int(parts.path.strip("/") or 0) + worker_index()
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture
def redis_url() -> str:
    """The Redis server for cache tests: a private database number per worker (11, 12, ...), flushed first."""
    url = worker_redis_url(os.environ.get("SW_TEST_REDIS_URL", "redis://127.0.0.1:6379/11"))
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.flushdb()  # a database number beyond the server's count fails here, loudly
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required here (SW_REQUIRE_SERVICES=1) but not reachable: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return url
