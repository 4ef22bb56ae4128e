"""SAR assignment sheets: one PDF page per sector, with its map, corners (lat/lng and MGRS), tracks and team."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import shapely
from matplotlib.transforms import Bbox
from shapely.geometry.base import BaseGeometry

from data.interfaces import Store
from data.sar_plans import Plan
from geo.sectors import reproject, utm_epsg
from layers.context import CONTEXT_ATTRIBUTION, lakes_geojson, places, rivers_geojson
from layers.i18n import _, value_label
from layers.services.exports.collect import full_marking
from layers.services.exports.labels import Label, crossing_priority, place_labels
from layers.services.exports.sar import (
    ExportError,
    bounds_span,
    plan_is_synthetic,
    sector_records,
    sector_tracks,
    to_mgrs,
)
from layers.services.exports.settings import load_export_settings
from layers.styles import KIND_SHAPES

# The sheet map's context, in print colours on white paper (the briefing export draws the same lakes,
# rivers and towns from layers.context in the live map's dark theme).
MARKING_COLOR = "#a93226"


SHEET_LAKE = {"facecolor": "#aed6f1", "edgecolor": "#5499c7", "linewidth": 0.6}


SHEET_RIVER = {"color": "#5499c7", "linewidth": 1.1}


SHEET_MARKERS = {"square": "s", "diamond": "D", "circle": "o"}


_LABEL_BOX = {"boxstyle": "square,pad=0.15", "facecolor": (1, 1, 1, 0.8), "edgecolor": "none"}


SHEET_CROSSING_LABEL: dict[str, Any] = {
    "fontsize": 8,
    "color": "#17202a",
    "weight": "bold",
    "zorder": 6,
    "bbox": _LABEL_BOX,
}


SHEET_PLACE_LABEL: dict[str, Any] = {
    "fontsize": 7.5,
    "color": "#424949",
    "style": "italic",
    "zorder": 5.5,
    "bbox": _LABEL_BOX,
}


CROSSING_SIZE = 38.0  # marker areas (pt²)


PLACE_SIZE = 10.0


CROSSING_PAD_DEG = 0.2  # crossing points this far outside the search area are looked up for the sheets


def _plain(text: Any) -> str:
    """Return free text safe for matplotlib: no mathtext."""
    return str(text).replace("$", r"\$")


def _corners(geometry: BaseGeometry, local: BaseGeometry, epsg: int) -> list[tuple[str, float, float]]:
    """Return named corner points (name, lat, lng): the vertices of a simple sector, else its bbox corners."""
    simple = local.simplify(1.0)
    if simple.geom_type == "Polygon" and len(simple.exterior.coords) - 1 <= 8:
        pts = reproject(shapely.MultiPoint(list(simple.exterior.coords)[:-1]), epsg, 4326)
        return [(f"P{i + 1}", p.y, p.x) for i, p in enumerate(shapely.get_parts(pts))]
    w, s, e, n = geometry.bounds
    return [("NW", n, w), ("NE", n, e), ("SE", s, e), ("SW", s, w)]


def _nice_length(span_m: float) -> float:
    target = span_m / 4
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


@dataclass(frozen=True)
class Crossing:
    """A crossing point printed on the sheet map: name, position and label priority."""

    name: str
    lat: float
    lng: float
    shape: str
    priority: float


def plan_crossings(store: Store, plan: Plan) -> list[Crossing]:
    """Return the store's crossing points in and near the plan's search area, for the sheet maps."""
    w, s, e, n = plan.area.bounds
    pad = CROSSING_PAD_DEG
    frame = store.features(
        "crossing_points", (max(-180.0, w - pad), max(-90.0, s - pad), min(180.0, e + pad), min(90.0, n + pad))
    )
    out = []
    for row in frame.to_dict("records"):
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            continue
        pt = geom.representative_point()
        shape = KIND_SHAPES.get(str(row.get("kind") or ""), "circle")
        out.append(Crossing(str(row.get("name") or ""), pt.y, pt.x, shape, crossing_priority(row)))
    return out


def write_plan_sheets(
    store: Store, plan: Plan, out: str | Path | IO[bytes], synthetic: bool = False, track_spacing_m: float | None = None
) -> int:
    """Write the plan's sheets with the store's context: SYNTHETIC for demo data, HBM_MARKING, crossing points."""
    return write_sheets(
        plan,
        out,
        synthetic=synthetic or plan_is_synthetic(plan, store),
        track_spacing_m=track_spacing_m,
        crossings=plan_crossings(store, plan),
    )


def write_sheets(
    plan: Plan,
    out: str | Path | IO[bytes],
    synthetic: bool = False,
    track_spacing_m: float | None = None,
    marking: str | None = None,
    crossings: Sequence[Crossing] = (),
) -> int:
    """Write the assignment sheets PDF (one A4 page per sector) to ``out``; return the number of pages.

    Every page carries the handling marking (``marking``, else HBM_MARKING as in the briefing exports),
    with SYNTHETIC added when ``synthetic``; the map shows lakes, rivers, towns and ``crossings``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    sectors = sector_records(plan)
    if not sectors:
        raise ExportError(f"plan {plan.id} has no sectors to print")
    mark = full_marking(marking if marking is not None else load_export_settings().marking, synthetic)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"{mark}: " + _("SAR assignment sheets: {plan}").format(plan=plan.name)
    try:
        pdf = PdfPages(out, metadata={"Title": title, "Subject": mark, "Creator": "hbm"})
    except OSError as exc:
        raise ExportError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    with pdf:
        for s in sectors:
            fig = _sheet(plt, plan, s, sectors, synthetic, now, track_spacing_m)
            _marking(fig, mark)
            _context(fig.axes[0], s["geometry"], list(crossings))
            pdf.savefig(fig)
            plt.close(fig)
    return len(sectors)


def _marking(fig: Any, mark: str) -> None:
    """Print the handling marking at the top and bottom of the page, as on the briefing exports."""
    style = {"fontsize": 8.5, "ha": "center", "color": MARKING_COLOR, "weight": "bold", "parse_math": False}
    fig.text(0.5, 0.993, mark, va="top", **style)
    fig.text(0.5, 0.008, mark, va="bottom", **style)


@lru_cache(maxsize=1)
def _water() -> tuple[Any, Any]:
    """Return the bundled lakes and rivers (layers.context) as shapely arrays in WGS 84."""
    lakes = np.array([shapely.Polygon(f["geometry"]["coordinates"][0]) for f in lakes_geojson(None)["features"]])
    rivers = np.array([shapely.LineString(f["geometry"]["coordinates"]) for f in rivers_geojson(None)["features"]])
    return shapely.make_valid(lakes), rivers


def _context(ax: Any, geom: BaseGeometry, crossings: list[Crossing]) -> None:
    """Draw lakes, rivers, towns and crossing points clipped to the sheet map, under the sector; place labels clear."""
    c = geom.centroid
    epsg = utm_epsg(c.y, c.x)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    view = shapely.box(x0, y0, x1, y1)
    step = max(x1 - x0, y1 - y0) / 50
    w, s, e, n = reproject(view, epsg, 4326, step).bounds
    around = shapely.box(w, s, e, n)
    lakes, rivers = _water()
    for lake in lakes[shapely.intersects(lakes, around)]:
        part = reproject(lake.intersection(around), 4326, epsg, 0.002).intersection(view)
        for poly in shapely.get_parts(part):
            if poly.geom_type == "Polygon" and not poly.is_empty:
                ax.fill(*poly.exterior.xy, zorder=0.2, **SHEET_LAKE)
                for hole in poly.interiors:
                    ax.fill(*hole.xy, facecolor="white", edgecolor=SHEET_LAKE["edgecolor"], lw=0.6, zorder=0.21)
    for river in rivers[shapely.intersects(rivers, around)]:
        part = reproject(river.intersection(around), 4326, epsg, 0.002).intersection(view)
        for line in shapely.get_parts(part):
            if line.geom_type == "LineString" and not line.is_empty:
                ax.plot(*line.xy, zorder=0.3, solid_capstyle="round", **SHEET_RIVER)
    labels, marks = [], []
    for p in places((w, s, e, n), world_population=10**12):
        x, y = shapely.get_coordinates(reproject(shapely.Point(p["lng"], p["lat"]), 4326, epsg))[0]
        if x0 <= x <= x1 and y0 <= y <= y1:
            ax.scatter([x], [y], s=PLACE_SIZE, facecolor="white", edgecolor="#424949", linewidths=0.6, zorder=0.8)
            half = math.sqrt(PLACE_SIZE) / 2  # points; labels keep 3 pt clear of their own marker
            rank = 1e6 + math.log10(p["population"] + 1) * 1e5
            labels.append(Label(p["name"], x, y, rank, half + 3, SHEET_PLACE_LABEL))
            marks.append((x, y, half))
    for cp in crossings:
        x, y = shapely.get_coordinates(reproject(shapely.Point(cp.lng, cp.lat), 4326, epsg))[0]
        if x0 <= x <= x1 and y0 <= y <= y1:
            marker = SHEET_MARKERS.get(cp.shape, "o")
            ax.scatter([x], [y], s=CROSSING_SIZE, marker=marker, facecolor="#c0392b", edgecolor="white", zorder=0.9)
            half = math.sqrt(CROSSING_SIZE) / 2
            if cp.name:
                labels.append(Label(cp.name, x, y, cp.priority, half + 3, SHEET_CROSSING_LABEL))
            marks.append((x, y, half))
    ax.set_xlim(x0, x1)  # the scatter calls must not widen the view
    ax.set_ylim(y0, y1)
    ax.apply_aspect()  # the equal aspect shrinks the axes: place labels where they will be drawn
    ax.text(
        0.995, 0.005, CONTEXT_ATTRIBUTION, transform=ax.transAxes, ha="right", va="bottom", fontsize=5, color="#7f8c8d"
    )
    renderer = ax.figure.canvas.get_renderer()
    grow = 3.0
    obstacles = []
    for t in ax.texts:  # the sector label, neighbour labels, scale bar and north arrow stay readable
        b = t.get_window_extent(renderer)
        obstacles.append(Bbox([[b.x0 - grow, b.y0 - grow], [b.x1 + grow, b.y1 + grow]]))
    scale = ax.figure.dpi / 72
    for x, y, half in marks:
        cx, cy = ax.transData.transform((x, y))
        r = half * scale
        obstacles.append(Bbox([[cx - r, cy - r], [cx + r, cy + r]]))
    place_labels(ax, labels, obstacles)


def _sheet(
    plt: Any,
    plan: Plan,
    s: dict[str, Any],
    sectors: list[dict[str, Any]],
    synthetic: bool,
    now: str,
    track_spacing_m: float | None,
) -> Any:
    geom = s["geometry"]
    c = geom.centroid
    epsg = utm_epsg(c.y, c.x)
    step = max(1e-4, max(bounds_span(geom)) / 100)
    local = reproject(geom, 4326, epsg, step)
    fig = plt.figure(figsize=(8.27, 11.69))
    label = str(s["label"])
    head = _("SAR assignment — sector {label}").format(label=label)
    fig.text(0.06, 0.958, head, fontsize=20, weight="bold", usetex=False)  # below the marking
    plan_line = _("Plan: {name}  ({id}, version {version})").format(name=plan.name, id=plan.id, version=plan.version)
    fig.text(0.06, 0.938, _plain(plan_line), fontsize=9)
    fig.text(0.94, 0.958, now, fontsize=8, ha="right")
    if synthetic:
        fig.text(0.94, 0.938, _("SYNTHETIC DEMO DATA"), fontsize=10, ha="right", color="#c0392b", weight="bold")

    ax = fig.add_axes((0.08, 0.42, 0.84, 0.5))
    minx, miny, maxx, maxy = local.bounds
    pad = 0.12 * max(maxx - minx, maxy - miny, 100.0)
    view = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    for other in sectors:  # neighbours, faint, for orientation
        if other["id"] == s["id"]:
            continue
        o = reproject(other["geometry"], 4326, epsg, step)
        if o.intersects(view):
            for part in shapely.get_parts(o):
                ax.plot(*part.exterior.xy, color="#aaaaaa", lw=0.8)
            p = o.intersection(view).representative_point()
            ax.text(p.x, p.y, str(other["label"]), color="#999999", fontsize=9, ha="center", va="center")
    for part in shapely.get_parts(local):
        ax.fill(*part.exterior.xy, facecolor="#f7dc6f", alpha=0.35, edgecolor="#b7950b", lw=2)
    spacing = s.get("track_spacing_m") or track_spacing_m
    tracks = sector_tracks(geom, spacing) if spacing else None
    if tracks and tracks.tracks.legs:
        for leg in tracks.tracks.legs:
            ax.plot(*leg.xy, color="#1f618d", lw=0.8, ls="--")
    p = local.representative_point()
    ax.text(p.x, p.y, label, fontsize=28, weight="bold", ha="center", va="center", color="#7d6608")
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.grid(True, color="#cccccc", lw=0.6)
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    zone = epsg % 100
    ax.set_xlabel(_("UTM zone {zone} easting (m)").format(zone=f"{zone}{'N' if epsg < 32700 else 'S'}"), fontsize=8)
    ax.set_ylabel(_("northing (m)"), fontsize=8)
    bar = _nice_length(maxx - minx + 2 * pad)
    x0, y0 = minx - pad * 0.6, miny - pad * 0.6
    ax.plot([x0, x0 + bar], [y0, y0], color="black", lw=4, solid_capstyle="butt")
    ax.text(
        x0 + bar / 2, y0 + pad * 0.12, f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m", ha="center", fontsize=8
    )
    ax.annotate("N", xy=(0.96, 0.96), xycoords="axes fraction", ha="center", fontsize=12, weight="bold")
    ax.annotate("", xy=(0.96, 0.95), xytext=(0.96, 0.87), xycoords="axes fraction", arrowprops={"arrowstyle": "-|>"})

    def fmt(v: Any, spec: str, unit: str = "") -> str:
        return "—" if v is None else f"{format(float(v), spec)}{unit}"

    facts = [
        (_("Team"), _plain(s.get("team") or _("unassigned"))),
        (_("Status"), value_label(s.get("status") or "")),
        (_("Area"), fmt(s.get("area_km2"), ".2f", " km²")),
        (_("POA (now)"), fmt(s.get("poa"), ".3f")),
        (_("Cumulative POD"), fmt(s.get("cum_pod"), ".3f")),
        ("POS", fmt(s.get("pos"), ".3f")),
        (_("Sweep width"), fmt(s.get("sweep_width_m"), ".0f", " m")),
        (_("Track spacing"), fmt(spacing, ".0f", " m")),
        (
            _("Track legs / length"),
            f"{tracks.tracks.leg_count} / {tracks.tracks.track_length_km:.1f} km" if tracks else "—",
        ),
    ]
    y = 0.37
    for name, value in facts:
        fig.text(0.08, y, name, fontsize=10, color="#555555")
        fig.text(0.30, y, value, fontsize=10, weight="bold")
        y -= 0.018
    fig.text(0.55, 0.37, _("Corners (WGS 84)"), fontsize=10, weight="bold")
    y = 0.352
    for name, lat, lng in _corners(geom, local, epsg):
        fig.text(0.55, y, f"{name}  {lat:.5f}, {lng:.5f}", fontsize=8.5, family="monospace")
        fig.text(0.55, y - 0.013, f"     MGRS {to_mgrs(lat, lng)}", fontsize=8.5, family="monospace")
        y -= 0.03
    if s.get("notes"):
        fig.text(0.08, 0.19, _plain(_("Notes: {notes}").format(notes=s["notes"]))[:300], fontsize=9, wrap=True)
    fig.text(
        0.06,
        0.03,
        (_("SYNTHETIC DEMO DATA") + ". " if synthetic else "")
        + _(
            "POD = 1 − e^(−C), C = sweep width ÷ track spacing. "
            "Report each sortie: sweep width, track spacing or track length."
        ),
        fontsize=7,
        color="#555555",
    )
    return fig
