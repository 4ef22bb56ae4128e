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
from tests.helpers import free_port, sample_features

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
    """Return the cell the store counts ``event`` in at ``res``: the H3 cell that contains it (indexed directly)."""
    return h3.latlng_to_cell(event["geometry"].y, event["geometry"].x, res)


def expected_counts(now: datetime, cell: str) -> tuple[int, int]:
    res = h3.get_resolution(cell)
    end = now.replace(minute=0, second=0, microsecond=0)  # the statistics count complete hours only
    events = [e for e in cluster_events(now) if cell_of(e, res) == cell and e["occurred_at"] < end]
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
    complete = now.replace(minute=0, second=0, microsecond=0)  # the statistics' window ends at the last whole hour
    for e in (e for e in cluster_events(now) if e["occurred_at"] < complete):
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


def test_playback_says_playback_with_the_frame_dates_and_play_needs_playback_on(
    browser_ready: None, dash_duo: Any, map_store: Store
) -> None:
    start(dash_duo, map_store)
    dash_duo.wait_for_contains_text("#status-line", "Data as of", timeout=10)
    dash_duo.find_element("#panel-playback > summary").click()
    play = dash_duo.find_element("#playback-play")
    assert not play.is_enabled()  # Play cannot move a slider that changes nothing
    dash_duo.find_element("#playback-toggle input").click()
    dash_duo.wait_for_contains_text("#status-line", "PLAYBACK", timeout=10)
    until(lambda: dash_duo.find_element("#playback-play").is_enabled(), timeout=5)
    label = dash_duo.find_element("#playback-label").text  # "27 Nov 06:00 – 28 Nov 06:00 UTC · 2 cells"
    dates = label.split(" · ")[0]
    assert dates and dates in dash_duo.find_element("#status-line").text
    assert "Data as of" not in dash_duo.find_element("#status-line").text
    dash_duo.find_element("#playback-play").click()
    dash_duo.wait_for_contains_text("#playback-play", "Pause", timeout=5)
    # Every character of the button is in the page's font (no empty box for a missing glyph).
    assert font_covers(dash_duo.find_element("#playback-play").text)
    dash_duo.find_element("#playback-toggle input").click()  # off: the live status comes back, Play stops
    dash_duo.wait_for_contains_text("#status-line", "Data as of", timeout=10)
    until(lambda: not dash_duo.find_element("#playback-play").is_enabled(), timeout=5)
    assert "Play" in dash_duo.find_element("#playback-play").text


def font_covers(text: str) -> bool:
    """Return True when DejaVu Sans (the page's first font, installed with chromium) has every glyph of ``text``."""
    import subprocess

    from matplotlib import ft2font

    path = subprocess.check_output(["fc-match", "DejaVu Sans", "-f", "%{file}"]).decode()
    charmap = ft2font.FT2Font(path).get_charmap()
    return all(ord(ch) in charmap for ch in text if not ch.isspace())


CONTRAST_JS = """
function lum(c) {
  const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const v = m[1].split(',').map(parseFloat);
  const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
  return [0.2126 * f(v[0]) + 0.7152 * f(v[1]) + 0.0722 * f(v[2]), v.length > 3 ? v[3] : 1];
}
function background(el) {
  while (el) {
    const b = getComputedStyle(el).backgroundColor; const l = lum(b);
    if (l && l[1] > 0.5) return l[0];
    el = el.parentElement;
  }
  return lum('rgb(11,17,24)')[0];
}
const el = document.querySelector(arguments[0]);
const fg = lum(getComputedStyle(el).color)[0], bg = background(el);
return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
"""


def test_side_panels_start_collapsed_and_the_legend_is_in_view(
    browser_ready: None, dash_duo: Any, map_store: Store
) -> None:
    start(dash_duo, map_store)
    dash_duo.driver.set_window_size(1600, 1000)
    opened = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.hbm-panel')).filter(d => d.open).map(d => d.id)"
    )
    assert opened == ["panel-alerts"]
    in_view = dash_duo.driver.execute_script(
        "const r = document.querySelector('#legend').getBoundingClientRect();"
        "return r.top >= 0 && r.top < window.innerHeight && r.height > 0;"
    )
    assert in_view
    assert dash_duo.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
        " && document.querySelector('.hbm-side').scrollWidth <= document.querySelector('.hbm-side').clientWidth"
    )
    # Playback's label and slider value are readable on the dark panel.
    dash_duo.find_element("#panel-playback > summary").click()
    for selector in ("#playback-toggle label", ".hbm-panel > summary"):
        assert dash_duo.driver.execute_script(CONTRAST_JS, selector) >= 4.5, selector


@pytest.fixture
def alert_store(map_store: Store) -> Store:
    """The map store with a distress call inside sector AA of the sample SRR (the distress rule fires)."""
    sos = {
        "id": "sos-1",
        "occurred_at": datetime.now(UTC) - timedelta(minutes=20),
        "kind": "distress",
        "people": 7,
        "geometry": Point(31.1, 1.1),
        "location_precision_m": 10.0,
    }
    map_store.upsert("events", [sos])
    return map_store


def test_alert_names_place_and_plan_and_show_on_map_marks_the_point(
    browser_ready: None, dash_duo: Any, alert_store: Store
) -> None:
    start(dash_duo, alert_store)
    dash_duo.wait_for_contains_text("#alerts-list", "Distress", timeout=20)
    card = dash_duo.find_element("#alerts-list .hbm-alert").text
    assert "AA" in card and "“SRR”" in card, card  # the sector, and which plan it belongs to
    assert "near Bravo" in card or "near Alpha" in card, card  # a place an operator knows
    assert "sec-aa" not in card and "sos-1" not in card, card  # no internal ids
    dash_duo.find_element("#alerts-list .hbm-alert button").click()  # "Show on map"
    dash_duo.wait_for_element_by_css_selector(".hbm-alert-mark", timeout=10)
    lat, lng = dash_duo.driver.execute_script(
        "let out = null; window.hbmMap.eachLayer(function (l) {"
        " if (l.options && l.options.pane === 'hbm-alert-mark' && l.getLatLng) { const p = l.getLatLng();"
        " out = [p.lat, p.lng]; } }); return out;"
    )
    assert abs(lat - 1.1) < 1e-6 and abs(lng - 31.1) < 1e-6  # the distress call's own point
    assert "Distress" in dash_duo.find_element(".hbm-alert-mark-label").text


AXE_SOURCE = Path(__file__).parent / "fixtures" / "axe" / "axe.min.js"  # axe-core 4.14.1 from npm, MPL-2.0
AXE_JS = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(function (r) {
  done(r.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 4).map(function (n) { return n.target.join(' '); })};
  }));
}).catch(function (e) { done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]); });
"""


def axe_violations(dash_duo: Any) -> list[dict[str, Any]]:
    """Return axe-core's serious and critical violations on the page as it is now."""
    dash_duo.driver.execute_script(AXE_SOURCE.read_text(encoding="utf-8"))
    dash_duo.driver.set_script_timeout(60)
    found = dash_duo.driver.execute_async_script(AXE_JS)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_or_critical_violation_with_each_panel_open(
    browser_ready: None, dash_duo: Any, alert_store: Store
) -> None:
    start(dash_duo, alert_store)
    dash_duo.wait_for_contains_text("#alerts-list", "Distress", timeout=20)
    problems = {"default view": axe_violations(dash_duo)}
    for panel in ("playback", "exports", "sar", "audit"):
        dash_duo.find_element(f"#panel-{panel} > summary").click()
        time.sleep(0.5)
        problems[panel] = axe_violations(dash_duo)
        dash_duo.find_element(f"#panel-{panel} > summary").click()
    summary = {
        k: [(v["id"], v["impact"], [n.split(" :: ")[0] for n in v["nodes"]]) for v in vs] for k, vs in problems.items()
    }
    assert {k: v for k, v in summary.items() if v} == {}


SMALLEST_TEXT_JS = """
let smallest = 1000, where = '';
document.querySelectorAll('body *').forEach(function (el) {
  const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) return;
  const r = el.getBoundingClientRect();
  if (r.width <= 2 || r.height <= 2 || r.bottom < 0 || r.top > window.innerHeight) return;  // not sr-only text
  const size = parseFloat(getComputedStyle(el).fontSize);
  if (size < smallest) { smallest = size; where = el.className + ' ' + el.textContent.slice(0, 30); }
});
return [smallest, where];
"""


HOTSPOT_SCALE_IN_VIEW_JS = """
const box = document.querySelector('.hbm-legend-box').getBoundingClientRect();
const scale = document.getElementById('hotspot-legend');
const rows = scale.querySelectorAll('.hbm-legend-row');
const r = scale.getBoundingClientRect();
return rows.length >= 3 && r.top >= box.top && r.bottom <= Math.min(box.bottom, window.innerHeight);
"""


def test_wall_mode_from_the_address_and_the_toggle(browser_ready: None, dash_duo: Any, alert_store: Store) -> None:
    start(dash_duo, alert_store, path="/?wall=1")
    dash_duo.driver.set_window_size(1600, 1000)
    until(lambda: "wall" in dash_duo.find_element("#app-root").get_attribute("class"), timeout=10)
    assert not dash_duo.find_element(".hbm-side").is_displayed()  # side panel collapsed away
    assert dash_duo.find_element("#legend").is_displayed()  # the legend stays in view
    assert dash_duo.driver.execute_script(HOTSPOT_SCALE_IN_VIEW_JS), "the hotspot scale must be in view on a wall"
    dash_duo.wait_for_contains_text("#alert-badge", "alert", timeout=20)  # the banner for the open alert
    size, where = dash_duo.driver.execute_script(SMALLEST_TEXT_JS)
    assert size >= 14, where
    status = dash_duo.driver.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('#status-line')).fontSize)"
    )
    assert status >= 24
    dash_duo.find_element("#wall-toggle").click()  # and back to the operator's layout
    until(lambda: "wall" not in dash_duo.find_element("#app-root").get_attribute("class"), timeout=5)
    assert dash_duo.find_element(".hbm-side").is_displayed()


def test_offline_html_popups_are_labelled_in_order_without_internal_ids(
    browser_ready: None, map_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selenium import webdriver

    from layers.services.exports.collect import collect
    from layers.services.exports.html import write_html
    from layers.services.exports.settings import load_export_settings
    from layers.view import View
    from tests.helpers import chrome_options
    from tests.helpers.browser import OPEN_EVERY_POPUP_JS

    monkeypatch.setenv("HBM_DISPLAY_TZ", "Africa/Kampala")
    now = datetime.now(UTC)
    view = View(start=now - timedelta(days=2), end=now, zoom=7.0, bbox=(29.0, 0.0, 33.5, 4.5), resolution=5)
    out = tmp_path / "brief.html"
    write_html(collect(map_store, view, load_export_settings(), who="test", title="Brief"), out)
    driver = webdriver.Chrome(options=chrome_options())
    try:
        driver.get(out.as_uri())
        driver.implicitly_wait(5)
        driver.find_element("css selector", ".leaflet-container")
        assert driver.execute_script(OPEN_EVERY_POPUP_JS) > 0
        popups = driver.execute_script(
            "return Array.from(document.querySelectorAll('#popups > div')).map(d => d.innerText)"
        )
    finally:
        driver.quit()
    alpha = next(p for p in popups if p.startswith("Alpha"))
    lines = alpha.splitlines()
    assert lines[1].startswith("Type") and lines[2].startswith("Status"), lines  # labelled, in the panel's order
    assert "Official border crossing point" in alpha and "Capacity per day\t100" in alpha
    sector = next(p for p in popups if "Search sector" in p)
    assert "0.500" in sector and "Boat 1" in sector
    everything = "\n".join(popups)
    for internal in ("cp-a", "sec-aa", "rt-a", "_s", "parent id", "cluster"):
        assert internal not in everything, internal
    route = next(p for p in popups if p.startswith("Lake"))
    assert "EAT (UTC+03:00)" in route  # the last-observed time, in the display zone


def test_every_control_is_reachable_with_the_keyboard(browser_ready: None, dash_duo: Any, map_store: Store) -> None:
    from selenium.webdriver.common.keys import Keys

    start(dash_duo, map_store)
    for summary in dash_duo.find_elements("details.hbm-panel:not([open]) > summary"):
        summary.click()  # with every panel open
    dash_duo.driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    body = dash_duo.find_element("body")
    body.send_keys(Keys.TAB)
    reached: set[str] = set()
    for _ in range(260):
        reached.add(
            dash_duo.driver.execute_script(
                "const el = document.activeElement;"
                "return el.id || (el.name ? 'name:' + el.name : '') || (el.tagName === 'SUMMARY' ? "
                "'summary:' + el.textContent.trim() : '') ||"
                " (el.closest('[id]') ? 'in:' + el.closest('[id]').id : el.tagName);"
            )
        )
        dash_duo.driver.switch_to.active_element.send_keys(Keys.TAB)
    wanted = {
        "name:window",
        "name:metric",
        "name:statistic",
        "name:suppress",
        "wall-toggle",
        "name:playback-toggle",
        "name:playback-mode",
        "name:playback-step",  # Play: disabled until playback is on
        "sar-datum",
        "sar-radius",
        "sar-size",
        "sar-name",
        "sar-preview-btn",
        "sar-save-btn",
        "summary:Time playback",
        "summary:SAR planning",
        "summary:Legend",
        "alerts-who",
    }
    missing = wanted - reached
    assert not missing, (missing, sorted(reached))
    # The map itself and its layer switches take focus too.
    assert "map" in reached or any(r.startswith("in:map") for r in reached)
