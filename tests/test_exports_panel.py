"""The export panel's callbacks as plain functions: the View on screen, downloads, audit rows, permalinks."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from dash import no_update

from dashboard.panels.exports import export_view, overlays_to_layers, permalink_outputs, permalink_search, screen_view
from dashboard.settings import load_app_settings
from data.audit import list_exports
from data.store import Store
from layers.features import LAYERS
from layers.services.exports.collect import Page
from layers.services.exports.settings import load_export_settings
from layers.view import LAYER_NAMES
from layers.view_io import view_from_json, view_from_query
from tests.helpers import NOW

SETTINGS = load_app_settings(region_bbox="29.5,0.5,33.5,4.5", title="Morning brief")
CONTROLS = {
    "window": "custom",
    "custom_start": "2026-11-18 12:00",
    "custom_end": "2026-11-20 12:00",
    "metric": "people",
    "resolution": "auto",
    "statistic": "count",
    "suppress": [],
    "zoom": 9,
    "bounds": [[3.0, 31.5], [4.0, 32.5]],
    "overlays": ["Crossing points", "Hotspots (H3)"],
}


def test_screen_view_is_exactly_what_the_map_shows() -> None:
    view = screen_view(SETTINGS, CONTROLS, now=NOW)
    assert view.bbox == (31.5, 3.0, 32.5, 4.0)  # the exact bounds, not the padded refresh bbox
    assert view.layers == {"crossing_points", "hotspots"}
    assert (view.start, view.end, view.metric, view.zoom) == (NOW - timedelta(hours=48), NOW, "people", 9.0)
    wrapped = screen_view(SETTINGS, {**CONTROLS, "bounds": [[-95, -200], [95, 250]]}, now=NOW)
    assert wrapped.bbox == (-180.0, -90.0, 180.0, 90.0)
    assert screen_view(SETTINGS, {**CONTROLS, "bounds": None}, now=NOW).bbox == SETTINGS.region
    assert overlays_to_layers(None) == set(LAYER_NAMES) and overlays_to_layers([]) == frozenset()


def test_one_click_gives_the_pdf_and_an_audit_row(seeded: Store) -> None:
    download, status = export_view(seeded, SETTINGS, load_export_settings(), "pdf", CONTROLS, Page(), now=NOW)
    assert download["filename"].endswith(".pdf") and download["type"] == "application/pdf"
    assert base64.b64decode(download["content"]).startswith(b"%PDF")
    assert "ready" in status and "audit #" in status
    record = list_exports(seeded)[0]
    assert (record.who, record.format, record.filename) == ("dashboard", "pdf", download["filename"])
    assert record.view["bbox"] == [31.5, 3.0, 32.5, 4.0] and set(record.view["layers"]) == {
        "crossing_points",
        "hotspots",
    }
    assert set(record.feature_counts) == {"crossing_points", "hotspots"}


@pytest.mark.parametrize(
    ("fmt", "first_bytes"), [("html", b"<!DOCTYPE html>"), ("gpkg", b"SQLite format 3"), ("pack", b"PK")]
)
def test_other_formats_download(sqlite_store: Store, fmt: str, first_bytes: bytes) -> None:
    download, status = export_view(sqlite_store, SETTINGS, load_export_settings(), fmt, CONTROLS, now=NOW, who="ana")
    assert base64.b64decode(download["content"]).startswith(first_bytes), status
    assert list_exports(sqlite_store)[0].who == "ana"


def test_csv_downloads_with_its_metadata(sqlite_store: Store) -> None:
    download, _status = export_view(sqlite_store, SETTINGS, load_export_settings(), "csv", CONTROLS, now=NOW)
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(download["content"]))).namelist()
    assert download["filename"].endswith(".csv.zip") and len(names) == 2
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".metadata.json") for n in names)


def test_view_json_download_reopens_as_the_same_view(sqlite_store: Store) -> None:
    controls = {**CONTROLS, "window": "24h"}
    download, status = export_view(sqlite_store, SETTINGS, load_export_settings(), "view", controls, now=NOW)
    text = base64.b64decode(download["content"]).decode()
    assert "start" not in json.loads(text)  # a named window slides: "the last 24 h" when used
    assert view_from_json(text, now=NOW) == screen_view(SETTINGS, controls, now=NOW)
    assert "audit #" in status and list_exports(sqlite_store)[0].format == "view"


def test_a_failed_export_is_one_line(sqlite_store: Store) -> None:
    bad = {**CONTROLS, "custom_start": "not a time"}
    download, status = export_view(sqlite_store, SETTINGS, load_export_settings(), "pdf", bad, now=NOW)
    assert download is no_update and status.startswith("Export failed:") and "\n" not in status
    assert list_exports(sqlite_store) == []


def test_permalink_round_trips_the_screen_view() -> None:
    search = permalink_search(SETTINGS, CONTROLS, now=NOW)
    view = screen_view(SETTINGS, CONTROLS, now=NOW)
    assert search.startswith("?") and view_from_query(search, now=NOW) == view
    (window, start, end, metric, resolution, statistic, suppress, layers, viewport, error) = permalink_outputs(search)
    assert (window, start, end, metric, resolution, statistic, suppress) == (
        "custom",
        "2026-11-18 12:00",
        "2026-11-20 12:00",
        "people",
        "auto",
        "count",
        [],
    )
    assert layers == [LAYERS["crossing_points"].title, LAYERS["hotspots"].title]
    assert viewport == {"center": [3.5, 32.0], "zoom": 9.0, "transition": "setView"}
    assert error == ""
    # Applying those values to the controls gives back the same link.
    applied = {
        **CONTROLS,
        "window": window,
        "custom_start": start,
        "custom_end": end,
        "resolution": resolution,
        "suppress": suppress,
        "overlays": layers,
    }
    assert permalink_search(SETTINGS, applied, now=NOW) == search


def test_a_partial_or_bad_permalink_changes_only_what_it_says() -> None:
    outputs = permalink_outputs("?window_label=7d&layers=routes", now=datetime.now(UTC))
    assert outputs[0] == "7d" and outputs[7] == [LAYERS["routes"].title]
    assert all(v is no_update for i, v in enumerate(outputs[:-1]) if i not in (0, 7))
    bad = permalink_outputs("?zoom=abc")
    assert all(v is no_update for v in bad[:-1]) and bad[-1].startswith("Link ignored:") and "\n" not in bad[-1]
    assert all(v is no_update for v in permalink_outputs("")[:-1])
    assert permalink_search(SETTINGS, {**CONTROLS, "custom_start": "nope"}) is no_update
