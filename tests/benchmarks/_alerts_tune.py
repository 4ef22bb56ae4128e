"""Fast tuning replay of the rate surge rule (not a benchmark: the figures to report come from ``alerts.py``).

Stepping ``evaluate_rules`` hourly through a store costs about 6 CPU-seconds a seed, too slow on a
shared 2-core machine to try many parameter sets on seeds 0-99. This replay computes the same
statistic as ``geo.surge.rate_surge_test`` (vectorised over all hours at once) from hourly counts
per res-6 cell taken straight from the scenario's events (their location precision fits res 6, so
the store counts them in the same cells), and replays the rule's life cycle as
``layers.services.alerts._reconcile`` does: a finding (touching cells with p <= alpha_keep and >= min_people
in 24 h) updates an open alert it touches, opens one only when p <= alpha, and an alert closes after
``clear_after_s`` without a finding. On seeds 0-1 it gives the real rule's alerts exactly.
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
from scipy.stats import binom

from layers.services.alerts import DEFAULT_RULES
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


def _pvalues(ev: np.ndarray, first: int, t0: int, steps: int, p: dict) -> np.ndarray:
    """Return p[cell, step]: ``rate_surge_test``'s p-value for every cell at every evaluation hour, vectorised.

    Same statistic: covered weeks as ``geo.windows.window_spans`` counts them, X and Y per length from
    cumulative sums, the binomial tail, Bonferroni over the lengths.
    """
    lengths, weeks, ratio0 = sorted(p["lengths_h"]), int(p["weeks"]), float(p["ratio0"])
    n = max(lengths[-1], 24)
    cum = np.concatenate([np.zeros((ev.shape[0], 1)), np.cumsum(ev, axis=1)], axis=1)  # cum[:, t] = sum(ev[:, :t])
    ends = t0 + np.arange(steps)
    covered = np.zeros(steps, dtype=int)
    for k in range(1, weeks + 1):
        covered += (covered == k - 1) & (ends - 168 * k - n >= first + 1)
    best = np.ones((ev.shape[0], steps))
    for length in lengths:
        x = cum[:, ends] - cum[:, ends - length]
        y = np.zeros_like(x)
        for k in range(1, weeks + 1):
            y += np.where(covered >= k, cum[:, ends - 168 * k] - cum[:, ends - 168 * k - length], 0.0)
        p0 = ratio0 / (ratio0 + np.maximum(covered, 1))
        pl = np.where(x > 0, binom.sf(x - 1, x + y, p0), 1.0)
        best = np.minimum(best, pl)
    best = np.minimum(1.0, best * len(lengths))
    best[:, covered < 2] = 1.0  # insufficient baseline: never alerted on
    return best


def _groups(cells: list[int]) -> list[list[int]]:
    """Return the cells split into groups that touch (H3 neighbours), as ``flagged_groups`` does."""
    left, out = set(cells), []
    while left:
        stack, group = [left.pop()], []
        while stack:
            c = stack.pop()
            group.append(c)
            near = {h3.str_to_int(x) for x in h3.grid_disk(h3.int_to_str(c), 1)} & left
            left -= near
            stack.extend(near)
        out.append(group)
    return out


def replay(seed: int, days: int, eval_days: int, grid: list[dict]) -> dict:
    """Return the seed's alerts per parameter set (same shape as ``alerts.run_seed``)."""
    frame, surges = scenario(seed, days, eval_days)
    t0, steps = (days - eval_days) * 24, eval_days * 24
    alerts: dict[str, list] = {f"bench-{i}": [] for i in range(len(grid))}
    cache: dict[tuple, np.ndarray] = {}
    counts: dict[int, tuple] = {}
    for i, params in enumerate(grid):
        p = {**BASE.params, **params}
        res = int(p["res"])
        if res not in counts:
            cells, ev, pp, first = _hourly(frame, res, days * 24)
            cum_p = np.concatenate([np.zeros((pp.shape[0], 1)), np.cumsum(pp, axis=1)], axis=1)
            counts[res] = (cells, ev, first, cum_p[:, t0 + np.arange(steps)] - cum_p[:, t0 + np.arange(steps) - 24])
        cells, ev, first, people24 = counts[res]
        key = (res, tuple(p["lengths_h"]), float(p["ratio0"]), int(p["weeks"]))
        if key not in cache:
            cache[key] = _pvalues(ev, first, t0, steps, p)
        pv = cache[key]
        clear_h = int(params.get("clear_after_s", BASE.clear_after_s)) / 3600
        rid, state = f"bench-{i}", []
        for h in range(steps):
            now = START + timedelta(hours=t0 + h, minutes=5)
            flagged = np.flatnonzero(pv[:, h] <= float(p["alpha_keep"]))
            row = {int(cells[j]): j for j in flagged}
            found = [g for g in _groups(list(row)) if people24[[row[c] for c in g], h].sum() >= int(p["min_people"])]
            found.sort(key=lambda g: (-people24[[row[c] for c in g], h].sum(), min(g)))
            matched: set[int] = set()
            for g in found:
                gcells = {h3.int_to_str(c) for c in g}
                hit = next((a for a in state if id(a) not in matched and not a["near"].isdisjoint(gcells)), None)
                if hit is None and pv[[row[c] for c in g], h].min() <= float(p["alpha"]):
                    top = max(g, key=lambda c: (people24[row[c], h], -c))
                    lat, lng = h3.cell_to_latlng(h3.int_to_str(top))
                    hit = {"near": set()}
                    state.append(hit)
                    alerts[rid].append((now, _region_of(lat, lng), lat, lng))
                if hit is not None:
                    hit["last"] = h
                    for c in gcells:
                        hit["near"].update(h3.grid_disk(c, 1))
                    matched.add(id(hit))
            state = [a for a in state if id(a) in matched or h - a["last"] < clear_h]
    return {"seed": seed, "alerts": alerts, "surges": surges, "eval_start": START, "eval_days": eval_days}


def _job(args: tuple) -> dict:  # type: ignore[type-arg]
    return replay(*args)


def main(argv: list[str] | None = None) -> int:
    """Replay each parameter set on the seeds and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-99")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--eval-days", type=int, default=7)
    parser.add_argument("--grid", required=True, help="JSON list of parameter sets")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    grid = json.loads(args.grid)
    jobs = [(s, args.days, args.eval_days, grid) for s in _seeds(args.seeds)]
    with multiprocessing.Pool(args.jobs) as pool:
        runs = pool.map(_job, jobs, chunksize=1)
    for i, params in enumerate(grid):
        f = summarise(runs, f"bench-{i}")
        print(
            json.dumps(params),
            f"| +50 {f['detect_50']:.0%} +100 {f['detect_100']:.0%} +300 {f['detect_300']:.0%}"
            f" | delay {f['median_delay_h']:.1f}/{f['p90_delay_h']:.1f} h | false {f['false_per_region_week']:.2f}"
            f" | per surge {f['alerts_per_surge']:.2f} ({f['exactly_one_share']:.0%} one,"
            f" {f['alerts_per_detected_surge']:.2f} per detected)",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
