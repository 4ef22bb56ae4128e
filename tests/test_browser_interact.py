"""An operator acting on the live map in a real browser (issue 12): click what a user clicks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import pytest
from dash.testing.wait import until
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from shapely.geometry import Point

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from geo.cells import resolution_for_zoom
from tests.conftest import free_port, sample_features

pytestmark = pytest.mark.browser

REGION = "29.5,0.5,33.5,4.5"
CLUSTER = (2.0, 31.8)  # lat, lng: away from the sample route, sector and crossings


def cluster_events(now: datetime) -> list[dict[str, Any]]:
    """Sixty events in the last hours around CLUSTER, on a small grid, plus a few by the sample route."""
    rows = []
    for i in range(60):
        rows.append(
            {
                "id": f"cl-{i:03d}",
                "occurred_at": now - timedelta(minutes=5 + 3 * i),
                "kind": "crossing",
                "people": 1 + i % 4,
                "geometry": Point(CLUSTER[1] + 0.004 * (i % 8), CLUSTER[0] + 0.004 * (i // 8)),
                "location_precision_m": 10.0,
            }
        )
    return rows


@pytest.fixture
def map_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'interact.sqlite'}"))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", cluster_events(datetime.now(UTC)))
    yield store
    store.dispose()


def start(dash_duo: Any, store: Store, path: str = "/", **overrides: Any) -> None:
    settings = load_app_settings(refresh_seconds=2, synthetic=True, region_bbox=REGION, **overrides)
    dash_duo.start_server(create_app(settings, store), port=free_port())
    if path != "/":
        dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element_by_css_selector(".cp-marker", timeout=20)
    dash_duo.driver.execute_script("window.__hbmLogs = 0;")


def set_view(dash_duo: Any, lat: float, lng: float, zoom: int) -> None:
    dash_duo.driver.execute_script(
        "window.hbmMap.setView([arguments[0], arguments[1]], arguments[2], {animate: false});", lat, lng, zoom
    )


HEX_AT_JS = """
const want = arguments[0];
let found = null;
window.hbmMap.eachLayer(function (layer) {
  if (found || !layer.feature || layer.options.pane !== 'hbm-hotspots') return;
  if (layer.feature.properties.cell === want) found = layer;
});
if (!found) return null;
const p = window.hbmMap.latLngToContainerPoint(found.getCenter());
const rect = window.hbmMap.getContainer().getBoundingClientRect();
return [p.x, p.y, rect.width, rect.height];
"""


def click_map_at(dash_duo: Any, x: float, y: float, w: float = 0, h: float = 0) -> None:
    """Click the map at container pixel (x, y) as a mouse would (whatever element is on top there gets it)."""
    left, top = dash_duo.driver.execute_script(
        "const r = window.hbmMap.getContainer().getBoundingClientRect(); return [r.left, r.top];"
    )
    actions = ActionBuilder(dash_duo.driver)
    actions.pointer_action.move_to_location(int(left + x), int(top + y)).click()
    actions.perform()


def cell_of(event: dict[str, Any], res: int) -> str:
    """Return the cell the store counts ``event`` in at ``res``: the parent of its res-9 cell (geo.cells)."""
    return h3.cell_to_parent(h3.latlng_to_cell(event["geometry"].y, event["geometry"].x, 9), res)


def expected_counts(now: datetime, cell: str) -> tuple[int, int]:
    res = h3.get_resolution(cell)
    events = [e for e in cluster_events(now) if cell_of(e, res) == cell]
    return len(events), sum(e["people"] for e in events)


@pytest.mark.parametrize("zoom", [8, 12])
def test_clicking_a_hexagon_opens_its_details_with_the_stores_counts(
    browser_ready: None, dash_duo: Any, map_store: Store, zoom: int
) -> None:
    start(dash_duo, map_store)
    now = datetime.now(UTC)
    res = resolution_for_zoom(zoom)
    # The busiest cell of the cluster at the zoom's resolution, and what the store holds in it.
    cells: dict[str, int] = {}
    for e in cluster_events(now):
        cell = cell_of(e, res)
        cells[cell] = cells.get(cell, 0) + 1
    cell = max(cells, key=lambda c: (cells[c], c))
    lat, lng = h3.cell_to_latlng(cell)
    set_view(dash_duo, lat, lng, zoom)
    until(lambda: dash_duo.driver.execute_script(HEX_AT_JS, cell) is not None, timeout=20)
    x, y, w, h = dash_duo.driver.execute_script(HEX_AT_JS, cell)
    click_map_at(dash_duo, x, y, w, h)
    dash_duo.wait_for_contains_text("#details", cell, timeout=10)
    events, people = expected_counts(now, cell)
    text = dash_duo.find_element("#details").text
    assert f"{events:,} / {people:,}" in text, text  # events / people in the window, as the store holds them


def test_clicking_a_sar_sector_shows_its_poa_and_pod(browser_ready: None, dash_duo: Any, map_store: Store) -> None:
    start(dash_duo, map_store)
    set_view(dash_duo, 1.1, 31.1, 10)  # the sample sector AA: 31.05–31.15 E, 1.05–1.15 N
    dash_duo.wait_for_element_by_css_selector(".hbm-sector-label", timeout=20)
    assert dash_duo.find_element(".hbm-sector-label").text == "AA"  # sectors are labelled on the map
    x, y, w, h = dash_duo.driver.execute_script(
        "const p = window.hbmMap.latLngToContainerPoint([1.07, 31.07]);"
        "const r = window.hbmMap.getContainer().getBoundingClientRect(); return [p.x, p.y, r.width, r.height];"
    )
    click_map_at(dash_duo, x, y, w, h)
    dash_duo.wait_for_contains_text("#details", "POA", timeout=10)
    text = dash_duo.find_element("#details").text
    assert "Sector AA" in text or "AA" in text
    assert "0.500" in text and "0.200" in text, text  # POA 0.5 and POD 0.2 from the store


def test_toggling_every_layer_logs_no_console_error(browser_ready: None, dash_duo: Any, map_store: Store) -> None:
    start(dash_duo, map_store)
    dash_duo.get_logs()  # drop what loading logged
    boxes = dash_duo.find_elements(".leaflet-control-layers-overlays input")
    assert len(boxes) == 4
    for _round in range(2):  # every layer off, a refresh while off, then every layer back on
        for i in range(4):
            dash_duo.find_elements(".leaflet-control-layers-overlays input")[i].click()
        time.sleep(2.5)
    severe = [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]
    assert severe == [], severe
