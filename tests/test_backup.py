"""Backups while a writer writes, and their restore, on SQLite and PostgreSQL: the backup is one consistent state
(every writer transaction whole or absent), the restored store has the backup's row counts and samples'
checksum, and a restore never overwrites a store with data unless told to."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.types import SampleIn
from plant import load_plant
from settings import ROOT
from store.backup import BackupError, Manifest, backup, current, manifest_path, restore
from store.db import is_sqlite, make_engine, migrate, session_scope
from store.events import add_event
from store.samples import write_samples
from store.tags import sync_tags
from tests.conftest import PG_ADMIN_DSN
from tests.webutil import MINI_PLANT

SEED = 60_000
BATCH = 50  # samples per writer transaction, each with one "test-batch" event
T0 = 1_700_000_000_000


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind, to restore into."""
    if is_sqlite(db_url):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    import psycopg

    name = f"sw_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield db_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(url: str) -> list[int]:
    migrate(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        ids = sorted(sync_tags(session, load_plant(MINI_PLANT)).values())[:20]
    with session_scope(engine) as session:
        per_tag = SEED // len(ids)
        write_samples(
            session,
            [SampleIn(t, T0 + i * 1000, float((i * 7919 + t) % 1000) / 7.0, 0) for t in ids for i in range(per_tag)],
        )
    engine.dispose()
    return ids


class Writer(threading.Thread):
    """Writes BATCH new samples and one event per transaction, as fast as it can, noting each commit's time."""

    def __init__(self, url: str, tags: list[int]) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.tags = tags
        self.commits: list[float] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        n = 0
        try:
            while not self.stop.is_set():
                ts = T0 + 10**9 + n * 1000
                with session_scope(self.engine) as session:
                    write_samples(
                        session, [SampleIn(t, ts + k, float(n + k), 0) for k, t in enumerate(self.tags * 3)][:BATCH]
                    )
                    add_event(session, "test-batch", "writer", ts)
                self.commits.append(time.monotonic())
                n += 1
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.engine.dispose()


def _wait_commits(writer: Writer, n: int) -> None:
    deadline = time.monotonic() + 60
    while len(writer.commits) < n and time.monotonic() < deadline:
        assert writer.error is None, writer.error
        time.sleep(0.01)
    assert len(writer.commits) >= n


def _consistent(m: Manifest) -> bool:
    """Every writer transaction is whole or absent: the samples are the seed plus BATCH per event."""
    return m.counts["sample"] == SEED + BATCH * m.counts["event"]


def test_backup_while_writing_and_restore(db_url: str, other_url: str, tmp_path: Path) -> None:
    tags = _seed(db_url)
    writer = Writer(db_url, tags)
    writer.start()
    try:
        _wait_commits(writer, 5)
        started = time.monotonic()
        made = backup(db_url, tmp_path / "store.backup", checksum=True)
        ended = time.monotonic()
        during = sum(started < c < ended for c in writer.commits)
        _wait_commits(writer, len(writer.commits) + 5)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert during >= 1, "the writer must have committed while the backup ran (it is not blocked)"
    assert _consistent(made), made.counts
    assert 5 <= made.counts["event"] < len(writer.commits)
    assert made.samples_sha256 and made.revision and manifest_path(tmp_path / "store.backup").exists()
    live = current(db_url)
    assert live.counts["sample"] > made.counts["sample"], "the writer went on after the backup"

    # restore into an empty database: the backup's counts and checksum, checked by restore and here again
    restore(tmp_path / "store.backup", other_url)
    restored = current(other_url, checksum=True)
    assert restored.counts == made.counts
    assert restored.samples_sha256 == made.samples_sha256
    assert restored.revision == made.revision
    assert _consistent(restored)

    # a store with data is not overwritten unless asked; asked, it becomes the backup (the writer's later rows gone)
    with pytest.raises(BackupError, match="holds data"):
        restore(tmp_path / "store.backup", db_url)
    restore(tmp_path / "store.backup", db_url, replace=True)
    again = current(db_url, checksum=True)
    assert again.counts == made.counts and again.samples_sha256 == made.samples_sha256
    migrate(db_url)  # the restored store is at the code's revision: nothing to do, no error

    # a manifest that does not match what is restored is reported
    tampered = Manifest.read(manifest_path(tmp_path / "store.backup"))
    tampered.counts["sample"] += 1
    tampered.write(manifest_path(tmp_path / "store.backup"))
    with pytest.raises(BackupError, match="sample"):
        restore(tmp_path / "store.backup", other_url, replace=True)


def test_plantctl_backup_and_restore_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    _seed(url)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    run = [sys.executable, "-m", "plantctl"]
    made = subprocess.run(
        [*run, "backup", str(tmp_path / "b" / "live.backup"), "--db", url, "--checksum"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    assert f"{SEED} samples" in made.stdout
    done = subprocess.run(
        [*run, "restore", str(tmp_path / "b" / "live.backup"), "--db", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "row counts and samples' checksum match the backup" in done.stdout
    refused = subprocess.run(
        [*run, "restore", str(tmp_path / "b" / "live.backup"), "--db", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "--replace" in refused.stderr
    assert current(target, checksum=True).samples_sha256 == current(url, checksum=True).samples_sha256
