"""Fast tuning replay of the rate surge rule (not a benchmark: the figures to report come from ``alerts.py``).

Stepping ``evaluate_rules`` hourly through a store costs about 6 CPU-seconds a seed, too slow on a
shared 2-core machine to try many parameter sets on seeds 0-99. This replay feeds the *same*
statistic (``geo.surge.rate_surge_test``) with hourly counts per res-6 cell computed straight from
the scenario's events (their location precision fits res 6, so the store would count them in the
same cells), and replays the rule's life cycle as ``layers.alerts._reconcile`` does it: a finding
(touching cells with p <= alpha_keep and >= min_people in 24 h) updates an open alert it touches,
opens one only when p <= alpha, and an alert closes after ``clear_after_s`` without a finding.
The chosen parameters are then measured with the real rule (``alerts.py``) on seeds 100-199.

    python -m tests.benchmarks._alerts_tune --seeds 0-99 --grid '[{"alpha": 1e-3}, ...]'
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from datetime import timedelta

import h3
import numpy as np
import pandas as pd

from geo.surge import rate_surge_test
from layers.alerts import DEFAULT_RULES
from layers.hotspots import flagged_groups
from tests.benchmarks.alerts import START, _region_of, _seeds, scenario, summarise

BASE = next(r for r in DEFAULT_RULES if r.kind == "hotspot_surge")


def _hourly(frame: pd.DataFrame, res: int, hours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Return (cells, events[cell, hour], people[cell, hour], first event hour)."""
    cells = np.array(
        [h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(frame["lat"], frame["lng"], strict=True)]
    )
    hour = ((frame["occurred_at"] - pd.Timestamp(START)).dt.total_seconds() // 3600).to_numpy(np.int64)
    uniq, row = np.unique(cells, return_inverse=True)
    ev = np.zeros((uniq.size, hours))
    pp = np.zeros((uniq.size, hours))
    np.add.at(ev, (row, hour), 1)
    np.add.at(pp, (row, hour), frame["people"].to_numpy(float))
    return uniq, ev, pp, int(hour.min())


def _frame(cells: np.ndarray, ev: np.ndarray, pp: np.ndarray, end: int, n: int) -> pd.DataFrame:
    """Return ``cell, hour, events, people`` for the n hours before ``end`` (hour 0 the latest)."""
    e, p = ev[:, end - n : end][:, ::-1], pp[:, end - n : end][:, ::-1]
    ci, hi = np.nonzero(e)
    return pd.DataFrame({"cell": cells[ci], "hour": hi, "events": e[ci, hi], "people": p[ci, hi]})


def replay(seed: int, days: int, eval_days: int, grid: list[dict]) -> dict:
    """Return the seed's alerts per parameter set (same shape as ``alerts.run_seed``)."""
    frame, surges = scenario(seed, days, eval_days)
    res = int(BASE.params["res"])
    cells, ev, pp, first = _hourly(frame, res, days * 24)
    alerts: dict[str, list] = {f"bench-{i}": [] for i in range(len(grid))}
    state: dict[str, list[dict]] = {k: [] for k in alerts}
    t0 = (days - eval_days) * 24
    for h in range(eval_days * 24):
        end = t0 + h  # windows end at the last whole hour before hh:05
        now = START + timedelta(hours=end, minutes=5)
        cache: dict[tuple, pd.DataFrame] = {}
        for i, params in enumerate(grid):
            p = {**BASE.params, **params}
            weeks, n = int(p["weeks"]), max(max(p["lengths_h"]), 24)
            covered = 0
            while covered < weeks and end - (covered + 1) * 168 - n >= first + 1:
                covered += 1
            if covered < 2:
                continue
            key = (tuple(p["lengths_h"]), float(p["ratio0"]), covered)
            if key not in cache:
                current = _frame(cells, ev, pp, end, n)
                base = pd.concat([_frame(cells, ev, pp, end - 168 * k, n) for k in range(1, covered + 1)])
                base = base.groupby(["cell", "hour"], as_index=False)[["events", "people"]].sum()
                table = rate_surge_test(current, base, covered, p["lengths_h"], float(p["ratio0"]))
                cache[key] = table.assign(res=res)
            table = cache[key]
            clear_h = int(params.get("clear_after_s", BASE.clear_after_s)) / 3600
            rid = f"bench-{i}"
            found = [
                g
                for g in flagged_groups(table[table["p_value"] <= float(p["alpha_keep"])])
                if g["people"].sum() >= int(p["min_people"])
            ]
            matched: set[int] = set()
            for g in found:
                gcells = {h3.int_to_str(int(c)) for c in g["cell"]}
                hit = next((a for a in state[rid] if id(a) not in matched and not a["near"].isdisjoint(gcells)), None)
                if hit is None and g["p_value"].min() <= float(p["alpha"]):
                    top = int(g.sort_values(["people", "cell"], ascending=[False, True])["cell"].iloc[0])
                    lat, lng = h3.cell_to_latlng(h3.int_to_str(top))
                    hit = {"near": set(), "opened": now, "region": _region_of(lat, lng)}
                    state[rid].append(hit)
                    alerts[rid].append((now, hit["region"]))
                if hit is not None:
                    hit["last"] = h
                    for c in gcells:
                        hit["near"].update(h3.grid_disk(c, 1))
                    matched.add(id(hit))
            state[rid] = [a for a in state[rid] if id(a) in matched or h - a["last"] < clear_h]
    return {"seed": seed, "alerts": alerts, "surges": surges, "eval_start": START, "eval_days": eval_days}


def _job(args: tuple) -> dict:  # type: ignore[type-arg]
    return replay(*args)


def main(argv: list[str] | None = None) -> int:
    """Replay each parameter set on the seeds and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-99")
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--eval-days", type=int, default=7)
    parser.add_argument("--grid", required=True, help="JSON list of parameter sets")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    grid = json.loads(args.grid)
    jobs = [(s, args.days, args.eval_days, grid) for s in _seeds(args.seeds)]
    with multiprocessing.Pool(args.jobs) as pool:
        runs = pool.map(_job, jobs)
    for i, params in enumerate(grid):
        f = summarise(runs, f"bench-{i}")
        print(
            json.dumps(params),
            f"| +50 {f['detect_50']:.0%} +100 {f['detect_100']:.0%} +300 {f['detect_300']:.0%}"
            f" | delay {f['median_delay_h']:.1f}/{f['p90_delay_h']:.1f} h | false {f['false_per_region_week']:.2f}"
            f" | per surge {f['alerts_per_surge']:.2f} ({f['exactly_one_share']:.0%} one)",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
