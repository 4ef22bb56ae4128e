"""The rejects file (re-importable) and the corrections file (audit of what was changed).

Both are UTF-8 CSV with the source's own columns, a ``wkt`` column when the source had
geometry (in EPSG:4326 when it could be reprojected), then ``_line``, ``_field`` and ``_reason``.
Readers ignore the three ``_`` columns, so a corrected rejects file imports with the same
``--kind`` and ``--profile`` as the original.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from data.ingest.source import GEOMETRY_COLUMN
from geo.errors import IngestError

META_COLUMNS = ("_line", "_field", "_reason")


def cell_text(value: Any) -> str:
    """Return a raw value as the text written to the CSV (dates ISO 8601, lists/objects as JSON)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class RowFile:
    """A CSV of source rows with their line, field and reason, opened on the first row written."""

    def __init__(self, path: Path, columns: list[str], with_geometry: bool) -> None:
        self.path = path
        self.columns = [c for c in columns if c not in META_COLUMNS]
        self.with_geometry = with_geometry and GEOMETRY_COLUMN not in {c.casefold() for c in self.columns}
        self.rows = 0
        self._fh: IO[str] | None = None
        self._writer: Any = None

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise IngestError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self._writer = csv.writer(self._fh)
        header = [*self.columns, *([GEOMETRY_COLUMN] if self.with_geometry else []), *META_COLUMNS]
        self._writer.writerow(header)

    def write(self, values: dict[str, Any], geometry: BaseGeometry | None, line: int, field: str, reason: str) -> None:
        """Write one source row with its line number, field(s) and reason(s)."""
        if self._fh is None:
            self._open()
        row = [cell_text(values.get(c)) for c in self.columns]
        if self.with_geometry:
            row.append(geometry.wkt if geometry is not None else "")
        self._writer.writerow([*row, line, field, reason])
        self.rows += 1

    def close(self) -> None:
        """Flush and close the file if it was opened."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
