"""Field exports of a SAR plan: GeoJSON, KML, GPX (routes + track waypoints), CSV assignments, PDF sheets.

Every feature carries the plan id as ``plan_id``. Free text (plan name, teams, notes) is escaped in
XML formats and shown as plain text in the PDF (matplotlib mathtext is switched off for it).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import mgrs
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from data.interfaces import Store
from data.sar_plans import Plan
from geo.errors import HbmError
from geo.search_theory import TrackPlan, parallel_tracks
from geo.sectors import reproject, utm_epsg
from layers.services.exports.collect import holds_demo_data

EXPORT_FORMATS = {".geojson": "geojson", ".json": "geojson", ".kml": "kml", ".gpx": "gpx", ".csv": "csv"}
SECTOR_PROPS = (
    "label",
    "name",
    "area_km2",
    "poa",
    "pod",
    "cum_pod",
    "pos",
    "team",
    "status",
    "sweep_width_m",
    "track_spacing_m",
)
CSV_COLUMNS = (
    "plan_id",
    "label",
    "team",
    "status",
    "area_km2",
    "poa",
    "cum_pod",
    "pos",
    "sweep_width_m",
    "track_spacing_m",
    "track_legs",
    "track_length_km",
    "centre_lat",
    "centre_lng",
    "centre_mgrs",
)
_MGRS = mgrs.MGRS()


class ExportError(HbmError):
    """A plan cannot be exported as asked (unknown format, unwritable file)."""


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def sector_records(plan: Plan) -> list[dict[str, Any]]:
    """Return the plan's sectors as JSON-safe dicts."""
    return [{k: _clean(v) for k, v in rec.items()} for rec in plan.sectors.to_dict("records")]


def plan_is_synthetic(plan: Plan, store: Store | None = None) -> bool:
    """Return True for demo data: SYNTHETIC in the plan's name, notes or authority, a demo id, or a demo store.

    A store holds demo data when it has events from the SYNTHETIC demo generator: the test the briefing
    exports use (``layers.services.exports.collect.holds_demo_data``), so a plan made on a demo store is marked
    whatever its name says.
    """
    texts = (plan.notes, plan.authority, plan.name)
    if any("SYNTHETIC" in (v or "") for v in texts) or plan.id.startswith("demo-"):
        return True
    return store is not None and holds_demo_data(store)


def to_mgrs(lat: float, lng: float) -> str:
    """Return the 1 m MGRS reference of ``lat, lng`` (e.g. ``36NTG4407454867``), or "n/a" beyond MGRS limits."""
    try:
        return str(_MGRS.toMGRS(lat, lng, MGRSPrecision=5))
    except Exception:  # noqa: BLE001 - the mgrs C library raises plain Exceptions near the poles
        return "n/a"


# -- tracks ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SectorTracks:
    """Parallel tracks of one sector: the plan in UTM metres and the waypoints as (lat, lng)."""

    tracks: TrackPlan
    waypoints: list[tuple[float, float]]


def sector_tracks(geometry: BaseGeometry, spacing_m: float | None) -> SectorTracks | None:
    """Return the sector's parallel tracks at ``spacing_m`` (None when no spacing is planned)."""
    if not spacing_m or spacing_m <= 0:
        return None
    c = geometry.centroid
    epsg = utm_epsg(c.y, c.x)
    local = reproject(geometry, 4326, epsg, max(1e-4, max(bounds_span(geometry)) / 100))
    tracks = parallel_tracks(local, spacing_m)
    if not tracks.legs:
        return SectorTracks(tracks, [])
    pts = reproject(shapely.MultiPoint(tracks.waypoints()), epsg, 4326)
    return SectorTracks(tracks, [(p.y, p.x) for p in shapely.get_parts(pts)])


def bounds_span(geom: BaseGeometry) -> tuple[float, float]:
    """Return the width and height of ``geom``'s bounding box, in its own units."""
    minx, miny, maxx, maxy = geom.bounds
    return maxx - minx, maxy - miny


# -- GeoJSON / KML / GPX / CSV --------------------------------------------------------------------
def plan_geojson(plan: Plan) -> dict[str, Any]:
    """Return the plan as a FeatureCollection: the search area, then one feature per sector; all carry plan_id."""
    head = {
        "plan_id": plan.id,
        "kind": "search_area",
        "name": plan.name,
        "version": plan.version,
        "method": plan.method,
        "target_km2": plan.target_km2,
        "area_km2": plan.area_km2,
        "rest_poa": plan.rest_poa,
        "pos": plan.total_pos,
    }
    features = [{"type": "Feature", "id": plan.id, "geometry": mapping(plan.area), "properties": head}]
    for s in sector_records(plan):
        props = {"plan_id": plan.id, "kind": "sector", **{k: s.get(k) for k in SECTOR_PROPS}}
        features.append({"type": "Feature", "id": s["id"], "geometry": mapping(s["geometry"]), "properties": props})
    return {"type": "FeatureCollection", "name": plan.name, "features": features}


def to_geojson(plan: Plan) -> str:
    """Return the plan as GeoJSON text."""
    return json.dumps(plan_geojson(plan), ensure_ascii=False)


def _kml_ring(coords: Iterable[tuple[float, ...]]) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y, *_ in coords)


def _kml_geometry(geom: BaseGeometry) -> str:
    polys = []
    for poly in shapely.get_parts(geom):
        inner = "".join(
            f"<innerBoundaryIs><LinearRing><coordinates>{_kml_ring(r.coords)}</coordinates></LinearRing></innerBoundaryIs>"
            for r in poly.interiors
        )
        polys.append(
            "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
            f"{_kml_ring(poly.exterior.coords)}</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>"
        )
    return polys[0] if len(polys) == 1 else f"<MultiGeometry>{''.join(polys)}</MultiGeometry>"


def _kml_data(props: dict[str, Any]) -> str:
    cells = "".join(
        f"<Data name={quoteattr(k)}><value>{escape('' if v is None else str(v))}</value></Data>"
        for k, v in props.items()
    )
    return f"<ExtendedData>{cells}</ExtendedData>"


def to_kml(plan: Plan) -> str:
    """Return the plan as KML 2.2: the search area and one labelled placemark per sector, all attributes as data."""
    placemarks = []
    for feature in plan_geojson(plan)["features"]:
        props = feature["properties"]
        title = props.get("label") or props.get("name") or plan.id
        style = "#sector" if props["kind"] == "sector" else "#area"
        geom = shapely.geometry.shape(feature["geometry"])
        placemarks.append(
            f"<Placemark><name>{escape(str(title))}</name><styleUrl>{style}</styleUrl>"
            f"{_kml_data(props)}{_kml_geometry(geom)}</Placemark>"
        )
    styles = (
        '<Style id="area"><LineStyle><color>ff6fdcf7</color><width>3</width></LineStyle>'
        "<PolyStyle><fill>0</fill></PolyStyle></Style>"
        '<Style id="sector"><LineStyle><color>ff6fdcf7</color><width>1.5</width></LineStyle>'
        "<PolyStyle><color>336fdcf7</color></PolyStyle></Style>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(plan.name)}</name><description>{escape(f'SAR plan {plan.id}, version {plan.version}')}"
        f"</description>{styles}{''.join(placemarks)}</Document></kml>\n"
    )


def to_gpx(plan: Plan, track_spacing_m: float | None = None, waypoints: bool = True) -> str:
    """Return GPX 1.1: each sector boundary as a route; with ``waypoints``, its parallel-track turn points.

    Track waypoints use the sector's planned track spacing, else ``track_spacing_m``; sectors with
    neither get no waypoints.
    """
    wpts, rtes = [], []
    for s in sector_records(plan):
        label = str(s["label"])
        desc = escape(f"plan {plan.id} sector {label} team {s.get('team') or '-'} POA {s.get('poa') or 0:.3f}")
        for k, poly in enumerate(shapely.get_parts(s["geometry"])):
            pts = "".join(f'<rtept lat="{y:.7f}" lon="{x:.7f}"/>' for x, y, *_ in poly.exterior.coords)
            name = label if k == 0 else f"{label}-{k + 1}"
            rtes.append(f"<rte><name>{escape(name)}</name><desc>{desc}</desc>{pts}</rte>")
        if waypoints:
            tracks = sector_tracks(s["geometry"], s.get("track_spacing_m") or track_spacing_m)
            for i, (lat, lng) in enumerate(tracks.waypoints if tracks else []):
                wpts.append(
                    f'<wpt lat="{lat:.7f}" lon="{lng:.7f}"><name>{escape(label)}-{i + 1:03d}</name>'
                    f"<desc>{escape(f'track waypoint {i + 1} of sector {label}')}</desc></wpt>"
                )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="hbm-dashboard" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<metadata><name>{escape(plan.name)}</name><desc>{escape(f'SAR plan {plan.id}')}</desc></metadata>"
        f"{''.join(wpts)}{''.join(rtes)}</gpx>\n"
    )


def assignment_rows(plan: Plan, track_spacing_m: float | None = None) -> list[dict[str, Any]]:
    """Return one assignment row per sector (CSV_COLUMNS), with its track legs when a spacing is known."""
    rows = []
    for s in sector_records(plan):
        centre = s["geometry"].representative_point()
        spacing = s.get("track_spacing_m") or track_spacing_m
        tracks = sector_tracks(s["geometry"], spacing)
        rows.append(
            {
                "plan_id": plan.id,
                "label": s["label"],
                "team": s.get("team") or "",
                "status": s.get("status"),
                "area_km2": round(float(s.get("area_km2") or 0), 3),
                "poa": round(float(s.get("poa") or 0), 4),
                "cum_pod": round(float(s.get("cum_pod") or 0), 4),
                "pos": round(float(s.get("pos") or 0), 4),
                "sweep_width_m": s.get("sweep_width_m"),
                "track_spacing_m": spacing,
                "track_legs": tracks.tracks.leg_count if tracks else None,
                "track_length_km": round(tracks.tracks.track_length_km, 2) if tracks else None,
                "centre_lat": round(centre.y, 6),
                "centre_lng": round(centre.x, 6),
                "centre_mgrs": to_mgrs(centre.y, centre.x),
            }
        )
    return rows


def _csv_safe(value: Any) -> Any:
    # Spreadsheet formula injection: free text starting with = + - @ is prefixed with a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def to_csv(plan: Plan, track_spacing_m: float | None = None) -> str:
    """Return the CSV assignment list: one row per sector."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in assignment_rows(plan, track_spacing_m):
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return buf.getvalue()


def export_format(path: str | Path) -> str:
    """Return the export format named by a file's extension, or raise ExportError."""
    fmt = EXPORT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ExportError(f"cannot tell the format of {str(path)!r}: use .geojson, .kml, .gpx or .csv")
    return fmt


def export_text(plan: Plan, fmt: str, track_spacing_m: float | None = None) -> str:
    """Return the plan in ``fmt`` (geojson, kml, gpx, csv)."""
    if fmt == "geojson":
        return to_geojson(plan)
    if fmt == "kml":
        return to_kml(plan)
    if fmt == "gpx":
        return to_gpx(plan, track_spacing_m)
    if fmt == "csv":
        return to_csv(plan, track_spacing_m)
    raise ExportError(f"unknown export format {fmt!r}")


def write_export(plan: Plan, path: str | Path, track_spacing_m: float | None = None) -> str:
    """Write the plan to ``path`` in the format its extension names; return the format."""
    fmt = export_format(path)
    try:
        Path(path).write_text(export_text(plan, fmt, track_spacing_m), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return fmt


# -- PDF assignment sheets ------------------------------------------------------------------------
