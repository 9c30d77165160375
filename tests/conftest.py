"""Shared fixtures: a real SQLite file, a real PostgreSQL database, free ports.

PostgreSQL tests skip when the server is unreachable, except when ``SW_REQUIRE_SERVICES=1`` (CI),
where an unreachable server is a failure.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.fakeclock"]  # the time sweep's clock (inactive unless SW_TEST_CLOCK is set)

PG_ADMIN_DSN = os.environ.get("SW_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
REQUIRE_SERVICES = os.environ.get("SW_REQUIRE_SERVICES") == "1"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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

    name = f"sw_test_{uuid.uuid4().hex[:12]}"
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


@pytest.fixture
def redis_url() -> str:
    """The Redis server for cache tests (a private database number, flushed first)."""
    url = os.environ.get("SW_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.flushdb()
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required here (SW_REQUIRE_SERVICES=1) but not reachable: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    return url
