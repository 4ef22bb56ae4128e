"""GDAL vector formats (GeoPackage, KML/KMZ, GPX) read through pyogrio, one layer at a time, in chunks."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from data.ingest.source import Chunk, Source, check_readable, first_line, unique_names
from geo.errors import IngestError


def _ogr_layers(target: str, name: str, fmt: str, kind: str | None) -> list[str]:
    import pyogrio

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(target)]
    except Exception as exc:  # noqa: BLE001 - GDAL raises its own error types
        raise IngestError(f"{name}: cannot be read as {fmt.upper()} ({first_line(exc)})") from None
    if fmt == "gpx":
        wanted = ("tracks", "routes") if kind == "routes" else ("waypoints",)
        layers = [name for name in layers if name in wanted]
    if not layers:
        raise IngestError(f"{name}: no layers to read")
    return layers


def _ogr_path(path: Path, fmt: str) -> str:
    if fmt != "kmz":
        return str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            docs = [n for n in zf.namelist() if n.lower().endswith(".kml")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(f"{path.name}: not a KMZ (zip) archive ({exc})") from None
    if not docs:
        raise IngestError(f"{path.name}: the KMZ archive holds no .kml document")
    main = "doc.kml" if "doc.kml" in docs else docs[0]
    return f"/vsizip/{path}/{main}"


def read_ogr(path: Path, fmt: str, chunk_rows: int, kind: str | None) -> Source:
    """Return a Source over a GeoPackage, KML, KMZ or GPX file read with GDAL (pyogrio), layer by layer."""
    import pyogrio

    check_readable(path)
    target = _ogr_path(path, fmt)
    layers = _ogr_layers(target, path.name, fmt, kind)
    crs_seen: set[str] = set()
    columns: dict[str, None] = {}
    infos = []
    for layer in layers:
        try:
            info = pyogrio.read_info(target, layer=layer)
        except Exception as exc:  # noqa: BLE001 - GDAL raises its own error types
            raise IngestError(f"{path.name}: layer {layer!r} cannot be read ({first_line(exc)})") from None
        infos.append((layer, int(info.get("features") or 0)))
        if info.get("crs"):
            crs_seen.add(str(info["crs"]))
        columns.update(dict.fromkeys(unique_names(info.get("fields", []))))
    if len(crs_seen) > 1:
        raise IngestError(f"{path.name}: layers use different CRSs ({', '.join(sorted(crs_seen))})")
    crs = next(iter(crs_seen), None)
    many = len(layers) > 1

    def chunks() -> Iterator[Chunk]:
        number = 0
        for layer, _count in infos:
            skip = 0
            while True:  # GDAL may not know a layer's count (-1): read until a short chunk
                try:
                    meta, _fids, wkb, fields = pyogrio.raw.read(
                        target, layer=layer, skip_features=skip, max_features=chunk_rows, datetime_as_string=True
                    )
                except Exception as exc:  # noqa: BLE001 - GDAL raises its own error types
                    raise IngestError(f"{path.name}: layer {layer!r} is damaged ({first_line(exc)})") from None
                names = unique_names(meta["fields"])
                frame = pd.DataFrame({n: pd.Series(v, dtype=object) for n, v in zip(names, fields, strict=True)})
                n = len(wkb) if wkb is not None else (len(frame) if len(frame.columns) else 0)
                if not len(frame.columns):
                    frame = pd.DataFrame(index=range(n))
                if many:
                    frame["layer"] = layer
                frame = frame.astype(object).where(frame.notna(), None)
                errors: dict[int, tuple[str, str]] = {}
                geoms: list[BaseGeometry | None] = []
                for pos, blob in enumerate(wkb if wkb is not None else [None] * n):
                    if blob is None:
                        geoms.append(None)
                        continue
                    geom = shapely.from_wkb(blob, on_invalid="ignore")
                    if geom is None:
                        errors[pos] = ("geometry", "geometry_unparseable: the stored geometry is not valid WKB")
                    geoms.append(geom)
                lines = np.arange(number + 1, number + n + 1)
                number += n
                skip += n
                if n:
                    yield Chunk(frame, lines, geoms, errors)
                if n < chunk_rows:
                    break

    notes = [f"layers {', '.join(layers)}"] if many else [f"layer {layers[0]}"]
    return Source(path.name, fmt, list(columns), chunks(), crs, notes, True)
