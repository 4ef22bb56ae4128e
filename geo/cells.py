"""H3 cells: vectorised indexing (every resolution directly), parents by integer arithmetic, zoom to resolution."""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import h3
import numpy as np
from h3ronpy.vector import coordinates_to_cells

MIN_RES = 4
MAX_RES = 9
STORED_RESOLUTIONS: tuple[int, ...] = tuple(range(MIN_RES, MAX_RES + 1))

_RES_SHIFT = 52
_RES_MASK = np.int64(0xF) << np.int64(_RES_SHIFT)


def points_to_cells(lats: Iterable[float], lngs: Iterable[float], res: int) -> np.ndarray:
    """Return the H3 cells (int64) at ``res`` that contain each ``lat, lng`` pair (vectorised, h3ronpy).

    Raises ValueError for a NaN or infinite coordinate, or arrays of different length.
    """
    lat_arr = np.ascontiguousarray(lats if isinstance(lats, np.ndarray) else list(lats), dtype=np.float64)
    lng_arr = np.ascontiguousarray(lngs if isinstance(lngs, np.ndarray) else list(lngs), dtype=np.float64)
    if lat_arr.shape != lng_arr.shape:
        raise ValueError("lats and lngs must have the same length")
    if lat_arr.size == 0:
        return np.empty(0, dtype=np.int64)
    cells = np.asarray(coordinates_to_cells(lat_arr.ravel(), lng_arr.ravel(), int(res)))
    return cells.astype(np.int64, copy=False)


def cells_to_parents(cells: np.ndarray, res: int) -> np.ndarray:
    """Return the parent (int64) of each cell at the coarser ``res``, by bit arithmetic.

    For aggregating cells only (small-count suppression): a parent does not contain all of its
    children, so never use it as the cell a point is counted in.

    An H3 index holds its resolution in bits 52-55 and one 3-bit digit per resolution;
    digits finer than the resolution are all ones (7).
    """
    cells = np.asarray(cells, dtype=np.int64)
    unused_digits = np.int64((1 << (3 * (15 - res))) - 1)
    return (cells & ~_RES_MASK) | (np.int64(res) << np.int64(_RES_SHIFT)) | unused_digits


def points_to_all_cells(lats: np.ndarray, lngs: np.ndarray) -> dict[int, np.ndarray]:
    """Return ``{res: cells}`` for every stored resolution, each indexed directly from the points.

    Not derived from the finest cell: an H3 parent does not contain all of its children (at res 6
    about 5 % of points lie outside the parent of their res-9 cell), so each resolution is indexed on
    its own and a point always counts in the hexagon that contains it.
    """
    lat_arr = np.ascontiguousarray(lats, dtype=np.float64)
    lng_arr = np.ascontiguousarray(lngs, dtype=np.float64)
    if lat_arr.size < _PARALLEL_MIN_POINTS:
        return {res: points_to_cells(lat_arr, lng_arr, res) for res in STORED_RESOLUTIONS}
    # h3ronpy releases the GIL: two threads index the resolutions side by side (bulk loads, 2 cores).
    pool = _pool()
    futures = {res: pool.submit(points_to_cells, lat_arr, lng_arr, res) for res in STORED_RESOLUTIONS}
    return {res: future.result() for res, future in futures.items()}


_PARALLEL_MIN_POINTS = 10_000
_POOL: list[ThreadPoolExecutor] = []


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="hbm-h3"))
    return _POOL[0]


def resolution_for_zoom(zoom: float, min_edge_px: float = 6.0) -> int:
    """Return the finest stored resolution whose hexagon edge is at least ``min_edge_px`` at ``zoom``.

    Uses Web-Mercator metres per pixel at latitude 0 (256-px tiles).
    """
    if not math.isfinite(zoom):
        raise ValueError(f"zoom must be a finite number, got {zoom!r}")
    metres_per_px = 156_543.03392 / (2.0**zoom)
    best = MIN_RES
    for res in STORED_RESOLUTIONS:
        if h3.average_hexagon_edge_length(res, unit="m") / metres_per_px >= min_edge_px:
            best = res
    return best


def precision_limit_m(res: int) -> float:
    """Return the coarsest location precision (m) an event may have and still count at ``res``.

    A cell can hold a position only when the position's uncertainty is no larger than the
    cell: we use the average hexagon edge length (about the cell's circumradius).
    """
    return float(h3.average_hexagon_edge_length(res, unit="m"))


def is_valid_cell(cell: int) -> bool:
    """Return True when ``cell`` (int) is a valid H3 cell index."""
    try:
        return bool(h3.is_valid_cell(h3.int_to_str(int(cell))))
    except (ValueError, TypeError, OverflowError):
        return False


def cell_to_ring(cell: int, ndigits: int = 5) -> list[list[float]]:
    """Return the closed GeoJSON ring (``[lng, lat]`` pairs) of an int64 H3 cell."""
    boundary = h3.cell_to_boundary(h3.int_to_str(int(cell)))
    ring = [[round(lng, ndigits), round(lat, ndigits)] for lat, lng in boundary]
    ring.append(ring[0])
    return ring


def cell_to_latlng(cell: int) -> tuple[float, float]:
    """Return the centre ``(lat, lng)`` of an int64 H3 cell."""
    lat, lng = h3.cell_to_latlng(h3.int_to_str(int(cell)))
    return lat, lng


def cell_area_km2(res: int) -> float:
    """Return the average hexagon area in km² at ``res``."""
    return float(h3.average_hexagon_area(res, unit="km^2"))
