"""Per-source coverage declared at ingest (issue 11): baselines before it are missing, empty ones after it are zeros."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.cli import main
from data.coverage import area_coverage_start, declare_coverage, declared_coverage
from data.store import Store
from geo.hotspots import INSUFFICIENT, HotspotSettings
from layers.hotspots import hotspot_table
from layers.view import WINDOWS, View
from tests.helpers import POSTGIS_URL, reset_postgis

NOW = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)
SITE = (3.58, 32.06)
FAR = (1.0, 30.0)


def _events(
    source: str | None, days_back: int, days_to: int = 0, place: tuple[float, float] = SITE, now: datetime = NOW
) -> list[dict]:
    """One event of 3 people every 6 hours from ``days_back`` days before ``now`` up to ``days_to`` days before it."""
    from shapely.geometry import Point

    hours = range(days_to * 24, days_back * 24, 6)
    return [
        {
            "id": f"{source}-{place[0]}-{h}",
            "occurred_at": now - timedelta(hours=h, minutes=30),
            "kind": "crossing",
            "people": 3,
            "source": source,
            "geometry": Point(place[1], place[0]),
        }
        for h in hours
    ]


def _table(store: Store, now: datetime = NOW):  # type: ignore[no-untyped-def]
    view = View(start=now - WINDOWS["7d"], end=now, resolution=6, bbox=None, metric="events")
    return hotspot_table(store, view, HotspotSettings())


def test_a_declared_later_start_makes_earlier_baselines_missing(store: Store) -> None:
    store.upsert("events", _events("field team", 30))
    before = _table(store)
    assert [s.covered for s in before.attrs["windows"][1:]] == [True, True, True, False]  # 30 days: 3 of 4
    assert INSUFFICIENT not in set(before["category"])
    # The field team says its records before 16 days ago are incomplete (a partial backfill).
    declare_coverage(store, ["field team"], NOW - timedelta(days=16))
    after = _table(store)
    assert [s.covered for s in after.attrs["windows"][1:]] == [True, False, False, False]
    assert set(after["category"]) == {INSUFFICIENT}  # one covered baseline < the minimum of 2
    assert after["w2"].isna().all() and after["w1"].notna().all()


def test_a_declared_earlier_start_makes_old_empty_windows_true_zeros(store: Store) -> None:
    store.upsert("events", _events("field team", 10))  # data only for the last 10 days
    before = _table(store)
    assert set(before["category"]) == {INSUFFICIENT}  # no 7-day baseline starts after the first event
    declare_coverage(store, ["field team"], NOW - timedelta(days=60))  # watched, nothing seen
    after = _table(store)
    assert all(s.covered for s in after.attrs["windows"][1:])
    row = after.iloc[0]
    assert [row[f"w{i}"] for i in (2, 3, 4)] == [0, 0, 0]  # true zeros, not missing
    assert row["category"] not in (INSUFFICIENT,) and row["baseline_mean"] == pytest.approx(row["w1"] / 4)


def test_the_area_starts_at_the_earliest_start_of_the_sources_seen_there(store: Store) -> None:
    sql = store
    store.upsert("events", _events("radio", 20) + _events("field team", 5) + _events("ngo", 40, place=FAR))
    first = area_coverage_start(sql, None)
    assert first == NOW - timedelta(hours=40 * 24 - 6, minutes=30)  # nothing declared: the first event anywhere
    near = (31.5, 3.0, 32.5, 4.0)
    radio_first = NOW - timedelta(hours=20 * 24 - 6, minutes=30)
    assert area_coverage_start(sql, near) == radio_first  # the ngo's events are elsewhere
    declare_coverage(sql, ["field team"], NOW - timedelta(days=25))
    assert area_coverage_start(sql, near) == NOW - timedelta(days=25)  # the earliest: field team's declared start
    declare_coverage(sql, ["field team"], NOW - timedelta(days=3))
    assert area_coverage_start(sql, near) == radio_first  # a later declaration does not hide the radio's data
    declare_coverage(sql, ["radio"], NOW - timedelta(days=15))
    assert area_coverage_start(sql, near) == NOW - timedelta(days=15)  # both declared: the earlier declaration
    declare_coverage(sql, ["ngo"], NOW - timedelta(days=90))
    assert area_coverage_start(sql, near) == NOW - timedelta(days=15)  # a source with no events here is ignored
    assert set(declared_coverage(sql)) == {"field team", "radio", "ngo"}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "occurred_at", "kind", "people", "lat", "lon", "source"])
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {
                    "id": r["id"],
                    "occurred_at": r["occurred_at"].isoformat(),
                    "kind": r["kind"],
                    "people": r["people"],
                    "lat": r["geometry"].y,
                    "lon": r["geometry"].x,
                    "source": r["source"],
                }
            )


@pytest.mark.parametrize("backend", ["sqlite", "postgis"])
def test_hbm_ingest_declares_coverage_and_hbm_hotspots_uses_it(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if backend == "postgis":
        if not POSTGIS_URL:
            pytest.skip("PostGIS tests need HBM_TEST_POSTGIS_URL")
        reset_postgis(POSTGIS_URL)
        url = POSTGIS_URL
    else:
        url = f"sqlite:///{tmp_path / 'cov.sqlite'}"
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    now = datetime.now(UTC)
    rows = _events("border post", 10, now=now)
    _write_csv(tmp_path / "post.csv", rows)
    bbox = "32,3,33,4"

    assert main(["ingest", str(tmp_path / "post.csv")]) == 0
    capsys.readouterr()
    assert main(["hotspots", "--window", "7d", "--bbox", bbox, "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert {c["category"] for c in plain["cells"]} == {INSUFFICIENT}
    assert not any(w["covered"] for w in plain["baseline_windows"])

    # The same file again, declared complete from 40 days back: the empty earlier weeks are true zeros.
    start = (now - timedelta(days=40)).strftime("%Y-%m-%d")
    assert main(["ingest", str(tmp_path / "post.csv"), "--coverage-start", start]) == 0
    out = capsys.readouterr().out
    assert f"complete from {start} 00:00 UTC for source(s) 'border post'" in out
    assert main(["hotspots", "--window", "7d", "--bbox", bbox, "--json"]) == 0
    declared = json.loads(capsys.readouterr().out)
    assert all(w["covered"] for w in declared["baseline_windows"])
    cell = declared["cells"][0]
    assert cell["category"] != INSUFFICIENT and cell["baseline"][1:] == [0, 0, 0]

    # Declared later than the data begin: the baselines before it are missing again.
    later = (now - timedelta(days=1)).strftime("%Y-%m-%d")
    assert main(["ingest", str(tmp_path / "post.csv"), "--coverage-start", later, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["coverage"]["sources"] == ["border post"]
    assert main(["hotspots", "--window", "7d", "--bbox", bbox, "--json"]) == 0
    assert {c["category"] for c in json.loads(capsys.readouterr().out)["cells"]} == {INSUFFICIENT}


def test_a_bad_coverage_start_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ingest", str(tmp_path / "x.csv"), "--coverage-start", "last tuesday"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "is not YYYY-MM-DD" in err[-1] and "Traceback" not in "".join(err)
