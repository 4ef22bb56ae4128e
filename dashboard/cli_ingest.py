"""``hbm ingest FILE``: import a file through the validating ingest path and print a summary.

Exit codes: 0 every row accepted; 1 some rows rejected (the rest committed); 2 fatal (one
line on stderr, nothing from the failing batch written).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from dashboard.cli_common import configured_store
from data.coverage import declare_coverage
from data.ingest import Summary, ingest_file
from data.ingest.settings import load_ingest_settings
from data.schema import LAYER_TABLES


def format_summary(summary: Summary) -> str:
    """Return the human-readable summary printed after an import."""
    d = summary.as_dict()
    lines = [
        f"ingest    {d['source']} ({d['format']}; {', '.join(d['notes']) or 'no notes'})",
        f"profile   {d['profile']} -> {d['kind']}",
        f"read      {d['read']:>10,} rows",
        f"accepted  {d['accepted']:>10,} rows ({d['written']:,} {d['kind']} written in {d['batches']} "
        f"batch{'es' if d['batches'] != 1 else ''})",
        f"corrected {d['corrected']:>10,} rows" + _reasons(d["corrected_by_reason"]),
        f"rejected  {d['rejected']:>10,} rows" + _reasons(d["rejected_by_reason"]),
    ]
    if d["rejects"]:
        lines.append(f"rejects   {d['rejects']}")
    if d["corrections"]:
        lines.append(f"corrections {d['corrections']}")
    rate = f" ({d['rows_per_s']:,} rows/s)" if d["rows_per_s"] else ""
    lines.append(f"time      {d['seconds']:.2f} s{rate}")
    return "\n".join(lines)


def _reasons(by_reason: dict[str, int]) -> str:
    return (": " + ", ".join(f"{code} {n:,}" for code, n in by_reason.items())) if by_reason else ""


def parse_coverage_start(text: str) -> datetime:
    """Return a coverage start from ``YYYY-MM-DD`` or an ISO time (UTC when no zone is given)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"coverage start {text!r} is not YYYY-MM-DD or an ISO time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Import FILE into the configured store; return 0, 1 (some rejected) or raise (fatal, exit 2)."""
    settings = load_ingest_settings(**({"region_bbox": args.region} if args.region else {}))
    store = configured_store(args.config)
    declared: list[str] = []
    try:
        store.init_schema()
        summary = ingest_file(
            store,
            Path(args.file),
            kind=args.kind,
            profile=args.profile,
            rejects_path=Path(args.rejects) if args.rejects else None,
            settings=settings,
        )
        if args.coverage_start is not None and summary.sources:
            declared = declare_coverage(store, summary.sources, args.coverage_start, who="cli")
    finally:
        store.dispose()
    if args.json:
        out = summary.as_dict()
        if args.coverage_start is not None:
            out["coverage"] = {"start": args.coverage_start.isoformat(), "sources": declared}
        print(json.dumps(out, indent=2))
    else:
        print(format_summary(summary))
        if args.coverage_start is not None:
            names = ", ".join(repr(n) for n in declared) or "none (no events written)"
            print(f"coverage  complete from {args.coverage_start:%Y-%m-%d %H:%M} UTC for source(s) {names}")
    return summary.exit_code


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``hbm ingest`` to the CLI."""
    p = sub.add_parser(
        "ingest",
        help="import a CSV/XLSX/GeoJSON/GeoPackage/KML/KMZ/GPX file; bad rows go to a rejects file",
        description="Exit status: 0 all rows accepted, 1 some rows rejected (the rest committed), 2 fatal.",
    )
    p.add_argument("file", help="the file to import")
    p.add_argument("--kind", choices=LAYER_TABLES, help="what the rows are (default: the profile's, else events)")
    p.add_argument("--profile", help="mmp, dtm-fmp, hxl (HDX), kobo (Kobo/ODK), or a column-map file (.toml/.json)")
    p.add_argument("--rejects", help="where rejected rows go (default ./<file stem>.rejects.csv)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--region",
        metavar="W,S,E,N",
        help="region of interest for swapped lat/lon without a named country (default HBM_INGEST_REGION_BBOX)",
    )
    p.add_argument(
        "--coverage-start",
        type=parse_coverage_start,
        metavar="YYYY-MM-DD",
        help="declare the events' sources complete from this date (UTC): hotspot baselines before it count as "
        "missing, empty ones after it as true zeros (docs/early-warning.md)",
    )
    p.set_defaults(func=cmd_ingest)
