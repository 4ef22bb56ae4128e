"""Ingest profiles for partners' formats: ``hxl`` (HXL-tagged CSV from HDX) and ``kobo`` (KoboToolbox/ODK exports).

``hxl`` maps columns by their hashtags, not their header text, so an HDX dataset imports without a
column map: ``#geo+lat``/``#geo+lon``, ``#date+occurred`` (or ``#date``), ``#affected`` (or, when the
file counts ``#affected+killed`` and ``#affected+missing``, their sum, the kind then being death or
missing), ``#event+type``, ``#meta+id``, ``#description``; crossing points by ``#loc+name``,
``#loc+type``, ``#status``, ``#country+code``. The hashtag row is the row under the header (or the
header itself); it is consumed, not imported.

``kobo`` reads a form export (CSV with ``/`` group paths, or GeoJSON): ``_uuid`` is the id,
``_submission_time`` the time, and the geopoint answer "lat lon alt accuracy" gives the position and
``location_precision_m`` from its accuracy (or Kobo's split ``_<name>_latitude``/``_precision`` columns).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from data.ingest.profile_base import ColumnProfile, Mapped, Profile, blank, clean_text, find_column
from data.ingest.source import Chunk, Source
from geo.errors import IngestError

HASHTAG = re.compile(r"^\s*#([A-Za-z][A-Za-z0-9_]*)((?:\s*\+\s*[A-Za-z][A-Za-z0-9_]*)*)\s*$")
Tag = tuple[str, frozenset[str]]


def parse_hashtag(text: Any) -> Tag | None:
    """Return (hashtag, attributes) of an HXL tag spec such as ``#affected +killed``, or None."""
    m = HASHTAG.match(str(text)) if isinstance(text, str) else None
    if not m:
        return None
    attrs = frozenset(a.strip().lower() for a in m.group(2).split("+") if a.strip())
    return m.group(1).lower(), attrs


# field -> patterns (hashtag, attributes it must have, attributes it must not have), best first
HXL_FIELDS: dict[str, list[tuple[str, set[str], set[str]]]] = {
    "id": [("meta", {"id"}, set()), ("event", {"id"}, set()), ("meta", {"uuid"}, set())],
    "lat": [("geo", {"lat"}, set())],
    "lng": [("geo", {"lon"}, set())],
    "wkt": [("geo", {"wkt"}, set())],
    "occurred_at": [("date", {"occurred"}, set()), ("date", {"reported"}, set()), ("date", set(), set())],
    "kind": [("event", {"type"}, set()), ("event", {"kind"}, set()), ("loc", {"type"}, set())],
    "people": [
        ("affected", {"total"}, {"killed", "missing"}),
        ("affected", set(), {"killed", "missing", "w24h", "w7d", "window"}),
        ("population", set(), set()),
    ],
    "killed": [("affected", {"killed"}, set())],
    "missing": [("affected", {"missing"}, set())],
    "location_precision_m": [("geo", {"precision"}, set())],
    "source": [("meta", {"source"}, set())],
    "notes": [("description", set(), set())],
    "crossing_point_id": [("loc", {"code"}, set())],
    "name": [("loc", {"name"}, set())],
    "status": [("status", set(), set())],
    "country_a": [("country", {"code"}, {"neighbour"})],
    "country_b": [("country", {"code", "neighbour"}, set())],
    "capacity_per_day": [("capacity", set(), set())],
    "mode": [("indicator", {"mode"}, set())],
    "risk": [("severity", set(), set())],
    "last_observed_at": [("date", {"observed"}, set())],
}


def tag_columns(tags: dict[str, Tag]) -> dict[str, str]:
    """Return schema field -> source column for columns tagged ``tags`` (column -> parsed hashtag)."""
    out: dict[str, str] = {}
    for field_name, patterns in HXL_FIELDS.items():
        for tag, need, refuse in patterns:
            hit = next(
                (
                    c
                    for c, (t, a) in tags.items()
                    if t == tag and need <= a and not (refuse & a) and c not in out.values()
                ),
                None,
            )
            if hit is not None:
                out[field_name] = hit
                break
    return out


def _drop_first_row(chunk: Chunk) -> Chunk:
    errors = {pos - 1: v for pos, v in chunk.errors.items() if pos > 0}
    geometry = chunk.geometry[1:] if chunk.geometry is not None else None
    return Chunk(chunk.frame.iloc[1:].reset_index(drop=True), chunk.lines[1:], geometry, errors)


class HXLProfile(ColumnProfile):
    """HXL-tagged tables (HDX): columns are found by hashtag, whatever the header says."""

    def __init__(self) -> None:
        super().__init__(name="hxl")
        self.counts: dict[str, str] = {}

    def check_columns(self, source: Source, kind: str) -> None:
        chunks: Iterator[Chunk] = iter(source.chunks)
        first = next(chunks, None)
        tags: dict[str, Tag] = {}
        if first is not None and len(first):
            row = first.frame.iloc[0]
            parsed = {c: parse_hashtag(row[c]) for c in first.frame.columns}
            if sum(t is not None for t in parsed.values()) >= 2:
                tags = {c: t for c, t in parsed.items() if t is not None}
                first = _drop_first_row(first)
        if not tags:
            tags = {c: t for c in source.columns if (t := parse_hashtag(c)) is not None}
        source.chunks = itertools.chain([first] if first is not None else [], chunks)
        if not tags:
            raise IngestError(
                f"{source.name}: no HXL hashtag row (e.g. #geo+lat,#geo+lon,#date+occurred under the header); "
                "use another --profile for untagged files"
            )
        found = tag_columns(tags)
        self.counts = {k: found.pop(k) for k in ("killed", "missing") if k in found}
        self.columns = found
        if kind == "events" and "people" not in found and self.counts:
            self.defaults["people"] = 0  # computed from killed + missing in map()
        if kind == "events" and "kind" not in found:
            self.defaults["kind"] = "other"
        super().check_columns(source, kind)

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        mapped = super().map(chunk, kind)
        if kind == "events" and self.counts and "people" not in self.columns:
            nums = {
                k: pd.to_numeric(chunk.frame[c].reset_index(drop=True), errors="coerce").fillna(0)
                for k, c in self.counts.items()
            }
            killed = nums.get("killed", pd.Series(0, index=range(len(chunk))))
            missing = nums.get("missing", pd.Series(0, index=range(len(chunk))))
            mapped.frame["people"] = (killed + missing).astype(int).to_numpy(object)
            if "kind" not in self.columns:
                mapped.frame["kind"] = np.where(killed > 0, "death", np.where(missing > 0, "missing", "other"))
            mapped.labels["people"] = " + ".join(self.counts.values())
        return mapped


# -- KoboToolbox / ODK -----------------------------------------------------------------------------
GEOPOINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)(?:\s+(-?\d+(?:\.\d+)?))?(?:\s+(\d+(?:\.\d+)?))?\s*$")


def parse_geopoint(value: Any) -> tuple[float, float, float | None] | None:
    """Return (lat, lng, accuracy in metres or None) of an ODK geopoint "lat lon alt accuracy", or None."""
    m = GEOPOINT.match(value) if isinstance(value, str) else None
    if not m:
        return None
    return float(m.group(1)), float(m.group(2)), float(m.group(4)) if m.group(4) else None


def _leaf(column: str) -> str:
    return column.rsplit("/", 1)[-1]


class KoboProfile(Profile):
    """A KoboToolbox or ODK Central form export (CSV or GeoJSON) of flow-monitoring submissions."""

    name = "kobo"
    default_kind = "events"
    kinds = ("events",)
    ID = ("_uuid", "meta/instanceID", "instanceID", "KEY", "_id")
    TIME = ("_submission_time", "SubmissionDate", "end")
    PEOPLE = (
        "total_individuals",
        "num_individuals",
        "individuals_total",
        "total_people",
        "number_of_people",
        "people",
        "total",
    )
    KIND = ("event_type", "kind", "event_kind")
    POINT = ("fmp_id", "fmp_code", "point_id", "crossing_point_id")
    NOTES = ("direction", "transport_mode", "mode_of_transport", "origin_country", "destination_country", "reason")
    GEO = ("gps", "geopoint", "location", "coordinates", "position")

    def _col(self, columns: Sequence[str], names: Sequence[str]) -> str | None:
        hit = find_column(columns, names)
        if hit is not None:
            return hit
        leaves = {_leaf(c).lower(): c for c in reversed(columns)}
        return next((leaves[n.lower()] for n in names if n.lower() in leaves), None)

    def _geopoint_column(self, frame: pd.DataFrame) -> str | None:
        named = self._col(list(frame.columns), self.GEO)
        candidates = ([named] if named else []) + [c for c in frame.columns if c != named]
        for col in candidates:
            sample = [v for v in frame[col].head(20) if isinstance(v, str) and v.strip()]
            if sample and all(parse_geopoint(v) for v in sample):
                return str(col)
        return None

    def check_columns(self, source: Source, kind: str) -> None:
        missing = [names[0] for names in (self.ID, self.TIME, self.PEOPLE) if self._col(source.columns, names) is None]
        if missing:
            raise IngestError(
                f"{source.name}: missing column(s) {', '.join(missing)} for the kobo profile "
                f"(a KoboToolbox/ODK export); the file has: {', '.join(source.columns[:30]) or 'none'}"
            )

    def map(self, chunk: Chunk, kind: str) -> Mapped:
        cols = list(chunk.frame.columns)
        n = len(chunk)

        def col(names: Sequence[str]) -> pd.Series:
            name = self._col(cols, names)
            return clean_text(chunk.frame[name].reset_index(drop=True), collapse=True) if name else blank(n)

        lat, lng, acc = blank(n), blank(n), blank(n)
        geo = self._geopoint_column(chunk.frame)
        labels = {
            "id": str(self._col(cols, self.ID)),
            "occurred_at": str(self._col(cols, self.TIME)),
            "people": str(self._col(cols, self.PEOPLE)),
        }
        if geo is not None:
            labels.update(lat=geo, lng=geo, location_precision_m=geo)
            for pos, value in enumerate(chunk.frame[geo]):
                point = parse_geopoint(value)
                if point is not None:
                    lat[pos], lng[pos], acc[pos] = point
        stem = _leaf(geo) if geo else "gps"
        for target, suffix in ((lat, "latitude"), (lng, "longitude"), (acc, "precision")):
            split = self._col(cols, [f"_{stem}_{suffix}"])
            if split is not None:
                values = chunk.frame[split].reset_index(drop=True)
                target.where(target.notna(), values, inplace=True)
        if chunk.geometry is not None:  # GeoJSON export: the geometry is the geopoint
            for pos, g in enumerate(chunk.geometry):
                if g is not None and g.geom_type == "Point" and lat[pos] is None:
                    lat[pos], lng[pos] = g.y, g.x
        kinds = col(self.KIND)
        notes = [
            " · ".join(str(v) for v in bits if v) or None
            for bits in zip(*(col([name]) for name in self.NOTES), strict=True)
        ]
        frame = pd.DataFrame(
            {
                "id": col(self.ID).to_numpy(object),
                "occurred_at": col(self.TIME).to_numpy(object),
                "kind": kinds.where(kinds.notna(), "crossing").to_numpy(object),
                "people": col(self.PEOPLE).to_numpy(object),
                "location_precision_m": acc.to_numpy(object),
                "source": "KoboToolbox/ODK form",
                "crossing_point_id": col(self.POINT).to_numpy(object),
                "route_id": None,
                "notes": notes,
                "lat": lat.to_numpy(object),
                "lng": lng.to_numpy(object),
            }
        )
        return Mapped(frame, np.arange(n), None, [], labels, "kobo-")


INTEROP_PROFILES: dict[str, type[Profile]] = {"hxl": HXLProfile, "kobo": KoboProfile}
