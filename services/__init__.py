"""Server-side loops that run next to the collectors: alarms, personnel rules, notifications.

Each service is a small class with a ``name``, an ``interval_s`` and a synchronous ``step(now_ms)`` that
reads the store, runs the pure logic of ``engine/`` and writes its results back in one unit of work.
``python -m services`` runs them all, each in its own thread, so a slow one never holds up another.
"""
