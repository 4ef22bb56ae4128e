"""State shared through the store: one lock, one alert evaluation per interval, one sign-in limit for all workers.

Each "worker" here is its own store object (its own engine and connection pool) on the same
database, as a gunicorn worker or another node has; tests/test_two_nodes.py does the same with
real `hbm serve` processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from data.alerts import list_alerts, save_rule
from data.login_limits import StoreFailureLimiter
from data.open import open_store
from data.settings import load_store_settings
from data.shared import exclusive, is_due, last_run, run_once
from data.store import SqlStore, Store
from layers.services.alert_monitor import AlertMonitor
from tests.helpers import NOW
from tests.helpers.alerts import REGION, background, events, surge_rule


def twin(store: Store) -> SqlStore:
    """Return another store object on the same database (another worker's pool)."""
    url = store.engine.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    other = open_store(load_store_settings(database_url=url))
    assert isinstance(other, SqlStore)
    return other


def together(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in ``n`` threads released at the same moment; return the results in order."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_the_lock_is_held_by_one_worker_at_a_time(store: Store) -> None:
    other = twin(store)
    with exclusive(store, "job") as first:
        assert first
        with exclusive(other, "job") as second:
            assert not second
        with exclusive(other, "another-job") as unrelated:
            assert unrelated
    with exclusive(other, "job") as after:
        assert after
    other.dispose()


@pytest.mark.parametrize(
    ("last", "now", "revision", "due"),
    [
        (None, 100.0, 1, True),  # never ran
        ((100.0, 1), 110.0, 2, False),  # new data, but within the interval
        ((100.0, 1), 116.0, 2, True),  # new data, interval passed
        ((100.0, 1), 200.0, 1, False),  # no new data, not idle long enough
        ((100.0, 1), 400.0, 1, True),  # idle for max_idle_s: run so alerts can close
    ],
)
def test_is_due(last: tuple[float, int] | None, now: float, revision: int, due: bool) -> None:
    assert is_due(last, now, revision, 15.0, 300.0) is due


def test_run_once_runs_in_exactly_one_of_many_workers(store: Store) -> None:
    workers = [twin(store) for _ in range(6)]
    ran: list[int] = []

    def attempt(i: int) -> bool:
        with run_once(workers[i], "job", time.time(), 7, 15.0, 300.0) as due:
            if due:
                ran.append(i)
                time.sleep(0.3)  # the job takes a while: the others arrive while it runs
        return due

    assert sum(together(6, attempt)) == 1 and len(ran) == 1
    assert last_run(store, "job")[1] == 7  # type: ignore[index]
    # Afterwards, the same data is not evaluated again by anyone.
    with run_once(workers[0], "job", time.time(), 7, 15.0, 300.0) as due:
        assert not due
    for w in workers:
        w.dispose()


def test_a_surge_seen_by_four_workers_raises_one_alert(store: Store) -> None:
    save_rule(store, surge_rule(), NOW)  # type: ignore[arg-type]
    background(store)
    store.upsert("events", events("surge-a", 20, NOW - timedelta(hours=2), 3.58, 32.06))
    revision = store.revisions()["_all"].revision
    workers = [twin(store) for _ in range(4)]
    monitors = [AlertMonitor(w, REGION) for w in workers]  # type: ignore[arg-type]
    results = together(4, lambda i: monitors[i].maybe_evaluate(NOW, revision))
    evaluated = [r for r in results if r is not None]
    assert len(evaluated) == 1 and len(evaluated[0].opened) == 1
    assert len(list_alerts(store, status="open")) == 1  # type: ignore[arg-type]
    for w in workers:
        w.dispose()


def test_failed_sign_ins_are_counted_once_across_workers(store: Store) -> None:
    a, b = StoreFailureLimiter(store, 300), StoreFailureLimiter(twin(store), 300)
    now = 1_000_000.0
    for i in range(3):
        a.fail("name:alice", now + i)
    for i in range(2):
        b.fail("name:alice", now + 3 + i)
    # 5 failures in all: both workers refuse at a limit of 5 (each alone saw fewer than 5).
    assert a.retry_after("name:alice", 5, now + 10) == pytest.approx(290)
    assert b.retry_after("name:alice", 5, now + 10) == pytest.approx(290)
    assert a.retry_after("name:alice", 6, now + 10) == 0
    assert a.retry_after("name:bob", 1, now + 10) == 0
    # The window slides: once the oldest failure is older than the window, the key is under the limit.
    assert b.retry_after("name:alice", 5, now + 300.5) == 0
    b.clear("name:alice")
    assert a.retry_after("name:alice", 1, now + 10) == 0


def test_a_blocked_key_is_noted_once_per_window_across_workers(store: Store) -> None:
    limiters = [StoreFailureLimiter(twin(store), 300) for _ in range(4)]
    now = 2_000_000.0
    assert sum(together(4, lambda i: limiters[i].first_block("ip:10.0.0.9|name:eve", now))) == 1
    assert not limiters[0].first_block("ip:10.0.0.9|name:eve", now + 299)
    assert limiters[1].first_block("ip:10.0.0.9|name:eve", now + 301)
