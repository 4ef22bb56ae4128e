"""Leaflet path styles (``layers.styles.STYLES``) as matplotlib keyword arguments.

The live map draws each feature with Leaflet's path options looked up by the feature's ``_s`` key;
this module applies Leaflet's defaults the same way so the printed map uses identical colours,
opacities, widths and dash patterns. Leaflet sizes are CSS pixels (1/96 in); matplotlib uses points.
"""

from __future__ import annotations

from typing import Any

from matplotlib.colors import to_rgba

PX = 0.75  # points per CSS pixel
# Leaflet's L.Path defaults.
LEAFLET_COLOR = "#3388ff"
LEAFLET_WEIGHT = 3.0
LEAFLET_FILL_OPACITY = 0.2
# Crossing point markers: the divIcon drawn by hbm.js (2 px dark border and a 1 px white halo in hbm.css).
MARKERS = {"square": "s", "diamond": "D", "circle": "o"}
MARKER_BORDER = "#0b1118"
DIAMOND_SCALE = 0.85  # hbm.css: rotate(45deg) scale(0.85)
# The live map's basemap (hbm.js basemapStyle) and sea (hbm.css .leaflet-container).
SEA = "#0a2236"
LAND = {"color": "#5d6d7e", "weight": 0.8, "fillColor": "#1c2833", "fillOpacity": 1.0, "opacity": 0.9}
# The live map's lakes and rivers (context.js lakeStyle, riverStyle).
LAKE = {"color": "#3b7fb4", "weight": 1.0, "fillColor": "#1d5a8a", "fillOpacity": 1.0, "opacity": 1.0}
RIVER = {"color": "#3b7fb4", "weight": 1.2, "opacity": 0.8}
LABEL_BOX = (11 / 255, 17 / 255, 24 / 255, 0.75)


def dashes(dash_array: str | None) -> Any:
    """Return a matplotlib linestyle for a Leaflet ``dashArray`` ("10 6"), or "solid"."""
    if not dash_array:
        return "solid"
    parts = [float(p) * PX for p in str(dash_array).replace(",", " ").split()]
    if len(parts) % 2:
        parts = parts * 2  # SVG repeats an odd dash list
    return (0, tuple(parts))


def path_kwargs(style: dict[str, Any], filled: bool) -> dict[str, Any]:
    """Return facecolor/edgecolor/linewidth/linestyle for a polygon (``filled``) or a line."""
    color = style.get("color", LEAFLET_COLOR)
    stroke = style.get("stroke", True)
    weight = float(style.get("weight", LEAFLET_WEIGHT)) if stroke else 0.0
    edge = to_rgba(color, float(style.get("opacity", 1.0))) if stroke else (0, 0, 0, 0)
    out: dict[str, Any] = {"linewidth": weight * PX, "linestyle": dashes(style.get("dashArray"))}
    if filled:
        fill = style.get("fill", True)
        face = to_rgba(style.get("fillColor", color), float(style.get("fillOpacity", LEAFLET_FILL_OPACITY)))
        out["facecolor"] = face if fill else "none"
        out["edgecolor"] = edge
    else:
        out["color"] = edge
    return out


def marker_kwargs(style: dict[str, Any]) -> dict[str, Any]:
    """Return scatter keywords (marker, size in points², colours) for a crossing-point style."""
    shape = style.get("shape", "circle")
    size_pt = 2 * float(style.get("radius", 7)) * PX
    if shape == "diamond":
        size_pt *= DIAMOND_SCALE
    return {
        "marker": MARKERS.get(shape, "o"),
        "s": size_pt**2,
        "facecolor": style.get("fillColor", "#95a5a6"),
        "edgecolor": MARKER_BORDER,
        "linewidths": 2 * PX,
    }
