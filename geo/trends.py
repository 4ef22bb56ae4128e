"""Trends over consecutive time windows: vectorised Mann-Kendall and emerging-hotspot categories.

Mann-Kendall
------------
For each row ``x_1..x_n`` (oldest to newest) ``S = sum_{i<j} sign(x_j - x_i)``. With tie groups of
sizes ``t`` among the values, ``Var(S) = [n(n-1)(2n+5) - sum t(t-1)(2t+5)] / 18``;
``z = (S - sign(S)) / sqrt(Var(S))`` with the usual continuity correction (``continuity=False``
gives ``S / sqrt(Var(S))``, which is what ``scipy.stats.kendalltau(time, x, method="asymptotic")``
computes), and ``p = 2 * (1 - Phi(|z|))`` (two-sided). ``tau`` is Kendall's tau-b (ties counted in the
values; time has none), the same as scipy's. A row of equal values has ``S = 0``, ``tau = 0``,
``z = 0`` and ``p = 1``. With five windows the smallest reachable two-sided p is about 0.027
(a strictly monotone series), so trend tests on short series need a generous alpha.

Emerging-hotspot categories (ESRI "Emerging Hot Spot Analysis", adapted to a few windows)
---------------------------------------------------------------------------------------
Input per cell: ``hot[t]`` (significant Gi* hot spot in window t, oldest to newest; the caller decides
the confidence level and whether FDR applies) and the Mann-Kendall result on the cell's per-window
Gi* z-scores. ``share`` is the fraction of all windows that are hot. Rules, first match wins:

``none``         not hot in the newest (current) window.
``new``          hot now and in no earlier window.
``intensifying`` hot now, ``share >= persistent_share``, Gi* z trend up (``tau > 0``, ``p < trend_alpha``).
``diminishing``  hot now, ``share >= persistent_share``, Gi* z trend down (``tau < 0``, ``p < trend_alpha``).
``persistent``   hot now, ``share >= persistent_share`` and no significant trend.
``consecutive``  hot now in one unbroken run of at least two windows ending now, never hot before the run,
                 and ``share < persistent_share``.
``sporadic``     hot now, hot in some earlier window, otherwise (on and off again).

ESRI uses 90% of the time steps for "persistent"; with the default five windows that would require
every window, so the default share is 0.8 (four of five, the current one included). ESRI also requires
the final step to be hot for every category named here; its "historical" (hot before, not now) and the
cold-spot categories are not reported ("none"): this layer warns about what is hot now. ESRI's
"oscillating" (hot now, cold before) is folded into ``sporadic``.

The trend is tested on the per-window Gi* z-scores, as ESRI does, not on raw counts: z measures how much
a cell stands out from its surroundings within each window, so a region-wide rise of every count (more
reporting everywhere) does not make every cell "intensifying", while a cell pulling away from its
neighbours does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

EMERGING_CATEGORIES: tuple[str, ...] = (
    "none",
    "sporadic",
    "diminishing",
    "persistent",
    "consecutive",
    "intensifying",
    "new",
)


class MannKendall(NamedTuple):
    """Per-row Mann-Kendall results: ``S``, tau-b, z and the two-sided p-value (1-D arrays)."""

    s: np.ndarray
    tau: np.ndarray
    z: np.ndarray
    p: np.ndarray


def mann_kendall(series: np.ndarray, continuity: bool = True) -> MannKendall:
    """Return the Mann-Kendall trend test of every row of ``series`` (rows = cells, columns = time, oldest first)."""
    x = np.asarray(series, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"series must be 1-D or 2-D, got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("series must not contain NaN")
    rows, n = x.shape
    diff = x[:, None, :] - x[:, :, None]  # diff[r, i, j] = x_j - x_i
    upper_i, upper_j = np.triu_indices(n, 1)
    s = np.sign(diff[:, upper_i, upper_j]).sum(axis=1).astype(np.int64)
    # Tie groups: an element with c equal values in its row sits in a group of size c, so summing
    # (c-1)(2c+5) over a group's c elements gives that group's t(t-1)(2t+5), and (c-1)/2 its t(t-1)/2.
    equal = np.count_nonzero(diff == 0, axis=2)
    tie_term = ((equal - 1) * (2 * equal + 5)).sum(axis=1)
    tied_pairs = (equal - 1).sum(axis=1) / 2.0
    var = (n * (n - 1) * (2 * n + 5) - tie_term) / 18.0
    pairs = n * (n - 1) / 2.0
    denom_tau = np.sqrt(pairs * (pairs - tied_pairs))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(denom_tau > 0, s / np.where(denom_tau > 0, denom_tau, 1.0), 0.0)
        numerator = s - np.sign(s) if continuity else s.astype(float)
        z = np.where(var > 0, numerator / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = 2.0 * special.ndtr(-np.abs(z))
    return MannKendall(s=s, tau=tau, z=z, p=p)


def emerging_categories(
    hot: np.ndarray,
    trend_tau: np.ndarray,
    trend_p: np.ndarray,
    persistent_share: float = 0.8,
    trend_alpha: float = 0.10,
) -> np.ndarray:
    """Return the emerging-hotspot category (object array of str) of each row of ``hot`` (columns oldest first)."""
    hot = np.asarray(hot, dtype=bool)
    if hot.ndim != 2:
        raise ValueError(f"hot must be 2-D (cells x windows), got shape {hot.shape}")
    rows, n = hot.shape
    if rows == 0 or n == 0:
        return np.full(rows, "none", dtype=object)
    now = hot[:, -1]
    earlier = hot[:, :-1].sum(axis=1)
    share = hot.sum(axis=1) / n
    # Length of the unbroken run of hot windows ending now (0 when not hot now).
    cold_from_end = ~hot[:, ::-1]
    run = np.where(cold_from_end.any(axis=1), cold_from_end.argmax(axis=1), n)
    significant = np.asarray(trend_p) < trend_alpha
    tau = np.asarray(trend_tau)
    frequent = share >= persistent_share - 1e-12
    conditions = [
        ~now,
        earlier == 0,
        frequent & significant & (tau > 0),
        frequent & significant & (tau < 0),
        frequent,
        (run >= 2) & (run == hot.sum(axis=1)),
    ]
    names = np.array(
        ["none", "new", "intensifying", "diminishing", "persistent", "consecutive", "sporadic"], dtype=object
    )
    return names[np.select(conditions, np.arange(len(conditions)), default=len(conditions))]
