"""``hbm alerts``: early-warning rules and alerts from the command line.

``hbm alerts run`` evaluates the rules once, so cron can raise alerts when no dashboard is open.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from dashboard.cli_common import configured_store
from data.alerts import Rule, acknowledge, list_alerts, load_rules, save_rule
from geo.errors import HbmError
from layers.services.alerts import ensure_default_rules, evaluate_rules


def cmd_alerts_run(args: argparse.Namespace) -> int:
    """Evaluate every enabled rule once and print what changed."""
    store = configured_store(args.config)
    now = datetime.now(UTC)
    ensure_default_rules(store, now)
    result = evaluate_rules(store, now, args.config.app.region)
    for label, alerts in (("opened", result.opened), ("updated", result.updated), ("closed", result.closed)):
        for alert in alerts:
            print(f"{label:<8} {alert.id}  {alert.severity:<8} {alert.title}")
    for error in result.errors:
        print(f"hbm: warning: {error}", file=sys.stderr)
    print(f"{len(result.opened)} opened, {len(result.updated)} updated, {len(result.closed)} closed")
    return 1 if result.errors else 0


def cmd_alerts_list(args: argparse.Namespace) -> int:
    """Print open and recent alerts, newest first."""
    alerts = list_alerts(configured_store(args.config), status=None if args.all else "open", limit=args.limit)
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
    alert = acknowledge(configured_store(args.config), args.alert_id, args.who, datetime.now(UTC))
    print(f"{alert.id} acknowledged by {alert.acked_by}")
    return 0


def cmd_alerts_rules(args: argparse.Namespace) -> int:
    """List the stored rules (seeding the defaults on first use)."""
    store = configured_store(args.config)
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
    store = configured_store(args.config)
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
    """Add ``hbm alerts``."""
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
