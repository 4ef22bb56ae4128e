"""Hotspots in a real browser: playback changes the layer on a fixed legend; alerts show and are acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys
from shapely.geometry import Point

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.alerts import list_alerts
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from tests.helpers import free_port, open_panels, sample_features

pytestmark = pytest.mark.browser


@pytest.fixture
def growing_store(tmp_path: Path) -> Iterator[Store]:
    """Thirty days of events at one place, more each day, and a surge in the last day."""
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'hot.sqlite'}"))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    now = datetime.now(UTC)
    rows = []
    for day in range(30):
        for i in range(1 + day // 3):
            for place in range(6):
                rows.append(
                    {
                        "id": f"d{day}-{i}-{place}",
                        "occurred_at": now - timedelta(days=29 - day, hours=2 + i % 12),
                        "kind": "crossing",
                        "people": 3,
                        "geometry": Point(30.2 + 0.4 * place + 0.002 * i, 1.2 + 0.3 * place),
                    }
                )
    rows += [
        {
            "id": f"surge-{i}",
            "occurred_at": now - timedelta(hours=1, minutes=i),
            "kind": "crossing",
            "people": 12,
            "geometry": Point(32.06 + 0.001 * (i % 7), 3.58),
        }
        for i in range(40)
    ]
    rows.append(  # a distress call inside SAR sector AA: the "distress in a SAR zone" rule fires
        {
            "id": "sos",
            "occurred_at": now - timedelta(minutes=30),
            "kind": "distress",
            "people": 5,
            "geometry": Point(31.1, 1.1),
        }
    )
    store.upsert("events", rows)
    yield store
    store.dispose()


def _legend(dash_duo) -> str:  # type: ignore[no-untyped-def]
    return dash_duo.find_element("#hotspot-legend").text


def test_playback_slider_changes_the_layer_but_not_the_legend(
    browser_ready: None, dash_duo, growing_store: Store
) -> None:  # type: ignore[no-untyped-def]
    settings = load_app_settings(refresh_seconds=2, synthetic=True, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, growing_store), port=free_port())
    dash_duo.wait_for_element_by_css_selector(".cp-marker", timeout=20)
    open_panels(dash_duo)

    dash_duo.find_element("#playback-toggle input").click()
    dash_duo.wait_for_contains_text("#playback-label", "cells", timeout=15)
    dash_duo.wait_for_contains_text("#hotspot-legend-title", "fixed scale", timeout=10)
    legend_last, label_last = _legend(dash_duo), dash_duo.find_element("#playback-label").text
    data_last = dash_duo.driver.execute_script(LAYER_DATA_JS)

    # Move the slider to the first frame with the keyboard (Home), as a wall-screen operator could.
    handle = dash_duo.find_element("#playback-slider [role=slider]")
    handle.click()
    handle.send_keys(Keys.HOME)
    dash_duo.wait_for_contains_text("#playback-label", "cells", timeout=10)
    dash_duo.driver.implicitly_wait(0)
    for _ in range(50):
        if dash_duo.find_element("#playback-label").text != label_last:
            break
        dash_duo.driver.execute_script("return new Promise(r => setTimeout(r, 200))")
    assert dash_duo.find_element("#playback-label").text != label_last
    data_first = dash_duo.driver.execute_script(LAYER_DATA_JS)
    assert data_first != data_last, "the hotspot layer did not change with the frame"
    assert _legend(dash_duo) == legend_last, "the legend must stay fixed during playback"

    # Stopping playback hands the layer back to the live refresh and its own legend.
    dash_duo.find_element("#playback-toggle input").click()
    dash_duo.wait_for_contains_text("#hotspot-legend-title", "per H3 cell", timeout=10)


# The hotspot canvas as a fingerprint: which pixels are painted, sampled.
LAYER_DATA_JS = """
const canvas = document.querySelector('.leaflet-hbm-hotspots-pane canvas');
if (!canvas || !canvas.width) return '';
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let h = 0;
for (let i = 0; i < data.length; i += 97) { h = (h * 31 + data[i]) % 1000000007; }
return String(h);
"""


def test_a_new_alert_shows_in_the_badge_and_is_acknowledged(
    browser_ready: None, dash_duo, growing_store: Store
) -> None:  # type: ignore[no-untyped-def]
    settings = load_app_settings(refresh_seconds=1, synthetic=True, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, growing_store), port=free_port())
    dash_duo.wait_for_contains_text("#alert-badge", "new alert", timeout=30)
    dash_duo.find_element("#alerts-who").send_keys("Wall screen 1")
    dash_duo.find_element(".hbm-alert.unacked button[id*='alert-ack']").click()
    dash_duo.wait_for_contains_text("#alerts-list", "Acknowledged by Wall screen 1", timeout=10)
    dash_duo.wait_for_text_to_equal("#alert-badge", "", timeout=10)
    acked = [a for a in list_alerts(growing_store) if a.acked_by]  # type: ignore[arg-type]
    assert [a.acked_by for a in acked] == ["Wall screen 1"]
