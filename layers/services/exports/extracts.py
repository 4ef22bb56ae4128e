"""Data extracts of exactly the View's features: GeoPackage, GeoJSON, CSV and KML, each with its metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from layers.services.exports.collect import ExportData
from layers.services.exports.hxl import write_hxl_csv

GPKG_OPTIONS = {"VERSION": "1.2"}  # readable by the GDAL in older QGIS releases too
METADATA_LAYER = "metadata"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
COORD_DIGITS = 6


def metadata_rows(data: ExportData) -> pd.DataFrame:
    """Return the metadata record as a two-column ``key, value`` table (values as text or JSON)."""
    rows = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in data.metadata().items()]
    return pd.DataFrame(rows, columns=["key", "value"])


def _geometry_type(frame: gpd.GeoDataFrame) -> str | None:
    if frame.empty:
        return "Unknown"
    kinds = set(frame.geom_type.dropna())
    return None if len(kinds) == 1 or kinds <= {"Polygon", "MultiPolygon"} else "Unknown"


def _writable(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    # Columns that are all None come back as object dtype with no values; GDAL needs a type: text.
    out = frame.copy()
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].map(_plain)
    return out


def _plain(value: Any) -> Any:
    if value is None or value != value:  # None or NaN
        return None
    return json.dumps(value) if isinstance(value, dict | list) else value


def write_gpkg(data: ExportData, path: Path) -> list[Path]:
    """Write one GeoPackage layer per map layer plus a ``metadata`` table; return the files written."""
    path.unlink(missing_ok=True)
    # A new file written once and closed: no fsync per layer (5x faster; a crash leaves only a partial file).
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    meta = json.dumps(data.metadata())
    for name, frame in data.data_layers().items():
        pyogrio.write_dataframe(
            _writable(frame),
            path,
            layer=name,
            driver="GPKG",
            geometry_type=_geometry_type(frame),
            dataset_options=GPKG_OPTIONS if not path.exists() else None,
            layer_metadata={"hbm_export": meta},
        )
    pyogrio.write_dataframe(
        metadata_rows(data),
        path,
        layer=METADATA_LAYER,
        driver="GPKG",
        dataset_options=GPKG_OPTIONS if not path.exists() else None,
        dataset_metadata={"hbm_export": meta},
    )
    return [path]


def feature_collection(data: ExportData) -> dict[str, Any]:
    """Return every exported feature as one GeoJSON FeatureCollection with a ``layer`` property and metadata."""
    features = []
    for name, frame in data.data_layers().items():
        for feature in frame.iterfeatures(na="null", drop_id=True):
            feature["properties"] = {"layer": name, **feature["properties"]}
            features.append(feature)
    return {"type": "FeatureCollection", "metadata": data.metadata(), "features": features}


def write_geojson(data: ExportData, path: Path) -> list[Path]:
    """Write the GeoJSON FeatureCollection (metadata as a top-level member); return the files written."""
    path.write_text(json.dumps(feature_collection(data), default=str), encoding="utf-8")
    return [path]


def _safe_cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: free text stays text.
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def table(data: ExportData, wkt: bool = True) -> pd.DataFrame:
    """Return one row per exported feature: layer, properties, WKT geometry and a lat/lon inside it."""
    parts = []
    for name, frame in data.data_layers().items():
        if frame.empty:
            continue
        geoms = frame.geometry.values
        inside = shapely.point_on_surface(geoms)
        part = pd.DataFrame(frame.drop(columns=frame.geometry.name)).assign(
            lat=shapely.get_y(inside).round(COORD_DIGITS), lon=shapely.get_x(inside).round(COORD_DIGITS)
        )
        if wkt:
            part["wkt"] = shapely.to_wkt(geoms, rounding_precision=COORD_DIGITS)
        part.insert(0, "layer", name)
        parts.append(part)
    columns = ["layer", "lat", "lon", *(["wkt"] if wkt else [])]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_safe_cell)
    return out


def sidecar_path(path: Path) -> Path:
    """Return the metadata sidecar of a CSV file: ``name.metadata.json`` beside it."""
    return path.with_name(path.stem + ".metadata.json")


def write_csv(data: ExportData, path: Path) -> list[Path]:
    """Write the CSV (WKT plus lat/lon columns, an HXL hashtag row) and its ``.metadata.json`` sidecar; return both."""
    write_hxl_csv(table(data), path)
    meta = sidecar_path(path)
    meta.write_text(json.dumps(data.metadata(), indent=2), encoding="utf-8")
    return [path, meta]


def write_kml(data: ExportData, path: Path) -> list[Path]:
    """Write KML, one folder per layer plus a ``metadata`` folder; names stay text (never HTML)."""
    path.unlink(missing_ok=True)
    for name, frame in data.data_layers().items():
        out = _writable(frame)
        label = next((c for c in ("name", "cell", "id") if c in out.columns), None)
        names = out[label].astype(str) if label else pd.Series("", index=out.index)
        out = out.drop(columns=[c for c in ("Name", "Description") if c in out.columns])
        out.insert(0, "Name", names)
        pyogrio.write_dataframe(out, path, layer=name, driver="KML", geometry_type=_geometry_type(frame))
    pyogrio.write_dataframe(metadata_rows(data), path, layer=METADATA_LAYER, driver="KML")
    return [path]
