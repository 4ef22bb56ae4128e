"""OGC API – Features and the live KML, read by the real client: GDAL (``ogrinfo``), as QGIS reads them.

A live server (sign-in on) serves the sample data from each store backend on 127.0.0.1. Tokens are
made the way an admin makes them; GDAL sends them with ``GDAL_HTTP_HEADERS``. Counts are compared
with what the map's own refresh callback returns for the same View and role.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import pytest
from werkzeug.serving import make_server

from dashboard.app import create_app
from dashboard.callbacks import LAYER_ORDER, refresh_map
from dashboard.cli import main as hbm_main
from dashboard.ogc import COLLECTIONS
from dashboard.permissions import User
from dashboard.settings import load_app_settings
from data import api_tokens, audit_log, users
from data.store import Store
from layers.hotspots import load_hotspot_settings
from tests.helpers import IN_CI, free_port, sample_events, sample_features

PASSWORD = "correct horse battery staple"
K = load_hotspot_settings()[1]
TIMEOUT = 60


def need_ogrinfo() -> str:
    """Return the ogrinfo path, or skip (laptop) / fail (CI)."""
    path = shutil.which("ogrinfo")
    if not path:
        if IN_CI:
            pytest.fail("ogrinfo is required in CI (Debian: apt install gdal-bin)")
        pytest.skip("needs ogrinfo (Debian: apt install gdal-bin)")
    return path


class LiveServer:
    """The Dash app's WSGI server on a free loopback port, in a thread."""

    def __init__(self, store: Store) -> None:
        self.app = create_app(load_app_settings(), store)
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, self.app.server, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live(store: Store, monkeypatch: pytest.MonkeyPatch, fast_hashing: None) -> Iterator[tuple[LiveServer, Store]]:
    """A signed-in-only server over the sample data (events in the last two days), with a viewer and an analyst."""
    monkeypatch.setenv("HBM_AUTH", "on")
    monkeypatch.setenv("HBM_SECRET_KEY", "test-secret-key-for-ogc-0123456789abcdef")
    monkeypatch.setenv("HBM_COOKIE_SECURE", "false")
    now = datetime.now(UTC)
    for table, rows in sample_features().items():
        store.upsert(table, rows)
    store.upsert("events", sample_events(n=120, now=now - timedelta(minutes=1)))
    users.add_user(store, "vera", "viewer", PASSWORD, created_by="test")
    users.add_user(store, "ana", "analyst", PASSWORD, created_by="test")
    server = LiveServer(store)
    yield server, store
    server.stop()


def ogr(args: list[str], token: str | None) -> subprocess.CompletedProcess[str]:
    """Run ogrinfo with the token in GDAL_HTTP_HEADERS; bounded in time."""
    cmd = [need_ogrinfo(), "-ro", *args]
    if token:
        cmd += ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"]
    cmd += ["--config", "GDAL_HTTP_TIMEOUT", "30", "--config", "GDAL_HTTP_MAX_RETRY", "0"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def ogr_features(output: str) -> list[dict[str, str]]:
    """Return the features ogrinfo printed: one dict of field -> text per ``OGRFeature``."""
    features: list[dict[str, str]] = []
    for line in output.splitlines():
        if line.startswith("OGRFeature("):
            features.append({})
        elif features:
            m = re.match(r"\s+(\w+) \([^)]*\) = (.*)$", line)
            if m:
                features[-1][m.group(1)] = m.group(2)
    return features


def list_values(text: str) -> list[float | None]:
    """Return the numbers of a list field as ogrinfo prints it: ``(3:1,2,3)`` or JSON ``[ null, 2 ]``."""
    text = text.strip()
    if text in ("", "(null)"):
        return []
    m = re.match(r"^\((\d+):(.*)\)$", text)
    body = m.group(2) if m else text.strip("[]")
    return [None if v.strip() in ("null", "") else float(v) for v in body.split(",") if v.strip()]


def map_layers(store: Store, user: User, resolution: str | None = None) -> dict[str, Any]:
    """Return the map's layers (the refresh callback) for the default View, as ``user``."""
    settings = load_app_settings()
    out = refresh_map(store, settings, "24h", None, None, "events", resolution, 7.0, None, None, user=user)
    return dict(zip(LAYER_ORDER, out[: len(LAYER_ORDER)], strict=True))


def map_counts(layers: dict[str, Any]) -> dict[str, int]:
    """Return the map's feature count per OGC collection (hotspot cells and areas split as the API does)."""
    hot = layers["hotspots"]["features"]
    sar = layers["sar_zones"]["features"]
    return {
        "crossing_points": len(layers["crossing_points"]["features"]),
        "routes": len(layers["routes"]["features"]),
        "sar_zones": len(sar),
        "sar_plans": sum(1 for f in sar if f["properties"].get("kind") == "search_area"),
        "hotspot_cells": sum(1 for f in hot if "cell" in f["properties"]),
        "hotspot_areas": sum(1 for f in hot if "area" in f["properties"]),
    }


def test_ogrinfo_lists_collections_and_counts_equal_the_map(live: tuple[LiveServer, Store]) -> None:
    server, store = live
    token = api_tokens.create_token(store, "ana", "qgis", by="test")
    listing = ogr(["-so", f"OAPIF:{server.url}/ogc"], token)
    assert listing.returncode == 0, listing.stderr
    for cid in COLLECTIONS:
        assert re.search(rf"^\d+: {cid}\b", listing.stdout, re.M), listing.stdout
    expected = map_counts(map_layers(store, User("ana", "analyst")))  # the default View: zoom 7
    assert expected["hotspot_cells"] > 3 and expected["crossing_points"] == 2
    for cid, n in expected.items():
        # PAGE_SIZE=3 makes GDAL follow the "next" links, so paging is exercised too.
        run = ogr(["-oo", "PAGE_SIZE=3", f"OAPIF:{server.url}/ogc", cid, "-where", "1=1"], token)
        assert run.returncode == 0, run.stderr
        assert len(ogr_features(run.stdout)) == n, (cid, run.stdout[-500:])


def test_api_view_parameters_match_the_map(live: tuple[LiveServer, Store]) -> None:
    """``res`` selects the same View as the map's resolution control (read as GeoJSON by GDAL)."""
    server, store = live
    token = api_tokens.create_token(store, "ana", by="test")
    expected = map_counts(map_layers(store, User("ana", "analyst"), "8"))["hotspot_cells"]
    url = f"{server.url}/ogc/collections/hotspot_cells/items?res=8&limit=10000"
    run = ogr(["-al", f"GeoJSON:{url}"], token)
    assert run.returncode == 0, run.stderr
    cells = ogr_features(run.stdout)
    assert len(cells) == expected > 0
    assert {h3.get_resolution(c["cell"]) for c in cells} == {8}


def test_viewer_token_gets_no_cell_finer_than_the_viewer_limit(live: tuple[LiveServer, Store]) -> None:
    server, store = live
    token = api_tokens.create_token(store, "vera", by="test")
    limit = load_app_settings().viewer_max_res
    url = f"{server.url}/ogc/collections/hotspot_cells/items?res=9&limit=10000"
    run = ogr(["-al", f"GeoJSON:{url}"], token)
    assert run.returncode == 0, run.stderr
    cells = ogr_features(run.stdout)
    assert cells, run.stdout
    assert max(h3.get_resolution(c["cell"]) for c in cells) <= limit
    for cell in cells:  # no small counts: every cell with people has at least k, earlier windows too
        people = int(cell["people"])
        assert people == 0 or people >= K, cell
        for value in list_values(cell.get("windows", "")):
            assert value is None or value == 0 or value >= K, cell
        mean = cell.get("baseline_mean", "(null)")
        assert mean == "(null)" or float(mean) == 0 or float(mean) >= K, cell
    # The same as the map shows the viewer for the same request.
    viewer_map = map_counts(map_layers(store, User("vera", "viewer"), "9"))
    assert len(cells) == viewer_map["hotspot_cells"]
    crossings = ogr(["-al", f"OAPIF:{server.url}/ogc", "crossing_points"], token)
    for feature in ogr_features(crossings.stdout):
        for key, value in feature.items():
            if key.startswith("people_") and value not in ("(null)", ""):
                assert int(value) == 0 or int(value) >= K, feature


def test_revoked_token_gets_401_and_uses_are_audited(live: tuple[LiveServer, Store]) -> None:
    server, store = live
    token = api_tokens.create_token(store, "vera", by="test")
    assert ogr(["-so", f"OAPIF:{server.url}/ogc"], token).returncode == 0
    api_tokens.revoke(store, "vera", token[: api_tokens.PREFIX_SHOWN], by="test")
    run = ogr(["-so", f"OAPIF:{server.url}/ogc"], token)
    assert run.returncode != 0 and "401" in run.stderr, run.stderr
    request = urllib.request.Request(f"{server.url}/ogc/collections", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback test server
    assert err.value.code == 401
    uses = audit_log.query(store, action="api_token_use", who="vera")
    refused = audit_log.query(store, action="api_token_refused", who="vera")
    assert uses and all(e.detail["prefix"] == token[:12] for e in uses)
    assert refused and refused[0].detail["reason"] == "revoked"
    with pytest.raises(urllib.error.HTTPError) as no_token:
        urllib.request.urlopen(f"{server.url}/ogc/collections", timeout=10)  # noqa: S310
    assert no_token.value.code == 401


def test_tokens_are_stored_hashed_and_die_with_a_disabled_user(live: tuple[LiveServer, Store]) -> None:
    server, store = live
    token = api_tokens.create_token(store, "vera", by="test")
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(store.metadata.tables["api_tokens"].select())]
    assert token not in json.dumps(rows, default=str)
    assert rows[0]["id"] == api_tokens.token_hash(token)
    users.disable(store, "vera", by="test")
    assert ogr(["-so", f"OAPIF:{server.url}/ogc"], token).returncode != 0


def test_conformance_openapi_paging_and_bad_parameters(live: tuple[LiveServer, Store]) -> None:
    server, store = live
    token = api_tokens.create_token(store, "ana", by="test")

    def get(path: str) -> tuple[int, Any]:
        req = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:  # noqa: S310 - loopback
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, conf = get("/ogc/conformance")
    assert status == 200 and any(c.endswith("/conf/geojson") for c in conf["conformsTo"])
    status, api = get("/ogc/openapi")
    assert status == 200 and api["openapi"].startswith("3.0") and "/collections/{collectionId}/items" in api["paths"]
    status, page = get("/ogc/collections/hotspot_cells/items?res=7&limit=2&offset=1")
    assert status == 200 and page["numberReturned"] == 2 and page["numberMatched"] > 3
    assert any(link["rel"] == "next" and "offset=3" in link["href"] for link in page["links"])
    status, boxed = get("/ogc/collections/crossing_points/items?bbox=32.0,3.5,32.1,3.6")
    assert status == 200 and [f["id"] for f in boxed["features"]] == ["cp-a"]
    old = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = (datetime.now(UTC) - timedelta(days=19)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, empty = get(f"/ogc/collections/hotspot_cells/items?datetime={old}/{older}")
    assert status == 200 and all(f["properties"]["events"] == 0 for f in empty["features"])
    status, one = get("/ogc/collections/crossing_points/items/cp-b")
    assert status == 200 and one["properties"]["name"] == "Bravo <script>x</script>"
    for bad in ("bbox=1,2,3", "datetime=yesterday", "limit=0", "res=12", "zoom=nan", "zoom=99", "offset=-1"):
        status, body = get(f"/ogc/collections/routes/items?{bad}")
        assert status == 400 and body["description"], bad
    assert get("/ogc/collections/nope/items")[0] == 404


def test_gdal_reads_the_live_kml(live: tuple[LiveServer, Store]) -> None:
    server, store = live
    token = api_tokens.create_token(store, "vera", "google earth", by="test")
    with urllib.request.urlopen(f"{server.url}/kml/network.kml?token={token}&refresh=30", timeout=10) as resp:  # noqa: S310
        link = ET.fromstring(resp.read())
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert link.findtext(".//k:refreshMode", namespaces=ns) == "onInterval"
    assert link.findtext(".//k:refreshInterval", namespaces=ns) == "30"
    href = link.findtext(".//k:Link/k:href", namespaces=ns)
    assert href and href.startswith(f"{server.url}/kml/layers.kml?") and token in href
    run = ogr(["-al", f"/vsicurl/{href}"], None)
    assert run.returncode == 0, run.stderr
    for layer in ("crossing_points", "routes", "sar_zones", "hotspot_cells"):
        assert re.search(rf"^Layer name: {layer}$", run.stdout, re.M), run.stdout[:800]
    viewer = map_counts(map_layers(store, User("vera", "viewer")))
    counts = dict(re.findall(r"^Layer name: (\w+)\n(?:.*\n)*?Feature Count: (\d+)", run.stdout, re.M))
    assert int(counts["hotspot_cells"]) == viewer["hotspot_cells"]
    assert int(counts["crossing_points"]) == 2
    bad = ogr(["-so", f"/vsicurl/{server.url}/kml/layers.kml?token=hbm_wrong"], None)
    assert bad.returncode != 0


def test_hbm_users_token_cli(
    live: tuple[LiveServer, Store], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, store = live
    monkeypatch.setenv("HBM_DATABASE_URL", str(store.engine.url.render_as_string(hide_password=False)))
    assert hbm_main(["users", "token", "vera", "--label", "qgis"]) == 0
    token = capsys.readouterr().out.splitlines()[0]
    assert token.startswith("hbm_") and api_tokens.token_user(store, token) is not None
    assert hbm_main(["users", "tokens", "vera"]) == 0
    listing = capsys.readouterr().out
    assert token[:12] in listing and token not in listing
    assert hbm_main(["users", "revoke-token", "vera", "--prefix", token[:12]]) == 0
    assert api_tokens.token_user(store, token) is None
    assert hbm_main(["users", "token", "nobody"]) == 2
    assert any(e.action == "api_token_create" for e in audit_log.query(store, who=None, target="vera"))


def test_alerts_collection_as_a_viewer_sees_it(live: tuple[LiveServer, Store]) -> None:
    from data.alerts import Alert, write_alert

    server, store = live
    now = datetime.now(UTC)
    alert = Alert(
        "al-ogc",
        "surge",
        "cells",
        "open",
        "critical",
        f"Surge near Elegu: {K - 1} people, {K - 2} events in 24h",
        3.5812,
        32.0614,
        {"people": K - 1, "events": K - 2, "baseline_mean_people": 1.25, "p_value": 0.0004, "event_ids": ["ev-001"]},
        [],
        now - timedelta(hours=1),
        now,
        now,
    )
    write_alert(store, alert)
    viewer, analyst = (api_tokens.create_token(store, name, by="test") for name in ("vera", "ana"))
    seen = ogr_features(ogr(["-al", f"OAPIF:{server.url}/ogc", "alerts"], viewer).stdout)
    assert len(seen) == 1 and seen[0]["id"] == "al-ogc"
    assert f"fewer than {K}" in seen[0]["evidence"] and "ev-001" not in seen[0]["evidence"]
    shown = json.loads(seen[0]["evidence"])  # every small count, and the baseline values that would give them back
    assert {shown[key] for key in ("people", "events", "baseline_mean_people", "p_value")} == {f"fewer than {K}"}
    assert f"{K - 1} people" not in seen[0]["title"] and f"{K - 2} events" not in seen[0]["title"]
    run = ogr(["-al", f"OAPIF:{server.url}/ogc", "alerts"], viewer)
    assert "POINT (32.0614 3.5812)" not in run.stdout  # a cell centre, not the raw point
    raw = ogr(["-al", f"OAPIF:{server.url}/ogc", "alerts"], analyst)
    assert "POINT (32.0614 3.5812)" in raw.stdout and "ev-001" in raw.stdout
