"""One style definition for every layer, used by the live map and by exports.

Each feature carries a short style key ``_s``; the map looks the key up in ``STYLES``
(sent once as the GeoJSON ``hideout``), so features stay small on the wire.
"""

from __future__ import annotations

from typing import Any

from data.schema import CROSSING_KINDS, CROSSING_STATUSES, RISK_LEVELS, SAR_KINDS, SAR_STATUSES

STATUS_COLORS = {
    "open": "#2ecc71",
    "restricted": "#f5b041",
    "closed": "#e74c3c",
    "unknown": "#95a5a6",
}
KIND_SHAPES = {"official": "square", "informal": "diamond", "flow_monitoring": "circle"}
KIND_LABELS = {
    "official": "Official BCP",
    "informal": "Informal crossing",
    "flow_monitoring": "DTM flow monitoring",
}

RISK_COLORS = {"low": "#5dade2", "medium": "#f4d03f", "high": "#eb984e", "critical": "#e74c3c"}
MODE_DASH = {"foot": "2 6", "vehicle": None, "boat": "10 6", "mixed": "6 4 2 4"}

SAR_KIND_STYLE = {
    "srr": {"color": "#48c9b0", "weight": 2, "dashArray": "8 6", "fillOpacity": 0.03},
    "search_area": {"color": "#f7dc6f", "weight": 3, "dashArray": None, "fillOpacity": 0.06},
    "sector": {"color": "#f7dc6f", "weight": 1, "dashArray": "3 3", "fillOpacity": 0.18},
}
SAR_STATUS_FILL = {
    "planned": "#7f8c8d",
    "assigned": "#5dade2",
    "in_progress": "#f5b041",
    "searched": "#af7ac5",
    "cleared": "#2ecc71",
    "suspended": "#e74c3c",
}

# Fixed geometric breaks keep colours stable from one refresh to the next (no flicker).
HOTSPOT_BREAKS = (1, 3, 10, 30, 100, 300, 1000, 3000)
HOTSPOT_COLORS = (
    "#ffffb2",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
)


def crossing_key(kind: str, status: str) -> str:
    """Return the style key of a crossing point."""
    return f"cp:{kind}:{status}"


def route_key(risk: str, mode: str, active: bool) -> str:
    """Return the style key of a route."""
    return f"rt:{risk}:{mode}:{int(active)}"


def sar_key(kind: str, status: str) -> str:
    """Return the style key of a SAR zone."""
    return f"sar:{kind}:{status}"


def hotspot_class(value: int) -> int:
    """Return the colour class (0-7) of a hotspot count."""
    cls = 0
    for i, brk in enumerate(HOTSPOT_BREAKS):
        if value >= brk:
            cls = i
    return cls


def hotspot_key(value: int) -> str:
    """Return the style key of a hotspot cell."""
    return f"hx:{hotspot_class(value)}"


def _styles() -> dict[str, dict[str, Any]]:
    styles: dict[str, dict[str, Any]] = {}
    for kind in CROSSING_KINDS:
        for status in CROSSING_STATUSES:
            styles[crossing_key(kind, status)] = {
                "shape": KIND_SHAPES[kind],
                "fillColor": STATUS_COLORS[status],
                "color": "#111",
                "radius": 9 if kind == "official" else 7,
            }
    for risk in RISK_LEVELS:
        for mode, dash in MODE_DASH.items():
            for active in (False, True):
                styles[route_key(risk, mode, active)] = {
                    "color": RISK_COLORS[risk],
                    "weight": 5 if active else 2.5,
                    "opacity": 0.95 if active else 0.6,
                    "dashArray": dash,
                }
    for kind in SAR_KINDS:
        for status in SAR_STATUSES:
            base = dict(SAR_KIND_STYLE[kind])
            base["fillColor"] = SAR_STATUS_FILL[status] if kind == "sector" else base["color"]
            base["fill"] = True
            styles[sar_key(kind, status)] = base
    for i, color in enumerate(HOTSPOT_COLORS):
        styles[f"hx:{i}"] = {
            "fillColor": color,
            "color": color,
            "weight": 0.6,
            "fillOpacity": 0.55,
            "opacity": 0.8,
        }
    return styles


STYLES: dict[str, dict[str, Any]] = _styles()


def legend_entries(layer: str) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(label, style)`` pairs for a layer's legend."""
    if layer == "crossing_points":
        kinds = [(KIND_LABELS[k], {"shape": KIND_SHAPES[k], "fillColor": "#ddd"}) for k in CROSSING_KINDS]
        statuses = [(s.capitalize(), {"shape": "circle", "fillColor": c}) for s, c in STATUS_COLORS.items()]
        return kinds + statuses
    if layer == "routes":
        risks = [(f"{r.capitalize()} risk", {"line": True, "color": c, "weight": 3}) for r, c in RISK_COLORS.items()]
        return risks + [
            ("Active in window (thick)", {"line": True, "color": "#ddd", "weight": 6}),
            ("Boat (long dash)", {"line": True, "color": "#ddd", "weight": 3, "dashArray": "10 6"}),
            ("Foot (dotted)", {"line": True, "color": "#ddd", "weight": 3, "dashArray": "2 6"}),
        ]
    if layer == "sar_zones":
        zone_kinds: list[tuple[str, dict[str, Any]]] = [
            (
                "SAR region (SRR)",
                {
                    "line": True,
                    "color": SAR_KIND_STYLE["srr"]["color"],
                    "weight": 2,
                    "dashArray": "8 6",
                },
            ),
            (
                "Search area",
                {"line": True, "color": SAR_KIND_STYLE["search_area"]["color"], "weight": 3},
            ),
        ]
        return zone_kinds + [(f"Sector: {s.replace('_', ' ')}", {"fillColor": c}) for s, c in SAR_STATUS_FILL.items()]
    if layer == "hotspots":
        labels = []
        for i, brk in enumerate(HOTSPOT_BREAKS):
            upper = HOTSPOT_BREAKS[i + 1] - 1 if i + 1 < len(HOTSPOT_BREAKS) else None
            text = f"{brk:,}+" if upper is None else (f"{brk:,}" if upper == brk else f"{brk:,}–{upper:,}")
            labels.append((text, {"fillColor": HOTSPOT_COLORS[i]}))
        return labels
    raise ValueError(f"unknown layer {layer!r}")
