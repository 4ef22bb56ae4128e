"""``hbm export`` and ``hbm audit exports``: the default View, saved Views, options, one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyogrio
import pytest

from dashboard.cli import main
from data.audit import list_exports
from data.open import open_store
from data.settings import load_store_settings
from data.store import Store
from layers.view import View
from layers.view_io import view_to_json
from tests.helpers import sample_events, sample_features


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A SQLite store named by HBM_DATABASE_URL, holding the sample data with events in the last 24 h."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no stray .env
    store = open_store(load_store_settings(database_url=url))
    store.init_schema()
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events(now=datetime.now(UTC) - timedelta(minutes=5)))
    return store


def test_default_export_is_all_data_last_24h_all_layers(cli_store: Store, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "all.gpkg"
    assert main(["export", "--format", "gpkg", "--out", str(out)]) == 0
    assert "audit #" in capsys.readouterr().out
    assert pyogrio.read_info(out, layer="crossing_points")["features"] == 2
    assert pyogrio.read_info(out, layer="sar_zones")["features"] == 2
    record = list_exports(cli_store)[0]
    assert (record.who, record.format, record.view["bbox"], record.view["window_label"]) == ("cli", "gpkg", None, "24h")
    start, end = (datetime.fromisoformat(record.view[k]) for k in ("start", "end"))
    assert end - start == timedelta(hours=24) and abs(datetime.now(UTC) - end) < timedelta(minutes=5)
    assert set(record.view["layers"]) == {"crossing_points", "routes", "hotspots", "sar_zones"}


def test_options_choose_the_view(cli_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "cp.geojson"
    args = ["export", "--format", "geojson", "--out", str(out), "--bbox", "31.5,3,32.5,4", "--window", "7d"]
    assert main([*args, "--layers", "crossing_points,hotspots", "--metric", "people", "--statistic", "gi"]) == 0
    data = json.loads(out.read_text())
    assert {f["properties"]["layer"] for f in data["features"]} == {"crossing_points", "hotspots"}
    assert [f["properties"]["name"] for f in data["features"] if f["properties"]["layer"] == "crossing_points"] == [
        "Alpha"
    ]
    view = data["metadata"]["view"]
    assert (view["bbox"], view["window_label"], view["metric"], view["statistic"]) == (
        [31.5, 3.0, 32.5, 4.0],
        "7d",
        "people",
        "gi",
    )


def test_a_saved_view_file_is_exported_and_audited(cli_store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    view = View(start=now - timedelta(hours=6), end=now, window_label="custom", bbox=(29.0, 0.0, 33.5, 4.5), zoom=7.0)
    path = tmp_path / "view.json"
    path.write_text(view_to_json(view))
    out = tmp_path / "brief.pdf"
    assert main(["export", "--format", "pdf", "--out", str(out), "--view", str(path)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert list_exports(cli_store)[0].view == json.loads(view_to_json(view)) | {"suppress": True}


def test_audit_exports_lists_newest_first(cli_store: Store, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["audit", "exports"]) == 0
    assert "no exports recorded" in capsys.readouterr().out
    for fmt in ("csv", "kml"):
        assert main(["export", "--format", fmt, "--out", str(tmp_path / f"x.{fmt}")]) == 0
    capsys.readouterr()
    assert main(["audit", "exports", "--json", "--limit", "1"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["format"], r["who"]) for r in records] == [("kml", "cli")]
    assert main(["audit", "exports"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 3 and "kml" in table[1] and "csv" in table[2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bbox", "1,2,3"], "four numbers"),
        (["--bbox", "5,0,1,1"], "W<E"),
        (["--layers", "nope"], "unknown layers"),
        (["--start", "2026-01-01"], "go together"),
        (["--start", "yesterday", "--end", "2026-01-01"], "is not a time"),
        (["--view", "missing.json"], "cannot read View file"),
        (["--view", "v.json", "--window", "7d"], "cannot be combined"),
        (["--resolution", "12"], "H3 resolution"),
    ],
)
def test_bad_options_print_one_line(cli_store: Store, tmp_path: Path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "v.json").write_text("{}")
    assert main(["export", "--format", "pdf", "--out", str(tmp_path / "x.pdf"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hbm: error: ") and message in err and err.count("\n") == 1
    assert list_exports(cli_store) == []  # nothing exported, nothing audited
