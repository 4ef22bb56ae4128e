"""Free text is rendered as text: script and onerror payloads in names, teams, notes and alert evidence.

The payloads go where people type free text (crossing and route names, SAR zone, plan and team names,
event notes) and where the app repeats it (an alert raised when a crossing named with a payload closes,
the audit log). They must come back as text in the dashboard's components, the live page in a real
browser, the offline HTML export (opened in headless chromium) and KML (parsed as XML). Every store
query is parameterised: SQL payloads in the same fields are stored and read back verbatim on both backends.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dash import dash_table, dcc, html
from dash.development.base_component import Component
from shapely.geometry import Point, box

from dashboard.app import create_app
from dashboard.callbacks import describe_feature
from dashboard.panels.alerts import render_alert
from dashboard.panels.audit import audit_rows
from dashboard.panels.sar import layout as sar_layout
from dashboard.panels.sar import save_new_plan, summary_text, table_rows
from dashboard.permissions import DEMO_USER
from dashboard.settings import load_app_settings
from data.alerts import list_alerts
from data.sar_edits import update_sector
from data.sar_plans import load_plan
from data.store import Store
from layers.features import LAYERS
from layers.services.alerts import ensure_default_rules, evaluate_rules
from layers.services.exports.collect import collect
from layers.services.exports.extracts import write_kml
from layers.services.exports.html import write_html
from layers.services.exports.settings import load_export_settings
from layers.view import View
from tests.helpers import chrome_options, free_port, sample_events, sample_features
from tests.helpers.browser import OPEN_EVERY_POPUP_JS

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SQL = "Robert'); DROP TABLE events; --"
PAYLOADS = (SCRIPT, IMG)


def hostile_features() -> dict[str, list[dict[str, Any]]]:
    """The sample data with payloads in every free-text field a person types."""
    features = sample_features()
    features["crossing_points"][0]["name"] = "Alpha " + SCRIPT
    features["crossing_points"][1]["name"] = "Bravo " + IMG
    features["routes"][0]["name"] = "Lake " + IMG
    features["sar_zones"][0]["name"] = "SRR " + SCRIPT
    features["sar_zones"][1]["team"] = "Boat " + IMG
    return features


def hostile_events(now: datetime) -> list[dict[str, Any]]:
    """The sample events, half of them with a payload in the notes."""
    rows = sample_events(now=now)
    for i, row in enumerate(rows):
        row["notes"] = PAYLOADS[i % 2]
    return rows


def seed_hostile(store: Store, now: datetime) -> None:
    """Seed the payloads, then close crossing Alpha so that an alert repeats its name."""
    features = hostile_features()
    for table, rows in features.items():
        store.upsert(table, rows)
    store.upsert("events", hostile_events(now - timedelta(minutes=2)))
    ensure_default_rules(store, now)  # type: ignore[arg-type]
    evaluate_rules(store, now)  # type: ignore[arg-type]  # remembers the statuses
    store.upsert("crossing_points", [{**features["crossing_points"][0], "status": "closed"}])
    evaluate_rules(store, now + timedelta(seconds=1))  # type: ignore[arg-type]


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None) if isinstance(node, Component) else node
    if isinstance(children, list | tuple):
        for child in children:
            yield from _walk(child)
    elif isinstance(children, Component | str) and children is not node:
        yield from _walk(children)


def assert_text_only(tree: Any, *payloads: str) -> None:
    """Assert the component tree holds each payload as a text child, and nothing that could render HTML."""
    nodes = list(_walk(tree))
    texts = " ".join(n for n in nodes if isinstance(n, str))
    for payload in payloads:
        assert payload in texts
    for node in nodes:
        if isinstance(node, Component):
            assert not isinstance(node, dcc.Markdown | html.Iframe | html.Script), node
            assert "dangerouslySetInnerHTML" not in node.to_plotly_json()["props"]


@pytest.fixture
def hostile(sqlite_store: Store) -> Store:
    seed_hostile(sqlite_store, datetime.now(UTC))
    return sqlite_store


def test_details_panel_shows_names_as_text(hostile: Store) -> None:
    now = datetime.now(UTC)
    view = View(start=now - timedelta(days=2), end=now)
    for layer, payload in (("crossing_points", SCRIPT), ("routes", IMG), ("sar_zones", SCRIPT)):
        features = LAYERS[layer].build(hostile, view)["features"]
        feature = next(f for f in features if payload in str(f["properties"].get("name")))
        assert_text_only(describe_feature(feature, layer), payload)
    sector = next(f for f in LAYERS["sar_zones"].build(hostile, view)["features"] if f["properties"]["team"])
    assert_text_only(describe_feature(sector, "sar_zones"), IMG)


def test_alert_card_repeats_a_hostile_crossing_name_as_text(hostile: Store) -> None:
    alerts = [a for a in list_alerts(hostile, status="open") if a.subject == "crossing:cp-a"]  # type: ignore[arg-type]
    assert len(alerts) == 1 and SCRIPT in alerts[0].title and alerts[0].evidence["name"] == "Alpha " + SCRIPT
    assert_text_only(render_alert(alerts[0]), "Crossing point Alpha " + SCRIPT + " is closed", "Alpha " + SCRIPT)


def test_sar_table_and_summary_keep_plan_and_team_names_as_text(hostile: Store) -> None:
    form = {
        "source": "datum",
        "drawn": None,
        "datum": "1.4,30.7",
        "radius": 5,
        "event": None,
        "method": "grid",
        "rotate": True,
        "size": 20,
        "poa": "uniform",
        "rest": 0,
        "name": "Plan " + SCRIPT,
    }
    plan_id = save_new_plan(hostile, form)
    plan = load_plan(hostile, plan_id)
    first = str(plan.sectors["id"].iloc[0])
    plan = update_sector(hostile, plan_id, plan.version, first, team="Team " + IMG, notes="Notes " + SCRIPT)
    assert_text_only(html.Div(summary_text(plan)), "Plan " + SCRIPT)
    assert next(r for r in table_rows(plan) if r["id"] == first)["team"] == "Team " + IMG
    table = next(n for n in _walk(sar_layout(load_app_settings())) if isinstance(n, dash_table.DataTable))
    assert all(c.get("presentation", "input") != "markdown" for c in table.columns)  # cells are text, not markdown
    assert not getattr(table, "markdown_options", None)


def test_audit_panel_shows_targets_as_text(hostile: Store) -> None:
    from data import audit_log

    audit_log.note(hostile, "sar_plan_create", "plan " + IMG, who="ada")
    _note, rows = audit_rows(hostile, DEMO_USER)
    assert_text_only(html.Table(rows), "plan " + IMG)


@pytest.fixture
def hostile_export(hostile: Store):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    view = View(start=now - timedelta(days=2), end=now, zoom=7.0, bbox=(29.0, 0.0, 33.5, 4.5), resolution=5)
    settings = load_export_settings(allow_raw_events=True)  # raw points go out, but never their notes
    return collect(hostile, view, settings, who="test " + IMG, title="Brief " + SCRIPT)


def test_kml_holds_payloads_as_character_data(hostile_export: Any, tmp_path: Path) -> None:
    out = tmp_path / "hostile.kml"
    write_kml(hostile_export, out)
    root = ET.parse(out).getroot()  # a payload that became markup would break the XML or add elements
    tags = {el.tag.rsplit("}", 1)[-1].lower() for el in root.iter()}
    assert not tags & {"script", "img"}
    text = [el.text or "" for el in root.iter()]
    assert "Alpha " + SCRIPT in text and "Bravo " + IMG in text and "Lake " + IMG in text
    assert "SRR " + SCRIPT in text and "Boat " + IMG in text
    assert hostile_export.counts()["events"] > 0 and not [t for t in text if t in PAYLOADS]  # notes never leave
    assert "test " + IMG in text  # who exported it, in the metadata folder


@pytest.mark.browser
def test_offline_html_export_shows_payloads_as_text(browser_ready: None, hostile_export: Any, tmp_path: Path) -> None:
    from selenium import webdriver

    out = tmp_path / "hostile.html"
    write_html(hostile_export, out)
    driver = webdriver.Chrome(options=chrome_options())
    try:
        driver.get(out.as_uri())
        driver.implicitly_wait(5)
        driver.find_element("css selector", ".leaflet-container")
        shown = driver.execute_script(OPEN_EVERY_POPUP_JS)
        assert shown == sum(len(frame) for frame in hostile_export.layers.values())  # every feature has a popup
        text = driver.execute_script("return document.body.innerText")
        for payload in ("Alpha " + SCRIPT, "Bravo " + IMG, "Lake " + IMG, "SRR " + SCRIPT, "Boat " + IMG):
            assert payload in text, payload
        assert not [line for line in text.splitlines() if line.strip() in PAYLOADS]  # raw points carry no notes
        assert "Brief " + SCRIPT in driver.title
        assert driver.execute_script("return window.__xss") is None
        assert driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    finally:
        driver.quit()


# Every folium map is a global ``map_<id>``; open each feature's popup in turn and keep its content.


@pytest.mark.browser
def test_live_page_shows_payloads_as_text(browser_ready: None, dash_duo: Any, hostile: Store) -> None:
    settings = load_app_settings(refresh_seconds=2, region_bbox="29.5,0.5,33.5,4.5")
    dash_duo.start_server(create_app(settings, hostile), port=free_port())
    dash_duo.wait_for_contains_text(".hbm-alerts", "Crossing point Alpha " + SCRIPT + " is closed", timeout=25)
    wanted = {"Alpha " + SCRIPT, "Bravo " + IMG}
    labels: list[str] = []
    deadline = time.monotonic() + 20  # labels are placed after the layer paints; a loaded machine is slow
    while not wanted <= set(labels) and time.monotonic() < deadline:
        labels = dash_duo.driver.execute_script(  # the crossing points' name tooltips, read at once (a refresh
            "return Array.from(document.querySelectorAll('.cp-label')).map(e => e.innerText)"  # may redraw them)
        )
        time.sleep(0.2)
    assert wanted <= set(labels), labels
    dash_duo.find_elements(".cp-marker")[0].click()
    dash_duo.wait_for_contains_text("#details", "Crossing points", timeout=10)
    assert any(p in dash_duo.find_element("#details").text for p in ("Alpha " + SCRIPT, "Bravo " + IMG))
    assert dash_duo.driver.execute_script("return window.__xss") is None
    assert dash_duo.driver.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0


# -- every store query is parameterised ---------------------------------------------------------------------
def test_sql_payloads_are_stored_verbatim(store: Store) -> None:
    rows = [
        {"id": SQL, "name": SQL, "kind": "official", "status": "open", "geometry": Point(32.0, 3.5)},
        {
            "id": "cp-quote",
            "name": 'O\'Neil "quoted" ; --',
            "kind": "informal",
            "status": "open",
            "geometry": Point(32.1, 3.5),
        },
    ]
    store.upsert("crossing_points", rows)
    store.upsert(
        "sar_zones", [{"id": "z", "name": SQL, "kind": "srr", "status": "planned", "geometry": box(31, 1, 32, 2)}]
    )
    now = datetime.now(UTC)
    store.upsert(
        "events",
        [
            {
                "id": "e1",
                "occurred_at": now,
                "kind": "sighting",
                "people": 1,
                "notes": SQL,
                "crossing_point_id": SQL,
                "geometry": Point(32.0, 3.5),
            }
        ],
    )
    frame = store.features("crossing_points")
    assert set(frame["name"]) == {SQL, 'O\'Neil "quoted" ; --'} and SQL in set(frame["id"])
    assert set(store.features("sar_zones")["name"]) == {SQL}
    flows = store.flows_by("crossing_point_id", now - timedelta(hours=1), now + timedelta(minutes=1))
    assert list(flows.iloc[:, 0]) == [SQL]
    assert store.counts()["events"] == 1  # the events table is still there
    store.soft_delete("crossing_points", [SQL])
    assert list(store.features("crossing_points")["id"]) == ["cp-quote"]
