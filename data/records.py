"""Validate and normalise incoming rows into column tuples the store writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data.schema import (
    CROSSING_KINDS,
    CROSSING_STATUSES,
    EVENT_KINDS,
    RISK_LEVELS,
    ROUTE_MODES,
    SAR_KINDS,
    SAR_STATUSES,
)
from geo.cells import points_to_all_cells
from geo.errors import IngestError

# SAR plan columns (issue 4): see data/schema.py for their meaning.
SAR_PLAN_FIELDS = (
    "label",
    "area_km2",
    "poa_initial",
    "cum_pod",
    "pos",
    "sweep_width_m",
    "track_spacing_m",
    "method",
    "target_km2",
    "rest_poa",
    "version",
    "notes",
)
SAR_PROBABILITIES = ("poa", "pod", "poa_initial", "cum_pod", "pos", "rest_poa")
SAR_POSITIVE = ("area_km2", "sweep_width_m", "track_spacing_m", "target_km2")
ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "crossing_points": {"kind": CROSSING_KINDS, "status": CROSSING_STATUSES},
    "routes": {"mode": ROUTE_MODES, "risk": RISK_LEVELS},
    "events": {"kind": EVENT_KINDS},
    "sar_zones": {"kind": SAR_KINDS, "status": SAR_STATUSES},
}
GEOM_TYPES: dict[str, tuple[str, ...]] = {
    "crossing_points": ("Point",),
    "routes": ("LineString",),
    "events": ("Point",),
    "sar_zones": ("Polygon", "MultiPolygon"),
}
FIELDS: dict[str, tuple[str, ...]] = {
    "crossing_points": ("name", "kind", "country_a", "country_b", "status", "capacity_per_day"),
    "routes": ("name", "mode", "risk", "last_observed_at"),
    "events": (
        "occurred_at",
        "kind",
        "people",
        "location_precision_m",
        "source",
        "crossing_point_id",
        "route_id",
        "notes",
    ),
    "sar_zones": (
        "name",
        "kind",
        "parent_id",
        "authority",
        "status",
        "team",
        "poa",
        "pod",
        *SAR_PLAN_FIELDS,
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "crossing_points": ("name", "kind", "status"),
    "routes": ("name", "mode", "risk"),
    "events": ("occurred_at", "kind", "people"),
    "sar_zones": ("name", "kind", "status"),
}


def as_utc(value: Any) -> datetime:
    """Return ``value`` (datetime or ISO 8601 text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise ValueError(f"not a time: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_number(value: Any) -> bool:
    numeric = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    return numeric and bool(np.isfinite(value))


def _check_sar(rid: str, row: Mapping[str, Any]) -> None:
    """Raise IngestError when a SAR zone's plan fields are out of range."""
    for name in SAR_PROBABILITIES:
        value = row.get(name)
        if value is not None and not (_is_number(value) and -1e-9 <= value <= 1 + 1e-9):
            raise IngestError(f"sar_zones {rid}: {name} must be a probability between 0 and 1 (got {value!r})")
    for name in SAR_POSITIVE:
        value = row.get(name)
        if value is not None and not (_is_number(value) and value >= 0):
            raise IngestError(f"sar_zones {rid}: {name} must be a number >= 0 (got {value!r})")
    label = row.get("label")
    if label is not None and not (isinstance(label, str) and len(label) == 2 and label.isascii() and label.isupper()):
        raise IngestError(f"sar_zones {rid}: label must be two capital letters AA-ZZ (got {label!r})")
    version = row.get("version")
    if version is not None and (not isinstance(version, int | np.integer) or isinstance(version, bool) or version < 0):
        raise IngestError(f"sar_zones {rid}: version must be a whole number >= 0 (got {version!r})")


def _check(table: str, row: Mapping[str, Any]) -> None:
    rid = row.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise IngestError(f"{table}: every row needs a non-empty text id (got {rid!r})")
    for name in REQUIRED[table]:
        if row.get(name) is None:
            raise IngestError(f"{table} {rid}: missing required field {name!r}")
    for name, allowed in ENUMS[table].items():
        if row.get(name) not in allowed:
            raise IngestError(f"{table} {rid}: {name} {row.get(name)!r} is not one of {', '.join(allowed)}")
    geom = row.get("geometry")
    if not isinstance(geom, BaseGeometry) or geom.is_empty:
        raise IngestError(f"{table} {rid}: missing geometry")
    if geom.geom_type not in GEOM_TYPES[table]:
        raise IngestError(f"{table} {rid}: geometry must be {'/'.join(GEOM_TYPES[table])}, got {geom.geom_type}")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise IngestError(f"{table} {rid}: coordinates outside EPSG:4326 lng/lat range")
    if table == "sar_zones":
        _check_sar(rid, row)
    if table == "events":
        people = row["people"]
        if isinstance(people, bool) or not isinstance(people, int | np.integer) or people < 0:
            raise IngestError(f"events {rid}: people must be a whole number >= 0 (got {people!r})")


def prepare_rows(table: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return validated rows of a feature table (geometry as shapely, times as aware UTC).

    Raises IngestError on the first invalid row; nothing is written in that case.
    Events go through :func:`prepare_events`, which is vectorised.
    """
    out: list[dict[str, Any]] = []
    for row in rows:
        _check(table, row)
        geom = row["geometry"]
        if table == "sar_zones" and geom.geom_type == "Polygon":
            geom = shapely.MultiPolygon([geom])
        minx, miny, maxx, maxy = geom.bounds
        rec: dict[str, Any] = {
            "id": row["id"],
            "geom": geom,
            "min_lng": minx,
            "min_lat": miny,
            "max_lng": maxx,
            "max_lat": maxy,
        }
        for name in FIELDS[table]:
            value = row.get(name)
            if value is not None and name == "last_observed_at":
                try:
                    value = as_utc(value)
                except ValueError as exc:
                    raise IngestError(f"{table} {row['id']}: {name}: {exc}") from None
            rec[name] = value
        out.append(rec)
    return out


EVENT_COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "people",
    "lat",
    "lng",
    "location_precision_m",
    "source",
    "crossing_point_id",
    "route_id",
    "notes",
)


def events_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Return a DataFrame of event rows given as dicts with a shapely ``geometry`` or lat/lng."""
    records = []
    for row in rows:
        rec = dict(row)
        geom = rec.pop("geometry", None)
        if geom is not None:
            if not isinstance(geom, BaseGeometry) or geom.geom_type != "Point":
                raise IngestError(f"events {rec.get('id')!r}: geometry must be a Point")
            rec["lng"], rec["lat"] = geom.x, geom.y
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for col in EVENT_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    return frame


def _first_bad(frame: pd.DataFrame, bad: np.ndarray) -> str:
    return repr(frame["id"].to_numpy()[np.flatnonzero(bad)[0]])


def prepare_events(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a validated copy of an events frame with bbox, epoch-ms time and H3 columns added.

    Vectorised: one pass of numpy checks, then H3 cells at every stored resolution.
    Raises IngestError naming the first invalid row; nothing is written in that case.
    """
    df = frame.reindex(columns=list(EVENT_COLUMNS)).copy()  # optional columns may be left out
    if df.empty:
        return df
    ids = df["id"]
    bad = ~ids.map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy(bool)
    if bad.any():
        raise IngestError(f"events: every row needs a non-empty text id (row {int(np.flatnonzero(bad)[0])})")
    if ids.duplicated().any():
        raise IngestError(f"events: id {ids[ids.duplicated()].iloc[0]!r} appears twice in one batch")
    kinds = df["kind"].to_numpy(object)
    bad = ~np.isin(kinds, EVENT_KINDS)
    if bad.any():
        raise IngestError(
            f"events {_first_bad(df, bad)}: kind {kinds[bad][0]!r} is not one of {', '.join(EVENT_KINDS)}"
        )
    people = pd.to_numeric(df["people"], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(people) | (people < 0) | (people != np.floor(people))
    if bad.any():
        raise IngestError(f"events {_first_bad(df, bad)}: people must be a whole number >= 0")
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
    lng = pd.to_numeric(df["lng"], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(lat) & np.isfinite(lng)) | (np.abs(lat) > 90) | (np.abs(lng) > 180)
    if bad.any():
        raise IngestError(f"events {_first_bad(df, bad)}: position missing or outside EPSG:4326 range")
    try:
        when = pd.to_datetime(df["occurred_at"], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise IngestError(f"events: occurred_at is not a time ({exc})") from None
    bad = when.isna().to_numpy()
    if bad.any():
        raise IngestError(f"events {_first_bad(df, bad)}: occurred_at is missing")
    df["people"] = people.astype(np.int64)
    df["lat"], df["lng"] = lat, lng
    df["occurred_at"] = when
    df["occurred_ms"] = when.dt.as_unit("ms").astype("int64").to_numpy()
    df["location_precision_m"] = pd.to_numeric(df["location_precision_m"], errors="coerce")
    for res, cells in points_to_all_cells(lat, lng).items():
        df[f"h3_r{res}"] = cells
    return df
