"""Which indexes on events do the app's queries use? EXPLAIN ANALYZE evidence for docs/performance-ingest.md.

Run from the repo root (it DROPS every table in the target database first)::

    python -m tests.benchmarks._explain_events [--events 1000000] [--postgis-url URL]

Loads synthetic events, then runs the real store queries (hotspot windows from the rollup and from
raw events, statistics, map points, the cell popup, purge) with every index the schema used to
create on events, and again with only the indexes it keeps. SQLAlchemy's ``before_cursor_execute``
captures each query exactly as the store sends it; each is then run as ``EXPLAIN (ANALYZE,
BUFFERS)`` inside a transaction that is rolled back. Prints a markdown table per round. Not a
benchmark of its own (the leading underscore keeps it out of CI's small-scale run).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from data.demo import demo_events
from data.open import open_store
from data.schema import RETIRED_EVENT_INDEXES
from data.settings import load_store_settings
from tests.helpers import reset_postgis

# The indexes events had before issue 15 (PostGIS), so the planner can pick any of them.
LEGACY = {
    "ix_events_revision": "(revision)",
    "ix_events_crossing_point_id": "(crossing_point_id)",
    "ix_events_route_id": "(route_id)",
    **{f"ix_events_h3_r{r}": f"(h3_r{r})" for r in range(4, 10)},
    "idx_events_geom": "USING gist (geom)",
}
USED = re.compile(r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")
TIME = re.compile(r"Execution Time: ([\d.]+) ms")


def queries(store: Any, now: datetime) -> list[tuple[str, Callable[[], Any]]]:
    """Return (name, call) for every store query the app runs on events."""
    end = now.replace(minute=0, second=0, microsecond=0)
    bbox = (30.0, 0.0, 32.0, 3.0)
    with store.engine.connect() as conn:  # the busiest res-8 cell of the last week: a popup with content
        cell = int(
            conn.exec_driver_sql(
                "SELECT h3_r8 FROM events WHERE occurred_at >= %(t)s GROUP BY h3_r8 ORDER BY COUNT(*) DESC LIMIT 1",
                {"t": now - timedelta(days=7)},
            ).scalar_one()
        )
    s, day, week = store, timedelta(days=1), timedelta(days=7)
    return [
        ("hotspot windows, whole hours (rollup), res 6", lambda: s.window_cell_counts(6, end, day, 8, bbox)),
        ("hotspot windows, raw events, res 8", lambda: s.window_cell_counts(8, now, day, 7, bbox)),
        ("statistics: cell counts, 24 h, res 7", lambda: s.cell_counts(7, now - day, now, bbox)),
        ("statistics: totals, 7 days", lambda: s.event_totals(now - week, now)),
        ("statistics: flows by crossing, 7 days", lambda: s.flows_by("crossing_point_id", now - week, now)),
        ("map: event points (distress), 24 h", lambda: s.event_points(now - day, now, bbox, ["distress"])),
        ("map: cell popup (kinds in one res-8 cell), 7 days", lambda: s.cell_event_kinds(cell, now - week, now)),
        ("map: first event time in view", lambda: s.first_event_time(bbox)),
        ("api: changes_since (no app caller)", lambda: s.changes_since("events", 10**9)),
    ]


def purge_sql(now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    """Return the purge's row statements (data/retention.py) with a cutoff 20 days back."""
    cut = now - timedelta(days=20)
    return [
        ("purge: count before cutoff", "SELECT COUNT(*) FROM events WHERE occurred_at < %(c)s", {"c": cut}),
        (
            "purge: delete one batch",
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < %(c)s LIMIT %(n)s)",
            {"c": cut, "n": 5000},
        ),
    ]


def explain(store: Any, sql: str, params: Any) -> tuple[list[str], float, str]:
    """Return (indexes used, execution ms, plan text) of one statement, rolled back."""
    with store.engine.connect() as conn:
        trans = conn.begin()
        rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params).all()
        trans.rollback()
    plan = "\n".join(r[0] for r in rows)
    used = sorted(set(USED.findall(plan)))
    found = TIME.search(plan)
    return used, float(found[1]) if found else float("nan"), plan


def round_of(store: Any, now: datetime, label: str, verbose: bool) -> None:
    """Capture every query, EXPLAIN it, and print one markdown table."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM events" in statement or "FROM event_cell_hours" in statement:
            captured.append((statement, parameters))

    print(f"\n#### {label}\n\n| query | indexes used | ms |\n|---|---|---|")
    for name, call in queries(store, now):
        captured.clear()
        event.listen(store.engine, "before_cursor_execute", grab)
        try:
            call()
        finally:
            event.remove(store.engine, "before_cursor_execute", grab)
        for sql, params in captured:
            used, ms, plan = explain(store, sql, params)
            print(f"| {name} | {', '.join(used) or 'none (seq scan)'} | {ms:,.1f} |")
            if verbose:
                print(plan, file=sys.stderr)
    for name, sql, params in purge_sql(now):
        used, ms, plan = explain(store, sql, params)
        print(f"| {name} | {', '.join(used) or 'none (seq scan)'} | {ms:,.1f} |")
        if verbose:
            print(plan, file=sys.stderr)


def main() -> None:
    """Load events, then EXPLAIN the app's queries with the legacy indexes and with the kept ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgis-url", default=os.environ.get("HBM_TEST_POSTGIS_URL", ""))
    parser.add_argument("--verbose", action="store_true", help="print every plan on stderr")
    args = parser.parse_args()
    if not args.postgis_url:
        sys.exit("give --postgis-url or set HBM_TEST_POSTGIS_URL (its tables are dropped)")
    reset_postgis(args.postgis_url)
    store = open_store(load_store_settings(database_url=args.postgis_url))
    store.init_schema()
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    frame = demo_events(args.events, now)
    for start in range(0, len(frame), 100_000):
        store.upsert_events(frame.iloc[start : start + 100_000])
    print(f"loaded {args.events:,} events in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    with store.engine.begin() as conn:
        for name, spec in LEGACY.items():
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON events {spec}")
        conn.exec_driver_sql("ANALYZE events")
        conn.exec_driver_sql("ANALYZE event_cell_hours")
    round_of(store, now, "with every index events had before (legacy)", args.verbose)
    with store.engine.begin() as conn:
        for name in RETIRED_EVENT_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        conn.exec_driver_sql("ANALYZE events")
        indexes = conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'events'").scalars().all()
    round_of(store, now, f"with the kept indexes only ({', '.join(sorted(indexes))})", args.verbose)
    store.dispose()


if __name__ == "__main__":
    main()
