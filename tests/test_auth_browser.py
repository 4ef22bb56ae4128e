"""In a real headless chromium with authentication on: sign in through the form, the map renders under the CSP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.keys import Keys

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data import audit_log, users
from data.store import Store
from tests.helpers import free_port, sample_events, sample_features
from tests.helpers.browser import PAINTED_JS, SVG_PATHS_JS

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def _csp_violations(logs: list[dict]) -> list[str]:
    return [e["message"] for e in logs if "Content Security Policy" in e["message"] or "Refused to" in e["message"]]


def test_sign_in_then_the_map_renders_under_the_csp(  # type: ignore[no-untyped-def]
    browser_ready: None, dash_duo, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, fast_hashing: None
) -> None:
    for key, value in {"HBM_AUTH": "on", "HBM_SECRET_KEY": "b" * 32, "HBM_COOKIE_SECURE": "false"}.items():
        monkeypatch.setenv(key, value)
    for table, rows in sample_features().items():
        sqlite_store.upsert(table, rows)
    sqlite_store.upsert("events", sample_events(now=datetime.now(UTC) - timedelta(minutes=1)))
    users.add_user(sqlite_store, "alice", "analyst", PASSWORD)
    app = create_app(load_app_settings(refresh_seconds=2, region_bbox="29.5,0.5,33.5,4.5"), sqlite_store)
    dash_duo.start_server(app, navigate=False, port=free_port())
    base = dash_duo.server.url.rstrip("/")

    # A permalink opened without a session lands on the sign-in form, name focused.
    dash_duo.driver.get(f"{base}/?window_label=7d")
    dash_duo.wait_for_element("#name", timeout=10)
    assert "/login?next=" in dash_duo.driver.current_url
    assert dash_duo.driver.switch_to.active_element.get_attribute("id") == "name"
    dash_duo.find_element("#name").send_keys("alice")
    dash_duo.find_element("#password").send_keys("not the password" + Keys.ENTER)
    dash_duo.wait_for_text_to_equal("#login-error", "Name or password is wrong.", timeout=10)
    dash_duo.find_element("#password").send_keys(PASSWORD + Keys.ENTER)  # Enter submits; the name was kept

    # Back on the permalink, signed in: the map draws its layers with the CSP on.
    dash_duo.wait_for_element(".cp-marker", timeout=20)
    assert "window_label=7d" in dash_duo.driver.current_url and "/login" not in dash_duo.driver.current_url
    dash_duo.wait_for_text_to_equal("#hbm-auth-user", "alice (analyst)", timeout=10)
    assert len(dash_duo.find_elements(".cp-marker")) == len(sample_features()["crossing_points"])
    until(lambda: dash_duo.driver.execute_script(PAINTED_JS, "hotspots") > 0, timeout=10)  # the canvas paints
    for pane in ("routes", "sar_zones"):  # and the SVG layers draw their shapes
        until(lambda pane=pane: dash_duo.driver.execute_script(SVG_PATHS_JS, pane) > 0, timeout=10)
    header = dash_duo.driver.execute_script("return document.querySelector('.hbm-header').innerText")
    assert "no login" not in header.lower()
    assert _csp_violations(dash_duo.get_logs()) == []

    # Log out: the sign-in form again, and the map is out of reach.
    dash_duo.find_element("#hbm-auth-logout").click()
    dash_duo.wait_for_element("#name", timeout=10)
    dash_duo.driver.get(f"{base}/")
    dash_duo.wait_for_element("#name", timeout=10)
    assert [e.action for e in audit_log.query(sqlite_store, who="alice")] == ["logout", "login"]
    (failed,) = audit_log.query(sqlite_store, action="login_failed")
    assert (failed.who, failed.target) == ("anonymous", "alice")  # the typed name is data, never who
    assert _csp_violations(dash_duo.get_logs()) == []
