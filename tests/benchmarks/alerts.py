"""Alert-quality benchmark: the real surge rule, stepped hourly over synthetic regions with known surges.

Run from the repo root (full scale; CPU-heavy, run it under ``nice -n 10``)::

    python -m tests.benchmarks.alerts --seeds 100-199 [--days 35] [--eval-days 14] [--rule '{"min_people": 50}']

Scenarios (one SQLite store per seed, fixed seeds): 4 regions of about 1 degree, each with 3 sites
(busy crossings of 50-200 people/day) and diffuse scattered events. Activity has a daily cycle
(peak 16:00 UTC, trough 04:00 at a fifth of the peak) and a weekly cycle (a market day per region at
1.6x), with Poisson noise in events and people. Two regions per seed get one surge each at a
random site: start uniform in the evaluation period, size +50 %, +100 % or +300 % of the site's
rate (cycling by seed), duration 48-96 h. The other two regions are null scenarios (no surge).

Run: the stored default rules (``layers.services.alerts.DEFAULT_RULES``, optionally with ``--rule`` params
merged into the surge rule), evaluated by ``layers.services.alerts.evaluate_rules`` -- the code ``hbm alerts
run`` calls -- at 5 minutes past every hour of the evaluation period, as cron would.

Report (one JSON line per figure, then a summary): detection rate within 24 h per surge size;
median and p90 delay from surge start to the first alert; false alerts per region-week on null
regions; alerts per true surge (alerts opened in the surge's region from its start to 24 h after
its end). Targets: >= 90 % of +100 % surges detected within 24 h with median delay <= 6 h;
<= 0.2 false alerts per region-week; exactly one alert per surge.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
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
TARGETS = {"detect_100": 0.90, "median_delay_h": 6.0, "false_per_region_week": 0.2, "alerts_per_surge": 1.0}


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


def run_seed(seed: int, days: int, eval_days: int, rule_params: dict, workdir: Path) -> dict:
    """Build one seed's store, step the clock hourly through the rules, return its alerts and surges."""
    frame, surges = scenario(seed, days, eval_days)
    store: Store = (
        open_store(load_store_settings(database_url=f"sqlite:///{workdir / f's{seed}.sqlite'}"))
    )
    store.init_schema()
    store.upsert_events(frame)
    first = START + timedelta(days=days - eval_days)
    ensure_default_rules(store, first)
    if rule_params:
        rule = next(r for r in load_rules(store) if r.id == "surge-r6-24h")
        rule.params = {**rule.params, **{k: v for k, v in rule_params.items() if k != "clear_after_s"}}
        rule.clear_after_s = int(rule_params.get("clear_after_s", rule.clear_after_s))
        save_rule(store, rule, first, who="benchmark")
    for h in range(eval_days * 24):
        evaluate_rules(store, first + timedelta(hours=h, minutes=5))
    alerts = [
        (a.opened_at, _region_of(a.lat, a.lng))
        for a in list_alerts(store, limit=100_000)
        if a.rule_id == "surge-r6-24h"
    ]
    store.dispose()
    return {"seed": seed, "alerts": alerts, "surges": surges, "eval_start": first, "eval_days": eval_days}


def summarise(runs: list[dict]) -> dict:
    """Return the report's figures from the per-seed runs."""
    detected = {s: [] for s in SIZES}
    delays, per_surge, false_alerts, region_weeks = [], [], 0, 0.0
    for run in runs:
        surge_regions = {s.region for s in run["surges"]}
        for r in range(len(REGIONS)):
            if r not in surge_regions:
                region_weeks += run["eval_days"] / 7
                false_alerts += sum(1 for _, ar in run["alerts"] if ar == r)
        for s in run["surges"]:
            mine = [t for t, ar in run["alerts"] if ar == s.region and s.start <= t <= s.end + timedelta(hours=24)]
            per_surge.append(len(mine))
            hit = [t for t in mine if t <= s.start + timedelta(hours=24)]
            detected[s.size].append(bool(hit))
            if hit:
                delays.append((min(hit) - s.start).total_seconds() / 3600)
    delay = np.array(delays) if delays else np.array([np.nan])
    return {
        "surges": sum(len(v) for v in detected.values()),
        **{f"detect_{int(s * 100)}": float(np.mean(v)) if v else float("nan") for s, v in detected.items()},
        "median_delay_h": float(np.median(delay)),
        "p90_delay_h": float(np.percentile(delay, 90)),
        "false_per_region_week": false_alerts / region_weeks if region_weeks else float("nan"),
        "null_region_weeks": region_weeks,
        "alerts_per_surge": float(np.mean(per_surge)) if per_surge else float("nan"),
        "exactly_one_share": float(np.mean([n == 1 for n in per_surge])) if per_surge else float("nan"),
    }


def _dump(run: dict) -> dict:
    """Return one seed's result as JSON-able values."""
    surges = [{**s.__dict__, "start": s.start.isoformat(), "end": s.end.isoformat()} for s in run["surges"]]
    alerts = [[t.isoformat(), r] for t, r in run["alerts"]]
    return {**run, "eval_start": run["eval_start"].isoformat(), "surges": surges, "alerts": alerts}


def _load(line: str) -> dict:
    """Return a seed's result from its JSON line (the inverse of ``_dump``)."""
    run = json.loads(line)
    run["surges"] = [
        Surge(**{**s, "start": datetime.fromisoformat(s["start"]), "end": datetime.fromisoformat(s["end"])})
        for s in run["surges"]
    ]
    run["alerts"] = [(datetime.fromisoformat(t), r) for t, r in run["alerts"]]
    return run


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


# The convention of tests/benchmarks/report.py: CI runs every benchmark at small scale.
SMALL_ARGS: tuple[str, ...] = ("--seeds", "3", "--days", "30", "--eval-days", "2")
FIGURES: tuple[str, ...] = (
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
)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="100-199", help="seed range, e.g. 0-99 (tuning) or 100-199 (report)")
    parser.add_argument("--days", type=int, default=35, help="days of background per seed (30-60)")
    parser.add_argument("--eval-days", type=int, default=14, help="days at the end evaluated hourly")
    parser.add_argument("--rule", default="{}", help="JSON params merged into the default surge rule")
    parser.add_argument("--log", help="append each seed's result to this JSON-lines file as it finishes")
    parser.add_argument("--from-log", help="only summarise the seeds already in this JSON-lines file")
    args = parser.parse_args(argv)
    params = json.loads(args.rule)
    if args.from_log:
        runs = [_load(line) for line in Path(args.from_log).read_text().splitlines() if line.strip()]
        args.seeds = f"{min(r['seed'] for r in runs)}-{max(r['seed'] for r in runs)} ({len(runs)} seeds)"
    else:
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            for seed in _seeds(args.seeds):
                runs.append(run_seed(seed, args.days, args.eval_days, params, Path(tmp)))
                if args.log:
                    with open(args.log, "a") as log:
                        log.write(json.dumps(_dump(runs[-1])) + "\n")
    figures = summarise(runs)
    for name, value in figures.items():
        print(json.dumps({"figure": name, "value": round(value, 3), "target": TARGETS.get(name)}))
    print(
        f"seeds {args.seeds}: {figures['surges']} surges; detected within 24 h: "
        + ", ".join(f"+{int(s * 100)} % {figures[f'detect_{int(s * 100)}']:.0%}" for s in SIZES)
        + f"; delay median {figures['median_delay_h']:.1f} h, p90 {figures['p90_delay_h']:.1f} h; "
        f"false alerts {figures['false_per_region_week']:.2f} per region-week; "
        f"alerts per surge {figures['alerts_per_surge']:.2f} ({figures['exactly_one_share']:.0%} exactly one)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
