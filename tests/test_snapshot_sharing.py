"""Twenty screens asking for the live snapshot at the same moment cost one set of queries."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from tests.webutil import seed_store


def test_concurrent_screens_share_one_snapshot(tmp_path: Path) -> None:
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot

    app = create_app(seed_store(tmp_path))
    engine = app.server.extensions["sw_engine"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    with app.server.app_context():
        snapshot()  # warm: one build
    one_build = len(statements)
    assert one_build > 0
    statements.clear()

    results: list[dict] = []
    barrier = threading.Barrier(20)

    def screen() -> None:
        with app.server.test_request_context("/"):
            barrier.wait()
            results.append(snapshot())

    with app.server.app_context():
        snapshot.expire()
    threads = [threading.Thread(target=screen) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert len(results) == 20
    assert len(statements) == one_build, "20 screens at expiry must cost one rebuild, not twenty"
    assert all(r["now_ms"] == results[0]["now_ms"] for r in results)


def test_web_workers_share_the_snapshot_through_redis(tmp_path: Path, redis_url: str) -> None:
    """Two web workers (two apps) with the Redis cache: the second serves the first one's snapshot."""
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot

    settings = seed_store(tmp_path).model_copy(update={"cache_redis_url": redis_url})
    first, second = create_app(settings), create_app(settings)
    statements: list[str] = []
    event.listen(second.server.extensions["sw_engine"], "before_cursor_execute", lambda *a: statements.append(a[2]))
    with first.server.test_request_context("/"):
        built = snapshot()
    with second.server.test_request_context("/"):
        served = snapshot()
    assert served["now_ms"] == built["now_ms"] and served["risk"] == built["risk"]
    assert statements == [], "the second worker must not query: the snapshot comes from Redis"


def test_an_expired_snapshot_is_served_while_one_rebuild_runs(tmp_path: Path) -> None:
    """After expiry screens get the previous snapshot at once; one background rebuild replaces it."""
    import time

    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot

    app = create_app(seed_store(tmp_path))
    engine = app.server.extensions["sw_engine"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with app.server.test_request_context("/"):
        first = snapshot()
        one_build = len(statements)
        time.sleep(web.SNAPSHOT_SECONDS + 0.1)  # now stale
        statements.clear()
        served = [snapshot() for _ in range(20)]
        # the first screen gets the previous value at once; the rebuild may land while the others ask
        assert served[0]["now_ms"] == first["now_ms"], "stale value served without waiting"
        assert all(s["now_ms"] >= first["now_ms"] for s in served)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and snapshot()["now_ms"] == first["now_ms"]:
            time.sleep(0.05)
        assert snapshot()["now_ms"] > first["now_ms"], "the background rebuild replaced the value"
    assert len(statements) == one_build, "twenty screens after expiry cost one rebuild"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_screens_are_served_while_redis_is_down_and_share_again_when_it_is_back(tmp_path: Path) -> None:
    """A Redis of its own, stopped under a running app: the snapshot keeps coming (built in the process), and
    once Redis is back the workers share through it again."""
    import redis

    from tests.conftest import free_port
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot

    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                client.ping()
                return proc
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        proc.kill()
        raise AssertionError("redis-server did not start")

    server = start()
    try:
        settings = seed_store(tmp_path).model_copy(update={"cache_redis_url": f"redis://127.0.0.1:{port}/0"})
        app = create_app(settings)
        client = redis.Redis(port=port)
        with app.server.test_request_context("/"):
            first = snapshot()
            assert any(b"snapshot" in k for k in client.keys("*")), "the snapshot went to Redis"
            server.terminate()
            server.wait(10)
            time.sleep(web.SNAPSHOT_SECONDS + 0.1)
            served = [snapshot() for _ in range(5)]  # Redis is gone: served all the same, no error
            assert all(s["risk"] == first["risk"] for s in served)
            assert app.server.extensions[web.LOCAL_CACHE].down
            server = start()  # back, empty
            time.sleep(web.CACHE_RETRY_S + 0.1)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not client.keys("*"):
                snapshot()
                time.sleep(0.1)
            assert any(b"snapshot" in k for k in client.keys("*")), "shared through Redis again"
    finally:
        server.kill()
        server.wait(10)


def test_one_rebuild_among_all_the_workers(tmp_path: Path, redis_url: str) -> None:
    """Two workers on one Redis, the snapshot stale, the first worker's queries slow: the first to ask rebuilds
    it, the other keeps serving the previous value without a query and then gets the rebuilt one."""
    from webapp import context as web
    from webapp.app import create_app
    from webapp.live.snapshot import snapshot

    settings = seed_store(tmp_path).model_copy(update={"cache_redis_url": redis_url})
    first, second = create_app(settings), create_app(settings)
    # the second worker's own copy of the producer (its own process-local lock), as in another process
    in_second = web.Shared(snapshot.__wrapped__, web.SNAPSHOT_SECONDS)  # type: ignore[attr-defined]
    statements: dict[str, list[str]] = {"first": [], "second": []}
    slow = threading.Event()

    def on_first(*a: object) -> None:
        statements["first"].append(str(a[2]))
        if slow.is_set():
            time.sleep(0.05)  # a busy database: the rebuild takes a while

    event.listen(first.server.extensions["sw_engine"], "before_cursor_execute", on_first)
    event.listen(
        second.server.extensions["sw_engine"], "before_cursor_execute", lambda *a: statements["second"].append(a[2])
    )
    with first.server.test_request_context("/"):
        built = snapshot()
    one_build = len(statements["first"])
    statements["first"].clear()
    time.sleep(web.SNAPSHOT_SECONDS + 0.1)  # stale now
    slow.set()
    with first.server.test_request_context("/"):
        assert snapshot()["now_ms"] == built["now_ms"]  # the previous value, and the rebuild claimed
    with second.server.test_request_context("/"):
        assert in_second()["now_ms"] == built["now_ms"]  # the rebuild is running in the first worker
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and in_second()["now_ms"] == built["now_ms"]:
            time.sleep(0.02)
        queried = list(statements["second"])
        newer = in_second()["now_ms"] > built["now_ms"]
    assert newer, "the first worker's rebuild reached the second"
    assert queried == [], "the second worker never queried"
    assert len(statements["first"]) == one_build, "one rebuild"
