"""Consistent backups of a running store, and their restore, with a manifest to check the restore against.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database in one step inside one read
transaction: in WAL mode the collectors keep writing meanwhile, and the copy is the database as of that
transaction's start, every transaction whole or absent. Restore goes the other way through the same API, into
the target through SQLite's own locking (so a stale ``-wal`` file of the target can never be replayed over it).

PostgreSQL: ``pg_dump`` (custom format) run on a snapshot exported by a REPEATABLE READ transaction that stays
open while the dump runs; the manifest's counts and checksum are read in that same transaction, so they describe
exactly what the dump holds. Restore is ``pg_restore --clean --if-exists``'s script run by ``psql`` in one
transaction (after dropping the partitioned ``sample`` whole, see :func:`_pg_restore`).

Beside each backup ``PATH`` its manifest ``PATH.json``: the kind of database, the migration revision, the rows of
every table and, when asked, a SHA-256 of every sample in key order. ``restore`` refuses a backup whose manifest is
missing or of the other kind, and after restoring compares the restored database's counts (and checksum) with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import URL

from store.db import is_sqlite, normalize_url
from store.models import Base

logger = logging.getLogger(__name__)

FORMAT = 1
SAMPLE_QUERY = "SELECT tag_id, ts, value, quality FROM sample ORDER BY tag_id, ts"


class BackupError(RuntimeError):
    """A backup or restore that could not be made or does not check out."""


class _Cursor(Protocol):
    def execute(self, query: str, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int = ..., /) -> list[Any]: ...


@dataclass
class Manifest:
    kind: str  # sqlite | postgresql
    created_ms: int
    revision: str | None
    counts: dict[str, int]
    samples_sha256: str | None = None
    format: int = FORMAT
    seconds: float = 0.0
    bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BackupError(f"{path}: no readable manifest ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError(f"{path}: not a manifest of this version")
        return cls(**data)


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".json")


def store_tables() -> list[str]:
    return sorted([*Base.metadata.tables, "alembic_version"])


def _existing(cur: _Cursor, sqlite: bool) -> set[str]:
    if sqlite:
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {str(r[0]) for r in cur.fetchmany(10_000)}


def read_counts(cur: _Cursor, sqlite: bool, tables: Iterable[str] | None = None) -> dict[str, int]:
    """Rows of each of the store's tables (those that exist)."""
    present = _existing(cur, sqlite)
    counts = {}
    for table in tables or store_tables():
        if table in present:
            cur.execute(f'SELECT count(*) FROM "{table}"')  # names from the store's own metadata
            counts[table] = int(cur.fetchone()[0])
    return counts


def _revision(cur: _Cursor, sqlite: bool) -> str | None:
    if "alembic_version" not in _existing(cur, sqlite):
        return None
    cur.execute("SELECT version_num FROM alembic_version")
    row = cur.fetchone()
    return None if row is None else str(row[0])


def samples_checksum(cur: _Cursor, batch: int = 50_000) -> str:
    """SHA-256 of every sample, in key order, each as ``tag_id,ts,repr(value),quality``: the same on SQLite and
    PostgreSQL for the same rows (both keep double precision)."""
    digest = hashlib.sha256()
    cur.execute(SAMPLE_QUERY)
    while rows := cur.fetchmany(batch):
        digest.update("".join(f"{t},{ts},{v!r},{q}\n" for t, ts, v, q in rows).encode())
    return digest.hexdigest()


def describe(cur: _Cursor, sqlite: bool, checksum: bool) -> Manifest:
    return Manifest(
        kind="sqlite" if sqlite else "postgresql",
        created_ms=int(time.time() * 1000),
        revision=_revision(cur, sqlite),
        counts=read_counts(cur, sqlite),
        samples_sha256=samples_checksum(cur) if checksum else None,
    )


# --- SQLite -----------------------------------------------------------------------------------------------------


def sqlite_path(url: str | URL) -> Path:
    database = normalize_url(url).database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"not a SQLite file: {url}")
    return Path(database).expanduser()


def _sqlite_backup(url: str | URL, dest: Path, checksum: bool) -> Manifest:
    source = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"{source}: no such database")
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(part)
        try:
            src.backup(dst)  # all pages in one step, one read transaction: a consistent copy, writers go on
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            problems = dst.execute("PRAGMA quick_check").fetchall()
            if problems != [("ok",)]:
                raise BackupError(f"the copy does not check out: {problems[:5]}")
            manifest = describe(dst.cursor(), True, checksum)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(part, dest)
    return manifest


def _sqlite_restore(backup: Path, url: str | URL) -> None:
    target = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        problems = src.execute("PRAGMA quick_check").fetchall()
        if problems != [("ok",)]:
            raise BackupError(f"{backup}: the backup does not check out: {problems[:5]}")
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)  # replaces every page of the target through its own locks
            dst.execute("PRAGMA journal_mode=WAL")  # as the store opens it (store.db)
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_describe(url: str | URL, checksum: bool) -> Manifest:
    path = sqlite_path(url)
    if not path.exists():
        raise BackupError(f"{path}: no such database")
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("BEGIN")  # one read transaction: counts and checksum of one state
        return describe(conn.cursor(), True, checksum)
    finally:
        conn.close()


# --- PostgreSQL -------------------------------------------------------------------------------------------------


def _pg_conninfo(url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it (not seen in a process list)."""
    parsed = normalize_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _pg_backup(url: str | URL, dest: Path, checksum: bool) -> Manifest:
    import psycopg

    uri, env = _pg_conninfo(url)
    pg_dump = _tool("pg_dump")
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    with psycopg.connect(uri, autocommit=False) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot is not None
        done = subprocess.run(
            [pg_dump, "--format=custom", f"--snapshot={snapshot[0]}", f"--file={part}", f"--dbname={uri}"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            part.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {done.stderr.strip()[-2000:]}")
        with conn.cursor(name="sw_backup") as named:  # a server-side cursor: the samples stream
            named.itersize = 50_000
            sums = samples_checksum(named) if checksum else None
        manifest = describe(conn.cursor(), False, False)
        manifest.samples_sha256 = sums
        conn.rollback()
    os.replace(part, dest)
    return manifest


# Dropped before pg_restore's own --clean drops run: those drop a partition's inherited primary key on its own,
# which PostgreSQL refuses ("cannot drop inherited constraint"); the partitioned parent takes its partitions along.
_PG_RESTORE_PREFIX = "DROP TABLE IF EXISTS public.sample CASCADE;\n"


def _pg_restore(backup: Path, url: str | URL) -> None:
    """pg_restore's script (``--clean --if-exists``) streamed into psql as one transaction, after the prefix."""
    uri, env = _pg_conninfo(url)
    script = subprocess.Popen(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--file=-", str(backup)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    quiet = {**env, "PGOPTIONS": "-c client_min_messages=warning"}  # no NOTICE per absent object to fill the pipe
    psql = subprocess.Popen(
        [_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction", "-v", "ON_ERROR_STOP=1", f"--dbname={uri}"],
        env=quiet,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert script.stdout is not None and script.stderr is not None and psql.stdin is not None
    assert psql.stderr is not None
    try:
        psql.stdin.write(_PG_RESTORE_PREFIX.encode())
        shutil.copyfileobj(script.stdout, psql.stdin, 1 << 20)
        psql.stdin.close()
    except BrokenPipeError:
        pass  # psql stopped at an error: its message follows
    script_err = script.stderr.read().decode(errors="replace")
    psql_err = psql.stderr.read().decode(errors="replace")
    if script.wait() != 0:
        psql.kill()
        psql.wait()
        raise BackupError(f"pg_restore failed: {script_err.strip()[-2000:]}")
    if psql.wait() != 0:
        raise BackupError(f"pg_restore failed: {psql_err.strip()[-2000:]}")


def _pg_describe(url: str | URL, checksum: bool) -> Manifest:
    import psycopg

    uri, _env = _pg_conninfo(url)
    with psycopg.connect(uri, autocommit=False) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        sums = None
        if checksum:
            with conn.cursor(name="sw_describe") as named:
                named.itersize = 50_000
                sums = samples_checksum(named)
        manifest = describe(conn.cursor(), False, False)
        manifest.samples_sha256 = sums
        conn.rollback()
    return manifest


# --- the commands -----------------------------------------------------------------------------------------------


def backup(url: str | URL, dest: Path, *, checksum: bool = False) -> Manifest:
    """A consistent backup of the store at ``url`` into ``dest`` (and its manifest ``dest.json``), while the
    store is in use. ``checksum``: also a SHA-256 of every sample (reads all of them once)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    manifest = _sqlite_backup(url, dest, checksum) if is_sqlite(url) else _pg_backup(url, dest, checksum)
    manifest.seconds = round(time.monotonic() - started, 3)
    manifest.bytes = dest.stat().st_size
    manifest.write(manifest_path(dest))
    logger.info(
        "backup %s: %d samples, %d bytes in %.1f s",
        dest,
        manifest.counts.get("sample", 0),
        manifest.bytes,
        manifest.seconds,
    )
    return manifest


def current(url: str | URL, *, checksum: bool = False) -> Manifest:
    """The store's counts (and checksum) now, as a manifest would have them."""
    return _sqlite_describe(url, checksum) if is_sqlite(url) else _pg_describe(url, checksum)


def has_data(url: str | URL) -> bool:
    """Whether the store at ``url`` holds anything (a table of the store with a row)."""
    if is_sqlite(url):
        path = sqlite_path(url)
        if not path.exists():
            return False
        conn = sqlite3.connect(path, timeout=30)
        try:
            cur = conn.cursor()
            return any(_any_row(cur, t) for t in sorted(_existing(cur, True) & set(Base.metadata.tables)))
        finally:
            conn.close()
    import psycopg

    uri, _env = _pg_conninfo(url)
    with psycopg.connect(uri) as pg:
        pg_cur = pg.cursor()
        return any(_any_row(pg_cur, t) for t in sorted(_existing(pg_cur, False) & set(Base.metadata.tables)))


def _any_row(cur: _Cursor, table: str) -> bool:
    cur.execute(f'SELECT 1 FROM "{table}" LIMIT 1')
    return cur.fetchone() is not None


def restore(backup_file: Path, url: str | URL, *, replace: bool = False) -> Manifest:
    """Put the backup ``backup_file`` into the store at ``url``, then check the result against the manifest;
    returns it. A store that holds data is replaced only with ``replace`` (stop the processes that use it
    first). :class:`BackupError` when refused or on a mismatch."""
    backup_file = Path(backup_file)
    if not backup_file.exists():
        raise BackupError(f"{backup_file}: no such backup")
    manifest = Manifest.read(manifest_path(backup_file))
    kind = "sqlite" if is_sqlite(url) else "postgresql"
    if manifest.kind != kind:
        raise BackupError(f"{backup_file} is a {manifest.kind} backup; the target is {kind}")
    if not replace and has_data(url):
        raise BackupError("the target store holds data: stop its processes and restore with --replace to overwrite it")
    if kind == "sqlite":
        _sqlite_restore(backup_file, url)
    else:
        _pg_restore(backup_file, url)
    now = current(url, checksum=manifest.samples_sha256 is not None)
    wrong = {t: (n, now.counts.get(t)) for t, n in manifest.counts.items() if now.counts.get(t) != n}
    if wrong:
        raise BackupError(f"restored rows differ from the backup's (table: backup, restored): {wrong}")
    if manifest.samples_sha256 is not None and now.samples_sha256 != manifest.samples_sha256:
        raise BackupError("the restored samples' checksum differs from the backup's")
    logger.info(
        "restored %s: %d tables, counts%s as in the backup",
        backup_file,
        len(now.counts),
        " and samples' checksum" if manifest.samples_sha256 else "",
    )
    return manifest
