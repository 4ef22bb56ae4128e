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
import tomllib
from pathlib import Path

from data.ingest.partner_profiles import DTMFlowProfile, MMPProfile
from data.ingest.profile_base import ColumnProfile, Profile
from data.records import FIELDS
from data.schema import LAYER_TABLES
from geo.errors import IngestError

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
