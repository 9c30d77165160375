"""Web-tier plumbing shared by pages and callbacks: the database engine, the cache, the language.

The web tier is stateless: the engine and cache hang off the Flask app, nothing lives in module globals
of a Dash process, so several workers (gunicorn) behind a proxy serve the same screens.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import flask
from cachelib import SimpleCache
from flask_caching import Cache
from sqlalchemy import Engine

from engine.clock import now_ms as clock_now_ms
from i18n import normalize_lang, t
from plant import Plant
from plant.loader import load_plant_cached
from settings import Settings
from store.db import make_engine
from webapp.metrics import cache_result

logger = logging.getLogger(__name__)

cache = Cache()
LANG_COOKIE = "sw_lang"
SNAPSHOT_SECONDS = 1  # one snapshot per refresh period serves every open screen


def init_web(server: flask.Flask, settings: Settings) -> None:
    config: dict[str, Any] = {"CACHE_DEFAULT_TIMEOUT": 2}
    if settings.cache_redis_url:
        # one installation's workers share their keys; another store's (a second demo, a test) never sees them
        store = hashlib.sha256(settings.db_url.encode()).hexdigest()[:12]
        config |= {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": settings.cache_redis_url,
            "CACHE_KEY_PREFIX": f"sw-{store}:",
            # a Redis that hangs must not hang the screens: give up after a second (see cache_get)
            "CACHE_OPTIONS": {"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
        }
    else:
        config |= {"CACHE_TYPE": "SimpleCache"}
    cache.init_app(server, config=config)
    server.extensions[LOCAL_CACHE] = _LocalCache()
    server.extensions["sw_settings"] = settings
    server.extensions["sw_engine"] = make_engine(settings.db_url)


LOCAL_CACHE = "sw_local_cache"
CACHE_RETRY_S = 5.0  # after a failure of the shared cache, this process uses its own for this long


class _LocalCache:
    """This process's stand-in while the shared cache (Redis) fails: screens keep being served, each worker
    building its own values, until Redis answers again."""

    def __init__(self) -> None:
        self.values = SimpleCache(threshold=1000)
        self.down_until = 0.0
        self.lock = threading.Lock()

    def failed(self, exc: Exception) -> None:
        with self.lock:
            first = time.monotonic() >= self.down_until
            self.down_until = time.monotonic() + CACHE_RETRY_S
        if first:
            logger.warning("shared cache unavailable (%s); this worker caches on its own for now", exc)

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until


def _local() -> _LocalCache:
    return flask.current_app.extensions[LOCAL_CACHE]  # type: ignore[no-any-return]


def cache_get(key: str) -> Any:
    """``cache.get``, or this process's own cache while the shared one fails."""
    local = _local()
    if not local.down:
        try:
            return cache.get(key)
        except Exception as exc:  # redis' errors, OSError: anything of the cache's transport
            local.failed(exc)
            cache_result(_cache_label(key), "error")
    return local.values.get(key)


def cache_set(key: str, value: Any, timeout: int) -> None:
    local = _local()
    if not local.down:
        try:
            cache.set(key, value, timeout=timeout)
            return
        except Exception as exc:
            local.failed(exc)
            cache_result(_cache_label(key), "error")
    local.values.set(key, value, timeout=timeout)


def cache_claim(key: str, seconds: int) -> bool:
    """Whether this process may do the work named ``key`` now: the first to ask among all workers gets it for
    ``seconds`` (Redis ``SET NX``), until :func:`cache_delete` of the key; while the shared cache fails, yes."""
    local = _local()
    if local.down:
        return True
    try:
        return bool(cache.add(key, os.getpid(), timeout=seconds))
    except Exception as exc:
        local.failed(exc)
        return True


def cache_delete(key: str) -> None:
    _local().values.delete(key)
    try:
        cache.delete(key)
    except Exception as exc:
        _local().failed(exc)


T = TypeVar("T")


class Shared(Generic[T]):
    """A no-argument producer whose value every screen shares, fresh for ``timeout`` seconds.

    When it expires, one background thread rebuilds it while screens keep getting the previous value
    (stale-while-revalidate), so no refresh waits for the queries; with several workers sharing Redis, one
    thread among them all (the first to claim the rebuild); only when there is no value at all
    (first use, or stale beyond ``STALE_PERIODS`` periods) does a request build it, once (single flight).
    """

    STALE_PERIODS = 10

    def __init__(self, produce: Callable[[], T], timeout: int) -> None:
        functools.update_wrapper(self, produce)
        self._produce = produce
        self._timeout = timeout
        self._key = f"sw:{produce.__module__}.{produce.__qualname__}"
        self._claim = f"{self._key}:rebuilding"
        self._lock = threading.Lock()

    def _build(self) -> T:
        value = self._produce()
        cache_set(self._key, (time.time(), value), timeout=self._timeout * self.STALE_PERIODS)
        return value

    def _rebuild_in_background(self, app: flask.Flask) -> None:
        try:
            with app.app_context():
                try:
                    self._build()
                finally:
                    cache_delete(self._claim)
        except Exception:
            logger.exception("rebuilding %s failed; screens keep the previous value", self._key)
        finally:
            self._lock.release()

    def __call__(self) -> T:
        entry = cache_get(self._key)
        if entry is not None:
            built_at, value = entry
            stale = time.time() - built_at >= self._timeout
            cache_result(self._key, "stale" if stale else "hit")
            if stale and self._lock.acquire(blocking=False):
                # one rebuild among all the workers: the others keep serving the previous value meanwhile
                if cache_claim(self._claim, self._timeout * self.STALE_PERIODS // 2):
                    app = flask.current_app._get_current_object()  # type: ignore[attr-defined]
                    threading.Thread(target=self._rebuild_in_background, args=(app,), daemon=True).start()
                else:
                    self._lock.release()
            return value  # type: ignore[no-any-return]
        with self._lock:
            entry = cache_get(self._key)
            if entry is not None:
                cache_result(self._key, "hit")
                return entry[1]  # type: ignore[no-any-return]
            cache_result(self._key, "miss")
            return self._build()

    def expire(self) -> None:
        """Drop the value: the next call builds it before answering.

        Waits for a rebuild in flight, which would otherwise put back a value older than the expiry."""
        with self._lock:
            cache_delete(self._key)


def shared(timeout: int) -> Callable[[Callable[[], T]], Shared[T]]:
    """Decorator form of :class:`Shared`."""
    return lambda produce: Shared(produce, timeout)


def cached(key: str, timeout: int, build: Callable[[], T]) -> T:
    """``build()`` shared under ``key`` for ``timeout`` seconds by every screen asking for the same key (in
    the process's cache, or in Redis for several workers): for values that depend on arguments, which
    :class:`Shared` does not take. A miss builds in the asking request; ``None`` is never stored."""
    hit = cache_get(key)
    label = _cache_label(key)
    if hit is not None:
        cache_result(label, "hit")
        return hit  # type: ignore[no-any-return]
    cache_result(label, "miss")
    value = build()
    cache_set(key, value, timeout=timeout)
    return value


def _cache_label(key: str) -> str:
    """A key's family for the metrics ("sw:personnel:trips:2:..." -> "personnel:trips"): its first part, and its
    second when that is a word (not a number, a window or a digest), so the metric's labels stay few."""
    parts = key.removeprefix("sw:").split(":")
    second = parts[1] if len(parts) > 1 else ""
    return f"{parts[0]}:{second}" if second.replace("_", "").replace("-", "").isalpha() else parts[0]


def settings() -> Settings:
    return flask.current_app.extensions["sw_settings"]  # type: ignore[no-any-return]


def engine() -> Engine:
    return flask.current_app.extensions["sw_engine"]  # type: ignore[no-any-return]


def plant() -> Plant:
    return load_plant_cached(str(settings().plant_file))


def lang() -> str:
    """The user's language, from the cookie the language switch sets (server-rendered everywhere)."""
    try:
        return normalize_lang(flask.request.cookies.get(LANG_COOKIE))
    except RuntimeError:  # outside a request
        return normalize_lang(None)


CLOCK_EXTENSION = "sw_clock"


def page_title(key: str) -> Callable[..., str]:
    """A page's browser-tab title in the user's language ("报警 · SmeltWatch"), for
    ``dash.register_page(title=...)``: Dash calls it for each page load and each page change."""

    def title(**_path_variables: str) -> str:
        user_lang = lang()
        return f"{t(key, user_lang)} · {t('app.brand', user_lang)}"

    return title


def now_ms() -> int:
    """The web tier's clock in ms since the epoch: the app's own clock when one is set (a test that must not
    run across a plant day or shift fixes it with ``set_clock``), else the system clock."""
    try:
        clock = flask.current_app.extensions.get(CLOCK_EXTENSION)
    except RuntimeError:  # outside the app
        clock = None
    return int(clock() * 1000) if clock is not None else clock_now_ms()


def set_clock(server: flask.Flask, clock: Callable[[], float] | None) -> None:
    """Give the app ``server`` a clock of its own (seconds since the epoch); None returns to the system clock."""
    if clock is None:
        server.extensions.pop(CLOCK_EXTENSION, None)
    else:
        server.extensions[CLOCK_EXTENSION] = clock
