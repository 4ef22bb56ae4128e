"""Benchmark `hbm ingest` of a generated 1M-row events CSV into PostGIS and SQLite: rows/s and peak RSS.

Run from the repo root (it DROPS every table in the target PostGIS database first)::

    python -m tests.benchmarks.ingest [--rows 1000000] [--postgis-url URL] [--batch-rows 50000]

Each import runs as ``python -m dashboard ingest FILE --json`` in a child process (the same code
path as the CLI), so its peak RSS is that child's own ``ru_maxrss`` (``os.wait4``). The same file
is then imported again into PostGIS: an identical re-import must write nothing and leave the
revision where it was (wall screens rebuild when it moves). A second file of as many other events
then goes into that store, each id compared with the stored ones. A last figure writes 100k rows
straight through ``store.upsert_events``. Prints one JSON line per figure on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from data.demo_events import demo_events
from data.open import open_store
from data.settings import load_store_settings
from tests.helpers import reset_postgis

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = ("--rows", "3000", "--no-baseline")
FIGURES: tuple[str, ...] = (
    "ingest rate (hbm ingest, CSV -> PostGIS)",
    "ingest rate (hbm ingest, CSV -> PostGIS holding events)",
    "ingest rate (hbm ingest, CSV -> SQLite)",
    "peak RSS of the import process",
    "events stored = rows accepted",
    "identical re-import: revision moves",
)
NEEDS_POSTGIS = True  # drops every table in the target database

TARGET_ROWS_PER_S = 50_000
TARGET_SQLITE_ROWS_PER_S = 20_000
TARGET_RSS_MB = 500
KINDS = np.array(["crossing", "sighting", "distress", "rescue", "interception", "vulnerability_referral"])


def log(message: str) -> None:
    """Print progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def emit(
    figure: str, value: object, unit: str, target: str | None = None, met: bool | None = None, **extra: object
) -> None:
    """Print one figure as a JSON line on stdout."""
    print(
        json.dumps({"figure": figure, "value": value, "unit": unit, "target": target, "met": met, **extra}), flush=True
    )


def write_csv(path: Path, rows: int, seed: int = 7, block: int = 100_000, prefix: str = "bench") -> None:
    """Write ``rows`` synthetic events (schema layout, ISO times, region of the demo) in blocks."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-09-01T00:00:00")
    for first in range(0, rows, block):
        n = min(block, rows - first)
        times = start + rng.integers(0, 60 * 86_400, n).astype("timedelta64[s]")
        frame = pd.DataFrame(
            {
                "id": [f"{prefix}-{i:07d}" for i in range(first, first + n)],
                "occurred_at": pd.Series(times).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "kind": KINDS[rng.integers(0, len(KINDS), n)],
                "people": rng.integers(0, 40, n),
                "lat": np.round(rng.uniform(-1.8, 4.4, n), 6),
                "lon": np.round(rng.uniform(28.8, 33.2, n), 6),
                "location_precision_m": rng.choice([10.0, 100.0, 1000.0], n),
                "source": "SYNTHETIC benchmark",
                "notes": "SYNTHETIC benchmark row",
            }
        )
        frame.to_csv(path, mode="a", header=first == 0, index=False)


def run_ingest(path: Path, url: str, folder: Path, batch_rows: int | None) -> tuple[dict, float, float]:
    """Return (the --json summary, wall seconds, peak RSS in MB) of one `hbm ingest` child process."""
    env = {**os.environ, "HBM_DATABASE_URL": url}
    if batch_rows:
        env["HBM_INGEST_BATCH_ROWS"] = str(batch_rows)
    cmd = [sys.executable, "-m", "dashboard", "ingest", str(path), "--json", "--rejects", str(folder / "r.csv")]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"bench: hbm ingest exited {child.returncode}: {err.read().strip()}")
        return json.loads(out.read()), wall, usage.ru_maxrss / 1024


def revision(url: str) -> tuple[int, int]:
    """Return (global revision, events stored) of the store at ``url``."""
    store = open_store(load_store_settings(database_url=url))
    try:
        return store.revisions()["_all"].revision, store.counts()["events"]
    finally:
        store.dispose()


def rate_figure(backend: str, summary: dict, wall: float, target: int | None, **extra: object) -> None:
    """Print the rows/s figure of one import (``target`` None: a figure without a target)."""
    rate = summary["read"] / summary["seconds"]
    goal, met = (f">= {target:,}", rate >= target) if target else (None, None)
    emit(f"ingest rate (hbm ingest, CSV -> {backend})", round(rate), "rows/s", goal, met,
         backend=backend.split()[0].lower(), rows=summary["read"], seconds=summary["seconds"], wall_s=round(wall, 1),
         stages_s=summary["stage_seconds"], batches=summary["batches"], load=os.getloadavg()[0], **extra)  # fmt: skip


def store_baseline(url: str, rows: int = 100_000) -> float:
    """Return rows/s of one ``store.upsert_events`` call of ``rows`` new events (no ingest checks)."""
    reset_postgis(url)
    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    frame = demo_events(rows, datetime.now(UTC))
    started = time.perf_counter()
    store.upsert_events(frame)
    seconds = time.perf_counter() - started
    store.dispose()
    return rows / seconds


def main() -> None:
    """Generate the CSV, import it into PostGIS (twice) and SQLite with `hbm ingest`, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgis-url", default=os.environ.get("HBM_TEST_POSTGIS_URL", ""))
    parser.add_argument("--batch-rows", type=int, default=None, help="HBM_INGEST_BATCH_ROWS for the import")
    parser.add_argument("--no-baseline", action="store_true", help="skip the store-only figure")
    args = parser.parse_args()
    if not args.postgis_url:
        sys.exit("bench: give --postgis-url or set HBM_TEST_POSTGIS_URL (its tables are dropped)")
    with tempfile.TemporaryDirectory(prefix="hbm-bench-") as name:
        folder = Path(name)
        path = folder / "events.csv"
        log(f"writing {args.rows:,} rows to {path}")
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        log(f"CSV ready: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
        reset_postgis(args.postgis_url)
        log(f"hbm ingest -> PostGIS (load average {os.getloadavg()[0]:.1f}) …")
        pg, pg_wall, pg_rss = run_ingest(path, args.postgis_url, folder, args.batch_rows)
        rate_figure("PostGIS", pg, pg_wall, TARGET_ROWS_PER_S)
        rev, stored = revision(args.postgis_url)
        log("the same file again -> PostGIS …")
        again, again_wall, _ = run_ingest(path, args.postgis_url, folder, args.batch_rows)
        rev_after, stored_after = revision(args.postgis_url)
        # The same number of other events into the store that now holds the first file: every id is
        # compared with the stored ones (an initial load into an empty store compares none).
        more = folder / "more.csv"
        write_csv(more, args.rows, seed=8, prefix="more")
        log(f"{args.rows:,} other events -> PostGIS holding {stored:,} (load average {os.getloadavg()[0]:.1f}) …")
        held, held_wall, _ = run_ingest(more, args.postgis_url, folder, args.batch_rows)
        more.unlink()
        rate_figure("PostGIS holding events", held, held_wall, None, held=stored)  # the target is for the 1M file
        _rev, stored_both = revision(args.postgis_url)
        sqlite_url = f"sqlite:///{folder / 'bench.sqlite'}"
        log(f"hbm ingest -> SQLite (load average {os.getloadavg()[0]:.1f}) …")
        lite, lite_wall, lite_rss = run_ingest(path, sqlite_url, folder, args.batch_rows)
        rate_figure("SQLite", lite, lite_wall, TARGET_SQLITE_ROWS_PER_S)
        _rev, lite_stored = revision(sqlite_url)
    emit("peak RSS of the import process", round(max(pg_rss, lite_rss)), "MB", f"<= {TARGET_RSS_MB}",
         max(pg_rss, lite_rss) <= TARGET_RSS_MB, postgis_mb=round(pg_rss), sqlite_mb=round(lite_rss))  # fmt: skip
    emit("events stored = rows accepted", stored, "rows", None,
         stored == pg["accepted"] == lite_stored == args.rows and stored_both == 2 * args.rows,
         sqlite=lite_stored, postgis_after_second_file=stored_both)  # fmt: skip
    emit("identical re-import: revision moves", rev_after - rev, "revisions", "0",
         rev_after == rev and stored_after == stored and again["unchanged"] == args.rows,
         unchanged=again["unchanged"], seconds=again["seconds"], wall_s=round(again_wall, 1))  # fmt: skip
    if not args.no_baseline:
        log("store-only baseline: one upsert_events of 100,000 new events …")
        base = store_baseline(args.postgis_url)
        emit("store.upsert_events alone (100k new events)", round(base), "rows/s", None, None)


if __name__ == "__main__":
    main()
