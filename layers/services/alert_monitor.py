"""The alert monitor: runs the rules when the store changes (or at least every few minutes), once across workers."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from data.interfaces import BBox, Store
from data.shared import run_once
from layers.services.alerts import Evaluation, evaluate_rules

MAX_IDLE_S = 300.0  # rules re-run at least this often, so alerts can close by themselves


class AlertMonitor:
    """Runs the rules from the refresh path: when the data changed, at most every ``min_interval_s``.

    Exactly one process evaluates per interval across every worker and node of the store
    (``data.shared.run_once``: a PostgreSQL advisory lock, or a file lock beside the SQLite file,
    plus the ``hbm_jobs`` ledger), so two refreshes never open one surge twice. Each process checks
    the ledger at most every ``min_interval_s``.
    """

    def __init__(self, store: Store, region: BBox | None, min_interval_s: float = 15.0) -> None:
        self.store, self.region, self.min_interval_s = store, region, min_interval_s
        self._lock = threading.Lock()
        self._last_revision: int | None = None
        self._last_check = -1e18
        self.last_errors: list[str] = []

    def maybe_evaluate(self, now: datetime, revision: int) -> Evaluation | None:
        """Evaluate when the store revision moved and the interval has passed; else return None."""
        if revision == self._last_revision and time.monotonic() - self._last_check < MAX_IDLE_S:
            return None  # nothing new; still re-run every 5 min so alerts can close by themselves
        if time.monotonic() - self._last_check < self.min_interval_s:
            return None
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self._last_check = time.monotonic()
            with run_once(self.store, "alerts", time.time(), revision, self.min_interval_s, MAX_IDLE_S) as due:
                if not due:  # another worker or node has run (or is running) the rules for this data
                    self._last_revision = revision
                    return None
                result = evaluate_rules(self.store, now, self.region)
            self._last_revision = revision
            self.last_errors = result.errors
            return result
        finally:
            self._lock.release()
