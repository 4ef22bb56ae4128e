"""Getis-Ord Gi* on H3 cells: k-ring neighbour matrices, z-scores, p-values and FDR-aware confidence bins.

The statistic is the textbook Gi* (Getis & Ord 1992, Ord & Getis 1995) that ArcGIS "Hot Spot Analysis"
reports. Weights are binary: ``w_ij = 1`` when cell j lies within ``k`` grid steps of cell i, the cell
itself included (``w_ii = 1``; that is what the star means), else 0. Over the n cells of the study area,
with mean ``X`` and population standard deviation ``S`` of the values x::

    z_i = (sum_j w_ij x_j - X * W_i) / (S * sqrt((n * sum_j w_ij**2 - W_i**2) / (n - 1))),   W_i = sum_j w_ij

This is exactly PySAL's ``esda.G_Local(y, w, transform="B", star=True, permutations=0).Zs``: with binary
weights esda puts 1 on the diagonal (or keeps the self-neighbour already in ``w``), and its moments
reduce algebraically to the formula above. (esda's default ``transform="R"`` row-standardises the weights;
that is not the textbook Gi*.) p-values here are two-sided, ``p = 2 * (1 - Phi(|z|))``, as ArcGIS reports
them; esda's ``p_norm`` is the one-tailed ``1 - Phi(|z|)``, so ``p == 2 * p_norm``.

Where the statistic is undefined (fewer than two study cells, every value equal, or a neighbourhood
that covers the whole study area) z is 0 and p is 1: no evidence either way.

Confidence bins follow ArcGIS: +-3 at 99%, +-2 at 95%, +-1 at 90% confidence, signed like z, 0 otherwise.
With the false discovery rate correction on, a cell earns a level only if it passes Benjamini-Hochberg
at that level's alpha among all the cells tested together (each window separately).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from h3.api import memview_int
from scipy import sparse, special

from geo.errors import InvalidView

DEFAULT_ALPHAS: tuple[float, float, float] = (0.10, 0.05, 0.01)

_RING_CACHE: OrderedDict[tuple[bytes, int], tuple[sparse.csr_matrix, np.ndarray]] = OrderedDict()
_RING_CACHE_SIZE = 8


def _grid_disks(cells: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the concatenated k-disks (int64) of ``cells`` and the length of each disk."""
    grid_disk = memview_int.grid_disk
    try:
        disks = [bytes(grid_disk(c, k)) for c in cells.tolist()]
    except (ValueError, TypeError, OverflowError) as exc:  # h3's errors subclass ValueError
        raise InvalidView(f"not a valid H3 cell in the counts: {exc}") from None
    lengths = np.fromiter(map(len, disks), dtype=np.int64, count=len(disks)) // 8
    flat = np.frombuffer(b"".join(disks), dtype=np.uint64).astype(np.int64)
    return flat, lengths


def neighbour_matrix(cells: np.ndarray, k: int = 1) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Return binary Gi* weights (rows = ``cells`` in order, columns = study cells) and the sorted study cells.

    The study area is ``cells`` plus every cell within ``k`` grid steps of one of them, so a cell's whole
    k-disk (itself included) is always present; padding cells hold zero counts. Results for the last few
    cell sets are cached, because a refreshing map asks for the same cells again and again.
    """
    cells = np.ascontiguousarray(cells, dtype=np.int64)
    if k < 0:
        raise InvalidView(f"neighbour ring size must be >= 0, got {k}")
    key = (cells.tobytes(), int(k))
    hit = _RING_CACHE.get(key)
    if hit is not None:
        _RING_CACHE.move_to_end(key)
        return hit
    if cells.size == 0:
        result = (sparse.csr_matrix((0, 0)), np.empty(0, dtype=np.int64))
    else:
        flat, lengths = _grid_disks(cells, k)
        study, cols = np.unique(flat, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        # grid_disk lists each cell once, so the rows need no duplicate summing.
        weights = sparse.csr_matrix((np.ones(flat.size), cols.astype(np.int64), indptr), shape=(cells.size, study.size))
        weights.sort_indices()
        study.flags.writeable = False
        result = (weights, study)
    _RING_CACHE[key] = result
    if len(_RING_CACHE) > _RING_CACHE_SIZE:
        _RING_CACHE.popitem(last=False)
    return result


def gi_star(values: np.ndarray, weights: sparse.spmatrix) -> np.ndarray:
    """Return Gi* z-scores, one per weights row (and per column of ``values`` when it is 2-D).

    ``values`` holds the n study cells (shape ``(n,)`` or ``(n, windows)``); ``weights`` is ``(m, n)``
    with the self-weight on each row's own cell.
    """
    y = np.asarray(values, dtype=float)
    one_dim = y.ndim == 1
    y2 = y.reshape(y.shape[0], -1)
    n = y2.shape[0]
    w = sparse.csr_matrix(weights, dtype=float)
    if w.shape[1] != n:
        raise ValueError(f"weights have {w.shape[1]} columns but there are {n} values")
    if w.shape[0] == 0 or n == 0:
        return np.zeros((w.shape[0],) if one_dim else (w.shape[0], y2.shape[1]))
    mean = y2.mean(axis=0)
    sd = y2.std(axis=0)
    w_sum = np.asarray(w.sum(axis=1)).reshape(-1, 1)
    binary = bool(np.all(w.data == 1.0))
    w_sq = w_sum if binary else np.asarray(w.multiply(w).sum(axis=1)).reshape(-1, 1)
    numerator = np.asarray(w @ y2) - w_sum * mean
    spread = (n * w_sq - w_sum**2) / max(n - 1, 1)
    denominator = sd * np.sqrt(np.clip(spread, 0.0, None))
    scale = np.abs(mean) + sd
    ok = (n > 1) & (denominator > 1e-12 * np.where(scale > 0, scale, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(ok, numerator / np.where(ok, denominator, 1.0), 0.0)
    return z.ravel() if one_dim else z


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Return the two-sided normal p-value of each z-score."""
    return 2.0 * special.ndtr(-np.abs(np.asarray(z, dtype=float)))


def bh_adjusted(p: np.ndarray, up_to: float = 1.0) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values per column (1 where the raw p exceeds ``up_to``).

    Only p-values ``<= up_to`` are adjusted (sorted); larger ones can never pass a level ``<= up_to``
    (their adjusted value is at least their raw value), so decisions at such levels are exact and
    equal to ``scipy.stats.false_discovery_control(p, method="bh") <= alpha``.
    """
    p = np.asarray(p, dtype=float)
    flat = p.reshape(p.shape[0], -1) if p.ndim else p.reshape(1, 1)
    m = flat.shape[0]
    out = np.ones_like(flat)
    for j in range(flat.shape[1]):
        candidates = np.flatnonzero(flat[:, j] <= up_to)
        if candidates.size == 0:
            continue
        order = candidates[np.argsort(flat[candidates, j], kind="stable")]
        scaled = flat[order, j] * m / np.arange(1, order.size + 1)
        out[order, j] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out.reshape(p.shape)


def confidence_bins(
    z: np.ndarray, p: np.ndarray, alphas: tuple[float, ...] = DEFAULT_ALPHAS, fdr: bool = True
) -> np.ndarray:
    """Return the signed confidence bin (int8, -3..3) of each z; 2-D input is FDR-corrected per column.

    ``alphas`` are the levels for bins 1, 2, 3 (e.g. 0.10, 0.05, 0.01), loosest first.
    """
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    if p.size and fdr:
        p = bh_adjusted(p, up_to=max(alphas))
    level = np.zeros(z.shape, dtype=np.int8)
    for rank, alpha in enumerate(alphas, start=1):
        level = np.where(p <= alpha, np.int8(rank), level).astype(np.int8)
    return (np.sign(z).astype(np.int8) * level).astype(np.int8)
