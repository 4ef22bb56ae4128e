"""Alert-quality benchmark: the real surge rule, stepped hourly over synthetic regions with known surges.

Run from the repo root (full scale; about 6 CPU-seconds a seed)::

    python -m tests.benchmarks.alerts --seeds 100-199 --jobs 2 [--days 60] [--eval-days 7] [--log runs.jsonl]
    python -m tests.benchmarks.alerts --seeds 0-99 --rule '[{"alpha": 1e-3}, {"alpha": 3e-3}]'  # variants

Scenarios (one SQLite store per seed, fixed seeds): 4 regions of about 1 degree, each with 3 sites
(busy crossings of 50-200 people/day) and diffuse scattered events. Activity has a daily cycle
(peak 16:00 UTC, trough 04:00 at a fifth of the peak) and a weekly cycle (a market day per region at
1.6x), with Poisson noise in events and people. Two regions per seed get one surge each at a
random site: start uniform in the evaluation period, size +50 %, +100 % or +300 % of the site's
rate (cycling by seed), duration 48-96 h. The other two regions are null scenarios (no surge).

Run: the stored default surge rule (``layers.services.alerts.DEFAULT_RULES``; ``--rule`` params are merged into
it, a JSON list gives several variants stored as separate rules and evaluated side by side), evaluated
by ``layers.services.alerts.evaluate_rules`` -- the code ``hbm alerts run`` calls -- at 5 minutes past every
hour of the evaluation period, as cron would. The distress and crossing rules are disabled (they
cannot raise a surge alert). Seeds run in ``--jobs`` processes, each with its own store.

Report (one JSON line per figure, then a summary): detection rate within 24 h per surge size;
median and p90 delay from surge start to the first alert; false alerts per region-week on null
regions; alerts per true surge (alerts opened within 15 km of the surge's site from its start to 24 h
after its end; also per detected surge, which is where duplicates show). A surge counts as detected
when an alert opens within 15 km of its site within 24 h of its start. Targets: >= 90 % of +100 % surges
detected within 24 h with median delay <= 6 h; <= 0.2 false alerts per region-week; exactly one alert
per surge. Also printed: the number of seeds and the mean 1-minute load average during the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from data.alerts import list_alerts, load_rules, save_rule
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.services.alerts import ensure_default_rules, evaluate_rules

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
SIZES = (0.5, 1.0, 3.0)
REGIONS = ((2.0, 31.0), (2.0, 34.0), (-1.0, 31.0), (-1.0, 34.0))  # centres (lat, lng), 1 degree boxes
SURGE_REGIONS = 2
MEAN_PEOPLE = 3.0  # people per event: 1 + Poisson(2)
TARGETS = {
    "detect_100": 0.90,
    "median_delay_h": 6.0,
    "false_per_region_week": 0.2,
    "alerts_per_surge": 1.0,
    "alerts_per_detected_surge": 1.0,
}


@dataclass
class Surge:
    """One injected surge: where, when, how big."""

    seed: int
    region: int
    lat: float
    lng: float
    start: datetime
    end: datetime
    size: float


def _cycle(hours: np.ndarray, market_day: int) -> np.ndarray:
    """Return the activity factor per hour: daily cycle times weekly (market-day) cycle, mean about 1."""
    daily = 1.0 + 0.67 * np.sin(2 * np.pi * ((hours % 24) - 10) / 24)
    weekly = np.where((hours // 24) % 7 == market_day, 1.6, 0.9)
    return daily * weekly


def _events(rng: np.random.Generator, lat: np.ndarray, lng: np.ndarray, hours: np.ndarray, t0_ms: int) -> dict:
    people = 1 + rng.poisson(MEAN_PEOPLE - 1, hours.size)
    minutes = hours * 3_600_000 + rng.integers(0, 3_600_000, hours.size)
    return {"t": t0_ms + minutes, "lat": lat, "lng": lng, "people": people}


def scenario(seed: int, days: int, eval_days: int) -> tuple[pd.DataFrame, list[Surge]]:
    """Return the events of one seed and its surges (fixed by the seed)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    t0_ms = int(START.timestamp() * 1000)
    parts, surges = [], []
    surge_regions = rng.choice(len(REGIONS), SURGE_REGIONS, replace=False)
    for r, (clat, clng) in enumerate(REGIONS):
        cycle = _cycle(hours, int(rng.integers(0, 7)))
        sites = np.column_stack([clat + rng.uniform(-0.4, 0.4, 3), clng + rng.uniform(-0.4, 0.4, 3)])
        rates = rng.uniform(50, 200, 3)  # people/day
        surge_factor = np.zeros((3, hours.size))
        if r in surge_regions:
            site = int(rng.integers(0, 3))
            size = SIZES[(seed * SURGE_REGIONS + len(surges)) % len(SIZES)]
            first = (days - eval_days) * 24 + 12
            begin = int(rng.integers(first, max(first + 1, days * 24 - 96)))
            length = int(rng.integers(48, 97))
            surge_factor[site, begin : begin + length] = size
            start = START + timedelta(hours=begin)
            surges.append(Surge(seed, r, *sites[site], start, start + timedelta(hours=length), size))
        for k in range(3):
            lam = rates[k] / 24 / MEAN_PEOPLE * cycle * (1 + surge_factor[k])
            n = rng.poisson(lam)
            h = np.repeat(hours, n)
            jitter = rng.normal(0, 0.003, (h.size, 2))
            parts.append(_events(rng, sites[k, 0] + jitter[:, 0], sites[k, 1] + jitter[:, 1], h, t0_ms))
        n = rng.poisson(30 / 24 * cycle)  # diffuse background: ~30 events/day over the region
        h = np.repeat(hours, n)
        parts.append(
            _events(rng, clat + rng.uniform(-0.5, 0.5, h.size), clng + rng.uniform(-0.5, 0.5, h.size), h, t0_ms)
        )
    col = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    frame = pd.DataFrame(
        {
            "id": [f"bench-{seed}-{i}" for i in range(col["t"].size)],
            "occurred_at": pd.to_datetime(col["t"], unit="ms", utc=True),
            "kind": "crossing",
            "people": col["people"],
            "lat": col["lat"],
            "lng": col["lng"],
            "location_precision_m": 50.0,
            "source": "SYNTHETIC benchmark",
            "crossing_point_id": None,
            "route_id": None,
            "notes": "SYNTHETIC",
        }
    )
    return frame, surges


def _region_of(lat: float, lng: float) -> int:
    return int(np.argmin([(lat - a) ** 2 + (lng - b) ** 2 for a, b in REGIONS]))


SURGE_RULE = "surge-r6-24h"


def _memo(fn):  # type: ignore[no-untyped-def]
    """Return ``fn`` remembering its answers: the store does not change while the clock steps, so several
    rule variants evaluated at the same hour share one query (results are identical, only faster)."""
    cache: dict = {}

    def call(*args):  # type: ignore[no-untyped-def]
        if args not in cache:
            cache[args] = fn(*args)
        return cache[args].copy()

    return call


def _rule_ids(variants: list[dict]) -> list[str]:
    return [SURGE_RULE] if not variants else [f"bench-{i}" for i in range(len(variants))]


def run_seed(seed: int, days: int, eval_days: int, variants: list[dict], workdir: Path) -> dict:
    """Build one seed's store, step the clock hourly through the rules, return its alerts and surges.

    ``variants``: parameter sets merged into the default surge rule, each stored as its own rule and
    evaluated together (tuning); empty: the default rule as it is. The other default rules
    (distress, crossings) are disabled: they cannot raise a surge alert.
    """
    frame, surges = scenario(seed, days, eval_days)
    path = workdir / f"s{seed}.sqlite"
    store: Store = open_store(load_store_settings(database_url=f"sqlite:///{path}"))
    store.init_schema()
    store.upsert_events(frame)
    first = START + timedelta(days=days - eval_days)
    ensure_default_rules(store, first)
    default = next(r for r in load_rules(store) if r.id == SURGE_RULE)
    for rule in load_rules(store):
        if rule.id != SURGE_RULE or variants:
            rule.enabled = False
            save_rule(store, rule, first, who="benchmark")
    for rid, params in zip(_rule_ids(variants), variants, strict=False):
        rule = replace(default, id=rid, enabled=True)
        rule.params = {**default.params, **{k: v for k, v in params.items() if k != "clear_after_s"}}
        rule.clear_after_s = int(params.get("clear_after_s", default.clear_after_s))
        save_rule(store, rule, first, who="benchmark")
    store.window_cell_counts = _memo(store.window_cell_counts)  # type: ignore[method-assign]
    for h in range(eval_days * 24):
        evaluate_rules(store, first + timedelta(hours=h, minutes=5))
    found = list_alerts(store, limit=1_000_000)
    alerts = {
        rid: [(a.opened_at, _region_of(a.lat, a.lng), a.lat, a.lng) for a in found if a.rule_id == rid]
        for rid in _rule_ids(variants)
    }
    store.dispose()
    path.unlink(missing_ok=True)
    return {"seed": seed, "alerts": alerts, "surges": surges, "eval_start": first, "eval_days": eval_days}


def _run_one(job: tuple) -> dict:  # type: ignore[type-arg]
    seed, days, eval_days, variants, workdir = job
    return run_seed(seed, days, eval_days, variants, Path(workdir))


NEAR_KM = 15.0  # an alert whose place is this close to the surge's site is about that surge


def _near(alert: tuple, surge: Surge) -> bool:  # type: ignore[type-arg]
    """Return True when the alert's place (its busiest cell's centre) is within ``NEAR_KM`` of the surge site."""
    dy = (alert[2] - surge.lat) * 110.57
    dx = (alert[3] - surge.lng) * 111.32 * np.cos(np.radians(surge.lat))
    return bool(np.hypot(dx, dy) <= NEAR_KM)


def summarise(runs: list[dict], rule_id: str = SURGE_RULE) -> dict:
    """Return the report's figures of one rule from the per-seed runs."""
    detected = {s: [] for s in SIZES}
    delays, per_surge, false_alerts, region_weeks = [], [], 0, 0.0
    for run in runs:
        surge_regions = {s.region for s in run["surges"]}
        for r in range(len(REGIONS)):
            if r not in surge_regions:
                region_weeks += run["eval_days"] / 7
                false_alerts += sum(1 for a in run["alerts"][rule_id] if a[1] == r)
        for s in run["surges"]:
            late = s.end + timedelta(hours=24)
            mine = [a[0] for a in run["alerts"][rule_id] if _near(a, s) and s.start <= a[0] <= late]
            per_surge.append(len(mine))
            hit = [t for t in mine if t <= s.start + timedelta(hours=24)]
            detected[s.size].append(bool(hit))
            if hit:
                delays.append((min(hit) - s.start).total_seconds() / 3600)
    delay = np.array(delays) if delays else np.array([np.nan])
    return {
        "seeds": len(runs),
        "surges": sum(len(v) for v in detected.values()),
        **{f"detect_{int(s * 100)}": float(np.mean(v)) if v else float("nan") for s, v in detected.items()},
        "median_delay_h": float(np.median(delay)),
        "p90_delay_h": float(np.percentile(delay, 90)),
        "false_per_region_week": false_alerts / region_weeks if region_weeks else float("nan"),
        "null_region_weeks": region_weeks,
        "alerts_per_surge": float(np.mean(per_surge)) if per_surge else float("nan"),
        "exactly_one_share": float(np.mean([n == 1 for n in per_surge])) if per_surge else float("nan"),
        "alerts_per_detected_surge": float(np.mean(seen)) if (seen := [n for n in per_surge if n]) else float("nan"),
    }


def _dump(run: dict) -> dict:
    """Return one seed's result as JSON-able values."""
    surges = [{**s.__dict__, "start": s.start.isoformat(), "end": s.end.isoformat()} for s in run["surges"]]
    alerts = {rid: [[a[0].isoformat(), *a[1:]] for a in found] for rid, found in run["alerts"].items()}
    return {**run, "eval_start": run["eval_start"].isoformat(), "surges": surges, "alerts": alerts}


def _load(line: str) -> dict:
    """Return a seed's result from its JSON line (the inverse of ``_dump``)."""
    run = json.loads(line)
    run["surges"] = [
        Surge(**{**s, "start": datetime.fromisoformat(s["start"]), "end": datetime.fromisoformat(s["end"])})
        for s in run["surges"]
    ]
    run["alerts"] = {
        rid: [(datetime.fromisoformat(a[0]), *a[1:]) for a in found] for rid, found in run["alerts"].items()
    }
    return run


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


# The convention of tests/benchmarks/report.py: CI runs every benchmark at small scale.
SMALL_ARGS: tuple[str, ...] = ("--seeds", "3", "--days", "30", "--eval-days", "2")
FIGURES: tuple[str, ...] = (
    "seeds",
    "surges",
    "detect_50",
    "detect_100",
    "detect_300",
    "median_delay_h",
    "p90_delay_h",
    "false_per_region_week",
    "null_region_weeks",
    "alerts_per_surge",
    "exactly_one_share",
    "alerts_per_detected_surge",
    "load_average",
)


def _print_figures(figures: dict, label: str, prefix: str = "") -> None:
    for name, value in figures.items():
        line = {"figure": prefix + name, "value": round(value, 3), "target": TARGETS.get(name)}
        if name in TARGETS and value == value:
            goal = TARGETS[name]
            line["met"] = bool(
                value >= goal
                if name == "detect_100"
                else value == goal
                if name == "alerts_per_surge"
                else value <= goal
            )
        print(json.dumps(line))
    print(
        f"{prefix}seeds {label}: {figures['surges']} surges; detected within 24 h: "
        + ", ".join(f"+{int(s * 100)} % {figures[f'detect_{int(s * 100)}']:.0%}" for s in SIZES)
        + f"; delay median {figures['median_delay_h']:.1f} h, p90 {figures['p90_delay_h']:.1f} h; "
        f"false alerts {figures['false_per_region_week']:.2f} per region-week; "
        f"alerts per surge {figures['alerts_per_surge']:.2f} ({figures['exactly_one_share']:.0%} exactly one, "
        f"{figures['alerts_per_detected_surge']:.2f} per detected surge); "
        f"load average {figures['load_average']:.2f}"
    )


def _load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100-199", help="seed range, e.g. 0-99 (tuning) or 100-199 (report)")
    parser.add_argument("--days", type=int, default=60, help="days of background per seed (30-60)")
    parser.add_argument("--eval-days", type=int, default=7, help="days at the end evaluated hourly")
    parser.add_argument(
        "--rule", default="", help="JSON params merged into the default surge rule; a JSON list: several variants"
    )
    parser.add_argument("--jobs", type=int, default=1, help="seeds run in parallel (processes)")
    parser.add_argument("--log", help="append each seed's result to this JSON-lines file as it finishes")
    parser.add_argument("--from-log", help="only summarise the seeds already in this JSON-lines file")
    args = parser.parse_args(argv)
    parsed = json.loads(args.rule) if args.rule else []
    variants = parsed if isinstance(parsed, list) else [parsed]
    loads: list[float] = []
    if args.from_log:
        runs = [_load(line) for line in Path(args.from_log).read_text().splitlines() if line.strip()]
        args.seeds = f"{min(r['seed'] for r in runs)}-{max(r['seed'] for r in runs)} ({len(runs)} seeds)"
        loads = [r.get("load_average", float("nan")) for r in runs]
    else:
        runs = []
        shm = Path("/dev/shm")
        with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
            jobs = [(seed, args.days, args.eval_days, variants, tmp) for seed in _seeds(args.seeds)]
            pool = multiprocessing.Pool(args.jobs) if args.jobs > 1 else None
            try:
                for run in pool.imap_unordered(_run_one, jobs) if pool else map(_run_one, jobs):
                    run["load_average"] = _load_average()
                    loads.append(run["load_average"])
                    runs.append(run)
                    if args.log:
                        with open(args.log, "a") as log:
                            log.write(json.dumps(_dump(run)) + "\n")
            finally:
                if pool:
                    pool.close()
                    pool.join()
        runs.sort(key=lambda r: r["seed"])
    ids = sorted({rid for run in runs for rid in run["alerts"]}, key=lambda r: (len(r), r))
    for rid in ids:
        figures = {**summarise(runs, rid), "load_average": float(np.nanmean(loads)) if loads else float("nan")}
        prefix = "" if len(ids) == 1 else f"{rid}."
        if len(ids) > 1:
            print(json.dumps({"variant": rid, "params": variants[int(rid.split("-")[1])] if variants else {}}))
        _print_figures(figures, args.seeds, prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
