"""Layer builds per data revision with many clients on one View, under `hbm serve --workers N`.

Run from the repo root (with PostGIS it DROPS every table in the target database first)::

    python -m tests.benchmarks.builds [--clients 50] [--workers 4] [--rounds 5] [--events 20000] [--postgis-url URL]

Starts a real gunicorn node, signs ``--clients`` wall screens in (viewers), and in each round writes
a batch of events (a new revision) and lets every screen poll at the same moment, each with its
own client state. Each build is logged by the node (``"layer built"``), so builds are counted
across all worker processes. Without a shared cache every screen would build every changed
layer (``--clients`` builds per layer per revision); the target is one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from data import users
from data.demo import demo_features
from data.demo_events import demo_events, live_events
from tests.benchmarks.refresh import emit, open_url, postgis_url
from tests.helpers import free_port
from tests.nodes import MapClient, json_lines, node_env, start_node

SMALL_ARGS: tuple[str, ...] = ("--clients", "6", "--workers", "2", "--rounds", "2", "--events", "2000")
FIGURES: tuple[str, ...] = (
    "hotspot layer builds per revision",
    "layer builds per revision (all changed layers)",
    "refresh p50 (all clients at once)",
    "refresh p95 (all clients at once)",
)


def builds_in(log: str) -> list[dict]:
    """Return the node's "layer built" log lines."""
    return [line for line in json_lines(log) if line.get("message") == "layer built"]


def main(argv: list[str] | None = None) -> int:
    """Seed, start a node, poll with every client per revision, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--rounds", type=int, default=5, help="revisions written (each followed by one poll per client)"
    )
    parser.add_argument("--events", type=int, default=20_000, help="events seeded over 30 days")
    parser.add_argument("--postgis-url", help="default: $HBM_BENCH_POSTGIS_URL, else $HBM_TEST_POSTGIS_URL")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hbm-bench-builds-") as tmp:
        folder = Path(tmp)
        url = postgis_url(args) or f"sqlite:///{folder / 'bench.sqlite'}"
        store = open_url(url, reset=True)
        now = datetime.now(UTC)
        for table, rows in demo_features(now).items():
            store.upsert(table, rows)
        store.upsert_events(demo_events(args.events, now))
        password = secrets.token_urlsafe(16)
        names = [f"wall{i:03d}" for i in range(args.clients)]
        for name in names:
            users.add_user(store, name, "viewer", password)
        env = node_env(url, HBM_LOG_FORMAT="json", HBM_LAYER_CACHE_DIR=str(folder / "layers"))
        print(f"builds: {store.backend}, {args.workers} workers, {args.clients} clients", file=sys.stderr, flush=True)
        node = start_node(free_port(), env, folder / "node.log", workers=args.workers)
        try:
            clients = [MapClient(node, name, password) for name in names]
            gate = threading.Barrier(args.clients)
            times: list[float] = []

            def poll(client: MapClient) -> None:
                gate.wait()
                t0 = time.perf_counter()
                status, _ = client.call("client-state.data")
                times.append((time.perf_counter() - t0) * 1000)
                assert status == 200, f"poll: HTTP {status}"

            rng = np.random.default_rng(15)
            per_round: list[int] = []
            hot_per_round: list[int] = []
            with ThreadPoolExecutor(args.clients) as pool:
                for round_no in range(args.rounds + 1):  # round 0: the first load of every screen
                    before = builds_in(node.output())
                    if round_no:
                        store.upsert_events(live_events(datetime.now(UTC), rng, 50))  # a new revision
                    list(pool.map(poll, clients))
                    time.sleep(0.5)  # let the last log lines reach the file
                    new = builds_in(node.output())[len(before) :]
                    per_round.append(len(new))
                    hot_per_round.append(sum(1 for b in new if b.get("layer") == "hotspots"))
                    print(
                        f"builds: round {round_no}: {len(new)} builds ({hot_per_round[-1]} hotspots)",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            node.stop()
        store.dispose()
    rounds = len(per_round)
    extra = {"clients": args.clients, "workers": args.workers, "revisions": rounds, "backend": store.backend}
    hot = sum(hot_per_round) / rounds
    emit(
        "hotspot layer builds per revision",
        round(hot, 2),
        "builds",
        "1",
        hot <= 1.0,
        per_revision=hot_per_round,
        **extra,
    )
    emit("layer builds per revision (all changed layers)", round(sum(per_round) / rounds, 2), "builds", None, None,
         per_revision=per_round, layers=4, **extra)  # fmt: skip
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]
    emit("refresh p50 (all clients at once)", round(p50, 1), "ms", None, None, polls=len(times), **extra)
    emit("refresh p95 (all clients at once)", round(p95, 1), "ms", "<= 300", p95 <= 300, polls=len(times), **extra)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HBM_AUTH", "on")
    sys.exit(main())
