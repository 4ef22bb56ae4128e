"""Small in-memory state of the gate (per worker process): failure windows, refusal counts, cached lookups."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any


class FailureLimiter:
    """Counts failed sign-ins per key (an IP or a user name) in a sliding window."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._noted: dict[str, float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._fails.get(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, key: str, limit: int, now: float | None = None) -> float:
        """Return seconds until ``key`` may try again (0 when it is under ``limit`` failures)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            return max(0.0, times[0] + self.window_s - now) if len(times) >= limit else 0.0

    def fail(self, key: str, now: float | None = None) -> None:
        """Count one failure for ``key``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._fails) > 10_000:  # name spraying must not grow memory without bound
                for stale in [k for k, v in self._fails.items() if not v or v[-1] <= now - self.window_s]:
                    del self._fails[stale]
            self._fails.setdefault(key, deque()).append(now)
            self._fails[key] = self._recent(key, now)

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (a successful sign-in)."""
        with self._lock:
            self._fails.pop(key, None)

    def first_block(self, key: str, now: float | None = None) -> bool:
        """Return True once per window for a blocked ``key`` (so the audit gets one row, not one per try)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._noted.get(key, -1e18) > now - self.window_s:
                return False
            self._noted[key] = now
            return True


class RefusalCounter:
    """Counts refused sign-ins per client IP and window, and says when the audit should hear of them.

    Anyone can trigger refusals without signing in, so the audit gets a bounded number of rows: one at
    the first refusal of an IP in a window, then one each time the count reaches 10, 100, 1,000… with
    the count and the number of distinct names tried. Memory is bounded too: windows that ended are
    pruned, and at most ``max_ips`` IPs and ``max_names`` names per IP are remembered.
    """

    def __init__(self, window_s: float, max_ips: int = 10_000, max_names: int = 1_000) -> None:
        self.window_s, self.max_ips, self.max_names = window_s, max_ips, max_names
        self._windows: dict[str, tuple[float, int, set[str]]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._windows)

    def refuse(self, ip: str, name: str, now: float | None = None) -> dict[str, Any] | None:
        """Count one refusal; return the audit detail when this one should be written, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._prune(now)
            start, count, names = self._windows.get(ip, (now, 0, set()))
            if len(names) < self.max_names:
                names.add(name)
            count += 1
            self._windows[ip] = (start, count, names)
        if count == 1 or (count >= 10 and math.log10(count).is_integer()):
            return {"refused_in_window": count, "names_tried": len(names), "window_s": round(self.window_s)}
        return None

    def _prune(self, now: float) -> None:
        stale = [ip for ip, (start, _c, _n) in self._windows.items() if start <= now - self.window_s]
        for ip in stale:
            del self._windows[ip]
        while len(self._windows) >= self.max_ips:  # many IPs at once: forget the oldest windows first
            del self._windows[min(self._windows, key=lambda k: self._windows[k][0])]


class Recheck:
    """Caches a lookup per key for ``seconds`` (the user row behind a session)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        """Return the cached value for ``key``, or ``load()`` it when older than ``seconds``."""
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (now, value)
        return value

    def forget(self, key: str) -> None:
        """Drop ``key`` (log-out), so the next request reads the store."""
        with self._lock:
            self._items.pop(key, None)
