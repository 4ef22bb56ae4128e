"""Briefing exports checked with real readers: pdfinfo/pdftoppm, pyogrio/ogrinfo, headless chromium, XML, CSV."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from PIL import Image
from shapely.geometry import Point, box, shape

from data.audit import list_exports
from data.demo import DEMO_SOURCE
from data.store import Store
from geo.errors import HbmError
from layers.features import LAYERS
from layers.hotspots import load_hotspot_settings
from layers.services.exports import FORMATS, PACK_FILES, run_export
from layers.services.exports.collect import Page, check_suppressed, collect, collection_to_frame, full_marking
from layers.services.exports.extracts import sidecar_path
from layers.services.exports.html import check_offline
from layers.services.exports.settings import DEFAULT_MARKING, load_export_settings
from layers.view import View
from tests.helpers import NOW, sample_events, sample_features, unavailable

# Around crossing point cp-a only: the route, cp-b and the SAR zones are outside.
BBOX = (31.5, 3.0, 32.5, 4.0)
VIEW = View(start=NOW - timedelta(hours=48), end=NOW, zoom=9.0, bbox=BBOX, window_label="custom")
WIDE = replace(VIEW, bbox=(29.0, 0.0, 33.5, 4.5), zoom=7.0)
XSS_NAME = "Bravo <script>x</script>"


@pytest.fixture
def briefing(sqlite_store: Store) -> Store:
    """A SQLite store with the inline sample data (exports are backend-independent past the layer code)."""
    for table, rows in sample_features().items():
        sqlite_store.upsert(table, rows)
    sqlite_store.upsert("events", sample_events())
    return sqlite_store


def _export(store: Store, view: View, fmt: str, out: Path, **kw: object):  # type: ignore[no-untyped-def]
    options = {"who": "test", "settings": load_export_settings(), "title": "Test brief", **kw}
    return run_export(store, view, fmt, out, **options)  # type: ignore[arg-type]


def expected_counts(store: Store, view: View) -> dict[str, int]:
    """Count each layer's features in the bbox straight from the map's layer code (suppression on)."""
    view = replace(view, suppress=True)
    area = box(*view.bbox) if view.bbox else None
    out = {}
    for name in view.layers:
        features = LAYERS[name].build(store, view)["features"]
        out[name] = sum(1 for f in features if area is None or shape(f["geometry"]).intersects(area))
    return out


def test_gpkg_layers_and_counts_match_the_view(seeded: Store, tmp_path: Path) -> None:
    out = tmp_path / "view.gpkg"
    result = _export(seeded, VIEW, "gpkg", out)
    expected = expected_counts(seeded, VIEW)
    assert expected["crossing_points"] == 1 and expected["routes"] == 0 and expected["hotspots"] > 0
    layers = {name: kind for name, kind in pyogrio.list_layers(out)}
    assert set(layers) == {*VIEW.layers, "metadata"}
    for name, count in expected.items():
        assert pyogrio.read_info(out, layer=name)["features"] == count, name
    assert result.feature_counts == expected
    assert pyogrio.read_dataframe(out, layer="crossing_points")["name"].tolist() == ["Alpha"]
    meta = dict(pyogrio.read_dataframe(out, layer="metadata", read_geometry=False).itertuples(index=False))
    view = json.loads(meta["view"])
    assert view["bbox"] == list(BBOX) and view["suppress"] is True  # small counts always suppressed
    assert meta["marking"] == DEFAULT_MARKING and meta["app_version"] and meta["data_as_of"]
    assert json.loads(meta["feature_counts"]) == expected
    records = list_exports(seeded)
    assert (records[0].who, records[0].format, records[0].feature_counts) == ("test", "gpkg", expected)


def test_gpkg_opens_with_ogrinfo(briefing: Store, tmp_path: Path) -> None:
    if not shutil.which("ogrinfo"):
        unavailable("ogrinfo (Debian gdal-bin) is not installed")
    out = tmp_path / "wide.gpkg"
    _export(briefing, WIDE, "gpkg", out)
    info = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True, text=True, check=True).stdout
    expected = expected_counts(briefing, WIDE)
    for name, count in expected.items():
        block = info.split(f"Layer name: {name}\n", 1)[1]
        assert re.search(r"Feature Count: (\d+)", block).group(1) == str(count), name  # type: ignore[union-attr]


def test_hotspot_cells_under_k_people_never_leave(briefing: Store, tmp_path: Path) -> None:
    _settings, k = load_hotspot_settings()
    fine = replace(VIEW, resolution=9)
    raw = collection_to_frame(LAYERS["hotspots"].build(briefing, fine))  # the screen with suppression off
    assert ((raw["people"] > 0) & (raw["people"] < k)).any(), "the sample should hold small cells"
    out = tmp_path / "cells.gpkg"
    _export(briefing, fine, "gpkg", out)
    cells = pyogrio.read_dataframe(out, layer="hotspots")
    cells = cells[cells["cell"].notna()]
    assert len(cells) and not ((cells["people"] > 0) & (cells["people"] < k)).any()
    assert "merged" in cells.columns and (cells["merged"].fillna(0) > 0).any()  # merged into parents
    with pytest.raises(HbmError, match="fewer than"):
        check_suppressed(raw, k)


def test_raw_event_points_only_when_settings_allow(briefing: Store, tmp_path: Path) -> None:
    out = tmp_path / "no-raw.gpkg"
    _export(briefing, VIEW, "gpkg", out)
    assert "events" not in {name for name, _ in pyogrio.list_layers(out)}
    allowed = load_export_settings(allow_raw_events=True)
    out = tmp_path / "raw.gpkg"
    result = _export(briefing, VIEW, "gpkg", out, settings=allowed)
    expected = len(briefing.event_points(VIEW.start, VIEW.end, BBOX))
    assert expected > 0 and pyogrio.read_info(out, layer="events")["features"] == expected
    assert result.feature_counts["events"] == expected
    with pytest.raises(HbmError, match="HBM_EXPORT_MAX_RAW_EVENTS"):
        _export(
            briefing,
            VIEW,
            "gpkg",
            tmp_path / "x.gpkg",
            settings=load_export_settings(allow_raw_events=True, max_raw_events=1),
        )


def _pdfinfo(path: Path) -> dict[str, str]:
    text = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)}


def _not_blank(png: Path) -> tuple[float, int]:
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    inked = float((pixels != 255).any(axis=1).mean())
    return inked, len(np.unique(pixels, axis=0))


@pytest.mark.parametrize(
    ("size", "orientation", "points"),
    [("A4", "landscape", (841.89, 595.28)), ("A3", "portrait", (841.89, 1190.55))],
)
def test_pdf_page_size_and_not_blank(
    briefing: Store, tmp_path: Path, size: str, orientation: str, points: tuple[float, float]
) -> None:
    if not (shutil.which("pdfinfo") and shutil.which("pdftoppm")):
        unavailable("pdfinfo/pdftoppm (Debian poppler-utils) are not installed")
    out = tmp_path / "map.pdf"
    _export(briefing, WIDE, "pdf", out, page=Page(size, orientation))
    info = _pdfinfo(out)
    width, height = (float(v) for v in re.findall(r"[\d.]+", info["Page size"])[:2])
    assert (round(width, 1), round(height, 1)) == (round(points[0], 1), round(points[1], 1))
    assert info["Pages"] == "1"
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-singlefile", str(out), str(tmp_path / "page")], check=True)
    inked, colours = _not_blank(tmp_path / "page.png")
    assert inked > 0.3 and colours > 50
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    for words in ("RESTRICTED", "Test brief", "Data as of", "Legend", "Crossing points", "km", "Filters"):
        assert words in text, words


def test_same_view_same_picture(briefing: Store, tmp_path: Path) -> None:
    for fmt in ("pdf", "png"):
        first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        _export(briefing, WIDE, fmt, first)
        _export(briefing, WIDE, fmt, second)
        assert first.read_bytes() == second.read_bytes(), fmt


@pytest.mark.parametrize(("page", "pixels"), [(Page("A4", "landscape", 150), (1754, 1240))])
def test_png_resolution(briefing: Store, tmp_path: Path, page: Page, pixels: tuple[int, int]) -> None:
    out = tmp_path / "map.png"
    _export(briefing, VIEW, "png", out, page=page)
    image = Image.open(out)
    assert abs(image.size[0] - pixels[0]) <= 1 and abs(image.size[1] - pixels[1]) <= 1  # 297 x 210 mm
    assert _not_blank(out)[0] > 0.3


def test_synthetic_marking_for_demo_data(briefing: Store, tmp_path: Path) -> None:
    settings = load_export_settings(marking="SECRET")
    plain = collect(briefing, VIEW, settings, who="t", title="t")
    assert plain.marking == "SECRET" and not plain.synthetic
    row = {**sample_events(1)[0], "id": "demo-1", "source": DEMO_SOURCE}
    briefing.upsert("events", [row])
    demo = collect(briefing, VIEW, settings, who="t", title="t")
    assert demo.synthetic and demo.marking == full_marking("SECRET", True) == "SECRET — SYNTHETIC DATA"


def test_marking_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBM_MARKING", "OFFICIAL")
    assert load_export_settings().marking == "OFFICIAL"
    monkeypatch.setenv("HBM_EXPORT_MAX_RAW_EVENTS", "0")
    with pytest.raises(HbmError, match="HBM_EXPORT_MAX_RAW_EVENTS") as err:
        load_export_settings()
    assert "\n" not in str(err.value)


def test_geojson_has_metadata_and_every_feature(briefing: Store, tmp_path: Path) -> None:
    out = tmp_path / "view.geojson"
    _export(briefing, WIDE, "geojson", out)
    data = json.loads(out.read_text())
    counts: dict[str, int] = {}
    for feature in data["features"]:
        counts[feature["properties"]["layer"]] = counts.get(feature["properties"]["layer"], 0) + 1
        assert "_s" not in feature["properties"]
    expected = expected_counts(briefing, WIDE)
    assert counts == {k: v for k, v in expected.items() if v}
    assert data["metadata"]["feature_counts"] == expected and data["metadata"]["view"]["bbox"] == list(WIDE.bbox)
    assert pyogrio.read_info(out)["features"] == sum(expected.values())  # GDAL reads it too


def test_csv_has_wkt_latlon_a_sidecar_and_no_formulas(briefing: Store, tmp_path: Path) -> None:
    briefing.upsert(
        "crossing_points", [{**sample_features()["crossing_points"][0], "id": "cp-f", "name": "=HYPERLINK(1)"}]
    )
    out = tmp_path / "view.csv"
    result = _export(briefing, WIDE, "csv", out)
    assert result.paths == [out, sidecar_path(out)]
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["lat"] == "#geo+lat"  # the HXL hashtag row (tests/test_hxl.py validates it)
    rows = rows[1:]
    assert len(rows) == sum(expected_counts(briefing, WIDE).values())
    assert {"layer", "wkt", "lat", "lon"} <= set(rows[0])
    names = [r["name"] for r in rows if r["layer"] == "crossing_points"]
    assert "'=HYPERLINK(1)" in names and XSS_NAME in names
    for row in rows:
        inside = Point(float(row["lon"]), float(row["lat"]))
        assert shapely.from_wkt(row["wkt"]).buffer(1e-5).contains(inside)
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["marking"] and meta["view"]["window_label"] == "custom"


def test_kml_keeps_names_as_text(briefing: Store, tmp_path: Path) -> None:
    out = tmp_path / "view.kml"
    _export(briefing, WIDE, "kml", out)
    root = ET.parse(out).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [n.text for n in root.iterfind(".//k:Placemark/k:name", ns)]
    assert XSS_NAME in names
    assert not any(el.tag.endswith("script") for el in root.iter())
    folders = {f.findtext("k:name", namespaces=ns) for f in root.iter() if f.tag.endswith(("Folder", "Document"))}
    assert {"crossing_points", "hotspots", "metadata"} <= folders
    assert (
        pyogrio.read_info(out, layer="crossing_points")["features"]
        == expected_counts(briefing, WIDE)["crossing_points"]
    )


def test_briefing_pack(briefing: Store, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    _export(briefing, WIDE, "pack", out)
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(PACK_FILES)
        archive.extractall(tmp_path / "pack")
    readme = (tmp_path / "pack" / "README.txt").read_text()
    assert "Exported at:" in readme and '"window_label": "custom"' in readme and "RESTRICTED" in readme
    assert (tmp_path / "pack" / "map.pdf").read_bytes().startswith(b"%PDF")
    assert pyogrio.read_info(tmp_path / "pack" / "data.gpkg", layer="crossing_points")["features"] == 2
    summary = list(csv.DictReader((tmp_path / "pack" / "summary.csv").open()))[1:]  # after the HXL hashtag row
    assert len(summary) == sum(expected_counts(briefing, WIDE).values()) and "wkt" not in summary[0]


def test_every_format_is_audited(seeded: Store, tmp_path: Path) -> None:
    for fmt in ("geojson", "csv", "kml"):
        _export(seeded, VIEW, fmt, tmp_path / f"out.{fmt}", who="cli")
    records = list_exports(seeded, limit=10)
    assert [r.format for r in records] == ["kml", "csv", "geojson"]
    assert all(r.who == "cli" and r.bytes and r.view["bbox"] == list(BBOX) for r in records)
    assert list_exports(seeded, limit=1)[0].format == "kml"


def test_unaudited_export_is_removed(briefing: Store, tmp_path: Path) -> None:
    out = tmp_path / "gone.geojson"
    with briefing.connect(write=True) as conn:  # type: ignore[attr-defined]
        conn.exec_driver_sql("DROP TABLE export_audit")
        conn.exec_driver_sql("CREATE TABLE export_audit (id INTEGER PRIMARY KEY)")  # wrong shape: insert fails
    with pytest.raises(HbmError):
        _export(briefing, VIEW, "geojson", out)
    assert not out.exists()


def test_page_options_are_checked() -> None:
    assert Page("A3", "portrait", 300).inches == pytest.approx((297 / 25.4, 420 / 25.4))
    for bad in ({"size": "A5"}, {"orientation": "square"}, {"dpi": 72}):
        with pytest.raises(HbmError):
            Page(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "out", "message"), [("svg", "x.svg", "unknown export format"), ("pdf", "no/dir/x.pdf", "does not exist")]
)
def test_bad_export_requests(briefing: Store, tmp_path: Path, fmt: str, out: str, message: str) -> None:
    with pytest.raises(HbmError, match=message):
        _export(briefing, VIEW, fmt, tmp_path / out)
    assert "pack" in FORMATS


@pytest.mark.browser
def test_offline_html_renders_with_no_network(briefing: Store, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("google-chrome")
    if not chromium:
        unavailable("headless chromium is not installed")
    out = tmp_path / "map.html"
    _export(briefing, WIDE, "html", out)
    page = out.read_text()
    check_offline(page)
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?://", page, re.I)
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=5000",
        "--dump-dom",
        out.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=90).stdout
    assert "leaflet-container" in dom  # Leaflet ran, from the inlined copy
    expected = expected_counts(briefing, WIDE)
    paths = re.findall(r'<path[^>]*class="hbm-f hbm-f-(\w+)', dom)  # SVG paths, one per feature
    assert paths.count("hotspots") == expected["hotspots"] > 0
    assert paths.count("routes") == expected["routes"] > 0
    assert paths.count("sar_zones") == expected["sar_zones"] > 0
    assert len(re.findall(r'<div class="cp-marker cp-\w+"', dom)) == expected["crossing_points"]
    assert "Bravo &lt;script&gt;x&lt;/script&gt;" in dom  # the name is text, never markup
    assert "RESTRICTED" in dom and 'id="hbm-legend"' in dom


def test_small_crossing_and_route_flows_are_left_empty_in_exports(store: Store) -> None:
    from datetime import UTC, datetime

    import pandas as pd

    from layers.services.exports.settings import load_export_settings
    from layers.view import View
    from tests.helpers import sample_events, sample_features

    for table, rows in sample_features().items():
        store.upsert(table, rows)
    one = {**sample_events(1, now=datetime.now(UTC))[0], "people": 2, "crossing_point_id": "cp-a"}
    store.upsert("events", [one])
    now = datetime.now(UTC)
    view = replace(View(start=now - timedelta(hours=24), end=now + timedelta(seconds=1)), bbox=(29.0, 0.0, 34.0, 5.0))
    data = collect(store, view, load_export_settings(), who="test", title="t")
    alpha = data.layers["crossing_points"].set_index("id").loc["cp-a"]
    assert pd.isna(alpha["people_24h"]) and pd.isna(alpha["events_24h"])
