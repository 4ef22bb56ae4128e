"""Languages in a real browser (issue 12): no English left on the French page, the Arabic page right-to-left.

What counts as "English left": any word of the English source strings (every msgid in hbm.pot) or of a
short list of words libraries show ("Select", "Loading", "Zoom" …) that the French catalog does not
also use (so "Plan", "zone", "source", "notes" are not flagged), found in a visible text node, or in any
``title``, ``aria-label``, ``placeholder`` or ``alt`` attribute, or the document title, after every panel
is opened and a crossing point clicked. Not English, by decision (docs/languages.md):
- data from the store: names, ids, teams and authorities of crossing points, routes and SAR zones, and
  alert rule ids (the audit's targets), as stored;
- labels drawn on the map itself (inside Leaflet's map pane: place and feature names);
- the language selector's own names (each language is named in itself);
- technical names and units: H3, Gi*, SAR, SRR, POA/POD/POS, BCP, DTM, UTC, km, PDF, PNG, HTML, JSON,
  GeoJSON, GeoPackage, KML, CSV, GPX, A3/A4, dpi, Leaflet, Natural Earth, world-atlas, numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from dashboard.app import create_app
from dashboard.settings import load_app_settings
from data.demo import demo_features
from data.demo_events import demo_events
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.i18n import LANGUAGES, LOCALE_DIR, po_path
from tests.helpers import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "screenshot-ar.png"
LIBRARY_WORDS = set(
    "select loading search results found zoom draw delete cancel finish save clear edit click show hide close more "
    "less next previous the and for with from this that your you please error retry update updated map maps".split()
)
NOT_ENGLISH = set(
    "h3 gi sar srr poa pod pos bcp dtm utc km pdf png html json geojson geopackage kml csv gpx dpi leaflet natural "
    "earth world atlas web mercator hbm english res".split()
)
WALK_JS = """
document.querySelectorAll('details').forEach(function (d) { d.open = true; });
function visible(el) {
  if (!el) return false;
  var s = getComputedStyle(el);
  return s.display !== 'none' && s.visibility !== 'hidden' && el.getClientRects().length > 0;
}
var out = [];
var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  var node = walker.currentNode, el = node.parentElement, text = node.nodeValue.trim();
  if (!text || !visible(el)) continue;
  if (el.closest('script, style, #hbm-i18n, .hbm-langs, .leaflet-map-pane')) continue;
  out.push(text);
}
document.querySelectorAll('[title], [aria-label], [placeholder], [alt]').forEach(function (el) {
  if (el.closest('.hbm-langs, .leaflet-map-pane')) return;
  ['title', 'aria-label', 'placeholder', 'alt'].forEach(function (name) {
    var v = el.getAttribute(name);
    if (v && v.trim()) out.push(v.trim());
  });
});
out.push(document.title);
return out;
"""


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[^\W\d_]{2,}", text)}


def english_words(language: str) -> set[str]:
    """Return the words that mark a string as English on a page in ``language`` (see the module docstring)."""
    with (LOCALE_DIR / "hbm.pot").open("rb") as handle:
        source = read_po(handle)
    with po_path(language).open("rb") as handle:
        target = read_po(handle, locale=language)
    english: set[str] = set(LIBRARY_WORDS)
    for message in source:
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            english |= _words(re.sub(r"\{[^}]*\}", " ", text))
    translated: set[str] = set()
    for message in target:
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            translated |= _words(re.sub(r"\{[^}]*\}", " ", text or ""))
    return english - translated - NOT_ENGLISH


def store_names(store: Store) -> list[str]:
    """Return the names and ids stored for the map's features (data, shown as stored), longest first."""
    names: set[str] = set()
    for table in ("crossing_points", "routes", "sar_zones"):
        frame = store.features(table)
        for column in ("name", "id", "label", "team", "authority"):
            if column in frame.columns:
                names |= {str(v) for v in frame[column].dropna()}
    from data.alerts import load_rules

    names |= {rule.id for rule in load_rules(store)}  # the audit's targets name rules by id
    return sorted(names, key=len, reverse=True)


def english_left(texts: list[str], english: set[str], names: list[str]) -> list[str]:
    """Return the strings that still hold an English word once stored names are taken out."""
    left = []
    for text in texts:
        rest = text
        for name in names:
            rest = rest.replace(name, " ")
        hits = _words(rest) & english
        if hits:
            left.append(f"{text!r} ({', '.join(sorted(hits))})")
    return sorted(set(left))


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'i18n.sqlite'}"))
    store.init_schema()
    now = datetime.now(UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    store.upsert_events(demo_events(4000, now))
    yield store
    store.dispose()


def _start(dash_duo: Any, store: Store, language: str) -> None:
    settings = load_app_settings(refresh_seconds=2, synthetic=True, auth=False, language=language)
    dash_duo.start_server(create_app(settings, store), port=free_port())
    dash_duo.wait_for_element_by_css_selector("#status-events", timeout=30)
    dash_duo.wait_for_element_by_css_selector(".hbm-alert", timeout=30)  # the demo's alerts, rendered
    dash_duo.wait_for_element_by_css_selector(".cp-marker", timeout=20)
    dash_duo.driver.execute_script("document.querySelector('.cp-marker').click();")
    dash_duo.wait_for_element_by_css_selector("#details table", timeout=10)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_page_has_no_english_left(browser_ready: None, dash_duo: Any, demo_store: Store, language: str) -> None:
    _start(dash_duo, demo_store, language)
    texts = dash_duo.driver.execute_script(WALK_JS)
    assert len(texts) > 80  # the walk saw the page: header, controls, panels, legend, alerts, details
    left = english_left(texts, english_words(language), store_names(demo_store))
    assert not left, f"English left on the {LANGUAGES[language]} page:\n" + "\n".join(left)


def test_the_english_check_finds_english(browser_ready: None, dash_duo: Any, demo_store: Store) -> None:
    """The check is not vacuous: the same walk over the English page reports many strings."""
    _start(dash_duo, demo_store, "en")
    left = english_left(dash_duo.driver.execute_script(WALK_JS), english_words("fr"), store_names(demo_store))
    assert len(left) > 40
    assert any("Legend" in line for line in left) and any("Crossing points" in line for line in left)


def test_arabic_page_is_right_to_left(browser_ready: None, dash_duo: Any, demo_store: Store) -> None:
    driver = dash_duo.driver
    driver.set_window_size(1024, 768)  # the SAR table once hung RTL pages this narrow (hbm.css)
    _start(dash_duo, demo_store, "ar")
    driver.set_window_size(1600, 1000)
    layout = driver.execute_script(
        """
        var side = document.querySelector('.hbm-side').getBoundingClientRect();
        var map = document.querySelector('.hbm-map').getBoundingClientRect();
        var status = document.querySelector('.hbm-status').getBoundingClientRect();
        var title = document.querySelector('.hbm-title').getBoundingClientRect();
        return {
          lang: document.documentElement.lang,
          dir: document.documentElement.dir,
          bodyDirection: getComputedStyle(document.body).direction,
          mapDirection: getComputedStyle(document.querySelector('.leaflet-container')).direction,
          sideRight: side.right, mapLeft: map.left, titleRight: title.right, statusLeft: status.left,
          width: window.innerWidth,
        };
        """
    )
    assert layout["lang"] == "ar" and layout["dir"] == "rtl" and layout["bodyDirection"] == "rtl"
    assert layout["mapDirection"] == "ltr"  # the map keeps its left-to-right coordinates
    assert layout["sideRight"] <= layout["mapLeft"] + 1  # the side panel is mirrored to the left
    assert layout["titleRight"] > layout["width"] * 0.6  # the title starts at the right
    assert layout["statusLeft"] < layout["width"] * 0.5  # the status line sits at the (logical) end: left
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOT))


def test_language_selector_works_from_the_keyboard(browser_ready: None, dash_duo: Any, demo_store: Store) -> None:
    _start(dash_duo, demo_store, "en")
    driver = dash_duo.driver
    driver.execute_script("document.activeElement && document.activeElement.blur();")
    for _ in range(40):  # Tab from the top of the page until the French link has the focus
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
        if active.get_attribute("lang") == "fr" and "hbm-lang" in (active.get_attribute("class") or ""):
            break
    else:
        pytest.fail("the French language link is not reachable with Tab")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    dash_duo.wait_for_text_to_equal(".hbm-side h3", "SÉLECTION", timeout=20)
    assert driver.execute_script("return document.documentElement.lang") == "fr"
    assert "current" in dash_duo.find_element(".hbm-lang[lang=fr]").get_attribute("class")
    driver.refresh()  # the choice is kept (cookie, as there is no sign-in in the demo)
    dash_duo.wait_for_text_to_equal(".hbm-side h3", "SÉLECTION", timeout=20)
