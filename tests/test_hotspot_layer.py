"""The hotspot layer on the store: the demo's injected surge is found where it was injected; quiet places are not."""

from __future__ import annotations

from datetime import timedelta

import h3
import numpy as np
import pytest
from shapely.geometry import Point

from data.demo import SURGE_CROSSING_ID, demo_features
from data.demo_events import demo_events
from data.store import Store
from geo.hotspots import HotspotSettings
from layers.hotspots import hotspot_table, hotspots_features
from layers.view import View
from tests.helpers import NOW

REGION = (28.8, -1.8, 33.2, 4.4)


@pytest.fixture(scope="module")
def demo_frame():  # type: ignore[no-untyped-def]
    return demo_events(20_000, NOW)


def _elegu_cell(res: int) -> int:
    elegu = next(r for r in demo_features(NOW)["crossing_points"] if r["id"] == SURGE_CROSSING_ID)
    return h3.str_to_int(h3.latlng_to_cell(elegu["geometry"].y, elegu["geometry"].x, res))


def test_the_demo_surge_is_flagged_by_change_and_gi_at_elegu(sqlite_store: Store, demo_frame) -> None:  # type: ignore[no-untyped-def]
    sqlite_store.upsert_events(demo_frame)
    view = View(start=NOW - timedelta(hours=24), end=NOW, resolution=6, bbox=REGION, metric="people")
    table = hotspot_table(sqlite_store, view).set_index("cell")
    elegu = table.loc[_elegu_cell(6)]
    assert elegu["category"] in ("large_increase", "new")
    assert elegu["gi_bin"] == 3
    # It is the strongest signal in the region, and nothing far from Elegu is flagged as strongly.
    assert table["current"].idxmax() == _elegu_cell(6)
    flagged = table[(table["gi_bin"] == 3) & table["category"].isin(["large_increase", "new"]) & (table["res"] == 6)]
    for cell in flagged.index:
        assert h3.grid_distance(h3.int_to_str(int(cell)), h3.int_to_str(_elegu_cell(6))) <= 2


def _steady(store: Store, cells: int, per_day: int) -> None:
    """A dense region with the same number of events every day for five days."""
    rows = []
    for c in range(cells):
        for day in range(5):
            for i in range(per_day):
                rows.append(
                    {
                        "id": f"s{c}-{day}-{i}",
                        "occurred_at": NOW - timedelta(days=day, hours=1 + (i % 20)),
                        "kind": "crossing",
                        "people": 3,
                        "geometry": Point(31.0 + 0.05 * c, 2.0),
                    }
                )
    store.upsert("events", rows)


def test_a_high_but_steady_rate_is_not_a_surge(sqlite_store: Store) -> None:
    _steady(sqlite_store, cells=6, per_day=40)
    view = View(start=NOW - timedelta(days=1), end=NOW, resolution=7, bbox=REGION)
    table = hotspot_table(sqlite_store, view)
    assert (table["category"] == "limited_change").all()
    assert not table["emerging"].isin(["new", "intensifying"]).any()


def test_one_event_where_there_were_none_is_not_a_large_increase(sqlite_store: Store) -> None:
    sqlite_store.upsert(
        "events",
        [
            {
                "id": "lonely",
                "occurred_at": NOW - timedelta(hours=2),
                "kind": "sighting",
                "people": 1,
                "geometry": Point(30.0, 1.0),
            },
            {  # far away, ten days back: the data's coverage starts there, so the baseline is complete
                "id": "old",
                "occurred_at": NOW - timedelta(days=10),
                "kind": "sighting",
                "people": 1,
                "geometry": Point(31.0, 2.0),
            },
        ],
    )
    view = View(start=NOW - timedelta(days=1), end=NOW, resolution=7, bbox=REGION)
    table = hotspot_table(sqlite_store, view)
    assert table["category"].tolist() == ["limited_change"]


def test_small_counts_merge_into_parents_when_suppression_is_on(sqlite_store: Store, demo_frame) -> None:  # type: ignore[no-untyped-def]
    sqlite_store.upsert_events(demo_frame)
    view = View(start=NOW - timedelta(hours=24), end=NOW, resolution=8, bbox=REGION, suppress=True)
    table = hotspot_table(sqlite_store, view)
    features = hotspots_features(table, view, HotspotSettings(), k=5)
    cells = [f["properties"] for f in features if "cell" in f["properties"]]
    shown_small = [p for p in cells if 0 < p["people"] < 5]
    assert shown_small == []
    merged = [p for p in cells if "merged" in p]
    assert merged and all(p["people"] >= 5 and p["res"] < 8 for p in merged)
    # People are moved, never invented: merged parents plus kept cells never exceed the true total.
    total = int(np.asarray(table["people"]).sum())
    assert sum(p["people"] for p in cells) <= total
    plain = hotspots_features(
        table, View(start=view.start, end=view.end, resolution=8, bbox=REGION), HotspotSettings(), 5
    )
    assert any(0 < f["properties"]["people"] < 5 for f in plain if "cell" in f["properties"])
