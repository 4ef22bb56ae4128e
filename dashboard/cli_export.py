"""``hbm export`` (briefing exports of a View) and ``hbm audit exports`` (the export log)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dashboard.cli_groups import command_group
from dashboard.settings import load_app_settings, parse_bbox
from data.audit import list_exports
from data.open import open_store
from data.settings import load_store_settings
from geo.errors import InvalidView
from layers.i18n import LANGUAGES, use_language
from layers.view import LAYER_NAMES, METRICS, STATISTICS, WINDOWS, View, parse_custom_time

CLI_WHO = "cli"


def _view_from_args(args: argparse.Namespace, region: tuple[float, float, float, float], now: datetime) -> View:
    """Return the View the options describe: a saved View file, or bbox/window/layers options."""
    from dashboard.layout import initial_zoom
    from layers.view_io import view_from_dict, view_from_json

    if args.view:
        if any(v is not None for v in (args.bbox, args.window, args.layers, args.start, args.end)):
            raise InvalidView("--view cannot be combined with --bbox, --window, --start, --end or --layers")
        try:
            text = Path(args.view).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidView(f"cannot read View file {args.view}: {exc.strerror or exc}") from None
        return view_from_json(text, now=now)
    values: dict[str, Any] = {"window_label": args.window or "24h"}
    if args.start or args.end:
        if not (args.start and args.end):
            raise InvalidView("--start and --end go together (a custom window)")
        values.update(window_label="custom", start=parse_custom_time(args.start).isoformat())
        values["end"] = parse_custom_time(args.end).isoformat()
    bbox = parse_bbox(args.bbox) if args.bbox else None
    values["bbox"] = list(bbox) if bbox else None
    values["zoom"] = args.zoom if args.zoom is not None else float(initial_zoom(bbox or region))
    if args.layers is not None:
        values["layers"] = [part.strip() for part in args.layers.split(",") if part.strip()]
    for key in ("metric", "resolution", "statistic"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    return view_from_dict(values, now=now)


def cmd_export(args: argparse.Namespace) -> int:
    """Export the View (default: all data, last 24 h, all layers) to ``--out``."""
    from layers.services.exports.collect import Page
    from layers.services.exports.settings import load_export_settings

    settings = load_app_settings()
    export_settings = load_export_settings()
    store = open_store(load_store_settings())
    view = _view_from_args(args, settings.region, datetime.now(UTC))
    page = Page(args.page, args.orientation, args.dpi)
    with use_language(getattr(args, "language", None) or settings.language):
        result = _run(args, store, view, export_settings, settings, page)
    counts = ", ".join(f"{name} {n:,}" for name, n in result.feature_counts.items()) or "no layers"
    files = ", ".join(str(p) for p in result.paths)
    print(f"hbm export: wrote {files} ({args.format}, {result.bytes:,} bytes; {counts}; audit #{result.audit_id})")
    return 0


def _run(args: argparse.Namespace, store: Any, view: Any, export_settings: Any, settings: Any, page: Any) -> Any:
    from layers.services.exports import run_export

    return run_export(
        store,
        view,
        args.format,
        Path(args.out),
        who=CLI_WHO,
        settings=export_settings,
        title=args.title or settings.title,
        synthetic=settings.synthetic,
        page=page,
        fallback_extent=settings.region,
    )


def cmd_audit_exports(args: argparse.Namespace) -> int:
    """List audited exports, newest first."""
    store = open_store(load_store_settings())
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


def _limit(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_commands(sub: Any) -> None:
    """Add ``export`` and ``audit exports`` to the ``hbm`` sub-parsers."""
    from layers.services.exports import FORMATS

    export = sub.add_parser(
        "export",
        help="export the View as a briefing map or data extract (audited)",
        description="With neither --view nor --bbox/--window/--layers: all data, last 24 h, all layers.",
    )
    export.add_argument("--format", required=True, choices=FORMATS, help="output format")
    export.add_argument("--out", required=True, help="output file")
    export.add_argument("--view", help="a saved View JSON file (from the dashboard's 'View JSON' button)")
    export.add_argument("--bbox", help="area W,S,E,N in degrees (default: all data)")
    export.add_argument("--window", choices=[*WINDOWS], help="time window ending now (default 24h)")
    export.add_argument("--start", help="custom window start, UTC YYYY-MM-DD[ HH:MM] (with --end)")
    export.add_argument("--end", help="custom window end, UTC YYYY-MM-DD[ HH:MM]")
    export.add_argument("--layers", help=f"comma-separated layers (default all: {','.join(LAYER_NAMES)})")
    export.add_argument("--metric", choices=METRICS, help="hotspots by events or people")
    export.add_argument("--statistic", choices=STATISTICS, help="what colours the hotspots")
    export.add_argument("--resolution", type=int, help="fixed H3 resolution 4-9 (default follows the zoom)")
    export.add_argument("--zoom", type=float, help="map zoom the View stands for (default fits the bbox)")
    export.add_argument("--page", default="A4", choices=("A4", "A3"), help="PDF/PNG page size")
    export.add_argument("--orientation", default="landscape", choices=("landscape", "portrait"))
    export.add_argument("--dpi", default=150, type=int, choices=(150, 300), help="PNG resolution")
    export.add_argument("--title", help="map title (default HBM_TITLE)")
    export.add_argument(
        "--language", choices=list(LANGUAGES), help="language of titles and legends (default HBM_LANGUAGE)"
    )
    export.set_defaults(func=cmd_export)

    _, audit = command_group(sub, "audit", help="audit logs", dest="audit_command")
    exports = audit.add_parser("exports", help="list exports, newest first")
    exports.add_argument("--json", action="store_true", help="print JSON")
    exports.add_argument("--limit", type=_limit, default=50, help="how many (default 50)")
    exports.set_defaults(func=cmd_audit_exports)
