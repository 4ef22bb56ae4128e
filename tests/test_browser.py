"""The live map in a real headless chromium (dash_duo): four layers drawn, live refresh counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from shapely.geometry import Point

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from tests.helpers import free_port, sample_events, sample_features
from tests.helpers.browser import PAINTED_JS, SVG_PATHS_JS

pytestmark = pytest.mark.browser


@pytest.fixture
def live_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'browser.sqlite'}"))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events(now=datetime.now(UTC) - timedelta(minutes=1)))
    yield store
    store.dispose()


def _events_shown(dash_duo) -> int:  # type: ignore[no-untyped-def]
    return int(dash_duo.find_element("#status-events").text.replace(",", ""))


def test_live_map_draws_four_layers_and_counts_a_new_event(browser_ready: None, dash_duo, live_store: Store) -> None:  # type: ignore[no-untyped-def]
    settings = load_app_settings(refresh_seconds=1, synthetic=True, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, live_store), port=free_port())
    now = datetime.now(UTC)
    expected, _ = live_store.event_totals(now - timedelta(hours=24), now)
    dash_duo.wait_for_text_to_equal("#status-events", f"{expected:,}", timeout=20)

    # Crossing points are DOM markers; the other three layers paint their own canvas pane.
    dash_duo.wait_for_element_by_css_selector(".cp-marker", timeout=10)
    assert len(dash_duo.find_elements(".cp-marker")) == len(sample_features()["crossing_points"])
    painted = dash_duo.driver.execute_script(PAINTED_JS, "hotspots")
    assert painted > 0, "hotspots layer drew nothing"
    for pane in ("routes", "sar_zones"):  # few large shapes, drawn as SVG so the cells below stay clickable
        paths = dash_duo.driver.execute_script(SVG_PATHS_JS, pane)
        assert paths > 0, f"{pane} layer drew nothing"
    assert "SYNTHETIC" in dash_duo.find_element(".hbm-synthetic").text

    # A new event written through the store appears after the next refresh, with no reload.
    marker = dash_duo.driver.execute_script("window.__hbm_marker = 1; return 1;")
    live_store.upsert(
        "events",
        [
            {
                "id": "ev-browser",
                "occurred_at": datetime.now(UTC),
                "kind": "distress",
                "people": 4,
                "geometry": Point(31.5, 2.0),
                "source": "browser test",
            }
        ],
    )
    dash_duo.wait_for_text_to_equal("#status-events", f"{expected + 1:,}", timeout=15)
    assert dash_duo.driver.execute_script("return window.__hbm_marker") == marker  # same page, not reloaded
    assert _events_shown(dash_duo) == expected + 1
    severe = [entry for entry in dash_duo.get_logs() or [] if entry.get("level") == "SEVERE"]
    assert severe == []


def test_store_outage_shows_banner_and_keeps_the_map(browser_ready: None, dash_duo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "outage.sqlite"
    store = open_store(load_store_settings(database_url=f"sqlite:///{path}"))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    settings = load_app_settings(refresh_seconds=1, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, store), port=free_port())
    dash_duo.wait_for_element_by_css_selector(".cp-marker", timeout=20)
    # Take the store away: the next connection finds an empty file with no schema.
    store.engine.dispose()
    moved = path.with_suffix(".away")
    path.rename(moved)
    dash_duo.wait_for_contains_text("#store-banner", "Store unreachable", timeout=15)
    assert len(dash_duo.find_elements(".cp-marker")) == 2  # last good data stays
    moved.rename(path)
    store.engine.dispose()
    dash_duo.wait_for_text_to_equal("#store-banner", "", timeout=15)
