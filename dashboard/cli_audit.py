"""``hbm audit``: the audit log (logins, exports, plan edits, user and rule changes) and ``hbm audit exports``."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.cli_common import configured_store, printable
from data import audit_log
from data.audit import list_exports
from geo.errors import HbmError

_RELATIVE = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_when(raw: str, now: datetime) -> datetime:
    """Return the instant in ``24h``/``7d``/``30m`` (ago) or ISO 8601 text (UTC unless it says otherwise)."""
    text = raw.strip().lower()
    match = _RELATIVE.fullmatch(text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        hint = "an age such as 24h, 7d, 30m or a UTC time such as 2026-11-20 06:00"
        raise HbmError(f"time {raw!r} must be {hint}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _limit(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if not 1 <= value <= audit_log.MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {audit_log.MAX_LIMIT}")
    return value


def cmd_audit_log(args: argparse.Namespace) -> int:
    """Print the audit log, newest first, with filters."""
    now = datetime.now(UTC)
    since = parse_when(args.since, now) if args.since else None
    until = parse_when(args.until, now) if args.until else None
    store = configured_store(args.config)
    entries = audit_log.query(
        store, action=args.action, who=args.who, since=since, until=until, limit=args.limit, target=args.target
    )
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
        return 0
    if not entries:
        print("no audit entries match")
        return 0
    print(f"{'id':>6}  {'at (UTC)':<19}  {'who':<16} {'action':<22} {'target':<24} {'ip':<15} detail")
    for e in entries:
        detail = json.dumps(e.detail, sort_keys=True, separators=(",", ":")) if e.detail else ""
        head = f"{e.id:>6}  {e.at:%Y-%m-%d %H:%M:%S}  {printable(e.who)[:16]:<16} {printable(e.action)[:22]:<22}"
        print(f"{head} {printable(e.target or '-')[:24]:<24} {printable(e.ip or '-'):<15} {printable(detail)[:200]}")
    return 0


def _log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--action", help="only this action (e.g. login_failed), or a prefix ending in * (sar_plan_*)")
    parser.add_argument("--who", help="only this user (or cli:NAME, system)")
    parser.add_argument("--target", help="only rows about this target (a user, plan id, rule id, format)")
    parser.add_argument("--since", help="from: an age (24h, 7d, 30m) or a UTC time (2026-11-20 06:00)")
    parser.add_argument("--until", help="before: an age or a UTC time")
    parser.add_argument("--limit", type=_limit, default=200, help="at most this many rows (default 200)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def cmd_audit_exports(args: argparse.Namespace) -> int:
    """List audited exports, newest first."""
    store = configured_store(args.config)
    records = list_exports(store, limit=args.limit)
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return 0
    if not records:
        print("no exports recorded")
        return 0
    print(f"{'id':>5}  {'at (UTC)':<19}  {'who':<12} {'format':<8} {'bytes':>11}  features / file")
    for r in records:
        counts = " ".join(f"{k}={v}" for k, v in r.feature_counts.items()) or "-"
        size = f"{r.bytes:,}" if r.bytes is not None else "-"
        line = f"{r.id:>5}  {r.at:%Y-%m-%d %H:%M:%S}  {r.who[:12]:<12} {r.format:<8} {size:>11}"
        print(f"{line}  {counts}  {r.filename or ''}")
    return 0


def _export_limit(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_commands(sub: Any) -> None:
    """Add ``hbm audit`` (the log, also as ``hbm audit log``) and ``hbm audit exports``."""
    audit = sub.add_parser("audit", help="audit logs")
    audit_sub = audit.add_subparsers(dest="audit_command", required=False)  # plain `hbm audit` lists the log
    audit.description = "With no sub-command: the audit log (logins, exports, plan edits, user and rule changes)."
    _log_options(audit)
    audit.set_defaults(func=cmd_audit_log)
    log = audit_sub.add_parser("log", help="the audit log, newest first (the default)")
    _log_options(log)
    log.set_defaults(func=cmd_audit_log)
    exports = audit_sub.add_parser("exports", help="list exports, newest first")
    exports.add_argument("--json", action="store_true", help="print JSON")
    exports.add_argument("--limit", type=_export_limit, default=50, help="how many (default 50)")
    exports.set_defaults(func=cmd_audit_exports)
