"""``hbm tak send``: open alerts and SAR sectors as Cursor on Target to a TAK server."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli_common import cli_actor, configured_store


def cmd_tak_send(args: argparse.Namespace) -> int:
    """Send open alerts and SAR sectors as CoT to HBM_TAK_URL (once, or every N seconds)."""
    import time

    from dashboard.tak import push_to_tak

    store = configured_store(args.config)
    while True:
        batch = push_to_tak(store, who=cli_actor())
        print(f"sent {batch.alerts} alert(s) and {batch.sectors} SAR sector(s) as CoT", flush=True)
        if not args.every:
            return 0
        time.sleep(args.every)


def add_commands(sub: Any) -> None:
    """Add ``hbm tak``."""
    tak = sub.add_parser("tak", help="Cursor on Target to a TAK server").add_subparsers(
        dest="tak_command", required=True
    )
    send = tak.add_parser("send", help="send open alerts and SAR sectors as CoT to HBM_TAK_URL")
    send.add_argument("--every", type=float, help="keep sending, every this many seconds")
    send.set_defaults(func=cmd_tak_send)
