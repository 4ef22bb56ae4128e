"""Per-row checks: normalise every record or give (field, reason) for each problem.

Vectorised over a chunk with numpy/pandas; Python loops run only over rows that have a
problem. Nothing here writes; :mod:`data.ingest.run` decides what is committed.

Reasons are ``code: detail`` text; the codes are listed in :data:`REASONS` (docs/ingest.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pandas.api.types import infer_dtype
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Float, Integer

from data import records
from data.ingest.profiles import MAX_COUNT, Issue, Mapped, clean_text, is_missing
from data.ingest.settings import IngestSettings
from data.records import ENUMS, FIELDS, GEOM_TYPES, REQUIRED, prepare_rows
from data.schema import TIME_COLUMNS, build_metadata
from geo import positions as gpos
from geo import validate as gv
from geo.errors import IngestError

REASONS: dict[str, str] = {
    "malformed_row": "the row could not be read as a record (wrong number of fields, not an object, NUL bytes)",
    "missing_field": "a required value is empty",
    "unknown_value": "a value is not one of the allowed values for the field",
    "wrong_type": "a value is a list or an object where text or a number is expected",
    "count_not_integer": "a count is not a whole number",
    "negative_count": "a count is below zero",
    "value_out_of_range": "a number is outside its range (precision >= 0, POA/POD 0..1)",
    "date_missing": "a required time is empty",
    "date_unparseable": "a time is not ISO 8601 (or a format the profile knows), or does not exist",
    "date_in_future": "a time is later than now (plus the allowed clock skew)",
    "date_too_old": "a time is before the earliest plausible year",
    "text_too_long": "a text is longer than its limit",
    "coordinates_missing": "no position: no lat/lon and no geometry",
    "coordinates_unparseable": "lat/lon are not numbers in decimal degrees",
    "coordinates_out_of_range": "lat is outside -90..90 or lon outside -180..180 (and swapping does not fix it)",
    "coordinates_zero": "the position is (0, 0), the usual placeholder for 'unknown'",
    "coordinates_suspect": "lat equals lon, almost always a copy error",
    "coordinates_wrong_country": "the position is far from the country the row names; no swap or sign change fixes it",
    "geometry_unparseable": "the geometry is not valid WKT, GeoJSON or WKB",
    "geometry_missing": "the geometry is empty",
    "geometry_type": "the geometry type does not fit the layer (Point, LineString, Polygon)",
    "geometry_invalid": "the geometry is invalid and could not be repaired without changing its type",
    "duplicate_id": "the id appears earlier in the file with different content",
    "no_casualties": "an MMP row reports neither dead nor missing",
    "invalid_record": "the store's own record rules (data/records.py) refused the row",
}
CORRECTIONS: dict[str, str] = {
    "swapped_lat_lon": "lat and lon were exchanged (maybe with a sign): only then is the point in its named country, "
    "or, without one, in the region of interest",
    "sign_flipped": "lat or lon had the wrong sign: only the corrected point lies in the country the row names",
    "made_valid": "an invalid geometry was repaired with make_valid",
    "duplicate_merged": "an identical repeat of an earlier row was stored once",
}
TIME_FIELDS = tuple(sorted(TIME_COLUMNS))
# Ranges of float fields; other float fields must only be finite numbers. Integer fields are counts (>= 0).
RANGES: dict[str, tuple[float, float]] = {
    "location_precision_m": (0.0, 1e7),
    **dict.fromkeys(getattr(records, "SAR_PROBABILITIES", ("poa", "pod")), (0.0, 1.0)),
    **dict.fromkeys(getattr(records, "SAR_POSITIVE", ()), (0.0, float("inf"))),
}
_SCHEMA = build_metadata("postgresql")


def field_type(kind: str, name: str) -> str:
    """Return "time", "int", "float" or "text" for a field of ``kind``, from the schema's column types."""
    if name in TIME_COLUMNS:
        return "time"
    column = _SCHEMA.tables[kind].columns.get(name)
    if column is None:
        return "text"
    if isinstance(column.type, Integer):  # BigInteger is an Integer
        return "int"
    if isinstance(column.type, Float):
        return "float"
    return "text"


POINT_KINDS = ("events", "crossing_points")
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


@dataclass
class Checked:
    """Normalised records with the problems and corrections found, keyed by chunk position."""

    frame: pd.DataFrame
    src: np.ndarray
    geometry: list[BaseGeometry | None] | None
    issues: list[Issue]
    corrections: list[Issue]


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
        """Remember accepted ids."""
        if len(id_hash):
            order = np.argsort(id_hash)
            self.blocks.append((id_hash[order], lines[order], content[order]))


def _add(issues: list[Issue], src: np.ndarray, mask: np.ndarray, label: str, reason: Any) -> None:
    """Append one issue per masked record; ``reason`` is text or a function of the record index."""
    for i in np.flatnonzero(mask):
        issues.append((int(src[i]), label, reason(i) if callable(reason) else reason))


def _present(series: pd.Series) -> np.ndarray:
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


def _norm_enum(value: Any) -> Any:
    return "_".join(str(value).strip().casefold().replace("-", " ").split()) if value is not None else None


def parse_times(values: pd.Series, ctx: Context, formats: tuple[str, ...]) -> tuple[pd.Series, np.ndarray]:
    """Return (UTC times, NaT where absent or bad; mask of present values that are not a time)."""
    n = len(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        times = values.reset_index(drop=True)
        times = times.dt.tz_convert(UTC) if times.dt.tz is not None else times
        if values.dt.tz is None:
            times = times.dt.tz_localize(ctx.settings.zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(UTC)
        return times, np.zeros(n, bool)
    out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    present = _present(values)
    if not present.any():
        return out, np.zeros(n, bool)
    vals = values.reset_index(drop=True)
    is_str = vals.map(lambda v: isinstance(v, str)).to_numpy(bool) & present
    zone = ctx.settings.zone
    if is_str.any():
        text = vals[is_str].astype(str).str.strip()
        aware = text.str.contains(r"\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?)$", regex=True)
        idx = np.flatnonzero(is_str)
        if aware.any():
            parsed = pd.to_datetime(text[aware], format="ISO8601", errors="coerce", utc=True)
            out.iloc[idx[aware.to_numpy()]] = parsed.to_numpy()
        naive = ~aware
        if naive.any():
            parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
            for fmt in formats:
                left = parsed.isna()
                if not left.any():
                    break
                parsed[left] = pd.to_datetime(text[naive][left], format=fmt, errors="coerce")
            local = parsed.astype("datetime64[us]").dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            out.iloc[idx[naive.to_numpy()]] = local.dt.tz_convert(UTC).to_numpy()
    other = present & ~is_str
    for i in np.flatnonzero(other):
        v = vals.iloc[i]
        if isinstance(v, np.datetime64):
            v = pd.Timestamp(v).to_pydatetime()
        if isinstance(v, date) and not isinstance(v, datetime):
            v = datetime(v.year, v.month, v.day)
        if isinstance(v, datetime):
            try:
                aware_v = v.replace(tzinfo=zone) if v.tzinfo is None else v
                out.iloc[i] = pd.Timestamp(aware_v.astimezone(UTC))
            except (OverflowError, ValueError):
                pass
    bad = present & out.isna().to_numpy()
    return out, bad


def _check_times(frame: pd.DataFrame, kind: str, m: Mapped, ctx: Context, issues: list[Issue]) -> None:
    for name in (f for f in FIELDS[kind] if field_type(kind, f) == "time"):
        label = m.labels.get(name, name)
        raw = frame[name]
        times, bad = parse_times(raw, ctx, m.date_formats)
        absent = ~_present(raw)
        if name in REQUIRED[kind]:
            _add(issues, m.src, absent, label, "date_missing: no time given")
        _add(issues, m.src, bad, label, lambda i, r=raw: f"date_unparseable: {str(r.iloc[i])[:40]!r} is not a time")
        ok = times.notna().to_numpy()
        limit = pd.Timestamp(ctx.now + timedelta(seconds=ctx.settings.future_tolerance_s))
        future = ok & (times > limit).to_numpy()
        old = ok & (times < pd.Timestamp(ctx.settings.earliest)).to_numpy()
        _add(
            issues,
            m.src,
            future,
            label,
            lambda i, t=times: f"date_in_future: {t.iloc[i]:%Y-%m-%d %H:%M} UTC is after now",
        )
        _add(
            issues,
            m.src,
            old,
            label,
            lambda i, t=times: f"date_too_old: {t.iloc[i]:%Y-%m-%d} is before {ctx.settings.earliest_year}",
        )
        frame[name] = times.where(ok & ~future & ~old)


def _check_numbers(frame: pd.DataFrame, kind: str, m: Mapped, issues: list[Issue]) -> None:
    for name in (f for f in FIELDS[kind] if field_type(kind, f) in ("int", "float")):
        label = m.labels.get(name, name)
        raw, bad_type = normalise_text(frame[name])
        present = raw.notna().to_numpy()
        values = pd.to_numeric(raw.where(present, None), errors="coerce").to_numpy(float, copy=True)
        if name in REQUIRED[kind]:
            _add(issues, m.src, ~present & ~bad_type, label, "missing_field: empty")
        _add(issues, m.src, bad_type, label, "wrong_type: a list or object, not a number")
        if field_type(kind, name) == "int":
            bad = present & (~np.isfinite(values) | (values != np.floor(values)))
            _add(
                issues,
                m.src,
                bad,
                label,
                lambda i, r=raw: f"count_not_integer: {str(r.iloc[i])[:40]!r} is not a whole number",
            )
            neg = present & ~bad & (values < 0)
            _add(issues, m.src, neg, label, lambda i, v=values: f"negative_count: {v[i]:g} is below zero")
            huge = present & ~bad & (values > MAX_COUNT)
            _add(
                issues,
                m.src,
                huge,
                label,
                lambda i, v=values: f"value_out_of_range: {v[i]:g} is more than {MAX_COUNT:,}",
            )
            ok = present & ~bad & ~neg & ~huge
            frame[name] = pd.array(np.where(ok, values, 0).astype(np.int64), dtype="Int64")
            frame.loc[~ok, name] = pd.NA
        else:
            lo, hi = RANGES.get(name, (-np.inf, np.inf))
            bad = present & (~np.isfinite(values) | (values < lo) | (values > hi))
            _add(
                issues,
                m.src,
                bad,
                label,
                lambda i, r=raw, lo=lo, hi=hi: (
                    f"value_out_of_range: {str(r.iloc[i])[:40]!r} is not a number in {lo:g}..{hi:g}"
                ),
            )
            frame[name] = np.where(present & ~bad, values, np.nan)


def _check_enums_and_text(frame: pd.DataFrame, kind: str, m: Mapped, ctx: Context, issues: list[Issue]) -> None:
    for name in ("id", *FIELDS[kind]):
        if name != "id" and field_type(kind, name) != "text":
            continue
        label = m.labels.get(name, name)
        values, bad_type = normalise_text(frame[name])
        _add(issues, m.src, bad_type, label, "wrong_type: a list or object, not text")
        present = values.notna().to_numpy()
        if name in REQUIRED[kind]:
            _add(issues, m.src, ~present & ~bad_type, label, "missing_field: empty")
        allowed = ENUMS[kind].get(name)
        if allowed:
            codes, uniques = pd.factorize(values)  # normalise each distinct value once
            normed = pd.Series(np.array([_norm_enum(u) for u in uniques] + [None], dtype=object)[codes], dtype=object)
            bad = present & ~normed.isin(allowed).to_numpy()
            _add(
                issues,
                m.src,
                bad,
                label,
                lambda i, v=values, a=allowed: f"unknown_value: {str(v.iloc[i])[:40]!r} is not one of {', '.join(a)}",
            )
            values = normed.where(~bad, None)
        else:
            limit = ctx.settings.text_limit(name)
            lengths = values.str.len().fillna(0).to_numpy(int) if present.any() else np.zeros(len(values), int)
            long = lengths > limit
            _add(
                issues,
                m.src,
                long,
                label,
                lambda i, n=lengths, lim=limit: f"text_too_long: {n[i]} characters, limit {lim}",
            )
        frame[name] = values.to_numpy(object)


def _to_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (degrees, mask of present values that are not numbers); a decimal comma is accepted."""
    text, bad_type = normalise_text(series)
    present = text.notna().to_numpy()
    values = pd.to_numeric(text, errors="coerce").to_numpy(float, copy=True)
    retry = present & np.isnan(values)
    if retry.any():  # "2,5" as written with a decimal comma
        sub = text[retry]
        comma = sub.str.fullmatch(r"[-+]?\d+,\d+", na=False).to_numpy(bool)
        fixed = pd.to_numeric(sub[comma].str.replace(",", ".", regex=False), errors="coerce")
        values[np.flatnonzero(retry)[comma]] = fixed.to_numpy(float)
    return values, (present & ~np.isfinite(values)) | bad_type


REGION_PAD_DEG = 1.0  # the extent of a chunk's rows, grown by this, is the region a swap must land in


def _check_countries(
    lat: np.ndarray,
    lng: np.ndarray,
    candidates: np.ndarray,
    m: Mapped,
    ctx: Context,
    issues: list[Issue],
    fixes: list[Issue],
    label: str,
) -> np.ndarray:
    """Check positions against the country each record names; return the mask of rows checked this way.

    Within ``country_margin_km`` of the country's 1:50m outline: kept as written. Otherwise the first
    swap or sign change that puts the point inside the country (within ``CORRECTION_TOLERANCE_KM`` of
    its outline) is applied as a correction. Otherwise a point at sea (outside every outline) within
    ``sea_margin_km`` is kept; failing that the row is rejected. ``lat``/``lng`` change in place.
    """
    names = m.country
    checked = np.zeros(len(lat), bool)
    if names is None or not candidates.any():
        return checked
    from data.boundaries import find_country, on_land

    values = names.reset_index(drop=True).to_numpy(object)
    countries = [find_country(v) if candidates[i] else None for i, v in enumerate(values)]
    country_label = m.labels.get("country", "country")
    by_code: dict[str, list[int]] = {}
    for i, country in enumerate(countries):
        if country is not None:
            by_code.setdefault(country.code, []).append(i)
    settings = ctx.settings
    for idx_list in by_code.values():
        idx = np.array(idx_list)
        country = countries[idx[0]]
        assert country is not None
        checked[idx] = True
        la, ln = lat[idx], lng[idx]
        dist = gpos.distance_to_km(la, ln, country.geometry)
        outside = np.flatnonzero(~(dist <= settings.country_margin_km))  # NaN (not a position) is outside
        if not outside.size:
            continue
        new_lat, new_lng, what = gpos.correct_into(la[outside], ln[outside], country.geometry, CORRECTION_TOLERANCE_KM)
        allowed = np.zeros(outside.size, bool)
        sea = ~what.astype(bool) & (dist[outside] <= settings.sea_margin_km)
        if sea.any():
            allowed[sea] = ~on_land(la[outside][sea], ln[outside][sea])
        for j, b in enumerate(outside):
            i = int(idx[b])
            if not what[j] and (allowed[j] or not np.isfinite(dist[b])):
                continue  # plausible as written; or out of range with no fix (coordinates_out_of_range below)
            shown = values[i] if values[i] == country.name else f"{values[i]!s:.60}, {country.name}"
            where = f"lat {lat[i]:g} / lon {lng[i]:g}"
            far = f"lies {dist[b]:,.0f} km from {shown} ({country_label})" if np.isfinite(dist[b]) else "is no position"
            if what[j]:
                code = "swapped_lat_lon" if what[j].startswith("swapped") else "sign_flipped"
                fix = f"stored as lat {new_lat[j]:g} / lon {new_lng[j]:g} ({what[j]}), inside it"
                fixes.append((int(m.src[i]), label, f"{code}: {where} {far}; {fix}"))
                lat[i], lng[i] = new_lat[j], new_lng[j]
            else:
                issues.append(
                    (
                        int(m.src[i]),
                        label,
                        f"coordinates_wrong_country: {where} {far} (allowed: {settings.country_margin_km:g} km, "
                        f"{settings.sea_margin_km:g} km at sea), and no swap or sign change puts it inside",
                    )
                )
    return checked


def _check_points(frame: pd.DataFrame, m: Mapped, ctx: Context, issues: list[Issue], fixes: list[Issue]) -> None:
    n = len(frame)
    lat, bad_lat = _to_float(frame["lat"])
    lng, bad_lng = _to_float(frame["lng"])
    lat_label, lng_label = m.labels.get("lat", "lat"), m.labels.get("lng", "lon")
    pos_label = lat_label if lat_label == lng_label else f"{lat_label}/{lng_label}"
    geom_label = m.labels.get("geometry", "geometry")
    flagged = np.zeros(n, bool)
    if m.geometry is not None:
        for i, geom in enumerate(m.geometry):
            if geom is None:
                continue
            pt = gv.coerce_type(geom, ("Point",)) if not geom.is_empty else None
            if pt is None:
                reason = (
                    "geometry_missing: empty geometry"
                    if geom.is_empty
                    else f"geometry_type: {geom.geom_type} where a Point is needed"
                )
                issues.append((int(m.src[i]), geom_label, reason))
                flagged[i] = True
                continue
            lng[i], lat[i] = pt.x, pt.y
            bad_lat[i] = bad_lng[i] = False
    unparseable = (bad_lat | bad_lng) & ~flagged
    _add(
        issues,
        m.src,
        unparseable,
        pos_label,
        lambda i: (
            f"coordinates_unparseable: {frame['lat'].iloc[i]!s:.30}, {frame['lng'].iloc[i]!s:.30} "
            "are not decimal degrees"
        ),
    )
    missing = ~unparseable & ~flagged & (np.isnan(lat) | np.isnan(lng))
    _add(issues, m.src, missing, pos_label, "coordinates_missing: no position (lat/lon or geometry)")
    if ctx.transformer is not None:
        have = ~np.isnan(lat) & ~np.isnan(lng)
        x, y = ctx.transformer.transform(lng[have], lat[have])
        lng[have], lat[have] = x, y
        failed = have & ~(np.isfinite(lat) & np.isfinite(lng))
        _add(issues, m.src, failed, pos_label, f"coordinates_out_of_range: cannot be reprojected from {ctx.crs}")
        lat[failed] = lng[failed] = np.nan
    have = ~np.isnan(lat) & ~np.isnan(lng)
    placeholder = have & (gv.is_null_island(lat, lng) | (gv.is_in_range(lat, lng) & (lat == lng)))
    named = _check_countries(lat, lng, have & ~placeholder, m, ctx, issues, fixes, pos_label)
    # Without a named country, a swap is made only when it lands in the region of interest: the
    # configured region, else the extent of this chunk's other rows (docs/ingest.md, "Checks, per row").
    region = ctx.settings.region or gv.region_of(lat[have & ~named], lng[have & ~named], REGION_PAD_DEG)
    swap = have & ~named & gv.swapped_latlng(lat, lng, region, in_range_too=ctx.settings.region is not None)
    if swap.any():
        where = "HBM_INGEST_REGION_BBOX" if ctx.settings.region else "the extent of the other rows"
        _add(
            fixes,
            m.src,
            swap,
            pos_label,
            lambda i: (
                f"swapped_lat_lon: lat {lat[i]:g} / lon {lng[i]:g} stored as lat {lng[i]:g} / lon {lat[i]:g} "
                f"(inside {where})"
            ),
        )
        lat[swap], lng[swap] = lng[swap], lat[swap].copy()
    outside = have & ~gv.is_in_range(lat, lng)
    projected = outside & (np.abs(lat) > 1000) & (np.abs(lng) > 1000)
    _add(
        issues,
        m.src,
        outside,
        pos_label,
        lambda i: (
            f"coordinates_out_of_range: lat {lat[i]:g}, lon {lng[i]:g} (lat must be -90..90, lon -180..180)"
            + (" — these look like projected metres: declare the CRS (crs in a column map)" if projected[i] else "")
        ),
    )
    zero = have & gv.is_null_island(lat, lng)
    _add(issues, m.src, zero, pos_label, "coordinates_zero: (0, 0) is the placeholder for an unknown position")
    same = have & ~zero & ~outside & (lat == lng)
    _add(
        issues,
        m.src,
        same,
        pos_label,
        lambda i: f"coordinates_suspect: lat equals lon ({lat[i]:g}), almost always a copy error",
    )
    frame["lat"], frame["lng"] = lat, lng


def _check_shapes(kind: str, m: Mapped, ctx: Context, issues: list[Issue], fixes: list[Issue]) -> list[Any]:
    allowed = GEOM_TYPES[kind]
    label = m.labels.get("geometry", "geometry")
    out: list[Any] = []
    for i, geom in enumerate(m.geometry or [None] * len(m.src)):
        pos = int(m.src[i])
        if geom is None or geom.is_empty:
            issues.append((pos, label, "geometry_missing: no geometry" if geom is None else "geometry_missing: empty"))
            out.append(None)
            continue
        geom = shapely.force_2d(geom)
        if ctx.transformer is not None:
            geom = shapely.transform(geom, lambda c: np.column_stack(ctx.transformer.transform(c[:, 0], c[:, 1])))
            if not np.isfinite(shapely.get_coordinates(geom)).all():
                issues.append((pos, label, f"coordinates_out_of_range: cannot be reprojected from {ctx.crs}"))
                out.append(None)
                continue
        typed = gv.coerce_type(geom, allowed)
        if typed is None:
            issues.append((pos, label, f"geometry_type: {geom.geom_type} where {'/'.join(allowed)} is needed"))
            out.append(None)
            continue
        if gv.is_geometry_swapped(typed, ctx.settings.region):
            fixes.append((pos, label, "swapped_lat_lon: every vertex had x and y exchanged"))
            typed = gv.swap_xy(typed)
        if not gv.bounds_in_range(typed):
            issues.append((pos, label, f"coordinates_out_of_range: bounds {tuple(round(b, 4) for b in typed.bounds)}"))
            out.append(None)
            continue
        if not typed.is_valid:
            why = shapely.is_valid_reason(typed)
            fixed = gv.repair(typed, allowed) if ctx.settings.repair_geometry else None
            if fixed is None:
                issues.append((pos, label, f"geometry_invalid: {why}"))
                out.append(None)
                continue
            fixes.append((pos, label, f"made_valid: {why}"))
            typed = fixed
        out.append(typed)
    return out


def canonical_text(frame: pd.DataFrame, columns: list[str], geometry: list[Any] | None) -> pd.Series:
    """Return one stable text per record from its normalised values (for derived ids)."""
    parts = []
    for col in columns:
        series = frame[col]
        if col in TIME_FIELDS:
            text = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if len(series) else series.astype(object)
        elif col in ("lat", "lng"):
            with np.errstate(over="ignore", invalid="ignore"):
                text = pd.Series(np.round(series.to_numpy(float), 7)).map(repr)
        else:
            text = series.astype(object).map(lambda v: "" if v is None or v is pd.NA else str(v))
        parts.append(text.astype(object).fillna("").astype(str).reset_index(drop=True))
    if geometry is not None:
        parts.append(pd.Series([shapely.to_wkt(g, rounding_precision=7) if g is not None else "" for g in geometry]))
    canon = parts[0]
    for p in parts[1:]:
        canon = canon + "\x1f" + p
    return canon


def derive_ids(keys: pd.Series, prefix: str) -> pd.Series:
    """Return ``prefix`` + a 20-hex-digit BLAKE2b digest of each key text (stable across runs and machines)."""
    return keys.map(lambda k: prefix + hashlib.blake2b(k.encode("utf-8"), digest_size=10).hexdigest())


def validate(m: Mapped, kind: str, ctx: Context) -> Checked:
    """Return the mapped records normalised, with every problem as (position, field, reason) and every correction."""
    frame = m.frame.copy()
    for col in ("id", *FIELDS[kind], "lat", "lng"):
        if col not in frame.columns:
            frame[col] = None
    issues: list[Issue] = list(m.issues)
    fixes: list[Issue] = []
    _check_enums_and_text(frame, kind, m, ctx, issues)
    _check_numbers(frame, kind, m, issues)
    _check_times(frame, kind, m, ctx, issues)
    geometry: list[Any] | None = None
    if kind in POINT_KINDS:
        _check_points(frame, m, ctx, issues, fixes)
    else:
        geometry = _check_shapes(kind, m, ctx, issues, fixes)
    no_id = frame["id"].isna().to_numpy()
    if no_id.any():
        if m.id_from is not None:
            keys = m.id_from.reset_index(drop=True)[no_id].astype(str)
        else:
            content = [*FIELDS[kind], *(("lat", "lng") if kind in POINT_KINDS else ())]
            keys = (
                kind + "\x1f" + canonical_text(frame[no_id].reset_index(drop=True), content, _subset(geometry, no_id))
            )
        frame.loc[no_id, "id"] = derive_ids(keys.reset_index(drop=True), m.id_prefix or f"{kind[:2]}-").to_numpy(object)
    if kind != "events":
        _check_store_rules(frame, geometry, kind, m.src, issues)
    return Checked(frame, m.src, geometry, issues, fixes)


def feature_rows(frame: pd.DataFrame, geometry: list[Any] | None, kind: str) -> list[dict[str, Any]]:
    """Return normalised records as the row dicts ``store.upsert`` takes (shapely geometry, Python values)."""
    rows = []
    for i, rec in enumerate(frame.to_dict("records")):
        row: dict[str, Any] = {"id": rec["id"]}
        for name in FIELDS[kind]:
            value = rec.get(name)
            if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
                value = None
            elif isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif isinstance(value, np.integer):
                value = int(value)
            elif isinstance(value, np.floating):
                value = float(value)
            row[name] = value
        if kind in POINT_KINDS:
            row["geometry"] = shapely.Point(rec["lng"], rec["lat"])
        else:
            row["geometry"] = geometry[i] if geometry is not None else None
        rows.append(row)
    return rows


def _check_store_rules(
    frame: pd.DataFrame, geometry: list[Any] | None, kind: str, src: np.ndarray, issues: list[Issue]
) -> None:
    """Reject rows the store's own per-row rules refuse (so a batch never fails on a rule added there)."""
    bad = {pos for pos, _f, _r in issues}
    ok = np.array([int(p) not in bad for p in src], bool)
    if not ok.any():
        return
    idx = np.flatnonzero(ok)
    rows = feature_rows(frame.iloc[idx], _subset(geometry, ok), kind)
    for i, row in zip(idx, rows, strict=True):
        try:
            prepare_rows(kind, [row])
        except IngestError as exc:
            issues.append((int(src[i]), "record", f"invalid_record: {exc}"))


def _subset(geometry: list[Any] | None, mask: np.ndarray) -> list[Any] | None:
    return None if geometry is None else [g for g, keep in zip(geometry, mask, strict=True) if keep]


def content_hash(frame: pd.DataFrame, kind: str, geometry: list[Any] | None) -> np.ndarray:
    """Return a 64-bit hash per record of everything but its id (in-memory duplicate checks only)."""
    cols = [
        c
        for c in (*FIELDS[kind], "lat", "lng")
        if c in frame.columns and (c not in ("lat", "lng") or kind in POINT_KINDS)
    ]
    data = frame[cols].copy()
    if geometry is not None:
        data["_geom"] = [shapely.to_wkb(g) if g is not None else None for g in geometry]
    return pd.util.hash_pandas_object(data, index=False).to_numpy(np.uint64)


def id_hash(ids: pd.Series) -> np.ndarray:
    """Return a 64-bit hash per id text."""
    return pd.util.hash_pandas_object(ids.astype(str).reset_index(drop=True), index=False).to_numpy(np.uint64)
