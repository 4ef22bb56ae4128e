"""SAR planning in two real headless chromium sessions: draw, preview, save, share, record a sortie live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.open import open_store
from data.sar_plans import list_plans, load_plan
from data.settings import load_store_settings
from data.store import Store
from tests.helpers import chrome_options, free_port, open_panels

pytestmark = pytest.mark.browser

# About 44 km × 44 km: at the initial zoom a 200-pixel polygon covers a few hundred km².
REGION = "30.5,1.2,30.9,1.6"


@pytest.fixture
def sar_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'sar.sqlite'}"))
    store.init_schema()
    yield store
    store.dispose()


def _cell(driver: webdriver.Chrome, column: str, row: int = 0) -> str:
    cells = driver.find_elements(By.CSS_SELECTOR, f'#sar-table td[data-dash-column="{column}"]')
    return cells[row].text.strip() if len(cells) > row else ""


def _draw_polygon(dash_duo) -> None:  # type: ignore[no-untyped-def]
    driver = dash_duo.driver
    dash_duo.wait_for_element(".leaflet-draw-draw-polygon", timeout=20).click()
    area = dash_duo.find_element("#map")
    corners = [(-110, -90), (90, -100), (120, 60), (-90, 80)]
    for x, y in [*corners, corners[0]]:  # clicking the first vertex again closes the ring
        ActionChains(driver).move_to_element(area).move_by_offset(x, y).click().perform()
    # Closing the ring ends the drawing mode: leaflet-draw removes its cursor tooltip.
    WebDriverWait(driver, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-draw-tooltip"))


def test_plan_from_drawn_polygon_is_shared_and_a_sortie_shows_live(  # type: ignore[no-untyped-def]
    browser_ready: None, dash_duo, sar_store: Store
) -> None:
    settings = load_app_settings(refresh_seconds=1, synthetic=True, region_bbox=REGION)
    dash_duo.start_server(create_app(settings, sar_store), port=free_port())
    dash_duo.wait_for_text_to_equal("#status-events", "0", timeout=20)
    open_panels(dash_duo)

    # Session 1 draws the search area, previews the sectors and saves the plan.
    _draw_polygon(dash_duo)
    size = dash_duo.find_element("#sar-size")
    size.clear()
    size.send_keys("40")
    dash_duo.find_element("#sar-name").send_keys("Drawn <plan> & test")
    dash_duo.find_element("#sar-preview-btn").click()
    dash_duo.wait_for_contains_text("#sar-new-msg", "Preview:", timeout=20)
    assert "error" not in dash_duo.find_element("#sar-new-msg").get_attribute("class")
    previewed = dash_duo.driver.execute_script("return document.querySelectorAll('.sar-label').length")
    assert previewed >= 3, "the preview shows labelled sectors"
    dash_duo.find_element("#sar-save-btn").click()
    dash_duo.wait_for_contains_text("#sar-new-msg", "Saved plan", timeout=20)
    plans = list_plans(sar_store)
    assert len(plans) == 1 and plans[0]["name"] == "Drawn <plan> & test"
    plan = load_plan(sar_store, plans[0]["id"])
    assert len(plan.sectors) == previewed
    dash_duo.wait_for_text_to_equal('#sar-table td[data-dash-column="label"]', "AA", timeout=20)

    # Session 2 opens the same server and sees the plan without doing anything.
    second = webdriver.Chrome(options=chrome_options())
    try:
        second.get(dash_duo.server_url)
        WebDriverWait(second, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "details.hbm-panel"))
        second.execute_script("document.querySelectorAll('details.hbm-panel').forEach(d => d.open = true)")
        WebDriverWait(second, 30).until(lambda d: _cell(d, "label") == "AA")
        assert "Drawn <plan> & test" in second.find_element(By.ID, "sar-summary").text
        assert _cell(second, "cum_pod") == "0.000"
        rows = len(second.find_elements(By.CSS_SELECTOR, '#sar-table td[data-dash-column="label"]'))
        assert rows == len(plan.sectors)

        # Session 1 records a sortie in sector AA: W = S = 500 m, so C = 1 and POD = 0.632.
        dash_duo.find_element("#sar-table td.dash-select-cell input").click()
        dash_duo.find_element("#sar-sweep").send_keys("500")
        dash_duo.find_element("#sar-spacing").send_keys("500")
        dash_duo.find_element("#sar-sortie-btn").click()
        dash_duo.wait_for_contains_text("#sar-plan-msg", "Sortie recorded in AA", timeout=20)
        assert _cell(dash_duo.driver, "cum_pod") == "0.632"

        # Session 2 sees the cumulative POD change on the next refresh, with no reload.
        marker = second.execute_script("window.__sar_marker = 7; return window.__sar_marker;")
        WebDriverWait(second, 30).until(lambda d: _cell(d, "cum_pod") == "0.632")
        assert second.execute_script("return window.__sar_marker;") == marker, "the page was reloaded"
        assert _cell(second, "status_label").lower() == "searched"  # the column shows the status as a label
        assert float(_cell(second, "poa")) < float(_cell(dash_duo.driver, "poa", 1)) + 1  # POA shown, updated
    finally:
        second.quit()
    assert load_plan(sar_store, plan.id).version == 2
