"""What may leave the system: small counts merged into parent cells, and cells no finer than a location's precision.

Small-count suppression
-----------------------
``suppress_small_counts`` is the one function that the map, the exports and shared permalinks use for
roles without raw access. A cell whose ``people`` is below ``k`` is not shown on its own: it is merged
into its parent cell, summed with every sibling (and any finer descendant) that is also below ``k``;
while the merged parent is still below ``k`` it moves up again, one resolution at a time. A group still
below ``k`` at ``min_res`` is dropped. A cell with exactly ``k`` people stays as it is.

How a merged parent relates to large siblings: siblings with ``people >= k`` stay as their own cells, and
the parent carries only the totals of the small cells merged into it (its ``merged`` column says how many
source cells). The parent's hexagon covers its large children, so the output is sorted coarse to fine:
drawn in order, the parent lies beneath and the large children on top. When the input itself holds the
parent cell (mixed resolutions, e.g. events whose location is only known to a coarser cell), the small
children are added into that cell, which then means "somewhere in this parent".

Location precision
------------------
``resolution_for_precision`` gives the finest resolution whose cells are no smaller than an event's
location uncertainty, measured against ``geo.cells.precision_limit_m`` (the average hexagon edge length,
which is the hexagon's circumradius), the same limit the store uses when it counts imprecise events at a
coarser cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo.cells import MIN_RES, STORED_RESOLUTIONS, cells_to_parents, precision_limit_m
from geo.errors import InvalidView

_RES_SHIFT = np.int64(52)
OUTPUT_COLUMNS = ["cell", "res", "events", "people", "merged"]


def _resolutions(cells: np.ndarray) -> np.ndarray:
    return ((cells >> _RES_SHIFT) & np.int64(0xF)).astype(np.int64)


def _sum_by_cell(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby("cell", as_index=False, sort=True)[["events", "people", "merged"]].sum()


def suppress_small_counts(cells: pd.DataFrame, k: int, min_res: int = MIN_RES) -> pd.DataFrame:
    """Return ``cell, res, events, people, merged`` with every cell under ``k`` people merged upward or dropped.

    Extra input columns are dropped: they could carry the small numbers this function hides. Rows of the
    same cell are summed first. ``k <= 1`` changes nothing but the columns. Sorted by ``res`` then ``cell``.
    """
    missing = {"cell", "events", "people"} - set(cells.columns)
    if missing:
        raise InvalidView(f"cells lack the columns {', '.join(sorted(missing))}")
    frame = cells[["cell", "events", "people"]].copy()
    frame["cell"] = frame["cell"].astype(np.int64)
    if frame[["events", "people"]].isna().any().any() or (frame[["events", "people"]] < 0).any().any():
        raise InvalidView("cell counts must be non-negative numbers")
    frame["merged"] = 1
    frame = _sum_by_cell(frame)
    frame["res"] = _resolutions(frame["cell"].to_numpy())
    if k > 1 and not frame.empty:
        kept = []
        pending = frame
        for res in range(int(pending["res"].max()), -1, -1):
            here = pending[pending["res"] == res]
            pending = pending[pending["res"] != res]
            if here.empty:
                if pending.empty:
                    break
                continue
            here = _sum_by_cell(here)
            large = here["people"] >= k
            kept.append(here[large])
            small = here[~large]
            if res <= min_res or small.empty:
                continue  # small groups at min_res (or coarser) are suppressed
            lifted = small.assign(cell=cells_to_parents(small["cell"].to_numpy(), res - 1), res=res - 1)
            pending = pd.concat([pending, lifted], ignore_index=True)
        frame = pd.concat(kept, ignore_index=True) if kept else frame.iloc[0:0]
        frame = frame.assign(res=_resolutions(frame["cell"].to_numpy()))
    frame = frame.sort_values(["res", "cell"], kind="stable").reset_index(drop=True)
    return frame[OUTPUT_COLUMNS].astype({"cell": "int64", "res": "int64", "merged": "int64"})


def resolution_for_precision(
    precision_m: Iterable[float] | np.ndarray, resolutions: Iterable[int] = STORED_RESOLUTIONS
) -> np.ndarray:
    """Return, per precision (m), the finest of ``resolutions`` whose cell edge is at least that precision.

    NaN, zero or negative precision (unknown or exact) gives the finest resolution; a precision coarser
    than every cell gives the coarsest one.
    """
    res = np.array(sorted(set(int(r) for r in resolutions)), dtype=np.int64)
    if res.size == 0:
        raise InvalidView("need at least one resolution")
    precision = np.asarray(precision_m, dtype=float)
    limits = np.array([precision_limit_m(int(r)) for r in res])  # decreasing with res
    # Number of resolutions whose limit is >= the precision; they are the coarsest ones.
    fitting = np.searchsorted(-limits, -np.nan_to_num(precision, nan=0.0), side="right")
    out = res[np.clip(fitting - 1, 0, res.size - 1)]
    return np.where(np.isnan(precision) | (precision <= 0), res[-1], out).astype(np.int64)


# -- every number a restricted role receives ----------------------------------------------------------
#: Property names whose values are counts of people or events (or are computed from them), wherever
#: they appear: hotspot cells and areas, playback frames, alert evidence, status totals.
COUNT_KEYS = frozenset(
    {
        "people",
        "events",
        "windows",
        "baseline_mean",
        "baseline_mean_people",
        "baseline_windows",
        "window_people",
        "window_events",
        "people_24h",
        "people_7d",
        "people_window",
        "events_24h",
        "events_7d",
        "events_window",
        "distress_events",
    }
)
#: Values derived from the baseline; withheld with it, since they would give the withheld counts back.
DERIVED_FROM_BASELINE = ("baseline_mean", "baseline_mean_people", "change_pct", "p_value")


def is_small_count(value: object, k: int) -> bool:
    """Return True for a number strictly between 0 and ``k`` (bools are not counts)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return False
    return 0 < float(value) < k


def withhold_small_counts(props: dict, k: int) -> dict:
    """Return a copy of ``props`` with every count in 1..k-1 withheld (shown as "under k").

    Applies to the keys in ``COUNT_KEYS``: a single value becomes None; an item of a list (the
    windows, where None already means "before the data") becomes the text ``"<k"``. When any earlier
    window is withheld, the baseline mean and the change in percent are withheld too: together
    with the windows shown they would give the withheld values back. ``k <= 1`` changes nothing.
    """
    if k <= 1:
        return dict(props)
    out = dict(props)
    window_withheld = False
    for key, value in props.items():
        if key not in COUNT_KEYS:
            continue
        if isinstance(value, list):
            masked = [f"<{k}" if is_small_count(v, k) else v for v in value]  # None stays "missing"
            window_withheld |= masked != value
            out[key] = masked
        elif is_small_count(value, k):
            out[key] = None
    if window_withheld or any(out.get(key, 0) is None and props.get(key) is not None for key in DERIVED_FROM_BASELINE):
        for key in DERIVED_FROM_BASELINE:
            if key in out:
                out[key] = None
    return out


_COUNT_IN_TEXT = re.compile(r"(?<![\w.,])(\d[\d,]*)(?=\s+(?:people|persons|events?\b|event\(s\)|distress))", re.I)


def withhold_small_counts_in_text(text: str, k: int) -> str:
    """Return ``text`` with each count of 1..k-1 people or events ("2 distress event(s)") written "under k"."""

    def _swap(match: re.Match[str]) -> str:
        value = int(match[1].replace(",", ""))
        return f"under {k}" if 0 < value < k else match[0]

    return _COUNT_IN_TEXT.sub(_swap, text) if k > 1 else text


def withhold_evidence(evidence: dict, k: int) -> dict:
    """Return alert evidence as a role without raw access may see it: no event ids, small counts named.

    Every value ``withhold_small_counts`` withholds (counts of 1..k-1, and the baseline values that
    would give them back) reads ``"fewer than k"``, so the reader sees that something was withheld.
    """
    shown = {key: value for key, value in evidence.items() if key != "event_ids"}
    safe = withhold_small_counts(shown, k)
    return {
        key: f"fewer than {k}" if safe[key] is None and value is not None else safe[key] for key, value in shown.items()
    }
