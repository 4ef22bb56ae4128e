"""Plausible positions: distance from a point to a country, and the swap or sign change that puts it there."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.validate import is_in_range

EARTH_RADIUS_KM = 6371.0088
_BAND_DEG = 2.0  # latitude band sharing one east-west scale when measuring distances

Fix = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# Each candidate correction, in the order tried: (what changed, (lat, lng) -> (lat, lng)).
CANDIDATES: tuple[tuple[str, Fix], ...] = (
    ("swapped", lambda la, ln: (ln, la)),
    ("lat sign", lambda la, ln: (-la, ln)),
    ("lon sign", lambda la, ln: (la, -ln)),
    ("lat and lon signs", lambda la, ln: (-la, -ln)),
    ("swapped, lat sign", lambda la, ln: (-ln, la)),
    ("swapped, lon sign", lambda la, ln: (ln, -la)),
    ("swapped, both signs", lambda la, ln: (-ln, -la)),
)


def haversine_km(lat1: np.ndarray, lng1: np.ndarray, lat2: np.ndarray, lng2: np.ndarray) -> np.ndarray:
    """Return the great-circle distance (km) between paired positions."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lng2) - np.asarray(lng1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_to_km(lat: np.ndarray, lng: np.ndarray, area: BaseGeometry) -> np.ndarray:
    """Return each position's distance (km) to ``area`` (0 inside it); NaN where the position is not in range.

    The nearest point is found in a plane whose longitudes are scaled by cos(latitude) of the point's
    2-degree latitude band, then measured along the great circle: within about 1 % of the true distance
    (longitudes are not unwrapped across the antimeridian).
    """
    lat, lng = np.asarray(lat, dtype=float), np.asarray(lng, dtype=float)
    out = np.full(lat.shape, np.nan)
    ok = is_in_range(lat, lng)
    if not ok.any():
        return out
    inside = np.zeros(lat.shape, bool)
    inside[ok] = shapely.contains_xy(area, lng[ok], lat[ok])
    out[inside] = 0.0
    rest = np.flatnonzero(ok & ~inside)
    bands = np.floor(lat[rest] / _BAND_DEG)
    for band in np.unique(bands):
        idx = rest[bands == band]
        scale = max(np.cos(np.radians((band + 0.5) * _BAND_DEG)), 0.01)
        scaled = shapely.transform(area, lambda xy, s=scale: xy * np.array([s, 1.0]))
        lines = shapely.shortest_line(shapely.points(lng[idx] * scale, lat[idx]), scaled)
        ends = shapely.get_coordinates(shapely.get_point(lines, 1))
        out[idx] = haversine_km(lat[idx], lng[idx], ends[:, 1], ends[:, 0] / scale)
    return out


def correct_into(
    lat: np.ndarray, lng: np.ndarray, area: BaseGeometry, margin_km: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (lat, lng, what changed) of the first swap or sign change that puts each point within
    ``margin_km`` of ``area``; ``what`` is "" where none does (lat, lng are then returned unchanged).
    """
    lat, lng = np.asarray(lat, dtype=float).copy(), np.asarray(lng, dtype=float).copy()
    what = np.full(lat.shape, "", dtype=object)
    todo = np.ones(lat.shape, bool)
    for name, fix in CANDIDATES:
        idx = np.flatnonzero(todo)
        if not idx.size:
            break
        new_lat, new_lng = fix(lat[idx], lng[idx])
        fits = distance_to_km(new_lat, new_lng, area) <= margin_km  # NaN (out of range) never fits
        hit = idx[fits]
        lat[hit], lng[hit] = new_lat[fits], new_lng[fits]
        what[hit] = name
        todo[hit] = False
    return lat, lng, what
