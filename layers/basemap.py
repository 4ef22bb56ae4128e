"""The offline basemap: Natural Earth 1:50m country boundaries bundled from npm ``world-atlas``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import box, mapping

from data.store import BBox
from geo.topojson import topology_to_geometries
from layers.i18n import N_

ATTRIBUTION = N_("Boundaries: Natural Earth (public domain) via world-atlas")


@lru_cache(maxsize=1)
def _countries() -> list[tuple[dict[str, Any], Any]]:
    raw = (Path(__file__).parent / "basemap" / "countries-50m.json").read_text(encoding="utf-8")
    return topology_to_geometries(json.loads(raw), "countries")


def _simplified(geom: Any, tolerance: float, digits: int) -> Any:
    geom = shapely.make_valid(geom).simplify(tolerance, preserve_topology=True)
    return shapely.set_precision(shapely.make_valid(geom), 10**-digits)


@lru_cache(maxsize=8)
def basemap_geojson(region: BBox | None = None) -> dict[str, Any]:
    """Return every country as GeoJSON: ~1 km detail where it touches ``region``, ~10 km elsewhere.

    Two levels of detail keep the whole world under a few hundred kB on the wire.
    """
    focus = box(*region) if region is not None else None
    features = []
    for props, geom in _countries():
        detailed = focus is None or geom.intersects(focus)
        geom = _simplified(geom, 0.01, 3) if detailed else _simplified(geom, 0.12, 2)
        if geom.is_empty:
            continue
        point = geom.representative_point()
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(geom),
                "properties": {
                    "name": props.get("name"),
                    "label_lat": round(point.y, 3),
                    "label_lng": round(point.x, 3),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
