"""Soak: one feed writing 200 events/s while 20 simulated clients poll the map every 5 s.

Run from the repo root (it DROPS every table in the target database first)::

    python -m tests.benchmarks.soak [--minutes 5] [--clients 20] [--rate 200] [--postgis-url URL]

The feed writes through the same ingest function as ``hbm ingest`` and the events API
(``data.ingest.ingest_records``: validate, then upsert). Each client calls
``dashboard.callbacks.refresh_map`` exactly as the Dash callback does, with its own viewport and
its own client state, so every poll after a write rebuilds the event layers. Prints errors, lost
events and refresh times (p50/p95/max) as JSON lines. tests/test_ingest_soak.py runs a short version.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from dashboard.callbacks import refresh_map
from dashboard.settings import AppSettings, load_app_settings
from data.demo import demo_features
from data.demo_events import demo_events, live_events
from data.ingest import ingest_records
from data.ingest.settings import load_ingest_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from tests.helpers import reset_postgis

TARGET_P95_MS = 300.0

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = (
    "--minutes",
    "0.15",
    "--clients",
    "3",
    "--rate",
    "50",
    "--poll",
    "1",
    "--seed-events",
    "1000",
)
FIGURES: tuple[str, ...] = (
    "errors (feed + clients)",
    "lost events",
    "feed rate achieved",
    "refreshes measured",
    "refresh p50",
    "refresh p95",
    "refresh max",
)
NEEDS_POSTGIS = True  # drops every table in the target database

WINDOWS = ("6h", "24h", "7d")


@dataclass
class SoakResult:
    """What a soak run measured."""

    seconds: float = 0.0
    written: int = 0
    rejected: int = 0
    feed_batches: int = 0
    feed_errors: list[str] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)
    refresh_ms: list[float] = field(default_factory=list)
    stored_before: int = 0
    stored_after: int = 0

    @property
    def lost(self) -> int:
        """Return events the feed wrote that the store does not hold."""
        return self.stored_before + self.written - self.stored_after

    def percentile(self, q: float) -> float:
        """Return the q-th percentile (0-100) of refresh times in ms."""
        return float(np.percentile(self.refresh_ms, q)) if self.refresh_ms else float("nan")


def viewport(i: int) -> tuple[list[list[float]], float]:
    """Return distinct Leaflet bounds ``[[s, w], [n, e]]`` and a zoom for client ``i`` around the demo region."""
    zoom = 7 + i % 5
    half = 2.0 / 2 ** (zoom - 7)
    lat, lng = 1.3 + (i % 4) * 0.7, 29.6 + (i % 5) * 0.7
    return [[lat - half, lng - half], [lat + half, lng + half]], float(zoom)


def _feed(store: Store, rate: float, stop: threading.Event, result: SoakResult) -> None:
    rng = np.random.default_rng(11)
    settings = load_ingest_settings()
    interval = 0.5
    per_batch = max(1, round(rate * interval))
    next_at = time.monotonic()
    while not stop.is_set():
        batch = live_events(datetime.now(UTC), rng, per_batch)
        batch["id"] = [f"soak-{result.feed_batches}-{k}" for k in range(per_batch)]
        try:
            summary = ingest_records(store, batch, "events", settings=settings, name="soak feed")
            result.written += summary.written
            result.rejected += summary.rejected
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            result.feed_errors.append(f"{type(exc).__name__}: {exc}")
        result.feed_batches += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


def _client(
    i: int, store: Store, settings: AppSettings, poll_s: float, stop: threading.Event, result: SoakResult
) -> None:
    bounds, zoom = viewport(i)
    window = WINDOWS[i % len(WINDOWS)]
    client: dict[str, Any] | None = None
    stop.wait(poll_s * i / 20)  # stagger the clients like real browsers
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            out = refresh_map(store, settings, window, None, None, "events", "auto", zoom, bounds, client)
            elapsed = (time.perf_counter() - t0) * 1000
            banner, view_error = out[5], out[8]
            if isinstance(banner, str) and banner:
                result.client_errors.append(f"client {i}: banner {banner[:120]}")
            elif isinstance(view_error, str) and view_error:
                result.client_errors.append(f"client {i}: view error {view_error[:120]}")
            else:
                result.refresh_ms.append(elapsed)
            client = out[7] if isinstance(out[7], dict) else client
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            result.client_errors.append(f"client {i}: {type(exc).__name__}: {exc}")
        stop.wait(poll_s)


def run_soak(store: Store, seconds: float, clients: int = 20, rate: float = 200.0, poll_s: float = 5.0) -> SoakResult:
    """Run the feed and the polling clients against ``store`` for ``seconds``; return what happened."""
    settings = load_app_settings(refresh_seconds=max(1.0, poll_s))
    result = SoakResult(stored_before=store.counts()["events"])
    stop = threading.Event()
    threads = [threading.Thread(target=_feed, args=(store, rate, stop, result), name="soak-feed")]
    threads += [
        threading.Thread(target=_client, args=(i, store, settings, poll_s, stop, result), name=f"soak-client-{i}")
        for i in range(clients)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    result.stored_after = store.counts()["events"]
    return result


def client_group(url: str, indices: list[int], start_at: float, seconds: float, poll_s: float) -> SoakResult:
    """Run some clients in this (worker) process from wall-clock ``start_at`` for ``seconds``: one gunicorn worker."""
    store = open_store(load_store_settings(database_url=url))
    settings = load_app_settings(refresh_seconds=max(1.0, poll_s))
    result = SoakResult()
    stop = threading.Event()
    time.sleep(max(0.0, start_at - time.time()))
    threads = [
        threading.Thread(target=_client, args=(i, store, settings, poll_s, stop, result), name=f"soak-client-{i}")
        for i in indices
    ]
    for t in threads:
        t.start()
    stop.wait(seconds)
    stop.set()
    for t in threads:
        t.join()
    store.dispose()
    return result


def run_soak_workers(
    store: Store, url: str, seconds: float, clients: int, rate: float, poll_s: float, workers: int
) -> SoakResult:
    """Like :func:`run_soak`, but the clients are spread over ``workers`` processes (as gunicorn would)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    result = SoakResult(stored_before=store.counts()["events"])
    stop = threading.Event()
    groups = [list(range(clients))[w::workers] for w in range(workers)]
    start_at = time.time() + 8.0  # time for the worker processes to import the app
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(client_group, url, g, start_at, seconds, poll_s) for g in groups]
        time.sleep(max(0.0, start_at - time.time()))
        feed = threading.Thread(target=_feed, args=(store, rate, stop, result), name="soak-feed")
        started = time.monotonic()
        feed.start()
        stop.wait(seconds)
        stop.set()
        feed.join()
        for f in futures:
            part = f.result()
            result.refresh_ms += part.refresh_ms
            result.client_errors += part.client_errors
    result.seconds = time.monotonic() - started
    result.stored_after = store.counts()["events"]
    return result


def seed(store: Store, events: int) -> None:
    """Fill a fresh store with the demo features and ``events`` demo events (SYNTHETIC)."""
    store.init_schema()
    now = datetime.now(UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    if events:
        store.upsert_events(demo_events(events, now))


def emit(figure: str, value: object, unit: str, target: str | None = None, met: bool | None = None) -> None:
    """Print one figure as a JSON line on stdout."""
    print(json.dumps({"figure": figure, "value": value, "unit": unit, "target": target, "met": met}), flush=True)


def main() -> None:
    """Seed, soak, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second written by the feed")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between a client's polls")
    parser.add_argument("--seed-events", type=int, default=50_000)
    parser.add_argument(
        "--workers", type=int, default=1, help="client processes (1: all clients are threads of one process)"
    )
    parser.add_argument("--postgis-url", default=os.environ.get("HBM_TEST_POSTGIS_URL", ""))
    args = parser.parse_args()
    if not args.postgis_url:
        sys.exit("soak: give --postgis-url or set HBM_TEST_POSTGIS_URL (its tables are dropped)")
    reset_postgis(args.postgis_url)
    store = open_store(load_store_settings(database_url=args.postgis_url))
    print(f"soak: seeding {args.seed_events:,} SYNTHETIC events …", file=sys.stderr, flush=True)
    seed(store, args.seed_events)
    print(f"soak: {args.minutes:g} min, {args.clients} clients every {args.poll:g} s in {args.workers} process(es), "
          f"feed {args.rate:g}/s", file=sys.stderr, flush=True)  # fmt: skip
    if args.workers > 1:
        result = run_soak_workers(
            store, args.postgis_url, args.minutes * 60, args.clients, args.rate, args.poll, args.workers
        )
    else:
        result = run_soak(store, args.minutes * 60, args.clients, args.rate, args.poll)
    store.dispose()
    errors = len(result.feed_errors) + len(result.client_errors)
    emit("errors (feed + clients)", errors, "count", "0", errors == 0)
    emit("lost events", result.lost, "events", "0", result.lost == 0)
    emit("feed rate achieved", round(result.written / result.seconds, 1), "events/s", f">= {args.rate:g}", None)
    emit("refreshes measured", len(result.refresh_ms), "polls")
    emit("refresh p50", round(result.percentile(50), 1), "ms")
    p95 = result.percentile(95)
    emit("refresh p95", round(p95, 1), "ms", f"<= {TARGET_P95_MS:g}", p95 <= TARGET_P95_MS)
    emit("refresh max", round(max(result.refresh_ms, default=float("nan")), 1), "ms")
    if result.refresh_ms:
        emit("refresh mean", round(statistics.fmean(result.refresh_ms), 1), "ms")
    for line in (result.feed_errors + result.client_errors)[:10]:
        print(f"soak: {line}", file=sys.stderr)


if __name__ == "__main__":
    main()
