"""The store: SQLAlchemy 2.0 models, Alembic migrations and the repositories the other packages call.

``store.db`` (engine, ``session_scope``, ``migrate``), ``store.samples`` (raw samples and rollups),
``store.trend`` (pixel-aware trends), ``store.tags``, ``store.events``, ``store.positions``,
``store.health``. Repositories take a ``Session`` and never commit.
"""
