"""Benchmark `hbm ingest` on a generated 1M-row events CSV into PostGIS: rows/s and peak RSS.

Run from the repo root (it DROPS every table in the target database first)::

    python -m tests.benchmarks.ingest [--rows 1000000] [--postgis-url URL] [--batch-rows 50000]

The import runs as ``python -m dashboard ingest FILE --json`` in a child process (the same code path
as the CLI), so its peak RSS is the child's ``ru_maxrss``. A second figure writes 100k rows straight
through ``store.upsert_events`` to show what the store itself sustains. Prints one JSON line per
figure on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    "peak RSS of the import process",
    "events stored = rows accepted",
)
NEEDS_POSTGIS = True  # drops every table in the target database

TARGET_ROWS_PER_S = 50_000
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


def write_csv(path: Path, rows: int, seed: int = 7, block: int = 100_000) -> None:
    """Write ``rows`` synthetic events (schema layout, ISO times, region of the demo) in blocks."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-09-01T00:00:00")
    for first in range(0, rows, block):
        n = min(block, rows - first)
        times = start + rng.integers(0, 60 * 86_400, n).astype("timedelta64[s]")
        frame = pd.DataFrame(
            {
                "id": [f"bench-{i:07d}" for i in range(first, first + n)],
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
    """Generate the CSV, import it with `hbm ingest`, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgis-url", default=os.environ.get("HBM_TEST_POSTGIS_URL", ""))
    parser.add_argument("--batch-rows", type=int, default=None, help="HBM_INGEST_BATCH_ROWS for the import")
    parser.add_argument("--no-baseline", action="store_true", help="skip the store-only figure")
    args = parser.parse_args()
    if not args.postgis_url:
        sys.exit("bench: give --postgis-url or set HBM_TEST_POSTGIS_URL (its tables are dropped)")
    with tempfile.TemporaryDirectory(prefix="hbm-bench-") as folder:
        path = Path(folder) / "events.csv"
        log(f"writing {args.rows:,} rows to {path}")
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        log(f"CSV ready: {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
        reset_postgis(args.postgis_url)
        env = {**os.environ, "HBM_DATABASE_URL": args.postgis_url}
        if args.batch_rows:
            env["HBM_INGEST_BATCH_ROWS"] = str(args.batch_rows)
        log("hbm ingest …")
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "dashboard",
                "ingest",
                str(path),
                "--json",
                "--rejects",
                str(Path(folder) / "r.csv"),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"bench: hbm ingest exited {done.returncode}: {done.stderr.strip()}")
        summary = json.loads(done.stdout)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    store = open_store(load_store_settings(database_url=args.postgis_url))
    stored = store.counts()["events"]
    store.dispose()
    rate = summary["read"] / summary["seconds"]
    emit("ingest rate (hbm ingest, CSV -> PostGIS)", round(rate), "rows/s", f">= {TARGET_ROWS_PER_S:,}",
         rate >= TARGET_ROWS_PER_S, rows=summary["read"], seconds=summary["seconds"], wall_s=round(wall, 1),
         stages_s=summary["stage_seconds"], batches=summary["batches"])  # fmt: skip
    emit("peak RSS of the import process", round(peak_mb), "MB", f"<= {TARGET_RSS_MB}", peak_mb <= TARGET_RSS_MB)
    emit("events stored = rows accepted", stored, "rows", None, stored == summary["accepted"] == args.rows)
    if not args.no_baseline:
        log("store-only baseline: one upsert_events of 100,000 new events …")
        base = store_baseline(args.postgis_url)
        emit("store.upsert_events alone (100k new events)", round(base), "rows/s", None, None)


if __name__ == "__main__":
    main()
