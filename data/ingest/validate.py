"""Per-row checks: normalise every record or give (field, reason) for each problem.

Vectorised over a chunk with numpy/pandas; Python loops run only over rows that have a
problem. Nothing here writes; :mod:`data.ingest.run` decides what is committed.

Reasons are ``code: detail`` text; the codes are listed in :data:`REASONS` (docs/ingest.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Float, Integer

from data import records
from data.ingest.context import Context, add_issues, is_present, normalise_text
from data.ingest.position_checks import check_points, check_shapes
from data.ingest.profile_base import MAX_COUNT, Issue, Mapped
from data.records import ENUMS, FIELDS, REQUIRED, prepare_rows
from data.schema import TIME_COLUMNS, build_metadata
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


@dataclass
class Checked:
    """Normalised records with the problems and corrections found, keyed by chunk position."""

    frame: pd.DataFrame
    src: np.ndarray
    geometry: list[BaseGeometry | None] | None
    issues: list[Issue]
    corrections: list[Issue]


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
    present = is_present(values)
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
        absent = ~is_present(raw)
        if name in REQUIRED[kind]:
            add_issues(issues, m.src, absent, label, "date_missing: no time given")
        add_issues(
            issues, m.src, bad, label, lambda i, r=raw: f"date_unparseable: {str(r.iloc[i])[:40]!r} is not a time"
        )
        ok = times.notna().to_numpy()
        limit = pd.Timestamp(ctx.now + timedelta(seconds=ctx.settings.future_tolerance_s))
        future = ok & (times > limit).to_numpy()
        old = ok & (times < pd.Timestamp(ctx.settings.earliest)).to_numpy()
        add_issues(
            issues,
            m.src,
            future,
            label,
            lambda i, t=times: f"date_in_future: {t.iloc[i]:%Y-%m-%d %H:%M} UTC is after now",
        )
        add_issues(
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
            add_issues(issues, m.src, ~present & ~bad_type, label, "missing_field: empty")
        add_issues(issues, m.src, bad_type, label, "wrong_type: a list or object, not a number")
        if field_type(kind, name) == "int":
            bad = present & (~np.isfinite(values) | (values != np.floor(values)))
            add_issues(
                issues,
                m.src,
                bad,
                label,
                lambda i, r=raw: f"count_not_integer: {str(r.iloc[i])[:40]!r} is not a whole number",
            )
            neg = present & ~bad & (values < 0)
            add_issues(issues, m.src, neg, label, lambda i, v=values: f"negative_count: {v[i]:g} is below zero")
            huge = present & ~bad & (values > MAX_COUNT)
            add_issues(
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
            add_issues(
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
        add_issues(issues, m.src, bad_type, label, "wrong_type: a list or object, not text")
        present = values.notna().to_numpy()
        if name in REQUIRED[kind]:
            add_issues(issues, m.src, ~present & ~bad_type, label, "missing_field: empty")
        allowed = ENUMS[kind].get(name)
        if allowed:
            codes, uniques = pd.factorize(values)  # normalise each distinct value once
            normed = pd.Series(np.array([_norm_enum(u) for u in uniques] + [None], dtype=object)[codes], dtype=object)
            bad = present & ~normed.isin(allowed).to_numpy()
            add_issues(
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
            add_issues(
                issues,
                m.src,
                long,
                label,
                lambda i, n=lengths, lim=limit: f"text_too_long: {n[i]} characters, limit {lim}",
            )
        frame[name] = values.to_numpy(object)


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
        check_points(frame, m, ctx, issues, fixes)
    else:
        geometry = check_shapes(kind, m, ctx, issues, fixes)
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
