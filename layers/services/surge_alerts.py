"""The ``hotspot_surge`` rule: where the events of the last hours rise above the place's usual level.

Two methods (the ``method`` parameter):

- ``rate`` (the default rule): the exact Poisson rate test of ``geo.surge`` on the events of the
  last 3/6/12/24 whole hours of each cell against the same hours in the covered baseline weeks
  (``cycle``, default weekly). A place opens an alert when its p-value is at most ``alpha`` and it
  had at least ``min_people`` people in the last 24 hours; it keeps an open alert open while its
  p-value stays at most ``alpha_keep`` (hysteresis), and the alert closes once the place has been
  back to normal for the rule's ``clear_after_s``. Parameters: ``res``, ``lengths_h``, ``weeks``,
  ``ratio0``, ``alpha``, ``alpha_keep``, ``min_people``, ``cycle``.
- ``category`` (rules stored before the rate test): a cell is flagged when it has one of
  ``categories`` (change against the hotspot baselines, optionally at least ``min_change_pct``)
  and/or a Gi* bin of at least ``min_gi_bin`` (``combine``: "and" or "or"), at ``res`` over ``window``.

Flagged cells that touch form one surge; cells whose baseline is too short never alert.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import h3
import numpy as np
import pandas as pd

from data.alerts import AlertError, Rule
from data.interfaces import BBox, Store
from geo.errors import InvalidView
from geo.hotspots import INSUFFICIENT
from geo.surge import rate_surge_test
from geo.windows import CYCLES, baseline_step, covered_baselines, floor_hour, window_spans
from layers.hotspots import coverage_start, flagged_groups, hotspot_table, load_hotspot_settings
from layers.services.findings import Finding, nearest_place, rule_window
from layers.view import View

HOUR = timedelta(hours=1)
_RES_SHIFT = np.int64(52)


def _cycle(p: dict[str, Any]) -> str | None:
    cycle = p.get("cycle")
    if cycle is not None and cycle not in CYCLES:
        raise AlertError(f"rule cycle {cycle!r} must be one of {', '.join(CYCLES)}")
    return cycle


def _finding(store: Store, group: pd.DataFrame, evidence: dict[str, Any], opens: bool = True) -> Finding:
    """Return the finding of one group of touching cells; its title names the place and the 24 h counts."""
    people, events = int(group["people"].sum()), int(group["events"].sum())
    top = int(group.sort_values(["people", "cell"], ascending=[False, True])["cell"].iloc[0])  # int64 kept
    lat, lng = h3.cell_to_latlng(h3.int_to_str(top))
    cells = sorted(h3.int_to_str(int(c)) for c in group["cell"])
    place = nearest_place(store, lat, lng)
    window = evidence.get("window", "24h")
    return Finding(
        subject=f"surge:{cells[0]}",
        title=(f"Surge {place}: {people:,} people, {events:,} events in {window}, {len(cells)} cells").replace(
            "Surge :", "Surge:"
        ),
        lat=lat,
        lng=lng,
        cells=cells,
        evidence={"place": place, "people": people, "events": events, "cells": len(cells), **evidence},
        opens=opens,
    )


def surge_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    """Return the surges the rule finds now (see the module docstring for the two methods)."""
    method = rule.params.get("method", "category")
    if method == "rate":
        return _rate_findings(store, rule, now, region)
    if method == "category":
        return _category_findings(store, rule, now, region)
    raise AlertError(f"rule method {method!r} must be 'rate' or 'category'")


def hourly_counts(
    store: Store, res: int, end: datetime, hours: int, step: timedelta, weeks: int, bbox: BBox | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (current, baseline) ``cell, hour, events, people`` per whole hour before ``end`` (hour 0 latest).

    The baseline sums the same hours ``step``, 2 x ``step`` ... ``weeks`` x ``step`` earlier.
    """
    frames = []
    for k in range(weeks + 1):
        part = store.window_cell_counts(res, end - step * k, HOUR, hours, bbox).rename(columns={"window": "hour"})
        frames.append(part)
    current = frames[0]
    base = pd.concat(frames[1:], ignore_index=True) if weeks else current.iloc[:0]
    baseline = base.groupby(["cell", "hour"], as_index=False)[["events", "people"]].sum()
    return current, baseline


def _rate_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    p = rule.params
    try:
        res, weeks = int(p.get("res", 6)), int(p.get("weeks", 4))
        lengths = sorted(int(n) for n in p.get("lengths_h", (3, 6, 12, 24)))
        alpha, keep = float(p.get("alpha", 1e-4)), float(p.get("alpha_keep", 0.01))
        ratio0, min_people = float(p.get("ratio0", 1.0)), int(p.get("min_people", 0))
    except (TypeError, ValueError) as exc:
        raise AlertError(f"rate surge rule parameters: {exc}") from None
    if not (1 <= weeks <= 12) or not lengths or lengths[0] < 1 or lengths[-1] > 168:
        raise AlertError("rate surge rule needs weeks 1-12 and lengths_h between 1 and 168 hours")
    hours = max(lengths[-1], 24)
    step = baseline_step(timedelta(hours=hours), _cycle(p) or "weekly")
    end = floor_hour(now)
    spans = window_spans(end, timedelta(hours=hours), step, weeks, coverage_start(store, region))
    covered = covered_baselines(spans)
    settings, _k = load_hotspot_settings()
    if covered < settings.min_baseline_windows:
        return []  # insufficient baseline: never alerted on
    current, baseline = hourly_counts(store, res, end, hours, step, covered, region)
    try:
        table = rate_surge_test(current, baseline, covered, lengths, ratio0)
    except InvalidView as exc:
        raise AlertError(f"rate surge rule: {exc}") from None
    table["res"] = ((table["cell"].to_numpy(dtype=np.int64) >> _RES_SHIFT) & np.int64(0xF)).astype(np.int64)
    findings = []
    for group in flagged_groups(table[table["p_value"] <= keep]):
        if int(group["people"].sum()) < min_people:
            continue
        top = group.sort_values(["p_value", "cell"]).iloc[0].drop("cell")  # a float row: the cell is not needed
        test_hours = int(top["test_hours"])
        test_start = end - timedelta(hours=test_hours)
        evidence = {
            "p_value": float(f"{float(top['p_value']):.2g}"),
            "test_hours": test_hours,
            "window_events": int(top["window_events"]),
            "window_people": int(top["window_people"]),
            "baseline_mean": round(float(top["expected_events"]), 1),
            "baseline_mean_people": round(float(top["expected_people"]), 1),
            "resolution": res,
            "window": "24h",
            "window_start": _iso(test_start),
            "window_end": _iso(end),
            "baseline_windows": [[_iso(test_start - step * i), _iso(end - step * i)] for i in range(1, covered + 1)],
        }
        findings.append(_finding(store, group, evidence, opens=bool(group["p_value"].min() <= alpha)))
    return findings


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _category_findings(store: Store, rule: Rule, now: datetime, region: BBox | None) -> list[Finding]:
    p = rule.params
    res = int(p.get("res", 6))
    view = View(start=now - rule_window(p), end=now, resolution=res, bbox=region, metric="people")
    settings, _k = load_hotspot_settings()
    cycle = _cycle(p)
    if cycle is not None:
        settings = replace(settings, baseline_cycle=cycle)
    table = hotspot_table(store, view, settings)
    spans = table.attrs["windows"]
    rising = table["category"].isin(p.get("categories", ["large_increase"]))
    if "min_change_pct" in p:  # a stricter rise than the category's threshold ("new" has no percentage)
        rising &= (table["change_pct"] >= float(p["min_change_pct"])) | (table["category"] == "new")
    clustered = table["gi_bin"] >= int(p.get("min_gi_bin", 3))
    combine = p.get("combine", "or")
    if combine not in ("and", "or"):
        raise AlertError(f"rule combine {combine!r} must be 'and' or 'or'")
    flagged = table[((rising & clustered) if combine == "and" else (rising | clustered))]
    flagged = flagged[flagged["category"] != INSUFFICIENT]  # too short a baseline is never alerted on
    findings = []
    for group in flagged_groups(flagged):
        if int(group["people"].sum()) < int(p.get("min_people", 0)):
            continue
        evidence = {
            "baseline_mean_people": round(float(group["baseline_mean"].sum()), 1),
            "categories": sorted(set(group["category"])),
            "max_gi_bin": int(group["gi_bin"].max()),
            "max_gi_z": round(float(group["gi_z"].max()), 2),
            "resolution": res,
            "window": p.get("window", "24h"),
            "window_start": spans[0].to_json()["start"],
            "window_end": spans[0].to_json()["end"],
            "baseline_windows": [[w["start"], w["end"]] for w in (s.to_json() for s in spans[1:]) if w["covered"]],
        }
        findings.append(_finding(store, group, evidence))
    return findings
