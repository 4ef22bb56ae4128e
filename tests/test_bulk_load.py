"""Bulk event loads on both backends: an identical re-import writes nothing and leaves the revision alone.

Wall screens rebuild when the revision moves, so a nightly re-import of the same export must not
move it; a file with one changed row must move it exactly once. Runs against SQLite and (with
HBM_TEST_POSTGIS_URL) PostGIS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from data import partitions, rollup
from data.bulk_events import EventLoad
from data.ingest import ingest_file
from data.ingest.settings import load_ingest_settings
from data.store import Store
from geo.cells import STORED_RESOLUTIONS, points_to_all_cells

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HEADER = "id,occurred_at,kind,people,lat,lon,location_precision_m,notes\n"


def _rows(n: int = 30) -> list[str]:
    """Return ``n`` CSV lines over three days and two months' boundary, with mixed precisions."""
    lines = []
    for i in range(n):
        when = datetime(2026, 10, 31, 20, tzinfo=UTC) + timedelta(hours=3 * i)
        precision = ["10", "5000", "", "900000"][i % 4]
        lines.append(
            f"b{i},{when:%Y-%m-%dT%H:%M:%SZ},rescue,{1 + i % 5},{2.0 + 0.01 * i},{31.0 + 0.02 * i},{precision},n{i}\n"
        )
    return lines


def _import(store: Store, path: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_ingest_settings(batch_rows=7)  # several staged chunks per load
    return ingest_file(store, path, settings=settings, rejects_path=tmp_path / "r.csv", now=NOW)


def _revision(store: Store) -> tuple[int, int]:
    revs = store.revisions()
    return revs["_all"].revision, revs["events"].revision


def test_an_identical_reimport_writes_nothing_and_one_changed_row_moves_the_revision_once(
    store: Store, tmp_path: Path
) -> None:
    lines = _rows()
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(lines))
    first = _import(store, path, tmp_path)
    assert (first.accepted, first.written, first.unchanged) == (30, 30, 0)
    rev = _revision(store)
    stored = store.changes_since("events", 0).set_index("id")

    again = _import(store, path, tmp_path)
    assert (again.accepted, again.unchanged) == (30, 30)
    assert _revision(store) == rev
    assert store.counts()["events"] == 30
    assert store.changes_since("events", rev[0]).empty  # nothing was rewritten

    lines[4] = lines[4].replace(",n4\n", ",n4 corrected\n")
    path.write_text(HEADER + "".join(lines))
    changed = _import(store, path, tmp_path)
    assert changed.unchanged == 29
    assert _revision(store) == (rev[0] + 1, rev[0] + 1)
    assert store.counts()["events"] == 30
    delta = store.changes_since("events", rev[0])
    assert delta["id"].tolist() == ["b4"] and delta["notes"].tolist() == ["n4 corrected"]

    _import(store, path, tmp_path)  # the changed file once more: nothing moves
    assert _revision(store) == (rev[0] + 1, rev[0] + 1)
    after = store.changes_since("events", 0).set_index("id")
    unchanged = after.drop(index="b4")
    assert (unchanged["revision"] == stored.drop(index="b4")["revision"]).all()


def test_upsert_events_of_the_same_frame_twice_moves_the_revision_once(store: Store) -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "occurred_at": [NOW - timedelta(hours=2), NOW - timedelta(hours=1)],
            "kind": ["rescue", "crossing"],
            "people": [3, 4],
            "lat": [2.5, 2.6],
            "lng": [31.2, 31.3],
        }
    )
    rev = store.upsert_events(frame)
    assert store.upsert_events(frame) == rev == store.revisions()["events"].revision
    moved = frame.assign(occurred_at=[NOW - timedelta(days=40), NOW - timedelta(hours=1)])  # another month
    assert store.upsert_events(moved) == rev + 1
    assert store.counts()["events"] == 2
    got = store.changes_since("events", rev).set_index("id")
    assert list(got.index) == ["a"] and got.loc["a", "occurred_at"] == NOW - timedelta(days=40)


def test_a_soft_deleted_event_imported_again_is_restored(store: Store) -> None:
    frame = pd.DataFrame(
        {"id": ["a"], "occurred_at": [NOW], "kind": ["rescue"], "people": [3], "lat": [2.5], "lng": [31.2]}
    )
    store.upsert_events(frame)
    deleted = store.soft_delete("events", ["a"])
    assert store.counts()["events"] == 0
    assert store.upsert_events(frame) == deleted + 1
    assert store.counts()["events"] == 1


def test_a_staged_load_stores_exact_cells_and_a_rollup_equal_to_a_rebuild(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(_rows(60)))
    _import(store, path, tmp_path)
    cols = ", ".join(f"h3_r{r}" for r in STORED_RESOLUTIONS)
    with store.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text(f"SELECT lat, lng, {cols} FROM events ORDER BY id")).all()
    lat = np.array([r[0] for r in rows])
    lng = np.array([r[1] for r in rows])
    expected = points_to_all_cells(lat, lng)  # each resolution indexed directly, never a parent
    for k, res in enumerate(STORED_RESOLUTIONS):
        assert [int(r[2 + k]) for r in rows] == expected[res].tolist()
    geoms = store.features("events").set_index("id").geometry
    assert geoms["b3"].x == 31.06 and geoms["b3"].y == 2.03

    def rolled() -> list[tuple[int, int, int, int]]:
        frame = store.window_cell_counts(5, NOW, timedelta(days=30), windows=2)
        return sorted(frame.itertuples(index=False, name=None))

    staged = rolled()
    with store.connect(write=True) as conn:  # type: ignore[attr-defined]
        rollup.rebuild(conn, "sqlite" if store.backend == "sqlite" else "postgresql", store.to_db_time)  # type: ignore[attr-defined]
    assert staged == rolled()
    assert sum(r[2] for r in staged) == 60


def _rollup_rows(store: Store) -> list[tuple]:
    with store.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text(f"SELECT {', '.join(rollup.ROLLUP_COLUMNS)} FROM event_cell_hours")).all()
    return sorted((*r[:6], round(r[6], 9), round(r[7], 9), r[8], r[9]) for r in rows)


def test_a_load_merged_in_several_steps_equals_one_rebuild(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merge steps of 5 rows: new events, identical ones, and changed ones (one moved to another month)
    sharing hours with new events of earlier steps; rollup sums and means equal a rebuild from events."""
    monkeypatch.setattr(EventLoad, "MERGE_ROWS", 5)
    lines = _rows(30)  # b{i} at Oct 31 20:00 + 3 h * i
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(lines[:12]))  # stored before: Oct 31 - Nov 2, two months
    _import(store, path, tmp_path)
    rev = _revision(store)
    # b3 changed and moved to the hour of new event b14, last in the file: its step recomputes that hour,
    # which already holds b14 from an earlier step (whose partial sum must then not be added again).
    last = lines[3].replace(",rescue,", ",crossing,").replace("2026-11-01T05", "2026-11-02T14")
    lines[3] = _rows(31)[30].replace("b30", "d0")  # keep 30 lines before the extras (a new event)
    lines[5] = lines[5].replace("2026-11-01T11", "2026-11-03T23")  # moved to the hour of new event b25
    lines[9] = lines[9].replace("2026-11-01T23", "2026-10-30T11")  # moved back into October
    extra = [line.replace("b2", "c2", 1).replace(",n2", ",m2") for line in lines[20:24]]  # same hours as b20-b23
    path.write_text(HEADER + "".join([*lines, *extra, last]))
    summary = _import(store, path, tmp_path)
    assert (summary.accepted, summary.unchanged) == (35, 9)  # b0-b11 stored: 3 changed, 9 identical
    assert _revision(store) == (rev[0] + 1, rev[0] + 1)  # one revision for the whole load
    assert store.counts()["events"] == 35
    moved = store.changes_since("events", rev[0]).set_index("id")
    assert moved.loc["b9", "occurred_at"] == datetime(2026, 10, 30, 11, tzinfo=UTC)
    assert moved.loc["b3", "kind"] == "crossing"
    assert moved.loc["b3", "occurred_at"] == datetime(2026, 11, 2, 14, tzinfo=UTC)
    staged = _rollup_rows(store)
    with store.connect(write=True) as conn:  # type: ignore[attr-defined]
        rollup.rebuild(conn, "sqlite" if store.backend == "sqlite" else "postgresql", store.to_db_time)  # type: ignore[attr-defined]
    assert staged == _rollup_rows(store)
    assert sum(r[8] for r in staged) == 35


def test_an_initial_load_in_several_steps_stores_every_event_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into an empty store nothing is compared (no partition holds rows yet); every row is stored once."""
    monkeypatch.setattr(EventLoad, "MERGE_ROWS", 4)
    path = tmp_path / "events.csv"
    path.write_text(HEADER + "".join(_rows(30)))
    summary = _import(store, path, tmp_path)
    assert (summary.accepted, summary.written, summary.unchanged) == (30, 30, 0)
    assert store.counts()["events"] == 30
    assert sorted(store.features("events")["id"]) == sorted(f"b{i}" for i in range(30))
    again = _import(store, path, tmp_path)  # now compared: every row identical
    assert (again.unchanged, store.counts()["events"]) == (30, 30)


@pytest.mark.parametrize("store", ["postgis"], indirect=True)  # monthly partitions are PostGIS only
def test_only_partitions_holding_rows_are_compared_and_a_change_there_is_found(store: Store, tmp_path: Path) -> None:
    """PostGIS: an empty partition (September) is left out of the comparison; a changed October row is still found."""

    path = tmp_path / "events.csv"
    lines = _rows(4)  # Oct 31 20:00 - Nov 1 05:00
    path.write_text(HEADER + "".join(lines))
    _import(store, path, tmp_path)
    with store.connect(write=True) as conn:  # type: ignore[attr-defined]
        partitions.ensure_months(conn, {(2026, 9)})
        assert partitions.occupied(conn) == (["events_p202610", "events_p202611"], 3)
    september = lines[0].replace("b0,2026-10-31", "e0,2026-09-15")
    path.write_text(HEADER + lines[0].replace(",n0", ",n0 again") + "".join(lines[1:]) + september)
    summary = _import(store, path, tmp_path)
    assert (summary.accepted, summary.unchanged) == (5, 3)
    assert store.changes_since("events", 0).set_index("id").loc["b0", "notes"] == "n0 again"
    assert store.counts()["events"] == 5
