"""HXL (Humanitarian Exchange Language) hashtags for CSV exports, so HDX and HXL tools read them by meaning.

A CSV export carries a second row of hashtags under the header (``#geo+lat``, ``#date+occurred``,
``#affected+killed``, ``#country+code`` …); spreadsheets see one extra row, HXL tools (libhxl,
HXL Proxy, HDX) see tagged columns. Columns without a standard meaning get ``#meta+<name>``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

TAGS: dict[str, str] = {
    "layer": "#meta+layer",
    "id": "#meta+id",
    "lat": "#geo+lat",
    "lon": "#geo+lon",
    "lng": "#geo+lon",
    "wkt": "#geo+wkt",
    "name": "#loc+name",
    "kind": "#loc+type",
    "status": "#status",
    "country_a": "#country+code",
    "country_b": "#country+code+neighbour",
    "capacity_per_day": "#capacity+num+per_day",
    "mode": "#indicator+mode",
    "risk": "#severity+risk",
    "last_observed_at": "#date+observed",
    "occurred_at": "#date+occurred",
    "dead": "#affected+killed",
    "killed": "#affected+killed",
    "missing": "#affected+missing",
    "cell": "#geo+h3",
    "res": "#geo+h3+res",
    "events": "#event+num",
    "people": "#affected+num",
    "authority": "#org+authority",
    "team": "#group+team",
    "parent_id": "#meta+parent_id",
    "label": "#meta+label",
    "note": "#description",
    "notes": "#description",
    "source": "#meta+source",
    "location_precision_m": "#geo+precision+m",
}
_SAFE = re.compile(r"[^a-z0-9_]+")


def hxl_tag(column: str) -> str:
    """Return the HXL hashtag of an export column (``#meta+<column>`` when it has no standard one)."""
    if column in TAGS:
        return TAGS[column]
    for window in ("24h", "7d", "window"):
        if column == f"events_{window}":
            return f"#event+num+w{window}" if window[0].isdigit() else "#event+num+window"
        if column == f"people_{window}":
            return f"#affected+num+w{window}" if window[0].isdigit() else "#affected+num+window"
    return "#meta+" + (_SAFE.sub("_", column.lower()).strip("_") or "value")


def hxl_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the hashtag row as its first row (all values as they were)."""
    tags = pd.DataFrame([[hxl_tag(str(c)) for c in frame.columns]], columns=frame.columns)
    return pd.concat([tags, frame.astype(object)], ignore_index=True)


def write_hxl_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV with the header row, then the HXL hashtag row, then the data."""
    hxl_frame(frame).to_csv(path, index=False)
