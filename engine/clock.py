"""The one clock: UTC milliseconds since the epoch, as every timestamp in the store is kept.

Code that needs "now" calls :func:`now_ms` (or takes ``now_ms`` as an argument, which is better: pure logic
in ``engine/`` is given its time); the web tier's own clock (``webapp.context.now_ms``) falls back to it.
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """Now, in UTC milliseconds since the epoch."""
    return int(time.time() * 1000)
