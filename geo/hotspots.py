"""Hotspot statistics per H3 cell: change against a baseline, Getis-Ord Gi*, emerging trend, hotspot areas.

Input: a long frame ``counts`` with ``cell`` (int64 H3, resolutions may be mixed), ``window`` (0 = the
current window, 1..N = the N previous windows of the same length, 1 the most recent), ``events`` and
``people``. A missing (cell, window) pair means zero. Each resolution is analysed on its own.

Change category (ACLED Trendfinder style)
-----------------------------------------
Only *covered* baseline windows count (``covered``: the most recent ones, see ``geo.windows``): a window
that starts before the data's coverage is missing, not zero, and its ``wI`` column is NaN. With fewer
covered windows than ``min_baseline_windows`` every cell is ``insufficient_baseline`` (never a signal).
``baseline_mean`` is the mean of the value over the covered baseline windows, zeros included, and
``change_pct = 100 * (current - baseline_mean) / baseline_mean`` (NaN when the baseline mean is 0).
First match wins:

``new``               every baseline window is 0 and ``current > low_current_max``.
``limited_change``    every baseline window is 0 and ``current <= low_current_max``: a cell going from
                      nothing to a handful is noise, not news (0 -> 1 is never a surge, not even "new").
``limited_change``    low-baseline guard: ``baseline_mean <= low_baseline_mean`` and ``current <= low_current_max``.
``large_increase``    change above ``large_increase`` (+25%).
``moderate_increase`` change from ``moderate_increase`` (+10%) up to ``large_increase`` (+25%), both included.
``large_decrease``    change below ``large_decrease`` (-25%).
``limited_change``    otherwise (-25% .. +10%).

``CATEGORY_ORDER`` ranks them from weakest to strongest signal; ``new`` ranks above ``large_increase``
because activity where there was none at all is the earliest warning there is.

Gi* (see ``geo.getis_ord``)
---------------------------
Study area per resolution: every cell with a row in ``counts`` plus, as zeros, every cell within
``neighbour_k`` grid steps of one, so an isolated cell is compared with the empty ground around it and
not only with itself. The padding cells are in the statistics (n, mean, spread) but are not rows of the
result. The same study area serves every window. ``gi_p`` is two-sided; bins use the alphas in
``HotspotSettings`` with Benjamini-Hochberg FDR over the cells of one resolution and one window when
``fdr`` is on. The caller decides the extent of the study area through what it puts into ``counts``
(normally the view's bbox, padded): Gi* says "high relative to this area".

Emerging trend (see ``geo.trends``)
-----------------------------------
Gi* is computed for every window over the same study area; a window counts as hot for the cell when its
bin is ``>= emerging_min_bin``; Mann-Kendall runs on the cell's Gi* z-scores, oldest window first.

Hotspot areas
-------------
Cells that are hot (``gi_bin >= area_min_bin`` or ``category`` in ``area_categories``) and touch (share an
edge: H3 neighbours at the same resolution) merge into one area by connected components.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.geometry import shape

from geo.errors import InvalidView
from geo.getis_ord import confidence_bins, gi_star, neighbour_matrix, two_sided_p
from geo.trends import emerging_categories, mann_kendall
from geo.windows import CYCLES

INSUFFICIENT = "insufficient_baseline"
CATEGORY_ORDER: tuple[str, ...] = (
    INSUFFICIENT,
    "large_decrease",
    "limited_change",
    "moderate_increase",
    "large_increase",
    "new",
)
VALUES = ("events", "people")
_RES_SHIFT = np.int64(52)


@dataclass(frozen=True)
class HotspotSettings:
    """Every threshold of the hotspot statistics, with defaults that suit a 4-window baseline."""

    baseline_windows: int = 4  # N previous windows of the same length; the baseline mean is over the covered ones
    baseline_cycle: str = "auto"  # which previous windows: auto, daily, weekly or adjacent (geo.windows)
    min_baseline_windows: int = 2  # fewer covered baseline windows than this: insufficient_baseline
    large_increase: float = 0.25  # change (fraction of the baseline mean) above which: large_increase
    moderate_increase: float = 0.10  # change from which (up to large_increase): moderate_increase
    large_decrease: float = -0.25  # change below which: large_decrease
    low_baseline_mean: float = 2.0  # guard: a baseline mean at most this ...
    low_current_max: int = 5  # ... and a current value at most this is limited_change; "new" needs more
    neighbour_k: int = 1  # Gi* neighbourhood: the H3 k-disk, the cell itself included
    fdr: bool = True  # Benjamini-Hochberg over the cells of one resolution and window before binning
    alpha_90: float = 0.10  # bin +-1
    alpha_95: float = 0.05  # bin +-2
    alpha_99: float = 0.01  # bin +-3
    emerging_min_bin: int = 2  # a window is "hot" for the emerging trend at this Gi* bin or above
    persistent_share: float = 0.8  # share of hot windows for persistent / intensifying / diminishing
    trend_alpha: float = 0.10  # Mann-Kendall significance for intensifying / diminishing (short series)
    area_min_bin: int = 2  # a cell joins a hotspot area at this Gi* bin or above ...
    area_categories: tuple[str, ...] = ("large_increase", "new")  # ... or with one of these categories

    def __post_init__(self) -> None:
        if self.baseline_windows < 1:
            raise InvalidView(f"baseline_windows must be >= 1, got {self.baseline_windows}")
        if not 1 <= self.min_baseline_windows <= self.baseline_windows:
            raise InvalidView("need 1 <= min_baseline_windows <= baseline_windows")
        if self.baseline_cycle not in CYCLES:
            raise InvalidView(f"baseline_cycle must be one of {', '.join(CYCLES)}, got {self.baseline_cycle!r}")
        if not self.large_decrease < self.moderate_increase <= self.large_increase:
            raise InvalidView("need large_decrease < moderate_increase <= large_increase")
        if self.neighbour_k < 1:
            raise InvalidView(f"neighbour_k must be >= 1, got {self.neighbour_k}")
        if not 1 > self.alpha_90 >= self.alpha_95 >= self.alpha_99 > 0:
            raise InvalidView("need 1 > alpha_90 >= alpha_95 >= alpha_99 > 0")
        unknown = set(self.area_categories) - set(CATEGORY_ORDER)
        if unknown:
            raise InvalidView(f"unknown area categories: {sorted(unknown)}")

    @property
    def alphas(self) -> tuple[float, float, float]:
        """Return the alphas of confidence bins 1, 2, 3."""
        return (self.alpha_90, self.alpha_95, self.alpha_99)

    @property
    def windows(self) -> int:
        """Return the number of windows analysed: the current one plus the baseline."""
        return self.baseline_windows + 1


def cells_resolution(cells: np.ndarray) -> np.ndarray:
    """Return the H3 resolution of each int64 cell, read from its bits."""
    return ((np.asarray(cells, dtype=np.int64) >> _RES_SHIFT) & np.int64(0xF)).astype(np.int64)


def change_categories(current: np.ndarray, baseline: np.ndarray, settings: HotspotSettings) -> np.ndarray:
    """Return the change category (object array of str) of each cell; ``baseline`` is cells x windows."""
    current = np.asarray(current, dtype=float)
    baseline = np.asarray(baseline, dtype=float).reshape(current.size, -1)
    mean = baseline.mean(axis=1) if baseline.shape[1] else np.zeros(current.size)
    empty = ~(baseline > 0).any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.where(mean > 0, (current - mean) / np.where(mean > 0, mean, 1.0), np.nan)
    small = current <= settings.low_current_max
    conditions = [
        empty & ~small,
        empty,
        (mean <= settings.low_baseline_mean) & small,
        change > settings.large_increase,
        change >= settings.moderate_increase,
        change < settings.large_decrease,
    ]
    names = np.array(
        [
            "new",
            "limited_change",
            "limited_change",
            "large_increase",
            "moderate_increase",
            "large_decrease",
            "limited_change",
        ],
        dtype=object,
    )
    return names[np.select(conditions, np.arange(len(conditions)), default=len(conditions))]


def _window_matrix(frame: pd.DataFrame, column: str, rows: np.ndarray, n_cells: int, n_windows: int) -> np.ndarray:
    """Return a cells x windows matrix of ``column`` summed per (row, window)."""
    flat = rows * n_windows + frame["window"].to_numpy(dtype=np.int64)
    weights = frame[column].to_numpy(dtype=float)
    return np.bincount(flat, weights=weights, minlength=n_cells * n_windows).reshape(n_cells, n_windows)


def _check_counts(counts: pd.DataFrame, value: str, settings: HotspotSettings) -> None:
    if value not in VALUES:
        raise InvalidView(f"hotspot value must be one of {', '.join(VALUES)}, got {value!r}")
    missing = {"cell", "window", "events", "people"} - set(counts.columns)
    if missing:
        raise InvalidView(f"counts lack the columns {', '.join(sorted(missing))}")
    windows = counts["window"].to_numpy()
    if windows.size and (windows.min() < 0 or windows.max() > settings.baseline_windows):
        raise InvalidView(
            f"counts hold windows {int(windows.min())}..{int(windows.max())}, "
            f"expected 0..{settings.baseline_windows} (baseline_windows={settings.baseline_windows})"
        )
    for column in ("events", "people"):
        col = counts[column].to_numpy(dtype=float)
        if col.size and (np.isnan(col).any() or col.min() < 0):
            raise InvalidView(f"counts column {column} must hold non-negative numbers")


def _columns(settings: HotspotSettings) -> list[str]:
    baseline = [f"w{i}" for i in range(1, settings.baseline_windows + 1)]
    return [
        "cell",
        "res",
        "events",
        "people",
        "current",
        *baseline,
        "baseline_mean",
        "change_pct",
        "category",
        "gi_z",
        "gi_p",
        "gi_bin",
        "emerging",
        "trend_tau",
        "trend_p",
    ]


def _one_resolution(
    cells: np.ndarray,
    values: np.ndarray,
    events: np.ndarray,
    people: np.ndarray,
    settings: HotspotSettings,
    covered: int,
) -> dict[str, np.ndarray]:
    """Return the result columns for cells of a single resolution (``values`` is cells x windows, newest first).

    Only the current window and the ``covered`` most recent baseline windows enter the statistics over time.
    """
    weights, study = neighbour_matrix(cells, settings.neighbour_k)
    study_values = np.zeros((study.size, values.shape[1]))
    study_values[np.searchsorted(study, cells)] = values
    z = gi_star(study_values, weights)
    p = two_sided_p(z)
    bins = confidence_bins(z, p, settings.alphas, settings.fdr)
    oldest_first = slice(covered, None, -1)  # covered windows only, oldest first
    trend = mann_kendall(z[:, oldest_first])
    emerging = emerging_categories(
        bins[:, oldest_first] >= settings.emerging_min_bin,
        trend.tau,
        trend.p,
        settings.persistent_share,
        settings.trend_alpha,
    )
    current = values[:, 0]
    baseline = values[:, 1 : covered + 1]
    if covered >= settings.min_baseline_windows:
        mean = baseline.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            change_pct = np.where(mean > 0, 100.0 * (current - mean) / np.where(mean > 0, mean, 1.0), np.nan)
        category = change_categories(current, baseline, settings)
    else:
        mean = change_pct = np.full(current.size, np.nan)
        category = np.full(current.size, INSUFFICIENT, dtype=object)
    out: dict[str, np.ndarray] = {
        "cell": cells,
        "events": events,
        "people": people,
        "current": current,
        "baseline_mean": mean,
        "change_pct": change_pct,
        "category": category,
        "gi_z": z[:, 0],
        "gi_p": p[:, 0],
        "gi_bin": bins[:, 0],
        "emerging": emerging,
        "trend_tau": trend.tau,
        "trend_p": trend.p,
    }
    for i in range(1, values.shape[1]):
        out[f"w{i}"] = values[:, i] if i <= covered else np.full(current.size, np.nan)
    return out


def hotspot_statistics(
    counts: pd.DataFrame, value: str = "events", settings: HotspotSettings | None = None, covered: int | None = None
) -> pd.DataFrame:
    """Return one row per cell of ``counts`` (sorted by cell) with change, Gi* and emerging-trend columns.

    Columns: ``cell`` (int64), ``res``, ``events`` and ``people`` (current window), ``current`` (the chosen
    value in the current window), ``w1..wN`` (the value in each baseline window, w1 most recent),
    ``baseline_mean``, ``change_pct`` (percent, NaN when the baseline mean is 0), ``category``, ``gi_z``,
    ``gi_p`` (two-sided), ``gi_bin`` (-3..3), ``emerging``, ``trend_tau`` and ``trend_p`` (Mann-Kendall
    on the per-window Gi* z). Rows are the cells with a non-zero ``events`` or ``people`` in some window;
    Gi* padding cells are not rows.
    ``covered`` is the number of baseline windows (most recent first) inside the data's coverage; the
    default is all of them. Uncovered windows are NaN in ``wI`` and left out of the mean and the trend.
    Counts columns are floats only if the input was; ``attrs["value"]`` names the value analysed.
    """
    settings = settings or HotspotSettings()
    covered = settings.baseline_windows if covered is None else max(0, min(int(covered), settings.baseline_windows))
    _check_counts(counts, value, settings)
    columns = _columns(settings)
    counts = counts[(counts["events"].to_numpy() > 0) | (counts["people"].to_numpy() > 0)]
    counts = counts[counts["window"].to_numpy() <= covered]  # uncovered windows are missing, not data
    if counts.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        empty = empty.astype(
            {"cell": "int64", "res": "int64", "gi_bin": "int8", "category": object, "emerging": object}
        )
        empty.attrs["value"] = value
        return empty
    n_windows = settings.windows
    rows, cells = pd.factorize(counts["cell"].to_numpy(dtype=np.int64), sort=True)
    matrices = {name: _window_matrix(counts, name, rows, cells.size, n_windows) for name in VALUES}
    values, events, people = matrices[value], matrices["events"][:, 0], matrices["people"][:, 0]
    res = cells_resolution(cells)
    parts = []
    for r in np.unique(res):
        sel = res == r
        part = _one_resolution(cells[sel], values[sel], events[sel], people[sel], settings, covered)
        part["res"] = np.full(int(sel.sum()), int(r), dtype=np.int64)
        parts.append(part)
    merged = {c: np.concatenate([part[c] for part in parts]) for c in columns}
    frame = pd.DataFrame(merged, columns=columns)
    frame = frame.sort_values("cell", kind="stable").reset_index(drop=True)
    integral = all(pd.api.types.is_integer_dtype(counts[c]) for c in ("events", "people"))
    if integral:
        counted = ["events", "people", "current", *[f"w{i}" for i in range(1, covered + 1)]]
        frame[counted] = frame[counted].round().astype(np.int64)
    frame["gi_bin"] = frame["gi_bin"].astype(np.int8)
    frame.attrs["value"] = value
    return frame


def touching_components(cells: np.ndarray) -> np.ndarray:
    """Return a component label (0..) per cell of one resolution; cells that touch, directly or in a chain, share one.

    Two cells touch when they share an edge (H3 neighbours). Labels are numbered in order of each
    component's first cell in ``cells``.
    """
    weights, study = neighbour_matrix(cells, 1)
    position = np.searchsorted(study, cells)
    to_row = np.full(study.size, -1, dtype=np.int64)
    to_row[position] = np.arange(cells.size)
    coo = weights.tocoo()
    target = to_row[coo.col]
    keep = target >= 0
    graph = sparse.csr_matrix((np.ones(int(keep.sum())), (coo.row[keep], target[keep])), shape=(cells.size, cells.size))
    _, labels = csgraph.connected_components(graph, directed=False)
    return labels


def _cells_geometry(cells: np.ndarray) -> shapely.Geometry:
    """Return the union of the hexagons of ``cells`` as a valid (Multi)Polygon in lng/lat."""
    if cells.size == 1:
        geom = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(int(cells[0])))])
    else:
        geom = shape(h3.cells_to_geo([h3.int_to_str(int(c)) for c in cells]))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def hotspot_areas(stats: pd.DataFrame, settings: HotspotSettings | None = None) -> gpd.GeoDataFrame:
    """Return hotspot areas (EPSG:4326): touching hot cells of one resolution merged by connected components.

    Columns: ``area_id`` (hex string of the smallest cell in the area), ``res``, ``cells`` (count),
    ``events``, ``people`` (current-window totals), ``category`` (strongest by ``CATEGORY_ORDER``),
    ``gi_bin`` (highest), ``lat``, ``lng`` (centroid of the area polygon), ``geometry``. Sorted by
    ``res`` then ``area_id``.
    """
    settings = settings or HotspotSettings()
    columns = ["area_id", "res", "cells", "events", "people", "category", "gi_bin", "lat", "lng"]
    hot = stats[(stats["gi_bin"] >= settings.area_min_bin) | stats["category"].isin(settings.area_categories)]
    if hot.empty:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    rank = {name: i for i, name in enumerate(CATEGORY_ORDER)}
    parts = []
    for r, group in hot.groupby("res", sort=True):
        group = group.sort_values("cell")
        cells = group["cell"].to_numpy(dtype=np.int64)
        labels = touching_components(cells)
        n_areas = int(labels.max()) + 1
        first = np.full(n_areas, np.iinfo(np.int64).max)
        np.minimum.at(first, labels, cells)
        strongest = np.zeros(n_areas, dtype=np.int64)
        np.maximum.at(strongest, labels, group["category"].map(rank).to_numpy(dtype=np.int64))
        top_bin = np.full(n_areas, -3, dtype=np.int64)
        np.maximum.at(top_bin, labels, group["gi_bin"].to_numpy(dtype=np.int64))
        order = np.argsort(labels, kind="stable")
        members = np.split(cells[order], np.cumsum(np.bincount(labels, minlength=n_areas))[:-1])
        geometries = np.array([_cells_geometry(m) for m in members], dtype=object)
        centres = shapely.centroid(geometries)
        parts.append(
            pd.DataFrame(
                {
                    "area_id": [h3.int_to_str(int(c)) for c in first],
                    "res": int(r),
                    "cells": np.bincount(labels, minlength=n_areas),
                    "events": np.bincount(labels, weights=group["events"].to_numpy(dtype=float), minlength=n_areas),
                    "people": np.bincount(labels, weights=group["people"].to_numpy(dtype=float), minlength=n_areas),
                    "category": np.array(CATEGORY_ORDER, dtype=object)[strongest],
                    "gi_bin": top_bin,
                    "lat": shapely.get_y(centres),
                    "lng": shapely.get_x(centres),
                    "geometry": geometries,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True).sort_values(["res", "area_id"]).reset_index(drop=True)
    if all(pd.api.types.is_integer_dtype(stats[c]) for c in ("events", "people")):
        frame[["events", "people"]] = frame[["events", "people"]].round().astype(np.int64)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


