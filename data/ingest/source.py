"""What every reader yields: a Source of Chunks of raw rows with their line numbers; format detection by extension."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.errors import IngestError

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".kmz": "kmz",
    ".gpx": "gpx",
}


# Characters that are never part of a value: byte-order marks and zero-width marks pasted from the web.
INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)


GEOMETRY_COLUMN = "wkt"


@dataclass
class Chunk:
    """Raw rows of one batch: values as read, their line numbers, geometry, and read-time problems."""

    frame: pd.DataFrame
    lines: np.ndarray
    geometry: list[BaseGeometry | None] | None = None
    errors: dict[int, tuple[str, str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)


@dataclass
class Source:
    """An opened input: its format, columns, declared CRS, notes on how it was read, and its chunks."""

    name: str
    format: str
    columns: list[str]
    chunks: Iterator[Chunk]
    crs: str | None = None
    notes: list[str] = field(default_factory=list)
    has_geometry: bool = False


def clean_name(name: Any) -> str:
    """Return a column name without BOMs, non-breaking or repeated spaces."""
    text = str(name).translate(INVISIBLE).replace("\xa0", " ")
    return " ".join(text.split())


def unique_names(names: Iterable[Any]) -> list[str]:
    """Return cleaned column names, empty ones named ``column_N`` and repeats suffixed ``.2``, ``.3``."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(names, start=1):
        name = clean_name(raw) if raw is not None else ""
        name = name or f"column_{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message (its type name when it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def detect_format(path: Path) -> str:
    """Return the format name for ``path`` from its extension, or raise IngestError."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(set(FORMATS)))
        raise IngestError(f"{path.name}: unknown file type {path.suffix or '(none)'!r}; expected one of {known}")
    return fmt


def check_readable(path: Path) -> None:
    """Raise IngestError with one line saying why ``path`` cannot be read (missing, not a file, no access)."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a file")
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror or exc})") from None
