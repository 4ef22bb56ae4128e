"""Turn GeoDataFrames and cell tables into compact GeoJSON FeatureCollections."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping

COORD_DIGITS = 5  # ~1 m: enough for a map, and it keeps payloads small


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if value is pd.NaT:
        return None
    return value


def feature_collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of ``features``."""
    return {"type": "FeatureCollection", "features": list(features)}


def frame_to_features(
    frame: gpd.GeoDataFrame,
    columns: Iterable[str],
    extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Return GeoJSON features with the given property columns, plus ``extra(props)`` if given."""
    cols = list(columns)
    rounded = shapely.set_precision(frame.geometry.values, 10**-COORD_DIGITS) if len(frame) else []
    features = []
    for (_, row), geom in zip(frame.iterrows(), rounded, strict=True):
        props = {c: _clean(row[c]) for c in cols}
        props["id"] = row["id"]
        if extra is not None:
            props.update(extra(props))
        features.append({"type": "Feature", "id": row["id"], "geometry": mapping(geom), "properties": props})
    return features
