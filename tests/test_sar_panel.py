"""The SAR panel's callbacks as plain functions: preview, save, edits with conflicts, exports, layout."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from dash import no_update
from shapely.geometry import box, mapping

from dashboard.app import create_app
from dashboard.layout import map_component
from dashboard.panels.sar import (
    SarId,
    clicked_plan,
    edit_plan,
    export_plan,
    highlight,
    preview_geojson,
    save_new_plan,
    table_rows,
)
from dashboard.settings import load_app_settings
from data.sar_plans import load_plan
from data.store import Store
from geo.errors import HbmError

DRAWN = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": mapping(box(30.6, 1.3, 30.8, 1.45)), "properties": {"type": "polygon"}}
    ],
}


def _form(**changes: Any) -> dict[str, Any]:
    form = {
        "source": "drawn",
        "drawn": DRAWN,
        "datum": None,
        "radius": None,
        "event": None,
        "method": "grid",
        "rotate": True,
        "size": 40,
        "poa": "uniform",
        "rest": 10,
        "name": "Panel <plan>",
    }
    form.update(changes)
    return form


def test_preview_shades_by_poa(sqlite_store: Store) -> None:
    data, top, text = preview_geojson(sqlite_store, _form())
    poas = [f["properties"]["poa"] for f in data["features"]]
    assert sum(poas) == pytest.approx(0.9)  # 10 % rest of world
    assert top == max(poas)
    assert text.startswith(f"{len(poas)} sectors")
    labels = [f["properties"]["label"] for f in data["features"]]
    assert labels[0] == "AA" and len(set(labels)) == len(labels)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"drawn": {"type": "FeatureCollection", "features": []}}, "no polygon drawn"),
        ({"source": "datum", "datum": "1.4,30.7", "radius": ""}, "radius"),
        ({"source": "datum", "datum": "north", "radius": 5}, "LAT,LON"),
        ({"source": "event", "event": " "}, "distress event"),
        ({"size": "lots"}, "must be a number"),
        ({"rest": 100}, "rest-of-world"),
    ],
)
def test_preview_errors_are_one_line(sqlite_store: Store, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(HbmError, match=message):
        preview_geojson(sqlite_store, _form(**changes))


def test_save_then_edit_with_a_conflict(store: Store) -> None:
    plan_id = save_new_plan(store, _form(source="datum", datum="1.4,30.7", radius=8))
    plan = load_plan(store, plan_id)
    rows = table_rows(plan)
    first = rows[0]["id"]
    seen_a = {"plan_id": plan_id, "version": 1}
    rows, _text, seen, msg, cls = edit_plan(store, "sector", seen_a, [first], "Boat 1", "assigned", None, None, None)
    assert cls.endswith("ok") and seen["version"] == 2 and rows[0]["team"] == "Boat 1"
    # Coordinator B still shows version 1: the sortie is refused, the latest plan comes back.
    rows_b, _t, seen_b, msg_b, cls_b = edit_plan(store, "sortie", seen_a, [first], "", "", 500, 500, None)
    assert cls_b.endswith("error") and "changed by someone else (version 1 → 2)" in msg_b
    assert seen_b["version"] == 2 and rows_b[0]["team"] == "Boat 1" and rows_b[0]["sorties"] == 0
    rows_b, _t, seen_b, msg_b, cls_b = edit_plan(store, "sortie", seen_b, [first], "", "", 500, 500, None)
    assert "Sortie recorded" in msg_b and rows_b[0]["cum_pod"] == pytest.approx(0.632, abs=1e-3)
    with pytest.raises(HbmError, match="select a sector"):
        edit_plan(store, "sortie", seen_b, [], "", "", 500, 500, None)
    with pytest.raises(HbmError, match="sweep width"):
        edit_plan(store, "sortie", seen_b, [first], "", "", None, 500, None)
    shape = highlight(store, seen_b, [first])
    assert len(shape["features"]) == 1 and shape["features"][0]["properties"]["label"] == "AA"


@pytest.mark.parametrize("fmt", ["geojson", "kml", "gpx", "csv", "pdf"])
def test_export_downloads(sqlite_store: Store, fmt: str) -> None:
    plan_id = save_new_plan(sqlite_store, _form())
    payload = export_plan(sqlite_store, plan_id, fmt, synthetic=True)
    assert payload["filename"].startswith(plan_id) and payload["filename"].endswith(f".{fmt}")
    content = base64.b64decode(payload["content"]) if payload["base64"] else payload["content"].encode()
    if fmt == "pdf":
        assert content.startswith(b"%PDF")
    elif fmt == "geojson":
        assert {f["properties"]["plan_id"] for f in json.loads(content)["features"]} == {plan_id}
    else:
        assert plan_id.encode() in content


def test_map_has_the_draw_control_and_preview_layers(sqlite_store: Store) -> None:
    settings = load_app_settings()
    ids = {getattr(c, "id", None) for c in map_component(settings).children}
    assert {SarId.PREVIEW, SarId.HIGHLIGHT} <= ids
    app = create_app(settings, sqlite_store)
    layout = str(app.layout() if callable(app.layout) else app.layout)  # built per page load (its language)
    assert SarId.DRAW in layout and SarId.TABLE in layout


def test_clicking_a_sector_on_the_map_selects_it() -> None:
    sector = {"properties": {"kind": "sector", "id": "p-AB", "parent_id": "p", "label": "AB"}}
    assert clicked_plan(sector) == ("p", ["p-AB"])
    assert clicked_plan({"properties": {"kind": "search_area", "id": "p"}}) == ("p", [])
    assert clicked_plan({"properties": {"kind": "srr", "id": "r"}}) == (no_update, no_update)
    assert clicked_plan(None) == (no_update, no_update)


@pytest.mark.parametrize("demo", [True, False])
def test_sheet_download_is_marked_and_synthetic_on_a_demo_store(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, demo: bool
) -> None:
    import shutil
    import subprocess
    from datetime import UTC, datetime

    from data.demo_events import demo_events

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    monkeypatch.setenv("HBM_MARKING", "OFFICIAL-SENSITIVE PANELMARK")
    if demo:  # events from the SYNTHETIC demo generator, as `hbm demo` seeds them
        sqlite_store.upsert_events(demo_events(50, datetime.now(UTC)))
    plan_id = save_new_plan(sqlite_store, _form())  # its name says nothing about demo data
    payload = export_plan(sqlite_store, plan_id, "pdf", synthetic=False)
    pdf = tmp_path / "sheets.pdf"
    pdf.write_bytes(base64.b64decode(payload["content"]))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) == len(load_plan(sqlite_store, plan_id).sectors)
    assert all("OFFICIAL-SENSITIVE PANELMARK" in p for p in pages)
    assert all(("SYNTHETIC" in p) == demo for p in pages)
