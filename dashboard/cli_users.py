"""``hbm users`` (accounts), ``hbm audit`` (the audit log) and ``hbm purge`` (retention of raw events)."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from dashboard.cli_groups import command_group
from dashboard.permissions import ROLES
from data import audit_log, users
from data.open import open_store
from data.retention import count_older, load_retention_settings, parse_age, purge_events
from data.settings import load_store_settings
from data.store import Store
from geo.errors import HbmError


def _store() -> Store:
    return open_store(load_store_settings())


def cli_actor() -> str:
    """Return who runs the command, for the audit log: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def printable(value: Any) -> str:
    """Return ``value`` as text with control characters replaced, so stored text cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))


# -- users -----------------------------------------------------------------------------------------
def read_password(args: argparse.Namespace, name: str) -> str:
    """Return the new password: one line from stdin with ``--password-stdin``, else asked twice on the terminal."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise users.UserError("no password on stdin (give it as one line)")
        return users.check_password(password)
    if not sys.stdin.isatty():
        raise users.UserError("no terminal to ask for the password on: pipe it in with --password-stdin")
    first = getpass.getpass(f"Password for {name} (at least {users.MIN_PASSWORD} characters): ")
    users.check_password(first)
    if getpass.getpass("Same password again: ") != first:
        raise users.UserError("the two passwords differ: nothing was changed")
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add a user with a role; the password is asked for or read from stdin."""
    name, role = users.normalise_name(args.name), users.check_role(args.role)
    store = _store()
    if users.get_user(store, name) is not None:  # before asking for a password nobody will use
        raise users.UserError(f"user {name!r} already exists (see `hbm users list`)")
    password = read_password(args, name)
    user = users.add_user(store, name, role, password, created_by=cli_actor())
    print(f"added {user.name} ({user.role})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List users (never their password hashes)."""
    found = users.list_users(_store())
    if args.json:
        print(json.dumps([u.as_dict() for u in found], indent=2))
        return 0
    if not found:
        print("no users yet: add one with `hbm users add NAME --role admin`")
        return 0
    print(f"{'name':<24} {'role':<16} {'status':<9} {'created (UTC)':<17} created by")
    for u in found:
        status = "disabled" if u.disabled else "enabled"
        line = f"{printable(u.name):<24} {u.role:<16} {status:<9} {u.created_at:%Y-%m-%d %H:%M}"
        print(f"{line} {printable(u.created_by or '-')}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    """Disable a user and end their sessions."""
    user = users.disable(_store(), args.name, by=cli_actor())
    print(f"disabled {user.name}; their sessions are ended")
    return 0


def cmd_users_enable(args: argparse.Namespace) -> int:
    """Enable a disabled user."""
    user = users.enable(_store(), args.name, by=cli_actor())
    print(f"enabled {user.name} ({user.role})")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    """Give a user another role."""
    user = users.set_role(_store(), args.name, args.role, by=cli_actor())
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_users_set_password(args: argparse.Namespace) -> int:
    """Set a new password (asked for, or from stdin) and end the user's sessions."""
    store = _store()
    name = users.normalise_name(args.name)
    if users.get_user(store, name) is None:
        raise users.UserError(f"no user {name!r} (see `hbm users list`)")
    user = users.set_password(store, name, read_password(args, name), by=cli_actor())
    print(f"new password set for {user.name}; their sessions are ended")
    return 0


# -- audit log -------------------------------------------------------------------------------------
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
    entries = audit_log.query(
        _store(), action=args.action, who=args.who, since=since, until=until, limit=args.limit, target=args.target
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


# -- purge -----------------------------------------------------------------------------------------
def cmd_purge(args: argparse.Namespace) -> int:
    """Hard-delete raw events older than the retention period (audited)."""
    retention = load_retention_settings()
    age = parse_age(args.older_than) if args.older_than else timedelta(days=retention.days)
    keep = retention.keep_aggregates if args.keep_aggregates is None else args.keep_aggregates
    store = _store()
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


def _audit_group(sub: Any) -> tuple[argparse.ArgumentParser, Any]:
    """Return the ``audit`` parser and its sub-parsers (``hbm audit exports`` comes from cli_export)."""
    parser, group = command_group(sub, "audit", help="audit logs", dest="audit_command", required=False)
    group.required = False  # plain `hbm audit` lists the log
    return parser, group


def add_commands(sub: Any) -> None:
    """Add ``users``, ``audit`` (the log; ``audit exports`` stays) and ``purge`` to the ``hbm`` sub-parsers."""
    _, group = command_group(sub, "users", help="manage who may sign in", dest="users_command")
    add = group.add_parser("add", help="add a user (the password is asked for, or read with --password-stdin)")
    add.add_argument("name", help="user name: letters, digits and . _ @ - (stored in lower case)")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    add.add_argument("--password-stdin", action="store_true", help="read the password as one line from stdin")
    add.set_defaults(func=cmd_users_add)
    listing = group.add_parser("list", help="list users")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_users_list)
    for name, func, text in (
        ("disable", cmd_users_disable, "disable a user and end their sessions"),
        ("enable", cmd_users_enable, "enable a disabled user"),
    ):
        p = group.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(func=func)
    role = group.add_parser("set-role", help="give a user another role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(func=cmd_users_set_role)
    pw = group.add_parser("set-password", help="set a new password (ends the user's sessions)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read the password as one line from stdin")
    pw.set_defaults(func=cmd_users_set_password)

    audit, audit_sub = _audit_group(sub)
    audit.description = "With no sub-command: the audit log (logins, exports, plan edits, user and rule changes)."
    _log_options(audit)
    audit.set_defaults(func=cmd_audit_log)
    log = audit_sub.add_parser("log", help="the audit log, newest first (the default)")
    _log_options(log)
    log.set_defaults(func=cmd_audit_log)

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
