"""In a real browser: a permalink opens the same View, the URL follows it, one click downloads the PDF (audited)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.audit import list_exports
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.view_io import query_fields, view_from_query
from tests.helpers import chrome_available, free_port, open_panels, sample_events, sample_features, unavailable

pytestmark = pytest.mark.browser

LINK = "?window_label=7d&zoom=8&bbox=31,2.5,33,4.5&layers=crossing_points,hotspots&metric=people"
CHECKED_JS = """
return Array.from(document.querySelectorAll('#map .leaflet-control-layers-overlays label'))
  .filter(l => l.querySelector('input').checked).map(l => l.textContent.trim());
"""


@pytest.fixture
def export_store(tmp_path: Path) -> Iterator[Store]:
    reason = chrome_available()
    if reason:
        unavailable(reason)
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'exports.sqlite'}"))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events(now=datetime.now(UTC) - timedelta(minutes=1)))
    yield store
    store.dispose()


def _wait(condition, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the page")


def test_permalink_opens_the_view_and_the_pdf_button_exports_it(dash_duo, export_store: Store) -> None:  # type: ignore[no-untyped-def]
    settings = load_app_settings(refresh_seconds=2, region_bbox="29.5,0.5,33.5,4.5", synthetic=True)
    dash_duo.start_server(create_app(settings, export_store), port=free_port())
    dash_duo.driver.get(dash_duo.server_url + "/" + LINK)

    # The link set the controls and the layers...
    dash_duo.wait_for_element_by_css_selector("#window input[value='7d']:checked", timeout=20)
    open_panels(dash_duo)
    dash_duo.wait_for_element_by_css_selector("#metric input[value='people']:checked", timeout=5)
    _wait(lambda: dash_duo.driver.execute_script(CHECKED_JS) == ["Hotspots (H3)", "Crossing points"])
    # ...and the URL now describes the View on screen: the same window, layers, metric, zoom and centre.
    _wait(lambda: "bbox=" in dash_duo.driver.current_url and "suppress=" in dash_duo.driver.current_url)
    search = dash_duo.driver.current_url.split("?", 1)[1]
    shown = view_from_query(search)
    asked = view_from_query(LINK)
    assert {"start", "end"}.isdisjoint(query_fields(search))  # a named window stays "the last 7 days"
    assert (shown.window_label, shown.metric, shown.layers, shown.zoom) == (
        asked.window_label,
        asked.metric,
        asked.layers,
        asked.zoom,
    )
    centre = ((shown.bbox[0] + shown.bbox[2]) / 2, (shown.bbox[1] + shown.bbox[3]) / 2)  # type: ignore[index]
    half_pixel = 0.5 * 360 / (256 * 2**8)  # Leaflet centres on whole pixels: an odd map width shifts half a pixel
    assert centre == pytest.approx((32.0, 3.5), abs=half_pixel)
    # Opening the URL the app wrote gives the View it describes, exactly.
    assert view_from_query(search, now=shown.end) == shown

    # One click: the PDF of that View downloads, audited as the request's user (sign-in is off here: DEMO_USER).
    dash_duo.find_element('button[id*=\'"format":"pdf"\']').click()
    dash_duo.wait_for_contains_text("#export-status", "ready", timeout=60)
    name = dash_duo.find_element("#export-status").text.split(" ", 1)[0]
    path = Path(dash_duo.download_path) / name
    _wait(lambda: path.exists() and path.stat().st_size > 0)
    assert path.read_bytes().startswith(b"%PDF")
    record = list_exports(export_store)[0]
    assert (record.who, record.format, record.filename) == ("demo", "pdf", name)
    assert set(record.view["layers"]) == {"crossing_points", "hotspots"} and record.view["window_label"] == "7d"
    assert record.view["bbox"] == pytest.approx(list(shown.bbox), abs=1e-4)  # type: ignore[arg-type]
    # dash-leaflet 1.1.3 logs "reading 'filter'" when an overlay is switched off (see dashboard/panels/exports.py).
    severe = [
        e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE" and "reading 'filter'" not in e["message"]
    ]
    assert severe == []
