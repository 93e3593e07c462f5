"""Throttling of voucher checks (V12): a sliding window per key, kept in process memory.

In memory on purpose: a check must stay cheap and must not write to the database. With
several worker processes each keeps its own window, so the effective limit is the
configured one times the number of workers (2 under our gunicorn setup); configure it
with that in mind. Limits: `VOUCHER_CHECKS_PER_CLIENT` and `VOUCHER_CHECKS_PER_CUSTOMER`
per `VOUCHER_CHECK_WINDOW_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class SlidingWindowLimiter:
    def __init__(self):
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float, now: float | None = None) -> float | None:
        """Count one attempt; None if allowed, else the seconds until the next one is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(hits[0] + window - now, 0.0)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


voucher_checks = SlidingWindowLimiter()
