"""Search areas and their sectors: pure geometry in EPSG:4326 in and out, metric work in local projections.

- Areas are measured in a Lambert azimuthal equal-area projection centred on the geometry
  (:func:`area_km2`), after densifying its edges, so every area in the plan is an equal-area figure.
- A search area comes from a drawn polygon (:func:`polygon_from_geojson`), a datum and a radius
  (:func:`circle_area`, a geodesic circle) or a distress event (:func:`distress_area`).
- Sectoring (:func:`make_sectors`): ``"h3"`` takes the H3 resolution whose cell area at the
  datum is closest to the target, clips the cells to the area; ``"grid"`` lays a rectangular grid
  in the local UTM zone, optionally rotated to the area's main axis so parallel tracks are straight.
  Pieces smaller than ``SLIVER_FRACTION`` of a full sector are merged into the neighbour they share
  the longest border with, so no sector is a useless sliver; the pieces still tile the area.
- Labels (AA, AB, … ZZ) are given once, north-west to south-east, and never change afterwards:
  :func:`next_labels` continues after the highest label ever used, so a retired label is not reused.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import h3
import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from geo.errors import HbmError
from geo.search_theory import main_axis_deg

METHODS = ("h3", "grid")
MAX_SECTORS = 26 * 26  # two-letter labels AA..ZZ
SLIVER_FRACTION = 0.25  # pieces below this share of a full sector merge into a neighbour
MAX_RADIUS_KM = 500.0
MIN_SECTOR_KM2 = 0.01
LABEL_RE = re.compile(r"^[A-Z]{2}$")
WGS84 = Geod(ellps="WGS84")


class SectorError(HbmError):
    """A search area or sectoring request cannot be carried out (one readable line)."""


# -- labels ------------------------------------------------------------------------------------
def label_for_index(index: int) -> str:
    """Return the two-letter label of the ``index``-th sector (0 → AA, 1 → AB, 26 → BA)."""
    if not 0 <= index < MAX_SECTORS:
        raise SectorError(f"a plan has at most {MAX_SECTORS} sector labels (AA–ZZ)")
    first, second = divmod(index, 26)
    return string.ascii_uppercase[first] + string.ascii_uppercase[second]


def index_of_label(label: str) -> int:
    """Return the position of a two-letter label (AA → 0)."""
    if not isinstance(label, str) or not LABEL_RE.match(label):
        raise SectorError(f"{label!r} is not a sector label (two capital letters, AA–ZZ)")
    return (ord(label[0]) - 65) * 26 + ord(label[1]) - 65


def next_labels(used: Iterable[str], count: int) -> list[str]:
    """Return ``count`` new labels following the highest label ever used (labels are never reused)."""
    start = max((index_of_label(u) for u in used), default=-1) + 1
    if start + count > MAX_SECTORS:
        raise SectorError(f"this plan has used labels up to {label_for_index(start - 1)}: no room for {count} more")
    return [label_for_index(start + k) for k in range(count)]


# -- projections -------------------------------------------------------------------------------
def utm_epsg(lat: float, lng: float) -> int:
    """Return the EPSG code of the UTM zone at ``lat, lng`` (326xx north, 327xx south)."""
    zone = min(60, max(1, int(math.floor((lng + 180.0) / 6.0)) + 1))
    return (32600 if lat >= 0 else 32700) + zone


def laea_crs(lat: float, lng: float) -> str:
    """Return a Lambert azimuthal equal-area CRS centred on ``lat, lng`` (metres), as a PROJ string."""
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lng:.6f} +datum=WGS84 +units=m +no_defs +type=crs"


@lru_cache(maxsize=256)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def _crs_key(crs: CRS | int | str) -> str:
    if isinstance(crs, int):
        return f"EPSG:{crs}"
    if isinstance(crs, CRS):
        return crs.to_wkt()
    return crs


def reproject(geom: BaseGeometry, src: CRS | int | str, dst: CRS | int | str, max_segment: float | None = None) -> Any:
    """Return ``geom`` transformed from ``src`` to ``dst``, its edges first densified to ``max_segment`` (src units)."""
    if max_segment:
        geom = shapely.segmentize(geom, max_segment)
    t = _transformer(_crs_key(src), _crs_key(dst))

    def _apply(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _apply)


def _degree_step(geom: BaseGeometry, parts: int = 200) -> float:
    minx, miny, maxx, maxy = geom.bounds
    return max(max(maxx - minx, maxy - miny) / parts, 1e-6)


def _centre(geom: BaseGeometry) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    return (miny + maxy) / 2.0, (minx + maxx) / 2.0


def to_local_m(geom: BaseGeometry, crs: CRS | int | str) -> Any:
    """Return a lng/lat geometry in a local metric ``crs``, edges densified first (straight in lng/lat)."""
    return reproject(geom, 4326, crs, _degree_step(geom))


def area_km2(geom: BaseGeometry, crs: CRS | str | None = None) -> float:
    """Return the area of a lng/lat geometry in km², in an equal-area projection (``crs``, default centred on it)."""
    if geom.is_empty:
        return 0.0
    if crs is None:
        crs = laea_crs(*_centre(geom))
    return float(to_local_m(geom, crs).area) / 1e6


# -- search areas ------------------------------------------------------------------------------
def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon | None:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    polys = [p for g in parts for p in shapely.get_parts(g)]
    polys = [p for p in polys if p.area > 0]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def check_area(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """Return a valid lng/lat search area, or raise SectorError saying what is wrong with it."""
    if geom is None or geom.is_empty:
        raise SectorError("the search area is empty: draw a polygon or give a datum and a radius")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise SectorError("the search area has coordinates outside the lng/lat range")
    if maxx - minx > 90 or maxy - miny > 45:
        raise SectorError("the search area is too large (over 90° of longitude or 45° of latitude)")
    if max(abs(miny), abs(maxy)) > 84.5:
        raise SectorError("search areas beyond 84.5° of latitude are not supported")
    fixed = _polygonal(shapely.make_valid(geom) if not geom.is_valid else geom)
    if fixed is None:
        raise SectorError("the search area has no area (its points are on one line?)")
    return fixed


def polygon_from_geojson(obj: Mapping[str, Any] | None) -> Polygon | MultiPolygon:
    """Return the search area from a GeoJSON geometry, Feature or FeatureCollection (the last polygon drawn)."""
    if not obj:
        raise SectorError("no search area: draw a polygon on the map first")
    kind = obj.get("type")
    if kind == "FeatureCollection" or (kind is None and "features" in obj):
        features = [f for f in obj.get("features") or [] if (f.get("geometry") or {}).get("type") in ("Polygon",)]
        if not features:
            raise SectorError("no polygon drawn: use the polygon or rectangle tool on the map")
        obj = features[-1]
        kind = "Feature"
    geometry = obj.get("geometry") if kind == "Feature" else obj
    try:
        geom = shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise SectorError(f"the drawn shape is not a valid GeoJSON polygon ({exc})") from None
    return check_area(geom)


def parse_latlng(text: str) -> tuple[float, float]:
    """Return ``(lat, lng)`` from ``"LAT,LON"`` text in decimal degrees, or raise SectorError."""
    try:
        lat, lng = (float(part) for part in str(text).split(","))
    except ValueError:
        raise SectorError(f"datum {text!r} must be LAT,LON in decimal degrees (e.g. 1.42,30.71)") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise SectorError(f"datum {text!r} is outside lat -90..90, lon -180..180")
    return lat, lng


def circle_area(lat: float, lng: float, radius_km: float, points: int = 128) -> Polygon:
    """Return a geodesic circle of ``radius_km`` around the datum ``lat, lng`` (lng/lat polygon)."""
    if not (-84.5 <= lat <= 84.5 and -180 <= lng <= 180):
        raise SectorError(f"datum {lat}, {lng} is not a lat,lng position (|lat| ≤ 84.5)")
    if not (math.isfinite(radius_km) and 0 < radius_km <= MAX_RADIUS_KM):
        raise SectorError(f"radius must be between 0 and {MAX_RADIUS_KM:g} km (got {radius_km!r})")
    az = np.linspace(0.0, 360.0, points, endpoint=False)
    lngs, lats, _ = WGS84.fwd(np.full(points, lng), np.full(points, lat), az, np.full(points, radius_km * 1000.0))
    return check_area(Polygon(zip(lngs, lats, strict=True)))  # type: ignore[return-value]


def distress_radius_km(
    age_h: float,
    precision_m: float | None,
    drift_kmh: float = 1.0,
    nav_error_km: float = 0.5,
    safety_factor: float = 1.5,
    min_km: float = 1.0,
) -> float:
    """Return the search radius around a distress position that grows with its age and imprecision.

    R = max(min_km, fs × √(X² + Y²) + v × t): X = the position's precision (5 km when unknown),
    Y = the searchers' navigation error, fs = safety factor, v × t = how far the object can
    have drifted or walked since the report (direction unknown, so it widens the circle).
    """
    if not math.isfinite(age_h) or age_h < 0:
        raise SectorError(f"the event's age must be >= 0 hours (got {age_h!r})")
    x_km = 5.0 if precision_m is None or not math.isfinite(precision_m) else max(0.0, precision_m) / 1000.0
    radius = safety_factor * math.hypot(x_km, nav_error_km) + drift_kmh * age_h
    return min(MAX_RADIUS_KM, max(min_km, radius))


def distress_area(
    lat: float, lng: float, age_h: float, precision_m: float | None, **kwargs: float
) -> tuple[Polygon, float]:
    """Return (circle, radius_km) for a distress event at ``lat, lng`` reported ``age_h`` hours ago."""
    radius = distress_radius_km(age_h, precision_m, **kwargs)
    return circle_area(lat, lng, radius), radius


# -- sectoring ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sector:
    """One sector of a plan: its label, lng/lat geometry and equal-area size."""

    label: str
    geometry: Polygon | MultiPolygon
    area_km2: float


def h3_resolution_for(target_km2: float, lat: float, lng: float) -> int:
    """Return the H3 resolution whose cell at ``lat, lng`` has the area closest to ``target_km2`` (log scale)."""
    best, best_err = 0, math.inf
    for res in range(0, 16):
        cell = h3.latlng_to_cell(lat, lng, res)
        err = abs(math.log(h3.cell_area(cell, unit="km^2") / target_km2))
        if err < best_err:
            best, best_err = res, err
    return best


def _polygon_parts(geom: BaseGeometry) -> Polygon | MultiPolygon | None:
    return _polygonal(geom) if not geom.is_empty else None


def merge_slivers(pieces: Sequence[BaseGeometry], areas: Sequence[float], min_area: float) -> list[BaseGeometry]:
    """Return ``pieces`` with every piece under ``min_area`` merged into the neighbour sharing its longest border.

    ``areas`` are the pieces' sizes in any unit ``min_area`` uses. A small piece with no
    neighbour (an island of the search area) stays a sector of its own.
    """
    geoms = list(pieces)
    sizes = list(areas)
    alive = [True] * len(geoms)
    tree = shapely.STRtree(geoms)
    for i in sorted(range(len(geoms)), key=lambda k: sizes[k]):
        if not alive[i] or sizes[i] >= min_area:
            continue
        best, best_len = -1, 0.0
        for j in tree.query(geoms[i].buffer(1e-9 * max(1.0, math.sqrt(geoms[i].area)))):
            j = int(j)
            if j == i or not alive[j]:
                continue
            shared = geoms[i].boundary.intersection(geoms[j].buffer(1e-9 * max(1.0, math.sqrt(geoms[j].area)))).length
            if shared > best_len:
                best, best_len = j, shared
        if best < 0:
            continue
        merged = _polygon_parts(shapely.union(geoms[best], geoms[i]))
        if merged is None:
            continue
        geoms[best], sizes[best] = merged, sizes[best] + sizes[i]
        alive[i] = False
    return [g for g, a in zip(geoms, alive, strict=True) if a]


def _h3_pieces(area: BaseGeometry, target_km2: float) -> list[BaseGeometry]:
    lat, lng = _centre(area)
    res = h3_resolution_for(target_km2, lat, lng)
    cell_km2 = h3.cell_area(h3.latlng_to_cell(lat, lng, res), unit="km^2")
    estimate = area_km2(area) / cell_km2
    if estimate > MAX_SECTORS * 1.5:
        raise SectorError(
            f"about {estimate:,.0f} sectors of {cell_km2:.3g} km²: over the {MAX_SECTORS} labels (AA–ZZ); "
            "choose a larger sector size"
        )
    # Cells that overlap a slightly larger area: the planar clip below then decides.
    edge_deg = h3.average_hexagon_edge_length(res, unit="km") / 111.0
    cover = area.buffer(edge_deg * 0.5 / max(0.1, math.cos(math.radians(lat))))
    cells = set()
    for poly in shapely.get_parts(cover):
        outer = [(y, x) for x, y in poly.exterior.coords[:-1]]
        holes = [[(y, x) for x, y in ring.coords[:-1]] for ring in poly.interiors]
        cells.update(h3.h3shape_to_cells_experimental(h3.LatLngPoly(outer, *holes), res, contain="overlap"))
    pieces = []
    for cell in sorted(cells):
        ring = [(round(lng_, 9), round(lat_, 9)) for lat_, lng_ in h3.cell_to_boundary(cell)]
        piece = _polygon_parts(Polygon(ring).intersection(area))
        if piece is not None:
            pieces.append(piece)
    crs = laea_crs(lat, lng)
    sizes = [area_km2(p, crs) for p in pieces]
    return merge_slivers(pieces, sizes, SLIVER_FRACTION * cell_km2)


def _grid_pieces(area: BaseGeometry, target_km2: float, rotate: bool) -> list[BaseGeometry]:
    lat, lng = _centre(area)
    utm = utm_epsg(lat, lng)
    area_m = to_local_m(area, utm)
    angle = main_axis_deg(area_m) if rotate else 0.0
    origin = area_m.centroid
    flat = affinity.rotate(area_m, -angle, origin=origin)
    minx, miny, maxx, maxy = flat.bounds
    side = math.sqrt(target_km2) * 1000.0
    nx, ny = max(1, round((maxx - minx) / side)), max(1, round((maxy - miny) / side))
    if nx * ny > MAX_SECTORS * 20:
        raise SectorError(f"a grid of {nx} × {ny} cells is too fine for this area: choose a larger sector size")
    dx, dy = (maxx - minx) / nx, (maxy - miny) / ny
    pieces = []
    for j in range(ny):
        for i in range(nx):
            cell = box(minx + i * dx, miny + j * dy, minx + (i + 1) * dx, miny + (j + 1) * dy)
            piece = _polygon_parts(flat.intersection(cell))
            if piece is not None:
                pieces.append(piece)
    pieces = merge_slivers(pieces, [p.area for p in pieces], SLIVER_FRACTION * dx * dy)
    step = max(1.0, min(dx, dy) / 32.0)
    return [reproject(affinity.rotate(p, angle, origin=origin), utm, 4326, step) for p in pieces]


def nw_to_se_order(geoms: Sequence[BaseGeometry]) -> list[int]:
    """Return the indices of ``geoms`` ordered north-west to south-east: row bands from the north, west to east."""
    if not geoms:
        return []
    union_box = shapely.union_all([shapely.box(*g.bounds) for g in geoms])
    lat, lng = _centre(union_box)
    crs = laea_crs(lat, lng)
    local = [reproject(g, 4326, crs) for g in geoms]
    cents = [g.centroid for g in local]
    height = float(np.median([g.bounds[3] - g.bounds[1] for g in local]))
    # Rows from the north: a sector starts a new row when its centre is over half a sector height
    # below the centre of the row's first sector.
    row_of: dict[int, int] = {}
    row, row_top = -1, math.inf
    for k in sorted(range(len(geoms)), key=lambda k: (-round(cents[k].y, 3), round(cents[k].x, 3))):
        if row_top - cents[k].y > 0.5 * height:
            row, row_top = row + 1, cents[k].y
        row_of[k] = row
    keys = [(row_of[k], round(cents[k].x, 3), round(-cents[k].y, 3)) for k in range(len(geoms))]
    return sorted(range(len(geoms)), key=lambda k: keys[k])


def make_sectors(
    area: BaseGeometry, method: str, target_km2: float, rotate: bool = True, used_labels: Iterable[str] = ()
) -> list[Sector]:
    """Return the sectors of ``area`` (lng/lat) of about ``target_km2`` each, labelled north-west to south-east.

    ``method`` is ``"h3"`` or ``"grid"``; ``rotate`` turns the grid to the area's main axis.
    Labels continue after ``used_labels`` (empty for a new plan: AA, AB, …).
    """
    if method not in METHODS:
        raise SectorError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if not (isinstance(target_km2, int | float) and math.isfinite(target_km2) and target_km2 >= MIN_SECTOR_KM2):
        raise SectorError(f"sector size must be at least {MIN_SECTOR_KM2} km² (got {target_km2!r})")
    area = check_area(area)
    total = area_km2(area)
    if total / target_km2 > MAX_SECTORS * 1.5:
        raise SectorError(
            f"{total:,.1f} km² in sectors of {target_km2:g} km² makes about {total / target_km2:,.0f} sectors: "
            f"the limit is {MAX_SECTORS} (AA–ZZ); choose a larger sector size"
        )
    pieces = _h3_pieces(area, target_km2) if method == "h3" else _grid_pieces(area, target_km2, rotate)
    if len(pieces) > MAX_SECTORS:
        raise SectorError(f"{len(pieces)} sectors: over the {MAX_SECTORS} labels (AA–ZZ); choose a larger sector size")
    order = nw_to_se_order(pieces)
    labels = next_labels(used_labels, len(pieces))
    crs = laea_crs(*_centre(area))
    return [Sector(labels[k], pieces[i], area_km2(pieces[i], crs)) for k, i in enumerate(order)]


def split_in_two(geom: BaseGeometry) -> tuple[BaseGeometry, BaseGeometry]:
    """Return the two halves of a lng/lat sector, cut across its main axis through its centroid."""
    lat, lng = _centre(geom)
    crs = laea_crs(lat, lng)
    local = to_local_m(geom, crs)
    angle = main_axis_deg(local)
    origin = local.centroid
    flat = affinity.rotate(local, -angle, origin=origin)
    minx, miny, maxx, maxy = flat.bounds
    cut_x = origin.x
    halves = []
    for lo, hi in ((minx - 1, cut_x), (cut_x, maxx + 1)):
        part = _polygon_parts(flat.intersection(box(lo, miny - 1, hi, maxy + 1)))
        if part is None:
            raise SectorError("this sector is too small or thin to split")
        back = affinity.rotate(part, angle, origin=origin)
        halves.append(reproject(back, crs, 4326, max(1.0, math.sqrt(local.area) / 64.0)))
    return halves[0], halves[1]
