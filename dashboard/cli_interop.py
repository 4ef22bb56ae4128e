"""``hbm users token|tokens|revoke-token`` (API tokens), ``hbm notify`` (alert notifications), ``hbm tak send``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dashboard.cli_users import cli_actor, printable
from data import api_tokens
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store


def _store() -> Store:
    return open_store(load_store_settings())


def _group(sub: Any, name: str) -> Any:
    """Return the sub-parsers of the existing ``hbm NAME`` group (added by an earlier module)."""
    parser = sub.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


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


def add_commands(sub: Any) -> None:
    """Add token commands to ``hbm users``, and the ``notify`` and ``tak`` groups."""
    users = _group(sub, "users")
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
