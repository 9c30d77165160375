"""Run services in threads at their interval; a failing step is logged and retried with backoff.

Each step is given the time from the runner's clock: the wall clock (``engine.clock.now_ms``) unless another
is handed in, as a test does to run the real services on a simulated plant clock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from engine.clock import now_ms

logger = logging.getLogger(__name__)


class Service(Protocol):
    name: str
    interval_s: float

    def step(self, now_ms: int) -> None: ...


class Runner:
    def __init__(
        self, services: Sequence[Service], *, max_backoff_s: float = 30.0, clock: Callable[[], int] = now_ms
    ) -> None:
        self.services = list(services)
        self.max_backoff_s = max_backoff_s
        self.clock = clock
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self.steps: dict[str, int] = {s.name: 0 for s in self.services}
        self.failures: dict[str, int] = {s.name: 0 for s in self.services}

    def _loop(self, service: Service) -> None:
        backoff = 0.0
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                service.step(self.clock())
                self.steps[service.name] += 1
                backoff = 0.0
            except Exception:
                self.failures[service.name] += 1
                backoff = min(max(backoff * 2, service.interval_s, 1.0), self.max_backoff_s)
                logger.exception("%s: step failed; retrying in %.0f s", service.name, backoff)
            wait = backoff or max(0.0, service.interval_s - (time.monotonic() - started))
            self.stop_event.wait(wait)

    def start(self) -> None:
        for service in self.services:
            thread = threading.Thread(target=self._loop, args=(service,), name=service.name, daemon=True)
            thread.start()
            self._threads.append(thread)
            logger.info("%s: running every %.3g s", service.name, service.interval_s)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> Runner:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
