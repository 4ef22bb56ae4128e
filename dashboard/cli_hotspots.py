"""``hbm hotspots`` and ``hbm alerts``: the hotspot table and early-warning rules from the command line.

``hbm alerts run`` evaluates the rules once, so cron can raise alerts when no dashboard is open.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime
from typing import Any

import h3

from dashboard.settings import load_app_settings, parse_bbox
from data.alerts import Rule, acknowledge, list_alerts, load_rules, save_rule
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from geo.errors import HbmError
from layers.hotspots import hotspot_table, load_hotspot_settings
from layers.services.alerts import ensure_default_rules, evaluate_rules
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


def _store() -> Store:
    return open_store(load_store_settings())


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
    settings, _k = load_hotspot_settings()
    now = datetime.now(UTC)
    bbox = parse_bbox(args.bbox) if args.bbox else load_app_settings().region
    view = View(
        start=now - WINDOWS[args.window],
        end=now,
        resolution=args.res,
        bbox=bbox,
        metric=args.value,
        window_label=args.window,
    )
    table = hotspot_table(_store(), view, settings)
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


def cmd_alerts_run(args: argparse.Namespace) -> int:
    """Evaluate every enabled rule once and print what changed."""
    store = _store()
    now = datetime.now(UTC)
    ensure_default_rules(store, now)
    result = evaluate_rules(store, now, load_app_settings().region)
    for label, alerts in (("opened", result.opened), ("updated", result.updated), ("closed", result.closed)):
        for alert in alerts:
            print(f"{label:<8} {alert.id}  {alert.severity:<8} {alert.title}")
    for error in result.errors:
        print(f"hbm: warning: {error}", file=sys.stderr)
    print(f"{len(result.opened)} opened, {len(result.updated)} updated, {len(result.closed)} closed")
    return 1 if result.errors else 0


def cmd_alerts_list(args: argparse.Namespace) -> int:
    """Print open and recent alerts, newest first."""
    alerts = list_alerts(_store(), status=None if args.all else "open", limit=args.limit)
    if args.json:
        print(json.dumps([a.to_json() for a in alerts], indent=1))
        return 0
    if not alerts:
        print("no open alerts" if not args.all else "no alerts")
    for a in alerts:
        ack = f"acked by {a.acked_by} {a.acked_at:%d %b %H:%M}" if a.acked_by and a.acked_at else "not acknowledged"
        print(f"{a.id}  {a.status:<6} {a.severity:<8} {a.opened_at:%Y-%m-%d %H:%M} UTC  {a.title}  ({ack})")
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    """Acknowledge an alert."""
    alert = acknowledge(_store(), args.alert_id, args.who, datetime.now(UTC))
    print(f"{alert.id} acknowledged by {alert.acked_by}")
    return 0


def cmd_alerts_rules(args: argparse.Namespace) -> int:
    """List the stored rules (seeding the defaults on first use)."""
    store = _store()
    ensure_default_rules(store, datetime.now(UTC))
    rules = load_rules(store)
    if args.json:
        print(json.dumps([{**r.__dict__, "updated_at": str(r.updated_at)} for r in rules], indent=1, default=str))
        return 0
    for r in rules:
        state = "on " if r.enabled else "off"
        print(f"{r.id:<20} {state} {r.severity:<8} {r.kind:<16} {json.dumps(r.params, sort_keys=True)}  {r.name}")
    return 0


def cmd_alerts_set_rule(args: argparse.Namespace) -> int:
    """Create or change a rule: kind, parameters (JSON), severity, on/off, clear-after time."""
    store = _store()
    now = datetime.now(UTC)
    ensure_default_rules(store, now)
    existing = {r.id: r for r in load_rules(store)}.get(args.rule_id)
    try:
        params = json.loads(args.params) if args.params else None
    except json.JSONDecodeError as exc:
        raise HbmError(f"--params is not JSON: {exc.msg} at character {exc.pos}") from None
    if params is not None and not isinstance(params, dict):
        raise HbmError("--params must be a JSON object, e.g. '{\"min_people\": 100}'")
    if existing is None and not (args.kind and args.name):
        raise HbmError(f"no rule {args.rule_id!r}: a new rule needs --kind and --name")
    rule = existing or Rule(id=args.rule_id, name=args.name, kind=args.kind, params={})
    rule.name = args.name or rule.name
    rule.kind = args.kind or rule.kind
    rule.params = {**rule.params, **(params or {})}
    rule.severity = args.severity or rule.severity
    rule.clear_after_s = args.clear_after_s if args.clear_after_s is not None else rule.clear_after_s
    if args.enable or args.disable:
        rule.enabled = bool(args.enable)
    save_rule(store, rule, now, who=args.who)
    print(f"rule {rule.id} saved")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``hotspots`` and ``alerts`` to the ``hbm`` command line."""
    hot = sub.add_parser("hotspots", help="print the hotspot statistics table")
    hot.add_argument("--window", choices=list(WINDOWS), default="7d", help="time window ending now (default 7d)")
    hot.add_argument("--res", type=int, choices=range(4, 10), default=6, metavar="4-9", help="H3 resolution")
    hot.add_argument("--bbox", help="W,S,E,N in degrees (default: HBM_REGION_BBOX)")
    hot.add_argument("--value", choices=["events", "people"], default="events", help="what is counted")
    hot.add_argument("--limit", type=int, default=0, help="print only the first N cells (strongest first)")
    hot.add_argument("--json", action="store_true", help="print JSON")
    hot.set_defaults(func=cmd_hotspots)

    alerts = sub.add_parser("alerts", help="early-warning rules and alerts").add_subparsers(
        dest="alerts_command", required=True
    )
    run = alerts.add_parser("run", help="evaluate the rules once (for cron)")
    run.set_defaults(func=cmd_alerts_run)
    lst = alerts.add_parser("list", help="open alerts (or all with --all)")
    lst.add_argument("--all", action="store_true", help="include closed alerts")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=cmd_alerts_list)
    ack = alerts.add_parser("ack", help="acknowledge an alert")
    ack.add_argument("alert_id")
    ack.add_argument("--who", required=True, help="name or call sign")
    ack.set_defaults(func=cmd_alerts_ack)
    rules = alerts.add_parser("rules", help="list the rules")
    rules.add_argument("--json", action="store_true", help="print JSON")
    rules.set_defaults(func=cmd_alerts_rules)
    rule = alerts.add_parser("set-rule", help="create or change a rule")
    rule.add_argument("rule_id")
    rule.add_argument("--name")
    rule.add_argument("--kind", choices=["hotspot_surge", "distress_in_sar", "crossing_closed"])
    rule.add_argument("--params", help="JSON object merged into the rule's parameters, e.g. '{\"min_people\": 100}'")
    rule.add_argument("--severity", choices=["info", "warning", "critical"])
    rule.add_argument("--clear-after-s", type=int, dest="clear_after_s")
    onoff = rule.add_mutually_exclusive_group()
    onoff.add_argument("--enable", action="store_true")
    onoff.add_argument("--disable", action="store_true")
    rule.add_argument("--who", default="cli", help="who changed the rule")
    rule.set_defaults(func=cmd_alerts_set_rule)
