"""Run the locust load test against `hbm serve --workers N` on loopback, bounded in time, and print figures.

Run from the repo root (with PostGIS it DROPS every table in the target database first)::

    python -m tests.load.run --locust /tmp/locust/bin/locust [--minutes 10] [--users 100] [--workers 4] [--json OUT]

Seeds the demo store, creates the users, starts the node, runs ``tests/load/locustfile.py``
headless, samples each worker's RSS every 10 s, and prints one JSON line per figure: refresh
p50/p95, errors, events lost (written by the API vs found in the store), RSS per worker at
minute 2 and at the end. Targets (issue 15): refresh p95 <= 300 ms, 0 errors, 0 lost, RSS per
worker <= 400 MB, RSS at the end within 10 % of minute 2. ``--json OUT`` saves the run (its figures,
date, machine and load average) in the format of ``tests.benchmarks.report --json``, so that
``python -m tests.benchmarks.report --from-json OUT ...`` puts it in docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import text

from data import users
from data.demo import demo_features
from data.demo_events import demo_events
from tests.benchmarks import report
from tests.benchmarks.refresh import emit as print_figure
from tests.benchmarks.refresh import open_url, postgis_url
from tests.helpers import free_port
from tests.nodes import ROOT, node_env, start_node


def worker_rss_mb(pid: int) -> dict[int, float]:
    """Return the RSS in MB of each child process (gunicorn worker) of ``pid``."""
    found = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[int(child)] = int(line.split()[1]) / 1024
    return found


# The report's convention (tests/benchmarks/report.py): the figures every run prints. Not run in CI:
# it needs locust in its own virtualenv and 10 minutes.
FIGURES: tuple[str, ...] = (
    "refresh (wall screen) p95",
    "errors",
    "events lost",
    "RSS per worker (peak)",
    "RSS per worker at minute 2",
    "RSS per worker at the end",
    "RSS growth, end vs minute 2 (worst worker)",
)


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, load, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locust", default="locust", help="the locust executable (its own virtualenv)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=100, help="wall screens + analysts + exporters (80/15/5)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0, help="events/s posted to the API")
    parser.add_argument("--events", type=int, default=50_000, help="events seeded over 30 days")
    parser.add_argument("--postgis-url", help="default: $HBM_BENCH_POSTGIS_URL, else $HBM_TEST_POSTGIS_URL")
    parser.add_argument("--json", type=Path, metavar="OUT", help="save the run for tests.benchmarks.report")
    args = parser.parse_args(argv)
    started, load0 = datetime.now(UTC), report.load_average()
    with tempfile.TemporaryDirectory(prefix="hbm-load-") as tmp:
        folder = Path(tmp)
        url = postgis_url(args) or f"sqlite:///{folder / 'load.sqlite'}"
        store = open_url(url, reset=True)
        now = datetime.now(UTC)
        for table, rows in demo_features(now).items():
            store.upsert(table, rows)
        store.upsert_events(demo_events(args.events, now))
        password, token = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        users.HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # 100 sign-ins, not a KDF test
        roles = ["viewer"] * 80 + ["analyst"] * 20
        for i in range(args.users):
            users.add_user(store, f"load{i:03d}", roles[i % 100], password)
        env = node_env(url, HBM_API_TOKEN=token, HBM_ACCESS_LOG="false", HBM_LAYER_CACHE_DIR=str(folder / "layers"))
        node = start_node(free_port(), env, folder / "node.log", workers=args.workers)
        samples: list[tuple[float, dict[int, float]]] = []
        stop = threading.Event()
        t0 = time.monotonic()

        def sample() -> None:
            while not stop.wait(10):
                samples.append((time.monotonic() - t0, worker_rss_mb(node.proc.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        feeds = 4
        posted_file = folder / "posted.json"
        load_env = os.environ | {
            "HBM_LOAD_PASSWORD": password,
            "HBM_LOAD_TOKEN": token,
            "HBM_LOAD_RATE": str(args.rate),
            "HBM_LOAD_FEEDS": str(feeds),
            "HBM_LOAD_POSTED_FILE": str(posted_file),
        }
        cmd = [args.locust, "-f", str(ROOT / "tests/load/locustfile.py"), "--headless", "--only-summary",
               "-u", str(args.users + feeds), "-r", "20", "-t", f"{int(args.minutes * 60)}s", "--host", node.url,
               "--csv", str(folder / "load"), "--stop-timeout", "10"]  # fmt: skip
        print(f"load: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        done = subprocess.run(cmd, env=load_env, capture_output=True, text=True, check=False)
        stop.set()
        time.sleep(2)  # the last writes commit
        node.stop()
        print(done.stderr[-3000:], file=sys.stderr)
        with open(folder / "load_stats.csv") as fh:
            rows = {row["Name"]: row for row in csv.DictReader(fh)}
        posted = json.loads(posted_file.read_text())["events"] if posted_file.exists() else 0
        with store.engine.connect() as conn:
            stored = conn.execute(text("SELECT COUNT(*) FROM events WHERE id LIKE 'load-%'")).scalar_one()
        store.dispose()
    extra = {"minutes": args.minutes, "users": args.users, "workers": args.workers, "backend": store.backend}
    for name, row in rows.items():
        if name.startswith("refresh") or name.startswith("export") or name.startswith("events API"):
            p95 = float(row["95%"])
            target = "<= 300" if name.startswith("refresh") else None
            emit(f"{name} p95", p95, "ms", target, p95 <= 300 if target else None, p50=float(row["50%"]),
                 requests=int(row["Request Count"]), failures=int(row["Failure Count"]), **extra)  # fmt: skip
    failures = int(rows["Aggregated"]["Failure Count"])
    emit("errors", failures, "requests", "0", failures == 0, requests=int(rows["Aggregated"]["Request Count"]), **extra)
    rate = round(posted / (args.minutes * 60), 1)
    emit(
        "events lost",
        posted - stored,
        "events",
        "0",
        posted == stored,
        posted=posted,
        stored=stored,
        rate=rate,
        **extra,
    )
    at2 = next((rss for t, rss in samples if t >= 120), samples[0][1] if samples else {})
    last = samples[-1][1] if samples else {}
    peak = max((max(rss.values(), default=0) for _t, rss in samples), default=0)
    emit("RSS per worker (peak)", round(peak), "MB", "<= 400", peak <= 400, **extra)
    for label, rss in (("at minute 2", at2), ("at the end", last)):
        worst = round(max(rss.values(), default=float("nan")))
        per = sorted(round(v) for v in rss.values())
        emit(f"RSS per worker {label}", worst, "MB", "<= 400", worst <= 400, per_worker=per, **extra)
    growth = [round(100 * (last[p] / at2[p] - 1), 1) for p in last if p in at2]
    worst = max(growth, default=float("nan"))
    emit("RSS growth, end vs minute 2 (worst worker)", worst, "%", "<= 10", worst <= 10, per_worker=growth, **extra)
    if args.json:
        save_run(args.json, argv, started, (load0, report.load_average()))
    return 0 if done.returncode in (0, 1) else done.returncode


def save_run(path: Path, argv: list[str] | None, started: datetime, load: tuple[float, float]) -> None:
    """Save the figure lines printed so far (EMITTED) as one run in the report's ``--json`` format."""
    bench = report.Benchmark("load", figures=FIGURES)
    given, args = list(argv if argv is not None else sys.argv[1:]), []
    while given:  # keep the scale, not paths or the database URL (it may hold a password)
        arg = given.pop(0)
        if arg in ("--locust", "--json", "--postgis-url"):
            given = given[1:]
        elif not arg.startswith(("--locust=", "--json=", "--postgis-url=")):
            args.append(arg)
    seconds = round((datetime.now(UTC) - started).total_seconds(), 1)
    run = report.Run(bench, tuple(args), 0, seconds, list(EMITTED), "", started, report.machine(load=False), load)
    run.command = "python -m tests.load.run"
    report.save_json(path, [run])


EMITTED: list[dict] = []


def emit(figure: str, value: object, unit: str, target: str | None, met: bool | None, **extra: object) -> None:
    """Print one figure as a JSON line (as the benchmarks do) and keep it for ``--json``."""
    EMITTED.append({"figure": figure, **extra, "value": value, "unit": unit, "target": target, "met": met})
    print_figure(figure, value, unit, target, met, **extra)


if __name__ == "__main__":
    sys.exit(main())
