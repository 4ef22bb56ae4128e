"""Build each of the four layers for a View: query the store, style, return GeoJSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import h3
import pandas as pd

from data.interfaces import Store
from geo.cells import cell_to_ring
from layers.geojson import feature_collection, frame_to_features
from layers.hotspots import hotspots_layer
from layers.i18n import N_
from layers.styles import HOTSPOT_BREAKS, crossing_key, hotspot_key, route_key, sar_key
from layers.view import View


def _flows(store: Store, column: str, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    frame = store.flows_by(column, start, end)
    return {k: (int(e), int(p)) for k, e, p in frame.itertuples(index=False, name=None)}


def crossing_points_layer(store: Store, view: View) -> dict[str, Any]:
    """Return crossing points with flows over the last 24 h, 7 d and the window."""
    frame = store.features("crossing_points")
    end = view.end
    day = _flows(store, "crossing_point_id", end - timedelta(hours=24), end)
    week = _flows(store, "crossing_point_id", end - timedelta(days=7), end)
    window = _flows(store, "crossing_point_id", view.start, view.end)

    def extra(p: dict[str, Any]) -> dict[str, Any]:
        e24, p24 = day.get(p["id"], (0, 0))
        e7, p7 = week.get(p["id"], (0, 0))
        ew, pw = window.get(p["id"], (0, 0))
        return {
            "events_24h": e24,
            "people_24h": p24,
            "events_7d": e7,
            "people_7d": p7,
            "events_window": ew,
            "people_window": pw,
            "_s": crossing_key(p["kind"], p["status"]),
        }

    cols = ["name", "kind", "status", "country_a", "country_b", "capacity_per_day"]
    return feature_collection(frame_to_features(frame, cols, extra))


def routes_layer(store: Store, view: View) -> dict[str, Any]:
    """Return routes with their recent activity (events attributed to the route in the window)."""
    frame = store.features("routes")
    window = _flows(store, "route_id", view.start, view.end)

    def extra(p: dict[str, Any]) -> dict[str, Any]:
        ev, people = window.get(p["id"], (0, 0))
        return {
            "events_window": ev,
            "people_window": people,
            "_s": route_key(p["risk"], p["mode"], ev > 0),
        }

    return feature_collection(frame_to_features(frame, ["name", "mode", "risk", "last_observed_at"], extra))


def sar_zones_layer(store: Store, view: View) -> dict[str, Any]:
    """Return SAR regions, search areas and sectors (largest first, so sectors draw on top)."""
    frame = store.features("sar_zones")
    order = {"srr": 0, "search_area": 1, "sector": 2}
    if len(frame):
        frame = frame.assign(_o=frame["kind"].map(order)).sort_values(["_o", "id"]).drop(columns="_o")
    cols = ["name", "kind", "parent_id", "authority", "status", "team", "label", "area_km2"]
    cols += ["poa", "pod", "cum_pod", "pos"]
    return feature_collection(frame_to_features(frame, cols, lambda p: {"_s": sar_key(p["kind"], p["status"])}))


def cells_to_features(
    cells: pd.DataFrame, res: int, metric: str, breaks: tuple[int, ...] = HOTSPOT_BREAKS
) -> list[dict[str, Any]]:
    """Return hexagon features for a ``cell, events, people`` table, coloured by count on ``breaks``."""
    features = []
    for cell, events, people in cells[["cell", "events", "people"]].itertuples(index=False, name=None):
        value = events if metric == "events" else people
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [cell_to_ring(cell)]},
                "properties": {
                    "cell": h3.int_to_str(int(cell)),
                    "res": res,
                    "events": int(events),
                    "people": int(people),
                    "_s": hotspot_key(int(value), breaks),
                },
            }
        )
    return features


FLOW_WINDOWS = ("24h", "7d", "window")


def hide_small_flows(collection: dict[str, Any], k: int, placeholder: str | None = None) -> dict[str, Any]:
    """Return a crossing-point or route layer with each flow of 1..k-1 people replaced, counts removed.

    A crossing that saw two people yesterday is as revealing as a small H3 cell. On screen the
    placeholder reads "under k"; exports write an empty value (``placeholder=None``) instead.
    """
    shown = f"under {k}" if placeholder is None else placeholder
    features = []
    for feature in collection.get("features") or []:
        props = dict(feature.get("properties") or {})
        for window in FLOW_WINDOWS:
            people = props.get(f"people_{window}")
            if isinstance(people, int) and 0 < people < k:
                props[f"people_{window}"] = shown or None
                props[f"events_{window}"] = None
            events = props.get(f"events_{window}")
            if isinstance(events, int) and 0 < events < k:  # a few events are as telling as a few people
                props[f"events_{window}"] = shown or None
        features.append({**feature, "properties": props})
    return {**collection, "features": features}


@dataclass(frozen=True)
class LayerSpec:
    """How one layer is built, and which tables and View fields it depends on."""

    title: str
    tables: tuple[str, ...]
    build: Callable[[Store, View], dict[str, Any]]
    view_key: Callable[[View], str]


def _window_key(view: View) -> str:
    # A named window slides with the clock: bucket its end to the minute so an idle
    # store re-sends a layer at most once a minute, and expired events drop out.
    if view.window_label == "custom":
        return f"{view.start.isoformat()}/{view.end.isoformat()}"
    return f"{view.window_label}@{view.end.replace(second=0, microsecond=0).isoformat()}"


LAYERS: dict[str, LayerSpec] = {
    "sar_zones": LayerSpec(N_("SAR zones"), ("sar_zones",), sar_zones_layer, lambda v: ""),
    "hotspots": LayerSpec(
        N_("Hotspots (H3)"),
        ("events",),
        hotspots_layer,
        lambda v: f"{_window_key(v)}|r{v.res}|{v.metric}|{v.statistic}|{int(v.suppress)}|{v.bbox}",
    ),
    "routes": LayerSpec(N_("Informal routes"), ("routes", "events"), routes_layer, _window_key),
    "crossing_points": LayerSpec(
        N_("Crossing points"), ("crossing_points", "events"), crossing_points_layer, _window_key
    ),
}
