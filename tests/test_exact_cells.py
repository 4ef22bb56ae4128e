"""Exact cells: every event counts in the H3 hexagon that contains it, at every resolution 4-9.

Checked on random points (hypothesis) through the store (raw events and the hourly rollup, which is
what the map's hotspot layer reads) on both backends, and through a store migrated from the old
parent-derived cells.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from sqlalchemy import text

from data import rollup
from data.store import Store
from geo.cells import STORED_RESOLUTIONS, cells_to_parents, points_to_all_cells, precision_limit_m

BASE = datetime(2026, 3, 1, tzinfo=UTC)
_BLOCK = itertools.count()  # each hypothesis example writes into its own 6-hour block of time

lats = st.floats(min_value=-85.0, max_value=85.0, allow_nan=False)
lngs = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
precisions = st.sampled_from([None, 10.0, 900.0, 5_000.0, 40_000.0])
events = st.lists(st.tuples(lats, lngs, precisions), min_size=1, max_size=12)


def _containing(lat: float, lng: float, res: int) -> int:
    """The H3 cell (int) that contains the point, straight from h3-py."""
    return int(h3.str_to_int(h3.latlng_to_cell(lat, lng, res)))


def _fitted(precision: float | None, res: int) -> int:
    """The resolution an event counts at in a view of ``res``: the finest <= res its precision fits, else 4."""
    if precision is None:
        return res
    return max((r for r in range(STORED_RESOLUTIONS[0], res + 1) if precision <= precision_limit_m(r)), default=4)


@settings(max_examples=200, deadline=None)
@given(lat=lats, lng=lngs)
def test_every_resolution_is_indexed_directly(lat: float, lng: float) -> None:
    cells = points_to_all_cells(np.array([lat]), np.array([lng]))
    assert {r: int(c[0]) for r, c in cells.items()} == {r: _containing(lat, lng, r) for r in STORED_RESOLUTIONS}


def _rows(points: list[tuple[float, float, float | None]], start: datetime, block: int) -> list[dict]:
    return [
        {
            "id": f"x-{block}-{i}",
            "occurred_at": start + timedelta(minutes=7 * i + 1),
            "kind": "sighting",
            "people": i + 1,
            "geometry": Point(lng, lat),
            "location_precision_m": prec,
            "source": "test",
        }
        for i, (lat, lng, prec) in enumerate(points)
    ]


def _check_store(store: Store, points: list[tuple[float, float, float | None]]) -> None:
    block = next(_BLOCK)
    start = BASE + timedelta(hours=6 * block)
    end = start + timedelta(hours=6)
    store.upsert("events", _rows(points, start, block))
    for res in STORED_RESOLUTIONS:
        expected_events: Counter[int] = Counter()
        expected_people: Counter[int] = Counter()
        raw: Counter[int] = Counter()
        for i, (lat, lng, prec) in enumerate(points):
            cell = _containing(lat, lng, _fitted(prec, res))
            expected_events[cell] += 1
            expected_people[cell] += i + 1
            raw[_containing(lat, lng, res)] += 1
        # What the hotspot layer reads: the rollup at res 4-7 (whole hours), raw events at 8-9.
        window = store.window_cell_counts(res, end, timedelta(hours=6), 1)
        assert rollup.is_rollup_window(res, end, timedelta(hours=6)) == (res <= rollup.ROLLUP_MAX_RES)
        got = {int(r.cell): (int(r.events), int(r.people)) for r in window.itertuples(index=False)}
        assert got == {c: (expected_events[c], expected_people[c]) for c in expected_events}, f"res {res}"
        counts = store.cell_counts(res, start, end)
        assert dict(zip(counts["cell"].astype(int), counts["events"].astype(int), strict=True)) == dict(raw)
        # Clicking the hexagon that contains a point lists that point's event.
        lat, lng, _ = points[0]
        kinds = store.cell_event_kinds(_containing(lat, lng, res), start, end)
        assert int(kinds["events"].sum()) == raw[_containing(lat, lng, res)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=events)
def test_stored_and_rolled_up_cells_contain_their_events(store: Store, points: list) -> None:
    _check_store(store, points)


@pytest.fixture
def old_store(store: Store) -> Store:
    """A store (each backend) as the code before direct cells left it: parent-derived cells, rollup keyed on h3_r7."""
    rng = np.random.default_rng(3)
    lat, lng = rng.uniform(-2, 4, 300), rng.uniform(29, 35, 300)
    store.upsert(
        "events",
        [
            {
                "id": f"o-{i}",
                "occurred_at": BASE + timedelta(minutes=i),
                "kind": "crossing",
                "people": 2,
                "geometry": Point(lng[i], lat[i]),
                "source": "test",
            }
            for i in range(300)
        ],
    )
    fine = points_to_all_cells(lat, lng)[9]
    with store.engine.begin() as conn:
        for i in range(300):
            parents = {f"h3_r{r}": int(cells_to_parents(fine[i : i + 1], r)[0]) for r in STORED_RESOLUTIONS}
            conn.execute(
                text(
                    "UPDATE events SET h3_r4=:h3_r4, h3_r5=:h3_r5, h3_r6=:h3_r6, h3_r7=:h3_r7, h3_r8=:h3_r8 "
                    "WHERE id=:id"
                ),
                {**parents, "id": f"o-{i}"},
            )
        conn.exec_driver_sql("DROP TABLE event_cell_hours")
        conn.exec_driver_sql(
            "CREATE TABLE event_cell_hours (hour BIGINT NOT NULL, h3_r4 BIGINT NOT NULL, h3_r5 BIGINT NOT NULL, "
            "h3_r6 BIGINT NOT NULL, h3_r7 BIGINT NOT NULL, fit INTEGER NOT NULL, lat FLOAT NOT NULL, "
            "lng FLOAT NOT NULL, events INTEGER NOT NULL, people INTEGER NOT NULL, "
            "CONSTRAINT uq_event_cell_hours UNIQUE (hour, h3_r7, fit))"
        )
        rollup.rebuild(conn, store.dialect, store.to_db_time)
    return store


def test_an_old_store_is_reindexed_and_its_rollup_rebuilt(old_store: Store) -> None:
    with old_store.engine.connect() as conn:
        assert rollup.needs_direct_cells(conn)
        old = conn.execute(text("SELECT lat, lng, h3_r6 FROM events")).all()
    wrong = sum(cell != _containing(lat, lng, 6) for lat, lng, cell in old)
    assert wrong > 0  # parents of res 9: some events sat in a res-6 hexagon that does not contain them
    before = old_store.window_cell_counts(6, BASE + timedelta(hours=6), timedelta(hours=6), 1)
    old_store.init_schema()  # what `hbm db init`, `hbm ingest` and `hbm demo` run first
    with old_store.engine.connect() as conn:
        assert not rollup.needs_direct_cells(conn)
        rows = conn.execute(text("SELECT lat, lng, h3_r4, h3_r5, h3_r6, h3_r7, h3_r8, h3_r9 FROM events")).all()
    assert len(rows) == 300
    for lat, lng, *cells in rows:
        assert cells == [_containing(lat, lng, r) for r in STORED_RESOLUTIONS]
    after = old_store.window_cell_counts(6, BASE + timedelta(hours=6), timedelta(hours=6), 1)
    assert int(after["events"].sum()) == int(before["events"].sum()) == 300
    # Writes after the migration merge into the new key.
    old_store.upsert(
        "events",
        [
            {
                "id": "o-new",
                "occurred_at": BASE + timedelta(minutes=5),
                "kind": "crossing",
                "people": 1,
                "geometry": Point(31.0, 1.0),
                "source": "test",
            }
        ],
    )
    again = old_store.window_cell_counts(6, BASE + timedelta(hours=6), timedelta(hours=6), 1)
    assert int(again["events"].sum()) == 301
