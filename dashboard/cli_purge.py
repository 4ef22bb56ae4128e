"""``hbm purge``: delete raw events older than the retention period (audited)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.cli_common import cli_actor, configured_store
from data import audit_log
from data.retention import count_older, parse_age, purge_events
from geo.errors import HbmError


def cmd_purge(args: argparse.Namespace) -> int:
    """Hard-delete raw events older than the retention period (audited)."""
    retention = args.config.retention
    age = parse_age(args.older_than) if args.older_than else timedelta(days=retention.days)
    keep = retention.keep_aggregates if args.keep_aggregates is None else args.keep_aggregates
    store = configured_store(args.config)
    now = datetime.now(UTC)
    cutoff = now - age
    found = count_older(store, cutoff)
    what = "keeping" if keep else "dropping"
    if found and not args.yes:
        if not sys.stdin.isatty():
            raise HbmError(f"{found:,} events would be deleted: confirm with --yes (no terminal to ask on)")
        answer = input(
            f"Delete {found:,} events that occurred before {cutoff:%Y-%m-%d %H:%M} UTC, "
            f"{what} their hourly aggregates? This cannot be undone. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    with audit_log.acting_as(cli_actor()):
        result = purge_events(store, age, keep, now=now)
    print(
        f"purged {result.events:,} events that occurred before {result.cutoff:%Y-%m-%d %H:%M} UTC "
        f"({what} hourly aggregates; {result.aggregate_rows:,} aggregate rows deleted)"
    )
    return 0


def add_commands(sub: Any) -> None:
    """Add ``hbm purge``."""
    purge = sub.add_parser("purge", help="delete raw events older than the retention period (audited)")
    purge.add_argument("--older-than", help="age such as 365d, 52w (default HBM_RETENTION_DAYS, 365 days)")
    keep = purge.add_mutually_exclusive_group()
    keep.add_argument(
        "--keep-aggregates",
        dest="keep_aggregates",
        action="store_const",
        const=True,
        default=None,
        help="keep the hourly per-cell counts of purged events (default: HBM_RETENTION_KEEP_AGGREGATES=true)",
    )
    keep.add_argument(
        "--drop-aggregates", dest="keep_aggregates", action="store_const", const=False, help="delete them too"
    )
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(func=cmd_purge)
