"""Field exports read back by real readers (GDAL ogrinfo, poppler pdfinfo), and the `hbm sar` CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
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
from tests.helpers import unavailable

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


# -- sheet marking and map context (issue 12, item 12) ---------------------------------------------
MARK = "OFFICIAL-SENSITIVE TESTMARK"


def _pdf_pages(path: Path) -> list[str]:
    """Return the text of each page of ``path`` as poppler reads it (pdfinfo page count, pdftotext per page)."""
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    count = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    pages = []
    for i in range(1, count + 1):
        out = subprocess.run([_tool("pdftotext"), "-f", str(i), "-l", str(i), str(path), "-"], capture_output=True)
        pages.append(" ".join(out.stdout.decode("utf-8").split()))
    return pages


def _seed_demo(store: Store, events: int = 300) -> None:
    """Seed the store as `hbm demo` does (SYNTHETIC features and events), without serving."""
    from datetime import UTC, datetime

    from data.demo import demo_features
    from data.demo_events import demo_events

    store.init_schema()
    now = datetime.now(UTC)
    for table, rows in demo_features(now).items():
        store.upsert(table, rows)
    store.upsert_events(demo_events(events, now))


def _cli_plan(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["sar", "plan", *args, "--name", "Search near the border", "--sector-km2", "25"]) == 0
    return capsys.readouterr().out.strip()


def test_cli_sheets_on_a_demo_store_carry_synthetic_and_the_marking_on_every_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HBM_SYNTHETIC", raising=False)
    monkeypatch.setenv("HBM_MARKING", MARK)
    store = _cli_env(monkeypatch, tmp_path)
    _seed_demo(store)
    plan_id = _cli_plan(capsys, "--datum", "3.60,32.08", "--radius-km", "7")
    plan = load_plan(store, plan_id)
    assert "SYNTHETIC" not in f"{plan.name} {plan.notes} {plan.id}"  # nothing in the plan itself says so
    pdf = tmp_path / "sheets.pdf"
    assert main(["sar", "sheets", plan_id, "--out", str(pdf)]) == 0
    pages = _pdf_pages(pdf)
    assert len(pages) == len(plan.sectors) >= 3
    for i, page in enumerate(pages, 1):
        assert "SYNTHETIC" in page, f"page {i}"
        assert MARK in page, f"page {i}"


def test_cli_sheets_on_a_real_store_carry_the_marking_but_no_synthetic(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HBM_SYNTHETIC", raising=False)
    monkeypatch.setenv("HBM_MARKING", MARK)
    store = _cli_env(monkeypatch, tmp_path)
    store.init_schema()
    plan_id = _cli_plan(capsys, "--datum", "3.60,32.08", "--radius-km", "7")
    pdf = tmp_path / "sheets.pdf"
    assert main(["sar", "sheets", plan_id, "--out", str(pdf)]) == 0
    pages = _pdf_pages(pdf)
    assert len(pages) == len(load_plan(store, plan_id).sectors)
    for i, page in enumerate(pages, 1):
        assert MARK in page, f"page {i}"
        assert "SYNTHETIC" not in page, f"page {i}"


def _words(path: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    """Return (word, xMin, yMin, xMax, yMax) of one page, from ``pdftotext -bbox``."""
    out = subprocess.run(
        [_tool("pdftotext"), "-bbox", "-f", str(page), "-l", str(page), str(path), "-"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return [
        (m[4], float(m[0]), float(m[1]), float(m[2]), float(m[3]))
        for m in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out.stdout
        )
    ]


def test_sheet_map_names_crossings_and_towns_clear_of_the_sector_label(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _cli_env(monkeypatch, tmp_path)
    _seed_demo(store)
    plan_id = _cli_plan(capsys, "--datum", "3.60,32.08", "--radius-km", "7")
    plan = load_plan(store, plan_id)
    pdf = tmp_path / "sheets.pdf"
    assert main(["sar", "sheets", plan_id, "--out", str(pdf)]) == 0
    pages = _pdf_pages(pdf)
    # Elegu / Nimule (3.578 N, 32.066 E) lies inside the search area: some sheet names it on its map.
    assert any("Elegu" in page for page in pages)
    # A plan just north-east of Arua (3.02 N, 30.91 E) names the town from the bundled GeoNames places.
    town = _cli_plan(capsys, "--datum", "3.04,30.93", "--radius-km", "3")
    assert main(["sar", "sheets", town, "--out", str(tmp_path / "arua.pdf")]) == 0
    assert any("Arua" in page for page in _pdf_pages(tmp_path / "arua.pdf"))
    for i, row in enumerate(plan.sectors.itertuples(), 1):
        words = _words(pdf, i)
        on_map = [w for w in words if 0.07 * 842 < w[2] and w[4] < 0.6 * 842]  # the map spans 8-58 % from the top
        big = [w for w in on_map if w[0] == row.label and w[4] - w[2] > 20]  # the 28 pt sector label
        assert len(big) == 1, (row.label, big)
        _, x0, y0, x1, y1 = big[0]
        clash = [w for w in on_map if w is not big[0] and w[1] < x1 and x0 < w[3] and w[2] < y1 and y0 < w[4]]
        assert not clash, (row.label, clash)


def _lake_pixels(pdf: Path, tmp_path: Path) -> int:
    """Return how many pixels of page 1, rasterised by pdftoppm, have the sheet's open-water colour."""
    from matplotlib.colors import to_rgb
    from PIL import Image

    from layers.services.exports import sar_sheets

    stem = tmp_path / "page"
    out = subprocess.run([_tool("pdftoppm"), "-r", "40", "-f", "1", "-l", "1", "-png", str(pdf), str(stem)])
    assert out.returncode == 0
    png = next(tmp_path.glob("page*.png"))
    rgb = np.array([round(c * 255) for c in to_rgb(sar_sheets.SHEET_LAKE["facecolor"])])
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    png.unlink()
    return int((np.abs(pixels - rgb).max(axis=2) <= 6).sum())


def test_sheet_near_lake_albert_draws_the_water(plan: Plan, tmp_path: Path, sqlite_store: Store) -> None:
    # The fixture's plan lies on Lake Albert (1.4 N, 30.7 E); a plan in the dry Sahara gets no water.
    wet = tmp_path / "wet.pdf"
    write_sheets(plan, wet)
    area = circle_area(21.0, 18.5, 6)
    sectors, poas = plan_sectors(area, "grid", 30)
    dry_id = create_plan(sqlite_store, area, sectors, poas, name="Dry", method="grid", target_km2=30)
    dry = tmp_path / "dry.pdf"
    write_sheets(load_plan(sqlite_store, dry_id), dry)
    wet_px, dry_px = _lake_pixels(wet, tmp_path), _lake_pixels(dry, tmp_path)
    assert dry_px == 0
    assert wet_px > 2000  # at 40 dpi the map is ~260 x 310 px: open water fills a good part of its margin
