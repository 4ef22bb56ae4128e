"""Negative numbers as option values: southern and western coordinates through the real ``hbm`` command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3
import pytest
from shapely.geometry import Point, shape

from dashboard.cli import build_parser, main
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store

ARIZONA = "-111,31,-109,33"  # W,S,E,N: every value that starts with "-" used to read as an unknown option


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A SQLite store named by HBM_DATABASE_URL: 20 events in Arizona (west) and 10 in Rwanda (south)."""
    url = f"sqlite:///{tmp_path / 'neg.sqlite'}"
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"az{i}",
            "occurred_at": now - timedelta(hours=2, minutes=i),  # complete hours: windows end at the last whole hour
            "kind": "crossing",
            "people": 3,
            "geometry": Point(-110.4 - 0.01 * i, 31.7 + 0.01 * i),
            "source": "test",
        }
        for i in range(20)
    ] + [
        {
            "id": f"rw{i}",
            "occurred_at": now - timedelta(hours=2, minutes=i),  # complete hours: windows end at the last whole hour
            "kind": "distress",
            "people": 2,
            "geometry": Point(29.99 + 0.01 * i, -1.0 - 0.01 * i),
            "source": "test",
        }
        for i in range(10)
    ]
    store.upsert("events", rows)
    return store


@pytest.mark.parametrize(
    ("argv", "dest", "value"),
    [
        (["hotspots", "--bbox", "-10,30,5,40"], "bbox", "-10,30,5,40"),
        (["export", "--format", "csv", "--out", "x.csv", "--bbox", "-10,-5,5,40"], "bbox", "-10,-5,5,40"),
        (["sar", "plan", "--datum", "-1.0,29.99", "--radius-km", "5", "--sector-km2", "5"], "datum", "-1.0,29.99"),
        (["sar", "plan", "--datum", "-.5,-29", "--radius-km", "5", "--sector-km2", "5"], "datum", "-.5,-29"),
        (["ingest", "f.csv", "--region", "-111.5,30,-109,33"], "region", "-111.5,30,-109,33"),
        (["hotspots", "--bbox=-10,30,5,40"], "bbox", "-10,30,5,40"),
    ],
)
def test_every_coordinate_option_takes_a_negative_value(argv: list[str], dest: str, value: str) -> None:
    assert getattr(build_parser().parse_args(argv), dest) == value


def test_an_unknown_option_is_still_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["hotspots", "--bbox", "--json"])
    assert "expected one argument" in capsys.readouterr().err


def test_hotspots_bbox_west_of_greenwich(cli_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hotspots", "--bbox", ARIZONA, "--window", "24h", "--res", "6", "--json"]) == 0
    cells = json.loads(capsys.readouterr().out)["cells"]
    assert sum(c["events"] for c in cells) == 20  # Arizona's events, none of Rwanda's
    for c in cells:
        lat, lng = h3.cell_to_latlng(c["cell"])
        assert -111.2 < lng < -108.8 and 30.8 < lat < 33.2


def test_sar_plan_datum_south_of_the_equator(cli_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "plan.geojson"
    args = ["sar", "plan", "--datum", "-1.0,29.99", "--radius-km", "5", "--sector-km2", "10", "--out", str(out)]
    assert main(args) == 0
    centre = shape(
        {"type": "GeometryCollection", "geometries": [f["geometry"] for f in json.loads(out.read_text())["features"]]}
    ).centroid
    assert abs(centre.y - -1.0) < 0.05 and abs(centre.x - 29.99) < 0.05


def test_export_bbox_west_of_greenwich(cli_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "az.geojson"
    assert main(["export", "--format", "geojson", "--out", str(out), "--bbox", ARIZONA, "--layers", "hotspots"]) == 0
    data = json.loads(out.read_text())
    assert data["metadata"]["view"]["bbox"] == [-111.0, 31.0, -109.0, 33.0]
    assert data["features"] and all(shape(f["geometry"]).centroid.x < -108 for f in data["features"])


def test_ingest_region_west_of_greenwich(cli_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "swapped.csv"
    src.write_text(
        "id,occurred_at,kind,people,lat,lon\n"
        "s1,2026-01-10T08:00:00Z,crossing,1,-110.9,31.4\n"  # swapped: lat 31.4, lon -110.9 is in the region
        "s2,2026-01-10T08:00:00Z,crossing,1,2.5,31.2\n",  # outside the region either way: left as written
        encoding="utf-8",
    )
    assert main(["ingest", str(src), "--region", "-111.5,30,-109,33", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["corrected_by_reason"] == {"swapped_lat_lon": 1}
    stored = cli_store.features("events").set_index("id").geometry
    assert (round(stored["s1"].y, 6), round(stored["s1"].x, 6)) == (31.4, -110.9)
