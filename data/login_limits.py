"""Failed sign-ins counted in the store, so every worker and node enforces one shared limit.

The same interface as the in-process ``dashboard.auth.FailureLimiter``: ``retry_after``, ``fail``,
``clear`` and ``first_block``, keyed by ``"ip:…"`` or ``"name:…"``. Times are wall-clock epoch
seconds, shared across machines (keep their clocks in sync with NTP).
"""

from __future__ import annotations

import time

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from data.interfaces import Store
from data.shared import LOGIN_BLOCKS, LOGIN_FAILURES, ensure_tables, prune_table
from geo.errors import StoreUnavailable


class StoreFailureLimiter:
    """Counts failed sign-ins per key in a sliding window, in the store's ``login_failures`` table."""

    def __init__(self, store: Store, window_s: float) -> None:
        self.store = store
        self.window_s = window_s

    def retry_after(self, key: str, limit: int, now: float | None = None) -> float:
        """Return seconds until ``key`` may try again (0 when it is under ``limit`` failures)."""
        now = time.time() if now is None else now
        ensure_tables(self.store)
        t = LOGIN_FAILURES
        query = select(func.count(), func.min(t.c.at)).where(t.c.key == key[:200], t.c.at > now - self.window_s)
        with self.store.connect() as conn:
            count, oldest = conn.execute(query).one()
        return max(0.0, float(oldest) + self.window_s - now) if count >= limit else 0.0

    def fail(self, key: str, now: float | None = None) -> None:
        """Count one failure for ``key`` (and forget failures older than the window)."""
        now = time.time() if now is None else now
        ensure_tables(self.store)
        with self.store.connect(write=True) as conn:
            prune_table(conn, LOGIN_FAILURES, now - self.window_s)
            conn.execute(insert(LOGIN_FAILURES).values(key=key[:200], at=now))

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (a successful sign-in)."""
        ensure_tables(self.store)
        with self.store.connect(write=True) as conn:
            conn.execute(delete(LOGIN_FAILURES).where(LOGIN_FAILURES.c.key == key[:200]))

    def first_block(self, key: str, now: float | None = None) -> bool:
        """Return True once per window for a blocked ``key``, across all workers and nodes."""
        now = time.time() if now is None else now
        ensure_tables(self.store)
        t, key = LOGIN_BLOCKS, key[:300]
        with self.store.connect(write=True) as conn:  # an atomic claim: one UPDATE or one INSERT wins
            stale = update(t).where(t.c.key == key, t.c.at <= now - self.window_s).values(at=now)
            if conn.execute(stale).rowcount == 1:
                return True
            if conn.execute(select(t.c.at).where(t.c.key == key)).first() is not None:
                return False
        try:
            with self.store.connect(write=True) as conn:
                conn.execute(insert(t).values(key=key, at=now))
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):  # another worker inserted it first
                return False
            raise
        return True
