"""``hbm sar``: make a SAR search plan from the command line, record sorties, export it for the field."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dashboard.cli_users import cli_actor
from dashboard.settings import load_app_settings
from data import audit_log
from data.open import open_store
from data.sar_edits import record_sortie
from data.sar_plans import POA_MODES, PlanError, create_plan, distress_event_area, list_plans, load_plan, plan_sectors
from data.settings import load_store_settings
from data.store import Store
from geo.sectors import METHODS, SectorError, circle_area, parse_latlng, polygon_from_geojson
from layers.services.exports.sar import export_format, write_export
from layers.services.exports.sar_sheets import write_plan_sheets


def _store() -> Store:
    store = open_store(load_store_settings())
    store.init_schema()  # also adds the plan columns to a store made before them
    return store


def _area_from_args(args: argparse.Namespace, store: Store) -> tuple[object, str]:
    sources = [args.datum is not None, args.polygon is not None, args.event is not None]
    if sum(sources) != 1:
        raise SectorError(
            "give exactly one search area: --datum LAT,LON with --radius-km, --polygon FILE or --event ID"
        )
    if args.datum is not None:
        if args.radius_km is None:
            raise SectorError("--datum needs --radius-km")
        lat, lng = parse_latlng(args.datum)
        return circle_area(lat, lng, args.radius_km), f"datum {lat:.5f}, {lng:.5f}, radius {args.radius_km:g} km"
    if args.polygon is not None:
        try:
            drawn = json.loads(Path(args.polygon).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SectorError(f"cannot read polygon file {args.polygon}: {exc}") from None
        return polygon_from_geojson(drawn), f"polygon from {Path(args.polygon).name}"
    return distress_event_area(store, args.event)


def cmd_sar_plan(args: argparse.Namespace) -> int:
    """Make a plan (search area, sectors, POA), save it in the store and write it to ``--out``."""
    if args.out:
        export_format(args.out)  # a bad extension fails before anything is saved
    store = _store()
    area, source = _area_from_args(args, store)
    sectors, poas = plan_sectors(
        area, args.method, args.sector_km2, args.poa, args.rest_poa, store=store, rotate=not args.no_rotate
    )
    name = args.name or f"Search area ({source})"
    plan_id = create_plan(
        store,
        area,
        sectors,
        poas,
        name=name,
        method=args.method,
        target_km2=args.sector_km2,
        rest=args.rest_poa,
        notes=source,
        sweep_width_m=args.sweep_width_m,
        track_spacing_m=args.track_spacing_m,
    )
    plan = load_plan(store, plan_id)
    print(plan_id)
    print(
        f"hbm sar: saved plan {plan_id}: {len(sectors)} sectors ({args.method}, ~{args.sector_km2:g} km² each), "
        f"{plan.area_km2:,.1f} km², POA {args.poa}",
        file=sys.stderr,
    )
    if args.out:
        fmt = write_export(plan, args.out, args.track_spacing_m)
        _audit_export(plan, fmt, args.out)
        print(f"hbm sar: wrote {args.out} ({fmt})", file=sys.stderr)
    return 0


def _audit_export(plan: Any, fmt: str, out: str) -> None:
    """Write the field export to the audit log, as the panel's downloads are."""
    detail = {"plan_id": plan.id, "version": plan.version, "file": str(out)}
    audit_log.note(_store(), "export", f"sar_{fmt}", detail, who=cli_actor())


def cmd_sar_export(args: argparse.Namespace) -> int:
    """Write a saved plan to ``--out`` (.geojson, .kml, .gpx or .csv)."""
    export_format(args.out)
    plan = load_plan(_store(), args.plan_id)
    fmt = write_export(plan, args.out, args.track_spacing_m)
    _audit_export(plan, fmt, args.out)
    print(f"hbm sar: wrote {args.out} ({fmt}, {len(plan.sectors)} sectors)", file=sys.stderr)
    return 0


def cmd_sar_sheets(args: argparse.Namespace) -> int:
    """Write the printable assignment sheets (PDF, one page per sector)."""
    if Path(args.out).suffix.lower() != ".pdf":
        raise SectorError(f"--out {args.out!r} must end in .pdf")
    store = _store()
    plan = load_plan(store, args.plan_id)
    pages = write_plan_sheets(store, plan, args.out, load_app_settings().synthetic, args.track_spacing_m)
    _audit_export(plan, "pdf", args.out)
    print(f"hbm sar: wrote {args.out} ({pages} pages, one per sector)", file=sys.stderr)
    return 0


def cmd_sar_list(_args: argparse.Namespace) -> int:
    """List the saved plans."""
    plans = list_plans(_store())
    if not plans:
        print("no SAR plans yet (make one with `hbm sar plan`)")
    for p in plans:
        area = f"{p['area_km2']:,.1f} km²" if p["area_km2"] is not None else "—"
        print(f"{p['id']}  v{p['version']}  {p['sectors']:>3} sectors  {area:>12}  {p['name']}")
    return 0


def cmd_sar_sortie(args: argparse.Namespace) -> int:
    """Record an unsuccessful sortie in one sector of a plan (by label); print the new POD figures."""
    store = _store()
    plan = load_plan(store, args.plan_id)
    match = plan.sectors[plan.sectors["label"] == args.label.upper()]
    if match.empty:
        raise PlanError(f"plan {plan.id} has no sector {args.label!r}")
    seen = args.version if args.version is not None else plan.version
    plan = record_sortie(
        store,
        plan.id,
        seen,
        str(match.iloc[0]["id"]),
        sweep_width_m=args.sweep_width_m,
        track_spacing_m=args.track_spacing_m,
        track_length_km=args.track_length_km,
        team=args.team,
        recorded_by="cli",
    )
    row = next(r for r in plan.summary() if r["label"] == args.label.upper())
    print(
        f"sector {row['label']}: POD {row['pod']:.3f}, cumulative POD {row['cum_pod']:.3f}, POS {row['pos']:.3f}, "
        f"POA now {row['poa']:.3f} (plan version {plan.version})"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``hbm sar …`` to the CLI."""
    sar = sub.add_parser("sar", help="SAR search plans: sectors, POA/POD, field exports")
    cmds = sar.add_subparsers(dest="sar_command", required=True)

    plan = cmds.add_parser("plan", help="make and save a plan from a datum, a polygon or a distress event")
    plan.add_argument("--datum", help="datum LAT,LON (decimal degrees)")
    plan.add_argument("--radius-km", type=float, help="search radius around the datum (km)")
    plan.add_argument("--polygon", help="a GeoJSON file with the search area polygon")
    plan.add_argument("--event", help="a stored event id: its position, radius grown with its age and precision")
    plan.add_argument("--sector-km2", type=float, required=True, help="target sector area (km²)")
    plan.add_argument("--method", choices=METHODS, default="grid", help="h3 cells or a UTM grid (default grid)")
    plan.add_argument("--no-rotate", action="store_true", help="keep the grid north-up (default: main axis)")
    plan.add_argument("--poa", choices=POA_MODES, default="uniform", help="uniform, or weighted by recent events")
    plan.add_argument("--rest-poa", type=float, default=0.0, help="rest-of-world POA share (default 0)")
    plan.add_argument("--sweep-width-m", type=float, help="planned sweep width for every sector (m)")
    plan.add_argument("--track-spacing-m", type=float, help="planned track spacing (m): GPX/CSV/PDF tracks")
    plan.add_argument("--name", help="plan name")
    plan.add_argument("--out", help="also write the plan: .geojson, .kml, .gpx or .csv")
    plan.set_defaults(func=cmd_sar_plan)

    export = cmds.add_parser("export", help="write a saved plan as .geojson, .kml, .gpx or .csv")
    export.add_argument("plan_id")
    export.add_argument("--out", required=True)
    export.add_argument("--track-spacing-m", type=float, help="track spacing for sectors without one (GPX waypoints)")
    export.set_defaults(func=cmd_sar_export)

    sheets = cmds.add_parser("sheets", help="printable assignment sheets (PDF, one page per sector)")
    sheets.add_argument("plan_id")
    sheets.add_argument("--out", required=True)
    sheets.add_argument("--track-spacing-m", type=float, help="track spacing for sectors without one")
    sheets.set_defaults(func=cmd_sar_sheets)

    cmds.add_parser("list", help="list saved plans").set_defaults(func=cmd_sar_list)

    sortie = cmds.add_parser("sortie", help="record an unsuccessful sortie in a sector")
    sortie.add_argument("plan_id")
    sortie.add_argument("label", help="sector label, e.g. AB")
    sortie.add_argument("--sweep-width-m", type=float, required=True)
    group = sortie.add_mutually_exclusive_group(required=True)
    group.add_argument("--track-spacing-m", type=float)
    group.add_argument("--track-length-km", type=float)
    sortie.add_argument("--team")
    sortie.add_argument("--version", type=int, help="the plan version you saw (default: the current one)")
    sortie.set_defaults(func=cmd_sar_sortie)
