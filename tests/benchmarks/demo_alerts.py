"""How many critical alerts does the demo's live feed raise in 20 minutes? (issue 12, item 7)

Seeds the demo store, evaluates the alert rules, then appends 20 minutes of live-feed batches
(stamped as the feed would stamp them) and evaluates again, once per feed rate. Prints the open
critical alerts before and after, per rule. Usage: python -m tests.benchmarks.demo_alerts [events]
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from data.alerts import list_alerts
from data.demo import demo_features
from data.demo_events import demo_events, live_events, live_rate_per_s
from data.open import open_store
from data.settings import load_store_settings
from layers.services.alerts import ensure_default_rules, evaluate_rules

REGION = (28.8, -1.8, 33.2, 4.4)
# The convention of tests/benchmarks/report.py: CI runs every benchmark at small scale.
SMALL_ARGS: tuple[str, ...] = ("5000",)
FIGURES: tuple[str, ...] = ("critical_before", "critical_after_old_rate", "critical_after_seeded_rate")


def run(events: int, per_batch: float, interval_s: float = 3.0, minutes: int = 20) -> tuple[Counter, Counter]:
    """Return (critical alerts open per rule at the start, after ``minutes`` of feed at ``per_batch``)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(load_store_settings(database_url=f"sqlite:///{Path(tmp) / 'demo.sqlite'}"))
        store.init_schema()
        now = datetime.now(UTC).replace(microsecond=0)
        for table, rows in demo_features(now).items():
            store.upsert(table, rows)
        store.upsert_events(demo_events(events, now))
        ensure_default_rules(store, now)
        evaluate_rules(store, now, REGION)
        before = Counter(a.rule_id for a in list_alerts(store, status="open") if a.severity == "critical")
        rng = np.random.default_rng(1)
        t = now
        for _ in range(int(minutes * 60 / interval_s)):
            t += timedelta(seconds=interval_s)
            count = int(rng.poisson(per_batch))
            if count:
                store.upsert_events(live_events(t, rng, count))
        evaluate_rules(store, t, REGION)
        after = Counter(a.rule_id for a in list_alerts(store, status="open") if a.severity == "critical")
        store.dispose()
    return before, after


def main(argv: list[str] | None = None) -> None:
    """Print critical alerts before/after 20 minutes, at the old fixed rate and at the seeded data's rate."""
    args = sys.argv[1:] if argv is None else argv
    events = int(args[0]) if args else 50_000
    rates = (("old_rate", "old: 5 per 3 s", 5.0), ("seeded_rate", "seeded rate", live_rate_per_s(events) * 3.0))
    for key, name, per_batch in rates:
        before, after = run(events, per_batch)
        if key == "old_rate":
            print(json.dumps({"figure": "critical_before", "value": sum(before.values())}))
        print(json.dumps({"figure": f"critical_after_{key}", "value": sum(after.values()), "unit": "alerts"}))
        print(
            f"{name:>16} ({per_batch:.3f} events/batch): critical before {sum(before.values())} {dict(before)}"
            f" -> after 20 min {sum(after.values())} {dict(after)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
