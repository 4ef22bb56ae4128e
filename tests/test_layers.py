"""layers: the View, styles, layer builders and the refresh plan."""

from __future__ import annotations

from datetime import timedelta

import pytest

from data.store import Store
from geo.errors import InvalidView
from layers.features import LAYERS
from layers.refresh import refresh, stale_layers
from layers.styles import STYLES, hotspot_class, legend_entries
from layers.view import LAYER_NAMES, View, snap_bbox, window_bounds
from tests.helpers import NOW, sample_events


def view(**kw: object) -> View:
    start, end = window_bounds(str(kw.pop("window", "7d")), NOW + timedelta(seconds=1))
    return View(start=start, end=end, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("window", "hours"), [("6h", 6), ("24h", 24), ("7d", 168), ("30d", 720)])
def test_named_windows_end_now(window: str, hours: int) -> None:
    start, end = window_bounds(window, NOW)
    assert end == NOW and end - start == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-19", "2026-11-18", "end after it starts"),
        ("soon", None, "is not a time"),
        ("2026-13-01", None, "is not a time"),
    ],
)
def test_custom_window_errors_are_readable(start: str, end: str | None, message: str) -> None:
    with pytest.raises(InvalidView, match=message):
        window_bounds("custom", NOW, start, end)


def test_custom_window_parses_utc() -> None:
    start, end = window_bounds("custom", NOW, "2026-11-01 06:00", "2026-11-02")
    assert (start.isoformat(), end.isoformat()) == ("2026-11-01T06:00:00+00:00", "2026-11-02T00:00:00+00:00")


def test_view_validates_its_fields() -> None:
    with pytest.raises(InvalidView, match="resolution"):
        view(resolution=12)
    with pytest.raises(InvalidView, match="unknown layers"):
        view(layers=frozenset({"weather"}))
    assert view(zoom=10).res == 7 and view(zoom=10, resolution=5).res == 5


@pytest.mark.parametrize("bounds", [(31.1, 2.2, 31.3, 2.5), (29.0, -1.5, 33.0, 4.0), (-179.0, -80.0, 179.0, 80.0)])
def test_snap_bbox_contains_the_view_and_is_stable_under_small_pans(bounds: tuple) -> None:
    w, s, e, n = bounds
    snapped = snap_bbox(bounds)
    assert snapped[0] <= w and snapped[1] <= s and snapped[2] >= e and snapped[3] >= n
    nudge = (e - w) * 0.01
    assert snap_bbox((w + nudge, s, e + nudge, n)) == snapped or w < -170


def test_every_style_key_a_layer_can_emit_exists() -> None:
    for name in ("crossing_points", "routes", "sar_zones", "hotspots"):
        assert legend_entries(name)
    assert {f"hx:{i}" for i in range(8)} <= set(STYLES)
    assert [hotspot_class(v) for v in (0, 1, 2, 3, 10, 2999, 3000, 10**6)] == [0, 0, 0, 1, 2, 6, 7, 7]


def test_layers_are_styled_geojson(seeded: Store) -> None:
    v = view()
    for name in LAYER_NAMES:
        data = LAYERS[name].build(seeded, v)
        assert data["type"] == "FeatureCollection" and data["features"], name
        assert all(f["properties"]["_s"] in STYLES for f in data["features"]), name


def test_crossing_point_popup_flows(seeded: Store) -> None:
    data = LAYERS["crossing_points"].build(seeded, view())
    alpha = next(f["properties"] for f in data["features"] if f["id"] == "cp-a")
    near = [r for r in sample_events() if r["crossing_point_id"] == "cp-a"]
    day = [r for r in near if r["occurred_at"] > NOW - timedelta(hours=24)]
    assert alpha["people_24h"] == sum(r["people"] for r in day)
    assert alpha["people_7d"] == sum(r["people"] for r in near)


def test_hotspot_cells_sum_to_the_window_totals(seeded: Store) -> None:
    v = view(zoom=9)
    data = LAYERS["hotspots"].build(seeded, v)
    # the statistics count complete hours: the window ends at the last whole hour before the View's end
    end = v.end.replace(minute=0, second=0, microsecond=0)
    events, people = seeded.event_totals(end - (v.end - v.start), end)
    assert events < seeded.event_totals(v.start, v.end)[0]  # the event at 12:00:00 is in the next hour
    cells = [f["properties"] for f in data["features"] if "cell" in f["properties"]]
    assert sum(p["events"] for p in cells) == events
    assert sum(p["people"] for p in cells) == people
    assert {p["res"] for p in cells} == {v.res}
    # Every cell carries its statistics: one count per window, oldest first, the current one last.
    assert all(len(p["windows"]) == 5 and p["windows"][-1] == p[v.metric] for p in cells)


def test_refresh_sends_nothing_when_nothing_changed(seeded: Store) -> None:
    v = view()
    first = refresh(seeded, v, None)
    assert set(first.layers) == set(LAYER_NAMES)
    again = refresh(seeded, v, first.keys)
    assert again.layers == {} and again.keys == first.keys


def test_refresh_sends_only_the_layers_a_write_touched(seeded: Store) -> None:
    v = view()
    first = refresh(seeded, v, None)
    seeded.upsert("events", [{**sample_events(1)[0], "id": "ev-new"}])
    after = refresh(seeded, v, first.keys)
    assert set(after.layers) == {"hotspots", "routes", "crossing_points"}
    seeded.soft_delete("sar_zones", ["sec-aa"])
    last = refresh(seeded, v, after.keys)
    assert set(last.layers) == {"sar_zones"}
    assert [f["id"] for f in last.layers["sar_zones"]["features"]] == ["srr"]


def test_view_changes_resend_only_the_dependent_layer() -> None:
    keys = {"hotspots": "1|a", "routes": "1|b"}
    assert stale_layers(keys, {"hotspots": "1|c", "routes": "1|b"}) == ["hotspots"]
    assert stale_layers(None, keys) == ["hotspots", "routes"]
