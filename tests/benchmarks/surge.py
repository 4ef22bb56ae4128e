"""Benchmark the hotspot statistics on the store: database time, statistics time, the whole layer, playback.

Run from the repo root::

    python -m tests.benchmarks.surge --events 1000000 [--scale-to 10000000] [--postgis-url URL] [--repeats 15]

Targets (1M events over 30 days, 7-day window, 4 baseline windows, the demo's country-scale
region): full statistics p50 <= 250 ms on PostGIS and <= 500 ms on SQLite at res 6 and 7; one
playback step <= 100 ms of server time. Then (PostGIS) the store grows to ``--scale-to`` events by
copying the seeded 30 days into earlier months, in SQL (same density: 10M events span ~10 months,
one partition each), and the statistics are measured again: p50 <= 250 ms and within 1.5x of the
figure at ``--events`` (the cost follows the window, not the table). Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from dashboard.settings import load_app_settings
from data import partitions
from data.demo_events import demo_events
from data.rollup import ceil_hour
from data.store import BBox, SqlStore
from geo.hotspots import HotspotSettings, hotspot_statistics
from layers.hotspots import hotspot_table, hotspots_features
from layers.services.playback import load_playback
from layers.view import View
from tests.benchmarks.refresh import emit, open_url, postgis_url, seed, settle, timings_ms

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = ("--events", "2000", "--repeats", "2", "--scale-to", "6000")
FIGURES: tuple[str, ...] = (
    "ingest_rate",
    "hotspot_statistics",
    "playback_step",
    "hotspot_statistics_scaled",
    "statistics_work_ratio",
)
NEEDS_POSTGIS = True  # hotspot_statistics_scaled measures PostGIS's monthly partitions

WEEK = timedelta(days=7)
TARGET_MS = {"postgis": 250, "sqlite": 500}


def statistics_figures(
    store: SqlStore, now: datetime, region: BBox, repeats: int, figure: str = "hotspot_statistics"
) -> dict[int, dict[str, Any]]:
    """Emit the database / statistics / whole-layer split at res 6 and 7; return each res's figure line."""
    settings = HotspotSettings()
    now = ceil_hour(now)  # the statistics' windows end on a whole hour (layers.hotspots does the same)
    found = {}
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
        found[res] = {
            "backend": store.backend,
            "res": res,
            "value": full_p50,
            "p95": full_p95,
            "db_p50": db_p50,
            "db_p95": db_p95,
            "stats_p50": st_p50,
            "stats_p95": st_p95,
            "features_p50": layer_p50,
            "cells": len(table),
            "count_rows": len(counts),
            "rollup_rows_read": rollup_rows(store, now, settings.windows, region),
        }
        if figure == "hotspot_statistics":
            extra = {k: v for k, v in found[res].items() if k != "value"}
            emit(figure, full_p50, "ms", f"p50 <= {target}", full_p50 <= target, **extra)
    return found


def rollup_rows(store: SqlStore, end: datetime, windows: int, region: BBox) -> int:
    """Return how many hourly rollup rows the statistics' windows read: the work, independent of the load."""
    end_h = int(end.timestamp()) // 3600
    params = dict(zip(("w", "s", "e", "n"), region, strict=True), h0=end_h - 168 * windows, h1=end_h)
    sql = "SELECT COUNT(*) FROM event_cell_hours WHERE hour >= :h0 AND hour < :h1 AND lng BETWEEN :w AND :e "
    with store.connect() as conn:
        return int(conn.execute(text(sql + "AND lat BETWEEN :s AND :n"), params).scalar_one())


def grow(store: SqlStore, now: datetime, seeded: int, total: int) -> float:
    """Copy the seeded 30 days into earlier 31-day blocks until the store holds ``total`` events; return seconds.

    Events and their hourly rollup rows are copied in SQL (INSERT ... SELECT, one transaction per
    block), the way a bulk load of history would leave them: ids get a ``~k`` suffix, times and
    hours move back ``k`` x 31 days, and the partitions of those months are created first.
    """
    blocks = total // seeded - 1
    t0 = time.perf_counter()
    with store.connect(write=True) as conn:
        cols = [c["name"] for c in inspect(conn).get_columns("events") if c["name"] not in ("id", "occurred_at")]
        first = ceil_hour(now) - timedelta(days=31 * blocks + 31)
        months = {partitions.month_of(first + timedelta(days=d)) for d in range(0, 31 * blocks + 32)}
        partitions.ensure_months(conn, months)
    for k in range(1, blocks + 1):
        shift = timedelta(days=31 * k)
        with store.connect(write=True) as conn:
            conn.execute(
                text(
                    f"INSERT INTO events (id, occurred_at, {', '.join(cols)}) "
                    f"SELECT id || '~{k}', occurred_at - CAST(:shift AS interval), {', '.join(cols)} "
                    "FROM events WHERE id NOT LIKE '%~%'"
                ),
                {"shift": shift},
            )
            conn.execute(
                text(
                    "INSERT INTO event_cell_hours (hour, h3_r4, h3_r5, h3_r6, h3_r7, fit, lat, lng, events, people) "
                    "SELECT hour - :dh, h3_r4, h3_r5, h3_r6, h3_r7, fit, lat, lng, events, people "
                    "FROM event_cell_hours WHERE hour > :base"
                ),
                {"dh": 744 * k, "base": int(now.timestamp()) // 3600 - 744},
            )
        print(f"{store.backend}: {seeded * (k + 1):,} events, {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return round(time.perf_counter() - t0, 1)


def scaled_figures(store: SqlStore, now: datetime, region: BBox, args: argparse.Namespace, base: dict) -> None:
    """Grow the PostGIS store to ``--scale-to`` events and emit the statistics at that size against ``base``."""
    if args.scale_to % args.events or args.scale_to < 2 * args.events:
        raise SystemExit("--scale-to must be a multiple (at least 2x) of --events")
    grow_s = grow(store, now, args.events, args.scale_to)
    t0 = time.perf_counter()
    settle(store)
    settle_s = round(time.perf_counter() - t0, 1)
    with store.connect() as conn:
        stored = int(conn.execute(text("SELECT COUNT(*) FROM events")).scalar_one())
        months = len(partitions.existing_months(conn))
    for res, line in statistics_figures(store, now, region, args.repeats, figure="scaled").items():
        p50, at_base = line.pop("value"), base[res]["value"]
        ratio = round(p50 / at_base, 2)
        met = p50 <= TARGET_MS["postgis"] and ratio <= 1.5
        extra = {**line, "events": stored, "partitions": months, "base_events": args.events}
        extra |= {"base_p50": at_base, "ratio": ratio, "grow_s": grow_s, "vacuum_s": settle_s}
        emit("hotspot_statistics_scaled", p50, "ms", "p50 <= 250 and <= 1.5x base", met, **extra)
        read, base_read = line["rollup_rows_read"], base[res]["rollup_rows_read"]
        rows = round(read / max(base_read, 1), 2)
        work = {"rows_read": read, "base_rows_read": base_read, "events": stored}
        emit("statistics_work_ratio", rows, "x", "<= 1.5", rows <= 1.5, backend="postgis", res=res, **work)


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
    parser.add_argument("--scale-to", type=int, default=10_000_000, help="PostGIS: grow to this many events, again")
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
            settle(store)
            base = statistics_figures(store, now, region, args.repeats)
            playback_figures(store, now, region, args.repeats)
            if store.backend == "postgis":
                scaled_figures(store, now, region, args, base)
            store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
