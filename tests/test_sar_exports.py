"""Field exports read back by real readers (GDAL ogrinfo, poppler pdfinfo), and the `hbm sar` CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from shapely.geometry import shape

from dashboard.cli import main
from data.open import open_store
from data.sar_edits import update_sector
from data.sar_plans import Plan, create_plan, load_plan, plan_sectors
from data.settings import load_store_settings
from data.store import Store
from geo.sectors import area_km2, circle_area
from layers.services.exports.sar import to_csv, to_geojson, to_gpx, to_kml, to_mgrs
from layers.services.exports.sar_sheets import write_sheets
from tests.conftest import unavailable

NASTY = '=SUM(A1) Boat <1> & "Ω" $x$'


@pytest.fixture
def plan(sqlite_store: Store) -> Plan:
    area = circle_area(1.4, 30.7, 6)
    sectors, poas = plan_sectors(area, "grid", 30)
    plan_id = create_plan(
        sqlite_store, area, sectors, poas, name=f"Plan {NASTY}", method="grid", target_km2=30, sweep_width_m=400
    )
    first = load_plan(sqlite_store, plan_id).sectors.iloc[0]["id"]
    return update_sector(sqlite_store, plan_id, 1, first, team=NASTY, track_spacing_m=600, notes="<script>x</script>")


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        unavailable(f"{name} is not installed (Debian: gdal-bin / poppler-utils)")
    return str(path)


def _ogrinfo(path: Path, *args: str) -> str:
    out = subprocess.run([_tool("ogrinfo"), "-ro", "-al", "-so", *args, str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _count(info: str, layer: str) -> int:
    block = info.split(f"Layer name: {layer}")[1]
    return int(re.search(r"Feature Count: (\d+)", block).group(1))  # type: ignore[union-attr]


def test_geojson_every_feature_carries_the_plan_id(plan: Plan) -> None:
    data = json.loads(to_geojson(plan))
    assert len(data["features"]) == len(plan.sectors) + 1
    assert all(f["properties"]["plan_id"] == plan.id for f in data["features"])
    sectors = [f for f in data["features"] if f["properties"]["kind"] == "sector"]
    assert [f["properties"]["label"] for f in sectors] == list(plan.sectors["label"])
    assert sum(f["properties"]["area_km2"] for f in sectors) == pytest.approx(area_km2(plan.area), rel=0.005)
    assert sum(area_km2(shape(f["geometry"])) for f in sectors) == pytest.approx(area_km2(plan.area), rel=0.005)


def test_kml_is_read_by_gdal(plan: Plan, tmp_path: Path) -> None:
    path = tmp_path / "plan.kml"
    path.write_text(to_kml(plan), encoding="utf-8")
    info = _ogrinfo(path)
    assert re.search(r"Feature Count: (\d+)", info).group(1) == str(len(plan.sectors) + 1)  # type: ignore[union-attr]
    assert "plan_id: String" in info and "label: String" in info
    full = subprocess.run([_tool("ogrinfo"), "-ro", "-al", str(path)], capture_output=True, text=True).stdout
    assert NASTY in full  # escaped in the file, read back intact
    assert full.count(f"plan_id (String) = {plan.id}") == len(plan.sectors) + 1


def test_gpx_routes_and_track_waypoints_are_read_by_gdal(plan: Plan, tmp_path: Path) -> None:
    path = tmp_path / "plan.gpx"
    path.write_text(to_gpx(plan), encoding="utf-8")
    info = _ogrinfo(path)
    assert _count(info, "routes") == len(plan.sectors)
    # Only the first sector has a planned track spacing: two waypoints (start, end) per leg.
    waypoints = _count(info, "waypoints")
    assert waypoints > 0 and waypoints % 2 == 0
    path.write_text(to_gpx(plan, track_spacing_m=500), encoding="utf-8")
    assert _count(_ogrinfo(path), "waypoints") > waypoints
    path.write_text(to_gpx(plan, waypoints=False), encoding="utf-8")
    assert _count(_ogrinfo(path), "waypoints") == 0


def test_csv_assignment_list(plan: Plan) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(plan))))
    assert [r["label"] for r in rows] == list(plan.sectors["label"])
    assert all(r["plan_id"] == plan.id for r in rows)
    first = rows[0]
    assert first["team"] == "'" + NASTY  # a leading = is neutralised for spreadsheets
    assert int(first["track_legs"]) >= 1 and float(first["track_length_km"]) > 0
    assert re.fullmatch(r"36N[A-Z]{2}\d{10}", first["centre_mgrs"])
    assert rows[1]["track_legs"] == ""  # no spacing planned there


def test_mgrs_reference() -> None:
    assert to_mgrs(1.4, 30.7).startswith("36NTG")
    assert to_mgrs(-33.9, 18.4).startswith("34H")


def test_pdf_sheets_one_page_per_sector(plan: Plan, tmp_path: Path) -> None:
    path = tmp_path / "sheets.pdf"
    pages = write_sheets(plan, path, synthetic=True)
    assert pages == len(plan.sectors)
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert re.search(r"Pages:\s+(\d+)", info.stdout).group(1) == str(len(plan.sectors))  # type: ignore[union-attr]
    assert "SYNTHETIC" in info.stdout
    text = subprocess.run([_tool("pdftotext"), "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True)
    page = " ".join(text.stdout.split())
    for expected in ("sector AA", "MGRS", "Track spacing", "600 m", "km²", "SYNTHETIC DEMO DATA", "Boat <1>"):
        assert expected in page, expected


def _cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("HBM_DATABASE_URL", url)
    return open_store(load_store_settings(database_url=url))


@pytest.mark.parametrize("method", ["h3", "grid"])
@pytest.mark.parametrize("ext", [".geojson", ".kml", ".gpx", ".csv"])
def test_cli_plan_saves_and_writes_by_extension(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str, ext: str
) -> None:
    store = _cli_env(monkeypatch, tmp_path)
    out = tmp_path / f"plan{ext}"
    args = ["sar", "plan", "--datum", "1.42,30.71", "--radius-km", "8", "--sector-km2", "25", "--method", method]
    assert main([*args, "--track-spacing-m", "800", "--out", str(out)]) == 0
    plan_id = capsys.readouterr().out.strip()
    plan = load_plan(store, plan_id)
    assert plan.method == method and len(plan.sectors) >= 3
    text = out.read_text(encoding="utf-8")
    if ext == ".geojson":
        feats = json.loads(text)["features"]
        assert {f["properties"]["plan_id"] for f in feats} == {plan_id}
    elif ext == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(plan.sectors) and {r["plan_id"] for r in rows} == {plan_id}
    else:
        info = _ogrinfo(out)
        layer = "routes" if ext == ".gpx" else None
        count = _count(info, layer) if layer else int(re.search(r"Feature Count: (\d+)", info).group(1))  # type: ignore[union-attr]
        assert count == len(plan.sectors) + (0 if ext == ".gpx" else 1)
        assert plan_id in text


def test_cli_sheets_and_sortie(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _cli_env(monkeypatch, tmp_path)
    main(["sar", "plan", "--datum", "1.42,30.71", "--radius-km", "6", "--sector-km2", "20"])
    plan_id = capsys.readouterr().out.strip()
    assert main(["sar", "sortie", plan_id, "ab", "--sweep-width-m", "500", "--track-spacing-m", "500"]) == 0
    assert "cumulative POD 0.632" in capsys.readouterr().out
    pdf = tmp_path / "sheets.pdf"
    assert main(["sar", "sheets", plan_id, "--out", str(pdf)]) == 0
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+(\d+)", info).group(1) == str(len(load_plan(store, plan_id).sectors))  # type: ignore[union-attr]
    from data import audit_log

    exported = audit_log.query(store, action="export")
    assert [(r.target, r.who.startswith("cli")) for r in exported] == [("sar_pdf", True)]
    assert main(["sar", "list"]) == 0
    assert plan_id in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sar", "plan", "--datum", "1.4", "--radius-km", "5", "--sector-km2", "5"], "must be LAT,LON"),
        (["sar", "plan", "--datum", "1.4,30", "--sector-km2", "5"], "--datum needs --radius-km"),
        (["sar", "plan", "--radius-km", "5", "--sector-km2", "5"], "exactly one search area"),
        (["sar", "plan", "--datum", "1.4,30", "--radius-km", "5", "--sector-km2", "5", "--out", "p.txt"], "format"),
        (["sar", "plan", "--datum", "1.4,30", "--radius-km", "50", "--sector-km2", "0.5"], "larger sector size"),
        (["sar", "sheets", "missing", "--out", "s.pdf"], "no SAR plan"),
        (["sar", "sheets", "missing", "--out", "s.png"], "must end in .pdf"),
    ],
)
def test_cli_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    _cli_env(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hbm: error:") and message in err and "\n" not in err
