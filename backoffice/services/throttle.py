"""Throttles (voucher checks, failed logins) counted in a store every process shares.

The counters live where `RATELIMIT_STORAGE_URI` says, through the `limits` library that
Flask-Limiter is built on: `redis://host:6379/1` when several machines serve the app, else
an embedded SQLite file (`sqlite:////path/ratelimits.sqlite`, the default under
`instance/`) that all workers of one machine share. A count is one atomic statement, so
two workers never both let the n+1st attempt through, and nothing is written to the
application's database.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file: shared by the processes of one machine."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions, **options)
        self.path = (uri or "").removeprefix("sqlite:///")
        self._local = threading.local()

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # counters: losing the last second is fine
            conn.execute("CREATE TABLE IF NOT EXISTS counter "
                         "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._db()
        if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
            conn.execute("DELETE FROM counter WHERE expires <= ?", (now,))
        return conn.execute(
            "INSERT INTO counter (key, count, expires) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= ?4 THEN ?2 ELSE count + ?2 END, "
            "expires = CASE WHEN expires <= ?4 THEN ?3 ELSE expires END "
            "RETURNING count", (key, amount, now + expiry, now)).fetchone()[0]

    def get(self, key: str) -> int:
        row = self._db().execute("SELECT count FROM counter WHERE key = ? AND expires > ?",
                                 (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._db().execute("SELECT expires FROM counter WHERE key = ?", (key,)).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        return self._db().execute("SELECT 1").fetchone() is not None

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counter WHERE key = ?", (key,))


class Throttle:
    """Named counters per key and window in the configured store."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self._limiters: dict[str, FixedWindowRateLimiter] = {}

    def _limiter(self) -> FixedWindowRateLimiter:
        uri = current_app.config["RATELIMIT_STORAGE_URI"]
        limiter = self._limiters.get(uri)
        if limiter is None:
            limiter = self._limiters[uri] = FixedWindowRateLimiter(storage_from_string(uri))
        return limiter

    def _wait(self, item, key: str) -> float:
        return max(self._limiter().get_window_stats(item, self.prefix, key).reset_time - time.time(), 0.0)

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count one attempt; None if allowed, else the seconds until the next one is."""
        item = RateLimitItemPerSecond(limit, max(int(window), 1))
        if self._limiter().hit(item, self.prefix, key):
            return None
        return self._wait(item, key)

    def blocked(self, key: str, limit: int, window: float) -> float | None:
        """Without counting: None if another attempt is allowed, else the seconds to wait."""
        item = RateLimitItemPerSecond(limit, max(int(window), 1))
        if self._limiter().test(item, self.prefix, key):
            return None
        return self._wait(item, key)

    def clear(self, key: str, limit: int, window: float) -> None:
        self._limiter().clear(RateLimitItemPerSecond(limit, max(int(window), 1)), self.prefix, key)

    def reset(self) -> None:
        """Forget every counter of every throttle (tests)."""
        self._limiter().storage.reset()


voucher_checks = Throttle("voucher-check")
failed_logins = Throttle("login-failure")
lead_requests = Throttle("lead-request")
