"""``hbm users``: accounts, roles and passwords of who may sign in, and their API tokens (OGC API, live KML)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from dashboard.cli_common import cli_actor, configured_store, printable
from dashboard.permissions import ROLES
from data import api_tokens, users


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
    store = configured_store(args.config)
    if users.get_user(store, name) is not None:  # before asking for a password nobody will use
        raise users.UserError(f"user {name!r} already exists (see `hbm users list`)")
    password = read_password(args, name)
    user = users.add_user(store, name, role, password, created_by=cli_actor())
    print(f"added {user.name} ({user.role})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """List users (never their password hashes)."""
    found = users.list_users(configured_store(args.config))
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
    user = users.disable(configured_store(args.config), args.name, by=cli_actor())
    print(f"disabled {user.name}; their sessions are ended")
    return 0


def cmd_users_enable(args: argparse.Namespace) -> int:
    """Enable a disabled user."""
    user = users.enable(configured_store(args.config), args.name, by=cli_actor())
    print(f"enabled {user.name} ({user.role})")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    """Give a user another role."""
    user = users.set_role(configured_store(args.config), args.name, args.role, by=cli_actor())
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_users_set_password(args: argparse.Namespace) -> int:
    """Set a new password (asked for, or from stdin) and end the user's sessions."""
    store = configured_store(args.config)
    name = users.normalise_name(args.name)
    if users.get_user(store, name) is None:
        raise users.UserError(f"no user {name!r} (see `hbm users list`)")
    user = users.set_password(store, name, read_password(args, name), by=cli_actor())
    print(f"new password set for {user.name}; their sessions are ended")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Create an API token for a user and print it once."""
    token = api_tokens.create_token(configured_store(args.config), args.name, args.label, by=cli_actor())
    print(token)
    print(
        f"# API token for {args.name}: shown once, stored only as a hash. Use it as "
        "'Authorization: Bearer <token>' (QGIS/GDAL) or ?token=<token> in the KML link. "
        f"Revoke with `hbm users revoke-token {args.name} --prefix {token[: api_tokens.PREFIX_SHOWN]}`.",
    )
    return 0


def cmd_tokens(args: argparse.Namespace) -> int:
    """List API tokens (never the tokens themselves)."""
    found = api_tokens.list_tokens(configured_store(args.config), args.name)
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
    n = api_tokens.revoke(configured_store(args.config), args.name, args.prefix, by=cli_actor())
    print(f"revoked {n} token{'s' if n != 1 else ''} of {args.name}")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``hbm users``: accounts, roles, passwords and API tokens."""
    group = sub.add_parser("users", help="manage who may sign in").add_subparsers(dest="users_command", required=True)
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
    token = group.add_parser("token", help="create an API token for NAME (OGC API, live KML); shown once")
    token.add_argument("name")
    token.add_argument("--label", help="what the token is for, e.g. 'QGIS on the GIS officer laptop'")
    token.set_defaults(func=cmd_token)
    tokens = group.add_parser("tokens", help="list API tokens (prefix, user, last use)")
    tokens.add_argument("name", nargs="?")
    tokens.add_argument("--json", action="store_true", help="print JSON")
    tokens.set_defaults(func=cmd_tokens)
    revoke = group.add_parser("revoke-token", help="revoke NAME's API tokens (all, or the one with --prefix)")
    revoke.add_argument("name")
    revoke.add_argument("--prefix", help="the token's first 12 characters, as `hbm users tokens` lists them")
    revoke.set_defaults(func=cmd_revoke)
