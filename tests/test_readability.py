"""What a user reads (issue 12): labels, numbers, local times, legend swatches and a colour scale for all eyes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from dashboard.layout import legend_rows
from geo.errors import ConfigError
from layers.labels import display_zone, evidence_rows, feature_rows, format_time
from layers.services.exports.html import _swatch as html_swatch
from layers.styles import HOTSPOT_COLORS, STYLES, hotspot_key, hotspot_legend, legend_entries, translucent


def test_times_show_in_the_display_zone_with_their_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime(2026, 11, 26, 21, 55, 59, 421000, tzinfo=UTC)
    monkeypatch.setenv("HBM_DISPLAY_TZ", "Africa/Kampala")
    assert format_time(moment) == "27 Nov 2026 00:55 EAT (UTC+03:00)"
    assert format_time(moment.isoformat()) == "27 Nov 2026 00:55 EAT (UTC+03:00)"  # ISO text from a feature
    monkeypatch.setenv("HBM_DISPLAY_TZ", "UTC")
    assert format_time(moment) == "26 Nov 2026 21:55 UTC"
    with pytest.raises(ConfigError, match="not a known time zone"):
        display_zone("Mars/Olympus")


def test_details_rows_are_labelled_ordered_and_formatted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HBM_DISPLAY_TZ", "Africa/Kampala")
    props = {
        "name": "Elegu",
        "kind": "official",
        "status": "open",
        "country_a": "UGA",
        "capacity_per_day": 23200,
        "people_24h": 1234,
        "cluster": False,  # added by the map library: never shown
        "id": "demo-cp-elegu",
        "_s": "cp:official:open",
    }
    rows = dict(feature_rows("crossing_points", props))
    assert list(rows)[:3] == ["Type", "Status", "Country"]
    assert rows["Type"] == "Official border crossing point"
    assert rows["Capacity per day"] == "23,200" and rows["People, last 24 h"] == "1,234"
    text = repr(rows)
    assert "cluster" not in text and "demo-cp-elegu" not in text and "cp:official" not in text
    route = dict(feature_rows("routes", {"mode": "boat", "last_observed_at": "2026-11-26T21:55:59.421000+00:00"}))
    assert route["Last observed"] == "27 Nov 2026 00:55 EAT (UTC+03:00)"
    sector = dict(feature_rows("sar_zones", {"kind": "sector", "label": "AC", "poa": 0.25, "pod": 0.5}))
    assert sector["POA (probability of area)"] == "0.250" and sector["Type"] == "Search sector"


def test_alert_evidence_shows_labels_not_internal_ids() -> None:
    evidence = {"zone": "Sector AC", "plan": "Search area Kasenyi", "zone_id": "demo-sar-sector-B3", "events": 2}
    evidence["event_ids"] = ["demo-ev-1"]
    rows = {label: value for _key, label, value in evidence_rows(evidence)}
    assert rows == {"SAR zone": "Sector AC", "Plan": "Search area Kasenyi", "Events": 2}


def test_a_tiny_p_value_reads_below_the_smallest_shown_value_not_zero() -> None:
    label = "p-value (Poisson test)"
    assert dict((lab, v) for _k, lab, v in evidence_rows({"p_value": 3.2e-06}))[label] == "< 0.001"
    assert dict((lab, v) for _k, lab, v in evidence_rows({"p_value": 0.0123}))[label] == "0.012"


def test_cells_with_no_events_in_the_window_are_not_painted_as_one_to_two() -> None:
    assert hotspot_key(0) == "hx:zero" and STYLES["hx:zero"]["fill"] is False
    assert hotspot_key(1) == "hx:0"
    labels = [label for label, _style in hotspot_legend("count")]
    assert labels[0].startswith("0 in this window")


def test_legend_swatches_have_the_maps_translucency() -> None:
    fill = STYLES["hx:3"]
    entry = dict(hotspot_legend("count"))["30–99"]
    row = legend_rows([("30–99", entry)])[0]
    swatch = row.children[0]
    assert swatch.style["background"] == translucent(fill["fillColor"], fill["fillOpacity"])
    assert f"rgba({int(fill['fillColor'][1:3], 16)}," in html_swatch(entry)


def test_boat_and_foot_routes_have_different_swatches_in_the_live_and_html_legends() -> None:
    entries = dict(legend_entries("routes"))
    boat, foot = entries["Boat (long dash)"], entries["Foot (dotted)"]
    live = [legend_rows([(k, s)])[0].children[0].style["background"] for k, s in (("b", boat), ("f", foot))]
    assert live[0] != live[1] and "10px" in live[0] and "2px" in live[1]
    assert html_swatch(boat) != html_swatch(foot)


def _lab(hex_color: str, cvd: np.ndarray | None = None) -> np.ndarray:
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], float) / 255
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if cvd is not None:
        lin = np.clip(cvd @ lin, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


@pytest.mark.parametrize("vision", [None, *CVD])
def test_the_hotspot_scale_stays_ordered_and_distinct_with_colour_vision_deficiency(vision: str | None) -> None:
    matrix = CVD[vision] if vision else None
    labs = [_lab(c, matrix) for c in HOTSPOT_COLORS]
    lightness = [lab[0] for lab in labs]
    assert all(a > b for a, b in zip(lightness, lightness[1:], strict=False)), lightness  # darker = more
    steps = [float(np.linalg.norm(a - b)) for a, b in zip(labs, labs[1:], strict=False)]
    assert min(steps) >= 5, steps  # neighbouring classes remain distinguishable


def test_coarse_location_cells_are_faint_dashed_and_drawn_under_the_fine_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from shapely.geometry import Point

    from data.open import open_store
    from data.settings import load_store_settings
    from layers.hotspots import hotspots_layer
    from layers.view import View

    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'coarse.sqlite'}"))
    store.init_schema()
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"e{i}",
            "occurred_at": now - timedelta(hours=1),
            "kind": "crossing",
            "people": 3,
            "geometry": Point(31.0 + 0.001 * i, 2.0),
            "location_precision_m": 20_000.0 if i % 2 else 10.0,  # every other event known only roughly
        }
        for i in range(6)
    ]
    store.upsert("events", rows)
    view = View(start=now - timedelta(hours=24), end=now, resolution=8, bbox=(30.5, 1.5, 31.5, 2.5))
    cells = [f["properties"] for f in hotspots_layer(store, view)["features"] if "cell" in f["properties"]]
    store.dispose()
    coarse = [p for p in cells if p["res"] < 8]
    fine = [p for p in cells if p["res"] == 8]
    assert coarse and fine
    assert all(p["coarse"] and p["_s"].endswith(":c") for p in coarse)
    assert not any(p["coarse"] for p in fine)
    assert cells.index(coarse[-1]) < cells.index(fine[0])  # drawn first, so the finer cells sit on top
    assert STYLES[coarse[0]["_s"]]["dashArray"] and STYLES[coarse[0]["_s"]]["fillOpacity"] < 0.3


def test_exports_state_their_times_in_the_display_zone(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from data.open import open_store
    from data.settings import load_store_settings
    from layers.services.exports import readme_text
    from layers.services.exports.collect import collect
    from layers.services.exports.settings import load_export_settings
    from layers.view import View
    from tests.helpers import sample_events, sample_features

    monkeypatch.setenv("HBM_DISPLAY_TZ", "Africa/Kampala")
    store = open_store(load_store_settings(database_url=f"sqlite:///{tmp_path / 'tz.sqlite'}"))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    now = datetime.now(UTC)
    store.upsert("events", sample_events(now=now))
    data = collect(store, View(start=now - timedelta(days=1), end=now), load_export_settings(), who="t", title="T")
    store.dispose()
    text = readme_text(data)
    assert text.count("EAT (UTC+03:00)") == 3, text  # exported at, data as of, window end
    assert " UTC by" not in text
