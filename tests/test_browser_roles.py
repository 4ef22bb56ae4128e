"""In a real browser, signed in through the login form as each role: what the role sees and may do.

One server per test; each user signs in through ``/login`` as a person would. A viewer opens a link
asking for H3 res 9 with suppression off and still gets cells no finer than res 6 with no small
counts; data exports and SAR editing are disabled for the roles that may not use them (and refused
on the server: tests/test_roles_http.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.audit import list_exports
from data.open import open_store
from data.sar_plans import list_plans
from data.settings import load_store_settings
from data.store import Store
from layers.hotspots import load_hotspot_settings
from tests.helpers import free_port, open_panels
from tests.helpers.auth import PASSWORD, add_role_users, auth_env, seed

pytestmark = pytest.mark.browser

K = load_hotspot_settings()[1]
LINK = "/?window_label=7d&zoom=13&bbox=32.0,3.55,32.12,3.61&resolution=9&suppress=0&metric=people"
HOTSPOTS_JS = """
const layout = window.dash_component_api && window.dash_component_api.getLayout('layer-hotspots');
const data = layout && layout.props && layout.props.data;
return data ? data.features.map(f => f.properties).filter(p => p.cell) : null;
"""
OPTIONS_JS = "return window.dash_component_api.getLayout('resolution').props.options.map(o => o.value);"


@pytest.fixture
def roles_store(
    browser_ready: None, fast_hashing: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    auth_env(monkeypatch)
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'roles.sqlite'}"))
    store.init_schema()
    seed(store, datetime.now(UTC))
    add_role_users(store)
    yield store
    store.dispose()


def _start(dash_duo: Any, store: Store) -> None:
    settings = load_app_settings(refresh_seconds=2, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, store), navigate=False, port=free_port())


def _sign_in(dash_duo: Any, name: str, path: str = "/") -> None:
    driver = dash_duo.driver
    login = dash_duo.server.url.rstrip("/") + "/login?next=" + path.replace("&", "%26").replace("?", "%3F")
    driver.get(login)
    driver.delete_all_cookies()  # a new person at the same browser: the previous session is gone
    driver.get(login)
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def signed_in(d: Any) -> bool:
        try:
            errors = d.find_elements(By.ID, "login-error")
            if errors and errors[0].text.strip():  # refused: say why at once rather than time out
                raise AssertionError(f"sign-in as {name} refused: {errors[0].text.strip()}")
            return any(name in e.text for e in d.find_elements(By.CSS_SELECTOR, ".hbm-user"))
        except StaleElementReferenceException:  # the page re-rendered between finding and reading: look again
            return False

    def where(d: Any) -> str:  # on a timeout: the page the browser is on and what it shows
        body = d.find_elements(By.TAG_NAME, "body")
        return f"not signed in as {name} after 45 s at {d.current_url}: {(body[0].text if body else '')[:300]!r}"

    dash_duo._wait_for(signed_in, timeout=45, msg=where)  # noqa: SLF001 - the first page load is slow under load
    open_panels(dash_duo)


def _cells(dash_duo: Any, res: int | None = None) -> list[dict[str, Any]]:
    """Wait for the hotspot layer (at ``res`` when given) and return its cells' properties."""
    found: list[dict[str, Any]] = []

    def ready(_driver: Any) -> bool:
        found[:] = dash_duo.driver.execute_script(HOTSPOTS_JS) or []
        return bool(found) and (res is None or {c["res"] for c in found} == {res})

    dash_duo._wait_for(ready, timeout=20, msg="the hotspot layer did not arrive")  # noqa: SLF001
    return found


def test_viewer_sees_only_coarse_suppressed_cells_and_cannot_export_data_or_edit_sar(
    dash_duo: Any, roles_store: Store
) -> None:
    _start(dash_duo, roles_store)
    _sign_in(dash_duo, "vera", LINK)
    assert "resolution=" in dash_duo.driver.current_url  # the crafted link was opened...
    dash_duo.wait_for_element("#suppress input:checked:disabled", timeout=20)  # ...suppression forced on
    cells = _cells(dash_duo)
    assert max(c["res"] for c in cells) <= 6 and not [c for c in cells if 0 < c["people"] < K]
    dash_duo._wait_for(  # noqa: SLF001 - the role's options and buttons arrive with a callback (slow under load)
        lambda d: d.execute_script(OPTIONS_JS) == ["auto", "4", "5", "6"]
        and d.find_element(By.CSS_SELECTOR, '[id*=\'"format":"gpkg"\']').get_attribute("disabled"),
        timeout=20,
        msg="viewer's resolutions and disabled data export",
    )
    gpkg = dash_duo.find_element('[id*=\'"format":"gpkg"\']')
    pdf = dash_duo.find_element('[id*=\'"format":"pdf"\']')
    assert gpkg.get_attribute("disabled") and not pdf.get_attribute("disabled")
    assert "may not export data" in gpkg.get_attribute("title")
    dash_duo.wait_for_contains_text("#sar-role-note", "Your role (viewer) may not edit SAR plans", timeout=10)
    assert dash_duo.find_element("#sar-save-btn").get_attribute("disabled")
    dash_duo._wait_for(  # noqa: SLF001 - the draw tools go away once the role is known
        lambda d: not d.find_elements(By.CSS_SELECTOR, ".leaflet-draw-draw-polygon"), timeout=10, msg="draw tools"
    )
    assert (
        dash_duo.find_element("#audit-note").text
        == "Your role (viewer) may not administer users, settings and the audit."
    )
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "#audit-table tr")


def test_analyst_sees_fine_cells_and_exports_a_geopackage_but_cannot_edit_sar(
    dash_duo: Any, roles_store: Store
) -> None:
    _start(dash_duo, roles_store)
    _sign_in(dash_duo, "ana", LINK)
    cells = _cells(dash_duo, res=9)  # the same link gives an analyst res-9 cells, small ones included
    assert any(0 < c["people"] < K for c in cells)
    assert dash_duo.driver.execute_script(OPTIONS_JS)[-1] == "9"
    assert not dash_duo.find_element("#suppress input").get_attribute("disabled")
    dash_duo.find_element('[id*=\'"format":"gpkg"\']').click()
    dash_duo.wait_for_contains_text("#export-status", "ready", timeout=20)
    assert [(r.who, r.format) for r in list_exports(roles_store)] == [("ana", "gpkg")]
    dash_duo.wait_for_contains_text("#sar-role-note", "Your role (analyst) may not edit SAR plans", timeout=10)
    assert dash_duo.find_element("#sar-save-btn").get_attribute("disabled")
    assert not dash_duo.find_element('[id*=\'"fmt":"kml"\']').get_attribute("disabled")


def test_sar_coordinator_saves_a_plan_and_admin_sees_the_audit(dash_duo: Any, roles_store: Store) -> None:
    _start(dash_duo, roles_store)
    _sign_in(dash_duo, "sam")
    assert dash_duo.find_element("#sar-role-note").text == ""
    dash_duo.wait_for_element(".leaflet-draw-draw-polygon", timeout=10)  # the draw tools stay for this role
    next(label for label in dash_duo.find_elements("#sar-source label") if "datum" in label.text).click()
    dash_duo.find_element("#sar-datum").send_keys("1.4,30.7")
    dash_duo.find_element("#sar-radius").send_keys("5")
    dash_duo.find_element("#sar-name").send_keys("Coordinator plan")
    dash_duo.find_element("#sar-save-btn").click()
    dash_duo.wait_for_contains_text("#sar-new-msg", "Saved plan Coordinator plan", timeout=20)
    assert [p["name"] for p in list_plans(roles_store)] == ["Coordinator plan"]
    assert "may not administer" in dash_duo.find_element("#audit-note").text

    _sign_in(dash_duo, "ada")  # an administrator: the audit panel lists who did what
    dash_duo.wait_for_contains_text("#audit-note", "The latest", timeout=20)
    table = dash_duo.find_element("#audit-table").text
    assert "sam SAR plan created" in table and "ada sign-in" in table and "sam sign-in" in table
