"""The operator's offline basemap (HBM_BASEMAP_PMTILES): header checks, byte ranges, sign-in, the page's layer.

The archive is built by the test with the Python ``pmtiles`` writer: a few solid-colour PNG tiles.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from dashboard.app import create_app
from dashboard.layout import PMTILES_PATH
from dashboard.settings import load_app_settings
from data import users
from geo.errors import ConfigError
from layers.pmtiles_archive import read_pmtiles_header
from tests.helpers.auth import sign_in

pmtiles = pytest.importorskip("pmtiles")


def build_archive(path: Path, max_zoom: int = 3, colour: tuple[int, int, int] = (255, 0, 255)) -> Path:
    """Write a raster PMTiles archive with one solid PNG per tile from zoom 0 to ``max_zoom``."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buf, format="PNG")
    tile = buf.getvalue()
    with path.open("wb") as handle:
        writer = Writer(handle)
        for z in range(max_zoom + 1):
            for x in range(2**z):
                for y in range(2**z):
                    writer.write_tile(zxy_to_tileid(z, x, y), tile)
        writer.finalize(
            {
                "tile_type": TileType.PNG,
                "tile_compression": Compression.NONE,
                "min_zoom": 0,
                "max_zoom": max_zoom,
                "min_lon_e7": -1800000000,
                "min_lat_e7": -850000000,
                "max_lon_e7": 1800000000,
                "max_lat_e7": 850000000,
                "center_zoom": 0,
                "center_lon_e7": 0,
                "center_lat_e7": 0,
            },
            {"attribution": "test"},
        )
    return path


def test_header_is_read_and_foreign_files_are_refused(tmp_path: Path) -> None:
    info = read_pmtiles_header(build_archive(tmp_path / "r.pmtiles", max_zoom=2))
    assert (info.tile_type, info.min_zoom, info.max_zoom, info.is_vector) == ("png", 0, 2, False)
    assert info.bounds == (-180.0, -85.0, 180.0, 85.0)
    (tmp_path / "x.pmtiles").write_bytes(b"not an archive" * 20)
    with pytest.raises(ConfigError, match="not a PMTiles archive"):
        load_app_settings(basemap_pmtiles=str(tmp_path / "x.pmtiles"))
    with pytest.raises(ConfigError, match="cannot be read"):
        load_app_settings(basemap_pmtiles=str(tmp_path / "missing.pmtiles"))


def test_archive_is_served_in_byte_ranges_behind_sign_in(
    monkeypatch: pytest.MonkeyPatch,
    sqlite_store,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HBM_AUTH", "on")
    monkeypatch.setenv("HBM_SECRET_KEY", "test-secret-key-for-pmtiles-0123456789")
    monkeypatch.setenv("HBM_COOKIE_SECURE", "false")
    archive = build_archive(tmp_path / "region.pmtiles")
    users.add_user(sqlite_store, "ana", "analyst", "correct horse battery staple", created_by="test")
    app = create_app(load_app_settings(basemap_pmtiles=str(archive)), sqlite_store)
    anonymous = app.server.test_client()
    assert anonymous.get(PMTILES_PATH, headers={"Range": "bytes=0-126"}).status_code == 401
    client = app.server.test_client()
    assert sign_in(client, "ana", "correct horse battery staple") == 303
    reply = client.get(PMTILES_PATH, headers={"Range": "bytes=0-126"})
    assert reply.status_code == 206
    assert reply.data == archive.read_bytes()[:127]
    assert reply.headers["Content-Range"] == f"bytes 0-126/{archive.stat().st_size}"
    # The page draws it with the vendored library from the app itself, instead of the bundled basemap.
    layout = json.dumps(client.get("/_dash-layout").get_json())  # what the signed-in browser receives
    assert "hbm.pmtilesLayer" in layout and "/assets/vendor/pmtiles.js" in layout
    assert "context-lakes" not in layout
    script = client.get("/assets/vendor/pmtiles.js")
    assert script.status_code == 200 and b"leafletRasterLayer" in script.data


@pytest.mark.browser
def test_browser_draws_the_archive_tiles_with_no_other_host(
    browser_ready: None, dash_duo, sqlite_store, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import free_port

    archive = build_archive(tmp_path / "region.pmtiles", max_zoom=8)
    settings = load_app_settings(basemap_pmtiles=str(archive), auth=False)
    dash_duo.start_server(create_app(settings, sqlite_store), port=free_port())
    dash_duo.wait_for_element_by_css_selector(".leaflet-tile-pane img.leaflet-tile-loaded", timeout=30)
    tiles = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded')].map(i => i.src);"
    )
    assert tiles and all(src.startswith("blob:") for src in tiles)  # decoded from the archive's byte ranges
    urls = dash_duo.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    origin = dash_duo.server_url.rstrip("/")
    assert any(PMTILES_PATH in u for u in urls)
    assert [u for u in urls if not (u.startswith(origin) or u.startswith(("blob:", "data:")))] == []
