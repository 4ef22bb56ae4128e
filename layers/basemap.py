"""The offline basemap: Natural Earth 1:50m country boundaries bundled from npm ``world-atlas``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import shapely
from shapely.geometry import box, mapping

from data.boundaries import country_features
from data.interfaces import BBox
from layers.i18n import N_

ATTRIBUTION = N_("Boundaries: Natural Earth (public domain) via world-atlas")


def _countries() -> list[tuple[dict[str, Any], Any]]:
    return country_features()  # data/boundaries/: ingest checks positions against the same outlines


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
