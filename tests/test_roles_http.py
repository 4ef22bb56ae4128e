"""Crafted HTTP requests: a signed-in viewer who posts Dash callback requests by hand never gets raw data.

Each user signs in through the real login form (Flask's test client); each request uses the callback
spec the app itself publishes at ``/_dash-dependencies``, with the values a hostile client would pick
(H3 res 9, suppression off, a data export, a SAR plan save). The same request as an analyst or a SAR
coordinator is made next to it, so the difference is the role and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.audit import list_exports
from data.open import open_store
from data.sar_plans import list_plans
from data.settings import load_store_settings
from data.store import Store
from layers.hotspots import load_hotspot_settings
from tests.helpers import sar_save_form
from tests.helpers.auth import (
    add_role_users,
    auth_env,
    callback_spec,
    post_callback,
    post_pattern_callback,
    seed,
    sign_in,
)

K = load_hotspot_settings()[1]
BOUNDS = [[3.4, 31.8], [3.8, 32.3]]


@pytest.fixture
def http_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> Iterator[tuple[Any, Store]]:
    auth_env(monkeypatch)
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'roles.sqlite'}"))
    store.init_schema()
    seed(store, datetime.now(UTC))
    add_role_users(store)
    app = create_app(load_app_settings(region_bbox="29.5,0.5,33.5,4.5"), store)
    yield app, store
    store.dispose()


MAP_VALUES = {
    "refresh-interval.n_intervals": 1,
    "window.value": "7d",
    "metric.value": "people",
    "resolution.value": "9",  # finer than a viewer may see
    "map.zoom": 14,
    "map.bounds": BOUNDS,
    "statistic.value": "count",
    "suppress.value": [],  # suppression off
    "playback-state.data": {"active": False},
    "client-state.data": {},
}


def _hotspot_cells(response: dict[str, Any], output: str = "layer-hotspots") -> list[dict[str, Any]]:
    data = response[output]["data"]
    return [f["properties"] for f in data["features"] if "cell" in f["properties"]]


def test_a_viewers_crafted_map_request_never_returns_raw_or_fine_cells(http_app: tuple[Any, Store]) -> None:
    app, _store = http_app
    max_res = load_app_settings().viewer_max_res
    anonymous = app.server.test_client()
    assert anonymous.get("/_dash-dependencies").status_code == 401
    analyst, viewer = app.server.test_client(), app.server.test_client()
    assert sign_in(analyst, "ana") == 303 and sign_in(viewer, "vera") == 303
    spec = callback_spec(viewer, "layer-hotspots.data", "resolution.value")
    assert spec == callback_spec(analyst, "layer-hotspots.data", "resolution.value")

    status, as_analyst = post_callback(analyst, spec, MAP_VALUES, "resolution.value")
    fine = _hotspot_cells(as_analyst)
    assert status == 200 and {c["res"] for c in fine} == {9} and any(0 < c["people"] < K for c in fine)

    status, as_viewer = post_callback(viewer, spec, MAP_VALUES, "resolution.value")
    cells = _hotspot_cells(as_viewer)
    assert status == 200 and cells, as_viewer
    assert max(c["res"] for c in cells) <= max_res
    assert not [c for c in cells if 0 < c["people"] < K]
    for layer in as_viewer.values():  # no layer carries an event point
        data = layer.get("data") if isinstance(layer, dict) else None
        if isinstance(data, dict) and "features" in data:
            assert not [f for f in data["features"] if "occurred_at" in f.get("properties", {})]


def test_a_viewers_crafted_playback_request_is_clamped(http_app: tuple[Any, Store]) -> None:
    app, _store = http_app
    max_res = load_app_settings().viewer_max_res
    values = {
        "playback-toggle.value": ["on"],
        "playback-mode.value": "cumulative",
        "playback-step.value": "1d",
        "playback-slider.value": 29,
        "metric.value": "people",
        "resolution.value": "9",
        "map.zoom": 14,
        "map.bounds": BOUNDS,
    }
    results = {}
    for name in ("ana", "vera"):
        client = app.server.test_client()
        sign_in(client, name)
        spec = callback_spec(client, "layer-hotspots.data", "playback-slider.value")
        status, response = post_callback(client, spec, values, "playback-toggle.value")
        assert status == 200
        results[name] = _hotspot_cells(response)
    assert {c["res"] for c in results["ana"]} == {9}
    assert results["vera"] and max(c["res"] for c in results["vera"]) <= max_res
    assert not [c for c in results["vera"] if 0 < c["people"] < K]


def test_crafted_export_and_sar_requests_are_refused_by_role(http_app: tuple[Any, Store]) -> None:
    app, store = http_app
    export = {
        "window.value": "7d",
        "metric.value": "people",
        "resolution.value": "9",
        "statistic.value": "count",
        "suppress.value": [],
        "map.zoom": 9,
        "map.bounds": BOUNDS,
        "export-page.value": "A4",
        "export-orientation.value": "landscape",
        "export-dpi.value": 150,
        "layers-shown.data": ["Hotspots (H3)"],
    }
    button = '{"format":"gpkg","type":"export-button"}.n_clicks'
    statuses = {}
    for name in ("vera", "ana"):
        client = app.server.test_client()
        sign_in(client, name)
        spec = callback_spec(client, "export-download.data", "export-button")
        clicked = [{"id": {"type": "export-button", "format": "gpkg"}, "property": "n_clicks", "value": 1}]
        status, response = post_pattern_callback(client, spec, clicked, export, button)
        assert status == 200, response
        statuses[name] = response["export-status"]["children"]
    assert statuses["vera"] == "Export refused: Your role (viewer) may not export data."
    assert statuses["ana"].startswith("hbm-data-") and "ready" in statuses["ana"]
    assert [r.who for r in list_exports(store)] == ["ana"]

    sar = sar_save_form("Crafted plan")
    messages = {}
    for name in ("vera", "ana", "sam"):
        client = app.server.test_client()
        sign_in(client, name)
        spec = callback_spec(client, "sar-new-msg.children", "sar-save-btn.n_clicks")
        status, response = post_callback(client, spec, sar, "sar-save-btn.n_clicks")
        assert status == 200
        messages[name] = next(v["children"] for k, v in response.items() if k == "sar-new-msg")
    assert "viewer role may not" in messages["vera"] and "analyst role may not" in messages["ana"]
    assert messages["sam"].startswith("Saved plan Crafted plan")
    assert [p["name"] for p in list_plans(store)] == ["Crafted plan"]
