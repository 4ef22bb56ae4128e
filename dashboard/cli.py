"""The ``hbm`` command line: db init/status, demo, serve."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dashboard.logs import configure_logging
from dashboard.settings import AppSettings, load_app_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from geo.errors import HbmError, StoreUnavailable


def _store() -> Store:
    return open_store(load_store_settings())


def cmd_db_init(_args: argparse.Namespace) -> int:
    """Create the schema (idempotent)."""
    store = _store()
    store.init_schema()
    print(f"schema ready ({store.backend}: {getattr(store, 'label', '')})")
    return 0


def cmd_db_status(_args: argparse.Namespace) -> int:
    """Print the backend, table counts and the current revision."""
    store = _store()
    counts = store.counts()
    revs = store.revisions()
    print(f"backend   {store.backend} ({getattr(store, 'label', '')})")
    for table, n in counts.items():
        print(f"{table:<16}{n:>10,}  (revision {revs[table].revision})")
    as_of = revs["_all"].updated_at
    print(f"revision  {revs['_all'].revision} (as of {as_of:%Y-%m-%d %H:%M:%S} UTC)" if as_of else "revision 0")
    return 0


def _serve(store: Store, settings: AppSettings) -> None:
    from dashboard.app import create_app

    app = create_app(settings, store)
    print(f"HBM map on http://{settings.host}:{settings.port}  (Ctrl+C to stop)", flush=True)
    app.run(host=settings.host, port=settings.port, debug=False)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the map from the configured store."""
    overrides = {
        k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v is not None
    }
    settings = load_app_settings(**overrides)
    store = _store()
    try:
        store.ping()
    except StoreUnavailable as exc:
        print(f"hbm: warning: {exc}; the map will show a banner until it is back", file=sys.stderr)
    if settings.auth:
        from dashboard.auth import check_serve_ready, load_auth_settings

        # A secret and at least one enabled user, or a one-line error; warnings for risky set-ups.
        for warning in check_serve_ready(store, load_auth_settings(), settings.host):
            print(f"hbm: WARNING: {warning}", file=sys.stderr, flush=True)
    else:
        print(
            "hbm: WARNING: authentication is OFF (HBM_AUTH=off): anyone who can reach "
            f"http://{settings.host}:{settings.port} can see and change everything, unlogged by name",
            file=sys.stderr,
            flush=True,
        )
    if settings.workers:
        from dashboard.server import serve

        store.dispose()  # each gunicorn worker opens its own pool: none may cross the fork
        serve(settings, settings.workers)
        return 0
    _serve(store, settings)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed the synthetic crisis, start the live feed and serve the map."""
    import numpy as np

    from data.demo import demo_features
    from data.demo_events import demo_events, live_events, live_rate_per_s
    from data.feed import LiveFeed

    overrides: dict[str, object] = {"synthetic": True, "auth": False}  # the demo never asks for a login
    overrides.update({k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None})
    settings = load_app_settings(**overrides)
    store = _store()
    started = time.perf_counter()
    print("hbm demo: preparing the SYNTHETIC crisis store…", flush=True)
    store.init_schema()
    now = datetime.now(UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    print(f"hbm demo: generating {args.events:,} SYNTHETIC events over 30 days…", flush=True)
    store.upsert_events(demo_events(args.events, now))
    counts = store.counts()
    print(
        "hbm demo: store ready in {:.1f} s: {}".format(
            time.perf_counter() - started, ", ".join(f"{n:,} {t}" for t, n in counts.items())
        ),
        flush=True,
    )
    if not args.no_live:
        rng = np.random.default_rng()
        # As many events a second as the seeded month had (times --feed-speed): a faster feed turns
        # every busy cell into a "large increase" within minutes and floods the critical alerts.
        per_batch = live_rate_per_s(args.events) * args.feed_speed * args.feed_interval
        feed = LiveFeed(
            store, lambda t: live_events(t, rng, int(rng.poisson(per_batch))), interval_s=args.feed_interval
        )
        feed.start()
        print(
            f"hbm demo: live feed adds SYNTHETIC events at {per_batch * 3600 / args.feed_interval:,.0f} an hour "
            f"(the seeded rate × {args.feed_speed:g})",
            flush=True,
        )
    print("hbm demo: DEMO — no login: authentication is off (use `hbm serve` for real data)", flush=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"hbm: WARNING: the demo has no login and listens on {settings.host}", file=sys.stderr, flush=True)
    _serve(store, settings)
    return 0


# Feature command groups live in their own modules; each exposes ``add_commands(sub)``
# that adds its sub-parsers with ``set_defaults(func=...)``. Add one line per module.
COMMAND_MODULES: tuple[str, ...] = (
    "dashboard.cli_export",
    "dashboard.cli_hotspots",
    "dashboard.cli_ingest",
    "dashboard.cli_sar",
    "dashboard.cli_users",  # users, audit log, purge (after cli_export: it extends `hbm audit`)
    "dashboard.cli_interop",  # API tokens, notifications, TAK (after cli_users: it extends `hbm users`)
)


class CoordinateArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that takes ``-1.0,29.99`` or ``-10,30,5,40`` as an option's value, not as an option.

    argparse (before Python 3.13) treats any word starting with ``-`` as an option unless it is one plain
    negative number, so every southern or western coordinate list failed with "expected one argument".
    No hbm option looks like a number, so a word starting with ``-`` and a digit is always a value
    (the rule Python 3.13 adopted). Subcommand parsers inherit the class.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\.?\d")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser."""
    parser = CoordinateArgumentParser(prog="hbm", description="Humanitarian border management dashboard")
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="manage the store").add_subparsers(dest="db_command", required=True)
    db.add_parser("init", help="create the schema (safe to repeat)").set_defaults(func=cmd_db_init)
    db.add_parser("status", help="backend, table counts, revision").set_defaults(func=cmd_db_status)

    def web_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="interface to listen on (default 127.0.0.1, or HBM_HOST)")
        p.add_argument("--port", type=int, help="port (default 8050, or HBM_PORT)")

    demo = sub.add_parser("demo", help="seed a SYNTHETIC crisis and serve the live map")
    demo.add_argument("--events", type=int, default=50_000, help="events to seed over 30 days (default 50000)")
    demo.add_argument("--no-live", action="store_true", help="do not append live events")
    demo.add_argument("--feed-interval", type=float, default=3.0, help="seconds between live batches")
    demo.add_argument(
        "--feed-speed", type=float, default=1.0, help="live events per second as a multiple of the seeded rate"
    )
    web_options(demo)
    demo.set_defaults(func=cmd_demo)
    serve = sub.add_parser("serve", help="serve the map from the configured store")
    web_options(serve)
    serve.add_argument(
        "--workers",
        type=int,
        help="run under gunicorn with N worker processes (production; default HBM_WORKERS, 0 = Dash's own server)",
    )
    serve.set_defaults(func=cmd_serve)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; errors print one line and exit 2."""
    configure_logging(os.environ.get("HBM_LOG_FORMAT", "text").strip().lower())
    args = build_parser().parse_args(argv)
    if getattr(args, "events", 1) < 0:
        print("hbm: error: --events must be >= 0", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except HbmError as exc:
        print(f"hbm: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stops Python's own flush error at exit
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
