"""A short soak in CI: a feed writing 200 events/s while 5 clients poll the map, on both backends.

The full figures (5 minutes, 20 clients, p95 refresh time) come from ``python -m tests.benchmarks.soak``;
this test asserts only what must always hold: no errors and no lost events (no timing assertions).
"""

from __future__ import annotations

from data.store import Store
from tests.benchmarks.soak import run_soak, seed


def test_feed_and_polling_clients_lose_nothing(store: Store) -> None:
    seed(store, events=2_000)
    result = run_soak(store, seconds=6.0, clients=5, rate=200.0, poll_s=1.0)
    assert result.feed_errors == [] and result.client_errors == []
    assert result.written >= 200 * 3  # the feed kept writing (at least half the nominal rate)
    assert result.rejected == 0
    assert result.lost == 0
    assert len(result.refresh_ms) >= 5 * 3  # every client polled several times
