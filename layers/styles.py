"""One style definition for every layer, used by the live map and by exports.

Each feature carries a short style key ``_s``; the map looks the key up in ``STYLES``
(sent once as the GeoJSON ``hideout``), so features stay small on the wire.
"""

from __future__ import annotations

from typing import Any

from data.schema import CROSSING_KINDS, CROSSING_STATUSES, RISK_LEVELS, SAR_KINDS, SAR_STATUSES
from layers.i18n import N_, _, value_label

STATUS_COLORS = {
    "open": "#2ecc71",
    "restricted": "#f5b041",
    "closed": "#e74c3c",
    "unknown": "#95a5a6",
}
KIND_SHAPES = {"official": "square", "informal": "diamond", "flow_monitoring": "circle"}
KIND_LABELS = {
    "official": N_("Official BCP"),
    "informal": N_("Informal crossing"),
    "flow_monitoring": N_("DTM flow monitoring"),
}

RISK_COLORS = {"low": "#5dade2", "medium": "#f4d03f", "high": "#eb984e", "critical": "#e74c3c"}
MODE_DASH = {"foot": "2 6", "vehicle": None, "boat": "10 6", "mixed": "6 4 2 4"}
MODE_LABELS = {
    "foot": N_("Foot (dotted)"),
    "vehicle": N_("Vehicle (solid)"),
    "boat": N_("Boat (long dash)"),
    "mixed": N_("Mixed (dash-dot)"),
}

# Regions and search areas are outlines only, so the hexagons inside them stay clickable; sectors are
# filled with their status, drawn above the hotspot cells (issue 12).
SAR_KIND_STYLE = {
    "srr": {"color": "#48c9b0", "weight": 2, "dashArray": "8 6", "fillOpacity": 0.0, "fill": False},
    "search_area": {"color": "#f7dc6f", "weight": 3, "dashArray": None, "fillOpacity": 0.0, "fill": False},
    "sector": {"color": "#f7dc6f", "weight": 1.5, "dashArray": "3 3", "fillOpacity": 0.45, "fill": True},
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


# The other hotspot statistics: change against the baseline, Gi* confidence bin, trend category.
CHANGE_COLORS = {
    "new": "#ff00ff",
    "large_increase": "#d7191c",
    "moderate_increase": "#fdae61",
    "limited_change": "#b7c4cf",
    "large_decrease": "#2c7bb6",
    "insufficient_baseline": "#f4f1e8",
}
CHANGE_LABELS = {
    "new": N_("New (no events in the baseline)"),
    "large_increase": N_("Large increase (> +25 %)"),
    "moderate_increase": N_("Moderate increase (+10 to +25 %)"),
    "limited_change": N_("Limited change"),
    "large_decrease": N_("Large decrease (< −25 %)"),
    "insufficient_baseline": N_("Insufficient baseline (too few windows inside the data; never alerted on)"),
}
GI_COLORS = {
    3: "#b2182b",
    2: "#ef8a62",
    1: "#fddbc7",
    0: "#b7c4cf",
    -1: "#d1e5f0",
    -2: "#67a9cf",
    -3: "#2166ac",
}
GI_LABELS = {
    3: N_("Hot spot, 99 % confidence"),
    2: N_("Hot spot, 95 %"),
    1: N_("Hot spot, 90 %"),
    0: N_("Not significant"),
    -1: N_("Cold spot, 90 %"),
    -2: N_("Cold spot, 95 %"),
    -3: N_("Cold spot, 99 %"),
}
EMERGING_COLORS = {
    "new": "#ff00ff",
    "intensifying": "#d7191c",
    "consecutive": "#f46d43",
    "persistent": "#fdae61",
    "sporadic": "#ffffbf",
    "diminishing": "#abd9e9",
    "none": "#b7c4cf",
}
EMERGING_LABELS = {
    "new": N_("New hot spot"),
    "intensifying": N_("Intensifying"),
    "consecutive": N_("Consecutive (hot in the latest windows)"),
    "persistent": N_("Persistent"),
    "sporadic": N_("Sporadic"),
    "diminishing": N_("Diminishing"),
    "none": N_("No pattern"),
}
SUPPRESSED_COLOR = "#7f8c8d"
ZERO_KEY = "hx:zero"
COARSE_SUFFIX = ":c"
COARSE_STYLE = {"fillOpacity": 0.18, "dashArray": "5 4", "weight": 1.2, "opacity": 0.9}
ZERO_STYLE = {"fill": False, "fillOpacity": 0.0, "color": "#93a4b5", "weight": 0.8, "opacity": 0.7, "dashArray": "2 3"}
HOTSPOT_FILL_OPACITY = 0.55
STATISTIC_TITLES = {
    "count": N_("{metric} per H3 cell"),
    "change": N_("change against the baseline ({metric})"),
    "gi": N_("Getis-Ord Gi* clusters ({metric})"),
    "emerging": N_("emerging hot-spot trend ({metric})"),
}


def crossing_key(kind: str, status: str) -> str:
    """Return the style key of a crossing point."""
    return f"cp:{kind}:{status}"


def route_key(risk: str, mode: str, active: bool) -> str:
    """Return the style key of a route."""
    return f"rt:{risk}:{mode}:{int(active)}"


def sar_key(kind: str, status: str) -> str:
    """Return the style key of a SAR zone."""
    return f"sar:{kind}:{status}"


def hotspot_class(value: int, breaks: tuple[int, ...] = HOTSPOT_BREAKS) -> int:
    """Return the colour class (0-7) of a hotspot count against ``breaks``."""
    cls = 0
    for i, brk in enumerate(breaks):
        if value >= brk:
            cls = i
    return cls


def hotspot_key(value: int, breaks: tuple[int, ...] = HOTSPOT_BREAKS) -> str:
    """Return the style key of a hotspot cell coloured by its count ("hx:zero" below the first break)."""
    if value < breaks[0]:
        return ZERO_KEY  # no events in this window (the cell had some in earlier windows)
    return f"hx:{hotspot_class(value, breaks)}"


def statistic_key(statistic: str, value: Any, breaks: tuple[int, ...] = HOTSPOT_BREAKS) -> str:
    """Return the style key of a hotspot cell coloured by ``statistic`` (count, change, gi, emerging)."""
    if statistic == "count":
        return hotspot_key(int(value), breaks)
    if statistic == "change":
        return f"chg:{value}" if value in CHANGE_COLORS else "hx:sup"
    if statistic == "gi":
        return f"gi:{int(value)}" if value is not None and int(value) in GI_COLORS else "hx:sup"
    if statistic == "emerging":
        return f"em:{value}" if value in EMERGING_COLORS else "hx:sup"
    raise ValueError(f"unknown statistic {statistic!r}")


def nice_breaks(max_value: int, classes: int = len(HOTSPOT_COLORS)) -> tuple[int, ...]:
    """Return ``classes`` increasing integer breaks from 1 to about ``max_value``, geometric and rounded.

    Used to fix one colour scale for a whole playback, so colours mean the same in every frame.
    """
    top = max(int(max_value), classes)
    ratio = top ** (1 / (classes - 1))
    out: list[int] = []
    for i in range(classes):
        raw = ratio**i
        digits = max(0, len(str(int(raw))) - 2)
        value = max(1, int(round(raw / 10**digits) * 10**digits))
        out.append(max(value, out[-1] + 1) if out else 1)
    return tuple(out)


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
            styles[sar_key(kind, status)] = base
    for i, color in enumerate(HOTSPOT_COLORS):
        styles[f"hx:{i}"] = {
            "fillColor": color,
            "color": color,
            "weight": 0.6,
            "fillOpacity": HOTSPOT_FILL_OPACITY,
            "opacity": 0.8,
        }
    styles[ZERO_KEY] = dict(ZERO_STYLE)
    hexagon = {"weight": 0.6, "fillOpacity": 0.6, "opacity": 0.85}
    for name, color in CHANGE_COLORS.items():
        styles[f"chg:{name}"] = {"fillColor": color, "color": color, **hexagon}
    # neutral: pale fill, dashed grey outline, so it never reads as a rise or a fall
    styles["chg:insufficient_baseline"].update({"color": "#7f8c8d", "fillOpacity": 0.25, "dashArray": "3 3"})
    for gi_bin, color in GI_COLORS.items():
        styles[f"gi:{gi_bin}"] = {"fillColor": color, "color": color, **hexagon}
    for name, color in EMERGING_COLORS.items():
        styles[f"em:{name}"] = {"fillColor": color, "color": color, **hexagon}
    styles["hx:sup"] = {
        "fillColor": SUPPRESSED_COLOR,
        "color": "#d5dbdb",
        "weight": 1,
        "dashArray": "3 3",
        **{"fillOpacity": 0.35, "opacity": 0.9},
    }
    # Cells coarser than the View's resolution (events with a coarse location): faint and dashed, so they
    # read as "somewhere in here" and do not hide the finer cells drawn over them (issue 12).
    for key in [k for k in styles if k.split(":")[0] in ("hx", "chg", "gi", "em")]:
        styles[key + COARSE_SUFFIX] = {**styles[key], **COARSE_STYLE}
    # An outline around touching hot cells; not clickable, so a click inside it reaches the cell itself.
    styles["area"] = {
        "fill": False,
        "color": "#ffffff",
        "weight": 2.5,
        "opacity": 0.95,
        "dashArray": "6 4",
        "interactive": False,
    }
    return styles


STYLES: dict[str, dict[str, Any]] = _styles()


def hotspot_legend(
    statistic: str = "count", breaks: tuple[int, ...] = HOTSPOT_BREAKS
) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(label, style)`` pairs for the hotspot legend of ``statistic`` (count uses ``breaks``)."""
    merged = (
        _("Merged: under k people (small-count suppression)"),
        {"fillColor": SUPPRESSED_COLOR, "fillOpacity": 0.35},
    )
    fill = {"fillOpacity": 0.6}
    coarse = (
        _("Larger cell, faint and dashed: coarse event locations"),
        {"fillColor": HOTSPOT_COLORS[3], "fillOpacity": COARSE_STYLE["fillOpacity"]},
    )
    area = (_("Hotspot area outline"), {"line": True, "color": "#ffffff", "weight": 2.5, "dashArray": "6 4"})
    if statistic == "count":
        labels = []
        for i, brk in enumerate(breaks):
            upper = breaks[i + 1] - 1 if i + 1 < len(breaks) else None
            text = f"{brk:,}+" if upper is None else (f"{brk:,}" if upper == brk else f"{brk:,}–{upper:,}")
            labels.append((text, {"fillColor": HOTSPOT_COLORS[i], "fillOpacity": HOTSPOT_FILL_OPACITY}))
        zero = (_("0 in this window (events only earlier): outline"), {**ZERO_STYLE, "outline": True})
        return [zero, *labels, coarse, merged, area]
    if statistic == "change":
        return [
            *((_(CHANGE_LABELS[k]), {"fillColor": c, **fill}) for k, c in CHANGE_COLORS.items()),
            coarse,
            merged,
            area,
        ]
    if statistic == "gi":
        return [*((_(GI_LABELS[k]), {"fillColor": c, **fill}) for k, c in GI_COLORS.items()), coarse, merged, area]
    if statistic == "emerging":
        return [
            *((_(EMERGING_LABELS[k]), {"fillColor": c, **fill}) for k, c in EMERGING_COLORS.items()),
            coarse,
            merged,
            area,
        ]
    raise ValueError(f"unknown statistic {statistic!r}")


def dash_gradient(color: str, dash: str | None) -> str:
    """Return a CSS background drawing a line dashed as Leaflet's ``dashArray`` ("10 6"), as on the map."""
    parts = [float(x) for x in str(dash or "").replace(",", " ").split() if x.strip()]
    if not parts:
        return color
    if len(parts) % 2:
        parts = parts * 2
    stops, pos = [], 0.0
    for i, length in enumerate(parts):
        paint = color if i % 2 == 0 else "transparent"
        stops.append(f"{paint} {pos:g}px {pos + length:g}px")
        pos += length
    return f"repeating-linear-gradient(to right, {', '.join(stops)})"


def translucent(color: str, opacity: float) -> str:
    """Return ``#rrggbb`` as an ``rgba()`` with ``opacity``: a legend swatch that looks like the map's fill."""
    value = color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {opacity:g})"


def legend_entries(layer: str, statistic: str = "count") -> list[tuple[str, dict[str, Any]]]:
    """Return ``(label, style)`` pairs for a layer's legend (the hotspot one depends on ``statistic``)."""
    if layer == "crossing_points":
        kinds = [(_(KIND_LABELS[k]), {"shape": KIND_SHAPES[k], "fillColor": "#ddd"}) for k in CROSSING_KINDS]
        statuses = [
            (value_label(s).capitalize(), {"shape": "circle", "fillColor": c}) for s, c in STATUS_COLORS.items()
        ]
        return kinds + statuses
    if layer == "routes":
        risks = [
            (_("{risk} risk").format(risk=value_label(r)).capitalize(), {"line": True, "color": c, "weight": 3})
            for r, c in RISK_COLORS.items()
        ]
        return risks + [
            (_("Active in window (thick)"), {"line": True, "color": "#ddd", "weight": 6}),
            *(
                (_(MODE_LABELS[mode]), {"line": True, "color": "#ddd", "weight": 3, "dashArray": dash})
                for mode, dash in MODE_DASH.items()
            ),
        ]
    if layer == "sar_zones":
        zone_kinds: list[tuple[str, dict[str, Any]]] = [
            (
                _("SAR region (SRR)"),
                {
                    "line": True,
                    "color": SAR_KIND_STYLE["srr"]["color"],
                    "weight": 2,
                    "dashArray": "8 6",
                },
            ),
            (
                _("Search area"),
                {"line": True, "color": SAR_KIND_STYLE["search_area"]["color"], "weight": 3},
            ),
        ]
        sector_fill = SAR_KIND_STYLE["sector"]["fillOpacity"]
        return zone_kinds + [
            (_("Sector: {status}").format(status=value_label(s)), {"fillColor": c, "fillOpacity": sector_fill})
            for s, c in SAR_STATUS_FILL.items()
        ]
    if layer == "hotspots":
        return hotspot_legend(statistic)
    raise ValueError(f"unknown layer {layer!r}")


def hotspot_title(statistic: str | None, metric: str | None) -> str:
    """Return the hotspot legend's title ("Hotspots: events per H3 cell") in the language in force."""
    body = _(STATISTIC_TITLES.get(statistic or "count", "{metric}")).format(metric=value_label(metric or "events"))
    return _("Hotspots: {title}").format(title=body)
