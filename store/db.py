"""Engine, unit of work and migrations.

One URL selects the database: ``sqlite:///path/to/file.db`` (the default, a file under ``var/``) or
``postgresql+psycopg://user@host:port/dbname`` (``postgresql://`` and ``postgres://`` are accepted and
mapped to psycopg 3).

SQLite is opened in WAL mode with ``synchronous=NORMAL`` (durable at checkpoints, never corrupt), a 10 s
busy timeout so a reader or a second writer waits instead of failing, and foreign keys on; a new file gets
``auto_vacuum=INCREMENTAL`` (deleted space goes back with ``store.compaction.incremental_vacuum``). PostgreSQL
sessions run with ``jit=off`` unless the URL sets ``options``.

Repositories in ``store/`` take a :class:`~sqlalchemy.orm.Session` and never commit;
:func:`session_scope` is the unit of work that does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and map plain PostgreSQL URLs to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        # Before anything creates a table: a new file returns deleted pages with ``PRAGMA incremental_vacuum``
        # (store.compaction.incremental_vacuum); on an existing file it changes nothing until a VACUUM.
        cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB page cache per connection
    finally:
        cursor.close()


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for a SQLite file or a PostgreSQL database.

    For SQLite the parent directory of the file is created. Extra keyword arguments go to
    :func:`sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
    else:
        connect_args = dict(kwargs.pop("connect_args", {}))
        if "options" not in parsed.query and "options" not in connect_args:
            # The store's queries are short index range scans; PostgreSQL's JIT, triggered by cost estimates
            # of correlated subqueries, would spend hundreds of milliseconds compiling each of them.
            connect_args["options"] = "-c jit=off"
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    logger.debug("engine created for %s", parsed.render_as_string(hide_password=True))
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commits when the block ends, rolls back (and re-raises) on error.

    Objects stay readable after the commit (``expire_on_commit=False``).
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | URL) -> Any:
    """An Alembic ``Config`` built in code: works from any working directory, no ini file needed."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = normalize_url(url).render_as_string(hide_password=False)
    return cfg


def migrate(url: str | URL, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (default: the newest) with Alembic."""
    alembic_logger = logging.getLogger("alembic")
    previous = alembic_logger.level
    if alembic_logger.getEffectiveLevel() < logging.WARNING and not logger.isEnabledFor(logging.DEBUG):
        alembic_logger.setLevel(logging.WARNING)  # its plugin/context chatter on every start is noise
    from alembic import command

    if is_sqlite(url):
        database = make_url(url).database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        command.upgrade(alembic_config(url), revision)
    finally:
        alembic_logger.setLevel(previous)
    logger.info("database migrated to %s", revision)
