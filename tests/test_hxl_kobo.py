"""HXL on CSV exports (validated with libhxl), and the ``hxl`` and ``kobo`` ingest profiles on realistic files."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import hxl
import pandas as pd
import pytest

from data.ingest.interop_profiles import parse_geopoint, parse_hashtag, tag_columns
from data.ingest.run import ingest_file
from data.store import Store
from layers.services.exports import run_export
from layers.services.exports.hxl import hxl_tag
from layers.services.exports.settings import load_export_settings
from layers.view import View
from tests.helpers import NOW, sample_events, sample_features

FIXTURES = Path(__file__).parent / "fixtures" / "interop"
VIEW = View(start=NOW - timedelta(hours=48), end=NOW, zoom=7.0, bbox=(29.0, 0.0, 33.5, 4.5), window_label="custom")

SCHEMA = [
    ["#valid_tag", "#valid_required", "#valid_datatype", "#valid_value+min", "#valid_value+max"],
    ["#geo+lat", "true", "number", "-90", "90"],
    ["#geo+lon", "true", "number", "-180", "180"],
    ["#meta+layer", "true", "", "", ""],
]


def stored_events(store: Store) -> dict[str, dict]:
    """Return every stored event with all its columns, by id."""
    frame = store.changes_since("events", 0)
    frame = frame.assign(lat=frame.geometry.y, lng=frame.geometry.x)
    return {r["id"]: r for r in pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_dict("records")}


@pytest.fixture
def briefing(sqlite_store: Store) -> Store:
    """The inline sample data."""
    for table, rows in sample_features().items():
        sqlite_store.upsert(table, rows)
    sqlite_store.upsert("events", sample_events())
    return sqlite_store


def test_csv_export_validates_with_libhxl(briefing: Store, tmp_path: Path) -> None:
    out = tmp_path / "view.csv"
    run_export(
        briefing,
        replace(VIEW, suppress=True),
        "csv",
        out,
        who="test",
        settings=load_export_settings(),
        title="HXL test",
    )
    source = hxl.data(str(out), hxl.InputOptions(allow_local=True))
    tags = [c.display_tag for c in source.columns]
    assert {"#meta+layer", "#geo+lat", "#geo+lon", "#geo+wkt", "#loc+name", "#country+code"} <= set(tags)
    assert len(tags) == len(set(tags)), tags  # every column is addressable by its hashtag
    report: list[str] = []
    schema = hxl.schema(SCHEMA, callback=lambda e: report.append(str(e.message)))
    assert schema.validate(source), report
    rows = list(hxl.data(str(out), hxl.InputOptions(allow_local=True)))  # validation consumed the stream
    raw_rows = list(csv.DictReader(out.open()))[1:]
    assert len(rows) == len(raw_rows) > 0
    assert {r.get("#meta+layer") for r in rows} >= {"crossing_points", "routes", "hotspots"}
    # and a broken file fails the same schema (the validation can fail)
    bad = tmp_path / "bad.csv"
    bad.write_text(out.read_text().replace(raw_rows[0]["lat"], "north", 1))
    assert not hxl.schema(SCHEMA).validate(hxl.data(str(bad), hxl.InputOptions(allow_local=True)))


@pytest.mark.parametrize(
    ("column", "tag"),
    [
        ("lat", "#geo+lat"),
        ("occurred_at", "#date+occurred"),
        ("dead", "#affected+killed"),
        ("missing", "#affected+missing"),
        ("country_a", "#country+code"),
        ("people_7d", "#affected+num+w7d"),
        ("Odd Name!", "#meta+odd_name"),
    ],
)
def test_hxl_tags(column: str, tag: str) -> None:
    assert hxl_tag(column) == tag
    assert parse_hashtag(tag) is not None


def test_hashtag_matching_ignores_headers() -> None:
    tags = {
        c: parse_hashtag(t)
        for c, t in {"A": "#affected +killed", "B": "#affected+missing", "C": "#GEO+Lat", "D": "#geo+lon"}.items()
    }
    found = tag_columns({k: v for k, v in tags.items() if v})
    assert found == {"killed": "A", "missing": "B", "lat": "C", "lng": "D"}
    assert parse_hashtag("not a tag") is None and parse_hashtag("#") is None


def test_hdx_file_imports_with_profile_hxl(store: Store, tmp_path: Path) -> None:
    summary = ingest_file(
        store, FIXTURES / "hdx_incidents_hxl.csv", profile="hxl", rejects_path=tmp_path / "r.csv", now=NOW
    )
    assert (summary.read, summary.accepted, summary.rejected) == (3, 3, 0), summary
    by_id = stored_events(store)
    assert by_id["2026.1101"]["kind"] == "death" and by_id["2026.1101"]["people"] == 2
    assert by_id["2026.1102"]["kind"] == "missing" and by_id["2026.1102"]["people"] == 4
    assert by_id["2026.1103"]["people"] == 4 and by_id["2026.1103"]["source"] == "UN agency"


def test_our_own_export_round_trips_crossing_points(briefing: Store, store: Store, tmp_path: Path) -> None:
    out = tmp_path / "view.csv"
    run_export(
        briefing,
        replace(VIEW, suppress=True),
        "csv",
        out,
        who="test",
        settings=load_export_settings(),
        title="HXL test",
    )
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    crossings = pd.concat([frame.iloc[:1], frame[frame["layer"] == "crossing_points"]])
    path = tmp_path / "crossings.csv"
    crossings.to_csv(path, index=False)
    summary = ingest_file(store, path, kind="crossing_points", profile="hxl", rejects_path=tmp_path / "r.csv")
    assert summary.accepted == 2 and summary.rejected == 0
    assert sorted(store.features("crossing_points")["name"]) == ["Alpha", "Bravo <script>x</script>"]


def test_untagged_file_is_refused_with_one_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("id,lat,lon\n1,2,3\n")
    with pytest.raises(Exception, match="no HXL hashtag row"):
        ingest_file(store, path, profile="hxl", rejects_path=tmp_path / "r.csv")


def test_geopoint() -> None:
    assert parse_geopoint("3.5812 32.0614 1012.4 4.8") == (3.5812, 32.0614, 4.8)
    assert parse_geopoint("3.5 32.0") == (3.5, 32.0, None)
    assert parse_geopoint("north") is None and parse_geopoint(None) is None


@pytest.mark.parametrize("name", ["kobo_flow_monitoring.csv", "kobo_flow_monitoring.geojson"])
def test_kobo_export_imports_with_precision_from_accuracy(store: Store, tmp_path: Path, name: str) -> None:
    summary = ingest_file(store, FIXTURES / name, profile="kobo", rejects_path=tmp_path / "r.csv", now=NOW)
    by_id = stored_events(store)
    uuid = "kobo-7f0c2a6e-1d51-4b3c-9f52-0a4d5b6c7e01"
    assert uuid in by_id or "7f0c2a6e-1d51-4b3c-9f52-0a4d5b6c7e01" in by_id, list(by_id)
    first = by_id.get(uuid) or by_id["7f0c2a6e-1d51-4b3c-9f52-0a4d5b6c7e01"]
    assert first["location_precision_m"] == pytest.approx(4.8)
    assert first["people"] == 23 and first["kind"] == "crossing"
    assert first["lat"] == pytest.approx(3.5812) and first["lng"] == pytest.approx(32.0614)
    assert pd.Timestamp(first["occurred_at"]) == pd.Timestamp("2026-11-19T03:10:02", tz="UTC")
    wide = next(r for r in by_id.values() if r["people"] == 41)
    assert wide["location_precision_m"] == pytest.approx(65.0)
    if name.endswith(".csv"):
        # the fourth submission has no GPS fix: rejected with its reason, nothing invented
        assert (summary.accepted, summary.rejected) == (3, 1), summary
        assert "FMP-ELE-01" in str(first.get("crossing_point_id")) and "incoming" in str(first.get("notes"))
    else:
        assert (summary.accepted, summary.rejected) == (2, 0), summary
