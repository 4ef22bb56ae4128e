"""``hbm notify``: who an alert rule notifies (e-mail, webhooks), the outbox, its worker and dead letters."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli_common import cli_actor, configured_store, printable
from geo.errors import HbmError


def cmd_notify_set(args: argparse.Namespace) -> int:
    """Set who a rule notifies (e-mail addresses, webhook URLs, on closing too)."""
    from datetime import UTC, datetime

    from data.alerts import load_rules, save_rule
    from data.notify import check_notify

    store = configured_store(args.config)
    rule = next((r for r in load_rules(store) if r.id == args.rule), None)
    if rule is None:
        raise HbmError(f"no rule {args.rule!r} (see the alerts panel or `hbm audit --action rule_change`)")
    spec = {"email": args.email or [], "webhook": args.webhook or [], "on_close": args.on_close}
    check_notify(spec)
    rule.params = {**rule.params, "notify": spec}
    save_rule(store, rule, datetime.now(UTC), who=cli_actor())
    print(f"rule {rule.id} notifies {len(spec['email'])} e-mail and {len(spec['webhook'])} webhook target(s)")
    return 0


def _print_outbox(rows: list[Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        print("nothing")
        return
    print(f"{'id':>6}  {'status':<8} {'tries':>5}  {'channel':<8} {'event':<20} {'alert':<14} target / last error")
    for r in rows:
        head = f"{r.id:>6}  {r.status:<8} {r.attempts:>5}  {r.channel:<8} {printable(r.event)[:20]:<20}"
        print(f"{head} {printable(r.alert_id)[:14]:<14} {printable(r.target)[:60]}  {printable(r.last_error or '')}")


def cmd_notify_list(args: argparse.Namespace) -> int:
    """List the notification outbox (or only dead letters)."""
    from data.notify import list_outbox

    status = "dead" if args.command_name == "dead-letters" else args.status
    _print_outbox(list_outbox(configured_store(args.config), status, args.limit), args.json)
    return 0


def cmd_notify_run(args: argparse.Namespace) -> int:
    """Send due notifications once, or every N seconds (run one such worker per deployment)."""
    import time

    from data.notify import deliver_due

    store = configured_store(args.config)
    while True:
        counts = deliver_due(store)
        print(f"sent {counts['sent']}, will retry {counts['retry']}, dead letters {counts['dead']}", flush=True)
        if not args.every:
            return 0
        time.sleep(args.every)


def cmd_notify_retry(args: argparse.Namespace) -> int:
    """Queue dead letters again (all, or the ids given)."""
    from data.notify import retry_dead

    n = retry_dead(configured_store(args.config), args.ids or None, who=cli_actor())
    print(f"{n} dead letter(s) queued again")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``hbm notify``."""
    notify = sub.add_parser("notify", help="alert notifications by e-mail and webhook").add_subparsers(
        dest="notify_command", required=True
    )
    setter = notify.add_parser("set", help="who a rule notifies")
    setter.add_argument("rule", help="rule id")
    setter.add_argument("--email", action="append", help="an e-mail address (repeat for more)")
    setter.add_argument("--webhook", action="append", help="a Slack/Teams/Mattermost incoming-webhook URL (repeat)")
    setter.add_argument("--on-close", action="store_true", help="also notify when the alert closes")
    setter.set_defaults(func=cmd_notify_set)
    for name, text in (("list", "the outbox, newest first"), ("dead-letters", "messages that failed every retry")):
        p = notify.add_parser(name, help=text)
        p.add_argument("--status", choices=("pending", "sent", "dead"), help="only this status")
        p.add_argument("--limit", type=int, default=200)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=cmd_notify_list, command_name=name)
    run = notify.add_parser("run", help="send what is due (the worker step)")
    run.add_argument("--every", type=float, help="keep running, every this many seconds")
    run.set_defaults(func=cmd_notify_run)
    retry = notify.add_parser("retry", help="queue dead letters again")
    retry.add_argument("ids", nargs="*", type=int)
    retry.set_defaults(func=cmd_notify_retry)
