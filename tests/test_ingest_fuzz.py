"""Hypothesis fuzzes the CSV and GeoJSON readers (and the checks behind them): no unhandled exception.

Any input may be refused, but only with an HbmError whose message is one line.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.ingest.context import Context
from data.ingest.profiles import get_profile
from data.ingest.readers import open_source, parse_json_bytes
from data.ingest.settings import load_ingest_settings
from data.ingest.source import Source
from data.ingest.validate import validate
from geo.errors import HbmError

# 150 examples per test keeps the suite fast; HBM_FUZZ_EXAMPLES=5000 runs a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("HBM_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
KINDS = st.sampled_from(["events", "crossing_points", "routes", "sar_zones"])
PROFILES = st.sampled_from([None, "mmp", "dtm-fmp"])
INGEST = load_ingest_settings(batch_rows=7)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
COLUMNS = [
    "id", "occurred_at", "kind", "people", "lat", "lon", "latitude", "longitude", "wkt", "notes", "name", "status",
    "mode", "risk", "poa", "Coordinates", "Incident ID", "Incident Date", "Number of Dead",
    "Minimum Estimated Number of Missing", "FMP ID", "Latitude", "Longitude", "Survey Date", "Total Individuals",
]  # fmt: skip
CELL = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(
        ["", "0", "-1", "2.5", "1e308", "nan", "inf", "2026-01-10", "2026-02-30T25:00:00Z", "0,0", "131.2, 2.5",
         "POINT (31 2)", "LINESTRING (31 2, 31 2)", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "POINT EMPTY", "crossing",
         '"', '""', "\n", "\r\n", "\x00", "\ufeff", ",", ";", "\t", "|", "Thu, 01/01/2026 - 12:00"]
    ),
)  # fmt: skip


def run_pipeline(source: Source, kind: str, profile_name: str | None) -> None:
    """Read every chunk and check it the way ``hbm ingest`` does, writing nothing."""
    profile = get_profile(profile_name)
    if kind not in profile.kinds:
        kind = profile.default_kind
    ctx = Context(INGEST, NOW, crs=source.crs)
    profile.check_columns(source, kind)
    for chunk in source.chunks:
        mapped = profile.map(chunk, kind)
        validate(mapped, kind, ctx)


def assert_handled(fn) -> None:  # type: ignore[no-untyped-def]
    try:
        fn()
    except HbmError as exc:
        assert "\n" not in str(exc), f"multi-line error: {exc!r}"


def check_csv_bytes(data: bytes, kind: str, profile: str | None) -> None:
    """Write ``data`` to a temporary .csv, run the pipeline on it, and remove the file."""
    with tempfile.TemporaryDirectory(prefix="hbm-fuzz-") as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(data)
        assert_handled(lambda: run_pipeline(open_source(path, 7, kind), kind, profile))


@FUZZ
@given(data=st.binary(max_size=2_000), kind=KINDS, profile=PROFILES)
def test_csv_reader_survives_any_bytes(data: bytes, kind: str, profile: str | None) -> None:
    check_csv_bytes(data, kind, profile)


GOOD_VALUES: dict[str, list[str]] = {
    "occurred_at": ["2026-01-10T08:00:00Z", "2026-01-10 08:00", "2026-01-10"],
    "Incident Date": ["2024-03-01", "Thu, 01/01/2026 - 12:00"],
    "Survey Date": ["2026-01-10", "11/01/2026"],
    "kind": ["crossing", "rescue", "official", "informal", "sector", "search_area"],
    "people": ["3", "0"],
    "Number of Dead": ["1", ""],
    "Minimum Estimated Number of Missing": ["2", ""],
    "Total Individuals": ["12"],
    "lat": ["2.5", "131.2"],
    "lon": ["31.2", "2.5"],
    "Latitude": ["3.58"],
    "Longitude": ["32.06"],
    "Coordinates": ["2.5, 31.2", "31.2, 131.5"],
    "status": ["open", "planned", "unknown"],
    "mode": ["foot", "boat"],
    "risk": ["low", "high"],
    "poa": ["0.5"],
    "name": ["Elegu"],
    "wkt": ["LINESTRING (31 2, 31.1 2.1)", "POLYGON ((31 2, 31.1 2, 31.1 2.1, 31 2))", "POINT (31 2)"],
}
NEEDED: dict[str | None, dict[str, list[str]]] = {
    None: {
        "events": ["id", "occurred_at", "kind", "people", "lat", "lon"],
        "crossing_points": ["id", "name", "kind", "status", "lat", "lon"],
        "routes": ["id", "name", "mode", "risk", "wkt"],
        "sar_zones": ["id", "name", "kind", "status", "poa", "wkt"],
    },
    "mmp": dict.fromkeys(
        ["events"],
        ["Incident ID", "Incident Date", "Number of Dead", "Minimum Estimated Number of Missing", "Coordinates"],
    ),
    "dtm-fmp": dict.fromkeys(
        ["events", "crossing_points"],
        ["FMP ID", "FMP Name", "Latitude", "Longitude", "Survey Date", "Total Individuals"],
    ),
}


def needed_columns(kind: str, profile: str | None) -> list[str]:
    """Return the columns a layout needs, so most fuzz cases get past the header check to the row checks."""
    by_kind = NEEDED[profile]
    return by_kind.get(kind) or next(iter(by_kind.values()))


def value_for(column: str) -> st.SearchStrategy:
    """Return a strategy of cell values for ``column``: plausible ones, mixed with anything."""
    return st.one_of(st.sampled_from(GOOD_VALUES.get(column, ["x"])), CELL)


@st.composite
def csv_documents(draw: st.DrawFn, kind: str, profile: str | None) -> bytes:
    header = needed_columns(kind, profile) + draw(st.lists(st.sampled_from(COLUMNS), max_size=3))
    if draw(st.integers(0, 9)) == 0:
        header = header[1:]  # now and then a required column is missing
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = [
        [draw(value_for(col)) for col in header] + draw(st.lists(CELL, max_size=1))
        for _ in range(draw(st.integers(0, 12)))
    ]

    def line(cells: list[str]) -> str:
        quoted = ['"' + c.replace('"', '""') + '"' if draw(st.booleans()) else c for c in cells]
        return delimiter.join(quoted)

    text = "\n".join([line(header), *(line(r) for r in rows)])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(data=st.data(), kind=KINDS, profile=PROFILES)
def test_csv_reader_survives_csv_like_text(data: st.DataObject, kind: str, profile: str | None) -> None:
    check_csv_bytes(data.draw(csv_documents(kind, profile)), kind, profile)


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
COORD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**9, 10**9), st.text(max_size=3), st.none()
)  # fmt: skip
POSITION = st.lists(COORD, min_size=0, max_size=4)
GEOMETRY = st.one_of(
    st.none(),
    JSON,
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": POSITION}),
    st.fixed_dictionaries({"type": st.just("LineString"), "coordinates": st.lists(POSITION, max_size=4)}),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Polygon", "MultiLineString"]),
            "coordinates": st.lists(st.lists(POSITION, max_size=5), max_size=2),
        }
    ),
    st.fixed_dictionaries({"type": st.just("MultiPolygon"), "coordinates": JSON}),
    st.fixed_dictionaries({"type": st.just("GeometryCollection"), "geometries": st.lists(JSON, max_size=2)}),
)
SCHEMA_COLUMNS = sorted({c for cols in NEEDED[None].values() for c in cols} - {"lat", "lon", "wkt"})
SCHEMA_PROPERTIES = st.fixed_dictionaries(
    {c: st.one_of(value_for(c), JSON_SCALARS) for c in SCHEMA_COLUMNS},
    optional={c: st.one_of(CELL, JSON) for c in ("notes", "lat", "lon", "wkt")},
)
PROPERTIES = st.one_of(
    st.none(),
    JSON,
    st.dictionaries(st.sampled_from(COLUMNS), st.one_of(CELL, JSON_SCALARS, JSON), max_size=8),
    SCHEMA_PROPERTIES,
)
FEATURE = st.one_of(
    JSON,
    st.fixed_dictionaries({"type": st.just("Feature"), "geometry": GEOMETRY, "properties": PROPERTIES}),
    st.dictionaries(st.sampled_from([*COLUMNS, "geometry"]), st.one_of(CELL, JSON_SCALARS, GEOMETRY), max_size=8),
)
CRS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"type": st.just("name"), "properties": st.fixed_dictionaries({"name": st.sampled_from(
            ["EPSG:4326", "urn:ogc:def:crs:EPSG::3857", "EPSG:999999", "nonsense", "urn:ogc:def:crs:OGC:1.3:CRS84"])})}
    ),
    JSON,
)  # fmt: skip
DOCUMENT = st.one_of(
    JSON,
    st.lists(FEATURE, max_size=10),
    st.fixed_dictionaries(
        {"type": st.just("FeatureCollection"), "features": st.lists(FEATURE, max_size=10), "crs": CRS}
    ),
    st.fixed_dictionaries({"type": st.just("Feature"), "geometry": GEOMETRY, "properties": PROPERTIES}),
    # Mostly well-formed collections, so most cases reach the per-row checks.
    st.fixed_dictionaries(
        {
            "type": st.just("FeatureCollection"),
            "features": st.lists(
                st.fixed_dictionaries(
                    {"type": st.just("Feature"), "geometry": GEOMETRY, "properties": SCHEMA_PROPERTIES}
                ),
                min_size=1,
                max_size=10,
            ),
        }
    ),
)


@FUZZ
@given(doc=DOCUMENT, kind=KINDS)
def test_geojson_reader_survives_any_document(doc: object, kind: str) -> None:
    raw = json.dumps(doc, allow_nan=True).encode("utf-8")
    assert_handled(lambda: run_pipeline(parse_json_bytes(raw, "fuzz.geojson", 7), kind, None))


@FUZZ
@given(data=st.binary(max_size=1_000), kind=KINDS)
def test_geojson_reader_survives_any_bytes(data: bytes, kind: str) -> None:
    assert_handled(lambda: run_pipeline(parse_json_bytes(data, "fuzz.geojson", 7), kind, None))
