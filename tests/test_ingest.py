"""Ingest: readers, checks, idempotent re-runs, the rejects round trip, fatal batches and the real files."""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Polygon
from sqlalchemy import text

from dashboard.cli import main
from data.ingest import ingest_file, ingest_records
from data.ingest.profiles import get_profile
from data.ingest.readers import detect_encoding, open_source, sniff_delimiter
from data.ingest.settings import load_ingest_settings
from data.store import Store
from geo import validate as gv
from geo.errors import ConfigError, HbmError, IngestError
from tests.helpers import unavailable

FIXTURES = Path(__file__).parent / "fixtures"
BAD, GOOD = FIXTURES / "bad", FIXTURES / "good"
# ../shared/realdata beside the checkout (as CI lays it out), or HBM_TEST_REALDATA for a checkout elsewhere.
REALDATA = Path(
    os.environ.get("HBM_TEST_REALDATA") or Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def realdata(name: str) -> Path:
    """Return a file of ../shared/realdata, or skip (fail in CI) when the folder is absent."""
    path = REALDATA / name
    if not path.is_file():
        unavailable(f"real data file {path} is not here (CI has ../shared beside the checkout)")
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# -- pure checks (geo/validate.py) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lng", "region", "swapped"),
    [
        (131.2, 2.5, None, False),  # only the swapped pair is a position, but without a region it may be anywhere
        (131.2, 2.5, (120.0, -5.0, 140.0, 10.0), True),  # ... and it lies in the region: swapped
        (95.0, 31.4, (28.8, -1.8, 33.2, 4.4), False),  # swapped it would be in China, far from the region
        (2.5, 131.2, None, False),  # fine as written
        (131.2, 95.0, None, False),  # neither order is a position: not a swap, out of range
        (31.2, 2.5, None, False),  # both orders are positions: ambiguous without a region
        (31.2, 2.5, (28.8, -1.8, 33.2, 4.4), True),  # only the swapped pair lies in the region
        (2.5, 31.2, (28.8, -1.8, 33.2, 4.4), False),  # already inside
        (40.0, 2.0, (28.8, -1.8, 33.2, 4.4), False),  # neither order inside: left alone
        (0.0, 0.0, (-10.0, -10.0, 10.0, 10.0), False),  # (0, 0) is its own problem
    ],
)
def test_swapped_latlng_only_when_unambiguous(lat: float, lng: float, region: tuple | None, swapped: bool) -> None:
    assert bool(gv.swapped_latlng(np.array([lat]), np.array([lng]), region)[0]) is swapped


def test_repair_keeps_the_type_or_refuses() -> None:
    bowtie = Polygon([(31, 2), (31.2, 2.2), (31.2, 2), (31, 2.2), (31, 2)])
    fixed = gv.repair(bowtie, ("Polygon", "MultiPolygon"))
    assert fixed is not None and fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert math.isclose(fixed.area, 0.02, rel_tol=1e-6)
    flat = Polygon([(31, 2), (31.1, 2), (31.2, 2), (31, 2)])
    assert gv.repair(flat, ("Polygon", "MultiPolygon")) is None
    assert gv.repair(LineString([(31, 2), (31, 2)]), ("LineString",)) is None


def test_geometry_swap_is_detected_from_bounds() -> None:
    line = LineString([(2.0, 31.0), (2.1, 131.0)])
    assert gv.is_geometry_swapped(line)
    assert gv.swap_xy(line).bounds == (31.0, 2.0, 131.0, 2.1)
    assert not gv.is_geometry_swapped(LineString([(31.0, 2.0), (31.1, 2.1)]))


# -- readers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"\xef\xbb\xbfid,notes\n1,caf\xc3\xa9\n", "utf-8-sig"),
        (b"id,notes\n1,caf\xc3\xa9\n", "utf-8"),
        (b"id,notes\n1,caf\xe9 \x96 pont\n", "cp1252"),
        (b"id,notes\n1,caf\xe9 \x81\n", "latin-1"),
    ],
)
def test_encoding_is_detected(tmp_path: Path, raw: bytes, encoding: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(raw)
    assert detect_encoding(path) == encoding
    chunk = next(open_source(path).chunks)
    assert chunk.frame["notes"].iloc[0].startswith("café")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(delimiter: str) -> None:
    lines = [delimiter.join(["id", "notes", "lat"]) + "\n", delimiter.join(["1", "a, b; c", "2.5"]) + "\n"]
    if delimiter != ",":
        lines[1] = delimiter.join(["1", '"a, b"', "2.5"]) + "\n"
    assert sniff_delimiter(lines) == delimiter


def test_line_numbers_count_embedded_newlines(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('id,notes\n1,"first\nsecond\nthird"\n\n2,plain\n', encoding="utf-8")
    chunk = next(open_source(path).chunks)
    assert chunk.lines.tolist() == [2, 6]  # the blank line 5 is skipped, not counted
    assert chunk.frame["notes"].tolist() == ["first\nsecond\nthird", "plain"]


def test_chunks_follow_the_batch_size(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("id,x\n" + "".join(f"{i},{i}\n" for i in range(7)), encoding="utf-8")
    sizes = [len(c) for c in open_source(path, chunk_rows=3).chunks]
    assert sizes == [3, 3, 1]


def test_unknown_profile_and_bad_settings_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="unknown profile 'nope'"):
        get_profile("nope")
    with pytest.raises(IngestError, match="not found"):
        get_profile(str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="IANA time zone"):
        load_ingest_settings(naive_timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match="REGION_BBOX"):
        load_ingest_settings(region_bbox="1,2,3")


# -- through the store (both backends) -------------------------------------------------------------


def test_good_files_import_and_rerun_idempotently(store: Store, tmp_path: Path) -> None:
    settings = load_ingest_settings()
    first = ingest_file(store, GOOD / "events.csv", rejects_path=tmp_path / "r.csv", settings=settings, now=NOW)
    again = ingest_file(store, GOOD / "events.csv", rejects_path=tmp_path / "r.csv", settings=settings, now=NOW)
    geo = ingest_file(store, GOOD / "events.geojson", rejects_path=tmp_path / "g.csv", settings=settings, now=NOW)
    geo_again = ingest_file(store, GOOD / "events.geojson", rejects_path=tmp_path / "g.csv", settings=settings, now=NOW)
    points = ingest_file(
        store, GOOD / "crossing_points.csv", profile=str(GOOD / "crossing_points.toml"), rejects_path=tmp_path / "c.csv"
    )
    assert (first.exit_code, again.exit_code, geo.exit_code, geo_again.exit_code, points.exit_code) == (0, 0, 0, 0, 0)
    assert store.counts() == {"crossing_points": 2, "routes": 0, "events": 5, "sar_zones": 0}
    frame = store.changes_since("events", 0).set_index("id")
    assert frame.loc["g2", "occurred_at"] == pd.Timestamp("2026-01-10T06:30:00Z")  # +03:00 converted to UTC
    derived = sorted(i for i in frame.index if i.startswith("ev-"))
    assert len(derived) == 2 and all(len(i) == 23 for i in derived)  # ids derived from content, stable
    cps = store.features("crossing_points").set_index("id")
    assert cps.loc["UG-EL", "status"] == "open" and cps.loc["UG-OR", "country_a"] == "UGA"


def test_projected_coordinates_are_reprojected(store: Store, tmp_path: Path) -> None:
    summary = ingest_file(store, BAD / "05_events_epsg3857.geojson", rejects_path=tmp_path / "r.csv", now=NOW)
    assert "reprojected from EPSG:3857 to EPSG:4326" in summary.notes
    frame = store.changes_since("events", 0).set_index("id")
    assert frame.loc["m0", "geometry"].y == pytest.approx(2.5, abs=1e-3)
    assert frame.loc["m0", "geometry"].x == pytest.approx(31.2, abs=1e-3)


def test_naive_times_are_read_in_the_configured_zone(store: Store, tmp_path: Path) -> None:
    kampala = load_ingest_settings(naive_timezone="Africa/Kampala")
    ingest_file(store, BAD / "39_events_naive_local.csv", rejects_path=tmp_path / "r.csv", settings=kampala, now=NOW)
    when = store.changes_since("events", 0)["occurred_at"].iloc[0]
    assert when == pd.Timestamp("2026-01-10T05:00:00Z")  # 08:00 in Kampala (UTC+3)


def test_rejects_file_reimports_once_corrected(store: Store, tmp_path: Path) -> None:
    rejects = tmp_path / "counts.rejects.csv"
    first = ingest_file(store, BAD / "12_events_bad_counts.csv", rejects_path=rejects, now=NOW)
    assert (first.accepted, first.rejected, store.counts()["events"]) == (1, 4, 1)
    rows = read_rows(rejects)
    assert [r["id"] for r in rows] == ["e2", "e3", "e4", "e5"]
    assert {r["_field"] for r in rows} == {"people"} and all(r["_line"] for r in rows)
    unchanged = ingest_file(store, rejects, rejects_path=tmp_path / "again.rejects.csv", now=NOW)
    assert (unchanged.rejected, store.counts()["events"]) == (4, 1)  # re-imports as-is: same reasons
    for row in rows:
        row["people"] = "1"
    write_rows(rejects, rows)
    fixed = ingest_file(store, rejects, rejects_path=tmp_path / "fixed.rejects.csv", now=NOW)
    assert (fixed.exit_code, fixed.accepted, store.counts()["events"]) == (0, 4, 5)
    assert not (tmp_path / "fixed.rejects.csv").exists()


def test_rejects_of_a_geojson_keep_the_geometry_as_wkt(store: Store, tmp_path: Path) -> None:
    rejects = tmp_path / "geo.rejects.csv"
    ingest_file(store, BAD / "29_events_wrong_type.geojson", rejects_path=rejects, now=NOW)
    rows = read_rows(rejects)
    assert [r["wkt"] for r in rows] == ["POINT (31.2 2.5)"] * 2
    for row in rows:
        row["people"], row["notes"] = "2", "fixed"
    write_rows(rejects, rows)
    fixed = ingest_file(store, rejects, rejects_path=tmp_path / "fixed.csv", now=NOW)
    assert (fixed.exit_code, store.counts()["events"]) == (0, 3)


def test_store_error_mid_file_is_fatal_for_its_batch_only(store: Store, tmp_path: Path) -> None:
    with store.connect(write=True) as conn:
        if store.backend == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.id = 'e4' "
                    "BEGIN SELECT RAISE(ABORT, 'boom'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN IF NEW.id = 'e4' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$"
                )
            )
            conn.execute(text("CREATE TRIGGER boom BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION boom()"))
    path = tmp_path / "six.csv"
    path.write_text(
        "id,occurred_at,kind,people,lat,lon\n" + "".join(f"e{i},2026-01-10,rescue,1,2.5,31.2\n" for i in range(1, 7))
    )
    with pytest.raises(HbmError, match=r"batch 2 \(lines 4-5\) was not written.*2 rows from earlier batches.*boom"):
        ingest_file(store, path, settings=load_ingest_settings(batch_rows=2), rejects_path=tmp_path / "r.csv", now=NOW)
    assert sorted(store.changes_since("events", 0)["id"]) == ["e1", "e2"]


def test_cli_fatal_store_error_exits_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HBM_DATABASE_URL", f"sqlite:///{tmp_path / 'a-file'}/x.sqlite")
    (tmp_path / "a-file").write_text("not a folder")
    code = main(["ingest", str(GOOD / "events.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("hbm: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_summary_and_default_rejects_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HBM_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    code = main(["ingest", str(BAD / "11_events_unknown_kind.csv")])
    out = capsys.readouterr().out
    assert code == 1
    assert "read               3 rows" in out and "rejected           1 rows: unknown_value 1" in out
    assert (tmp_path / "11_events_unknown_kind.rejects.csv").exists()
    code = main(["ingest", str(GOOD / "events.csv"), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["read"] == summary["accepted"] == 3 and summary["seconds"] >= 0


def test_live_feed_batches_go_through_validation(sqlite_store: Store) -> None:
    frame = pd.DataFrame(
        {
            "id": ["f1", "f2", "f3"],
            "occurred_at": pd.to_datetime(["2026-11-20T10:00:00Z"] * 3, utc=True),
            "kind": ["crossing", "rescue", "teleport"],
            "people": [3, 1, 2],
            "lat": [2.5, 2.6, 2.7],
            "lng": [31.2, 31.3, 31.4],
        }
    )
    summary = ingest_records(sqlite_store, frame, now=NOW)
    assert (summary.accepted, summary.rejected, summary.written) == (2, 1, 2)
    assert [i.status for i in summary.items] == ["accepted", "accepted", "rejected"]
    assert sqlite_store.counts()["events"] == 2


# -- the real files in ../shared/realdata ----------------------------------------------------------


def _assert_near_named_country(store: Store, path: Path) -> None:
    """No stored MMP event lies more than 500 km from its Country of Incident, except at sea within 1,000 km."""
    from data.boundaries import find_country, on_land
    from geo.positions import distance_to_km

    named = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            named[row["Incident ID"].lstrip("\ufeff").strip()] = row["Country of Incident"]
    events = store.changes_since("events", 0)
    incident = events["id"].str.replace(r"^mmp-(.*)-(dead|missing)$", r"\1", regex=True)
    country = incident.map(named)
    assert country.notna().all()
    far = []
    for name, group in events.groupby(country):
        outline = find_country(name)
        assert outline is not None, name  # every Country of Incident in the file is known
        lat, lng = group.geometry.y.to_numpy(), group.geometry.x.to_numpy()
        dist = distance_to_km(lat, lng, outline.geometry)
        at_sea = ~on_land(lat, lng)
        bad = (dist > 500) & ~(at_sea & (dist <= 1000))
        far += list(group["id"][bad])
    assert far == []
    stored = events.set_index("id").geometry
    assert abs(stored["mmp-2022.MMP1142-dead"].x - -106.2849) < 1e-6  # El Paso, not China
    assert abs(stored["mmp-2017.MMP001166-dead"].y - 12.6392316) < 1e-6  # Bamako, not off Angola


def test_real_missing_migrants_csv_imports_with_the_mmp_profile(sqlite_store: Store, tmp_path: Path) -> None:
    path = realdata("missing_migrants.csv")
    rejects = tmp_path / "mmp.rejects.csv"
    summary = ingest_file(sqlite_store, path, profile="mmp", rejects_path=rejects, now=NOW)
    assert summary.read == 19_255 == summary.accepted + summary.rejected
    # The file's known defects: 13 rows without a date, one dated "0", negative counts, lat equal to lon.
    assert dict(summary.rejected_by_reason) == {
        "date_missing": 13,
        "date_unparseable": 1,
        "negative_count": 5,
        "coordinates_suspect": 4,
        "coordinates_wrong_country": 86,  # far from the Country of Incident, and no swap or sign change fixes it
    }
    assert dict(summary.corrected_by_reason) == {"swapped_lat_lon": 278, "sign_flipped": 13}
    assert summary.rejected == len(read_rows(rejects)) == 109
    _assert_near_named_country(sqlite_store, path)
    counts = sqlite_store.counts()
    assert counts["events"] == summary.written
    kinds = sqlite_store.changes_since("events", 0)["kind"].value_counts().to_dict()
    assert set(kinds) == {"death", "missing"} and sum(kinds.values()) == summary.written


def test_real_native_mmp_layout_imports(sqlite_store: Store, tmp_path: Path) -> None:
    summary = ingest_file(
        sqlite_store, realdata("missing_migrants_2026_native.csv"), profile="mmp", rejects_path=tmp_path / "r.csv"
    )
    assert summary.read == 238 == summary.accepted + summary.rejected
    assert dict(summary.rejected_by_reason) == {"negative_count": 1}
    first = sqlite_store.changes_since("events", 0).set_index("id").loc["mmp-2026.MMP0001-dead"]
    assert first["occurred_at"] == pd.Timestamp("2026-01-01T12:00:00Z")  # "Thu, 01/01/2026 - 12:00"


def test_real_point_files_import_with_column_maps(sqlite_store: Store, tmp_path: Path) -> None:
    txmx = tmp_path / "txmx.toml"
    txmx.write_text(
        'kind = "crossing_points"\n[columns]\nid = "Code"\nname = "Border Crossing Name"\nlat = "Lat"\nlon = "Lon"\n'
        '[defaults]\nkind = "official"\nstatus = "unknown"\n'
    )
    wa = tmp_path / "wa.toml"
    wa.write_text(
        'kind = "crossing_points"\n[columns]\nid = "ID"\nname = "Port_Name"\n'
        '[defaults]\nkind = "official"\nstatus = "open"\n'
    )
    ie = tmp_path / "ie.toml"
    ie.write_text(
        'kind = "crossing_points"\nid_prefix = "osm-"\n'
        '[defaults]\nname = "Road crossing"\nkind = "informal"\nstatus = "unknown"\n'
    )
    a = ingest_file(
        sqlite_store, realdata("border_crossings_tx_mx.csv"), profile=str(txmx), rejects_path=tmp_path / "a"
    )
    b = ingest_file(sqlite_store, realdata("ports_of_entry_wa.geojson"), profile=str(wa), rejects_path=tmp_path / "b")
    c = ingest_file(
        sqlite_store, realdata("border_posts_ireland_osm.geojson"), profile=str(ie), rejects_path=tmp_path / "c"
    )
    assert (a.accepted, a.rejected, b.accepted, b.rejected) == (34, 0, 10, 0)
    # The OSM file repeats points: identical repeats are stored once and flagged, never silently dropped.
    assert (c.read, c.rejected, c.written, c.corrected_by_reason["duplicate_merged"]) == (358, 0, 255, 103)
    assert sqlite_store.counts()["crossing_points"] == 34 + 10 + 255


def test_real_routes_json_that_is_not_geojson_is_refused(sqlite_store: Store) -> None:
    with pytest.raises(IngestError, match="not GeoJSON"):
        ingest_file(sqlite_store, realdata("migration_routes_giocopp.json"), kind="routes")
    assert sqlite_store.counts()["routes"] == 0
