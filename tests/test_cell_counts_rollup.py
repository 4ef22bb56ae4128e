"""The hotspot query (cell_counts) sums whole hours from the hourly rollup and counts the partial hours raw.

Both backends; the reference is a count over the inline events, so a window that splits hours, a
bbox, an edit, a soft delete and the raw-only resolutions must all agree with it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import h3
import pytest
from shapely.geometry import Point

from data.rollup import whole_hours
from data.store import Store
from tests.helpers import NOW, sample_events


def _reference(rows: list[dict], res: int, start: datetime, end: datetime, bbox: tuple | None = None) -> dict:
    events: Counter[int] = Counter()
    people: Counter[int] = Counter()
    for row in rows:
        p = row["geometry"]
        inside = bbox is None or (bbox[0] <= p.x <= bbox[2] and bbox[1] <= p.y <= bbox[3])
        if start <= row["occurred_at"] < end and inside:
            cell = h3.str_to_int(h3.latlng_to_cell(p.y, p.x, res))
            events[cell] += 1
            people[cell] += row["people"]
    return {c: (events[c], people[c]) for c in events}


def _got(store: Store, res: int, start: datetime, end: datetime, bbox: tuple | None = None) -> dict:
    return {c: (e, p) for c, e, p in store.cell_counts(res, start, end, bbox).itertuples(index=False)}


def _rows() -> list[dict]:
    rows = sample_events(n=60, hours_back=30.0)
    for i, row in enumerate(rows):  # spread over minutes too, so that partial hours hold events
        row["occurred_at"] -= timedelta(minutes=(17 * i) % 60)
        row["geometry"] = Point(row["geometry"].x + 0.05 * (i % 4), row["geometry"].y)
    return rows


WINDOWS = [
    (NOW - timedelta(hours=20, minutes=35), NOW - timedelta(minutes=10)),  # partial hours at both ends
    (NOW - timedelta(hours=24), NOW),  # whole hours only
    (NOW - timedelta(minutes=50), NOW - timedelta(minutes=5)),  # inside one hour: all raw
]


@pytest.mark.parametrize("res", [4, 6, 7, 9])
@pytest.mark.parametrize("window", WINDOWS, ids=["split", "whole", "within-hour"])
def test_cell_counts_match_a_reference_count_for_any_window(store: Store, res: int, window: tuple) -> None:
    rows = _rows()
    store.upsert("events", rows)
    assert _got(store, res, *window) == _reference(rows, res, *window)
    assert _reference(rows, res, *window)  # the window holds events


def test_cell_counts_follow_edits_and_deletes(store: Store) -> None:
    rows = _rows()
    store.upsert("events", rows)
    moved = {**rows[3], "occurred_at": NOW - timedelta(hours=2, minutes=20), "people": 40}
    store.upsert("events", [moved])
    store.soft_delete("events", [rows[5]["id"]])
    now_rows = [moved if r["id"] == moved["id"] else r for r in rows if r["id"] != rows[5]["id"]]
    for start, end in WINDOWS[:2]:
        assert _got(store, 6, start, end) == _reference(now_rows, 6, start, end)


def test_cell_counts_bbox_keeps_whole_groups_of_one_cell(store: Store) -> None:
    rows = _rows()
    store.upsert("events", rows)
    bbox = (30.0, 1.0, 31.5, 2.0)  # around the route events, far from every cell edge it could split
    start, end = WINDOWS[0]
    assert _got(store, 7, start, end, bbox) == _reference(rows, 7, start, end, bbox)


def test_whole_hours_of_a_window() -> None:
    h = int(NOW.timestamp()) // 3600  # NOW is on the hour
    assert whole_hours(NOW - timedelta(hours=2), NOW) == (h - 2, h)
    assert whole_hours(NOW - timedelta(hours=2, minutes=1), NOW + timedelta(minutes=59)) == (h - 2, h)
    assert whole_hours(NOW + timedelta(minutes=1), NOW + timedelta(minutes=59)) is None
