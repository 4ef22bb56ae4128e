"""``hbm hotspots``: the hotspot statistics table from the command line."""

from __future__ import annotations

import argparse
import json
import math
from datetime import UTC, datetime
from typing import Any

import h3

from dashboard.cli_common import configured_store
from dashboard.settings import parse_bbox
from layers.hotspots import hotspot_table
from layers.view import WINDOWS, View

TABLE_COLUMNS = (
    "cell",
    "res",
    "current",
    "baseline_mean",
    "change_pct",
    "category",
    "gi_z",
    "gi_p",
    "gi_bin",
    "emerging",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def _span_text(span: Any) -> str:
    """Return ``YYYY-MM-DD HH:MM–YYYY-MM-DD HH:MM UTC`` for a window span."""
    return f"{span.start:%Y-%m-%d %H:%M}–{span.end:%Y-%m-%d %H:%M} UTC"


def cmd_hotspots(args: argparse.Namespace) -> int:
    """Print the hotspot table of a window: counts, baseline, change category, Gi* and trend per cell."""
    settings, _k = args.config.hotspots
    now = datetime.now(UTC)
    bbox = parse_bbox(args.bbox) if args.bbox else args.config.app.region
    view = View(
        start=now - WINDOWS[args.window],
        end=now,
        resolution=args.res,
        bbox=bbox,
        metric=args.value,
        window_label=args.window,
    )
    table = hotspot_table(configured_store(args.config), view, settings)
    spans = table.attrs["windows"]
    table = table.sort_values(["gi_z", "current"], ascending=False)
    if args.limit:
        table = table.head(args.limit)
    baseline = [f"w{i}" for i in range(1, settings.baseline_windows + 1)]
    if args.json:
        rows = []
        for row in table.to_dict("records"):
            item = {c: _jsonable(row[c]) for c in TABLE_COLUMNS}
            item["cell"] = h3.int_to_str(int(row["cell"]))
            item["baseline"] = [_jsonable(row[c]) for c in baseline]
            item["events"], item["people"] = int(row["events"]), int(row["people"])
            rows.append(item)
        current = spans[0].to_json()
        out = {
            "window": args.window,
            "window_start": current["start"],
            "window_end": current["end"],
            "baseline_windows": [s.to_json() for s in spans[1:]],
            "value": args.value,
            "res": args.res,
            "cells": rows,
        }
        print(json.dumps(out, indent=1))
        return 0
    print(f"{len(table):,} cells · {args.value} · window {args.window} {_span_text(spans[0])} · res {args.res}")
    missing = " (before the data: missing)"
    print("baseline: " + "; ".join(_span_text(s) + ("" if s.covered else missing) for s in spans[1:]))
    head = f"{'cell':<16}{'now':>7}{'base':>8}{'change':>8}  {'category':<22}{'z':>6}{'p':>8}{'bin':>4}  trend"
    print(head)
    for row in table.to_dict("records"):
        change = "—" if math.isnan(row["change_pct"]) else f"{row['change_pct']:+.0f}%"
        base = "—" if math.isnan(row["baseline_mean"]) else f"{row['baseline_mean']:.1f}"
        print(
            f"{h3.int_to_str(int(row['cell'])):<16}{int(row['current']):>7}{base:>8}{change:>8}  "
            f"{row['category']:<22}{row['gi_z']:>6.2f}{row['gi_p']:>8.4f}{int(row['gi_bin']):>4}  {row['emerging']}"
        )
    return 0


def add_commands(sub: Any) -> None:
    """Add ``hbm hotspots``."""
    hot = sub.add_parser("hotspots", help="print the hotspot statistics table")
    hot.add_argument("--window", choices=list(WINDOWS), default="7d", help="time window ending now (default 7d)")
    hot.add_argument("--res", type=int, choices=range(4, 10), default=6, metavar="4-9", help="H3 resolution")
    hot.add_argument("--bbox", help="W,S,E,N in degrees (default: HBM_REGION_BBOX)")
    hot.add_argument("--value", choices=["events", "people"], default="events", help="what is counted")
    hot.add_argument("--limit", type=int, default=0, help="print only the first N cells (strongest first)")
    hot.add_argument("--json", action="store_true", help="print JSON")
    hot.set_defaults(func=cmd_hotspots)

