"""Benchmark the hotspot statistics on the store: database time, statistics time, the whole layer, playback.

Run from the repo root::

    python -m tests.benchmarks.surge --events 1000000 [--postgis-url URL] [--repeats 15]

Targets (1M events over 30 days, 7-day window, 4 baseline windows, the demo's country-scale
region): full statistics p50 <= 250 ms on PostGIS and <= 500 ms on SQLite at res 6 and 7; one
playback step <= 100 ms of server time. Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.settings import load_app_settings
from data.demo_events import demo_events
from data.rollup import ceil_hour
from data.store import BBox, SqlStore
from geo.hotspots import HotspotSettings, hotspot_statistics
from layers.hotspots import hotspot_table, hotspots_features
from layers.services.playback import load_playback
from layers.view import View
from tests.benchmarks.refresh import emit, open_url, postgis_url, seed, timings_ms

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = ("--events", "2000", "--repeats", "2")
FIGURES: tuple[str, ...] = (
    "ingest_rate",
    "hotspot_statistics",
    "playback_step",
)

WEEK = timedelta(days=7)
TARGET_MS = {"postgis": 250, "sqlite": 500}


def statistics_figures(store: SqlStore, now: datetime, region: BBox, repeats: int) -> None:
    """Emit the database / statistics / whole-layer split at res 6 and 7."""
    settings = HotspotSettings()
    now = ceil_hour(now)  # the statistics' windows end on a whole hour (layers.hotspots does the same)
    for res in (6, 7):
        view = View(start=now - WEEK, end=now, resolution=res, bbox=region)
        counts = store.window_cell_counts(res, now, WEEK, settings.windows, region)
        db_p50, db_p95 = timings_ms(
            lambda: store.window_cell_counts(res, now, WEEK, settings.windows, region),  # noqa: B023
            repeats,
        )
        st_p50, st_p95 = timings_ms(lambda: hotspot_statistics(counts, "events", settings), repeats)  # noqa: B023
        full_p50, full_p95 = timings_ms(lambda: hotspot_table(store, view, settings), repeats)  # noqa: B023
        table = hotspot_table(store, view, settings)
        layer_p50, _ = timings_ms(lambda: hotspots_features(table, view, settings, 5), repeats)  # noqa: B023
        target = TARGET_MS[store.backend]
        emit(
            "hotspot_statistics",
            full_p50,
            "ms",
            f"p50 <= {target}",
            full_p50 <= target,
            backend=store.backend,
            res=res,
            p95=full_p95,
            db_p50=db_p50,
            db_p95=db_p95,
            stats_p50=st_p50,
            stats_p95=st_p95,
            features_p50=layer_p50,
            cells=len(table),
            count_rows=len(counts),
        )


def playback_figures(store: SqlStore, now: datetime, region: BBox, repeats: int) -> None:
    """Emit the one-off load of 30 daily frames and the server time of one step."""
    view = View(start=now - timedelta(days=1), end=now, resolution=6, bbox=region)
    t0 = time.perf_counter()
    playback = load_playback(store, view, timedelta(days=1), 30)
    load_ms = round((time.perf_counter() - t0) * 1000, 1)
    frames = iter(range(10**9))
    p50, p95 = timings_ms(lambda: playback.frame_layer(next(frames) % 30, "windowed"), repeats)
    emit("playback_step", p50, "ms", "<= 100", p50 <= 100, backend=store.backend, p95=p95, load_ms=load_ms, res=6)


def main(argv: list[str] | None = None) -> int:
    """Seed each backend (or reuse one with --reuse) and emit the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgis-url", help="default: $HBM_BENCH_POSTGIS_URL, else $HBM_TEST_POSTGIS_URL")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--skip-sqlite", action="store_true", help="measure PostGIS only")
    args = parser.parse_args(argv)
    region = load_app_settings(synthetic=True).region
    with tempfile.TemporaryDirectory(prefix="hbm-surge-") as tmp:
        urls = [] if args.skip_sqlite else [f"sqlite:///{Path(tmp) / 'surge.sqlite'}"]
        urls += list(filter(None, [postgis_url(args)]))
        now, t0 = datetime.now(UTC), time.perf_counter()
        frame = demo_events(args.events, now)
        gen_s = time.perf_counter() - t0
        for url in urls:
            store = open_url(url, reset=True)
            seed(store, frame, now, args.chunk, gen_s)
            if store.backend == "postgis":
                with store.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
            statistics_figures(store, now, region, args.repeats)
            playback_figures(store, now, region, args.repeats)
            store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
