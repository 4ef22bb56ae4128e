"""The store suite: every test runs against SQLite and PostGIS."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import h3
import pytest
from shapely.geometry import Point

from data.store import Store
from geo.errors import IngestError, InvalidView, StoreUnavailable
from tests.helpers import NOW, sample_events, sample_features

WINDOW = (NOW - timedelta(days=3), NOW + timedelta(seconds=1))


def test_init_schema_is_idempotent(store: Store) -> None:
    store.init_schema()
    store.init_schema()
    assert store.counts() == {"crossing_points": 0, "routes": 0, "events": 0, "sar_zones": 0}
    assert store.revisions()["_all"].revision == 0


def test_every_write_bumps_a_monotonic_revision(seeded: Store) -> None:
    before = seeded.revisions()
    rev = seeded.upsert("events", sample_events(3))
    after = seeded.revisions()
    assert rev == after["_all"].revision == before["_all"].revision + 1
    assert after["events"].revision == rev
    assert after["sar_zones"].revision == before["sar_zones"].revision
    assert seeded.soft_delete("routes", ["rt-a"]) == rev + 1


def test_upsert_by_id_updates_instead_of_duplicating(seeded: Store) -> None:
    rows = sample_features()["crossing_points"]
    rows[0] = {**rows[0], "status": "closed"}
    seeded.upsert("crossing_points", rows)
    seeded.upsert("events", sample_events())
    frame = seeded.features("crossing_points")
    assert len(frame) == 2
    assert frame.set_index("id").loc["cp-a", "status"] == "closed"
    assert seeded.counts()["events"] == 40


def test_changes_since_includes_soft_deleted_rows(seeded: Store) -> None:
    rev = seeded.revisions()["_all"].revision
    seeded.soft_delete("crossing_points", ["cp-b"])
    changed = seeded.changes_since("crossing_points", rev)
    assert list(changed["id"]) == ["cp-b"]
    assert changed["deleted_at"].notna().all()
    assert list(seeded.features("crossing_points")["id"]) == ["cp-a"]


def test_features_round_trip_geometry_and_crs(seeded: Store) -> None:
    frame = seeded.features("routes")
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].equals_exact(sample_features()["routes"][0]["geometry"], 1e-9)
    assert frame["last_observed_at"].iloc[0] == NOW - timedelta(hours=3)
    zones = seeded.features("sar_zones")
    assert set(zones.geometry.geom_type) == {"MultiPolygon"}


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [((32.0, 3.5, 32.1, 3.7), ["cp-a"]), ((30.0, 2.0, 31.0, 3.0), ["cp-b"]), ((0.0, 0.0, 1.0, 1.0), [])],
)
def test_bbox_query_uses_the_spatial_index(seeded: Store, bbox: tuple, expected: list[str]) -> None:
    assert list(seeded.features("crossing_points", bbox)["id"]) == expected


@pytest.mark.parametrize("res", [4, 6, 9])
def test_cell_counts_match_a_reference_count(seeded: Store, res: int) -> None:
    counts = seeded.cell_counts(res, *WINDOW)
    expected_events: Counter[int] = Counter()
    expected_people: Counter[int] = Counter()
    for row in sample_events():
        if WINDOW[0] <= row["occurred_at"] < WINDOW[1]:
            cell = h3.str_to_int(h3.latlng_to_cell(row["geometry"].y, row["geometry"].x, res))  # the containing cell
            expected_events[cell] += 1
            expected_people[cell] += row["people"]
    got = {c: (e, p) for c, e, p in counts.itertuples(index=False)}
    assert got == {c: (expected_events[c], expected_people[c]) for c in expected_events}


def test_window_and_bbox_filter_events(seeded: Store) -> None:
    start = NOW - timedelta(hours=12)
    inside = [r for r in sample_events() if r["occurred_at"] >= start]
    assert 0 < len(inside) < 40
    assert seeded.event_totals(start, NOW + timedelta(seconds=1)) == (len(inside), sum(r["people"] for r in inside))
    events, _ = seeded.event_totals(*WINDOW, bbox=(32.0, 3.5, 32.2, 3.7))
    assert events == 20
    with pytest.raises(InvalidView):
        seeded.event_totals(NOW, NOW - timedelta(hours=1))


def test_flows_group_by_crossing_point_and_route(seeded: Store) -> None:
    flows = seeded.flows_by("crossing_point_id", *WINDOW).set_index("key")
    assert flows.loc["cp-a", "events"] == 20
    routes = seeded.flows_by("route_id", *WINDOW).set_index("key")
    assert routes.loc["rt-a", "people"] == sum(r["people"] for r in sample_events() if r["route_id"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "party"}, "kind 'party' is not one of"),
        ({"people": -2}, "people must be a whole number"),
        ({"geometry": Point(200.0, 3.0)}, "outside EPSG:4326"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_invalid_events_are_rejected_and_nothing_is_written(store: Store, change: dict, message: str) -> None:
    rows = sample_events(5)
    rows[3] = {**rows[3], **change}
    with pytest.raises(IngestError, match=message):
        store.upsert("events", rows)
    assert store.counts()["events"] == 0
    assert store.revisions()["_all"].revision == 0


def test_invalid_feature_is_rejected(store: Store) -> None:
    bad = {**sample_features()["crossing_points"][0], "status": "maybe"}
    with pytest.raises(IngestError, match="status 'maybe'"):
        store.upsert("crossing_points", [bad])


def test_unreachable_store_raises_store_unavailable(store: Store, tmp_path: Path) -> None:
    url = store.engine.url
    (tmp_path / "a-file").write_text("not a folder")
    broken_url = (
        url.set(database=str(tmp_path / "a-file" / "x.sqlite")) if url.drivername == "sqlite" else url.set(port=1)
    )
    from data.open import open_store
    from data.settings import load_store_settings

    broken = open_store(load_store_settings(database_url=broken_url.render_as_string(hide_password=False)))
    with pytest.raises(StoreUnavailable, match="unavailable"):
        broken.revisions()


def _event(eid: str, hours_ago: float, lat: float, lng: float, people: int = 1, precision: float | None = 10.0) -> dict:
    return {
        "id": eid,
        "occurred_at": NOW - timedelta(hours=hours_ago),
        "kind": "crossing",
        "people": people,
        "geometry": Point(lng, lat),
        "location_precision_m": precision,
    }


def test_window_cell_counts_splits_consecutive_windows(store: Store) -> None:
    # Two events in the current day, one yesterday, three four days ago, one too old to count.
    hours = [1, 23, 25, 97, 98, 99, 200]
    store.upsert("events", [_event(f"e{i}", h, 2.0, 31.0, people=i + 1) for i, h in enumerate(hours)])
    frame = store.window_cell_counts(7, NOW, timedelta(days=1), windows=5)
    cell = h3.str_to_int(h3.latlng_to_cell(2.0, 31.0, 7))
    assert set(frame["cell"]) == {cell}
    by_window = frame.set_index("window")
    assert by_window["events"].to_dict() == {0: 2, 1: 1, 4: 3}
    assert by_window["people"].to_dict() == {0: 1 + 2, 1: 3, 4: 4 + 5 + 6}
    # Window 0 agrees with the plain count over the same interval.
    plain = store.cell_counts(7, NOW - timedelta(days=1), NOW)
    assert plain["events"].tolist() == [2]


def test_imprecise_events_count_at_a_coarser_cell_never_a_finer_one(store: Store) -> None:
    store.upsert(
        "events",
        [
            _event("fine", 1, 2.0, 31.0, precision=50.0),
            _event("km", 1, 2.0, 31.0, precision=5_000.0),  # fits res 5 (8.5 km edge), not res 6 (3.2 km)
            _event("unknown", 1, 2.0, 31.0, precision=None),
            _event("vague", 1, 2.0, 31.0, precision=500_000.0),  # coarser than any stored cell: the coarsest
        ],
    )
    frame = store.window_cell_counts(8, NOW, timedelta(days=1), windows=1)
    got = {
        h3.get_resolution(h3.int_to_str(int(c))): int(n) for c, n in zip(frame["cell"], frame["events"], strict=True)
    }
    assert got == {8: 2, 5: 1, 4: 1}
    coarse = store.window_cell_counts(4, NOW, timedelta(days=1), windows=1)
    assert coarse["events"].tolist() == [4]


def test_cell_event_kinds_lists_the_top_kinds(seeded: Store) -> None:
    cell = h3.str_to_int(h3.latlng_to_cell(1.55, 30.6, 6))
    kinds = seeded.cell_event_kinds(cell, *WINDOW)
    assert kinds["kind"].tolist() == ["distress"]
    assert int(kinds["events"].iloc[0]) >= 1


def test_window_cell_counts_rejects_a_bad_request(store: Store) -> None:
    with pytest.raises(InvalidView):
        store.window_cell_counts(3, NOW, timedelta(days=1), windows=2)
    with pytest.raises(InvalidView):
        store.window_cell_counts(7, NOW, timedelta(days=1), windows=0)


def test_event_points_filter_by_kind_window_and_bbox(seeded: Store) -> None:
    distress = seeded.event_points(*WINDOW, kinds=["distress"])
    assert len(distress) > 0 and set(distress["kind"]) == {"distress"}
    assert distress["occurred_at"].is_monotonic_increasing
    west = seeded.event_points(*WINDOW, bbox=(30.0, 1.0, 31.0, 2.0))
    assert len(west) > 0 and (west["lng"] <= 31.0).all()
    assert seeded.event_points(*WINDOW, kinds=["death"]).empty


def test_rollup_follows_updates_and_deletes_without_double_counting(store: Store) -> None:
    rows = [_event(f"r{i}", 2 + i, 2.0, 31.0) for i in range(4)]
    store.upsert("events", rows)
    store.upsert("events", rows)  # the same import twice: upsert by id, counted once
    day = timedelta(days=1)

    def counts() -> dict[int, int]:
        frame = store.window_cell_counts(6, NOW, day, windows=2)  # whole hours at res 6: the rollup
        return frame.groupby("window")["events"].sum().to_dict()

    assert counts() == {0: 4}
    store.upsert("events", [{**rows[0], "occurred_at": NOW - timedelta(hours=30)}])  # moved to yesterday
    assert counts() == {0: 3, 1: 1}
    store.soft_delete("events", ["r1"])
    assert counts() == {0: 2, 1: 1}
    # The rollup and the events table agree at every resolution.
    for res in (4, 5, 6, 7):
        rolled = store.window_cell_counts(res, NOW, day, windows=2).sort_values(["cell", "window"], ignore_index=True)
        raw = store.window_cell_counts(res, NOW - timedelta(seconds=1), day, windows=2)  # not whole hours: raw
        assert rolled["events"].sum() == raw["events"].sum() == 3


def test_a_bulk_load_of_new_events_is_rolled_up_like_a_recompute(store: Store) -> None:
    from data import rollup

    n = rollup.BULK_ROWS + 10
    rows = [
        _event(
            f"b{i}",
            1 + i % 70,
            2.0 + 0.01 * (i % 9),
            31.0,
            people=1 + i % 3,
            precision=[10.0, 5_000.0, None, 900_000.0][i % 4],
        )
        for i in range(n)
    ]
    store.upsert("events", rows)  # all new and big: appended from the batch itself
    appended = store.window_cell_counts(5, NOW, timedelta(hours=24), windows=3).sort_values(["cell", "window"])
    store.upsert("events", rows[:3])  # an update: the touched hours are recomputed from the table
    with store.connect(write=True) as conn:  # type: ignore[attr-defined]
        rollup.rebuild(conn, "sqlite" if store.backend == "sqlite" else "postgresql", store.to_db_time)  # type: ignore[attr-defined]
    rebuilt = store.window_cell_counts(5, NOW, timedelta(hours=24), windows=3).sort_values(["cell", "window"])
    assert appended["events"].tolist() == rebuilt["events"].tolist()
    assert appended["people"].tolist() == rebuilt["people"].tolist()
    assert int(rebuilt["events"].sum()) == sum(1 for i in range(n) if 1 + i % 70 < 72)
