"""The validation context (settings, now, CRS, ids already seen) and the small helpers every check uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from data.ingest.profile_base import Issue, clean_text, is_missing
from data.ingest.settings import IngestSettings
from geo.errors import IngestError

CORRECTION_TOLERANCE_KM = 10.0  # a corrected point must fall inside its named country, or this close to its outline


WGS84 = CRS.from_epsg(4326)


@dataclass
class Context:
    """What validation needs beyond the rows: settings, 'now', the CRS and the ids already accepted."""

    settings: IngestSettings
    now: datetime
    crs: str | None = None
    seen: DuplicateRegistry = field(default_factory=lambda: DuplicateRegistry())
    _transformer: Transformer | None = None
    _crs_checked: bool = False

    @property
    def transformer(self) -> Transformer | None:
        """Return the transformer to EPSG:4326 when the source CRS is another one, else None."""
        if not self._crs_checked:
            self._crs_checked = True
            if self.crs:
                try:
                    crs = CRS.from_user_input(self.crs)
                except CRSError as exc:
                    raise IngestError(f"unknown CRS {self.crs!r} ({str(exc).splitlines()[0]})") from None
                if not crs.equals(WGS84, ignore_axis_order=True) and crs.to_epsg() != 4326:
                    self._transformer = Transformer.from_crs(crs, WGS84, always_xy=True)
        return self._transformer


class DuplicateRegistry:
    """Ids accepted so far in this file, kept as 64-bit hashes (id, content) with their line, in sorted blocks."""

    def __init__(self) -> None:
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def lookup(self, id_hash: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (found, line, content hash) for each id hash against earlier chunks."""
        found = np.zeros(len(id_hash), bool)
        line = np.zeros(len(id_hash), np.int64)
        content = np.zeros(len(id_hash), np.uint64)
        for keys, lines, contents in self.blocks:
            idx = np.searchsorted(keys, id_hash)
            idx[idx >= len(keys)] = 0
            hit = (keys[idx] == id_hash) & ~found if len(keys) else np.zeros(len(id_hash), bool)
            found |= hit
            line[hit], content[hit] = lines[idx[hit]], contents[idx[hit]]
        return found, line, content

    def add(self, id_hash: np.ndarray, lines: np.ndarray, content: np.ndarray) -> None:
        """Remember accepted ids.

        Blocks of similar size are merged (as in a log-structured merge), so a file of n chunks keeps
        about log2(n) blocks and each lookup searches those, not one block per earlier chunk.
        """
        if not len(id_hash):
            return
        order = np.argsort(id_hash)
        self.blocks.append((id_hash[order], lines[order], content[order]))
        while len(self.blocks) > 1 and len(self.blocks[-2][0]) <= 2 * len(self.blocks[-1][0]):
            (k1, l1, c1), (k2, l2, c2) = self.blocks[-2], self.blocks.pop()
            keys = np.concatenate([k1, k2])
            order = np.argsort(keys, kind="stable")  # two sorted runs: a merge
            self.blocks[-1] = (keys[order], np.concatenate([l1, l2])[order], np.concatenate([c1, c2])[order])


def add_issues(issues: list[Issue], src: np.ndarray, mask: np.ndarray, label: str, reason: Any) -> None:
    """Append one issue per masked record; ``reason`` is text or a function of the record index."""
    for i in np.flatnonzero(mask):
        issues.append((int(src[i]), label, reason(i) if callable(reason) else reason))


def is_present(series: pd.Series) -> np.ndarray:
    """Return True where a value is given (not missing and not blank text)."""
    values = series.to_numpy(object)
    if infer_dtype(values, skipna=True) == "empty":
        return np.zeros(len(values), bool)
    if infer_dtype(values, skipna=False) == "string":
        return np.fromiter((bool(v.strip()) for v in values), bool, len(values))
    return np.fromiter(
        (not is_missing(v) and not (isinstance(v, str) and not v.strip()) for v in values), bool, len(values)
    )


def _as_text(v: Any) -> Any:
    if v is None or isinstance(v, dict | list | tuple | set | bytes):
        return None
    if type(v) is str:
        v = v.strip()
    elif isinstance(v, float | np.floating):
        if v != v:
            return None
        v = str(int(v)) if float(v).is_integer() else repr(float(v))
    else:
        v = str(v).strip()
    return v or None


def normalise_text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return (text values or None, mask of values that are lists/objects); numbers become their text."""
    n = len(series)
    if infer_dtype(series.to_numpy(object), skipna=True) == "empty":  # nothing but None/NaN
        return pd.Series([None] * n, dtype=object), np.zeros(n, bool)
    values = clean_text(series).to_numpy(object)
    if infer_dtype(values, skipna=False) == "string":
        return pd.Series([v.strip() or None for v in values], dtype=object), np.zeros(n, bool)
    bad = np.fromiter((isinstance(v, dict | list | tuple | set | bytes) for v in values), bool, len(values))
    return pd.Series([_as_text(v) for v in values], dtype=object), bad
