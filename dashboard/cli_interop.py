"""``hbm users token|tokens|revoke-token`` (API tokens), ``hbm notify`` (alert notifications), ``hbm tak send``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli_groups import command_group
from dashboard.cli_users import cli_actor, printable
from data import api_tokens
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from geo.errors import HbmError


def _store() -> Store:
    return open_store(load_store_settings())


def cmd_token(args: argparse.Namespace) -> int:
    """Create an API token for a user and print it once."""
    token = api_tokens.create_token(_store(), args.name, args.label, by=cli_actor())
    print(token)
    print(
        f"# API token for {args.name}: shown once, stored only as a hash. Use it as "
        "'Authorization: Bearer <token>' (QGIS/GDAL) or ?token=<token> in the KML link. "
        f"Revoke with `hbm users revoke-token {args.name} --prefix {token[: api_tokens.PREFIX_SHOWN]}`.",
    )
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    """List API tokens (never the tokens themselves)."""
    found = api_tokens.list_tokens(_store(), args.name)
    if args.json:
        print(json.dumps([t.as_dict() for t in found], indent=2))
        return 0
    if not found:
        print("no API tokens")
        return 0
    print(f"{'prefix':<14} {'user':<20} {'created (UTC)':<17} {'last used':<17} {'status':<8} label")
    for t in found:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-"
        status = "revoked" if t.revoked_at else "live"
        line = f"{t.prefix:<14} {printable(t.user_name):<20} {t.created_at:%Y-%m-%d %H:%M} {used:<17} {status:<8}"
        print(f"{line} {printable(t.label or '')}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke one (``--prefix``) or all live API tokens of a user."""
    n = api_tokens.revoke(_store(), args.name, args.prefix, by=cli_actor())
    print(f"revoked {n} token{'s' if n != 1 else ''} of {args.name}")
    return 0


def cmd_notify_set(args: argparse.Namespace) -> int:
    """Set who a rule notifies (e-mail addresses, webhook URLs, on closing too)."""
    from datetime import UTC, datetime

    from data.alerts import load_rules, save_rule
    from data.notify import check_notify

    store = _store()
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
    _print_outbox(list_outbox(_store(), status, args.limit), args.json)
    return 0


def cmd_notify_run(args: argparse.Namespace) -> int:
    """Send due notifications once, or every N seconds (run one such worker per deployment)."""
    import time

    from data.notify import deliver_due

    store = _store()
    while True:
        counts = deliver_due(store)
        print(f"sent {counts['sent']}, will retry {counts['retry']}, dead letters {counts['dead']}", flush=True)
        if not args.every:
            return 0
        time.sleep(args.every)


def cmd_notify_retry(args: argparse.Namespace) -> int:
    """Queue dead letters again (all, or the ids given)."""
    from data.notify import retry_dead

    n = retry_dead(_store(), args.ids or None, who=cli_actor())
    print(f"{n} dead letter(s) queued again")
    return 0


def cmd_tak_send(args: argparse.Namespace) -> int:
    """Send open alerts and SAR sectors as CoT to HBM_TAK_URL (once, or every N seconds)."""
    import time

    from dashboard.tak import push_to_tak

    store = _store()
    while True:
        batch = push_to_tak(store, who=cli_actor())
        print(f"sent {batch.alerts} alert(s) and {batch.sectors} SAR sector(s) as CoT", flush=True)
        if not args.every:
            return 0
        time.sleep(args.every)


def add_commands(sub: Any) -> None:
    """Add token commands to ``hbm users``, and the ``notify`` and ``tak`` groups."""
    _, users = command_group(sub, "users", help="manage who may sign in", dest="users_command")
    token = users.add_parser("token", help="create an API token for NAME (OGC API, live KML); shown once")
    token.add_argument("name")
    token.add_argument("--label", help="what the token is for, e.g. 'QGIS on the GIS officer laptop'")
    token.set_defaults(func=cmd_token)
    tokens = users.add_parser("tokens", help="list API tokens (prefix, user, last use)")
    tokens.add_argument("name", nargs="?")
    tokens.add_argument("--json", action="store_true", help="print JSON")
    tokens.set_defaults(func=cmd_tokens)
    revoke = users.add_parser("revoke-token", help="revoke NAME's API tokens (all, or the one with --prefix)")
    revoke.add_argument("name")
    revoke.add_argument("--prefix", help="the token's first 12 characters, as `hbm users tokens` lists them")
    revoke.set_defaults(func=cmd_revoke)

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

    tak = sub.add_parser("tak", help="Cursor on Target to a TAK server").add_subparsers(
        dest="tak_command", required=True
    )
    send = tak.add_parser("send", help="send open alerts and SAR sectors as CoT to HBM_TAK_URL")
    send.add_argument("--every", type=float, help="keep sending, every this many seconds")
    send.set_defaults(func=cmd_tak_send)
