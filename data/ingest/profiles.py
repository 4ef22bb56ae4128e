"""Profiles: map the columns of a known real-world layout onto the schema's fields.

A profile turns one :class:`~data.ingest.readers.Chunk` of raw rows into :class:`Mapped` records:
schema field values (still raw: validation comes next), positions, geometry, and the problems
only the profile can see (a "lat, lon" text that does not split, say). One source row may give
several records (an MMP incident gives a ``death`` and a ``missing`` event).

Profiles: ``schema`` (the default: the schema's own field names), ``mmp`` (IOM Missing Migrants
Project CSV), ``dtm-fmp`` (DTM flow-monitoring table) and column-map files (TOML or JSON).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pandas.api.types import infer_dtype
from shapely.geometry.base import BaseGeometry

from data.ingest.readers import INVISIBLE, Chunk, Source, clean_name
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


def _blank(n: int) -> pd.Series:
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
    lat, lng = _blank(n), _blank(n)
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
            series = chunk.frame[col].reset_index(drop=True).astype(object) if col else _blank(n)
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


class MMPProfile(Profile):
    """IOM Missing Migrants Project CSV as published: dead and missing become ``death``/``missing`` events."""

    name = "mmp"
    default_kind = "events"
    kinds = ("events",)
    COLUMNS: dict[str, tuple[str, ...]] = {
        "id": ("Incident ID", "Main ID"),
        "main_id": ("Main ID",),
        "date": ("Incident Date", "Reported Date"),
        "dead": ("Number of Dead", "Number Dead"),
        "missing": ("Minimum Estimated Number of Missing", "Number of Missing"),
        "coordinates": ("Coordinates",),
        "route": ("Migration Route",),
        "country": ("Country of Incident",),
        "region": ("Region of Incident", "Region"),
        "cause": ("Cause of Death",),
        "location": ("Location of Incident", "Location of death"),
        "info": ("Information Source",),
        "url": ("URL",),
    }
    REQUIRED_KEYS = ("date", "dead", "missing", "coordinates")
    SOURCE = "IOM Missing Migrants Project"
    DATE_FORMATS = ("%a, %m/%d/%Y - %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%Y")

    def _found(self, columns: Sequence[str]) -> dict[str, str | None]:
        return {key: find_column(columns, names) for key, names in self.COLUMNS.items()}

    def check_columns(self, source: Source, kind: str) -> None:
        found = self._found(source.columns)
        missing = [self.COLUMNS[k][0] for k in self.REQUIRED_KEYS if found[k] is None]
        if found["id"] is None:
            missing.insert(0, "Incident ID or Main ID")
        if missing:
            raise IngestError(
                f"{source.name}: missing required column(s) {', '.join(missing)} for the mmp profile "
                "(is this the IOM Missing Migrants Project CSV?)"
            )

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        cols = self._found(list(chunk.frame.columns))
        n = len(chunk)

        def col(key: str, collapse: bool = True) -> pd.Series:
            name = cols[key]
            if name is None:
                return _blank(n)
            return clean_text(chunk.frame[name].reset_index(drop=True), collapse=collapse, strip_tags=True)

        issues: list[Issue] = []
        ids = col("id")
        lat, lng, coord_issues = split_coordinates(col("coordinates"), str(cols["coordinates"]))
        issues += coord_issues
        dead, dead_issues = parse_counts(col("dead"), str(cols["dead"]))
        missing, missing_issues = parse_counts(col("missing"), str(cols["missing"]))
        issues += dead_issues + missing_issues
        flagged = {pos for pos, _f, _r in dead_issues + missing_issues}
        for pos in np.flatnonzero(np.isnan(dead) & np.isnan(missing)):
            if int(pos) not in flagged:
                issues.append((int(pos), f"{cols['dead']}", "missing_field: neither dead nor missing is given"))
        for pos in np.flatnonzero((np.nan_to_num(dead) == 0) & (np.nan_to_num(missing) == 0)):
            if int(pos) not in flagged and not (np.isnan(dead[pos]) and np.isnan(missing[pos])):
                issues.append((int(pos), f"{cols['dead']}", "no_casualties: no dead and no missing reported"))
        notes = self._notes(col)
        base = pd.DataFrame(
            {
                "country": col("country").to_numpy(object),
                "occurred_at": col("date").to_numpy(object),
                "lat": lat.to_numpy(object),
                "lng": lng.to_numpy(object),
                "source": self.SOURCE,
                "notes": notes.to_numpy(object),
                "location_precision_m": None,
                "crossing_point_id": None,
                "route_id": None,
            }
        )
        parts, srcs = [], []
        for kind_name, counts, suffix in (("death", dead, "dead"), ("missing", missing, "missing")):
            take = np.flatnonzero(np.nan_to_num(counts) > 0)
            part = base.iloc[take].copy()
            part["kind"] = kind_name
            part["people"] = counts[take].astype(np.int64)
            key = ids.iloc[take].astype(object)
            has = key.map(lambda v: isinstance(v, str) and v != "").to_numpy(bool)
            part["id"] = np.where(has, "mmp-" + key.astype(str) + "-" + suffix, None)
            parts.append(part)
            srcs.append(take)
        frame = pd.concat(parts, ignore_index=True)
        src = np.concatenate(srcs)
        order = np.argsort(src, kind="stable")
        frame = frame.iloc[order].reset_index(drop=True)
        country = frame.pop("country")
        labels = {
            "id": str(cols["id"]),
            "occurred_at": str(cols["date"]),
            "lat": str(cols["coordinates"]),
            "lng": str(cols["coordinates"]),
            "notes": "notes (composed)",
            "source": "source",
            "country": str(cols["country"] or "country"),
        }
        return Mapped(frame, src[order], None, issues, labels, "mmp-", None, self.DATE_FORMATS, country)

    def _notes(self, col: Any) -> pd.Series:
        """Return one notes text per row: cause, country, route, location, information source and URL."""
        parts = [
            ("Cause", col("cause")),
            ("Country", col("country")),
            ("Route", col("route")),
            ("Location", col("location")),
            ("Reported by", col("info")),
            ("URL", col("url")),
        ]
        frame = pd.DataFrame({label: s for label, s in parts})
        out = []
        for row in frame.itertuples(index=False):
            bits = [f"{label}: {v}" for (label, _s), v in zip(parts, row, strict=True) if v]
            out.append(". ".join(bits) if bits else None)
        return pd.Series(out, dtype=object)


class DTMFlowProfile(Profile):
    """A DTM flow-monitoring table: one row per flow-monitoring point (FMP), date and direction, with a count."""

    name = "dtm-fmp"
    default_kind = "events"
    kinds = ("events", "crossing_points")
    COLUMNS: dict[str, tuple[str, ...]] = {
        "record": ("Record ID", "Survey ID", "Observation ID"),
        "fmp": ("FMP ID", "Flow Monitoring Point ID", "FMP Code", "Point ID"),
        "name": ("FMP Name", "Flow Monitoring Point", "Point Name", "FMP"),
        "lat": ("Latitude", "FMP Latitude", "Lat"),
        "lng": ("Longitude", "FMP Longitude", "Lon", "Long"),
        "date": ("Survey Date", "Date", "Observation Date"),
        "count": ("Total Individuals", "Individuals", "Number of Individuals", "Total"),
        "direction": ("Direction", "Flow Direction"),
        "country": ("Country", "Admin 0"),
        "admin1": ("Admin 1", "Province", "Region"),
        "status": ("Status", "FMP Status"),
    }
    SOURCE = "DTM flow monitoring"

    def _found(self, columns: Sequence[str]) -> dict[str, str | None]:
        return {key: find_column(columns, names) for key, names in self.COLUMNS.items()}

    def check_columns(self, source: Source, kind: str) -> None:
        found = self._found(source.columns)
        need = ("fmp", "lat", "lng") + (("date", "count") if kind == "events" else ("name",))
        missing = [self.COLUMNS[k][0] for k in need if found[k] is None]
        if missing:
            raise IngestError(f"{source.name}: missing required column(s) {', '.join(missing)} for the dtm-fmp profile")

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        cols = self._found(list(chunk.frame.columns))
        n = len(chunk)

        def col(key: str) -> pd.Series:
            name = cols[key]
            return clean_text(chunk.frame[name].reset_index(drop=True), collapse=True) if name else _blank(n)

        fmp = col("fmp")
        has_fmp = fmp.map(lambda v: isinstance(v, str) and v != "").to_numpy(bool)
        issues: list[Issue] = [
            (int(pos), str(cols["fmp"]), "missing_field: no flow-monitoring point id")
            for pos in np.flatnonzero(~has_fmp)
        ]
        point_id = pd.Series(np.where(has_fmp, "dtm-" + fmp.astype(str), None), dtype=object)
        labels = {"lat": str(cols["lat"]), "lng": str(cols["lng"])}
        frame = pd.DataFrame({"lat": col("lat").to_numpy(object), "lng": col("lng").to_numpy(object)})
        id_from = None
        if kind == "crossing_points":
            frame["id"] = point_id.to_numpy(object)
            frame["name"] = col("name").to_numpy(object)
            frame["kind"] = "flow_monitoring"
            status = col("status")
            frame["status"] = status.where(status.notna(), "unknown").to_numpy(object)
            frame["country_a"] = col("country").to_numpy(object)
            frame["country_b"] = None
            frame["capacity_per_day"] = None
            labels.update(id=str(cols["fmp"]), name=str(cols["name"]))
        else:
            record = col("record")
            has_record = record.map(lambda v: isinstance(v, str) and v != "").to_numpy(bool)
            frame["id"] = np.where(has_record, "dtm-" + record.astype(str), None)
            # No record id: the key is the point, the date and the direction (one count per combination).
            id_from = pd.Series(
                ["|".join(str(v) for v in t) for t in zip(fmp, col("date"), col("direction"), strict=True)],
                dtype=object,
            )
            frame["occurred_at"] = col("date").to_numpy(object)
            frame["kind"] = "crossing"
            frame["people"] = col("count").to_numpy(object)
            frame["location_precision_m"] = None
            frame["source"] = self.SOURCE
            frame["crossing_point_id"] = point_id.to_numpy(object)
            frame["route_id"] = None
            notes = [
                " · ".join(str(v) for v in bits if v)
                for bits in zip(col("direction"), col("name"), col("admin1"), col("country"), strict=True)
            ]
            frame["notes"] = [v or None for v in notes]
            labels.update(id=str(cols["record"]), occurred_at=str(cols["date"]), people=str(cols["count"]))
        country = col("country") if cols["country"] else None
        if cols["country"]:
            labels["country"] = str(cols["country"])
        return Mapped(frame, np.arange(n), None, issues, labels, "dtm-", id_from, ("%d/%m/%Y", "%d.%m.%Y"), country)


BUILTIN: dict[str, type[Profile]] = {"mmp": MMPProfile, "dtm-fmp": DTMFlowProfile}
COLUMN_MAP_KEYS = {"kind", "id_prefix", "crs", "columns", "defaults", "values", "date_formats"}


def load_column_map(path: Path) -> ColumnProfile:
    """Return a ColumnProfile from a TOML or JSON column-map file, or raise IngestError saying what is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"profile {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        doc = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8-sig"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(
            f"profile {path.name}: not valid {path.suffix.lstrip('.').upper() or 'TOML'} ({exc})"
        ) from None
    if not isinstance(doc, dict):
        raise IngestError(f"profile {path.name}: expected a table of settings")
    unknown = set(doc) - COLUMN_MAP_KEYS
    if unknown:
        raise IngestError(f"profile {path.name}: unknown key(s) {', '.join(sorted(unknown))}")
    kind = doc.get("kind")
    if kind is not None and kind not in LAYER_TABLES:
        raise IngestError(f"profile {path.name}: kind {kind!r} is not one of {', '.join(LAYER_TABLES)}")
    allowed = {"id", "lat", "lng", "lon", "wkt", *(f for fs in FIELDS.values() for f in fs)}
    for section in ("columns", "defaults", "values"):
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise IngestError(f"profile {path.name}: [{section}] must be a table")
        bad = set(table) - allowed - ({"country"} if section == "columns" else set())  # country: position check
        if bad:
            raise IngestError(f"profile {path.name}: [{section}] names unknown field(s) {', '.join(sorted(bad))}")
    columns = {("lng" if k == "lon" else k): str(v) for k, v in doc.get("columns", {}).items()}
    values = doc.get("values", {})
    if not all(isinstance(v, dict) for v in values.values()):
        raise IngestError(f"profile {path.name}: each [values.FIELD] must be a table of source value = schema value")
    formats = doc.get("date_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise IngestError(f"profile {path.name}: date_formats must be a list of strftime patterns")
    return ColumnProfile(
        name=path.stem,
        columns=columns,
        defaults={("lng" if k == "lon" else k): v for k, v in doc.get("defaults", {}).items()},
        values=values,
        kind=kind,
        id_prefix=str(doc.get("id_prefix", "")),
        crs=doc.get("crs"),
        date_formats=formats,
    )


def get_profile(name: str | None) -> Profile:
    """Return the profile called ``name`` (mmp, dtm-fmp), a column-map file's profile, or the schema layout."""
    if name is None or name == "schema":
        return ColumnProfile()
    if name in BUILTIN:
        return BUILTIN[name]()
    if name in ("hxl", "kobo"):  # partners' formats (issue 16), in their own module
        from data.ingest.interop_profiles import INTEROP_PROFILES

        return INTEROP_PROFILES[name]()
    path = Path(name)
    if path.suffix.lower() in (".toml", ".json"):
        if not path.is_file():
            raise IngestError(f"profile file {name} not found")
        return load_column_map(path)
    raise IngestError(f"unknown profile {name!r}: use mmp, dtm-fmp, hxl, kobo, or a column-map file (.toml or .json)")
