"""Pure coordinate and geometry checks used at ingest: ranges, swapped lat/lng, repairs.

Everything here takes and returns numpy arrays or shapely geometries; nothing touches a store.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import ConfigError

BBox = tuple[float, float, float, float]  # west, south, east, north

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")


def bbox_from_text(raw: str, name: str = "bbox") -> BBox:
    """Return ``west, south, east, north`` from ``"W,S,E,N"`` text, or raise ConfigError naming ``name``."""
    try:
        w, s, e, n = (float(part) for part in raw.split(","))
    except ValueError:
        raise ConfigError(f"{name} {raw!r} must be four numbers W,S,E,N in degrees") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"{name} {raw!r} must be W,S,E,N with W<E and S<N in lng/lat degrees")
    return w, s, e, n


def is_in_range(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Return True where ``lat`` is within -90..90 and ``lng`` within -180..180 (NaN is False)."""
    with np.errstate(invalid="ignore"):
        return (np.abs(lat) <= 90) & (np.abs(lng) <= 180)


def is_null_island(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Return True where the position is exactly (0, 0), the usual placeholder for 'no position'."""
    return (lat == 0) & (lng == 0)


def is_in_bbox(lat: np.ndarray, lng: np.ndarray, bbox: BBox) -> np.ndarray:
    """Return True where the position lies inside ``bbox`` (west, south, east, north)."""
    w, s, e, n = bbox
    with np.errstate(invalid="ignore"):
        return (lng >= w) & (lng <= e) & (lat >= s) & (lat <= n)


def swapped_latlng(lat: np.ndarray, lng: np.ndarray, region: BBox | None, in_range_too: bool = True) -> np.ndarray:
    """Return True where swapping lat and lng puts a position inside the region of interest.

    Candidates are positions that are not positions at all as written (|lat| > 90 or |lng| > 180)
    and, with ``in_range_too``, positions outside the region. Without a region nothing is swapped:
    a swap that merely makes the numbers valid can land anywhere (lat 95, lon 31.4 becomes China).
    """
    if region is None:
        return np.zeros(np.shape(lat), bool)
    swapped_in = is_in_range(lng, lat) & is_in_bbox(lng, lat, region)
    candidate = ~is_in_range(lat, lng)
    if in_range_too:
        candidate |= ~is_in_bbox(lat, lng, region)
    return candidate & swapped_in & ~is_null_island(lat, lng)


def region_of(lat: np.ndarray, lng: np.ndarray, pad_deg: float = 1.0) -> BBox | None:
    """Return the bbox (W, S, E, N) of the valid, non-(0, 0) positions grown by ``pad_deg``, or None if none."""
    ok = is_in_range(lat, lng) & ~is_null_island(lat, lng)
    if not ok.any():
        return None
    return (
        max(float(np.min(lng[ok])) - pad_deg, -180.0),
        max(float(np.min(lat[ok])) - pad_deg, -90.0),
        min(float(np.max(lng[ok])) + pad_deg, 180.0),
        min(float(np.max(lat[ok])) + pad_deg, 90.0),
    )


def swap_xy(geom: BaseGeometry) -> BaseGeometry:
    """Return ``geom`` with x and y exchanged at every vertex."""
    return shapely.transform(geom, lambda coords: coords[:, ::-1])


def bounds_in_range(geom: BaseGeometry) -> bool:
    """Return True if every vertex of ``geom`` is a valid lng/lat position."""
    minx, miny, maxx, maxy = geom.bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def is_geometry_swapped(geom: BaseGeometry, region: BBox | None = None) -> bool:
    """Return True if ``geom``'s x and y are unambiguously swapped (same rule as :func:`swapped_latlng`)."""
    minx, miny, maxx, maxy = geom.bounds
    if bounds_in_range(geom):
        if region is None:
            return False
        w, s, e, n = region
        inside = w <= minx and maxx <= e and s <= miny and maxy <= n
        swapped_inside = w <= miny and maxy <= e and s <= minx and maxx <= n
        return not inside and swapped_inside
    return -90 <= minx <= maxx <= 90 and -180 <= miny <= maxy <= 180


def coerce_type(geom: BaseGeometry, allowed: tuple[str, ...]) -> BaseGeometry | None:
    """Return ``geom`` as one of the ``allowed`` types when that loses nothing, else None.

    A one-part Multi* becomes its part; a MultiLineString whose parts join end to end becomes
    one LineString; a Polygon is accepted where MultiPolygon is allowed (the store wraps it).
    """
    kind = geom.geom_type
    if kind in allowed:
        return geom
    if kind.startswith("Multi") and len(geom.geoms) == 1 and geom.geoms[0].geom_type in allowed:
        return geom.geoms[0]
    if kind == "MultiLineString" and "LineString" in allowed:
        merged = shapely.line_merge(geom)
        return merged if merged.geom_type == "LineString" else None
    return None


def repair(geom: BaseGeometry, allowed: tuple[str, ...]) -> BaseGeometry | None:
    """Return a valid version of ``geom`` of an allowed type (via make_valid), or None if that is impossible.

    Polygonal inputs keep only their polygonal parts; a repair that leaves nothing of the
    wanted dimension (a polygon collapsed to a line, say) returns None.
    """
    fixed = shapely.make_valid(geom)
    if set(allowed) & set(POLYGONAL):
        parts = [g for g in shapely.get_parts(fixed) if g.geom_type in POLYGONAL and not g.is_empty]
        if not parts:
            return None
        flat = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
        fixed = flat[0] if len(flat) == 1 else shapely.MultiPolygon(flat)
    out = coerce_type(fixed, allowed)
    if out is None or out.is_empty or not out.is_valid:
        return None
    return out
