"""geo.topojson and the bundled offline basemap."""

from __future__ import annotations

from geo.topojson import topology_to_geometries
from layers.basemap import basemap_geojson

TINY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.5], "translate": [10, 20]},
    "arcs": [[[0, 0], [2, 0], [0, 2], [-2, 0], [0, -2]], [[4, 0], [2, 0], [0, 2]], [[6, 2], [-2, 0], [0, -2]]],
    "objects": {
        "countries": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "arcs": [[0]], "id": "1", "properties": {"name": "Square"}},
                {"type": "MultiPolygon", "arcs": [[[1, 2]]], "id": "2", "properties": {"name": "Other"}},
            ],
        }
    },
}


def test_decodes_quantised_arcs_and_joins_rings() -> None:
    (props, square), (other_props, other) = topology_to_geometries(TINY, "countries")
    assert props == {"name": "Square", "id": "1"}
    assert square.bounds == (10.0, 20.0, 11.0, 21.0)
    assert square.area == 1.0
    assert other_props["name"] == "Other" and other.geom_type == "MultiPolygon"
    assert other.bounds == (12.0, 20.0, 13.0, 21.0)


def test_bundled_basemap_has_the_region_countries() -> None:
    names = {f["properties"]["name"] for f in basemap_geojson((28.8, -1.8, 33.2, 4.4))["features"]}
    assert {"Uganda", "Dem. Rep. Congo", "S. Sudan", "Rwanda"} <= names
    assert len(names) > 150  # the whole world is there, coarser away from the region
