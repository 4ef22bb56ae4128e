"""Rate-based surge test: are a cell's events in the last hours above what the same hours in earlier weeks predict?

The statistics (documented in docs/early-warning.md)
----------------------------------------------------
- **Counts.** Events per cell per whole hour for the last ``max(lengths)`` hours (week 0), and the
  same hours in each of the ``weeks`` covered baseline weeks (the same weekday and hour: market days
  and the daily cycle are in the baseline, so they are no surge).
- **Test, per window length L** (the last L whole hours): X = events in the last L hours, Y = events
  in the same L hours summed over the m covered baseline weeks. With Poisson counts and the null
  hypothesis "the current rate is at most ``ratio0`` times the baseline rate", X given n = X + Y is
  Binomial(n, p0) with p0 = ratio0 / (ratio0 + m): the exact conditional test for a ratio of two
  Poisson rates (Przyborowski & Wilenski 1940). ``p_L = P(Binomial(n, p0) >= X)``. The uncertainty
  of the baseline is part of the test, so a short baseline does not look more certain than it is.
- **Several lengths.** Short windows react fast to a strong surge, long ones find a moderate one;
  the cell's p-value is ``min(1, len(lengths) * min_L p_L)`` (Bonferroni over the lengths).
- **Events, not people**, are tested: people arrive in groups (1 + Poisson(2) per event in the
  benchmark; larger in real data), so a people count is over-dispersed and a Poisson test of it
  would claim more certainty than the data hold. People enter as a floor (``min_people``) on the
  place's people in the last 24 hours, applied by the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binom

from geo.errors import InvalidView

SURGE_COLUMNS = [
    "cell",
    "events",
    "people",
    "p_value",
    "test_hours",
    "window_events",
    "window_people",
    "expected_events",
    "expected_people",
]


def _matrix(frame: pd.DataFrame, cells: np.ndarray, hours: int, column: str) -> np.ndarray:
    """Return a cells x hours matrix of ``column`` (hour 0 = the most recent whole hour)."""
    out = np.zeros((cells.size, hours), dtype=np.float64)
    if frame.empty:
        return out
    found = frame["cell"].to_numpy(dtype=np.int64)
    keep = (frame["hour"].to_numpy() < hours) & np.isin(found, cells)  # cells seen only in the baseline: no test
    part = frame.loc[keep]
    rows = np.searchsorted(cells, found[keep])
    np.add.at(out, (rows, part["hour"].to_numpy(dtype=np.int64)), part[column].to_numpy(dtype=np.float64))
    return out


def rate_surge_test(
    current: pd.DataFrame,
    baseline: pd.DataFrame,
    weeks: int,
    lengths: Sequence[int] = (3, 6, 12, 24),
    ratio0: float = 1.0,
) -> pd.DataFrame:
    """Return per cell: last-24h ``events, people``, the surge ``p_value`` and the window that gave it.

    ``current``: ``cell, hour, events, people`` with hour 0 the most recent whole hour. ``baseline``:
    the same columns summed over the ``weeks`` covered baseline weeks (same hours, same weekday).
    ``expected_*`` are the baseline means (per week) of the test window; ``window_*`` its current counts.
    Cells seen only in the baseline have nothing to test and are left out.
    """
    if weeks < 1:
        raise InvalidView("a rate test needs at least one covered baseline week")
    if ratio0 <= 0 or not lengths or min(lengths) < 1:
        raise InvalidView("ratio0 must be positive and every window length at least 1 hour")
    hours = max(max(lengths), 24)
    cells = np.unique(current.loc[current["hour"] < hours, "cell"].to_numpy(dtype=np.int64))
    if cells.size == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in SURGE_COLUMNS}).astype({"cell": "int64"})
    cum = {
        (which, col): np.cumsum(_matrix(frame, cells, hours, col), axis=1)
        for which, frame in (("x", current), ("y", baseline))
        for col in ("events", "people")
    }
    lengths = sorted(set(int(n) for n in lengths))
    idx = np.array(lengths) - 1
    x, y = cum[("x", "events")][:, idx], cum[("y", "events")][:, idx]
    p0 = ratio0 / (ratio0 + weeks)
    p = np.where(x > 0, binom.sf(x - 1, x + y, p0), 1.0)  # P(Bin(n, p0) >= X)
    best = np.argmin(p, axis=1)
    row = np.arange(cells.size)
    chosen = idx[best]
    return pd.DataFrame(
        {
            "cell": cells,
            "events": cum[("x", "events")][:, 23].astype(np.int64),
            "people": cum[("x", "people")][:, 23].astype(np.int64),
            "p_value": np.minimum(1.0, p[row, best] * len(lengths)),
            "test_hours": chosen + 1,
            "window_events": cum[("x", "events")][row, chosen].astype(np.int64),
            "window_people": cum[("x", "people")][row, chosen].astype(np.int64),
            "expected_events": cum[("y", "events")][row, chosen] / weeks,
            "expected_people": cum[("y", "people")][row, chosen] / weeks,
        }
    )
