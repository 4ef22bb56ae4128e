"""A minimal TopoJSON decoder (quantised arcs, Polygon and MultiPolygon objects)."""

from __future__ import annotations

from typing import Any

from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry


def _decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    transform = topology.get("transform")
    arcs: list[list[tuple[float, float]]] = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            pts = []
            for dx, dy in arc:
                x += dx
                y += dy
                pts.append((x * sx + tx, y * sy + ty))
        else:
            pts = [(float(px), float(py)) for px, py in arc]
        arcs.append(pts)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    coords: list[tuple[float, float]] = []
    for i in indexes:
        pts = arcs[i] if i >= 0 else arcs[~i][::-1]
        coords.extend(pts if not coords else pts[1:])
    return coords


def topology_to_geometries(topology: dict[str, Any], name: str) -> list[tuple[dict[str, Any], BaseGeometry]]:
    """Return ``(properties, geometry)`` for each Polygon/MultiPolygon in object ``name``.

    Properties include the TopoJSON ``id`` under the key ``id``.
    """
    arcs = _decode_arcs(topology)
    out: list[tuple[dict[str, Any], BaseGeometry]] = []
    for geom in topology["objects"][name]["geometries"]:
        props = dict(geom.get("properties") or {})
        props["id"] = geom.get("id")
        if geom["type"] == "Polygon":
            rings = [_ring(arcs, r) for r in geom["arcs"]]
            shape: BaseGeometry = Polygon(rings[0], rings[1:])
        elif geom["type"] == "MultiPolygon":
            polys = []
            for poly in geom["arcs"]:
                rings = [_ring(arcs, r) for r in poly]
                polys.append(Polygon(rings[0], rings[1:]))
            shape = MultiPolygon(polys)
        else:
            continue
        out.append((props, shape))
    return out
