"""Gather what an export shows: the View's layers, built by the same layer code as the live map."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from data.demo import DEMO_SOURCE
from data.interfaces import BBox, Store
from geo.errors import HbmError
from layers.features import LAYERS, hide_small_flows
from layers.hotspots import load_hotspot_settings, table_windows
from layers.i18n import _, current_language, value_label
from layers.labels import display_zone, format_time
from layers.services.exports.settings import ExportSettings
from layers.styles import hotspot_title, legend_entries
from layers.view import LAYER_NAMES, View
from layers.view_io import view_to_dict

# Bottom to top, as the live map stacks its panes.
DRAW_ORDER = ("sar_zones", "hotspots", "routes", "crossing_points")
RAW_EVENTS = "events"
STYLE_KEY = "_s"
CRS = "EPSG:4326"


def app_version() -> str:
    """Return the installed version of the app, or "dev" when running from a source tree."""
    try:
        return importlib.metadata.version("hbm-dashboard")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def holds_demo_data(store: Store) -> bool:
    """Return True if the store holds events from the SYNTHETIC demo generator."""
    return store.holds_events_from(DEMO_SOURCE)


def full_marking(marking: str, synthetic: bool) -> str:
    """Return the handling marking, with SYNTHETIC added for demo data."""
    return f"{marking} — SYNTHETIC DATA" if synthetic and "SYNTHETIC" not in marking.upper() else marking


@dataclass(frozen=True)
class Page:
    """The printed page: size, orientation and raster resolution."""

    size: str = "A4"
    orientation: str = "landscape"
    dpi: int = 150

    SIZES_MM = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}

    def __post_init__(self) -> None:
        if self.size not in self.SIZES_MM:
            raise HbmError(f"page size must be one of {', '.join(self.SIZES_MM)}")
        if self.orientation not in ("landscape", "portrait"):
            raise HbmError("orientation must be landscape or portrait")
        if self.dpi not in (150, 300):
            raise HbmError("dpi must be 150 or 300")

    @property
    def inches(self) -> tuple[float, float]:
        """Return (width, height) of the page in inches."""
        long, short = (mm / 25.4 for mm in self.SIZES_MM[self.size])
        return (long, short) if self.orientation == "landscape" else (short, long)


@dataclass
class ExportData:
    """The features of one View, ready for every format, with what a reader needs to trust them."""

    view: View
    layers: dict[str, gpd.GeoDataFrame]
    title: str
    marking: str
    synthetic: bool
    data_as_of: datetime | None
    source_note: str
    k: int
    who: str
    extent: BBox
    exported_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    raw_events: gpd.GeoDataFrame | None = None
    hotspot_windows: list[Any] = field(default_factory=list)  # geo.windows.WindowSpan, current first

    def counts(self) -> dict[str, int]:
        """Return the number of features per exported layer (raw events included when present)."""
        out = {name: len(frame) for name, frame in self.layers.items()}
        if self.raw_events is not None:
            out[RAW_EVENTS] = len(self.raw_events)
        return out

    def data_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the layers written to data extracts: no style keys, raw events last when allowed."""
        out = {name: frame.drop(columns=[STYLE_KEY], errors="ignore") for name, frame in self.layers.items()}
        if self.raw_events is not None:
            out[RAW_EVENTS] = self.raw_events
        return out

    def legend(self) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
        """Return ``(layer title, entries)`` for the visible layers only, top layer first."""
        return [
            (self.layer_title(name), legend_entries(name, self.view.statistic))
            for name in reversed(DRAW_ORDER)
            if name in self.layers
        ]

    def layer_title(self, name: str) -> str:
        """Return the title a layer carries in legends and layer controls."""
        if name == "hotspots":
            return hotspot_title(self.view.statistic, self.view.metric)
        return _(LAYERS[name].title)

    def window_text(self) -> str:
        """Return the time window as a reader sees it."""
        zone = display_zone()  # HBM_DISPLAY_TZ, with its UTC offset (UTC by default)
        first = self.view.start.astimezone(zone)
        span = f"{first:%Y-%m-%d %H:%M} – {format_time(self.view.end, zone, '%Y-%m-%d %H:%M')}"
        label = self.view.window_label
        return span if label == "custom" else _("last {window} ({span})").format(window=label, span=span)

    def as_of_text(self) -> str:
        """Return "data as of" for a reader."""
        return format_time(self.data_as_of, fmt="%Y-%m-%d %H:%M") if self.data_as_of else _("no data yet")

    def filter_lines(self) -> list[str]:
        """Return the active filters, one short line each."""
        v = self.view
        res = (
            _("H3 res {res} (fixed)").format(res=v.res)
            if v.resolution is not None
            else _("H3 res {res} (follows zoom {zoom})").format(res=v.res, zoom=f"{v.zoom:g}")
        )
        shown = ", ".join(_(LAYERS[n].title) for n in DRAW_ORDER if n in v.layers) or _("none")
        bbox = _("all data") if v.bbox is None else "W {:.3f} S {:.3f} E {:.3f} N {:.3f}".format(*v.bbox)
        statistic = {"count": _("count"), "change": _("change"), "gi": "Gi*", "emerging": _("trend")}
        lines = [
            _("Layers: {layers}").format(layers=shown),
            _("Area: {area}").format(area=bbox),
            _("Hotspots: {metric} per cell, statistic {statistic}, {res}").format(
                metric=value_label(v.metric), statistic=statistic.get(v.statistic, v.statistic), res=res
            ),
            _("Small counts: H3 cells under {k} people merged into parent cells").format(k=self.k),
            _("Raw event points: included") if self.raw_events is not None else _("Raw event points: not exported"),
        ]
        if self.hotspot_windows:
            spans = [
                f"{w.start:%Y-%m-%d %H:%M}–{w.end:%H:%M}" + ("" if w.covered else " missing")
                for w in self.hotspot_windows
            ]
            lines.append(f"Hotspot statistics: window {spans[0]} UTC; baseline {'; '.join(spans[1:])}")
        return lines

    def metadata(self) -> dict[str, Any]:
        """Return the metadata record every extract carries."""
        return {
            "title": self.title,
            "view": view_to_dict(self.view),
            "data_as_of": self.data_as_of.isoformat() if self.data_as_of else None,
            "exported_at": self.exported_at.isoformat(),
            "exported_by": self.who,
            "marking": self.marking,
            "synthetic": self.synthetic,
            "app_version": app_version(),
            "feature_counts": self.counts(),
            "suppression": _(
                "H3 cells under {k} people are merged into their parent cell; "
                "crossing and route flows under {k} people are left empty"
            ).format(k=self.k),
            "language": current_language(),
            "source": self.source_note,
            "crs": CRS,
            "hotspot_windows": [w.to_json() for w in self.hotspot_windows],
        }


def collection_to_frame(collection: dict[str, Any]) -> gpd.GeoDataFrame:
    """Return a GeoJSON FeatureCollection as a GeoDataFrame in EPSG:4326 (properties as columns)."""
    features = collection.get("features") or []
    if not features:
        return gpd.GeoDataFrame({STYLE_KEY: pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    return gpd.GeoDataFrame.from_features(features, crs=CRS)


def _in_bbox(frame: gpd.GeoDataFrame, bbox: BBox | None) -> gpd.GeoDataFrame:
    if bbox is None or frame.empty:
        return frame
    return frame[frame.intersects(box(*bbox))].reset_index(drop=True)


def check_suppressed(frame: gpd.GeoDataFrame, k: int) -> None:
    """Raise HbmError if any hotspot cell holds 1 to k-1 people: such a cell must not leave the system.

    The hotspot layer merges them into parent cells itself (``View.suppress``, forced on for every
    export); this guard makes an export fail rather than leak if that ever stops working.
    """
    if frame.empty or "people" not in frame.columns or "cell" not in frame.columns:
        return
    people = pd.to_numeric(frame["people"], errors="coerce")
    small = frame["cell"].notna() & (people > 0) & (people < k)
    if small.any():
        raise HbmError(f"export refused: {int(small.sum())} hotspot cells hold fewer than {k} people")


def _raw_events(store: Store, view: View, settings: ExportSettings) -> gpd.GeoDataFrame:
    frame = store.event_points(view.start, view.end, view.bbox)
    if len(frame) > settings.max_raw_events:
        raise HbmError(
            f"the View holds {len(frame):,} raw events, over HBM_EXPORT_MAX_RAW_EVENTS={settings.max_raw_events:,}; "
            "narrow the area or window"
        )
    geometry = gpd.points_from_xy(frame["lng"], frame["lat"], crs=CRS)
    frame = frame.assign(occurred_at=frame["occurred_at"].map(lambda t: t.isoformat()))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


def data_extent(layers: dict[str, gpd.GeoDataFrame], fallback: BBox) -> BBox:
    """Return the bounds of every feature, padded by 5 %, or ``fallback`` when there is none."""
    bounds = [frame.total_bounds for frame in layers.values() if not frame.empty]
    if not bounds:
        return fallback
    w, s = min(b[0] for b in bounds), min(b[1] for b in bounds)
    e, n = max(b[2] for b in bounds), max(b[3] for b in bounds)
    pad = max(e - w, n - s, 0.05) * 0.05
    return max(-180.0, w - pad), max(-85.0, s - pad), min(180.0, e + pad), min(85.0, n + pad)


def collect(
    store: Store,
    view: View,
    settings: ExportSettings,
    *,
    who: str,
    title: str,
    synthetic: bool = False,
    fallback_extent: BBox = (-180.0, -60.0, 180.0, 80.0),
    now: datetime | None = None,
) -> ExportData:
    """Return the View's visible layers, exactly as the map builds them, clipped to the View's bbox."""
    view = replace(view, suppress=True)  # small counts are suppressed in every export, as on screen
    statistics, k = load_hotspot_settings()
    revisions = store.revisions()
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in DRAW_ORDER:
        if name not in view.layers or name not in LAYER_NAMES:
            continue
        collection = LAYERS[name].build(store, view)
        if name in ("crossing_points", "routes"):
            collection = hide_small_flows(collection, k, placeholder="")  # flows of 1..k-1 people: left empty
        frame = _in_bbox(collection_to_frame(collection), view.bbox)
        if name == "hotspots":
            check_suppressed(frame, k)
        layers[name] = frame
    raw = _raw_events(store, view, settings) if settings.allow_raw_events else None
    synthetic = synthetic or holds_demo_data(store)
    extent = view.bbox if view.bbox is not None else data_extent(layers, fallback_extent)
    return ExportData(
        view=view,
        layers=layers,
        title=_(title),  # the default title in the language in force; a custom one as given
        marking=full_marking(settings.marking, synthetic),
        synthetic=synthetic,
        data_as_of=revisions["_all"].updated_at,
        source_note=settings.source_note,
        k=k,
        who=who,
        extent=extent,
        exported_at=(now or datetime.now(UTC)),
        raw_events=raw,
        hotspot_windows=table_windows(store, view, statistics) if "hotspots" in layers else [],
    )
