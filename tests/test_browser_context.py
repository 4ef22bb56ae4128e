"""Geographic context on the live map in headless chromium: lakes drawn, towns labelled, no label overlaps.

Issue 12 items 10 and 11, checked the way an operator sees them: at 1600×1000, in the default demo
view and zoomed on each crossing cluster, by the labels' on-screen bounding boxes and the screen's pixels.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from shapely.geometry import Point, shape

from dashboard.app import create_app
from dashboard.layout import LAYER_ORDER, initial_zoom
from dashboard.settings import load_app_settings
from data.demo import demo_features
from data.demo_events import demo_events
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.context import lakes_geojson
from tests.helpers import free_port

pytestmark = pytest.mark.browser

TOWNS = ("Arua", "Gulu", "Bunia", "Goma", "Kasese", "Juba")
LAKE_FILL = (0x1D, 0x5A, 0x8A)  # context.js lakeStyle fillColor

# Move the map without animation and wait until the label placement has run for the new view.
SET_VIEW_JS = """
const [lat, lng, zoom, done] = arguments;
const map = window.hbm.maps[0];
const before = map._hbmDeclutterRuns || 0;
map.setView([lat, lng], zoom, {animate: false});
map._hbmDeclutter();  // also when the view did not change
const wait = () => ((map._hbmDeclutterRuns || 0) > before ? done(true) : setTimeout(wait, 30));
setTimeout(wait, 30);
"""

# Every label the user can see right now: text, kind and its bounding box, inside the map.
LABELS_JS = """
const box = window.hbm.maps[0].getContainer().getBoundingClientRect();
const out = [];
document.querySelectorAll('.cp-label, .place-label, .country-label').forEach(el => {
  const r = el.getBoundingClientRect();
  const hidden = getComputedStyle(el).visibility === 'hidden' || !el.offsetParent;
  const outside = r.right < box.left || r.left > box.right || r.bottom < box.top || r.top > box.bottom;
  if (hidden || r.width === 0 || outside) return;
  out.push({text: el.textContent, cls: el.className, l: r.left, r: r.right, t: r.top, b: r.bottom,
            size: parseFloat(getComputedStyle(el).fontSize)});
});
return out;
"""


def _overlapping(labels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]:
                pairs.append((a["text"], b["text"]))
    return pairs


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite'}"))
    store.init_schema()
    now = datetime.now(UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    store.upsert_events(demo_events(3000, now - timedelta(minutes=1)))
    yield store
    store.dispose()


def _start(dash_duo, store: Store) -> Any:  # type: ignore[no-untyped-def]
    settings = load_app_settings(synthetic=True)
    dash_duo.driver.set_window_size(1600, 1000)
    dash_duo.start_server(create_app(settings, store), port=free_port())
    dash_duo.wait_for_element_by_css_selector(".cp-label", timeout=20)
    dash_duo.wait_for_element_by_css_selector(".place-label", timeout=20)
    dash_duo.driver.set_script_timeout(20)
    return settings


def _view(dash_duo, lat: float, lng: float, zoom: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    dash_duo.driver.execute_async_script(SET_VIEW_JS, lat, lng, zoom)
    # Judge the settled layout: a live refresh may redraw markers and re-place labels just then.
    labels = list(dash_duo.driver.execute_script(LABELS_JS))
    for _ in range(10):
        time.sleep(0.3)
        again = list(dash_duo.driver.execute_script(LABELS_JS))
        if again == labels:
            break
        labels = again
    return labels


def test_crossing_labels_never_overlap_at_zooms_7_to_12(browser_ready: None, dash_duo, demo_store: Store) -> None:  # type: ignore[no-untyped-def]
    settings = _start(dash_duo, demo_store)
    w, s, e, n = settings.region
    crossings = {c["name"]: c["geometry"] for c in demo_features(datetime.now(UTC))["crossing_points"]}
    centres = [((s + n) / 2, (w + e) / 2)] + [(p.y, p.x) for p in crossings.values()]
    seen_crossing_labels = set()
    for zoom in range(7, 13):
        for lat, lng in centres:
            labels = _view(dash_duo, lat, lng, zoom)
            assert _overlapping(labels) == [], f"labels overlap at zoom {zoom} around {lat:.2f},{lng:.2f}"
            shown = [lab for lab in labels if "cp-label" in lab["cls"]]
            assert shown, f"no crossing label at all at zoom {zoom} around {lat:.2f},{lng:.2f}"
            assert all(lab["size"] >= 14 for lab in labels), "labels must be 14 px or more for a wall screen"
            seen_crossing_labels.update(lab["text"] for lab in shown)
    # Decluttering hides a label only where it must: zoomed in, every crossing is named somewhere.
    assert seen_crossing_labels == set(crossings)
    # Priority: the official crossing keeps its name where an informal one is hidden next to it.
    labels = _view(dash_duo, (s + n) / 2, (w + e) / 2, initial_zoom(settings.region))
    names = {lab["text"] for lab in labels}
    assert "Bunagana" in names and "Elegu / Nimule" in names
    severe = [entry for entry in dash_duo.get_logs() or [] if entry.get("level") == "SEVERE"]
    assert severe == []


def test_default_view_draws_lake_albert_and_labels_towns(browser_ready: None, dash_duo, demo_store: Store) -> None:  # type: ignore[no-untyped-def]
    settings = _start(dash_duo, demo_store)
    w, s, e, n = settings.region
    # Hide the four data layers' panes so only the basemap is judged, then read the screen's pixels.
    hide = "document.querySelectorAll(arguments[0]).forEach(p => { p.style.display = arguments[1]; });"
    panes = ", ".join(f".leaflet-{p}-pane" for p in ("marker", "tooltip", "hbm-places", "hbm-country-labels"))
    panes += ", " + ", ".join(f".leaflet-hbm-{p}-pane" for p in LAYER_ORDER)
    dash_duo.driver.execute_script(hide, panes, "none")
    _view(dash_duo, (s + n) / 2, (w + e) / 2, initial_zoom(settings.region))  # the default view
    lakes = {
        name: next(
            shape(f["geometry"]) for f in lakes_geojson(settings.region)["features"] if shape(f["geometry"]).contains(p)
        )
        for name, p in {"Lake Albert": Point(30.95, 1.75), "Lake Edward": Point(29.6, -0.35)}.items()
    }
    shot = Image.open(io.BytesIO(dash_duo.driver.get_screenshot_as_png())).convert("RGB")
    for name, lake in lakes.items():
        inner = lake.buffer(-0.04)
        points = [inner.representative_point()] + [
            inner.exterior.interpolate(f, normalized=True) for f in (0.0, 0.25, 0.5, 0.75)
        ]
        for p in points:
            x, y = dash_duo.driver.execute_script(
                "const map = window.hbm.maps[0]; const pt = map.latLngToContainerPoint([arguments[0], arguments[1]]);"
                "const box = map.getContainer().getBoundingClientRect(); return [pt.x + box.left, pt.y + box.top];",
                p.y,
                p.x,
            )
            pixel = shot.getpixel((int(x), int(y)))
            assert all(abs(a - b) <= 8 for a, b in zip(pixel, LAKE_FILL, strict=True)), (
                f"{name} not drawn at {p}: {pixel} at {x},{y}"
            )
    dash_duo.driver.execute_script(hide, panes, "")

    towns = {lab["text"] for lab in _view(dash_duo, (s + n) / 2, (w + e) / 2, 8) if "place-label" in lab["cls"]}
    assert len(towns) >= 5, towns
    for town in TOWNS:  # each named town is labelled at zoom 8 and above when it is on screen
        for zoom in (8, 10):
            place = next(p for p in _places() if p["name"] == town)
            shown = {lab["text"] for lab in _view(dash_duo, place["lat"], place["lng"], zoom)}
            assert town in shown, f"{town} not labelled at zoom {zoom}"
        assert town not in {lab["text"] for lab in _view(dash_duo, place["lat"], place["lng"], 5)}


def _places() -> list[dict[str, Any]]:
    from layers.context import places

    return places()


def test_offline_html_has_the_context_and_no_overlapping_labels(
    browser_ready: None,
    dash_duo,  # type: ignore[no-untyped-def]
    demo_store: Store,
    tmp_path: Path,
) -> None:
    from layers.services.exports import run_export
    from layers.services.exports.settings import load_export_settings
    from layers.view import View

    now = datetime.now(UTC)
    out = tmp_path / "map.html"
    view = View(start=now - timedelta(hours=24), end=now, zoom=8.0, bbox=(29.5, 0.0, 32.5, 4.0), window_label="24h")
    run_export(demo_store, view, "html", out, who="t", settings=load_export_settings(), title="Brief")
    dash_duo.driver.set_window_size(1600, 1000)
    dash_duo.driver.get(out.as_uri())
    dash_duo.wait_for_element_by_css_selector(".place-label", timeout=20)
    dash_duo.driver.set_script_timeout(20)
    for zoom in range(7, 13):
        for lat, lng in ((2.0, 31.0), (3.578, 32.066), (1.41, 30.45)):
            labels = _view(dash_duo, lat, lng, zoom)
            assert _overlapping(labels) == [], f"HTML labels overlap at zoom {zoom} around {lat},{lng}"
    towns = {lab["text"] for lab in _view(dash_duo, 2.0, 31.0, 8) if "place-label" in lab["cls"]}
    assert {"Arua", "Gulu", "Bunia"} <= towns
    lakes = dash_duo.driver.execute_script("return document.querySelectorAll('path[fill=\"#1d5a8a\"]').length;")
    assert lakes > 0  # lakes drawn with the live map's lake fill
