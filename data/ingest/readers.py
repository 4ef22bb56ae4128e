"""Readers: a file (or an in-memory batch) in, chunks of raw rows with line numbers out.

Every reader yields :class:`Chunk` objects holding the values exactly as the source had them
(text for CSV, typed cells for XLSX, properties for vector formats), the line number (CSV, XLSX)
or feature number (GeoJSON, GeoPackage, KML, GPX) of each row, the geometry when the format
has one, and any problem found while reading a row. A file that cannot be read at all raises
IngestError with one line saying why; a bad row never does.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from data.ingest.ogr_reader import read_ogr
from data.ingest.source import Chunk, Source, check_readable, clean_name, detect_format, first_line, unique_names
from geo.errors import IngestError

DELIMITERS = (",", ";", "\t", "|")
SNIFF_LINES = 50
BLOCK = 1 << 20

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


# -- CSV ---------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """Return the text encoding of ``path``: utf-8-sig (BOM), utf-8, cp1252 or latin-1."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        else:
            encoding = "utf-8"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        has_undefined_cp1252 = False
        try:
            while block := fh.read(BLOCK):
                has_undefined_cp1252 |= any(b in block for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            pass
        fh.seek(0)
        while block := fh.read(BLOCK):
            has_undefined_cp1252 |= any(b in block for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"))
    return "latin-1" if has_undefined_cp1252 else "cp1252"


def sniff_delimiter(sample_lines: list[str]) -> str:
    """Return the delimiter among , ; tab | that splits the sample into the most consistent columns."""
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        try:
            rows = [r for r in csv.reader(sample_lines, delimiter=delim) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(len(r) == width for r in rows) / len(rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


class _Lines:
    """Iterate text lines, dropping NUL characters and remembering which lines held one."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.stream = stream
        self.number = 0
        self.nul_lines: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for line in self.stream:
            self.number += 1
            if "\0" in line:
                self.nul_lines.add(self.number)
                line = line.replace("\0", "")
            yield line


def _csv_chunks(path: Path, encoding: str, delimiter: str, chunk_rows: int) -> Iterator[Chunk]:
    try:
        with path.open("r", encoding=encoding, newline="") as stream:
            lines = _Lines(stream)
            reader = csv.reader(lines, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                return
            columns = unique_names(header)
            width = len(columns)
            rows: list[list[str]] = []
            numbers: list[int] = []
            errors: dict[int, tuple[str, str]] = {}
            last = reader.line_num
            for row in reader:
                start, last = last + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                pos = len(rows)
                if any(n in lines.nul_lines for n in range(start, last + 1)):
                    errors[pos] = ("_row", "malformed_row: the line contains NUL bytes (a binary or damaged file)")
                if len(row) != width:
                    extra = f" (extra: {delimiter.join(row[width:])[:200]})" if len(row) > width else ""
                    errors.setdefault(
                        pos, ("_row", f"malformed_row: {len(row)} fields where the header has {width}{extra}")
                    )
                    row = (row + [""] * width)[:width]
                rows.append(row)
                numbers.append(start)
                if len(rows) >= chunk_rows:
                    yield Chunk(pd.DataFrame(rows, columns=columns, dtype=object), np.array(numbers), None, errors)
                    rows, numbers, errors = [], [], {}
            if rows:
                yield Chunk(pd.DataFrame(rows, columns=columns, dtype=object), np.array(numbers), None, errors)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IngestError(f"{path.name}: cannot be read as CSV ({exc})") from None


def read_csv(path: Path, chunk_rows: int) -> Source:
    """Return a Source over a delimited text file (delimiter and encoding detected)."""
    check_readable(path)
    encoding = detect_encoding(path)
    with path.open("rb") as fh:
        head = fh.read(BLOCK)
    if encoding.startswith("utf-8") and b"\0" in head[:4096] and head[:4096].count(b"\0") > 16:
        raise IngestError(f"{path.name}: binary data, not a delimited text file")
    try:
        with path.open("r", encoding=encoding, newline="") as stream:
            sample = [line.replace("\0", "") for _, line in zip(range(SNIFF_LINES), stream, strict=False)]
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path.name}: cannot be read as text ({exc})") from None
    if not any(line.strip() for line in sample):
        raise IngestError(f"{path.name}: the file is empty (no header line)")
    delimiter = sniff_delimiter(sample)
    header = next(csv.reader(sample, delimiter=delimiter))
    columns = unique_names(header)
    names = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}
    notes = [f"encoding {encoding}", f"delimiter {names[delimiter]}"]
    return Source(path.name, "csv", columns, _csv_chunks(path, encoding, delimiter, chunk_rows), None, notes)


# -- XLSX --------------------------------------------------------------------------------------


def read_xlsx(path: Path, chunk_rows: int) -> Source:
    """Return a Source over the first worksheet of an XLSX workbook (header in the first non-empty row)."""
    check_readable(path)
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header: tuple[Any, ...] | None = None
        number = 0
        for number, values in enumerate(rows, start=1):  # noqa: B007 - number is used after the loop
            if any(v is not None and str(v).strip() for v in values):
                header = values
                break
    except (InvalidFileException, zipfile.BadZipFile, KeyError, IndexError, OSError, ValueError) as exc:
        raise IngestError(f"{path.name}: cannot be read as an XLSX workbook ({exc or type(exc).__name__})") from None
    if header is None:
        book.close()
        raise IngestError(f"{path.name}: the first worksheet is empty (no header row)")
    while header and header[-1] is None:
        header = header[:-1]
    columns = unique_names(header)

    def chunks() -> Iterator[Chunk]:
        buf: list[list[Any]] = []
        lines: list[int] = []
        width = len(columns)
        try:
            for line, values in enumerate(rows, start=number + 1):
                cells = list(values[:width]) + [None] * (width - len(values))
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
                    continue
                buf.append(cells)
                lines.append(line)
                if len(buf) >= chunk_rows:
                    yield Chunk(pd.DataFrame(buf, columns=columns, dtype=object), np.array(lines))
                    buf, lines = [], []
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise IngestError(f"{path.name}: the workbook is damaged ({exc})") from None
        finally:
            book.close()
        if buf:
            yield Chunk(pd.DataFrame(buf, columns=columns, dtype=object), np.array(lines))

    return Source(path.name, "xlsx", columns, chunks(), None, [f"worksheet {sheet.title!r}"])


# -- GeoJSON and JSON batches ------------------------------------------------------------------


def crs_from_geojson(doc: Mapping[str, Any]) -> str | None:
    """Return the CRS a GeoJSON document declares in its (pre-RFC 7946) ``crs`` member, or None."""
    crs = doc.get("crs")
    if not isinstance(crs, dict):
        return None
    props = crs.get("properties")
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str) or not name.strip():
        return None
    match = re.search(r"EPSG:+(\d+)$", name.strip(), re.IGNORECASE)
    if match:
        return f"EPSG:{match.group(1)}"
    if re.search(r"CRS:?84$", name.strip(), re.IGNORECASE):
        return "OGC:CRS84"
    return name.strip()


def geometry_from_geojson(geom: Any) -> BaseGeometry | None:
    """Return a shapely geometry from a GeoJSON geometry object (None for null); raise ValueError if malformed."""
    if geom is None:
        return None
    if not isinstance(geom, dict):
        raise ValueError(f"geometry is a {type(geom).__name__}, not a GeoJSON object")
    try:
        out = shape(geom)
    except Exception as exc:  # noqa: BLE001 - shapely raises many types for malformed input
        raise ValueError(f"{type(exc).__name__}: {first_line(exc) if str(exc) else 'malformed'}") from None
    if not isinstance(out, BaseGeometry):
        raise ValueError("not a geometry")
    coords = shapely.get_coordinates(out)
    if coords.size and not np.isfinite(coords).all():
        raise ValueError("coordinates are not all finite numbers")
    return out


def records_chunks(items: list[Any], chunk_rows: int) -> Iterator[Chunk]:
    """Yield chunks of GeoJSON Features or plain objects (a geometry member is parsed, lat/lon kept as fields)."""
    for start in range(0, len(items), chunk_rows):
        part = items[start : start + chunk_rows]
        records: list[dict[str, Any]] = []
        geoms: list[BaseGeometry | None] = []
        errors: dict[int, tuple[str, str]] = {}
        for pos, item in enumerate(part):
            geom: BaseGeometry | None = None
            rec: dict[str, Any] = {}
            if not isinstance(item, dict):
                errors[pos] = ("_row", f"malformed_row: a {type(item).__name__}, not an object")
            elif item.get("type") == "Feature":
                props = item.get("properties")
                if isinstance(props, dict):
                    rec = {clean_name(k): v for k, v in props.items()}
                elif props is not None:
                    errors[pos] = ("properties", "malformed_row: properties is not an object")
                if item.get("id") is not None and "id" not in rec:
                    rec["id"] = item["id"]
                try:
                    geom = geometry_from_geojson(item.get("geometry"))
                except ValueError as exc:
                    errors.setdefault(pos, ("geometry", f"geometry_unparseable: {exc}"))
            else:
                rec = {clean_name(k): v for k, v in item.items() if k != "geometry"}
                if "geometry" in item:
                    try:
                        geom = geometry_from_geojson(item["geometry"])
                    except ValueError as exc:
                        errors.setdefault(pos, ("geometry", f"geometry_unparseable: {exc}"))
            records.append(rec)
            geoms.append(geom)
        frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
        frame = frame.astype(object).where(frame.notna(), None) if len(frame.columns) else frame
        if len(frame) < len(part):  # every record was empty: keep one row per item
            frame = pd.DataFrame(index=range(len(part)))
        frame.columns = unique_names(frame.columns)
        lines = np.arange(start + 1, start + len(part) + 1)
        yield Chunk(frame.reset_index(drop=True), lines, geoms, errors)


def items_from_json(doc: Any, name: str) -> tuple[list[Any], str | None]:
    """Return (features or objects, declared CRS) from a parsed GeoJSON document or list, or raise IngestError."""
    if isinstance(doc, list):
        return doc, None
    if isinstance(doc, dict):
        kind = doc.get("type")
        if kind == "FeatureCollection":
            features = doc.get("features")
            if not isinstance(features, list):
                raise IngestError(f"{name}: a FeatureCollection whose 'features' is not a list")
            return features, crs_from_geojson(doc)
        if kind == "Feature":
            return [doc], crs_from_geojson(doc)
    keys = ", ".join(repr(str(k))[:40] for k in list(doc)[:5]) if isinstance(doc, dict) else ""
    got = f"an object with keys {keys}" if isinstance(doc, dict) else type(doc).__name__  # repr: one line
    raise IngestError(f"{name}: not GeoJSON (expected a FeatureCollection, a Feature or a list of objects; got {got})")


def _columns_of(items: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        props = item.get("properties") if item.get("type") == "Feature" else item
        if isinstance(props, dict):
            seen.update(dict.fromkeys(clean_name(k) for k in props if k != "geometry"))
    return list(seen)


def read_json_items(items: list[Any], name: str, chunk_rows: int, crs: str | None = None) -> Source:
    """Return a Source over GeoJSON Features or plain objects already in memory (the API's batches)."""
    return Source(name, "geojson", _columns_of(items), records_chunks(items, chunk_rows), crs, [], True)


def read_geojson(path: Path, chunk_rows: int) -> Source:
    """Return a Source over a GeoJSON file (or a JSON list of objects)."""
    check_readable(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    return parse_json_bytes(raw, path.name, chunk_rows)


def parse_json_bytes(raw: bytes, name: str, chunk_rows: int) -> Source:
    """Return a Source from the bytes of a GeoJSON document or JSON list, or raise IngestError."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{name}: not UTF-8 text (byte {exc.start}); GeoJSON must be UTF-8") from None
    if not text.strip():
        raise IngestError(f"{name}: the file is empty")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise IngestError(f"{name}: JSON nested too deeply") from None
    items, crs = items_from_json(doc, name)
    source = read_json_items(items, name, chunk_rows, crs)
    if crs:
        source.notes.append(f"declared CRS {crs}")
    return source


# -- GDAL vector formats: GeoPackage, KML/KMZ, GPX ---------------------------------------------


def open_source(path: Path, chunk_rows: int = 20_000, kind: str | None = None) -> Source:
    """Return a Source for ``path``, chosen by extension; raise IngestError if it cannot be opened."""
    fmt = detect_format(path)
    if fmt == "csv":
        return read_csv(path, chunk_rows)
    if fmt == "xlsx":
        return read_xlsx(path, chunk_rows)
    if fmt == "geojson":
        return read_geojson(path, chunk_rows)
    return read_ogr(path, fmt, chunk_rows, kind)
