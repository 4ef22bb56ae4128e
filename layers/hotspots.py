"""The hotspot layer: store counts per window -> statistics (geo.hotspots) -> styled cells and areas.

One grouped store query returns per-cell counts for the current window and the baseline
windows before it; ``geo.hotspots`` adds the change category, Gi* and the emerging trend.
Cells with fewer than k people can be merged into their parent cell before display
(``View.suppress``), using the one suppression function the exports use too.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import h3
import numpy as np
import pandas as pd
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.interfaces import Store
from data.settings import config_error
from geo.cells import cell_to_ring
from geo.errors import ConfigError, HbmError
from geo.hotspots import HotspotSettings, hotspot_areas, hotspot_statistics, touching_components
from geo.suppression import suppress_small_counts, withhold_small_counts
from geo.windows import CYCLES, WindowSpan, baseline_step, covered_baselines, floor_hour, slot_layout, window_spans
from layers.geojson import feature_collection
from layers.i18n import _
from layers.styles import COARSE_SUFFIX, statistic_key
from layers.view import View


class HotspotEnv(BaseSettings):
    """Hotspot thresholds from ``HBM_HOTSPOT_*`` variables; defaults follow ACLED Trendfinder."""

    model_config = SettingsConfigDict(env_prefix="HBM_HOTSPOT_", env_file=".env", extra="ignore")

    baseline_windows: int = Field(4, ge=1, le=12)
    baseline_cycle: str = Field("auto", pattern="^(" + "|".join(CYCLES) + ")$")
    min_baseline_windows: int = Field(2, ge=1, le=12)
    large_increase: float = 0.25
    moderate_increase: float = 0.10
    large_decrease: float = -0.25
    low_baseline_mean: float = Field(2.0, ge=0)
    low_current_max: int = Field(5, ge=0)
    neighbour_k: int = Field(1, ge=1, le=3)
    fdr: bool = True
    suppress_k: int = Field(5, ge=1, le=1000)


def load_hotspot_settings(**overrides: object) -> tuple[HotspotSettings, int]:
    """Return the statistics settings and the small-count threshold k, or raise a one-line ConfigError."""
    try:
        env = HotspotEnv(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise config_error(exc) from None
    values = env.model_dump()
    k = values.pop("suppress_k")
    try:
        return HotspotSettings(**values), int(k)
    except (ValueError, HbmError) as exc:  # HotspotSettings checks the thresholds' order
        raise ConfigError(f"HBM_HOTSPOT_* settings: {exc}") from None


MAX_SLOTS = 2000  # more slots than this (an odd custom length): one query per window instead


def window_counts(
    store: Store, res: int, end: datetime, length: timedelta, step: timedelta, windows: int, bbox: Any
) -> pd.DataFrame:
    """Return ``cell, window, events, people`` for ``windows`` windows of ``length`` whose ends are ``step`` apart.

    Adjacent windows are one store query; spaced windows (same hours on earlier days) are counted in
    one query of ``gcd(length, step)`` slots, regrouped here.
    """
    if step == length:
        return store.window_cell_counts(res, end, length, windows, bbox)
    slot, per_step, per_window, n_slots = slot_layout(length, step, windows)
    if n_slots > MAX_SLOTS:
        parts = [
            store.window_cell_counts(res, end - step * i, length, 1, bbox).assign(window=i) for i in range(windows)
        ]
        return pd.concat(parts, ignore_index=True)
    slots = store.window_cell_counts(res, end, slot, n_slots, bbox)
    index, offset = np.divmod(slots["window"].to_numpy(dtype=np.int64), per_step)
    keep = (offset < per_window) & (index < windows)
    frame = slots.loc[keep, ["cell", "events", "people"]].assign(window=index[keep])
    grouped = frame.groupby(["cell", "window"], as_index=False)[["events", "people"]].sum()
    return grouped[["cell", "window", "events", "people"]].astype("int64")


def coverage_start(store: Store, bbox: Any) -> datetime | None:
    """Return when the data in ``bbox`` begins: the earliest declared source coverage or first event there."""
    first = getattr(store, "first_event_time", None)
    return first(bbox) if first else None


def table_windows(store: Store, view: View, settings: HotspotSettings) -> list[WindowSpan]:
    """Return the exact current and baseline windows the View's statistics use (see ``geo.windows``)."""
    length = view.end - view.start
    step = baseline_step(length, settings.baseline_cycle)
    return window_spans(floor_hour(view.end), length, step, settings.baseline_windows, coverage_start(store, view.bbox))


def hotspot_table(store: Store, view: View, settings: HotspotSettings | None = None) -> pd.DataFrame:
    """Return the statistics table of the View: one row per cell with counts, baseline, category, Gi*, trend.

    Every window ends at the last whole hour at or before the View's end, so the current window is as
    complete as its baselines; baselines follow ``settings.baseline_cycle``; baseline windows before the
    data's coverage are missing. ``attrs["windows"]`` lists the exact windows (``WindowSpan``).
    """
    settings = settings or HotspotSettings()
    spans = table_windows(store, view, settings)
    length = spans[0].end - spans[0].start
    step = spans[0].end - spans[1].end
    counts = window_counts(store, view.res, spans[0].end, length, step, settings.windows, view.bbox)
    table = hotspot_statistics(counts, view.metric, settings, covered_baselines(spans))
    table.attrs["windows"] = tuple(spans)
    return table


def flagged_groups(flagged: pd.DataFrame) -> list[pd.DataFrame]:
    """Return the flagged cells split into groups of touching cells (same resolution), largest first."""
    groups: list[pd.DataFrame] = []
    for _res, part in flagged.groupby("res", sort=True):
        part = part.sort_values("cell")
        labels = touching_components(part["cell"].to_numpy(dtype=np.int64))
        groups.extend(group for _, group in part.groupby(labels, sort=True))
    return sorted(groups, key=lambda g: (-int(g["people"].sum()), int(g["cell"].min())))


def _num(value: Any, digits: int) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, digits)


def _count(value: Any) -> int | None:
    """Return a window's count, or None for a window before the data's coverage."""
    value = float(value)
    return None if math.isnan(value) else int(value)


def _cell_feature(row: dict[str, Any], view: View, baseline_windows: int) -> dict[str, Any]:
    coarse = int(row["res"]) < view.res  # counted at a coarser cell: the events' locations are imprecise
    value = (
        row["current"]
        if view.statistic == "count"
        else row[{"change": "category", "gi": "gi_bin"}.get(view.statistic, "emerging")]
    )
    windows = [_count(row[f"w{i}"]) for i in range(baseline_windows, 0, -1)] + [int(row["current"])]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [cell_to_ring(int(row["cell"]))]},
        "properties": {
            "cell": h3.int_to_str(int(row["cell"])),
            "res": int(row["res"]),
            "events": int(row["events"]),
            "people": int(row["people"]),
            "windows": windows,
            "baseline_mean": _num(row["baseline_mean"], 1),
            "change_pct": _num(row["change_pct"], 0),
            "category": row["category"],
            "gi_z": _num(row["gi_z"], 2),
            "gi_p": _num(row["gi_p"], 4),
            "gi_bin": int(row["gi_bin"]),
            "emerging": row["emerging"],
            "coarse": coarse,
            "_s": statistic_key(view.statistic, value) + (COARSE_SUFFIX if coarse else ""),
        },
    }


def _merged_feature(row: dict[str, Any], view: View, k: int) -> dict[str, Any]:
    value = int(row["events"] if view.metric == "events" else row["people"])
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [cell_to_ring(int(row["cell"]))]},
        "properties": {
            "cell": h3.int_to_str(int(row["cell"])),
            "res": int(row["res"]),
            "events": int(row["events"]),
            "people": int(row["people"]),
            "merged": int(row["merged"]),
            "note": _("{n} cells with fewer than {k} people merged into this parent cell").format(
                n=int(row["merged"]), k=k
            ),
            "_s": statistic_key("count", value) if view.statistic == "count" else "hx:sup",
        },
    }


def _area_feature(area: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": area.geometry.__geo_interface__,
        "properties": {
            "area": area.area_id,
            "res": int(area.res),
            "cells": int(area.cells),
            "events": int(area.events),
            "people": int(area.people),
            "category": area.category,
            "gi_bin": int(area.gi_bin),
            "_s": "area",
        },
    }


def split_small_counts(table: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (cells shown as they are, merged parent cells) when cells under k people are suppressed.

    Cells with no people in the window stay (a zero reveals nobody); cells with 1..k-1 people go
    through ``geo.suppression.suppress_small_counts`` and come back as parents of at least k people.
    """
    small = (table["people"] > 0) & (table["people"] < k)
    merged = suppress_small_counts(table.loc[small, ["cell", "events", "people"]], k)
    return table.loc[~small], merged


def hotspots_features(
    table: pd.DataFrame, view: View, settings: HotspotSettings, k: int | None = None
) -> list[dict[str, Any]]:
    """Return the hotspot layer's features: cells styled by the View's statistic, then area outlines."""
    merged = pd.DataFrame()
    if view.suppress and k:
        table, merged = split_small_counts(table, k)
    features = [_merged_feature(r, view, int(k or 0)) for r in merged.to_dict("records")]
    cells = [_cell_feature(r, view, settings.baseline_windows) for r in table.to_dict("records")]
    cells.sort(key=lambda f: not f["properties"]["coarse"])  # coarse cells first: finer ones draw on top
    features += cells
    features += [_area_feature(a) for a in hotspot_areas(table, settings).itertuples()]
    if view.suppress and k:
        features = withhold_features(features, view.metric, k)
    return features


def withhold_features(features: list[dict[str, Any]], metric: str, k: int) -> list[dict[str, Any]]:
    """Return ``features`` with every count of 1..k-1 withheld (earlier windows, means, events too).

    Merging cells into parents protects each cell's current count; this covers every other number a
    feature carries. A cell whose coloured count is withheld is drawn in the suppressed style, so its
    colour class cannot tell the count either.
    """
    out = []
    for feature in features:
        props = feature.get("properties") or {}
        safe = withhold_small_counts(props, k)
        if props.get(metric) is not None and safe.get(metric) is None and str(safe.get("_s", "")).startswith("hx:"):
            safe["_s"] = "hx:sup"
        out.append({**feature, "properties": safe})
    return out


def hotspots_layer(store: Store, view: View) -> dict[str, Any]:
    """Return the hotspot layer of the View: statistics per H3 cell, counted in the store (never raw events)."""
    settings, k = load_hotspot_settings()
    table = hotspot_table(store, view, settings)
    return feature_collection(hotspots_features(table, view, settings, k))
