"""A background feed that keeps appending events to the store (the demo's live feed)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from data.ingest import ingest_records
from data.ingest.settings import load_ingest_settings
from data.interfaces import Store
from geo.errors import HbmError

log = logging.getLogger("hbm.feed")


class LiveFeed(threading.Thread):
    """Every ``interval_s`` seconds, write ``make_batch(now)`` to the store; survive store outages."""

    def __init__(self, store: Store, make_batch: Callable[[datetime], pd.DataFrame], interval_s: float = 3.0) -> None:
        super().__init__(name="hbm-live-feed", daemon=True)
        self.store = store
        self.make_batch = make_batch
        self.interval_s = interval_s
        self.written = 0
        self.rejected = 0
        self.settings = load_ingest_settings()
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Write batches until stopped, through the same validation as ``hbm ingest`` and the events API."""
        failing = False
        while not self._stop_event.wait(self.interval_s):
            try:
                batch = self.make_batch(datetime.now(UTC))
                summary = ingest_records(self.store, batch, "events", settings=self.settings, name="live feed")
                self.written += summary.written
                self.rejected += summary.rejected
                if summary.rejected:
                    log.warning(
                        "live feed: %d events rejected (%s)", summary.rejected, dict(summary.rejected_by_reason)
                    )
                if failing:
                    log.warning("live feed: store is back, writing again")
                failing = False
            except HbmError as exc:
                if not failing:
                    log.warning("live feed paused: %s", exc)
                failing = True

    def stop(self) -> None:
        """Ask the feed to stop after the current batch."""
        self._stop_event.set()
