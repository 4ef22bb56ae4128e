"""Benchmark the pure hotspot statistics (change, Gi* per window, Mann-Kendall, emerging) and areas.

Run from the repo root::

    python -m tests.benchmarks.hotspots [--cells 20000] [--windows 5] [--repeats 10]

Prints one JSON line per figure. "cold" clears the neighbour-matrix cache first (a new set of cells);
"warm" is a refresh of the same cells, where the H3 k-disks come from the cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd
from h3.api import basic_int

from geo import getis_ord
from geo.hotspots import HotspotSettings, hotspot_areas, hotspot_statistics
from geo.suppression import suppress_small_counts

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = ("--cells", "500", "--windows", "3", "--repeats", "2")
FIGURES: tuple[str, ...] = (
    "hotspot_statistics_cold_ms",
    "hotspot_statistics_warm_ms",
    "neighbour_matrix_cold_ms",
    "hotspot_areas_ms",
    "suppress_small_counts_ms",
    "hotspot_areas_count",
)


def synthetic_counts(n_cells: int, windows: int, seed: int = 0) -> pd.DataFrame:
    """Return a long counts frame over ``n_cells`` contiguous res-9 cells, 80% of pairs non-zero, with surges."""
    rng = np.random.default_rng(seed)
    cells: list[int] = []
    lat = 3.5
    while len(cells) < n_cells:
        cells.extend(sorted(basic_int.cell_to_children(basic_int.latlng_to_cell(lat, 32.0, 4), 9)))
        lat += 2.0
    cell_arr = np.array(cells[:n_cells], dtype=np.int64)
    frames = []
    for w in range(windows):
        keep = rng.random(n_cells) < 0.8
        events = rng.poisson(3, int(keep.sum()))
        if w == 0:
            events[rng.random(events.size) < 0.01] += 40
        frames.append(pd.DataFrame({"cell": cell_arr[keep], "window": w, "events": events, "people": events * 4}))
    return pd.concat(frames, ignore_index=True)


def _time(func, repeats: int, before=None) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        if before:
            before()
        start = time.perf_counter()
        func()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    """Print the timing figures as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    settings = HotspotSettings(baseline_windows=args.windows - 1)
    counts = synthetic_counts(args.cells, args.windows)
    stats = hotspot_statistics(counts, settings=settings)
    figures = {
        "hotspot_statistics_cold_ms": _time(
            lambda: hotspot_statistics(counts, settings=settings), args.repeats, getis_ord._RING_CACHE.clear
        ),
        "hotspot_statistics_warm_ms": _time(lambda: hotspot_statistics(counts, settings=settings), args.repeats),
        "neighbour_matrix_cold_ms": _time(
            lambda: getis_ord.neighbour_matrix(stats["cell"].to_numpy(), 1), args.repeats, getis_ord._RING_CACHE.clear
        ),
        "hotspot_areas_ms": _time(lambda: hotspot_areas(stats, settings), max(1, args.repeats // 3)),
        "suppress_small_counts_ms": _time(lambda: suppress_small_counts(stats, 10), args.repeats),
    }
    base = {"cells": int(stats.shape[0]), "windows": args.windows, "rows": int(counts.shape[0])}
    for name, values in figures.items():
        print(
            json.dumps(
                {**base, "figure": name, "median": round(statistics.median(values), 1), "min": round(min(values), 1)}
            )
        )
    areas = hotspot_areas(stats, settings)
    print(json.dumps({**base, "figure": "hotspot_areas_count", "value": len(areas)}))


if __name__ == "__main__":
    main()
