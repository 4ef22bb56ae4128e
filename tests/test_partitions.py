"""PostGIS monthly partitions of events: created by writes, moved-in by the migration, dropped whole by a purge."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import Point
from sqlalchemy import text

from data import partitions
from data.open import open_store
from data.postgis_store import EVENTS_CONFLICT_KEY
from data.retention import purge_events
from data.settings import load_store_settings
from data.store import SqlStore
from tests.helpers import POSTGIS_URL, reset_postgis, unavailable

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


@pytest.fixture
def pg() -> Iterator[SqlStore]:
    """A fresh PostGIS store."""
    if not POSTGIS_URL:
        unavailable("PostGIS tests need HBM_TEST_POSTGIS_URL")
    reset_postgis(POSTGIS_URL)
    store = open_store(load_store_settings(database_url=POSTGIS_URL))
    assert isinstance(store, SqlStore)
    store.init_schema()
    yield store
    store.dispose()


def _event(i: int, when: datetime, people: int = 1) -> dict:
    return {
        "id": f"ev-{i:04d}",
        "occurred_at": when,
        "kind": "crossing",
        "people": people,
        "geometry": Point(31.0 + 0.01 * (i % 7), 2.0 + 0.01 * (i % 5)),
    }


def _per_partition(store: SqlStore) -> dict[str, int]:
    with store.connect() as conn:
        rows = conn.execute(text("SELECT tableoid::regclass::text, COUNT(*) FROM events GROUP BY 1")).all()
    return {name: int(n) for name, n in rows}


def _months_seed(store: SqlStore) -> list[dict]:
    """Three events in each of September, October and November 2026."""
    rows = [
        _event(10 * m + k, datetime(2026, m, 10 + k, 6, tzinfo=UTC), people=m) for m in (9, 10, 11) for k in range(3)
    ]
    store.upsert("events", rows)
    return rows


def test_events_land_in_the_partition_of_their_month(pg: SqlStore) -> None:
    _months_seed(pg)
    with pg.connect() as conn:
        assert partitions.is_partitioned(conn)
        assert partitions.existing_months(conn) == {(2026, 9), (2026, 10), (2026, 11)}
    assert _per_partition(pg) == {"events_p202609": 3, "events_p202610": 3, "events_p202611": 3}
    assert EVENTS_CONFLICT_KEY == ("id", "occurred_at")


def test_an_update_that_moves_an_event_to_another_month_keeps_one_row(pg: SqlStore) -> None:
    rows = _months_seed(pg)
    moved = {**rows[0], "occurred_at": datetime(2026, 11, 1, 0, 0, tzinfo=UTC), "people": 50}
    pg.upsert("events", [moved, rows[1]])  # one moved, one unchanged: the staging merge path
    with pg.connect() as conn:
        found = conn.execute(text("SELECT occurred_at, people FROM events WHERE id = :id"), {"id": moved["id"]}).all()
    assert found == [(moved["occurred_at"], 50)]
    assert _per_partition(pg) == {"events_p202609": 2, "events_p202610": 3, "events_p202611": 4}
    counts = pg.cell_counts(7, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert int(counts["events"].sum()) == 9  # nothing counted twice
    day = pg.window_cell_counts(7, datetime(2026, 11, 2, tzinfo=UTC), timedelta(days=1), 1)
    assert int(day["people"].sum()) == 50  # the rollup moved the event to its new hour


def test_concurrent_writers_create_a_new_month_once(pg: SqlStore) -> None:
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            pg.upsert("events", [_event(500 + k, datetime(2027, 1, 5, k, tzinfo=UTC))])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _per_partition(pg) == {"events_p202701": 4}


def test_purge_drops_whole_months_and_deletes_the_rest_by_row(pg: SqlStore) -> None:
    _months_seed(pg)
    cutoff = datetime(2026, 10, 11, 12, 0, tzinfo=UTC)  # after 10 and 11 October 06:00, before the 12th
    result = purge_events(pg, NOW - cutoff, keep_aggregates=True, now=NOW)
    assert result.partitions == 1 and result.events == 3 + 2
    assert _per_partition(pg) == {"events_p202610": 1, "events_p202611": 3}
    with pg.connect() as conn:
        assert partitions.existing_months(conn) == {(2026, 10), (2026, 11)}
    pg.upsert("events", [_event(900, datetime(2026, 9, 15, tzinfo=UTC))])  # a late import recreates the month
    assert _per_partition(pg)["events_p202609"] == 1


def test_an_unpartitioned_events_table_is_migrated_with_its_rows(pg: SqlStore) -> None:
    rows = _months_seed(pg)
    before = pg.cell_counts(6, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    with pg.connect(write=True) as conn:  # rebuild the table as a store from before partitioning had it
        conn.exec_driver_sql("CREATE TABLE events_plain (LIKE events INCLUDING DEFAULTS)")
        conn.exec_driver_sql("INSERT INTO events_plain SELECT * FROM events")
        conn.exec_driver_sql("DROP TABLE events")
        conn.exec_driver_sql("ALTER TABLE events_plain RENAME TO events")
        conn.exec_driver_sql("ALTER TABLE events ADD PRIMARY KEY (id)")
        conn.exec_driver_sql("CREATE INDEX ix_events_h3_r6 ON events (h3_r6)")  # a name the new schema uses too
        conn.exec_driver_sql("CREATE INDEX ix_events_occurred_at ON events (occurred_at)")
        assert not partitions.is_partitioned(conn)
    pg.init_schema()
    with pg.connect() as conn:
        assert partitions.is_partitioned(conn)
        assert conn.execute(text("SELECT to_regclass('events_unpartitioned')")).scalar() is None
    assert sum(_per_partition(pg).values()) == len(rows)
    after = pg.cell_counts(6, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert sorted(map(tuple, after.to_numpy())) == sorted(map(tuple, before.to_numpy()))
    pg.init_schema()  # again: nothing to migrate, nothing lost
    assert sum(_per_partition(pg).values()) == len(rows)


def test_month_bounds_roll_over_the_year() -> None:
    assert partitions.month_bounds(2026, 12) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert partitions.partition_name(2027, 1) == "events_p202701"
    assert partitions.month_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC) + timedelta(hours=1)) == (2027, 1)
