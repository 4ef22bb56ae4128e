"""Benchmark briefing exports of a country-scale View: A4 PDF, GeoPackage, offline HTML (time and size).

Run from the repo root::

    python -m tests.benchmarks.exports --events 1000000 [--postgis-url URL | --sqlite-path PATH] [--repeats 3]

Seeds the demo store (the refresh benchmark's helpers) unless ``--reuse`` finds it already seeded, then
prints one JSON line per figure on stdout (progress on stderr). The View is the demo region (the DRC–
Uganda–South Sudan borders, ~490 × 690 km) over the last 7 days, every layer, at the zoom that fits it.
Each figure is the median of ``--repeats`` runs after one warm-up run (imports, basemap cache).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.layout import initial_zoom
from dashboard.settings import load_app_settings
from data.demo_events import demo_events
from data.store import SqlStore
from layers.services.exports import ExportResult, run_export
from layers.services.exports.collect import Page, collect
from layers.services.exports.settings import load_export_settings
from layers.view import View
from tests.benchmarks.refresh import emit, open_url, postgis_url, seed, settle
from tests.helpers import reset_postgis

# Benchmark convention (tests/test_benchmarks.py, tests/benchmarks/report.py): the arguments of a
# small-scale CI run, and the figures every run must print.
SMALL_ARGS: tuple[str, ...] = ("--events", "2000", "--repeats", "1")
FIGURES: tuple[str, ...] = (
    "export_collect",
    "export_pdf",
    "export_gpkg",
    "export_html",
    "export_html_size",
)

TARGETS = {"pdf": 3.0, "gpkg": 2.0, "html": 3.0}
HTML_MAX_MB = 10.0


def country_view(now: datetime) -> View:
    """Return the country-scale View: the demo region, last 7 days, every layer, zoom fitting the region."""
    region = load_app_settings(synthetic=True).region
    return View(
        start=now - timedelta(days=7), end=now, zoom=float(initial_zoom(region)), bbox=region, window_label="7d"
    )


def prepare(url: str, events: int, reuse: bool) -> SqlStore:
    """Return the store at ``url`` holding ``events`` demo events, seeding it unless ``reuse`` finds them."""
    store = open_url(url)
    if reuse:
        try:
            if store.counts()["events"] >= events:
                print(f"{store.backend}: reusing {store.counts()['events']:,} events", file=sys.stderr)
                return store
        except Exception:  # noqa: BLE001 - no schema yet: seed it
            pass
    if store.backend == "postgis":
        reset_postgis(url)  # every table, rollups and audit included
    store.init_schema()
    now, t0 = datetime.now(UTC), time.perf_counter()
    frame = demo_events(events, now)
    seed(store, frame, now, 100_000, time.perf_counter() - t0)
    settle(store)
    return store


def measure(store: SqlStore, view: View, repeats: int, folder: Path) -> None:
    """Emit the median time of each export (and the HTML size) for ``view``."""
    settings = load_export_settings()
    t0 = time.perf_counter()
    data = collect(store, view, settings, who="benchmark", title="HBM Operations Map", synthetic=True)
    collect_s = round(time.perf_counter() - t0, 3)
    counts = data.counts()
    emit("export_collect", collect_s, "s", None, None, backend=store.backend, features=counts)
    for fmt, target in TARGETS.items():
        out = folder / f"bench.{fmt}"

        def run(fmt: str = fmt, out: Path = out) -> ExportResult:
            return run_export(
                store,
                view,
                fmt,
                out,
                who="benchmark",
                settings=settings,
                title="HBM Operations Map",
                synthetic=True,
                page=Page("A4", "landscape", 150),
            )

        run()  # warm-up
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = run()
            samples.append(time.perf_counter() - t0)
        p50 = round(statistics.median(samples), 3)
        extra = {"backend": store.backend, "min_s": round(min(samples), 3), "bytes": result.bytes}
        emit(f"export_{fmt}", p50, "s", f"<= {target:g}", p50 <= target, **extra)
        if fmt == "html":
            mb = round(result.bytes / 1e6, 2)
            emit("export_html_size", mb, "MB", f"<= {HTML_MAX_MB:g}", mb <= HTML_MAX_MB, backend=store.backend)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, prepare the store and emit the export figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgis-url", help="default: $HBM_BENCH_POSTGIS_URL, else $HBM_TEST_POSTGIS_URL")
    parser.add_argument(
        "--sqlite-path", type=Path, help="a SQLite file (default: PostGIS if reachable, else a temp file)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a store that already holds --events events")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hbm-bench-exports-") as tmp:
        folder = Path(tmp)
        url = None if args.sqlite_path else postgis_url(args)
        if url is None:
            url = f"sqlite:///{(args.sqlite_path or folder / 'bench.sqlite').resolve()}"
        store = prepare(url, args.events, args.reuse)
        measure(store, country_view(datetime.now(UTC)), args.repeats, folder)
        store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
