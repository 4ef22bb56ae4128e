"""What every ingest profile shares: the Profile base, the schema's own ColumnProfile, and column helpers.

See ``data/ingest/profiles.py`` for the profiles by name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pandas.api.types import infer_dtype
from shapely.geometry.base import BaseGeometry

from data.ingest.source import INVISIBLE, Chunk, Source, clean_name
from data.records import FIELDS, REQUIRED
from data.schema import LAYER_TABLES
from geo.errors import IngestError

Issue = tuple[int, str, str]  # (row position in the chunk, field shown to the user, "code: detail")
POSITION_FIELDS = ("lat", "lng", "wkt")
LAT_NAMES = ("lat", "latitude", "y_lat")
LNG_NAMES = ("lon", "lng", "long", "longitude", "x_lon")
WKT_NAMES = ("wkt", "geometry_wkt", "geom_wkt")
TAGS = re.compile(r"<[^<>]{0,200}>")
INVISIBLE_CHARS = "".join(map(chr, INVISIBLE))
MAX_COUNT = 2**31 - 1  # counts are stored in 32-bit integer columns
COORD_PAIR = re.compile(r"^\s*([-+]?\d+(?:[.]\d+)?)\s*[,;\s]\s*([-+]?\d+(?:[.]\d+)?)\s*$")


def norm_key(name: str) -> str:
    """Return a column name normalised for matching: cleaned, case-folded, separators as single spaces."""
    return " ".join(re.split(r"[\s_\-]+", clean_name(name).casefold())).strip()


def find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """Return the first column matching one of ``candidates`` (case, spaces and underscores ignored)."""
    index = {norm_key(c): c for c in reversed(columns)}
    for cand in candidates:
        hit = index.get(norm_key(cand))
        if hit is not None:
            return hit
    return None


@dataclass
class Mapped:
    """Records in schema terms, still unvalidated, tied back to their source rows."""

    frame: pd.DataFrame  # columns: id, the kind's fields, lat, lng (raw values)
    src: np.ndarray  # chunk position of each record
    geometry: list[BaseGeometry | None] | None = None
    issues: list[Issue] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # schema field -> source column shown in rejects
    id_prefix: str = ""
    id_from: pd.Series | None = None  # a source key to derive ids from when ``id`` is empty
    date_formats: tuple[str, ...] = ()
    country: pd.Series | None = None  # the country each record names (ISO3 code or name), to check its position


def blank(n: int) -> pd.Series:
    return pd.Series([None] * n, dtype=object)


def is_missing(value: Any) -> bool:
    """Return True for None, NaN, NaT and pd.NA (never for text or containers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def clean_text(series: pd.Series, collapse: bool = False, strip_tags: bool = False) -> pd.Series:
    """Return the values with missing ones as None and text without BOMs/zero-width marks.

    ``strip_tags`` removes HTML tags; ``collapse`` turns runs of spaces, non-breaking spaces and
    newlines into one space. Non-text values pass through unchanged.
    """
    raw = series.to_numpy(object)
    if infer_dtype(raw, skipna=True) == "empty":
        return pd.Series([None] * len(raw), dtype=object)
    if infer_dtype(raw, skipna=False) == "string":  # every value is text (a CSV column): no per-value checks
        values, strs = list(raw), list(raw)
    else:
        values = [None if is_missing(v) else v for v in raw]
        strs = [v for v in values if type(v) is str]
    if strs:
        joined = "\x00".join(strs)
        translate = any(c in joined for c in INVISIBLE_CHARS)
        tags = strip_tags and "<" in joined

        def fix(v: str) -> str:
            if translate:
                v = v.translate(INVISIBLE)
            if tags:
                v = TAGS.sub(" ", v)
            return " ".join(v.split()) if collapse else v

        if translate or tags or collapse:
            values = [fix(v) if type(v) is str else v for v in values]
    return pd.Series(values, dtype=object)


def split_coordinates(series: pd.Series, label: str) -> tuple[pd.Series, pd.Series, list[Issue]]:
    """Return (lat, lng, issues) from ``"lat, lon"`` text; empty text gives missing values, not issues."""
    text = clean_text(series, collapse=True)
    n = len(text)
    lat, lng = blank(n), blank(n)
    issues: list[Issue] = []
    present = text.map(lambda v: v is not None and str(v) != "").to_numpy(bool)
    if present.any():
        parts = text[present].astype(str).str.extract(COORD_PAIR)
        ok = parts[0].notna().to_numpy(bool)
        idx = np.flatnonzero(present)
        lat.iloc[idx[ok]] = parts[0][ok].to_numpy(object)
        lng.iloc[idx[ok]] = parts[1][ok].to_numpy(object)
        for pos in idx[~ok]:
            issues.append(
                (int(pos), label, f"coordinates_unparseable: {str(text.iloc[pos])[:60]!r} is not 'lat, lon' in degrees")
            )
    return lat, lng, issues


def parse_counts(series: pd.Series, label: str) -> tuple[np.ndarray, list[Issue]]:
    """Return (counts as float, NaN where empty or bad; issues for negative or non-whole values)."""
    text = clean_text(series, collapse=True)
    empty = text.map(lambda v: v is None or v == "").to_numpy(bool)
    values = pd.to_numeric(text.where(~empty, None), errors="coerce").to_numpy(float, copy=True)
    issues: list[Issue] = []
    bad = ~empty & (~np.isfinite(values) | (values != np.floor(values)))
    for pos in np.flatnonzero(bad):
        issues.append((int(pos), label, f"count_not_integer: {str(text.iloc[pos])[:40]!r} is not a whole number"))
    neg = ~empty & ~bad & (values < 0)
    for pos in np.flatnonzero(neg):
        issues.append((int(pos), label, f"negative_count: {values[pos]:g} is below zero"))
    huge = ~empty & ~bad & (values > MAX_COUNT)
    for pos in np.flatnonzero(huge):
        issues.append((int(pos), label, f"value_out_of_range: {values[pos]:g} is more than {MAX_COUNT:,}"))
    values = np.where(bad | neg | huge, np.nan, values)
    return values, issues


class Profile:
    """Maps a source layout onto the schema for one or more kinds of record."""

    name = "schema"
    default_kind = "events"
    kinds: tuple[str, ...] = LAYER_TABLES
    crs: str | None = None

    def check_kind(self, kind: str) -> None:
        """Raise IngestError if this profile cannot produce ``kind`` records."""
        if kind not in self.kinds:
            raise IngestError(f"profile {self.name!r} reads {', '.join(self.kinds)}, not {kind}")

    def check_columns(self, source: Source, kind: str) -> None:
        """Raise IngestError naming every required column the source lacks."""

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        """Return the chunk's rows as unvalidated schema records."""
        raise NotImplementedError


class ColumnProfile(Profile):
    """The schema's own field names (the default), or a column map read from a TOML/JSON file."""

    def __init__(
        self,
        name: str = "schema",
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, Any] | None = None,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        kind: str | None = None,
        id_prefix: str = "",
        crs: str | None = None,
        date_formats: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.columns = dict(columns or {})
        self.defaults = dict(defaults or {})
        self.values = {f: {norm_key(str(k)): v for k, v in m.items()} for f, m in (values or {}).items()}
        self.default_kind = kind or "events"
        self.id_prefix = id_prefix
        self.crs = crs
        self.date_formats = tuple(date_formats)

    def _resolve(self, columns: Sequence[str], field_name: str) -> str | None:
        if field_name in self.columns:
            return find_column(columns, [self.columns[field_name]])
        names = {"lat": LAT_NAMES, "lng": LNG_NAMES, "wkt": WKT_NAMES}.get(field_name, (field_name,))
        return find_column(columns, names)

    def resolve_all(self, columns: Sequence[str], kind: str) -> dict[str, str | None]:
        """Return schema field -> source column (None when the source has no such column)."""
        return {f: self._resolve(columns, f) for f in ("id", *FIELDS[kind], *POSITION_FIELDS)}

    def check_columns(self, source: Source, kind: str) -> None:
        found = self.resolve_all(source.columns, kind)
        missing = [self.columns.get(f, f) for f in REQUIRED[kind] if found[f] is None and self.defaults.get(f) is None]
        mapped_missing = [self.columns[f] for f in self.columns if f in found and found[f] is None]
        if "country" in self.columns and find_column(source.columns, [self.columns["country"]]) is None:
            mapped_missing.append(self.columns["country"])
        has_position = source.has_geometry or found["wkt"] is not None
        if not has_position and kind in ("events", "crossing_points"):
            has_position = found["lat"] is not None and found["lng"] is not None
            if not has_position:
                missing.append("lat and lon (or latitude and longitude, or wkt)")
        elif not has_position:
            missing.append("wkt")
        missing += [m for m in mapped_missing if m not in missing]
        if missing:
            raise IngestError(
                f"{source.name}: missing required column(s) {', '.join(missing)} "
                f"for {kind} with profile {self.name!r}; the file has: {', '.join(source.columns[:30]) or 'none'}"
            )

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        n = len(chunk)
        found = self.resolve_all(list(chunk.frame.columns), kind)
        frame = pd.DataFrame(index=range(n))
        labels: dict[str, str] = {}
        for f in ("id", *FIELDS[kind], "lat", "lng"):
            col = found[f]
            series = chunk.frame[col].reset_index(drop=True).astype(object) if col else blank(n)
            if col:
                labels[f] = col
            default = self.defaults.get(f)
            if default is not None:
                empty = series.map(lambda v: v is None or (isinstance(v, str) and not v.strip())).to_numpy(bool)
                series = series.where(~empty, default)
            mapping = self.values.get(f)
            if mapping:
                series = series.map(lambda v, m=mapping: m.get(norm_key(str(v)), v) if v is not None else v)
            frame[f] = series.to_numpy(object)
        geometry = list(chunk.geometry) if chunk.geometry is not None else None
        country = None
        country_col = (
            find_column(list(chunk.frame.columns), [self.columns["country"]]) if "country" in self.columns else None
        )
        if country_col:
            country = clean_text(chunk.frame[country_col].reset_index(drop=True), collapse=True)
            labels["country"] = country_col
        issues: list[Issue] = []
        if found["wkt"] is not None:
            labels["geometry"] = found["wkt"]
            text = clean_text(chunk.frame[found["wkt"]].reset_index(drop=True))
            present = text.map(lambda v: isinstance(v, str) and v.strip() != "").to_numpy(bool)
            parsed = np.full(n, None, dtype=object)
            if present.any():
                parsed[present] = shapely.from_wkt(text[present].astype(str).to_numpy(), on_invalid="ignore")
            geometry = geometry or [None] * n
            for pos in range(n):
                if present[pos]:
                    if parsed[pos] is None:
                        issues.append((pos, found["wkt"], "geometry_unparseable: not WKT"))
                    elif geometry[pos] is None:
                        geometry[pos] = parsed[pos]
        return Mapped(
            frame,
            np.arange(n),
            geometry,
            issues,
            labels,
            self.id_prefix,
            None,
            self.date_formats,
            country,
        )
