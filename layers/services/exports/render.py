"""PDF and PNG briefing maps, rendered on the server with matplotlib in Web Mercator (as the screen shows).

Same View and same store state give byte-identical files: no creation date, a fixed hash salt.
"""

from __future__ import annotations

import math
import textwrap
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox
from shapely.geometry import box

from data.interfaces import BBox
from layers.basemap import ATTRIBUTION, basemap_geojson
from layers.context import CONTEXT_ATTRIBUTION, country_labels_geojson, lakes_geojson, places, rivers_geojson
from layers.i18n import _
from layers.services.exports.collect import STYLE_KEY, ExportData, Page, app_version
from layers.services.exports.furniture import (
    INK,
    MAX_LAT,
    MERCATOR,
    MUTED,
    draw_grid,
    draw_north_arrow,
    draw_scale_bar,
    lnglat_to_mercator,
)
from layers.services.exports.labels import Label, crossing_priority, place_labels
from layers.services.exports.styling import LABEL_BOX, LAKE, LAND, RIVER, SEA, marker_kwargs, path_kwargs
from layers.styles import STYLES

MARKING_COLOR = "#a93226"
RC: dict[str, Any] = {
    "svg.hashsalt": "hbm-export",
    "lines.scale_dashes": False,
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "path.simplify": True,
}
# rcParams are global: one render at a time per process (the dashboard serves requests on threads).
_RENDER_LOCK = threading.Lock()
CROSSING_LABEL: dict[str, Any] = {
    "fontsize": 7.5,
    "color": "white",
    "zorder": 7,
    "bbox": {"boxstyle": "square,pad=0.15", "facecolor": LABEL_BOX, "edgecolor": "none"},
}
PLACE_LABEL: dict[str, Any] = {
    "fontsize": 7,
    "color": "#f4f6f7",
    "zorder": 6.5,
    "bbox": {"boxstyle": "square,pad=0.15", "facecolor": (11 / 255, 17 / 255, 24 / 255, 0.45), "edgecolor": "none"},
}
COUNTRY_LABEL: dict[str, Any] = {"fontsize": 8, "color": "#aab7b8", "zorder": 4.5, "fontweight": "bold"}
PDF_METADATA = {"CreationDate": None, "ModDate": None, "Creator": "hbm briefing export", "Producer": "matplotlib"}


def fit_extent(extent: BBox, aspect: float) -> tuple[float, float, float, float]:
    """Return Mercator limits (x0, x1, y0, y1) holding ``extent`` whole, centred, with width/height ``aspect``."""
    x0, y0 = lnglat_to_mercator(extent[0], extent[1])
    x1, y1 = lnglat_to_mercator(extent[2], extent[3])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


@lru_cache(maxsize=8)
def _land(extent: BBox) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(basemap_geojson(extent)["features"], crs="EPSG:4326")
    w, s, e, n = extent
    pad = max(e - w, n - s)
    frame = frame[frame.intersects(box(max(-180, w - pad), max(-89, s - pad), min(180, e + pad), min(89, n + pad)))]
    return frame.clip_by_rect(-180, -MAX_LAT, 180, MAX_LAT).to_frame("geometry").to_crs(MERCATOR)


def _draw_layer(ax: Axes, frame: gpd.GeoDataFrame, labels: list[Label] | None, markers: list[Any]) -> None:
    if frame.empty:
        return
    merc = frame.to_crs(MERCATOR)
    kinds = merc.geom_type.fillna("")
    for key, group in merc.groupby(merc[STYLE_KEY].fillna("") if STYLE_KEY in merc else kinds, sort=False):
        style = STYLES.get(str(key), {})
        group_kinds = kinds.loc[group.index]
        polys = group[group_kinds.str.contains("Polygon")]
        lines = group[group_kinds.str.contains("LineString")]
        points = group[group_kinds.str.contains("Point")]
        if len(polys):
            polys.plot(ax=ax, **path_kwargs(style, filled=True))
        if len(lines):
            lines.plot(ax=ax, **path_kwargs(style, filled=False))
        if len(points):
            xs, ys = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
            marker = marker_kwargs(style)
            halo = {**marker, "s": (math.sqrt(marker["s"]) + 2) ** 2, "facecolor": "white", "edgecolor": "white"}
            ax.scatter(xs, ys, zorder=5, **halo)
            ax.scatter(xs, ys, zorder=6, **marker)
            half = math.sqrt(marker["s"]) / 2  # the label gap (half + 3 pt) keeps clear of its own marker
            markers.extend((x, y, half) for x, y in zip(xs, ys, strict=True))
            if labels is not None and "name" in points.columns:
                offset = math.sqrt(marker["s"]) / 2 + 3
                for (x, y), (_, row) in zip(zip(xs, ys, strict=True), points.iterrows(), strict=True):
                    labels.append(
                        Label(str(row["name"] or ""), x, y, crossing_priority(row.to_dict()), offset, CROSSING_LABEL)
                    )


@lru_cache(maxsize=8)
def _water_frames(extent: BBox) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    lakes = gpd.GeoDataFrame.from_features(lakes_geojson(extent)["features"], crs="EPSG:4326")
    rivers = gpd.GeoDataFrame.from_features(rivers_geojson(extent)["features"], crs="EPSG:4326")
    return lakes.to_crs(MERCATOR), rivers.to_crs(MERCATOR)


def _water(ax: Axes, extent: BBox) -> None:
    lakes, rivers = _water_frames(extent)
    if len(rivers):
        rivers.plot(ax=ax, **path_kwargs(RIVER, filled=False), zorder=1.5)
    if len(lakes):
        lakes.plot(ax=ax, **path_kwargs(LAKE, filled=True), zorder=1.6)


def _place_all_labels(ax: Axes, crossings: list[Label], markers: list[Any], data: ExportData) -> None:
    """Place crossing, town and country labels with no overlaps (layers.services.exports.labels)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    zoom = float(data.view.zoom)
    labels = list(crossings)
    for p in places(data.extent, world_population=0):
        x, y = lnglat_to_mercator(p["lng"], p["lat"])
        if p["minzoom"] <= zoom and x0 <= x <= x1 and y0 <= y <= y1:
            ax.scatter([x], [y], s=9, facecolor="#f4f6f7", edgecolor=INK, linewidths=0.5, zorder=4)
            labels.append(Label(p["name"], x, y, 1e6 + math.log10(p["population"] + 1) * 1e5, 2.5, PLACE_LABEL))
    if zoom <= 9:
        for f in country_labels_geojson(data.extent)["features"]:
            lng, lat = f["geometry"]["coordinates"]
            x, y = lnglat_to_mercator(lng, lat)
            if x0 <= x <= x1 and y0 <= y <= y1:
                labels.append(Label(f["properties"]["name"].upper(), x, y, 1.0, 0.0, COUNTRY_LABEL))
    to_px = ax.transData.transform
    scale = ax.figure.dpi / 72
    obstacles = []
    for x, y, half in markers:
        cx, cy = to_px((x, y))
        r = half * scale
        obstacles.append(Bbox([[cx - r, cy - r], [cx + r, cy + r]]))
    place_labels(ax, labels, obstacles)


def _swatch(ax: Axes, x: float, y: float, w: float, h: float, style: dict[str, Any]) -> None:
    ax.add_patch(Rectangle((x, y - h / 2), w, h, facecolor=SEA, edgecolor="none"))
    if style.get("line"):
        kw = path_kwargs({**style, "fill": False}, filled=False)
        ax.add_line(Line2D([x + w * 0.1, x + w * 0.9], [y, y], **kw))
    elif style.get("shape"):
        kw = marker_kwargs({**style, "radius": 5})
        ax.scatter([x + w / 2], [y], **kw)
    else:
        ax.add_patch(
            Rectangle(
                (x + w * 0.15, y - h * 0.35),
                w * 0.7,
                h * 0.7,
                **path_kwargs({"fillOpacity": 0.85, "weight": 0.6, "color": "#0b1118", **style}, filled=True),
            )
        )


def _side_panel(ax: Axes, data: ExportData, rows_per_col: int, cols: int) -> None:
    ax.set_axis_off()
    ax.set_xlim(0, cols)
    ax.set_ylim(rows_per_col, 0)
    row, col = 0.0, 0

    def advance(n: float = 1.0) -> None:
        nonlocal row, col
        row += n
        if row > rows_per_col - 1 and col < cols - 1:
            row, col = 0.0, col + 1

    ax.text(col, row, _("Legend (layers shown)"), fontsize=8, fontweight="bold", color=INK, va="center")
    advance(1.3)
    for title, entries in data.legend():
        ax.text(col, row, title, fontsize=7, fontweight="bold", color=INK, va="center", parse_math=False)
        advance()
        for label, style in entries:
            _swatch(ax, col, row, 0.16, 0.8, style)
            ax.text(col + 0.2, row, label, fontsize=6.3, color=INK, va="center", parse_math=False)
            advance(0.95)
        advance(0.35)
    if not data.layers:
        ax.text(col, row, _("No layers shown"), fontsize=6.5, color=MUTED, va="center")
        advance()
    advance(0.4)
    ax.text(col, row, _("Filters"), fontsize=8, fontweight="bold", color=INK, va="center")
    advance(1.1)
    for line in data.filter_lines():
        for part in textwrap.wrap(line, width=58 if cols == 1 else 50, subsequent_indent="  "):
            ax.text(col, row, part, fontsize=6, color=INK, va="center", parse_math=False)
            advance(0.85)


def build_figure(data: ExportData, page: Page) -> Figure:
    """Return the briefing page: marking, title, window, data as of, map, legend, scale, north, grid, notes."""
    width, height = page.inches
    fig = Figure(figsize=(width, height), facecolor="white")
    FigureCanvasAgg(fig)  # a renderer to measure labels with while placing them
    landscape = page.orientation == "landscape"
    margin_x, top, bottom = 0.35 / width, 1 - 1.05 / height, 0.62 / height
    if landscape:
        side_w = 2.45 / width
        map_box = (margin_x + 0.3 / width, bottom, 1 - 2 * margin_x - side_w - 0.7 / width, top - bottom)
        side_box = (1 - margin_x - side_w, bottom, side_w, top - bottom)
        rows, cols = int((top - bottom) * height * 72 / 9.2), 1
    else:
        side_h = 3.4 / height
        map_box = (
            margin_x + 0.3 / width,
            bottom + side_h + 0.3 / height,
            1 - 2 * margin_x - 0.6 / width,
            top - bottom - side_h - 0.55 / height,
        )
        side_box = (margin_x, bottom, 1 - 2 * margin_x, side_h)
        rows, cols = int(side_h * height * 72 / 9.2), 3

    fig.text(
        0.5,
        1 - 0.17 / height,
        data.marking,
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        color=MARKING_COLOR,
        parse_math=False,
    )
    fig.text(
        margin_x, 1 - 0.5 / height, data.title, fontsize=15, fontweight="bold", color=INK, va="center", parse_math=False
    )
    fig.text(
        margin_x,
        1 - 0.78 / height,
        _("Window: {window}   ·   Data as of {as_of}").format(window=data.window_text(), as_of=data.as_of_text()),
        fontsize=9,
        color=INK,
        va="center",
        parse_math=False,
    )

    ax = fig.add_axes(map_box)
    ax.set_facecolor(SEA)
    box_w, box_h = map_box[2] * width, map_box[3] * height
    limits = fit_extent(data.extent, box_w / box_h)
    land = _land(tuple(round(v, 6) for v in data.extent))  # type: ignore[arg-type]
    if len(land):
        land.plot(ax=ax, **path_kwargs(LAND, filled=True), zorder=1)
    _water(ax, tuple(round(v, 6) for v in data.extent))  # type: ignore[arg-type]
    labels: list[Label] = []
    markers: list[Any] = []
    for name, frame in data.layers.items():
        _draw_layer(ax, frame, labels if name == "crossing_points" else None, markers)
    ax.set_xlim(limits[0], limits[1])
    ax.set_ylim(limits[2], limits[3])
    _place_all_labels(ax, labels, markers, data)
    ax.set_aspect("auto")
    ax.set_xlabel("")
    ax.set_ylabel("")
    draw_grid(ax, limits)
    draw_scale_bar(ax, limits)
    draw_north_arrow(ax)
    for spine in ax.spines.values():
        spine.set_color(INK)
        spine.set_linewidth(0.8)

    _side_panel(fig.add_axes(side_box), data, rows, cols)
    note = _("Source: {source}. {attribution}. {context}. Web Mercator. hbm {version}.").format(
        source=data.source_note, attribution=_(ATTRIBUTION), context=_(CONTEXT_ATTRIBUTION), version=app_version()
    )
    if data.synthetic:
        note = _("All data shown is SYNTHETIC (demo generator).") + " " + note
    fig.text(
        margin_x,
        0.41 / height,
        "\n".join(textwrap.wrap(note, int(width * 19))),
        fontsize=6,
        color=MUTED,
        va="top",
        parse_math=False,
    )
    fig.text(
        0.5,
        0.14 / height,
        data.marking,
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        color=MARKING_COLOR,
        parse_math=False,
    )
    return fig


def render_map(data: ExportData, path: Path, fmt: str, page: Page) -> Path:
    """Write the briefing map as PDF or PNG to ``path``; return the path."""
    with _RENDER_LOCK, matplotlib.rc_context(RC):  # type: ignore[arg-type]
        fig = build_figure(data, page)
        if fmt == "pdf":
            fig.savefig(path, format="pdf", metadata=PDF_METADATA)
        else:
            fig.savefig(path, format="png", dpi=page.dpi, metadata={"Software": None})
    return path
